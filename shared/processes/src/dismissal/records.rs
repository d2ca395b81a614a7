//! The dismissal record, its steps (one per account to remove) and its key; the event that
//! starts a cleanup.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::America::Los_Angeles;
use prov_core::audit::{self};
use prov_core::connector::Verified;
use prov_core::error::Result;
use prov_core::schedule::removal_run_at;
use prov_core::secret::hash_secret;
use prov_core::store::{Item, StoreError, WriteOp};
use prov_core::webhooks::Listening;
use serde::{Deserialize, Serialize};

use crate::accounts::Action;
use crate::connections::Apps;
use prov_core::keys::{DISMISSALS_INDEX, dismissal_key};

/// The shortest a claim on a step lasts.
const CLAIM_LEASE_FLOOR_MINUTES: i64 = 2;
/// The vendor calls one removal may make: a reconciling read after a crash, the removal,
/// and a second call some vendors' removals take.
const CALLS_PER_REMOVAL: u32 = 3;

/// How long a claimed step belongs to the run that claimed it; after that it belongs to a
/// run that died. Longer than the removal's vendor calls may take, every try, wait and
/// credential refresh included (longer waits are handed back, not waited), so a live run's
/// claim is never taken over.
pub fn claim_lease(apps: &Apps) -> Duration {
    let calls = Duration::from_std(apps.vendors.longest_call() * CALLS_PER_REMOVAL).unwrap_or(Duration::MAX);
    calls.max(Duration::minutes(CLAIM_LEASE_FLOOR_MINUTES))
}
/// Automatic retries of a failing removal before an admin must act.
pub(super) const MAX_ATTEMPTS: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = RemovalChoice)]
pub enum Removal {
    Suspend,
    Delete,
}

