//! Zoho (Desk agents, Books users, CRM users) with a Self Client's refresh token, against
//! wiremock: the grant-code exchange at connect, the token minted for `Zoho-oauthtoken`, and
//! per product the method, path, query, headers and body Zoho documents.

use std::sync::Arc;
use std::time::Duration;

use prov_connectors::registry::{self, Secrets, Tenant};
use prov_connectors::{AccountStatus, Connector, ConnectorError, NewAccount};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_string, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{RecordingSleeper, api_key_connector, first_then, vendor_http};

const CLIENT_ID: &str = "1000.TESTCLIENT";
const SECRET: &str = "test-client-secret";
const REFRESH: &str = "test-refresh-token";
const TOKEN: &str = "test-access-token";
const HOSTS: &[&str] = &["accounts.zoho.com", "desk.zoho.com", "www.zohoapis.com"];
const AUTH: &str = "Zoho-oauthtoken test-access-token";
const DESK_ORG: &str = "2389290";
const BOOKS_ORG: &str = "10234695";

fn tenant(product: &str, data_center: &str) -> Vec<(&'static str, String)> {
    vec![
        ("product", product.to_owned()),
        ("data_center", data_center.to_owned()),
        ("client_id", CLIENT_ID.to_owned()),
    ]
}

fn zoho(server: &MockServer, product: &str) -> (Box<dyn Connector>, Arc<RecordingSleeper>) {
    let t = tenant(product, "us");
    let t: Vec<(&str, &str)> = t.iter().map(|(k, v)| (*k, v.as_str())).collect();
    api_key_connector(
        server,
        "zoho",
        HOSTS,
        &t,
        &[("client_secret", SECRET), ("refresh_token", REFRESH)],
    )
}

/// The refresh-token grant Zoho documents, answered with an access token `times` times.
async fn mint(server: &MockServer, times: u64) {
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(format!(
            "grant_type=refresh_token&client_id={CLIENT_ID}&client_secret={SECRET}&refresh_token={REFRESH}"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": TOKEN, "api_domain": "https://www.zohoapis.com",
            "token_type": "Bearer", "expires_in": 3600
        })))
        .expect(times)
        .mount(server)
        .await;
}

fn ada(email: &str) -> NewAccount {
    NewAccount {
        email: email.into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
    }
}

async fn bodies(server: &MockServer, verb: &str, at: &str) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == verb && r.url.path() == at)
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

// ---------------------------------------------------------------------------------------
// Connection: checks, the grant-code exchange, token minting

#[tokio::test]
async fn checks_want_a_product_a_data_center_and_a_client_id() {
    let check = registry::spec("zoho").unwrap().check;
    let of = |pairs: &[(&str, &str)]| -> Tenant {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let good = of(&[
        ("product", "crm"),
        ("data_center", "eu"),
        ("client_id", CLIENT_ID),
    ]);
    assert!(check(&good, "grant_code", "1000.abc.def").is_ok());
    assert!(check(&good, "client_secret", SECRET).is_ok());
    assert!(check(&good, "grant_code", " ").is_err());
    assert!(check(&good, "client_secret", "two words").is_err());
    for bad in [
        of(&[
            ("product", "mail"),
            ("data_center", "eu"),
            ("client_id", CLIENT_ID),
        ]),
        of(&[("data_center", "eu"), ("client_id", CLIENT_ID)]),
        of(&[
            ("product", "crm"),
            ("data_center", "uk"),
            ("client_id", CLIENT_ID),
        ]),
        of(&[("product", "crm"), ("client_id", CLIENT_ID)]),
        of(&[("product", "crm"), ("data_center", "eu"), ("client_id", " ")]),
        of(&[("product", "crm"), ("data_center", "eu")]),
    ] {
        assert!(check(&bad, "grant_code", "1000.abc.def").is_err(), "{bad:?}");
    }
}

fn pasted(code: &str) -> Secrets {
    Secrets::from([
        ("client_secret".to_owned(), SecretString::from(SECRET)),
        ("grant_code".to_owned(), SecretString::from(code)),
    ])
}

fn tenant_map(product: &str, data_center: &str) -> Tenant {
    tenant(product, data_center)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

#[tokio::test]
async fn the_grant_code_is_exchanged_once_for_a_refresh_token_and_dropped() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(format!(
            "grant_type=authorization_code&client_id={CLIENT_ID}&client_secret={SECRET}&code=1000.grant.code"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "first-access", "refresh_token": "issued-refresh",
            "api_domain": "https://www.zohoapis.com", "token_type": "Bearer", "expires_in": 3600
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (http, _) = vendor_http(&server, HOSTS);
    let spec = registry::spec("zoho").unwrap();
    let stored = spec
        .exchanged(
            http,
            "com_1",
            &tenant_map("desk", "us"),
            pasted("1000.grant.code"),
        )
        .await
        .unwrap();
    let names: Vec<&str> = stored.keys().map(String::as_str).collect();
    assert_eq!(names, ["client_secret", "refresh_token"]);
    assert_eq!(stored["refresh_token"].expose_secret(), "issued-refresh");
    assert_eq!(stored["client_secret"].expose_secret(), SECRET);
}

#[tokio::test]
async fn an_invalid_grant_code_answered_in_a_200_is_unauthorized_and_nothing_is_stored() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"error": "invalid_code"})))
        .expect(1)
        .mount(&server)
        .await;
    let (http, _) = vendor_http(&server, HOSTS);
    let spec = registry::spec("zoho").unwrap();
    match spec
        .exchanged(
            http,
            "com_1",
            &tenant_map("books", "us"),
            pasted("1000.used.code"),
        )
        .await
    {
        Err(ConnectorError::Unauthorized(why)) => {
            assert!(why.contains("invalid_code"), "{why}");
            assert!(!why.contains("1000.used.code") && !why.contains(SECRET), "{why}");
        }
        other => panic!("expected Unauthorized, got {:?}", other.map(|s| s.len())),
    }
}

