//! Background syncs, the scheduled reconciliation and the access report, end to end: the
//! API answers at once, the worker (the devserver's, in process) runs the jobs queue, the
//! sandbox SCIM app is the vendor and is changed behind the service's back.

use chrono::Duration;
use prov_core::queue::JobQueue;
use prov_processes::accounts::RunLimits;
use serde_json::{Value, json};

use crate::support::{Co, Walk};

const TOKEN: &str = "sandbox-reconcile";

/// Someone changes a user of tenant `token` in the app itself (its own SCIM API, not
/// through the service).
pub(crate) async fn set_active_at_vendor(w: &Walk, token: &str, email: &str, active: bool) {
    let id = w.local.sandbox.user(token, email).unwrap().id;
    let request = axum::http::Request::builder()
        .method("PATCH")
        .uri(format!("/_sandbox/sandbox_scim/scim/v2/Users/{id}"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"active": active}}]
            })
            .to_string(),
        ))
        .unwrap();
    let answer = prov_testkit::call(&w.app, request).await;
    assert!(answer.status.is_success(), "{}", answer.text());
}

pub(crate) async fn person(w: &Walk, co: &Co, name: &str) -> String {
    let email = format!("{name}@example.com");
    let body = json!({"first_name": name, "last_name": "Person", "kind": "employee", "email": email});
    w.team_member(co, body).await
}

pub(crate) async fn report(w: &Walk, co: &Co) -> Value {
    let answer = w
        .send("GET", &co.path("/access_report"), Some(&co.admin), None)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()
}

pub(crate) async fn account_of(w: &Walk, co: &Co, email: &str) -> Value {
    let listed = w
        .send(
            "GET",
            &co.path("/apps/sandbox_scim/accounts?limit=100"),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == email)
        .cloned()
        .unwrap_or_else(|| panic!("no account {email}: {listed}"))
}

