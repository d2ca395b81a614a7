//! Trello: a Workspace's members through the REST API with an API key and a user token in
//! Trello's `Authorization: OAuth …` header, against wiremock. Requests are checked for the
//! method, path, query, headers and body Trello documents.

use std::sync::Arc;

use prov_connectors::registry::{self, Tenant};
use prov_connectors::{AccountStatus, Connector, ConnectorError, NewAccount};
use serde_json::{Value, json};
use wiremock::matchers::{body_string, method, path, query_param, query_param_is_missing};
use wiremock::{Match, Mock, MockBuilder, MockServer, Request, ResponseTemplate};

use crate::support::{RecordingSleeper, api_key_connector, first_then};

const HOSTS: &[&str] = &["api.trello.com"];
/// Clearly fake credentials of the shapes Trello issues.
const KEY: &str = "0123456789abcdef0123456789abcdef";
const TOKEN: &str = "test-token-of-a-trello-workspace-admin";
const AUTHORIZATION: &str = "OAuth oauth_consumer_key=\"0123456789abcdef0123456789abcdef\", oauth_token=\"test-token-of-a-trello-workspace-admin\"";
const MEMBERSHIPS: &str = "/1/organizations/acme_team/memberships";
const ADMIN_ID: &str = "5f00000000000000000000a1";

/// The whole `Authorization` header, byte for byte (wiremock's `header` splits at commas).
struct Authorized(&'static str);

impl Match for Authorized {
    fn matches(&self, request: &Request) -> bool {
        request.headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(self.0)
    }
}

fn trello(server: &MockServer, token: &str) -> (Box<dyn Connector>, Arc<RecordingSleeper>) {
    api_key_connector(
        server,
        "trello",
        HOSTS,
        &[("workspace", "acme_team")],
        &[("api_key", KEY), ("api_token", token)],
    )
}

/// A membership as `GET /organizations/{id}/memberships?member=true` answers it.
fn membership(id: &str, name: &str, member_type: &str, unconfirmed: bool, deactivated: bool) -> Value {
    json!({
        "id": format!("ms-{id}"), "idMember": id, "memberType": member_type,
        "unconfirmed": unconfirmed, "deactivated": deactivated,
        "member": {"id": id, "username": name.to_lowercase().replace(' ', ""), "fullName": name,
                   "confirmed": !unconfirmed}
    })
}

fn admin() -> Value {
    membership(ADMIN_ID, "Workspace Admin", "admin", false, false)
}

/// The memberships listing, with Trello's documented query and our header, nothing in the URL
/// that is a credential.
fn memberships() -> MockBuilder {
    Mock::given(method("GET"))
        .and(path(MEMBERSHIPS))
        .and(query_param("filter", "all"))
        .and(query_param("member", "true"))
        .and(query_param_is_missing("key"))
        .and(query_param_is_missing("token"))
        .and(Authorized(AUTHORIZATION))
}

async fn members_now(server: &MockServer, list: Value) {
    memberships()
        .respond_with(ResponseTemplate::new(200).set_body_json(list))
        .mount(server)
        .await;
}

fn new_account(email: &str) -> NewAccount {
    NewAccount {
        email: email.into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
    }
}

/// `PUT /1/organizations/acme_team/members?email=…&fullName=Ada Lovelace&type=normal`, no body.
fn invite(email: &str) -> MockBuilder {
    Mock::given(method("PUT"))
        .and(path("/1/organizations/acme_team/members"))
        .and(query_param("email", email))
        .and(query_param("fullName", "Ada Lovelace"))
        .and(query_param("type", "normal"))
        .and(query_param_is_missing("token"))
        .and(body_string(""))
        .and(Authorized(AUTHORIZATION))
}

#[tokio::test]
async fn the_workspace_key_and_token_are_checked_before_any_call() {
    let check = registry::spec("trello").unwrap().check;
    let ws = |w: &str| Tenant::from([("workspace".to_owned(), w.to_owned())]);
    for good in [
        "acme_team",
        "5f00000000000000000000ff",
        "https://trello.com/w/acme_team",
    ] {
        assert!(check(&ws(good), "api_key", KEY).is_ok(), "{good}");
    }
    for bad in [
        "",
        "ab",
        "../x",
        "acme team",
        "https://evil.test/w/acme",
        "https://trello.com/b/xyz",
    ] {
        assert!(check(&ws(bad), "api_key", KEY).is_err(), "{bad:?}");
    }
    assert!(
        check(&Tenant::new(), "api_key", KEY).is_err(),
        "the workspace is required"
    );
    let acme = ws("acme_team");
    // The key is 32 hex digits; the token is a long word that is not the key.
    assert!(check(&acme, "api_key", "not-a-key").is_err());
    assert!(check(&acme, "api_token", TOKEN).is_ok());
    assert!(
        check(&acme, "api_token", KEY).is_err(),
        "the key pasted as the token"
    );
    assert!(check(&acme, "api_token", "short").is_err());
    assert!(
        check(
            &acme,
            "api_token",
            "a\"b, oauth_token=\"0123456789abcdef0123456789"
        )
        .is_err(),
        "quotes would break the header"
    );
}

#[tokio::test]
async fn verify_reads_the_token_member_then_its_admin_membership_of_the_workspace() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/1/members/me"))
        .and(query_param("fields", "id,username"))
        .and(query_param_is_missing("key"))
        .and(Authorized(AUTHORIZATION))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": ADMIN_ID, "username": "workspaceadmin"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    memberships()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([admin()])))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = trello(&server, TOKEN);
    connector.verify().await.unwrap();
}

