//! The cleanup: a run claims each step, calls the vendor and records the result; the sweep
//! runs what is due (lost schedules, retries, stale runs).

use std::collections::{BTreeMap, HashMap};

use chrono::Duration;
use prov_core::audit::{self, ActorRef, Outcome, Target};
use prov_core::connector::{AccountStatus, ConnectorError, Verified};
use prov_core::error::{Category, Error, Result};
use prov_core::keys::{DISMISSALS_INDEX, dismissal_key};
use prov_core::mail::QueuedMail;
use prov_core::schedule::{ScheduledJob, grace, removal_time};
use prov_core::store::{PageRequest, StoreError, WriteOp};
use prov_core::webhooks::{self, EventType, Listening, Pending};
use serde::Serialize;
use serde_json::{Value, json};

use super::breaker::{BreakerRead, breaker_trips, count_write, read_breaker, uncount_write};
use super::planning::plan;
use super::records::{
    CleanupEvent, Dismissal, DismissalState, MAX_ATTEMPTS, Phase, Removal, ReservedEvent, Step, StepState,
    claim_lease, completion_event, forget_steps, load, pacific_today, put_step, runs_at, save, save_step,
    save_with, schedule_name, step_version, step_write, stoppable,
};
use crate::accounts::{self, Reach};
use crate::alerts;
use crate::connections::{Apps, bound_connector};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunReport {
    pub removed: usize,
    pub failed: usize,
    pub paused: usize,
    /// Removals a vendor asked to wait for (its rate limit): they run when the wait is over.
    pub waiting: usize,
    pub state: Option<DismissalState>,
}

impl RunReport {
    /// This run's report followed by a later run's.
    fn and(self, later: RunReport) -> RunReport {
        RunReport {
            removed: self.removed + later.removed,
            failed: self.failed + later.failed,
            paused: self.paused + later.paused,
            waiting: later.waiting,
            state: later.state,
        }
    }
}

/// How a claim on a step ended.
enum Claim {
    /// Claimed, and its removal counted: the step item's new version.
    Won(u64),
    /// Another run wrote the step first.
    LostStep,
    /// Another removal changed the app's breaker first: read it again.
    LostBreaker,
}

/// Claims step `read` of `d` (`claiming`: the step marked claimed, with its attempt's
/// reserved event) and, with `count`, counts its removal in the app's breaker in the same
/// write: the count happens exactly when the claim lands. A run resuming a claim after a
/// crash does not count again (the claim it resumes was counted when it landed). The write
/// is the step's own item, not the dismissal's record.
async fn claim(
    apps: &Apps,
    d: &Dismissal,
    read: &Step,
    claiming: &Step,
    breaker: &BreakerRead,
    count: bool,
) -> Result<Claim> {
    if !count {
        return Ok(match put_step(apps, d, read, claiming).await? {
            Some(version) => Claim::Won(version),
            None => Claim::LostStep,
        });
    }
    let claimed_at = claiming
        .event
        .as_ref()
        .map_or_else(|| apps.services.clock.now(), |e| e.at);
    let (write, version) = step_write(d, read, claiming)?;
    let ops = vec![
        write,
        count_write(apps, &d.company_id, &claiming.app, breaker, claimed_at)?,
    ];
    match apps.services.store.transact(ops).await {
        Ok(()) => Ok(Claim::Won(version)),
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => Ok(Claim::LostStep),
        Err(StoreError::TransactionCancelled { .. }) => Ok(Claim::LostBreaker),
        Err(e) => Err(e.into()),
    }
}

