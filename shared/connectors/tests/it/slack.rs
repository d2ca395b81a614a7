//! Slack: OAuth v2 with a user token (`user_scope=admin`) and SCIM 2.0 at
//! `https://api.slack.com/scim/v2/`, against a wiremock Slack. Requests are checked for the
//! method, path, headers and body Slack documents.

use std::sync::Arc;
use std::time::Duration;

use prov_connectors::http::VendorHttp;
use prov_connectors::oauth::{self, CodeGrant, OAuthClientConfig};
use prov_connectors::registry;
use prov_connectors::scim::user_resource;
use prov_connectors::{AccountStatus, Connector, ConnectorError, NewAccount};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{RecordingSleeper, authorize_in_production, oauth_connector, vendor_http};

fn http(server: &MockServer) -> (Arc<VendorHttp>, Arc<RecordingSleeper>) {
    vendor_http(server, &["slack.com", "api.slack.com"])
}

fn client() -> OAuthClientConfig {
    OAuthClientConfig {
        client_id: "123.456".into(),
        client_secret: SecretString::from("slack-secret"),
    }
}

fn slack_connector(server: &MockServer) -> (Box<dyn Connector>, Arc<RecordingSleeper>) {
    oauth_connector(
        server,
        "slack",
        &["slack.com", "api.slack.com"],
        "slack-user-token-fake",
    )
}

#[tokio::test]
async fn the_authorize_url_asks_for_a_user_token_with_the_admin_scope() {
    let server = MockServer::start().await;
    // Production routing: the admin is sent to slack.com itself.
    let (url, q, state) = authorize_in_production("slack", &client());
    assert_eq!(url.host_str(), Some("slack.com"));
    assert_eq!(url.path(), "/oauth/v2/authorize");
    assert_eq!(q["user_scope"], "admin");
    assert_eq!(q["client_id"], "123.456");
    assert_eq!(q["state"], state);
    assert_eq!(q["code_challenge_method"], "S256");
    drop(server);
}

