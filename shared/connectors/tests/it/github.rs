//! GitHub: OAuth (authorize with PKCE, the token exchange) and an organization's members and
//! invitations through the REST API, against a wiremock GitHub. Requests are checked for the
//! method, path, query, headers and body GitHub documents.

use std::sync::Arc;
use std::time::Duration;

use prov_connectors::oauth::{self, CodeGrant, OAuthClientConfig};
use prov_connectors::registry::{self, Tenant};
use prov_connectors::{AccountStatus, Connector, ConnectorError, NewAccount};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{RecordingSleeper, authorize_in_production, first_then, oauth_connector, vendor_http};

const HOSTS: &[&str] = &["github.com", "api.github.com"];
const ORG: &str = "acme";
const TOKEN: &str = "gh-test-token";

/// The connector with the organization found from the token's memberships.
fn github(server: &MockServer) -> (Box<dyn Connector>, Arc<RecordingSleeper>) {
    oauth_connector(server, "github", HOSTS, TOKEN)
}

/// The connector of a connection that names its organization.
fn github_of(server: &MockServer, org: &str) -> (Box<dyn Connector>, Arc<RecordingSleeper>) {
    let (http, sleeper) = vendor_http(server, HOSTS);
    let spec = registry::spec("github").unwrap();
    let tenant = Tenant::from([("org".to_owned(), org.to_owned())]);
    let auth = Arc::new(prov_connectors::http::StaticAuth::bearer(&SecretString::from(
        TOKEN,
    )));
    (spec.connector(http, "com_1", &tenant, auth).unwrap(), sleeper)
}

fn client() -> OAuthClientConfig {
    OAuthClientConfig {
        client_id: "gh-client".into(),
        client_secret: SecretString::from("gh-secret"),
    }
}

fn ada() -> NewAccount {
    NewAccount {
        email: "ada@example.com".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
    }
}

fn membership(org: &str, role: &str) -> Value {
    json!({"url": format!("https://api.github.com/orgs/{org}/memberships/owner"), "state": "active", "role": role,
           "organization_url": format!("https://api.github.com/orgs/{org}"),
           "organization": {"login": org, "id": 1}, "user": {"login": "owner", "id": 9}})
}

fn member(login: &str) -> Value {
    json!({"login": login, "id": 1, "type": "User", "site_admin": false})
}

fn invitation(id: u64, login: Option<&str>, email: Option<&str>) -> Value {
    json!({"id": id, "login": login, "email": email, "role": "direct_member",
           "created_at": "2025-01-01T00:00:00Z", "failed_at": null, "failed_reason": null,
           "inviter": {"login": "owner", "id": 9}, "team_count": 0, "invitation_source": "member"})
}

/// `Link` to a next page of `listing` on `host`.
fn next_link(host: &str, listing: &str, page: u32) -> String {
    format!(
        "<https://{host}/organizations/1/{listing}?per_page=100&page={page}>; rel=\"next\", <https://{host}/organizations/1/{listing}?per_page=100&page=9>; rel=\"last\""
    )
}