#[tokio::test]
async fn a_grant_without_a_refresh_token_is_unauthorized() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "first-access", "api_domain": "https://www.zohoapis.com", "expires_in": 3600
        })))
        .mount(&server)
        .await;
    let (http, _) = vendor_http(&server, HOSTS);
    let spec = registry::spec("zoho").unwrap();
    match spec
        .exchanged(http, "com_1", &tenant_map("crm", "us"), pasted("1000.grant.code"))
        .await
    {
        Err(ConnectorError::Unauthorized(why)) => assert!(why.contains("no refresh token"), "{why}"),
        other => panic!("expected Unauthorized, got {:?}", other.map(|s| s.len())),
    }
}

#[tokio::test]
async fn a_wrong_client_secret_fails_verification_before_any_api_call() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"error": "invalid_client"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = zoho(&server, "crm");
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => {
            assert!(why.contains("invalid_client"), "{why}");
            assert!(!why.contains(SECRET) && !why.contains(REFRESH), "{why}");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn a_token_is_minted_once_with_the_zoho_scheme_and_again_after_invalid_token() {
    let server = MockServer::start().await;
    // The first access token is refused once (expired), then the new one works.
    first_then(
        &server,
        || Mock::given(method("POST")).and(path("/oauth/v2/token")),
        ResponseTemplate::new(200).set_body_json(json!({"access_token": "old-access", "expires_in": 3600})),
        ResponseTemplate::new(200).set_body_json(json!({"access_token": TOKEN, "expires_in": 3600})),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/crm/v7/users"))
        .and(header("authorization", "Zoho-oauthtoken old-access"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token", "status": "error"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/crm/v7/users"))
        .and(query_param("type", "CurrentUser"))
        .and(header("authorization", AUTH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "users": [crm_user("1", "admin@example.com", "active", true)], "info": {"more_records": false}
        })))
        .expect(2)
        .mount(&server)
        .await;
    let (connector, _) = zoho(&server, "crm");
    connector.verify().await.unwrap();
    connector.verify().await.unwrap();
    let mints = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/oauth/v2/token")
        .count();
    assert_eq!(mints, 2, "one mint, one more after the 401, then reused");
}

#[tokio::test]
async fn an_eu_connection_calls_the_eu_accounts_server_and_api_host_only() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    Mock::given(method("GET"))
        .and(path("/crm/v7/users"))
        .and(header("authorization", AUTH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"users": [], "info": {}})))
        .expect(1)
        .mount(&server)
        .await;
    let t = tenant("crm", "eu");
    let t: Vec<(&str, &str)> = t.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // Only the EU hosts reach the fake: a call to a .com host would fail.
    let (connector, _) = api_key_connector(
        &server,
        "zoho",
        &["accounts.zoho.eu", "www.zohoapis.eu"],
        &t,
        &[("client_secret", SECRET), ("refresh_token", REFRESH)],
    );
    connector.verify().await.unwrap();
}

// ---------------------------------------------------------------------------------------
// Desk

fn agent(id: &str, email: &str, status: &str, confirmed: bool) -> Value {
    json!({"id": id, "emailId": email, "firstName": "Ada", "lastName": "Lovelace", "name": "Ada Lovelace",
           "status": status, "isConfirmed": confirmed, "roleId": "7000000012324", "profileId": "6000000011303",
           "associatedDepartmentIds": ["1892000000006907"], "zuid": "437793"})
}

/// Desk's organizations: a non-default one first, then the default.
async fn desk_orgs(server: &MockServer, edition: &str) {
    Mock::given(method("GET"))
        .and(path("/api/v1/organizations"))
        .and(header("authorization", AUTH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"id": "111", "companyName": "Other", "isDefault": false, "edition": "ENTERPRISE"},
            {"id": DESK_ORG, "companyName": "Acme", "isDefault": true, "edition": edition}
        ]})))
        .expect(1)
        .mount(server)
        .await;
}

