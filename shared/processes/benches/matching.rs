//! Matching at scale (issue 11, item 5): auto-match and suggestions for 1k, 10k and 100k
//! vendor accounts against 10k team members, as a sync runs them. Prints a Markdown table
//! (median of several runs, and the time per account) for `BENCHMARKS.md`; it is not a test.

use std::time::{Duration, Instant};

use chrono::Utc;
use prov_core::connector::AccountStatus;
use prov_core::team::{EmploymentStatus, Kind, OfferStatus, TeamMember};
use prov_processes::accounts::{AppAccount, Matching, match_accounts};

const MEMBERS: usize = 10_000;
const RUNS: usize = 7;
const GOAL_AT_100K: Duration = Duration::from_millis(100);

fn member(i: usize) -> TeamMember {
    let now = Utc::now();
    TeamMember {
        id: format!("tm_{i:08}"),
        company_id: "com_bench".into(),
        first_name: format!("First{}", i % 997),
        last_name: format!("Last{i}"),
        email: Some(format!("person{i}@example.com")),
        kind: Kind::Employee,
        work_country: "US".into(),
        start_date: None,
        offer_status: OfferStatus::None,
        employment_status: EmploymentStatus::Active,
        last_day: None,
        rehired_on: None,
        created_at: now,
        updated_at: now,
    }
}

/// Vendor accounts: a third agree with a team member exactly, a third share only the email's
/// name or the last name, a third are strangers (bots, people not on payroll).
fn account(i: usize) -> AppAccount {
    let now = Utc::now();
    let m = i % MEMBERS;
    let (email, first, last) = match i % 3 {
        0 => (
            format!("person{m}@example.com"),
            format!("First{}", m % 997),
            format!("Last{m}"),
        ),
        1 => (
            format!("person{m}@other.example"),
            "Someone".to_owned(),
            format!("Last{m}"),
        ),
        _ => (
            format!("bot{i}@vendor.example"),
            "Bot".to_owned(),
            format!("Number{i}"),
        ),
    };
    AppAccount {
        id: format!("acc_{i:08}"),
        app: "bench".into(),
        vendor_id: format!("v{i}"),
        email: Some(email),
        first_name: Some(first),
        last_name: Some(last),
        display_name: None,
        status: AccountStatus::Active,
        present: true,
        matching: Matching::Unmatched,
        suggestions: Vec::new(),
        first_seen_at: now,
        updated_at: now,
        work_email: None,
        tenant: None,
    }
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn main() {
    let members: Vec<TeamMember> = (0..MEMBERS).map(member).collect();
    println!("| vendor accounts | team members | median time | per account | exact matches |");
    println!("|---|---|---|---|---|");
    let mut at = Vec::new();
    for n in [1_000, 10_000, 100_000] {
        let accounts: Vec<AppAccount> = (0..n).map(account).collect();
        let mut runs = Vec::new();
        let mut exact = 0;
        for _ in 0..RUNS {
            let started = Instant::now();
            let matched = match_accounts(&members, &accounts);
            runs.push(started.elapsed());
            exact = matched.iter().filter(|(tm, _)| tm.is_some()).count();
        }
        let time = median(runs);
        at.push((n, time));
        println!(
            "| {n} | {MEMBERS} | {:.1} ms | {:.2} µs | {exact} |",
            time.as_secs_f64() * 1e3,
            time.as_secs_f64() * 1e6 / n as f64
        );
    }
    let (_, t10k) = at[1];
    let (_, t100k) = at[2];
    // The fixed part: indexing the team members (what a sync does once).
    let index = median(
        (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                match_accounts(&members, &[]);
                started.elapsed()
            })
            .collect(),
    );
    let per_account = (t100k.saturating_sub(index)).as_secs_f64() * 1e6 / 100_000.0;
    println!();
    println!(
        "Where the time goes: indexing the {MEMBERS} team members once, {:.1} ms; then {per_account:.2} µs per account \
         (normalising its name and email, the index lookups, ranking suggestions).",
        index.as_secs_f64() * 1e3
    );
    println!(
        "Growth from 10k to 100k accounts: {:.1}x (linear is 10x). Goal at 100k: ≤ {} ms — {}.",
        t100k.as_secs_f64() / t10k.as_secs_f64(),
        GOAL_AT_100K.as_millis(),
        if t100k <= GOAL_AT_100K {
            "met".to_owned()
        } else {
            format!(
                "missed by {:.0} %",
                (t100k.as_secs_f64() / GOAL_AT_100K.as_secs_f64() - 1.0) * 100.0
            )
        }
    );
}
