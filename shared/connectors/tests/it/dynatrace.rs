//! Dynatrace: the Account Management API's users with an OAuth client's client-credentials
//! tokens, against wiremock. Requests are checked for the method, path, query, headers and
//! body Dynatrace documents.

use std::sync::Arc;

use prov_connectors::registry::{self, Tenant};
use prov_connectors::{AccountStatus, Connector, ConnectorError, NewAccount};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{RecordingSleeper, api_key_connector, first_then};

const ACCOUNT: &str = "0d3bd3c9-7bd4-4a13-9d0e-c1a6f2c08a11";
const USERS: &str = "/iam/v1/accounts/0d3bd3c9-7bd4-4a13-9d0e-c1a6f2c08a11/users";
const CLIENT_ID: &str = "dt0s02.SAMPLE";
const HOSTS: &[&str] = &["api.dynatrace.com", "sso.dynatrace.com"];

fn dynatrace(server: &MockServer, secret: &str) -> (Box<dyn Connector>, Arc<RecordingSleeper>) {
    api_key_connector(
        server,
        "dynatrace",
        HOSTS,
        &[("account_uuid", ACCOUNT), ("client_id", CLIENT_ID)],
        &[("client_secret", secret)],
    )
}

/// The token request Dynatrace documents: a form with the grant, the client, the scopes and
/// the account as `resource`.
fn token_request(secret: &str) -> String {
    format!(
        "grant_type=client_credentials&client_id=dt0s02.SAMPLE&client_secret={secret}\
         &scope=account-idm-read+account-idm-write&resource=urn%3Adtaccount%3A{ACCOUNT}"
    )
}

/// Token `token` for the client with `secret`, expected `times` times.
async fn mint(server: &MockServer, secret: &str, token: &str, times: u64) {
    Mock::given(method("POST"))
        .and(path("/sso/oauth2/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(token_request(secret)))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": token, "token_type": "Bearer", "expires_in": 300,
            "scope": "account-idm-read account-idm-write", "resource": format!("urn:dtaccount:{ACCOUNT}")
        })))
        .expect(times)
        .mount(server)
        .await;
}

fn user(email: &str, status: &str) -> Value {
    json!({"uid": format!("uid-{email}"), "email": email, "name": "Ada", "surname": "Lovelace",
           "userStatus": status, "emergencyContact": false})
}

fn new_account(email: &str) -> NewAccount {
    NewAccount {
        email: email.into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
    }
}

#[tokio::test]
async fn the_account_uuid_must_be_a_uuid() {
    let check = registry::spec("dynatrace").unwrap().check;
    for bad in [
        "acme",
        "0d3bd3c9-7bd4-4a13-9d0e-c1a6f2c08a1",
        "../../../x",
        "0d3bd3c9-7bd4-4a13-9d0e-c1a6f2c08a1z",
    ] {
        let tenant = Tenant::from([("account_uuid".to_owned(), bad.to_owned())]);
        assert!(check(&tenant, "client_secret", "s").is_err(), "{bad}");
    }
    let good = Tenant::from([("account_uuid".to_owned(), ACCOUNT.to_owned())]);
    assert!(check(&good, "client_secret", "s").is_ok());
}

#[tokio::test]
async fn verify_mints_a_token_for_the_account_and_reuses_it() {
    let server = MockServer::start().await;
    mint(&server, "right", "tok-1", 1).await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("service-users", "false"))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"count": 0, "items": []})))
        .expect(2)
        .mount(&server)
        .await;
    let (connector, _) = dynatrace(&server, "right");
    connector.verify().await.unwrap();
    assert!(connector.list(None).await.unwrap().accounts.is_empty());
}

#[tokio::test]
async fn a_wrong_client_secret_is_refused_before_any_user_call() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/sso/oauth2/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": "invalid_client", "error_description": "Client authentication failed"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = dynatrace(&server, "wrong");
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => {
            assert!(why.contains("Client authentication failed"), "{why}");
            assert!(!why.contains("wrong"), "the secret must not appear: {why}");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn a_401_mints_a_new_token_once_and_retries() {
    let server = MockServer::start().await;
    // First mint answers tok-old, the second tok-new.
    first_then(
        &server,
        || {
            Mock::given(method("POST"))
                .and(path("/sso/oauth2/token"))
                .and(body_string(token_request("right")))
        },
        ResponseTemplate::new(200).set_body_json(json!({"access_token": "tok-old", "expires_in": 300})),
        ResponseTemplate::new(200).set_body_json(json!({"access_token": "tok-new", "expires_in": 300})),
    )
    .await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(header("authorization", "Bearer tok-old"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"error": {"code": 401, "message": "Token expired"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(header("authorization", "Bearer tok-new"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"count": 1, "items": [user("a@example.com", "ACTIVE")]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = dynatrace(&server, "right");
    let page = connector.list(None).await.unwrap();
    assert_eq!(page.accounts[0].id, "a@example.com");
}

#[tokio::test]
async fn users_list_whole_and_follow_a_next_page_key() {
    let server = MockServer::start().await;
    mint(&server, "right", "tok", 1).await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("page-key", "k2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"count": 1, "items": [user("c@example.com", "INACTIVE")]})),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("service-users", "false"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count": 2, "nextPageKey": "k2",
            "items": [user("a@example.com", "ACTIVE"), user("b@example.com", "PENDING")]
        })))
        .with_priority(2)
        .mount(&server)
        .await;
    let (connector, _) = dynatrace(&server, "right");
    let first = connector.list(None).await.unwrap();
    let statuses: Vec<_> = first.accounts.iter().map(|a| (a.id.as_str(), a.status)).collect();
    assert_eq!(
        statuses,
        [
            ("a@example.com", AccountStatus::Active),
            ("b@example.com", AccountStatus::InviteSent)
        ]
    );
    assert_eq!(first.accounts[0].first_name.as_deref(), Some("Ada"));
    assert_eq!(first.next.as_deref(), Some("k2"));
    let second = connector.list(first.next.as_deref()).await.unwrap();
    assert_eq!(second.accounts[0].status, AccountStatus::Suspended);
    assert_eq!(second.next, None);
}

#[tokio::test]
async fn create_invites_by_email_then_the_user_is_pending_until_signed_up() {
    let server = MockServer::start().await;
    mint(&server, "right", "tok", 1).await;
    let one = format!("{USERS}/new@example.com");
    // Not there before the POST, pending after it, active once they sign up.
    first_then(
        &server,
        || Mock::given(method("GET")).and(path(one.clone())),
        ResponseTemplate::new(404)
            .set_body_json(json!({"error": {"code": 404, "message": "User not found"}})),
        ResponseTemplate::new(200).set_body_json(user("new@example.com", "PENDING")),
    )
    .await;
    Mock::given(method("POST"))
        .and(path(USERS))
        .and(header("authorization", "Bearer tok"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"email": "new@example.com"})))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = dynatrace(&server, "right");
    let created = connector.create(&new_account("new@example.com")).await.unwrap();
    assert_eq!(created.id, "new@example.com");
    assert_eq!(created.status, AccountStatus::InviteSent);

    server.reset().await;
    mint(&server, "right", "tok", 0).await;
    Mock::given(method("GET"))
        .and(path(one.clone()))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("new@example.com", "ACTIVE")))
        .mount(&server)
        .await;
    let later = connector.get("new@example.com").await.unwrap().unwrap();
    assert_eq!(later.status, AccountStatus::Active);
}

