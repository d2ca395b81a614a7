//! The worker function. Three kinds of delivery:
//! - SQS messages of the jobs queue (its event source mapping): background syncs, each
//!   message run within the invocation's time (a big sync continues in a follow-up message),
//!   and partner webhook work (an event's deliveries, a retry, a partner's companies told
//!   what its endpoints listen for);
//! - `{"kind": "reconcile"}` from a rate schedule: hands on webhook work whose message was
//!   lost, sends the admins' daily digests that are due, then starts the syncs of every
//!   connected app whose moment in the sync period came;
//! - the dismissal cleanup: EventBridge Scheduler delivers `DismissalDue` when a dismissed
//!   person's access must end, a rate schedule delivers `Sweep`. Both run the same
//!   idempotent, resumable cleanup the devserver's local scheduler fires.

use std::time::Duration;

use lambda_runtime::{Error, LambdaEvent};
use prov_processes::Apps;
use prov_processes::accounts::RunLimits;
use prov_processes::dismissal::{self, CleanupEvent};
use prov_processes::{reconcile, worker};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One delivery to the function.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Delivery {
    Jobs(SqsEvent),
    Reconcile(ReconcileEvent),
    Cleanup(CleanupEvent),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReconcileEvent {
    Reconcile,
}

/// The part of an SQS event source mapping's event the worker reads.
#[derive(Debug, Clone, Deserialize)]
pub struct SqsEvent {
    #[serde(rename = "Records")]
    pub records: Vec<SqsRecord>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SqsRecord {
    #[serde(rename = "messageId")]
    pub message_id: String,
    pub body: String,
}

/// The messages that failed, for the mapping's `ReportBatchItemFailures`: they come back
/// after the queue's visibility timeout (and go to the dead-letter queue past its redrive
/// count); the others are deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub failures: Vec<ItemFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub id: String,
}

/// How the worker runs.
#[derive(Debug, Clone, Copy)]
pub struct Worker {
    /// How often every connected app is synced.
    pub sync_every: chrono::Duration,
    pub limits: RunLimits,
}

/// How long before the invocation's deadline a job stops starting pages.
const DEADLINE_MARGIN: Duration = Duration::from_secs(30);

/// Handles one delivery. A cleanup's failure is returned to Lambda, so the scheduler retries
/// it (and, past its retries, sends it to the dead-letter queue); the sweep also picks it up.
pub async fn handle(apps: &Apps, worker: Worker, event: LambdaEvent<Delivery>) -> Result<Value, Error> {
    let request_id = event.context.request_id.clone();
    match event.payload {
        Delivery::Jobs(jobs) => {
            // Never past the invocation's own deadline, whatever the configured budget.
            let left = event
                .context
                .deadline()
                .duration_since(std::time::SystemTime::now())
                .unwrap_or_default()
                .saturating_sub(DEADLINE_MARGIN);
            let limits = RunLimits {
                budget: worker.limits.budget.min(left),
                ..worker.limits
            };
            Ok(serde_json::to_value(run_jobs(apps, limits, &jobs).await)?)
        }
        Delivery::Reconcile(ReconcileEvent::Reconcile) => {
            // Webhook work whose message was lost (or that waits longer than a message can
            // be delayed) is handed on first: it does not wait for the syncs' start.
            let webhooks = worker::sweep_webhooks(apps).await.unwrap_or_else(|e| {
                tracing::error!(request_id, error = %e, "webhook sweep failed; the next tick tries again");
                0
            });
            let digests = worker::send_digests(apps).await.unwrap_or_else(|e| {
                tracing::error!(request_id, error = %e, "digests not sent; the next tick tries again");
                0
            });
            let report = reconcile::tick(apps, worker.sync_every).await.map_err(|e| {
                tracing::error!(request_id, error = %e, "reconciliation tick failed");
                Error::from(e.to_string())
            })?;
            tracing::info!(request_id, ?report, webhooks, digests, "reconciliation tick");
            Ok(json!(report))
        }
        Delivery::Cleanup(payload) => {
            tracing::info!(request_id, ?payload, "cleanup delivery");
            dismissal::handle(apps, payload).await.map_err(|e| {
                tracing::error!(request_id, error = %e, "cleanup failed");
                Error::from(e.to_string())
            })
        }
    }
}

/// Runs each message; answers those that failed.
pub async fn run_jobs(apps: &Apps, limits: RunLimits, jobs: &SqsEvent) -> BatchResponse {
    let mut response = BatchResponse::default();
    for record in &jobs.records {
        let outcome = match serde_json::from_str::<Value>(&record.body) {
            Ok(body) => worker::run_message(apps, &body, limits)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(format!("the message is not JSON: {e}")),
        };
        match outcome {
            Ok(outcome) => tracing::info!(message = record.message_id, ?outcome, "job message done"),
            Err(e) => {
                tracing::error!(message = record.message_id, error = %e, "job message failed; it comes back");
                response.failures.push(ItemFailure {
                    id: record.message_id.clone(),
                });
            }
        }
    }
    response
}
