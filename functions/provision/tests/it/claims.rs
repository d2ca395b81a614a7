//! Account claims, reading companies, and failures that must not leak.

use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::Request;
use prov_core::store::{Item, ItemStore, Key, Page, PageRequest, StoreError, WriteOp};
use prov_store::EmbeddedStore;
use prov_testkit::{call, get, json_request};
use serde_json::json;

use crate::support::{App, claim_id, minimal};

#[tokio::test]
async fn the_claim_page_opens_and_hides_what_it_must() {
    let app = App::new().await;
    let body = json!({
        "user": {"first_name": "Frank", "last_name": "Ocean", "email": "frank@example.com"},
        "company": {"name": "<script>alert(1)</script> & Co"}
    });
    let answer = app.provision(&body).await;
    let id = claim_id(&answer);
    let page = call(&app.router, get(&format!("/claim_account/{id}"), None)).await;
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let html = page.text();
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"),
        "{html}"
    );
    assert!(!html.contains("<script>"));
    assert!(html.contains("f***@example.com"));
    assert!(!html.contains("frank@example.com"));
    // Provisioned at 12:00 UTC on March 1, 2026; the link lasts 7 days, said in Pacific time
    // (daylight time has begun by then: 12:00 UTC on March 8 is 5:00 AM PDT).
    assert!(html.contains("expires on March 8, 2026 at 5:00 AM PDT"), "{html}");

    let unknown = call(
        &app.router,
        get(&format!("/claim_account/{}", "0".repeat(64)), None),
    )
    .await;
    assert_eq!(unknown.status, 404);
    let malformed = call(&app.router, get("/claim_account/..%2F..", None)).await;
    assert_eq!(malformed.status, 404);
    // A path that cannot be decoded is answered with a page too, as the document says.
    for method in ["GET", "POST"] {
        let request = Request::builder()
            .method(method)
            .uri("/claim_account/%ff")
            .body(Body::empty())
            .unwrap();
        let undecodable = call(&app.router, request).await;
        assert_eq!(undecodable.status, 404, "{method}");
        assert!(
            undecodable.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{method}: {}",
            undecodable.text()
        );
    }
}

