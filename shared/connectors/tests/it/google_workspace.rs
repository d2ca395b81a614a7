//! Google Workspace: OAuth (offline access, consent, the Directory scopes) and the Admin SDK
//! Directory API at `https://admin.googleapis.com/admin/directory/v1/`, against a wiremock
//! Google. Requests are checked for the method, path, query, headers and body Google
//! documents.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use prov_connectors::http::{Authenticator, VendorHttp};
use prov_connectors::oauth::{self, OAuthClientConfig};
use prov_connectors::registry::{self, Tenant};
use prov_connectors::{AccountStatus, Connector, ConnectorError, NewAccount, NewWorkAccount};
use reqwest::header::HeaderName;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::{RecordingSleeper, authorize_in_production, first_then, oauth_connector, vendor_http};

const HOSTS: &[&str] = &[
    "admin.googleapis.com",
    "accounts.google.com",
    "oauth2.googleapis.com",
];
const API: &str = "/admin/directory/v1";
const SCOPES: &str = "https://www.googleapis.com/auth/admin.directory.user https://www.googleapis.com/auth/admin.directory.group.readonly https://www.googleapis.com/auth/admin.directory.group.member https://www.googleapis.com/auth/admin.directory.domain.readonly https://www.googleapis.com/auth/admin.directory.customer.readonly";

fn client() -> OAuthClientConfig {
    OAuthClientConfig {
        client_id: "gw-client.apps.googleusercontent.com".into(),
        client_secret: SecretString::from("gw-secret"),
    }
}

fn google(server: &MockServer) -> (Box<dyn Connector>, Arc<RecordingSleeper>) {
    oauth_connector(server, "google_workspace", HOSTS, "gw-access")
}

fn api(rest: &str) -> String {
    format!("{API}{rest}")
}

fn user(id: &str, email: &str, suspended: bool, archived: bool) -> Value {
    json!({
        "kind": "admin#directory#user", "id": id, "primaryEmail": email,
        "name": {"givenName": "F", "familyName": id, "fullName": format!("F {id}")},
        "isAdmin": false, "agreedToTerms": true, "suspended": suspended, "archived": archived,
        "changePasswordAtNextLogin": false, "customerId": "C01abcd", "orgUnitPath": "/"
    })
}

/// Google's error body.
fn error(status: u16, reason: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": {
        "code": status, "message": message,
        "errors": [{"message": message, "domain": "global", "reason": reason}]
    }}))
}

fn not_found() -> ResponseTemplate {
    error(404, "notFound", "Resource Not Found: userKey")
}

async fn mount_domains(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(api("/customer/my_customer/domains")))
        .and(header("authorization", "Bearer gw-access"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "admin#directory#domains",
            "domains": [
                {"domainName": "acme-labs.com", "isPrimary": false, "verified": true, "domainAliases": []},
                {"domainName": "Acme.com", "isPrimary": true, "verified": true,
                 "domainAliases": [{"domainAliasName": "acme.net", "verified": true}]},
                {"domainName": "acme-pending.com", "isPrimary": false, "verified": false}
            ]
        })))
        .mount(server)
        .await;
}

/// Requests without `name` in their query (a first page has no `pageToken`).
fn without_query(name: &'static str) -> impl Fn(&Request) -> bool {
    move |r: &Request| !r.url.query_pairs().any(|(k, _)| k == name)
}

fn body_of(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

fn assert_strong(password: &str) {
    assert_eq!(password.len(), 24, "{password}");
    assert!(password.chars().all(|c| c.is_ascii_graphic()));
    assert!(password.chars().any(|c| c.is_ascii_lowercase()));
    assert!(password.chars().any(|c| c.is_ascii_uppercase()));
    assert!(password.chars().any(|c| c.is_ascii_digit()));
    assert!(password.chars().any(|c| !c.is_ascii_alphanumeric()));
}

#[tokio::test]
async fn the_authorize_url_asks_for_offline_access_with_consent_and_the_directory_scopes() {
    let (url, q, state) = authorize_in_production("google_workspace", &client());
    assert_eq!(url.host_str(), Some("accounts.google.com"));
    assert_eq!(url.path(), "/o/oauth2/v2/auth");
    assert_eq!(q["access_type"], "offline");
    assert_eq!(q["prompt"], "consent");
    assert_eq!(q["scope"], SCOPES);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["client_id"], "gw-client.apps.googleusercontent.com");
    assert_eq!(q["state"], state);
    // An OAuth app: the connect form asks for nothing, and nothing is checked.
    let check = registry::spec("google_workspace").unwrap().check;
    assert!(check(&Tenant::new(), "", "").is_ok());
}