/// The token's user owns `orgs` (and is a plain member of `other`).
async fn owns(server: &MockServer, orgs: &[&str]) {
    let mut memberships: Vec<Value> = orgs.iter().map(|o| membership(o, "admin")).collect();
    memberships.push(membership("other", "member"));
    Mock::given(method("GET"))
        .and(path("/user/memberships/orgs"))
        .and(query_param("state", "active"))
        .and(query_param("per_page", "100"))
        .and(header("authorization", "Bearer gh-test-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(memberships))
        .expect(1)
        .mount(server)
        .await;
}

/// The token's user's own membership of `org` (`GET /user/memberships/orgs/{org}`).
async fn membership_of(server: &MockServer, org: &str, role: &str, state: &str) {
    let mut answer = membership(org, role);
    answer["state"] = json!(state);
    Mock::given(method("GET"))
        .and(path(format!("/user/memberships/orgs/{org}")))
        .and(header("authorization", "Bearer gh-test-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .expect(1)
        .mount(server)
        .await;
}

async fn listing(server: &MockServer, listing: &str, page: &str, body: Value, link: Option<String>) {
    let mut answer = ResponseTemplate::new(200).set_body_json(body);
    if let Some(link) = link {
        answer = answer.insert_header("link", link.as_str());
    }
    Mock::given(method("GET"))
        .and(path(format!("/orgs/{ORG}/{listing}")))
        .and(query_param("per_page", "100"))
        .and(query_param("page", page))
        .respond_with(answer)
        .mount(server)
        .await;
}

/// Every request carried GitHub's media type (once), the API version and the bearer token.
async fn every_call_had_githubs_headers(server: &MockServer) {
    let requests = server.received_requests().await.unwrap();
    assert!(!requests.is_empty());
    for request in requests {
        let all = |name: &str| -> Vec<String> {
            request
                .headers
                .get_all(name)
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect()
        };
        let what = format!("{} {}", request.method, request.url);
        assert_eq!(all("accept"), ["application/vnd.github+json"], "{what}");
        assert_eq!(all("x-github-api-version"), ["2022-11-28"], "{what}");
        assert_eq!(all("authorization"), ["Bearer gh-test-token"], "{what}");
    }
}

#[tokio::test]
async fn authorization_asks_for_admin_org_with_pkce_on_github_com() {
    let (url, query, state) = authorize_in_production("github", &client());
    assert_eq!(url.scheme(), "https");
    assert_eq!(url.host_str(), Some("github.com"));
    assert_eq!(url.path(), "/login/oauth/authorize");
    assert_eq!(query["client_id"], "gh-client");
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["scope"], "admin:org");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["code_challenge"].len(), 43);
    assert_eq!(query["allow_signup"], "false");
    assert_eq!(query["state"], state);
}

#[tokio::test]
async fn the_code_exchange_sends_the_client_in_the_body_and_gets_a_token_that_never_expires() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/login/oauth/access_token"))
        .and(header("accept", "application/json"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("client_id=gh-client"))
        .and(body_string_contains("client_secret=gh-secret"))
        .and(body_string_contains("code=the-code"))
        .and(body_string_contains(format!("code_verifier={}", "v".repeat(43))))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "gho_test_access", "scope": "admin:org", "token_type": "bearer"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (http, _) = vendor_http(&server, HOSTS);
    let spec = registry::spec("github").unwrap();
    let verifier = SecretString::from("v".repeat(43));
    let grant = CodeGrant {
        redirect: "https://api.example.test/v1/oauth/callback",
        code: "the-code",
        verifier: &verifier,
        environment: None,
    };
    let tokens = oauth::exchange_code(http, spec, "com_1", &client(), grant, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(tokens.access_token.expose_secret(), "gho_test_access");
    assert!(tokens.refresh_token.is_none());
    assert_eq!(tokens.expires_at, None);
    assert_eq!(tokens.scope.as_deref(), Some("admin:org"));
}

#[tokio::test]
async fn a_refused_code_answered_with_http_200_is_a_refusal_not_a_parse_failure() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/login/oauth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "error": "bad_verification_code", "error_description": "The code passed is incorrect or expired.",
            "error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code"
        })))
        .mount(&server)
        .await;
    let (http, _) = vendor_http(&server, HOSTS);
    let verifier = SecretString::from("v".repeat(43));
    let grant = CodeGrant {
        redirect: "https://api.example.test/v1/oauth/callback",
        code: "stale",
        verifier: &verifier,
        environment: None,
    };
    let spec = registry::spec("github").unwrap();
    match oauth::exchange_code(http, spec, "com_1", &client(), grant, chrono::Utc::now()).await {
        Err(ConnectorError::Unauthorized(why)) => assert!(why.contains("bad_verification_code"), "{why}"),
        other => panic!("expected the refusal, got {:?}", other.err()),
    }
}

