//! Box: OAuth and managed users at `https://api.box.com/2.0/users`, against a wiremock Box.
//! Requests are checked for the method, path, query and body Box documents.

use std::sync::Arc;
use std::time::Duration;

use prov_connectors::oauth::OAuthClientConfig;
use prov_connectors::{AccountStatus, Connector, ConnectorError, NewAccount};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{RecordingSleeper, authorize_in_production, first_then, oauth_connector};

fn boxed(server: &MockServer) -> (Box<dyn Connector>, Arc<RecordingSleeper>) {
    oauth_connector(server, "box", &["api.box.com"], "box-access")
}

fn user(id: &str, login: &str, status: &str) -> Value {
    json!({"type": "user", "id": id, "name": format!("Person {id}"), "login": login, "status": status})
}

fn error(status: u16, code: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "type": "error", "status": status, "code": code, "message": format!("{code} happened"), "request_id": "r1"
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
async fn the_authorize_url_is_box_s_own() {
    let client = OAuthClientConfig {
        client_id: "box-client".into(),
        client_secret: SecretString::from("box-secret"),
    };
    let (url, q, _) = authorize_in_production("box", &client);
    assert_eq!(url.host_str(), Some("account.box.com"));
    assert_eq!(url.path(), "/api/oauth2/authorize");
    assert_eq!(q["response_type"], "code");
    assert!(!q.contains_key("scope"), "Box grants the app's configured scopes");
}

#[tokio::test]
async fn managed_users_page_with_the_marker() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/2.0/users"))
        .and(query_param("marker", "m2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"entries": [user("3", "c@example.com", "inactive")], "limit": 1000, "next_marker": null}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/2.0/users"))
        .and(query_param("usemarker", "true"))
        .and(query_param("limit", "1000"))
        .and(query_param("user_type", "managed"))
        .and(header("authorization", "Bearer box-access"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "entries": [user("1", "a@example.com", "active"), user("2", "b@example.com", "cannot_delete_edit")],
            "limit": 1000, "next_marker": "m2"
        })))
        .mount(&server)
        .await;
    let (connector, _) = boxed(&server);
    let first = connector.list(None).await.unwrap();
    assert_eq!(first.next.as_deref(), Some("m2"));
    assert_eq!(first.accounts[1].status, AccountStatus::Active);
    assert_eq!(first.accounts[0].display_name.as_deref(), Some("Person 1"));
    let second = connector.list(first.next.as_deref()).await.unwrap();
    assert_eq!(second.next, None);
    assert_eq!(second.accounts[0].status, AccountStatus::Suspended);
}