/// The connection's OAuth credentials as the service keeps them: a 401 makes the session ask
/// for a refresh, which trades the refresh token at Google's token endpoint.
struct GoogleTokens {
    http: Arc<VendorHttp>,
    access: Mutex<String>,
    refreshes: AtomicU32,
    rotated: Mutex<Option<bool>>,
}

#[async_trait]
impl Authenticator for GoogleTokens {
    async fn header(&self) -> Result<Option<(HeaderName, SecretString)>, ConnectorError> {
        let token = self.access.lock().unwrap().clone();
        Ok(Some((
            reqwest::header::AUTHORIZATION,
            SecretString::from(format!("Bearer {token}")),
        )))
    }

    async fn refresh(&self) -> Result<bool, ConnectorError> {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        let fresh = oauth::refresh(
            self.http.clone(),
            registry::spec("google_workspace").unwrap(),
            "com_1",
            &client(),
            &SecretString::from("gw-refresh"),
            None,
            chrono::Utc::now(),
        )
        .await?;
        *self.rotated.lock().unwrap() = Some(fresh.refresh_token.is_some());
        *self.access.lock().unwrap() = fresh.access_token.expose_secret().to_owned();
        Ok(true)
    }
}

#[tokio::test]
async fn a_401_refreshes_the_token_at_googles_token_endpoint_and_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/users")))
        .and(header("authorization", "Bearer gw-expired"))
        .respond_with(error(401, "authError", "Invalid Credentials"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/users")))
        .and(header("authorization", "Bearer gw-fresh"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"kind": "admin#directory#users", "users": []})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=gw-refresh"))
        .and(body_string_contains(
            "client_id=gw-client.apps.googleusercontent.com",
        ))
        .and(body_string_contains("client_secret=gw-secret"))
        // The client's credentials go in the body, as Google documents.
        .and(|r: &Request| !r.headers.contains_key("authorization"))
        // Google sends no new refresh token on a refresh.
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "gw-fresh", "expires_in": 3599, "scope": SCOPES, "token_type": "Bearer"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (http, _) = vendor_http(&server, HOSTS);
    let auth = Arc::new(GoogleTokens {
        http: http.clone(),
        access: Mutex::new("gw-expired".into()),
        refreshes: AtomicU32::new(0),
        rotated: Mutex::new(None),
    });
    let spec = registry::spec("google_workspace").unwrap();
    let connector = spec
        .connector(http, "com_1", &Tenant::new(), auth.clone())
        .unwrap();
    let page = connector.list(None).await.unwrap();
    assert!(page.accounts.is_empty());
    assert_eq!(auth.refreshes.load(Ordering::SeqCst), 1);
    assert_eq!(*auth.rotated.lock().unwrap(), Some(false));
}

#[tokio::test]
async fn users_are_listed_across_pages_with_next_page_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/users")))
        .and(query_param("customer", "my_customer"))
        .and(query_param("maxResults", "500"))
        .and(header("authorization", "Bearer gw-access"))
        .and(without_query("pageToken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "admin#directory#users",
            "users": [user("1001", "a@acme.com", false, false), user("1002", "b@acme.com", true, false)],
            "nextPageToken": "page-2"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/users")))
        .and(query_param("customer", "my_customer"))
        .and(query_param("maxResults", "500"))
        .and(query_param("pageToken", "page-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "admin#directory#users",
            "users": [user("1003", "c@acme.com", false, true)]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = google(&server);
    let first = connector.list(None).await.unwrap();
    assert_eq!(first.next.as_deref(), Some("page-2"));
    assert_eq!(first.accounts[0].id, "1001");
    assert_eq!(first.accounts[0].email.as_deref(), Some("a@acme.com"));
    assert_eq!(first.accounts[0].first_name.as_deref(), Some("F"));
    assert_eq!(first.accounts[0].last_name.as_deref(), Some("1001"));
    assert_eq!(first.accounts[0].status, AccountStatus::Active);
    assert_eq!(first.accounts[1].status, AccountStatus::Suspended);
    let second = connector.list(first.next.as_deref()).await.unwrap();
    // Archived: no sign-in, data kept.
    assert_eq!(second.accounts[0].status, AccountStatus::Suspended);
    assert_eq!(second.next, None);
    // Google has no invitation state: a created user is a live mailbox.
    assert!(!connector.capabilities().shows_invites);
}

#[tokio::test]
async fn find_by_email_gets_the_user_by_address_and_a_404_is_none() {
    let server = MockServer::start().await;
    mount_domains(&server).await;
    Mock::given(method("GET"))
        .and(path(api("/users/ada@acme.com")))
        .and(header("authorization", "Bearer gw-access"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("1001", "ada@acme.com", false, false)))
        .expect(1)
        .mount(&server)
        .await;
    // An alias resolves to its user, whose primary email differs: that user is kept.
    Mock::given(method("GET"))
        .and(path(api("/users/ada.lovelace@acme.com")))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("1001", "ada@acme.com", false, false)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/users/nobody@acme.com")))
        .respond_with(not_found())
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = google(&server);
    let ada = connector.find_by_email("ada@acme.com").await.unwrap().unwrap();
    assert_eq!(ada.id, "1001");
    let by_alias = connector
        .find_by_email("ada.lovelace@acme.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_alias.email.as_deref(), Some("ada@acme.com"));
    assert_eq!(connector.find_by_email("nobody@acme.com").await.unwrap(), None);
}

#[tokio::test]
async fn find_by_email_on_a_domain_alias_asks_google_and_outside_the_domains_does_not() {
    let server = MockServer::start().await;
    mount_domains(&server).await;
    // Every user receives mail on the domain alias too.
    Mock::given(method("GET"))
        .and(path(api("/users/ada@acme.net")))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("1001", "ada@acme.com", false, false)))
        .expect(1)
        .mount(&server)
        .await;
    // Google answers 403 for a user outside the customer's domains: never asked.
    Mock::given(method("GET"))
        .and(path(api("/users/ada@gmail.com")))
        .respond_with(error(
            403,
            "forbidden",
            "Not Authorized to access this resource/api",
        ))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = google(&server);
    let by_alias_domain = connector.find_by_email("ada@acme.net").await.unwrap();
    assert_eq!(by_alias_domain.map(|a| a.id).as_deref(), Some("1001"));
    assert_eq!(connector.find_by_email("ada@gmail.com").await.unwrap(), None);
    assert_eq!(connector.find_by_email("not-an-address").await.unwrap(), None);
}

#[tokio::test]
async fn create_on_a_workspace_domain_posts_a_user_with_a_strong_one_time_password() {
    let server = MockServer::start().await;
    mount_domains(&server).await;
    Mock::given(method("GET"))
        .and(path(api("/users/ada@acme.com")))
        .respond_with(not_found())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(api("/users")))
        .and(header("authorization", "Bearer gw-access"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("1009", "ada@acme.com", false, false)))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = google(&server);
    let created = connector
        .create(&NewAccount {
            email: "ada@acme.com".into(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
        })
        .await
        .unwrap();
    assert_eq!(created.id, "1009");
    assert_eq!(created.status, AccountStatus::Active);
    let posts: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method == wiremock::http::Method::POST)
        .map(body_of)
        .collect();
    let [body] = posts.as_slice() else {
        panic!("{posts:?}")
    };
    assert_eq!(body["primaryEmail"], "ada@acme.com");
    assert_eq!(
        body["name"],
        json!({"givenName": "Ada", "familyName": "Lovelace"})
    );
    assert_eq!(body["changePasswordAtNextLogin"], true);
    assert_strong(body["password"].as_str().unwrap());
    // No personal email: no recovery address.
    assert!(body.get("recoveryEmail").is_none(), "{body}");
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 4, "only the documented fields are sent: {keys:?}");
}

#[tokio::test]
async fn create_of_an_address_outside_the_workspace_domains_is_refused() {
    let server = MockServer::start().await;
    mount_domains(&server).await;
    Mock::given(path_is_users())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = google(&server);
    for outside in ["ada@gmail.com", "ada@acme-pending.com", "ada@acme.net"] {
        let refused = connector
            .create(&NewAccount {
                email: outside.into(),
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
            })
            .await;
        match refused {
            Err(ConnectorError::Invalid(why)) => {
                assert!(why.contains("cannot invite an outside address"), "{why}");
                assert!(why.contains("acme.com, acme-labs.com"), "{why}");
            }
            other => panic!("{outside}: {other:?}"),
        }
    }
}

/// Any call on `users` (to prove none was made).
fn path_is_users() -> wiremock::matchers::PathRegexMatcher {
    wiremock::matchers::path_regex(r"^/admin/directory/v1/users")
}

#[tokio::test]
async fn create_work_account_sets_the_personal_email_as_recovery_email_and_a_new_password_each_time() {
    let server = MockServer::start().await;
    mount_domains(&server).await;
    for (id, email) in [("2001", "ada@acme.com"), ("2002", "grace@acme-labs.com")] {
        Mock::given(method("GET"))
            .and(path(api(&format!("/users/{email}"))))
            .respond_with(not_found())
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(api("/users")))
            .and(body_string_contains(email))
            .respond_with(ResponseTemplate::new(200).set_body_json(user(id, email, false, false)))
            .expect(1)
            .mount(&server)
            .await;
    }
    let (connector, _) = google(&server);
    let ada = connector
        .create_work_account(&NewWorkAccount {
            work_email: "ada@acme.com".into(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            personal_email: Some("ada.home@example.org".into()),
        })
        .await
        .unwrap();
    assert_eq!(ada.id, "2001");
    let grace = connector
        .create_work_account(&NewWorkAccount {
            work_email: "grace@acme-labs.com".into(),
            first_name: "Grace".into(),
            last_name: "Hopper".into(),
            personal_email: Some("grace.home@example.org".into()),
        })
        .await
        .unwrap();
    assert_eq!(grace.id, "2002");
    let posts: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method == wiremock::http::Method::POST)
        .map(body_of)
        .collect();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0]["recoveryEmail"], "ada.home@example.org");
    assert_eq!(posts[0]["changePasswordAtNextLogin"], true);
    assert_eq!(posts[1]["recoveryEmail"], "grace.home@example.org");
    let (first, second) = (
        posts[0]["password"].as_str().unwrap(),
        posts[1]["password"].as_str().unwrap(),
    );
    assert_strong(first);
    assert_strong(second);
    assert_ne!(first, second);
    // The password is not in what the connector answers.
    assert!(!format!("{ada:?}{grace:?}").contains(first));
}

