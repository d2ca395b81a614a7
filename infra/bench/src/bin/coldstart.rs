//! Cold starts (issue 11, item 1): each function binary is started against a local fake of
//! the Lambda Runtime API, as Lambda starts it, many times. Per start it records the time
//! from spawning the process to its first poll of `next` (init), the time from handing it one
//! event to its answer (first invocation), and its peak resident memory (`VmHWM`). Prints a
//! Markdown table of medians and the ratios to the hello-world function.
//!
//! `coldstart --runs 20 --moto-python .venv/bin/python hello=PATH provision=PATH ...`
//! (the first binary is the baseline). The first invocations need no AWS call, except the
//! cleanup's sweep, which makes one DynamoDB call to moto (a table that does not exist).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use bench::{median, ms};
use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc};

/// One start's fake Runtime API: hands out one event, then reports what came back and when.
#[derive(Clone)]
struct Runtime {
    event: Arc<Mutex<Option<Value>>>,
    polled: mpsc::UnboundedSender<Instant>,
    answered: mpsc::UnboundedSender<(Instant, String, Value)>,
}

async fn next(State(rt): State<Runtime>) -> impl IntoResponse {
    let at = Instant::now();
    let Some(event) = rt.event.lock().await.take() else {
        // No more work: the function waits here, as it would between Lambda invocations.
        std::future::pending::<()>().await;
        unreachable!()
    };
    let _ = rt.polled.send(at);
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default() + Duration::from_secs(30);
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("lambda-runtime-aws-request-id", "bench-request-1".to_owned()),
        ("lambda-runtime-deadline-ms", deadline.as_millis().to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:bench".to_owned(),
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000".to_owned(),
        ),
    ] {
        headers.insert(name, HeaderValue::from_str(&value).expect("ASCII header"));
    }
    (headers, axum::Json(event))
}

async fn answer(
    State(rt): State<Runtime>,
    Path((_, kind)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> StatusCode {
    let at = Instant::now();
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let _ = rt.answered.send((at, kind, value));
    StatusCode::ACCEPTED
}

async fn init_error(State(rt): State<Runtime>, body: axum::body::Bytes) -> StatusCode {
    let at = Instant::now();
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let _ = rt.answered.send((at, "init-error".into(), value));
    StatusCode::ACCEPTED
}

/// An API Gateway HTTP API (v2) request.
fn http_event(method: &str, path: &str, query: &str) -> Value {
    json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"content-type": "application/json", "accept": "application/json"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.test",
            "domainPrefix": "api", "requestId": "apigw-1", "routeKey": format!("{method} {path}"),
            "stage": "$default", "time": "28/Nov/2026:08:00:00 +0000", "timeEpoch": 1_795_000_000_000i64,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.1", "userAgent": "bench"}
        },
        "body": if method == "POST" { Some("{}") } else { None },
        "isBase64Encoded": false
    })
}

/// What each function is asked first, and how that request is described in the table.
fn first_request(name: &str) -> (Value, &'static str) {
    match name {
        "provision" => (
            http_event("POST", "/v1/provision", ""),
            "POST /v1/provision without a token (401)",
        ),
        "accounts" => (
            http_event("GET", "/v1/apps", ""),
            "GET /v1/apps without a token (401)",
        ),
        "connect" => (
            http_event("GET", "/v1/oauth/callback", ""),
            "GET /v1/oauth/callback without a state (400)",
        ),
        "console" => (
            http_event("GET", "/console/sign_in", ""),
            "GET /console/sign_in (the sign-in page, 200)",
        ),
        "dismissal-cleanup" => (
            json!({"kind": "sweep"}),
            "a sweep: one DynamoDB query to moto (no such table: an error answer)",
        ),
        _ => (http_event("GET", "/", ""), "GET / (200)"),
    }
}

struct Start {
    init: Duration,
    first: Duration,
    peak_rss_kib: u64,
    outcome: String,
}

