//! Salesforce: OAuth (production and sandbox orgs, `instance_url` from the token answer)
//! and the org's SCIM 2.0 users, against wiremock. Requests are checked for the method,
//! path, query, headers and body Salesforce documents.

use std::sync::Arc;

use prov_connectors::oauth::{self, CodeGrant, OAuthClientConfig};
use prov_connectors::registry::{self, Tenant};
use prov_connectors::scim::user_resource;
use prov_connectors::{AccountStatus, Connector, NewAccount};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use wiremock::matchers::{body_json, body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{RecordingSleeper, first_then, vendor_http};

const INSTANCE: &str = "https://acme.my.salesforce.com";
const HOSTS: &[&str] = &[
    "login.salesforce.com",
    "test.salesforce.com",
    "acme.my.salesforce.com",
];
const PROFILE_QUERY: &str = "SELECT Id FROM Profile WHERE Name = 'Standard User' LIMIT 1";

fn client() -> OAuthClientConfig {
    OAuthClientConfig {
        client_id: "sf-client".into(),
        client_secret: SecretString::from("sf-secret"),
    }
}

fn salesforce(server: &MockServer) -> (Box<dyn Connector>, Arc<RecordingSleeper>) {
    let (http, sleeper) = vendor_http(server, HOSTS);
    let spec = registry::spec("salesforce").unwrap();
    let tenant = Tenant::from([("instance_url".to_owned(), INSTANCE.to_owned())]);
    let auth = Arc::new(prov_connectors::http::StaticAuth::bearer(&SecretString::from(
        "sf-token",
    )));
    (spec.connector(http, "com_1", &tenant, auth).unwrap(), sleeper)
}

fn list(users: &[serde_json::Value], start: u64, total: u64) -> serde_json::Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": total,
           "startIndex": start, "itemsPerPage": users.len(), "Resources": users})
}

#[tokio::test]
async fn a_sandbox_org_authorizes_at_test_salesforce_com_and_production_at_login() {
    let (http, _) = vendor_http(&MockServer::start().await, &[]);
    let spec = registry::spec("salesforce").unwrap();
    let redirect = "https://api.example.test/v1/oauth/callback";
    for (environment, host) in [
        (None, "login.salesforce.com"),
        (Some("sandbox"), "test.salesforce.com"),
    ] {
        let production = prov_connectors::http::VendorHttp::new(
            prov_connectors::egress::EgressPolicy::production(),
            Default::default(),
        );
        let auth = oauth::authorize(&production, spec, &client(), redirect, environment).unwrap();
        assert_eq!(auth.url.host_str(), Some(host));
        assert_eq!(auth.url.path(), "/services/oauth2/authorize");
        let query: std::collections::HashMap<_, _> = auth.url.query_pairs().into_owned().collect();
        assert_eq!(query["scope"], "api refresh_token");
        assert_eq!(query["code_challenge_method"], "S256");
    }
    assert!(oauth::authorize(&http, spec, &client(), redirect, Some("preview")).is_err());
}

