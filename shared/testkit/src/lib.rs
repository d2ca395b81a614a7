//! Test support shared by every crate's tests.
//!
//! - `moto()`: one moto server per test process, on a free loopback port, stopped when the
//!   process exits. It needs moto installed (the README's test command installs it into
//!   `.venv`); without it tests fail loudly rather than skip.
//! - AWS SDK clients pointed at it.
//! - `dynamodb_mock_client()`: a DynamoDB client answered by `aws-smithy-mocks` rules
//!   (throttling, cancelled transactions, 5xx) instead of a server.
//! - `RoundTrips`: what the service sends to AWS, with DynamoDB's item sizes.
//! - `call()`: one request through an axum router, answer parsed as JSON.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

pub use aws_smithy_mocks;
pub use round_trips::{DynamoUsage, RoundTrips, Trip, Written, item_size};

mod round_trips;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub const REGION: &str = "us-east-1";

pub struct Moto {
    pub endpoint: String,
    // Held so the server's stdin stays open for the life of the test process.
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The moto server of this test process, started on first use.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let root = workspace_root();
        let python = std::env::var_os("MOTO_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join(".venv/bin/python"));
        let script = root.join("infra/scripts/moto_server.py");
        let mut child = Command::new(&python)
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start moto with {}: {e}. Run the README's test command \
                     (infra/scripts/test), which installs moto into .venv, or set MOTO_PYTHON.",
                    python.display()
                )
            });
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("moto prints its port");
        let port: u16 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("moto did not start (is moto[server] installed?): {line:?}"));
        Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            _stdin: Mutex::new(child.stdin.take().expect("piped stdin")),
            _child: Mutex::new(child),
        }
    })
}

fn credentials() -> aws_sdk_dynamodb::config::Credentials {
    aws_sdk_dynamodb::config::Credentials::new("testing", "testing", None, None, "moto")
}

/// A client of AWS service `$sdk` pointed at moto, counting its round trips in `$counter`
/// (an `Option<&RoundTrips>`).
macro_rules! moto_client {
    ($sdk:ident, $counter:expr) => {{
        let mut config = $sdk::Config::builder()
            .behavior_version($sdk::config::BehaviorVersion::latest())
            .endpoint_url(&moto().endpoint)
            .http_client(prov_https::AwsHttpClient::shared())
            .region($sdk::config::Region::new(REGION))
            .credentials_provider(credentials());
        if let Some(counter) = $counter {
            config = config.interceptor(RoundTrips::clone(counter));
        }
        $sdk::Client::from_conf(config.build())
    }};
}

pub fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    moto_client!(aws_sdk_dynamodb, None::<&RoundTrips>)
}

pub fn sesv2_client() -> aws_sdk_sesv2::Client {
    moto_client!(aws_sdk_sesv2, None::<&RoundTrips>)
}

pub fn secretsmanager_client() -> aws_sdk_secretsmanager::Client {
    moto_client!(aws_sdk_secretsmanager, None::<&RoundTrips>)
}

pub fn scheduler_client() -> aws_sdk_scheduler::Client {
    moto_client!(aws_sdk_scheduler, None::<&RoundTrips>)
}

pub fn sqs_client() -> aws_sdk_sqs::Client {
    moto_client!(aws_sdk_sqs, None::<&RoundTrips>)
}

/// Every AWS client the service uses, pointed at moto, all counting into one `RoundTrips`.
pub struct CountedClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sesv2: aws_sdk_sesv2::Client,
    pub secretsmanager: aws_sdk_secretsmanager::Client,
    pub scheduler: aws_sdk_scheduler::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub round_trips: RoundTrips,
}

pub fn counted_clients() -> CountedClients {
    let round_trips = RoundTrips::default();
    let counter = Some(&round_trips);
    CountedClients {
        dynamodb: moto_client!(aws_sdk_dynamodb, counter),
        sesv2: moto_client!(aws_sdk_sesv2, counter),
        secretsmanager: moto_client!(aws_sdk_secretsmanager, counter),
        scheduler: moto_client!(aws_sdk_scheduler, counter),
        sqs: moto_client!(aws_sdk_sqs, counter),
        round_trips,
    }
}

/// How many attempts the SDK makes per call: the standard retry mode's default, which the
/// deployed functions use (`prov_platform`'s SDK configuration).
pub const DYNAMODB_ATTEMPTS: u32 = 3;

/// A DynamoDB client whose calls are answered by `rules` instead of a server (the rules'
/// answers go through the SDK's own deserialization and retry classification). Retries are
/// the standard mode's, as deployed, with millisecond backoffs so tests stay fast.
pub fn dynamodb_mock_client(
    mode: aws_smithy_mocks::RuleMode,
    rules: &[&aws_smithy_mocks::Rule],
) -> aws_sdk_dynamodb::Client {
    use aws_sdk_dynamodb::config::retry::RetryConfig;
    let interceptor = rules.iter().fold(
        aws_smithy_mocks::MockResponseInterceptor::new().rule_mode(mode),
        |interceptor, rule| interceptor.with_rule(rule),
    );
    let retry = RetryConfig::standard()
        .with_max_attempts(DYNAMODB_ATTEMPTS)
        .with_initial_backoff(std::time::Duration::from_millis(1))
        .with_max_backoff(std::time::Duration::from_millis(10));
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new(REGION))
        .credentials_provider(credentials())
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .interceptor(interceptor)
        .retry_config(retry)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A DynamoDB error answer as the service sends it (awsJson 1.0): `status` and a body naming
/// the error type.
pub fn dynamodb_error_body(error_type: &str, message: &str) -> String {
    serde_json::json!({
        "__type": format!("com.amazonaws.dynamodb.v20120810#{error_type}"),
        "message": message,
    })
    .to_string()
}

/// A table name no other test in this process uses.
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// An answer read back from a router.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "answer is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `error_key`s of an error answer, after checking it has the one error shape.
    pub fn error_keys(&self) -> Vec<String> {
        let body = self.json();
        let errors = body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("not the error shape: {body}"));
        assert!(!errors.is_empty(), "empty error list: {body}");
        errors
            .iter()
            .map(|e| {
                assert!(
                    e["category"].is_string() && e["message"].is_string(),
                    "not the error shape: {e}"
                );
                e["error_key"].as_str().expect("error_key").to_owned()
            })
            .collect()
    }

    pub fn category(&self) -> String {
        self.json()["errors"][0]["category"]
            .as_str()
            .expect("category")
            .to_owned()
    }
}

/// Sends one request through `router`.
pub async fn call(router: &Router, request: Request<Body>) -> Answer {
    let response = router
        .clone()
        .oneshot(request)
        .await
        .expect("routers are infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body reads")
        .to_bytes()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

/// A JSON request with an optional `Authorization: Token` header.
pub fn json_request(method: &str, uri: &str, token: Option<&str>, body: &Value) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(t) = token {
        b = b.header("authorization", format!("Token {t}"));
    }
    b.body(Body::from(body.to_string())).expect("valid request")
}

/// A request without a body.
pub fn get(uri: &str, token: Option<&str>) -> Request<Body> {
    let mut b = Request::builder().method("GET").uri(uri);
    if let Some(t) = token {
        b = b.header("authorization", format!("Token {t}"));
    }
    b.body(Body::empty()).expect("valid request")
}
