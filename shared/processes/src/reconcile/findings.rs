//! The access report's findings: what a sync found that needs an admin, kept per company
//! with the time each was first and last seen. A sync settles its app's findings: those it
//! sees again are kept (last seen now), new ones open, and those it no longer sees resolve
//! (deleted, with an audit event), so the report is always the last syncs' view.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use prov_core::access::Access;
use prov_core::audit::{self, ActorRef, Outcome, Record, Target};
use prov_core::company::User;
use prov_core::error::Result;
use prov_core::keys::{FINDINGS, company_partition, finding_key, findings_prefix};
use prov_core::mail::QueuedMail;
use prov_core::secret::hash_secret;
use prov_core::store::{Item, PageRequest, StoreError, WriteOp, query_all};
use prov_core::webhooks::{self, EventType, Listening};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::accounts::VendorChange;
use crate::alerts;
use crate::connections::Apps;

/// What a finding is about, in the order the report shows them (most urgent first).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A dismissed person still has an active account after their removal time.
    AccessNotRemoved,
    /// A matched account was reactivated, suspended or deleted at the vendor, not by the
    /// service.
    ChangedOutside,
    /// The app's connection needs to be made again (credentials refused).
    NeedsReconnect,
    /// The app was disconnected while accounts in it are still active.
    DisconnectedWithAccounts,
    /// Accounts created outside the service that match no team member.
    Unmatched,
    /// Invitations sent more than 7 days ago and not accepted.
    InvitationsPending,
    /// Paid seats that belong to no team member (unmatched and "do not match" accounts).
    Seats,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::AccessNotRemoved => "access_not_removed",
            FindingKind::ChangedOutside => "changed_outside",
            FindingKind::NeedsReconnect => "needs_reconnect",
            FindingKind::DisconnectedWithAccounts => "disconnected_with_accounts",
            FindingKind::Unmatched => "unmatched",
            FindingKind::InvitationsPending => "invitations_pending",
            FindingKind::Seats => "seats",
        }
    }

    /// Whether the admins are emailed at once (else in the daily digest).
    pub fn alerts_at_once(self) -> bool {
        matches!(self, FindingKind::AccessNotRemoved | FindingKind::NeedsReconnect)
    }

    /// Every kind a successful sync of a connected app decides on.
    pub const AFTER_SYNC: &[FindingKind] = &[
        FindingKind::AccessNotRemoved,
        FindingKind::ChangedOutside,
        FindingKind::NeedsReconnect,
        FindingKind::DisconnectedWithAccounts,
        FindingKind::Unmatched,
        FindingKind::InvitationsPending,
        FindingKind::Seats,
    ];
}

/// One finding of the access report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Finding {
    /// Stable while the finding is open: `<app>.<kind>.<subject>`.
    pub id: String,
    pub kind: FindingKind,
    pub app: String,
    /// The account it is about, for findings about one account.
    pub account_id: Option<String>,
    /// The team member it is about, when the account is matched.
    pub team_member_id: Option<String>,
    /// How many accounts, for findings about several.
    pub count: Option<u64>,
    /// For a change at the vendor: which.
    pub change: Option<VendorChange>,
    /// What is wrong.
    pub summary: String,
    /// What to do about it.
    pub action: String,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// A finding as a sync sees it now (its times come from the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Observed {
    pub(crate) kind: FindingKind,
    /// The account id, or `app` for findings about the whole app.
    pub(crate) subject: String,
    pub(crate) account_id: Option<String>,
    pub(crate) team_member_id: Option<String>,
    pub(crate) count: Option<u64>,
    pub(crate) change: Option<VendorChange>,
    pub(crate) summary: String,
    pub(crate) action: String,
}

impl Observed {
    /// A finding about the whole app.
    pub(crate) fn app(kind: FindingKind, count: Option<u64>, summary: String, action: &str) -> Self {
        Self {
            kind,
            subject: "app".into(),
            account_id: None,
            team_member_id: None,
            count,
            change: None,
            summary,
            action: action.to_owned(),
        }
    }

    fn into_finding(self, app: &str, first_seen_at: DateTime<Utc>, now: DateTime<Utc>) -> Finding {
        Finding {
            id: format!("{app}.{}.{}", self.kind.as_str(), self.subject),
            kind: self.kind,
            app: app.to_owned(),
            account_id: self.account_id,
            team_member_id: self.team_member_id,
            count: self.count,
            change: self.change,
            summary: self.summary,
            action: self.action,
            first_seen_at,
            last_seen_at: now,
        }
    }
}

