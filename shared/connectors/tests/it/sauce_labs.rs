//! Sauce Labs: the Team Management API with HTTP Basic (an organization admin's username and
//! access key), against a wiremock data center. Requests are checked for the method, path
//! (with Sauce Labs' trailing slashes), query, `Authorization` header and JSON body Sauce Labs
//! documents.

use std::sync::Arc;
use std::time::Duration;

use prov_connectors::egress::EgressPolicy;
use prov_connectors::http::{HttpConfig, VendorHttp};
use prov_connectors::registry::{self, Secrets, Tenant};
use prov_connectors::{AccountStatus, Connector, ConnectorError, NewAccount};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{RecordingSleeper, api_key_connector, first_then};

const USERS: &str = "/team-management/v1/users/";
const ADMIN: &str = "acme-admin";
const KEY: &str = "test-access-key";
/// `Basic base64("acme-admin:test-access-key")`, written out so the encoding is checked too.
const BASIC: &str = "Basic YWNtZS1hZG1pbjp0ZXN0LWFjY2Vzcy1rZXk=";

fn tenant_of(data_center: &str, username: &str) -> Tenant {
    Tenant::from([
        ("data_center".to_owned(), data_center.to_owned()),
        ("username".to_owned(), username.to_owned()),
    ])
}

fn sauce_in(
    server: &MockServer,
    data_center: &str,
    username: &str,
    key: &str,
) -> (Box<dyn Connector>, Arc<RecordingSleeper>) {
    let host = format!("api.{data_center}.saucelabs.com");
    api_key_connector(
        server,
        "sauce_labs",
        &[host.as_str()],
        &[("data_center", data_center), ("username", username)],
        &[("access_key", key)],
    )
}

fn sauce(server: &MockServer) -> (Box<dyn Connector>, Arc<RecordingSleeper>) {
    sauce_in(server, "us-west-1", ADMIN, KEY)
}

fn user(id: &str, email: &str, active: bool) -> Value {
    json!({
        "id": id, "username": format!("user-{id}"), "email": email, "first_name": "Ada",
        "last_name": "Lovelace", "is_active": active, "teams": [], "roles": [{"name": "member", "role": 3}],
        "organization": {"id": "org1", "name": "Acme"}, "is_organization_admin": false, "is_team_admin": false
    })
}

fn page(users: Vec<Value>, count: usize, next: Option<&str>) -> Value {
    json!({"links": {"next": next, "previous": null, "first": null, "last": null}, "count": count, "results": users})
}

fn ada() -> NewAccount {
    NewAccount {
        email: "ada@example.com".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
    }
}

/// The organization's teams as "Get Teams" answers: each names the organization
/// (`org_uuid`), whose id a new user needs.
async fn teams(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/team-management/v1/teams/"))
        .and(header("authorization", BASIC))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "links": {}, "count": 1,
            "results": [{"id": "t1", "name": "Default", "settings": {"virtual_machines": 25, "real_devices": 0, "live_only": false},
                         "group": {}, "is_default": true, "org_uuid": "org1", "user_count": 3}]
        })))
        .mount(server)
        .await;
}

/// The JSON bodies of the POSTs to the users collection, in order.
async fn posted_users(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path() == USERS)
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

#[tokio::test]
async fn checks_want_a_known_data_center_and_usable_credentials() {
    let check = registry::spec("sauce_labs").unwrap().check;
    for dc in ["us-west-1", "us-east-4", "eu-central-1"] {
        assert!(check(&tenant_of(dc, ADMIN), "access_key", KEY).is_ok(), "{dc}");
    }
    assert!(check(&tenant_of("us-east-1", ADMIN), "access_key", KEY).is_err());
    assert!(check(&Tenant::new(), "access_key", KEY).is_err());
    for bad in ["", "acme:admin", "acme admin"] {
        assert!(
            check(&tenant_of("us-west-1", bad), "access_key", KEY).is_err(),
            "{bad:?}"
        );
    }
    assert!(check(&tenant_of("us-west-1", ADMIN), "access_key", " ").is_err());
}

