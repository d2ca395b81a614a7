//! The AWS SDK on `AwsHttpClient`, against a local fake of DynamoDB's wire protocol.

use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::client::result::DispatchFailure;
use prov_https::AwsHttpClient;
use wiremock::matchers::{body_partial_json, header, header_regex, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ATTEMPTS: u32 = 3;

fn client(endpoint: &str, read_timeout: Option<Duration>) -> aws_sdk_dynamodb::Client {
    let mut timeouts = TimeoutConfig::builder();
    timeouts.set_read_timeout(read_timeout);
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDEXAMPLE", "secret", None, None, "test"))
        .endpoint_url(endpoint)
        .http_client(AwsHttpClient::shared())
        .timeout_config(timeouts.build())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_backoff(Duration::from_millis(5)),
        )
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

async fn get_item(client: &aws_sdk_dynamodb::Client) -> Result<Option<String>, String> {
    client
        .get_item()
        .table_name("things")
        .key("pk", AttributeValue::S("a".into()))
        .send()
        .await
        .map(|out| {
            out.item()
                .and_then(|item| item.get("name"))
                .and_then(|v| v.as_s().ok())
                .cloned()
        })
        .map_err(|e| format!("{:?}", e.into_source()))
}

#[tokio::test]
async fn the_signed_request_goes_out_as_the_sdk_made_it_and_the_answer_comes_back() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/"))
        .and(header("x-amz-target", "DynamoDB_20120810.GetItem"))
        .and(header_regex(
            "authorization",
            "^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/",
        ))
        .and(header("content-type", "application/x-amz-json-1.0"))
        .and(body_partial_json(serde_json_key()))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/x-amz-json-1.0")
                .set_body_string(r#"{"Item":{"pk":{"S":"a"},"name":{"S":"Ada"}}}"#),
        )
        .expect(1)
        .mount(&server)
        .await;
    let answer = get_item(&client(&server.uri(), None)).await;
    assert_eq!(answer, Ok(Some("Ada".to_owned())));
}

fn serde_json_key() -> serde_json::Value {
    serde_json::json!({"TableName": "things", "Key": {"pk": {"S": "a"}}})
}

#[tokio::test]
async fn an_answer_slower_than_the_read_timeout_is_a_timeout_and_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .expect(u64::from(ATTEMPTS))
        .mount(&server)
        .await;
    let failure = dispatch_failure(&client(&server.uri(), Some(Duration::from_millis(100)))).await;
    assert!(failure.is_timeout(), "{failure:?}");
}

#[tokio::test]
async fn a_refused_connection_is_an_io_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let endpoint = format!("http://{}", listener.local_addr().expect("bound"));
    drop(listener);
    let failure = dispatch_failure(&client(&endpoint, None)).await;
    assert!(failure.is_io(), "{failure:?}");
}

/// A GetItem that must fail before any answer arrives (the connector's error).
async fn dispatch_failure(client: &aws_sdk_dynamodb::Client) -> DispatchFailure {
    let error = client
        .get_item()
        .table_name("things")
        .key("pk", AttributeValue::S("a".into()))
        .send()
        .await
        .expect_err("no answer");
    match error {
        SdkError::DispatchFailure(failure) => failure,
        other => panic!("expected a dispatch failure, got {other:?}"),
    }
}

#[tokio::test]
async fn redirects_are_answers_not_followed() {
    let server = MockServer::start().await;
    Mock::given(path("/"))
        .respond_with(ResponseTemplate::new(307).insert_header("location", "/elsewhere"))
        .expect(1..)
        .mount(&server)
        .await;
    Mock::given(path("/elsewhere"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .expect(0)
        .mount(&server)
        .await;
    let answer = get_item(&client(&server.uri(), None)).await;
    assert!(answer.is_err(), "{answer:?}");
}
