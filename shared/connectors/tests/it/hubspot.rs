//! HubSpot: OAuth v3 (credentials in the form body) and the Settings user-provisioning API
//! at `https://api.hubapi.com/settings/v3/users/`, against a wiremock HubSpot. Requests are
//! checked for the method, path, query, headers and body HubSpot documents.

use std::sync::Arc;
use std::time::Duration;

use prov_connectors::http::VendorHttp;
use prov_connectors::oauth::{self, CodeGrant, OAuthClientConfig};
use prov_connectors::registry;
use prov_connectors::{AccountStatus, Connector, ConnectorError, NewAccount};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::{RecordingSleeper, authorize_in_production, first_then, oauth_connector, vendor_http};

fn http(server: &MockServer) -> (Arc<VendorHttp>, Arc<RecordingSleeper>) {
    vendor_http(server, &["api.hubapi.com"])
}

fn client() -> OAuthClientConfig {
    OAuthClientConfig {
        client_id: "hs-client".into(),
        client_secret: SecretString::from("hs-secret"),
    }
}

fn hubspot(server: &MockServer) -> (Box<dyn Connector>, Arc<RecordingSleeper>) {
    oauth_connector(server, "hubspot", &["api.hubapi.com"], "hs-access")
}

fn user(id: &str, email: &str) -> Value {
    json!({"id": id, "email": email, "firstName": "F", "lastName": id, "roleIds": [], "superAdmin": false,
           "primaryTeamId": null, "secondaryTeamIds": [], "sendWelcomeEmail": false})
}

fn error(status: u16, category: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "status": "error", "message": message, "correlationId": "c0ffee", "category": category
    }))
}

fn ada() -> NewAccount {
    NewAccount {
        email: "ada@example.com".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
    }
}

#[tokio::test]
async fn the_authorize_url_asks_for_the_user_settings_scopes() {
    let (url, q, state) = authorize_in_production("hubspot", &client());
    assert_eq!(url.host_str(), Some("app.hubspot.com"));
    assert_eq!(url.path(), "/oauth/authorize");
    assert_eq!(q["scope"], "settings.users.read settings.users.write");
    assert_eq!(q["client_id"], "hs-client");
    assert_eq!(q["state"], state);
}

#[tokio::test]
async fn the_v3_token_exchange_sends_every_parameter_in_the_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/v3/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("code=the-code"))
        .and(body_string_contains("client_id=hs-client"))
        .and(body_string_contains("client_secret=hs-secret"))
        .and(body_string_contains(
            "redirect_uri=https%3A%2F%2Fapi.example.test%2Fv1%2Foauth%2Fcallback",
        ))
        // v3 takes the client's credentials in the body, not as Basic authentication.
        .and(|r: &Request| !r.headers.contains_key("authorization"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "hs-access", "refresh_token": "hs-refresh", "expires_in": 1800,
            "token_type": "bearer", "hub_id": 4242
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (http, _) = http(&server);
    let verifier = SecretString::from("v".repeat(43));
    let now = chrono::Utc::now();
    let tokens = oauth::exchange_code(
        http,
        registry::spec("hubspot").unwrap(),
        "com_1",
        &client(),
        CodeGrant {
            redirect: "https://api.example.test/v1/oauth/callback",
            code: "the-code",
            verifier: &verifier,
            environment: None,
        },
        now,
    )
    .await
    .unwrap();
    assert_eq!(tokens.access_token.expose_secret(), "hs-access");
    assert_eq!(
        tokens
            .refresh_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned()),
        Some("hs-refresh".to_owned())
    );
    // Expiry follows `expires_in` (30 minutes today), not a hard-coded lifetime.
    assert_eq!(tokens.expires_at, Some(now + chrono::Duration::seconds(1800)));
}

#[tokio::test]
async fn users_page_with_paging_next_after() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/settings/v3/users/"))
        .and(query_param("limit", "100"))
        .and(query_param("after", "cursor-2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"results": [user("3", "c@example.com")]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/settings/v3/users/"))
        .and(query_param("limit", "100"))
        .and(header("authorization", "Bearer hs-access"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "results": [user("1", "a@example.com"), user("2", "b@example.com")],
            "paging": {"next": {"after": "cursor-2", "link": "https://api.hubapi.com/settings/v3/users/?after=cursor-2"}}
        })))
        .mount(&server)
        .await;
    let (connector, _) = hubspot(&server);
    let first = connector.list(None).await.unwrap();
    assert_eq!(first.accounts.len(), 2);
    assert_eq!(first.accounts[0].email.as_deref(), Some("a@example.com"));
    assert_eq!(first.next.as_deref(), Some("cursor-2"));
    let second = connector.list(first.next.as_deref()).await.unwrap();
    assert_eq!((second.accounts.len(), second.next), (1, None));
}

