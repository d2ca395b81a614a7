//! The provision binary as Lambda runs it: started against a local fake of the Lambda Runtime
//! API, configured only by environment variables, with DynamoDB (and SES) on moto through
//! `AWS_ENDPOINT_URL`. One API Gateway HTTP API request in, the answer checked.

use std::process::{Command, Stdio};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use prov_core::auth::create_partner;
use prov_core::clock::SystemClock;
use prov_core::store::{ItemStore, PageRequest};
use prov_store::DynamoStore;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc};

/// The fake Runtime API: hands out one event, then collects what the function answers.
#[derive(Clone)]
struct Runtime {
    event: Arc<Mutex<Option<Value>>>,
    answers: mpsc::Sender<(String, Value)>,
}

async fn next(State(rt): State<Runtime>) -> impl IntoResponse {
    let Some(event) = rt.event.lock().await.take() else {
        // No more work: keep the function waiting, as Lambda does between invocations.
        std::future::pending::<()>().await;
        unreachable!()
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        "lambda-runtime-aws-request-id",
        HeaderValue::from_static("smoke-request-1"),
    );
    let deadline = (chrono::Utc::now().timestamp_millis() + 30_000).to_string();
    headers.insert(
        "lambda-runtime-deadline-ms",
        HeaderValue::from_str(&deadline).unwrap(),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:provision"),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        HeaderValue::from_static("Root=1-00000000-000000000000000000000000"),
    );
    (headers, axum::Json(event))
}

async fn answer(
    State(rt): State<Runtime>,
    Path((id, kind)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    rt.answers.send((format!("{id}/{kind}"), value)).await.ok();
    StatusCode::ACCEPTED
}

async fn init_error(State(rt): State<Runtime>, body: axum::body::Bytes) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    rt.answers.send(("init/error".into(), value)).await.ok();
    StatusCode::ACCEPTED
}

fn http_event(body: &Value, token: &str) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "POST /v1/provision",
        "rawPath": "/v1/provision",
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "authorization": format!("Token {token}")},
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.test",
            "domainPrefix": "api", "requestId": "apigw-1", "routeKey": "POST /v1/provision",
            "stage": "$default", "time": "28/Nov/2026:08:00:00 +0000", "timeEpoch": 1795000000000i64,
            "http": {"method": "POST", "path": "/v1/provision", "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.1", "userAgent": "smoke"}
        },
        "body": body.to_string(),
        "isBase64Encoded": false
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_binary_answers_through_the_lambda_runtime_api() {
    let client = prov_testkit::dynamodb_client();
    let (table, audit) = (
        prov_testkit::unique_name("smoke"),
        prov_testkit::unique_name("smoke-audit"),
    );
    DynamoStore::create_table(&client, &table).await.unwrap();
    DynamoStore::create_table(&client, &audit).await.unwrap();
    let store = DynamoStore::new(client, &table);
    let (partner, token) = create_partner(&store, &SystemClock, "Smoke", None).await.unwrap();

    let (tx, mut rx) = mpsc::channel(4);
    let body = json!({"user": {"first_name": "S", "last_name": "M", "email": "smoke@example.com"}, "company": {"name": "Smoke Co"}});
    let runtime = Runtime {
        event: Arc::new(Mutex::new(Some(http_event(&body, token.expose_secret())))),
        answers: tx,
    };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/{kind}", post(answer))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(runtime);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut child = Command::new(env!("CARGO_BIN_EXE_provision"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", &api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "provision")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/provision")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "smoke")
        .env("AWS_REGION", prov_testkit::REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_ENDPOINT_URL", &prov_testkit::moto().endpoint)
        .env("TABLE_NAME", &table)
        .env("AUDIT_TABLE_NAME", &audit)
        .env("PUBLIC_BASE_URL", "https://api.example.test")
        .env("SES_SENDER", "no-reply@example.com")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the provision binary starts");

    let (kind, answer) = tokio::time::timeout(std::time::Duration::from_secs(60), rx.recv())
        .await
        .expect("the function answers within a minute")
        .expect("an answer");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(kind, "smoke-request-1/response", "{answer}");
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let payload: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert!(
        payload["account_claim_url"]
            .as_str()
            .unwrap()
            .starts_with("https://api.example.test/claim_account/")
    );
    // The company is in the DynamoDB table, listed under its partner.
    let page = store
        .query_index(
            &format!("PARTNER#{}#COMPANIES", partner.id),
            PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].data["name"], "Smoke Co");
}
