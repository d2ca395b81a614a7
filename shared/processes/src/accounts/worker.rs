//! The worker's side of a sync job: one invocation's run from the job's checkpoint, page by
//! page, until the job is over or the invocation's budget is spent (then a follow-up message
//! continues it).

/// Accounts named in a finding about several.
const SAMPLE: usize = 5;
/// Invitations pending longer than this are a finding.
const PENDING_DAYS: i64 = 7;
use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use prov_core::audit::{self, ActorRef, Outcome, Record, Target, new_event_id};
use prov_core::catalog::App;
use prov_core::connections::ConnectionState;
use prov_core::connector::{AccountStatus, ConnectorError};
use prov_core::error::{Error, Result};
use prov_core::keys::{DISMISSALS, company_partition, sync_job_key, sync_seen_key, sync_seen_prefix};
use prov_core::secret::hash_secret;
use prov_core::store::{Cursor, Item, PageRequest, StoreError, WriteOp, query_all};
use serde::Deserialize;
use serde_json::json;

use super::jobs::{
    JobMessage, JobState, RunLimits, RunOutcome, Step, SyncJob, Trigger, load, message_of, save, send,
};
use super::records::app_of;
use super::records::{AppAccount, action_error};
use super::sync::{
    MAX_SYNC_PAGES, Planned, Scope, SyncReport, VendorChange, apply_page, plan_page, sweep_known, sweep_page,
};
use crate::connections::{Apps, bound_connector, connection_of};
use crate::reconcile::findings::{self, FindingKind, Observed};

/// Consecutive failed attempts of a vendor call that may succeed later before the job fails.
const MAX_FAILURES: u32 = 5;
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
    let mut worker = Worker::new(apps, app, job, version, limits);
    worker.work().await
}

pub(super) struct Worker<'a> {
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
    /// The vendor ids of the whole listing, when this invocation read all of it.
    seen_here: Option<HashSet<String>>,
    /// The last page's working record (its vendor ids) and number, not written yet: a listing
    /// read whole in this invocation needs it only if the job is left mid-sweep.
    unsaved_seen: Option<(WriteOp, u64)>,
}

impl<'a> Worker<'a> {
    pub(super) fn new(
        apps: &'a Apps,
        app: &'static App,
        job: SyncJob,
        version: u64,
        limits: RunLimits,
    ) -> Self {
        Self {
            apps,
            app,
            job,
            version,
            limits,
            began: Instant::now(),
            pages: 0,
            tenant: None,
            known: None,
            seen_here: None,
            unsaved_seen: None,
        }
    }

    fn out_of_budget(&self) -> bool {
        self.pages >= self.limits.max_pages || self.began.elapsed() >= self.limits.budget
    }

