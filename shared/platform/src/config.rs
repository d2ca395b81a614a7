//! Configuration of a deployed function, read once at start from environment variables,
//! and the AWS adapters built from it (once, at init, never per request).

use std::sync::Arc;

use prov_core::clock::SystemClock;
use prov_core::{Services, Settings};
use prov_store::DynamoStore;

use crate::mailer::SesMailer;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {why}")]
    Invalid { name: &'static str, why: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionConfig {
    /// `TABLE_NAME`: the main DynamoDB table.
    pub table_name: String,
    /// `AUDIT_TABLE_NAME`: the audit table.
    pub audit_table_name: String,
    /// `PUBLIC_BASE_URL`: where people reach the API, e.g. `https://api.example.com`.
    pub public_base_url: String,
    /// `SES_SENDER`: the verified address emails come from.
    pub ses_sender: String,
}

impl FunctionConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or(ConfigError::Missing(name))
        };
        let public_base_url = required("PUBLIC_BASE_URL")?;
        if !public_base_url.starts_with("https://") && !public_base_url.starts_with("http://localhost") {
            return Err(ConfigError::Invalid {
                name: "PUBLIC_BASE_URL",
                why: "must be an https:// URL".into(),
            });
        }
        let ses_sender = required("SES_SENDER")?;
        if prov_core::values::email(&ses_sender).is_err() {
            return Err(ConfigError::Invalid {
                name: "SES_SENDER",
                why: "must be an email address".into(),
            });
        }
        Ok(Self {
            table_name: required("TABLE_NAME")?,
            audit_table_name: required("AUDIT_TABLE_NAME")?,
            public_base_url,
            ses_sender,
        })
    }
}

/// The services of a function running in AWS: DynamoDB, SES and the system clock.
pub async fn aws_services(config: &FunctionConfig) -> Services {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let store = DynamoStore::new(dynamodb.clone(), &config.table_name);
    let audit = DynamoStore::new(dynamodb, &config.audit_table_name);
    let mailer = SesMailer::new(aws_sdk_sesv2::Client::new(&sdk), &config.ses_sender);
    Services::new(
        Arc::new(store),
        Arc::new(audit),
        Arc::new(mailer),
        Arc::new(SystemClock),
        Settings::new(&config.public_base_url),
    )
}

/// Structured logs: JSON in Lambda (CloudWatch), readable text locally. `RUST_LOG` filters.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        builder.json().with_current_span(false).without_time().init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn reads_a_complete_environment() {
        let c = FunctionConfig::from_lookup(env(&[
            ("TABLE_NAME", "main"),
            ("AUDIT_TABLE_NAME", "audit"),
            ("PUBLIC_BASE_URL", "https://api.example.com"),
            ("SES_SENDER", "no-reply@example.com"),
        ]))
        .unwrap();
        assert_eq!(c.table_name, "main");
    }

    #[test]
    fn names_what_is_missing_or_wrong() {
        let missing =
            FunctionConfig::from_lookup(env(&[("PUBLIC_BASE_URL", "https://a.example.com")])).unwrap_err();
        assert_eq!(missing.to_string(), "environment variable SES_SENDER is not set");
        let insecure = FunctionConfig::from_lookup(env(&[
            ("TABLE_NAME", "main"),
            ("PUBLIC_BASE_URL", "http://api.example.com"),
            ("SES_SENDER", "no-reply@example.com"),
        ]))
        .unwrap_err();
        assert!(insecure.to_string().contains("PUBLIC_BASE_URL"));
    }
}
