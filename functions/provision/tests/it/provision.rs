//! `POST /v1/provision`: the seed's contract, case by case.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use prov_core::mail::MailQueue;
use prov_testkit::{call, json_request};
use serde_json::{Value, json};

use crate::support::{App, BASE, Switchable, claim_id, maximal, minimal};

fn without(mut body: Value, path: &[&str]) -> Value {
    let (last, parents) = path.split_last().unwrap();
    let mut node = &mut body;
    for p in parents {
        node = match p.parse::<usize>() {
            Ok(i) => &mut node[i],
            Err(_) => &mut node[*p],
        };
    }
    node.as_object_mut().unwrap().remove(*last);
    body
}

fn with(mut body: Value, path: &[&str], value: Value) -> Value {
    let mut node = &mut body;
    for p in path {
        node = match p.parse::<usize>() {
            Ok(i) => &mut node[i],
            Err(_) => &mut node[*p],
        };
    }
    *node = value;
    body
}

async fn company_count(app: &App, token: &str) -> usize {
    let answer = call(
        &app.router,
        prov_testkit::get("/v1/companies?limit=100", Some(token)),
    )
    .await;
    answer.json()["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn the_minimum_payload_creates_company_admin_claim_and_welcome_email() {
    let app = App::new().await;
    let answer = app.provision(&minimal("frank@example.com")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    assert_eq!(
        body.as_object().unwrap().len(),
        1,
        "only account_claim_url: {body}"
    );
    let id = claim_id(&answer);
    assert_eq!(id.len(), 64);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(answer.header("cache-control"), Some("no-store"));

    let emails = app.outbox.recent(10).await.unwrap();
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].email.to, "frank@example.com");
    assert!(
        emails[0]
            .email
            .text
            .contains(body["account_claim_url"].as_str().unwrap())
    );

    let companies = call(
        &app.router,
        prov_testkit::get("/v1/companies", Some(&app.partner)),
    )
    .await;
    let company = &companies.json()["items"][0];
    assert_eq!(company["name"], "Company of frank@example.com");
    assert_eq!(company["plan"], "simple");
    assert!(company["primary_admin_id"].as_str().unwrap().starts_with("usr_"));
}

