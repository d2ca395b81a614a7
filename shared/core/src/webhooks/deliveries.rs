//! The worker's side of webhooks: an event in a company's outbox becomes one delivery per
//! endpoint of the partner that listens for it (in one transaction with the event's removal
//! from the outbox); each delivery is POSTed, signed, and retried with exponential backoff
//! for 24 hours after the event, every attempt recorded where the partner reads it. A
//! receiver's answer, whatever it is, is only recorded. The sweep hands on what is due and
//! whose message was lost (or that waits longer than a queue's delay allows).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::audit::Actor;
use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::keys::{
    WEBHOOK_DELIVERIES, WEBHOOKS_DUE, company_key, webhook_deliveries_partition, webhook_delivery_key,
};
use crate::listing::{ListQuery, Listing};
use crate::queue::MAX_DELAY_SECONDS;
use crate::secret::new_ordered_id;
use crate::store::{Item, PageRequest, StoreError, WriteOp};
use secrecy::ExposeSecret;

use super::endpoints::{StoredEndpoint, endpoint_of, propagate, propagation_message, stored_endpoints};
use super::events::{Event, Outgoing, WebhookMessage, due_at};
use super::sender::{Answered, Hooks};
use super::signature::{SIGNATURE_HEADER, header};

/// Deliveries are retried until this long after their event.
pub const RETRY_HOURS: i64 = 24;
/// The longest wait between two attempts.
const MAX_BACKOFF_MINUTES: i64 = 240;
/// How long an attempt is its worker's (longer than a POST may take).
const LEASE_SECONDS: i64 = 120;
/// Deliveries are kept (and listed) this long.
const KEPT_DAYS: i64 = 30;
/// What is due for longer than this without its message having been run is handed on
/// again by the sweep.
const SWEEP_GRACE_SECONDS: i64 = 120;
/// Index entries one sweep hands on at most.
const SWEEP_MAX: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not delivered yet; `next_attempt_at` says when it is tried (again).
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Given up: 24 hours of retries passed, or the endpoint was deleted.
    Failed,
}

/// One POST of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryAttempt {
    pub at: DateTime<Utc>,
    /// The endpoint's HTTP status; `null` when no answer came.
    pub status: Option<u16>,
    /// Why the attempt failed: no answer, or a status other than 2xx.
    pub error: Option<String>,
    /// The start of the endpoint's answer (at most 1 KiB, as text).
    pub response: Option<String>,
}

/// One event's delivery to one endpoint, as the partner reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    /// `dlv_…`
    pub id: String,
    pub endpoint_id: String,
    pub state: DeliveryState,
    /// The event, as POSTed (the body of every attempt).
    pub event: Event,
    /// Every attempt so far, oldest first.
    pub attempts: Vec<DeliveryAttempt>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A delivery as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredDelivery {
    #[serde(flatten)]
    delivery: Delivery,
    partner_id: String,
    /// Until when the worker attempting it has it.
    #[serde(default)]
    lease_until: Option<DateTime<Utc>>,
}

impl StoredDelivery {
    fn item(&self) -> Result<Item> {
        let d = &self.delivery;
        let item = Item::from_record(webhook_delivery_key(&d.endpoint_id, &d.id), self)?
            .with_expiry((d.created_at + Duration::days(KEPT_DAYS)).timestamp());
        // In the sweep's index while there is something to do: at the lease's end while an
        // attempt runs (a worker that died is taken over), else at the next attempt.
        let at = match (d.state, self.lease_until, d.next_attempt_at) {
            (DeliveryState::Pending, Some(lease), _) => Some(lease),
            (DeliveryState::Pending, None, next) => next,
            _ => None,
        };
        Ok(match at {
            Some(at) => item.with_index(WEBHOOKS_DUE, due_at(at, &format!("D#{}#{}", d.endpoint_id, d.id))),
            None => item,
        })
    }
}

