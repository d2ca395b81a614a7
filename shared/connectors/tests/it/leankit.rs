//! Planview LeanKit (AgilePlace): the v2 REST API at `https://{account}.leankit.com/io` with a
//! bearer API token, against a wiremock account. Only `acme.leankit.com` is routed to the
//! mock, so a call to any other host fails. Requests are checked for the method, path, query,
//! headers and body LeanKit documents.

use std::sync::Arc;
use std::time::Duration;

use prov_connectors::registry::{self, Tenant};
use prov_connectors::{AccountStatus, Connector, ConnectorError, NewAccount};
use serde_json::{Value, json};
use wiremock::matchers::{
    body_json, body_partial_json, header, method, path, query_param, query_param_is_missing,
};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::{RecordingSleeper, api_key_connector, first_then};

const TOKEN: &str = "lk-test-token";

fn tenant(account: &str) -> Tenant {
    Tenant::from([("account".to_owned(), account.to_owned())])
}

fn leankit(server: &MockServer, token: &str) -> (Box<dyn Connector>, Arc<RecordingSleeper>) {
    api_key_connector(
        server,
        "planview_leankit",
        &["acme.leankit.com"],
        &[("account", "acme")],
        &[("api_token", token)],
    )
}

/// A user as LeanKit's user endpoints return it.
fn user(id: &str, email: &str, last_access: Option<&str>) -> Value {
    json!({
        "id": id, "username": email, "firstName": "F", "lastName": id, "fullName": format!("F {id}"),
        "emailAddress": email, "lastAccess": last_access, "dateFormat": "MM/dd/yyyy",
        "administrator": false, "enabled": true, "deleted": false, "organizationId": "10187654101",
        "boardCreator": false, "timeZone": "Etc/GMT", "licenseType": "full", "externalUserName": null,
        "avatar": format!("https://acme.leankit.com/avatar/show/{id}/?s=25")
    })
}

fn page(users: Vec<Value>, total: usize, offset: usize) -> Value {
    let count = users.len();
    json!({
        "pageMeta": {"totalRecords": total, "offset": offset, "limit": 100,
                     "startRow": offset + 1, "endRow": offset + count},
        "users": users
    })
}

fn error(status: u16, message: &str) -> ResponseTemplate {
    let reason = match status {
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        422 => "Unprocessable Entity",
        _ => "Error",
    };
    ResponseTemplate::new(status)
        .set_body_json(json!({"statusCode": status, "error": reason, "message": message}))
}

fn ada() -> NewAccount {
    NewAccount {
        email: "ada@example.com".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
    }
}

const SEEN: &str = "2024-05-02T09:30:00.000Z";

#[tokio::test]
async fn the_account_must_be_exactly_one_subdomain_label() {
    let check = registry::spec("planview_leankit").unwrap().check;
    for bad in [
        "",
        "https://acme.leankit.com",
        "acme.leankit.com",
        "acme.evil.com",
        "Acme",
        "acme/io",
        "-acme",
        "acme-",
        "ac me",
        "acme:443",
        &"a".repeat(64),
    ] {
        let why = check(&tenant(bad), "api_token", TOKEN);
        assert!(matches!(why, Err(ConnectorError::Invalid(_))), "{bad:?}: {why:?}");
    }
    assert!(
        check(&Tenant::new(), "api_token", TOKEN).is_err(),
        "the account is required"
    );
    for good in ["acme", "acme-eu2", "7eleven"] {
        assert!(check(&tenant(good), "api_token", TOKEN).is_ok(), "{good}");
    }
    for bad_token in ["", "  ", "two words", "line\nbreak"] {
        assert!(
            check(&tenant("acme"), "api_token", bad_token).is_err(),
            "{bad_token:?}"
        );
    }
}

