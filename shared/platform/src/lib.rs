//! Platform adapters and start-up wiring shared by the functions:
//! the `Mailer` adapters (SES v2 and a local outbox), the `JobQueue` on SQS, the `SecretStore` adapters (credentials
//! encrypted in the main table under a keyring, and the per-connection Secrets Manager and
//! local-file stores it migrates from), typed configuration read once from
//! the environment, tracing set-up, and the AWS `Services` a Lambda function runs on.

mod config;
mod envelope;
mod keyring;
mod mailer;
mod queue;
mod scheduler;
mod sdk_client;
mod secrets;

pub use config::{
    ConfigError, FunctionConfig, aws_apps, aws_background_apps, aws_services, init_tracing, oauth_clients,
    parse_routes,
};
pub use envelope::EnvelopeSecretStore;
pub use keyring::{KeyFile, Keyring, KeyringSource, SecretsManagerKeyring};
pub use mailer::{LocalOutbox, SentEmail, SesMailer};
pub use prov_core::queue::NoQueue;
pub use queue::SqsQueue;
pub use scheduler::{EventBridgeScheduler, EventBridgeTarget};
pub use sdk_client::SdkClient;
pub use secrets::{FileSecretStore, SecretsManagerStore};
