//! LastPass: the Enterprise API (`POST https://lastpass.com/enterpriseapi.php`, one command
//! per call), against a wiremock LastPass. Every request is checked for its exact JSON body:
//! the account number (`cid`) and the provisioning hash (`provhash`) in the body, never in a
//! header, next to the command and its data. LastPass refuses commands inside HTTP 200
//! answers (`{"status": "FAIL", "error": …}`), which the tests answer too.

use std::sync::Arc;
use std::time::Duration;

use prov_connectors::registry::{self, Tenant};
use prov_connectors::{AccountStatus, Connector, ConnectorError, NewAccount};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

use crate::support::{RecordingSleeper, api_key_connector, first_then};

const ENDPOINT: &str = "/enterpriseapi.php";
const CID: u64 = 1234567;
const HASH: &str = "test-provisioning-hash";

fn lastpass_in(server: &MockServer, region: &str, hash: &str) -> (Box<dyn Connector>, Arc<RecordingSleeper>) {
    let host = if region == "eu" {
        "lastpass.eu"
    } else {
        "lastpass.com"
    };
    api_key_connector(
        server,
        "lastpass",
        &[host],
        &[("region", region), ("cid", "1234567")],
        &[("provhash", hash)],
    )
}

fn lastpass(server: &MockServer) -> (Box<dyn Connector>, Arc<RecordingSleeper>) {
    lastpass_in(server, "us", HASH)
}

/// A connection whose admin chose LastPass's destructive delete as the removal.
fn lastpass_deleting(server: &MockServer) -> (Box<dyn Connector>, Arc<RecordingSleeper>) {
    api_key_connector(
        server,
        "lastpass",
        &["lastpass.com"],
        &[("cid", "1234567"), ("removal", "delete_account")],
        &[("provhash", HASH)],
    )
}

/// The whole body LastPass documents for `cmd`: credentials, command, data.
fn body(cmd: &str, data: Value) -> Value {
    json!({"cid": CID, "provhash": HASH, "cmd": cmd, "data": data})
}

/// A POST of exactly `cmd` with `data` (and the credentials) as JSON.
fn command(cmd: &str, data: Value) -> MockBuilder {
    Mock::given(method("POST"))
        .and(path(ENDPOINT))
        .and(header("content-type", "application/json"))
        .and(body_json(body(cmd, data)))
}

fn lookup(email: &str) -> MockBuilder {
    command("getuserdata", json!({"username": email}))
}

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"status": "OK"}))
}

fn fail(error: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"status": "FAIL", "error": [error]}))
}

fn user(email: &str, name: &str, disabled: bool, never_logged_in: bool) -> Value {
    json!({
        "username": email, "fullname": name, "mpstrength": "100", "created": "2024-03-12 10:02:56",
        "last_pw_change": "2024-05-19 10:58:33", "last_login": "2024-05-29 11:45:05",
        "disabled": disabled, "neverloggedin": never_logged_in, "linked": "", "sites": 7,
        "notes": 1, "formfills": 0, "applications": 0, "attachments": 0, "groups": []
    })
}

fn users(entries: &[(&str, Value)]) -> ResponseTemplate {
    let map: serde_json::Map<String, Value> = entries
        .iter()
        .map(|(id, u)| ((*id).to_owned(), u.clone()))
        .collect();
    ResponseTemplate::new(200).set_body_json(json!({"Users": map, "Groups": []}))
}

/// No such user: PHP's empty `Users`.
fn nobody() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"Users": [], "Groups": []}))
}

fn ada() -> NewAccount {
    NewAccount {
        email: "ada@example.com".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
    }
}

