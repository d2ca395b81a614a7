//! The webhook sender against wiremock: what it sends, and that whatever a receiver answers
//! (a huge or binary body, a redirect, nothing at all) is only recorded.

use prov_connectors::webhooks::HttpWebhookSender;
use prov_core::webhooks::WebhookSender;
use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BODY: &str = r#"{"id":"evt_1","type":"company.claimed"}"#;

fn headers() -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "application/json".to_owned()),
        ("webhook-signature", "t=1,v1=00".to_owned()),
        ("webhook-id", "evt_1".to_owned()),
    ]
}

#[tokio::test]
async fn a_delivery_is_posted_as_given_and_its_answer_recorded() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .and(header("webhook-id", "evt_1"))
        .and(header("content-type", "application/json"))
        .and(body_string(BODY))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let sender = HttpWebhookSender::new(true);
    let answered = sender
        .post(&format!("{}/hook", server.uri()), &headers(), BODY)
        .await;
    assert_eq!((answered.status, answered.error), (Some(204), None));
    // (wiremock's header matcher splits values at commas: the signature is read whole here.)
    let got = server.received_requests().await.unwrap();
    assert_eq!(got[0].headers.get("webhook-signature").unwrap(), "t=1,v1=00");
}

#[tokio::test]
async fn whatever_a_receiver_answers_is_only_recorded() {
    let server = MockServer::start().await;
    // Two megabytes of bytes that are not text.
    let junk: Vec<u8> = (0..2 * 1024 * 1024).map(|i| (i % 256) as u8).collect();
    Mock::given(path("/junk"))
        .respond_with(ResponseTemplate::new(500).set_body_bytes(junk))
        .mount(&server)
        .await;
    Mock::given(path("/moved"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "http://169.254.169.254/"))
        .mount(&server)
        .await;
    let sender = HttpWebhookSender::new(true);
    let junk = sender
        .post(&format!("{}/junk", server.uri()), &headers(), BODY)
        .await;
    assert_eq!(junk.status, Some(500));
    let kept = junk.response.unwrap();
    assert!(
        kept.len() <= 1024 * 3 && kept.chars().count() <= 1024,
        "{}",
        kept.len()
    );
    assert!(!kept.chars().any(|c| c.is_control() && c != '\n'));
    // A redirect is an answer, not a place to go.
    let moved = sender
        .post(&format!("{}/moved", server.uri()), &headers(), BODY)
        .await;
    assert_eq!(moved.status, Some(302));
    // Nobody listening.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        sender
            .post(&format!("http://127.0.0.1:{port}/hook"), &headers(), BODY)
            .await
    };
    assert_eq!(closed.status, None);
    assert!(closed.error.unwrap().contains("could not connect"));
}

#[tokio::test]
async fn outside_sandbox_mode_this_machine_is_never_called() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let sender = HttpWebhookSender::new(false);
    let url = format!("{}/hook", server.uri());
    assert!(sender.check(&url).is_err());
    let refused = sender.post(&url, &headers(), BODY).await;
    assert_eq!(refused.status, None);
    assert!(
        refused.error.unwrap().contains("cannot be used"),
        "refused before any call"
    );
}
