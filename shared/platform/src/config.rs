//! Configuration of a deployed function, read once at start from environment variables,
//! and the AWS adapters built from it (once, at init, never per request).

use std::collections::HashMap;
use std::sync::Arc;

use prov_connectors::egress::EgressPolicy;
use prov_connectors::http::{HttpConfig, SharedBudgets, VendorHttp};
use prov_connectors::oauth::{OAuthClientConfig, OAuthClientSource, OAuthClients};
use prov_connectors::webhooks::HttpWebhookSender;
use prov_core::clock::SystemClock;
use prov_core::queue::JobQueue;
use prov_core::{Services, Settings};
use prov_processes::Apps;
use prov_store::DynamoStore;

use secrecy::SecretString;

use crate::SdkClient;
use crate::envelope::EnvelopeSecretStore;
use crate::keyring::SecretsManagerKeyring;
use crate::mailer::SesMailer;
use crate::queue::SqsQueue;
use crate::scheduler::{EventBridgeScheduler, EventBridgeTarget};
use crate::secrets::SecretsManagerStore;
use prov_core::queue::NoQueue;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {why}")]
    Invalid { name: &'static str, why: String },
}

#[derive(Debug, Clone)]
pub struct FunctionConfig {
    /// `TABLE_NAME`: the main DynamoDB table.
    pub table_name: String,
    /// `AUDIT_TABLE_NAME`: the audit table.
    pub audit_table_name: String,
    /// `PUBLIC_BASE_URL`: where people reach the API, e.g. `https://api.example.com`.
    pub public_base_url: String,
    /// `SES_SENDER`: the verified address emails come from.
    pub ses_sender: String,
    /// `CREDENTIALS_KEYRING_SECRET`: the Secrets Manager secret (name or ARN) holding the
    /// keyring that encrypts connection credentials in the main table,
    /// `{"current": "<id>", "<id>": "<material>", …}`. Needed by the functions that talk to
    /// vendors; read on first use.
    pub credentials_keyring_secret: Option<String>,
    /// `SECRETS_PREFIX`: where connection credentials were kept, one Secrets Manager secret
    /// each (e.g. `app-provisioning/prod`); those left there move into the table as they are
    /// read. Optional.
    pub secrets_prefix: Option<String>,
    /// `OAUTH_CLIENTS_SECRET`: the Secrets Manager secret holding our OAuth registrations,
    /// `{"<app>": {"client_id": "…", "client_secret": "…"}}`.
    pub oauth_clients_secret: Option<String>,
    /// `OAUTH_RETURN_ORIGINS`: comma-separated origins an OAuth connect may return to.
    pub oauth_return_origins: Vec<String>,
    /// `SCHEDULER_GROUP`, `CLEANUP_FUNCTION_ARN`, `SCHEDULER_ROLE_ARN`, `DEAD_LETTER_QUEUE_ARN`:
    /// where dismissal schedules go and what they invoke (all four, or none).
    pub scheduler: Option<EventBridgeTarget>,
    /// `JOBS_QUEUE_URL`: the SQS queue of background jobs (syncs, webhook deliveries),
    /// consumed by the worker function. Optional: without it, starting a sync is refused as
    /// unavailable, and webhook events wait for the worker's sweep.
    pub jobs_queue_url: Option<String>,
    /// `SYNC_EVERY_MINUTES`: how often every connected app is synced (default 60).
    pub sync_every: chrono::Duration,
    /// `VENDOR_ROUTES` (`host-or-*.domain=base-url`, comma-separated) and `EGRESS_MODE`
    /// (`production`, the default, or `sandbox`): the vendor routing table. Overrides to
    /// loopback or private addresses are refused at start outside sandbox mode.
    pub egress: EgressPolicy,
    /// `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` (set
    /// by Lambda) and `AWS_ENDPOINT_URL` (optional): how the AWS clients are made.
    pub aws: aws_types::SdkConfig,
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
        let optional = |name: &str| get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let oauth_return_origins: Vec<String> = optional("OAUTH_RETURN_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(bad) = oauth_return_origins.iter().find(|o| !o.starts_with("https://")) {
            return Err(ConfigError::Invalid {
                name: "OAUTH_RETURN_ORIGINS",
                why: format!("`{bad}` is not an https origin"),
            });
        }
        let egress = match optional("EGRESS_MODE").as_deref() {
            None | Some("production") => EgressPolicy::production(),
            Some("sandbox") => EgressPolicy::sandbox(),
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "EGRESS_MODE",
                    why: format!("`{other}` is not `production` or `sandbox`"),
                });
            }
        };
        let egress = parse_routes(egress, optional("VENDOR_ROUTES").as_deref().unwrap_or_default()).map_err(
            |why| ConfigError::Invalid {
                name: "VENDOR_ROUTES",
                why,
            },
        )?;
        let scheduler = match optional("SCHEDULER_GROUP") {
            Some(group) => Some(EventBridgeTarget {
                group,
                function_arn: required("CLEANUP_FUNCTION_ARN")?,
                role_arn: required("SCHEDULER_ROLE_ARN")?,
                dead_letter_arn: required("DEAD_LETTER_QUEUE_ARN")?,
            }),
            None => None,
        };
        let sync_every = match optional("SYNC_EVERY_MINUTES") {
            None => chrono::Duration::minutes(60),
            Some(v) => match v.parse::<i64>() {
                Ok(m) if (5..=7 * 24 * 60).contains(&m) => chrono::Duration::minutes(m),
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "SYNC_EVERY_MINUTES",
                        why: "must be a whole number of minutes from 5 to 10080".into(),
                    });
                }
            },
        };
        Ok(Self {
            aws: sdk_config(&get)?,
            jobs_queue_url: optional("JOBS_QUEUE_URL"),
            sync_every,
            scheduler,
            egress,
            credentials_keyring_secret: optional("CREDENTIALS_KEYRING_SECRET"),
            secrets_prefix: optional("SECRETS_PREFIX"),
            oauth_clients_secret: optional("OAUTH_CLIENTS_SECRET"),
            oauth_return_origins,
            table_name: required("TABLE_NAME")?,
            audit_table_name: required("AUDIT_TABLE_NAME")?,
            public_base_url,
            ses_sender,
        })
    }
}

