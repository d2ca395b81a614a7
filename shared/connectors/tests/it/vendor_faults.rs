//! Vendor faults the plumbing tests do not cover: answers that are not what the vendor
//! documents (an HTML error page with 200, truncated JSON, the wrong types, an empty body)
//! and a body that stops halfway. Every one is a clear `ConnectorError`, never a panic and
//! never a success; a create whose answer is unreadable is not sent twice. Each test prints a
//! `fault-injection:` line for RELIABILITY.md.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use prov_connectors::egress::{EgressPolicy, HostPattern};
use prov_connectors::http::{HttpConfig, Session, StaticAuth, VendorHttp, VendorRequest};
use prov_connectors::{Connector, ConnectorError, NewAccount};
use secrecy::SecretString;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{any, method, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{VENDOR, api_key_connector, oauth_connector};

const SECRET: &str = "abcdefghijklmnopqrstuvwxyz0123";

/// Answers a vendor may give with a 200 that are not its API's.
fn malformed() -> Vec<(&'static str, ResponseTemplate)> {
    vec![
        (
            "an HTML error page",
            ResponseTemplate::new(200).set_body_raw(
                "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>",
                "text/html",
            ),
        ),
        (
            "truncated JSON",
            ResponseTemplate::new(200).set_body_raw(
                r#"{"Resources": [{"id": "u1", "userName": "ada@exa"#,
                "application/json",
            ),
        ),
        (
            "the wrong types",
            ResponseTemplate::new(200).set_body_json(json!({
                "Resources": "none", "totalResults": "many", "users": 7, "data": {"id": []},
                "results": false, "members": "x", "entries": 1, "value": "x", "id": [], "email": 5
            })),
        ),
        (
            "an empty body",
            ResponseTemplate::new(200).set_body_raw("", "application/json"),
        ),
    ]
}

fn ada() -> NewAccount {
    NewAccount {
        email: "ada@example.com".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
    }
}

/// Connectors of several shapes (SCIM, Okta, and four OAuth vendors' own APIs), their hosts
/// routed to `server`.
fn connectors(server: &MockServer) -> Vec<(&'static str, Box<dyn Connector>)> {
    vec![
        (
            "fifteen_five",
            api_key_connector(
                server,
                "fifteen_five",
                &["acme.15five.com"],
                &[("scim_base_url", "https://acme.15five.com/scim/v2/")],
                &[("scim_token", SECRET)],
            )
            .0,
        ),
        (
            "okta",
            api_key_connector(
                server,
                "okta",
                &["acme.okta.com"],
                &[("org_url", "https://acme.okta.com")],
                &[("api_token", SECRET)],
            )
            .0,
        ),
        (
            "asana",
            oauth_connector(server, "asana", &["app.asana.com"], SECRET).0,
        ),
        ("box", oauth_connector(server, "box", &["api.box.com"], SECRET).0),
        (
            "dropbox",
            oauth_connector(server, "dropbox", &["api.dropboxapi.com"], SECRET).0,
        ),
        (
            "hubspot",
            oauth_connector(server, "hubspot", &["api.hubapi.com"], SECRET).0,
        ),
    ]
}

/// A call's outcome: `Err` when it failed (the message), a panic is a test failure.
async fn outcome<T: Send + 'static>(
    call: impl std::future::Future<Output = Result<T, ConnectorError>> + Send + 'static,
) -> Result<T, ConnectorError> {
    tokio::spawn(call).await.expect("a vendor's answer never panics")
}