/// Desk's agent list at `from` (every call carries the org header).
fn desk_agents(from: &str, limit: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path("/api/v1/agents"))
        .and(header("authorization", AUTH))
        .and(header("orgid", DESK_ORG))
        .and(query_param("from", from))
        .and(query_param("limit", limit))
}

#[tokio::test]
async fn desk_lists_agents_by_from_and_limit_in_the_default_organization() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    desk_orgs(&server, "PROFESSIONAL").await;
    let mut first: Vec<Value> = (0..98)
        .map(|i| agent(&format!("9{i:03}"), &format!("a{i}@example.com"), "ACTIVE", true))
        .collect();
    first.push(agent("2001", "invited@example.com", "ACTIVE", false));
    first.push(agent("2002", "gone@example.com", "DISABLED", true));
    desk_agents("0", "100")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": first })))
        .expect(1)
        .mount(&server)
        .await;
    desk_agents("100", "100")
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": [agent("3001", "last@example.com", "ACTIVE", true)]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = zoho(&server, "desk");
    let one = connector.list(None).await.unwrap();
    assert_eq!(one.accounts.len(), 100);
    assert_eq!(one.next.as_deref(), Some("100"));
    assert_eq!(one.accounts[98].status, AccountStatus::InviteSent);
    assert_eq!(one.accounts[99].status, AccountStatus::Suspended);
    assert_eq!(one.accounts[0].status, AccountStatus::Active);
    assert_eq!(one.accounts[0].email.as_deref(), Some("a0@example.com"));
    assert_eq!(one.accounts[0].first_name.as_deref(), Some("Ada"));
    let two = connector.list(one.next.as_deref()).await.unwrap();
    assert_eq!(two.accounts[0].id, "3001");
    assert_eq!(two.next, None);
}

#[tokio::test]
async fn desk_create_invites_an_agent_with_agent_permissions_in_the_default_department() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    desk_orgs(&server, "STANDARD").await;
    desk_agents("0", "100")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/departments"))
        .and(header("orgid", DESK_ORG))
        .and(query_param("isEnabled", "true"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"id": "501", "name": "Sales", "isDefault": false, "isEnabled": true},
            {"id": "502", "name": "Support", "isDefault": true, "isEnabled": true}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/agents"))
        .and(header("authorization", AUTH))
        .and(header("orgid", DESK_ORG))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "emailId": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace",
            "associatedDepartmentIds": ["502"], "rolePermissionType": "AgentPublic"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(agent(
            "4001",
            "ada@example.com",
            "ACTIVE",
            false,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = zoho(&server, "desk");
    let created = connector.create(&ada("ada@example.com")).await.unwrap();
    assert_eq!(created.id, "4001");
    assert_eq!(created.status, AccountStatus::InviteSent);
}

#[tokio::test]
async fn desk_create_of_an_existing_agent_returns_it_without_posting() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    desk_orgs(&server, "PROFESSIONAL").await;
    desk_agents("0", "100")
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": [agent("4001", "Ada@Example.com", "ACTIVE", true)]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = zoho(&server, "desk");
    let found = connector.create(&ada("ada@example.com")).await.unwrap();
    assert_eq!((found.id.as_str(), found.status), ("4001", AccountStatus::Active));
}

#[tokio::test]
async fn desk_duplicate_email_at_create_resolves_to_the_agent_invited_meanwhile() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    desk_orgs(&server, "PROFESSIONAL").await;
    // Not listed before the POST; listed once Desk says the email is taken.
    first_then(
        &server,
        || desk_agents("0", "100"),
        ResponseTemplate::new(204),
        ResponseTemplate::new(200)
            .set_body_json(json!({"data": [agent("4009", "ada@example.com", "ACTIVE", false)]})),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/departments"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": [{"id": "502", "isDefault": true, "isEnabled": true}]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/agents"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "errorCode": "INVALID_DATA", "message": "An invalid value was given for a field.",
            "errors": [{"fieldName": "/emailId", "errorType": "duplicate", "errorMessage": ""}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = zoho(&server, "desk");
    let found = connector.create(&ada("ada@example.com")).await.unwrap();
    assert_eq!(
        (found.id.as_str(), found.status),
        ("4009", AccountStatus::InviteSent)
    );
}

#[tokio::test]
async fn desk_agent_is_invite_sent_until_confirmed_then_active() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    desk_orgs(&server, "PROFESSIONAL").await;
    first_then(
        &server,
        || {
            Mock::given(method("GET"))
                .and(path("/api/v1/agents/4001"))
                .and(header("orgid", DESK_ORG))
        },
        ResponseTemplate::new(200).set_body_json(agent("4001", "ada@example.com", "ACTIVE", false)),
        ResponseTemplate::new(200).set_body_json(agent("4001", "ada@example.com", "ACTIVE", true)),
    )
    .await;
    let (connector, _) = zoho(&server, "desk");
    assert_eq!(
        connector.get("4001").await.unwrap().unwrap().status,
        AccountStatus::InviteSent
    );
    assert_eq!(
        connector.get("4001").await.unwrap().unwrap().status,
        AccountStatus::Active
    );
}

#[tokio::test]
async fn desk_remove_deletes_an_unconfirmed_agent() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    desk_orgs(&server, "PROFESSIONAL").await;
    Mock::given(method("GET"))
        .and(path("/api/v1/agents/4001"))
        .respond_with(ResponseTemplate::new(200).set_body_json(agent(
            "4001",
            "ada@example.com",
            "ACTIVE",
            false,
        )))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/agents/deleteUnconfirmed"))
        .and(header("authorization", AUTH))
        .and(header("orgid", DESK_ORG))
        .and(body_json(json!({"agentIds": ["4001"]})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/agents/4001/deactivate"))
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = zoho(&server, "desk");
    connector.delete("4001").await.unwrap();
}

#[tokio::test]
async fn desk_remove_deactivates_a_confirmed_agent() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    desk_orgs(&server, "PROFESSIONAL").await;
    Mock::given(method("GET"))
        .and(path("/api/v1/agents/4001"))
        .respond_with(ResponseTemplate::new(200).set_body_json(agent(
            "4001",
            "ada@example.com",
            "ACTIVE",
            true,
        )))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/agents/4001/deactivate"))
        .and(header("authorization", AUTH))
        .and(header("orgid", DESK_ORG))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/agents/deleteUnconfirmed"))
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = zoho(&server, "desk");
    connector.delete("4001").await.unwrap();
}

#[tokio::test]
async fn desk_remove_of_a_missing_or_deactivated_agent_is_done() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    desk_orgs(&server, "PROFESSIONAL").await;
    Mock::given(method("GET"))
        .and(path("/api/v1/agents/404"))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"errorCode": "URL_NOT_FOUND", "message": "The URL you requested could not be found"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/agents/4002"))
        .respond_with(ResponseTemplate::new(200).set_body_json(agent(
            "4002",
            "old@example.com",
            "DISABLED",
            true,
        )))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = zoho(&server, "desk");
    connector.delete("404").await.unwrap();
    connector.delete("4002").await.unwrap();
}