/// Adds `host=base` overrides (comma-separated) to a policy; each is checked by the policy
/// (no loopback or private targets outside sandbox mode).
pub fn parse_routes(mut policy: EgressPolicy, spec: &str) -> Result<EgressPolicy, String> {
    for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (pattern, base) = entry
            .split_once('=')
            .ok_or_else(|| format!("`{entry}` is not `host=base-url`"))?;
        policy = policy.route(pattern.trim(), base.trim())?;
    }
    Ok(policy)
}

/// The SDK configuration of a function in Lambda, from the environment Lambda gives it: the
/// region (`AWS_REGION`), the execution role's credentials (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), and `AWS_ENDPOINT_URL` when set (a local
/// DynamoDB-compatible server, say). Retries are the standard mode's (3 attempts), the
/// connect timeout the SDK's default, and requests go through our HTTP client
/// (`prov_https::AwsHttpClient`).
///
/// Not aws-config's default provider chain: in Lambda the environment is where the
/// credentials are, and the chain's other providers (profiles, SSO, web identity with its
/// STS client, IMDS, containers) were built at every start for nothing, about a millisecond
/// of a function's start-up. The devserver, run from a laptop, still uses the full chain.
fn sdk_config(get: &impl Fn(&str) -> Option<String>) -> Result<aws_types::SdkConfig, ConfigError> {
    use aws_credential_types::Credentials;
    use aws_credential_types::provider::SharedCredentialsProvider;
    use aws_types::region::Region;
    use aws_types::sdk_config::{RetryConfig, TimeoutConfig};
    let value = |name: &str| get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let required = |name: &'static str| value(name).ok_or(ConfigError::Missing(name));
    let credentials = Credentials::new(
        required("AWS_ACCESS_KEY_ID")?,
        required("AWS_SECRET_ACCESS_KEY")?,
        value("AWS_SESSION_TOKEN"),
        None,
        "environment",
    );
    let mut builder = aws_types::SdkConfig::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(Region::new(required("AWS_REGION")?))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(prov_https::AwsHttpClient::shared())
        .retry_config(RetryConfig::standard())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(prov_https::DEFAULT_CONNECT_TIMEOUT)
                .build(),
        );
    if let Some(endpoint) = value("AWS_ENDPOINT_URL") {
        if !endpoint.starts_with("https://") && !endpoint.starts_with("http://") {
            return Err(ConfigError::Invalid {
                name: "AWS_ENDPOINT_URL",
                why: "must be an http(s):// URL".into(),
            });
        }
        builder = builder.endpoint_url(endpoint);
    }
    Ok(builder.build())
}

