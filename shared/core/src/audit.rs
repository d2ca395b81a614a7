//! The audit log: who did what to which thing, when, with what result.
//!
//! Events go to their own store (the audit table, whose TTL expires them after
//! `RETENTION_DAYS`), keyed so a company's events read newest first.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::access::Access;
use crate::auth::Principal;
use crate::clock::Clock;
use crate::error::Result;
use crate::keys::{audit_partition, partner_audit_partition};
use crate::listing::{ListQuery, Listing};
use crate::secret::new_ordered_id;
use crate::services::Services;
use crate::store::{Item, ItemStore, Key};

pub const RETENTION_DAYS: i64 = 400;

/// The caller of a request, as the use cases see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub principal: Principal,
    pub request_id: String,
}

/// Who acted, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ActorRef {
    Partner {
        partner_id: String,
    },
    Admin {
        user_id: String,
    },
    /// The person who opened a claim link.
    Claimant {
        user_id: String,
    },
    /// A team member, through a link emailed to them (a first password's reveal).
    TeamMember {
        team_member_id: String,
    },
    /// The service itself (scheduled work).
    System,
}

impl From<&Principal> for ActorRef {
    fn from(p: &Principal) -> Self {
        match p {
            Principal::Partner { partner_id } => ActorRef::Partner {
                partner_id: partner_id.clone(),
            },
            Principal::Admin { user_id, .. } => ActorRef::Admin {
                user_id: user_id.clone(),
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Target {
    pub kind: String,
    pub id: String,
}

impl Target {
    pub fn new(kind: &str, id: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            id: id.to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEvent {
    pub id: String,
    pub company_id: String,
    pub at: DateTime<Utc>,
    pub actor: ActorRef,
    /// `noun.verb`, e.g. `team_member.created`.
    pub action: String,
    pub target: Target,
    pub result: Outcome,
    /// What changed, or why it failed (never a secret).
    pub detail: Option<String>,
    pub request_id: String,
}

/// An event about to be recorded.
pub struct Record<'a> {
    pub company_id: &'a str,
    pub actor: ActorRef,
    pub request_id: &'a str,
    pub action: &'a str,
    pub target: Target,
    pub result: Outcome,
    pub detail: Option<String>,
}

/// Writes an event. The change it describes has already happened, so a failure to write
/// is logged loudly rather than undoing or failing the request.
pub async fn record(svc: &Services, event: Record<'_>) {
    write(svc, event, new_event_id(), svc.clock.now()).await;
}

/// Writes the event of a change that a retry after a crash may report again: the change
/// reserved `id` (from `new_event_id`) and noted `at` when it began, so the event has the
/// same key every time it is written, and the log has it once.
pub async fn record_once(svc: &Services, event: Record<'_>, id: &str, at: DateTime<Utc>) {
    write(svc, event, id.to_owned(), at).await;
}

/// An event id, reserved before the change it will describe (see `record_once`).
pub fn new_event_id() -> String {
    new_ordered_id("evt")
}

/// Writes an event about a partner itself (its tokens) to the audit table `audit`, in the
/// partner's own partition: it concerns none of its companies (`company_id` is empty).
pub async fn record_partner(
    audit: &dyn ItemStore,
    clock: &dyn Clock,
    partner_id: &str,
    actor: ActorRef,
    request_id: &str,
    action: &str,
    detail: Option<String>,
) {
    let event = AuditEvent {
        id: new_event_id(),
        company_id: String::new(),
        at: clock.now(),
        actor,
        action: action.to_owned(),
        target: Target::new("partner", partner_id),
        result: Outcome::Succeeded,
        detail,
        request_id: request_id.to_owned(),
    };
    store(audit, partner_audit_partition(partner_id), event).await;
}

async fn write(svc: &Services, event: Record<'_>, id: String, at: DateTime<Utc>) {
    let event = AuditEvent {
        id,
        company_id: event.company_id.to_owned(),
        at,
        actor: event.actor,
        action: event.action.to_owned(),
        target: event.target,
        result: event.result,
        detail: event.detail,
        request_id: event.request_id.to_owned(),
    };
    store(svc.audit.as_ref(), audit_partition(&event.company_id), event).await;
}

async fn store(audit: &dyn ItemStore, partition: String, event: AuditEvent) {
    let at = event.at;
    // Timestamps order events; the time-ordered id breaks ties in creation order.
    let key = Key::new(
        partition,
        format!("{}#{}", at.format("%Y%m%dT%H%M%S%.9fZ"), event.id),
    );
    let written = match Item::from_record(key, &event) {
        Ok(item) => audit
            .create(item.with_expiry((at + Duration::days(RETENTION_DAYS)).timestamp()))
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = written
        && e != crate::store::StoreError::ConditionFailed
    {
        tracing::error!(error = %e, action = event.action, company_id = event.company_id, "audit event not written");
    }
}

/// Shorthand for the common case: the caller of a request did something that succeeded.
pub async fn succeeded(
    svc: &Services,
    actor: &Actor,
    company_id: &str,
    action: &str,
    target: Target,
    detail: Option<String>,
) {
    record(
        svc,
        Record {
            company_id,
            actor: ActorRef::from(&actor.principal),
            request_id: &actor.request_id,
            action,
            target,
            result: Outcome::Succeeded,
            detail,
        },
    )
    .await;
}

/// A company's events, newest first.
/// A company's audit log, newest first.
pub async fn list(svc: &Services, access: &Access, query: &ListQuery) -> Result<Listing<AuditEvent>> {
    let company_id = &access.company().id;
    let page = svc
        .audit
        .query(
            &audit_partition(company_id),
            "",
            query.page_request()?.descending(),
        )
        .await?;
    Listing::from_page(page)
}
