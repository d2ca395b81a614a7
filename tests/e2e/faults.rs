//! Fault injection end to end (issue 12, item 3).
//!
//! - Crash and restart: a store that "kills the process" at its Nth write (the flow stops
//!   there for good, and the write either never lands or lands unanswered), for every write
//!   of account creation and of the dismissal cleanup; then a restart (fresh services over
//!   the same store, the clock moved past the leases where the flow asks to wait) runs the
//!   flow again. Nothing is lost (the account exists once and is linked; the dismissal
//!   completes with every app's access removed) and nothing is done twice (the sandbox
//!   vendors' create and remove calls are counted).
//! - DynamoDB throttling and outages through the HTTP edge: a retryable 503 in the one error
//!   shape, never a panic.
//!
//! The tests print their figures (`fault-injection: …` lines; run with `--nocapture`), which
//! RELIABILITY.md quotes.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use prov_core::keys::breaker_key;
use prov_core::queue::StoreQueue;
use prov_core::schedule::StoreScheduler;
use prov_core::store::{Item, ItemStore, Key, Page, PageRequest, StoreError, WriteOp};
use prov_processes::accounts::RunLimits;
use prov_testkit::{Answer, call, json_request};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::support::{Co, PARTNER, Walk};

// ---------------------------------------------------------------------------------------
// The crashing store

/// Where the process dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Crash {
    /// Never: the flow runs to its end (and its writes are counted).
    Never,
    /// At the Nth write (1-based), before it reaches the store.
    Before(usize),
    /// At the Nth write, after the store applied it and before the flow heard back.
    After(usize),
}

impl Crash {
    fn describe(self) -> String {
        match self {
            Crash::Never => "no crash".into(),
            Crash::Before(n) => format!("crash before write {n}"),
            Crash::After(n) => format!("crash after write {n}"),
        }
    }
}

/// An `ItemStore` over another that simulates the process dying at a chosen write: from
/// then on every call of the dead process hangs forever (nothing it would have done after
/// happens), and `crashed()` resolves so the test drops the flow. Writes are `create`,
/// `replace`, `delete` and `transact`; each write's key is kept for the figures.
struct CrashingStore {
    inner: Arc<dyn ItemStore>,
    crash: Crash,
    writes: AtomicUsize,
    written: Mutex<Vec<String>>,
    dead: watch::Sender<bool>,
}

impl CrashingStore {
    fn new(inner: Arc<dyn ItemStore>, crash: Crash) -> Arc<Self> {
        Arc::new(Self {
            inner,
            crash,
            writes: AtomicUsize::new(0),
            written: Mutex::new(Vec::new()),
            dead: watch::channel(false).0,
        })
    }

    fn is_dead(&self) -> bool {
        *self.dead.borrow()
    }

    /// Resolves once the process has died.
    async fn crashed(&self) {
        let mut rx = self.dead.subscribe();
        let _ = rx.wait_for(|dead| *dead).await;
    }

    /// What a dead process does: nothing, ever.
    async fn hang<T>() -> T {
        std::future::pending().await
    }

    /// Counts a write and decides its fate; `apply` performs it on the real store.
    async fn write<T, F>(&self, what: String, apply: F) -> Result<T, StoreError>
    where
        F: Future<Output = Result<T, StoreError>>,
    {
        if self.is_dead() {
            return Self::hang().await;
        }
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        self.written.lock().unwrap().push(what);
        match self.crash {
            Crash::Before(at) if at == n => {
                self.dead.send_replace(true);
                Self::hang().await
            }
            Crash::After(at) if at == n => {
                let _ = apply.await;
                self.dead.send_replace(true);
                Self::hang().await
            }
            _ => apply.await,
        }
    }

    async fn read<T, F>(&self, apply: F) -> Result<T, StoreError>
    where
        F: Future<Output = Result<T, StoreError>>,
    {
        if self.is_dead() {
            return Self::hang().await;
        }
        apply.await
    }

    fn writes(&self) -> Vec<String> {
        self.written.lock().unwrap().clone()
    }
}

/// A write's record kind, for the figures (`INTENT`, `ACCT`, `TMACCT`, `AUDIT`, …).
fn kind(key: &Key) -> String {
    let of = |s: &str| s.split('#').next().unwrap_or_default().to_owned();
    if key.pk.starts_with("AUDIT#") {
        "AUDIT".into()
    } else if key.pk.starts_with("COMPANY#") {
        of(&key.sk)
    } else {
        of(&key.pk)
    }
}

