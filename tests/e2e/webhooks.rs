//! Signed partner webhooks end to end (issue 23, point 5): a partner registers an endpoint
//! (a receiver in the test, on this machine: the devserver's sandbox mode allows plain http
//! to loopback), its companies' changes are delivered signed, a failing receiver is retried
//! with backoff, private addresses are refused, and a change whose write failed sends
//! nothing. The receiver checks every signature with the README's recipe, written here
//! again from scratch (HMAC-SHA256 over `t.body`), not with the service's own code.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::Duration;
use prov_core::clock::Clock;
use prov_core::queue::JobQueue;
use prov_core::store::{Item, ItemStore, Key, Page, PageRequest, StoreError, WriteOp};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::{Co, OTHER_PARTNER, PARTNER, Walk};

const TOKEN: &str = "sandbox-hooks";

// ---------------------------------------------------------------------------------------
// The receiver

/// One delivery as the receiver got it.
#[derive(Debug, Clone)]
pub(crate) struct Got {
    signature: String,
    event_id: String,
    body: String,
}

impl Got {
    pub(crate) fn event(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A partner's endpoint: records what it gets, answers the statuses it is told to (200 once
/// they run out).
#[derive(Clone, Default)]
pub(crate) struct Receiver {
    got: Arc<Mutex<Vec<Got>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    pub(crate) async fn start() -> (Self, String) {
        let receiver = Receiver::default();
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    fn answer(&self, statuses: &[u16]) {
        self.answers.lock().unwrap().extend(statuses);
    }

    pub(crate) fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    fn kinds(&self) -> Vec<String> {
        self.got()
            .iter()
            .map(|g| g.event()["type"].as_str().unwrap().to_owned())
            .collect()
    }
}

async fn receive(
    State(r): State<Receiver>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (StatusCode, &'static str) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    r.got.lock().unwrap().push(Got {
        signature: header("webhook-signature"),
        event_id: header("webhook-id"),
        body: String::from_utf8(body.to_vec()).unwrap(),
    });
    let status = r.answers.lock().unwrap().pop_front().unwrap_or(200);
    (StatusCode::from_u16(status).unwrap(), "boom")
}

// ---------------------------------------------------------------------------------------
// The README's verification recipe

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    // RFC 2104, with SHA-256's 64-byte block.
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::digest([pad(0x36), message.to_vec()].concat());
    Sha256::digest([pad(0x5c), inner.to_vec()].concat()).to_vec()
}

/// Step by step as the README says: split the header into `t` and the `v1` values, refuse a
/// time more than 5 minutes from now, compute the HMAC of `t.body` with the secret, compare
/// in constant time with each `v1`.
fn verify(secret: &str, header: &str, body: &str, now: i64) -> Result<(), &'static str> {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1.push(value.to_owned()),
            _ => {}
        }
    }
    let t = t.ok_or("no time")?;
    if (now - t).abs() > 300 {
        return Err("too old");
    }
    let expected = hex::encode(hmac_sha256(secret.as_bytes(), format!("{t}.{body}").as_bytes()));
    let same = |given: &str| {
        given.len() == expected.len()
            && given
                .bytes()
                .zip(expected.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    };
    if v1.iter().any(|given| same(given)) {
        Ok(())
    } else {
        Err("no signature matches")
    }
}

// ---------------------------------------------------------------------------------------
// Helpers

