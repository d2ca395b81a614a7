//! 15Five: its SCIM 2.0 API (the generic SCIM connector with 15Five's specifics: a tenant
//! base URL on `*.15five.com`, the 30-character SCIM token as a bearer, remove = deactivate),
//! against wiremock.

use std::sync::Arc;

use prov_connectors::scim::user_resource;
use prov_connectors::{AccountStatus, Connector, ConnectorError, NewAccount};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{RecordingSleeper, api_key_connector, first_then};

const BASE: &str = "https://acme.15five.com/scim/v2/";
const TOKEN: &str = "abcdefghijklmnopqrstuvwxyz0123";

fn fifteen_five(server: &MockServer, token: &str) -> (Box<dyn Connector>, Arc<RecordingSleeper>) {
    api_key_connector(
        server,
        "fifteen_five",
        &["acme.15five.com"],
        &[("scim_base_url", BASE)],
        &[("scim_token", token)],
    )
}

fn list(users: &[Value], start: u64, total: u64) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": total,
           "startIndex": start, "itemsPerPage": users.len(), "Resources": users})
}

fn ada() -> NewAccount {
    NewAccount {
        email: "ada@example.com".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
    }
}

#[tokio::test]
async fn verify_reads_one_user_with_the_scim_token_and_a_wrong_token_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .and(query_param("count", "1"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(&[], 1, 0)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .and(header("authorization", format!("Bearer {}", "z".repeat(30)).as_str()))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "401", "detail": "Invalid token"
        })))
        .mount(&server)
        .await;
    fifteen_five(&server, TOKEN).0.verify().await.unwrap();
    match fifteen_five(&server, &"z".repeat(30)).0.verify().await {
        Err(ConnectorError::Unauthorized(why)) => assert!(why.contains("Invalid token"), "{why}"),
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn users_page_by_start_index_and_deactivated_users_are_suspended() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .and(query_param("startIndex", "1"))
        .and(query_param("count", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(
            &[user_resource("1", "a@example.com", "A", "One", true)],
            1,
            2,
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .and(query_param("startIndex", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(
            &[user_resource("2", "b@example.com", "B", "Two", false)],
            2,
            2,
        )))
        .mount(&server)
        .await;
    let (connector, _) = fifteen_five(&server, TOKEN);
    let first = connector.list(None).await.unwrap();
    assert_eq!(first.accounts[0].status, AccountStatus::Active);
    let second = connector.list(first.next.as_deref()).await.unwrap();
    // Deactivated is reversible at 15Five (`active: true` again): suspended, not gone.
    assert_eq!(second.accounts[0].status, AccountStatus::Suspended);
    assert_eq!(second.next, None);
    // SCIM shows only `active`: no invitation state, so "Invite Sent" is what was recorded.
    assert!(!connector.capabilities().shows_invites);
    assert!(connector.capabilities().suspend && connector.capabilities().reactivate);
}

#[tokio::test]
async fn create_looks_up_the_user_name_then_posts_the_scim_user() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .and(query_param("filter", "userName eq \"ada@example.com\""))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(&[], 1, 0)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/scim/v2/Users"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_json(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ada@example.com",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
            "active": true
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(user_resource(
            "77",
            "ada@example.com",
            "Ada",
            "Lovelace",
            true,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = fifteen_five(&server, TOKEN);
    assert_eq!(connector.create(&ada()).await.unwrap().id, "77");
}

#[tokio::test]
async fn create_of_an_existing_user_posts_nothing_and_a_409_resolves_to_the_user() {
    let server = MockServer::start().await;
    // Not found on the first lookup; the POST then meets a user created meanwhile.
    first_then(
        &server,
        || {
            Mock::given(method("GET"))
                .and(path("/scim/v2/Users"))
                .and(query_param("filter", "userName eq \"ada@example.com\""))
        },
        ResponseTemplate::new(200).set_body_json(list(&[], 1, 0)),
        ResponseTemplate::new(200).set_body_json(list(
            &[user_resource("77", "ada@example.com", "Ada", "Lovelace", true)],
            1,
            1,
        )),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/scim/v2/Users"))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "409",
            "scimType": "uniqueness", "detail": "User already exists"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = fifteen_five(&server, TOKEN);
    assert_eq!(connector.create(&ada()).await.unwrap().id, "77");
    // Now it is found first: no second POST (the mock expects exactly one).
    assert_eq!(connector.create(&ada()).await.unwrap().id, "77");
}

#[tokio::test]
async fn remove_deactivates_never_deletes_and_a_missing_user_is_done() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users/77"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_resource(
            "77",
            "ada@example.com",
            "Ada",
            "Lovelace",
            true,
        )))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/scim/v2/Users/77"))
        .and(body_json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": false}}]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_resource(
            "77",
            "ada@example.com",
            "Ada",
            "Lovelace",
            false,
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users/404"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "404", "detail": "Not found"
        })))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = fifteen_five(&server, TOKEN);
    connector.delete("77").await.unwrap();
    connector.delete("404").await.unwrap();
}