#[tokio::test]
async fn verification_lists_one_user_on_the_chosen_data_center_with_basic_auth() {
    let eu = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("limit", "1"))
        .and(header("authorization", BASIC))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            vec![user("u1", "a@example.com", true)],
            7,
            Some("https://api.eu-central-1.saucelabs.com/team-management/v1/users/?limit=1&offset=1"),
        )))
        .expect(1)
        .mount(&eu)
        .await;
    let policy = EgressPolicy::sandbox()
        .route("api.eu-central-1.saucelabs.com", &eu.uri())
        .unwrap()
        .route("api.us-west-1.saucelabs.com", &elsewhere.uri())
        .unwrap()
        .route("api.us-east-4.saucelabs.com", &elsewhere.uri())
        .unwrap();
    let http = Arc::new(VendorHttp::with_sleeper(
        policy,
        HttpConfig::default(),
        Arc::new(RecordingSleeper::default()),
    ));
    let spec = registry::spec("sauce_labs").unwrap();
    let tenant = tenant_of("eu-central-1", ADMIN);
    let secrets = Secrets::from([("access_key".to_owned(), SecretString::from(KEY))]);
    let auth = spec
        .api_key_authenticator(http.clone(), "com_1", &tenant, &secrets)
        .unwrap();
    spec.connector(http, "com_1", &tenant, auth)
        .unwrap()
        .verify()
        .await
        .unwrap();
    assert!(
        elsewhere.received_requests().await.unwrap().is_empty(),
        "the data center picks the host"
    );
}

#[tokio::test]
async fn a_wrong_access_key_is_refused_at_verification() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"detail": "Invalid username/password."})),
        )
        .mount(&server)
        .await;
    let (connector, _) = sauce_in(&server, "us-west-1", ADMIN, "wrong-key");
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => {
            assert!(why.contains("Invalid username/password"), "{why}");
            assert!(!why.contains("wrong-key"), "{why}");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn a_user_who_is_not_an_organization_admin_is_refused_at_verification() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"detail": "You do not have permission to perform this action."})),
        )
        .mount(&server)
        .await;
    let (connector, _) = sauce(&server);
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => assert!(why.contains("organization admin"), "{why}"),
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn users_page_by_limit_and_offset_and_deactivated_users_read_as_suspended() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("limit", "100"))
        .and(query_param("offset", "0"))
        .and(header("authorization", BASIC))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            vec![
                user("u1", "a@example.com", true),
                user("u2", "b@example.com", false),
            ],
            3,
            Some("https://api.us-west-1.saucelabs.com/team-management/v1/users/?limit=100&offset=2"),
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("limit", "100"))
        .and(query_param("offset", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            vec![user("u3", "c@example.com", true)],
            3,
            None,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = sauce(&server);
    let first = connector.list(None).await.unwrap();
    let statuses: Vec<_> = first.accounts.iter().map(|a| a.status).collect();
    // "Deactivate a User: Suspends the specified user's account".
    assert_eq!(statuses, [AccountStatus::Active, AccountStatus::Suspended]);
    assert_eq!(first.accounts[0].email.as_deref(), Some("a@example.com"));
    assert_eq!(first.next.as_deref(), Some("2"));
    let second = connector.list(first.next.as_deref()).await.unwrap();
    assert_eq!(second.accounts[0].id, "u3");
    assert_eq!(second.next, None);
}

#[tokio::test]
async fn find_by_email_searches_the_phrase_and_matches_the_whole_email() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("phrase", "ada@example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            vec![
                user("u7", "ada@example.com.au", true),
                user("u8", "ADA@example.com", true),
            ],
            2,
            None,
        )))
        .mount(&server)
        .await;
    let (connector, _) = sauce(&server);
    let found = connector.find_by_email("ada@example.com").await.unwrap().unwrap();
    assert_eq!(found.id, "u8");
}