#[tokio::test]
async fn a_claim_confirms_the_email_and_gives_a_company_token_once() {
    let app = App::new().await;
    let (company_id, id) = app.provisioned("frank@example.com").await;
    let claim = |email: &str| {
        call(
            &app.router,
            json_request(
                "POST",
                &format!("/v1/claims/{id}"),
                None,
                &json!({ "email": email }),
            ),
        )
    };
    let wrong = claim("someone@example.com").await;
    assert_eq!(wrong.status, 422);
    assert_eq!(wrong.error_keys(), ["email"]);

    let granted = claim(" FRANK@example.com").await;
    assert_eq!(granted.status, 201, "{}", granted.text());
    assert_eq!(granted.header("cache-control"), Some("no-store"));
    let body = granted.json();
    assert_eq!(body["company_id"], company_id);
    let token = body["token"].as_str().unwrap();
    assert_eq!(token.len(), 56);

    let company = call(
        &app.router,
        get(&format!("/v1/companies/{company_id}"), Some(token)),
    )
    .await;
    assert_eq!(company.status, 200);
    assert_eq!(company.json()["id"], company_id);

    let again = claim("frank@example.com").await;
    assert_eq!(again.status, 410);
    assert_eq!(again.category(), "gone");
    let page = call(&app.router, get(&format!("/claim_account/{id}"), None)).await;
    assert_eq!(page.status, 410);
    assert!(page.text().contains("already claimed"));

    // The token is stored only as a hash: its text is nowhere in the store.
    let items = app
        .services
        .store
        .query(&format!("TOKEN#{}", &token[..16]), "", PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(items.items.len(), 1);
    assert!(
        !serde_json::to_string(&items.items[0].data)
            .unwrap()
            .contains(token)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_claims_hand_out_one_token() {
    let app = Arc::new(App::new().await);
    let (_, id) = app.provisioned("frank@example.com").await;
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let app = app.clone();
            let id = id.clone();
            tokio::spawn(async move {
                call(
                    &app.router,
                    json_request(
                        "POST",
                        &format!("/v1/claims/{id}"),
                        None,
                        &json!({"email": "frank@example.com"}),
                    ),
                )
                .await
                .status
                .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 201 || *s == 410), "{statuses:?}");
}

#[tokio::test]
async fn a_claim_expires() {
    let app = App::new().await;
    let (_, id) = app.provisioned("frank@example.com").await;
    app.clock
        .advance(chrono::Duration::days(7) + chrono::Duration::seconds(1));
    let answer = call(
        &app.router,
        json_request(
            "POST",
            &format!("/v1/claims/{id}"),
            None,
            &json!({"email": "frank@example.com"}),
        ),
    )
    .await;
    assert_eq!(answer.status, 410);
    assert!(
        answer.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[tokio::test]
async fn the_claim_form_works_without_script() {
    let app = App::new().await;
    let (_, id) = app.provisioned("frank@example.com").await;
    let post = |form: &'static str| {
        let req = Request::post(format!("/claim_account/{id}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap();
        call(&app.router, req)
    };
    let wrong = post("email=nobody%40example.com").await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.text().contains("not the email address"));
    let done = post("email=frank%40example.com").await;
    assert_eq!(done.status, 200);
    let html = done.text();
    assert!(html.contains("only once"));
    // The token shown works.
    let token = html
        .split("<code>")
        .filter_map(|s| s.split("</code>").next())
        .find(|s| s.len() == 56)
        .unwrap()
        .to_owned();
    let companies = call(&app.router, get("/v1/companies", Some(&token))).await;
    assert_eq!(companies.status, 200);
    assert_eq!(companies.json()["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn companies_are_visible_only_to_their_partner_and_admins() {
    let app = App::new().await;
    let (mine, admin) = app.claimed("mine@example.com").await;
    let (other_company, other_admin) = app.claimed("other@example.com").await;
    let path = format!("/v1/companies/{mine}");

    assert_eq!(
        call(&app.router, get(&path, Some(&app.partner))).await.status,
        200
    );
    assert_eq!(call(&app.router, get(&path, Some(&admin))).await.status, 200);
    for stranger in [&app.other_partner, &other_admin] {
        let answer = call(&app.router, get(&path, Some(stranger))).await;
        assert_eq!(answer.status, 404);
        assert_eq!(answer.category(), "not_found");
        assert!(!answer.text().contains(&mine));
    }
    assert_eq!(call(&app.router, get(&path, None)).await.status, 401);
    let missing = call(&app.router, get("/v1/companies/com_nope", Some(&app.partner))).await;
    assert_eq!(missing.status, 404);
    // An admin lists only its own company.
    let listed = call(&app.router, get("/v1/companies", Some(&other_admin))).await;
    assert_eq!(listed.json()["items"][0]["id"], other_company);
    assert_eq!(listed.json()["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn company_lists_page_with_a_cursor() {
    let app = App::new().await;
    for i in 0..5 {
        app.clock.advance(chrono::Duration::seconds(1));
        assert_eq!(
            app.provision(&minimal(&format!("c{i}@example.com"))).await.status,
            200
        );
    }
    let mut names = Vec::new();
    let mut uri = "/v1/companies?limit=2".to_owned();
    loop {
        let page = call(&app.router, get(&uri, Some(&app.partner))).await;
        assert_eq!(page.status, 200);
        let body = page.json();
        let items = body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        names.extend(items.iter().map(|c| c["name"].as_str().unwrap().to_owned()));
        match body["next_cursor"].as_str() {
            Some(c) => uri = format!("/v1/companies?limit=2&cursor={c}"),
            None => break,
        }
    }
    let expected: Vec<String> = (0..5).map(|i| format!("Company of c{i}@example.com")).collect();
    assert_eq!(names, expected);
    assert!(
        call(&app.router, get("/v1/companies", Some(&app.other_partner)))
            .await
            .json()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    for bad in [
        "/v1/companies?limit=0",
        "/v1/companies?limit=101",
        "/v1/companies?limit=x",
        "/v1/companies?cursor=abc",
        "/v1/companies?sort=name",
    ] {
        let answer = call(&app.router, get(bad, Some(&app.partner))).await;
        assert_eq!(answer.status, 422, "{bad}: {}", answer.text());
    }
    // Another partner's cursor does not open this partner's list.
    let first = call(&app.router, get("/v1/companies?limit=1", Some(&app.partner))).await;
    let cursor = first.json()["next_cursor"].as_str().unwrap().to_owned();
    let stolen = call(
        &app.router,
        get(
            &format!("/v1/companies?cursor={cursor}"),
            Some(&app.other_partner),
        ),
    )
    .await;
    assert_eq!(stolen.status, 422);
}

/// An admin's list of companies (their own) follows the same query rules as a partner's
/// (found by the schema fuzzing: `?limit=0` answered 200 to an admin).
#[tokio::test]
async fn an_admins_company_list_refuses_bad_queries_too() {
    let app = App::new().await;
    let (company_id, admin) = app.claimed("queries@example.com").await;
    let own = call(&app.router, get("/v1/companies?limit=1", Some(&admin))).await;
    assert_eq!(own.status, 200, "{}", own.text());
    assert_eq!(own.json()["items"][0]["id"], company_id.as_str());
    assert_eq!(own.json()["next_cursor"], serde_json::Value::Null);
    for bad in [
        "/v1/companies?limit=0",
        "/v1/companies?limit=101",
        "/v1/companies?limit=x",
        "/v1/companies?cursor=abc",
        "/v1/companies?sort=name",
    ] {
        let answer = call(&app.router, get(bad, Some(&admin))).await;
        assert_eq!(answer.status, 422, "{bad}: {}", answer.text());
        assert_eq!(answer.json()["errors"][0]["category"], "invalid_attribute_value");
    }
}

/// A store whose writes fail with a message that must never reach a client.
struct BrokenWrites(EmbeddedStore);

#[async_trait]
impl ItemStore for BrokenWrites {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.0.get(key).await
    }
    async fn create(&self, item: Item) -> Result<u64, StoreError> {
        self.0.create(item).await
    }
    async fn replace(&self, item: Item, v: u64) -> Result<u64, StoreError> {
        self.0.replace(item, v).await
    }
    async fn delete(&self, key: &Key, v: Option<u64>) -> Result<(), StoreError> {
        self.0.delete(key, v).await
    }
    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        // Partners are created at start-up; provisioning transactions fail.
        if ops.len() > 2 {
            // (An outage would be a 503 "retry"; an item that does not parse is our bug.)
            return Err(StoreError::Corrupt(
                "item at db-internal-7 does not parse, password=hunter2".into(),
            ));
        }
        self.0.transact(ops).await
    }
    async fn query(&self, pk: &str, p: &str, page: PageRequest) -> Result<Page, StoreError> {
        self.0.query(pk, p, page).await
    }
    async fn query_index(&self, pk: &str, page: PageRequest) -> Result<Page, StoreError> {
        self.0.query_index(pk, page).await
    }
    async fn scan(&self, p: &str, page: PageRequest) -> Result<Page, StoreError> {
        self.0.scan(p, page).await
    }
}

#[tokio::test]
async fn a_server_error_shows_a_request_id_and_no_internals() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(BrokenWrites(
        EmbeddedStore::open(dir.path().join("s.redb")).unwrap(),
    ));
    let app = App::on_store(store, |o| Arc::new(o), dir).await;
    let answer = app.provision(&minimal("frank@example.com")).await;
    assert_eq!(answer.status, 500);
    assert_eq!(answer.category(), "internal_error");
    let request_id = answer.header("x-request-id").unwrap().to_owned();
    assert!(
        answer.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains(&request_id)
    );
    let text = answer.text();
    assert!(
        !text.contains("hunter2") && !text.contains("db-internal"),
        "{text}"
    );
}

/// `POST /v1/claims/{claim_id}` with `email`.
async fn try_claim(app: &App, claim_id: &str, email: &str) -> prov_testkit::Answer {
    call(
        &app.router,
        json_request(
            "POST",
            &format!("/v1/claims/{claim_id}"),
            None,
            &json!({ "email": email }),
        ),
    )
    .await
}

/// The partner asks for a new claim link for `user_id`.
async fn new_link(app: &App, token: &str, company_id: &str, user_id: &str) -> prov_testkit::Answer {
    call(
        &app.router,
        json_request(
            "POST",
            &format!("/v1/companies/{company_id}/claims"),
            Some(token),
            &json!({ "user_id": user_id }),
        ),
    )
    .await
}

async fn primary_admin(app: &App, company_id: &str) -> String {
    let company = call(
        &app.router,
        get(&format!("/v1/companies/{company_id}"), Some(&app.partner)),
    )
    .await;
    company.json()["primary_admin_id"].as_str().unwrap().to_owned()
}

/// Issue 25: a claim link took unlimited guesses at whose link it is. Five wrong email
/// addresses lock it (the page and the API say so); the partner sends a new link, which
/// works.
#[tokio::test]
async fn a_claim_link_is_locked_after_five_wrong_emails_and_a_new_one_works() {
    let app = App::new().await;
    let (company_id, id) = app.provisioned("frank@example.com").await;
    for left in (1..5).rev() {
        let wrong = try_claim(&app, &id, &format!("guess{left}@example.com")).await;
        assert_eq!(wrong.status, 422, "{}", wrong.text());
        assert_eq!(wrong.error_keys(), ["email"]);
        let tries = if left == 1 {
            "1 try"
        } else {
            &format!("{left} tries")
        };
        assert!(wrong.text().contains(tries), "{}", wrong.text());
    }
    let fifth = try_claim(&app, &id, "guess0@example.com").await;
    assert_eq!(fifth.status, 410, "{}", fifth.text());
    assert!(fifth.text().contains("locked"), "{}", fifth.text());
    // Locked for the right email too, and on the page.
    let right = try_claim(&app, &id, "frank@example.com").await;
    assert_eq!(right.status, 410, "{}", right.text());
    assert_eq!(right.category(), "gone");
    let page = call(&app.router, get(&format!("/claim_account/{id}"), None)).await;
    assert_eq!(page.status, 410);
    assert!(page.text().contains("locked"), "{}", page.text());

    let user_id = primary_admin(&app, &company_id).await;
    let sent = new_link(&app, &app.partner, &company_id, &user_id).await;
    assert_eq!(sent.status, 201, "{}", sent.text());
    assert_eq!(sent.header("cache-control"), Some("no-store"));
    let fresh = claim_id(&sent);
    assert_ne!(fresh, id);
    let emails = app.outbox.recent(10).await.unwrap();
    assert_eq!(emails.len(), 2, "the welcome email and the new link");
    assert_eq!(emails[0].email.to, "frank@example.com");
    assert!(emails[0].email.text.contains(&fresh));
    let granted = try_claim(&app, &fresh, "frank@example.com").await;
    assert_eq!(granted.status, 201, "{}", granted.text());
    // Nothing more to send once claimed.
    let again = new_link(&app, &app.partner, &company_id, &user_id).await;
    assert_eq!(again.status, 422, "{}", again.text());
    assert_eq!(again.error_keys(), ["user_id"]);
}

/// With two links out (a new one was sent), whichever is used first claims the account;
/// the other then answers "already claimed": one admin, one token.
#[tokio::test]
async fn two_links_of_one_admin_claim_the_account_once() {
    let app = App::new().await;
    let (company_id, first) = app.provisioned("frank@example.com").await;
    let user_id = primary_admin(&app, &company_id).await;
    let second = claim_id(&new_link(&app, &app.partner, &company_id, &user_id).await);
    let granted = try_claim(&app, &second, "frank@example.com").await;
    assert_eq!(granted.status, 201, "{}", granted.text());
    let late = try_claim(&app, &first, "frank@example.com").await;
    assert_eq!(late.status, 410, "{}", late.text());
    assert!(late.text().contains("already claimed"), "{}", late.text());
}

#[tokio::test]
async fn only_the_owning_partner_or_the_primary_admin_sends_a_new_claim_link() {
    let app = App::new().await;
    let (company_id, _) = app.provisioned("frank@example.com").await;
    let user_id = primary_admin(&app, &company_id).await;
    let stranger = new_link(&app, &app.other_partner, &company_id, &user_id).await;
    assert_eq!(stranger.status, 404, "{}", stranger.text());
    let nobody = call(
        &app.router,
        json_request(
            "POST",
            &format!("/v1/companies/{company_id}/claims"),
            None,
            &json!({ "user_id": user_id }),
        ),
    )
    .await;
    assert_eq!(nobody.status, 401);
    let unknown = new_link(&app, &app.partner, &company_id, "usr_nobody").await;
    assert_eq!(unknown.status, 422, "{}", unknown.text());
    assert_eq!(unknown.error_keys(), ["user_id"]);
    // The primary admin may (here for themself, already claimed: nothing to send).
    let (own_company, token) = app.claimed("grace@example.com").await;
    let own_id = primary_admin(&app, &own_company).await;
    let own = new_link(&app, &token, &own_company, &own_id).await;
    assert_eq!(own.status, 422, "{}", own.text());
    assert_eq!(own.error_keys(), ["user_id"]);
    assert!(
        app.outbox.recent(10).await.unwrap().len() == 2,
        "no email for a refusal"
    );
}
