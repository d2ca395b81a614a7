//! Issue 24's fleet: eight independent instances of the service (each its own vendor
//! machinery, throttles, pacing, secret cache and gateway) share one store, as Lambda
//! instances share the table, against vendor fakes that enforce their published limits,
//! expire access tokens after ten minutes and rotate refresh tokens. A layoff of 200 people
//! with five apps each is dismissed for the same midnight. On simulated time (see `sim`).
//! Each scenario runs on the embedded store and on DynamoDB (moto), where each instance has
//! its own clients of the tables and the keyring.

mod instances;
mod setup;
mod sim;
mod vendors;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use chrono::{DateTime, Utc};
use prov_connectors::http::HttpConfig;
use prov_core::keys::{audit_partition, breaker_key, company_partition};
use prov_core::store::PageRequest;
use prov_processes::dismissal::Dismissal;

use crate::support::{Co, Walk};
use instances::Fleet;
use sim::FleetTime;
use vendors::{StrictVendors, strict};

const APPS: [&str; 5] = ["box", "docusign", "hubspot", "salesforce", "slack"];
const PEOPLE: usize = 200;
const INSTANCES: usize = 8;
const TOKEN_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// The most real time a fleet run may take before the test fails instead of hanging.
const REAL_LIMIT: Duration = Duration::from_secs(20 * 60);

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// 00:00 Pacific on March 3, 2026 (PST).
fn midnight() -> DateTime<Utc> {
    utc("2026-03-03T08:00:00Z")
}

