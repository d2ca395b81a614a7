//! The worker Lambda function: AWS adapters built once at init, then the typed handler.

use dismissal_cleanup::{Delivery, Worker};
use lambda_runtime::{LambdaEvent, service_fn};
use prov_platform::{FunctionConfig, aws_background_apps, init_tracing};
use prov_processes::accounts::RunLimits;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let config = FunctionConfig::from_env()?;
    // Its work is nobody's request: long waits for a vendor are handed back to the schedule.
    let apps = aws_background_apps(&config)?;
    let apps = &apps;
    let worker = Worker {
        sync_every: config.sync_every,
        limits: RunLimits::default(),
    };
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Delivery>| async move {
        dismissal_cleanup::handle(apps, worker, event).await
    }))
    .await
}