#[tokio::test]
async fn the_code_exchange_reads_the_user_token_and_the_team() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/oauth.v2.access"))
        .and(body_string_contains("code=the-code"))
        .and(body_string_contains("client_id=123.456"))
        .and(body_string_contains("client_secret=slack-secret"))
        .and(body_string_contains("redirect_uri=https%3A%2F%2Fapi.example.test%2Fv1%2Foauth%2Fcallback"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true,
            "app_id": "A1",
            "authed_user": {"id": "U1", "scope": "admin", "access_token": "slack-user-token-fake", "token_type": "user"},
            "team": {"id": "T123", "name": "Acme"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (http, _) = http(&server);
    let verifier = SecretString::from("v".repeat(43));
    let grant = CodeGrant {
        redirect: "https://api.example.test/v1/oauth/callback",
        code: "the-code",
        verifier: &verifier,
        environment: None,
    };
    let now = chrono::Utc::now();
    let tokens = oauth::exchange_code(
        http,
        registry::spec("slack").unwrap(),
        "com_1",
        &client(),
        grant,
        now,
    )
    .await
    .unwrap();
    assert_eq!(tokens.access_token.expose_secret(), "slack-user-token-fake");
    assert!(
        tokens.refresh_token.is_none() && tokens.expires_at.is_none(),
        "no rotation: the token does not expire"
    );
    assert_eq!(
        tokens.tenant,
        [
            ("team_id".to_owned(), "T123".to_owned()),
            ("team_name".to_owned(), "Acme".to_owned())
        ]
    );
}

#[tokio::test]
async fn errors_inside_a_200_are_errors() {
    let server = MockServer::start().await;
    Mock::given(path("/api/oauth.v2.access"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": false, "error": "invalid_code"})))
        .mount(&server)
        .await;
    let (http, _) = http(&server);
    let verifier = SecretString::from("v".repeat(43));
    let grant = CodeGrant {
        redirect: "https://api.example.test/v1/oauth/callback",
        code: "stale",
        verifier: &verifier,
        environment: None,
    };
    let error = oauth::exchange_code(
        http,
        registry::spec("slack").unwrap(),
        "com_1",
        &client(),
        grant,
        chrono::Utc::now(),
    )
    .await
    .err()
    .unwrap();
    assert_eq!(error, ConnectorError::Unauthorized("invalid_code".into()));
}

fn page(start: u64, count: u64, total: u64) -> serde_json::Value {
    let users: Vec<_> = (start..start + count)
        .map(|i| {
            user_resource(
                &format!("U{i}"),
                &format!("p{i}@example.com"),
                "P",
                &i.to_string(),
                true,
            )
        })
        .collect();
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": total,
           "startIndex": start, "itemsPerPage": count, "Resources": users})
}

#[tokio::test]
async fn scim_lists_across_pages_with_the_user_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .and(query_param("startIndex", "1"))
        .and(query_param("count", "100"))
        .and(header("authorization", "Bearer slack-user-token-fake"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(1, 100, 150)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .and(query_param("startIndex", "101"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(101, 50, 150)))
        .mount(&server)
        .await;
    let (connector, _) = slack_connector(&server);
    let first = connector.list(None).await.unwrap();
    assert_eq!((first.accounts.len(), first.next.as_deref()), (100, Some("101")));
    let second = connector.list(first.next.as_deref()).await.unwrap();
    assert_eq!((second.accounts.len(), second.next), (50, None));
    assert_eq!(second.accounts[0].email.as_deref(), Some("p101@example.com"));
}

#[tokio::test]
async fn create_looks_up_first_and_sends_the_documented_user() {
    let server = MockServer::start().await;
    let empty = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0, "Resources": []});
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .and(query_param("filter", "userName eq \"ada@example.com\""))
        .respond_with(ResponseTemplate::new(200).set_body_json(empty.clone()))
        .mount(&server)
        .await;
    // A member's userName is their Slack username: the listing's emails are searched too.
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .and(query_param("startIndex", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(empty))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/scim/v2/Users"))
        .and(header("content-type", "application/json"))
        .and(body_string_contains("\"userName\":\"ada@example.com\""))
        .and(body_string_contains("\"emails\":[{"))
        .and(body_string_contains("\"givenName\":\"Ada\""))
        .respond_with(ResponseTemplate::new(201).set_body_json(user_resource(
            "U9",
            "ada@example.com",
            "Ada",
            "Lovelace",
            true,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = slack_connector(&server);
    let ada = NewAccount {
        email: "ada@example.com".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
    };
    let created = connector.create(&ada).await.unwrap();
    assert_eq!(
        (created.id.as_str(), created.status),
        ("U9", AccountStatus::Active)
    );
}

#[tokio::test]
async fn create_of_an_existing_member_returns_it_without_a_post() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(7, 1, 1)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = slack_connector(&server);
    let existing = NewAccount {
        email: "p7@example.com".into(),
        first_name: "P".into(),
        last_name: "7".into(),
    };
    assert_eq!(connector.create(&existing).await.unwrap().id, "U7");
}

/// A Slack member as SCIM lists them: `userName` is their Slack username, the email is in
/// `emails`.
fn member(id: &str, username: &str, email: &str, active: bool) -> serde_json::Value {
    let mut user = user_resource(id, email, "Lin", "Chen", active);
    user["userName"] = json!(username);
    user
}

fn list_of(users: Vec<serde_json::Value>) -> serde_json::Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": users.len(),
           "startIndex": 1, "itemsPerPage": users.len(), "Resources": users})
}

fn lin() -> NewAccount {
    NewAccount {
        email: "lin@example.com".into(),
        first_name: "Lin".into(),
        last_name: "Chen".into(),
    }
}

#[tokio::test]
async fn a_member_under_another_username_is_found_by_email_not_posted() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .and(query_param("filter", "userName eq \"lin@example.com\""))
        .respond_with(ResponseTemplate::new(200).set_body_json(list_of(vec![])))
        .expect(1)
        .mount(&server)
        .await;
    // Two pages of the listing; Lin is on the second.
    let first: Vec<_> = (1..=100)
        .map(|i| {
            member(
                &format!("U{i}"),
                &format!("p{i}"),
                &format!("p{i}@example.com"),
                true,
            )
        })
        .collect();
    let mut page_one = list_of(first);
    page_one["totalResults"] = json!(101);
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .and(query_param("startIndex", "1"))
        .and(query_param("count", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page_one))
        .mount(&server)
        .await;
    let mut page_two = list_of(vec![member("U777", "lin", "Lin@Example.com", true)]);
    page_two["startIndex"] = json!(101);
    page_two["totalResults"] = json!(101);
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .and(query_param("startIndex", "101"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page_two))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = slack_connector(&server);
    let found = connector.create(&lin()).await.unwrap();
    assert_eq!((found.id.as_str(), found.status), ("U777", AccountStatus::Active));
}

