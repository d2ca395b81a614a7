//! The accounts Lambda function: AWS adapters built once at init, then the router.

use prov_platform::{FunctionConfig, aws_apps, init_tracing};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_tracing();
    let config = FunctionConfig::from_env()?;
    let apps = aws_apps(&config)?;
    lambda_http::run(accounts::router(apps)).await
}
