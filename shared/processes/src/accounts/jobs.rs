//! Sync jobs: an app's sync run in the background by a worker, one job per company and app.
//!
//! `start` records the job and queues a message; the worker (`run`) claims the job with a
//! lease, reads the vendor's listing page by page and checkpoints after each page (the vendor
//! cursor, the counts, and the page's vendor ids, in one transaction). It stops well before
//! its invocation's time limit and queues a follow-up message that continues from the
//! checkpoint; a crash resumes from the last checkpoint once the lease and the message's
//! visibility run out. After the listing come the accounts it no longer has (vanished), then
//! the findings of the access report, then the job is done.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use prov_core::access::Access;
use prov_core::audit::{self, Actor, ActorRef, Outcome, Record, Target, new_event_id};
use prov_core::catalog::App;
use prov_core::connections::ConnectionState;
use prov_core::connector::{AccountStatus, ConnectorError};
use prov_core::error::{Error, Result};
use prov_core::keys::{
    DISMISSALS, SYNC_JOBS, company_partition, sync_job_key, sync_key, sync_seen_key, sync_seen_prefix,
};
use prov_core::secret::{hash_secret, new_ordered_id};
use prov_core::store::{Attempt, Cursor, Item, PageRequest, StoreError, WriteOp, retry_lost_writes};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::records::{AppAccount, action_error, app_of};
use super::sync::{
    MAX_SYNC_PAGES, Planned, Scope, SyncRecord, SyncReport, VendorChange, apply_page, plan_page, sweep_known,
    sweep_page,
};
use crate::connections::{Apps, bound_connector, connection_of};
use crate::dismissal::{Dismissal, DismissalState};
use crate::reconcile::findings::{self, FindingKind, Logged, Observed};

/// A job neither finished nor touched for this long was lost (its message went to the
/// dead-letter queue): a new request starts it again.
const STALE_MINUTES: i64 = 30;
/// Consecutive failed attempts of a vendor call that may succeed later before the job fails.
const MAX_FAILURES: u32 = 5;
/// Invitations pending longer than this are a finding.
const PENDING_DAYS: i64 = 7;
/// Accounts named in a finding about several.
const SAMPLE: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
}

/// Why a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// An admin or partner asked.
    Requested,
    /// The scheduled reconciliation.
    Scheduled,
}

/// Where a job is.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
enum Step {
    /// Reading the vendor's listing from `cursor` (`None`: the first page).
    Listing {
        cursor: Option<String>,
        /// The cursor before it, to notice a vendor answering the same page again.
        previous: Option<String>,
    },
    /// Looking for accounts the listing no longer has, from `cursor` in the records.
    Vanishing {
        cursor: Option<Cursor>,
    },
    /// Settling the findings and clearing the job's working records; `at` is when it began,
    /// `event` the id reserved for its `app.synced` event.
    Finishing {
        at: DateTime<Utc>,
        event: String,
    },
    Done,
}

impl Step {
    fn name(&self) -> &'static str {
        match self {
            Step::Listing { .. } => "listing",
            Step::Vanishing { .. } => "vanishing",
            Step::Finishing { .. } => "finishing",
            Step::Done => "done",
        }
    }
}

/// What the sweep of the records found for the report, gathered across invocations.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Tally {
    unmatched: u64,
    unmatched_sample: Vec<String>,
    do_not_match: u64,
    pending: u64,
    pending_sample: Vec<String>,
    /// Accounts of dismissed people still active: (account, team member, email).
    not_removed: Vec<(String, String, Option<String>)>,
}

/// The job record (`SYNCJOB#<app>`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SyncJob {
    id: String,
    app: String,
    company_id: String,
    state: JobState,
    trigger: Trigger,
    requested_by: ActorRef,
    request_id: String,
    pages_read: u64,
    accounts_seen: u64,
    changes: SyncReport,
    errors: Vec<String>,
    queued_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    invocations: u32,
    step: Step,
    /// Until when the worker that claimed the job has it.
    lease_until: Option<DateTime<Utc>>,
    /// When the current page began, and the event id its changes' ids start with (a page
    /// applied again after a crash logs its events under the same keys).
    page_at: DateTime<Utc>,
    page_events: String,
    /// Whether an earlier sync completed: only then is a new account one created outside
    /// the service.
    baseline: bool,
    /// Failed attempts in a row (vendor calls that may succeed later).
    failures: u32,
    tally: Tally,
}

