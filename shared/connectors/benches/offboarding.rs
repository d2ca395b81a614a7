//! Bulk offboarding against a vendor limit (issue 11, item 4): 1,000 account removals through
//! the registry's Slack connector (SCIM DELETE; Slack publishes 180 writes a minute with
//! bursts of 20) to a fake Slack that enforces that limit itself, answering 429 with
//! `Retry-After` beyond it. Time is simulated: the connector's waits move a clock that both
//! our throttle and the fake read, so hours of throttled calls take a second. Prints what it
//! took against the limit's floor and how many 429s came back. It is not a test.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::delete;
use prov_connectors::egress::EgressPolicy;
use prov_connectors::http::{HttpConfig, Sleeper, StaticAuth, VendorHttp};
use prov_connectors::registry::{self, Tenant};
use secrecy::SecretString;

const REMOVALS: u64 = 1_000;

/// A clock only waits move.
#[derive(Default)]
struct SimulatedTime(AtomicU64);

impl SimulatedTime {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::SeqCst))
    }
}

#[async_trait]
impl Sleeper for SimulatedTime {
    async fn sleep(&self, duration: Duration) {
        self.0.fetch_add(duration.as_nanos() as u64, Ordering::SeqCst);
    }

    fn simulated_now(&self) -> Option<Duration> {
        Some(self.now())
    }
}

/// The vendor's own limiter (GCRA: a request is refused while it comes earlier than the
/// burst allows), on the simulated clock.
struct Vendor {
    time: Arc<SimulatedTime>,
    interval: Duration,
    burst: u32,
    state: Mutex<VendorState>,
}

#[derive(Default)]
struct VendorState {
    /// When the next request would conform if no burst were allowed.
    theoretical_arrival: Duration,
    removed: u64,
    refused: u64,
}

async fn remove_user(State(vendor): State<Arc<Vendor>>) -> Response {
    let now = vendor.time.now();
    let mut state = vendor.state.lock().expect("vendor lock");
    let tolerance = vendor.interval * (vendor.burst - 1);
    let earliest = state.theoretical_arrival.saturating_sub(tolerance);
    if now < earliest {
        state.refused += 1;
        // Whole seconds, rounded up, as vendors send it.
        let wait = (earliest - now).as_secs_f64().ceil() as u64;
        let mut response = StatusCode::TOO_MANY_REQUESTS.into_response();
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from(wait.max(1)));
        return response;
    }
    state.theoretical_arrival = state.theoretical_arrival.max(now) + vendor.interval;
    state.removed += 1;
    StatusCode::NO_CONTENT.into_response()
}

struct Outcome {
    took: Duration,
    removed: u64,
    refused: u64,
    failed: u64,
}

/// Removes `REMOVALS` accounts one after another, as a sweep does, from a vendor enforcing
/// `per_minute` with `burst`. Our throttle uses the registry's published Slack limit.
async fn run(per_minute: u32, burst: u32) -> Outcome {
    let time = Arc::new(SimulatedTime::default());
    let vendor = Arc::new(Vendor {
        time: time.clone(),
        interval: Duration::from_nanos(60_000_000_000 / u64::from(per_minute)),
        burst,
        state: Mutex::new(VendorState::default()),
    });
    let app = Router::new()
        .route("/scim/v2/Users/{id}", delete(remove_user))
        .with_state(vendor.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("loopback");
    let base = format!("http://{}", listener.local_addr().expect("bound"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let policy = EgressPolicy::sandbox()
        .route("api.slack.com", &base)
        .expect("route");
    let http = Arc::new(VendorHttp::with_sleeper(
        policy,
        HttpConfig::default(),
        time.clone(),
    ));
    let auth = Arc::new(StaticAuth::bearer(&SecretString::from("xoxp-bench")));
    let connector = registry::spec("slack")
        .expect("Slack is in the registry")
        .connector(http, "com_bench", &Tenant::new(), auth)
        .expect("the Slack connector builds");
    let mut failed = 0;
    for i in 0..REMOVALS {
        if connector.delete(&format!("U{i:08}")).await.is_err() {
            failed += 1;
        }
    }
    let state = vendor.state.lock().expect("vendor lock");
    Outcome {
        took: time.now(),
        removed: state.removed,
        refused: state.refused,
        failed,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let published = registry::spec("slack")
        .and_then(|s| s.limit)
        .expect("Slack publishes a limit");
    println!(
        "| vendor enforces | our throttle | removals | simulated time | floor | ÷ floor | 429s received | throttle windows | failed |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    // The vendor as published; then one stricter than it publishes (what 429 handling is for).
    for (per_minute, burst) in [(published.per_minute, published.burst), (120, 10)] {
        let outcome = run(per_minute, burst).await;
        let rate = f64::from(per_minute) / 60.0;
        let floor = (REMOVALS.saturating_sub(u64::from(burst))) as f64 / rate;
        let took = outcome.took.as_secs_f64();
        // A window: the time the burst takes to refill.
        let windows = (took / (f64::from(burst) / rate)).ceil().max(1.0);
        println!(
            "| {per_minute}/min, burst {burst} | {}/min, burst {} | {} | {took:.1} s | {floor:.1} s | {:.3} | {} | {windows:.0} | {} |",
            published.per_minute,
            published.burst,
            outcome.removed,
            took / floor,
            outcome.refused,
            outcome.failed
        );
    }
    println!();
    println!(
        "Goals: time ÷ floor ≤ 1.1; at most one 429 per throttle window. The floor is what the limit allows: \
         the burst at once, then the rest at the sustained rate."
    );
}
