//! A sync of an app with 100,000 vendor accounts, run as the worker runs it: one jobs-queue
//! message per invocation, each invocation its own process (so its peak memory is its own, as
//! a Lambda invocation's is), stopping after its 40-second budget and continuing in a
//! follow-up message. Some invocations are killed at random points (SIGKILL); the message
//! comes back once its visibility ends (the harness moves the invocations' clock past it) and
//! the job resumes from its last checkpoint. At the end the records are counted: exactly one
//! per vendor account is expected. Prints BENCHMARKS.md's section 8 table.
//!
//! The vendor is the sandbox SCIM app (100 accounts a page) served by this process on
//! loopback; the store is the devserver's embedded one (redb, a commit per write), each store
//! call counted. `sync100k --accounts N --kills K --seed S`.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use devserver::{Local, LocalConfig};
use prov_core::access::{Need, authorize};
use prov_core::audit::Actor;
use prov_core::auth::{Principal, ensure_partner_token};
use prov_core::body::Unparsed;
use prov_core::clock::Clock;
use prov_core::companies::{CompanyChange, update_company};
use prov_core::company::Plan;
use prov_core::keys::{self, accounts_prefix, company_partition};
use prov_core::queue::JobQueue;
use prov_core::store::{Item, ItemStore, Key, Page, PageRequest, StoreError, WriteOp};
use prov_processes::accounts::{self, RunLimits, RunOutcome};
use prov_processes::connections;
use serde_json::{Value, json};

const APP: &str = "sandbox_scim";
const TENANT: &str = "sandbox-bench-100k";
const PARTNER_TOKEN: &str = "bench-partner-token-0123456789abcdef";
const OWNER: &str = "owner@bench.example";

/// The invocations' clock: the machine's, moved on by the harness after a kill (as the time
/// until the message's visibility ends would pass).
struct OffsetClock(chrono::Duration);

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.0
    }
}

/// Counts every call to the store (each is one DynamoDB request in AWS).
struct Counting {
    inner: Arc<dyn ItemStore>,
    calls: Arc<AtomicU64>,
}

