//! Microsoft 365: OAuth at `login.microsoftonline.com/organizations` and the tenant's users
//! through Microsoft Graph v1.0, against wiremock. Requests are checked for the method, path,
//! query, headers and body Microsoft Graph documents.

use std::sync::Arc;
use std::time::Duration;

use prov_connectors::oauth::{self, CodeGrant, OAuthClientConfig};
use prov_connectors::registry;
use prov_connectors::{AccountStatus, Connector, ConnectorError, NewAccount, NewWorkAccount};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use wiremock::matchers::{
    body_json, body_partial_json, body_string_contains, header, method, path, query_param,
    query_param_is_missing,
};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{RecordingSleeper, authorize_in_production, first_then, oauth_connector, vendor_http};

const HOSTS: &[&str] = &["login.microsoftonline.com", "graph.microsoft.com"];
const TOKEN: &str = "m365-token";
const AUTH: &str = "Bearer m365-token";
const USER_FIELDS: &str = "id,userPrincipalName,mail,givenName,surname,displayName,accountEnabled";
const FIND_FIELDS: &str =
    "id,userPrincipalName,mail,givenName,surname,displayName,accountEnabled,assignedLicenses,usageLocation";
/// Microsoft 365 Business Basic-like: Exchange Online (Plan 1).
const BASIC: &str = "3b555118-0000-4000-8000-000000000001";
/// Business Standard-like: Exchange Online too, fewer free units.
const STANDARD: &str = "f245ecc8-0000-4000-8000-000000000002";
/// Office 365 E3-like: Exchange Online, every unit assigned.
const E3: &str = "6fd2c87f-0000-4000-8000-000000000003";
/// Power BI-like: only the Exchange "foundation" plan (no mailbox), many free units.
const POWER_BI: &str = "a403ebcc-0000-4000-8000-000000000004";

fn client() -> OAuthClientConfig {
    OAuthClientConfig {
        client_id: "m365-client".into(),
        client_secret: SecretString::from("m365-secret"),
    }
}

fn m365(server: &MockServer) -> (Box<dyn Connector>, Arc<RecordingSleeper>) {
    oauth_connector(server, "microsoft_365", HOSTS, TOKEN)
}

fn user(id: &str, upn: &str, mail: Option<&str>, enabled: bool) -> Value {
    json!({"id": id, "userPrincipalName": upn, "mail": mail, "givenName": "F", "surname": id,
           "displayName": format!("F {id}"), "accountEnabled": enabled})
}

fn graph_error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message,
           "innerError": {"date": "2025-01-01T00:00:00", "request-id": "r-1", "client-request-id": "c-1"}}})
}

fn sku(id: &str, part: &str, enabled: i64, consumed: i64, plans: &[&str]) -> Value {
    let plans: Vec<Value> = plans
        .iter()
        .map(|p| {
            json!({"servicePlanId": format!("plan-{p}"), "servicePlanName": p,
                        "provisioningStatus": "Success", "appliesTo": "User"})
        })
        .collect();
    json!({"id": format!("tenant_{id}"), "skuId": id, "skuPartNumber": part, "appliesTo": "User",
           "capabilityStatus": "Enabled", "consumedUnits": consumed,
           "prepaidUnits": {"enabled": enabled, "suspended": 0, "warning": 0, "lockedOut": 0},
           "servicePlans": plans})
}

fn ada() -> NewWorkAccount {
    NewWorkAccount {
        work_email: "ada.lovelace@contoso.com".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        personal_email: Some("ada@example.org".into()),
    }
}

async fn mount_domains(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/v1.0/domains"))
        .and(header("authorization", AUTH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"id": "contoso.com", "isVerified": true, "isDefault": true, "authenticationType": "Managed"},
            {"id": "contoso.onmicrosoft.com", "isVerified": true, "isDefault": false, "isInitial": true},
            {"id": "pending.contoso.com", "isVerified": false, "isDefault": false}
        ]})))
        .mount(server)
        .await;
}

