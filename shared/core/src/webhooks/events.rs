//! The events partners hear of, what a company's partner listens for, and the outbox: an
//! event is written in the same store transaction as the change that causes it, so none is
//! lost and none is sent for a change that did not happen. The worker delivers it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::error::Result;
use crate::keys::{WEBHOOKS_DUE, company_key, webhook_event_key};
use crate::queue::JobQueue;
use crate::store::{Item, ItemStore, WriteOp};

/// What happened, as partners name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub enum EventType {
    /// The company's primary admin claimed the account (the company is in use).
    #[serde(rename = "company.claimed")]
    CompanyClaimed,
    /// The service created an app account for a team member (an invitation, where the app
    /// invites).
    #[serde(rename = "account.created")]
    AccountCreated,
    /// A team member accepted an app's invitation ("Invite Sent" became "Connected").
    #[serde(rename = "account.connected")]
    AccountConnected,
    /// The service suspended an app account (an admin, or a dismissal).
    #[serde(rename = "account.suspended")]
    AccountSuspended,
    /// The service removed an app account (an admin, "remove all", or a dismissal).
    #[serde(rename = "account.removed")]
    AccountRemoved,
    /// A dismissed team member's app access is removed, every account of it.
    #[serde(rename = "dismissal.completed")]
    DismissalCompleted,
    /// A dismissal's removals failed or were paused: an admin must look.
    #[serde(rename = "offboarding.needs_attention")]
    OffboardingNeedsAttention,
    /// An app refused the connection's credentials: it must be connected again.
    #[serde(rename = "connection.needs_reauth")]
    ConnectionNeedsReauth,
    /// The access report has a new finding.
    #[serde(rename = "access_report.finding_opened")]
    FindingOpened,
}

impl EventType {
    pub const ALL: [EventType; 9] = [
        EventType::CompanyClaimed,
        EventType::AccountCreated,
        EventType::AccountConnected,
        EventType::AccountSuspended,
        EventType::AccountRemoved,
        EventType::DismissalCompleted,
        EventType::OffboardingNeedsAttention,
        EventType::ConnectionNeedsReauth,
        EventType::FindingOpened,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::CompanyClaimed => "company.claimed",
            EventType::AccountCreated => "account.created",
            EventType::AccountConnected => "account.connected",
            EventType::AccountSuspended => "account.suspended",
            EventType::AccountRemoved => "account.removed",
            EventType::DismissalCompleted => "dismissal.completed",
            EventType::OffboardingNeedsAttention => "offboarding.needs_attention",
            EventType::ConnectionNeedsReauth => "connection.needs_reauth",
            EventType::FindingOpened => "access_report.finding_opened",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// The event types a company's partner listens for (any of its endpoints), as the records a
/// change reads anyway carry them: the company record, and a dismissal's. Empty for most
/// companies, whose changes then write nothing more.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Listening(Vec<EventType>);

/// The data attribute that carries a `Listening` on the records that hold one.
pub const LISTENING: &str = "webhooks";

impl Listening {
    pub fn new(mut events: Vec<EventType>) -> Self {
        events.sort();
        events.dedup();
        Self(events)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn wants(&self, kind: EventType) -> bool {
        self.0.contains(&kind)
    }

    pub fn events(&self) -> &[EventType] {
        &self.0
    }

    /// What a stored record carries (nothing: no one listens).
    pub fn of_item(item: &Item) -> Self {
        item.data
            .get(LISTENING)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .map(Self::new)
            .unwrap_or_default()
    }

    /// Puts this on a record about to be written (or takes it off, when empty).
    pub fn put_on(&self, item: &mut Item) {
        if self.is_empty() {
            item.data.remove(LISTENING);
        } else {
            item.data.insert(LISTENING.to_owned(), json!(self.0));
        }
    }

    /// What a company's partner listens for, read from the company record (for work that
    /// has not read it: the worker's).
    pub async fn of_company(store: &dyn ItemStore, company_id: &str) -> Result<Self> {
        Ok(store
            .get(&company_key(company_id))
            .await?
            .map(|item| Self::of_item(&item))
            .unwrap_or_default())
    }
}

/// One event, as delivered: the body of every delivery of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// `evt_…`, the same in every delivery and retry of the event (receivers deduplicate on
    /// it: a delivery may arrive more than once).
    pub id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    /// When the change happened.
    pub created_at: DateTime<Utc>,
    pub company_id: String,
    /// What changed; its shape depends on `type` (see the README).
    pub data: Value,
}

/// An event written to the outbox, waiting for the worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Outgoing {
    pub(crate) event: Event,
}

/// An event that a change's transaction wrote: after the change commits, hand it on with
/// `nudge`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    company_id: String,
    event_id: String,
}