#[tokio::test]
async fn the_code_exchange_keeps_the_orgs_instance_url_and_refresh_uses_the_same_environment() {
    let server = MockServer::start().await;
    // No `expires_in`: a Salesforce token lives as long as the org's session timeout.
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("client_id=sf-client"))
        .and(body_string_contains("client_secret=sf-secret"))
        .and(body_string_contains("code=the-code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "00Dxx!sf-access", "refresh_token": "sf-refresh", "signature": "sig",
            "scope": "refresh_token api", "instance_url": INSTANCE,
            "id": "https://test.salesforce.com/id/00Dxx/005xx", "token_type": "Bearer", "issued_at": "1764300000000"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=sf-refresh"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "00Dxx!sf-access-2", "instance_url": INSTANCE, "token_type": "Bearer"
        })))
        .expect(1)
        .mount(&server)
        .await;
    // Only the sandbox host is routed: a production call would fail.
    let (http, _) = vendor_http(&server, &["test.salesforce.com"]);
    let spec = registry::spec("salesforce").unwrap();
    let verifier = SecretString::from("v".repeat(43));
    let grant = CodeGrant {
        redirect: "https://api.example.test/v1/oauth/callback",
        code: "the-code",
        verifier: &verifier,
        environment: Some("sandbox"),
    };
    let now = chrono::Utc::now();
    let tokens = oauth::exchange_code(http.clone(), spec, "com_1", &client(), grant, now)
        .await
        .unwrap();
    assert_eq!(tokens.access_token.expose_secret(), "00Dxx!sf-access");
    assert_eq!(tokens.expires_at, None);
    assert_eq!(tokens.tenant, [("instance_url".to_owned(), INSTANCE.to_owned())]);
    let refreshed = oauth::refresh(
        http,
        spec,
        "com_1",
        &client(),
        &SecretString::from("sf-refresh"),
        Some("sandbox"),
        now,
    )
    .await
    .unwrap();
    assert_eq!(refreshed.access_token.expose_secret(), "00Dxx!sf-access-2");
}