/// A sync job as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SyncJobView {
    pub id: String,
    pub app: String,
    pub state: JobState,
    /// `listing`, `vanishing`, `finishing` or `done`.
    pub step: String,
    pub trigger: Trigger,
    pub pages_read: u64,
    /// Accounts in the vendor's listing so far.
    pub accounts_seen: u64,
    /// What changed so far.
    pub changes: SyncReport,
    /// What went wrong (attempts that are retried included).
    pub errors: Vec<String>,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Worker invocations so far.
    pub invocations: u32,
}

impl SyncJob {
    fn view(&self) -> SyncJobView {
        SyncJobView {
            id: self.id.clone(),
            app: self.app.clone(),
            state: self.state,
            step: self.step.name().to_owned(),
            trigger: self.trigger,
            pages_read: self.pages_read,
            accounts_seen: self.accounts_seen,
            changes: self.changes.clone(),
            errors: self.errors.clone(),
            queued_at: self.queued_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
            invocations: self.invocations,
        }
    }

    fn active(&self, now: DateTime<Utc>) -> bool {
        matches!(self.state, JobState::Queued | JobState::Running)
            && self.updated_at + Duration::minutes(STALE_MINUTES) > now
    }

    fn logged(&self) -> Logged<'_> {
        Logged {
            actor: self.requested_by.clone(),
            request_id: &self.request_id,
        }
    }
}

/// What the queue carries to the worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobMessage {
    Sync {
        company_id: String,
        app: String,
        job_id: String,
    },
}

/// A sync job started, or the running one joined.
pub struct Started {
    pub job: SyncJobView,
    /// Whether this request started it (otherwise it joined a job already running).
    pub started: bool,
}

/// Starts a sync of a connected app in the background, or joins the one running.
pub async fn start_sync(apps: &Apps, actor: &Actor, access: &Access, slug: &str) -> Result<Started> {
    let by = ActorRef::from(&actor.principal);
    start(
        apps,
        &access.company().id,
        slug,
        by,
        &actor.request_id,
        Trigger::Requested,
    )
    .await
}

/// The app's current or last sync job.
pub async fn sync_status(apps: &Apps, access: &Access, slug: &str) -> Result<SyncJobView> {
    app_of(apps, slug)?;
    match load(apps, &access.company().id, slug).await? {
        Some((_, job)) => Ok(job.view()),
        None => Err(Error::not_found("sync")),
    }
}

pub(crate) async fn start(
    apps: &Apps,
    company_id: &str,
    slug: &str,
    by: ActorRef,
    request_id: &str,
    trigger: Trigger,
) -> Result<Started> {
    let app = app_of(apps, slug)?;
    let connected = connection_of(apps, company_id, slug)
        .await?
        .is_some_and(|c| c.state == ConnectionState::Connected);
    if !connected || apps.vendors.connect_options(slug).is_none() {
        return Err(Error::invalid("app", format!("{} is not connected.", app.name)));
    }
    let key = sync_job_key(company_id, slug);
    let baseline = apps
        .services
        .store
        .get(&sync_key(company_id, slug))
        .await?
        .is_some();
    let (key, by) = (&key, &by);
    let outcome = retry_lost_writes(3, move || async move {
        let now = apps.services.clock.now();
        let existing = apps.services.store.get(key).await?;
        if let Some(item) = &existing {
            let job: SyncJob = item.record()?;
            if job.active(now) {
                return Ok::<_, Error>(Attempt::Done((job, false)));
            }
        }
        let job = SyncJob {
            id: new_ordered_id("job"),
            app: slug.to_owned(),
            company_id: company_id.to_owned(),
            state: JobState::Queued,
            trigger,
            requested_by: by.clone(),
            request_id: request_id.to_owned(),
            pages_read: 0,
            accounts_seen: 0,
            changes: SyncReport::default(),
            errors: Vec::new(),
            queued_at: now,
            started_at: None,
            finished_at: None,
            updated_at: now,
            invocations: 0,
            step: Step::Listing {
                cursor: None,
                previous: None,
            },
            lease_until: None,
            page_at: now,
            page_events: new_event_id(),
            baseline,
            failures: 0,
            tally: Tally::default(),
        };
        let item = Item::from_record(key.clone(), &job)?;
        let written = match &existing {
            Some(old) => apps.services.store.replace(item, old.version).await,
            None => apps.services.store.create(item).await,
        };
        Ok(Attempt::of(written)?.map(|_| (job, true)))
    })
    .await?;
    let (job, started) = outcome.ok_or_else(|| Error::Busy("the sync job kept changing".into()))?;
    if started {
        // Written before it is queued: a job whose message was lost is stale after
        // `STALE_MINUTES` and the next request (or the schedule) starts it again.
        send(apps, &job, Duration::zero()).await?;
    }
    Ok(Started {
        job: job.view(),
        started,
    })
}

