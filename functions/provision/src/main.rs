//! The provision Lambda function: AWS adapters built once at init, then the router.

use prov_platform::{FunctionConfig, aws_services, init_tracing};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_tracing();
    let config = FunctionConfig::from_env()?;
    let services = aws_services(&config);
    lambda_http::run(provision::router(services)).await
}
