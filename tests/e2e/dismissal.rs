//! Dismissals end to end: the API schedules, the local scheduler fires through the cleanup
//! handler, the sandbox app is the vendor. The clock is moved by hand.

use chrono::{DateTime, Duration, Utc};
use prov_processes::dismissal::{self, CleanupEvent, schedule_name};
use serde_json::{Value, json};

use crate::support::{Co, Walk};

const TOKEN: &str = "sandbox-dismiss";

/// A company whose sandbox app has one matched account per person in `people`, plus a
/// do-not-match bot and an unmatched stranger. Answers the team member ids in order.
async fn setup(w: &Walk, people: &[&str]) -> (Co, Vec<String>) {
    let co = w.connected_company("owner@example.com", TOKEN).await;
    let mut ids = Vec::new();
    for name in people {
        let email = format!("{name}@example.com");
        w.local.sandbox.seed_user(TOKEN, &email, name, "Person");
        let body = json!({"first_name": name, "last_name": "Person", "kind": "employee", "email": email});
        ids.push(w.team_member(&co, body).await);
    }
    w.local
        .sandbox
        .seed_user(TOKEN, "bot@example.com", "Build", "Bot");
    w.local
        .sandbox
        .seed_user(TOKEN, "stranger@example.com", "Some", "Stranger");
    let synced = w
        .send("POST", &co.path("/apps/sandbox_scim/sync"), Some(&co.admin), None)
        .await
        .json();
    assert_eq!(synced["auto_matched"], people.len());
    let bot = w
        .send(
            "GET",
            &co.path("/apps/sandbox_scim/accounts?match=unmatched"),
            Some(&co.admin),
            None,
        )
        .await
        .json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "bot@example.com")
        .unwrap()["id"]
        .clone();
    w.send(
        "POST",
        &co.path("/apps/sandbox_scim/matches"),
        Some(&co.admin),
        Some(json!({"matches": [{"account_id": bot, "do_not_match": true}]})),
    )
    .await;
    (co, ids)
}