/// The services of a function running in AWS: DynamoDB, SES and the system clock.
pub fn aws_services(config: &FunctionConfig) -> Services {
    services_on(&config.aws, config)
}

fn services_on(sdk: &aws_types::SdkConfig, config: &FunctionConfig) -> Services {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let store = DynamoStore::new(dynamodb.clone(), &config.table_name);
    let audit = DynamoStore::new(dynamodb, &config.audit_table_name);
    // SES, Secrets Manager and the scheduler are built on first use (`SdkClient`).
    let mailer = SesMailer::new(
        SdkClient::on_first_use(sdk, aws_sdk_sesv2::Client::new),
        &config.ses_sender,
    );
    let mut settings = Settings::new(&config.public_base_url);
    settings.oauth_return_origins = config.oauth_return_origins.clone();
    Services::new(
        Arc::new(store),
        Arc::new(audit),
        Arc::new(mailer),
        Arc::new(SystemClock),
        settings,
        prov_connectors::registry::catalog(false),
    )
    .with_queue(jobs_queue(sdk, config))
}

/// The worker's queue (SQS, built on first use), or `NoQueue` without `JOBS_QUEUE_URL`.
fn jobs_queue(sdk: &aws_types::SdkConfig, config: &FunctionConfig) -> Arc<dyn JobQueue> {
    match &config.jobs_queue_url {
        Some(url) => Arc::new(SqsQueue::new(
            SdkClient::on_first_use(sdk, aws_sdk_sqs::Client::new),
            url,
        )),
        None => Arc::new(NoQueue),
    }
}

/// Parses our OAuth registrations (`{"<app>": {"client_id", "client_secret"}}`).
pub fn oauth_clients(json: &str) -> Result<HashMap<String, OAuthClientConfig>, ConfigError> {
    #[derive(serde::Deserialize)]
    struct Registration {
        client_id: String,
        client_secret: SecretString,
    }
    let parsed: HashMap<String, Registration> =
        serde_json::from_str(json).map_err(|e| ConfigError::Invalid {
            name: "OAUTH_CLIENTS_SECRET",
            // Only the position: serde messages may quote the (secret) input.
            why: format!(
                "the secret is not the expected JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        })?;
    Ok(parsed
        .into_iter()
        .map(|(app, r)| {
            (
                app,
                OAuthClientConfig {
                    client_id: r.client_id,
                    client_secret: r.client_secret,
                },
            )
        })
        .collect())
}

/// Our OAuth registrations, read from Secrets Manager on first use.
struct OAuthSecret {
    client: SdkClient<aws_sdk_secretsmanager::Client>,
    name: String,
}

#[async_trait::async_trait]
impl OAuthClientSource for OAuthSecret {
    async fn load(&self) -> Result<HashMap<String, OAuthClientConfig>, String> {
        let value = self
            .client
            .get()
            .get_secret_value()
            .secret_id(&self.name)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "OAUTH_CLIENTS_SECRET cannot be read: {}",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
                )
            })?;
        oauth_clients(value.secret_string().unwrap_or("{}")).map_err(|e| e.to_string())
    }
}

/// Everything a function that talks to vendors needs: the services, connection credentials
/// (encrypted in the main table under the keyring of Secrets Manager), the guarded HTTP client
/// and our OAuth registrations.
pub fn aws_apps(config: &FunctionConfig) -> Result<Apps, ConfigError> {
    apps_with(config, HttpConfig::default())
}

/// As `aws_apps`, for a function whose work nobody waits on (the dismissal cleanup): a turn
/// at a vendor's pace more than a second or two away is booked and the work handed back to
/// its schedule, instead of a function paid to sleep (`HttpConfig::background`).
pub fn aws_background_apps(config: &FunctionConfig) -> Result<Apps, ConfigError> {
    apps_with(config, HttpConfig::background())
}

