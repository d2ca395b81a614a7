//! The "Remove app access" task: dismissing (and moving the date), cancelling, rehiring,
//! the task's view, and an admin's choices, confirmations and retries.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use prov_core::access::{Access, Need};
use prov_core::audit::{self, Actor, Target};
use prov_core::body::{Body, Boolish, Unparsed};
use prov_core::catalog::Catalog;
use prov_core::error::{Category, Error, Result};
use prov_core::keys::company_key;
use prov_core::schedule::{ScheduledJob, removal_time};
use prov_core::store::{Expect, StoreError, WriteOp};
use prov_core::team::{self, EmploymentStatus};
use prov_core::validate::{Obj, Validator};
use prov_core::webhooks::Listening;
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use super::breaker::confirm_breaker;
use super::cleanup::run;
use super::planning::{PlannedRemoval, describe, plan};
use super::records::{
    CleanupEvent, Dismissal, DismissalState, Phase, Removal, StepState, forget_steps, load, pacific_today,
    runs_at, save, schedule_name, step_write, stoppable, write_op,
};
use crate::connections::Apps;

/// Attempts of a dismissal whose team member another request changed meanwhile.
const CONFLICT_ATTEMPTS: usize = 3;
/// The dismissal's place in the transaction that writes it with the last day.
const DISMISSAL_OP: usize = 0;
/// The check of the company's version in that transaction.
const COMPANY_OP: usize = 2;

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
    /// Per account: what will be (or was) done, and how far it got. Left out for callers
    /// who may not manage apps (the plan names the person's accounts and their emails).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accounts: Option<Vec<PlannedRemoval>>,
    /// Dry runs only: nothing was saved.
    pub dry_run: bool,
}

pub(super) fn status(d: &Dismissal) -> &'static str {
    match d.state {
        DismissalState::Scheduled => "scheduled",
        DismissalState::Running => "in_progress",
        DismissalState::NeedsAttention => "needs_attention",
        DismissalState::Paused => "paused",
        DismissalState::Done => "completed",
        DismissalState::Cancelled => "cancelled",
    }
}

/// The task as `access` may see it: the account plan only for those who may manage apps.
pub(super) async fn view_of(
    apps: &Apps,
    access: &Access,
    d: &Dismissal,
    dry_run: bool,
) -> Result<OffboardingView> {
    let accounts = if access.allows(Need::ManageApps) {
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
        Some(describe(apps, &steps))
    } else {
        None
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
        accounts,
        dry_run,
    })
}

pub async fn offboarding(apps: &Apps, access: &Access, team_member_id: &str) -> Result<OffboardingView> {
    let company_id = access.company().id.as_str();
    team::get(&apps.services, access, team_member_id).await?;
    match load(apps, company_id, team_member_id).await? {
        Some((_, d)) => view_of(apps, access, &d, false).await,
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
            accounts: access.allows(Need::ManageApps).then(Vec::new),
            dry_run: false,
        }),
    }
}

/// Per app (its slug, from the app directory): `suspend` (where the app can) or `delete`
/// (the default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemovalChoices(pub BTreeMap<String, Removal>);

impl PartialSchema for RemovalChoices {
    fn schema() -> RefOr<Schema> {
        Self::schema_for(&Catalog::new(&[]))
    }
}

impl ToSchema for RemovalChoices {}

impl RemovalChoices {
    /// The schema for the apps of `catalog` (the OpenAPI document is built with it).
    pub fn schema_for(catalog: &Catalog) -> RefOr<Schema> {
        let slugs: Vec<&str> = catalog.directory().map(|a| a.slug).collect();
        ObjectBuilder::new()
            .description(Some(
                "Per app (its slug): `suspend` (where the app can) or `delete` (the default).",
            ))
            .property_names(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(slugs)),
            ))
            .additional_properties(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["suspend", "delete"])),
            ))
            .into()
    }

    /// The `removal` attribute of `root`, read against the apps of `catalog`; none when it
    /// is absent.
    fn read(v: &mut Validator, root: &Obj<'_>, catalog: &Catalog) -> Self {
        let mut choices = BTreeMap::new();
        let entries = match root.get("removal") {
            None => return RemovalChoices(choices),
            Some(Value::Object(map)) => map,
            Some(_) => {
                v.error(
                    "removal",
                    "`removal` must be an object of app: `suspend` or `delete`.",
                );
                return RemovalChoices(choices);
            }
        };
        for (app, value) in entries {
            let path = format!("removal.{app}");
            let Ok(found) = catalog.get(app) else {
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
        RemovalChoices(choices)
    }
}

/// `PUT …/dismissal`. Moving a scheduled dismissal's date keeps its per-app choices and its
/// two-step offboarding; the body's own `removal` choices replace those of the apps it names.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DismissalRequest {
    /// Access ends at 00:00 America/Los_Angeles the day after.
    #[schema(value_type = String, format = Date)]
    pub last_day: NaiveDate,
    /// Per-app removals: the primary admin or `manage_apps` only (403 for other admins).
    #[schema(value_type = Option<RemovalChoices>, required = false)]
    pub removal: RemovalChoices,
    /// Two-step offboarding: suspend at dismissal, delete this many days after the
    /// suspension (at 00:00 America/Los_Angeles).
    #[schema(minimum = 1, maximum = 90)]
    pub two_step_days: Option<u32>,
}

