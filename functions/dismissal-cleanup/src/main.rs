//! The dismissal cleanup Lambda function: AWS adapters built once at init, then the typed
//! handler.

use lambda_runtime::{LambdaEvent, service_fn};
use prov_platform::{FunctionConfig, aws_background_apps, init_tracing};
use prov_processes::dismissal::CleanupEvent;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let config = FunctionConfig::from_env()?;
    // Its work is nobody's request: long waits for a vendor are handed back to the schedule.
    let apps = aws_background_apps(&config)?;
    let apps = &apps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<CleanupEvent>| async move {
        dismissal_cleanup::handle(apps, event).await
    }))
    .await
}