fn apps_with(config: &FunctionConfig, http: HttpConfig) -> Result<Apps, ConfigError> {
    let sdk = &config.aws;
    let services = services_on(sdk, config);
    let keyring = config
        .credentials_keyring_secret
        .as_deref()
        .ok_or(ConfigError::Missing("CREDENTIALS_KEYRING_SECRET"))?;
    let secrets_client = SdkClient::on_first_use(sdk, aws_sdk_secretsmanager::Client::new);
    let oauth = match &config.oauth_clients_secret {
        Some(name) => OAuthClients::lazy(Box::new(OAuthSecret {
            client: secrets_client.clone(),
            name: name.clone(),
        })),
        None => OAuthClients::none(),
    };
    let mut secrets = EnvelopeSecretStore::new(
        services.store.clone(),
        SecretsManagerKeyring::new(secrets_client.clone(), keyring),
    );
    if let Some(prefix) = &config.secrets_prefix {
        // Read once, then deleted: nothing worth caching.
        let legacy = SecretsManagerStore::new(secrets_client, prefix, std::time::Duration::ZERO);
        secrets = secrets.with_legacy(Arc::new(legacy));
    }
    let scheduler = EventBridgeScheduler::new(
        SdkClient::on_first_use(sdk, aws_sdk_scheduler::Client::new),
        config
            .scheduler
            .clone()
            .ok_or(ConfigError::Missing("SCHEDULER_GROUP"))?,
    );
    let queue = services.queue.clone();
    let clock = services.clock.clone();
    let budgets = SharedBudgets::new(services.store.clone(), clock.clone());
    Ok(Apps {
        services,
        secrets: Arc::new(secrets),
        vendors: Arc::new(prov_connectors::Gateway::new(
            // Every instance keeps the vendors' pace together, through the table.
            Arc::new(VendorHttp::new(config.egress.clone(), http).with_shared_budgets(budgets)),
            Arc::new(oauth),
            clock,
        )),
        scheduler: Arc::new(scheduler),
        queue,
        webhooks: Arc::new(HttpWebhookSender::new(config.egress.is_sandbox())),
    })
}

/// Structured logs: JSON in Lambda (CloudWatch), readable text locally. `RUST_LOG` filters
/// by target and level (`info`, `warn,prov_connectors=debug`); one that does not parse
/// means `info`. (A target filter, not `EnvFilter`: its span and field matching needs a
/// regex engine in every binary, for directives we never write.)
pub fn init_tracing() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = log_filter(std::env::var("RUST_LOG").ok().as_deref());
    let builder = tracing_subscriber::fmt();
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        builder
            .json()
            .with_current_span(false)
            .without_time()
            .finish()
            .with(filter)
            .init();
    } else {
        builder.finish().with(filter).init();
    }
}

