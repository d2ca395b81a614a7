//! What the worker runs (the worker function in AWS, the devserver's in-process worker): a
//! message of the jobs queue, a sync job's or a webhook's, and what its periodic ticks run
//! besides the reconciliation: the webhook sweep and the admins' daily digests.

use prov_core::error::Result;
use prov_core::webhooks::{self, WebhookMessage};
use serde_json::Value;

use crate::accounts::{self, RunLimits, RunOutcome};
use crate::connections::Apps;

/// What one message came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ran {
    Job(RunOutcome),
    Webhook,
}

/// Runs one message of the jobs queue. An error leaves it to come back (and, past the
/// queue's redrive count, to its dead letters).
pub async fn run_message(apps: &Apps, body: &Value, limits: RunLimits) -> Result<Ran> {
    if WebhookMessage::is_one(body) {
        webhooks::handle(&apps.hooks(), body).await?;
        return Ok(Ran::Webhook);
    }
    Ok(Ran::Job(accounts::deliver(apps, body, limits).await?))
}

/// Hands on the webhook work that is due and whose message was lost (or that waits longer
/// than a message can be delayed). Answers how many it handed on.
pub async fn sweep_webhooks(apps: &Apps) -> Result<usize> {
    webhooks::sweep(&apps.hooks()).await
}

/// Sends the admins' daily digests that are due. Answers how many companies' were sent.
pub async fn send_digests(apps: &Apps) -> Result<usize> {
    crate::reconcile::digest::send_due(apps).await
}