/// Whether the dismissal is still to run as `d` was read: a claim's write is the step's
/// own, so a run that may be stopped meanwhile (the second step of a two-step offboarding:
/// a rehire cancels it) reads the record again once its claim has landed.
async fn still_to_run(apps: &Apps, d: &Dismissal) -> Result<bool> {
    if !stoppable(d) {
        return Ok(true);
    }
    let stored = apps
        .services
        .store
        .get(&dismissal_key(&d.company_id, &d.team_member_id))
        .await?;
    Ok(match stored {
        Some(item) => {
            let stored: Dismissal = item.record()?;
            stored.state != DismissalState::Cancelled && stored.plan == d.plan
        }
        None => false,
    })
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
        // Reserved with the plan, so that completing it never writes the record twice.
        d.completion_event = Some(ReservedEvent::new(now));
        match save(apps, &d, Some(version)).await? {
            Some(v) => version = v,
            None => return Box::pin(run(apps, company_id, team_member_id)).await, // another run planned first
        }
        // Steps no run can do (accounts of a tenant no longer connected) are in the log
        // from the start.
        for step in d
            .steps
            .iter()
            .filter(|s| matches!(s.state, StepState::Failed { .. }))
        {
            log_step(apps, company_id, step, None).await;
        }
    }
    if d.completion_event.is_none() && !d.steps.is_empty() {
        // A record planned before the completion was reserved with the plan.
        d.completion_event = Some(ReservedEvent::new(now));
        match save(apps, &d, Some(version)).await? {
            Some(v) => version = v,
            None => return Box::pin(run(apps, company_id, team_member_id)).await,
        }
    }
    let lease = claim_lease(apps);
    let mut managed: HashMap<String, usize> = HashMap::new();
    'steps: for i in 0..d.steps.len() {
        let step = &d.steps[i];
        let pending_due =
            matches!(step.state, StepState::Pending) && step.not_before.is_none_or(|t| t <= now);
        let stale_claim = matches!(step.state, StepState::Claimed { at } if at + lease <= now);
        let retry_due = matches!(step.state, StepState::Failed { .. })
            && step.attempts < MAX_ATTEMPTS
            && d.next_run_at.is_some_and(|t| t <= now);
        if !(pending_due || stale_claim || retry_due) {
            continue;
        }
        let app_slug = step.app.clone();
        // Claim the step: only the run whose write lands calls the vendor. A new attempt
        // reserves its audit event; resuming a dead run's attempt keeps that one's.
        let mut before_claim = None;
        for _ in 0..5 {
            let (trips, breaker) = breaker_trips(apps, company_id, &app_slug, &mut managed).await?;
            if trips {
                d.steps[i].state = StepState::Paused {
                    reason: "An unusual share of this app's accounts is being removed within an hour; an admin must confirm.".into(),
                };
                report.paused += 1;
                if !save_step(apps, &mut d, i).await? {
                    return Box::pin(run(apps, company_id, team_member_id)).await;
                }
                continue 'steps;
            }
            let read = d.steps[i].clone();
            let mut claiming = read.clone();
            claiming.state = StepState::Claimed { at: now };
            claiming.attempts += 1;
            claiming.not_before = None;
            if !stale_claim || claiming.event.is_none() {
                claiming.event = Some(ReservedEvent::new(now));
            }
            // A new attempt is counted with its claim; a resumed one was counted when its
            // claim landed (before steps had items, under its attempt: counted again if not).
            let count = !stale_claim
                || (read.item_version.is_none()
                    && !claiming
                        .event
                        .as_ref()
                        .is_some_and(|e| breaker.counted_by_attempt(&e.id)));
            match claim(apps, &d, &read, &claiming, &breaker, count).await? {
                Claim::Won(v) => {
                    claiming.item_version = Some(v);
                    d.steps[i] = claiming;
                    before_claim = Some(read);
                    break;
                }
                Claim::LostStep => return Box::pin(run(apps, company_id, team_member_id)).await,
                Claim::LostBreaker => {}
            }
        }
        let Some(mut given_back) = before_claim else {
            return Err(Error::Busy("the circuit breaker kept changing".into()));
        };
        if !still_to_run(apps, &d).await? {
            // Stopped meanwhile: the claim is given back and its count taken back.
            let claimed = d.steps[i].clone();
            given_back.item_version = claimed.item_version;
            d.steps[i] = given_back;
            record_step(apps, &mut d, i, claimed.event.as_ref()).await?;
            report.state = Some(DismissalState::Cancelled);
            return Ok(report);
        }
        let step = d.steps[i].clone();
        let event = step.event.clone().unwrap_or_else(|| ReservedEvent::new(now));
        let outcome = remove_one(apps, company_id, &d.webhooks, &step, stale_claim).await;
        let done_at = apps.services.clock.now();
        let mut result = step.clone();
        match &outcome {
            Ok(verified) => {
                report.removed += 1;
                result.state = StepState::Done {
                    at: done_at,
                    verified: Some(*verified),
                };
            }
            Err(StepFailure::Wait(wait)) => {
                // Not the vendor's failure, and nothing removed: the step waits for the time
                // the vendor asked (the schedule comes back then), its count taken back.
                report.waiting += 1;
                result.state = StepState::Pending;
                result.attempts -= 1;
                result.event = None;
                result.not_before = Some(done_at + Duration::from_std(*wait).unwrap_or(Duration::minutes(1)));
            }
            Err(StepFailure::Failed { reason, final_ }) => {
                report.failed += 1;
                if *final_ {
                    // No retry can do it: an admin must (e.g. in a tenant no longer connected).
                    result.attempts = MAX_ATTEMPTS;
                }
                result.state = StepState::Failed {
                    reason: reason.clone(),
                };
            }
        }
        if !matches!(outcome, Err(StepFailure::Wait(_))) {
            // The event first (once, under the reserved id): a crash before the result lands
            // leaves the claim, and the run that resumes it logs the same event.
            log_step(apps, company_id, &result, Some(&outcome)).await;
        }
        // The vendor has acted: the result must land even if another run wrote meanwhile.
        // A removal that did not happen takes its count back in the same write.
        d.steps[i] = result;
        let removed_nothing = outcome.is_err().then_some(&event);
        record_step(apps, &mut d, i, removed_nothing).await?;
    }
    for _ in 0..10 {
        if finish(apps, &mut d, version, &mut report).await? {
            // A step whose vendor wait ended while this run waited for others is due now:
            // no schedule was made for it (that is for waits still ahead), so it runs now.
            let now = apps.services.clock.now();
            let due_now = d.state == DismissalState::Running
                && d.steps
                    .iter()
                    .any(|s| matches!(s.state, StepState::Pending) && s.not_before.is_some_and(|t| t <= now));
            if due_now {
                let more = Box::pin(run(apps, company_id, team_member_id)).await?;
                return Ok(report.and(more));
            }
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

/// Writes step `i`'s new state into its item, over whatever another run wrote meanwhile;
/// with `uncount` (the attempt that removed nothing), takes its count back from the app's
/// breaker in the same write, so a removal is counted exactly while its claim stands.
pub(super) async fn record_step(
    apps: &Apps,
    d: &mut Dismissal,
    i: usize,
    uncount: Option<&ReservedEvent>,
) -> Result<()> {
    let (company_id, app) = (d.company_id.clone(), d.steps[i].app.clone());
    for _ in 0..10 {
        let taken_back = match uncount {
            Some(attempt) => {
                let read = read_breaker(apps, &company_id, &app).await?;
                uncount_write(apps, &company_id, &app, &read, &attempt.id, attempt.at)?
            }
            None => None,
        };
        let Some(taken_back) = taken_back else {
            if save_step(apps, d, i).await? {
                return Ok(());
            }
            d.steps[i].item_version = step_version(apps, d, &d.steps[i]).await?;
            continue;
        };
        let (write, version) = step_write(d, &d.steps[i], &d.steps[i])?;
        match apps.services.store.transact(vec![write, taken_back]).await {
            Ok(()) => {
                d.steps[i].item_version = Some(version);
                return Ok(());
            }
            Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => {
                d.steps[i].item_version = step_version(apps, d, &d.steps[i]).await?;
            }
            // The breaker changed meanwhile: read it again.
            Err(StoreError::TransactionCancelled { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Busy("the dismissal's step kept changing".into()))
}

/// A step's `account.*_at_dismissal` event, once under the id its attempt reserved: the
/// removal's proof, or why it failed (`outcome` `None`: the step failed at planning).
async fn log_step(
    apps: &Apps,
    company_id: &str,
    step: &Step,
    outcome: Option<&std::result::Result<Verified, StepFailure>>,
) {
    let now = apps.services.clock.now();
    let event = step.event.clone().unwrap_or_else(|| ReservedEvent::new(now));
    let (result, detail) = match (outcome, &step.state) {
        (Some(Ok(verified)), _) => (Outcome::Succeeded, format!("verified: {}", verified.as_str())),
        (Some(Err(StepFailure::Failed { reason, .. })), _) => (Outcome::Failed, reason.clone()),
        (Some(Err(StepFailure::Wait(_))), _) => return,
        (None, StepState::Failed { reason }) => (Outcome::Failed, reason.clone()),
        (None, _) => return,
    };
    // A failed try and the success of the run that resumes it are two events.
    let event_id = match result {
        Outcome::Succeeded => event.id.clone(),
        Outcome::Failed => format!("{}f", event.id),
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
            result,
            detail: Some(detail),
        },
        &event_id,
        event.at,
    )
    .await;
}

/// Why a step did not remove its account.
#[derive(Debug, Clone)]
pub(super) enum StepFailure {
    /// The vendor asked for time (its rate limit): the step waits that long, without
    /// counting as a failed attempt.
    Wait(std::time::Duration),
    Failed {
        /// Said to the admin.
        reason: String,
        /// No automatic retry can succeed: an admin must act.
        final_: bool,
    },
}

/// How long a step waits when the vendor rate limits without saying for how long.
const UNTOLD_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

impl From<String> for StepFailure {
    fn from(reason: String) -> Self {
        Self::Failed {
            reason,
            final_: false,
        }
    }
}

impl From<Error> for StepFailure {
    fn from(e: Error) -> Self {
        match e.details().and_then(|d| d.first()) {
            Some(d) if d.category == Category::RateLimited => {
                Self::Wait(d.retry_after.unwrap_or(UNTOLD_WAIT))
            }
            Some(d) => d.message.clone().into(),
            None => e.to_string().into(),
        }
    }
}

impl From<ConnectorError> for StepFailure {
    fn from(e: ConnectorError) -> Self {
        match e {
            ConnectorError::RateLimited { retry_after } => Self::Wait(retry_after.unwrap_or(UNTOLD_WAIT)),
            other => other.to_string().into(),
        }
    }
}

/// The vendor call of one step, answering how the removal was proven. After a crash
/// (`reconcile`), or when the record says the account is gone already, the vendor is asked
/// first whether it is gone or suspended; an account of a tenant the app is no longer
/// connected to is never touched.
pub(super) async fn remove_one(
    apps: &Apps,
    company_id: &str,
    listening: &Listening,
    step: &Step,
    reconcile: bool,
) -> std::result::Result<Verified, StepFailure> {
    let app = apps.services.catalog.get(&step.app)?;
    let (version, account) = accounts::load(apps, company_id, &step.app, &step.account_id).await?;
    if account.team_member_id().is_none() {
        return Err("The account was unmatched; it is no longer managed here."
            .to_owned()
            .into());
    }
    let bound = bound_connector(apps, company_id, &step.app).await?;
    let reach = Reach::connected(bound.tenant.clone());
    if let Some(former) = reach.former(&account) {
        let who = account.email.as_deref().unwrap_or(&account.vendor_id);
        return Err(StepFailure::Failed {
            reason: accounts::remove_yourself(app, who, former, reach.tenant.as_ref()),
            final_: true,
        });
    }
    let recorded_gone = !account.present || account.status == AccountStatus::Deleted;
    if reconcile || recorded_gone {
        let at_vendor = bound.connector.get(&account.vendor_id).await?;
        // The account's own resource: not found is gone. Where removal deactivates, a
        // removed account reads as suspended: already removed.
        let status = at_vendor.map(|a| a.status);
        let proof = match (step.removal, status) {
            (_, None) => Some(Verified::AlreadyGone),
            (Removal::Delete, Some(AccountStatus::Deleted))
            | (Removal::Suspend, Some(AccountStatus::Suspended)) => Some(Verified::ReadBack),
            (Removal::Delete, Some(AccountStatus::Suspended)) if app.removal_deactivates => {
                Some(Verified::ReadBack)
            }
            _ => None,
        };
        if let Some(proof) = proof {
            let status = match (step.removal, status) {
                (Removal::Suspend, Some(_)) => AccountStatus::Suspended,
                _ => AccountStatus::Deleted,
            };
            accounts::record_status(apps, company_id, listening, &step.app, &account.id, status).await?;
            return Ok(proof);
        }
        if recorded_gone && step.removal == Removal::Delete {
            // Recorded as removed, still listed: an app whose removal deactivates (it
            // reads as suspended). Removing again is safe (gone is fine) and proves it.
            let proof = bound.connector.delete(&account.vendor_id).await?;
            accounts::record_status(
                apps,
                company_id,
                listening,
                &step.app,
                &account.id,
                AccountStatus::Deleted,
            )
            .await?;
            return Ok(proof);
        }
    }
    let done = accounts::perform_with(
        apps,
        company_id,
        listening,
        app,
        &bound,
        version,
        account,
        step.removal.action(),
    )
    .await?;
    done.verified
        .ok_or_else(|| "The removal was not proven by the app.".to_owned().into())
}

/// The completed dismissal's account by account summary: what was done to each and how it
/// was proven.
fn completion_detail(steps: &[Step]) -> String {
    let each: Vec<String> = steps
        .iter()
        .map(|s| {
            let who = s.email.as_deref().unwrap_or(&s.account_id);
            let done = match s.removal {
                Removal::Delete => "removed",
                Removal::Suspend => "suspended",
            };
            match &s.state {
                StepState::Done {
                    verified: Some(v), ..
                } => format!("{} {who}: {done} (verified: {})", s.app, v.as_str()),
                StepState::Done { verified: None, .. } => format!("{} {who}: {done}", s.app),
                StepState::Skipped { reason } => format!("{} {who}: skipped ({reason})", s.app),
                _ => format!("{} {who}: not done", s.app),
            }
        })
        .collect();
    format!("{} accounts: {}", steps.len(), each.join("; "))
}

/// Settles the dismissal's state after a run; `false` when another run wrote first.
pub(super) async fn finish(
    apps: &Apps,
    d: &mut Dismissal,
    version: u64,
    report: &mut RunReport,
) -> Result<bool> {
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
    // Open steps are looked at again when a vendor's wait ends, or when a claim's lease does.
    let lease = claim_lease(apps);
    let next_look = d
        .steps
        .iter()
        .filter(|s| open(s))
        .map(|s| match s.state {
            StepState::Claimed { at } => at + lease,
            _ => s.not_before.unwrap_or(now),
        })
        .min();
    let (state, next_run_at, problem) = if let Some(next) = next_look {
        (DismissalState::Running, Some(next.max(now)), None)
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
        // Counted from the suspension, not from the nominal removal time (a past last day
        // suspends now): 00:00 Pacific on the Nth day after the day of the suspension, as
        // access ends at 00:00 after the last day (days, not N × 24 hours: DST may change).
        let suspended_on = pacific_today(now.max(d.due_at));
        let at = removal_time(suspended_on + Duration::days(days - 1));
        next.phase = Phase::DeleteSuspended;
        next.state = DismissalState::Scheduled;
        next.due_at = at;
        next.next_run_at = Some(runs_at(&d.company_id, &d.team_member_id, at));
        next.choices = BTreeMap::new();
        next.two_step_days = None;
        next.steps = Vec::new();
        next.plan = d.plan + 1;
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
        let event = completion_event(d, now);
        audit::record_once(
            &apps.services,
            audit::Record {
                company_id: &d.company_id,
                actor: ActorRef::System,
                request_id: "",
                action: "dismissal.completed",
                target: Target::new("team_member", &d.team_member_id),
                result: Outcome::Succeeded,
                detail: Some(completion_detail(&d.steps)),
            },
            &event.id,
            event.at,
        )
        .await;
    }
    let (mut events, pending) = partner_events(d, &next, completed)?;
    // Coming to need an admin: they are told at once, with the dismissal's write.
    let mut mails = Vec::new();
    if needs_an_admin(d, &next) {
        let (ops, queued) = attention_alert(apps, d, &next).await?;
        events.extend(ops);
        mails = queued;
    }
    if save_with(apps, &next, Some(version), events).await?.is_none() {
        return Ok(false);
    }
    webhooks::nudge(apps.queue.as_ref(), &pending).await;
    alerts::send(apps, &mails).await;
    if second_step {
        forget_steps(apps, d).await;
    }
    // The second step's removals, and steps waiting for a vendor, come back on their own
    // schedule (the sweep is only a safety net).
    let waiting = next.state == DismissalState::Running
        && next.steps.iter().any(|s| s.not_before.is_some_and(|t| t > now));
    if let (true, Some(at)) = (second_step || waiting, next.next_run_at) {
        apps.scheduler
            .schedule(&ScheduledJob {
                name: schedule_name(&d.company_id, &d.team_member_id),
                at,
                payload: json!({"kind": "dismissal_due", "company_id": d.company_id, "team_member_id": d.team_member_id}),
            })
            .await?;
    }
    report.state = Some(next.state);
    *d = next;
    Ok(true)
}

/// Whether a dismissal's settling makes it need an admin (failed or paused removals) when
/// it did not before.
fn needs_an_admin(before: &Dismissal, next: &Dismissal) -> bool {
    matches!(
        next.state,
        DismissalState::NeedsAttention | DismissalState::Paused
    ) && next.state != before.state
}

/// The emails telling the admins who manage apps that an offboarding needs them.
async fn attention_alert(
    apps: &Apps,
    before: &Dismissal,
    next: &Dismissal,
) -> Result<(Vec<WriteOp>, Vec<QueuedMail>)> {
    let company_id = &before.company_id;
    let tm = &before.team_member_id;
    let name = match prov_core::team::load(&apps.services, company_id, tm).await {
        Ok((_, member)) => member.full_name(),
        Err(_) => "A dismissed team member".to_owned(),
    };
    let subject = format!("Offboarding needs attention: {name}");
    let text = format!(
        "Removing {name}'s app access did not finish: {}\n\nWhat to do: open the \"Remove app access\" task, then retry, confirm or remove the accounts left by hand: {}\n",
        next.problem.as_deref().unwrap_or("some removals failed"),
        alerts::console_link(apps, &format!("/team/{tm}/offboarding"))
    );
    let recipients = alerts::recipients(apps, company_id).await?;
    alerts::emails(apps, &recipients, &subject, &text)
}

/// The partner events a dismissal's settling causes, for its write: `dismissal.completed`
/// (under the id reserved for its audit event), or `offboarding.needs_attention` when it
/// comes to need an admin (failed or paused removals).
fn partner_events(
    before: &Dismissal,
    next: &Dismissal,
    completed: bool,
) -> Result<(Vec<WriteOp>, Vec<Pending>)> {
    let accounts = |steps: &[Step]| -> Vec<Value> {
        steps
            .iter()
            .map(|s| {
                let (state, verified, reason) = match &s.state {
                    StepState::Done { verified, .. } => ("done", verified.map(|v| v.as_str()), None),
                    StepState::Skipped { reason } => ("skipped", None, Some(reason.as_str())),
                    StepState::Failed { reason } => ("failed", None, Some(reason.as_str())),
                    StepState::Paused { reason } => ("paused", None, Some(reason.as_str())),
                    StepState::Pending | StepState::Claimed { .. } => ("pending", None, None),
                };
                json!({
                    "app": s.app,
                    "account_id": s.account_id,
                    "email": s.email,
                    "removal": s.removal,
                    "state": state,
                    "verified": verified,
                    "reason": reason,
                })
            })
            .collect()
    };
    let event = if completed {
        let reserved = completion_event(before, next.updated_at);
        webhooks::outbox(
            &before.webhooks,
            &before.company_id,
            EventType::DismissalCompleted,
            &reserved.id,
            reserved.at,
            json!({
                "team_member_id": before.team_member_id,
                "last_day": before.last_day,
                "completed_at": next.completed_at,
                "accounts": accounts(&before.steps),
            }),
        )?
    } else if needs_an_admin(before, next) {
        webhooks::outbox(
            &before.webhooks,
            &before.company_id,
            EventType::OffboardingNeedsAttention,
            &audit::new_event_id(),
            next.updated_at,
            json!({
                "team_member_id": before.team_member_id,
                "last_day": before.last_day,
                "state": if next.state == DismissalState::Paused { "paused" } else { "needs_attention" },
                "problem": next.problem,
                "accounts": accounts(&before.steps),
            }),
        )?
    } else {
        None
    };
    Ok(event.map(|(op, p)| (vec![op], vec![p])).unwrap_or_default())
}

/// Runs every dismissal whose time has come (lost schedules, retries, stale runs) and sends
/// queued email. The rate schedule calls it; so does the devserver's ticker. Each dismissal
/// is run on its own: one that fails (a broken record, a store error in one company) is
/// logged and left for the next sweep, and the others still run. Answers how many ran.
pub async fn sweep(apps: &Apps) -> Result<usize> {
    let now = apps.services.clock.now();
    let mut ran = 0;
    let mut cursor = None;
    'pages: loop {
        let page = apps
            .services
            .store
            .query_index(DISMISSALS_INDEX, PageRequest::first(100).after(cursor))
            .await?;
        for item in &page.items {
            let d = match item.record::<Dismissal>() {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(error = %e, key = ?item.key, "a dismissal record does not read; the sweep goes on");
                    continue;
                }
            };
            if d.next_run_at.is_none_or(|t| t > now) {
                break 'pages; // the index is in time order
            }
            match run(apps, &d.company_id, &d.team_member_id).await {
                Ok(_) => ran += 1,
                Err(e) => tracing::error!(
                    error = %e,
                    company_id = d.company_id,
                    team_member_id = d.team_member_id,
                    "a dismissal failed in the sweep; the next sweep tries it again"
                ),
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
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