#[tokio::test]
async fn email_taken_adopts_the_member_who_has_the_email() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .and(query_param("filter", "userName eq \"lin@example.com\""))
        .respond_with(ResponseTemplate::new(200).set_body_json(list_of(vec![])))
        .mount(&server)
        .await;
    // Not listed yet at the lookup; Slack then refuses the email as taken, and lists them.
    crate::support::first_then(
        &server,
        || {
            Mock::given(method("GET"))
                .and(path("/scim/v2/Users"))
                .and(query_param("startIndex", "1"))
        },
        ResponseTemplate::new(200).set_body_json(list_of(vec![])),
        ResponseTemplate::new(200).set_body_json(list_of(vec![member("U8", "lin", "lin@example.com", true)])),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/scim/v2/Users"))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "409", "detail": "email_taken"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = slack_connector(&server);
    assert_eq!(connector.create(&lin()).await.unwrap().id, "U8");
}

#[tokio::test]
async fn creating_a_deactivated_member_reactivates_them() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .and(query_param("filter", "userName eq \"lin@example.com\""))
        .respond_with(ResponseTemplate::new(200).set_body_json(list_of(vec![])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .and(query_param("startIndex", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list_of(vec![member(
            "U8",
            "lin",
            "lin@example.com",
            false,
        )])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users/U8"))
        .respond_with(ResponseTemplate::new(200).set_body_json(member("U8", "lin", "lin@example.com", false)))
        .mount(&server)
        .await;
    // SCIM PATCH sets `active` back to true (Slack's DELETE set it false).
    Mock::given(method("PATCH"))
        .and(path("/scim/v2/Users/U8"))
        .and(body_string_contains("\"active\":true"))
        .respond_with(ResponseTemplate::new(200).set_body_json(member("U8", "lin", "lin@example.com", true)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = slack_connector(&server);
    let back = connector.create(&lin()).await.unwrap();
    assert_eq!((back.id.as_str(), back.status), ("U8", AccountStatus::Active));
}

#[tokio::test]
async fn removal_deactivates_and_a_missing_member_is_fine() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/scim/v2/Users/U1"))
        .and(header("authorization", "Bearer slack-user-token-fake"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/scim/v2/Users/U404"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "404", "detail": "no_such_user"})))
        .mount(&server)
        .await;
    let (connector, _) = slack_connector(&server);
    connector.delete("U1").await.unwrap();
    connector.delete("U404").await.unwrap();
    // Deactivated members read back as removed (Slack never hard-deletes them).
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users/U1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_resource(
            "U1",
            "a@example.com",
            "A",
            "B",
            false,
        )))
        .mount(&server)
        .await;
    let (reader, _) = slack_connector(&server);
    assert_eq!(
        reader.get("U1").await.unwrap().unwrap().status,
        AccountStatus::Deleted
    );
    assert!(matches!(
        reader.suspend("U1").await,
        Err(ConnectorError::Unsupported(_))
    ));
}

#[tokio::test]
async fn a_workspace_without_scim_is_refused_with_the_plan_it_needs() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "403", "detail": "invalid_authentication"})))
        .mount(&server)
        .await;
    let (connector, _) = slack_connector(&server);
    match connector.verify().await {
        Err(ConnectorError::PlanRequired(why)) => assert!(why.contains("Business+"), "{why}"),
        other => panic!("expected PlanRequired, got {other:?}"),
    }
}

#[tokio::test]
async fn slacks_rate_limit_is_waited_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users/U1"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users/U1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_resource(
            "U1",
            "a@example.com",
            "A",
            "B",
            true,
        )))
        .mount(&server)
        .await;
    let (connector, sleeper) = slack_connector(&server);
    assert!(connector.get("U1").await.unwrap().is_some());
    assert_eq!(sleeper.waits(), [Duration::from_secs(3)]);
}

/// The tenant is the workspace `auth.test` names (the organization on Enterprise Grid).
#[tokio::test]
async fn the_tenant_is_the_workspace_auth_test_names() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/auth.test"))
        .and(header("authorization", "Bearer slack-user-token-fake"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true, "url": "https://acme.slack.com/", "team": "Acme", "user": "grace",
            "team_id": "T12345678", "user_id": "W12345678"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = slack_connector(&server);
    assert_eq!(
        connector.tenant().await.unwrap(),
        prov_connectors::VendorTenant {
            id: "T12345678".into(),
            name: "Acme".into()
        }
    );
    // On Enterprise Grid, SCIM manages the organization.
    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/api/auth.test"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true, "team": "Acme EU", "team_id": "T2", "enterprise_id": "E12345"
        })))
        .mount(&server)
        .await;
    assert_eq!(connector.tenant().await.unwrap().id, "E12345");
    // A revoked token says so in a 200.
    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/api/auth.test"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"ok": false, "error": "token_revoked"})),
        )
        .mount(&server)
        .await;
    assert!(matches!(
        connector.tenant().await,
        Err(ConnectorError::Unauthorized(_))
    ));
}