pub(crate) async fn events(w: &Walk, co: &Co) -> Vec<Value> {
    w.send("GET", &co.path("/events?limit=100"), Some(&co.admin), None)
        .await
        .json()["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// A company with the sandbox app connected, Ada a team member with an account there (not
/// matched yet), and the hourly schedule begun (its first tick starts nothing).
async fn ada_on_an_hourly_schedule() -> (Walk, Co, Duration) {
    let w = Walk::start().await;
    let co = w.connected_company("owner@example.com", TOKEN).await;
    let period = Duration::hours(1);
    w.local
        .sandbox
        .seed_user(TOKEN, "ada@example.com", "ada", "Person");
    person(&w, &co, "ada").await;
    assert_eq!(w.local.reconcile(period).await.unwrap(), 0);
    (w, co, period)
}

/// One period of the scheduled reconciliation: the clock moves a period on, the tick starts
/// every connection's sync, the worker runs them.
pub(crate) async fn one_cycle(w: &Walk, period: Duration) {
    w.clock.advance(period + Duration::seconds(1));
    let started = w.local.reconcile(period).await.unwrap();
    assert!(started >= 1, "the tick started the app's sync");
    w.local.work().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_answers_202_at_once_and_its_job_shows_the_progress_across_invocations() {
    let w = Walk::start().await;
    let co = w.connected_company("owner@example.com", TOKEN).await;
    for i in 0..250 {
        w.local
            .sandbox
            .seed_user(TOKEN, &format!("p{i}@example.com"), &format!("P{i}"), "Person");
    }
    let sync = co.path("/apps/sandbox_scim/sync");
    let started = w.send("POST", &sync, Some(&co.admin), None).await;
    assert_eq!(started.status, 202, "{}", started.text());
    assert_eq!(started.header("location"), Some(sync.as_str()));
    let job = started.json();
    assert_eq!(
        (job["state"].as_str(), job["pages_read"].as_u64()),
        (Some("queued"), Some(0)),
        "{job}"
    );
    // Nothing was read from the vendor by the request itself.
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
    // A second request joins the job rather than starting another.
    let again = w.send("POST", &sync, Some(&co.admin), None).await;
    assert_eq!(again.status, 202);
    assert_eq!(again.json()["id"], job["id"]);

    // One page per invocation: the job continues in follow-up messages, its progress shown.
    let one_page = RunLimits {
        budget: std::time::Duration::from_secs(600),
        max_pages: 1,
        lease: Duration::minutes(2),
    };
    let ran = w.local.work_with(one_page).await.unwrap();
    let done = w.send("GET", &sync, Some(&co.admin), None).await.json();
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["id"], job["id"]);
    assert_eq!(
        (
            done["pages_read"].as_u64(),
            done["accounts_seen"].as_u64(),
            done["changes"]["created"].as_u64()
        ),
        (Some(3), Some(250), Some(250)),
        "{done}"
    );
    assert!(done["invocations"].as_u64().unwrap() >= 4, "{done}");
    assert_eq!(ran as u64, done["invocations"].as_u64().unwrap(), "{done}");
    assert!(
        done["finished_at"].is_string() && done["errors"] == json!([]),
        "{done}"
    );
    // Once it is over, a request starts a new job.
    let next = w.send("POST", &sync, Some(&co.admin), None).await.json();
    assert_ne!(next["id"], job["id"]);
    assert_eq!(next["state"], "queued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_one_scheduled_cycle_each_change_behind_the_services_back_is_recorded_and_reported() {
    let w = Walk::start().await;
    let co = w.connected_company("owner@example.com", TOKEN).await;
    let period = Duration::hours(1);
    let mut ids = std::collections::HashMap::new();
    for name in ["ada", "grace", "bob", "dan"] {
        w.local
            .sandbox
            .seed_user(TOKEN, &format!("{name}@example.com"), name, "Person");
        ids.insert(name, person(&w, &co, name).await);
    }
    let carl = person(&w, &co, "carl").await;
    // The schedule begins; the first sync (requested) reads what is there and matches it.
    assert_eq!(w.local.reconcile(period).await.unwrap(), 0);
    assert_eq!(
        w.sync(&co, "sandbox_scim").await.json()["changes"]["auto_matched"],
        4
    );
    // Carl is invited through the service; Dan is dismissed, his account suspended.
    let created = w
        .send(
            "POST",
            &co.path("/apps/sandbox_scim/accounts"),
            Some(&co.admin),
            Some(json!({"team_member_id": carl})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let dismissed = w
        .send(
            "PUT",
            &co.path(&format!("/team_members/{}/dismissal", ids["dan"])),
            Some(&co.admin),
            Some(json!({"last_day": "2026-02-20", "removal": {"sandbox_scim": "suspend"}})),
        )
        .await;
    assert_eq!(dismissed.json()["status"], "completed", "{}", dismissed.text());
    assert_eq!(report(&w, &co).await["open"], 0);

    // Behind the service's back: a new account, one deactivated, one deleted, the dismissed
    // person's account reactivated, and the invitation accepted.
    w.local
        .sandbox
        .seed_user(TOKEN, "eve@example.com", "Eve", "Outsider");
    set_active_at_vendor(&w, TOKEN, "grace@example.com", false).await;
    assert!(w.local.sandbox.remove_user(TOKEN, "bob@example.com"));
    set_active_at_vendor(&w, TOKEN, "dan@example.com", true).await;
    assert!(w.local.sandbox.accept_invitation(TOKEN, "carl@example.com"));

    one_cycle(&w, period).await;

    // Each change is recorded.
    assert_eq!(
        account_of(&w, &co, "grace@example.com").await["status"],
        "suspended"
    );
    assert_eq!(account_of(&w, &co, "bob@example.com").await["present"], false);
    assert_eq!(
        account_of(&w, &co, "dan@example.com").await["status"],
        "connected"
    );
    assert_eq!(
        account_of(&w, &co, "carl@example.com").await["status"],
        "connected"
    );
    let eve = account_of(&w, &co, "eve@example.com").await;
    assert_eq!(eve["match"]["state"], "unmatched", "{eve}");
    let logged = events(&w, &co).await;
    let detail_of = |action: &str, who: &str| {
        logged
            .iter()
            .filter(|e| e["action"] == action && e["detail"].as_str().is_some_and(|d| d.starts_with(who)))
            .count()
    };
    for (who, said) in [
        ("eve@example.com", "created"),
        ("grace@example.com", "suspended"),
        ("bob@example.com", "deleted"),
        ("dan@example.com", "reactivated"),
    ] {
        assert_eq!(
            detail_of("account.changed_at_vendor", who),
            1,
            "{who} {said}: {logged:?}"
        );
        assert!(logged.iter().any(|e| {
            e["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with(&format!("{who} {said}")))
        }));
    }
    assert_eq!(detail_of("account.connected", "carl@example.com"), 1);
    let synced = logged.iter().find(|e| e["action"] == "app.synced").unwrap();
    assert_eq!(synced["actor"]["kind"], "system", "{synced}");

    // The report lists what matters, the dismissed person's access first.
    let found = report(&w, &co).await;
    let findings = found["findings"].as_array().unwrap();
    let kinds: Vec<(&str, Option<&str>)> = findings
        .iter()
        .map(|f| (f["kind"].as_str().unwrap(), f["team_member_id"].as_str()))
        .collect();
    assert_eq!(
        kinds[0],
        ("access_not_removed", Some(ids["dan"].as_str())),
        "{found}"
    );
    assert_eq!(
        findings
            .iter()
            .filter(|f| f["kind"] == "access_not_removed")
            .count(),
        1,
        "one finding for the dismissed person's account: {found}"
    );
    for (tm, change) in [("grace", "suspended"), ("bob", "deleted"), ("dan", "reactivated")] {
        assert!(
            findings.iter().any(|f| f["kind"] == "changed_outside"
                && f["team_member_id"] == ids[tm].as_str()
                && f["change"] == change),
            "{tm} {change}: {found}"
        );
    }
    let unmatched = findings.iter().find(|f| f["kind"] == "unmatched").unwrap();
    assert_eq!(unmatched["count"], 1, "{unmatched}");
    assert!(unmatched["summary"].as_str().unwrap().contains("eve@example.com"));
    assert!(findings.iter().any(|f| f["kind"] == "seats" && f["count"] == 1));
    for f in findings {
        assert!(!f["action"].as_str().unwrap().is_empty(), "{f}");
        assert_eq!(f["first_seen_at"], f["last_seen_at"], "{f}");
    }
    assert_eq!(found["open"].as_u64(), Some(findings.len() as u64));

    // A later cycle that sees the same problems keeps them, first seen when they were.
    one_cycle(&w, period).await;
    let kept = report(&w, &co).await;
    assert_eq!(kept["open"], found["open"], "{kept}");
    let first = &kept["findings"][0];
    assert_eq!(first["first_seen_at"], findings[0]["first_seen_at"]);
    assert_ne!(first["last_seen_at"], findings[0]["last_seen_at"]);

    // Problems gone resolve themselves: Grace active again at the vendor, Dan's account
    // suspended through the service, Eve marked "do not match".
    set_active_at_vendor(&w, TOKEN, "grace@example.com", true).await;
    let dan = account_of(&w, &co, "dan@example.com").await;
    let suspended = w
        .send(
            "POST",
            &co.path(&format!(
                "/apps/sandbox_scim/accounts/{}/suspend",
                dan["id"].as_str().unwrap()
            )),
            Some(&co.admin),
            None,
        )
        .await;
    assert_eq!(suspended.status, 200, "{}", suspended.text());
    w.send(
        "POST",
        &co.path("/apps/sandbox_scim/matches"),
        Some(&co.admin),
        Some(json!({"matches": [{"account_id": eve["id"], "do_not_match": true}]})),
    )
    .await;
    one_cycle(&w, period).await;
    let after = report(&w, &co).await;
    let left: Vec<(&str, Option<&str>)> = after["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["kind"].as_str().unwrap(), f["team_member_id"].as_str()))
        .collect();
    assert_eq!(
        left,
        [("changed_outside", Some(ids["bob"].as_str())), ("seats", None)],
        "{after}"
    );
    let resolved = events(&w, &co)
        .await
        .iter()
        .filter(|e| e["action"] == "finding.resolved")
        .count();
    assert_eq!(resolved, 4, "Dan's two, Grace's, and the unmatched account");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_function_runs_the_reconcile_tick_and_the_queues_messages() {
    let w = Walk::start().await;
    let co = w.connected_company("owner@example.com", TOKEN).await;
    w.local
        .sandbox
        .seed_user(TOKEN, "ada@example.com", "Ada", "Person");
    let worker = dismissal_cleanup::Worker {
        sync_every: Duration::hours(1),
        limits: RunLimits::default(),
    };
    let deliver = |payload: Value| {
        let delivery: dismissal_cleanup::Delivery = serde_json::from_value(payload).unwrap();
        let mut context = lambda_runtime::Context::default();
        // Lambda's deadline: two minutes from now.
        let deadline = std::time::SystemTime::now() + std::time::Duration::from_secs(120);
        context.deadline = deadline
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let apps = w.local.apps.clone();
        async move {
            dismissal_cleanup::handle(&apps, worker, lambda_runtime::LambdaEvent::new(delivery, context))
                .await
                .unwrap()
        }
    };
    // The rate schedule's tick: the first marks where the schedule begins, the next (an
    // hour on) starts the app's sync.
    assert_eq!(deliver(json!({"kind": "reconcile"})).await["started"], 0);
    w.clock.advance(Duration::minutes(61));
    assert_eq!(deliver(json!({"kind": "reconcile"})).await["started"], 1);
    // The event source mapping hands the queued message over as SQS does.
    let received = w.local.queue.receive(10, Duration::minutes(5)).await.unwrap();
    assert_eq!(received.len(), 1);
    let event = json!({"Records": [
        {"messageId": "m-1", "receiptHandle": received[0].receipt, "body": received[0].body.to_string(),
         "attributes": {"ApproximateReceiveCount": "1"}, "eventSource": "aws:sqs"},
        {"messageId": "m-2", "receiptHandle": "r-2", "body": "not json"}
    ]});
    let answer = deliver(event).await;
    // The unreadable message is reported failed (it comes back, then goes to the DLQ).
    assert_eq!(answer, json!({"batchItemFailures": [{"itemIdentifier": "m-2"}]}));
    let job = w
        .send("GET", &co.path("/apps/sandbox_scim/sync"), Some(&co.admin), None)
        .await
        .json();
    assert_eq!(
        (job["state"].as_str(), job["trigger"].as_str()),
        (Some("succeeded"), Some("scheduled")),
        "{job}"
    );
    assert_eq!(job["changes"]["created"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consoles_sync_button_shows_the_jobs_progress_and_the_report_its_findings() {
    let w = Walk::start().await;
    let co = w.connected_company("owner@example.com", TOKEN).await;
    for email in ["eve@example.com", "bot@example.com"] {
        w.local.sandbox.seed_user(TOKEN, email, "Some", "One");
    }
    let mut admin = crate::console::Client::new(&w);
    admin.sign_in(&co.admin).await;
    let csrf = admin.csrf().await;
    let pressed = admin
        .post("/console/apps/sandbox_scim/sync", &[("csrf", &csrf)])
        .await;
    assert_eq!(pressed.status, 303, "{}", pressed.text());
    // Until the worker has run it, the page shows the job in progress (and reloads it).
    let running = admin.get("/console/apps/sandbox_scim/accounts").await.text();
    assert!(
        running.contains("Syncing accounts from Sandbox SCIM app: 0 pages read"),
        "{running}"
    );
    assert!(running.contains(r#"hx-trigger="every 1s""#), "{running}");
    w.local.work().await.unwrap();
    let done = admin.get("/console/apps/sandbox_scim/accounts").await.text();
    assert!(
        done.contains("Synced 2 accounts from Sandbox SCIM app; 0 matched automatically."),
        "{done}"
    );
    assert!(!done.contains("every 1s"), "{done}");

    // The navigation counts the open findings; the report lists them with what to do.
    let report = admin.get("/console/access_report").await;
    assert_eq!(report.status, 200);
    let page = report.text();
    assert!(
        page.contains(r#"aria-label="2 open""#),
        "unmatched and seats: {page}"
    );
    assert!(
        page.contains("Unmatched accounts") && page.contains("Seats"),
        "{page}"
    );
    assert!(page.contains("Match each to its team member"), "{page}");
    let elsewhere = admin.get("/console/events").await.text();
    assert!(elsewhere.contains(r#"aria-label="2 open""#), "{elsewhere}");
}

#[test]
fn the_worker_functions_event_fixtures_are_its_deliveries() {
    use dismissal_cleanup::{Delivery, ReconcileEvent};
    let read = |file: &str| {
        let path = format!(
            "{}/../functions/dismissal-cleanup/events/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str::<Delivery>(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    assert!(matches!(
        read("reconcile.json"),
        Delivery::Reconcile(ReconcileEvent::Reconcile)
    ));
    let Delivery::Jobs(jobs) = read("sync-job.json") else {
        panic!("not the jobs queue's event")
    };
    let message: prov_processes::accounts::JobMessage = serde_json::from_str(&jobs.records[0].body).unwrap();
    assert!(matches!(
        message,
        prov_processes::accounts::JobMessage::Sync { .. }
    ));
    assert!(matches!(read("sweep.json"), Delivery::Cleanup(_)));
    assert!(matches!(read("dismissal-due.json"), Delivery::Cleanup(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_and_a_disconnected_app_are_findings_until_they_are_not() {
    let w = Walk::start().await;
    let co = w.connected_company("owner@example.com", TOKEN).await;
    let period = Duration::hours(1);
    w.local
        .sandbox
        .seed_user(TOKEN, "ada@example.com", "Ada", "Person");
    assert_eq!(w.local.reconcile(period).await.unwrap(), 0);
    w.sync(&co, "sandbox_scim").await;

    // The vendor refuses the credentials: the job fails at once, saying so, and the report
    // asks for a reconnect.
    w.local.sandbox.fail_next(1, 401);
    let sync = co.path("/apps/sandbox_scim/sync");
    assert_eq!(w.send("POST", &sync, Some(&co.admin), None).await.status, 202);
    w.local.work().await.unwrap();
    let job = w.send("GET", &sync, Some(&co.admin), None).await.json();
    assert_eq!(job["state"], "failed", "{job}");
    assert!(
        job["errors"][0]
            .as_str()
            .unwrap()
            .contains("connect the app again"),
        "{job}"
    );
    let found = report(&w, &co).await;
    assert!(
        found["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "needs_reconnect"),
        "{found}"
    );
    // The next sync works again: the finding resolves.
    one_cycle(&w, period).await;
    let found = report(&w, &co).await;
    assert!(
        !found["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "needs_reconnect"),
        "{found}"
    );

    // Disconnected with an account still active: a finding of the scheduled review.
    let gone = w
        .send(
            "DELETE",
            &co.path("/apps/sandbox_scim/connection"),
            Some(&co.admin),
            None,
        )
        .await;
    assert_eq!(gone.status, 200, "{}", gone.text());
    assert_eq!(w.send("POST", &sync, Some(&co.admin), None).await.status, 422);
    w.clock.advance(period + Duration::seconds(1));
    assert_eq!(w.local.reconcile(period).await.unwrap(), 0, "nothing to sync");
    let found = report(&w, &co).await;
    let left = found["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "disconnected_with_accounts")
        .unwrap_or_else(|| panic!("{found}"))
        .clone();
    assert_eq!(left["count"], 1, "{left}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_message_was_lost_is_started_again_after_30_minutes() {
    let w = Walk::start().await;
    let co = w.connected_company("owner@example.com", TOKEN).await;
    let sync = co.path("/apps/sandbox_scim/sync");
    let first = w.send("POST", &sync, Some(&co.admin), None).await.json();
    // The message is lost (as one that went to the dead-letter queue).
    for message in w.local.queue.receive(10, Duration::hours(1)).await.unwrap() {
        w.local.queue.delete(&message.receipt).await.unwrap();
    }
    w.clock.advance(Duration::minutes(29));
    let joined = w.send("POST", &sync, Some(&co.admin), None).await.json();
    assert_eq!(joined["id"], first["id"], "still joined within 30 minutes");
    w.clock.advance(Duration::minutes(2));
    let again = w.send("POST", &sync, Some(&co.admin), None).await.json();
    assert_ne!(again["id"], first["id"]);
    w.local.work().await.unwrap();
    let done = w.send("GET", &sync, Some(&co.admin), None).await.json();
    assert_eq!(
        (done["id"].clone(), done["state"].clone()),
        (again["id"].clone(), json!("succeeded"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_the_service_deleted_is_no_change_outside_the_service() {
    let (w, co, period) = ada_on_an_hourly_schedule().await;
    assert_eq!(
        w.sync(&co, "sandbox_scim").await.json()["changes"]["auto_matched"],
        1
    );
    let ada = account_of(&w, &co, "ada@example.com").await;
    let deleted = crate::flows::act_on(&w, &co, "sandbox_scim", ada["id"].as_str().unwrap(), "delete").await;
    assert_eq!(deleted["status"], "deleted", "{deleted}");
    assert!(w.local.sandbox.user(TOKEN, "ada@example.com").is_none());

    // The next scheduled sync no longer lists her: expected, not news.
    one_cycle(&w, period).await;
    let job = w
        .send("GET", &co.path("/apps/sandbox_scim/sync"), Some(&co.admin), None)
        .await
        .json();
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["changes"]["vanished"], 0, "{job}");
    let report = report(&w, &co).await;
    assert_eq!(report["open"], 0, "{report}");
    assert!(
        !events(&w, &co)
            .await
            .iter()
            .any(|e| e["action"].as_str().unwrap_or_default().contains("outside")
                || e["detail"].as_str().unwrap_or_default().contains("outside")),
        "no change outside the service is logged"
    );
}

/// A listing read whole in one invocation is swept in it with its ids in memory, its last
/// page not checkpointed; when the invocation must stop before the sweep, the job it leaves
/// carries that page's ids, so the next invocation marks vanished only what the vendor no
/// longer had.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_left_between_its_listing_and_its_sweep_marks_only_what_is_gone() {
    let w = Walk::start().await;
    let co = w.connected_company("sweep@example.com", TOKEN).await;
    for i in 0..30 {
        w.local
            .sandbox
            .seed_user(TOKEN, &format!("p{i}@example.com"), &format!("P{i}"), "Person");
    }
    assert_eq!(w.sync(&co, "sandbox_scim").await.json()["changes"]["created"], 30);
    assert!(w.local.sandbox.remove_user(TOKEN, "p7@example.com"));
    // One page per invocation: the listing (one page of 29) ends the first, the sweep waits
    // for the next.
    let sync = co.path("/apps/sandbox_scim/sync");
    assert_eq!(w.send("POST", &sync, Some(&co.admin), None).await.status, 202);
    let one_page = RunLimits {
        budget: std::time::Duration::from_secs(600),
        max_pages: 1,
        lease: Duration::minutes(2),
    };
    w.local.work_with(one_page).await.unwrap();
    let done = w.send("GET", &sync, Some(&co.admin), None).await.json();
    assert_eq!(done["state"], "succeeded", "{done}");
    assert!(done["invocations"].as_u64().unwrap() >= 2, "{done}");
    assert_eq!(done["changes"]["vanished"], 1, "{done}");
    let gone = account_of(&w, &co, "p7@example.com").await;
    assert_eq!(gone["present"], false, "{gone}");
    for i in [0, 6, 8, 29] {
        let kept = account_of(&w, &co, &format!("p{i}@example.com")).await;
        assert_eq!(kept["present"], true, "{kept}");
    }
}

/// The log keeps what happened: a scheduled sync that found nothing changed adds no line
/// (its job record says when it ran), one that found a change is logged, and an admin's
/// sync is logged whatever it found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_sync_that_changes_nothing_adds_nothing_to_the_log() {
    let (w, co, period) = ada_on_an_hourly_schedule().await;
    let synced = |events: Vec<Value>| events.iter().filter(|e| e["action"] == "app.synced").count();
    // The first cycle matches her: logged.
    one_cycle(&w, period).await;
    assert_eq!(synced(events(&w, &co).await), 1);
    // Nothing changed: the job ran and says so, the log is as it was.
    one_cycle(&w, period).await;
    let job = w
        .send("GET", &co.path("/apps/sandbox_scim/sync"), Some(&co.admin), None)
        .await
        .json();
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["trigger"], "scheduled", "{job}");
    assert_eq!(synced(events(&w, &co).await), 1);
    // Suspended at the vendor: the next cycle's sync is logged.
    set_active_at_vendor(&w, TOKEN, "ada@example.com", false).await;
    one_cycle(&w, period).await;
    assert_eq!(synced(events(&w, &co).await), 2);
    // An admin's sync with nothing new is logged all the same.
    assert_eq!(w.sync(&co, "sandbox_scim").await.json()["changes"]["updated"], 0);
    assert_eq!(synced(events(&w, &co).await), 3);
}

/// A connection saved before the `CONNECTIONS` index existed (as every connection of a
/// stack deployed before it was) is not in the index, so no tick would find it: the first
/// tick of the new code gives it its entry, and it is synced on schedule from then on.
async fn a_connection_saved_before_the_index_is_synced_on_schedule(w: Walk) {
    use prov_core::keys::{CONNECTIONS_INDEX, connection_key};
    use prov_core::store::{Item, PageRequest};

    let co = w.connected_company("owner@example.com", TOKEN).await;
    w.local
        .sandbox
        .seed_user(TOKEN, "ada@example.com", "Ada", "Person");
    let store = w.local.services.store.clone();
    let key = connection_key(&co.id, "sandbox_scim");
    let saved = store.get(&key).await.unwrap().unwrap();
    store
        .replace(
            Item {
                index: None,
                ..saved.clone()
            },
            saved.version,
        )
        .await
        .unwrap();
    let indexed = || async {
        store
            .query_index(CONNECTIONS_INDEX, PageRequest::first(10))
            .await
            .unwrap()
            .items
    };
    assert!(indexed().await.is_empty());

    let period = Duration::hours(1);
    let first = prov_processes::reconcile::tick(&w.local.apps, period)
        .await
        .unwrap();
    assert_eq!(first.indexed, 1, "{first:?}");
    let entries = indexed().await;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (&entries[0].key, &entries[0].index),
        (&key, &saved.index),
        "the entry saving it gives"
    );
    one_cycle(&w, period).await;
    assert_eq!(
        account_of(&w, &co, "ada@example.com").await["status"],
        "connected"
    );
    // The migration is over: later ticks index nothing.
    w.clock.advance(Duration::minutes(5));
    let later = prov_processes::reconcile::tick(&w.local.apps, period)
        .await
        .unwrap();
    assert_eq!(later.indexed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_saved_before_the_index_is_synced_on_schedule_on_the_embedded_store() {
    a_connection_saved_before_the_index_is_synced_on_schedule(Walk::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_saved_before_the_index_is_synced_on_schedule_on_dynamodb() {
    a_connection_saved_before_the_index_is_synced_on_schedule(Walk::start_on_dynamodb().await).await;
}

const OKTA_TOKEN: &str = "sandbox-okta-changes";

/// Someone changes a user at Okta itself (its own API, not through the service).
async fn okta_lifecycle(w: &Walk, email: &str, action: &str) {
    let id = w.local.sandbox.user(OKTA_TOKEN, email).unwrap().id;
    let request = axum::http::Request::builder()
        .method("POST")
        .uri(format!("/_sandbox/okta/api/v1/users/{id}/lifecycle/{action}"))
        .header("authorization", format!("SSWS {OKTA_TOKEN}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let answer = prov_testkit::call(&w.app, request).await;
    assert!(answer.status.is_success(), "{}", answer.text());
}

async fn okta_users(w: &Walk, query: &str) -> prov_testkit::Answer {
    let request = axum::http::Request::builder()
        .uri(format!("/_sandbox/okta/api/v1/users?{query}"))
        .header("authorization", format!("SSWS {OKTA_TOKEN}"))
        .body(axum::body::Body::empty())
        .unwrap();
    prov_testkit::call(&w.app, request).await
}

fn filter(expression: &str) -> String {
    format!(
        "filter={}",
        url::form_urlencoded::byte_serialize(expression.as_bytes()).collect::<String>()
    )
}

/// Okta documents `filter=lastUpdated gt "…"` (also `ge`, `lt`, `le`) on the user listing,
/// against current data and in pages; every user carries its `lastUpdated`. The fake
/// answers so, and refuses what it cannot read as Okta does (`E0000031`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_okta_fake_answers_the_last_updated_filter_as_okta_does() {
    let w = Walk::start().await;
    for i in 0..3 {
        w.local
            .sandbox
            .seed_user(OKTA_TOKEN, &format!("old{i}@example.com"), "Old", "User");
    }
    w.clock.advance(Duration::minutes(10));
    for i in 0..3 {
        w.local
            .sandbox
            .seed_user(OKTA_TOKEN, &format!("new{i}@example.com"), "New", "User");
    }
    w.clock.advance(Duration::minutes(10));
    okta_lifecycle(&w, "old1@example.com", "suspend").await;

    let all = okta_users(&w, "limit=200").await.json();
    assert_eq!(all.as_array().unwrap().len(), 6);
    assert_eq!(all[0]["lastUpdated"], "2026-03-01T12:00:00.000Z");
    assert_eq!(all[1]["lastUpdated"], "2026-03-01T12:20:00.000Z");
    assert_eq!(all[3]["lastUpdated"], "2026-03-01T12:10:00.000Z");

    // Changed after 12:05: the three new users and the one suspended, in pages of 2 whose
    // next link repeats the filter.
    let changed = filter("lastUpdated gt \"2026-03-01T12:05:00.000Z\"");
    let first = okta_users(&w, &format!("limit=2&{changed}")).await;
    let emails = |answer: &Value| -> Vec<String> {
        answer
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["profile"]["email"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(emails(&first.json()), ["old1@example.com", "new0@example.com"]);
    let link = first.header("link").unwrap().to_owned();
    let next = link
        .split(',')
        .find(|l| l.contains("rel=\"next\""))
        .and_then(|l| {
            l.trim()
                .strip_prefix(&format!("<{}/api/v1/users?", prov_sandbox::OKTA_ORG))
        })
        .and_then(|l| l.split('>').next())
        .unwrap()
        .to_owned();
    assert!(next.contains("filter=lastUpdated"), "{link}");
    let second = okta_users(&w, &next).await;
    assert_eq!(emails(&second.json()), ["new1@example.com", "new2@example.com"]);
    assert!(second.header("link").is_none_or(|l| !l.contains("rel=\"next\"")));
    // The boundary: `gt` leaves out a user changed at that very time, `ge` keeps them.
    let at = |op: &str| filter(&format!("lastUpdated {op} \"2026-03-01T12:10:00.000Z\""));
    assert_eq!(
        okta_users(&w, &at("gt")).await.json().as_array().unwrap().len(),
        1
    );
    assert_eq!(
        okta_users(&w, &at("ge")).await.json().as_array().unwrap().len(),
        4
    );
    assert_eq!(
        okta_users(&w, &at("lt")).await.json().as_array().unwrap().len(),
        2
    );

    for bad in [
        "lastUpdated gt 2026-03-01",
        "lastUpdated ne \"2026-03-01T12:10:00.000Z\"",
        "created gt \"2026-03-01T12:10:00.000Z\"",
    ] {
        let refused = okta_users(&w, &filter(bad)).await;
        assert_eq!(refused.status, 400, "{bad}");
        assert_eq!(refused.json()["errorCode"], "E0000031", "{bad}");
    }
}

async fn okta_sync_job(w: &Walk, co: &Co) -> Value {
    w.send("GET", &co.path("/apps/okta/sync"), Some(&co.admin), None)
        .await
        .json()
}

async fn okta_account(w: &Walk, co: &Co, email: &str) -> Value {
    let listed = w
        .send(
            "GET",
            &co.path("/apps/okta/accounts?limit=100"),
            Some(&co.admin),
            None,
        )
        .await
        .json();
    let mut cursor = listed["next_cursor"].clone();
    let mut items = listed["items"].as_array().unwrap().clone();
    while let Some(next) = cursor.as_str() {
        let page = w
            .send(
                "GET",
                &co.path(&format!("/apps/okta/accounts?limit=100&cursor={next}")),
                Some(&co.admin),
                None,
            )
            .await
            .json();
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        cursor = page["next_cursor"].clone();
    }
    items
        .into_iter()
        .find(|a| a["email"] == email)
        .unwrap_or_else(|| panic!("no account {email}"))
}

/// Between whole listings, a scheduled sync of Okta lists only what changed at Okta since the
/// last listing began (its `lastUpdated` filter): changes are recorded, nothing is marked
/// vanished. A deletion at Okta shows at the whole listing, which a scheduled sync reads
/// once a day (and every requested sync).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_syncs_of_okta_list_only_its_changes_and_the_whole_listing_once_a_day() {
    let w = Walk::start().await;
    let co = crate::flows::api_key_connected(
        &w,
        "okta-changes@example.com",
        "okta",
        json!({"org_url": prov_sandbox::OKTA_ORG, "api_token": "wrong"}),
        json!({"org_url": prov_sandbox::OKTA_ORG, "api_token": OKTA_TOKEN}),
    )
    .await;
    for i in 0..250 {
        w.local.sandbox.seed_user(
            OKTA_TOKEN,
            &format!("p{i}@example.com"),
            &format!("P{i}"),
            "Person",
        );
    }
    let period = Duration::hours(1);
    assert_eq!(w.local.reconcile(period).await.unwrap(), 0);
    w.clock.advance(Duration::minutes(10));
    let whole = w.sync(&co, "okta").await.json();
    assert_eq!(
        (whole["changes_since"].clone(), whole["accounts_seen"].as_u64()),
        (Value::Null, Some(250)),
        "{whole}"
    );
    let began = whole["started_at"].as_str().unwrap().to_owned();

    // At Okta: one user suspended, one created, one deleted.
    w.clock.advance(Duration::minutes(20));
    okta_lifecycle(&w, "p1@example.com", "suspend").await;
    w.local
        .sandbox
        .seed_user(OKTA_TOKEN, "newcomer@example.com", "New", "Comer");
    assert!(w.local.sandbox.remove_user(OKTA_TOKEN, "p2@example.com"));

    one_cycle(&w, period).await;
    let changes = okta_sync_job(&w, &co).await;
    let since: chrono::DateTime<chrono::Utc> = changes["changes_since"].as_str().unwrap().parse().unwrap();
    let began: chrono::DateTime<chrono::Utc> = began.parse().unwrap();
    assert_eq!(since, began - Duration::minutes(5), "{changes}");
    assert_eq!(
        (
            changes["state"].as_str(),
            changes["trigger"].as_str(),
            changes["pages_read"].as_u64(),
            changes["accounts_seen"].as_u64(),
            changes["changes"]["created"].as_u64(),
            changes["changes"]["vanished"].as_u64()
        ),
        (
            Some("succeeded"),
            Some("scheduled"),
            Some(1),
            Some(2),
            Some(1),
            Some(0)
        ),
        "{changes}"
    );
    assert_eq!(
        okta_account(&w, &co, "p1@example.com").await["status"],
        "suspended"
    );
    assert_eq!(
        okta_account(&w, &co, "newcomer@example.com").await["status"],
        "connected"
    );
    // Deleted at Okta, not yet seen: a listing of changes cannot show it.
    let p2 = okta_account(&w, &co, "p2@example.com").await;
    assert_eq!(
        (&p2["present"], &p2["status"]),
        (&json!(true), &json!("connected"))
    );

    // A day after the last whole listing, the scheduled sync reads it all again.
    w.clock.advance(Duration::hours(23));
    one_cycle(&w, period).await;
    let daily = okta_sync_job(&w, &co).await;
    assert_eq!(
        (
            daily["changes_since"].clone(),
            daily["trigger"].as_str(),
            daily["accounts_seen"].as_u64(),
            daily["changes"]["vanished"].as_u64()
        ),
        (Value::Null, Some("scheduled"), Some(250), Some(1)),
        "{daily}"
    );
    assert_eq!(okta_account(&w, &co, "p2@example.com").await["present"], false);

    // The next hour lists changes again; a requested sync always reads everything.
    one_cycle(&w, period).await;
    assert!(okta_sync_job(&w, &co).await["changes_since"].is_string());
    let requested = w.sync(&co, "okta").await.json();
    assert_eq!(requested["changes_since"], Value::Null, "{requested}");
    assert_eq!(requested["accounts_seen"], 250);
}