pub(crate) async fn register(w: &Walk, url: &str, events: &[&str]) -> (String, String) {
    let answer = w
        .send(
            "POST",
            "/v1/webhook_endpoints",
            Some(PARTNER),
            Some(json!({"url": url, "events": events})),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let registered = answer.json();
    (
        registered["id"].as_str().unwrap().to_owned(),
        registered["secret"].as_str().unwrap().to_owned(),
    )
}

/// Runs the worker until nothing is left: the partner's companies learn what it listens
/// for (the second pass comes a minute later), and what is queued is delivered.
pub(crate) async fn settle(w: &Walk) {
    w.local.work().await.unwrap();
    w.clock.advance(Duration::seconds(61));
    w.local.work().await.unwrap();
}

async fn deliveries(w: &Walk, endpoint: &str) -> Vec<Value> {
    let answer = w
        .send(
            "GET",
            &format!("/v1/webhook_endpoints/{endpoint}/deliveries?limit=100"),
            Some(PARTNER),
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()["items"].as_array().unwrap().clone()
}

async fn create_account(w: &Walk, co: &Co, team_member: &str) -> String {
    let created = w
        .send(
            "POST",
            &co.path("/apps/sandbox_scim/accounts"),
            Some(&co.admin),
            Some(json!({"team_member_id": team_member})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    created.json()["id"].as_str().unwrap().to_owned()
}

async fn act(w: &Walk, co: &Co, account: &str, action: &str) -> prov_testkit::Answer {
    w.send(
        "POST",
        &co.path(&format!("/apps/sandbox_scim/accounts/{account}/{action}")),
        Some(&co.admin),
        None,
    )
    .await
}

fn person(first: &str) -> Value {
    json!({"first_name": first, "last_name": "Hook", "kind": "employee", "email": format!("{}@example.com", first.to_lowercase())})
}

// ---------------------------------------------------------------------------------------
// Tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_receives_its_companies_changes_signed_and_the_secret_is_shown_once() {
    let w = Walk::start().await;
    let (receiver, url) = Receiver::start().await;
    let all = [
        "company.claimed",
        "account.created",
        "account.connected",
        "account.suspended",
        "account.removed",
        "access_report.finding_opened",
    ];
    let (endpoint, secret) = register(&w, &url, &all).await;
    assert!(secret.starts_with("whsec_") && secret.len() > 40, "{secret}");
    settle(&w).await;

    // The company comes after the endpoint: its provisioning reads what the partner
    // listens for, and its claim is the first event.
    let co = w.connected_company("owner@example.com", TOKEN).await;
    let ada = w.team_member(&co, person("Ada")).await;
    let account = create_account(&w, &co, &ada).await;
    // Grace accepts her invitation, and a stranger's account appears at the vendor: the
    // next sync records both (findings open for the unmatched account and its seat).
    let grace = w.team_member(&co, person("Grace")).await;
    create_account(&w, &co, &grace).await;
    assert!(w.local.sandbox.accept_invitation(TOKEN, "grace@example.com"));
    w.local
        .sandbox
        .seed_user(TOKEN, "stranger@example.com", "Some", "Stranger");
    w.sync(&co, "sandbox_scim").await;
    assert_eq!(act(&w, &co, &account, "suspend").await.status, 200);
    assert_eq!(act(&w, &co, &account, "reactivate").await.status, 200);
    assert_eq!(act(&w, &co, &account, "delete").await.status, 200);
    w.local.work().await.unwrap();

    let mut kinds = receiver.kinds();
    kinds[4..6].sort();
    assert_eq!(
        kinds,
        [
            "company.claimed",
            "account.created",
            "account.created",
            "account.connected",
            "access_report.finding_opened",
            "access_report.finding_opened",
            "account.suspended",
            "account.removed",
        ],
        "reactivating is not an event; every other change is, once"
    );
    let got = receiver.got();
    let now = w.clock.now().timestamp();
    for g in &got {
        assert_eq!(verify(&secret, &g.signature, &g.body, now), Ok(()), "{g:?}");
        // The service's own verifier agrees with the recipe.
        assert_eq!(
            prov_core::webhooks::signature::verify(&secret, &g.signature, &g.body, now),
            Ok(())
        );
        let event = g.event();
        assert_eq!(event["id"], g.event_id.as_str());
        assert_eq!(event["company_id"], co.id.as_str());
        // A tampered body, another secret and an old time are refused.
        let tampered = g.body.replace(&co.id, "com_someone_else");
        assert_eq!(
            verify(&secret, &g.signature, &tampered, now),
            Err("no signature matches")
        );
        assert_eq!(
            verify("whsec_guess", &g.signature, &g.body, now),
            Err("no signature matches")
        );
        assert_eq!(verify(&secret, &g.signature, &g.body, now + 301), Err("too old"));
    }
    let ids: std::collections::HashSet<_> = got.iter().map(|g| g.event_id.clone()).collect();
    assert_eq!(ids.len(), got.len(), "each event once");
    let claimed = got[0].event();
    assert_eq!(
        claimed["data"]["user_id"].as_str().map(|u| u.starts_with("usr_")),
        Some(true)
    );
    for (g, status) in [
        (&got[1], "invite_sent"),
        (&got[6], "suspended"),
        (&got[7], "deleted"),
    ] {
        let data = g.event()["data"]["account"].clone();
        assert_eq!(
            (
                data["id"].as_str(),
                data["team_member_id"].as_str(),
                data["status"].as_str()
            ),
            (Some(account.as_str()), Some(ada.as_str()), Some(status)),
            "{data}"
        );
    }
    assert_eq!(
        got[3].event()["data"]["account"]["team_member_id"],
        grace.as_str()
    );
    assert_eq!(got[3].event()["data"]["account"]["status"], "connected");
    let mut findings: Vec<String> = got[4..6]
        .iter()
        .map(|g| g.event()["data"]["kind"].as_str().unwrap().to_owned())
        .collect();
    findings.sort();
    assert_eq!(findings, ["seats", "unmatched"]);
    // The account.created event is the audit log's, under the same id.
    let log = w
        .send("GET", &co.path("/events?limit=100"), Some(&co.admin), None)
        .await
        .json();
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "account.created" && e["id"] == got[1].event_id.as_str()),
        "{log}"
    );

    // The partner reads every delivery with its attempt.
    let listed = deliveries(&w, &endpoint).await;
    assert_eq!(listed.len(), got.len());
    for d in &listed {
        assert_eq!(d["state"], "delivered", "{d}");
        assert_eq!(d["attempts"].as_array().unwrap().len(), 1);
        assert_eq!(d["attempts"][0]["status"], 200);
    }
    assert_eq!(
        listed[0]["event"]["id"],
        got.last().unwrap().event_id.as_str(),
        "newest first"
    );

    // The secret was in the registration's answer and nowhere else.
    let list = w.send("GET", "/v1/webhook_endpoints", Some(PARTNER), None).await;
    assert_eq!(list.json()["items"][0]["id"], endpoint.as_str());
    assert_eq!(list.json()["items"][0]["url"], url.as_str());
    let outbox = w.send("GET", "/_dev/outbox", None, None).await;
    for text in [
        list.text(),
        serde_json::to_string(&listed).unwrap(),
        log.to_string(),
        outbox.text(),
        got.iter().map(|g| format!("{g:?}")).collect(),
    ] {
        assert!(!text.contains(&secret), "the secret leaked: {text}");
    }
    let partner_id = match prov_core::auth::authenticate(w.local.services.store.as_ref(), &w.clock, PARTNER)
        .await
        .unwrap()
    {
        prov_core::auth::Principal::Partner { partner_id } => partner_id,
        other => panic!("{other:?}"),
    };
    let kept = w
        .local
        .services
        .store
        .get(&prov_core::keys::webhook_secret_key(&partner_id, &endpoint))
        .await
        .unwrap()
        .expect("the secret is kept");
    let kept = serde_json::to_string(&kept.data).unwrap();
    assert!(
        !kept.contains(&secret) && !kept.contains(&secret[6..]),
        "kept encrypted"
    );

    // Only partners manage endpoints, and only their own.
    let admin_tries = w
        .send("GET", "/v1/webhook_endpoints", Some(&co.admin), None)
        .await;
    assert_eq!(admin_tries.status, 403);
    let other = w
        .send("GET", "/v1/webhook_endpoints", Some(OTHER_PARTNER), None)
        .await;
    assert_eq!(other.json()["items"], json!([]));
    for (method, path) in [
        ("GET", format!("/v1/webhook_endpoints/{endpoint}/deliveries")),
        ("DELETE", format!("/v1/webhook_endpoints/{endpoint}")),
    ] {
        let answer = w.send(method, &path, Some(OTHER_PARTNER), None).await;
        assert_eq!(answer.status, 404, "{method} {path}: {}", answer.text());
    }

    // Deleted: nothing more is delivered.
    let deleted = w
        .send(
            "DELETE",
            &format!("/v1/webhook_endpoints/{endpoint}"),
            Some(PARTNER),
            None,
        )
        .await;
    assert_eq!(deleted.status, 204);
    settle(&w).await;
    let before = receiver.got().len();
    let bea = w.team_member(&co, person("Bea")).await;
    create_account(&w, &co, &bea).await;
    settle(&w).await;
    assert_eq!(receiver.got().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_endpoint_is_retried_with_backoff_and_then_delivered() {
    let w = Walk::start().await;
    let (receiver, url) = Receiver::start().await;
    receiver.answer(&[500, 503]);
    let (endpoint, secret) = register(&w, &url, &["company.claimed"]).await;
    settle(&w).await;
    let registered_at = w.clock.now();
    w.company(PARTNER, "retry@example.com").await;
    w.local.work().await.unwrap();

    let first = deliveries(&w, &endpoint).await;
    assert_eq!(first.len(), 1);
    let d = &first[0];
    assert_eq!(d["state"], "pending");
    assert_eq!(d["attempts"][0]["status"], 500);
    assert_eq!(d["attempts"][0]["error"], "the endpoint answered 500");
    assert_eq!(d["attempts"][0]["response"], "boom");
    let next: chrono::DateTime<chrono::Utc> = d["next_attempt_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(next, registered_at + Duration::minutes(1));

    // Not before its time.
    w.clock.advance(Duration::seconds(59));
    w.local.work().await.unwrap();
    assert_eq!(receiver.got().len(), 1);
    w.clock.advance(Duration::seconds(1));
    w.local.work().await.unwrap();
    assert_eq!(receiver.got().len(), 2);
    let second = deliveries(&w, &endpoint).await;
    assert_eq!(second[0]["attempts"][1]["status"], 503);
    let next: chrono::DateTime<chrono::Utc> = second[0]["next_attempt_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(next, w.clock.now() + Duration::minutes(2), "the wait doubles");
    w.clock.advance(Duration::minutes(2));
    w.local.work().await.unwrap();

    let done = deliveries(&w, &endpoint).await;
    assert_eq!(done[0]["state"], "delivered", "{}", done[0]);
    let statuses: Vec<u64> = done[0]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [500, 503, 200]);
    assert_eq!(done[0]["next_attempt_at"], Value::Null);
    // The same event each time, each attempt signed with its own time.
    let got = receiver.got();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter()
            .all(|g| g.body == got[0].body && g.event_id == got[0].event_id)
    );
    let times: std::collections::HashSet<&str> = got
        .iter()
        .map(|g| g.signature.split(',').next().unwrap())
        .collect();
    assert_eq!(times.len(), 3);
    assert_eq!(
        verify(
            &secret,
            &got[2].signature,
            &got[2].body,
            w.clock.now().timestamp()
        ),
        Ok(())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_never_answers_well_is_given_up_after_a_day_of_retries() {
    let w = Walk::start().await;
    let (receiver, url) = Receiver::start().await;
    receiver.answer(&[500; 40]);
    let (endpoint, _) = register(&w, &url, &["company.claimed"]).await;
    settle(&w).await;
    let claimed_at = w.clock.now();
    w.company(PARTNER, "never@example.com").await;
    w.local.work().await.unwrap();
    // Each retry when due: waits within 15 minutes come as a delayed message, longer ones
    // from the worker's sweep (the devserver's tick).
    for _ in 0..40 {
        let d = deliveries(&w, &endpoint).await.remove(0);
        let Some(next) = d["next_attempt_at"].as_str() else {
            break;
        };
        let next: chrono::DateTime<chrono::Utc> = next.parse().unwrap();
        w.clock.set(next + Duration::minutes(3));
        w.local.tick().await.unwrap();
        w.local.work().await.unwrap();
    }
    let d = deliveries(&w, &endpoint).await.remove(0);
    assert_eq!(d["state"], "failed", "{d}");
    let attempts = d["attempts"].as_array().unwrap();
    let last: chrono::DateTime<chrono::Utc> =
        attempts.last().unwrap()["at"].as_str().unwrap().parse().unwrap();
    assert!(last >= claimed_at + Duration::hours(24), "{last}");
    assert!(
        last <= claimed_at + Duration::hours(24) + Duration::minutes(3),
        "{last}"
    );
    assert_eq!(attempts.len(), receiver.got().len());
    assert!((12..=16).contains(&attempts.len()), "{} attempts", attempts.len());
    println!(
        "webhooks: a failing endpoint got {} attempts over 24 hours",
        attempts.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_and_plain_http_addresses_are_refused_at_registration() {
    let w = Walk::start().await;
    for url in [
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://metadata.google.internal/hook",
        "https://printer.local/hook",
        "http://hooks.example.com/hook",
        "https://user:password@hooks.example.com/hook",
        "ftp://hooks.example.com/hook",
    ] {
        let answer = w
            .send(
                "POST",
                "/v1/webhook_endpoints",
                Some(PARTNER),
                Some(json!({"url": url, "events": ["company.claimed"]})),
            )
            .await;
        assert_eq!(answer.status, 422, "{url}: {}", answer.text());
        assert_eq!(answer.json()["errors"][0]["error_key"], "url", "{url}");
    }
    let listed = w.send("GET", "/v1/webhook_endpoints", Some(PARTNER), None).await;
    assert_eq!(listed.json()["items"], json!([]));
    // The devserver's sandbox mode: this machine, over plain http.
    let (_, local) = Receiver::start().await;
    register(&w, &local, &["company.claimed"]).await;
    // And an unknown event is refused with the events there are.
    let unknown = w
        .send(
            "POST",
            "/v1/webhook_endpoints",
            Some(PARTNER),
            Some(json!({"url": local, "events": ["account.deleted"]})),
        )
        .await;
    assert_eq!(unknown.status, 422);
    assert_eq!(unknown.json()["errors"][0]["error_key"], "events[0]");
}

/// A store whose transactions fail while armed when they would write a webhook event: the
/// change they carry fails with them.
struct FailingEventWrites {
    inner: Arc<dyn ItemStore>,
    armed: AtomicBool,
    failed: AtomicUsize,
}

#[async_trait]
impl ItemStore for FailingEventWrites {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.inner.get(key).await
    }
    async fn create(&self, item: Item) -> Result<u64, StoreError> {
        self.inner.create(item).await
    }
    async fn replace(&self, item: Item, expected_version: u64) -> Result<u64, StoreError> {
        self.inner.replace(item, expected_version).await
    }
    async fn delete(&self, key: &Key, expected_version: Option<u64>) -> Result<(), StoreError> {
        self.inner.delete(key, expected_version).await
    }
    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        let writes_event = ops.iter().any(|op| op.key().sk.starts_with("HOOKEVENT#"));
        if writes_event && self.armed.load(Ordering::SeqCst) {
            self.failed.fetch_add(1, Ordering::SeqCst);
            return Err(StoreError::Unavailable("injected: the table is down".into()));
        }
        self.inner.transact(ops).await
    }
    async fn query(&self, pk: &str, sk_prefix: &str, page: PageRequest) -> Result<Page, StoreError> {
        self.inner.query(pk, sk_prefix, page).await
    }
    async fn query_index(&self, index_pk: &str, page: PageRequest) -> Result<Page, StoreError> {
        self.inner.query_index(index_pk, page).await
    }
    async fn scan(&self, sk_prefix: &str, page: PageRequest) -> Result<Page, StoreError> {
        self.inner.scan(sk_prefix, page).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_event_is_sent_for_a_change_whose_write_failed() {
    let failing: Arc<std::sync::OnceLock<Arc<FailingEventWrites>>> = Arc::default();
    let slot = failing.clone();
    let w = Walk::start_wrapped(move |inner| {
        let store = Arc::new(FailingEventWrites {
            inner,
            armed: AtomicBool::new(false),
            failed: AtomicUsize::new(0),
        });
        slot.set(store.clone()).ok();
        store
    })
    .await;
    let store = failing.get().unwrap().clone();
    let (receiver, url) = Receiver::start().await;
    let (endpoint, _) = register(&w, &url, &["account.suspended"]).await;
    settle(&w).await;
    let co = w.connected_company("failing@example.com", TOKEN).await;
    let ada = w.team_member(&co, person("Ada")).await;
    let account = create_account(&w, &co, &ada).await;

    store.armed.store(true, Ordering::SeqCst);
    let refused = act(&w, &co, &account, "suspend").await;
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert_eq!(store.failed.load(Ordering::SeqCst), 1);
    store.armed.store(false, Ordering::SeqCst);
    // Nothing was recorded, so nothing is announced, now or by any later sweep.
    let listed = w
        .send(
            "GET",
            &co.path("/apps/sandbox_scim/accounts"),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    let recorded = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == account.as_str())
        .unwrap()
        .clone();
    assert_ne!(recorded["status"], "suspended", "{recorded}");
    w.clock.advance(Duration::minutes(10));
    w.local.tick().await.unwrap();
    w.local.work().await.unwrap();
    assert!(receiver.got().is_empty());
    assert!(deliveries(&w, &endpoint).await.is_empty());

    // The change made again, and written: one event.
    assert_eq!(act(&w, &co, &account, "suspend").await.status, 200);
    w.local.work().await.unwrap();
    assert_eq!(receiver.kinds(), ["account.suspended"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn companies_and_open_dismissals_learn_of_an_endpoint_registered_later() {
    let w = Walk::start().await;
    let co = w.connected_company("later@example.com", TOKEN).await;
    let bob = w.team_member(&co, person("Bob")).await;
    let bobs = create_account(&w, &co, &bob).await;
    let dismissed = w
        .send(
            "PUT",
            &co.path(&format!("/team_members/{bob}/dismissal")),
            Some(&co.admin),
            Some(json!({"last_day": "2026-03-10"})),
        )
        .await;
    assert_eq!(dismissed.status, 200, "{}", dismissed.text());

    let (receiver, url) = Receiver::start().await;
    register(
        &w,
        &url,
        &["account.created", "account.removed", "dismissal.completed"],
    )
    .await;
    settle(&w).await;
    let carol = w.team_member(&co, person("Carol")).await;
    create_account(&w, &co, &carol).await;
    // The dismissal's own moment in the hour after midnight (issue 24).
    let midnight = "2026-03-11T07:00:00Z"
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap();
    w.clock
        .set(prov_processes::dismissal::runs_at(&co.id, &bob, midnight));
    assert_eq!(w.local.tick().await.unwrap(), 1);
    w.local.work().await.unwrap();

    assert_eq!(
        receiver.kinds(),
        ["account.created", "account.removed", "dismissal.completed"]
    );
    let got = receiver.got();
    assert_eq!(got[1].event()["data"]["account"]["id"], bobs.as_str());
    let completed = got[2].event()["data"].clone();
    assert_eq!(completed["team_member_id"], bob.as_str());
    assert_eq!(completed["last_day"], "2026-03-10");
    assert_eq!(completed["accounts"][0]["account_id"], bobs.as_str());
    assert_eq!(completed["accounts"][0]["state"], "done");
    assert_eq!(completed["accounts"][0]["removal"], "delete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dismissal_whose_removal_fails_announces_that_it_needs_attention_once() {
    let w = Walk::start().await;
    let (receiver, url) = Receiver::start().await;
    register(&w, &url, &["offboarding.needs_attention", "dismissal.completed"]).await;
    settle(&w).await;
    let co = w.connected_company("attention@example.com", TOKEN).await;
    let dan = w.team_member(&co, person("Dan")).await;
    create_account(&w, &co, &dan).await;
    // The vendor refuses every removal call for now.
    w.local.sandbox.fail_next(1000, 500);
    let dismissed = w
        .send(
            "PUT",
            &co.path(&format!("/team_members/{dan}/dismissal")),
            Some(&co.admin),
            Some(json!({"last_day": "2026-02-27"})),
        )
        .await;
    assert_eq!(dismissed.status, 200, "{}", dismissed.text());
    w.local.work().await.unwrap();
    assert_eq!(receiver.kinds(), ["offboarding.needs_attention"]);
    let data = receiver.got()[0].event()["data"].clone();
    assert_eq!(data["state"], "needs_attention");
    assert_eq!(data["accounts"][0]["state"], "failed");
    // A retry that fails again is not news; the one that works completes it.
    w.clock.advance(Duration::minutes(16));
    w.local.tick().await.unwrap();
    w.local.work().await.unwrap();
    assert_eq!(receiver.kinds(), ["offboarding.needs_attention"]);
    w.local.sandbox.clear_faults();
    w.clock.advance(Duration::minutes(31));
    w.local.tick().await.unwrap();
    w.local.work().await.unwrap();
    assert_eq!(
        receiver.kinds(),
        ["offboarding.needs_attention", "dismissal.completed"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_hands_on_an_event_whose_message_was_lost() {
    let w = Walk::start().await;
    let (receiver, url) = Receiver::start().await;
    register(&w, &url, &["company.claimed"]).await;
    settle(&w).await;
    w.company(PARTNER, "lost@example.com").await;
    // The worker's messages are lost (the queue emptied without running them).
    loop {
        let lost = w.local.queue.receive(10, Duration::minutes(30)).await.unwrap();
        if lost.is_empty() {
            break;
        }
        for m in lost {
            w.local.queue.delete(&m.receipt).await.unwrap();
        }
    }
    w.local.work().await.unwrap();
    assert!(receiver.got().is_empty());
    // Within the sweep's grace the event is left to its message; after it, handed on.
    w.clock.advance(Duration::seconds(60));
    w.local.tick().await.unwrap();
    w.local.work().await.unwrap();
    assert!(receiver.got().is_empty());
    w.clock.advance(Duration::seconds(90));
    w.local.tick().await.unwrap();
    w.local.work().await.unwrap();
    assert_eq!(receiver.kinds(), ["company.claimed"]);
    // Handed on once: delivered, it is no longer due.
    w.clock.advance(Duration::minutes(10));
    w.local.tick().await.unwrap();
    w.local.work().await.unwrap();
    assert_eq!(receiver.got().len(), 1);
}

/// The same on DynamoDB (moto), with the secret in the envelope store as deployed: the
/// provisioning's and the claim's checks of the partner's record, the propagation through
/// the partner's index, the outbox and the sweep's index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_dynamodb_events_are_written_with_their_changes_and_delivered() {
    let w = Walk::start_on_dynamodb().await;
    let before = w.company(PARTNER, "early@example.com").await;
    let (receiver, url) = Receiver::start().await;
    let (endpoint, secret) = register(&w, &url, &["company.claimed", "account.created"]).await;
    settle(&w).await;
    // A company from before the endpoint learned of it; one made after reads it itself.
    let early = Co {
        id: before.0,
        admin: before.1,
    };
    let co = w.connected_company("after@example.com", TOKEN).await;
    let connected = w
        .send(
            "POST",
            &early.path("/apps/sandbox_scim/connection"),
            Some(&early.admin),
            Some(json!({"scim_base_url": "https://scim.sandbox.test/scim/v2", "scim_token": "sandbox-hooks-early"})),
        )
        .await;
    assert_eq!(connected.status, 200, "{}", connected.text());
    for c in [&early, &co] {
        let ada = w.team_member(c, person("Ada")).await;
        create_account(&w, c, &ada).await;
    }
    w.local.work().await.unwrap();
    assert_eq!(
        receiver.kinds(),
        ["company.claimed", "account.created", "account.created"]
    );
    let companies: Vec<Value> = receiver
        .got()
        .iter()
        .map(|g| g.event()["company_id"].clone())
        .collect();
    assert_eq!(companies, [json!(co.id), json!(early.id), json!(co.id)]);
    let now = w.clock.now().timestamp();
    assert!(
        receiver
            .got()
            .iter()
            .all(|g| verify(&secret, &g.signature, &g.body, now).is_ok())
    );
    assert_eq!(deliveries(&w, &endpoint).await.len(), 3);
}
