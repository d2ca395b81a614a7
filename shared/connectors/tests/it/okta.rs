//! Okta: the Users API with an `SSWS` API token, against a wiremock org. Requests are checked
//! for the method, path, query, headers and body Okta documents.

use std::sync::Arc;
use std::time::Duration;

use prov_connectors::registry::{self, Tenant};
use prov_connectors::{AccountStatus, Connector, ConnectorError, NewAccount};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{RecordingSleeper, api_key_connector, first_then};

const ORG: &str = "https://acme.okta.com";

fn okta(server: &MockServer, token: &str) -> (Box<dyn Connector>, Arc<RecordingSleeper>) {
    api_key_connector(
        server,
        "okta",
        &["acme.okta.com"],
        &[("org_url", ORG)],
        &[("api_token", token)],
    )
}

fn user(id: &str, email: &str, status: &str) -> Value {
    json!({"id": id, "status": status, "profile": {"firstName": "F", "lastName": id, "email": email, "login": email}})
}

#[tokio::test]
async fn the_org_url_must_be_an_okta_host() {
    let check = registry::spec("okta").unwrap().check;
    for bad in [
        "https://acme.example.com",
        "http://acme.okta.com",
        "https://okta.com.evil.net",
    ] {
        let tenant = Tenant::from([("org_url".to_owned(), bad.to_owned())]);
        assert!(check(&tenant, "api_token", "t").is_err(), "{bad}");
    }
    let preview = Tenant::from([("org_url".to_owned(), "https://acme.oktapreview.com".to_owned())]);
    assert!(check(&preview, "api_token", "t").is_ok());
}

#[tokio::test]
async fn a_wrong_token_is_refused_at_verification() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users/me"))
        .and(header("authorization", "SSWS wrong"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"errorCode": "E0000011", "errorSummary": "Invalid token provided"})),
        )
        .mount(&server)
        .await;
    let (connector, _) = okta(&server, "wrong");
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => assert!(why.contains("E0000011"), "{why}"),
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn users_page_with_the_link_header_and_never_leave_the_org() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .and(query_param("limit", "200"))
        .and(query_param("after", "00u2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([user(
            "00u3",
            "c@example.com",
            "ACTIVE"
        )])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .and(query_param("limit", "200"))
        .and(header("authorization", "SSWS good-token"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", format!("<{ORG}/api/v1/users?limit=200>; rel=\"self\", <{ORG}/api/v1/users?after=00u2&limit=200>; rel=\"next\"").as_str())
                .set_body_json(json!([user("00u1", "a@example.com", "ACTIVE"), user("00u2", "b@example.com", "SUSPENDED")])),
        )
        .mount(&server)
        .await;
    let (connector, _) = okta(&server, "good-token");
    let first = connector.list(None).await.unwrap();
    assert_eq!(first.accounts.len(), 2);
    assert_eq!(first.accounts[1].status, AccountStatus::Suspended);
    assert_eq!(first.next.as_deref(), Some("00u2"));
    let second = connector.list(first.next.as_deref()).await.unwrap();
    assert_eq!((second.accounts.len(), second.next), (1, None));
}

/// Okta's `filter=lastUpdated gt "…"` (UTC, milliseconds), paged like the plain listing,
/// the filter sent again with each page's `after`.
#[tokio::test]
async fn changes_are_listed_with_the_last_updated_filter_in_pages() {
    let server = MockServer::start().await;
    let filter = "lastUpdated gt \"2026-03-01T11:55:00.250Z\"";
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .and(query_param("limit", "200"))
        .and(query_param("filter", filter))
        .and(query_param("after", "00u7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([user(
            "00u9",
            "c@example.com",
            "DEPROVISIONED"
        )])))
        .mount(&server)
        .await;
    let next = format!(
        "<{ORG}/api/v1/users?after=00u7&limit=200&filter=lastUpdated%20gt%20%222026-03-01T11%3A55%3A00.250Z%22>; rel=\"next\""
    );
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .and(query_param("limit", "200"))
        .and(query_param("filter", filter))
        .and(header("authorization", "SSWS good-token"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", next.as_str())
                .set_body_json(json!([user("00u7", "a@example.com", "SUSPENDED")])),
        )
        .expect(1..)
        .mount(&server)
        .await;
    let (connector, _) = okta(&server, "good-token");
    let since = "2026-03-01T11:55:00.250Z".parse().unwrap();
    let first = connector.list_changed(since, None).await.unwrap();
    assert_eq!(first.accounts[0].status, AccountStatus::Suspended);
    assert_eq!(first.next.as_deref(), Some("00u7"));
    let second = connector
        .list_changed(since, first.next.as_deref())
        .await
        .unwrap();
    assert_eq!(second.accounts[0].status, AccountStatus::Deleted);
    assert_eq!(second.next, None);
}