    /// Writes the job (with `extra` in one transaction); `false` when the lease was lost to
    /// another worker. A job left mid-sweep takes the last page's working record with it, so
    /// whoever resumes the sweep has every id the listing had.
    async fn checkpoint(&mut self, mut extra: Vec<WriteOp>) -> Result<bool> {
        if matches!(self.job.step, Step::Vanishing { .. })
            && let Some((seen, _)) = self.unsaved_seen.take()
        {
            extra.push(seen);
        }
        self.job.updated_at = self.apps.services.clock.now();
        let item = Item::from_record(sync_job_key(&self.job.company_id, &self.job.app), &self.job)?;
        if extra.is_empty() {
            // The job alone: a plain conditional write (a transaction costs twice as much).
            return match self.apps.services.store.replace(item, self.version).await {
                Ok(version) => {
                    self.version = version;
                    Ok(true)
                }
                Err(StoreError::ConditionFailed) => Ok(false),
                Err(e) => Err(e.into()),
            };
        }
        let mut ops = extra;
        ops.push(WriteOp::Replace {
            item,
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

    pub(super) async fn work(&mut self) -> Result<RunOutcome> {
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
        // A whole listing read from its first page in this invocation: what it saw is in memory.
        if self.job.pages_read == 0 && self.job.since.is_none() {
            self.seen_here = Some(HashSet::new());
        }
        loop {
            if self.out_of_budget() {
                return Ok(Progress::OutOfBudget);
            }
            let listed = match self.job.since {
                Some(since) => match connector.list_changed(since, cursor.as_deref()).await {
                    // No change filter at this vendor: the whole listing, from its start.
                    Err(ConnectorError::Unsupported(_)) if self.job.pages_read == 0 => {
                        self.job.since = None;
                        self.seen_here = Some(HashSet::new());
                        connector.list(cursor.as_deref()).await
                    }
                    listed => listed,
                },
                None => connector.list(cursor.as_deref()).await,
            };
            let page = match listed {
                Ok(page) => page,
                Err(e) => return self.vendor_failed(e).await,
            };
            self.pages += 1;
            let page_at = self.job.page_at;
            let planned = plan_page(self.apps, &scope, &page.accounts, page_at).await?;
            self.note_changes(&planned).await?;
            let report = apply_page(self.apps, &mut scope, planned, page_at).await?;
            let ids: Vec<&str> = page.accounts.iter().map(|a| a.id.as_str()).collect();
            if let Some(seen) = &mut self.seen_here {
                seen.extend(ids.iter().map(|id| (*id).to_owned()));
            }
            // The vendor ids of a whole listing, for the vanished accounts after it (a listing
            // of changes marks nothing vanished).
            let seen = match self.job.since {
                Some(_) => Vec::new(),
                None => vec![WriteOp::Create(Item::from_record(
                    sync_seen_key(
                        &self.job.company_id,
                        &self.job.app,
                        &self.job.id,
                        self.job.pages_read,
                    ),
                    &json!({ "ids": ids }),
                )?)],
            };
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
            // The last page of a listing read whole here: the sweep follows in this invocation
            // with every id in memory, so the page is not checkpointed (a crash lists it again,
            // which applies nothing twice); its working record waits in case the job is left
            // mid-sweep.
            if page.next.is_none() && self.seen_here.is_some() {
                self.unsaved_seen = seen.into_iter().next().map(|op| (op, self.job.pages_read - 1));
                self.known = scope.known.take();
                return Ok(Progress::Next);
            }
            if !self.checkpoint(seen).await? {
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
        // A listing of changes saw only what changed: nothing is marked vanished, the records
        // are read for the report alone.
        let seen = match (self.job.since, self.seen_here.take()) {
            (Some(_), _) => None,
            (None, Some(seen)) => Some(seen),
            (None, None) => Some(self.seen().await?),
        };
        let dismissed = dismissed(self.apps, &self.job.company_id, self.apps.services.clock.now()).await?;
        loop {
            if self.out_of_budget() {
                return Ok(Progress::OutOfBudget);
            }
            let now = self.apps.services.clock.now();
            let swept = match self.known.take() {
                Some(known) => {
                    sweep_known(self.apps, &self.job.company_id, known, seen.as_ref(), now).await?
                }
                None => {
                    sweep_page(
                        self.apps,
                        self.app,
                        &self.job.company_id,
                        tenant.as_ref(),
                        seen.as_ref(),
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
                    // 100 pages of ids at a time (10,000 at most): the set is all that stays.
                    PageRequest::first(100).after(cursor),
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
        // The working records go first, one per page of a whole listing, by key (deleting
        // one already gone is fine, so a finish resumed after a crash deletes them again).
        let working = if self.job.since.is_some() {
            0
        } else {
            self.job.pages_read
        };
        let never_written = self.unsaved_seen.as_ref().map(|(_, page)| *page);
        for page in (0..working).filter(|page| Some(*page) != never_written) {
            if self.began.elapsed() >= self.limits.budget {
                return Ok(Progress::OutOfBudget);
            }
            let key = sync_seen_key(&self.job.company_id, &self.job.app, &self.job.id, page);
            self.apps.services.store.delete(&key, None).await?;
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
        let report = &self.job.changes;
        // A scheduled sync that found nothing to change is no event of the company's (its job
        // record says when it last ran): logged hourly per app it would be most of the log,
        // and of what the log costs. An admin's sync is logged whatever it found.
        let quiet = self.job.trigger == Trigger::Scheduled
            && report.created + report.updated + report.vanished + report.auto_matched == 0;
        if !quiet {
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
                        "{} accounts{}: {} new, {} changed, {} vanished, {} matched automatically",
                        report.total,
                        match self.job.since {
                            Some(since) => format!(" changed since {}", since.format("%Y-%m-%d %H:%M UTC")),
                            None => String::new(),
                        },
                        report.created,
                        report.updated,
                        report.vanished,
                        report.auto_matched
                    )),
                },
                event,
                at,
            )
            .await;
        }
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

/// What the sweep reads of a dismissal record (the dismissal process owns the record).
#[derive(Deserialize)]
struct DismissalDue {
    team_member_id: String,
    state: String,
    due_at: DateTime<Utc>,
}

/// The team members whose dismissal's removal time has passed (and was not cancelled).
async fn dismissed(apps: &Apps, company_id: &str, now: DateTime<Utc>) -> Result<HashSet<String>> {
    let mut out = HashSet::new();
    for item in query_all(
        apps.services.store.as_ref(),
        &company_partition(company_id),
        DISMISSALS,
    )
    .await?
    {
        let d: DismissalDue = item.record()?;
        if d.state != "cancelled" && d.due_at <= now {
            out.insert(d.team_member_id);
        }
    }
    Ok(out)
}