#[tokio::test]
async fn the_maximum_payload_keeps_every_attribute() {
    let app = App::new().await;
    let answer = app.provision(&maximal("frank@example.com")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let companies = call(
        &app.router,
        prov_testkit::get("/v1/companies", Some(&app.partner)),
    )
    .await;
    let c = &companies.json()["items"][0];
    assert_eq!(c["trade_name"], "Frank’s Ocean");
    assert_eq!(c["ein"], "123456789");
    assert_eq!(c["states"], json!(["CO", "CA"]));
    assert_eq!(c["number_employees"], 8);
    assert_eq!(c["addresses"][0]["is_primary"], true);
    assert_eq!(c["addresses"][0]["street_2"], "Suite 350");
    assert_eq!(c["addresses"][1]["is_primary"], false);
}

#[tokio::test]
async fn is_primary_takes_booleans_and_their_strings() {
    let app = App::new().await;
    for (i, value) in [json!(true), json!(false), json!("true"), json!("false")]
        .into_iter()
        .enumerate()
    {
        let body = with(
            maximal(&format!("p{i}@example.com")),
            &["company", "addresses", "0", "is_primary"],
            value,
        );
        let answer = app.provision(&body).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
    }
    for bad in [json!("yes"), json!(1), json!("TRUE")] {
        let body = with(
            maximal("bad@example.com"),
            &["company", "addresses", "0", "is_primary"],
            bad,
        );
        let answer = app.provision(&body).await;
        assert_eq!(answer.status, 422);
        assert_eq!(answer.error_keys(), ["company.addresses[0].is_primary"]);
    }
}

#[tokio::test]
async fn each_missing_required_attribute_is_named() {
    let app = App::new().await;
    let cases: &[&[&str]] = &[
        &["user"],
        &["company"],
        &["user", "first_name"],
        &["user", "last_name"],
        &["user", "email"],
        &["company", "name"],
        &["company", "addresses", "1", "street_1"],
        &["company", "addresses", "1", "city"],
        &["company", "addresses", "1", "state"],
        &["company", "addresses", "1", "zip"],
        &["company", "addresses", "1", "phone"],
    ];
    for path in cases {
        let answer = app.provision(&without(maximal("frank@example.com"), path)).await;
        assert_eq!(answer.status, 422, "{path:?}: {}", answer.text());
        let expected = match path {
            [.., "addresses", i, field] => format!("company.addresses[{i}].{field}"),
            _ => path.join("."),
        };
        assert_eq!(answer.error_keys(), vec![expected.clone()], "{path:?}");
        assert_eq!(answer.category(), "invalid_attribute_value");
        assert!(
            answer.json()["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(&expected)
        );
    }
    // Blank counts as missing; every problem is reported at once.
    let blank =
        json!({"user": {"first_name": " ", "last_name": "", "email": "x@example.com"}, "company": {}});
    let answer = app.provision(&blank).await;
    assert_eq!(
        answer.error_keys(),
        ["user.first_name", "user.last_name", "company.name"]
    );
    assert_eq!(company_count(&app, &app.partner).await, 0);
}

#[tokio::test]
async fn invalid_values_are_refused_by_name() {
    let app = App::new().await;
    let cases: Vec<(&[&str], Value, &str)> = vec![
        (&["user", "email"], json!("not-an-email"), "user.email"),
        (&["user", "email"], json!("frank@localhost"), "user.email"),
        (&["user", "phone"], json!("555-1234"), "user.phone"),
        (&["company", "ein"], json!("12345678"), "company.ein"),
        (&["company", "ein"], json!("1234567890"), "company.ein"),
        (&["company", "ein"], json!(123456789), "company.ein"),
        (&["company", "states"], json!(["CO", "XX"]), "company.states[1]"),
        (&["company", "states"], json!("CO"), "company.states"),
        (
            &["company", "number_employees"],
            json!(-1),
            "company.number_employees",
        ),
        (
            &["company", "number_employees"],
            json!("8"),
            "company.number_employees",
        ),
        (
            &["company", "number_employees"],
            json!(8.5),
            "company.number_employees",
        ),
        (
            &["company", "addresses", "0", "zip"],
            json!("8020"),
            "company.addresses[0].zip",
        ),
        (
            &["company", "addresses", "0", "state"],
            json!("Colorado"),
            "company.addresses[0].state",
        ),
        (
            &["company", "addresses", "0", "phone"],
            json!("12"),
            "company.addresses[0].phone",
        ),
        (
            &["company", "addresses", "1", "is_primary"],
            json!(true),
            "company.addresses",
        ),
        (&["company", "addresses"], json!([1]), "company.addresses[0]"),
        (&["company", "name"], json!("x".repeat(201)), "company.name"),
        (&["user", "nickname"], json!("Frankie"), "user.nickname"),
        (&["extra"], json!(1), "extra"),
    ];
    for (path, value, key) in cases {
        let answer = app
            .provision(&with(maximal("frank@example.com"), path, value.clone()))
            .await;
        assert_eq!(answer.status, 422, "{path:?}={value}: {}", answer.text());
        assert_eq!(answer.error_keys(), [key], "{path:?}={value}");
    }
    assert_eq!(company_count(&app, &app.partner).await, 0);
    assert!(app.outbox.recent(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_existing_email_is_refused_whatever_its_case() {
    let app = App::new().await;
    assert_eq!(app.provision(&minimal("frank@example.com")).await.status, 200);
    let again = app.provision(&minimal(" Frank@EXAMPLE.com ")).await;
    assert_eq!(again.status, 422);
    assert_eq!(again.error_keys(), ["user.email"]);
    assert!(
        again.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("already exists")
    );
    // Not even another partner can take it.
    let other = call(
        &app.router,
        json_request(
            "POST",
            "/v1/provision",
            Some(&app.other_partner),
            &minimal("FRANK@example.com"),
        ),
    )
    .await;
    assert_eq!(other.status, 422);
    assert_eq!(company_count(&app, &app.partner).await, 1);
    assert_eq!(company_count(&app, &app.other_partner).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_requests_for_one_email_create_exactly_one_company() {
    let app = Arc::new(App::new().await);
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let app = app.clone();
            let email = if i % 2 == 0 {
                "race@example.com"
            } else {
                "RACE@example.com"
            };
            tokio::spawn(async move { app.provision(&minimal(email)).await.status.as_u16() })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 422).count(), 11, "{statuses:?}");
    assert_eq!(app.outbox.recent(100).await.unwrap().len(), 1);
}

#[tokio::test]
async fn tokens_are_required_and_must_be_a_partners() {
    let app = App::new().await;
    let body = minimal("frank@example.com");
    let no_token = call(&app.router, json_request("POST", "/v1/provision", None, &body)).await;
    assert_eq!(no_token.status, 401);
    assert_eq!(no_token.category(), "invalid_token");
    assert_eq!(no_token.header("www-authenticate"), Some("Token"));

    let mut wrong = app.partner.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '0' { '1' } else { '0' });
    for header in [
        format!("Token {wrong}"),
        format!("Basic {}", app.partner),
        "Token".into(),
        app.partner.clone(),
    ] {
        let req = Request::post("/v1/provision")
            .header("content-type", "application/json")
            .header("authorization", header.clone())
            .body(Body::from(body.to_string()))
            .unwrap();
        let answer = call(&app.router, req).await;
        assert_eq!(answer.status, 401, "{header}");
    }
    // Missing token wins over a bad body: nothing is read before authentication.
    let req = Request::post("/v1/provision").body(Body::from("{")).unwrap();
    assert_eq!(call(&app.router, req).await.status, 401);

    // An admin token is not a partner token.
    let (_, admin) = app.claimed("admin@example.com").await;
    let answer = call(
        &app.router,
        json_request("POST", "/v1/provision", Some(&admin), &body),
    )
    .await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.category(), "forbidden");
}

#[tokio::test]
async fn bodies_that_cannot_be_read_get_clear_errors() {
    let app = App::new().await;
    let send = |content_type: Option<&'static str>, body: Vec<u8>| {
        let mut req =
            Request::post("/v1/provision").header("authorization", format!("Token {}", app.partner));
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        call(&app.router, req.body(Body::from(body)).unwrap())
    };
    let huge = json!({"user": {"first_name": "x".repeat(70_000)}})
        .to_string()
        .into_bytes();
    let answer = send(Some("application/json"), huge).await;
    assert_eq!(
        (answer.status.as_u16(), answer.category()),
        (413, "payload_too_large".into())
    );

    let answer = send(
        Some("text/plain"),
        minimal("a@example.com").to_string().into_bytes(),
    )
    .await;
    assert_eq!(
        (answer.status.as_u16(), answer.category()),
        (415, "unsupported_media_type".into())
    );
    let answer = send(None, minimal("a@example.com").to_string().into_bytes()).await;
    assert_eq!(answer.status, 415);

    let answer = send(Some("application/json"), b"{\"user\": ".to_vec()).await;
    assert_eq!(
        (answer.status.as_u16(), answer.category()),
        (400, "invalid_request".into())
    );
    let answer = send(Some("application/json"), vec![0xff, 0xfe, b'{', b'}']).await;
    assert_eq!(answer.status, 400);
    let answer = send(Some("application/json"), Vec::new()).await;
    assert_eq!(answer.status, 400);
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes();
    let answer = send(Some("application/json"), deep).await;
    assert_eq!(answer.status, 400);
    let answer = send(Some("application/json"), b"[1, 2]".to_vec()).await;
    assert_eq!(
        (answer.status.as_u16(), answer.error_keys()),
        (422, vec!["body".to_owned()])
    );
    assert_eq!(company_count(&app, &app.partner).await, 0);
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer() {
    let app = App::new().await;
    let send = |key: &'static str, token: String, body: Value| {
        let req = Request::post("/v1/provision")
            .header("content-type", "application/json")
            .header("authorization", format!("Token {token}"))
            .header("idempotency-key", key)
            .body(Body::from(body.to_string()))
            .unwrap();
        call(&app.router, req)
    };
    let first = send("key-1", app.partner.clone(), maximal("frank@example.com")).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("idempotent-replayed"), None);

    // Same key, same body (keys in another order): the same answer, nothing new.
    let reordered: Value = serde_json::from_str(&{
        let m = maximal("frank@example.com");
        format!(r#"{{"company": {}, "user": {}}}"#, m["company"], m["user"])
    })
    .unwrap();
    let replay = send("key-1", app.partner.clone(), reordered).await;
    assert_eq!(replay.status, 200);
    assert_eq!(replay.json(), first.json());
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(company_count(&app, &app.partner).await, 1);
    assert_eq!(app.outbox.recent(10).await.unwrap().len(), 1);

    // Same key, other body: refused.
    let other = send("key-1", app.partner.clone(), maximal("other@example.com")).await;
    assert_eq!(other.status, 422);
    assert_eq!(other.category(), "duplicate_operation");
    assert_eq!(other.error_keys(), ["Idempotency-Key"]);

    // Keys belong to their partner: another partner's same key is a new request.
    let theirs = send("key-1", app.other_partner.clone(), minimal("theirs@example.com")).await;
    assert_eq!(theirs.status, 200);
    assert_ne!(theirs.json(), first.json());

    // After the key's 24 hours, it may be used afresh.
    app.clock.advance(chrono::Duration::hours(25));
    let fresh = send("key-1", app.partner.clone(), minimal("later@example.com")).await;
    assert_eq!(fresh.status, 200, "{}", fresh.text());
    assert_ne!(fresh.json(), first.json());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_requests_with_one_idempotency_key_get_one_answer() {
    let app = Arc::new(App::new().await);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                let req = Request::post("/v1/provision")
                    .header("content-type", "application/json")
                    .header("authorization", format!("Token {}", app.partner))
                    .header("idempotency-key", "same")
                    .body(Body::from(minimal("once@example.com").to_string()))
                    .unwrap();
                let answer = call(&app.router, req).await;
                (answer.status.as_u16(), answer.json())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:?}");
    assert!(answers.iter().all(|(_, b)| *b == answers[0].1));
    assert_eq!(company_count(&app, &app.partner).await, 1);
}

#[tokio::test]
async fn a_bad_idempotency_key_is_refused() {
    let app = App::new().await;
    let req = Request::post("/v1/provision")
        .header("content-type", "application/json")
        .header("authorization", format!("Token {}", app.partner))
        .header("idempotency-key", "x".repeat(256))
        .body(Body::from(minimal("frank@example.com").to_string()))
        .unwrap();
    let answer = call(&app.router, req).await;
    assert_eq!(answer.status, 422);
    assert_eq!(answer.error_keys(), ["Idempotency-Key"]);
}

#[tokio::test]
async fn a_mail_outage_loses_no_welcome_email() {
    let mailer = std::sync::Mutex::new(None::<Arc<Switchable>>);
    let app = App::with_mailer(|outbox| {
        let m = Arc::new(Switchable {
            outbox,
            broken: std::sync::atomic::AtomicBool::new(true),
        });
        *mailer.lock().unwrap() = Some(m.clone());
        m
    })
    .await;
    let mailer = mailer.lock().unwrap().clone().unwrap();
    let answer = app.provision(&minimal("frank@example.com")).await;
    assert_eq!(answer.status, 200, "the company exists; the email will follow");
    let store = app.services.store.as_ref();
    assert_eq!(MailQueue::pending(store).await.unwrap(), 1);
    assert!(app.outbox.recent(10).await.unwrap().is_empty());

    mailer.broken.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(MailQueue::drain(store, mailer.as_ref()).await.unwrap(), 1);
    assert_eq!(MailQueue::pending(store).await.unwrap(), 0);
    let sent = app.outbox.recent(10).await.unwrap();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].email.text.contains(&format!("{BASE}/claim_account/")));
}