#[tokio::test]
async fn desk_remove_trusts_only_the_agent_s_own_resource_for_gone() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    desk_orgs(&server, "PROFESSIONAL").await;
    // The deactivation answers 404, yet the agent still reads as active: not removed.
    Mock::given(method("GET"))
        .and(path("/api/v1/agents/4001"))
        .respond_with(ResponseTemplate::new(200).set_body_json(agent(
            "4001",
            "ada@example.com",
            "ACTIVE",
            true,
        )))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/agents/4001/deactivate"))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"errorCode": "URL_NOT_FOUND", "message": "The URL you requested could not be found"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    // The same 404, and the agent's own resource then says deactivated: done.
    first_then(
        &server,
        || Mock::given(method("GET")).and(path("/api/v1/agents/4002")),
        ResponseTemplate::new(200).set_body_json(agent("4002", "bob@example.com", "ACTIVE", true)),
        ResponseTemplate::new(200).set_body_json(agent("4002", "bob@example.com", "DISABLED", true)),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/agents/4002/deactivate"))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"errorCode": "URL_NOT_FOUND", "message": "The URL you requested could not be found"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = zoho(&server, "desk");
    match connector.delete("4001").await {
        Err(ConnectorError::Invalid(why)) => assert!(why.contains("still lists"), "{why}"),
        other => panic!("a 404 of the action is not a removal: {other:?}"),
    }
    connector.delete("4002").await.unwrap();
}

#[tokio::test]
async fn desk_lookups_not_found_never_read_as_a_missing_account() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/organizations"))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"errorCode": "URL_NOT_FOUND", "message": "The URL you requested could not be found"}),
        ))
        .mount(&server)
        .await;
    let (connector, _) = zoho(&server, "desk");
    for result in [
        connector.delete("4001").await.err(),
        connector.list(None).await.err(),
        connector.create(&ada("ada@example.com")).await.err(),
    ] {
        match result {
            Some(ConnectorError::Invalid(why)) => assert!(why.contains("organization"), "{why}"),
            other => panic!("a lookup's 404 says what was not found: {other:?}"),
        }
    }
}

#[tokio::test]
async fn desk_license_refusal_is_plan_required() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    desk_orgs(&server, "STANDARD").await;
    desk_agents("0", "1")
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "errorCode": "LICENSE_ACCESS_LIMITED", "message": "Feature not available in your edition",
            "feature": "API", "editionType": "FREE"
        })))
        .mount(&server)
        .await;
    let (connector, _) = zoho(&server, "desk");
    match connector.verify().await {
        Err(ConnectorError::PlanRequired(why)) => assert!(why.contains("paid edition"), "{why}"),
        other => panic!("expected PlanRequired, got {other:?}"),
    }
}

