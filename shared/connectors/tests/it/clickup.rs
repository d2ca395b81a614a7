//! ClickUp: API v2's Workspace user endpoints with a bare personal token, against a wiremock
//! `api.clickup.com`. Requests are checked for the method, path, headers and body ClickUp
//! documents; answers are in ClickUp's shapes (`{"err", "ECODE"}` errors included).

use std::sync::Arc;
use std::time::Duration;

use prov_connectors::registry::{self, Tenant};
use prov_connectors::{AccountStatus, Connector, ConnectorError, NewAccount};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{RecordingSleeper, api_key_connector, first_then};

const TOKEN: &str = "pk_test_token";
const TEAM: &str = "9001";

fn tenant(team_id: &str) -> Tenant {
    Tenant::from([("team_id".to_owned(), team_id.to_owned())])
}

fn clickup(server: &MockServer, token: &str) -> (Box<dyn Connector>, Arc<RecordingSleeper>) {
    api_key_connector(
        server,
        "clickup",
        &["api.clickup.com"],
        &[("team_id", TEAM)],
        &[("api_token", token)],
    )
}

/// A Workspace member as Get Authorized Workspaces lists it (`date_joined` null: invited).
fn member(id: u64, email: &str, role: u8, joined: Option<&str>) -> Value {
    json!({
        "user": {
            "id": id, "username": format!("User {id}"), "email": email, "color": "#7b68ee",
            "profilePicture": null, "initials": "U", "role": role, "custom_role": null,
            "last_active": joined, "date_joined": joined, "date_invited": "1700000000000"
        },
        "invited_by": {"id": 1, "username": "Owner", "email": "owner@example.com", "color": "#000000", "initials": "O", "profilePicture": null}
    })
}

fn workspace(id: &str, members: Vec<Value>) -> Value {
    json!({"id": id, "name": format!("Workspace {id}"), "color": "#536cfe", "avatar": null, "members": members})
}

fn teams(workspaces: Vec<Value>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"teams": workspaces}))
}

fn owner() -> Value {
    member(1, "owner@example.com", 1, Some("1600000000000"))
}

fn ada() -> NewAccount {
    NewAccount {
        email: "ada@example.com".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
    }
}

async fn mount_me(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/v2/user"))
        .and(header("authorization", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"user": {
            "id": 1, "username": "Owner", "email": "owner@example.com", "color": "#000000",
            "profilePicture": null, "initials": "O", "week_start_day": 0, "global_font_support": false, "timezone": "Europe/London"
        }})))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn the_token_must_be_a_personal_token_and_the_workspace_id_digits() {
    let check = registry::spec("clickup").unwrap().check;
    assert!(check(&tenant("9001"), "api_token", "pk_test_token").is_ok());
    for bad_token in ["Bearer pk_test", "sk_test_token", "pk_", "pk_has space", ""] {
        match check(&tenant("9001"), "api_token", bad_token) {
            Err(ConnectorError::Invalid(why)) => assert!(why.contains("pk_"), "{why}"),
            other => panic!("{bad_token:?}: expected Invalid, got {other:?}"),
        }
    }
    for bad_team in ["", "acme", "90 01", "9001/user", "-1", "123456789012345678901"] {
        assert!(
            check(&tenant(bad_team), "api_token", "pk_test_token").is_err(),
            "{bad_team:?}"
        );
    }
    assert!(check(&Tenant::new(), "api_token", "pk_test_token").is_err());
}

#[tokio::test]
async fn verify_checks_the_token_the_workspace_and_its_enterprise_plan() {
    let server = MockServer::start().await;
    mount_me(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/team"))
        .and(header("authorization", TOKEN))
        .respond_with(teams(vec![
            workspace("77", vec![]),
            workspace(TEAM, vec![owner()]),
        ]))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/team/9001/plan"))
        .and(header("authorization", TOKEN))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"plan_name": "Enterprise", "plan_id": 4})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = clickup(&server, TOKEN);
    connector.verify().await.unwrap();
    // The token is sent as it is: no `Bearer`.
    for request in server.received_requests().await.unwrap() {
        assert_eq!(request.headers.get("authorization").unwrap(), TOKEN);
    }
}

