//! Dismissal: removing a team member's app access at 00:00 Pacific the day after their last
//! day (or now, when that has passed), the offboarding checklist's "Remove app access" task,
//! and the cleanup that the scheduler (or the sweep) runs.
//!
//! The cleanup is idempotent and resumable. Each account removal is a step in the dismissal
//! record; a run claims a step with a conditional write before calling the vendor and records
//! the result after. A step found claimed by a run that died is reconciled by asking the
//! vendor whether the account is already gone or suspended, so no account is removed twice
//! and none is missed. Only matched accounts are touched.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::America::Los_Angeles;
use prov_core::access::Access;
use prov_core::audit::{self, Actor, ActorRef, Outcome, Target};
use prov_core::catalog;
use prov_core::connector::AccountStatus;
use prov_core::error::{Category, Error, Result};
use prov_core::schedule::{ScheduledJob, grace, removal_time};
use prov_core::secret::hash_secret;
use prov_core::store::{Item, Key, PageRequest, StoreError};
use prov_core::team::{self, EmploymentStatus};
use prov_core::validate::{Obj, Validator};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::accounts::{self, Action, AppAccount};
use crate::connections::{Apps, connector_for};

/// A step claimed longer ago than this belongs to a run that died.
const CLAIM_LEASE_MINUTES: i64 = 2;
/// Automatic retries of a failing removal before an admin must act.
const MAX_ATTEMPTS: u32 = 5;
/// The circuit breaker: removals of one app within an hour beyond this share of its managed
/// accounts (and at least `BREAKER_FLOOR`) pause until an admin confirms.
const BREAKER_SHARE: f64 = 0.2;
const BREAKER_FLOOR: usize = 5;
const DUE_INDEX: &str = "DISMISSALS";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = RemovalChoice)]
pub enum Removal {
    Suspend,
    Delete,
}

impl Removal {
    fn action(self) -> Action {
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
    /// resumes the attempt after a crash logs the same event, so the log has it once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<ReservedEvent>,
}

/// An audit event's id and time, chosen before the change it describes (`audit::record_once`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservedEvent {
    pub id: String,
    pub at: DateTime<Utc>,
}