#[tokio::test]
async fn create_invites_and_is_pending_until_activated() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .and(query_param("filter", "profile.email eq \"ada@example.com\""))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/users"))
        .and(query_param("activate", "true"))
        .and(body_json(json!({"profile": {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "login": "ada@example.com"}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("00u9", "ada@example.com", "PROVISIONED")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users/00u9"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("00u9", "ada@example.com", "ACTIVE")))
        .mount(&server)
        .await;
    let (connector, _) = okta(&server, "good-token");
    let ada = NewAccount {
        email: "ada@example.com".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
    };
    let created = connector.create(&ada).await.unwrap();
    assert_eq!(
        created.status,
        AccountStatus::InviteSent,
        "Okta emailed an activation link"
    );
    // Once Ada activates, Okta says ACTIVE.
    assert_eq!(
        connector.get("00u9").await.unwrap().unwrap().status,
        AccountStatus::Active
    );
}

#[tokio::test]
async fn create_of_an_existing_login_returns_that_user() {
    let server = MockServer::start().await;
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = calls.clone();
    // The first lookup misses (another request is creating it), the POST says the login
    // exists, the second lookup finds it.
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .respond_with(move |_: &wiremock::Request| {
            if seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                ResponseTemplate::new(200).set_body_json(json!([]))
            } else {
                ResponseTemplate::new(200).set_body_json(json!([user("00u5", "ada@example.com", "ACTIVE")]))
            }
        })
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/users"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "errorCode": "E0000001", "errorSummary": "Api validation failed: login",
            "errorCauses": [{"errorSummary": "login: An object with this field already exists in the current organization"}]
        })))
        .mount(&server)
        .await;
    let (connector, _) = okta(&server, "good-token");
    let ada = NewAccount {
        email: "ada@example.com".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
    };
    assert_eq!(connector.create(&ada).await.unwrap().id, "00u5");
}

#[tokio::test]
async fn delete_deactivates_then_deletes_and_a_missing_user_is_fine() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users/00u1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("00u1", "a@example.com", "ACTIVE")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/users/00u1/lifecycle/deactivate"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/v1/users/00u1"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users/00u404"))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"errorCode": "E0000007", "errorSummary": "Not found: Resource not found: 00u404 (User)"}),
        ))
        .mount(&server)
        .await;
    let (connector, _) = okta(&server, "good-token");
    connector.delete("00u1").await.unwrap();
    connector.delete("00u404").await.unwrap();
    let order: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert_eq!(
        &order[..3],
        [
            "GET /api/v1/users/00u1",
            "POST /api/v1/users/00u1/lifecycle/deactivate",
            "DELETE /api/v1/users/00u1"
        ]
    );
}

#[tokio::test]
async fn a_404_of_the_deactivation_still_sends_the_user_s_delete() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users/00u1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("00u1", "a@example.com", "ACTIVE")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/users/00u1/lifecycle/deactivate"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(
                json!({"errorCode": "E0000007", "errorSummary": "Not found: Resource not found"}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/v1/users/00u1"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = okta(&server, "good-token");
    connector.delete("00u1").await.unwrap();
}