/// Read against the apps of the catalog.
impl Body<&Catalog> for DismissalRequest {
    fn parse(v: &mut Validator, root: &Obj<'_>, catalog: &Catalog) -> Option<Self> {
        v.only(root, &["last_day", "removal", "two_step_days"]);
        let last_day = v.parsed(root, "last_day", true, |raw| {
            NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .ok()
                .filter(|_| raw.len() == 10)
                .ok_or_else(|| "must be a date as YYYY-MM-DD.".to_owned())
        });
        let removal = RemovalChoices::read(v, root, catalog);
        let two_step_days = v.integer(root, "two_step_days", false, 1, 90).map(|d| d as u32);
        Some(DismissalRequest {
            last_day: last_day?,
            removal,
            two_step_days,
        })
    }
}

/// `POST …/offboarding`: change choices before the task runs, confirm what the safeguard
/// paused, retry failures.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OffboardingChange {
    #[schema(value_type = Option<RemovalChoices>, required = false)]
    pub removal: RemovalChoices,
    #[schema(value_type = Option<Boolish>, required = false)]
    pub confirm: bool,
    #[schema(value_type = Option<Boolish>, required = false)]
    pub retry: bool,
}

/// Read against the apps of the catalog.
impl Body<&Catalog> for OffboardingChange {
    fn parse(v: &mut Validator, root: &Obj<'_>, catalog: &Catalog) -> Option<Self> {
        v.only(root, &["removal", "confirm", "retry"]);
        let removal = RemovalChoices::read(v, root, catalog);
        let confirm = v.boolish(root, "confirm").unwrap_or(false);
        let retry = v.boolish(root, "retry").unwrap_or(false);
        Some(OffboardingChange {
            removal,
            confirm,
            retry,
        })
    }
}