#[tokio::test]
async fn desk_on_the_free_edition_is_plan_required_at_verification() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    desk_orgs(&server, "FREE").await;
    Mock::given(method("GET"))
        .and(path("/api/v1/agents"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = zoho(&server, "desk");
    assert!(matches!(
        connector.verify().await,
        Err(ConnectorError::PlanRequired(_))
    ));
}

#[tokio::test]
async fn desk_429_is_waited_for_then_retried() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    desk_orgs(&server, "PROFESSIONAL").await;
    first_then(
        &server,
        || desk_agents("0", "100"),
        ResponseTemplate::new(429)
            .insert_header("retry-after", "7")
            .set_body_json(json!({"errorCode": "TOO_MANY_REQUESTS", "message": "Too many requests"})),
        ResponseTemplate::new(200).set_body_json(json!({"data": []})),
    )
    .await;
    let (connector, sleeper) = zoho(&server, "desk");
    assert!(connector.list(None).await.unwrap().accounts.is_empty());
    assert!(
        sleeper.waits().contains(&Duration::from_secs(7)),
        "{:?}",
        sleeper.waits()
    );
}

// ---------------------------------------------------------------------------------------
// Books

fn books_user(id: &str, email: &str, status: &str) -> Value {
    json!({"user_id": id, "name": "Ada Lovelace", "email": email, "user_role": "staff",
           "role_id": "982000000000021", "status": status, "is_current_user": false})
}

async fn books_orgs(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/books/v3/organizations"))
        .and(header("authorization", AUTH))
        .and(query_param_is_missing("organization_id"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "code": 0, "message": "success", "organizations": [
                {"organization_id": "555", "name": "Old books", "is_default_org": false},
                {"organization_id": BOOKS_ORG, "name": "Acme", "is_default_org": true}
            ]
        })))
        .expect(1)
        .mount(server)
        .await;
}

fn books_users(page: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path("/books/v3/users"))
        .and(header("authorization", AUTH))
        .and(query_param("organization_id", BOOKS_ORG))
        .and(query_param("page", page))
        .and(query_param("per_page", "200"))
        .and(query_param("filter_by", "Status.All"))
}

fn books_page(users: Vec<Value>, more: bool) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "code": 0, "message": "success", "users": users,
        "page_context": {"page": 1, "per_page": 200, "has_more_page": more}
    }))
}