#[tokio::test]
async fn create_looks_up_by_email_then_sends_the_welcome_email_and_is_pending() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/settings/v3/users/ada@example.com"))
        .and(query_param("idProperty", "EMAIL"))
        .respond_with(error(404, "OBJECT_NOT_FOUND", "User not found"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/settings/v3/users/"))
        .and(body_json(json!({
            "email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace", "sendWelcomeEmail": true
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": "77", "email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace", "sendWelcomeEmail": true
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = hubspot(&server);
    assert!(!connector.capabilities().shows_invites);
    let created = connector.create(&ada()).await.unwrap();
    assert_eq!(created.id, "77");
    assert_eq!(created.status, AccountStatus::InviteSent);
}

#[tokio::test]
async fn create_of_an_existing_user_returns_it_without_posting() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/settings/v3/users/ada@example.com"))
        .and(query_param("idProperty", "EMAIL"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("9", "ada@example.com")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = hubspot(&server);
    let existing = connector.create(&ada()).await.unwrap();
    assert_eq!(
        (existing.id.as_str(), existing.status),
        ("9", AccountStatus::Active)
    );
}

#[tokio::test]
async fn a_conflicting_create_resolves_to_the_user_that_now_exists() {
    let server = MockServer::start().await;
    // Not there at the first look; there after the 409 (an earlier attempt created it).
    first_then(
        &server,
        || Mock::given(method("GET")).and(path("/settings/v3/users/ada@example.com")),
        error(404, "OBJECT_NOT_FOUND", "User not found"),
        ResponseTemplate::new(200).set_body_json(user("9", "ada@example.com")),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/settings/v3/users/"))
        .respond_with(error(409, "CONFLICT", "User already exists"))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = hubspot(&server);
    assert_eq!(connector.create(&ada()).await.unwrap().id, "9");
}

#[tokio::test]
async fn delete_removes_the_user_and_gone_is_fine() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/settings/v3/users/77"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/settings/v3/users/78"))
        .respond_with(error(404, "OBJECT_NOT_FOUND", "User not found"))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = hubspot(&server);
    connector.delete("77").await.unwrap();
    connector.delete("78").await.unwrap();
    assert_eq!(
        connector.suspend("77").await,
        Err(ConnectorError::Unsupported("suspend"))
    );
}

#[tokio::test]
async fn a_missing_scope_is_refused_with_what_to_grant() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/settings/v3/users/"))
        .and(query_param("limit", "1"))
        .respond_with(error(
            403,
            "MISSING_SCOPES",
            "This app hasn't been granted all required scopes to make this call.",
        ))
        .mount(&server)
        .await;
    let (connector, _) = hubspot(&server);
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => {
            assert!(why.contains("MISSING_SCOPES"), "{why}");
            assert!(why.contains("settings.users.write"), "{why}");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn the_ten_second_limit_is_waited_out() {
    let server = MockServer::start().await;
    first_then(
        &server,
        || Mock::given(method("GET")).and(path("/settings/v3/users/5")),
        error(
            429,
            "RATE_LIMITS",
            "You have reached your ten_secondly_rolling limit.",
        )
        .insert_header("retry-after", "2"),
        ResponseTemplate::new(200).set_body_json(user("5", "e@example.com")),
    )
    .await;
    let (connector, sleeper) = hubspot(&server);
    let found = connector.get("5").await.unwrap().unwrap();
    assert_eq!(found.email.as_deref(), Some("e@example.com"));
    assert!(
        sleeper.waits().contains(&Duration::from_secs(2)),
        "{:?}",
        sleeper.waits()
    );
}

#[tokio::test]
async fn a_refresh_uses_the_v3_body_and_keeps_a_rotated_refresh_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/v3/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=hs-refresh"))
        .and(body_string_contains("client_id=hs-client"))
        .and(body_string_contains("client_secret=hs-secret"))
        .and(|r: &Request| !r.headers.contains_key("authorization"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "hs-access-2", "refresh_token": "hs-refresh-2", "expires_in": 1799, "token_type": "bearer"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (http, _) = http(&server);
    let now = chrono::Utc::now();
    let tokens = oauth::refresh(
        http,
        registry::spec("hubspot").unwrap(),
        "com_1",
        &client(),
        &SecretString::from("hs-refresh"),
        None,
        now,
    )
    .await
    .unwrap();
    assert_eq!(tokens.access_token.expose_secret(), "hs-access-2");
    assert_eq!(
        tokens.refresh_token.map(|t| t.expose_secret().to_owned()),
        Some("hs-refresh-2".to_owned())
    );
    assert_eq!(tokens.expires_at, Some(now + chrono::Duration::seconds(1799)));
}

/// The tenant is the HubSpot account (portal) the app was installed in.
#[tokio::test]
async fn the_tenant_is_the_portal() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/account-info/v3/details"))
        .and(header("authorization", "Bearer hs-access"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "portalId": 62515, "accountType": "STANDARD", "timeZone": "US/Eastern", "companyCurrency": "USD",
            "additionalCurrencies": [], "utcOffset": "-05:00", "utcOffsetMilliseconds": -18000000,
            "uiDomain": "app.hubspot.com", "dataHostingLocation": "na1"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = hubspot(&server);
    assert_eq!(
        connector.tenant().await.unwrap(),
        prov_connectors::VendorTenant {
            id: "62515".into(),
            name: "HubSpot account 62515".into()
        }
    );
}
