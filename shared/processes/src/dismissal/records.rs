//! The dismissal record, its steps (one per account to remove) and their keys; the event
//! that starts a cleanup.
//!
//! The record holds the steps as planned. A run's claim of a step writes that step alone, in
//! an item of its own (its first claim creates it), and so does its result: the record is
//! written when the plan is made and when a run settles, so what a removal writes does not
//! grow with the number of accounts. A step's item, where there is one, says how far it got;
//! records written before steps had items hold every step inline and are read the same way.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::America::Los_Angeles;
use prov_core::audit::{self};
use prov_core::connector::Verified;
use prov_core::error::Result;
use prov_core::schedule::removal_run_at;
use prov_core::secret::hash_secret;
use prov_core::store::{Item, Key, PageRequest, StoreError, WriteOp};
use prov_core::webhooks::Listening;
use serde::{Deserialize, Serialize};

use crate::accounts::Action;
use crate::connections::Apps;
use prov_core::keys::{
    DISMISSALS_INDEX, company_partition, dismissal_key, dismissal_step_key, dismissal_steps_prefix,
};

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
    /// The version of the step's own item (`None`: the step is only in the record, as planned).
    #[serde(skip)]
    pub(super) item_version: Option<u64>,
}

impl Step {
    /// The step as the record keeps it once it has an item of its own (which says more).
    fn as_planned(&self) -> Step {
        Step {
            state: StepState::Pending,
            attempts: 0,
            event: None,
            not_before: None,
            ..self.clone()
        }
    }
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
    /// Each as it stands: its own item where it has one, else as the record holds it.
    pub steps: Vec<Step>,
    /// The plan whose steps' items are this dismissal's (a new plan, for the second step of
    /// a two-step offboarding or a dismissal made again, leaves the earlier one's behind).
    #[serde(default)]
    pub plan: u32,
    /// When the sweep should look at it next.
    pub next_run_at: Option<DateTime<Utc>>,
    pub problem: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The `dismissal.completed` event's id, reserved with the plan (by older runs: with the
    /// last step's result). See `completion_event`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_event: Option<ReservedEvent>,
    /// What the company's partner's webhook endpoints listen for (copied from the company,
    /// kept current while the dismissal is open): the worker's removals and completion
    /// write their events from here, without reading the company.
    #[serde(default, skip_serializing_if = "Listening::is_empty")]
    pub webhooks: Listening,
}

/// Whether a cancel or a rehire may stop the dismissal as it is: before it runs, and in the
/// second step of a two-step offboarding until that is over.
pub(super) fn stoppable(d: &Dismissal) -> bool {
    d.state == DismissalState::Scheduled
        || (d.phase == Phase::DeleteSuspended
            && d.state != DismissalState::Done
            && d.state != DismissalState::Cancelled)
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

/// The `dismissal.completed` event: its reserved id, just after the last removal (the log
/// orders events by time; or at the reservation, when that is later or nothing was removed),
/// so a run that completes the dismissal again after a crash logs the same event.
pub(super) fn completion_event(d: &Dismissal, now: DateTime<Utc>) -> ReservedEvent {
    let reserved = d
        .completion_event
        .clone()
        .unwrap_or_else(|| ReservedEvent::new(now));
    let after_removals = d.steps.iter().filter_map(|s| match s.state {
        StepState::Done { at, .. } => Some(at + Duration::microseconds(1)),
        _ => None,
    });
    ReservedEvent {
        at: after_removals.fold(reserved.at, DateTime::max),
        id: reserved.id,
    }
}

pub(super) fn item(d: &Dismissal) -> Result<Item> {
    // Steps with an item of their own are kept as planned: the record's size stays the plan's.
    let mut record = d.clone();
    for step in record.steps.iter_mut().filter(|s| s.item_version.is_some()) {
        *step = step.as_planned();
    }
    let item = Item::from_record(dismissal_key(&d.company_id, &d.team_member_id), &record)?;
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

/// The dismissal and its version, each step as it stands (its item's, where it has one).
pub(super) async fn load(
    apps: &Apps,
    company_id: &str,
    team_member_id: &str,
) -> Result<Option<(u64, Dismissal)>> {
    let store = &apps.services.store;
    let Some(item) = store.get(&dismissal_key(company_id, team_member_id)).await? else {
        return Ok(None);
    };
    let mut d: Dismissal = item.record()?;
    if d.steps.is_empty() {
        return Ok(Some((item.version, d))); // nothing planned: no step has an item
    }
    let (partition, prefix) = (
        company_partition(company_id),
        dismissal_steps_prefix(team_member_id, d.plan),
    );
    let mut cursor = None;
    loop {
        let page = store
            .query(&partition, &prefix, PageRequest::first(100).after(cursor))
            .await?;
        for stored in &page.items {
            let mut step: Step = stored.record()?;
            step.item_version = Some(stored.version);
            if let Some(planned) = d
                .steps
                .iter_mut()
                .find(|s| s.app == step.app && s.account_id == step.account_id)
            {
                *planned = step;
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(Some((item.version, d))),
        }
    }
}

/// A step's own item.
fn step_key(d: &Dismissal, step: &Step) -> Key {
    dismissal_step_key(
        &d.company_id,
        &d.team_member_id,
        d.plan,
        &step.app,
        &step.account_id,
    )
}

/// The write of `step` over the step as read (`read.item_version`; `None`: its first item),
/// for a transaction. Answers the version the step's item has once it lands.
pub(super) fn step_write(d: &Dismissal, read: &Step, step: &Step) -> Result<(WriteOp, u64)> {
    let item = Item::from_record(step_key(d, step), step)?;
    Ok(match read.item_version {
        Some(v) => (
            WriteOp::Replace {
                item,
                expected_version: v,
            },
            v + 1,
        ),
        None => (WriteOp::Create(item), 1),
    })
}

/// Writes `step` over the step's item as `read` (`read.item_version`; `None`: its first item);
/// answers its new version, `None` when someone else wrote it first.
pub(super) async fn put_step(apps: &Apps, d: &Dismissal, read: &Step, step: &Step) -> Result<Option<u64>> {
    let item = Item::from_record(step_key(d, step), step)?;
    let written = match read.item_version {
        Some(v) => apps.services.store.replace(item, v).await,
        None => apps.services.store.create(item).await,
    };
    match written {
        Ok(v) => Ok(Some(v)),
        Err(StoreError::ConditionFailed) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Writes step `i` of `d` as it is now over the step's item as read; `Ok(false)` when
/// someone else wrote it first. Its new version goes into `d`.
pub(super) async fn save_step(apps: &Apps, d: &mut Dismissal, i: usize) -> Result<bool> {
    let written = put_step(apps, d, &d.steps[i], &d.steps[i]).await?;
    if let Some(v) = written {
        d.steps[i].item_version = Some(v);
    }
    Ok(written.is_some())
}

/// The version of step `step`'s item as stored now (`None`: it has none).
pub(super) async fn step_version(apps: &Apps, d: &Dismissal, step: &Step) -> Result<Option<u64>> {
    Ok(apps
        .services
        .store
        .get(&step_key(d, step))
        .await?
        .map(|item| item.version))
}

/// Deletes the items of `d`'s steps once a new plan has replaced them. A delete that fails
/// leaves an item no read looks at (its plan is not the dismissal's): logged, not fatal.
pub(super) async fn forget_steps(apps: &Apps, d: &Dismissal) {
    for step in d.steps.iter().filter(|s| s.item_version.is_some()) {
        if let Err(e) = apps.services.store.delete(&step_key(d, step), None).await {
            tracing::warn!(error = %e, "a replaced plan's step was not deleted");
        }
    }
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