async fn mount_organization(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/v1.0/organization"))
        .and(query_param("$select", "id,countryLetterCode"))
        .and(header("authorization", AUTH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"id": "84da47f7-0000-4000-8000-00000000aaaa", "countryLetterCode": "GB"}
        ]})))
        .mount(server)
        .await;
}

async fn mount_skus(server: &MockServer, skus: Vec<Value>) {
    Mock::given(method("GET"))
        .and(path("/v1.0/subscribedSkus"))
        .and(header("authorization", AUTH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": skus})))
        .mount(server)
        .await;
}

fn filter(email: &str) -> String {
    let literal = format!("'{}'", email.replace('\'', "''"));
    format!("userPrincipalName eq {literal} or mail eq {literal}")
}

fn find(email: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .and(query_param("$filter", filter(email).as_str()))
        .and(query_param("$select", FIND_FIELDS))
        .and(header("authorization", AUTH))
}

fn none() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"value": []}))
}

fn assign_body(sku: &str) -> Value {
    json!({"addLicenses": [{"skuId": sku, "disabledPlans": []}], "removeLicenses": []})
}

#[tokio::test]
async fn the_authorize_url_asks_for_graph_user_scopes_offline_access_and_pkce() {
    let (url, query, state) = authorize_in_production("microsoft_365", &client());
    assert_eq!(url.host_str(), Some("login.microsoftonline.com"));
    assert_eq!(url.path(), "/organizations/oauth2/v2.0/authorize");
    assert_eq!(
        query["scope"],
        "User.ReadWrite.All Directory.Read.All offline_access"
    );
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["client_id"], "m365-client");
    assert_eq!(query["code_challenge_method"], "S256");
    assert!(query["code_challenge"].len() >= 43);
    assert_eq!(query["state"], state);
}