#[tokio::test]
async fn a_wrong_token_is_refused_at_verification() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/user"))
        .and(header("authorization", "pk_wrong"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"err": "Token invalid", "ECODE": "OAUTH_025"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = clickup(&server, "pk_wrong");
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => {
            assert!(why.contains("OAUTH_025") && why.contains("revoked"), "{why}")
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn a_workspace_the_token_does_not_see_is_refused_at_verification() {
    let server = MockServer::start().await;
    mount_me(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/team"))
        .respond_with(teams(vec![workspace("77", vec![owner()])]))
        .mount(&server)
        .await;
    let (connector, _) = clickup(&server, TOKEN);
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => {
            assert!(why.contains("9001") && why.contains("77 (Workspace 77)"), "{why}")
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn a_token_of_a_plain_member_is_refused_at_verification() {
    let server = MockServer::start().await;
    mount_me(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/team"))
        .respond_with(teams(vec![workspace(
            TEAM,
            vec![member(1, "owner@example.com", 3, Some("1600000000000"))],
        )]))
        .mount(&server)
        .await;
    let (connector, _) = clickup(&server, TOKEN);
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => assert!(why.contains("member of Workspace 9001"), "{why}"),
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn a_token_whose_user_is_not_listed_in_the_workspace_is_refused_at_verification() {
    let server = MockServer::start().await;
    mount_me(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/team"))
        .respond_with(teams(vec![workspace(
            TEAM,
            vec![member(2, "someone@example.com", 1, Some("1600000000000"))],
        )]))
        .mount(&server)
        .await;
    let (connector, _) = clickup(&server, TOKEN);
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => assert!(why.contains("not listed"), "{why}"),
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn a_workspace_below_enterprise_is_plan_required_at_verification() {
    let server = MockServer::start().await;
    mount_me(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/team"))
        .respond_with(teams(vec![workspace(TEAM, vec![owner()])]))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/team/9001/plan"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"plan_name": "Business Plus", "plan_id": 3})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = clickup(&server, TOKEN);
    match connector.verify().await {
        Err(ConnectorError::PlanRequired(why)) => {
            assert!(
                why.contains("Business Plus") && why.contains("Enterprise"),
                "{why}"
            )
        }
        other => panic!("expected PlanRequired, got {other:?}"),
    }
}

#[tokio::test]
async fn team_not_authorized_codes_are_unauthorized_for_the_workspace() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/team/9001/user/5"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"err": "Team not authorized", "ECODE": "OAUTH_027"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/team/9001/user/6"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"err": "Team not authorized", "ECODE": "OAUTH_041"})),
        )
        .mount(&server)
        .await;
    let (connector, _) = clickup(&server, TOKEN);
    for id in ["5", "6"] {
        match connector.get(id).await {
            Err(ConnectorError::Unauthorized(why)) => {
                assert!(why.contains("not authorized for Workspace 9001"), "{why}")
            }
            other => panic!("expected Unauthorized, got {other:?}"),
        }
    }
}

/// ClickUp has no paging for members: the Workspace's whole list comes in one answer.
#[tokio::test]
async fn members_come_in_one_unpaged_list_of_the_workspace_without_guests() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/team"))
        .and(header("authorization", TOKEN))
        .respond_with(teams(vec![
            workspace("77", vec![member(70, "elsewhere@example.com", 3, Some("1"))]),
            workspace(
                TEAM,
                vec![
                    owner(),
                    member(2, "bob@example.com", 3, Some("1650000000000")),
                    member(3, "cleo@example.com", 3, None),
                    member(4, "guest@example.com", 4, Some("1650000000000")),
                ],
            ),
        ]))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = clickup(&server, TOKEN);
    let page = connector.list(None).await.unwrap();
    assert_eq!(page.next, None, "one page: ClickUp does not page members");
    let seen: Vec<(&str, Option<&str>, AccountStatus)> = page
        .accounts
        .iter()
        .map(|a| (a.id.as_str(), a.email.as_deref(), a.status))
        .collect();
    assert_eq!(
        seen,
        [
            ("1", Some("owner@example.com"), AccountStatus::Active),
            ("2", Some("bob@example.com"), AccountStatus::Active),
            ("3", Some("cleo@example.com"), AccountStatus::InviteSent),
        ]
    );
    assert_eq!(page.accounts[1].display_name.as_deref(), Some("User 2"));
    // No cursor is ever issued.
    assert!(matches!(
        connector.list(Some("2")).await,
        Err(ConnectorError::Invalid(_))
    ));
}

#[tokio::test]
async fn find_by_email_filters_the_member_list_ignoring_case() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/team"))
        .respond_with(teams(vec![workspace(
            TEAM,
            vec![
                owner(),
                member(2, "Bob@Example.com", 3, Some("1650000000000")),
                member(4, "guest@example.com", 4, Some("1650000000000")),
            ],
        )]))
        .mount(&server)
        .await;
    let (connector, _) = clickup(&server, TOKEN);
    let bob = connector.find_by_email("bob@example.COM").await.unwrap().unwrap();
    assert_eq!(bob.id, "2");
    assert_eq!(connector.find_by_email("guest@example.com").await.unwrap(), None);
    assert_eq!(connector.find_by_email("nobody@example.com").await.unwrap(), None);
}

#[tokio::test]
async fn create_invites_the_email_as_a_member_pending_until_accepted() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/team"))
        .respond_with(teams(vec![workspace(TEAM, vec![owner()])]))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/team/9001/user"))
        .and(header("authorization", TOKEN))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"email": "ada@example.com", "admin": false})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"team": {
            "id": TEAM, "name": "Workspace 9001", "color": "#536cfe", "avatar": null,
            "members": [owner(), member(812, "ada@example.com", 3, None)],
            "roles": []
        }})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/team/9001/user/812"))
        .and(header("authorization", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"member": {
            "user": member(812, "ada@example.com", 3, Some("1710000000000"))["user"].clone(),
            "invited_by": {"id": 1, "username": "Owner"},
            "shared": {"tasks": [], "lists": [], "folders": []}
        }})))
        .mount(&server)
        .await;
    let (connector, _) = clickup(&server, TOKEN);
    let created = connector.create(&ada()).await.unwrap();
    assert_eq!(created.id, "812");
    assert_eq!(
        created.status,
        AccountStatus::InviteSent,
        "ClickUp emailed an invitation"
    );
    // Once Ada accepts, ClickUp has a `date_joined`.
    let accepted = connector.get("812").await.unwrap().unwrap();
    assert_eq!(accepted.status, AccountStatus::Active);
}