/// Dismisses a team member with a last day (or moves the date). With `dry_run`, answers what
/// would happen and when, saving nothing. Any admin may dismiss (the default plan removes
/// every matched account); choosing per-app removals needs `manage_apps`. The last day on
/// the team member and the dismissal are written in one transaction: a request that loses a
/// race to another dismissal of the same person writes neither.
pub async fn dismiss(
    apps: &Apps,
    actor: &Actor,
    access: &Access,
    team_member_id: &str,
    body: &Unparsed<DismissalRequest>,
    dry_run: bool,
) -> Result<OffboardingView> {
    let company_id = access.company().id.as_str();
    team::get(&apps.services, access, team_member_id).await?;
    // Read once the team member is found: an unknown one is a 404, whatever the body says.
    let DismissalRequest {
        last_day,
        removal: RemovalChoices(choices),
        two_step_days,
    } = body.parse_for(&apps.services.catalog)?;
    if !choices.is_empty() && !access.allows(Need::ManageApps) {
        return Err(Error::forbidden(
            "removal",
            "Choosing how each app's account is removed needs the primary admin or the `manage_apps` permission; leave `removal` out to remove every account the default way.",
        ));
    }
    let now = apps.services.clock.now();
    let due_at = removal_time(last_day);
    let changed_meanwhile = || {
        Error::refused(
            "last_day",
            Category::Conflict,
            "The dismissal changed meanwhile; retry.",
        )
    };
    let mut company_at = (access.company_version(), access.listening().clone());
    let mut attempt = 0;
    let moved = loop {
        attempt += 1;
        let existing = load(apps, company_id, team_member_id).await?;
        // Moving the date changes what the body names and keeps the rest: the per-app
        // choices (the body's own win) and two-step offboarding.
        let (choices, two_step_days) = match &existing {
            Some((_, d)) if d.state == DismissalState::Scheduled => {
                let mut kept = d.choices.clone();
                kept.extend(choices.clone());
                (kept, two_step_days.or(d.two_step_days))
            }
            _ => (choices.clone(), two_step_days),
        };
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
            // A plan of its own: the steps of one made before (cancelled) are not its steps.
            plan: existing.as_ref().map_or(1, |(_, d)| d.plan + 1),
            next_run_at: Some(runs_at(company_id, team_member_id, due_at).max(now)),
            problem: None,
            updated_at: now,
            completed_at: None,
            completion_event: None,
            webhooks: company_at.1.clone(),
        };
        if dry_run {
            return view_of(apps, access, &dismissal, true).await;
        }
        let (member_version, member) = team::load(&apps.services, company_id, team_member_id).await?;
        let (member_item, _) = team::employment_changed(
            &apps.services,
            member,
            EmploymentStatus::Dismissed,
            Some(last_day),
            None,
        )?;
        let ops = vec![
            write_op(&dismissal, existing.as_ref().map(|(v, _)| *v))?,
            WriteOp::Replace {
                item: member_item,
                expected_version: member_version,
            },
            // The company as read: what its partner listens for is still what the dismissal
            // copies (a change of it updates open dismissals, this one included).
            WriteOp::Check {
                key: company_key(company_id),
                expect: Expect::Version(company_at.0),
            },
        ];
        match apps.services.store.transact(ops).await {
            Ok(()) => {
                if let Some((_, before)) = &existing {
                    forget_steps(apps, before).await;
                }
                break existing.is_some_and(|(_, d)| d.state == DismissalState::Scheduled);
            }
            // Another dismissal of this person landed first: it wins, this one writes nothing.
            Err(StoreError::TransactionCancelled { failed }) if failed.contains(&DISMISSAL_OP) => {
                return Err(changed_meanwhile());
            }
            Err(StoreError::TransactionCancelled { failed })
                if failed.contains(&COMPANY_OP) && attempt < CONFLICT_ATTEMPTS =>
            {
                let item = apps
                    .services
                    .store
                    .get(&company_key(company_id))
                    .await?
                    .ok_or_else(|| Error::not_found("company"))?;
                company_at = (item.version, Listening::of_item(&item));
            }
            // Only the team member changed (another edit): read both again.
            Err(StoreError::TransactionCancelled { .. } | StoreError::Contention(_))
                if attempt < CONFLICT_ATTEMPTS => {}
            Err(StoreError::TransactionCancelled { .. }) => return Err(changed_meanwhile()),
            Err(e) => return Err(e.into()),
        }
    };
    let name = schedule_name(company_id, team_member_id);
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
                at: runs_at(company_id, team_member_id, due_at),
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
pub(super) async fn stop(apps: &Apps, company_id: &str, team_member_id: &str) -> Result<Option<Dismissal>> {
    for _ in 0..3 {
        let Some((version, mut d)) = load(apps, company_id, team_member_id).await? else {
            return Ok(None);
        };
        if !stoppable(&d) {
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
    let company_id = access.company().id.as_str();
    team::get(&apps.services, access, team_member_id).await?;
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
    let company_id = access.company().id.as_str();
    let member = team::get(&apps.services, access, team_member_id).await?;
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
    body: &Unparsed<OffboardingChange>,
) -> Result<OffboardingView> {
    let company_id = access.company().id.as_str();
    let OffboardingChange {
        removal: RemovalChoices(choices),
        confirm,
        retry,
    } = body.parse_for(&apps.services.catalog)?;
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
    // Steps with an item of their own are written there, with the record.
    let mut changed = Vec::new();
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
        for (i, s) in d.steps.iter_mut().enumerate() {
            if matches!(s.state, StepState::Paused { .. }) {
                s.state = StepState::Pending;
                changed.push(i);
            }
        }
    }
    if retry {
        for (i, s) in d.steps.iter_mut().enumerate() {
            if matches!(s.state, StepState::Failed { .. }) {
                s.state = StepState::Pending;
                s.attempts = 0;
                changed.push(i);
            }
        }
    }
    d.updated_at = now;
    let mut steps = Vec::new();
    for &i in &changed {
        let step = &d.steps[i];
        if step.item_version.is_some() {
            steps.push(step_write(&d, step, step)?.0);
        }
    }
    let written = if steps.is_empty() {
        save(apps, &d, Some(version)).await?.is_some()
    } else {
        let mut ops = vec![write_op(&d, Some(version))?];
        ops.extend(steps);
        match apps.services.store.transact(ops).await {
            Ok(()) => true,
            Err(StoreError::TransactionCancelled { .. }) => false,
            Err(e) => return Err(e.into()),
        }
    };
    if !written {
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
