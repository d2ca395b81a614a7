//! Sync jobs: an app's sync run in the background by a worker, one job per company and app.
//!
//! `start` records the job and queues a message; the worker (`run`) claims the job with a
//! lease, reads the vendor's listing page by page and checkpoints after each page (the vendor
//! cursor, the counts, and the page's vendor ids, in one transaction). It stops well before
//! its invocation's time limit and queues a follow-up message that continues from the
//! checkpoint; a crash resumes from the last checkpoint once the lease and the message's
//! visibility run out. After the listing come the accounts it no longer has (vanished), then
//! the findings of the access report, then the job is done.
//!
//! A scheduled job after a successful one lists only what changed at the vendor since the
//! last listing began, where the vendor has a change filter (`Connector::list_changed`), as
//! long as the last whole listing is less than `FULL_LISTING_EVERY` old: an account deleted
//! at the vendor is seen only by a whole listing, so one runs at least that often (and for
//! every requested sync).

use chrono::{DateTime, Duration, Utc};
use prov_core::access::Access;
use prov_core::audit::{Actor, ActorRef, new_event_id};
use prov_core::connections::ConnectionState;
use prov_core::error::{Error, Result};
use prov_core::keys::{sync_job_key, sync_key};
use prov_core::secret::new_ordered_id;
use prov_core::store::{Attempt, Cursor, Item, StoreError, retry_lost_writes};
use serde::{Deserialize, Serialize};

use super::records::app_of;
use super::sync::{MAX_SYNC_PAGES, SyncReport};
use crate::connections::{Apps, connection_of};
use crate::reconcile::findings::Logged;

/// A job neither finished nor touched for this long was lost (its message went to the
/// dead-letter queue): a new request starts it again.
const STALE_MINUTES: i64 = 30;

/// How often a scheduled sync reads the whole listing where it could read only the changes.
pub const FULL_LISTING_EVERY: Duration = Duration::hours(24);
/// A listing of changes starts this long before the last listing began, so a change made
/// while it ran, or stamped by a vendor clock a little behind ours, is not missed.
const CHANGES_OVERLAP: Duration = Duration::minutes(5);

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
pub(super) enum Step {
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
    pub(super) fn name(&self) -> &'static str {
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
pub(super) struct Tally {
    pub(super) unmatched: u64,
    pub(super) unmatched_sample: Vec<String>,
    pub(super) do_not_match: u64,
    pub(super) pending: u64,
    pub(super) pending_sample: Vec<String>,
    /// Accounts of dismissed people still active: (account, team member, email).
    pub(super) not_removed: Vec<(String, String, Option<String>)>,
}

/// The job record (`SYNCJOB#<app>`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct SyncJob {
    pub(super) id: String,
    pub(super) app: String,
    pub(super) company_id: String,
    pub(super) state: JobState,
    pub(super) trigger: Trigger,
    pub(super) requested_by: ActorRef,
    pub(super) request_id: String,
    pub(super) pages_read: u64,
    pub(super) accounts_seen: u64,
    pub(super) changes: SyncReport,
    pub(super) errors: Vec<String>,
    pub(super) queued_at: DateTime<Utc>,
    pub(super) started_at: Option<DateTime<Utc>>,
    pub(super) finished_at: Option<DateTime<Utc>>,
    pub(super) updated_at: DateTime<Utc>,
    pub(super) invocations: u32,
    pub(super) step: Step,
    /// Until when the worker that claimed the job has it.
    pub(super) lease_until: Option<DateTime<Utc>>,
    /// When the current page began, and the event id its changes' ids start with (a page
    /// applied again after a crash logs its events under the same keys).
    pub(super) page_at: DateTime<Utc>,
    pub(super) page_events: String,
    /// Whether an earlier sync completed: only then is a new account one created outside
    /// the service.
    pub(super) baseline: bool,
    /// Failed attempts in a row (vendor calls that may succeed later).
    pub(super) failures: u32,
    pub(super) tally: Tally,
    /// Only the accounts changed at the vendor after this time are listed (none: the whole
    /// listing). The worker lists everything when the vendor has no change filter.
    #[serde(default)]
    pub(super) since: Option<DateTime<Utc>>,
    /// When the last whole listing that succeeded began (carried from job to job).
    #[serde(default)]
    pub(super) full_listing_at: Option<DateTime<Utc>>,
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
    /// The listing read only the accounts changed at the vendor after this time (a scheduled
    /// sync between whole listings, where the vendor has a change filter); null: the whole
    /// listing, which alone shows accounts deleted at the vendor.
    pub changes_since: Option<DateTime<Utc>>,
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
            changes_since: self.since,
        }
    }

    /// When the last whole listing that succeeded began, as of this job.
    fn last_full_listing(&self) -> Option<DateTime<Utc>> {
        match (self.state, self.since) {
            (JobState::Succeeded, None) => self.started_at,
            _ => self.full_listing_at,
        }
    }

    /// What the next job lists after this one: only the changes since this one began (a
    /// scheduled job after a successful one, the last whole listing recent enough), or all.
    fn next_listing(&self, trigger: Trigger, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let recent = self
            .last_full_listing()
            .is_some_and(|full| now - full < FULL_LISTING_EVERY);
        match (trigger, self.state, self.started_at) {
            (Trigger::Scheduled, JobState::Succeeded, Some(began)) if recent => Some(began - CHANGES_OVERLAP),
            _ => None,
        }
    }

    fn active(&self, now: DateTime<Utc>) -> bool {
        matches!(self.state, JobState::Queued | JobState::Running)
            && self.updated_at + Duration::minutes(STALE_MINUTES) > now
    }

    pub(super) fn logged(&self) -> Logged<'_> {
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
    let (key, by) = (&key, &by);
    let outcome = retry_lost_writes(3, move || async move {
        let now = apps.services.clock.now();
        let existing = apps.services.store.get(key).await?;
        // Whether a sync of the app completed before: the last job's word, or for an app
        // synced before sync jobs, its record of the last sync.
        let (baseline, since, full_listing_at) = match &existing {
            Some(item) => {
                let job: SyncJob = item.record()?;
                if job.active(now) {
                    return Ok::<_, Error>(Attempt::Done((job, false)));
                }
                (
                    job.baseline || job.state == JobState::Succeeded,
                    job.next_listing(trigger, now),
                    job.last_full_listing(),
                )
            }
            None => (
                apps.services
                    .store
                    .get(&sync_key(company_id, slug))
                    .await?
                    .is_some(),
                None,
                None,
            ),
        };
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
            since,
            full_listing_at,
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

pub(super) async fn send(apps: &Apps, job: &SyncJob, delay: Duration) -> Result<()> {
    let message = JobMessage::Sync {
        company_id: job.company_id.clone(),
        app: job.app.clone(),
        job_id: job.id.clone(),
    };
    let body = serde_json::to_value(&message).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(apps.queue.send(&body, delay).await?)
}

pub(super) async fn load(apps: &Apps, company_id: &str, slug: &str) -> Result<Option<(u64, SyncJob)>> {
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

/// Writes the job at the version read; `None` when another worker wrote it meanwhile.
pub(super) async fn save(apps: &Apps, job: &SyncJob, version: u64) -> Result<Option<u64>> {
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
pub(super) fn message_of(e: &Error) -> String {
    match e.details() {
        Some(details) => details
            .iter()
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
            .join(" "),
        None => "an internal error; it is logged".to_owned(),
    }
}