fn log_filter(directives: Option<&str>) -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::Targets;
    directives
        .and_then(|d| d.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// `pairs` over what Lambda always sets (region and credentials).
    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let lambda = [
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "AKIDLAMBDA"),
            ("AWS_SECRET_ACCESS_KEY", "lambda-secret"),
        ];
        let map: HashMap<String, String> = lambda
            .iter()
            .chain(pairs)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[tokio::test]
    async fn the_aws_clients_use_lambdas_region_and_credentials() {
        use aws_credential_types::provider::ProvideCredentials;
        let mut vars = base();
        vars.push(("AWS_SESSION_TOKEN", "session"));
        let config = FunctionConfig::from_lookup(env(&vars)).unwrap();
        assert_eq!(config.aws.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(config.aws.endpoint_url(), None);
        let credentials = config
            .aws
            .credentials_provider()
            .expect("credentials")
            .provide_credentials()
            .await
            .unwrap();
        assert_eq!(credentials.access_key_id(), "AKIDLAMBDA");
        assert_eq!(credentials.secret_access_key(), "lambda-secret");
        assert_eq!(credentials.session_token(), Some("session"));
        assert!(config.aws.http_client().is_some());
        assert_eq!(config.aws.retry_config().map(|r| r.max_attempts()), Some(3));
        // Debug output (logs of the config, a panic message) never holds the secret.
        assert!(!format!("{config:?}").contains("lambda-secret"));

        let mut local = base();
        local.push(("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"));
        let config = FunctionConfig::from_lookup(env(&local)).unwrap();
        assert_eq!(config.aws.endpoint_url(), Some("http://127.0.0.1:4566"));

        let mut bad = base();
        bad.push(("AWS_ENDPOINT_URL", "127.0.0.1:4566"));
        let refused = FunctionConfig::from_lookup(env(&bad)).unwrap_err().to_string();
        assert!(refused.contains("AWS_ENDPOINT_URL"), "{refused}");
    }

    #[test]
    fn rust_log_sets_levels_by_target_and_falls_back_to_info() {
        use tracing::Level;
        let default = log_filter(None);
        assert!(default.would_enable("prov_connectors::http", &Level::INFO));
        assert!(!default.would_enable("prov_connectors::http", &Level::DEBUG));
        let custom = log_filter(Some("warn,prov_connectors=debug"));
        assert!(custom.would_enable("prov_connectors::http", &Level::DEBUG));
        assert!(!custom.would_enable("prov_core::teams", &Level::INFO));
        assert!(custom.would_enable("prov_core::teams", &Level::WARN));
        let garbage = log_filter(Some("=!="));
        assert!(garbage.would_enable("anything", &Level::INFO));
        assert!(!garbage.would_enable("anything", &Level::DEBUG));
    }

    #[test]
    fn without_lambdas_region_or_credentials_it_says_which_is_missing() {
        for name in ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            let mut vars = base();
            vars.push((name, " "));
            let missing = FunctionConfig::from_lookup(env(&vars)).unwrap_err();
            assert_eq!(
                missing.to_string(),
                format!("environment variable {name} is not set")
            );
        }
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

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("TABLE_NAME", "main"),
            ("AUDIT_TABLE_NAME", "audit"),
            ("PUBLIC_BASE_URL", "https://api.example.com"),
            ("SES_SENDER", "no-reply@example.com"),
        ]
    }

    #[test]
    fn functions_that_talk_to_vendors_need_the_credentials_keyring() {
        let mut vars = base();
        vars.extend([
            ("SCHEDULER_GROUP", "dismissals"),
            (
                "CLEANUP_FUNCTION_ARN",
                "arn:aws:lambda:eu-west-1:1:function:cleanup",
            ),
            ("SCHEDULER_ROLE_ARN", "arn:aws:iam::1:role/scheduler"),
            ("DEAD_LETTER_QUEUE_ARN", "arn:aws:sqs:eu-west-1:1:dlq"),
        ]);
        let without = FunctionConfig::from_lookup(env(&vars)).unwrap();
        assert_eq!(
            aws_apps(&without).err().map(|e| e.to_string()).as_deref(),
            Some("environment variable CREDENTIALS_KEYRING_SECRET is not set")
        );
        // The keyring is read on first use, the legacy prefix optional: both build offline.
        vars.push((
            "CREDENTIALS_KEYRING_SECRET",
            "app-provisioning/prod/credentials-keyring",
        ));
        assert!(aws_apps(&FunctionConfig::from_lookup(env(&vars)).unwrap()).is_ok());
        vars.push(("SECRETS_PREFIX", "app-provisioning/prod"));
        assert!(aws_apps(&FunctionConfig::from_lookup(env(&vars)).unwrap()).is_ok());
    }

    #[test]
    fn vendor_routes_to_internal_addresses_need_sandbox_mode() {
        let mut production = base();
        production.push(("VENDOR_ROUTES", "api.slack.com=http://127.0.0.1:9000/fake"));
        let refused = FunctionConfig::from_lookup(env(&production))
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("VENDOR_ROUTES") && refused.contains("api.slack.com"),
            "{refused}"
        );

        let mut sandbox = production.clone();
        sandbox.push(("EGRESS_MODE", "sandbox"));
        let config = FunctionConfig::from_lookup(env(&sandbox)).unwrap();
        assert_eq!(config.egress.routes().len(), 1);

        let mut proxy = base();
        proxy.push((
            "VENDOR_ROUTES",
            "*.okta.com=https://okta-preview-proxy.example.com, api.slack.com=https://slack-fake.example.com",
        ));
        assert_eq!(
            FunctionConfig::from_lookup(env(&proxy))
                .unwrap()
                .egress
                .routes()
                .len(),
            2
        );

        let mut bad = base();
        bad.push(("EGRESS_MODE", "yolo"));
        assert!(FunctionConfig::from_lookup(env(&bad)).is_err());
        let mut malformed = base();
        malformed.push(("VENDOR_ROUTES", "api.slack.com"));
        assert!(FunctionConfig::from_lookup(env(&malformed)).is_err());
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