async fn send(apps: &Apps, job: &SyncJob, delay: Duration) -> Result<()> {
    let message = JobMessage::Sync {
        company_id: job.company_id.clone(),
        app: job.app.clone(),
        job_id: job.id.clone(),
    };
    let body = serde_json::to_value(&message).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(apps.queue.send(&body, delay).await?)
}

async fn load(apps: &Apps, company_id: &str, slug: &str) -> Result<Option<(u64, SyncJob)>> {
    Ok(
        match apps.services.store.get(&sync_job_key(company_id, slug)).await? {
            Some(item) => Some((item.version, item.record()?)),
            None => None,
        },
    )
}

/// How much one worker invocation may do.
#[derive(Debug, Clone, Copy)]
pub struct RunLimits {
    /// Wall time after which no new page starts (well before the function's time limit).
    pub budget: std::time::Duration,
    /// Pages read per invocation at most.
    pub max_pages: u64,
    /// How long a claimed job is the claiming worker's: longer than an invocation runs, and
    /// shorter than the queue's visibility timeout, so a crashed job's message comes back
    /// after its lease ended.
    pub lease: Duration,
}

impl Default for RunLimits {
    fn default() -> Self {
        Self {
            budget: std::time::Duration::from_secs(40),
            max_pages: MAX_SYNC_PAGES,
            lease: Duration::minutes(5),
        }
    }
}

/// What one delivery of a message came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// The job finished (succeeded or failed).
    Finished(JobState),
    /// Out of budget: a follow-up message continues it.
    Continued,
    /// Another worker has the job, or the message is of a job that is over or replaced.
    Skipped,
}

/// Runs one message of the jobs queue (the worker's entry, in AWS and in the devserver).
/// A message that is not a job's is an error, so the queue gives it to its dead letters.
pub async fn deliver(apps: &Apps, body: &serde_json::Value, limits: RunLimits) -> Result<RunOutcome> {
    let message: JobMessage = serde_json::from_value(body.clone())
        .map_err(|e| Error::Internal(format!("a queued message is not a job's: {e}")))?;
    run(apps, &message, limits).await
}

/// Runs a queued job's message: safe to deliver any number of times, concurrently or after
/// a crash. An error leaves the job to the message's next delivery.
pub async fn run(apps: &Apps, message: &JobMessage, limits: RunLimits) -> Result<RunOutcome> {
    let JobMessage::Sync {
        company_id,
        app: slug,
        job_id,
    } = message;
    let app = app_of(apps, slug)?;
    let Some((version, mut job)) = load(apps, company_id, slug).await? else {
        return Ok(RunOutcome::Skipped);
    };
    let now = apps.services.clock.now();
    if job.id != *job_id
        || !matches!(job.state, JobState::Queued | JobState::Running)
        || job.lease_until.is_some_and(|until| until > now)
    {
        return Ok(RunOutcome::Skipped);
    }
    job.state = JobState::Running;
    job.started_at.get_or_insert(now);
    job.lease_until = Some(now + limits.lease);
    job.invocations += 1;
    job.updated_at = now;
    let Some(version) = save(apps, &job, version).await? else {
        return Ok(RunOutcome::Skipped); // another delivery claimed it first
    };
    let mut worker = Worker {
        apps,
        app,
        job,
        version,
        limits,
        began: Instant::now(),
        pages: 0,
        tenant: None,
        known: None,
    };
    worker.work().await
}