#[tokio::test]
async fn create_looks_up_the_exact_login_then_posts_name_and_login() {
    let server = MockServer::start().await;
    // The prefix search also returns a longer login; only the exact one counts.
    Mock::given(method("GET"))
        .and(path("/2.0/users"))
        .and(query_param("filter_term", "ada@example.com"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"entries": [user("8", "ada@example.com.au", "active")]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2.0/users"))
        .and(body_json(
            json!({"name": "Ada Lovelace", "login": "ada@example.com"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(user("9", "ada@example.com", "active")))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = boxed(&server);
    let created = connector.create(&ada()).await.unwrap();
    assert_eq!(
        (created.id.as_str(), created.status),
        ("9", AccountStatus::Active)
    );
}

#[tokio::test]
async fn a_login_already_used_resolves_to_that_user() {
    let server = MockServer::start().await;
    first_then(
        &server,
        || {
            Mock::given(method("GET"))
                .and(path("/2.0/users"))
                .and(query_param("filter_term", "ada@example.com"))
        },
        ResponseTemplate::new(200).set_body_json(json!({"entries": []})),
        ResponseTemplate::new(200)
            .set_body_json(json!({"entries": [user("9", "ada@example.com", "active")]})),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/2.0/users"))
        .respond_with(error(409, "user_login_already_used"))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = boxed(&server);
    assert_eq!(connector.create(&ada()).await.unwrap().id, "9");
}

#[tokio::test]
async fn suspend_and_reactivate_set_the_status() {
    let server = MockServer::start().await;
    for (status, answer) in [("inactive", "inactive"), ("active", "active")] {
        Mock::given(method("PUT"))
            .and(path("/2.0/users/9"))
            .and(body_json(json!({"status": status})))
            .respond_with(ResponseTemplate::new(200).set_body_json(user("9", "ada@example.com", answer)))
            .expect(1)
            .mount(&server)
            .await;
    }
    let (connector, _) = boxed(&server);
    assert_eq!(
        connector.suspend("9").await.unwrap().status,
        AccountStatus::Suspended
    );
    assert_eq!(
        connector.reactivate("9").await.unwrap().status,
        AccountStatus::Active
    );
}

#[tokio::test]
async fn remove_moves_the_content_to_the_admin_then_deletes_without_force() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/2.0/users/me"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"type": "user", "id": "1", "role": "admin"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/2.0/users/9/folders/0"))
        .and(query_param("notify", "false"))
        .and(body_json(json!({"owned_by": {"id": "1"}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"type": "folder", "id": "555", "name": "ada@example.com - Ada Lovelace's Files and Folders"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/2.0/users/9"))
        .and(query_param("force", "false"))
        .and(query_param("notify", "false"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    // A user who is already gone: the move finds nothing, and the user's own resource says
    // 404 too.
    Mock::given(method("PUT"))
        .and(path("/2.0/users/10/folders/0"))
        .respond_with(error(404, "not_found"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/2.0/users/10"))
        .respond_with(error(404, "not_found"))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = boxed(&server);
    connector.delete("9").await.unwrap();
    connector.delete("10").await.unwrap();
}

#[tokio::test]
async fn a_404_from_the_content_move_is_not_taken_for_a_removed_user() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/2.0/users/me"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"type": "user", "id": "1", "role": "admin"})),
        )
        .mount(&server)
        .await;
    // The move's sub-resource answers 404 while the user is still there.
    Mock::given(method("PUT"))
        .and(path("/2.0/users/9/folders/0"))
        .respond_with(error(404, "not_found"))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/2.0/users/9"))
        .and(query_param("force", "false"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    // Box refuses to delete, without `force`, a user who still owns content (a 400
    // `bad_request`, "User has managed content"): not removed.
    Mock::given(method("PUT"))
        .and(path("/2.0/users/11/folders/0"))
        .respond_with(error(404, "not_found"))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/2.0/users/11"))
        .respond_with(error(400, "bad_request"))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = boxed(&server);
    assert_eq!(
        connector.delete("9").await,
        Ok(prov_connectors::Verified::VendorAnswer)
    );
    assert!(matches!(
        connector.delete("11").await,
        Err(ConnectorError::Invalid(why)) if why.contains("bad_request")
    ));
}

#[tokio::test]
async fn a_non_admin_is_refused_and_429_is_waited_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/2.0/users"))
        .and(query_param("limit", "1"))
        .respond_with(error(403, "access_denied_insufficient_permissions"))
        .mount(&server)
        .await;
    first_then(
        &server,
        || Mock::given(method("GET")).and(path("/2.0/users/9")),
        error(429, "rate_limit_exceeded").insert_header("retry-after", "4"),
        ResponseTemplate::new(200).set_body_json(user("9", "ada@example.com", "active")),
    )
    .await;
    let (connector, sleeper) = boxed(&server);
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => {
            assert!(
                why.contains("access_denied_insufficient_permissions") && why.contains("admin"),
                "{why}"
            )
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert!(connector.get("9").await.unwrap().is_some());
    assert_eq!(sleeper.waits(), [Duration::from_secs(4)]);
}

/// The tenant is the connecting admin's enterprise (`GET /users/me?fields=…enterprise`).
#[tokio::test]
async fn the_tenant_is_the_admins_enterprise() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/2.0/users/me"))
        .and(query_param("fields", "id,enterprise"))
        .and(header("authorization", "Bearer box-access"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "type": "user", "id": "1", "enterprise": {"type": "enterprise", "id": "11446498", "name": "Acme Inc"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = boxed(&server);
    assert_eq!(
        connector.tenant().await.unwrap(),
        prov_connectors::VendorTenant {
            id: "11446498".into(),
            name: "Acme Inc".into()
        }
    );
}

/// A personal Box account has no enterprise to bind a connection to.
#[tokio::test]
async fn a_user_without_an_enterprise_has_no_tenant() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/2.0/users/me"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"type": "user", "id": "1", "enterprise": null})),
        )
        .mount(&server)
        .await;
    let (connector, _) = boxed(&server);
    assert!(matches!(
        connector.tenant().await,
        Err(ConnectorError::PlanRequired(_))
    ));
}
