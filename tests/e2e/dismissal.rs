//! Dismissals end to end: the API schedules, the local scheduler fires through the cleanup
//! handler, the sandbox app is the vendor. The clock is moved by hand.

use chrono::{DateTime, Duration, Utc};
use prov_processes::dismissal::{self, CleanupEvent, schedule_name};
use serde_json::{Value, json};

use crate::support::{Co, Walk};

pub(crate) const TOKEN: &str = "sandbox-dismiss";

/// A company whose sandbox app has one matched account per person in `people`, plus a
/// do-not-match bot and an unmatched stranger. Answers the team member ids in order.
pub(crate) async fn setup(w: &Walk, people: &[&str]) -> (Co, Vec<String>) {
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
    let synced = w.sync(&co, "sandbox_scim").await.json()["changes"].clone();
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

pub(crate) async fn dismiss(w: &Walk, co: &Co, tm: &str, body: Value) -> Value {
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

pub(crate) async fn task(w: &Walk, co: &Co, tm: &str) -> Value {
    w.send(
        "GET",
        &co.path(&format!("/team_members/{tm}/offboarding")),
        Some(&co.admin),
        None,
    )
    .await
    .json()
}

pub(crate) fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

pub(crate) fn vendor_has(w: &Walk, name: &str) -> bool {
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
    // The removal's own moment in the hour after that midnight (issue 24).
    let moment = dismissal::runs_at(&co.id, bob, at("2026-03-21T07:00:00Z"));
    assert_eq!((pending.len(), pending[0].at), (1, moment));
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
    // Suspended on March 1 (the last day had passed): deleted 30 days after that.
    assert_eq!(first["removes_access_at"], "2026-03-31T07:00:00Z");
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

    w.clock.set(at("2026-03-31T06:59:59Z"));
    w.local.tick().await.unwrap();
    assert!(vendor_has(&w, "bob"), "not before 30 days have passed");
    // The hour after midnight, when every dismissal's moment has come.
    w.clock.set(at("2026-03-31T08:00:00Z"));
    w.local.tick().await.unwrap();
    assert!(!vendor_has(&w, "bob"), "deleted 30 days later");
    assert!(vendor_has(&w, "carol"), "a rehire cancels the deletion");
    assert_eq!(task(&w, &co, &ids[0]).await["status"], "completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_step_offboarding_with_a_long_past_last_day_counts_the_days_from_the_suspension() {
    let w = Walk::start().await;
    let (co, ids) = setup(&w, &["bob"]).await;
    // The last day was six weeks ago; the suspension happens now (March 1).
    let first = dismiss(
        &w,
        &co,
        &ids[0],
        json!({"last_day": "2026-01-15", "two_step_days": 7}),
    )
    .await;
    assert_eq!(
        (first["status"].as_str(), first["phase"].as_str()),
        (Some("scheduled"), Some("delete_suspended")),
        "{first}"
    );
    assert_eq!(first["removes_access_at"], "2026-03-08T08:00:00Z");
    let at_vendor = w.local.sandbox.user(TOKEN, "bob@example.com").unwrap();
    assert!(!at_vendor.active, "suspended now: {at_vendor:?}");
    w.local.tick().await.unwrap();
    w.clock.set(at("2026-03-08T07:59:59Z"));
    w.local.tick().await.unwrap();
    assert!(vendor_has(&w, "bob"), "kept, suspended, for the seven days");
    // The deletion runs at the dismissal's own moment in the hour after that midnight.
    let moment = dismissal::runs_at(&co.id, &ids[0], at("2026-03-08T08:00:00Z"));
    w.clock.set(moment - Duration::seconds(1));
    w.local.tick().await.unwrap();
    assert!(vendor_has(&w, "bob"), "not before its moment");
    w.clock.set(moment);
    w.local.tick().await.unwrap();
    assert!(!vendor_has(&w, "bob"));
    assert_eq!(task(&w, &co, &ids[0]).await["status"], "completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_the_date_keeps_the_per_app_choices_and_two_step_offboarding() {
    let w = Walk::start().await;
    let (co, ids) = setup(&w, &["bob", "carol"]).await;
    let (bob, carol) = (&ids[0], &ids[1]);
    let chosen = dismiss(
        &w,
        &co,
        bob,
        json!({"last_day": "2026-03-10", "removal": {"sandbox_scim": "suspend"}}),
    )
    .await;
    assert_eq!(chosen["accounts"][0]["action"], "suspend");
    let moved = dismiss(&w, &co, bob, json!({"last_day": "2026-03-20"})).await;
    assert_eq!(moved["accounts"][0]["action"], "suspend", "{moved}");
    assert_eq!(moved["removes_access_at"], "2026-03-21T07:00:00Z");
    // The body's own choice still wins.
    let changed = dismiss(
        &w,
        &co,
        bob,
        json!({"last_day": "2026-03-20", "removal": {"sandbox_scim": "delete"}}),
    )
    .await;
    assert_eq!(changed["accounts"][0]["action"], "delete");
    dismiss(
        &w,
        &co,
        bob,
        json!({"last_day": "2026-03-20", "removal": {"sandbox_scim": "suspend"}}),
    )
    .await;

    dismiss(
        &w,
        &co,
        carol,
        json!({"last_day": "2026-03-10", "two_step_days": 5}),
    )
    .await;
    let moved = dismiss(&w, &co, carol, json!({"last_day": "2026-03-12"})).await;
    assert_eq!(moved["two_step_days"], 5, "{moved}");
    assert_eq!(moved["accounts"][0]["action"], "suspend");

    // The hour after midnight, when every dismissal's moment has come (issue 24).
    w.clock.set(at("2026-03-21T08:00:00Z"));
    w.local.tick().await.unwrap();
    let at_vendor = w.local.sandbox.user(TOKEN, "bob@example.com").unwrap();
    assert!(!at_vendor.active, "suspended, as chosen: {at_vendor:?}");
    assert_eq!(task(&w, &co, bob).await["status"], "completed");
    let carol_task = task(&w, &co, carol).await;
    assert_eq!(carol_task["phase"], "delete_suspended", "{carol_task}");
    assert!(vendor_has(&w, "carol"), "suspended first, deleted five days on");
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
    // The worker function's delivery, as EventBridge Scheduler sends it.
    let delivery: dismissal_cleanup::Delivery = serde_json::from_value(
        json!({"kind": "dismissal_due", "company_id": co.id, "team_member_id": ids[0]}),
    )
    .unwrap();
    let event = lambda_runtime::LambdaEvent::new(delivery, lambda_runtime::Context::default());
    let worker = dismissal_cleanup::Worker {
        sync_every: Duration::hours(1),
        limits: prov_processes::accounts::RunLimits::default(),
    };
    let answer = dismissal_cleanup::handle(&w.local.apps, worker, event)
        .await
        .unwrap();
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

/// A company with the sandbox app connected under `token` and one matched person, `name`:
/// (company, team member id, the person's account id).
async fn company_with_person(w: &Walk, owner: &str, token: &str, name: &str) -> (Co, String, String) {
    let co = w.connected_company(owner, token).await;
    let email = format!("{name}@example.com");
    w.local.sandbox.seed_user(token, &email, name, "Person");
    let tm = w
        .team_member(
            &co,
            json!({"first_name": name, "last_name": "Person", "kind": "employee", "email": email}),
        )
        .await;
    let synced = w.sync(&co, "sandbox_scim").await.json()["changes"].clone();
    assert_eq!(synced["auto_matched"], 1, "{synced}");
    let account = w
        .send(
            "GET",
            &co.path("/apps/sandbox_scim/accounts"),
            Some(&co.admin),
            None,
        )
        .await
        .json()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (co, tm, account)
}

async fn dismiss_as(w: &Walk, co: &Co, token: &str, tm: &str, body: Value) -> prov_testkit::Answer {
    w.send(
        "PUT",
        &co.path(&format!("/team_members/{tm}/dismissal")),
        Some(token),
        Some(body),
    )
    .await
}

/// Overwrites a stored item's attributes with nonsense, keeping its key and index entry.
async fn break_record(w: &Walk, key: &prov_core::store::Key) {
    let store = &w.local.services.store;
    let mut item = store.get(key).await.unwrap().unwrap();
    item.data = json!({"state": 42, "steps": "not a list", "status": []})
        .as_object()
        .unwrap()
        .clone();
    let version = item.version;
    store.replace(item, version).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_runs_every_due_dismissal_when_others_fail() {
    use prov_core::keys::{account_key, dismissal_key};
    use prov_core::schedule::Scheduler;
    let w = Walk::start().await;
    // Three companies with one dismissal each, due in this order (the sweep's index is in
    // time order): the first fails when it runs (the person's account record no longer
    // reads, so its plan cannot be made), the second's dismissal record no longer reads,
    // the third is sound.
    let (a, ann, ann_account) = company_with_person(&w, "a@example.com", "sandbox-sweep-a", "ann").await;
    let (b, ben, _) = company_with_person(&w, "b@example.com", "sandbox-sweep-b", "ben").await;
    let (c, cid, _) = company_with_person(&w, "c@example.com", "sandbox-sweep-c", "cid").await;
    for (co, tm, day) in [
        (&a, &ann, "2026-03-02"),
        (&b, &ben, "2026-03-03"),
        (&c, &cid, "2026-03-04"),
    ] {
        dismiss(&w, co, tm, json!({"last_day": day})).await;
        // Only the sweep runs them: their schedules were lost.
        w.local
            .scheduler
            .cancel(&schedule_name(&co.id, tm))
            .await
            .unwrap();
    }
    break_record(&w, &account_key(&a.id, "sandbox_scim", &ann_account)).await;
    break_record(&w, &dismissal_key(&b.id, &ben)).await;

    w.clock.set(at("2026-03-06T08:00:00Z"));
    let ran = dismissal::sweep(&w.local.apps).await;
    assert_eq!(
        ran.ok(),
        Some(1),
        "the sound dismissal ran, the sweep itself did not fail"
    );
    assert!(
        !w.local
            .sandbox
            .emails("sandbox-sweep-c")
            .contains(&"cid@example.com".to_owned()),
        "the third company's person lost access although the two before failed"
    );
    assert_eq!(task(&w, &c, &cid).await["status"], "completed");
    assert!(
        w.local
            .sandbox
            .emails("sandbox-sweep-a")
            .contains(&"ann@example.com".to_owned()),
        "the failing dismissal removed nothing"
    );
    // The failing one stays due: the next sweep tries it again.
    assert_eq!(dismissal::sweep(&w.local.apps).await.ok(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_dismissals_leave_one_last_day_on_the_person_and_the_task() {
    let w = Walk::start().await;
    let people: Vec<String> = (0..10).map(|i| format!("race{i}")).collect();
    let names: Vec<&str> = people.iter().map(String::as_str).collect();
    let (co, ids) = setup(&w, &names).await;
    let mut lost = 0;
    for tm in &ids {
        // Two admins dismiss the same person at once, with different last days.
        let path = co.path(&format!("/team_members/{tm}/dismissal"));
        let send = |day: &'static str| {
            let (app, path, admin) = (w.app.clone(), path.clone(), co.admin.clone());
            tokio::spawn(async move {
                let request =
                    prov_testkit::json_request("PUT", &path, Some(&admin), &json!({"last_day": day}));
                (day, prov_testkit::call(&app, request).await)
            })
        };
        let (first, second) = (send("2026-03-20"), send("2026-03-27"));
        let answers = [first.await.unwrap(), second.await.unwrap()];
        let won: Vec<&str> = answers
            .iter()
            .filter(|(_, a)| a.status == 200)
            .map(|(day, _)| *day)
            .collect();
        for (_, answer) in &answers {
            assert!(
                answer.status == 200 || answer.status == 409,
                "{} {}",
                answer.status,
                answer.text()
            );
            if answer.status == 409 {
                assert_eq!(answer.category(), "conflict", "{}", answer.text());
                lost += 1;
            }
        }
        assert!(!won.is_empty(), "one of the two dismissals lands");
        let member = w
            .send(
                "GET",
                &co.path(&format!("/team_members/{tm}")),
                Some(&co.admin),
                None,
            )
            .await
            .json();
        let dismissal = task(&w, &co, tm).await;
        assert_eq!(
            member["last_day"], dismissal["last_day"],
            "the person's last day is the dismissal's: {member} {dismissal}"
        );
        assert_eq!(member["employment_status"], "dismissed");
        // The date that stands is the one of the request answered last among those that
        // landed (a loser wrote nothing).
        let standing = dismissal["last_day"].as_str().unwrap().to_owned();
        assert!(
            won.contains(&standing.as_str()),
            "{standing} was not accepted: {won:?}"
        );
        if won.len() == 1 {
            assert_eq!(standing, won[0]);
        }
    }
    println!("race: concurrent dismissals: 10 tries, {lost} answered 409, 0 inconsistent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_without_manage_apps_dismisses_only_by_the_default_plan_and_sees_no_accounts() {
    let w = Walk::start().await;
    let (co, ids) = setup(&w, &["bob", "carol"]).await;
    let invited = w
        .send(
            "POST",
            &co.path("/admins"),
            Some(&co.admin),
            Some(json!({"first_name": "Hr", "last_name": "Admin", "email": "hr@example.com"})),
        )
        .await;
    assert_eq!(invited.status, 201, "{}", invited.text());
    let (_, hr) = w.claim("hr@example.com").await;

    // Choosing to delete an app's account now: refused, and nothing happened.
    let refused = dismiss_as(
        &w,
        &co,
        &hr,
        &ids[0],
        json!({"last_day": "2026-02-01", "removal": {"sandbox_scim": "delete"}}),
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert_eq!(refused.category(), "forbidden");
    assert_eq!(refused.error_keys(), ["removal"]);
    assert!(vendor_has(&w, "bob"), "no account was removed");
    assert_eq!(task(&w, &co, &ids[0]).await["status"], "not_dismissed");
    let dry = w
        .send(
            "PUT",
            &co.path(&format!("/team_members/{}/dismissal?dry_run=true", ids[0])),
            Some(&hr),
            Some(json!({"last_day": "2026-02-01", "removal": {"sandbox_scim": "suspend"}})),
        )
        .await;
    assert_eq!(dry.status, 403, "{}", dry.text());

    // Dismissing stays theirs: the default plan runs at the removal time, and the answer
    // leaves out the accounts (ids and emails) it will remove.
    let scheduled = dismiss_as(&w, &co, &hr, &ids[0], json!({"last_day": "2026-03-10"})).await;
    assert_eq!(scheduled.status, 200, "{}", scheduled.text());
    let view = scheduled.json();
    assert_eq!(view["status"], "scheduled");
    assert!(view.get("accounts").is_none(), "{view}");
    assert!(!scheduled.text().contains("bob@example.com"), "{view}");
    let dry = w
        .send(
            "PUT",
            &co.path(&format!("/team_members/{}/dismissal?dry_run=true", ids[1])),
            Some(&hr),
            Some(json!({"last_day": "2026-02-01"})),
        )
        .await;
    assert_eq!(dry.status, 200, "{}", dry.text());
    assert!(dry.json().get("accounts").is_none(), "{}", dry.text());
    let cancelled = w
        .send(
            "DELETE",
            &co.path(&format!("/team_members/{}/dismissal", ids[0])),
            Some(&hr),
            None,
        )
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text());
    assert!(cancelled.json().get("accounts").is_none(), "{}", cancelled.text());
    let past = dismiss_as(&w, &co, &hr, &ids[0], json!({"last_day": "2026-02-01"})).await;
    assert_eq!(past.status, 200, "{}", past.text());
    assert_eq!(past.json()["status"], "completed");
    assert!(!vendor_has(&w, "bob"), "the default plan removed the account");
    // The primary admin still sees the plan.
    let full = task(&w, &co, &ids[0]).await;
    assert_eq!(full["accounts"][0]["email"], "bob@example.com", "{full}");
    assert_eq!(full["accounts"][0]["action"], "delete");
}