/// The `cmd` of every request the server received, in order.
async fn commands(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            body["cmd"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

fn tenant_of(region: Option<&str>, cid: &str) -> Tenant {
    let mut tenant = Tenant::from([("cid".to_owned(), cid.to_owned())]);
    if let Some(region) = region {
        tenant.insert("region".to_owned(), region.to_owned());
    }
    tenant
}

#[tokio::test]
async fn checks_want_a_known_region_a_numeric_account_number_and_a_bare_hash() {
    let check = registry::spec("lastpass").unwrap().check;
    for region in ["us", "eu"] {
        assert!(check(&tenant_of(Some(region), "1234567"), "provhash", HASH).is_ok());
    }
    // Connections made before the region field are in the US.
    assert!(check(&tenant_of(None, "1234567"), "provhash", HASH).is_ok());
    assert!(check(&tenant_of(Some("apac"), "1234567"), "provhash", HASH).is_err());
    for bad in ["", "12a4", "0", "-5", "1234567 8"] {
        assert!(
            check(&tenant_of(Some("us"), bad), "provhash", HASH).is_err(),
            "{bad:?}"
        );
    }
    let quoted = check(
        &tenant_of(Some("us"), "1234567"),
        "provhash",
        "\"abcdef0123456789\"",
    );
    match quoted {
        Err(ConnectorError::Invalid(why)) => assert!(why.contains("quotation marks"), "{why}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    for bad in ["", "short", "has spaces in it", "semi;colon0123"] {
        assert!(
            check(&tenant_of(Some("us"), "1234567"), "provhash", bad).is_err(),
            "{bad:?}"
        );
    }
}

#[tokio::test]
async fn verification_lists_one_user_with_the_credentials_in_the_body_not_a_header() {
    let server = MockServer::start().await;
    command("getuserdata", json!({"pagesize": 1, "pageindex": 0}))
        .respond_with(users(&[(
            "101",
            user("it@example.com", "IT Admin", false, false),
        )]))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = lastpass(&server);
    connector.verify().await.unwrap();
    let received = server.received_requests().await.unwrap();
    assert!(
        received[0].headers.get("authorization").is_none(),
        "LastPass takes its credentials in the body"
    );
}

#[tokio::test]
async fn the_eu_region_calls_lastpass_eu() {
    let eu = MockServer::start().await;
    command("getuserdata", json!({"pagesize": 1, "pageindex": 0}))
        .respond_with(nobody())
        .expect(1)
        .mount(&eu)
        .await;
    // Only lastpass.eu is routed to the mock: a call to lastpass.com would be refused.
    let (connector, _) = lastpass_in(&eu, "eu", HASH);
    connector.verify().await.unwrap();
}

#[tokio::test]
async fn a_wrong_provisioning_hash_refused_inside_a_200_is_unauthorized_and_not_echoed() {
    let server = MockServer::start().await;
    let wrong = "wrong-provisioning-hash";
    Mock::given(method("POST"))
        .and(path(ENDPOINT))
        .respond_with(fail("Authorization Error"))
        .mount(&server)
        .await;
    let (connector, _) = lastpass_in(&server, "us", wrong);
    match connector.verify().await {
        Err(ConnectorError::Unauthorized(why)) => {
            assert!(why.contains("Authorization Error"), "{why}");
            assert!(!why.contains(wrong), "{why}");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn any_refusal_at_verification_and_an_answer_that_is_not_json_are_unauthorized() {
    for answer in [
        fail("Invalid request"),
        ResponseTemplate::new(200).set_body_string("<html>Sign in</html>"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(ENDPOINT))
            .respond_with(answer)
            .mount(&server)
            .await;
        let (connector, _) = lastpass(&server);
        match connector.verify().await {
            Err(ConnectorError::Unauthorized(why)) => {
                assert!(!why.contains(HASH), "{why}");
                assert!(!why.contains("<html>"), "{why}");
            }
            other => panic!("expected Unauthorized, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn users_list_across_two_pages_by_page_index_with_their_statuses() {
    let server = MockServer::start().await;
    let mut first = json!({"Users": {
        "101": user("grace@example.com", "Grace Hopper", false, false),
        "102": user("alan@example.com", "Alan Turing", true, false),
    }, "Groups": [], "total": 3, "invited": ["linus@example.com"]});
    first["Users"]["101"]["groups"] = json!(["Engineering"]);
    command("getuserdata", json!({"pagesize": 100, "pageindex": 0}))
        .respond_with(ResponseTemplate::new(200).set_body_json(first))
        .expect(1)
        .mount(&server)
        .await;
    command("getuserdata", json!({"pagesize": 100, "pageindex": 1}))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "Users": {"103": user("ada@example.com", "Ada Lovelace", false, true)},
            "Groups": [], "total": 3, "invited": ["linus@example.com"]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = lastpass(&server);
    let page = connector.list(None).await.unwrap();
    let seen: Vec<_> = page
        .accounts
        .iter()
        .map(|a| {
            (
                a.id.as_str(),
                a.email.as_deref(),
                a.display_name.as_deref(),
                a.status,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "grace@example.com",
                Some("grace@example.com"),
                Some("Grace Hopper"),
                AccountStatus::Active
            ),
            (
                "alan@example.com",
                Some("alan@example.com"),
                Some("Alan Turing"),
                AccountStatus::Suspended
            ),
            (
                "linus@example.com",
                Some("linus@example.com"),
                None,
                AccountStatus::InviteSent
            ),
        ]
    );
    let next = page.next.expect("a second page");
    let page = connector.list(Some(&next)).await.unwrap();
    // The `invited` list is the account's: it is listed on the first page only.
    let seen: Vec<_> = page.accounts.iter().map(|a| (a.id.as_str(), a.status)).collect();
    assert_eq!(seen, [("ada@example.com", AccountStatus::InviteSent)]);
    assert_eq!(page.next, None);
}

#[tokio::test]
async fn a_listing_without_a_total_goes_on_until_an_empty_page() {
    // Answers without `total`: a short page may still not be the last one.
    let server = MockServer::start().await;
    command("getuserdata", json!({"pagesize": 100, "pageindex": 0}))
        .respond_with(users(&[
            ("101", user("grace@example.com", "Grace Hopper", false, false)),
            ("102", user("alan@example.com", "Alan Turing", false, false)),
        ]))
        .expect(1)
        .mount(&server)
        .await;
    command("getuserdata", json!({"pagesize": 100, "pageindex": 1}))
        .respond_with(users(&[(
            "103",
            user("ada@example.com", "Ada Lovelace", false, false),
        )]))
        .expect(1)
        .mount(&server)
        .await;
    command("getuserdata", json!({"pagesize": 100, "pageindex": 2}))
        .respond_with(nobody())
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = lastpass(&server);
    let mut listed = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = connector.list(cursor.as_deref()).await.unwrap();
        listed.extend(page.accounts.into_iter().map(|a| a.id));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(
        listed,
        ["grace@example.com", "alan@example.com", "ada@example.com"]
    );
}

#[tokio::test]
async fn a_lastpass_that_does_not_page_ends_the_listing_instead_of_repeating_it() {
    // LastPass may answer every user whatever the page index: the one full list is listed once.
    let server = MockServer::start().await;
    let full: Vec<(String, Value)> = (0..100)
        .map(|i| {
            (
                format!("{}", 1000 + i),
                user(&format!("user{i:03}@example.com"), "Some One", false, false),
            )
        })
        .collect();
    let entries: Vec<(&str, Value)> = full.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    Mock::given(method("POST"))
        .and(path(ENDPOINT))
        .respond_with(users(&entries))
        .expect(2)
        .mount(&server)
        .await;
    let (connector, _) = lastpass(&server);
    let page = connector.list(None).await.unwrap();
    assert_eq!(page.accounts.len(), 100);
    let again = connector.list(page.next.as_deref()).await.unwrap();
    assert!(again.accounts.is_empty());
    assert_eq!(again.next, None);
}

#[tokio::test]
async fn find_by_email_asks_getuserdata_for_the_username() {
    let server = MockServer::start().await;
    lookup("grace@example.com")
        .respond_with(users(&[(
            "101",
            user("Grace@Example.com", "Grace Hopper", false, false),
        )]))
        .expect(1)
        .mount(&server)
        .await;
    lookup("nobody@example.com")
        .respond_with(nobody())
        .expect(1)
        .mount(&server)
        .await;
    lookup("gone@example.com")
        .respond_with(fail("User not found"))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = lastpass(&server);
    let found = connector
        .find_by_email("grace@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, "Grace@Example.com");
    assert_eq!(found.status, AccountStatus::Active);
    assert_eq!(connector.find_by_email("nobody@example.com").await.unwrap(), None);
    assert_eq!(connector.find_by_email("gone@example.com").await.unwrap(), None);
}

#[tokio::test]
async fn create_invites_with_batchadd_and_reads_the_new_user_back_as_invite_sent() {
    let server = MockServer::start().await;
    first_then(
        &server,
        || lookup("ada@example.com"),
        nobody(),
        users(&[("103", user("ada@example.com", "Ada Lovelace", false, true))]),
    )
    .await;
    command(
        "batchadd",
        json!([{"username": "ada@example.com", "fullname": "Ada Lovelace"}]),
    )
    .respond_with(ok())
    .expect(1)
    .mount(&server)
    .await;
    let (connector, _) = lastpass(&server);
    let created = connector.create(&ada()).await.unwrap();
    assert_eq!(created.id, "ada@example.com");
    assert_eq!(created.status, AccountStatus::InviteSent);
    assert_eq!(
        commands(&server).await,
        ["getuserdata", "batchadd", "getuserdata"]
    );
}

#[tokio::test]
async fn create_of_an_existing_user_returns_it_without_batchadd() {
    let server = MockServer::start().await;
    lookup("ada@example.com")
        .respond_with(users(&[(
            "103",
            user("ada@example.com", "Ada Lovelace", false, false),
        )]))
        .mount(&server)
        .await;
    command(
        "batchadd",
        json!([{"username": "ada@example.com", "fullname": "Ada Lovelace"}]),
    )
    .respond_with(ok())
    .expect(0)
    .mount(&server)
    .await;
    let (connector, _) = lastpass(&server);
    let found = connector.create(&ada()).await.unwrap();
    assert_eq!(found.id, "ada@example.com");
    assert_eq!(found.status, AccountStatus::Active);
}

#[tokio::test]
async fn a_batchadd_refused_as_already_there_resolves_to_the_user() {
    let server = MockServer::start().await;
    first_then(
        &server,
        || lookup("ada@example.com"),
        nobody(),
        users(&[("103", user("ada@example.com", "Ada Lovelace", false, false))]),
    )
    .await;
    command(
        "batchadd",
        json!([{"username": "ada@example.com", "fullname": "Ada Lovelace"}]),
    )
    .respond_with(
        ResponseTemplate::new(200)
            .set_body_json(json!({"status": "WARN", "errors": ["ada@example.com already exists"]})),
    )
    .expect(1)
    .mount(&server)
    .await;
    let (connector, _) = lastpass(&server);
    let found = connector.create(&ada()).await.unwrap();
    assert_eq!(found.status, AccountStatus::Active);
}

#[tokio::test]
async fn an_invited_user_reads_active_once_they_have_signed_in() {
    let server = MockServer::start().await;
    first_then(
        &server,
        || lookup("ada@example.com"),
        users(&[("103", user("ada@example.com", "Ada Lovelace", false, true))]),
        users(&[("103", user("ada@example.com", "Ada Lovelace", false, false))]),
    )
    .await;
    let (connector, _) = lastpass(&server);
    let before = connector.get("ada@example.com").await.unwrap().unwrap();
    assert_eq!(before.status, AccountStatus::InviteSent);
    let after = connector.get("ada@example.com").await.unwrap().unwrap();
    assert_eq!(after.status, AccountStatus::Active);
}

#[tokio::test]
async fn delete_removes_the_user_from_the_company_with_deleteaction_1() {
    let server = MockServer::start().await;
    lookup("ada@example.com")
        .respond_with(users(&[(
            "103",
            user("ada@example.com", "Ada Lovelace", false, false),
        )]))
        .expect(1)
        .mount(&server)
        .await;
    // "Remove the user from your LastPass Business account but keep the account itself
    // active": the person's own vault survives.
    command(
        "deluser",
        json!({"username": "ada@example.com", "deleteaction": 1}),
    )
    .respond_with(ok())
    .expect(1)
    .mount(&server)
    .await;
    let (connector, _) = lastpass(&server);
    connector.delete("ada@example.com").await.unwrap();
}

#[tokio::test]
async fn only_a_connection_that_chose_it_deletes_the_account_with_deleteaction_2() {
    let server = MockServer::start().await;
    lookup("ada@example.com")
        .respond_with(users(&[(
            "103",
            user("ada@example.com", "Ada Lovelace", false, false),
        )]))
        .mount(&server)
        .await;
    command(
        "deluser",
        json!({"username": "ada@example.com", "deleteaction": 2}),
    )
    .respond_with(ok())
    .expect(1)
    .mount(&server)
    .await;
    let (connector, _) = lastpass_deleting(&server);
    connector.delete("ada@example.com").await.unwrap();
    let check = registry::spec("lastpass").unwrap().check;
    let mut tenant = tenant_of(None, "1234567");
    tenant.insert("removal".to_owned(), "wipe".to_owned());
    assert!(check(&tenant, "provhash", HASH).is_err());
}

#[tokio::test]
async fn suspend_disables_and_reactivate_enables_the_user() {
    let server = MockServer::start().await;
    command("disableuser", json!(["ada@example.com"]))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"status": "success", "disabled_users": ["ada@example.com"]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    command("enableuser", json!(["ada@example.com"]))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"status": "success", "enabled_users": ["ada@example.com"]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    first_then(
        &server,
        || lookup("ada@example.com"),
        users(&[("103", user("ada@example.com", "Ada Lovelace", true, false))]),
        users(&[("103", user("ada@example.com", "Ada Lovelace", false, false))]),
    )
    .await;
    let (connector, _) = lastpass(&server);
    let caps = connector.capabilities();
    assert!(caps.suspend && caps.reactivate);
    assert_eq!(
        connector.suspend("ada@example.com").await.unwrap().status,
        AccountStatus::Suspended
    );
    assert_eq!(
        connector.reactivate("ada@example.com").await.unwrap().status,
        AccountStatus::Active
    );
}

#[tokio::test]
async fn a_disable_that_leaves_the_user_enabled_is_no_suspension() {
    let server = MockServer::start().await;
    command("disableuser", json!(["ada@example.com"]))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"status": "success", "unchanged_users": ["ada@example.com"]})),
        )
        .mount(&server)
        .await;
    lookup("ada@example.com")
        .respond_with(users(&[(
            "103",
            user("ada@example.com", "Ada Lovelace", false, false),
        )]))
        .mount(&server)
        .await;
    let (connector, _) = lastpass(&server);
    assert!(matches!(
        connector.suspend("ada@example.com").await,
        Err(ConnectorError::Invalid(why)) if why.contains("disabled")
    ));
}

#[tokio::test]
async fn delete_of_an_invitation_not_yet_accepted_withdraws_it_with_deleteaction_3() {
    let server = MockServer::start().await;
    first_then(
        &server,
        || lookup("ada@example.com"),
        users(&[("103", user("ada@example.com", "Ada Lovelace", false, true))]),
        nobody(),
    )
    .await;
    command(
        "deluser",
        json!({"username": "ada@example.com", "deleteaction": 3}),
    )
    .respond_with(ok())
    .expect(1)
    .mount(&server)
    .await;
    command(
        "deluser",
        json!({"username": "ada@example.com", "deleteaction": 1}),
    )
    .respond_with(ok())
    .expect(0)
    .mount(&server)
    .await;
    let (connector, _) = lastpass(&server);
    connector.delete("ada@example.com").await.unwrap();
}

#[tokio::test]
async fn delete_of_a_user_lastpass_will_not_uninvite_removes_them_from_the_company() {
    let server = MockServer::start().await;
    lookup("ada@example.com")
        .respond_with(users(&[(
            "103",
            user("ada@example.com", "Ada Lovelace", false, true),
        )]))
        .mount(&server)
        .await;
    command(
        "deluser",
        json!({"username": "ada@example.com", "deleteaction": 3}),
    )
    .respond_with(fail("User has no pending invitation"))
    .expect(1)
    .mount(&server)
    .await;
    command(
        "deluser",
        json!({"username": "ada@example.com", "deleteaction": 1}),
    )
    .respond_with(ok())
    .expect(1)
    .mount(&server)
    .await;
    let (connector, _) = lastpass(&server);
    connector.delete("ada@example.com").await.unwrap();
}

#[tokio::test]
async fn delete_of_a_missing_user_is_done() {
    let server = MockServer::start().await;
    lookup("gone@example.com")
        .respond_with(nobody())
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = lastpass(&server);
    connector.delete("gone@example.com").await.unwrap();
    assert_eq!(commands(&server).await, ["getuserdata"]);

    // Gone between the lookup and the delete: LastPass's "not found" is done too.
    let server = MockServer::start().await;
    lookup("ada@example.com")
        .respond_with(users(&[(
            "103",
            user("ada@example.com", "Ada Lovelace", false, false),
        )]))
        .mount(&server)
        .await;
    command(
        "deluser",
        json!({"username": "ada@example.com", "deleteaction": 1}),
    )
    .respond_with(fail("User does not exist"))
    .expect(1)
    .mount(&server)
    .await;
    let (connector, _) = lastpass(&server);
    connector.delete("ada@example.com").await.unwrap();
}

#[tokio::test]
async fn a_429_is_waited_out_for_its_retry_after_and_the_command_sent_again() {
    let server = MockServer::start().await;
    first_then(
        &server,
        || lookup("ada@example.com"),
        ResponseTemplate::new(429).insert_header("retry-after", "7"),
        users(&[("103", user("ada@example.com", "Ada Lovelace", false, false))]),
    )
    .await;
    let (connector, sleeper) = lastpass(&server);
    let found = connector.find_by_email("ada@example.com").await.unwrap();
    assert!(found.is_some());
    assert!(
        sleeper.waits().contains(&Duration::from_secs(7)),
        "{:?}",
        sleeper.waits()
    );
    assert_eq!(commands(&server).await, ["getuserdata", "getuserdata"]);
}

#[tokio::test]
async fn a_rate_limit_refusal_inside_a_200_is_waited_out_too() {
    let server = MockServer::start().await;
    first_then(
        &server,
        || lookup("ada@example.com"),
        fail("Too many requests, please slow down"),
        users(&[("103", user("ada@example.com", "Ada Lovelace", false, false))]),
    )
    .await;
    let (connector, sleeper) = lastpass(&server);
    assert!(
        connector
            .find_by_email("ada@example.com")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(sleeper.waits().len(), 1, "{:?}", sleeper.waits());
}

#[tokio::test]
async fn a_lasting_rate_limit_is_rate_limited() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(ENDPOINT))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "2"))
        .mount(&server)
        .await;
    let (connector, _) = lastpass(&server);
    match connector.find_by_email("ada@example.com").await {
        Err(ConnectorError::RateLimited { retry_after }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(2)))
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

#[tokio::test]
async fn a_full_seat_count_is_plan_required() {
    let server = MockServer::start().await;
    lookup("ada@example.com")
        .respond_with(nobody())
        .mount(&server)
        .await;
    command(
        "batchadd",
        json!([{"username": "ada@example.com", "fullname": "Ada Lovelace"}]),
    )
    .respond_with(fail("No available licenses"))
    .mount(&server)
    .await;
    let (connector, _) = lastpass(&server);
    assert!(matches!(
        connector.create(&ada()).await,
        Err(ConnectorError::PlanRequired(_))
    ));
    assert!(connector.capabilities().shows_invites);
}

/// The tenant is the account number at its data center, once the provisioning hash is
/// proven with it.
#[tokio::test]
async fn the_tenant_is_the_account_number_at_its_data_center() {
    let server = MockServer::start().await;
    command("getuserdata", json!({"pagesize": 1, "pageindex": 0}))
        .respond_with(users(&[]))
        .expect(1)
        .mount(&server)
        .await;
    let (connector, _) = lastpass_in(&server, "eu", HASH);
    connector.verify().await.unwrap();
    assert_eq!(
        connector.tenant().await.unwrap(),
        prov_connectors::VendorTenant {
            id: "lastpass.eu/1234567".into(),
            name: "LastPass account 1234567 (lastpass.eu)".into()
        }
    );
}