async fn dismiss(w: &Walk, co: &Co, tm: &str, body: Value) -> Value {
    let answer = w
        .send(
            "PUT",
            &co.path(&format!("/team_members/{tm}/dismissal")),
            Some(&co.admin),
            Some(body),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()
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

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn vendor_has(w: &Walk, name: &str) -> bool {
    w.local
        .sandbox
        .emails(TOKEN)
        .contains(&format!("{name}@example.com"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_future_last_day_ends_access_at_midnight_pacific_the_next_day() {
    let w = Walk::start().await;
    let (co, ids) = setup(&w, &["bob"]).await;
    let bob = &ids[0];
    // Clocks spring forward on March 8, 2026: March 11 starts at 07:00 UTC (PDT).
    let scheduled = dismiss(&w, &co, bob, json!({"last_day": "2026-03-10"})).await;
    assert_eq!(scheduled["status"], "scheduled");
    assert_eq!(scheduled["title"], "Remove app access");
    assert_eq!(scheduled["removes_access_at"], "2026-03-11T07:00:00Z");
    assert_eq!(scheduled["accounts"][0]["action"], "delete");
    assert_eq!(scheduled["accounts"][0]["state"], "pending");
    let pending = w.local.scheduler.pending().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].name, schedule_name(&co.id, bob));
    // The removal runs at the dismissal's own moment of the hour after midnight (issue 24:
    // a layoff's removals spread over it), never before midnight.
    let runs = pending[0].at;
    assert!(
        runs >= at("2026-03-11T07:00:00Z") && runs < at("2026-03-11T08:00:00Z"),
        "{runs}"
    );
    let member = w
        .send(
            "GET",
            &co.path(&format!("/team_members/{bob}")),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    assert_eq!(
        (member["employment_status"].as_str(), member["last_day"].as_str()),
        (Some("dismissed"), Some("2026-03-10"))
    );

    // Still their last day in California one second before midnight: nothing happens; nor
    // a second before the dismissal's moment.
    w.clock.set(at("2026-03-11T06:59:59Z"));
    assert_eq!(w.local.tick().await.unwrap(), 0);
    assert!(vendor_has(&w, "bob"));
    w.clock.set(runs - Duration::seconds(1));
    assert_eq!(w.local.tick().await.unwrap(), 0);
    assert!(vendor_has(&w, "bob"));
    w.clock.set(runs);
    assert_eq!(w.local.tick().await.unwrap(), 1);
    assert!(!vendor_has(&w, "bob"));
    assert!(
        vendor_has(&w, "bot") && vendor_has(&w, "stranger"),
        "unmatched and do-not-match accounts are never touched"
    );
    let done = task(&w, &co, bob).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["accounts"][0]["state"], "done");
    let events = w
        .send("GET", &co.path("/events?limit=5"), Some(&co.admin), None)
        .await
        .json();
    assert_eq!(events["items"][0]["action"], "dismissal.completed");
    assert_eq!(events["items"][1]["action"], "account.removed_at_dismissal");
    assert_eq!(events["items"][1]["actor"]["kind"], "system");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_past_last_day_ends_access_now_and_suspend_keeps_the_account() {
    let w = Walk::start().await;
    let (co, ids) = setup(&w, &["bob", "carol"]).await;
    let done = dismiss(&w, &co, &ids[0], json!({"last_day": "2026-02-01"})).await;
    assert_eq!(done["status"], "completed");
    assert!(!vendor_has(&w, "bob"));
    let suspended = dismiss(
        &w,
        &co,
        &ids[1],
        json!({"last_day": "2026-02-27", "removal": {"sandbox_scim": "suspend"}}),
    )
    .await;
    assert_eq!(suspended["status"], "completed");
    assert_eq!(suspended["accounts"][0]["action"], "suspend");
    assert!(
        vendor_has(&w, "carol"),
        "suspending keeps the account and its data"
    );
    let list = w
        .send(
            "GET",
            &co.path("/apps/sandbox_scim/accounts?status=suspended"),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    assert_eq!(list["items"][0]["email"], "carol@example.com");
    let bad = w
        .send(
            "PUT",
            &co.path(&format!("/team_members/{}/dismissal", ids[1])),
            Some(&co.admin),
            Some(json!({"last_day": "soon"})),
        )
        .await;
    assert_eq!(
        (bad.status.as_u16(), bad.error_keys()),
        (422, vec!["last_day".to_owned()])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_says_what_and_when_and_saves_nothing() {
    let w = Walk::start().await;
    let (co, ids) = setup(&w, &["bob"]).await;
    let path = co.path(&format!("/team_members/{}/dismissal?dry_run=true", ids[0]));
    let dry = w
        .send(
            "PUT",
            &path,
            Some(&co.admin),
            Some(json!({"last_day": "2026-01-01"})),
        )
        .await
        .json();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["removes_access_at"], "2026-01-02T08:00:00Z");
    assert_eq!(
        dry["accounts"][0]["means"],
        "Deletes the user in the sandbox SCIM app."
    );
    assert_eq!(task(&w, &co, &ids[0]).await["status"], "not_dismissed");
    assert!(w.local.scheduler.pending().await.unwrap().is_empty());
    assert!(vendor_has(&w, "bob"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_cancelling_and_rehiring_before_the_time_remove_nothing() {
    let w = Walk::start().await;
    let (co, ids) = setup(&w, &["bob", "carol"]).await;
    let (bob, carol) = (&ids[0], &ids[1]);
    dismiss(&w, &co, bob, json!({"last_day": "2026-03-10"})).await;
    let moved = dismiss(&w, &co, bob, json!({"last_day": "2026-03-20"})).await;
    assert_eq!(moved["removes_access_at"], "2026-03-21T07:00:00Z");
    let pending = w.local.scheduler.pending().await.unwrap();
    assert_eq!((pending.len(), pending[0].at), (1, at("2026-03-21T07:00:00Z")));
    w.clock.set(at("2026-03-12T00:00:00Z"));
    w.local.tick().await.unwrap();
    assert!(vendor_has(&w, "bob"), "the old date no longer applies");

    let cancelled = w
        .send(
            "DELETE",
            &co.path(&format!("/team_members/{bob}/dismissal")),
            Some(&co.admin),
            None,
        )
        .await;
    assert_eq!(cancelled.json()["status"], "cancelled");
    let member = w
        .send(
            "GET",
            &co.path(&format!("/team_members/{bob}")),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    assert_eq!(member["employment_status"], "active");

    dismiss(&w, &co, carol, json!({"last_day": "2026-03-15"})).await;
    let rehired = w
        .send(
            "POST",
            &co.path(&format!("/team_members/{carol}/rehire")),
            Some(&co.admin),
            None,
        )
        .await;
    assert_eq!(rehired.status, 200, "{}", rehired.text());
    assert_eq!(rehired.json()["employment_status"], "rehired");
    assert_eq!(rehired.json()["rehired_on"], "2026-03-11");
    assert!(w.local.scheduler.pending().await.unwrap().is_empty());

    w.clock.set(at("2026-04-01T00:00:00Z"));
    w.local.tick().await.unwrap();
    assert!(vendor_has(&w, "bob") && vendor_has(&w, "carol"));
    let again = w
        .send(
            "POST",
            &co.path(&format!("/team_members/{carol}/rehire")),
            Some(&co.admin),
            None,
        )
        .await;
    assert_eq!(again.status, 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_duplicate_delivery_removes_nothing_twice() {
    let w = Walk::start().await;
    let (co, ids) = setup(&w, &["bob"]).await;
    dismiss(&w, &co, &ids[0], json!({"last_day": "2026-03-02"})).await;
    w.clock.set(at("2026-03-03T08:00:00Z"));
    let event = || CleanupEvent::DismissalDue {
        company_id: co.id.clone(),
        team_member_id: ids[0].clone(),
    };
    let (a, b) = tokio::join!(
        dismissal::handle(&w.local.apps, event()),
        dismissal::handle(&w.local.apps, event())
    );
    a.unwrap();
    b.unwrap();
    dismissal::handle(&w.local.apps, event()).await.unwrap();
    assert_eq!(w.local.sandbox.changes("DELETE"), 1);
    assert_eq!(task(&w, &co, &ids[0]).await["status"], "completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_the_vendor_call_and_the_record_is_resumed_without_repeating() {
    let w = Walk::start().await;
    let (co, ids) = setup(&w, &["bob", "carol"]).await;
    let bob = &ids[0];
    // Bob's run claims his step and calls the vendor, then the process dies.
    dismiss(
        &w,
        &co,
        bob,
        json!({"last_day": "2026-03-02", "removal": {"sandbox_scim": "delete"}}),
    )
    .await;
    w.clock.set(at("2026-03-03T08:00:00Z"));
    let store = &w.local.services.store;
    let key = prov_core::store::Key::new(format!("COMPANY#{}", co.id), format!("DISMISSAL#{bob}"));
    // Emulate the dead run: plan, claim, vendor removal, and no record of the result.
    let item = store.get(&key).await.unwrap().unwrap();
    let mut record: Value = Value::Object(item.data.clone());
    let account = w
        .send(
            "GET",
            &co.path(&format!("/team_members/{bob}/apps")),
            Some(&co.admin),
            None,
        )
        .await
        .json()["items"][0]["account"]["id"]
        .clone();
    record["state"] = json!("running");
    record["steps"] = json!([{
        "app": "sandbox_scim", "account_id": account, "email": "bob@example.com", "removal": "delete",
        "state": {"state": "claimed", "at": "2026-03-03T08:00:00Z"}, "attempts": 1
    }]);
    let crashed = prov_core::store::Item::from_record(key.clone(), &record)
        .unwrap()
        .with_index("DISMISSALS", format!("20260303T080000.000000Z#{}#{bob}", co.id));
    store.replace(crashed, item.version).await.unwrap();
    assert!(w.local.sandbox.remove_user(TOKEN, "bob@example.com"));

    // Within the claim's lease, nobody touches it (the run might still be alive).
    assert_eq!(
        dismissal::run(&w.local.apps, &co.id, bob).await.unwrap().removed,
        0
    );
    // After it, the sweep finds it, asks the vendor, sees the account gone, and records it.
    let lease = dismissal::claim_lease(&w.local.apps);
    w.clock.set(at("2026-03-03T08:00:00Z") + lease);
    w.local.tick().await.unwrap();
    assert_eq!(w.local.sandbox.changes("DELETE"), 0, "no second removal");
    let done = task(&w, &co, bob).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["accounts"][0]["state"], "done");
    let list = w
        .send(
            "GET",
            &co.path("/apps/sandbox_scim/accounts?status=deleted"),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    assert_eq!(list["items"][0]["email"], "bob@example.com");
    assert!(vendor_has(&w, "carol"), "nothing else touched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vendor_failures_leave_the_dismissal_needing_attention_and_a_later_retry_finishes() {
    let w = Walk::start().await;
    let (co, ids) = setup(&w, &["bob", "dan"]).await;
    w.local.sandbox.fail_next(100, 503);
    let failed = dismiss(&w, &co, &ids[0], json!({"last_day": "2026-02-01"})).await;
    assert_eq!(failed["status"], "needs_attention", "{failed}");
    assert_eq!(failed["accounts"][0]["state"], "failed");
    assert!(failed["problem"].as_str().unwrap().starts_with("sandbox_scim:"));
    w.local.sandbox.clear_faults();
    w.clock.advance(Duration::minutes(16));
    w.local.tick().await.unwrap();
    assert_eq!(task(&w, &co, &ids[0]).await["status"], "completed");
    assert!(!vendor_has(&w, "bob"));

    // Rate limiting is waited out within the call when the vendor says how long.
    w.local.sandbox.fail_next(1, 429);
    assert_eq!(
        dismiss(&w, &co, &ids[1], json!({"last_day": "2026-02-01"})).await["status"],
        "completed"
    );
    assert!(!vendor_has(&w, "dan"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_circuit_breaker_pauses_unusual_removals_until_confirmed() {
    let w = Walk::start().await;
    let people = ["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"];
    let (co, ids) = setup(&w, &people).await;
    // Five removals within the hour pass (a fifth of 10 is 2; the floor is 5).
    for tm in &ids[..5] {
        assert_eq!(
            dismiss(&w, &co, tm, json!({"last_day": "2026-02-01"})).await["status"],
            "completed"
        );
    }
    let paused = dismiss(&w, &co, &ids[5], json!({"last_day": "2026-02-01"})).await;
    assert_eq!(paused["status"], "paused", "{paused}");
    assert_eq!(paused["accounts"][0]["state"], "paused");
    assert!(vendor_has(&w, "p5"));
    let confirmed = w
        .send(
            "POST",
            &co.path(&format!("/team_members/{}/offboarding", ids[5])),
            Some(&co.admin),
            Some(json!({"confirm": true})),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text());
    assert_eq!(confirmed.json()["status"], "completed");
    assert!(!vendor_has(&w, "p5"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removals_by_concurrent_dismissals_all_count_toward_the_circuit_breaker() {
    let w = Walk::start().await;
    let people = ["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"];
    let (co, ids) = setup(&w, &people).await;
    // Five dismissals at once: each removal is added to the breaker by a conditional write,
    // so the ones that lose a race read it again instead of overwriting another's count.
    let now = json!({"last_day": "2026-02-01"});
    let answers = tokio::join!(
        dismiss(&w, &co, &ids[0], now.clone()),
        dismiss(&w, &co, &ids[1], now.clone()),
        dismiss(&w, &co, &ids[2], now.clone()),
        dismiss(&w, &co, &ids[3], now.clone()),
        dismiss(&w, &co, &ids[4], now.clone()),
    );
    for answer in [answers.0, answers.1, answers.2, answers.3, answers.4] {
        assert_eq!(answer["status"], "completed", "{answer}");
    }
    let paused = dismiss(&w, &co, &ids[5], now).await;
    assert_eq!(paused["status"], "paused", "all five removals counted: {paused}");
    assert!(vendor_has(&w, "p5"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_step_offboarding_suspends_then_deletes_unless_rehired() {
    let w = Walk::start().await;
    let (co, ids) = setup(&w, &["bob", "carol"]).await;
    let first = dismiss(
        &w,
        &co,
        &ids[0],
        json!({"last_day": "2026-02-27", "two_step_days": 30}),
    )
    .await;
    assert_eq!(first["status"], "scheduled", "{first}");
    assert_eq!(first["phase"], "delete_suspended");
    assert_eq!(first["removes_access_at"], "2026-03-30T07:00:00Z");
    assert!(vendor_has(&w, "bob"));
    let suspended = w
        .send(
            "GET",
            &co.path("/apps/sandbox_scim/accounts?status=suspended"),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    assert_eq!(suspended["items"][0]["email"], "bob@example.com");

    dismiss(
        &w,
        &co,
        &ids[1],
        json!({"last_day": "2026-02-27", "two_step_days": 30}),
    )
    .await;
    w.send(
        "POST",
        &co.path(&format!("/team_members/{}/rehire", ids[1])),
        Some(&co.admin),
        None,
    )
    .await;

    // The hour after midnight, when every dismissal's moment has come.
    w.clock.set(at("2026-03-30T08:00:00Z"));
    w.local.tick().await.unwrap();
    assert!(!vendor_has(&w, "bob"), "deleted 30 days later");
    assert!(vendor_has(&w, "carol"), "a rehire cancels the deletion");
    assert_eq!(task(&w, &co, &ids[0]).await["status"], "completed");
}

#[tokio::test]
async fn the_cleanup_functions_event_fixtures_are_its_events() {
    for (file, expected) in [("dismissal-due.json", "dismissal_due"), ("sweep.json", "sweep")] {
        let path = format!(
            "{}/../functions/dismissal-cleanup/events/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(path).unwrap();
        let event: CleanupEvent = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_value(&event).unwrap()["kind"], expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typed_lambda_handler_runs_the_same_cleanup() {
    let w = Walk::start().await;
    let (co, ids) = setup(&w, &["bob"]).await;
    dismiss(&w, &co, &ids[0], json!({"last_day": "2026-03-02"})).await;
    w.clock.set(at("2026-03-03T08:00:00Z"));
    let event = lambda_runtime::LambdaEvent::new(
        CleanupEvent::DismissalDue {
            company_id: co.id.clone(),
            team_member_id: ids[0].clone(),
        },
        lambda_runtime::Context::default(),
    );
    let answer = dismissal_cleanup::handle(&w.local.apps, event).await.unwrap();
    assert_eq!(answer["removed"], 1);
    assert!(!vendor_has(&w, "bob"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_runs_a_dismissal_whose_schedule_was_lost() {
    use prov_core::schedule::Scheduler;
    let w = Walk::start().await;
    let (co, ids) = setup(&w, &["bob"]).await;
    dismiss(&w, &co, &ids[0], json!({"last_day": "2026-03-05"})).await;
    w.local
        .scheduler
        .cancel(&schedule_name(&co.id, &ids[0]))
        .await
        .unwrap();
    w.clock.set(at("2026-03-06T09:00:00Z"));
    assert_eq!(w.local.tick().await.unwrap(), 0, "no schedule fired");
    assert!(!vendor_has(&w, "bob"), "the sweep removed access anyway");
    assert_eq!(task(&w, &co, &ids[0]).await["status"], "completed");
}