#[tokio::test]
async fn a_wrong_token_is_refused_at_verification() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/io/user/me"))
        .and(header("authorization", "Bearer wrong-token"))
        .respond_with(error(401, "Invalid credentials"))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = leankit(&server, "wrong-token");
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => assert!(why.contains("Invalid credentials"), "{why}"),
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn verification_needs_an_account_administrator() {
    let server = MockServer::start().await;
    let mut me = user("25012", "admin@example.com", Some(SEEN));
    first_then(
        &server,
        || {
            Mock::given(method("GET"))
                .and(path("/io/user/me"))
                .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
                .and(header("accept", "application/json"))
        },
        ResponseTemplate::new(200).set_body_json(me.clone()),
        {
            me["administrator"] = json!(true);
            ResponseTemplate::new(200).set_body_json(me)
        },
    )
    .await;
    let (connector, _) = leankit(&server, TOKEN);
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => assert!(why.contains("account administrator"), "{why}"),
        other => panic!("a board user's token must be refused, got {other:?}"),
    }
    connector.verify().await.unwrap();
}

#[tokio::test]
async fn a_forbidden_answer_says_an_administrator_is_needed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/io/user"))
        .respond_with(error(403, "Forbidden"))
        .mount(&server)
        .await;
    let (connector, _) = leankit(&server, TOKEN);
    match connector.list(None).await {
        Err(ConnectorError::Unauthorized(why)) => assert!(why.contains("account administrator"), "{why}"),
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn users_page_by_offset_and_limit_until_total_records() {
    let server = MockServer::start().await;
    let mut first: Vec<Value> = (0..100)
        .map(|i| user(&format!("1000{i:03}"), &format!("u{i}@example.com"), Some(SEEN)))
        .collect();
    first[1]["enabled"] = json!(false);
    first[2]["deleted"] = json!(true);
    first[3]["lastAccess"] = Value::Null;
    Mock::given(method("GET"))
        .and(path("/io/user"))
        .and(query_param("offset", "0"))
        .and(query_param("limit", "100"))
        .and(query_param_is_missing("search"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(first, 101, 0)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/io/user"))
        .and(query_param("offset", "100"))
        .and(query_param("limit", "100"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            vec![user("2000001", "last@example.com", Some(SEEN))],
            101,
            100,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = leankit(&server, TOKEN);
    let one = connector.list(None).await.unwrap();
    assert_eq!(one.accounts.len(), 100);
    assert_eq!(one.next.as_deref(), Some("100"));
    let statuses: Vec<AccountStatus> = one.accounts[..4].iter().map(|a| a.status).collect();
    assert_eq!(
        statuses,
        [
            AccountStatus::Active,
            AccountStatus::Suspended,
            AccountStatus::Deleted,
            AccountStatus::InviteSent
        ]
    );
    assert_eq!(one.accounts[0].id, "1000000");
    assert_eq!(one.accounts[0].email.as_deref(), Some("u0@example.com"));
    let two = connector.list(one.next.as_deref()).await.unwrap();
    assert_eq!(two.accounts.len(), 1);
    assert_eq!(two.accounts[0].email.as_deref(), Some("last@example.com"));
    assert_eq!(two.next, None, "101 of 101 listed");
}

#[tokio::test]
async fn create_posts_the_documented_body_with_a_fresh_random_password() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/io/user"))
        .and(query_param("search", "ada@example.com"))
        .and(query_param("offset", "0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(vec![], 0, 0)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/io/user"))
        .and(query_param("search", "grace@example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(vec![], 0, 0)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/io/user"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("content-type", "application/json"))
        .and(body_partial_json(
            json!({"emailAddress": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("10113041625", "ada@example.com", None)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/io/user"))
        .and(body_partial_json(json!({"emailAddress": "grace@example.com"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(user(
            "10113041626",
            "grace@example.com",
            None,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = leankit(&server, TOKEN);
    let created = connector.create(&ada()).await.unwrap();
    assert_eq!(created.id, "10113041625");
    assert_eq!(
        created.status,
        AccountStatus::InviteSent,
        "never signed in: the person must still set a password"
    );
    let grace = NewAccount {
        email: "grace@example.com".into(),
        first_name: "Grace".into(),
        last_name: "Hopper".into(),
    };
    connector.create(&grace).await.unwrap();

    let posts: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .map(|r: &Request| r.body_json().unwrap())
        .collect();
    assert_eq!(posts.len(), 2);
    let passwords: Vec<&str> = posts.iter().map(|b| b["password"].as_str().unwrap()).collect();
    for password in &passwords {
        assert_eq!(password.len(), 24);
        assert!(password.chars().any(|c| c.is_ascii_uppercase()), "{password}");
        assert!(password.chars().any(|c| c.is_ascii_lowercase()), "{password}");
        assert!(password.chars().any(|c| c.is_ascii_digit()), "{password}");
        assert!(password.chars().any(|c| !c.is_ascii_alphanumeric()), "{password}");
    }
    assert_ne!(passwords[0], passwords[1], "every user gets a fresh password");
    assert_eq!(
        posts[0].as_object().unwrap().len(),
        4,
        "only the documented required fields: {:?}",
        posts[0].as_object().unwrap().keys()
    );
}

#[tokio::test]
async fn create_of_an_existing_email_returns_that_user_without_posting() {
    let server = MockServer::start().await;
    // `search` is a keyword search: a near miss comes back too, and only the exact email is
    // the person's account.
    Mock::given(method("GET"))
        .and(path("/io/user"))
        .and(query_param("search", "ada@example.com"))
        .and(query_param("offset", "0"))
        .and(query_param("limit", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            vec![
                user("555", "ada@example.com.au", Some(SEEN)),
                user("556", "Ada@Example.com", Some(SEEN)),
            ],
            2,
            0,
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/io/user"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("999", "ada@example.com", None)))
        .expect(0)
        .mount(&server)
        .await;
    let (connector, _) = leankit(&server, TOKEN);
    let existing = connector.create(&ada()).await.unwrap();
    assert_eq!(existing.id, "556");
    assert_eq!(existing.status, AccountStatus::Active);
}

#[tokio::test]
async fn create_refused_because_the_email_was_just_taken_returns_that_account() {
    let server = MockServer::start().await;
    first_then(
        &server,
        || {
            Mock::given(method("GET"))
                .and(path("/io/user"))
                .and(query_param("search", "ada@example.com"))
        },
        ResponseTemplate::new(200).set_body_json(page(vec![], 0, 0)),
        ResponseTemplate::new(200).set_body_json(page(vec![user("777", "ada@example.com", None)], 1, 0)),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/io/user"))
        .respond_with(error(422, "A user with that email address already exists"))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = leankit(&server, TOKEN);
    assert_eq!(connector.create(&ada()).await.unwrap().id, "777");
}

#[tokio::test]
async fn create_without_a_free_licence_is_a_plan_limit() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/io/user"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(vec![], 0, 0)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/io/user"))
        .respond_with(error(422, "No user licenses available"))
        .mount(&server)
        .await;
    let (connector, _) = leankit(&server, TOKEN);
    match connector.create(&ada()).await {
        Err(ConnectorError::PlanRequired(why)) => assert!(why.contains("licen"), "{why}"),
        other => panic!("expected PlanRequired, got {other:?}"),
    }
}

#[tokio::test]
async fn a_created_user_is_pending_until_their_first_sign_in() {
    let server = MockServer::start().await;
    first_then(
        &server,
        || {
            Mock::given(method("GET"))
                .and(path("/io/user/10113041625"))
                .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        },
        ResponseTemplate::new(200).set_body_json(user("10113041625", "ada@example.com", None)),
        ResponseTemplate::new(200).set_body_json(user("10113041625", "ada@example.com", Some(SEEN))),
    )
    .await;
    let (connector, _) = leankit(&server, TOKEN);
    let pending = connector.get("10113041625").await.unwrap().unwrap();
    assert_eq!(pending.status, AccountStatus::InviteSent);
    let accepted = connector.get("10113041625").await.unwrap().unwrap();
    assert_eq!(accepted.status, AccountStatus::Active);
    assert_eq!(
        (accepted.first_name.as_deref(), accepted.last_name.as_deref()),
        (Some("F"), Some("10113041625"))
    );
}

#[tokio::test]
async fn a_user_gone_from_leankit_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/io/user/404404"))
        .respond_with(error(404, "Not Found"))
        .mount(&server)
        .await;
    let (connector, _) = leankit(&server, TOKEN);
    assert_eq!(connector.get("404404").await.unwrap(), None);
}

#[tokio::test]
async fn suspend_and_reactivate_set_enabled() {
    let server = MockServer::start().await;
    let with_enabled = |enabled: bool| {
        let mut u = user("25012", "ada@example.com", Some(SEEN));
        u["enabled"] = json!(enabled);
        u
    };
    for enabled in [false, true] {
        Mock::given(method("PATCH"))
            .and(path("/io/user/25012"))
            .and(header("authorization", "Bearer lk-test-token"))
            .and(body_json(json!({"enabled": enabled})))
            .respond_with(ResponseTemplate::new(200).set_body_json(with_enabled(enabled)))
            .expect(1)
            .mount(&server)
            .await;
    }
    let (connector, _) = leankit(&server, TOKEN);
    let caps = connector.capabilities();
    assert!(caps.create && caps.delete && caps.shows_invites && caps.suspend && caps.reactivate);
    assert_eq!(
        connector.suspend("25012").await.unwrap().status,
        AccountStatus::Suspended
    );
    assert_eq!(
        connector.reactivate("25012").await.unwrap().status,
        AccountStatus::Active
    );
}

#[tokio::test]
async fn suspending_a_missing_user_is_not_found_and_an_unchanged_answer_is_no_success() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/io/user/404404"))
        .respond_with(error(404, "Not Found"))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/io/user/25012"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("25012", "ada@example.com", Some(SEEN))))
        .mount(&server)
        .await;
    let (connector, _) = leankit(&server, TOKEN);
    assert_eq!(connector.suspend("404404").await, Err(ConnectorError::NotFound));
    assert!(matches!(
        connector.suspend("25012").await,
        Err(ConnectorError::Transient(why)) if why.contains("enabled")
    ));
}

#[tokio::test]
async fn delete_deletes_the_user() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/io/user/25012"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = leankit(&server, TOKEN);
    connector.delete("25012").await.unwrap();
}

#[tokio::test]
async fn delete_of_a_missing_user_is_done() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/io/user/404404"))
        .respond_with(error(404, "Not Found"))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = leankit(&server, TOKEN);
    connector.delete("404404").await.unwrap();
}

#[tokio::test]
async fn delete_refused_for_a_user_leankit_already_deleted_is_done() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/io/user/31337"))
        .respond_with(error(422, "User is deleted"))
        .expect(1)
        .mount(&server)
        .await;
    let mut gone = user("31337", "old@example.com", Some(SEEN));
    gone["deleted"] = json!(true);
    Mock::given(method("GET"))
        .and(path("/io/user/31337"))
        .respond_with(ResponseTemplate::new(200).set_body_json(gone))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = leankit(&server, TOKEN);
    connector.delete("31337").await.unwrap();
}

#[tokio::test]
async fn leankits_429_retry_after_date_is_waited_for() {
    let server = MockServer::start().await;
    // A wait within what a connector waits (a later one is handed back: see `waits`).
    let at = chrono::Utc::now() + chrono::Duration::seconds(8);
    let retry_after = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let reset = at.timestamp().to_string();
    let mut me = user("25012", "admin@example.com", Some(SEEN));
    me["administrator"] = json!(true);
    first_then(
        &server,
        || Mock::given(method("GET")).and(path("/io/user/me")),
        ResponseTemplate::new(429)
            .insert_header("retry-after", retry_after.as_str())
            .insert_header("x-ratelimit-limit", "120")
            .insert_header("x-ratelimit-remaining", "0")
            .insert_header("x-ratelimit-reset", reset.as_str())
            .set_body_json(
                json!({"statusCode": 429, "error": "Too Many Requests", "message": "Rate limit exceeded"}),
            ),
        ResponseTemplate::new(200).set_body_json(me),
    )
    .await;
    let (connector, sleeper) = leankit(&server, TOKEN);
    connector.verify().await.unwrap();
    let waits = sleeper.waits();
    assert_eq!(waits.len(), 1, "{waits:?}");
    assert!(
        waits[0] <= Duration::from_secs(8) && waits[0] >= Duration::from_secs(6),
        "{waits:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

/// The tenant is the account of the token's own user (`organizationId` of `/io/user/me`).
#[tokio::test]
async fn the_tenant_is_the_account_of_the_tokens_user() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/io/user/me"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "478440842", "username": "admin@acme.example", "emailAddress": "admin@acme.example",
            "administrator": true, "enabled": true, "deleted": false, "organizationId": "10187654101"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = leankit(&server, TOKEN);
    assert_eq!(
        connector.tenant().await.unwrap(),
        prov_connectors::VendorTenant {
            id: "10187654101".into(),
            name: "acme.leankit.com".into()
        }
    );
}