#[tokio::test]
async fn create_of_an_existing_user_posts_nothing() {
    let server = MockServer::start().await;
    mint(&server, "right", "tok", 1).await;
    Mock::given(method("GET"))
        .and(path(format!("{USERS}/old@example.com")))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("old@example.com", "ACTIVE")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = dynatrace(&server, "right");
    let found = connector.create(&new_account("old@example.com")).await.unwrap();
    assert_eq!(found.status, AccountStatus::Active);
}

#[tokio::test]
async fn delete_removes_by_email_and_a_missing_user_is_already_done() {
    let server = MockServer::start().await;
    mint(&server, "right", "tok", 1).await;
    Mock::given(method("DELETE"))
        .and(path(format!("{USERS}/gone@example.com")))
        .and(header("authorization", "Bearer tok"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{USERS}/never@example.com")))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": {"code": 404, "message": "User not found"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = dynatrace(&server, "right");
    connector.delete("gone@example.com").await.unwrap();
    connector.delete("never@example.com").await.unwrap();
}

#[tokio::test]
async fn a_missing_scope_says_what_the_client_needs() {
    let server = MockServer::start().await;
    mint(&server, "right", "tok", 1).await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({"error": {"code": 403, "message": "Forbidden"}})),
        )
        .mount(&server)
        .await;
    let (connector, _) = dynatrace(&server, "right");
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => assert!(why.contains("account-idm-write"), "{why}"),
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

/// Dynatrace documents a bare 429 (no rate-limit headers): the session backs off and retries.
#[tokio::test]
async fn a_429_is_backed_off_and_retried() {
    let server = MockServer::start().await;
    mint(&server, "right", "tok", 1).await;
    first_then(
        &server,
        || Mock::given(method("GET")).and(path(USERS)),
        ResponseTemplate::new(429),
        ResponseTemplate::new(200).set_body_json(json!({"count": 0, "items": []})),
    )
    .await;
    let (connector, sleeper) = dynatrace(&server, "right");
    connector.list(None).await.unwrap();
    assert_eq!(sleeper.waits().len(), 1, "one back-off: {:?}", sleeper.waits());
}

/// Connectors are built per request: the next one on the same HTTP machinery reuses the
/// token the first minted (vendors limit how often a grant may mint).
#[tokio::test]
async fn a_token_is_reused_by_the_next_connector_of_the_process() {
    let server = MockServer::start().await;
    mint(&server, "right", "tok", 1).await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(header("authorization", "Bearer tok"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"count": 0, "items": []})))
        .expect(2)
        .mount(&server)
        .await;
    let (http, _) = crate::support::vendor_http(&server, HOSTS);
    let spec = registry::spec("dynatrace").unwrap();
    let tenant = Tenant::from([
        ("account_uuid".to_owned(), ACCOUNT.to_owned()),
        ("client_id".to_owned(), CLIENT_ID.to_owned()),
    ]);
    let secrets = prov_connectors::registry::Secrets::from([(
        "client_secret".to_owned(),
        secrecy::SecretString::from("right"),
    )]);
    for _ in 0..2 {
        let auth = spec
            .api_key_authenticator(http.clone(), "com_1", &tenant, &secrets)
            .unwrap();
        let connector = spec.connector(http.clone(), "com_1", &tenant, auth).unwrap();
        connector.verify().await.unwrap();
    }
}

/// The tenant is the account UUID the client's token is scoped to, once the account's users
/// answer it.
#[tokio::test]
async fn the_tenant_is_the_account_the_client_reaches() {
    let server = MockServer::start().await;
    mint(&server, "secret", "dt-token", 1).await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(header("authorization", "Bearer dt-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"count": 0, "items": []})))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = dynatrace(&server, "secret");
    connector.verify().await.unwrap();
    let tenant = connector.tenant().await.unwrap();
    assert_eq!(tenant.id, ACCOUNT);
}