#[tokio::test]
async fn an_instance_url_off_salesforce_is_refused() {
    let (http, _) = vendor_http(&MockServer::start().await, HOSTS);
    let spec = registry::spec("salesforce").unwrap();
    let auth = Arc::new(prov_connectors::http::StaticAuth::bearer(&SecretString::from(
        "t",
    )));
    for bad in [
        "https://acme.my.salesforce.com.evil.net",
        "http://acme.my.salesforce.com",
        "https://login.salesforce.com",
    ] {
        let tenant = Tenant::from([("instance_url".to_owned(), bad.to_owned())]);
        assert!(
            spec.connector(http.clone(), "com_1", &tenant, auth.clone())
                .is_err(),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn users_page_through_the_orgs_scim_api() {
    let server = MockServer::start().await;
    let a = user_resource("005A", "a@example.com", "A", "One", true);
    let b = user_resource("005B", "b@example.com", "B", "Two", false);
    Mock::given(method("GET"))
        .and(path("/services/scim/v2/Users"))
        .and(query_param("startIndex", "1"))
        .and(query_param("count", "100"))
        .and(header("authorization", "Bearer sf-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(&[a], 1, 2)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/services/scim/v2/Users"))
        .and(query_param("startIndex", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(&[b], 2, 2)))
        .mount(&server)
        .await;
    sign_ins(&server, &["005A"], &[("005A", Some(SEEN))]).await;
    let (connector, _) = salesforce(&server);
    let first = connector.list(None).await.unwrap();
    assert_eq!(first.accounts[0].status, AccountStatus::Active);
    let second = connector.list(first.next.as_deref()).await.unwrap();
    // Deactivated is Salesforce's "removed".
    assert_eq!(second.accounts[0].status, AccountStatus::Deleted);
    assert_eq!(second.next, None);
}

#[tokio::test]
async fn create_gives_the_standard_user_profile() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/services/scim/v2/Users"))
        .and(query_param("filter", "userName eq \"ada@example.com\""))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(&[], 1, 0)))
        .expect(1)
        .mount(&server)
        .await;
    // Nobody's emails hold the address either.
    Mock::given(method("GET"))
        .and(path("/services/scim/v2/Users"))
        .and(query_param("startIndex", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(&[], 1, 0)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/services/data/v62.0/query"))
        .and(query_param("q", PROFILE_QUERY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalSize": 1, "done": true, "records": [{"attributes": {"type": "Profile"}, "Id": "00eSTD"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/services/scim/v2/Users"))
        .and(body_json(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ada@example.com",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
            "active": true,
            "entitlements": [{"value": "00eSTD"}]
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(user_resource(
            NEW_ID,
            "ada@example.com",
            "Ada",
            "Lovelace",
            true,
        )))
        .expect(1)
        .mount(&server)
        .await;
    // The new user has not signed in yet.
    sign_ins(&server, &[NEW_ID], &[(NEW_ID, None)]).await;
    let (connector, _) = salesforce(&server);
    let created = connector
        .create(&NewAccount {
            email: "ada@example.com".into(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        (created.id.as_str(), created.status),
        (NEW_ID, AccountStatus::InviteSent)
    );
    assert!(connector.capabilities().shows_invites);
}

const NEW_ID: &str = "005000000000NEWAAA";

/// The sign-in query of `ids` (in order), answered with each user's `LastLoginDate`.
async fn sign_ins(server: &MockServer, ids: &[&str], answer: &[(&str, Option<&str>)]) {
    sign_ins_times(server, ids, answer, 1).await;
}

const SEEN: &str = "2024-05-02T09:30:00.000+0000";

/// As `sign_ins`, asked `times` times.
async fn sign_ins_times(server: &MockServer, ids: &[&str], answer: &[(&str, Option<&str>)], times: u64) {
    let soql = format!(
        "SELECT Id, LastLoginDate FROM User WHERE Id IN ('{}')",
        ids.join("','")
    );
    let records: Vec<serde_json::Value> = answer
        .iter()
        .map(|(id, at)| json!({"attributes": {"type": "User"}, "Id": id, "LastLoginDate": at}))
        .collect();
    Mock::given(method("GET"))
        .and(path("/services/data/v62.0/query"))
        .and(query_param("q", soql.as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"totalSize": records.len(), "done": true, "records": records})),
        )
        .expect(times)
        .mount(server)
        .await;
}

#[tokio::test]
async fn an_active_user_who_never_signed_in_is_invite_sent() {
    let server = MockServer::start().await;
    let signed_in = "005000000000AAAAAA";
    let never = "005000000000BBBBBB";
    let gone = "005000000000CCCCCC";
    Mock::given(method("GET"))
        .and(path("/services/scim/v2/Users"))
        .and(query_param("startIndex", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(
            &[
                user_resource(signed_in, "a@example.com", "A", "One", true),
                user_resource(never, "b@example.com", "B", "Two", true),
                user_resource(gone, "c@example.com", "C", "Three", false),
            ],
            1,
            3,
        )))
        .mount(&server)
        .await;
    // Only the active users are asked about; a deactivated one stays removed.
    sign_ins(
        &server,
        &[signed_in, never],
        &[(signed_in, Some("2024-05-02T09:30:00.000+0000")), (never, None)],
    )
    .await;
    let (connector, _) = salesforce(&server);
    let statuses: Vec<_> = connector
        .list(None)
        .await
        .unwrap()
        .accounts
        .into_iter()
        .map(|a| a.status)
        .collect();
    assert_eq!(
        statuses,
        [
            AccountStatus::Active,
            AccountStatus::InviteSent,
            AccountStatus::Deleted
        ]
    );
}

#[tokio::test]
async fn create_of_an_existing_user_queries_and_posts_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/services/scim/v2/Users"))
        .and(query_param("filter", "userName eq \"old@example.com\""))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(
            &[user_resource("005OLD", "old@example.com", "O", "Ld", true)],
            1,
            1,
        )))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(path("/services/data/v62.0/query"))
        .and(query_param("q", PROFILE_QUERY))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    sign_ins(&server, &["005OLD"], &[("005OLD", Some(SEEN))]).await;
    let (connector, _) = salesforce(&server);
    let found = connector
        .create(&NewAccount {
            email: "old@example.com".into(),
            first_name: "O".into(),
            last_name: "Ld".into(),
        })
        .await
        .unwrap();
    assert_eq!(found.id, "005OLD");
}

/// A Salesforce user whose username is not their email.
fn user_named(id: &str, username: &str, email: &str, active: bool) -> serde_json::Value {
    let mut user = user_resource(id, email, "Lin", "Chen", active);
    user["userName"] = json!(username);
    user
}

fn lin() -> NewAccount {
    NewAccount {
        email: "lin@example.com".into(),
        first_name: "Lin".into(),
        last_name: "Chen".into(),
    }
}

