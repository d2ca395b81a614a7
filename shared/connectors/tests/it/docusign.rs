//! DocuSign: OAuth (production and demo), the account found through `/oauth/userinfo`, and the
//! eSignature REST API's users, against wiremock. Requests are checked for the method, path,
//! query, headers and body DocuSign documents.

use std::sync::Arc;
use std::time::Duration;

use prov_connectors::oauth::{self, CodeGrant, OAuthClientConfig};
use prov_connectors::registry::{self, Tenant};
use prov_connectors::{AccountStatus, Connector, ConnectorError, NewAccount};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{RecordingSleeper, first_then, vendor_http};

const ACCOUNT: &str = "a4ec37d6-0000-4000-8000-143885c1a001";
const OTHER_ACCOUNT: &str = "b5fd48e7-0000-4000-8000-254996d2b002";
const USERS: &str = "/restapi/v2.1/accounts/a4ec37d6-0000-4000-8000-143885c1a001/users";
const LISTED: &str = "ActivationRequired,ActivationSent,Active,Disabled";
const TOKEN: &str = "ds-access-token";

fn client() -> OAuthClientConfig {
    OAuthClientConfig {
        client_id: "ds-integration-key".into(),
        client_secret: SecretString::from("ds-secret"),
    }
}

/// The registry's DocuSign connector with `tenant` details: the production hosts (and
/// `na3.docusign.net`) go to `server`; the demo ones to `elsewhere`, which must not be called.
fn docusign_with(
    server: &MockServer,
    elsewhere: &MockServer,
    tenant: &[(&str, &str)],
    token: &str,
) -> (Box<dyn Connector>, Arc<RecordingSleeper>) {
    use prov_connectors::egress::EgressPolicy;
    use prov_connectors::http::{HttpConfig, StaticAuth, VendorHttp};
    let demo = tenant.iter().any(|(k, v)| *k == "environment" && *v == "demo");
    let (mine, theirs): (&MockServer, &MockServer) = if demo {
        (elsewhere, server)
    } else {
        (server, elsewhere)
    };
    let policy = EgressPolicy::sandbox()
        .route("account.docusign.com", &mine.uri())
        .unwrap()
        .route("na3.docusign.net", &mine.uri())
        .unwrap()
        .route("na2.docusign.net", &mine.uri())
        .unwrap()
        .route("account-d.docusign.com", &theirs.uri())
        .unwrap()
        .route("demo.docusign.net", &theirs.uri())
        .unwrap();
    let sleeper = Arc::new(RecordingSleeper::default());
    let http = Arc::new(VendorHttp::with_sleeper(
        policy,
        HttpConfig::default(),
        sleeper.clone(),
    ));
    let spec = registry::spec("docusign").unwrap();
    let tenant: Tenant = tenant
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let auth = Arc::new(StaticAuth::bearer(&SecretString::from(token)));
    (spec.connector(http, "com_1", &tenant, auth).unwrap(), sleeper)
}

/// A connector whose userinfo names `ACCOUNT` at `na3.docusign.net` (mounted here).
async fn docusign(server: &MockServer) -> (Box<dyn Connector>, Arc<RecordingSleeper>, MockServer) {
    mount_userinfo(
        server,
        &[account_entry(ACCOUNT, true, "https://na3.docusign.net")],
    )
    .await;
    let elsewhere = untouchable().await;
    let (connector, sleeper) = docusign_with(server, &elsewhere, &[], TOKEN);
    (connector, sleeper, elsewhere)
}

/// A server every request to fails the test (when it is dropped).
async fn untouchable() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    server
}

fn account_entry(id: &str, default: bool, base_uri: &str) -> Value {
    json!({"account_id": id, "is_default": default, "account_name": format!("Account {id}"), "base_uri": base_uri})
}

async fn mount_userinfo(server: &MockServer, accounts: &[Value]) {
    Mock::given(method("GET"))
        .and(path("/oauth/userinfo"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "sub": "4799e5e9-0000-4000-8000-cf4713bbcacc", "name": "Ada Admin", "given_name": "Ada",
            "family_name": "Admin", "email": "admin@example.com", "accounts": accounts
        })))
        .expect(1)
        .mount(server)
        .await;
}