#[tokio::test]
async fn books_lists_users_by_page_in_the_default_organization() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    books_orgs(&server).await;
    books_users("1")
        .respond_with(books_page(
            vec![
                books_user("1", "a@example.com", "active"),
                books_user("2", "b@example.com", "invited"),
                books_user("3", "c@example.com", "inactive"),
            ],
            true,
        ))
        .expect(1)
        .mount(&server)
        .await;
    books_users("2")
        .respond_with(books_page(
            vec![books_user("4", "d@example.com", "deleted")],
            false,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = zoho(&server, "books");
    let one = connector.list(None).await.unwrap();
    let statuses: Vec<_> = one.accounts.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses,
        [
            AccountStatus::Active,
            AccountStatus::InviteSent,
            AccountStatus::Suspended
        ]
    );
    assert_eq!(one.accounts[0].display_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(one.next.as_deref(), Some("2"));
    let two = connector.list(one.next.as_deref()).await.unwrap();
    assert_eq!(two.accounts[0].status, AccountStatus::Deleted);
    assert_eq!(two.next, None);
}

#[tokio::test]
async fn books_create_invites_the_user_with_the_staff_role() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    books_orgs(&server).await;
    // A deleted user with the email does not count as existing.
    books_users("1")
        .respond_with(books_page(
            vec![books_user("9", "ada@example.com", "deleted")],
            false,
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/books/v3/settings/roles"))
        .and(query_param("organization_id", BOOKS_ORG))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"code": 0, "roles": [
                {"role_id": "100", "role_name": "Admin"},
                {"role_id": "101", "role_name": "Staff"},
                {"role_id": "102", "role_name": "TimesheetStaff"}
            ]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/books/v3/users"))
        .and(header("authorization", AUTH))
        .and(query_param("organization_id", BOOKS_ORG))
        .and(header("content-type", "application/json"))
        .and(body_json(
            json!({"name": "Ada Lovelace", "email": "ada@example.com", "role_id": "101"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "code": 0, "message": "Your invitation has been sent.",
            "user": books_user("10", "ada@example.com", "invited")
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = zoho(&server, "books");
    let created = connector.create(&ada("ada@example.com")).await.unwrap();
    assert_eq!(
        (created.id.as_str(), created.status),
        ("10", AccountStatus::InviteSent)
    );
}

#[tokio::test]
async fn books_create_of_an_existing_user_returns_it_without_posting() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    books_orgs(&server).await;
    books_users("1")
        .respond_with(books_page(
            vec![books_user("7", "ada@example.com", "active")],
            false,
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = zoho(&server, "books");
    let found = connector.create(&ada("ada@example.com")).await.unwrap();
    assert_eq!(found.id, "7");
}

#[tokio::test]
async fn books_error_code_in_a_200_is_an_error() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    books_orgs(&server).await;
    books_users("1")
        .respond_with(books_page(vec![], false))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/books/v3/settings/roles"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"code": 0, "roles": []})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/books/v3/users"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"code": 4, "message": "Invalid value passed for Email"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = zoho(&server, "books");
    match connector.create(&ada("ada@example.com")).await {
        Err(ConnectorError::Invalid(why)) => assert!(why.contains("Invalid value passed for Email"), "{why}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    // No Staff role found: Books' own default role applies (no role_id sent).
    assert_eq!(
        bodies(&server, "POST", "/books/v3/users").await,
        [json!({"name": "Ada Lovelace", "email": "ada@example.com"})]
    );
}

#[tokio::test]
async fn books_user_is_invite_sent_until_accepted_then_active() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    books_orgs(&server).await;
    first_then(
        &server,
        || {
            Mock::given(method("GET"))
                .and(path("/books/v3/users/10"))
                .and(query_param("organization_id", BOOKS_ORG))
        },
        ResponseTemplate::new(200)
            .set_body_json(json!({"code": 0, "user": books_user("10", "ada@example.com", "invited")})),
        ResponseTemplate::new(200)
            .set_body_json(json!({"code": 0, "user": books_user("10", "ada@example.com", "active")})),
    )
    .await;
    let (connector, _) = zoho(&server, "books");
    assert_eq!(
        connector.get("10").await.unwrap().unwrap().status,
        AccountStatus::InviteSent
    );
    assert_eq!(
        connector.get("10").await.unwrap().unwrap().status,
        AccountStatus::Active
    );
}

#[tokio::test]
async fn books_remove_deletes_the_user_and_a_missing_one_is_done() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    books_orgs(&server).await;
    Mock::given(method("DELETE"))
        .and(path("/books/v3/users/10"))
        .and(header("authorization", AUTH))
        .and(query_param("organization_id", BOOKS_ORG))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"code": 0, "message": "The user has been removed from your organization."}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/books/v3/users/11"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"code": 1002, "message": "User does not exist."})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = zoho(&server, "books");
    connector.delete("10").await.unwrap();
    connector.delete("11").await.unwrap();
}

#[tokio::test]
async fn books_429_is_waited_for_then_retried() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    books_orgs(&server).await;
    first_then(
        &server,
        || books_users("1"),
        ResponseTemplate::new(429)
            .insert_header("retry-after", "5")
            .set_body_json(
                json!({"code": 45, "message": "You have exceeded the maximum number of API calls"}),
            ),
        books_page(vec![], false),
    )
    .await;
    let (connector, sleeper) = zoho(&server, "books");
    assert!(connector.list(None).await.unwrap().accounts.is_empty());
    assert!(
        sleeper.waits().contains(&Duration::from_secs(5)),
        "{:?}",
        sleeper.waits()
    );
}

// ---------------------------------------------------------------------------------------
// CRM

fn crm_user(id: &str, email: &str, status: &str, confirm: bool) -> Value {
    json!({"id": id, "email": email, "first_name": "Ada", "last_name": "Lovelace",
           "full_name": "Ada Lovelace", "status": status, "confirm": confirm,
           "role": {"name": "Sales Rep", "id": "300"}, "profile": {"name": "Standard", "id": "200"}})
}

fn crm_users(page: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path("/crm/v7/users"))
        .and(header("authorization", AUTH))
        .and(query_param("type", "AllUsers"))
        .and(query_param("page", page))
        .and(query_param("per_page", "200"))
}

fn crm_page(users: Vec<Value>, more: bool) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "users": users, "info": {"per_page": 200, "count": 1, "page": 1, "more_records": more}
    }))
}

#[tokio::test]
async fn crm_lists_all_users_by_page() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    crm_users("1")
        .respond_with(crm_page(
            vec![
                crm_user("1", "a@example.com", "active", true),
                crm_user("2", "b@example.com", "active", false),
                crm_user("3", "c@example.com", "disabled", true),
            ],
            true,
        ))
        .expect(1)
        .mount(&server)
        .await;
    crm_users("2")
        .respond_with(crm_page(
            vec![crm_user("4", "d@example.com", "deleted", true)],
            false,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = zoho(&server, "crm");
    let one = connector.list(None).await.unwrap();
    let statuses: Vec<_> = one.accounts.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses,
        [
            AccountStatus::Active,
            AccountStatus::InviteSent,
            AccountStatus::Suspended
        ]
    );
    assert_eq!(one.next.as_deref(), Some("2"));
    let two = connector.list(one.next.as_deref()).await.unwrap();
    assert_eq!(two.accounts[0].status, AccountStatus::Deleted);
    assert_eq!(two.next, None);
}