/// Writes the job at the version read; `None` when another worker wrote it meanwhile.
async fn save(apps: &Apps, job: &SyncJob, version: u64) -> Result<Option<u64>> {
    let key = sync_job_key(&job.company_id, &job.app);
    match apps
        .services
        .store
        .replace(Item::from_record(key, job)?, version)
        .await
    {
        Ok(v) => Ok(Some(v)),
        Err(StoreError::ConditionFailed) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A message to show: the refusal's own words, never internals.
fn message_of(e: &Error) -> String {
    match e.details() {
        Some(details) => details
            .iter()
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
            .join(" "),
        None => "an internal error; it is logged".to_owned(),
    }
}

struct Worker<'a> {
    apps: &'a Apps,
    app: &'static App,
    job: SyncJob,
    version: u64,
    limits: RunLimits,
    began: Instant,
    pages: u64,
    /// The connection's tenant, once this invocation has read it.
    tenant: Option<Option<prov_core::connector::VendorTenant>>,
    /// The app's records as this invocation's listing left them, when it read them at once.
    known: Option<HashMap<String, (u64, AppAccount)>>,
}

impl Worker<'_> {
    fn out_of_budget(&self) -> bool {
        self.pages >= self.limits.max_pages || self.began.elapsed() >= self.limits.budget
    }

    /// Writes the job; `false` when the lease was lost to another worker.
    async fn checkpoint(&mut self, extra: Vec<WriteOp>) -> Result<bool> {
        self.job.updated_at = self.apps.services.clock.now();
        let key = sync_job_key(&self.job.company_id, &self.job.app);
        let mut ops = extra;
        ops.push(WriteOp::Replace {
            item: Item::from_record(key.clone(), &self.job)?,
            expected_version: self.version,
        });
        let last = ops.len() - 1;
        match self.apps.services.store.transact(ops).await {
            Ok(()) => {}
            Err(StoreError::TransactionCancelled { failed }) if failed.contains(&last) => return Ok(false),
            Err(e) => return Err(e.into()),
        }
        // A transaction answers no version: the job's is one more than it was.
        self.version += 1;
        Ok(true)
    }

    async fn work(&mut self) -> Result<RunOutcome> {
        loop {
            let progressed = match self.job.step.clone() {
                Step::Listing { cursor, previous } => self.list(cursor, previous).await?,
                Step::Vanishing { cursor } => self.vanish(cursor).await?,
                Step::Finishing { at, event } => self.finish(at, &event).await?,
                Step::Done => return Ok(RunOutcome::Finished(self.job.state)),
            };
            match progressed {
                Progress::Next => continue,
                Progress::OutOfBudget => return self.continue_later(Duration::zero()).await,
                Progress::Lost => return Ok(RunOutcome::Skipped),
                Progress::Retry(delay) => return self.continue_later(delay).await,
                Progress::Over => return Ok(RunOutcome::Finished(self.job.state)),
            }
        }
    }

    /// Lets the job go and queues the message that continues it.
    async fn continue_later(&mut self, delay: Duration) -> Result<RunOutcome> {
        self.job.lease_until = None;
        if !self.checkpoint(Vec::new()).await? {
            return Ok(RunOutcome::Skipped);
        }
        send(self.apps, &self.job, delay).await?;
        Ok(RunOutcome::Continued)
    }

    async fn scope(&mut self) -> Result<Result<(Box<dyn prov_core::connector::Connector>, Scope), Error>> {
        let bound = match bound_connector(self.apps, &self.job.company_id, &self.job.app).await {
            Ok(bound) => bound,
            Err(e) if e.details().is_some() => return Ok(Err(e)),
            Err(e) => return Err(e),
        };
        let caps = bound.connector.capabilities();
        let scope = Scope::load(self.apps, self.app, &self.job.company_id, bound.tenant, caps).await?;
        self.tenant = Some(scope.tenant.clone());
        Ok(Ok((bound.connector, scope)))
    }

    async fn list(&mut self, mut cursor: Option<String>, mut previous: Option<String>) -> Result<Progress> {
        let (connector, mut scope) = match self.scope().await? {
            Ok(ready) => ready,
            Err(refused) => return self.fail(refused, false).await,
        };
        loop {
            if self.out_of_budget() {
                return Ok(Progress::OutOfBudget);
            }
            let page = match connector.list(cursor.as_deref()).await {
                Ok(page) => page,
                Err(e) => return self.vendor_failed(e).await,
            };
            self.pages += 1;
            let page_at = self.job.page_at;
            let planned = plan_page(self.apps, &scope, &page.accounts, page_at).await?;
            self.note_changes(&planned).await?;
            let report = apply_page(self.apps, &mut scope, planned, page_at).await?;
            let ids: Vec<&str> = page.accounts.iter().map(|a| a.id.as_str()).collect();
            let seen = Item::from_record(
                sync_seen_key(
                    &self.job.company_id,
                    &self.job.app,
                    &self.job.id,
                    self.job.pages_read,
                ),
                &json!({ "ids": ids }),
            )?;
            self.job.pages_read += 1;
            self.job.accounts_seen += report.total as u64;
            add(&mut self.job.changes, &report);
            self.job.failures = 0;
            self.job.page_at = self.apps.services.clock.now();
            self.job.page_events = new_event_id();
            let repeated = page.next.is_some() && (page.next == cursor || page.next == previous);
            if repeated || (page.next.is_some() && self.job.pages_read >= MAX_SYNC_PAGES) {
                let why = format!(
                    "{}'s listing did not end (a repeated page, or more than {MAX_SYNC_PAGES} pages); no account was marked vanished",
                    self.app.name
                );
                return self.fail(Error::invalid("app", why), false).await;
            }
            let next_step = match &page.next {
                Some(next) => Step::Listing {
                    cursor: Some(next.clone()),
                    previous: cursor.clone(),
                },
                None => Step::Vanishing { cursor: None },
            };
            self.job.step = next_step;
            if !self.checkpoint(vec![WriteOp::Create(seen)]).await? {
                return Ok(Progress::Lost);
            }
            match page.next {
                Some(next) => {
                    previous = cursor.take();
                    cursor = Some(next);
                }
                None => {
                    // What this invocation read and wrote of the records serves the sweep.
                    self.known = scope.known.take();
                    return Ok(Progress::Next);
                }
            }
        }
    }

    /// Logs each change the vendor made outside the service, and opens a finding for those
    /// of matched accounts (an invitation accepted is logged, not a finding).
    async fn note_changes(&self, planned: &Planned) -> Result<()> {
        for (account, change) in &planned.changes {
            if *change == VendorChange::Created && !self.job.baseline {
                continue; // the first sync reads what was there
            }
            self.note_change(account, *change).await?;
        }
        Ok(())
    }

    async fn note_change(&self, account: &AppAccount, change: VendorChange) -> Result<()> {
        let company_id = self.job.company_id.as_str();
        let who = account
            .email
            .clone()
            .or_else(|| account.display_name.clone())
            .unwrap_or_else(|| account.vendor_id.clone());
        let said = match change {
            VendorChange::Created => "created",
            VendorChange::Accepted => "accepted the invitation",
            VendorChange::Reactivated => "reactivated",
            VendorChange::Suspended => "suspended",
            VendorChange::Deleted => "deleted",
        };
        let detail = format!("{who} {said} at {} (outside the service)", self.app.name);
        // The same id and time when a page is applied again after a crash: logged once, in
        // its place in the log (the page's ids were reserved in order when it began).
        let id = format!(
            "{}_{}",
            self.job.page_events,
            &hash_secret(&format!("{}/{}", account.id, change.as_str()))[..12]
        );
        let action = match change {
            VendorChange::Accepted => "account.connected",
            _ => "account.changed_at_vendor",
        };
        audit::record_once(
            &self.apps.services,
            Record {
                company_id,
                actor: ActorRef::System,
                request_id: &self.job.request_id,
                action,
                target: Target::new("account", &account.id),
                result: Outcome::Succeeded,
                detail: Some(detail.clone()),
            },
            &id,
            self.job.page_at,
        )
        .await;
        let (Some(team_member_id), true) = (account.team_member_id(), change_finding(change)) else {
            return Ok(());
        };
        // A change that undoes the one a finding is open for brings the account back as the
        // service had it: that finding resolves when the sync settles, none opens.
        let open = findings::get(
            self.apps,
            company_id,
            &self.job.app,
            FindingKind::ChangedOutside,
            &account.id,
        )
        .await?;
        if open
            .and_then(|f| f.change)
            .is_some_and(|before| undoes(change, before))
        {
            return Ok(());
        }
        let observed = changed_outside(account, team_member_id, change, detail);
        findings::note(self.apps, company_id, &self.job.app, observed, &self.job.logged()).await
    }

    async fn vanish(&mut self, mut cursor: Option<Cursor>) -> Result<Progress> {
        // The tenant the listing was read in (the connection's, recorded at connect).
        let tenant = match &self.tenant {
            Some(tenant) => tenant.clone(),
            None => match connection_of(self.apps, &self.job.company_id, &self.job.app).await? {
                Some(connection) if connection.state == ConnectionState::Connected => {
                    connection.vendor_tenant()
                }
                _ => {
                    let why = format!(
                        "{} was disconnected during the sync; no account was marked vanished",
                        self.app.name
                    );
                    return self.fail(Error::invalid("app", why), false).await;
                }
            },
        };
        let seen = self.seen().await?;
        let dismissed = dismissed(self.apps, &self.job.company_id, self.apps.services.clock.now()).await?;
        loop {
            if self.out_of_budget() {
                return Ok(Progress::OutOfBudget);
            }
            let now = self.apps.services.clock.now();
            let swept = match self.known.take() {
                Some(known) => sweep_known(self.apps, &self.job.company_id, known, &seen, now).await?,
                None => {
                    sweep_page(
                        self.apps,
                        self.app,
                        &self.job.company_id,
                        tenant.as_ref(),
                        &seen,
                        cursor.clone(),
                        now,
                    )
                    .await?
                }
            };
            self.pages += 1;
            for gone in &swept.vanished {
                self.job.changes.vanished += 1;
                self.note_change(gone, VendorChange::Deleted).await?;
            }
            for account in &swept.accounts {
                self.tally(account, &dismissed, now);
            }
            self.job.step = match &swept.next {
                Some(next) => Step::Vanishing {
                    cursor: Some(next.clone()),
                },
                None => Step::Finishing {
                    at: now,
                    event: new_event_id(),
                },
            };
            if !self.checkpoint(Vec::new()).await? {
                return Ok(Progress::Lost);
            }
            match swept.next {
                Some(next) => cursor = Some(next),
                None => return Ok(Progress::Next),
            }
        }
    }

    fn tally(&mut self, account: &AppAccount, dismissed: &HashSet<String>, now: DateTime<Utc>) {
        let active =
            account.present && matches!(account.status, AccountStatus::Active | AccountStatus::InviteSent);
        let email = account.email.clone();
        let t = &mut self.job.tally;
        match account.team_member_id() {
            Some(tm) if active && dismissed.contains(tm) => {
                t.not_removed
                    .push((account.id.clone(), tm.to_owned(), email.clone()));
            }
            Some(_) => {}
            None if !active => {}
            None if account.matching == super::Matching::DoNotMatch => t.do_not_match += 1,
            None => {
                t.unmatched += 1;
                if t.unmatched_sample.len() < SAMPLE {
                    t.unmatched_sample.extend(email.clone());
                }
            }
        }
        if account.present
            && account.status == AccountStatus::InviteSent
            && account.first_seen_at + Duration::days(PENDING_DAYS) <= now
        {
            t.pending += 1;
            if t.pending_sample.len() < SAMPLE {
                t.pending_sample.extend(email);
            }
        }
    }

    /// Every vendor id the listing had (the job's seen pages).
    async fn seen(&self) -> Result<HashSet<String>> {
        let mut out = HashSet::new();
        let mut cursor: Option<Cursor> = None;
        loop {
            let page = self
                .apps
                .services
                .store
                .query(
                    &company_partition(&self.job.company_id),
                    &sync_seen_prefix(&self.job.app, &self.job.id),
                    PageRequest::first(1000).after(cursor),
                )
                .await?;
            for item in &page.items {
                let ids: SeenPage = item.record()?;
                out.extend(ids.ids);
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(out),
            }
        }
    }

    async fn finish(&mut self, at: DateTime<Utc>, event: &str) -> Result<Progress> {
        // The working records go first, a page at a time (a big listing has many).
        loop {
            if self.began.elapsed() >= self.limits.budget {
                return Ok(Progress::OutOfBudget);
            }
            let page = self
                .apps
                .services
                .store
                .query(
                    &company_partition(&self.job.company_id),
                    &sync_seen_prefix(&self.job.app, &self.job.id),
                    PageRequest::first(100),
                )
                .await?;
            if page.items.is_empty() {
                break;
            }
            for item in &page.items {
                self.apps.services.store.delete(&item.key, None).await?;
            }
        }
        let stored = findings::stored(self.apps, &self.job.company_id, &self.job.app).await?;
        let observed = self.observed(&stored).await?;
        findings::settle(
            self.apps,
            &self.job.company_id,
            &self.job.app,
            FindingKind::AFTER_SYNC,
            observed,
            stored,
            &self.job.logged(),
        )
        .await?;
        self.record_sync(at).await?;
        let report = &self.job.changes;
        audit::record_once(
            &self.apps.services,
            Record {
                company_id: &self.job.company_id,
                actor: self.job.requested_by.clone(),
                request_id: &self.job.request_id,
                action: "app.synced",
                target: Target::new("app", &self.job.app),
                result: Outcome::Succeeded,
                detail: Some(format!(
                    "{} accounts: {} new, {} changed, {} vanished, {} matched automatically",
                    report.total, report.created, report.updated, report.vanished, report.auto_matched
                )),
            },
            event,
            at,
        )
        .await;
        self.job.state = JobState::Succeeded;
        self.job.step = Step::Done;
        self.job.finished_at = Some(self.apps.services.clock.now());
        self.job.lease_until = None;
        Ok(if self.checkpoint(Vec::new()).await? {
            Progress::Over
        } else {
            Progress::Lost
        })
    }

    /// The findings the sync saw, from the sweep's tally and the changes still standing.
    async fn observed(&self, stored: &HashMap<String, Item>) -> Result<Vec<Observed>> {
        let t = &self.job.tally;
        let name = self.app.name;
        let mut out = Vec::new();
        for (account_id, team_member_id, email) in &t.not_removed {
            let who = email.as_deref().unwrap_or("an account");
            out.push(Observed {
                kind: FindingKind::AccessNotRemoved,
                subject: account_id.clone(),
                account_id: Some(account_id.clone()),
                team_member_id: Some(team_member_id.clone()),
                count: None,
                change: None,
                summary: format!("{who} still has an active {name} account after their dismissal's removal time."),
                action: "Delete or suspend the account now (the team member's page, or the app's accounts), and check why the removal did not hold.".into(),
            });
        }
        // A change outside the service stands while the account is as the change left it
        // and still matched; an account changed back, or acted on by the service, resolves it.
        for finding in findings::of_kind(stored, FindingKind::ChangedOutside)? {
            let (Some(account_id), Some(change)) = (&finding.account_id, finding.change) else {
                continue;
            };
            let Ok((_, account)) =
                super::load(self.apps, &self.job.company_id, &self.job.app, account_id).await
            else {
                continue;
            };
            let standing = match change {
                VendorChange::Deleted => !account.present || account.status == AccountStatus::Deleted,
                VendorChange::Suspended => account.present && account.status == AccountStatus::Suspended,
                _ => {
                    account.present
                        && matches!(account.status, AccountStatus::Active | AccountStatus::InviteSent)
                }
            };
            if let (true, Some(tm)) = (standing, account.team_member_id()) {
                out.push(changed_outside(&account, tm, change, finding.summary.clone()));
            }
        }
        if t.unmatched > 0 {
            out.push(Observed::app(
                FindingKind::Unmatched,
                Some(t.unmatched),
                format!("{} {name} accounts match no team member (e.g. {}).", t.unmatched, t.unmatched_sample.join(", ")),
                "Match each to its team member, or mark it \"do not match\" (bots, shared accounts); remove the ones nobody should have.",
            ));
        }
        if t.pending > 0 {
            out.push(Observed::app(
                FindingKind::InvitationsPending,
                Some(t.pending),
                format!(
                    "{} {name} invitations have waited more than {PENDING_DAYS} days (e.g. {}).",
                    t.pending,
                    t.pending_sample.join(", ")
                ),
                "Remind the people to accept, or remove the invitations they will not use.",
            ));
        }
        let seats = t.unmatched + t.do_not_match;
        if seats > 0 {
            out.push(Observed::app(
                FindingKind::Seats,
                Some(seats),
                format!(
                    "{seats} {name} seats belong to no team member: {} unmatched, {} \"do not match\".",
                    t.unmatched, t.do_not_match
                ),
                "Check that each is needed; each active account may be a paid seat.",
            ));
        }
        Ok(out)
    }

    async fn record_sync(&self, at: DateTime<Utc>) -> Result<()> {
        let record = SyncRecord {
            synced_at: at,
            report: self.job.changes.clone(),
        };
        let key = sync_key(&self.job.company_id, &self.job.app);
        let item = Item::from_record(key.clone(), &record)?;
        match self.apps.services.store.get(&key).await? {
            Some(old) => self.apps.services.store.replace(item, old.version).await?,
            None => self.apps.services.store.create(item).await?,
        };
        Ok(())
    }

    /// A vendor call failed: retried later when it may succeed, the job failed otherwise.
    async fn vendor_failed(&mut self, e: ConnectorError) -> Result<Progress> {
        let retry_after = match &e {
            ConnectorError::RateLimited { retry_after } => *retry_after,
            _ => None,
        };
        let retryable = e.is_retryable();
        let refused_credentials = matches!(e, ConnectorError::Unauthorized(_));
        let error = action_error(self.app, e);
        if retryable && self.job.failures + 1 < MAX_FAILURES {
            self.job.failures += 1;
            self.job.errors.push(message_of(&error));
            let backoff = Duration::seconds(30 * i64::from(1u32 << self.job.failures.min(5)));
            let delay = retry_after
                .and_then(|d| Duration::from_std(d).ok())
                .unwrap_or(backoff)
                .clamp(
                    Duration::seconds(1),
                    Duration::seconds(prov_core::queue::MAX_DELAY_SECONDS),
                );
            return Ok(Progress::Retry(delay));
        }
        self.fail(error, refused_credentials).await
    }

    /// Ends the job as failed. No account is marked vanished by a listing cut short.
    async fn fail(&mut self, error: Error, refused_credentials: bool) -> Result<Progress> {
        self.job.errors.push(message_of(&error));
        self.job.state = JobState::Failed;
        self.job.step = Step::Done;
        self.job.finished_at = Some(self.apps.services.clock.now());
        self.job.lease_until = None;
        if refused_credentials {
            let observed = Observed::app(
                FindingKind::NeedsReconnect,
                None,
                format!("{} refused the connection's credentials.", self.app.name),
                "Connect the app again (App directory, the app, Connect).",
            );
            findings::note(
                self.apps,
                &self.job.company_id,
                &self.job.app,
                observed,
                &self.job.logged(),
            )
            .await?;
        }
        tracing::warn!(job = self.job.id, app = self.job.app, error = %error, "sync job failed");
        Ok(if self.checkpoint(Vec::new()).await? {
            Progress::Over
        } else {
            Progress::Lost
        })
    }
}