fn user(id: &str, email: &str, status: &str) -> Value {
    json!({"userId": id, "userName": format!("User {id}"), "userType": "CompanyUser", "userStatus": status,
           "uri": format!("/users/{id}"), "email": email, "createdDateTime": "2025-01-02T03:04:05.0000000Z"})
}

fn full_user(id: &str, email: &str, status: &str) -> Value {
    json!({"userId": id, "userName": "Ada Lovelace", "firstName": "Ada", "lastName": "Lovelace",
           "userStatus": status, "email": email, "isAdmin": "False", "uri": format!("/users/{id}")})
}

fn page(users: &[Value], start: usize, total: usize) -> Value {
    let mut body = json!({
        "resultSetSize": users.len().to_string(),
        "totalSetSize": total.to_string(),
        "startPosition": start.to_string(),
        "endPosition": (start + users.len()).saturating_sub(1).to_string(),
    });
    if !users.is_empty() {
        body["users"] = json!(users);
    }
    if start + users.len() < total {
        body["nextUri"] = json!(format!("/users?start_position={}&count=100", start + users.len()));
    }
    body
}

fn ada() -> NewAccount {
    NewAccount {
        email: "ada@example.com".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
    }
}

#[tokio::test]
async fn production_authorizes_at_account_docusign_com_and_demo_at_account_d() {
    let spec = registry::spec("docusign").unwrap();
    let redirect = "https://api.example.test/v1/oauth/callback";
    let production = prov_connectors::http::VendorHttp::new(
        prov_connectors::egress::EgressPolicy::production(),
        Default::default(),
    );
    for (environment, host) in [
        (None, "account.docusign.com"),
        (Some("production"), "account.docusign.com"),
        (Some("demo"), "account-d.docusign.com"),
    ] {
        let auth = oauth::authorize(&production, spec, &client(), redirect, environment).unwrap();
        assert_eq!(auth.url.host_str(), Some(host));
        assert_eq!(auth.url.path(), "/oauth/auth");
        let query: std::collections::HashMap<_, _> = auth.url.query_pairs().into_owned().collect();
        assert_eq!(query["response_type"], "code");
        assert_eq!(query["client_id"], "ds-integration-key");
        assert_eq!(query["scope"], "signature extended");
        assert_eq!(query["redirect_uri"], redirect);
        assert_eq!(query["code_challenge_method"], "S256");
        assert_eq!(query["state"], auth.state.expose_secret());
    }
    assert!(oauth::authorize(&production, spec, &client(), redirect, Some("sandbox")).is_err());
    assert_eq!(spec.oauth.unwrap().environment_names(), ["production", "demo"]);
}

#[tokio::test]
async fn the_demo_code_exchange_and_refresh_use_account_d_with_basic_client_credentials() {
    use base64::Engine as _;
    let server = MockServer::start().await;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("ds-integration-key:ds-secret")
    );
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header("authorization", basic.as_str()))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("code=the-code"))
        .and(body_string_contains("code_verifier="))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "ds-access", "token_type": "Bearer", "refresh_token": "ds-refresh", "expires_in": 28800
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header("authorization", basic.as_str()))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=ds-refresh"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "ds-access-2", "token_type": "Bearer", "refresh_token": "ds-refresh-2", "expires_in": 28800
        })))
        .expect(1)
        .mount(&server)
        .await;
    // Only the demo authorization server is routed here.
    let (http, _) = vendor_http(&server, &["account-d.docusign.com"]);
    let spec = registry::spec("docusign").unwrap();
    let verifier = SecretString::from("v".repeat(43));
    let grant = CodeGrant {
        redirect: "https://api.example.test/v1/oauth/callback",
        code: "the-code",
        verifier: &verifier,
        environment: Some("demo"),
    };
    let now = chrono::Utc::now();
    let tokens = oauth::exchange_code(http.clone(), spec, "com_1", &client(), grant, now)
        .await
        .unwrap();
    assert_eq!(tokens.access_token.expose_secret(), "ds-access");
    assert_eq!(tokens.expires_at, Some(now + chrono::Duration::hours(8)));
    assert!(tokens.tenant.is_empty());
    let refreshed = oauth::refresh(
        http,
        spec,
        "com_1",
        &client(),
        &SecretString::from("ds-refresh"),
        Some("demo"),
        now,
    )
    .await
    .unwrap();
    assert_eq!(refreshed.access_token.expose_secret(), "ds-access-2");
    assert_eq!(refreshed.refresh_token.unwrap().expose_secret(), "ds-refresh-2");
}