impl Removal {
    pub(super) fn action(self) -> Action {
        match self {
            Removal::Suspend => Action::Suspend,
            Removal::Delete => Action::Delete,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StepState {
    Pending,
    Claimed {
        at: DateTime<Utc>,
    },
    Done {
        at: DateTime<Utc>,
        /// How the removal was proven (absent on steps done before it was recorded).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        verified: Option<Verified>,
    },
    Failed {
        reason: String,
    },
    Skipped {
        reason: String,
    },
    /// Held by the circuit breaker until an admin confirms.
    Paused {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub app: String,
    pub account_id: String,
    pub email: Option<String>,
    pub removal: Removal,
    pub state: StepState,
    pub attempts: u32,
    /// The audit event of the current attempt, reserved when it was claimed: a run that
    /// resumes the attempt after a crash logs the same event, so the log has it once. Its
    /// id also counts the removal in the app's circuit breaker, once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<ReservedEvent>,
    /// A pending step the vendor asked to wait for (its rate limit): not tried before then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<DateTime<Utc>>,
}

/// An audit event's id and time, chosen before the change it describes (`audit::record_once`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservedEvent {
    pub id: String,
    pub at: DateTime<Utc>,
}

impl ReservedEvent {
    pub(super) fn new(at: DateTime<Utc>) -> Self {
        Self {
            id: audit::new_event_id(),
            at,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DismissalState {
    Scheduled,
    Running,
    Done,
    Cancelled,
    NeedsAttention,
    Paused,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Access ends: delete, or suspend where chosen (or in two-step offboarding).
    Remove,
    /// Two-step offboarding: delete what was suspended, N days later.
    DeleteSuspended,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dismissal {
    pub company_id: String,
    pub team_member_id: String,
    pub last_day: NaiveDate,
    pub due_at: DateTime<Utc>,
    /// Per app: suspend or delete (default delete).
    pub choices: BTreeMap<String, Removal>,
    /// Two-step offboarding: suspend at dismissal, delete this many days later.
    pub two_step_days: Option<u32>,
    pub phase: Phase,
    pub state: DismissalState,
    pub steps: Vec<Step>,
    /// When the sweep should look at it next.
    pub next_run_at: Option<DateTime<Utc>>,
    pub problem: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The `dismissal.completed` event, reserved with the last step's result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_event: Option<ReservedEvent>,
    /// What the company's partner's webhook endpoints listen for (copied from the company,
    /// kept current while the dismissal is open): the worker's removals and completion
    /// write their events from here, without reading the company.
    #[serde(default, skip_serializing_if = "Listening::is_empty")]
    pub webhooks: Listening,
}

/// When a dismissal's removals due at `due_at` run: its own moment within the hour after
/// (a layoff's removals, due at one midnight, spread over the hour).
pub fn runs_at(company_id: &str, team_member_id: &str, due_at: DateTime<Utc>) -> DateTime<Utc> {
    removal_run_at(due_at, &format!("{company_id}/{team_member_id}"))
}

/// One schedule per dismissal, named deterministically (EventBridge allows 64 characters).
pub fn schedule_name(company_id: &str, team_member_id: &str) -> String {
    format!(
        "dismissal-{}",
        &hash_secret(&format!("{company_id}/{team_member_id}"))[..40]
    )
}

/// What the scheduler (or the sweep's rate schedule) delivers to the cleanup function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CleanupEvent {
    DismissalDue {
        company_id: String,
        team_member_id: String,
    },
    /// Periodic: runs every due dismissal whose schedule was lost, and retries.
    Sweep,
}

pub(super) fn item(d: &Dismissal) -> Result<Item> {
    let item = Item::from_record(dismissal_key(&d.company_id, &d.team_member_id), d)?;
    // Active dismissals are in the sweep's index, by when they next need a look.
    Ok(match (d.state, d.next_run_at) {
        (DismissalState::Done | DismissalState::Cancelled, _) | (_, None) => item,
        (_, Some(at)) => item.with_index(
            DISMISSALS_INDEX,
            format!(
                "{}#{}#{}",
                at.format("%Y%m%dT%H%M%S%.6fZ"),
                d.company_id,
                d.team_member_id
            ),
        ),
    })
}

pub(super) async fn load(
    apps: &Apps,
    company_id: &str,
    team_member_id: &str,
) -> Result<Option<(u64, Dismissal)>> {
    Ok(
        match apps
            .services
            .store
            .get(&dismissal_key(company_id, team_member_id))
            .await?
        {
            Some(item) => Some((item.version, item.record()?)),
            None => None,
        },
    )
}

/// The write of the dismissal at the version read (`None`: it must not exist yet), for a
/// transaction.
pub(super) fn write_op(d: &Dismissal, version: Option<u64>) -> Result<WriteOp> {
    Ok(match version {
        Some(v) => WriteOp::Replace {
            item: item(d)?,
            expected_version: v,
        },
        None => WriteOp::Create(item(d)?),
    })
}

/// `save`, with the partner events the change causes in the same transaction.
pub(super) async fn save_with(
    apps: &Apps,
    d: &Dismissal,
    version: Option<u64>,
    events: Vec<WriteOp>,
) -> Result<Option<u64>> {
    if events.is_empty() {
        return save(apps, d, version).await;
    }
    let mut ops = vec![write_op(d, version)?];
    ops.extend(events);
    match apps.services.store.transact(ops).await {
        Ok(()) => Ok(Some(version.map_or(1, |v| v + 1))),
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Writes the dismissal at the version read; `Ok(None)` when someone else changed it.
pub(super) async fn save(apps: &Apps, d: &Dismissal, version: Option<u64>) -> Result<Option<u64>> {
    let written = match version {
        Some(v) => apps.services.store.replace(item(d)?, v).await,
        None => apps.services.store.create(item(d)?).await,
    };
    match written {
        Ok(v) => Ok(Some(v)),
        Err(StoreError::ConditionFailed) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub(super) fn pacific_today(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&Los_Angeles).date_naive()
}