#[tokio::test]
async fn malformed_answers_are_clear_errors_never_panics_or_successes() {
    let mut checked = 0;
    let mut accepted = Vec::new();
    for (answer, template) in malformed() {
        let server = MockServer::start().await;
        Mock::given(any()).respond_with(template).mount(&server).await;
        for (app, connector) in connectors(&server) {
            let connector: Arc<dyn Connector> = Arc::from(connector);
            let c = connector.clone();
            let listed = outcome(async move { c.list(None).await.map(|_| ()) }).await;
            let c = connector.clone();
            let found = outcome(async move { c.find_by_email("ada@example.com").await.map(|_| ()) }).await;
            let c = connector.clone();
            let got = outcome(async move { c.get("u1").await.map(|_| ()) }).await;
            let c = connector.clone();
            let verified = outcome(async move { c.verify().await }).await;
            for (call, result) in [
                ("list", listed),
                ("find_by_email", found),
                ("get", got),
                ("verify", verified),
            ] {
                let e = match result {
                    Err(e) => e,
                    Ok(()) => {
                        accepted.push(format!("{app} {call} took {answer}"));
                        continue;
                    }
                };
                let message = e.to_string();
                assert!(
                    matches!(e, ConnectorError::Transient(_) | ConnectorError::Invalid(_)),
                    "{app} {call} with {answer}: {e:?}"
                );
                assert!(!message.contains(SECRET), "{app} {call}: {message}");
                checked += 1;
            }
        }
    }
    assert!(accepted.is_empty(), "{accepted:#?}");
    println!(
        "fault-injection: vendors: {} malformed 200 answers × {} connectors × 4 calls (list, find_by_email, get, verify): {checked}/{checked} a clear ConnectorError (Transient or Invalid), 0 panics, 0 successes",
        malformed().len(),
        6
    );
}

#[tokio::test]
async fn an_unreadable_answer_to_a_create_is_an_error_and_the_create_is_not_repeated() {
    let mut checked = 0;
    for (answer, template) in malformed() {
        let server = MockServer::start().await;
        // Nobody with the email yet; the create's answer is unreadable.
        Mock::given(method("GET"))
            .and(query_param("filter", "userName eq \"ada@example.com\""))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []
            })))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(template)
            .mount(&server)
            .await;
        let (connector, _) = api_key_connector(
            &server,
            "fifteen_five",
            &["acme.15five.com"],
            &[("scim_base_url", "https://acme.15five.com/scim/v2/")],
            &[("scim_token", SECRET)],
        );
        let result = outcome(async move { connector.create(&ada()).await }).await;
        assert!(
            matches!(
                result,
                Err(ConnectorError::Transient(_) | ConnectorError::Invalid(_))
            ),
            "{answer}: {result:?}"
        );
        let posts = server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.method.as_str() == "POST")
            .count();
        assert_eq!(
            posts, 1,
            "{answer}: a create that may have happened is not repeated"
        );
        checked += 1;
    }
    println!(
        "fault-injection: vendors: create answered 200 with {checked} malformed bodies: {checked}/{checked} a clear error, 1 POST each"
    );
}

/// A vendor that sends its headers and the start of a body, then goes quiet (the socket
/// stays open). Counts connections.
async fn stalling_vendor() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((mut socket, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4096\r\n\r\n";
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(br#"{"Resources": [{"id": "u1", "#).await;
            let _ = socket.flush().await;
            open.push(socket); // never finished, never closed
        }
    });
    (uri, connections)
}

fn session_to(uri: &str, config: HttpConfig) -> Session {
    let policy = EgressPolicy::sandbox().route(VENDOR, uri).unwrap();
    Session::new(
        Arc::new(VendorHttp::new(policy, config)),
        "test",
        "com_1",
        vec![HostPattern::new(VENDOR).unwrap()],
        Arc::new(StaticAuth::bearer(&SecretString::from(SECRET))),
        None,
    )
}

#[tokio::test]
async fn a_body_that_stops_halfway_times_out_and_only_idempotent_calls_are_retried() {
    let config = HttpConfig {
        request_timeout: Duration::from_millis(300),
        max_attempts: 2,
        ..HttpConfig::default()
    };
    let url = url::Url::parse(&format!("https://{VENDOR}/Users")).unwrap();
    let (uri, connections) = stalling_vendor().await;
    let session = session_to(&uri, config.clone());
    let error = session.send(VendorRequest::get(url.clone())).await.unwrap_err();
    assert!(
        matches!(&error, ConnectorError::Transient(m) if m.contains("timed out")),
        "{error:?}"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 2, "a GET is retried once");

    let (uri, connections) = stalling_vendor().await;
    let session = session_to(&uri, config);
    let post = VendorRequest::new(reqwest::Method::POST, url).json(json!({"userName": "ada@example.com"}));
    let error = session.send(post).await.unwrap_err();
    assert!(
        matches!(&error, ConnectorError::Transient(m) if m.contains("timed out")),
        "{error:?}"
    );
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "a POST that may have landed is not repeated"
    );
    println!(
        "fault-injection: vendors: body stalled mid-way (300 ms timeout): GET timed out after 2 attempts, POST after 1; both a Transient error"
    );
}