#[tokio::test]
async fn userinfo_is_asked_once_and_its_default_account_is_the_one_managed() {
    let server = MockServer::start().await;
    mount_userinfo(
        &server,
        &[
            account_entry(OTHER_ACCOUNT, false, "https://na2.docusign.net"),
            account_entry(ACCOUNT, true, "https://na3.docusign.net"),
        ],
    )
    .await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("count", "1"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            &[user("u1", "a@example.com", "Active")],
            0,
            7,
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("start_position", "0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(&[], 0, 0)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(format!("/restapi/v2.1/accounts/{OTHER_ACCOUNT}/users")))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let elsewhere = untouchable().await;
    let (connector, _) = docusign_with(&server, &elsewhere, &[], TOKEN);
    connector.verify().await.unwrap();
    // No users: the answer has no `users` at all.
    let empty = connector.list(None).await.unwrap();
    assert!(empty.accounts.is_empty());
    assert_eq!(empty.next, None);
}

#[tokio::test]
async fn the_connections_account_id_picks_the_account_and_a_foreign_one_is_refused() {
    let server = MockServer::start().await;
    mount_userinfo(
        &server,
        &[
            account_entry(ACCOUNT, true, "https://na3.docusign.net"),
            account_entry(OTHER_ACCOUNT, false, "https://na2.docusign.net"),
        ],
    )
    .await;
    Mock::given(method("GET"))
        .and(path(format!("/restapi/v2.1/accounts/{OTHER_ACCOUNT}/users")))
        .and(query_param("count", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(&[], 0, 0)))
        .expect(1)
        .mount(&server)
        .await;
    let elsewhere = untouchable().await;
    let (connector, _) = docusign_with(&server, &elsewhere, &[("account_id", OTHER_ACCOUNT)], TOKEN);
    connector.verify().await.unwrap();

    let server = MockServer::start().await;
    mount_userinfo(
        &server,
        &[account_entry(ACCOUNT, true, "https://na3.docusign.net")],
    )
    .await;
    let (connector, _) = docusign_with(
        &server,
        &elsewhere,
        &[("account_id", "c0000000-0000-4000-8000-000000000000")],
        TOKEN,
    );
    match connector.verify().await {
        Err(ConnectorError::Invalid(why)) => assert!(why.contains("not a member"), "{why}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn a_demo_connection_asks_account_d_and_calls_demo_docusign_net() {
    let demo = MockServer::start().await;
    mount_userinfo(
        &demo,
        &[account_entry(ACCOUNT, true, "https://demo.docusign.net")],
    )
    .await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("count", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(&[], 0, 0)))
        .expect(1)
        .mount(&demo)
        .await;
    // Production's hosts go to a server that must not be called.
    let production = untouchable().await;
    let (connector, _) = docusign_with(&demo, &production, &[("environment", "demo")], TOKEN);
    connector.verify().await.unwrap();
}

#[tokio::test]
async fn a_base_uri_off_docusign_is_refused_and_never_called() {
    for bad in [
        "https://na3.docusign.net.evil.example",
        "https://evil.example/na3.docusign.net",
        "http://na3.docusign.net",
        "https://docusign.net",
        "https://na3.docusign.net:8443",
        "https://user@na3.docusign.net",
        "not a url",
    ] {
        let server = MockServer::start().await;
        mount_userinfo(&server, &[account_entry(ACCOUNT, true, bad)]).await;
        Mock::given(path(USERS))
            .respond_with(ResponseTemplate::new(200).set_body_json(page(&[], 0, 0)))
            .expect(0)
            .mount(&server)
            .await;
        let elsewhere = untouchable().await;
        let (connector, _) = docusign_with(&server, &elsewhere, &[], TOKEN);
        match connector.verify().await {
            Err(ConnectorError::Refused(why)) => assert!(why.contains("docusign.net"), "{bad}: {why}"),
            other => panic!("{bad}: expected Refused, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_unknown_environment_or_a_malformed_account_id_does_not_build() {
    let (http, _) = vendor_http(&MockServer::start().await, &[]);
    let spec = registry::spec("docusign").unwrap();
    let auth = Arc::new(prov_connectors::http::StaticAuth::bearer(&SecretString::from(
        "t",
    )));
    for (field, value) in [
        ("environment", "sandbox"),
        ("account_id", "../../other/users"),
        ("account_id", "a b"),
    ] {
        let tenant = Tenant::from([(field.to_owned(), value.to_owned())]);
        assert!(
            spec.connector(http.clone(), "com_1", &tenant, auth.clone())
                .is_err(),
            "{field}={value}"
        );
    }
    // The registry allows exactly DocuSign's hosts.
    let patterns = spec.host_patterns();
    for host in [
        "account.docusign.com",
        "account-d.docusign.com",
        "na3.docusign.net",
        "demo.docusign.net",
    ] {
        assert!(patterns.iter().any(|p| p.matches(host)), "{host}");
    }
    for host in [
        "docusign.net",
        "evil.docusign.com",
        "na3.docusign.net.evil.example",
    ] {
        assert!(!patterns.iter().any(|p| p.matches(host)), "{host}");
    }
}

#[tokio::test]
async fn a_wrong_token_fails_verification_as_unauthorized() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/oauth/userinfo"))
        .and(header("authorization", "Bearer wrong"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "internal_server_error", "reference_id": "ref-1"
        })))
        .mount(&server)
        .await;
    let elsewhere = untouchable().await;
    let (connector, _) = docusign_with(&server, &elsewhere, &[], "wrong");
    assert!(matches!(
        connector.verify().await,
        Err(ConnectorError::Unauthorized(_))
    ));
}

#[tokio::test]
async fn a_user_who_is_not_an_account_admin_is_refused_with_a_clear_message() {
    let server = MockServer::start().await;
    let (connector, _, _elsewhere) = docusign(&server).await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("count", "1"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "errorCode": "USER_LACKS_PERMISSIONS",
            "message": "This user lacks sufficient permissions to access this resource."
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(USERS))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "errorCode": "USER_NOT_ALLOWED", "message": "Forbidden."
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("email", "ada@example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(&[], 0, 0)))
        .mount(&server)
        .await;
    for result in [
        connector.verify().await.map(|_| ()),
        connector.create(&ada()).await.map(|_| ()),
    ] {
        match result {
            Err(ConnectorError::Unauthorized(why)) => {
                assert!(why.contains("administrator"), "{why}")
            }
            other => panic!("expected Unauthorized, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn users_page_with_start_position_until_the_total_set_size() {
    let server = MockServer::start().await;
    let (connector, _, _elsewhere) = docusign(&server).await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("count", "100"))
        .and(query_param("start_position", "0"))
        .and(query_param("status", LISTED))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            &[
                user("u1", "a@example.com", "Active"),
                user("u2", "b@example.com", "ActivationSent"),
            ],
            0,
            3,
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("count", "100"))
        .and(query_param("start_position", "2"))
        .and(query_param("status", LISTED))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            &[user("u3", "c@example.com", "Disabled")],
            2,
            3,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let first = connector.list(None).await.unwrap();
    let statuses: Vec<_> = first.accounts.iter().map(|a| (a.id.as_str(), a.status)).collect();
    assert_eq!(
        statuses,
        [("u1", AccountStatus::Active), ("u2", AccountStatus::InviteSent)]
    );
    assert_eq!(first.accounts[0].email.as_deref(), Some("a@example.com"));
    assert_eq!(first.accounts[0].display_name.as_deref(), Some("User u1"));
    assert_eq!(first.next.as_deref(), Some("2"));
    let second = connector.list(first.next.as_deref()).await.unwrap();
    assert_eq!(second.accounts[0].status, AccountStatus::Suspended);
    assert_eq!(second.next, None);
}

#[tokio::test]
async fn find_by_email_takes_the_exact_open_membership() {
    let server = MockServer::start().await;
    let (connector, _, _elsewhere) = docusign(&server).await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("email", "ada@example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            &[
                user("old", "ada@example.com", "Closed"),
                user("near", "x.ada@example.com", "Active"),
                user("open", "Ada@Example.com", "ActivationSent"),
            ],
            0,
            3,
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("email", "gone@example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            &[user("closed", "gone@example.com", "Closed")],
            0,
            1,
        )))
        .mount(&server)
        .await;
    let found = connector.find_by_email("ada@example.com").await.unwrap().unwrap();
    assert_eq!(
        (found.id.as_str(), found.status),
        ("open", AccountStatus::InviteSent)
    );
    // Only a closed membership: no account (creating reopens one).
    assert_eq!(connector.find_by_email("gone@example.com").await.unwrap(), None);
}

#[tokio::test]
async fn create_adds_the_user_who_is_invite_sent_until_they_activate() {
    let server = MockServer::start().await;
    let (connector, _, _elsewhere) = docusign(&server).await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("email", "ada@example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(&[], 0, 0)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(USERS))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"newUsers": [{
            "userName": "Ada Lovelace", "email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace"
        }]})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"newUsers": [{
            "userId": "u-ada", "uri": "/users/u-ada", "email": "ada@example.com", "userName": "Ada Lovelace",
            "userStatus": "ActivationSent", "createdDateTime": "2025-05-26T23:25:30.7330000Z"
        }]})))
        .expect(1)
        .mount(&server)
        .await;
    first_then(
        &server,
        || Mock::given(method("GET")).and(path(format!("{USERS}/u-ada"))),
        ResponseTemplate::new(200).set_body_json(full_user("u-ada", "ada@example.com", "ActivationSent")),
        ResponseTemplate::new(200).set_body_json(full_user("u-ada", "ada@example.com", "Active")),
    )
    .await;
    let created = connector.create(&ada()).await.unwrap();
    assert_eq!(
        (created.id.as_str(), created.status),
        ("u-ada", AccountStatus::InviteSent)
    );
    assert!(connector.capabilities().shows_invites);
    let pending = connector.get("u-ada").await.unwrap().unwrap();
    assert_eq!(pending.status, AccountStatus::InviteSent);
    assert_eq!(pending.first_name.as_deref(), Some("Ada"));
    let activated = connector.get("u-ada").await.unwrap().unwrap();
    assert_eq!(activated.status, AccountStatus::Active);
}