/// Serves the sandbox's vendors, strict, on a port of their own; answers the base URL.
async fn serve_strict(w: &Walk, vendors: &Arc<StrictVendors>) -> String {
    let app = Router::new()
        .nest("/_sandbox", w.local.sandbox.router())
        .layer(axum::middleware::from_fn_with_state(vendors.clone(), strict));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// The removal call of `app` at the vendor (Salesforce deactivates; the others delete).
fn is_removal(app: &str, method: &str) -> bool {
    method == if app == "salesforce" { "PATCH" } else { "DELETE" }
}

/// What a fleet run did, for the assertions and BENCHMARKS.md.
struct Figures {
    /// From midnight to the last dismissal's completion.
    took: Duration,
    /// What the vendors' limits (and, with the spread, the removals' moments) allow.
    floor: Duration,
    /// Cleanup runs, and steps handed back to come again at the vendor's time.
    runs: usize,
    handed_back: usize,
    /// The instances' round trips to the store, and of those on the shared rate budgets.
    round_trips: usize,
    budget_round_trips: usize,
    /// API calls the vendors received (answered, refused as rate limited or expired).
    api_calls: usize,
    /// What the instances slept on vendors: the longest wait, and all together.
    longest_wait: Duration,
    waited: Duration,
    per_app: BTreeMap<&'static str, AppFigures>,
}

struct AppFigures {
    served: usize,
    removals: usize,
    refused: usize,
    windows: usize,
    refreshes: usize,
}

/// Checks what every fleet run must hold, and answers its figures: every dismissal done,
/// every account removed at its vendor by exactly one removal call, none before midnight,
/// each removal logged once, at most one 429 per vendor per throttle window, no connection
/// needing an admin.
/// `started` is when the fleet started, `work_from` when the work could start (midnight, or
/// the fleet's start when that is later); `took` and `floor` count from it.
async fn verified(
    w: &Walk,
    co: &Co,
    vendors: &StrictVendors,
    fleet: &Fleet,
    started: DateTime<Utc>,
    work_from: DateTime<Utc>,
    floor_of_moments: Duration,
) -> Figures {
    let store = &w.local.services.store;
    // Every dismissal done, and when.
    let mut last = midnight();
    let mut cursor = None;
    let mut done = 0;
    loop {
        let page = store
            .query(
                &company_partition(&co.id),
                "DISMISSAL#",
                PageRequest::first(1000).after(cursor),
            )
            .await
            .unwrap();
        for item in &page.items {
            let d: Dismissal = item.record().unwrap();
            assert!(d.completed_at.is_some(), "{:?}: {:?}", d.state, d.problem);
            last = last.max(d.completed_at.unwrap());
            done += 1;
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(done, PEOPLE);
    let took = (last - work_from).to_std().unwrap();
    // Every account removed at its vendor, by one call each, none before midnight.
    let at = |offset: Duration| started + chrono::Duration::from_std(offset).unwrap();
    for app in APPS {
        let tenant = prov_sandbox::oauth_tenant(app);
        for i in 0..PEOPLE {
            let email = format!("person{i:03}@example.com");
            let kept = w.local.sandbox.user(&tenant, &email);
            assert!(kept.is_none_or(|u| !u.active), "{app}: {email} still has access");
        }
        vendors.record(|r| {
            let removals: Vec<&vendors::Change> = r
                .changes
                .iter()
                .filter(|c| c.app == app && is_removal(app, &c.method))
                .collect();
            assert_eq!(removals.len(), PEOPLE, "{app}: one removal call per account");
            if app != "docusign" {
                let distinct: HashSet<&str> = removals.iter().map(|c| c.path.as_str()).collect();
                assert_eq!(distinct.len(), PEOPLE, "{app}: no account removed twice");
            }
            assert!(
                r.changes.iter().all(|c| at(c.at) >= midnight()),
                "a removal before 00:00 Pacific"
            );
        });
    }
    // Each removal logged once.
    let mut removed_events = 0;
    let mut cursor = None;
    loop {
        let page = w
            .local
            .services
            .audit
            .query(
                &audit_partition(&co.id),
                "",
                PageRequest::first(1000).after(cursor),
            )
            .await
            .unwrap();
        removed_events += page
            .items
            .iter()
            .filter(|i| i.data["action"] == "account.removed_at_dismissal")
            .count();
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(removed_events, PEOPLE * APPS.len());
    // No connection needs an admin: every refresh was one refresh, rotation or not.
    for app in APPS {
        let connection = w
            .send(
                "GET",
                &co.path(&format!("/apps/{app}/connection")),
                Some(&co.admin),
                None,
            )
            .await
            .json();
        assert_eq!(connection["state"], "connected", "{app}: {connection}");
    }
    assert!(
        fleet.errors.lock().unwrap().is_empty(),
        "{:?}",
        fleet.errors.lock().unwrap()
    );
    // No paid waiting (issue 27): the cleanup never sleeps longer than its turn wait on a
    // vendor (later turns are booked and the work handed back to its schedule).
    let longest = Duration::from_millis(fleet.waits.longest_ms.load(Ordering::SeqCst));
    assert!(
        longest <= HttpConfig::background().max_turn_wait,
        "a wait of {longest:?}"
    );
    // The vendors' floor: each served its calls no faster than its limit allows.
    let mut floor = floor_of_moments;
    let mut per_app = BTreeMap::new();
    for app in APPS {
        let limit = prov_connectors::registry::spec(app).unwrap().limit.unwrap();
        let (served, refused, refreshes, removals) = vendors.record(|r| {
            (
                r.served.get(app).copied().unwrap_or(0),
                r.refused.get(app).map_or(0, Vec::len),
                r.refreshes.get(app).copied().unwrap_or(0),
                r.changes
                    .iter()
                    .filter(|c| c.app == app && is_removal(app, &c.method))
                    .count(),
            )
        });
        let vendor_floor = limit.spacing() * served.saturating_sub(limit.burst as usize) as u32;
        floor = floor.max(vendor_floor);
        // A window: the time the vendor's burst takes to refill.
        let window = limit.spacing() * limit.burst;
        let windows = (took.as_secs_f64() / window.as_secs_f64()).ceil() as usize;
        assert!(refused <= windows, "{app}: {refused} 429s in {windows} windows");
        per_app.insert(
            app,
            AppFigures {
                served,
                removals,
                refused,
                windows,
                refreshes,
            },
        );
    }
    let api_calls = vendors.record(|r| {
        r.served.values().sum::<usize>()
            + r.refused.values().map(Vec::len).sum::<usize>()
            + r.expired.values().sum::<usize>()
    });
    Figures {
        took,
        floor,
        runs: fleet.runs.load(Ordering::SeqCst),
        handed_back: fleet.handed_back.load(Ordering::SeqCst),
        round_trips: fleet.counts.round_trips.load(Ordering::SeqCst),
        budget_round_trips: fleet.counts.budget_round_trips.load(Ordering::SeqCst),
        api_calls,
        longest_wait: Duration::from_millis(fleet.waits.longest_ms.load(Ordering::SeqCst)),
        waited: Duration::from_millis(fleet.waits.total_ms.load(Ordering::SeqCst)),
        per_app,
    }
}

/// The store a walk's fleet shares, as the figures name it.
fn store_of(w: &Walk) -> &'static str {
    if w.table.is_some() {
        "DynamoDB (moto)"
    } else {
        "embedded"
    }
}

/// `real` is the fleet run's real time (a debug build; what moto costs shows here).
fn print(title: &str, w: &Walk, real: Duration, figures: &Figures) {
    // A line of its own (the test harness's name of the test may precede it), then the
    // title, the table's header and this run's row; `infra/scripts/bench` puts the rows of
    // one title in one table.
    println!();
    println!("fleet: {title}:");
    println!(
        "fleet: | store | instances | removals | simulated time | floor | ÷ floor | real time | cleanup runs (steps handed back) | store round trips per removal | rate-budget round trips per API call | slept on vendors: longest wait, per removal | per vendor: removals, calls served, 429s (throttle windows), token refreshes |"
    );
    println!("fleet: |---|---|---|---|---|---|---|---|---|---|---|---|");
    let vendors: Vec<String> = figures
        .per_app
        .iter()
        .map(|(app, f)| {
            format!(
                "{app} {}, {}, {} ({}), {}",
                f.removals, f.served, f.refused, f.windows, f.refreshes
            )
        })
        .collect();
    let removals = PEOPLE * APPS.len();
    println!(
        "fleet: | {} | {INSTANCES} | {removals} | {:.1} s | {:.1} s | {:.3} | {:.0} s | {} ({}) | {:.1} | {:.2} | {:.1} s, {:.2} s | {} |",
        store_of(w),
        figures.took.as_secs_f64(),
        figures.floor.as_secs_f64(),
        figures.took.as_secs_f64() / figures.floor.as_secs_f64(),
        real.as_secs_f64(),
        figures.runs,
        figures.handed_back,
        figures.round_trips as f64 / removals as f64,
        figures.budget_round_trips as f64 / figures.api_calls as f64,
        figures.longest_wait.as_secs_f64(),
        figures.waited.as_secs_f64() / removals as f64,
        vendors.join("; ")
    );
}

/// The tests of a scenario: on the embedded store, and with the eight instances sharing
/// DynamoDB (moto), each with its own clients of the tables, so that the rate budgets, the
/// refresh leases and the claims meet in the table's conditional writes and transactions.
macro_rules! on_both_stores {
    ($scenario:ident, $embedded:ident, $dynamodb:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $embedded() {
            $scenario(Walk::start().await).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $dynamodb() {
            $scenario(Walk::start_on_dynamodb().await).await;
        }
    };
}

/// The midnight layoff: every dismissal's removals run at its own moment in the hour after
/// midnight (never before), on whichever of the eight instances is free, each vendor kept
/// to its limit together, tokens refreshed once per connection however many instances find
/// them expired. Done within 1.1× the last moment (the floor: the vendors' limits do not
/// bind at 200 people an hour).
async fn a_midnight_layoff(w: Walk) {
    let (co, team) = setup::layoff(&w, "layoff-owner@example.com", PEOPLE, &APPS).await;
    // The fleet starts a minute before midnight Pacific.
    let start = midnight() - chrono::Duration::minutes(1);
    let time = Arc::new(FleetTime::new(start));
    let vendors = StrictVendors::new(time.clone(), TOKEN_LIFETIME);
    let base = serve_strict(&w, &vendors).await;
    let fleet = Fleet::new(&w, &base, time.clone(), INSTANCES);
    let real = fleet.run(REAL_LIMIT).await;
    // The floor: the last dismissal's moment (every removal at or after its own).
    let last_moment = team
        .iter()
        .map(|tm| prov_processes::dismissal::runs_at(&co.id, tm, midnight()))
        .max()
        .unwrap();
    let floor = (last_moment - midnight()).to_std().unwrap();
    let figures = verified(&w, &co, &vendors, &fleet, start, midnight(), floor).await;
    // Spread: no removal came before its dismissal's moment; the hour was used.
    assert!(floor > Duration::from_secs(50 * 60), "{floor:?}");
    print(
        "a midnight layoff (spread over 00:00–01:00 Pacific)",
        &w,
        real,
        &figures,
    );
    assert!(
        figures.took.as_secs_f64() <= 1.1 * figures.floor.as_secs_f64(),
        "{:?} against {:?}",
        figures.took,
        figures.floor
    );
}

on_both_stores!(
    a_midnight_layoff,
    a_midnight_layoff_on_eight_instances_removes_every_account_once_spread_over_the_hour,
    a_midnight_layoff_on_eight_instances_removes_every_account_once_spread_over_the_hour_on_dynamodb
);

/// The same layoff caught up at once (its schedules lost, the sweep and the one-off
/// schedules deliver all 200 at 01:00): now the vendors' limits bind. The eight instances
/// keep each vendor to its limit together (at most one 429 per throttle window), waits
/// beyond a few seconds are handed back and come back at their booked turn, and the whole
/// is done within 1.1× what the slowest vendor's limit allows. Each removal counts once in
/// its app's safeguard.
async fn a_layoff_caught_up_at_once(w: Walk) {
    let (co, _) = setup::layoff(&w, "catch-up-owner@example.com", PEOPLE, &APPS).await;
    // Everything is due when the fleet starts, an hour after midnight.
    let start = midnight() + chrono::Duration::hours(1);
    let time = Arc::new(FleetTime::new(start));
    let vendors = StrictVendors::new(time.clone(), TOKEN_LIFETIME);
    let base = serve_strict(&w, &vendors).await;
    let fleet = Fleet::new(&w, &base, time.clone(), INSTANCES);
    let real = fleet.run(REAL_LIMIT).await;
    let figures = verified(&w, &co, &vendors, &fleet, start, start, Duration::ZERO).await;
    print(
        "the same layoff caught up at once (all 200 due at 01:00)",
        &w,
        real,
        &figures,
    );
    assert!(
        figures.took.as_secs_f64() <= 1.1 * figures.floor.as_secs_f64(),
        "{:?} against {:?}",
        figures.took,
        figures.floor
    );
    for app in APPS {
        let breaker = w
            .local
            .services
            .store
            .get(&breaker_key(&co.id, app))
            .await
            .unwrap()
            .unwrap();
        let counted = crate::support::removals_counted(&breaker.data);
        assert_eq!(counted, PEOPLE as u64, "{app}: each removal counted once");
    }
}

on_both_stores!(
    a_layoff_caught_up_at_once,
    a_layoff_caught_up_at_once_keeps_every_vendor_to_its_limit,
    a_layoff_caught_up_at_once_keeps_every_vendor_to_its_limit_on_dynamodb
);