enum Progress {
    /// On to the next step.
    Next,
    OutOfBudget,
    /// Continue after this delay (a vendor call that may succeed later).
    Retry(Duration),
    /// Another worker has the job.
    Lost,
    /// The job is over.
    Over,
}

#[derive(Deserialize)]
struct SeenPage {
    ids: Vec<String>,
}

fn add(total: &mut SyncReport, page: &SyncReport) {
    total.total += page.total;
    total.created += page.created;
    total.updated += page.updated;
    total.unchanged += page.unchanged;
    total.vanished += page.vanished;
    total.auto_matched += page.auto_matched;
}

/// Whether `change` undoes `before` (an account taken away and given back, or the reverse).
fn undoes(change: VendorChange, before: VendorChange) -> bool {
    let away = |c| matches!(c, VendorChange::Suspended | VendorChange::Deleted);
    (away(before) && change == VendorChange::Reactivated)
        || (before == VendorChange::Reactivated && away(change))
}

/// Whether a change of a matched account is a finding (an accepted invitation is not).
fn change_finding(change: VendorChange) -> bool {
    matches!(
        change,
        VendorChange::Reactivated | VendorChange::Suspended | VendorChange::Deleted
    )
}

fn changed_outside(
    account: &AppAccount,
    team_member_id: &str,
    change: VendorChange,
    summary: String,
) -> Observed {
    Observed {
        kind: FindingKind::ChangedOutside,
        subject: account.id.clone(),
        account_id: Some(account.id.clone()),
        team_member_id: Some(team_member_id.to_owned()),
        count: None,
        change: Some(change),
        summary,
        action: match change {
            VendorChange::Reactivated => "If nobody meant to give this access back, suspend or delete the account.",
            _ => "If the team member still needs the account, restore it at the app (or create it again); otherwise unmatch it.",
        }
        .into(),
    }
}

/// The team members whose dismissal's removal time has passed (and was not cancelled).
async fn dismissed(apps: &Apps, company_id: &str, now: DateTime<Utc>) -> Result<HashSet<String>> {
    let mut out = HashSet::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = apps
            .services
            .store
            .query(
                &company_partition(company_id),
                DISMISSALS,
                PageRequest::first(1000).after(cursor),
            )
            .await?;
        for item in &page.items {
            let d: Dismissal = item.record()?;
            if d.state != DismissalState::Cancelled && d.due_at <= now {
                out.insert(d.team_member_id);
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

/// The sync jobs of a company's apps (the console's progress), by app.
pub async fn sync_jobs(apps: &Apps, company_id: &str) -> Result<HashMap<String, SyncJobView>> {
    let page = apps
        .services
        .store
        .query(&company_partition(company_id), SYNC_JOBS, PageRequest::first(100))
        .await?;
    page.items
        .iter()
        .map(|item| {
            let job: SyncJob = item.record()?;
            Ok((job.app.clone(), job.view()))
        })
        .collect()
}