#[tokio::test]
async fn a_user_whose_username_is_not_the_email_is_found_by_the_email() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/services/scim/v2/Users"))
        .and(query_param("filter", "userName eq \"lin@example.com\""))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(&[], 1, 0)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/services/scim/v2/Users"))
        .and(query_param("startIndex", "1"))
        .and(query_param("count", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(
            &[
                user_resource("005A", "a@example.com", "A", "One", true),
                user_named("005LIN", "lin.chen@acme.example", "lin@example.com", true),
            ],
            1,
            2,
        )))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&server)
        .await;
    sign_ins_times(&server, &["005LIN"], &[("005LIN", Some(SEEN))], 2).await;
    let (connector, _) = salesforce(&server);
    let found = connector.find_by_email("lin@example.com").await.unwrap().unwrap();
    assert_eq!(found.id, "005LIN");
    assert_eq!(connector.create(&lin()).await.unwrap().id, "005LIN");
}

#[tokio::test]
async fn creating_a_deactivated_user_activates_them_again() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/services/scim/v2/Users"))
        .and(query_param("filter", "userName eq \"lin@example.com\""))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(
            &[user_resource("005LIN", "lin@example.com", "Lin", "Chen", false)],
            1,
            1,
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/services/scim/v2/Users/005LIN"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_resource(
            "005LIN",
            "lin@example.com",
            "Lin",
            "Chen",
            false,
        )))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/services/scim/v2/Users/005LIN"))
        .and(body_json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": true}}]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_resource(
            "005LIN",
            "lin@example.com",
            "Lin",
            "Chen",
            true,
        )))
        .expect(1)
        .mount(&server)
        .await;
    sign_ins(&server, &["005LIN"], &[("005LIN", Some(SEEN))]).await;
    let (connector, _) = salesforce(&server);
    let back = connector.create(&lin()).await.unwrap();
    assert_eq!((back.id.as_str(), back.status), ("005LIN", AccountStatus::Active));
}

#[tokio::test]
async fn remove_deactivates_and_a_missing_user_is_already_gone() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/services/scim/v2/Users/005A"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_resource(
            "005A",
            "a@example.com",
            "A",
            "One",
            true,
        )))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/services/scim/v2/Users/005A"))
        .and(body_json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": false}}]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_resource(
            "005A",
            "a@example.com",
            "A",
            "One",
            false,
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/services/scim/v2/Users/005GONE"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "404", "detail": "not found"
        })))
        .mount(&server)
        .await;
    let (connector, _) = salesforce(&server);
    connector.delete("005A").await.unwrap();
    connector.delete("005GONE").await.unwrap();
}

#[tokio::test]
async fn the_orgs_request_limit_is_a_rate_limit() {
    let server = MockServer::start().await;
    first_then(
        &server,
        || Mock::given(method("GET")).and(path("/services/scim/v2/Users")),
        ResponseTemplate::new(403).set_body_json(json!([{
            "message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"
        }])),
        ResponseTemplate::new(200).set_body_json(list(&[], 1, 0)),
    )
    .await;
    let (connector, sleeper) = salesforce(&server);
    connector.list(None).await.unwrap();
    assert_eq!(sleeper.waits().len(), 1, "{:?}", sleeper.waits());
}

/// The tenant is the org: its one `Organization` record.
#[tokio::test]
async fn the_tenant_is_the_orgs_organization_record() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/services/data/v62.0/query"))
        .and(query_param("q", "SELECT Id, Name FROM Organization LIMIT 1"))
        .and(header("authorization", "Bearer sf-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalSize": 1, "done": true,
            "records": [{"attributes": {"type": "Organization"}, "Id": "00D5g000004xyzEAA", "Name": "Acme"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = salesforce(&server);
    assert_eq!(
        connector.tenant().await.unwrap(),
        prov_connectors::VendorTenant {
            id: "00D5g000004xyzEAA".into(),
            name: "Acme".into()
        }
    );
}