/// Who a finding's events are logged as.
pub(crate) struct Logged<'a> {
    pub(crate) actor: ActorRef,
    pub(crate) request_id: &'a str,
}

/// A stored finding, if it is open.
pub(crate) async fn get(
    apps: &Apps,
    company_id: &str,
    app: &str,
    kind: FindingKind,
    subject: &str,
) -> Result<Option<Finding>> {
    let key = finding_key(company_id, app, kind.as_str(), subject);
    Ok(match apps.services.store.get(&key).await? {
        Some(item) => Some(item.record()?),
        None => None,
    })
}

/// Opens a finding, or marks it seen again (one an earlier run of the same sync opened).
pub(crate) async fn note(
    apps: &Apps,
    company_id: &str,
    app: &str,
    observed: Observed,
    by: &Logged<'_>,
) -> Result<()> {
    let now = apps.services.clock.now();
    let key = finding_key(company_id, app, observed.kind.as_str(), &observed.subject);
    let existing = apps.services.store.get(&key).await?;
    write(apps, company_id, app, observed, existing, now, by).await
}

async fn write(
    apps: &Apps,
    company_id: &str,
    app: &str,
    observed: Observed,
    existing: Option<Item>,
    now: DateTime<Utc>,
    by: &Logged<'_>,
) -> Result<()> {
    let key = finding_key(company_id, app, observed.kind.as_str(), &observed.subject);
    let store = apps.services.store.as_ref();
    let (finding, version, alerted) = match &existing {
        Some(item) => {
            let before: Finding = item.record()?;
            let alerted = item.data.get(ALERTED).and_then(Value::as_str).map(str::to_owned);
            (
                observed.into_finding(app, before.first_seen_at, now),
                Some(item.version),
                alerted,
            )
        }
        None => (observed.into_finding(app, now, now), None, None),
    };
    let mut item = Item::from_record(key, &finding)?;
    let mut ops = Vec::new();
    // Mailed once until it changes: at once for what cannot wait (with the finding's own
    // write), in the next daily digest for the rest (which marks them mailed).
    let print = fingerprint(&finding);
    let changed = alerted.as_deref() != Some(print.as_str());
    let mut mails = Vec::new();
    if changed && finding.kind.alerts_at_once() {
        let recipients = alerts::recipients(apps, company_id).await?;
        let (mail_ops, queued) = at_once(apps, &finding, &recipients)?;
        ops.extend(mail_ops);
        mails = queued;
        item.data.insert(ALERTED.to_owned(), Value::from(print));
    } else if let Some(alerted) = alerted {
        item.data.insert(ALERTED.to_owned(), Value::from(alerted));
    }
    let digest = changed && !finding.kind.alerts_at_once();
    // A new finding is rare: reading the company for whether its partner listens for it
    // costs little. The event is written with the finding.
    let mut pending = Vec::new();
    if existing.is_none() {
        let listening = Listening::of_company(store, company_id).await?;
        let data = serde_json::to_value(&finding).map_err(|e| prov_core::Error::Internal(e.to_string()))?;
        let event = webhooks::outbox(
            &listening,
            company_id,
            EventType::FindingOpened,
            &audit::new_event_id(),
            now,
            data,
        )?;
        if let Some((op, p)) = event {
            ops.push(op);
            pending.push(p);
        }
    }
    let first = match version {
        Some(expected_version) => WriteOp::Replace {
            item,
            expected_version,
        },
        None => WriteOp::Create(item),
    };
    let written = if ops.is_empty() {
        match first {
            WriteOp::Replace {
                item,
                expected_version,
            } => store.replace(item, expected_version).await.map(|_| ()),
            WriteOp::Create(item) => store.create(item).await.map(|_| ()),
            other => store.transact(vec![other]).await,
        }
    } else {
        ops.insert(0, first);
        store.transact(ops).await
    };
    match written {
        Ok(()) => {}
        // Another sync of the app saw it at the same time: seen either way.
        Err(StoreError::ConditionFailed) => return Ok(()),
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    webhooks::nudge(apps.queue.as_ref(), &pending).await;
    alerts::send(apps, &mails).await;
    if digest {
        alerts::digest_due(apps, company_id).await?;
    }
    if existing.is_none() {
        log(apps, company_id, &finding, "finding.opened", by).await;
    }
    Ok(())
}

/// The stored attribute that says which state of a finding was mailed.
pub(crate) const ALERTED: &str = "alerted";

/// What a finding's alert is about: its kind, subject and what it counts or saw (not its
/// wording, which may differ between the syncs and reviews that see it).
pub(crate) fn fingerprint(finding: &Finding) -> String {
    let print = format!(
        "{}|{:?}|{:?}",
        finding.id,
        finding.count,
        finding.change.map(VendorChange::as_str)
    );
    hash_secret(&print)[..16].to_owned()
}

/// The emails that cannot wait for the digest.
fn at_once(apps: &Apps, finding: &Finding, to: &[User]) -> Result<(Vec<WriteOp>, Vec<QueuedMail>)> {
    let app = apps
        .services
        .catalog
        .get(&finding.app)
        .map(|a| a.name)
        .unwrap_or("an app");
    let subject = match finding.kind {
        FindingKind::AccessNotRemoved => format!("Access not removed in {app}"),
        _ => format!("Connect {app} again"),
    };
    let text = format!(
        "{}\n\nWhat to do: {}\n\nThe access report: {}\n",
        finding.summary,
        finding.action,
        alerts::console_link(apps, "/access_report")
    );
    alerts::emails(apps, to, &subject, &text)
}

async fn log(apps: &Apps, company_id: &str, finding: &Finding, action: &str, by: &Logged<'_>) {
    audit::record(
        &apps.services,
        Record {
            company_id,
            actor: by.actor.clone(),
            request_id: by.request_id,
            action,
            target: Target::new("finding", &finding.id),
            result: Outcome::Succeeded,
            detail: Some(finding.summary.clone()),
        },
    )
    .await;
}

/// Every stored finding of one app, by sort key.
pub(crate) async fn stored(apps: &Apps, company_id: &str, app: &str) -> Result<HashMap<String, Item>> {
    let items = query_all(
        apps.services.store.as_ref(),
        &company_partition(company_id),
        &findings_prefix(app),
    )
    .await?;
    Ok(items
        .into_iter()
        .map(|item| (item.key.sk.clone(), item))
        .collect())
}

/// Settles an app's findings of the given kinds on what was just seen: each observed one is
/// opened or seen again; each stored one (`stored`, as read before) of those kinds not
/// observed resolves.
pub(crate) async fn settle(
    apps: &Apps,
    company_id: &str,
    app: &str,
    kinds: &[FindingKind],
    observed: Vec<Observed>,
    mut stored: HashMap<String, Item>,
    by: &Logged<'_>,
) -> Result<()> {
    let now = apps.services.clock.now();
    for o in observed {
        let key = finding_key(company_id, app, o.kind.as_str(), &o.subject);
        let existing = stored.remove(&key.sk);
        write(apps, company_id, app, o, existing, now, by).await?;
    }
    for item in stored.into_values() {
        let finding: Finding = item.record()?;
        if !kinds.contains(&finding.kind) {
            continue;
        }
        match apps.services.store.delete(&item.key, Some(item.version)).await {
            Ok(()) => log(apps, company_id, &finding, "finding.resolved", by).await,
            Err(StoreError::ConditionFailed) => {} // seen again meanwhile: still open
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The findings of the given kind among `stored`.
pub(crate) fn of_kind(stored: &HashMap<String, Item>, kind: FindingKind) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    for item in stored.values() {
        let finding: Finding = item.record()?;
        if finding.kind == kind {
            out.push(finding);
        }
    }
    Ok(out)
}

/// The access report: every open finding of the company, "access not removed" first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AccessReport {
    /// How many findings are open.
    pub open: usize,
    pub findings: Vec<Finding>,
}

/// How many findings the company has open (up to 100: the navigation's count).
pub async fn open_findings(apps: &Apps, company_id: &str) -> Result<usize> {
    let page = apps
        .services
        .store
        .query(&company_partition(company_id), FINDINGS, PageRequest::first(100))
        .await?;
    Ok(page.items.len())
}

/// The company's access report.
pub async fn access_report(apps: &Apps, access: &Access) -> Result<AccessReport> {
    let company_id = access.company().id.as_str();
    let mut findings: Vec<Finding> = query_all(
        apps.services.store.as_ref(),
        &company_partition(company_id),
        FINDINGS,
    )
    .await?
    .iter()
    .map(Item::record)
    .collect::<std::result::Result<_, _>>()?;
    findings.sort_by(|a, b| (a.kind, a.first_seen_at, &a.id).cmp(&(b.kind, b.first_seen_at, &b.id)));
    Ok(AccessReport {
        open: findings.len(),
        findings,
    })
}