#[tokio::test]
async fn verify_finds_the_one_owned_organization_and_reads_a_member_with_githubs_headers() {
    let server = MockServer::start().await;
    owns(&server, &[ORG]).await;
    membership_of(&server, ORG, "admin", "active").await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/members"))
        .and(query_param("per_page", "1"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-oauth-scopes", "admin:org, repo")
                .set_body_json(json!([member("octocat")])),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = github(&server);
    connector.verify().await.unwrap();
    every_call_had_githubs_headers(&server).await;
}

#[tokio::test]
async fn a_token_without_admin_org_fails_verification() {
    let server = MockServer::start().await;
    owns(&server, &[ORG]).await;
    membership_of(&server, ORG, "admin", "active").await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/members"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-oauth-scopes", "read:org")
                .set_body_json(json!([])),
        )
        .mount(&server)
        .await;
    let (connector, _) = github(&server);
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => assert!(why.contains("admin:org"), "{why}"),
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn a_revoked_token_fails_verification() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/user/memberships/orgs"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = github(&server);
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => assert!(why.contains("Bad credentials"), "{why}"),
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn owning_no_organization_is_refused_at_connect() {
    let server = MockServer::start().await;
    owns(&server, &[]).await;
    let (connector, _) = github(&server);
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => assert!(why.contains("must be an owner"), "{why}"),
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn owning_several_organizations_is_refused_naming_them() {
    let server = MockServer::start().await;
    owns(&server, &["acme", "acme-labs"]).await;
    let (connector, _) = github(&server);
    match connector.verify().await {
        Err(ConnectorError::Invalid(why)) => {
            assert!(why.contains("acme, acme-labs"), "{why}");
            assert!(!why.contains("other"), "{why}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn a_named_organization_is_used_without_discovery_and_a_hidden_one_is_unauthorized() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/user/memberships/orgs/ghost"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "message": "Not Found", "documentation_url": "https://docs.github.com/rest/orgs/members#get-an-organization-membership-for-the-authenticated-user", "status": "404"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = github_of(&server, "ghost");
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => assert!(why.contains("`ghost`"), "{why}"),
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    // The named organization is checked; no discovery of the token's memberships.
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].url.path(), "/user/memberships/orgs/ghost");
    let spec = registry::spec("github").unwrap();
    let (http, _) = vendor_http(&server, HOSTS);
    let auth = Arc::new(prov_connectors::http::StaticAuth::bearer(&SecretString::from(
        TOKEN,
    )));
    for bad in ["../user", "acme/x", "-acme", "a b"] {
        let tenant = Tenant::from([("org".to_owned(), bad.to_owned())]);
        assert!(
            spec.connector(http.clone(), "com_1", &tenant, auth.clone())
                .is_err(),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn a_member_who_does_not_own_the_named_organization_is_refused_at_connect() {
    let server = MockServer::start().await;
    membership_of(&server, "acme", "member", "active").await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/members"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-oauth-scopes", "admin:org")
                .set_body_json(json!([member("octocat")])),
        )
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = github_of(&server, "acme");
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => {
            assert!(why.contains("not an owner") && why.contains("`acme`"), "{why}")
        }
        other => panic!("a non-owner is refused: {other:?}"),
    }
    // A pending owner (invited, not accepted) is no owner yet either.
    let server = MockServer::start().await;
    membership_of(&server, "acme", "admin", "pending").await;
    let (connector, _) = github_of(&server, "acme");
    assert!(matches!(
        connector.verify().await,
        Err(ConnectorError::Unauthorized(why)) if why.contains("pending")
    ));
}

#[tokio::test]
async fn a_discovery_refused_as_not_found_names_no_empty_organization() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/user/memberships/orgs"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .mount(&server)
        .await;
    let (connector, _) = github(&server);
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => assert!(!why.contains("``"), "{why}"),
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn the_listing_walks_two_pages_of_members_then_the_pending_invitations() {
    let server = MockServer::start().await;
    owns(&server, &[ORG]).await;
    listing(
        &server,
        "members",
        "1",
        json!([member("octocat"), member("hubot")]),
        Some(next_link("api.github.com", "members", 2)),
    )
    .await;
    listing(&server, "members", "2", json!([member("monalisa")]), None).await;
    listing(
        &server,
        "invitations",
        "1",
        json!([
            invitation(7, None, Some("ada@example.com")),
            invitation(8, Some("grace"), Some("grace@example.com"))
        ]),
        Some(next_link("api.github.com", "invitations", 2)),
    )
    .await;
    listing(
        &server,
        "invitations",
        "2",
        json!([invitation(9, Some("linus"), None)]),
        None,
    )
    .await;
    let (connector, _) = github(&server);

    let first = connector.list(None).await.unwrap();
    let logins: Vec<&str> = first.accounts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(logins, ["octocat", "hubot"]);
    let octocat = &first.accounts[0];
    assert_eq!(octocat.status, AccountStatus::Active);
    assert_eq!(octocat.email, None);
    assert_eq!(octocat.display_name.as_deref(), Some("octocat"));
    assert_eq!(first.next.as_deref(), Some("m:2"));

    let second = connector.list(first.next.as_deref()).await.unwrap();
    assert_eq!(second.accounts[0].id, "monalisa");
    assert_eq!(second.next.as_deref(), Some("i:1"));

    let third = connector.list(second.next.as_deref()).await.unwrap();
    let ids: Vec<&str> = third.accounts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["invitation:7", "grace"]);
    assert!(
        third
            .accounts
            .iter()
            .all(|a| a.status == AccountStatus::InviteSent)
    );
    assert_eq!(third.accounts[0].email.as_deref(), Some("ada@example.com"));
    assert_eq!(third.next.as_deref(), Some("i:2"));

    let fourth = connector.list(third.next.as_deref()).await.unwrap();
    assert_eq!(fourth.accounts[0].id, "linus");
    assert_eq!(fourth.next, None);
    every_call_had_githubs_headers(&server).await;
}

#[tokio::test]
async fn a_next_link_off_api_github_com_is_not_followed() {
    let server = MockServer::start().await;
    owns(&server, &[ORG]).await;
    listing(
        &server,
        "members",
        "1",
        json!([member("octocat")]),
        Some(next_link("api.github.com.evil.example", "members", 2)),
    )
    .await;
    let (connector, _) = github(&server);
    match connector.list(None).await {
        Err(ConnectorError::Invalid(why)) => assert!(why.contains("not followed"), "{why}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    // Only the memberships and the first page were asked for.
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn find_by_email_searches_the_pending_invitations_case_insensitively() {
    let server = MockServer::start().await;
    owns(&server, &[ORG]).await;
    listing(
        &server,
        "invitations",
        "1",
        json!([invitation(7, None, Some("grace@example.com"))]),
        Some(next_link("api.github.com", "invitations", 2)),
    )
    .await;
    listing(
        &server,
        "invitations",
        "2",
        json!([invitation(8, None, Some("Ada@Example.com"))]),
        None,
    )
    .await;
    let (connector, _) = github(&server);
    let found = connector.find_by_email("ada@example.com").await.unwrap().unwrap();
    assert_eq!(found.id, "invitation:8");
    assert_eq!(found.status, AccountStatus::InviteSent);
    // Members cannot be found by email: GitHub does not show it.
    assert_eq!(connector.find_by_email("nobody@example.com").await.unwrap(), None);
}

#[tokio::test]
async fn create_invites_the_email_as_a_direct_member_and_is_pending() {
    let server = MockServer::start().await;
    owns(&server, &[ORG]).await;
    listing(&server, "invitations", "1", json!([]), None).await;
    Mock::given(method("POST"))
        .and(path("/orgs/acme/invitations"))
        .and(header("content-type", "application/json"))
        .and(body_json(
            json!({"email": "ada@example.com", "role": "direct_member"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(invitation(42, None, Some("ada@example.com"))))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = github(&server);
    let account = connector.create(&ada()).await.unwrap();
    assert_eq!(account.id, "invitation:42");
    assert_eq!(account.email.as_deref(), Some("ada@example.com"));
    assert_eq!(account.status, AccountStatus::InviteSent);
    every_call_had_githubs_headers(&server).await;
}

#[tokio::test]
async fn create_of_someone_already_invited_returns_that_invitation() {
    let server = MockServer::start().await;
    owns(&server, &[ORG]).await;
    // Not there at the first look, invited meanwhile (an earlier attempt): GitHub says 422.
    first_then(
        &server,
        || {
            Mock::given(method("GET"))
                .and(path("/orgs/acme/invitations"))
                .and(query_param("page", "1"))
        },
        ResponseTemplate::new(200).set_body_json(json!([])),
        ResponseTemplate::new(200).set_body_json(json!([invitation(
            42,
            Some("ada-l"),
            Some("ada@example.com")
        )])),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/orgs/acme/invitations"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "message": "Validation Failed",
            "errors": [{"resource": "OrganizationInvitation", "code": "unprocessable", "field": "data",
                        "message": "Invitee is already invited"}],
            "documentation_url": "https://docs.github.com/rest/orgs/members#create-an-organization-invitation",
            "status": "422"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = github(&server);
    let account = connector.create(&ada()).await.unwrap();
    // The invitee has a GitHub account: the invitation is known by their login.
    assert_eq!(account.id, "ada-l");
    assert_eq!(account.status, AccountStatus::InviteSent);
}

#[tokio::test]
async fn create_of_an_existing_member_is_a_conflict_to_match_by_hand() {
    let server = MockServer::start().await;
    owns(&server, &[ORG]).await;
    listing(&server, "invitations", "1", json!([]), None).await;
    Mock::given(method("POST"))
        .and(path("/orgs/acme/invitations"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "message": "Validation Failed",
            "errors": [{"resource": "OrganizationInvitation", "code": "unprocessable", "field": "data",
                        "message": "A user with this email addresss is already a part of this organization"}],
            "documentation_url": "https://docs.github.com/rest/orgs/members#create-an-organization-invitation",
            "status": "422"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = github(&server);
    match connector.create(&ada()).await {
        Err(ConnectorError::Conflict(why)) => {
            assert!(why.contains("already a part of this organization"), "{why}");
            assert!(why.contains("GitHub login"), "{why}");
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn get_of_an_invitation_id_is_pending_failed_or_gone() {
    let server = MockServer::start().await;
    owns(&server, &[ORG]).await;
    listing(
        &server,
        "invitations",
        "1",
        json!([invitation(7, None, Some("ada@example.com"))]),
        None,
    )
    .await;
    let mut failed = invitation(8, None, Some("bob@example.com"));
    failed["failed_at"] = json!("2025-02-01T00:00:00Z");
    failed["failed_reason"] = json!("Invitation expired");
    listing(&server, "failed_invitations", "1", json!([failed]), None).await;
    let (connector, _) = github(&server);

    let pending = connector.get("invitation:7").await.unwrap().unwrap();
    assert_eq!(pending.status, AccountStatus::InviteSent);
    assert_eq!(pending.email.as_deref(), Some("ada@example.com"));
    let expired = connector.get("invitation:8").await.unwrap().unwrap();
    assert_eq!(expired.status, AccountStatus::Deleted);
    // Accepted or cancelled: the person, if they joined, is a member under their login.
    assert_eq!(connector.get("invitation:9").await.unwrap(), None);
    assert!(connector.get("invitation:x").await.is_err());
}

#[tokio::test]
async fn get_of_a_login_reads_the_membership_active_or_pending() {
    let server = MockServer::start().await;
    owns(&server, &[ORG]).await;
    let mut active = membership(ORG, "member");
    active["user"] = json!({"login": "octocat"});
    let mut pending = active.clone();
    pending["state"] = json!("pending");
    for (login, answer) in [("octocat", active), ("grace", pending)] {
        Mock::given(method("GET"))
            .and(path(format!("/orgs/acme/memberships/{login}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/orgs/acme/memberships/gone"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .mount(&server)
        .await;
    let (connector, _) = github(&server);
    let octocat = connector.get("octocat").await.unwrap().unwrap();
    assert_eq!(
        (octocat.id.as_str(), octocat.status),
        ("octocat", AccountStatus::Active)
    );
    let grace = connector.get("grace").await.unwrap().unwrap();
    assert_eq!(grace.status, AccountStatus::InviteSent);
    assert_eq!(connector.get("gone").await.unwrap(), None);
    // Not a login: never put in a path.
    assert!(connector.get("../../user").await.is_err());
    every_call_had_githubs_headers(&server).await;
}

#[tokio::test]
async fn delete_of_a_login_removes_the_membership_and_a_missing_one_is_done() {
    let server = MockServer::start().await;
    owns(&server, &[ORG]).await;
    Mock::given(method("DELETE"))
        .and(path("/orgs/acme/memberships/octocat"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/orgs/acme/memberships/gone"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = github(&server);
    connector.delete("octocat").await.unwrap();
    connector.delete("gone").await.unwrap();
    every_call_had_githubs_headers(&server).await;
}

#[tokio::test]
async fn delete_of_an_invitation_id_cancels_it_and_a_missing_one_is_done() {
    let server = MockServer::start().await;
    owns(&server, &[ORG]).await;
    Mock::given(method("DELETE"))
        .and(path("/orgs/acme/invitations/42"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/orgs/acme/invitations/43"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = github(&server);
    connector.delete("invitation:42").await.unwrap();
    connector.delete("invitation:43").await.unwrap();
}

#[tokio::test]
async fn suspend_is_not_supported() {
    let server = MockServer::start().await;
    let (connector, _) = github(&server);
    assert!(!connector.capabilities().suspend);
    assert!(matches!(
        connector.suspend("octocat").await,
        Err(ConnectorError::Unsupported(_))
    ));
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_403_with_no_requests_remaining_waits_for_the_reset_and_retries() {
    let server = MockServer::start().await;
    // A reset within what a connector waits (a later one is handed back: see `waits`).
    let reset = (chrono::Utc::now() + chrono::Duration::seconds(8))
        .timestamp()
        .to_string();
    first_then(
        &server,
        || Mock::given(method("GET")).and(path("/orgs/acme/memberships/octocat")),
        ResponseTemplate::new(403)
            .insert_header("x-ratelimit-limit", "5000")
            .insert_header("x-ratelimit-remaining", "0")
            .insert_header("x-ratelimit-reset", reset.as_str())
            .set_body_json(json!({
                "message": "API rate limit exceeded for user ID 1.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
            })),
        ResponseTemplate::new(200).set_body_json(membership(ORG, "member")),
    )
    .await;
    let (connector, sleeper) = github_of(&server, ORG);
    assert!(connector.get("octocat").await.unwrap().is_some());
    let waits = sleeper.waits();
    assert_eq!(waits.len(), 1, "{waits:?}");
    assert!(
        waits[0] <= Duration::from_secs(8) && waits[0] >= Duration::from_secs(6),
        "{waits:?}"
    );
}

#[tokio::test]
async fn a_secondary_limit_429_waits_as_told() {
    let server = MockServer::start().await;
    first_then(
        &server,
        || Mock::given(method("DELETE")).and(path("/orgs/acme/memberships/octocat")),
        ResponseTemplate::new(429)
            .insert_header("retry-after", "7")
            .set_body_json(json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."})),
        ResponseTemplate::new(204),
    )
    .await;
    let (connector, sleeper) = github_of(&server, ORG);
    connector.delete("octocat").await.unwrap();
    assert_eq!(sleeper.waits(), [Duration::from_secs(7)]);
}

#[tokio::test]
async fn a_403_from_a_non_owner_is_unauthorized_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/orgs/acme/invitations"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "message": "You must be an admin to create an invitation to an organization.",
            "documentation_url": "https://docs.github.com/rest/orgs/members#create-an-organization-invitation",
            "status": "403"
        })))
        .expect(1)
        .mount(&server)
        .await;
    listing(&server, "invitations", "1", json!([]), None).await;
    let (connector, sleeper) = github_of(&server, ORG);
    match connector.create(&ada()).await {
        Err(ConnectorError::Unauthorized(why)) => assert!(why.contains("owner"), "{why}"),
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn an_organization_restricting_oauth_apps_says_an_owner_must_approve() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/members"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "message": "Although you appear to have the correct authorization credentials, the `acme` organization has enabled OAuth App access restrictions, meaning that data access to third-parties is limited.",
            "documentation_url": "https://docs.github.com/articles/restricting-access-to-your-organization-s-data/"
        })))
        .mount(&server)
        .await;
    membership_of(&server, ORG, "admin", "active").await;
    let (connector, _) = github_of(&server, ORG);
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => assert!(why.contains("must approve"), "{why}"),
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

/// The tenant is the organization's numeric id (`GET /orgs/{org}`), which a rename keeps.
#[tokio::test]
async fn the_tenant_is_the_organization_by_its_id() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/orgs/{ORG}")))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"login": ORG, "id": 1234567, "name": "Acme Inc"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = github_of(&server, ORG);
    assert_eq!(
        connector.tenant().await.unwrap(),
        prov_connectors::VendorTenant {
            id: "1234567".into(),
            name: ORG.into()
        }
    );
}