#[tokio::test]
async fn create_of_a_listed_user_posts_nothing() {
    let server = MockServer::start().await;
    let (connector, _, _elsewhere) = docusign(&server).await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("email", "ada@example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            &[user("u-ada", "ada@example.com", "Active")],
            0,
            1,
        )))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&server)
        .await;
    let found = connector.create(&ada()).await.unwrap();
    assert_eq!(found.id, "u-ada");
}

#[tokio::test]
async fn an_already_exists_inside_the_201_is_the_existing_user() {
    let server = MockServer::start().await;
    let (connector, _, _elsewhere) = docusign(&server).await;
    // Not found by email (created meanwhile), then DocuSign says it exists.
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("email", "ada@example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(&[], 0, 0)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(USERS))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"newUsers": [{
            "userId": "u-ada", "uri": "/users/u-ada", "email": "ada@example.com", "userName": "Ada Lovelace",
            "createdDateTime": "0001-01-01T08:00:00.0000000Z",
            "errorDetails": {"errorCode": "USER_ALREADY_EXISTS_IN_ACCOUNT",
                             "message": "Username and email combination already exists for this account."}
        }]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{USERS}/u-ada")))
        .respond_with(ResponseTemplate::new(200).set_body_json(full_user(
            "u-ada",
            "ada@example.com",
            "Active",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let existing = connector.create(&ada()).await.unwrap();
    assert_eq!(
        (existing.id.as_str(), existing.status),
        ("u-ada", AccountStatus::Active)
    );
}

#[tokio::test]
async fn another_error_inside_the_201_is_not_a_success() {
    let server = MockServer::start().await;
    let (connector, _, _elsewhere) = docusign(&server).await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("email", "ada@example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(&[], 0, 0)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(USERS))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"newUsers": [{
            "email": "ada@example.com", "userName": "Ada Lovelace",
            "errorDetails": {"errorCode": "INVALID_EMAIL_ADDRESS_FOR_USER", "message": "Invalid email address."}
        }]})))
        .mount(&server)
        .await;
    match connector.create(&ada()).await {
        Err(ConnectorError::Invalid(why)) => assert!(why.contains("INVALID_EMAIL_ADDRESS_FOR_USER"), "{why}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn remove_closes_the_membership_and_a_missing_or_closed_user_is_done() {
    let server = MockServer::start().await;
    let (connector, _, _elsewhere) = docusign(&server).await;
    Mock::given(method("DELETE"))
        .and(path(USERS))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_json(json!({"users": [{"userId": "u1"}]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"users": [{
            "userId": "u1", "userName": "User u1", "email": "a@example.com", "userStatus": "Closed"
        }]})))
        .expect(1)
        .mount(&server)
        .await;
    // Unknown: the batch answers per user; the user is confirmed gone.
    Mock::given(method("DELETE"))
        .and(path(USERS))
        .and(body_json(json!({"users": [{"userId": "gone"}]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"users": [{
            "userId": "gone", "errorDetails": {"errorCode": "USER_DOES_NOT_EXIST_IN_SYSTEM",
                                               "message": "The user does not exist in the system."}
        }]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{USERS}/gone")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "errorCode": "USER_DOES_NOT_EXIST_IN_SYSTEM", "message": "The user does not exist in the system."
        })))
        .expect(1)
        .mount(&server)
        .await;
    // Closed already: the whole request is refused; the user is confirmed closed.
    Mock::given(method("DELETE"))
        .and(path(USERS))
        .and(body_json(json!({"users": [{"userId": "closed"}]})))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "errorCode": "INVALID_USER_STATUS", "message": "The user is closed."
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{USERS}/closed")))
        .respond_with(ResponseTemplate::new(200).set_body_json(full_user(
            "closed",
            "c@example.com",
            "Closed",
        )))
        .expect(1)
        .mount(&server)
        .await;
    connector.delete("u1").await.unwrap();
    connector.delete("gone").await.unwrap();
    connector.delete("closed").await.unwrap();
}