#[tokio::test]
async fn a_wrong_key_or_token_is_refused_at_verify() {
    let server = MockServer::start().await;
    // Trello answers a bad token with a plain-text 401.
    Mock::given(method("GET"))
        .and(path("/1/members/me"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("content-type", "text/plain; charset=utf-8")
                .set_body_string("invalid token"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(MEMBERSHIPS))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(0)
        .mount(&server)
        .await;
    let wrong = "a-revoked-token-of-a-former-trello-admin";
    let (connector, _) = trello(&server, wrong);
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => {
            assert!(why.contains("invalid token"), "{why}");
            assert!(!why.contains(wrong) && !why.contains(KEY), "no secret in: {why}");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn a_token_of_a_normal_member_is_refused_at_verify() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/1/members/me"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "5f00000000000000000000b2", "username": "someone"})),
        )
        .mount(&server)
        .await;
    members_now(
        &server,
        json!([
            admin(),
            membership("5f00000000000000000000b2", "Some One", "normal", false, false)
        ]),
    )
    .await;
    let (connector, _) = trello(&server, TOKEN);
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => assert!(why.contains("not an admin"), "{why}"),
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unknown_workspace_is_refused_at_verify() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/1/members/me"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": ADMIN_ID, "username": "workspaceadmin"})),
        )
        .mount(&server)
        .await;
    memberships()
        .respond_with(ResponseTemplate::new(404).set_body_string("The requested resource was not found."))
        .mount(&server)
        .await;
    let (connector, _) = trello(&server, TOKEN);
    match connector.verify().await {
        Err(ConnectorError::Invalid(why)) => assert!(why.contains("acme_team"), "{why}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

/// Trello does not page a Workspace's memberships: one answer is the whole list.
#[tokio::test]
async fn the_workspace_lists_whole_in_one_unpaged_answer_with_invites_and_deactivations() {
    let server = MockServer::start().await;
    members_now(
        &server,
        json!([
            admin(),
            membership("5f00000000000000000000b1", "Bea Active", "normal", false, false),
            membership("5f00000000000000000000b2", "Cy Invited", "normal", true, false),
            membership(
                "5f00000000000000000000b3",
                "Di Deactivated",
                "normal",
                false,
                true
            ),
        ]),
    )
    .await;
    let (connector, _) = trello(&server, TOKEN);
    let page = connector.list(None).await.unwrap();
    let seen: Vec<_> = page
        .accounts
        .iter()
        .map(|a| (a.id.as_str(), a.display_name.as_deref().unwrap(), a.status))
        .collect();
    assert_eq!(
        seen,
        [
            (ADMIN_ID, "Workspace Admin", AccountStatus::Active),
            ("5f00000000000000000000b1", "Bea Active", AccountStatus::Active),
            (
                "5f00000000000000000000b2",
                "Cy Invited",
                AccountStatus::InviteSent
            ),
            (
                "5f00000000000000000000b3",
                "Di Deactivated",
                AccountStatus::Suspended
            ),
        ]
    );
    assert_eq!(page.next, None, "no second page");
    assert!(
        page.accounts.iter().all(|a| a.email.is_none()),
        "Trello shows no emails"
    );
}

#[tokio::test]
async fn create_invites_by_email_and_returns_the_member_the_invitation_added() {
    let server = MockServer::start().await;
    let new = membership("5f00000000000000000000c1", "Ada Lovelace", "normal", true, false);
    first_then(
        &server,
        memberships,
        ResponseTemplate::new(200).set_body_json(json!([admin()])),
        ResponseTemplate::new(200).set_body_json(json!([admin(), new])),
    )
    .await;
    invite("ada@example.com")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "5f00000000000000000000ee"})))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = trello(&server, TOKEN);
    let created = connector.create(&new_account("ada@example.com")).await.unwrap();
    assert_eq!(created.id, "5f00000000000000000000c1");
    assert_eq!(created.status, AccountStatus::InviteSent);
    assert_eq!(created.display_name.as_deref(), Some("Ada Lovelace"));
}