/// The wait after `failed` failed attempts: 1 minute, doubling, at most 4 hours.
pub fn backoff(failed: usize) -> Duration {
    let doublings = failed.saturating_sub(1).min(16) as u32;
    Duration::minutes((1i64 << doublings).min(MAX_BACKOFF_MINUTES))
}

/// Runs one webhook message of the worker's queue.
pub async fn handle(hooks: &Hooks<'_>, body: &Value) -> Result<()> {
    let message: WebhookMessage = serde_json::from_value(body.clone())
        .map_err(|e| Error::Internal(format!("a queued message is not a webhook's: {e}")))?;
    match message {
        WebhookMessage::WebhookEvent { company_id, event_id } => fan_out(hooks, &company_id, &event_id).await,
        WebhookMessage::WebhookDelivery {
            endpoint_id,
            delivery_id,
        } => attempt(hooks, &endpoint_id, &delivery_id).await,
        WebhookMessage::WebhookListening {
            partner_id,
            cursor,
            pass,
            generation,
        } => propagate(hooks, &partner_id, cursor, pass, generation).await,
    }
}

/// Turns an outbox event into its deliveries (one per endpoint that listens for it and
/// existed when it happened), then attempts each. Safe to run twice: the event leaves the
/// outbox in the transaction that writes its deliveries.
async fn fan_out(hooks: &Hooks<'_>, company_id: &str, event_id: &str) -> Result<()> {
    let svc = hooks.svc;
    let store = svc.store.as_ref();
    let key = crate::keys::webhook_event_key(company_id, event_id);
    let Some(item) = store.get(&key).await? else {
        return Ok(()); // already handed on
    };
    let Outgoing { event } = item.record()?;
    let partner_id = match store.get(&company_key(company_id)).await? {
        Some(company) => company
            .data
            .get("partner_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        None => String::new(),
    };
    let now = svc.clock.now();
    let endpoints: Vec<StoredEndpoint> = if partner_id.is_empty() {
        Vec::new()
    } else {
        stored_endpoints(store, &partner_id)
            .await?
            .into_iter()
            .map(|(_, e)| e)
            .filter(|e| e.events.contains(&event.kind) && e.created_at <= event.created_at)
            .collect()
    };
    let deliveries: Vec<StoredDelivery> = endpoints
        .iter()
        .map(|e| StoredDelivery {
            delivery: Delivery {
                id: new_ordered_id("dlv"),
                endpoint_id: e.id.clone(),
                state: DeliveryState::Pending,
                event: event.clone(),
                attempts: Vec::new(),
                next_attempt_at: Some(now),
                created_at: now,
            },
            partner_id: partner_id.clone(),
            lease_until: None,
        })
        .collect();
    let mut ops = deliveries
        .iter()
        .map(|d| Ok(WriteOp::Create(d.item()?)))
        .collect::<Result<Vec<_>>>()?;
    ops.push(WriteOp::Delete {
        key,
        expected_version: Some(item.version),
    });
    match store.transact(ops).await {
        Ok(()) => {}
        Err(StoreError::TransactionCancelled { .. }) => return Ok(()), // another worker did
        Err(e) => return Err(e.into()),
    }
    for d in &deliveries {
        let delivery = &d.delivery;
        if let Err(e) = attempt(hooks, &delivery.endpoint_id, &delivery.id).await {
            tracing::warn!(error = %e, delivery = delivery.id, "a webhook attempt failed to run; the sweep retries it");
        }
    }
    Ok(())
}

/// Attempts a delivery whose time has come; records the attempt and what follows it.
async fn attempt(hooks: &Hooks<'_>, endpoint_id: &str, delivery_id: &str) -> Result<()> {
    let svc = hooks.svc;
    let store = svc.store.as_ref();
    let key = webhook_delivery_key(endpoint_id, delivery_id);
    let Some(item) = store.get(&key).await? else {
        return Ok(());
    };
    let mut stored: StoredDelivery = item.record()?;
    let now = svc.clock.now();
    let d = &stored.delivery;
    if d.state != DeliveryState::Pending
        || d.next_attempt_at.is_some_and(|at| at > now)
        || stored.lease_until.is_some_and(|until| until > now)
    {
        return Ok(()); // done, not yet due, or another worker's
    }
    let endpoint = match endpoint_of(store, &stored.partner_id, endpoint_id).await {
        Ok((_, endpoint)) => endpoint,
        Err(Error::Refused(_)) => {
            return settle(hooks, &mut stored, item.version, None, "the endpoint was deleted").await;
        }
        Err(e) => return Err(e),
    };
    let Some(secret) = hooks.secrets.get(&endpoint.secret_name()).await? else {
        return settle(
            hooks,
            &mut stored,
            item.version,
            None,
            "the endpoint's secret is missing",
        )
        .await;
    };
    // Claimed first: of two workers with the same message, one POSTs.
    stored.lease_until = Some(now + Duration::seconds(LEASE_SECONDS));
    let version = match store.replace(stored.item()?, item.version).await {
        Ok(v) => v,
        Err(StoreError::ConditionFailed) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let event = &stored.delivery.event;
    let body = serde_json::to_string(event).map_err(|e| Error::Internal(e.to_string()))?;
    let headers = [
        ("content-type", "application/json".to_owned()),
        (
            SIGNATURE_HEADER,
            header(secret.expose_secret(), now.timestamp(), &body),
        ),
        ("webhook-id", event.id.clone()),
        ("webhook-event", event.kind.as_str().to_owned()),
    ];
    let answered = hooks.sender.post(&endpoint.url, &headers, &body).await;
    record(hooks, &mut stored, version, now, answered).await
}

/// Records an attempt: delivered on a 2xx; otherwise the next attempt after the backoff,
/// or failed once 24 hours have passed since the event.
async fn record(
    hooks: &Hooks<'_>,
    stored: &mut StoredDelivery,
    version: u64,
    at: DateTime<Utc>,
    answered: Answered,
) -> Result<()> {
    let delivered = answered.status.is_some_and(|s| (200..300).contains(&s));
    let error = match (&answered.error, answered.status) {
        (Some(e), _) => Some(e.clone()),
        (None, Some(status)) if !delivered => Some(format!("the endpoint answered {status}")),
        _ => None,
    };
    let d = &mut stored.delivery;
    d.attempts.push(DeliveryAttempt {
        at,
        status: answered.status,
        error,
        response: answered.response,
    });
    stored.lease_until = None;
    let now = hooks.svc.clock.now();
    let deadline = d.event.created_at + Duration::hours(RETRY_HOURS);
    let mut retry_in = None;
    if delivered {
        d.state = DeliveryState::Delivered;
        d.next_attempt_at = None;
    } else if now >= deadline {
        d.state = DeliveryState::Failed;
        d.next_attempt_at = None;
    } else {
        let next = (now + backoff(d.attempts.len())).min(deadline);
        d.next_attempt_at = Some(next);
        retry_in = Some(next - now);
    }
    let (endpoint_id, delivery_id) = (d.endpoint_id.clone(), d.id.clone());
    tracing::info!(
        delivery = delivery_id,
        endpoint = endpoint_id,
        event = d.event.id,
        status = ?d.attempts.last().and_then(|a| a.status),
        state = ?d.state,
        attempts = d.attempts.len(),
        "webhook attempt"
    );
    match hooks.svc.store.replace(stored.item()?, version).await {
        Ok(_) => {}
        // Only the lease holder writes; a write lost here leaves the lease to run out.
        Err(StoreError::ConditionFailed) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    // Within a queue's longest delay, a message brings the retry; a longer wait is the
    // sweep's to hand on when it is due.
    if let Some(wait) = retry_in.filter(|w| *w <= Duration::seconds(MAX_DELAY_SECONDS)) {
        let message = WebhookMessage::WebhookDelivery {
            endpoint_id,
            delivery_id,
        };
        if let Err(e) = message.send(hooks.svc.queue.as_ref(), wait).await {
            tracing::warn!(error = %e, "a webhook retry was not queued; the sweep hands it on");
        }
    }
    Ok(())
}

/// Ends a delivery without an attempt (its endpoint or secret is gone).
async fn settle(
    hooks: &Hooks<'_>,
    stored: &mut StoredDelivery,
    version: u64,
    status: Option<u16>,
    why: &str,
) -> Result<()> {
    let now = hooks.svc.clock.now();
    let d = &mut stored.delivery;
    d.attempts.push(DeliveryAttempt {
        at: now,
        status,
        error: Some(why.to_owned()),
        response: None,
    });
    d.state = DeliveryState::Failed;
    d.next_attempt_at = None;
    stored.lease_until = None;
    match hooks.svc.store.replace(stored.item()?, version).await {
        Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Hands on the webhook work whose time has come and whose message did not run: outbox
/// events, deliveries due (or whose worker died), partners whose companies must learn what
/// they listen for. Runs with the worker's periodic ticks; answers how many it handed on.
pub async fn sweep(hooks: &Hooks<'_>) -> Result<usize> {
    let svc = hooks.svc;
    let cutoff = due_at(svc.clock.now() - Duration::seconds(SWEEP_GRACE_SECONDS), "");
    let cutoff = cutoff.trim_end_matches('#');
    let mut handed = 0;
    let mut cursor = None;
    loop {
        let page = svc
            .store
            .query_index(WEBHOOKS_DUE, PageRequest::first(100).after(cursor))
            .await?;
        for item in &page.items {
            let due = item.index.as_ref().map(|i| i.sk.as_str()).unwrap_or_default();
            if due.split('#').next().unwrap_or_default() > cutoff || handed >= SWEEP_MAX {
                return Ok(handed); // the index is in time order
            }
            let message = if let Some(event_id) = item.key.sk.strip_prefix("HOOKEVENT#") {
                Some(WebhookMessage::WebhookEvent {
                    company_id: item.key.pk.trim_start_matches("COMPANY#").to_owned(),
                    event_id: event_id.to_owned(),
                })
            } else if let Some(delivery_id) = item.key.sk.strip_prefix(WEBHOOK_DELIVERIES) {
                Some(WebhookMessage::WebhookDelivery {
                    endpoint_id: item.key.pk.trim_start_matches("HOOKDLV#").to_owned(),
                    delivery_id: delivery_id.to_owned(),
                })
            } else {
                propagation_message(item)
            };
            let Some(message) = message else { continue };
            message.send(svc.queue.as_ref(), Duration::zero()).await?;
            handed += 1;
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(handed),
        }
    }
}

/// An endpoint's deliveries, newest first.
pub async fn deliveries(
    hooks: &Hooks<'_>,
    actor: &Actor,
    endpoint_id: &str,
    query: &ListQuery,
) -> Result<Listing<Delivery>> {
    let Principal::Partner { partner_id } = &actor.principal else {
        return Err(Error::forbidden(
            "authorization",
            "Only a partner token can manage webhook endpoints.",
        ));
    };
    let store = hooks.svc.store.as_ref();
    endpoint_of(store, partner_id, endpoint_id).await?;
    let page = store
        .query(
            &webhook_deliveries_partition(endpoint_id),
            WEBHOOK_DELIVERIES,
            query.page_request()?.descending(),
        )
        .await?;
    Ok(Listing::<StoredDelivery>::from_page(page)?.map(|s| s.delivery))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_four_hours_and_fit_in_a_day() {
        let waits: Vec<i64> = (1..=12).map(|n| backoff(n).num_minutes()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 240, 240, 240, 240]);
        assert_eq!(backoff(100).num_minutes(), 240);
        // Within 24 hours: 8 quick retries (255 minutes), then every 4 hours until the day
        // is out; about fourteen attempts in all.
        let mut at = 0;
        let mut attempts = 1;
        while at + backoff(attempts).num_minutes() < RETRY_HOURS * 60 {
            at += backoff(attempts).num_minutes();
            attempts += 1;
        }
        assert_eq!(attempts, 13);
    }
}