#[tokio::test]
async fn create_posts_a_member_with_a_derived_username_and_a_strong_password() {
    let server = MockServer::start().await;
    teams(&server).await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("phrase", "ada@example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(vec![], 0, None)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(USERS))
        .and(header("authorization", BASIC))
        .and(header("content-type", "application/json"))
        .and(body_partial_json(json!({
            "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
            "username": "ada-example", "organization": "org1", "role": 3
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(user("u9", "ada@example.com", true)))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = sauce(&server);
    let created = connector.create(&ada()).await.unwrap();
    assert_eq!(created.id, "u9");
    assert_eq!(
        created.status,
        AccountStatus::Active,
        "Sauce Labs sends no invitation"
    );
    let body = posted_users(&server).await.remove(0);
    let mut fields: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "email",
            "first_name",
            "last_name",
            "organization",
            "password",
            "role",
            "username"
        ],
        "the parameter table's required fields; no team (optional)"
    );
    let password = body["password"].as_str().unwrap();
    assert!(password.len() >= 8 && !password.contains(' '));
    assert!(password.chars().any(|c| c.is_ascii_lowercase()));
    assert!(password.chars().any(|c| c.is_ascii_uppercase()));
    assert!(password.chars().any(|c| c.is_ascii_digit()));
    assert!(password.chars().any(|c| !c.is_ascii_alphanumeric()));
    assert!(!format!("{created:?}").contains(password));
}

#[tokio::test]
async fn create_of_an_existing_email_returns_that_user_without_posting() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("phrase", "ada@example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            vec![user("u5", "ada@example.com", true)],
            1,
            None,
        )))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = sauce(&server);
    let found = connector.create(&ada()).await.unwrap();
    assert_eq!((found.id.as_str(), found.status), ("u5", AccountStatus::Active));
}

#[tokio::test]
async fn create_when_the_email_is_taken_meanwhile_returns_that_user() {
    let server = MockServer::start().await;
    teams(&server).await;
    // The first lookup misses (an earlier attempt is creating it), the POST says the email
    // exists, the second lookup finds it.
    first_then(
        &server,
        || {
            Mock::given(method("GET"))
                .and(path(USERS))
                .and(query_param("phrase", "ada@example.com"))
        },
        ResponseTemplate::new(200).set_body_json(page(vec![], 0, None)),
        ResponseTemplate::new(200).set_body_json(page(vec![user("u5", "ada@example.com", true)], 1, None)),
    )
    .await;
    Mock::given(method("POST"))
        .and(path(USERS))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"email": ["user with this email already exists."]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = sauce(&server);
    assert_eq!(connector.create(&ada()).await.unwrap().id, "u5");
}

#[tokio::test]
async fn a_username_taken_elsewhere_is_retried_with_the_emails_hash() {
    let server = MockServer::start().await;
    teams(&server).await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(vec![], 0, None)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(USERS))
        .and(body_partial_json(json!({"username": "ada-example"})))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"username": ["A user with that username already exists."]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(USERS))
        .respond_with(ResponseTemplate::new(201).set_body_json(user("u9", "ada@example.com", true)))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = sauce(&server);
    assert_eq!(connector.create(&ada()).await.unwrap().id, "u9");
    let posted = posted_users(&server).await;
    let second = posted[1]["username"].as_str().unwrap();
    assert!(
        second.starts_with("ada-example-") && second.len() == "ada-example-".len() + 6,
        "{second}"
    );
    assert_eq!(
        posted[0]["password"], posted[1]["password"],
        "one password per create"
    );
}

#[tokio::test]
async fn a_refused_create_says_why_without_the_password() {
    let server = MockServer::start().await;
    teams(&server).await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(vec![], 0, None)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(USERS))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"status_code": 400, "first_name": ["This field may not be blank."]})),
        )
        .mount(&server)
        .await;
    let (connector, _) = sauce(&server);
    match connector.create(&ada()).await {
        Err(ConnectorError::Invalid(why)) => {
            assert_eq!(why, "first_name: This field may not be blank.")
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn sauce_labs_has_no_pending_invitations_users_are_active_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/team-management/v1/users/u9/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("u9", "ada@example.com", true)))
        .mount(&server)
        .await;
    let (connector, _) = sauce(&server);
    let caps = connector.capabilities();
    assert!(!caps.shows_invites);
    assert!(caps.create && caps.delete && caps.suspend && caps.reactivate);
    assert_eq!(
        connector.get("u9").await.unwrap().unwrap().status,
        AccountStatus::Active
    );
}