#[tokio::test]
async fn create_of_a_member_trello_shows_by_email_invites_nobody() {
    let server = MockServer::start().await;
    let mut known = membership("5f00000000000000000000d1", "Ada L.", "normal", false, false);
    known["member"]["email"] = json!("Ada@Example.com");
    members_now(&server, json!([admin(), known])).await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = trello(&server, TOKEN);
    let found = connector.create(&new_account("ada@example.com")).await.unwrap();
    assert_eq!(found.id, "5f00000000000000000000d1");
    assert_eq!(found.status, AccountStatus::Active);
    let by_email = connector.find_by_email("ada@example.com").await.unwrap().unwrap();
    assert_eq!(by_email.id, "5f00000000000000000000d1");
}

#[tokio::test]
async fn create_of_an_existing_member_without_a_shown_email_is_left_to_the_admin_and_duplicates_nothing() {
    let server = MockServer::start().await;
    // Trello adds nobody: the email's account is already in the Workspace, and a member of
    // the same name may be a namesake, so nothing is linked by name.
    members_now(
        &server,
        json!([
            admin(),
            membership("5f00000000000000000000d2", "Ada Lovelace", "normal", false, false)
        ]),
    )
    .await;
    invite("ada@example.com")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "5f00000000000000000000ee"})))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = trello(&server, TOKEN);
    match connector.create(&new_account("ada@example.com")).await {
        Err(ConnectorError::Conflict(why)) => {
            assert!(why.contains("match the member named \"Ada Lovelace\""), "{why}")
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn create_that_cannot_tell_the_member_apart_is_a_conflict_not_a_guess() {
    let server = MockServer::start().await;
    members_now(
        &server,
        json!([
            admin(),
            membership("5f00000000000000000000d3", "Someone Else", "normal", false, false)
        ]),
    )
    .await;
    invite("ada@example.com")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    let (connector, _) = trello(&server, TOKEN);
    match connector.create(&new_account("ada@example.com")).await {
        Err(ConnectorError::Conflict(why)) => assert!(why.contains("Ada Lovelace"), "{why}"),
        other => panic!("expected Conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn an_invitation_is_pending_until_accepted_then_active() {
    let server = MockServer::start().await;
    members_now(
        &server,
        json!([
            admin(),
            membership("5f00000000000000000000c1", "Ada Lovelace", "normal", true, false)
        ]),
    )
    .await;
    let (connector, _) = trello(&server, TOKEN);
    let pending = connector.get("5f00000000000000000000c1").await.unwrap().unwrap();
    assert_eq!(pending.status, AccountStatus::InviteSent);

    server.reset().await;
    members_now(
        &server,
        json!([
            admin(),
            membership("5f00000000000000000000c1", "Ada Lovelace", "normal", false, false)
        ]),
    )
    .await;
    let joined = connector.get("5f00000000000000000000c1").await.unwrap().unwrap();
    assert_eq!(joined.status, AccountStatus::Active);
    assert!(connector.get("5f00000000000000000000zz").await.unwrap().is_none());
}

#[tokio::test]
async fn suspend_and_reactivate_deactivate_the_member_in_the_workspace() {
    let server = MockServer::start().await;
    let bob = "5f00000000000000000000b1";
    for value in ["true", "false"] {
        Mock::given(method("PUT"))
            .and(path(format!(
                "/1/organizations/acme_team/members/{bob}/deactivated"
            )))
            .and(query_param("value", value))
            .and(query_param_is_missing("token"))
            .and(Authorized(AUTHORIZATION))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": bob})))
            .expect(1)
            .mount(&server)
            .await;
    }
    first_then(
        &server,
        memberships,
        ResponseTemplate::new(200).set_body_json(json!([
            admin(),
            membership(bob, "Bob Byte", "normal", false, true)
        ])),
        ResponseTemplate::new(200).set_body_json(json!([
            admin(),
            membership(bob, "Bob Byte", "normal", false, false)
        ])),
    )
    .await;
    let (connector, _) = trello(&server, TOKEN);
    let caps = connector.capabilities();
    assert!(caps.create && caps.delete && caps.shows_invites && caps.suspend && caps.reactivate);
    assert_eq!(
        connector.suspend(bob).await.unwrap().status,
        AccountStatus::Suspended
    );
    assert_eq!(
        connector.reactivate(bob).await.unwrap().status,
        AccountStatus::Active
    );
}

#[tokio::test]
async fn suspend_of_a_member_not_in_the_workspace_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(400).set_body_string("invalid id"))
        .mount(&server)
        .await;
    members_now(&server, json!([admin()])).await;
    let (connector, _) = trello(&server, TOKEN);
    assert_eq!(
        connector.suspend("5f00000000000000000000zz").await,
        Err(ConnectorError::NotFound)
    );
}

#[tokio::test]
async fn delete_removes_the_member_from_the_workspace_and_all_its_boards() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(
            "/1/organizations/acme_team/members/5f00000000000000000000b1/all",
        ))
        .and(query_param_is_missing("token"))
        .and(Authorized(AUTHORIZATION))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"_value": null})))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = trello(&server, TOKEN);
    connector.delete("5f00000000000000000000b1").await.unwrap();
}