#[tokio::test]
async fn create_of_an_existing_member_returns_it_without_inviting() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/team"))
        .respond_with(teams(vec![workspace(
            TEAM,
            vec![owner(), member(812, "ADA@example.com", 3, Some("1710000000000"))],
        )]))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/team/9001/user"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = clickup(&server, TOKEN);
    let existing = connector.create(&ada()).await.unwrap();
    assert_eq!(
        (existing.id.as_str(), existing.status),
        ("812", AccountStatus::Active)
    );
}

#[tokio::test]
async fn create_racing_another_invite_returns_the_member_clickup_already_has() {
    let server = MockServer::start().await;
    // The first look misses (another request is inviting Ada), ClickUp refuses the second
    // invitation, the look after it finds her.
    first_then(
        &server,
        || Mock::given(method("GET")).and(path("/api/v2/team")),
        teams(vec![workspace(TEAM, vec![owner()])]),
        teams(vec![workspace(
            TEAM,
            vec![owner(), member(812, "ada@example.com", 3, None)],
        )]),
    )
    .await;
    // ClickUp does not document this refusal; its wording and code here are a stand-in.
    Mock::given(method("POST"))
        .and(path("/api/v2/team/9001/user"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(
                json!({"err": "User is already a member of this Workspace", "ECODE": "TEAM_110"}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = clickup(&server, TOKEN);
    let found = connector.create(&ada()).await.unwrap();
    assert_eq!(
        (found.id.as_str(), found.status),
        ("812", AccountStatus::InviteSent)
    );
}

#[tokio::test]
async fn delete_removes_the_member_and_a_missing_one_is_done() {
    let server = MockServer::start().await;
    // ClickUp does not document its answer for a user not in the Workspace: a 404, or a
    // "not found" error (the codes here are stand-ins), both mean done.
    Mock::given(method("DELETE"))
        .and(path("/api/v2/team/9001/user/812"))
        .and(header("authorization", TOKEN))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"team": workspace(TEAM, vec![owner()])})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/v2/team/9001/user/404"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"err": "Not found", "ECODE": "X_404"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/v2/team/9001/user/405"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"err": "User not found", "ECODE": "TEAM_022"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    // The member list (authoritative) confirms they are gone.
    Mock::given(method("GET"))
        .and(path("/api/v2/team"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"teams": [workspace(TEAM, vec![owner()])]})),
        )
        .expect(2)
        .mount(&server)
        .await;
    let (connector, _) = clickup(&server, TOKEN);
    connector.delete("812").await.unwrap();
    connector.delete("404").await.unwrap();
    connector.delete("405").await.unwrap();
    // Not a ClickUp user id: nothing sent, and not proven removed.
    assert!(matches!(
        connector.delete("u-1").await,
        Err(ConnectorError::Invalid(_))
    ));
    assert_eq!(server.received_requests().await.unwrap().len(), 5);
    assert!(matches!(
        connector.suspend("812").await,
        Err(ConnectorError::Unsupported("suspend"))
    ));
    assert!(matches!(
        connector.reactivate("812").await,
        Err(ConnectorError::Unsupported("reactivate"))
    ));
}