/// The index time of a record in `WEBHOOKS_DUE`.
pub(crate) fn due_at(at: DateTime<Utc>, what: &str) -> String {
    format!("{}#{what}", at.format("%Y%m%dT%H%M%S%.6fZ"))
}

/// The write that puts an event in the company's outbox, for the transaction of the change
/// that causes it; `None` when the company's partner does not listen for `kind` (then the
/// change is written as it always was). `id` is the event's (a change that may be written
/// again after a crash reserves it first, like its audit event).
pub fn outbox(
    listening: &Listening,
    company_id: &str,
    kind: EventType,
    id: &str,
    at: DateTime<Utc>,
    data: Value,
) -> Result<Option<(WriteOp, Pending)>> {
    if !listening.wants(kind) {
        return Ok(None);
    }
    let event = Event {
        id: id.to_owned(),
        kind,
        created_at: at,
        company_id: company_id.to_owned(),
        data,
    };
    let item = Item::from_record(webhook_event_key(company_id, id), &Outgoing { event })?
        .with_index(WEBHOOKS_DUE, due_at(at, &format!("E#{company_id}#{id}")));
    Ok(Some((
        WriteOp::Create(item),
        Pending {
            company_id: company_id.to_owned(),
            event_id: id.to_owned(),
        },
    )))
}

/// What the worker's queue carries for webhooks (beside the sync jobs' messages).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WebhookMessage {
    /// An event in a company's outbox: make its deliveries, then attempt them.
    WebhookEvent { company_id: String, event_id: String },
    /// A delivery whose (next) attempt is due.
    WebhookDelivery {
        endpoint_id: String,
        delivery_id: String,
    },
    /// A partner's endpoints changed: its companies (and their open dismissals) learn what
    /// it listens for now, a page of companies at a time.
    WebhookListening {
        partner_id: String,
        cursor: Option<String>,
        /// The second pass catches companies the index showed late.
        pass: u8,
        /// The partner's record's generation this update began at.
        generation: u64,
    },
}

impl WebhookMessage {
    /// Whether a queued message is one of these (its `kind` starts with `webhook_`).
    pub fn is_one(body: &Value) -> bool {
        body.get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| k.starts_with("webhook_"))
    }

    pub(crate) async fn send(&self, queue: &dyn JobQueue, delay: chrono::Duration) -> Result<()> {
        let body = serde_json::to_value(self).map_err(|e| crate::Error::Internal(e.to_string()))?;
        Ok(queue.send(&body, delay).await?)
    }
}

/// Hands a committed change's events to the worker at once. A message lost here is not an
/// event lost: the outbox keeps the event, and the sweep hands it on.
pub async fn nudge(queue: &dyn JobQueue, pending: &[Pending]) {
    for p in pending {
        let message = WebhookMessage::WebhookEvent {
            company_id: p.company_id.clone(),
            event_id: p.event_id.clone(),
        };
        if let Err(e) = message.send(queue, chrono::Duration::zero()).await {
            tracing::warn!(error = %e, event = p.event_id, "webhook event not handed to the worker; the sweep will");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_read_as_they_are_written() {
        for kind in EventType::ALL {
            assert_eq!(EventType::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.as_str()));
        }
        assert_eq!(EventType::parse("account.deleted"), None);
    }

    #[test]
    fn nothing_is_written_for_an_event_nobody_listens_for() {
        let at = Utc::now();
        let none = Listening::default();
        assert!(
            outbox(&none, "c", EventType::AccountCreated, "evt_1", at, json!({}))
                .unwrap()
                .is_none()
        );
        let some = Listening::new(vec![EventType::AccountRemoved, EventType::AccountCreated]);
        assert!(
            outbox(&some, "c", EventType::AccountSuspended, "evt_1", at, json!({}))
                .unwrap()
                .is_none()
        );
        let (op, _) = outbox(
            &some,
            "c",
            EventType::AccountCreated,
            "evt_1",
            at,
            json!({"a": 1}),
        )
        .unwrap()
        .unwrap();
        let WriteOp::Create(item) = op else {
            panic!("an outbox write creates its item")
        };
        assert_eq!(item.key, webhook_event_key("c", "evt_1"));
        assert_eq!(item.index.unwrap().pk, WEBHOOKS_DUE);
    }

    #[test]
    fn listening_rides_on_the_record_that_carries_it() {
        let mut item = Item::from_record(company_key("c"), &json!({"id": "c"})).unwrap();
        assert!(Listening::of_item(&item).is_empty());
        let l = Listening::new(vec![EventType::CompanyClaimed, EventType::CompanyClaimed]);
        l.put_on(&mut item);
        assert_eq!(
            Listening::of_item(&item),
            Listening::new(vec![EventType::CompanyClaimed])
        );
        Listening::default().put_on(&mut item);
        assert!(!item.data.contains_key(LISTENING));
    }
}