#[tokio::test]
async fn suspend_and_unsuspend_are_lifecycle_operations() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/users/00u1/lifecycle/suspend"))
        .and(header("authorization", "SSWS good-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/users/00u1/lifecycle/unsuspend"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    first_then(
        &server,
        || Mock::given(method("GET")).and(path("/api/v1/users/00u1")),
        ResponseTemplate::new(200).set_body_json(user("00u1", "a@example.com", "SUSPENDED")),
        ResponseTemplate::new(200).set_body_json(user("00u1", "a@example.com", "ACTIVE")),
    )
    .await;
    let (connector, _) = okta(&server, "good-token");
    let caps = connector.capabilities();
    assert!(caps.suspend && caps.reactivate);
    assert_eq!(
        connector.suspend("00u1").await.unwrap().status,
        AccountStatus::Suspended
    );
    assert_eq!(
        connector.reactivate("00u1").await.unwrap().status,
        AccountStatus::Active
    );
}

#[tokio::test]
async fn only_an_active_user_is_suspended_and_the_refusal_names_the_status() {
    let server = MockServer::start().await;
    let refusal = ResponseTemplate::new(400).set_body_json(json!({
        "errorCode": "E0000001", "errorSummary": "Api validation failed: user",
        "errorCauses": [{"errorSummary": "Cannot suspend a user that is not active"}]
    }));
    Mock::given(method("POST"))
        .and(path("/api/v1/users/00u2/lifecycle/suspend"))
        .respond_with(refusal.clone())
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users/00u2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("00u2", "b@example.com", "PROVISIONED")))
        .mount(&server)
        .await;
    // Suspended already: the same refusal is no error.
    Mock::given(method("POST"))
        .and(path("/api/v1/users/00u3/lifecycle/suspend"))
        .respond_with(refusal)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users/00u3"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("00u3", "c@example.com", "SUSPENDED")))
        .mount(&server)
        .await;
    let (connector, _) = okta(&server, "good-token");
    match connector.suspend("00u2").await {
        Err(ConnectorError::Invalid(why)) => assert!(why.contains("PROVISIONED"), "{why}"),
        other => panic!("a pending user is not suspended: {other:?}"),
    }
    assert_eq!(
        connector.suspend("00u3").await.unwrap().status,
        AccountStatus::Suspended
    );
}

#[tokio::test]
async fn oktas_rate_limit_reset_header_is_waited_for() {
    let server = MockServer::start().await;
    // A reset within what a connector waits (a later one is handed back: see `waits`).
    let reset = (chrono::Utc::now() + chrono::Duration::seconds(8))
        .timestamp()
        .to_string();
    Mock::given(method("GET"))
        .and(path("/api/v1/users/00u1"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-rate-limit-reset", reset.as_str())
                .set_body_json(json!({"errorCode": "E0000047", "errorSummary": "API call exceeded rate limit due to too many requests."})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users/00u1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("00u1", "a@example.com", "ACTIVE")))
        .mount(&server)
        .await;
    let (connector, sleeper) = okta(&server, "good-token");
    assert!(connector.get("00u1").await.unwrap().is_some());
    let waits = sleeper.waits();
    assert_eq!(waits.len(), 1);
    assert!(
        waits[0] <= Duration::from_secs(8) && waits[0] >= Duration::from_secs(6),
        "{waits:?}"
    );
}

/// The tenant is the org's id from its well-known metadata, once the token is proven at it.
#[tokio::test]
async fn the_tenant_is_the_org_id_of_its_well_known_metadata() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "00u1", "status": "ACTIVE", "profile": {"email": "admin@acme.example", "login": "admin@acme.example"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/.well-known/okta-organization"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "00o5rb5mt2H3d1TJd0h7", "pipeline": "idx",
            "_links": {"organization": {"href": ORG}}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = okta(&server, "token");
    connector.verify().await.unwrap();
    assert_eq!(
        connector.tenant().await.unwrap(),
        prov_connectors::VendorTenant {
            id: "00o5rb5mt2H3d1TJd0h7".into(),
            name: "acme.okta.com".into()
        }
    );
}