#[tokio::test]
async fn a_close_refused_for_a_user_still_open_is_an_error() {
    let server = MockServer::start().await;
    let (connector, _, _elsewhere) = docusign(&server).await;
    Mock::given(method("DELETE"))
        .and(path(USERS))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"users": [{
            "userId": "admin", "errorDetails": {"errorCode": "CANNOT_CLOSE_LAST_ADMIN", "message": "Cannot close the last administrator."}
        }]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{USERS}/admin")))
        .respond_with(ResponseTemplate::new(200).set_body_json(full_user(
            "admin",
            "admin@example.com",
            "Active",
        )))
        .mount(&server)
        .await;
    match connector.delete("admin").await {
        Err(ConnectorError::Invalid(why)) => assert!(why.contains("CANNOT_CLOSE_LAST_ADMIN"), "{why}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn there_is_no_suspend() {
    let server = MockServer::start().await;
    let elsewhere = untouchable().await;
    let (connector, _) = docusign_with(&server, &elsewhere, &[], TOKEN);
    let caps = connector.capabilities();
    assert!(caps.create && caps.delete && !caps.suspend && !caps.reactivate);
    assert_eq!(
        connector.suspend("u1").await,
        Err(ConnectorError::Unsupported("suspend"))
    );
    assert_eq!(
        connector.reactivate("u1").await,
        Err(ConnectorError::Unsupported("reactivate"))
    );
}

#[tokio::test]
async fn a_429_waits_until_x_ratelimit_reset_then_retries() {
    let server = MockServer::start().await;
    let (connector, sleeper, _elsewhere) = docusign(&server).await;
    let reset = (chrono::Utc::now() + chrono::Duration::seconds(5)).timestamp();
    first_then(
        &server,
        || {
            Mock::given(method("GET"))
                .and(path(USERS))
                .and(query_param("start_position", "0"))
        },
        ResponseTemplate::new(429)
            .insert_header("X-RateLimit-Limit", "3000")
            .insert_header("X-RateLimit-Remaining", "0")
            .insert_header("X-RateLimit-Reset", reset.to_string().as_str())
            .set_body_json(json!({
                "errorCode": "HOURLY_APIINVOCATION_LIMIT_EXCEEDED",
                "message": "The maximum number of hourly API invocations has been exceeded."
            })),
        ResponseTemplate::new(200).set_body_json(page(&[user("u1", "a@example.com", "Active")], 0, 1)),
    )
    .await;
    let listed = connector.list(None).await.unwrap();
    assert_eq!(listed.accounts.len(), 1);
    let waits = sleeper.waits();
    assert_eq!(waits.len(), 1, "{waits:?}");
    assert!(
        waits[0] >= Duration::from_secs(3) && waits[0] <= Duration::from_secs(5),
        "{waits:?}"
    );
}

#[tokio::test]
async fn the_hourly_limit_as_a_400_is_a_rate_limit_and_a_far_reset_is_reported() {
    let server = MockServer::start().await;
    let (connector, sleeper, _elsewhere) = docusign(&server).await;
    let limited = |seconds: i64| {
        let reset = (chrono::Utc::now() + chrono::Duration::seconds(seconds)).timestamp();
        ResponseTemplate::new(400)
            .insert_header("X-RateLimit-Reset", reset.to_string().as_str())
            .set_body_json(json!({
                "errorCode": "HOURLY_APIINVOCATION_LIMIT_EXCEEDED",
                "message": "The maximum number of hourly API invocations has been exceeded."
            }))
    };
    first_then(
        &server,
        || {
            Mock::given(method("GET"))
                .and(path(USERS))
                .and(query_param("start_position", "0"))
        },
        limited(4),
        ResponseTemplate::new(200).set_body_json(page(&[], 0, 0)),
    )
    .await;
    connector.list(None).await.unwrap();
    assert_eq!(sleeper.waits().len(), 1, "{:?}", sleeper.waits());
    // The top of the hour is too far to wait for in a call: reported, with the time to wait.
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("start_position", "100"))
        .respond_with(limited(1800))
        .mount(&server)
        .await;
    match connector.list(Some("100")).await {
        Err(ConnectorError::RateLimited {
            retry_after: Some(wait),
        }) => assert!(wait > Duration::from_secs(1700), "{wait:?}"),
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

/// Issue 24: `/oauth/userinfo` is asked once per connection, not once per connector (it
/// was 34 calls for 19 listings); DocuSign asks integrations to cache it and limits it per
/// hour (https://developers.docusign.com/platform/auth/reference/user-info). Proving
/// credentials (a connect) asks anew: the connection may now be another account.
#[tokio::test]
async fn userinfo_is_asked_once_per_connection_and_again_when_credentials_are_proven() {
    use prov_connectors::egress::EgressPolicy;
    use prov_connectors::http::{HttpConfig, StaticAuth, VendorHttp};
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/oauth/userinfo"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "sub": "4799e5e9-0000-4000-8000-cf4713bbcacc",
            "accounts": [account_entry(ACCOUNT, true, "https://na3.docusign.net")]
        })))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(&[], 0, 0)))
        .mount(&server)
        .await;
    let policy = EgressPolicy::sandbox()
        .route("account.docusign.com", &server.uri())
        .unwrap()
        .route("na3.docusign.net", &server.uri())
        .unwrap();
    let http = Arc::new(VendorHttp::with_sleeper(
        policy,
        HttpConfig::default(),
        Arc::new(RecordingSleeper::default()),
    ));
    let spec = registry::spec("docusign").unwrap();
    let connector = || {
        let auth = Arc::new(StaticAuth::bearer(&SecretString::from(TOKEN)));
        spec.connector(http.clone(), "com_1", &Tenant::new(), auth)
            .unwrap()
    };
    // Five requests, five connectors: one userinfo.
    for _ in 0..5 {
        connector().list(None).await.unwrap();
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 1 + 5);
    // Proving credentials asks again, and what it learned serves the next request.
    connector().verify().await.unwrap();
    connector().list(None).await.unwrap();
    let asked = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/oauth/userinfo")
        .count();
    assert_eq!(asked, 2);
}

/// The tenant is the account the connection manages, with the name `/oauth/userinfo` gives.
#[tokio::test]
async fn the_tenant_is_the_account_userinfo_names() {
    let server = MockServer::start().await;
    let (connector, _, _server) = docusign(&server).await;
    assert_eq!(
        connector.tenant().await.unwrap(),
        prov_connectors::VendorTenant {
            id: ACCOUNT.into(),
            name: format!("Account {ACCOUNT}")
        }
    );
}