async fn crm_settings(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/crm/v7/settings/profiles"))
        .and(header("authorization", AUTH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"profiles": [
            {"id": "100", "name": "Administrator"}, {"id": "200", "name": "Standard"}
        ]})))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/crm/v7/settings/roles"))
        .and(header("authorization", AUTH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"roles": [
            {"id": "1", "name": "CEO", "reporting_to": null, "admin_user": true},
            {"id": "2", "name": "Manager", "reporting_to": {"id": "1", "name": "CEO"}, "admin_user": false},
            {"id": "300", "name": "Sales Rep", "reporting_to": {"id": "2", "name": "Manager"}, "admin_user": false}
        ]})))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn crm_create_invites_the_user_with_the_standard_profile_and_lowest_role() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    crm_users("1")
        .respond_with(crm_page(vec![], false))
        .mount(&server)
        .await;
    crm_settings(&server).await;
    Mock::given(method("POST"))
        .and(path("/crm/v7/users"))
        .and(header("authorization", AUTH))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"users": [{
            "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
            "role": "300", "profile": "200"
        }]})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"users": [
            {"code": "SUCCESS", "details": {"id": "5001"}, "message": "User added", "status": "success"}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = zoho(&server, "crm");
    let created = connector.create(&ada("ada@example.com")).await.unwrap();
    assert_eq!(
        (created.id.as_str(), created.status),
        ("5001", AccountStatus::InviteSent)
    );
}

#[tokio::test]
async fn crm_create_of_an_existing_user_returns_it_without_posting() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    crm_users("1")
        .respond_with(crm_page(
            vec![crm_user("5001", "ADA@example.com", "active", true)],
            false,
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = zoho(&server, "crm");
    let found = connector.create(&ada("ada@example.com")).await.unwrap();
    assert_eq!(found.id, "5001");
}

#[tokio::test]
async fn crm_record_error_inside_a_200_is_an_error() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    crm_users("1")
        .respond_with(crm_page(vec![], false))
        .mount(&server)
        .await;
    crm_settings(&server).await;
    Mock::given(method("POST"))
        .and(path("/crm/v7/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"users": [
            {"code": "INVALID_DATA", "details": {"api_name": "email"}, "message": "invalid data", "status": "error"}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = zoho(&server, "crm");
    match connector.create(&ada("ada@example.com")).await {
        Err(ConnectorError::Invalid(why)) => assert!(why.starts_with("INVALID_DATA"), "{why}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn crm_user_is_invite_sent_until_confirmed_then_active() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    first_then(
        &server,
        || Mock::given(method("GET")).and(path("/crm/v7/users/5001")),
        ResponseTemplate::new(200)
            .set_body_json(json!({"users": [crm_user("5001", "ada@example.com", "active", false)]})),
        ResponseTemplate::new(200)
            .set_body_json(json!({"users": [crm_user("5001", "ada@example.com", "active", true)]})),
    )
    .await;
    let (connector, _) = zoho(&server, "crm");
    assert_eq!(
        connector.get("5001").await.unwrap().unwrap().status,
        AccountStatus::InviteSent
    );
    assert_eq!(
        connector.get("5001").await.unwrap().unwrap().status,
        AccountStatus::Active
    );
}

#[tokio::test]
async fn crm_remove_deletes_the_user_and_a_missing_one_is_done() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    Mock::given(method("DELETE"))
        .and(path("/crm/v7/users/5001"))
        .and(header("authorization", AUTH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"users": [
            {"code": "SUCCESS", "details": {"id": "5001"}, "message": "User deleted", "status": "success"}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    // An unknown id is refused as invalid data; reading it finds nothing (204).
    Mock::given(method("DELETE"))
        .and(path("/crm/v7/users/5002"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"users": [
            {"code": "INVALID_DATA", "details": {"id": "5002"}, "message": "the id given seems to be invalid", "status": "error"}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/crm/v7/users/5002"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = zoho(&server, "crm");
    connector.delete("5001").await.unwrap();
    connector.delete("5002").await.unwrap();
}

#[tokio::test]
async fn crm_429_is_waited_for_then_retried() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    first_then(
        &server,
        || crm_users("1"),
        ResponseTemplate::new(429)
            .insert_header("retry-after", "3")
            .set_body_json(json!({
                "code": "TOO_MANY_REQUESTS", "details": {}, "message": "too many requests", "status": "error"
            })),
        crm_page(vec![], false),
    )
    .await;
    let (connector, sleeper) = zoho(&server, "crm");
    assert!(connector.list(None).await.unwrap().accounts.is_empty());
    assert!(
        sleeper.waits().contains(&Duration::from_secs(3)),
        "{:?}",
        sleeper.waits()
    );
}

// ---------------------------------------------------------------------------------------
// Suspend and reactivate, per product

#[tokio::test]
async fn desk_suspend_deactivates_and_reactivate_activates_the_agent() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    desk_orgs(&server, "PROFESSIONAL").await;
    for action in ["deactivate", "activate"] {
        Mock::given(method("POST"))
            .and(path(format!("/api/v1/agents/4001/{action}")))
            .and(header("orgid", DESK_ORG))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
    }
    first_then(
        &server,
        || Mock::given(method("GET")).and(path("/api/v1/agents/4001")),
        ResponseTemplate::new(200).set_body_json(agent("4001", "ada@example.com", "DISABLED", true)),
        ResponseTemplate::new(200).set_body_json(agent("4001", "ada@example.com", "ACTIVE", true)),
    )
    .await;
    let (connector, _) = zoho(&server, "desk");
    assert!(connector.capabilities().suspend && connector.capabilities().reactivate);
    assert_eq!(
        connector.suspend("4001").await.unwrap().status,
        AccountStatus::Suspended
    );
    assert_eq!(
        connector.reactivate("4001").await.unwrap().status,
        AccountStatus::Active
    );
}

#[tokio::test]
async fn books_suspend_marks_the_user_inactive_and_reactivate_active() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    books_orgs(&server).await;
    for action in ["inactive", "active"] {
        Mock::given(method("POST"))
            .and(path(format!("/books/v3/users/10/{action}")))
            .and(query_param("organization_id", BOOKS_ORG))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"code": 0, "message": format!("The user has been marked as {action}.")}),
            ))
            .expect(1)
            .mount(&server)
            .await;
    }
    first_then(
        &server,
        || Mock::given(method("GET")).and(path("/books/v3/users/10")),
        ResponseTemplate::new(200)
            .set_body_json(json!({"code": 0, "user": books_user("10", "ada@example.com", "inactive")})),
        ResponseTemplate::new(200)
            .set_body_json(json!({"code": 0, "user": books_user("10", "ada@example.com", "active")})),
    )
    .await;
    let (connector, _) = zoho(&server, "books");
    assert_eq!(
        connector.suspend("10").await.unwrap().status,
        AccountStatus::Suspended
    );
    assert_eq!(
        connector.reactivate("10").await.unwrap().status,
        AccountStatus::Active
    );
}

#[tokio::test]
async fn crm_suspend_and_reactivate_update_the_user_s_status() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    for status in ["inactive", "active"] {
        Mock::given(method("PUT"))
            .and(path("/crm/v7/users/500"))
            .and(body_json(json!({"users": [{"id": "500", "status": status}]})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"users": [{
                "code": "SUCCESS", "details": {"id": "500"}, "message": "User updated", "status": "success"
            }]})))
            .expect(1)
            .mount(&server)
            .await;
    }
    first_then(
        &server,
        || Mock::given(method("GET")).and(path("/crm/v7/users/500")),
        ResponseTemplate::new(200)
            .set_body_json(json!({"users": [crm_user("500", "ada@example.com", "disabled", true)]})),
        ResponseTemplate::new(200)
            .set_body_json(json!({"users": [crm_user("500", "ada@example.com", "active", true)]})),
    )
    .await;
    let (connector, _) = zoho(&server, "crm");
    assert_eq!(
        connector.suspend("500").await.unwrap().status,
        AccountStatus::Suspended
    );
    assert_eq!(
        connector.reactivate("500").await.unwrap().status,
        AccountStatus::Active
    );
}