#[tokio::test]
async fn suspend_deactivates_and_reactivate_activates() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/team-management/v1/users/u9/deactivate/"))
        .and(header("authorization", BASIC))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("u9", "ada@example.com", false)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/team-management/v1/users/u9/activate/"))
        .and(header("authorization", BASIC))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("u9", "ada@example.com", true)))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = sauce(&server);
    assert_eq!(
        connector.suspend("u9").await.unwrap().status,
        AccountStatus::Suspended
    );
    assert_eq!(
        connector.reactivate("u9").await.unwrap().status,
        AccountStatus::Active
    );
}

#[tokio::test]
async fn create_for_a_deactivated_user_activates_that_user() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("phrase", "ada@example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            vec![user("u5", "ada@example.com", false)],
            1,
            None,
        )))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/team-management/v1/users/u5/activate/"))
        .and(header("authorization", BASIC))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("u5", "ada@example.com", true)))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = sauce(&server);
    let back = connector.create(&ada()).await.unwrap();
    assert_eq!((back.id.as_str(), back.status), ("u5", AccountStatus::Active));
    assert!(posted_users(&server).await.is_empty(), "no second user");
}

#[tokio::test]
async fn delete_deactivates_the_user() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/team-management/v1/users/u1/deactivate/"))
        .and(header("authorization", BASIC))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("u1", "a@example.com", false)))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = sauce(&server);
    connector.delete("u1").await.unwrap();
}

#[tokio::test]
async fn delete_of_a_missing_user_is_done() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/team-management/v1/users/u404/deactivate/"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"detail": "Not found."})))
        .expect(1)
        .mount(&server)
        .await;
    // Gone is what the user's own resource says.
    Mock::given(method("GET"))
        .and(path("/team-management/v1/users/u404/"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"detail": "Not found."})))
        .expect(1)
        .mount(&server)
        .await;
    // A 404 from the action while the user is still there is no removal.
    Mock::given(method("POST"))
        .and(path("/team-management/v1/users/u7/deactivate/"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"detail": "Not found."})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/team-management/v1/users/u7/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("u7", "g@example.com", true)))
        .mount(&server)
        .await;
    let (connector, _) = sauce(&server);
    connector.delete("u404").await.unwrap();
    assert!(matches!(
        connector.delete("u7").await,
        Err(ConnectorError::Invalid(why)) if why.contains("still")
    ));
}

#[tokio::test]
async fn delete_of_a_user_already_deactivated_is_done() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/team-management/v1/users/u2/deactivate/"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"detail": "User is already inactive."})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/team-management/v1/users/u2/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("u2", "b@example.com", false)))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = sauce(&server);
    connector.delete("u2").await.unwrap();
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_for_then_retried() {
    let server = MockServer::start().await;
    first_then(
        &server,
        || {
            Mock::given(method("GET"))
                .and(path(USERS))
                .and(query_param("offset", "0"))
        },
        ResponseTemplate::new(429)
            .insert_header("retry-after", "7")
            .set_body_json(json!({"detail": "Request was throttled."})),
        ResponseTemplate::new(200).set_body_json(page(vec![user("u1", "a@example.com", true)], 1, None)),
    )
    .await;
    let (connector, sleeper) = sauce(&server);
    let listed = connector.list(None).await.unwrap();
    assert_eq!(listed.accounts.len(), 1);
    assert_eq!(sleeper.waits(), [Duration::from_secs(7)]);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

/// The tenant is the organization (its teams' `org_uuid`) in the connection's data center.
#[tokio::test]
async fn the_tenant_is_the_organization_in_its_data_center() {
    let server = MockServer::start().await;
    teams(&server).await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(header("authorization", BASIC))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(vec![], 0, None)))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = sauce(&server);
    connector.verify().await.unwrap();
    assert_eq!(connector.tenant().await.unwrap().id, "us-west-1/org1");
}