impl ReservedEvent {
    fn new(at: DateTime<Utc>) -> Self {
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
}

fn key(company_id: &str, team_member_id: &str) -> Key {
    Key::new(
        format!("COMPANY#{company_id}"),
        format!("DISMISSAL#{team_member_id}"),
    )
}

fn breaker_key(company_id: &str, app: &str) -> Key {
    Key::new(format!("COMPANY#{company_id}"), format!("BREAKER#{app}"))
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

fn item(d: &Dismissal) -> Result<Item> {
    let item = Item::from_record(key(&d.company_id, &d.team_member_id), d)?;
    // Active dismissals are in the sweep's index, by when they next need a look.
    Ok(match (d.state, d.next_run_at) {
        (DismissalState::Done | DismissalState::Cancelled, _) | (_, None) => item,
        (_, Some(at)) => item.with_index(
            DUE_INDEX,
            format!(
                "{}#{}#{}",
                at.format("%Y%m%dT%H%M%S%.6fZ"),
                d.company_id,
                d.team_member_id
            ),
        ),
    })
}

async fn load(apps: &Apps, company_id: &str, team_member_id: &str) -> Result<Option<(u64, Dismissal)>> {
    Ok(
        match apps.services.store.get(&key(company_id, team_member_id)).await? {
            Some(item) => Some((item.version, item.record()?)),
            None => None,
        },
    )
}

/// Writes the dismissal at the version read; `Ok(None)` when someone else changed it.
async fn save(apps: &Apps, d: &Dismissal, version: Option<u64>) -> Result<Option<u64>> {
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

fn pacific_today(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&Los_Angeles).date_naive()
}

// ---------------------------------------------------------------------------------------
// Planning

/// One account the dismissal will act on (or acted on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PlannedRemoval {
    pub app: String,
    pub app_name: String,
    pub account_id: String,
    pub email: Option<String>,
    pub action: Removal,
    /// What the action really does in this app.
    pub means: String,
    /// `pending`, `claimed`, `done`, `failed`, `skipped`, `paused`.
    pub state: &'static str,
    pub detail: Option<String>,
}

/// The person's live, matched accounts, with what the dismissal will do to each.
async fn plan(
    apps: &Apps,
    company_id: &str,
    team_member_id: &str,
    choices: &BTreeMap<String, Removal>,
    two_step: bool,
) -> Result<Vec<Step>> {
    let mut steps = Vec::new();
    for app_view in accounts::member_apps(apps, company_id, team_member_id).await? {
        let Some(account) = app_view.account else { continue };
        if !account.present || account.status == "deleted" || account.matching_team_member().is_none() {
            continue;
        }
        let app = catalog::get(app_view.app, apps.services.settings.sandbox)?;
        let wanted = choices.get(app_view.app).copied().unwrap_or(if two_step {
            Removal::Suspend
        } else {
            Removal::Delete
        });
        // Suspend only where the app can; elsewhere access ends by removal.
        let removal = if wanted == Removal::Suspend && !app.capabilities.suspend {
            Removal::Delete
        } else {
            wanted
        };
        let state = if !app_view.connected {
            StepState::Skipped {
                reason: format!(
                    "{} is not connected: remove the account in the app itself.",
                    app.name
                ),
            }
        } else {
            StepState::Pending
        };
        steps.push(Step {
            app: app_view.app.to_owned(),
            account_id: account.id,
            email: account.email,
            removal,
            state,
            attempts: 0,
            event: None,
        });
    }
    Ok(steps)
}

fn describe(apps: &Apps, steps: &[Step]) -> Vec<PlannedRemoval> {
    steps
        .iter()
        .map(|s| {
            let app = catalog::get(&s.app, apps.services.settings.sandbox).ok();
            let (state, detail) = match &s.state {
                StepState::Pending => ("pending", None),
                StepState::Claimed { .. } => ("claimed", None),
                StepState::Done { .. } => ("done", None),
                StepState::Failed { reason } => ("failed", Some(reason.clone())),
                StepState::Skipped { reason } => ("skipped", Some(reason.clone())),
                StepState::Paused { reason } => ("paused", Some(reason.clone())),
            };
            PlannedRemoval {
                app: s.app.clone(),
                app_name: app.map(|a| a.name.to_owned()).unwrap_or_default(),
                account_id: s.account_id.clone(),
                email: s.email.clone(),
                action: s.removal,
                means: app
                    .map(|a| match s.removal {
                        Removal::Delete => a.remove_means.to_owned(),
                        Removal::Suspend => a.suspend_means.unwrap_or("Suspends the account.").to_owned(),
                    })
                    .unwrap_or_default(),
                state,
                detail,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// The "Remove app access" task

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OffboardingView {
    pub team_member_id: String,
    pub task: &'static str,
    pub title: &'static str,
    /// `not_dismissed`, `scheduled`, `in_progress`, `needs_attention`, `paused`,
    /// `completed` or `cancelled`.
    pub status: &'static str,
    pub last_day: Option<NaiveDate>,
    /// When access ends (00:00 Pacific the day after the last day).
    pub removes_access_at: Option<DateTime<Utc>>,
    pub two_step_days: Option<u32>,
    pub phase: Option<Phase>,
    pub problem: Option<String>,
    /// Per account: what will be (or was) done, and how far it got.
    pub accounts: Vec<PlannedRemoval>,
    /// Dry runs only: nothing was saved.
    pub dry_run: bool,
}

fn status(d: &Dismissal) -> &'static str {
    match d.state {
        DismissalState::Scheduled => "scheduled",
        DismissalState::Running => "in_progress",
        DismissalState::NeedsAttention => "needs_attention",
        DismissalState::Paused => "paused",
        DismissalState::Done => "completed",
        DismissalState::Cancelled => "cancelled",
    }
}

async fn view_of(apps: &Apps, d: &Dismissal, dry_run: bool) -> Result<OffboardingView> {
    // Before it runs, the task shows what it would do to the accounts as they are now.
    let steps = if d.steps.is_empty() && matches!(d.state, DismissalState::Scheduled) {
        plan(
            apps,
            &d.company_id,
            &d.team_member_id,
            &d.choices,
            d.two_step_days.is_some(),
        )
        .await?
    } else {
        d.steps.clone()
    };
    Ok(OffboardingView {
        team_member_id: d.team_member_id.clone(),
        task: "remove_app_access",
        title: "Remove app access",
        status: if dry_run { "scheduled" } else { status(d) },
        last_day: Some(d.last_day),
        removes_access_at: Some(d.due_at),
        two_step_days: d.two_step_days,
        phase: Some(d.phase),
        problem: d.problem.clone(),
        accounts: describe(apps, &steps),
        dry_run,
    })
}

pub async fn offboarding(apps: &Apps, access: &Access, team_member_id: &str) -> Result<OffboardingView> {
    let company_id = access.company.id.as_str();
    team::get(&apps.services, company_id, team_member_id).await?;
    match load(apps, company_id, team_member_id).await? {
        Some((_, d)) => view_of(apps, &d, false).await,
        None => Ok(OffboardingView {
            team_member_id: team_member_id.to_owned(),
            task: "remove_app_access",
            title: "Remove app access",
            status: "not_dismissed",
            last_day: None,
            removes_access_at: None,
            two_step_days: None,
            phase: None,
            problem: None,
            accounts: Vec::new(),
            dry_run: false,
        }),
    }
}

fn read_choices(v: &mut Validator, root: &Obj<'_>, sandbox: bool) -> BTreeMap<String, Removal> {
    let mut choices = BTreeMap::new();
    let entries = match root.get("removal") {
        None => return choices,
        Some(Value::Object(map)) => map,
        Some(_) => {
            v.error(
                "removal",
                "`removal` must be an object of app: `suspend` or `delete`.",
            );
            return choices;
        }
    };
    for (app, value) in entries {
        let path = format!("removal.{app}");
        let Ok(found) = catalog::get(app, sandbox) else {
            v.error(&path, format!("`{app}` is not an app."));
            continue;
        };
        match value.as_str() {
            Some("delete") => {
                choices.insert(app.clone(), Removal::Delete);
            }
            Some("suspend") if found.capabilities.suspend => {
                choices.insert(app.clone(), Removal::Suspend);
            }
            Some("suspend") => v.error(
                &path,
                format!("{} cannot suspend accounts; choose `delete`.", found.name),
            ),
            _ => v.error(&path, format!("`{path}` must be `suspend` or `delete`.")),
        }
    }
    choices
}

/// Dismisses a team member with a last day (or moves the date). With `dry_run`, answers what
/// would happen and when, saving nothing.
pub async fn dismiss(
    apps: &Apps,
    actor: &Actor,
    access: &Access,
    team_member_id: &str,
    body: &Map<String, Value>,
    dry_run: bool,
) -> Result<OffboardingView> {
    let company_id = access.company.id.as_str();
    team::get(&apps.services, company_id, team_member_id).await?;
    let mut v = Validator::new();
    let root = Obj::root(body);
    v.only(&root, &["last_day", "removal", "two_step_days"]);
    let last_day = v.parsed(&root, "last_day", true, |raw| {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .ok()
            .filter(|_| raw.len() == 10)
            .ok_or_else(|| "must be a date as YYYY-MM-DD.".to_owned())
    });
    let choices = read_choices(&mut v, &root, apps.services.settings.sandbox);
    let two_step_days = v.integer(&root, "two_step_days", false, 1, 90).map(|d| d as u32);
    let last_day = v.finish(last_day)?;
    let now = apps.services.clock.now();
    let existing = load(apps, company_id, team_member_id).await?;
    if let Some((_, d)) = &existing
        && matches!(
            d.state,
            DismissalState::Running
                | DismissalState::Done
                | DismissalState::NeedsAttention
                | DismissalState::Paused
        )
    {
        return Err(Error::invalid(
            "last_day",
            "App access is already being removed; this dismissal can no longer be moved.",
        ));
    }
    let due_at = removal_time(last_day);
    let dismissal = Dismissal {
        company_id: company_id.to_owned(),
        team_member_id: team_member_id.to_owned(),
        last_day,
        due_at,
        choices,
        two_step_days,
        phase: Phase::Remove,
        state: DismissalState::Scheduled,
        steps: Vec::new(),
        next_run_at: Some(due_at.max(now)),
        problem: None,
        updated_at: now,
        completed_at: None,
        completion_event: None,
    };
    if dry_run {
        return view_of(apps, &dismissal, true).await;
    }
    team::set_employment(
        &apps.services,
        company_id,
        team_member_id,
        EmploymentStatus::Dismissed,
        Some(last_day),
        None,
    )
    .await?;
    if save(apps, &dismissal, existing.as_ref().map(|(v, _)| *v))
        .await?
        .is_none()
    {
        return Err(Error::refused(
            "last_day",
            Category::Conflict,
            "The dismissal changed meanwhile; retry.",
        ));
    }
    let name = schedule_name(company_id, team_member_id);
    let moved = existing.is_some_and(|(_, d)| d.state == DismissalState::Scheduled);
    audit::succeeded(
        &apps.services,
        actor,
        company_id,
        if moved {
            "dismissal.moved"
        } else {
            "dismissal.scheduled"
        },
        Target::new("team_member", team_member_id),
        Some(format!("last day {last_day}; access ends {due_at}")),
    )
    .await;
    if due_at <= now {
        // The last day has passed: access ends now.
        apps.scheduler.cancel(&name).await?;
        run(apps, company_id, team_member_id).await?;
    } else {
        apps.scheduler
            .schedule(&ScheduledJob {
                name,
                at: due_at,
                payload: serde_json::to_value(CleanupEvent::DismissalDue {
                    company_id: company_id.to_owned(),
                    team_member_id: team_member_id.to_owned(),
                })
                .expect("events serialize"),
            })
            .await?;
    }
    offboarding(apps, access, team_member_id).await
}

/// Stops a dismissal that has not run (or the second step of a two-step one).
async fn stop(apps: &Apps, company_id: &str, team_member_id: &str) -> Result<Option<Dismissal>> {
    for _ in 0..3 {
        let Some((version, mut d)) = load(apps, company_id, team_member_id).await? else {
            return Ok(None);
        };
        let stoppable = d.state == DismissalState::Scheduled
            || (d.phase == Phase::DeleteSuspended
                && d.state != DismissalState::Done
                && d.state != DismissalState::Cancelled);
        if !stoppable {
            return Ok(None);
        }
        d.state = DismissalState::Cancelled;
        d.next_run_at = None;
        d.updated_at = apps.services.clock.now();
        if save(apps, &d, Some(version)).await?.is_some() {
            apps.scheduler
                .cancel(&schedule_name(company_id, team_member_id))
                .await?;
            return Ok(Some(d));
        }
    }
    Err(Error::refused(
        "dismissal",
        Category::Conflict,
        "The dismissal kept changing; retry.",
    ))
}

pub async fn cancel(
    apps: &Apps,
    actor: &Actor,
    access: &Access,
    team_member_id: &str,
) -> Result<OffboardingView> {
    let company_id = access.company.id.as_str();
    team::get(&apps.services, company_id, team_member_id).await?;
    if stop(apps, company_id, team_member_id).await?.is_none() {
        return Err(Error::invalid(
            "dismissal",
            "There is no scheduled dismissal to cancel (access may already be removed: rehire instead).",
        ));
    }
    team::set_employment(
        &apps.services,
        company_id,
        team_member_id,
        EmploymentStatus::Active,
        None,
        None,
    )
    .await?;
    audit::succeeded(
        &apps.services,
        actor,
        company_id,
        "dismissal.cancelled",
        Target::new("team_member", team_member_id),
        None,
    )
    .await;
    offboarding(apps, access, team_member_id).await
}

/// Rehires: cancels what is still to come of a dismissal; accounts already suspended stay
/// suspended until an admin reactivates them.
pub async fn rehire(
    apps: &Apps,
    actor: &Actor,
    access: &Access,
    team_member_id: &str,
) -> Result<team::TeamMemberView> {
    let company_id = access.company.id.as_str();
    let member = team::get(&apps.services, company_id, team_member_id).await?;
    if member.employment_status != EmploymentStatus::Dismissed {
        return Err(Error::invalid(
            "team_member",
            format!("{} is not dismissed.", member.full_name()),
        ));
    }
    let stopped = stop(apps, company_id, team_member_id).await?;
    let today = pacific_today(apps.services.clock.now());
    let member = team::set_employment(
        &apps.services,
        company_id,
        team_member_id,
        EmploymentStatus::Rehired,
        None,
        Some(today),
    )
    .await?;
    audit::succeeded(
        &apps.services,
        actor,
        company_id,
        "team_member.rehired",
        Target::new("team_member", team_member_id),
        stopped.map(|_| "pending app access removal cancelled".to_owned()),
    )
    .await;
    Ok(team::TeamMemberView::from(member))
}

/// Changes per-app choices before the dismissal runs, confirms removals the circuit breaker
/// paused, or retries failed ones.
pub async fn update_offboarding(
    apps: &Apps,
    actor: &Actor,
    access: &Access,
    team_member_id: &str,
    body: &Map<String, Value>,
) -> Result<OffboardingView> {
    let company_id = access.company.id.as_str();
    let mut v = Validator::new();
    let root = Obj::root(body);
    v.only(&root, &["removal", "confirm", "retry"]);
    let choices = read_choices(&mut v, &root, apps.services.settings.sandbox);
    let confirm = v.boolish(&root, "confirm").unwrap_or(false);
    let retry = v.boolish(&root, "retry").unwrap_or(false);
    v.finish(Some(()))?;
    let Some((version, mut d)) = load(apps, company_id, team_member_id).await? else {
        return Err(Error::invalid("team_member", "The team member is not dismissed."));
    };
    let now = apps.services.clock.now();
    if !choices.is_empty() {
        if d.state != DismissalState::Scheduled {
            return Err(Error::invalid(
                "removal",
                "Removal has started; the choices can no longer change.",
            ));
        }
        d.choices.extend(choices);
    }
    if confirm {
        let apps_paused: Vec<String> = d
            .steps
            .iter()
            .filter(|s| matches!(s.state, StepState::Paused { .. }))
            .map(|s| s.app.clone())
            .collect();
        for app in &apps_paused {
            confirm_breaker(apps, company_id, app, now).await?;
        }
        for s in d
            .steps
            .iter_mut()
            .filter(|s| matches!(s.state, StepState::Paused { .. }))
        {
            s.state = StepState::Pending;
        }
    }
    if retry {
        for s in d
            .steps
            .iter_mut()
            .filter(|s| matches!(s.state, StepState::Failed { .. }))
        {
            s.state = StepState::Pending;
            s.attempts = 0;
        }
    }
    d.updated_at = now;
    if save(apps, &d, Some(version)).await?.is_none() {
        return Err(Error::refused(
            "dismissal",
            Category::Conflict,
            "The dismissal changed meanwhile; retry.",
        ));
    }
    if confirm || retry {
        audit::succeeded(
            &apps.services,
            actor,
            company_id,
            if confirm {
                "dismissal.confirmed"
            } else {
                "dismissal.retried"
            },
            Target::new("team_member", team_member_id),
            None,
        )
        .await;
        if d.state != DismissalState::Scheduled {
            run(apps, company_id, team_member_id).await?;
        }
    }
    offboarding(apps, access, team_member_id).await
}

// ---------------------------------------------------------------------------------------
// The circuit breaker

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Breaker {
    /// When removals of this app happened, within the last hour.
    removals: Vec<DateTime<Utc>>,
    /// An admin confirmed unusual removals until then.
    confirmed_until: Option<DateTime<Utc>>,
}

/// A breaker as read: its stored version (`None`: not stored yet) and content.
struct BreakerRead {
    version: Option<u64>,
    breaker: Breaker,
}

async fn read_breaker(apps: &Apps, company_id: &str, app: &str) -> Result<BreakerRead> {
    Ok(
        match apps.services.store.get(&breaker_key(company_id, app)).await? {
            Some(item) => BreakerRead {
                version: Some(item.version),
                breaker: item.record()?,
            },
            None => BreakerRead {
                version: None,
                breaker: Breaker::default(),
            },
        },
    )
}

async fn confirm_breaker(apps: &Apps, company_id: &str, app: &str, now: DateTime<Utc>) -> Result<()> {
    let read = read_breaker(apps, company_id, app).await?;
    update_breaker(apps, company_id, app, read, |b| {
        b.confirmed_until = Some(now + Duration::hours(1))
    })
    .await
}

/// Applies `change` to the breaker as `read`, written at the version read; when another run
/// wrote meanwhile, reads it again and reapplies.
async fn update_breaker(
    apps: &Apps,
    company_id: &str,
    app: &str,
    mut read: BreakerRead,
    change: impl Fn(&mut Breaker),
) -> Result<()> {
    let key = breaker_key(company_id, app);
    for _ in 0..5 {
        let now = apps.services.clock.now();
        read.breaker.removals.retain(|t| *t > now - Duration::hours(1));
        change(&mut read.breaker);
        let item = Item::from_record(key.clone(), &read.breaker)?;
        let written = match read.version {
            Some(version) => apps.services.store.replace(item, version).await,
            None => apps.services.store.create(item).await,
        };
        match written {
            Ok(_) => return Ok(()),
            Err(StoreError::ConditionFailed) => read = read_breaker(apps, company_id, app).await?,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Busy("breaker contention".into()))
}

/// Whether one more removal in `app` now would be unusual: more than a fifth of its managed
/// accounts (and at least five) within an hour, unless an admin confirmed. The managed
/// accounts are counted (a query over the app's accounts, kept in `managed` for the run)
/// only when the hour's removals reach the floor, so a usual dismissal never pages through
/// a large app. Answers the breaker as read too: the removal that follows counts itself in
/// it (one read per removal, not two).
async fn breaker_trips(
    apps: &Apps,
    company_id: &str,
    app: &str,
    managed: &mut HashMap<String, usize>,
) -> Result<(bool, BreakerRead)> {
    let now = apps.services.clock.now();
    let read = read_breaker(apps, company_id, app).await?;
    let breaker = &read.breaker;
    if breaker.confirmed_until.is_some_and(|t| t > now) {
        return Ok((false, read));
    }
    let recent = breaker
        .removals
        .iter()
        .filter(|t| **t > now - Duration::hours(1))
        .count();
    if recent < BREAKER_FLOOR {
        return Ok((false, read));
    }
    let managed = match managed.get(app) {
        Some(n) => *n,
        None => {
            let n = managed_count(apps, company_id, app).await?;
            managed.insert(app.to_owned(), n);
            n
        }
    };
    let limit = ((managed as f64 * BREAKER_SHARE).ceil() as usize).max(BREAKER_FLOOR);
    Ok((recent >= limit, read))
}

/// How many accounts of an app are managed here (matched and present).
async fn managed_count(apps: &Apps, company_id: &str, app: &str) -> Result<usize> {
    let mut count = 0;
    let mut cursor = None;
    loop {
        let page = apps
            .services
            .store
            .query(
                &format!("COMPANY#{company_id}"),
                &format!("ACCT#{app}#"),
                PageRequest::first(1000).after(cursor),
            )
            .await?;
        for item in &page.items {
            let a: AppAccount = item.record()?;
            if a.team_member_id().is_some() && a.present && a.status != AccountStatus::Deleted {
                count += 1;
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(count),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The cleanup

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunReport {
    pub removed: usize,
    pub failed: usize,
    pub paused: usize,
    pub state: Option<DismissalState>,
}

/// Runs a due dismissal: safe to call any number of times, concurrently or after a crash.
pub async fn run(apps: &Apps, company_id: &str, team_member_id: &str) -> Result<RunReport> {
    let mut report = RunReport::default();
    let Some((mut version, mut d)) = load(apps, company_id, team_member_id).await? else {
        return Ok(report);
    };
    let now = apps.services.clock.now();
    if matches!(d.state, DismissalState::Done | DismissalState::Cancelled) || d.due_at > now + grace() {
        report.state = Some(d.state);
        return Ok(report); // a duplicate, a late cancel, or an early delivery
    }
    if d.steps.is_empty() && d.state == DismissalState::Scheduled {
        d.steps = plan(
            apps,
            company_id,
            team_member_id,
            &d.choices,
            d.two_step_days.is_some(),
        )
        .await?;
        d.state = DismissalState::Running;
        d.updated_at = now;
        match save(apps, &d, Some(version)).await? {
            Some(v) => version = v,
            None => return Box::pin(run(apps, company_id, team_member_id)).await, // another run planned first
        }
    }
    let mut managed: HashMap<String, usize> = HashMap::new();
    for i in 0..d.steps.len() {
        let stale_claim = matches!(d.steps[i].state, StepState::Claimed { at } if at + Duration::minutes(CLAIM_LEASE_MINUTES) <= now);
        let retry_due = matches!(d.steps[i].state, StepState::Failed { .. })
            && d.steps[i].attempts < MAX_ATTEMPTS
            && d.next_run_at.is_some_and(|t| t <= now);
        if !(matches!(d.steps[i].state, StepState::Pending) || stale_claim || retry_due) {
            continue;
        }
        let app_slug = d.steps[i].app.clone();
        let (trips, breaker) = breaker_trips(apps, company_id, &app_slug, &mut managed).await?;
        if trips {
            d.steps[i].state = StepState::Paused {
                reason: "An unusual share of this app's accounts is being removed within an hour; an admin must confirm.".into(),
            };
            report.paused += 1;
            match save(apps, &d, Some(version)).await? {
                Some(v) => version = v,
                None => return Box::pin(run(apps, company_id, team_member_id)).await,
            }
            continue;
        }
        // Claim the step: only the run whose write lands calls the vendor. A new attempt
        // reserves its audit event; resuming a dead run's attempt keeps that one's.
        d.steps[i].state = StepState::Claimed { at: now };
        d.steps[i].attempts += 1;
        if !stale_claim || d.steps[i].event.is_none() {
            d.steps[i].event = Some(ReservedEvent::new(now));
        }
        match save(apps, &d, Some(version)).await? {
            Some(v) => version = v,
            None => return Box::pin(run(apps, company_id, team_member_id)).await,
        }
        let outcome = remove_one(apps, company_id, &d.steps[i], stale_claim, breaker).await;
        let done_at = apps.services.clock.now();
        let result = match &outcome {
            Ok(()) => {
                report.removed += 1;
                StepState::Done { at: done_at }
            }
            Err(reason) => {
                report.failed += 1;
                StepState::Failed {
                    reason: reason.clone(),
                }
            }
        };
        // The event first (once, under the reserved id): a crash before the result lands
        // leaves the claim, and the run that resumes it logs the same event.
        let step = d.steps[i].clone();
        let event = step.event.clone().unwrap_or_else(|| ReservedEvent::new(now));
        // A failed try and the success of the run that resumes it are two events.
        let event_id = match outcome {
            Ok(()) => event.id.clone(),
            Err(_) => format!("{}f", event.id),
        };
        audit::record_once(
            &apps.services,
            audit::Record {
                company_id,
                actor: ActorRef::System,
                request_id: "",
                action: match step.removal {
                    Removal::Delete => "account.removed_at_dismissal",
                    Removal::Suspend => "account.suspended_at_dismissal",
                },
                target: Target::new("account", &step.account_id),
                result: if outcome.is_ok() {
                    Outcome::Succeeded
                } else {
                    Outcome::Failed
                },
                detail: outcome.clone().err(),
            },
            &event_id,
            event.at,
        )
        .await;
        // The vendor has acted: the result must land even if another run wrote meanwhile.
        (version, d) = record_step(apps, company_id, team_member_id, &step, result, version, d).await?;
    }
    for _ in 0..10 {
        if finish(apps, &mut d, version, &mut report).await? {
            return Ok(report);
        }
        // Another run wrote meanwhile: decide again on what is stored now.
        let Some((v, latest)) = load(apps, company_id, team_member_id).await? else {
            return Ok(report);
        };
        if matches!(latest.state, DismissalState::Done | DismissalState::Cancelled) {
            report.state = Some(latest.state);
            return Ok(report);
        }
        (version, d) = (v, latest);
    }
    Err(Error::Busy("the dismissal kept changing".into()))
}

/// Writes a step's result into the dismissal, re-reading it when another run changed it.
async fn record_step(
    apps: &Apps,
    company_id: &str,
    team_member_id: &str,
    step: &Step,
    result: StepState,
    mut version: u64,
    mut d: Dismissal,
) -> Result<(u64, Dismissal)> {
    for _ in 0..10 {
        if let Some(s) = d
            .steps
            .iter_mut()
            .find(|s| s.app == step.app && s.account_id == step.account_id)
        {
            s.state = result.clone();
        }
        d.updated_at = apps.services.clock.now();
        let all_done = d
            .steps
            .iter()
            .all(|s| matches!(s.state, StepState::Done { .. } | StepState::Skipped { .. }));
        if all_done && d.completion_event.is_none() {
            d.completion_event = Some(ReservedEvent::new(d.updated_at));
        }
        if let Some(v) = save(apps, &d, Some(version)).await? {
            return Ok((v, d));
        }
        let Some((v, latest)) = load(apps, company_id, team_member_id).await? else {
            return Err(Error::Internal("the dismissal vanished during its run".into()));
        };
        (version, d) = (v, latest);
    }
    Err(Error::Busy("the dismissal kept changing".into()))
}

/// The vendor call of one step. After a crash (`reconcile`), the vendor is asked first
/// whether the account is already gone or suspended.
async fn remove_one(
    apps: &Apps,
    company_id: &str,
    step: &Step,
    reconcile: bool,
    breaker: BreakerRead,
) -> std::result::Result<(), String> {
    let reason = |e: Error| {
        e.details()
            .and_then(|d| d.first())
            .map(|d| d.message.clone())
            .unwrap_or_else(|| e.to_string())
    };
    let app = catalog::get(&step.app, apps.services.settings.sandbox).map_err(reason)?;
    let (version, account) = accounts::load(apps, company_id, &step.app, &step.account_id)
        .await
        .map_err(reason)?;
    if account.team_member_id().is_none() {
        return Err("The account was unmatched; it is no longer managed here.".into());
    }
    if reconcile {
        let connector = connector_for(apps, company_id, &step.app).await.map_err(reason)?;
        let at_vendor = connector
            .get(&account.vendor_id)
            .await
            .map_err(|e| e.to_string())?;
        let already = matches!(
            (step.removal, at_vendor.as_ref().map(|a| a.status)),
            (Removal::Delete, None | Some(AccountStatus::Deleted))
                | (Removal::Suspend, Some(AccountStatus::Suspended))
        );
        if already {
            accounts::record_status(apps, company_id, &step.app, &account.id, at_vendor)
                .await
                .map_err(reason)?;
            return Ok(());
        }
    }
    if !account.present || account.status == AccountStatus::Deleted {
        return Ok(()); // already gone
    }
    accounts::perform_action(apps, company_id, app, version, account, step.removal.action())
        .await
        .map(|_| ())
        .map_err(reason)?;
    let now = apps.services.clock.now();
    update_breaker(apps, company_id, &step.app, breaker, |b| b.removals.push(now))
        .await
        .map_err(reason)?;
    Ok(())
}

/// Settles the dismissal's state after a run; `false` when another run wrote first.
async fn finish(apps: &Apps, d: &mut Dismissal, version: u64, report: &mut RunReport) -> Result<bool> {
    let now = apps.services.clock.now();
    let open = |s: &Step| matches!(s.state, StepState::Pending | StepState::Claimed { .. });
    let failed: Vec<&Step> = d
        .steps
        .iter()
        .filter(|s| matches!(s.state, StepState::Failed { .. }))
        .collect();
    let paused = d
        .steps
        .iter()
        .any(|s| matches!(s.state, StepState::Paused { .. }));
    let retryable = failed.iter().any(|s| s.attempts < MAX_ATTEMPTS);
    let (state, next_run_at, problem) = if d.steps.iter().any(open) {
        (
            DismissalState::Running,
            Some(now + Duration::minutes(CLAIM_LEASE_MINUTES)),
            None,
        )
    } else if paused {
        (
            DismissalState::Paused,
            None,
            Some("Paused by the safeguard: confirm to continue removing access.".to_owned()),
        )
    } else if !failed.is_empty() {
        let attempts = failed.iter().map(|s| s.attempts).max().unwrap_or(1);
        let next = retryable.then(|| now + Duration::minutes(15 * i64::from(attempts)));
        let reasons: Vec<String> = failed
            .iter()
            .map(|s| {
                format!(
                    "{}: {}",
                    s.app,
                    match &s.state {
                        StepState::Failed { reason } => reason.as_str(),
                        _ => "",
                    }
                )
            })
            .collect();
        (DismissalState::NeedsAttention, next, Some(reasons.join("; ")))
    } else {
        (DismissalState::Done, None, None)
    };
    // Two-step offboarding: once everything is suspended, schedule the deletions.
    let second_step = state == DismissalState::Done && d.phase == Phase::Remove && d.two_step_days.is_some();
    let mut next = d.clone();
    if second_step {
        let days = i64::from(d.two_step_days.unwrap_or(0));
        // Midnight Pacific again, N days on (not N × 24 hours: DST may change between).
        let at = removal_time(d.last_day + Duration::days(days));
        next.phase = Phase::DeleteSuspended;
        next.state = DismissalState::Scheduled;
        next.due_at = at;
        next.next_run_at = Some(at);
        next.choices = BTreeMap::new();
        next.two_step_days = None;
        next.steps = Vec::new();
        next.problem = None;
        next.updated_at = now;
        next.completion_event = None;
    } else {
        next.state = state;
        next.next_run_at = next_run_at;
        next.problem = problem;
        next.updated_at = now;
        if state == DismissalState::Done {
            next.completed_at = Some(now);
        }
    }
    let completed = state == DismissalState::Done && !second_step;
    if completed {
        // Logged before the state is saved, once, under the reserved id: a crash between
        // the two leaves the dismissal running, and the run that finishes it logs the same.
        let event = d
            .completion_event
            .clone()
            .unwrap_or_else(|| ReservedEvent::new(now));
        audit::record_once(
            &apps.services,
            audit::Record {
                company_id: &d.company_id,
                actor: ActorRef::System,
                request_id: "",
                action: "dismissal.completed",
                target: Target::new("team_member", &d.team_member_id),
                result: Outcome::Succeeded,
                detail: Some(format!("{} accounts", d.steps.len())),
            },
            &event.id,
            event.at,
        )
        .await;
    }
    if save(apps, &next, Some(version)).await?.is_none() {
        return Ok(false);
    }
    if second_step {
        apps.scheduler
            .schedule(&ScheduledJob {
                name: schedule_name(&d.company_id, &d.team_member_id),
                at: next.due_at,
                payload: json!({"kind": "dismissal_due", "company_id": d.company_id, "team_member_id": d.team_member_id}),
            })
            .await?;
    }
    report.state = Some(next.state);
    *d = next;
    Ok(true)
}

/// Runs every dismissal whose time has come (lost schedules, retries, stale runs) and sends
/// queued email. The rate schedule calls it; so does the devserver's ticker.
pub async fn sweep(apps: &Apps) -> Result<usize> {
    let now = apps.services.clock.now();
    let page = apps
        .services
        .store
        .query_index(DUE_INDEX, PageRequest::first(100))
        .await?;
    let mut ran = 0;
    for item in &page.items {
        let d: Dismissal = item.record()?;
        if d.next_run_at.is_none_or(|t| t > now) {
            break; // the index is in time order
        }
        run(apps, &d.company_id, &d.team_member_id).await?;
        ran += 1;
    }
    if let Err(e) =
        prov_core::mail::MailQueue::drain(apps.services.store.as_ref(), apps.services.mailer.as_ref()).await
    {
        tracing::warn!(error = %e, "queued email not sent by the sweep");
    }
    Ok(ran)
}

/// The cleanup function's handler.
pub async fn handle(apps: &Apps, event: CleanupEvent) -> Result<Value> {
    match event {
        CleanupEvent::DismissalDue {
            company_id,
            team_member_id,
        } => {
            let report = run(apps, &company_id, &team_member_id).await?;
            Ok(serde_json::to_value(report).expect("reports serialize"))
        }
        CleanupEvent::Sweep => Ok(json!({ "dismissals_run": sweep(apps).await? })),
    }
}