#[tokio::test]
async fn delete_of_a_member_no_longer_in_the_workspace_is_done() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(
            "/1/organizations/acme_team/members/5f00000000000000000000b9/all",
        ))
        .respond_with(ResponseTemplate::new(400).set_body_string("invalid id"))
        .expect(1)
        .mount(&server)
        .await;
    members_now(&server, json!([admin()])).await;
    let (connector, _) = trello(&server, TOKEN);
    connector.delete("5f00000000000000000000b9").await.unwrap();
}

#[tokio::test]
async fn a_refused_delete_of_a_member_still_there_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(400).set_body_string("invalid id"))
        .mount(&server)
        .await;
    members_now(
        &server,
        json!([
            admin(),
            membership("5f00000000000000000000b1", "Bea Active", "normal", false, false)
        ]),
    )
    .await;
    let (connector, _) = trello(&server, TOKEN);
    assert!(matches!(
        connector.delete("5f00000000000000000000b1").await,
        Err(ConnectorError::Invalid(_))
    ));
}

/// Trello's 429 carries a JSON body naming the limit and no `Retry-After`: the session backs
/// off and tries again.
#[tokio::test]
async fn the_token_rate_limit_is_waited_out_and_retried() {
    let server = MockServer::start().await;
    first_then(
        &server,
        memberships,
        ResponseTemplate::new(429)
            .set_body_json(json!({"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"})),
        ResponseTemplate::new(200).set_body_json(json!([admin()])),
    )
    .await;
    let (connector, sleeper) = trello(&server, TOKEN);
    let page = connector.list(None).await.unwrap();
    assert_eq!(page.accounts.len(), 1);
    assert_eq!(sleeper.waits().len(), 1, "one back-off: {:?}", sleeper.waits());
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2, "the call was sent again");
}

#[tokio::test]
async fn an_invitation_over_the_free_collaborator_limit_needs_a_paid_plan() {
    let server = MockServer::start().await;
    members_now(&server, json!([admin()])).await;
    invite("ada@example.com")
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"error": "ORG_COLLABORATOR_LIMIT", "message": "Workspace has reached its collaborator limit"}),
        ))
        .mount(&server)
        .await;
    let (connector, _) = trello(&server, TOKEN);
    // A 403 about the limit is about the plan, not the credentials.
    match connector.create(&new_account("ada@example.com")).await {
        Err(ConnectorError::PlanRequired(why)) => assert!(why.contains("10 collaborators"), "{why}"),
        other => panic!("expected PlanRequired, got {other:?}"),
    }
}

/// The tenant is the Workspace by its id (`GET /1/organizations/{ws}`), which a new short
/// name keeps.
#[tokio::test]
async fn the_tenant_is_the_workspace_by_its_id() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/1/organizations/acme_team"))
        .and(Authorized(AUTHORIZATION))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "5f0000000000000000000ws1", "name": "acme_team", "displayName": "Acme Team"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = trello(&server, TOKEN);
    assert_eq!(
        connector.tenant().await.unwrap(),
        prov_connectors::VendorTenant {
            id: "5f0000000000000000000ws1".into(),
            name: "Acme Team".into()
        }
    );
}