impl Counting {
    fn tick(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

#[async_trait]
impl ItemStore for Counting {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.tick();
        self.inner.get(key).await
    }
    async fn create(&self, item: Item) -> Result<u64, StoreError> {
        self.tick();
        self.inner.create(item).await
    }
    async fn replace(&self, item: Item, expected_version: u64) -> Result<u64, StoreError> {
        self.tick();
        self.inner.replace(item, expected_version).await
    }
    async fn delete(&self, key: &Key, expected_version: Option<u64>) -> Result<(), StoreError> {
        self.tick();
        self.inner.delete(key, expected_version).await
    }
    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.tick();
        self.inner.transact(ops).await
    }
    async fn query(&self, pk: &str, sk_prefix: &str, page: PageRequest) -> Result<Page, StoreError> {
        self.tick();
        self.inner.query(pk, sk_prefix, page).await
    }
    async fn query_index(&self, index_pk: &str, page: PageRequest) -> Result<Page, StoreError> {
        self.tick();
        self.inner.query_index(index_pk, page).await
    }
    async fn scan(&self, sk_prefix: &str, page: PageRequest) -> Result<Page, StoreError> {
        self.tick();
        self.inner.scan(sk_prefix, page).await
    }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn open(data_dir: &Path, vendor: &str, offset: chrono::Duration) -> Local {
    let config = LocalConfig {
        data_dir,
        public_base_url: vendor,
        listen_url: vendor,
        vendor_routes: &[],
    };
    Local::open(&config, Arc::new(OffsetClock(offset))).expect("the devserver's parts open")
}

/// The peak resident set of this process so far (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// One worker invocation (a child process): one message, as the worker function gets it.
async fn invoke(args: &[String]) {
    let data_dir = PathBuf::from(arg(args, "--data-dir").expect("--data-dir"));
    let vendor = arg(args, "--vendor").expect("--vendor");
    let company = arg(args, "--company").expect("--company");
    let offset: i64 = arg(args, "--offset-secs")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut local = open(&data_dir, &vendor, chrono::Duration::seconds(offset));
    let calls = Arc::new(AtomicU64::new(0));
    for store in [&mut local.services.store, &mut local.services.audit] {
        *store = Arc::new(Counting {
            inner: store.clone(),
            calls: calls.clone(),
        });
    }
    local.apps.services = local.services.clone();
    let began = Instant::now();
    let limits = RunLimits::default();
    let visibility = limits.lease + chrono::Duration::minutes(1);
    let received = local
        .queue
        .receive(1, visibility)
        .await
        .expect("the queue answers");
    let outcome = match received.first() {
        None => "no message".to_owned(),
        Some(message) => match accounts::deliver(&local.apps, &message.body, limits).await {
            Ok(outcome) => {
                local
                    .queue
                    .delete(&message.receipt)
                    .await
                    .expect("the queue answers");
                match outcome {
                    RunOutcome::Finished(state) => format!("finished {state:?}").to_lowercase(),
                    RunOutcome::Continued => "continued".to_owned(),
                    RunOutcome::Skipped => "skipped".to_owned(),
                }
            }
            Err(e) => format!("failed: {e}"),
        },
    };
    let secs = began.elapsed().as_secs_f64();
    let job = local
        .services
        .store
        .get(&keys::sync_job_key(&company, APP))
        .await
        .expect("the store answers")
        .map(|i| Value::Object(i.data))
        .unwrap_or(Value::Null);
    println!(
        "{}",
        json!({
            "outcome": outcome,
            "secs": secs,
            "peak_rss_kib": peak_rss_kib(),
            "store_calls": calls.load(Ordering::Relaxed),
            "accounts_seen": job["accounts_seen"],
            "pages_read": job["pages_read"],
            "step": job["step"]["step"],
        })
    );
}

/// A small reproducible generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// The company, its sandbox SCIM connection and the sync job, made in this process (which
/// then closes the store for the invocations).
async fn set_up(data_dir: &Path, vendor: &str) -> String {
    let local = open(data_dir, vendor, chrono::Duration::zero());
    let svc = &local.services;
    let partner: Principal = ensure_partner_token(
        svc.store.as_ref(),
        svc.clock.as_ref(),
        "Bench",
        &secrecy::SecretString::from(PARTNER_TOKEN),
    )
    .await
    .expect("a partner");
    let actor = Actor {
        principal: partner.clone(),
        request_id: "bench".to_owned(),
    };
    let body = json!({
        "user": {"first_name": "Olive", "last_name": "Owner", "email": OWNER},
        "company": {"name": "Bench, Inc."}
    });
    let Value::Object(body) = body else { unreachable!() };
    prov_core::provisioning::provision(svc, &actor, &Unparsed::new(body), None)
        .await
        .expect("a company");
    let owner = svc
        .store
        .get(&keys::email_owner_key(OWNER))
        .await
        .expect("the store answers")
        .expect("the owner's email");
    let company_id = owner.data["company_id"]
        .as_str()
        .expect("a company id")
        .to_owned();
    update_company(svc, &actor, &company_id, &CompanyChange { plan: Plan::Plus })
        .await
        .expect("the Plus plan");
    let access = authorize(svc, &partner, &company_id, Need::ManageApps)
        .await
        .expect("the partner's access");
    let Value::Object(fields) =
        json!({"scim_base_url": "https://scim.sandbox.test/scim/v2", "scim_token": TENANT})
    else {
        unreachable!()
    };
    connections::connect_api_key(&local.apps, &actor, &access, APP, &Unparsed::new(fields))
        .await
        .expect("the sandbox SCIM app connects");
    accounts::start_sync(&local.apps, &actor, &access, APP)
        .await
        .expect("the sync starts");
    company_id
}

/// Every record of the app: how many, how many distinct vendor accounts, working records left.
async fn count(data_dir: &Path, vendor: &str, company: &str) -> (u64, u64, u64) {
    let local = open(data_dir, vendor, chrono::Duration::days(1));
    let store = &local.services.store;
    let mut records = 0;
    let mut vendor_ids = std::collections::HashSet::new();
    let mut cursor = None;
    loop {
        let page = store
            .query(
                &company_partition(company),
                &accounts_prefix(APP),
                PageRequest::first(1000).after(cursor),
            )
            .await
            .expect("the store answers");
        for item in &page.items {
            records += 1;
            vendor_ids.insert(item.data["vendor_id"].as_str().unwrap_or_default().to_owned());
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let seen = store
        .query(
            &company_partition(company),
            &format!("SYNCSEEN#{APP}#"),
            PageRequest::first(1000),
        )
        .await
        .expect("the store answers")
        .items
        .len() as u64;
    (records, vendor_ids.len() as u64, seen)
}

struct Invocation {
    secs: f64,
    peak_rss_kib: Option<u64>,
    store_calls: u64,
    killed: bool,
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("invoke") {
        return invoke(&args).await;
    }
    let n: usize = arg(&args, "--accounts")
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let kills: usize = arg(&args, "--kills").and_then(|s| s.parse().ok()).unwrap_or(4);
    let mut rng = Rng(arg(&args, "--seed")
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_207));

    // The vendor: the sandbox SCIM app with `n` accounts, on loopback.
    let sandbox = prov_sandbox::Sandbox::new();
    for i in 0..n {
        sandbox.seed_user(
            TENANT,
            &format!("person{i:06}@bench.example"),
            &format!("P{i}"),
            "Person",
        );
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let vendor = format!("http://{}", listener.local_addr().expect("an address"));
    let routes = axum::Router::new().nest("/_sandbox", sandbox.router());
    tokio::spawn(async move { axum::serve(listener, routes).await });

    let mut rows = Vec::new();
    for (name, kills) in [("uninterrupted", 0), ("killed at random points", kills)] {
        eprintln!("{name}:");
        rows.push((name, sync(&vendor, kills, &mut rng).await));
    }
    println!(
        "| run | vendor accounts | invocations | killed | longest invocation | peak RSS (largest) | accounts/s | store calls per account | records after | distinct vendor accounts | working records left |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (name, r) in &rows {
        println!(
            "| {name} | {n} | {} | {} | {:.1} s | {:.1} MiB | {:.0} | {} | {} | {} | {} |",
            r.invocations,
            r.killed,
            r.longest,
            r.peak_kib as f64 / 1024.0,
            n as f64 / r.worked,
            if r.killed == 0 {
                format!("{:.2}", r.calls as f64 / n as f64)
            } else {
                "—".to_owned()
            },
            r.records,
            r.distinct,
            r.leftover
        );
    }
    println!();
    let exact = rows
        .iter()
        .all(|(_, r)| r.records == n as u64 && r.distinct == n as u64 && r.leftover == 0);
    println!(
        "accounts/s over the invocations' own time (killed ones up to their kill, so the killed \
         run redoes the pages applied after its last checkpoint); store calls per account only \
         for the uninterrupted run (a killed invocation's count dies with it). Exactly one record \
         per vendor account and no working record left in both runs: {}.",
        if exact { "yes" } else { "NO" }
    );
}

/// What one sync came to.
struct Summary {
    invocations: usize,
    killed: usize,
    longest: f64,
    peak_kib: u64,
    worked: f64,
    calls: u64,
    records: u64,
    distinct: u64,
    leftover: u64,
}

/// One whole sync of the vendor's accounts into a store of its own, invocation after
/// invocation, `kills` of them killed part-way.
async fn sync(vendor: &str, kills: usize, rng: &mut Rng) -> Summary {
    let data_dir = std::env::temp_dir().join(format!("sync100k-{}-{kills}", std::process::id()));
    let company = set_up(&data_dir, vendor).await;
    let me = std::env::current_exe().expect("this program");
    let mut offset = 0i64;
    let mut runs: Vec<Invocation> = Vec::new();
    let mut killed_left = kills;
    loop {
        assert!(runs.len() < 10_000, "the sync did not end");
        // Kill every other invocation, at a random time within its budget, until enough
        // have been killed.
        let kill_after = (killed_left > 0 && runs.len().is_multiple_of(2))
            .then(|| Duration::from_millis(500 + rng.next() % 39_000));
        let began = Instant::now();
        let mut child = Command::new(&me)
            .args(["invoke", "--data-dir"])
            .arg(&data_dir)
            .args(["--vendor", vendor, "--company", &company])
            .args(["--offset-secs", &offset.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("an invocation starts");
        if let Some(after) = kill_after {
            let killed = loop {
                if child.try_wait().expect("the invocation").is_some() {
                    break false;
                }
                if began.elapsed() >= after {
                    child.kill().expect("the invocation is killed");
                    child.wait().expect("the invocation ends");
                    break true;
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            if killed {
                killed_left -= 1;
                runs.push(Invocation {
                    secs: began.elapsed().as_secs_f64(),
                    peak_rss_kib: None,
                    store_calls: 0,
                    killed: true,
                });
                // The message comes back when its visibility (the lease and a minute) ends.
                offset += 7 * 60;
                continue;
            }
        }
        let output = child.wait_with_output().expect("the invocation ends");
        let line = output
            .stdout
            .lines()
            .map_while(Result::ok)
            .last()
            .unwrap_or_default();
        let report: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        let outcome = report["outcome"].as_str().unwrap_or("crashed").to_owned();
        eprintln!(
            "invocation {}: {outcome} in {:.1} s, peak RSS {} KiB, {} store calls, {} accounts seen, step {}",
            runs.len() + 1,
            report["secs"].as_f64().unwrap_or_default(),
            report["peak_rss_kib"],
            report["store_calls"],
            report["accounts_seen"],
            report["step"]
        );
        if outcome == "no message" {
            // A killed invocation's message is still invisible: the clock moves on.
            offset += 60;
            continue;
        }
        runs.push(Invocation {
            secs: report["secs"].as_f64().unwrap_or_default(),
            peak_rss_kib: report["peak_rss_kib"].as_u64(),
            store_calls: report["store_calls"].as_u64().unwrap_or_default(),
            killed: false,
        });
        if outcome.starts_with("finished") {
            assert_eq!(outcome, "finished succeeded", "the sync failed");
            break;
        }
    }
    let (records, distinct, leftover) = count(&data_dir, vendor, &company).await;
    let _ = std::fs::remove_dir_all(&data_dir);
    let completed: Vec<&Invocation> = runs.iter().filter(|r| !r.killed).collect();
    assert_eq!(completed.len() + kills - killed_left, runs.len());
    Summary {
        invocations: runs.len(),
        killed: runs.len() - completed.len(),
        longest: completed.iter().map(|r| r.secs).fold(0.0, f64::max),
        peak_kib: completed.iter().filter_map(|r| r.peak_rss_kib).max().unwrap_or(0),
        worked: runs.iter().map(|r| r.secs).sum(),
        calls: completed.iter().map(|r| r.store_calls).sum(),
        records,
        distinct,
        leftover,
    }
}