#[tokio::test]
async fn a_409_duplicate_on_create_resolves_to_the_existing_user() {
    let server = MockServer::start().await;
    mount_domains(&server).await;
    // Not there at first; created meanwhile (an earlier attempt whose answer was lost).
    first_then(
        &server,
        || Mock::given(method("GET")).and(path(api("/users/ada@acme.com"))),
        not_found(),
        ResponseTemplate::new(200).set_body_json(user("1001", "ada@acme.com", false, false)),
    )
    .await;
    Mock::given(method("POST"))
        .and(path(api("/users")))
        .respond_with(error(409, "duplicate", "Entity already exists."))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = google(&server);
    let existing = connector
        .create_work_account(&NewWorkAccount {
            work_email: "ada@acme.com".into(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            personal_email: None,
        })
        .await
        .unwrap();
    assert_eq!(existing.id, "1001");
}

#[tokio::test]
async fn create_of_an_existing_user_posts_nothing() {
    let server = MockServer::start().await;
    mount_domains(&server).await;
    Mock::given(method("GET"))
        .and(path(api("/users/old@acme.com")))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("1000", "old@acme.com", true, false)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = google(&server);
    let found = connector
        .create(&NewAccount {
            email: "old@acme.com".into(),
            first_name: "O".into(),
            last_name: "Ld".into(),
        })
        .await
        .unwrap();
    assert_eq!(found.id, "1000");
    assert_eq!(found.status, AccountStatus::Suspended);
}

#[tokio::test]
async fn suspend_and_reactivate_put_the_suspended_flag() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(api("/users/1001")))
        .and(header("authorization", "Bearer gw-access"))
        .and(body_json(json!({"suspended": true})))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("1001", "a@acme.com", true, false)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(api("/users/1001")))
        .and(body_json(json!({"suspended": false})))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("1001", "a@acme.com", false, false)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(api("/users/9999")))
        .respond_with(not_found())
        .mount(&server)
        .await;
    let (connector, _) = google(&server);
    assert!(connector.capabilities().suspend && connector.capabilities().reactivate);
    let suspended = connector.suspend("1001").await.unwrap();
    assert_eq!(suspended.status, AccountStatus::Suspended);
    let back = connector.reactivate("1001").await.unwrap();
    assert_eq!(back.status, AccountStatus::Active);
    assert_eq!(connector.suspend("9999").await, Err(ConnectorError::NotFound));
}