fn peak_rss_kib(child: &Child) -> u64 {
    std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn describe(kind: &str, answer: &Value) -> String {
    match answer.get("statusCode") {
        Some(code) => format!("{kind} {code}"),
        None => kind.to_owned(),
    }
}

async fn start_once(name: &str, binary: &PathBuf, moto: &str, extra: &[(String, String)]) -> Start {
    let (polled_tx, mut polled) = mpsc::unbounded_channel();
    let (answered_tx, mut answered) = mpsc::unbounded_channel();
    let runtime = Runtime {
        event: Arc::new(Mutex::new(Some(first_request(name).0))),
        polled: polled_tx,
        answered: answered_tx,
    };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/{kind}", post(answer))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(runtime);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let api = listener.local_addr().expect("bound").to_string();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let started = Instant::now();
    let mut child = Command::new(binary)
        .env_clear()
        .envs(function_env(name, &api, moto))
        .envs(extra.iter().cloned())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    let limit = Duration::from_secs(60);
    let outcome = tokio::select! {
        at = polled.recv() => Ok(at.expect("the runtime is up")),
        early = answered.recv() => Err(early.expect("the runtime is up")),
        () = tokio::time::sleep(limit) => panic!("{name} did not poll the runtime within {limit:?}"),
    };
    let polled_at = match outcome {
        Ok(at) => at,
        Err((_, kind, body)) => panic!("{name} failed at init ({kind}): {body}"),
    };
    let (answered_at, kind, body) = tokio::time::timeout(limit, answered.recv())
        .await
        .unwrap_or_else(|_| panic!("{name} did not answer within {limit:?}"))
        .expect("the runtime is up");
    let peak_rss_kib = peak_rss_kib(&child);
    let _ = child.kill();
    let _ = child.wait();
    server.abort();
    Start {
        init: polled_at - started,
        first: answered_at - polled_at,
        peak_rss_kib,
        outcome: describe(&kind, &body),
    }
}

/// What Lambda gives a function, plus our configuration (every name the template sets).
fn function_env(name: &str, api: &str, moto: &str) -> Vec<(String, String)> {
    let fixed = [
        ("PATH", "/usr/bin:/bin"),
        ("AWS_LAMBDA_FUNCTION_NAME", name),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_ENDPOINT_URL", moto),
        ("TABLE_NAME", "bench-missing-table"),
        ("AUDIT_TABLE_NAME", "bench-missing-audit"),
        ("PUBLIC_BASE_URL", "https://api.example.test"),
        ("SES_SENDER", "no-reply@example.com"),
        (
            "CREDENTIALS_KEYRING_SECRET",
            "app-provisioning/bench/credentials-keyring",
        ),
        ("SECRETS_PREFIX", "app-provisioning/bench"),
        ("OAUTH_CLIENTS_SECRET", "app-provisioning/bench/oauth-clients"),
        ("OAUTH_RETURN_ORIGINS", "https://app.example.test"),
        ("SCHEDULER_GROUP", "bench"),
        (
            "CLEANUP_FUNCTION_ARN",
            "arn:aws:lambda:us-east-1:123456789012:function:cleanup",
        ),
        ("SCHEDULER_ROLE_ARN", "arn:aws:iam::123456789012:role/scheduler"),
        ("DEAD_LETTER_QUEUE_ARN", "arn:aws:sqs:us-east-1:123456789012:dlq"),
    ];
    let mut env: Vec<(String, String)> = fixed
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    env.push(("AWS_LAMBDA_RUNTIME_API".into(), api.to_owned()));
    env
}

/// A moto server for the cleanup's DynamoDB call, stopped when this process ends.
fn start_moto(python: &str) -> (Child, String) {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(python)
        .arg("infra/scripts/moto_server.py")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start moto with {python}: {e}"));
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("moto prints its port");
    let port: u16 = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("moto did not start: {line:?}"));
    (child, format!("http://127.0.0.1:{port}"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut runs = 20;
    let mut python = ".venv/bin/python".to_owned();
    let mut binaries: Vec<(String, PathBuf)> = Vec::new();
    let mut extra: Vec<(String, String)> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            "--moto-python" => python = args.next().expect("--moto-python PATH"),
            // Extra environment for every start, to try a setting (e.g. `SSL_CERT_FILE=...`).
            "--env" => {
                let pair = args.next().expect("--env NAME=VALUE");
                let (k, v) = pair.split_once('=').expect("--env NAME=VALUE");
                extra.push((k.to_owned(), v.to_owned()));
            }
            other => {
                let (name, path) = other.split_once('=').expect("NAME=PATH");
                binaries.push((name.to_owned(), PathBuf::from(path)));
            }
        }
    }
    assert!(
        !binaries.is_empty(),
        "usage: coldstart [--runs N] [--moto-python PATH] [--env NAME=VALUE]... hello=PATH NAME=PATH..."
    );
    let (mut moto, moto_url) = start_moto(&python);

    println!(
        "| function | init (median) | × hello | first invocation (median) | peak RSS (median) | × hello | first request, answer |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut baseline: Option<(Duration, u64)> = None;
    let mut summary = Vec::new();
    for (name, binary) in &binaries {
        // One start not counted: the binary's pages come into the page cache.
        start_once(name, binary, &moto_url, &extra).await;
        let mut starts = Vec::new();
        for _ in 0..runs {
            starts.push(start_once(name, binary, &moto_url, &extra).await);
        }
        let init = median(&starts.iter().map(|s| s.init).collect::<Vec<_>>()).expect("runs");
        let first = median(&starts.iter().map(|s| s.first).collect::<Vec<_>>()).expect("runs");
        let mut rss: Vec<u64> = starts.iter().map(|s| s.peak_rss_kib).collect();
        rss.sort_unstable();
        let rss = rss[rss.len() / 2];
        let (base_init, base_rss) = *baseline.get_or_insert((init, rss));
        let init_ratio = init.as_secs_f64() / base_init.as_secs_f64();
        let rss_ratio = rss as f64 / base_rss as f64;
        println!(
            "| {name} | {} | {init_ratio:.2} | {} | {:.1} MiB | {rss_ratio:.2} | {}, {} |",
            ms(init),
            ms(first),
            rss as f64 / 1024.0,
            first_request(name).1,
            starts[0].outcome
        );
        summary.push((name.clone(), init_ratio, rss_ratio));
    }
    let _ = moto.kill();
    println!();
    println!(
        "{runs} starts per function (after one uncounted start). Goals: init ≤ 1.2× hello world, peak RSS ≤ 1.5×."
    );
    for (name, init_ratio, rss_ratio) in summary.iter().skip(1) {
        let verdict = |ratio: f64, goal: f64| {
            if ratio <= goal {
                "met".to_owned()
            } else {
                format!("missed by {:.0} %", (ratio / goal - 1.0) * 100.0)
            }
        };
        println!(
            "- {name}: init {init_ratio:.2}× ({}), peak RSS {rss_ratio:.2}× ({}).",
            verdict(*init_ratio, 1.2),
            verdict(*rss_ratio, 1.5)
        );
    }
}