#[tokio::test]
async fn a_suspend_the_product_ignored_is_no_success() {
    let server = MockServer::start().await;
    mint(&server, 1).await;
    books_orgs(&server).await;
    Mock::given(method("POST"))
        .and(path("/books/v3/users/10/inactive"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"code": 0, "message": "ok"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/books/v3/users/10"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"code": 0, "user": books_user("10", "ada@example.com", "active")})),
        )
        .mount(&server)
        .await;
    let (connector, _) = zoho(&server, "books");
    assert!(matches!(
        connector.suspend("10").await,
        Err(ConnectorError::Invalid(why)) if why.contains("deactivated")
    ));
}

/// The tenant is the product and its organization: Desk's default one, CRM's own.
#[tokio::test]
async fn the_tenant_is_the_product_and_its_organization() {
    let server = MockServer::start().await;
    mint(&server, 2).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/organizations"))
        .and(header("authorization", AUTH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"id": DESK_ORG, "companyName": "Acme", "portalName": "acme", "isDefault": true, "edition": "PROFESSIONAL"}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/crm/v7/org"))
        .and(header("authorization", AUTH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"org": [
            {"id": "4150868000000225013", "company_name": "Acme CRM", "zgid": "6666"}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let (desk, _) = zoho(&server, "desk");
    let (crm, _) = zoho(&server, "crm");
    assert_eq!(
        desk.tenant().await.unwrap(),
        prov_connectors::VendorTenant {
            id: format!("desk:{DESK_ORG}"),
            name: "Acme (Zoho Desk)".into()
        }
    );
    assert_eq!(
        crm.tenant().await.unwrap(),
        prov_connectors::VendorTenant {
            id: "crm:4150868000000225013".into(),
            name: "Acme CRM (Zoho CRM)".into()
        }
    );
}
