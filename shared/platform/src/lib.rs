//! Platform adapters and start-up wiring shared by the functions:
//! the `Mailer` adapters (SES v2 and a local outbox), the `SecretStore` adapters (Secrets
//! Manager and local files), typed configuration read once from
//! the environment, tracing set-up, and the AWS `Services` a Lambda function runs on.

mod config;
mod mailer;
mod scheduler;
mod sdk_client;
mod secrets;

pub use config::{
    ConfigError, FunctionConfig, aws_apps, aws_background_apps, aws_services, init_tracing, oauth_clients, parse_routes,
};
pub use mailer::{LocalOutbox, SentEmail, SesMailer};
pub use scheduler::{EventBridgeScheduler, EventBridgeTarget};
pub use sdk_client::SdkClient;
pub use secrets::{FileSecretStore, SecretsManagerStore};