#[tokio::test]
async fn creating_a_deactivated_user_activates_them_again() {
    let server = MockServer::start().await;
    let inactive = user_resource("77", "ada@example.com", "Ada", "Lovelace", false);
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .and(query_param("filter", "userName eq \"ada@example.com\""))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(std::slice::from_ref(&inactive), 1, 1)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users/77"))
        .respond_with(ResponseTemplate::new(200).set_body_json(inactive))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/scim/v2/Users/77"))
        .and(body_json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": true}}]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_resource(
            "77",
            "ada@example.com",
            "Ada",
            "Lovelace",
            true,
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = fifteen_five(&server, TOKEN);
    let back = connector.create(&ada()).await.unwrap();
    assert_eq!((back.id.as_str(), back.status), ("77", AccountStatus::Active));
}

#[tokio::test]
async fn suspend_and_reactivate_set_active() {
    let server = MockServer::start().await;
    for active in [false, true] {
        Mock::given(method("PATCH"))
            .and(path("/scim/v2/Users/77"))
            .and(body_json(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"active": active}}]
            })))
            .respond_with(ResponseTemplate::new(200).set_body_json(user_resource(
                "77",
                "ada@example.com",
                "Ada",
                "Lovelace",
                active,
            )))
            .expect(1)
            .mount(&server)
            .await;
    }
    first_then(
        &server,
        || Mock::given(method("GET")).and(path("/scim/v2/Users/77")),
        ResponseTemplate::new(200).set_body_json(user_resource(
            "77",
            "ada@example.com",
            "Ada",
            "Lovelace",
            true,
        )),
        ResponseTemplate::new(200).set_body_json(user_resource(
            "77",
            "ada@example.com",
            "Ada",
            "Lovelace",
            false,
        )),
    )
    .await;
    let (connector, _) = fifteen_five(&server, TOKEN);
    assert_eq!(
        connector.suspend("77").await.unwrap().status,
        AccountStatus::Suspended
    );
    assert_eq!(
        connector.reactivate("77").await.unwrap().status,
        AccountStatus::Active
    );
}

#[tokio::test]
async fn removing_a_user_already_deactivated_sends_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users/77"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_resource(
            "77",
            "ada@example.com",
            "Ada",
            "Lovelace",
            false,
        )))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = fifteen_five(&server, TOKEN);
    connector.delete("77").await.unwrap();
}

#[tokio::test]
async fn a_429_is_waited_out_for_its_retry_after() {
    let server = MockServer::start().await;
    first_then(
        &server,
        || Mock::given(method("GET")).and(path("/scim/v2/Users")),
        ResponseTemplate::new(429).insert_header("retry-after", "3"),
        ResponseTemplate::new(200).set_body_json(list(&[], 1, 0)),
    )
    .await;
    let (connector, sleeper) = fifteen_five(&server, TOKEN);
    connector.list(None).await.unwrap();
    assert_eq!(sleeper.waits(), [std::time::Duration::from_secs(3)]);
}

/// The tenant is the company's own SCIM base URL, once the token is proven there.
#[tokio::test]
async fn the_tenant_is_the_companys_scim_base_url() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(&[], 1, 0)))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = fifteen_five(&server, TOKEN);
    connector.verify().await.unwrap();
    assert_eq!(
        connector.tenant().await.unwrap(),
        prov_connectors::VendorTenant {
            id: "https://acme.15five.com/scim/v2".into(),
            name: "acme.15five.com".into()
        }
    );
}
