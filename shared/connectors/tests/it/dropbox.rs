//! Dropbox: OAuth (offline access) and the Team API's member routes at
//! `https://api.dropboxapi.com/2/team/members/…`, against a wiremock Dropbox. Requests are
//! checked for the method, path, headers and JSON body Dropbox documents.

use std::sync::Arc;
use std::time::Duration;

use prov_connectors::oauth::OAuthClientConfig;
use prov_connectors::{AccountStatus, Connector, ConnectorError, NewAccount};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{RecordingSleeper, authorize_in_production, first_then, oauth_connector};

fn dropbox(server: &MockServer) -> (Box<dyn Connector>, Arc<RecordingSleeper>) {
    oauth_connector(server, "dropbox", &["api.dropboxapi.com"], "sl.team-token")
}

fn profile(id: &str, email: &str, status: &str) -> Value {
    json!({"team_member_id": id, "email": email, "email_verified": true, "status": {".tag": status},
           "name": {"given_name": "G", "surname": id, "familiar_name": "G", "display_name": format!("G {id}"), "abbreviated_name": "G"},
           "membership_type": {".tag": "full"}})
}

fn member(id: &str, email: &str, status: &str) -> Value {
    json!({"profile": profile(id, email, status), "roles": []})
}

fn info(id: &str, email: &str, status: &str) -> Value {
    json!({"members_info": [{".tag": "member_info", "profile": profile(id, email, status), "roles": []}]})
}

fn not_found(email: &str) -> Value {
    json!({"members_info": [{".tag": "id_not_found", "id_not_found": email}]})
}

fn route_error(tag: &str) -> ResponseTemplate {
    ResponseTemplate::new(409)
        .set_body_json(json!({"error_summary": format!("{tag}/.."), "error": {".tag": tag}}))
}

fn ada() -> NewAccount {
    NewAccount {
        email: "ada@example.com".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
    }
}

fn rpc(route: &str) -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path(format!("/2/team/{route}")))
        .and(header("authorization", "Bearer sl.team-token"))
}