#[tokio::test]
async fn delete_deletes_the_user_and_a_missing_user_is_already_gone() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(api("/users/1001")))
        .and(header("authorization", "Bearer gw-access"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(api("/users/1404")))
        .respond_with(not_found())
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = google(&server);
    connector.delete("1001").await.unwrap();
    connector.delete("1404").await.unwrap();
}

#[tokio::test]
async fn work_email_domains_are_the_primary_then_the_verified_secondary_domains() {
    let server = MockServer::start().await;
    mount_domains(&server).await;
    let (connector, _) = google(&server);
    assert_eq!(
        connector.work_email_domains().await.unwrap(),
        ["acme.com", "acme-labs.com"]
    );
}

#[tokio::test]
async fn groups_are_read_across_pages() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/groups")))
        .and(query_param("customer", "my_customer"))
        .and(query_param("maxResults", "200"))
        .and(header("authorization", "Bearer gw-access"))
        .and(without_query("pageToken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "admin#directory#groups",
            "groups": [{"kind": "admin#directory#group", "id": "g1", "email": "eng@acme.com", "name": "Engineering",
                        "directMembersCount": "3", "adminCreated": true}],
            "nextPageToken": "groups-2"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/groups")))
        .and(query_param("customer", "my_customer"))
        .and(query_param("maxResults", "200"))
        .and(query_param("pageToken", "groups-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "admin#directory#groups",
            "groups": [{"id": "g2", "email": "sales@acme.com", "name": "Sales"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = google(&server);
    let groups = connector.groups().await.unwrap();
    let names: Vec<(&str, &str, Option<&str>)> = groups
        .iter()
        .map(|g| (g.id.as_str(), g.name.as_str(), g.email.as_deref()))
        .collect();
    assert_eq!(
        names,
        [
            ("g1", "Engineering", Some("eng@acme.com")),
            ("g2", "Sales", Some("sales@acme.com"))
        ]
    );
}

#[tokio::test]
async fn add_to_group_posts_the_users_primary_email_and_already_a_member_is_fine() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/users/1001")))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("1001", "ada@acme.com", false, false)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(api("/groups/g1/members")))
        .and(header("authorization", "Bearer gw-access"))
        .and(body_json(json!({"email": "ada@acme.com", "role": "MEMBER"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "admin#directory#member", "id": "1001", "email": "ada@acme.com",
            "role": "MEMBER", "type": "USER", "status": "ACTIVE"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(api("/groups/g2/members")))
        .and(body_json(json!({"email": "ada@acme.com", "role": "MEMBER"})))
        .respond_with(error(409, "duplicate", "Member already exists."))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/users/1404")))
        .respond_with(not_found())
        .mount(&server)
        .await;
    let (connector, _) = google(&server);
    connector.add_to_group("1001", "g1").await.unwrap();
    connector.add_to_group("1001", "g2").await.unwrap();
    assert_eq!(
        connector.add_to_group("1404", "g1").await,
        Err(ConnectorError::NotFound)
    );
}

#[tokio::test]
async fn a_404_of_the_domains_or_of_a_group_never_reads_as_a_missing_account() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/customer/my_customer/domains")))
        .respond_with(not_found())
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(api("/users/1001")))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("1001", "ada@acme.com", false, false)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(api("/groups/gone/members")))
        .respond_with(not_found())
        .mount(&server)
        .await;
    let (connector, _) = google(&server);
    match connector.work_email_domains().await {
        Err(ConnectorError::Invalid(why)) => assert!(why.contains("domains"), "{why}"),
        other => panic!("the domains' 404 says what was not found: {other:?}"),
    }
    match connector.add_to_group("1001", "gone").await {
        Err(ConnectorError::Invalid(why)) => assert!(why.contains("group `gone`"), "{why}"),
        other => panic!("the group's 404 says what was not found: {other:?}"),
    }
}

#[tokio::test]
async fn a_non_admin_token_is_refused_at_verification() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/users")))
        .and(query_param("customer", "my_customer"))
        .and(query_param("maxResults", "1"))
        .and(header("authorization", "Bearer gw-access"))
        .respond_with(error(
            403,
            "forbidden",
            "Not Authorized to access this resource/api",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, sleeper) = google(&server);
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => {
            assert!(why.contains("Not Authorized"), "{why}");
            assert!(why.contains("super admin"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    // A plain 403 is not a rate limit: no wait, no retry.
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn an_invalid_token_is_refused_at_verification() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/users")))
        .and(query_param("maxResults", "1"))
        .and(header("authorization", "Bearer gw-access"))
        .respond_with(error(401, "authError", "Invalid Credentials"))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = google(&server);
    assert_eq!(
        connector.verify().await,
        Err(ConnectorError::Unauthorized("Invalid Credentials".into()))
    );
}

#[tokio::test]
async fn an_admin_sdk_api_not_enabled_says_so() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/users")))
        .respond_with(error(
            403,
            "accessNotConfigured",
            "Admin SDK API has not been used in project 123 before or it is disabled.",
        ))
        .mount(&server)
        .await;
    let (connector, sleeper) = google(&server);
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => assert!(why.contains("not enabled"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn a_valid_token_passes_verification() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/users")))
        .and(query_param("customer", "my_customer"))
        .and(query_param("maxResults", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "admin#directory#users", "users": [user("1001", "a@acme.com", false, false)], "nextPageToken": "x"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = google(&server);
    connector.verify().await.unwrap();
}

#[tokio::test]
async fn googles_403_rate_limits_and_429_are_waited_out_and_retried() {
    for (status, reason) in [
        (403, "userRateLimitExceeded"),
        (403, "rateLimitExceeded"),
        (403, "quotaExceeded"),
        (429, "rateLimitExceeded"),
    ] {
        let server = MockServer::start().await;
        first_then(
            &server,
            || Mock::given(method("GET")).and(path(api("/users/1001"))),
            error(status, reason, "Rate Limit Exceeded"),
            ResponseTemplate::new(200).set_body_json(user("1001", "a@acme.com", false, false)),
        )
        .await;
        let (connector, sleeper) = google(&server);
        let found = connector.get("1001").await.unwrap().unwrap();
        assert_eq!(found.id, "1001");
        assert_eq!(sleeper.waits().len(), 1, "{reason}: {:?}", sleeper.waits());
    }
}

#[tokio::test]
async fn a_rate_limit_that_does_not_end_is_reported_as_one() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/users")))
        .respond_with(error(403, "userRateLimitExceeded", "User Rate Limit Exceeded"))
        .expect(4)
        .mount(&server)
        .await;
    let (connector, sleeper) = google(&server);
    // The next of Google's backoff waits (8 s, plus up to a second) is handed back.
    match connector.list(None).await {
        Err(ConnectorError::RateLimited {
            retry_after: Some(next),
        }) => assert!(
            next >= std::time::Duration::from_secs(8) && next < std::time::Duration::from_secs(9),
            "{next:?}"
        ),
        other => panic!("expected the rate limit with the next wait, got {other:?}"),
    }
    // A backoff before each of the three retries (and perhaps pauses for the slower pace
    // the 429s taught); four calls in all (the mock expects exactly four).
    assert!(sleeper.waits().len() >= 3, "{:?}", sleeper.waits());
}

/// The tenant is the Workspace customer (`customers.get` of `my_customer`).
#[tokio::test]
async fn the_tenant_is_the_workspace_customer() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(api("/customers/my_customer")))
        .and(header("authorization", "Bearer gw-access"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "admin#directory#customer", "id": "C03az79cb", "customerDomain": "acme.example"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = google(&server);
    assert_eq!(
        connector.tenant().await.unwrap(),
        prov_connectors::VendorTenant {
            id: "C03az79cb".into(),
            name: "acme.example".into()
        }
    );
}
