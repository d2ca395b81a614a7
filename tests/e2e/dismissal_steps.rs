//! A dismissal's layout in the store (issue 27): each step in its own item once a run claims
//! it, the record written when the plan is made and when a run settles; records written
//! with every step inline are read and finished the same way.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use prov_core::keys::{breaker_key, dismissal_key, dismissal_steps_prefix};
use prov_core::store::{Item, ItemStore, Key, Page, PageRequest, StoreError, WriteOp};
use prov_processes::dismissal;
use serde_json::{Value, json};

use crate::dismissal::{TOKEN, at, dismiss, setup, task, vendor_has};
use crate::support::Walk;

/// The items of one plan of a dismissal's steps.
async fn step_items(w: &Walk, company_id: &str, tm: &str, plan: u32) -> Vec<Item> {
    w.local
        .services
        .store
        .query(
            &format!("COMPANY#{company_id}"),
            &dismissal_steps_prefix(tm, plan),
            PageRequest::first(100),
        )
        .await
        .unwrap()
        .items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removal_writes_its_steps_item_and_not_the_dismissals_record() {
    let w = Walk::start().await;
    let (co, ids) = setup(&w, &["bob"]).await;
    let bob = &ids[0];
    dismiss(&w, &co, bob, json!({"last_day": "2026-03-02"})).await;
    w.clock.set(at("2026-03-03T09:00:00Z"));
    w.local.tick().await.unwrap();
    assert!(!vendor_has(&w, "bob"));

    // The record was written three times: dismissed, planned, settled; the claim and the
    // result went to the step's own item.
    let record = w
        .local
        .services
        .store
        .get(&dismissal_key(&co.id, bob))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.version, 3, "{:?}", record.data);
    assert_eq!(record.data["state"], "done");
    assert_eq!(
        record.data["steps"][0]["state"]["state"], "pending",
        "kept as planned"
    );
    let steps = step_items(&w, &co.id, bob, 1).await;
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].version, 2, "claimed, then its result");
    assert_eq!(steps[0].data["state"]["state"], "done");
    assert!(
        steps[0].data["state"]["verified"].is_string(),
        "{:?}",
        steps[0].data
    );
    // The task reads the step from its item.
    let done = task(&w, &co, bob).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["accounts"][0]["state"], "done", "{done}");
    assert!(
        done["accounts"][0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("verified: ")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_with_every_step_inline_is_finished_from_where_it_stood() {
    let w = Walk::start().await;
    let (co, ids) = setup(&w, &["bob"]).await;
    let bob = &ids[0];
    dismiss(&w, &co, bob, json!({"last_day": "2026-03-02"})).await;
    w.clock.set(at("2026-03-03T08:00:00Z"));
    // A record as runs wrote it before steps had items (no plan number, no reserved
    // completion): Bob's removal still pending, another app's account skipped at planning.
    let store = &w.local.services.store;
    let key = dismissal_key(&co.id, bob);
    let item = store.get(&key).await.unwrap().unwrap();
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
    let mut record = Value::Object(item.data.clone());
    record.as_object_mut().unwrap().remove("plan");
    record["state"] = json!("running");
    record["next_run_at"] = json!("2026-03-03T08:00:00Z");
    record["steps"] = json!([
        {"app": "sandbox_scim", "account_id": account, "email": "bob@example.com", "removal": "delete",
         "state": {"state": "pending"}, "attempts": 0},
        {"app": "slack", "account_id": "elsewhere", "email": "bob@example.com", "removal": "delete",
         "state": {"state": "skipped", "reason": "Slack is not connected: remove the account in the app itself."},
         "attempts": 0}
    ]);
    let old = Item::from_record(key.clone(), &record)
        .unwrap()
        .with_index("DISMISSALS", format!("20260303T080000.000000Z#{}#{bob}", co.id));
    store.replace(old, item.version).await.unwrap();

    // The sweep finds it and finishes it: the pending removal done once, the skipped step
    // left as it was.
    assert_eq!(dismissal::sweep(&w.local.apps).await.unwrap(), 1);
    assert!(!vendor_has(&w, "bob"));
    assert_eq!(w.local.sandbox.changes("DELETE"), 1);
    let done = task(&w, &co, bob).await;
    assert_eq!(done["status"], "completed", "{done}");
    let states: Vec<&str> = done["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["done", "skipped"]);
    // Its steps' items belong to the plan it had (none: 0), the one claimed only.
    let steps = step_items(&w, &co.id, bob, 0).await;
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].data["app"], "sandbox_scim");
    // Completed once in the log, and nothing more to do.
    let events = w
        .send("GET", &co.path("/events?limit=10"), Some(&co.admin), None)
        .await
        .json();
    let completed = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "dismissal.completed")
        .count();
    assert_eq!(completed, 1, "{events}");
    assert_eq!(dismissal::sweep(&w.local.apps).await.unwrap(), 0);
    assert!(
        w.local
            .sandbox
            .emails(TOKEN)
            .contains(&"stranger@example.com".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_plan_of_a_two_step_offboarding_has_its_own_steps() {
    let w = Walk::start().await;
    let (co, ids) = setup(&w, &["bob"]).await;
    let bob = &ids[0];
    // The last day has passed: suspended now (the first plan), deleted 30 days later.
    let first = dismiss(
        &w,
        &co,
        bob,
        json!({"last_day": "2026-02-27", "two_step_days": 30}),
    )
    .await;
    assert_eq!(first["phase"], "delete_suspended", "{first}");
    // The second step is a plan of its own, not yet made: the first's items are gone and
    // the task shows what the second will do.
    let record = w
        .local
        .services
        .store
        .get(&dismissal_key(&co.id, bob))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.data["plan"], 2);
    assert!(step_items(&w, &co.id, bob, 1).await.is_empty());
    assert_eq!(first["accounts"][0]["action"], "delete", "{first}");
    assert_eq!(first["accounts"][0]["state"], "pending", "{first}");

    w.clock.set(at("2026-03-31T08:00:00Z"));
    w.local.tick().await.unwrap();
    assert!(!vendor_has(&w, "bob"));
    let steps = step_items(&w, &co.id, bob, 2).await;
    assert_eq!(steps.len(), 1);
    assert_eq!(
        (
            steps[0].data["removal"].as_str(),
            steps[0].data["state"]["state"].as_str()
        ),
        (Some("delete"), Some("done"))
    );
    let done = task(&w, &co, bob).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["accounts"][0]["action"], "delete", "{done}");
}

/// The store as it is, except that right after the first claim of a step lands, the
/// dismissal is cancelled (what a rehire's `stop` writes), before the run calls the vendor.
struct CancelledAfterTheClaim {
    inner: Arc<dyn ItemStore>,
    dismissal: Key,
    cancelled: AtomicBool,
}

#[async_trait]
impl ItemStore for CancelledAfterTheClaim {
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
        let claim = ops.iter().any(|op| op.key().sk.starts_with("DISMISSALSTEP#"));
        self.inner.transact(ops).await?;
        if claim && !self.cancelled.swap(true, Ordering::SeqCst) {
            let stored = self.inner.get(&self.dismissal).await?.unwrap();
            let mut record = Value::Object(stored.data.clone());
            record["state"] = json!("cancelled");
            record["next_run_at"] = Value::Null;
            let cancelled = Item::from_record(self.dismissal.clone(), &record).unwrap();
            self.inner.replace(cancelled, stored.version).await?;
        }
        Ok(())
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
async fn a_second_step_cancelled_after_its_claim_landed_deletes_nothing() {
    let w = Walk::start().await;
    let (co, ids) = setup(&w, &["bob"]).await;
    let bob = &ids[0];
    // Suspended now; the deletion comes 30 days later, and a rehire may cancel it until it
    // is over. A claim writes only the step's item: the run reads the dismissal again.
    dismiss(
        &w,
        &co,
        bob,
        json!({"last_day": "2026-02-27", "two_step_days": 30}),
    )
    .await;
    w.clock.set(at("2026-03-31T08:00:00Z"));
    let mut local = w.local.clone();
    local.services.store = Arc::new(CancelledAfterTheClaim {
        inner: w.local.services.store.clone(),
        dismissal: dismissal_key(&co.id, bob),
        cancelled: AtomicBool::new(false),
    });
    local.apps.services = local.services.clone();
    let ran = dismissal::run(&local.apps, &co.id, bob).await.unwrap();
    assert_eq!((ran.removed, ran.failed), (0, 0), "{ran:?}");

    let at_vendor = w.local.sandbox.user(TOKEN, "bob@example.com").unwrap();
    assert!(!at_vendor.active, "still there, suspended: {at_vendor:?}");
    let task = task(&w, &co, bob).await;
    assert_eq!(task["status"], "cancelled", "{task}");
    assert_eq!(
        task["accounts"][0]["state"], "pending",
        "the claim given back: {task}"
    );
    // The deletion's count in the safeguard taken back (the suspension's, a month ago, has
    // aged out): nothing counts.
    let breaker = w
        .local
        .services
        .store
        .get(&breaker_key(&co.id, "sandbox_scim"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(crate::support::removals_counted(&breaker.data), 0);
}