async fn lookup(server: &MockServer, email: &str, answer: Value) {
    rpc("members/get_info_v2")
        .and(body_json(json!({"members": [{".tag": "email", "email": email}]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(server)
        .await;
}

#[tokio::test]
async fn the_authorize_url_asks_for_offline_access_and_the_member_scopes() {
    let client = OAuthClientConfig {
        client_id: "dbx-app".into(),
        client_secret: SecretString::from("dbx-secret"),
    };
    let (url, q, _) = authorize_in_production("dropbox", &client);
    assert_eq!(url.host_str(), Some("www.dropbox.com"));
    assert_eq!(url.path(), "/oauth2/authorize");
    assert_eq!(q["token_access_type"], "offline");
    assert_eq!(
        q["scope"],
        "members.read members.write members.delete team_info.read"
    );
    assert_eq!(q["code_challenge_method"], "S256");
}

#[tokio::test]
async fn a_token_without_the_scopes_is_refused_at_verification() {
    let server = MockServer::start().await;
    rpc("get_info")
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error_summary": "missing_scope/..", "error": {".tag": "missing_scope", "required_scope": "team_info.read"}
        })))
        .mount(&server)
        .await;
    let (connector, _) = dropbox(&server);
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => {
            assert!(
                why.contains("missing_scope") && why.contains("members.write"),
                "{why}"
            )
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn members_list_then_continue_with_the_cursor_and_map_statuses() {
    let server = MockServer::start().await;
    rpc("members/list_v2")
        .and(body_json(json!({"limit": 200, "include_removed": false})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "members": [member("dbmid:1", "a@example.com", "active"), member("dbmid:2", "b@example.com", "invited")],
            "cursor": "c1", "has_more": true
        })))
        .expect(1)
        .mount(&server)
        .await;
    rpc("members/list/continue_v2")
        .and(body_json(json!({"cursor": "c1"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "members": [member("dbmid:3", "c@example.com", "suspended")], "cursor": "c2", "has_more": false
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = dropbox(&server);
    let first = connector.list(None).await.unwrap();
    let statuses: Vec<_> = first.accounts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [AccountStatus::Active, AccountStatus::InviteSent]);
    assert_eq!(first.accounts[0].first_name.as_deref(), Some("G"));
    assert_eq!(first.next.as_deref(), Some("c1"));
    let second = connector.list(first.next.as_deref()).await.unwrap();
    assert_eq!(second.next, None, "has_more false ends the listing");
    assert_eq!(second.accounts[0].status, AccountStatus::Suspended);
}

#[tokio::test]
async fn create_adds_with_the_welcome_email_and_is_invited_until_joined() {
    let server = MockServer::start().await;
    lookup(&server, "ada@example.com", not_found("ada@example.com")).await;
    rpc("members/add_v2")
        .and(body_json(json!({"new_members": [{
            "member_email": "ada@example.com", "member_given_name": "Ada", "member_surname": "Lovelace",
            "send_welcome_email": true
        }], "force_async": false})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            ".tag": "complete",
            "complete": [{".tag": "success", "profile": profile("dbmid:7", "ada@example.com", "invited"), "roles": []}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    rpc("members/get_info_v2")
        .and(body_json(
            json!({"members": [{".tag": "team_member_id", "team_member_id": "dbmid:7"}]}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(info("dbmid:7", "ada@example.com", "active")))
        .mount(&server)
        .await;
    let (connector, _) = dropbox(&server);
    let created = connector.create(&ada()).await.unwrap();
    assert_eq!(
        (created.id.as_str(), created.status),
        ("dbmid:7", AccountStatus::InviteSent)
    );
    // Once Ada joins, Dropbox says `active`.
    let joined = connector.get("dbmid:7").await.unwrap().unwrap();
    assert_eq!(joined.status, AccountStatus::Active);
}

#[tokio::test]
async fn an_asynchronous_add_is_polled_to_its_end() {
    let server = MockServer::start().await;
    lookup(&server, "ada@example.com", not_found("ada@example.com")).await;
    rpc("members/add_v2")
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({".tag": "async_job_id", "async_job_id": "dbjid:1"})),
        )
        .mount(&server)
        .await;
    rpc("members/add/job_status/get_v2")
        .and(body_json(json!({"async_job_id": "dbjid:1"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({".tag": "in_progress"})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    rpc("members/add/job_status/get_v2")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            ".tag": "complete",
            "complete": [{".tag": "success", "profile": profile("dbmid:8", "ada@example.com", "invited"), "roles": []}]
        })))
        .with_priority(2)
        .mount(&server)
        .await;
    let (connector, sleeper) = dropbox(&server);
    assert_eq!(connector.create(&ada()).await.unwrap().id, "dbmid:8");
    assert_eq!(sleeper.waits(), [Duration::from_secs(1), Duration::from_secs(1)]);
}

#[tokio::test]
async fn create_of_a_member_returns_it_and_per_member_refusals_are_typed() {
    let server = MockServer::start().await;
    lookup(
        &server,
        "ada@example.com",
        info("dbmid:9", "ada@example.com", "active"),
    )
    .await;
    lookup(&server, "full@example.com", not_found("full@example.com")).await;
    rpc("members/add_v2")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            ".tag": "complete", "complete": [{".tag": "team_license_limit", "team_license_limit": "full@example.com"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = dropbox(&server);
    assert_eq!(connector.create(&ada()).await.unwrap().id, "dbmid:9");
    let full = NewAccount {
        email: "full@example.com".into(),
        ..ada()
    };
    assert!(matches!(
        connector.create(&full).await,
        Err(ConnectorError::PlanRequired(_))
    ));
}

#[tokio::test]
async fn suspend_keeps_data_and_reactivating_an_active_member_is_no_error() {
    let server = MockServer::start().await;
    rpc("members/suspend")
        .and(body_json(
            json!({"user": {".tag": "team_member_id", "team_member_id": "dbmid:1"}, "wipe_data": false}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(Value::Null))
        .expect(1)
        .mount(&server)
        .await;
    rpc("members/unsuspend")
        .and(body_json(
            json!({"user": {".tag": "team_member_id", "team_member_id": "dbmid:1"}}),
        ))
        .respond_with(route_error("unsuspend_non_suspended_member"))
        .expect(1)
        .mount(&server)
        .await;
    first_then(
        &server,
        || rpc("members/get_info_v2"),
        ResponseTemplate::new(200).set_body_json(info("dbmid:1", "a@example.com", "suspended")),
        ResponseTemplate::new(200).set_body_json(info("dbmid:1", "a@example.com", "active")),
    )
    .await;
    let (connector, _) = dropbox(&server);
    assert_eq!(
        connector.suspend("dbmid:1").await.unwrap().status,
        AccountStatus::Suspended
    );
    assert_eq!(
        connector.reactivate("dbmid:1").await.unwrap().status,
        AccountStatus::Active
    );
}

#[tokio::test]
async fn an_invited_member_is_not_suspended_and_the_refusal_says_why() {
    let server = MockServer::start().await;
    // Dropbox suspends only active members: `suspend_inactive_user` for an invited one.
    rpc("members/suspend")
        .respond_with(route_error("suspend_inactive_user"))
        .expect(2)
        .mount(&server)
        .await;
    first_then(
        &server,
        || rpc("members/get_info_v2"),
        ResponseTemplate::new(200).set_body_json(info("dbmid:1", "a@example.com", "invited")),
        ResponseTemplate::new(200).set_body_json(info("dbmid:1", "a@example.com", "suspended")),
    )
    .await;
    let (connector, _) = dropbox(&server);
    match connector.suspend("dbmid:1").await {
        Err(ConnectorError::Invalid(why)) => {
            assert!(why.contains("has not joined") && why.contains("remove"), "{why}")
        }
        other => panic!("an invited member is not suspended: {other:?}"),
    }
    // The same refusal for a member who is suspended already: nothing to do.
    assert_eq!(
        connector.suspend("dbmid:1").await.unwrap().status,
        AccountStatus::Suspended
    );
}

#[tokio::test]
async fn remove_waits_for_its_job_and_a_missing_member_is_gone() {
    let server = MockServer::start().await;
    rpc("members/remove")
        .and(body_json(json!({"user": {".tag": "team_member_id", "team_member_id": "dbmid:1"}, "wipe_data": true, "keep_account": false})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({".tag": "async_job_id", "async_job_id": "dbjid:9"})))
        .expect(1)
        .mount(&server)
        .await;
    rpc("members/remove/job_status/get")
        .and(body_json(json!({"async_job_id": "dbjid:9"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({".tag": "complete"})))
        .expect(1)
        .mount(&server)
        .await;
    rpc("members/remove")
        .and(body_json(json!({"user": {".tag": "team_member_id", "team_member_id": "dbmid:gone"}, "wipe_data": true, "keep_account": false})))
        .respond_with(route_error("user_not_found"))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = dropbox(&server);
    connector.delete("dbmid:1").await.unwrap();
    connector.delete("dbmid:gone").await.unwrap();
}

#[tokio::test]
async fn a_read_is_retried_after_a_429_and_a_5xx() {
    let server = MockServer::start().await;
    rpc("members/get_info_v2")
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "3")
                .set_body_json(json!({"error_summary": "too_many_requests/..", "error": {"reason": {".tag": "too_many_requests"}, "retry_after": 3}})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    rpc("members/get_info_v2")
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    rpc("members/get_info_v2")
        .respond_with(ResponseTemplate::new(200).set_body_json(info("dbmid:1", "a@example.com", "active")))
        .with_priority(3)
        .mount(&server)
        .await;
    let (connector, sleeper) = dropbox(&server);
    // get_info is a POST, but a read: marked repeatable, so a 5xx is retried too.
    assert!(connector.get("dbmid:1").await.unwrap().is_some());
    assert_eq!(sleeper.waits()[0], Duration::from_secs(3));
    // The 429's wait, the 5xx's backoff (and, after the 429, perhaps a pause to keep the
    // slower pace it taught): three calls in all.
    assert!(sleeper.waits().len() >= 2, "{:?}", sleeper.waits());
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn an_add_that_finds_the_member_already_on_the_team_returns_that_member() {
    let server = MockServer::start().await;
    // Not there at the first look; on the team by the time the add runs.
    first_then(
        &server,
        || rpc("members/get_info_v2"),
        ResponseTemplate::new(200).set_body_json(not_found("ada@example.com")),
        ResponseTemplate::new(200).set_body_json(info("dbmid:5", "ada@example.com", "invited")),
    )
    .await;
    rpc("members/add_v2")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            ".tag": "complete", "complete": [{".tag": "user_already_on_team", "user_already_on_team": "ada@example.com"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = dropbox(&server);
    let found = connector.create(&ada()).await.unwrap();
    assert_eq!(
        (found.id.as_str(), found.status),
        ("dbmid:5", AccountStatus::InviteSent)
    );
}

/// The tenant is the team `team/get_info` names.
#[tokio::test]
async fn the_tenant_is_the_team_get_info_names() {
    let server = MockServer::start().await;
    rpc("get_info")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": "Acme", "team_id": "dbtid:AAC-acme", "num_licensed_users": 5, "num_provisioned_users": 2
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = dropbox(&server);
    assert_eq!(
        connector.tenant().await.unwrap(),
        prov_connectors::VendorTenant {
            id: "dbtid:AAC-acme".into(),
            name: "Acme".into()
        }
    );
}