#[async_trait]
impl ItemStore for CrashingStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.read(self.inner.get(key)).await
    }

    async fn create(&self, item: Item) -> Result<u64, StoreError> {
        let what = format!("create {}", kind(&item.key));
        self.write(what, self.inner.create(item)).await
    }

    async fn replace(&self, item: Item, expected_version: u64) -> Result<u64, StoreError> {
        let what = format!("replace {}", kind(&item.key));
        self.write(what, self.inner.replace(item, expected_version)).await
    }

    async fn delete(&self, key: &Key, expected_version: Option<u64>) -> Result<(), StoreError> {
        let what = format!("delete {}", kind(key));
        self.write(what, self.inner.delete(key, expected_version)).await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        let kinds: Vec<String> = ops.iter().map(|op| kind(op.key())).collect();
        let what = format!("transact {}", kinds.join("+"));
        self.write(what, self.inner.transact(ops)).await
    }

    async fn query(&self, pk: &str, sk_prefix: &str, page: PageRequest) -> Result<Page, StoreError> {
        self.read(self.inner.query(pk, sk_prefix, page)).await
    }

    async fn query_index(&self, index_pk: &str, page: PageRequest) -> Result<Page, StoreError> {
        self.read(self.inner.query_index(index_pk, page)).await
    }

    async fn scan(&self, sk_prefix: &str, page: PageRequest) -> Result<Page, StoreError> {
        self.read(self.inner.scan(sk_prefix, page)).await
    }
}

/// The devserver's parts with every store call going through `store` (the process that
/// will crash); the vendors, secrets and clock are the same.
fn crashing_local(w: &Walk, store: &Arc<CrashingStore>) -> devserver::Local {
    local_over(w, store.clone())
}

/// The devserver's parts with every store call going through `dyn_store`.
fn local_over(w: &Walk, dyn_store: Arc<dyn ItemStore>) -> devserver::Local {
    let mut local = w.local.clone();
    local.services.store = dyn_store.clone();
    local.services.audit = dyn_store.clone();
    local.scheduler = Arc::new(StoreScheduler::new(dyn_store.clone()));
    local.queue = Arc::new(StoreQueue::new(dyn_store, local.services.clock.clone(), 5));
    local.apps.services = local.services.clone();
    local.apps.scheduler = local.scheduler.clone();
    local.apps.queue = local.queue.clone();
    local
}

/// Runs `flow` until it ends or the process dies; `None` when it died.
async fn until_crash<F: Future>(store: &CrashingStore, flow: F) -> Option<F::Output> {
    tokio::select! {
        out = flow => Some(out),
        () = store.crashed() => None,
    }
}

// ---------------------------------------------------------------------------------------
// Account creation

const CREATE_TOKEN: &str = "sandbox-crash-create";

/// A company with the sandbox SCIM app connected and Ada, who has no account there yet.
async fn creation_setup(w: &Walk) -> (Co, String) {
    let co = w.connected_company("owner@example.com", CREATE_TOKEN).await;
    let ada = w
        .team_member(
            &co,
            json!({"first_name": "Ada", "last_name": "Lovelace", "kind": "employee", "email": "ada@example.com"}),
        )
        .await;
    (co, ada)
}

fn create_request(co: &Co, ada: &str) -> axum::http::Request<axum::body::Body> {
    json_request(
        "POST",
        &co.path("/apps/sandbox_scim/accounts"),
        Some(&co.admin),
        &json!({"team_member_id": ada}),
    )
}

/// What one crash point of account creation came to.
#[derive(Debug, Default)]
struct CreationOutcome {
    /// The retry right after the restart was told to wait for the creation in flight.
    waited_for_lease: bool,
    audit_events: usize,
}