#[tokio::test]
async fn delete_looks_again_after_an_unclear_refusal() {
    let server = MockServer::start().await;
    for id in ["7", "8"] {
        Mock::given(method("DELETE"))
            .and(path(format!("/api/v2/team/9001/user/{id}")))
            .respond_with(
                ResponseTemplate::new(400)
                    .set_body_json(json!({"err": "Cannot remove user", "ECODE": "TEAM_099"})),
            )
            .expect(1)
            .mount(&server)
            .await;
    }
    // The member list decides: 7 is gone; 8 is still there, so the refusal stands.
    Mock::given(method("GET"))
        .and(path("/api/v2/team"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"teams": [workspace(
                TEAM,
                vec![owner(), member(8, "h@example.com", 3, Some("1"))]
            )]})),
        )
        .expect(2)
        .mount(&server)
        .await;
    let (connector, _) = clickup(&server, TOKEN);
    connector.delete("7").await.unwrap();
    match connector.delete("8").await {
        Err(ConnectorError::Invalid(why)) => assert!(why.contains("TEAM_099"), "{why}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn get_answers_none_for_a_missing_user_a_guest_or_a_non_numeric_id() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/team/9001/user/404"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"err": "Not found", "ECODE": "X_404"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/team/9001/user/4"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"member": member(4, "guest@example.com", 4, Some("1"))})),
        )
        .mount(&server)
        .await;
    let (connector, _) = clickup(&server, TOKEN);
    assert_eq!(connector.get("404").await.unwrap(), None);
    assert_eq!(connector.get("4").await.unwrap(), None);
    assert_eq!(connector.get("../team").await.unwrap(), None);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn clickups_rate_limit_reset_header_is_waited_for() {
    let server = MockServer::start().await;
    // A reset within what a connector waits (a later one is handed back: see `waits`).
    let reset = (chrono::Utc::now() + chrono::Duration::seconds(8))
        .timestamp()
        .to_string();
    first_then(
        &server,
        || Mock::given(method("GET")).and(path("/api/v2/team")),
        ResponseTemplate::new(429)
            .insert_header("x-ratelimit-limit", "10000")
            .insert_header("x-ratelimit-remaining", "0")
            .insert_header("x-ratelimit-reset", reset.as_str())
            // ClickUp documents the status and headers, not the body.
            .set_body_json(json!({"err": "Rate limit reached"})),
        teams(vec![workspace(TEAM, vec![owner()])]),
    )
    .await;
    let (connector, sleeper) = clickup(&server, TOKEN);
    assert_eq!(connector.list(None).await.unwrap().accounts.len(), 1);
    let waits = sleeper.waits();
    assert_eq!(waits.len(), 1, "{waits:?}");
    assert!(
        waits[0] <= Duration::from_secs(8) && waits[0] >= Duration::from_secs(6),
        "{waits:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

/// The tenant is the Workspace as Get Authorized Workspaces lists it for the token.
#[tokio::test]
async fn the_tenant_is_the_workspace_the_token_sees() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/team"))
        .and(header("authorization", TOKEN))
        .respond_with(teams(vec![
            workspace("77", vec![owner()]),
            workspace(TEAM, vec![owner()]),
        ]))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = clickup(&server, TOKEN);
    assert_eq!(
        connector.tenant().await.unwrap(),
        prov_connectors::VendorTenant {
            id: TEAM.into(),
            name: format!("Workspace {TEAM}")
        }
    );
}