#[tokio::test]
async fn the_code_exchange_and_refresh_send_the_client_secret_in_the_body_and_keep_the_rotated_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/organizations/oauth2/v2.0/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("client_id=m365-client"))
        .and(body_string_contains("client_secret=m365-secret"))
        .and(body_string_contains("code=the-code"))
        .and(body_string_contains(format!("code_verifier={}", "v".repeat(43))))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 4197, "ext_expires_in": 4197,
            "scope": "https://graph.microsoft.com/Directory.Read.All https://graph.microsoft.com/User.ReadWrite.All",
            "access_token": "m365-access-1", "refresh_token": "m365-refresh-1"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/organizations/oauth2/v2.0/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=m365-refresh-1"))
        .and(body_string_contains("client_secret=m365-secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3599, "access_token": "m365-access-2",
            "refresh_token": "m365-refresh-2"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (http, _) = vendor_http(&server, HOSTS);
    let spec = registry::spec("microsoft_365").unwrap();
    let verifier = SecretString::from("v".repeat(43));
    let grant = CodeGrant {
        redirect: "https://api.example.test/v1/oauth/callback",
        code: "the-code",
        verifier: &verifier,
        environment: None,
    };
    let now = chrono::Utc::now();
    let tokens = oauth::exchange_code(http.clone(), spec, "com_1", &client(), grant, now)
        .await
        .unwrap();
    assert_eq!(tokens.access_token.expose_secret(), "m365-access-1");
    assert_eq!(tokens.expires_at, Some(now + chrono::Duration::seconds(4197)));
    let refreshed = oauth::refresh(
        http,
        spec,
        "com_1",
        &client(),
        tokens.refresh_token.as_ref().unwrap(),
        None,
        now,
    )
    .await
    .unwrap();
    assert_eq!(refreshed.access_token.expose_secret(), "m365-access-2");
    assert_eq!(refreshed.refresh_token.unwrap().expose_secret(), "m365-refresh-2");
}

#[tokio::test]
async fn a_wrong_token_is_refused_at_verification() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .and(query_param("$top", "1"))
        .and(query_param("$select", "id"))
        .and(header("authorization", AUTH))
        .respond_with(ResponseTemplate::new(401).set_body_json(graph_error(
            "InvalidAuthenticationToken",
            "Access token validation failure. Invalid audience.",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = m365(&server);
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => {
            assert!(why.contains("InvalidAuthenticationToken"), "{why}")
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn verification_passes_with_one_user_read() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .and(query_param("$top", "1"))
        .and(query_param("$select", "id"))
        .and(header("authorization", AUTH))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"value": [{"id": "u1"}],
            "@odata.nextLink": "https://graph.microsoft.com/v1.0/users?$top=1&$select=id&$skiptoken=X"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = m365(&server);
    connector.verify().await.unwrap();
}

#[tokio::test]
async fn without_admin_consent_or_a_role_graph_refuses_and_the_error_says_what_to_do() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .respond_with(ResponseTemplate::new(403).set_body_json(graph_error(
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )))
        .mount(&server)
        .await;
    let (connector, _) = m365(&server);
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => {
            assert!(why.contains("Authorization_RequestDenied"), "{why}");
            assert!(why.contains("admin consent"), "{why}");
            assert!(why.contains("User Administrator"), "{why}");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn users_page_by_the_skiptoken_of_the_next_link() {
    let server = MockServer::start().await;
    let next = format!(
        "https://graph.microsoft.com/v1.0/users?$select={USER_FIELDS}&$top=999&$skiptoken=RFNwdAIAAQ%27page2%27"
    );
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .and(query_param("$select", USER_FIELDS))
        .and(query_param("$top", "999"))
        .and(query_param_is_missing("$skiptoken"))
        .and(header("authorization", AUTH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users(id,userPrincipalName)",
            "@odata.nextLink": next,
            "value": [user("u1", "a@contoso.com", Some("a@contoso.com"), true)]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .and(query_param("$select", USER_FIELDS))
        .and(query_param("$top", "999"))
        .and(query_param("$skiptoken", "RFNwdAIAAQ'page2'"))
        .and(header("authorization", AUTH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [user("u2", "b@contoso.onmicrosoft.com", None, false)]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = m365(&server);
    let first = connector.list(None).await.unwrap();
    assert_eq!(first.accounts.len(), 1);
    assert_eq!(first.accounts[0].email.as_deref(), Some("a@contoso.com"));
    assert_eq!(first.accounts[0].status, AccountStatus::Active);
    assert_eq!(first.next.as_deref(), Some("RFNwdAIAAQ'page2'"));
    let second = connector.list(first.next.as_deref()).await.unwrap();
    // No mailbox yet: the sign-in name is the address; `accountEnabled: false` is suspended.
    assert_eq!(
        second.accounts[0].email.as_deref(),
        Some("b@contoso.onmicrosoft.com")
    );
    assert_eq!(second.accounts[0].status, AccountStatus::Suspended);
    assert_eq!(second.next, None);
}

#[tokio::test]
async fn a_next_link_off_graphs_users_list_is_not_followed() {
    for link in [
        "https://graph.microsoft.com.evil.example/v1.0/users?$skiptoken=abc",
        "https://evil.example/v1.0/users?$skiptoken=abc",
        "http://graph.microsoft.com/v1.0/users?$skiptoken=abc",
        "https://graph.microsoft.com/v1.0/groups?$skiptoken=abc",
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1.0/users"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "@odata.nextLink": link,
                "value": [user("u1", "a@contoso.com", Some("a@contoso.com"), true)]
            })))
            .expect(1)
            .mount(&server)
            .await;
        let (connector, _) = m365(&server);
        let page = connector.list(None).await.unwrap();
        assert_eq!(page.accounts.len(), 1);
        assert_eq!(page.next, None, "{link}");
    }
}

#[tokio::test]
async fn find_by_email_filters_on_the_sign_in_name_or_address_with_quotes_doubled() {
    let server = MockServer::start().await;
    find("o'brien@contoso.com")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            user("u9", "O'Brien@contoso.com", Some("o'brien@contoso.com"), true)
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    // No ConsistencyLevel: `eq` on these properties works without advanced queries.
    Mock::given(header("consistencylevel", "eventual"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = m365(&server);
    let found = connector
        .find_by_email("o'brien@contoso.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, "u9");
    // A control character cannot be searched for; nothing is sent.
    assert!(matches!(
        connector.find_by_email("a@contoso.com\n").await,
        Err(ConnectorError::Invalid(_))
    ));
    assert!(matches!(
        connector.find_by_email("a\u{7}b@contoso.com").await,
        Err(ConnectorError::Invalid(_))
    ));
}

#[tokio::test]
async fn create_on_a_tenant_domain_makes_a_licensed_member_and_an_outside_address_is_refused() {
    let server = MockServer::start().await;
    mount_domains(&server).await;
    mount_organization(&server).await;
    mount_skus(
        &server,
        vec![sku(
            BASIC,
            "O365_BUSINESS_ESSENTIALS",
            10,
            2,
            &["EXCHANGE_S_STANDARD"],
        )],
    )
    .await;
    find("grace@contoso.com")
        .respond_with(none())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/users"))
        .and(header("authorization", AUTH))
        .and(body_partial_json(json!({
            "accountEnabled": true, "displayName": "Grace Hopper", "givenName": "Grace", "surname": "Hopper",
            "mailNickname": "grace", "userPrincipalName": "grace@contoso.com", "usageLocation": "GB",
            "passwordProfile": {"forceChangePasswordNextSignIn": true}
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(user("u7", "grace@contoso.com", None, true)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/users/u7/assignLicense"))
        .and(body_json(assign_body(BASIC)))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("u7", "grace@contoso.com", None, true)))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = m365(&server);
    let created = connector
        .create(&NewAccount {
            email: "grace@contoso.com".into(),
            first_name: "Grace".into(),
            last_name: "Hopper".into(),
        })
        .await
        .unwrap();
    assert_eq!(created.id, "u7");
    assert_eq!(created.status, AccountStatus::Active);
    assert!(!connector.capabilities().shows_invites);
    // No personal email on a plain create: no `otherMails`.
    let posted = server.received_requests().await.unwrap();
    let post = posted
        .iter()
        .find(|r| r.method.as_str() == "POST" && r.url.path() == "/v1.0/users")
        .unwrap();
    assert!(post.body_json::<Value>().unwrap().get("otherMails").is_none());

    // An outside address (or one on an unverified domain) would be a guest: refused.
    for outside in ["grace@gmail.com", "grace@pending.contoso.com"] {
        match connector
            .create(&NewAccount {
                email: outside.into(),
                first_name: "Grace".into(),
                last_name: "Hopper".into(),
            })
            .await
        {
            Err(ConnectorError::Invalid(why)) => {
                assert!(why.contains("verified domains"), "{why}");
                assert!(why.contains("contoso.com"), "{why}");
                assert!(why.contains("guests"), "{why}");
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn create_work_account_creates_the_user_with_a_strong_one_time_password_and_a_mailbox_licence() {
    let server = MockServer::start().await;
    mount_domains(&server).await;
    mount_organization(&server).await;
    mount_skus(
        &server,
        vec![
            sku(
                E3,
                "ENTERPRISEPACK",
                5,
                5,
                &["EXCHANGE_S_ENTERPRISE", "SHAREPOINTENTERPRISE"],
            ),
            sku(
                POWER_BI,
                "POWER_BI_STANDARD",
                1_000_000,
                3,
                &["EXCHANGE_S_FOUNDATION", "BI_AZURE_P0"],
            ),
            sku(STANDARD, "O365_BUSINESS_PREMIUM", 3, 2, &["EXCHANGE_S_STANDARD"]),
            sku(
                BASIC,
                "O365_BUSINESS_ESSENTIALS",
                10,
                7,
                &["EXCHANGE_S_STANDARD", "TEAMS1"],
            ),
        ],
    )
    .await;
    find("ada.lovelace@contoso.com")
        .respond_with(none())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/users"))
        .and(header("authorization", AUTH))
        .and(header("content-type", "application/json"))
        .and(body_partial_json(json!({
            "accountEnabled": true,
            "displayName": "Ada Lovelace",
            "givenName": "Ada",
            "surname": "Lovelace",
            "mailNickname": "ada.lovelace",
            "userPrincipalName": "ada.lovelace@contoso.com",
            "usageLocation": "GB",
            "otherMails": ["ada@example.org"],
            "passwordProfile": {"forceChangePasswordNextSignIn": true}
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(user(
            "u-ada",
            "ada.lovelace@contoso.com",
            None,
            true,
        )))
        .expect(1)
        .mount(&server)
        .await;
    // The Exchange licence with the most free units (3 of Business Basic); not E3 (none
    // free), not Power BI (its Exchange plan is the foundation, no mailbox).
    Mock::given(method("POST"))
        .and(path("/v1.0/users/u-ada/assignLicense"))
        .and(header("authorization", AUTH))
        .and(body_json(assign_body(BASIC)))
        .respond_with(ResponseTemplate::new(200).set_body_json(user(
            "u-ada",
            "ada.lovelace@contoso.com",
            None,
            true,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = m365(&server);
    let created = connector.create_work_account(&ada()).await.unwrap();
    assert_eq!(created.id, "u-ada");
    assert_eq!(created.email.as_deref(), Some("ada.lovelace@contoso.com"));

    let received = server.received_requests().await.unwrap();
    let post = received
        .iter()
        .find(|r| r.method.as_str() == "POST" && r.url.path() == "/v1.0/users")
        .unwrap();
    let body: Value = post.body_json().unwrap();
    let password = body["passwordProfile"]["password"].as_str().unwrap();
    assert!(password.len() >= 16, "too short: {}", password.len());
    assert!(password.chars().any(|c| c.is_ascii_lowercase()));
    assert!(password.chars().any(|c| c.is_ascii_uppercase()));
    assert!(password.chars().any(|c| c.is_ascii_digit()));
    assert!(password.chars().any(|c| !c.is_ascii_alphanumeric()));
    assert!(!format!("{created:?}").contains(password));
    // The order Graph needs: the tenant's domains, the user looked up, the licences, the
    // organization's country (usage location), then create, then licence.
    let order: Vec<String> = received
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert_eq!(
        order,
        [
            "GET /v1.0/domains",
            "GET /v1.0/users",
            "GET /v1.0/subscribedSkus",
            "GET /v1.0/organization",
            "POST /v1.0/users",
            "POST /v1.0/users/u-ada/assignLicense",
        ]
    );
}

#[tokio::test]
async fn without_a_free_mailbox_licence_nothing_is_created() {
    let server = MockServer::start().await;
    mount_domains(&server).await;
    mount_organization(&server).await;
    mount_skus(
        &server,
        vec![
            sku(E3, "ENTERPRISEPACK", 5, 5, &["EXCHANGE_S_ENTERPRISE"]),
            sku(POWER_BI, "POWER_BI_STANDARD", 100, 0, &["EXCHANGE_S_FOUNDATION"]),
        ],
    )
    .await;
    find("ada.lovelace@contoso.com")
        .respond_with(none())
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = m365(&server);
    match connector.create_work_account(&ada()).await {
        Err(ConnectorError::PlanRequired(why)) => {
            assert!(why.contains("Exchange Online mailbox"), "{why}");
            assert!(why.contains("ENTERPRISEPACK"), "{why}");
        }
        other => panic!("expected PlanRequired, got {other:?}"),
    }
}

#[tokio::test]
async fn a_licence_gone_meanwhile_keeps_the_user_and_the_next_attempt_licenses_it() {
    let server = MockServer::start().await;
    mount_domains(&server).await;
    mount_organization(&server).await;
    mount_skus(
        &server,
        vec![sku(
            BASIC,
            "O365_BUSINESS_ESSENTIALS",
            10,
            9,
            &["EXCHANGE_S_STANDARD"],
        )],
    )
    .await;
    // Not there at first; there (created, unlicensed) on the retry.
    let mut unlicensed = user("u-ada", "ada.lovelace@contoso.com", None, true);
    unlicensed["assignedLicenses"] = json!([]);
    unlicensed["usageLocation"] = json!("GB");
    first_then(
        &server,
        || find("ada.lovelace@contoso.com"),
        none(),
        ResponseTemplate::new(200).set_body_json(json!({"value": [unlicensed]})),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/users"))
        .respond_with(ResponseTemplate::new(201).set_body_json(user(
            "u-ada",
            "ada.lovelace@contoso.com",
            None,
            true,
        )))
        .expect(1)
        .mount(&server)
        .await;
    first_then(
        &server,
        || {
            Mock::given(method("POST"))
                .and(path("/v1.0/users/u-ada/assignLicense"))
                .and(body_json(assign_body(BASIC)))
        },
        ResponseTemplate::new(400).set_body_json(graph_error(
            "Request_BadRequest",
            "Subscription with SKU 3b555118 does not have any available licenses.",
        )),
        ResponseTemplate::new(200).set_body_json(user("u-ada", "ada.lovelace@contoso.com", None, true)),
    )
    .await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = m365(&server);
    match connector.create_work_account(&ada()).await {
        Err(ConnectorError::PlanRequired(why)) => {
            assert!(why.contains("was created"), "{why}");
            assert!(why.contains("ada.lovelace@contoso.com"), "{why}");
        }
        other => panic!("expected PlanRequired, got {other:?}"),
    }
    let retried = connector.create_work_account(&ada()).await.unwrap();
    assert_eq!(retried.id, "u-ada");
    let assigns = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/assignLicense"))
        .count();
    assert_eq!(assigns, 2);
}

#[tokio::test]
async fn an_existing_user_principal_name_resolves_to_the_existing_user() {
    let server = MockServer::start().await;
    mount_domains(&server).await;
    mount_organization(&server).await;
    mount_skus(
        &server,
        vec![sku(
            BASIC,
            "O365_BUSINESS_ESSENTIALS",
            10,
            2,
            &["EXCHANGE_S_STANDARD"],
        )],
    )
    .await;
    let mut existing = user(
        "u-old",
        "ada.lovelace@contoso.com",
        Some("ada.lovelace@contoso.com"),
        true,
    );
    existing["assignedLicenses"] = json!([{"skuId": BASIC, "disabledPlans": []}]);
    existing["usageLocation"] = json!("GB");
    // Created by someone else between our lookup and our create.
    first_then(
        &server,
        || find("ada.lovelace@contoso.com"),
        none(),
        ResponseTemplate::new(200).set_body_json(json!({"value": [existing]})),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/users"))
        .respond_with(ResponseTemplate::new(400).set_body_json(graph_error(
            "Request_BadRequest",
            "Another object with the same value for property userPrincipalName already exists.",
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1.0/users/u-old/assignLicense"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = m365(&server);
    let found = connector.create_work_account(&ada()).await.unwrap();
    assert_eq!(found.id, "u-old");
}

#[tokio::test]
async fn create_of_an_existing_licensed_user_posts_nothing() {
    let server = MockServer::start().await;
    mount_domains(&server).await;
    mount_skus(
        &server,
        vec![sku(
            BASIC,
            "O365_BUSINESS_ESSENTIALS",
            10,
            10,
            &["EXCHANGE_S_STANDARD"],
        )],
    )
    .await;
    let mut existing = user("u-old", "grace@contoso.com", Some("grace@contoso.com"), true);
    existing["assignedLicenses"] = json!([{"skuId": BASIC, "disabledPlans": []}]);
    find("grace@contoso.com")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [existing]})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = m365(&server);
    let found = connector
        .create(&NewAccount {
            email: "grace@contoso.com".into(),
            first_name: "Grace".into(),
            last_name: "Hopper".into(),
        })
        .await
        .unwrap();
    assert_eq!(found.id, "u-old");
    assert_eq!(found.status, AccountStatus::Active);
}

#[tokio::test]
async fn suspend_and_reactivate_set_account_enabled() {
    let server = MockServer::start().await;
    for (enabled, answer) in [(false, "suspended"), (true, "active")] {
        Mock::given(method("PATCH"))
            .and(path("/v1.0/users/u1"))
            .and(header("authorization", AUTH))
            .and(body_json(json!({"accountEnabled": enabled})))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .named(answer)
            .mount(&server)
            .await;
    }
    first_then(
        &server,
        || {
            Mock::given(method("GET"))
                .and(path("/v1.0/users/u1"))
                .and(query_param("$select", USER_FIELDS))
        },
        ResponseTemplate::new(200).set_body_json(user("u1", "a@contoso.com", Some("a@contoso.com"), false)),
        ResponseTemplate::new(200).set_body_json(user("u1", "a@contoso.com", Some("a@contoso.com"), true)),
    )
    .await;
    Mock::given(method("PATCH"))
        .and(path("/v1.0/users/gone"))
        .respond_with(ResponseTemplate::new(404).set_body_json(graph_error(
            "Request_ResourceNotFound",
            "Resource 'gone' does not exist or one of its queried reference-property objects are not present.",
        )))
        .mount(&server)
        .await;
    let (connector, _) = m365(&server);
    assert!(connector.capabilities().suspend && connector.capabilities().reactivate);
    assert_eq!(
        connector.suspend("u1").await.unwrap().status,
        AccountStatus::Suspended
    );
    assert_eq!(
        connector.reactivate("u1").await.unwrap().status,
        AccountStatus::Active
    );
    assert_eq!(connector.suspend("gone").await, Err(ConnectorError::NotFound));
}

#[tokio::test]
async fn delete_removes_the_user_and_a_missing_one_is_already_gone() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/v1.0/users/u1"))
        .and(header("authorization", AUTH))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1.0/users/gone"))
        .respond_with(ResponseTemplate::new(404).set_body_json(graph_error(
            "Request_ResourceNotFound",
            "Resource 'gone' does not exist or one of its queried reference-property objects are not present.",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = m365(&server);
    connector.delete("u1").await.unwrap();
    connector.delete("gone").await.unwrap();
}

#[tokio::test]
async fn work_email_domains_are_the_tenants_verified_domains() {
    let server = MockServer::start().await;
    mount_domains(&server).await;
    let (connector, _) = m365(&server);
    assert_eq!(
        connector.work_email_domains().await.unwrap(),
        ["contoso.com", "contoso.onmicrosoft.com"]
    );
}

#[tokio::test]
async fn throttling_waits_for_retry_after_then_retries() {
    let server = MockServer::start().await;
    first_then(
        &server,
        || Mock::given(method("GET")).and(path("/v1.0/users")),
        ResponseTemplate::new(429)
            .insert_header("Retry-After", "7")
            .insert_header("x-ms-throttle-limit-percentage", "1.0")
            .set_body_json(graph_error("TooManyRequests", "Too many requests.")),
        ResponseTemplate::new(200).set_body_json(json!({"value": []})),
    )
    .await;
    let (connector, sleeper) = m365(&server);
    let page = connector.list(None).await.unwrap();
    assert!(page.accounts.is_empty());
    assert!(
        sleeper.waits().contains(&Duration::from_secs(7)),
        "{:?}",
        sleeper.waits()
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_503_with_retry_after_is_waited_for_on_reads() {
    let server = MockServer::start().await;
    first_then(
        &server,
        || Mock::given(method("GET")).and(path("/v1.0/domains")),
        ResponseTemplate::new(503)
            .insert_header("Retry-After", "3")
            .set_body_json(graph_error("serviceNotAvailable", "Service unavailable.")),
        ResponseTemplate::new(200)
            .set_body_json(json!({"value": [{"id": "contoso.com", "isVerified": true}]})),
    )
    .await;
    let (connector, sleeper) = m365(&server);
    assert_eq!(connector.work_email_domains().await.unwrap(), ["contoso.com"]);
    assert!(
        sleeper.waits().contains(&Duration::from_secs(3)),
        "{:?}",
        sleeper.waits()
    );
}

#[tokio::test]
async fn an_existing_user_without_a_mailbox_licence_gets_a_usage_location_and_one() {
    let server = MockServer::start().await;
    mount_domains(&server).await;
    mount_organization(&server).await;
    mount_skus(
        &server,
        vec![
            sku(POWER_BI, "POWER_BI_STANDARD", 100, 1, &["EXCHANGE_S_FOUNDATION"]),
            sku(BASIC, "O365_BUSINESS_ESSENTIALS", 10, 2, &["EXCHANGE_S_STANDARD"]),
        ],
    )
    .await;
    // Made in the admin center with only a Power BI licence and no usage location.
    let mut existing = user("u-old", "ada.lovelace@contoso.com", None, true);
    existing["assignedLicenses"] = json!([{"skuId": POWER_BI, "disabledPlans": []}]);
    existing["usageLocation"] = Value::Null;
    find("ada.lovelace@contoso.com")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [existing]})))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/v1.0/users/u-old"))
        .and(header("authorization", AUTH))
        .and(body_json(json!({"usageLocation": "GB"})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/users/u-old/assignLicense"))
        .and(body_json(assign_body(BASIC)))
        .respond_with(ResponseTemplate::new(200).set_body_json(user(
            "u-old",
            "ada.lovelace@contoso.com",
            None,
            true,
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/users"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = m365(&server);
    assert_eq!(connector.create_work_account(&ada()).await.unwrap().id, "u-old");
}

#[tokio::test]
async fn a_just_created_user_not_yet_replicated_is_licensed_after_a_short_wait() {
    let server = MockServer::start().await;
    mount_domains(&server).await;
    mount_organization(&server).await;
    mount_skus(
        &server,
        vec![sku(
            BASIC,
            "O365_BUSINESS_ESSENTIALS",
            10,
            2,
            &["EXCHANGE_S_STANDARD"],
        )],
    )
    .await;
    find("ada.lovelace@contoso.com")
        .respond_with(none())
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/users"))
        .respond_with(ResponseTemplate::new(201).set_body_json(user(
            "u-ada",
            "ada.lovelace@contoso.com",
            None,
            true,
        )))
        .expect(1)
        .mount(&server)
        .await;
    first_then(
        &server,
        || {
            Mock::given(method("POST"))
                .and(path("/v1.0/users/u-ada/assignLicense"))
                .and(body_json(assign_body(BASIC)))
        },
        ResponseTemplate::new(404).set_body_json(graph_error(
            "Request_ResourceNotFound",
            "Resource 'u-ada' does not exist or one of its queried reference-property objects are not present.",
        )),
        ResponseTemplate::new(200).set_body_json(user("u-ada", "ada.lovelace@contoso.com", None, true)),
    )
    .await;
    let (connector, sleeper) = m365(&server);
    assert_eq!(connector.create_work_account(&ada()).await.unwrap().id, "u-ada");
    assert_eq!(sleeper.waits(), [Duration::from_secs(2)]);
}

/// The tenant is the organization Graph answers: its id is the Entra tenant id.
#[tokio::test]
async fn the_tenant_is_the_entra_organization() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/organization"))
        .and(query_param("$select", "id,displayName"))
        .and(header("authorization", AUTH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"id": "84da47f7-0000-4000-8000-00000000aaaa", "displayName": "Acme Ltd"}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = m365(&server);
    assert_eq!(
        connector.tenant().await.unwrap(),
        prov_connectors::VendorTenant {
            id: "84da47f7-0000-4000-8000-00000000aaaa".into(),
            name: "Acme Ltd".into()
        }
    );
}