/// Creates Ada's account through the HTTP API of a process that dies at `crash`, then
/// retries as the admin would on the restarted service; checks the result.
async fn create_with_crash(crash: Crash) -> (Vec<String>, CreationOutcome) {
    let w = Walk::start().await;
    let (co, ada) = creation_setup(&w).await;
    let posts_before = w.local.sandbox.changes("POST");
    let store = CrashingStore::new(w.local.services.store.clone(), crash);
    let dying = accounts::router(crashing_local(&w, &store).apps);
    let first = until_crash(&store, call(&dying, create_request(&co, &ada))).await;
    let mut outcome = CreationOutcome::default();
    match (crash, &first) {
        (Crash::Never, Some(answer)) => assert_eq!(answer.status, 201, "{}", answer.text()),
        (Crash::Never, None) => panic!("no crash was asked for"),
        (_, Some(answer)) => panic!("{}: the flow ended ({})", crash.describe(), answer.text()),
        (_, None) => {
            // Restart: the same store, a new process. The admin retries.
            let mut retry = call(&w.app, create_request(&co, &ada)).await;
            if retry.status == 409 {
                // The dead creation holds its lease: the answer says to wait, in the one
                // error shape; after the lease the retry takes the creation over.
                assert_eq!(retry.category(), "conflict", "{}", retry.text());
                assert_eq!(retry.error_keys(), ["team_member_id"]);
                outcome.waited_for_lease = true;
                w.clock.advance(Duration::minutes(6));
                retry = call(&w.app, create_request(&co, &ada)).await;
            }
            assert!(
                retry.status == 201 || retry.status == 200,
                "{}: retry answered {} {}",
                crash.describe(),
                retry.status,
                retry.text()
            );
            assert_eq!(retry.json()["match"]["team_member_id"], ada.as_str());
        }
    }
    // Nothing done twice: one create call reached the vendor, one account is there.
    let what = crash.describe();
    assert_eq!(
        w.local.sandbox.changes("POST") - posts_before,
        1,
        "{what}: vendor creates"
    );
    let at_vendor = w.local.sandbox.emails(CREATE_TOKEN);
    assert_eq!(
        at_vendor.iter().filter(|e| *e == "ada@example.com").count(),
        1,
        "{what}: {at_vendor:?}"
    );
    // Nothing lost: one account record, linked to Ada, shown in her apps.
    let listed = w
        .send(
            "GET",
            &co.path("/apps/sandbox_scim/accounts"),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{what}: {listed}");
    assert_eq!(
        items[0]["match"],
        json!({"state": "matched", "team_member_id": ada, "by": "created"}),
        "{what}"
    );
    assert_eq!(items[0]["status"], "invite_sent", "{what}");
    let apps = w
        .send(
            "GET",
            &co.path(&format!("/team_members/{ada}/apps")),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    assert_eq!(
        apps["items"][0]["account"]["id"], items[0]["id"],
        "{what}: {apps}"
    );
    // No creation left in flight.
    let partition = format!("COMPANY#{}", co.id);
    let intents = w
        .local
        .services
        .store
        .query(&partition, "INTENT#", PageRequest::first(10))
        .await
        .unwrap();
    assert!(intents.items.is_empty(), "{what}: an intent was left behind");
    outcome.audit_events = events(&w, &co, "account.created").await;
    assert_eq!(outcome.audit_events, 1, "{what}: the creation is logged once");
    (store.writes(), outcome)
}

/// How many audit events of `action` the company has.
async fn events(w: &Walk, co: &Co, action: &str) -> usize {
    let answer = w
        .send("GET", &co.path("/events?limit=100"), Some(&co.admin), None)
        .await
        .json();
    answer["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == action)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_creation_survives_a_crash_at_every_write() {
    let (writes, clean) = create_with_crash(Crash::Never).await;
    assert_eq!(clean.audit_events, 1);
    assert!(!writes.is_empty());
    let mut survived = 0;
    let mut waited = 0;
    for n in 1..=writes.len() {
        for crash in [Crash::Before(n), Crash::After(n)] {
            let (_, outcome) = create_with_crash(crash).await;
            survived += 1;
            waited += usize::from(outcome.waited_for_lease);
        }
    }
    println!(
        "fault-injection: account creation: {} writes ({}); {} crash points, {survived} survived \
         (one account, linked, one vendor create, no intent left, one audit event); \
         {waited} retries were told to wait for the 5-minute lease first",
        writes.len(),
        writes.join(", "),
        2 * writes.len(),
    );
}

/// Forces the interleaving in which 20 racing creations once logged two `account.created`
/// events: one request looks for the person's account before another links it, and claims
/// the creation only after that other one has finished and cleared its intent. The second
/// claim of a creation waits for an intent to be cleared; the first link waits until that
/// second claim was tried (so its look for an account came before the link).
struct LateClaimStore {
    inner: Arc<dyn ItemStore>,
    claims: AtomicUsize,
    linked: std::sync::atomic::AtomicBool,
    second_claim_tried: watch::Sender<bool>,
    first_cleared: watch::Sender<bool>,
}

impl LateClaimStore {
    async fn until(flag: &watch::Sender<bool>) {
        let _ = flag.subscribe().wait_for(|set| *set).await;
    }
}

#[async_trait]
impl ItemStore for LateClaimStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.inner.get(key).await
    }

    async fn create(&self, item: Item) -> Result<u64, StoreError> {
        if kind(&item.key) == "INTENT" && self.claims.fetch_add(1, Ordering::SeqCst) == 1 {
            self.second_claim_tried.send_replace(true);
            Self::until(&self.first_cleared).await;
        }
        self.inner.create(item).await
    }

    async fn replace(&self, item: Item, expected_version: u64) -> Result<u64, StoreError> {
        self.inner.replace(item, expected_version).await
    }

    async fn delete(&self, key: &Key, expected_version: Option<u64>) -> Result<(), StoreError> {
        let deleted = self.inner.delete(key, expected_version).await;
        if kind(key) == "INTENT" {
            self.first_cleared.send_replace(true);
        }
        deleted
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        let links = ops.iter().any(|op| kind(op.key()) == "TMACCT");
        if links && !self.linked.swap(true, Ordering::SeqCst) {
            Self::until(&self.second_claim_tried).await;
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
async fn a_creation_claimed_after_another_finished_is_not_logged_again() {
    let w = Walk::start().await;
    let (co, ada) = creation_setup(&w).await;
    let posts_before = w.local.sandbox.changes("POST");
    let store = Arc::new(LateClaimStore {
        inner: w.local.services.store.clone(),
        claims: AtomicUsize::new(0),
        linked: false.into(),
        second_claim_tried: watch::channel(false).0,
        first_cleared: watch::channel(false).0,
    });
    let router = accounts::router(local_over(&w, store).apps);
    let (first, second) = tokio::join!(
        call(&router, create_request(&co, &ada)),
        call(&router, create_request(&co, &ada)),
    );
    assert_eq!(
        [first.status.as_u16(), second.status.as_u16()],
        [201, 201],
        "{} / {}",
        first.text(),
        second.text()
    );
    assert_eq!(first.json()["id"], second.json()["id"], "the same account");
    assert_eq!(
        w.local.sandbox.changes("POST") - posts_before,
        1,
        "one vendor create"
    );
    assert_eq!(
        events(&w, &co, "account.created").await,
        1,
        "the creation is logged once"
    );
}

// ---------------------------------------------------------------------------------------
// Dismissal cleanup

const SCIM_TOKEN: &str = "sandbox-crash-dismiss";
const FIFTEEN_FIVE_TOKEN: &str = "sandbox-15five-crash-012345678";

async fn send(w: &Walk, method: &str, path: &str, token: &str, body: Option<Value>) -> Answer {
    let answer = w.send(method, path, Some(token), body).await;
    assert!(
        answer.status.is_success(),
        "{method} {path}: {} {}",
        answer.status,
        answer.text()
    );
    answer
}

/// A Plus company with Bob matched in two apps (the sandbox SCIM app, which deletes, and
/// 15Five, which deactivates), and Carol, who stays; Bob's dismissal is due now.
async fn dismissal_setup(w: &Walk) -> (Co, String) {
    let co = w.connected_company("owner@example.com", SCIM_TOKEN).await;
    send(w, "PATCH", &co.path(""), PARTNER, Some(json!({"plan": "plus"}))).await;
    send(
        w,
        "POST",
        &co.path("/apps/fifteen_five/connection"),
        &co.admin,
        Some(json!({"scim_base_url": "https://my.15five.com/scim/v2", "scim_token": FIFTEEN_FIVE_TOKEN})),
    )
    .await;
    let mut bob = String::new();
    for name in ["bob", "carol"] {
        let email = format!("{name}@example.com");
        for token in [SCIM_TOKEN, FIFTEEN_FIVE_TOKEN] {
            w.local.sandbox.seed_user(token, &email, name, "Person");
        }
        let id = w
            .team_member(
                &co,
                json!({"first_name": name, "last_name": "Person", "kind": "employee", "email": email}),
            )
            .await;
        if name == "bob" {
            bob = id;
        }
    }
    for app in ["sandbox_scim", "fifteen_five"] {
        let synced = w.sync(&co, app).await.json()["changes"].clone();
        assert_eq!(synced["auto_matched"], 2, "{app}: {synced}");
    }
    let scheduled = send(
        w,
        "PUT",
        &co.path(&format!("/team_members/{bob}/dismissal")),
        &co.admin,
        Some(json!({"last_day": "2026-03-02"})),
    )
    .await
    .json();
    assert_eq!(scheduled["status"], "scheduled", "{scheduled}");
    // 01:00 Pacific: the dismissal's moment within the hour after midnight has come.
    w.clock.set(at("2026-03-03T09:00:00Z"));
    (co, bob)
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Bob's user at a SCIM tenant: (present, active).
fn at_vendor(w: &Walk, token: &str) -> bool {
    w.local
        .sandbox
        .emails(token)
        .contains(&"bob@example.com".to_owned())
}

#[derive(Debug, Default)]
struct DismissalOutcome {
    restarts: usize,
}

/// Runs the due cleanup (the scheduler's delivery, then the sweep) in a process that dies
/// at `crash`; then restarts after the claim lease and ticks until it completes.
async fn dismiss_with_crash(crash: Crash) -> (Vec<String>, DismissalOutcome) {
    let w = Walk::start().await;
    let (co, bob) = dismissal_setup(&w).await;
    let (deletes, patches) = (
        w.local.sandbox.changes("DELETE"),
        w.local.sandbox.changes("PATCH"),
    );
    let store = CrashingStore::new(w.local.services.store.clone(), crash);
    let dying = crashing_local(&w, &store);
    let first = until_crash(&store, dying.tick()).await;
    let what = crash.describe();
    let mut outcome = DismissalOutcome::default();
    match (crash, first) {
        (Crash::Never, Some(fired)) => assert_eq!(fired.unwrap(), 1),
        (Crash::Never, None) => panic!("no crash was asked for"),
        (_, Some(done)) => panic!("{what}: the cleanup ended ({done:?})"),
        (_, None) => {
            // Restart: the rate schedule's sweep comes by again after the claim lease.
            let lease = prov_processes::dismissal::claim_lease(&w.local.apps);
            for _ in 0..3 {
                w.clock.advance(lease + Duration::minutes(1));
                w.local.tick().await.unwrap();
                outcome.restarts += 1;
                let status = task(&w, &co, &bob).await["status"].clone();
                if status == "completed" {
                    break;
                }
            }
        }
    }
    // Nothing lost: completed, every step done, access gone in both apps.
    let done = task(&w, &co, &bob).await;
    assert_eq!(done["status"], "completed", "{what}: {done}");
    let steps = done["accounts"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "{what}: {done}");
    assert!(steps.iter().all(|s| s["state"] == "done"), "{what}: {done}");
    assert!(!at_vendor(&w, SCIM_TOKEN), "{what}: removed from the SCIM app");
    let deleted = w
        .send(
            "GET",
            &co.path("/apps/fifteen_five/accounts?status=deleted"),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    assert_eq!(
        deleted["items"][0]["email"], "bob@example.com",
        "{what}: {deleted}"
    );
    // Nothing done twice: one removal call per app; Carol untouched.
    assert_eq!(
        w.local.sandbox.changes("DELETE") - deletes,
        1,
        "{what}: SCIM deletes"
    );
    assert_eq!(
        w.local.sandbox.changes("PATCH") - patches,
        1,
        "{what}: 15Five deactivations"
    );
    assert!(
        w.local
            .sandbox
            .emails(SCIM_TOKEN)
            .contains(&"carol@example.com".to_owned())
    );
    // The log: each removal and the completion, once.
    let removed = events(&w, &co, "account.removed_at_dismissal").await;
    let completed = events(&w, &co, "dismissal.completed").await;
    assert_eq!(
        (removed, completed),
        (2, 1),
        "{what}: removals and completion logged"
    );
    // The safeguard counted each removal once, whatever the crash (issue 24: the count is
    // written with the step's claim, under its attempt).
    for app in ["sandbox_scim", "fifteen_five"] {
        let breaker = w
            .local
            .services
            .store
            .get(&breaker_key(&co.id, app))
            .await
            .unwrap()
            .unwrap();
        let counted = crate::support::removals_counted(&breaker.data);
        assert_eq!(counted, 1, "{what}: {app}'s safeguard count");
    }
    (store.writes(), outcome)
}

async fn task(w: &Walk, co: &Co, tm: &str) -> Value {
    w.send(
        "GET",
        &co.path(&format!("/team_members/{tm}/offboarding")),
        Some(&co.admin),
        None,
    )
    .await
    .json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dismissal_cleanup_survives_a_crash_at_every_write() {
    let (writes, _) = dismiss_with_crash(Crash::Never).await;
    assert!(!writes.is_empty());
    let mut survived = 0;
    let mut most_restarts = 0;
    for n in 1..=writes.len() {
        for crash in [Crash::Before(n), Crash::After(n)] {
            let (_, outcome) = dismiss_with_crash(crash).await;
            survived += 1;
            most_restarts = most_restarts.max(outcome.restarts);
        }
    }
    println!(
        "fault-injection: dismissal cleanup (2 apps): {} writes ({}); {} crash points, {survived} survived \
         (completed, access removed in both apps, one removal call per app, each audit event once, \
         each removal counted once by the safeguard); \
         at most {most_restarts} sweep(s) after a restart",
        writes.len(),
        writes.join(", "),
        2 * writes.len(),
    );
}

// ---------------------------------------------------------------------------------------
// DynamoDB faults at the HTTP edge

/// Throttling and server errors on every DynamoDB call, beyond the SDK's retries, answer a
/// retryable 503 in the one error shape (with `Retry-After`), for a partner's read and for
/// a company provisioning; never a 500, a panic or a hang.
#[tokio::test]
async fn dynamodb_throttling_and_outages_answer_a_retryable_503_in_the_one_error_shape() {
    use aws_sdk_dynamodb::Client;
    use prov_core::clock::ManualClock;
    use prov_store::DynamoStore;
    use prov_testkit::aws_smithy_mocks::{RuleMode, mock};
    use prov_testkit::{dynamodb_error_body, dynamodb_mock_client};

    let mut answered = 0;
    for (fault, status) in [
        ("ProvisionedThroughputExceededException", 400),
        ("ThrottlingException", 400),
        ("InternalServerError", 500),
    ] {
        macro_rules! always {
            ($operation:expr) => {
                mock!($operation)
                    .sequence()
                    .http_status(status, Some(dynamodb_error_body(fault, "injected")))
                    .repeatedly()
                    .build()
            };
        }
        let rules = [
            always!(Client::get_item),
            always!(Client::put_item),
            always!(Client::delete_item),
            always!(Client::transact_write_items),
            always!(Client::query),
        ];
        let client = dynamodb_mock_client(RuleMode::MatchAny, &rules.iter().collect::<Vec<_>>());
        let store: Arc<dyn ItemStore> = Arc::new(DynamoStore::new(client, "faults"));
        let clock: Arc<dyn prov_core::clock::Clock> = Arc::new(ManualClock::new(at("2026-03-01T12:00:00Z")));
        let services = prov_core::Services::new(
            store.clone(),
            store.clone(),
            Arc::new(prov_platform::LocalOutbox::new(store, clock.clone())),
            clock,
            prov_core::Settings::new("https://api.example.test"),
            prov_connectors::registry::catalog(false),
        );
        let router = provision::router(services);
        let body = json!({"user": {"first_name": "A", "last_name": "B", "email": "a@example.com"}, "company": {"name": "Co"}});
        for request in [
            prov_testkit::get("/v1/companies", Some(PARTNER)),
            json_request("POST", "/v1/provision", Some(PARTNER), &body),
        ] {
            let answer = call(&router, request).await;
            assert_eq!(answer.status, 503, "{fault}: {}", answer.text());
            assert_eq!(answer.category(), "service_unavailable", "{fault}");
            assert_eq!(answer.error_keys(), ["service"], "{fault}");
            assert_eq!(answer.header("retry-after"), Some("1"), "{fault}");
            assert!(answer.header("x-request-id").is_some());
            answered += 1;
        }
        assert!(
            rules.iter().any(|r| r.num_calls() > 0),
            "{fault}: DynamoDB was called"
        );
    }
    println!(
        "fault-injection: dynamodb faults at the HTTP edge (3 faults × 2 routes): {answered}/{answered} answered 503 service_unavailable with Retry-After in the one error shape"
    );
}

// ---------------------------------------------------------------------------------------
// A vendor's unreadable answers at the HTTP API

/// A SCIM vendor that answers properly until told to answer with `broken` (status 200).
async fn switchable_vendor(broken: &'static str) -> (String, Arc<std::sync::atomic::AtomicBool>) {
    use axum::response::IntoResponse;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let broke = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = broke.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let flag = flag.clone();
        async move {
            if flag.load(Ordering::SeqCst) {
                ([("content-type", "text/html")], broken).into_response()
            } else if uri.path().ends_with("/ServiceProviderConfig") {
                // The sandbox SCIM app names the tenant a token opens here.
                axum::Json(json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                    prov_connectors::sandbox::SANDBOX_CONFIG_EXTENSION: {"id": "t1", "name": "Tenant one"}
                }))
                .into_response()
            } else {
                axum::Json(json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                    "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []
                }))
                .into_response()
            }
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, broke)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vendors_unreadable_answer_is_a_503_in_the_one_error_shape() {
    let (mut answered, mut jobs) = (0, 0);
    for broken in [
        "<!DOCTYPE html><html><body>Service temporarily unavailable</body></html>",
        r#"{"Resources": [{"id": "u1", "userName": "ada@exa"#,
        r#"{"Resources": "none", "totalResults": "many"}"#,
    ] {
        let (base, broke) = switchable_vendor(broken).await;
        let w = Walk::start_routed(&[format!("scim.sandbox.test={base}")]).await;
        let (co, ada) = creation_setup(&w).await;
        broke.store(true, Ordering::SeqCst);
        // A sync answers 202 at once (the vendor is read by the worker); its job says why
        // it did not go on, in the same words, and is tried again later.
        let sync = co.path("/apps/sandbox_scim/sync");
        let started = w.send("POST", &sync, Some(&co.admin), None).await;
        assert_eq!(started.status, 202, "{}", started.text());
        w.local.work().await.unwrap();
        let job = w.send("GET", &sync, Some(&co.admin), None).await.json();
        assert_eq!(job["state"], "running", "{job}");
        let message = job["errors"][0].as_str().unwrap().to_owned();
        assert!(message.contains("did not parse"), "{message}");
        assert!(!message.contains(CREATE_TOKEN), "{message}");
        jobs += 1;
        for (path, body) in [(
            co.path("/apps/sandbox_scim/accounts"),
            Some(json!({"team_member_id": ada})),
        )] {
            let answer = w.send("POST", &path, Some(&co.admin), body).await;
            assert_eq!(answer.status, 503, "{path}: {}", answer.text());
            assert_eq!(answer.category(), "service_unavailable");
            assert_eq!(answer.error_keys(), ["app"]);
            let message = answer.json()["errors"][0]["message"].as_str().unwrap().to_owned();
            assert!(message.contains("did not parse"), "{message}");
            assert!(!message.contains(CREATE_TOKEN), "{message}");
            answered += 1;
        }
        // Nothing was recorded from the broken answers.
        let listed = w
            .send(
                "GET",
                &co.path("/apps/sandbox_scim/accounts"),
                Some(&co.admin),
                None,
            )
            .await
            .json();
        assert_eq!(listed["items"], json!([]));
    }
    println!(
        "fault-injection: vendors at the HTTP API (HTML page, truncated JSON, wrong types with 200): create {answered}/{answered} answered 503 service_unavailable in the one error shape; sync {jobs}/{jobs} jobs recorded the error (\"did not parse\") and wait to retry; nothing recorded"
    );
}

// ---------------------------------------------------------------------------------------
// A sync job killed between checkpoints

const SYNC_TOKEN: &str = "sandbox-crash-sync";
/// Vendor accounts of the app (three pages of the SCIM listing), and the team members among them.
const SYNC_ACCOUNTS: usize = 250;
const SYNC_MEMBERS: usize = 20;

/// One page per worker invocation, so the job goes through continuations.
const ONE_PAGE: RunLimits = RunLimits {
    budget: std::time::Duration::from_secs(600),
    max_pages: 1,
    lease: chrono::Duration::minutes(2),
};

/// A company whose sandbox app has `SYNC_ACCOUNTS` accounts, `SYNC_MEMBERS` of them team
/// members', and a sync requested (202).
async fn sync_setup(w: &Walk) -> Co {
    let co = w.connected_company("owner@example.com", SYNC_TOKEN).await;
    for i in 0..SYNC_ACCOUNTS {
        let (first, email) = (format!("P{i}"), format!("p{i}@example.com"));
        w.local.sandbox.seed_user(SYNC_TOKEN, &email, &first, "Person");
        if i < SYNC_MEMBERS {
            w.team_member(
                &co,
                json!({"first_name": first, "last_name": "Person", "kind": "employee", "email": email}),
            )
            .await;
        }
    }
    let started = w
        .send("POST", &co.path("/apps/sandbox_scim/sync"), Some(&co.admin), None)
        .await;
    assert_eq!(started.status, 202, "{}", started.text());
    co
}

/// Every account record of the app, as stored.
async fn account_records(w: &Walk, co: &Co) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = w
            .local
            .services
            .store
            .query(
                &format!("COMPANY#{}", co.id),
                "ACCT#sandbox_scim#",
                PageRequest::first(1000).after(cursor),
            )
            .await
            .unwrap();
        out.extend(page.items.iter().map(|i| i.record::<Value>().unwrap()));
        match page.next {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_between_checkpoints_resumes_and_keeps_one_record_per_vendor_account() {
    // One invocation per page and one for the rest.
    killed_sync(ONE_PAGE, 4, "a page per invocation").await;
}

/// The whole listing in one invocation: its last page is not checkpointed (the sweep follows
/// with every id in memory), so a death after it lists that page again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_read_whole_in_one_invocation_killed_anywhere_resumes_and_keeps_one_record_per_vendor_account()
{
    killed_sync(RunLimits::default(), 1, "the whole listing in one invocation").await;
}

/// Kills the worker at points spread over a sync's writes run with `limits` (`runs`
/// invocations at least), both sides of a write; each time the restarted worker ends the
/// job with one record per vendor account and nothing of its work left behind.
async fn killed_sync(limits: RunLimits, runs: usize, how: &str) {
    // The writes of a whole run (queue and job included), to choose where to die.
    let w = Walk::start().await;
    sync_setup(&w).await;
    let counting = CrashingStore::new(w.local.services.store.clone(), Crash::Never);
    let ran = crashing_local(&w, &counting).work_with(limits).await.unwrap();
    let total = counting.writes().len();
    assert!(ran >= runs, "{how}: {ran} invocations");
    // Points spread over the run, both sides of a write (a fixed sample, so a failure repeats).
    let points: Vec<Crash> = (1..=8)
        .map(|k| k * total / 9)
        .flat_map(|n| [Crash::Before(n), Crash::After(n + 1)])
        .collect();
    let mut resumed = 0;
    for crash in &points {
        let w = Walk::start().await;
        let co = sync_setup(&w).await;
        let store = CrashingStore::new(w.local.services.store.clone(), *crash);
        let dying = crashing_local(&w, &store);
        let ended = until_crash(&store, dying.work_with(limits)).await;
        assert!(ended.is_none(), "{}: the run ended before it", crash.describe());
        // The restarted worker: the message comes back once its visibility ran out (the
        // job's lease with it), and the job goes on from its last checkpoint.
        w.clock.advance(limits.lease + Duration::minutes(2));
        w.local.work_with(limits).await.unwrap();
        let job = w
            .send("GET", &co.path("/apps/sandbox_scim/sync"), Some(&co.admin), None)
            .await
            .json();
        assert_eq!(job["state"], "succeeded", "{}: {job}", crash.describe());
        let records = account_records(&w, &co).await;
        let mut vendor_ids: Vec<&str> = records.iter().map(|a| a["vendor_id"].as_str().unwrap()).collect();
        vendor_ids.sort();
        vendor_ids.dedup();
        assert_eq!(
            (records.len(), vendor_ids.len()),
            (SYNC_ACCOUNTS, SYNC_ACCOUNTS),
            "{}: one record per vendor account",
            crash.describe()
        );
        assert!(
            records.iter().all(|a| a["present"] == true),
            "{}",
            crash.describe()
        );
        let matched = records
            .iter()
            .filter(|a| a["matching"]["state"] == "matched")
            .count();
        assert_eq!(matched, SYNC_MEMBERS, "{}", crash.describe());
        // Nothing of the job's work is left behind.
        let left = w
            .local
            .services
            .store
            .query(&format!("COMPANY#{}", co.id), "SYNCSEEN#", PageRequest::first(10))
            .await
            .unwrap();
        assert!(left.items.is_empty(), "{}", crash.describe());
        resumed += 1;
    }
    println!(
        "fault-injection: a sync of {SYNC_ACCOUNTS} vendor accounts ({how}, {ran} invocations, {total} writes) killed at {resumed} points: {resumed}/{resumed} resumed from the last checkpoint and succeeded with one record per vendor account, {SYNC_MEMBERS} matched, no working record left"
    );
}
