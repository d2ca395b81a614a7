//! Sync: the vendor's listing applied page by page to the account records (writing only what
//! changed, matching what agrees with one team member, noting what changed at the vendor
//! outside the service), then the accounts the listing no longer has marked vanished. The
//! sync job (`jobs.rs`) drives these steps across worker invocations, checkpointing between
//! pages; every write here is keyed by the vendor account, so a page applied twice (a crash
//! before its checkpoint) changes nothing the second time.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use prov_core::catalog::App;
use prov_core::connector::{AccountStatus, ConnectorCapabilities, VendorAccount, VendorTenant};
use prov_core::error::Result;
use prov_core::keys::{LINKS, accounts_prefix, company_partition};
use prov_core::store::{Cursor, PageRequest};
use prov_core::team::{Subject, TeamMember, eligibility};
use prov_core::webhooks::{self, EventType, Listening};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::events::{change_events, write_with};
use super::matching::{Identity, Roster};
use super::records::{
    AppAccount, MatchedBy, Matching, account_id, all_records, all_team_members, link, record_of,
    return_email_of_deleted_mailbox, write,
};
use super::views::Reach;
use crate::connections::Apps;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SyncReport {
    pub total: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub vanished: usize,
    pub auto_matched: usize,
}

/// The record of what the vendor says of an account seen in `tenant` (the connection's).
pub(super) fn from_vendor(
    existing: Option<&AppAccount>,
    app: &App,
    tenant: Option<&VendorTenant>,
    v: &VendorAccount,
    caps: ConnectorCapabilities,
    now: DateTime<Utc>,
) -> AppAccount {
    let base = existing.cloned().unwrap_or_else(|| AppAccount {
        id: account_id(app.slug, tenant, &v.id),
        app: app.slug.to_owned(),
        vendor_id: v.id.clone(),
        email: None,
        first_name: None,
        last_name: None,
        display_name: None,
        status: v.status,
        present: true,
        matching: Matching::Unmatched,
        suggestions: Vec::new(),
        first_seen_at: now,
        updated_at: now,
        work_email: None,
        tenant: None,
    });
    AppAccount {
        // Seen in the connection's tenant now (an account recorded before tenants were
        // learns it here).
        tenant: tenant.cloned().or(base.tenant.clone()),
        email: v.email.clone(),
        first_name: v.first_name.clone(),
        last_name: v.last_name.clone(),
        display_name: v.display_name.clone(),
        status: status_from_vendor(
            existing.map(|a| a.status),
            v.status,
            caps,
            app.removal_deactivates,
        ),
        present: true,
        ..base
    }
}

/// The status to record: the vendor's, except that an invitation we sent stays "Invite
/// Sent" while a vendor that cannot show invitations calls the account active, and a removal
/// stays a removal where the vendor shows it as the suspension it also is (`deactivates`).
pub(super) fn status_from_vendor(
    recorded: Option<AccountStatus>,
    vendor: AccountStatus,
    caps: ConnectorCapabilities,
    deactivates: bool,
) -> AccountStatus {
    match (recorded, vendor) {
        (Some(AccountStatus::InviteSent), AccountStatus::Active) if !caps.shows_invites => {
            AccountStatus::InviteSent
        }
        (Some(AccountStatus::Deleted), AccountStatus::Suspended) if deactivates => AccountStatus::Deleted,
        _ => vendor,
    }
}

/// Whether two records differ in anything but their update time.
pub(super) fn differs(a: &AppAccount, b: &AppAccount) -> bool {
    AppAccount {
        updated_at: b.updated_at,
        ..a.clone()
    } != *b
}

/// A sync reads at most this many pages (at 100 a page, a million accounts).
pub(super) const MAX_SYNC_PAGES: u64 = 10_000;

/// A change at the vendor that the service did not make, seen by a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VendorChange {
    /// An account the service did not create appeared.
    Created,
    /// The person accepted the invitation ("Invite Sent" became "Connected").
    Accepted,
    /// A suspended or removed account is active again.
    Reactivated,
    Suspended,
    /// Deleted at the vendor, or gone from its listing.
    Deleted,
}

impl VendorChange {
    pub fn as_str(self) -> &'static str {
        match self {
            VendorChange::Created => "created",
            VendorChange::Accepted => "accepted",
            VendorChange::Reactivated => "reactivated",
            VendorChange::Suspended => "suspended",
            VendorChange::Deleted => "deleted",
        }
    }
}

/// What changed between the record before a sync and after it (`None`: nothing that counts).
pub(super) fn change_of(before: Option<&AppAccount>, after: &AppAccount) -> Option<VendorChange> {
    use AccountStatus::*;
    let Some(before) = before else {
        return Some(VendorChange::Created);
    };
    let was_live = before.live() && before.status != Suspended;
    let now_live = after.live() && after.status != Suspended;
    match (before.live(), after.live()) {
        (true, false) => return Some(VendorChange::Deleted),
        (false, true) if after.status == Suspended => return Some(VendorChange::Suspended),
        (false, true) => return Some(VendorChange::Reactivated),
        (false, false) => return None,
        (true, true) => {}
    }
    match (before.status, after.status) {
        (InviteSent, Active) => Some(VendorChange::Accepted),
        _ if was_live && !now_live => Some(VendorChange::Suspended),
        _ if !was_live && now_live => Some(VendorChange::Reactivated),
        _ => None,
    }
}

/// What applying pages needs, read once per worker invocation.
pub(super) struct Scope {
    pub(super) app: &'static App,
    pub(super) company_id: String,
    pub(super) tenant: Option<VendorTenant>,
    pub(super) caps: ConnectorCapabilities,
    members: Vec<TeamMember>,
    identities: Vec<Identity>,
    /// The team members who have an account of this app linked.
    linked: HashSet<String>,
    /// The app's account records in the connection's tenant by vendor id, read at once when
    /// there are few enough (one query reads a thousand); `None` for a big app, whose
    /// records are read one by one as its pages come. Kept up to date with every write.
    pub(super) known: Option<HashMap<String, (u64, AppAccount)>>,
    /// What the company's partner listens for, read when a page first needs it (an
    /// invitation accepted).
    listening: Option<Listening>,
}

/// Up to this many account records are read at once (a few MB in memory).
const KNOWN_AT_ONCE: usize = 5_000;

/// The app's account records in `tenant`, if there are at most `KNOWN_AT_ONCE`.
async fn known_records(
    apps: &Apps,
    company_id: &str,
    slug: &str,
    tenant: Option<&VendorTenant>,
) -> Result<Option<HashMap<String, (u64, AppAccount)>>> {
    let reach = Reach::connected(tenant.cloned());
    let mut known = HashMap::new();
    let mut cursor: Option<Cursor> = None;
    let mut read = 0;
    loop {
        let page = apps
            .services
            .store
            .query(
                &company_partition(company_id),
                &accounts_prefix(slug),
                PageRequest::first(1000).after(cursor),
            )
            .await?;
        read += page.items.len();
        if read > KNOWN_AT_ONCE {
            return Ok(None);
        }
        for item in &page.items {
            let account: AppAccount = item.record()?;
            if reach.owns(&account) {
                known.insert(account.vendor_id.clone(), (item.version, account));
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(Some(known)),
        }
    }
}

impl Scope {
    pub(super) async fn load(
        apps: &Apps,
        app: &'static App,
        company_id: &str,
        tenant: Option<VendorTenant>,
        caps: ConnectorCapabilities,
    ) -> Result<Self> {
        let members = all_team_members(apps, company_id).await?;
        let identities = Roster::identities(&members);
        let linked = all_records::<Value>(apps, &company_partition(company_id), LINKS)
            .await?
            .into_iter()
            .filter(|(_, v)| v.get("app").and_then(Value::as_str) == Some(app.slug))
            .filter_map(|(_, v)| v.get("team_member_id").and_then(Value::as_str).map(str::to_owned))
            .collect();
        let known = known_records(apps, company_id, app.slug, tenant.as_ref()).await?;
        Ok(Self {
            app,
            company_id: company_id.to_owned(),
            tenant,
            caps,
            members,
            identities,
            linked,
            known,
            listening: None,
        })
    }

    /// What the company's partner listens for (read once per invocation, when needed).
    async fn listening(&mut self, apps: &Apps) -> Result<&Listening> {
        if self.listening.is_none() {
            let read = Listening::of_company(apps.services.store.as_ref(), &self.company_id).await?;
            self.listening = Some(read);
        }
        Ok(self.listening.get_or_insert_default())
    }
}

/// One page read against the records: what each account was and will be, before anything
/// is written (so what changed at the vendor is logged first, and a page applied again
/// after a crash finds the same changes it has not written yet).
#[derive(Debug, Default)]
pub(super) struct Planned {
    accounts: Vec<(Option<(u64, AppAccount)>, AppAccount)>,
    pub(super) report: SyncReport,
    /// The accounts that changed at the vendor, as they will be recorded.
    pub(super) changes: Vec<(AppAccount, VendorChange)>,
}

/// Reads one page of the vendor's listing against the records. An account listed twice
/// counts once.
pub(super) async fn plan_page(
    apps: &Apps,
    scope: &Scope,
    accounts: &[VendorAccount],
    now: DateTime<Utc>,
) -> Result<Planned> {
    let company_id = scope.company_id.as_str();
    let mut out = Planned::default();
    let mut seen = HashSet::new();
    for v in accounts {
        if !seen.insert(v.id.as_str()) {
            continue;
        }
        out.report.total += 1;
        let existing = match &scope.known {
            Some(known) => known.get(&v.id).cloned(),
            None => record_of(apps, company_id, scope.app.slug, scope.tenant.as_ref(), &v.id).await?,
        };
        let next = from_vendor(
            existing.as_ref().map(|(_, a)| a),
            scope.app,
            scope.tenant.as_ref(),
            v,
            scope.caps,
            now,
        );
        let next = match &existing {
            Some((_, before)) if !differs(before, &next) => {
                out.report.unchanged += 1;
                next
            }
            _ => {
                if existing.is_some() {
                    out.report.updated += 1;
                } else {
                    out.report.created += 1;
                }
                let next = AppAccount {
                    updated_at: now,
                    ..next
                };
                if let Some(change) = change_of(existing.as_ref().map(|(_, a)| a), &next) {
                    out.changes.push((next.clone(), change));
                }
                next
            }
        };
        out.accounts.push((existing, next));
    }
    Ok(out)
}

/// Records a planned page: each account created or updated where it differs, then matched
/// when its name and email agree with one team member (suggestions for the rest). Answers
/// the page's counts.
pub(super) async fn apply_page(
    apps: &Apps,
    scope: &mut Scope,
    planned: Planned,
    now: DateTime<Utc>,
) -> Result<SyncReport> {
    let company_id = scope.company_id.clone();
    let company_id = company_id.as_str();
    let mut report = planned.report;
    let mut current: Vec<(u64, AppAccount)> = Vec::with_capacity(planned.accounts.len());
    for (existing, next) in planned.accounts {
        if let Some((version, before)) = &existing
            && !differs(before, &next)
        {
            current.push((*version, next));
            continue;
        }
        // A matched account's invitation accepted: the partner hears of it with the write.
        let accepted = existing
            .as_ref()
            .is_some_and(|(_, before)| change_of(Some(before), &next) == Some(VendorChange::Accepted))
            && next.team_member_id().is_some();
        let (events, pending) = if accepted {
            let listening = scope.listening(apps).await?;
            change_events(
                listening,
                company_id,
                Some(EventType::AccountConnected),
                &next,
                now,
            )?
        } else {
            Default::default()
        };
        let version = write_with(
            apps,
            company_id,
            &next,
            existing.as_ref().map(|(v, _)| *v),
            events,
        )
        .await?;
        webhooks::nudge(apps.queue.as_ref(), &pending).await;
        if let Some(known) = &mut scope.known {
            known.insert(next.vendor_id.clone(), (version, next.clone()));
        }
        current.push((version, next));
    }
    // Match what agrees exactly; suggest for the rest.
    let roster = Roster::new(&scope.members, &scope.identities);
    for (version, account) in current {
        if account.matching != Matching::Unmatched || !account.live() {
            continue;
        }
        let mut id = Identity::default();
        id.fill_from_account(&account);
        if let Some(tm) = roster.exact(&id)
            && eligibility(Subject::TeamMember(tm)).is_ok()
            && !scope.linked.contains(&tm.id)
        {
            match link(apps, company_id, &account, version, &tm.id, MatchedBy::Auto).await {
                Ok(linked) => {
                    if let Some(known) = &mut scope.known {
                        // A transaction answers no version: the account's is one more.
                        known.insert(linked.vendor_id.clone(), (version + 1, linked));
                    }
                    report.auto_matched += 1;
                    scope.linked.insert(tm.id.clone());
                    continue;
                }
                Err(e) if e.details().is_some() => {} // lost a race: leave it for the admin
                Err(e) => return Err(e),
            }
        }
        let suggestions = roster.suggestions(&id);
        if suggestions != account.suggestions {
            let next = AppAccount {
                suggestions,
                updated_at: now,
                ..account
            };
            let version = write(apps, company_id, &next, Some(version)).await?;
            if let Some(known) = &mut scope.known {
                known.insert(next.vendor_id.clone(), (version, next));
            }
        }
    }
    Ok(report)
}

/// One page of an app's account records, those the listing did not have marked vanished.
pub(super) struct Swept {
    /// Every record of the page in the connection's tenant, as it is now.
    pub(super) accounts: Vec<AppAccount>,
    pub(super) vanished: Vec<AppAccount>,
    pub(super) next: Option<Cursor>,
}

/// Marks vanished the accounts of one page of records (from `cursor`) that the connection's
/// tenant had and its listing (`seen`, the vendor ids) no longer has; with no `seen` (a
/// listing of changes) none is. A former tenant's accounts are not in the listing, and
/// neither touched nor counted.
pub(super) async fn sweep_page(
    apps: &Apps,
    app: &App,
    company_id: &str,
    tenant: Option<&VendorTenant>,
    seen: Option<&HashSet<String>>,
    cursor: Option<Cursor>,
    now: DateTime<Utc>,
) -> Result<Swept> {
    let reach = Reach::connected(tenant.cloned());
    let page = apps
        .services
        .store
        .query(
            &company_partition(company_id),
            &accounts_prefix(app.slug),
            PageRequest::first(SWEEP_PAGE).after(cursor),
        )
        .await?;
    let mut out = Swept {
        accounts: Vec::with_capacity(page.items.len()),
        vanished: Vec::new(),
        next: page.next,
    };
    for item in &page.items {
        let mut account: AppAccount = item.record()?;
        if !reach.owns(&account) {
            continue;
        }
        if account.present
            && seen.is_some_and(|seen| !seen.contains(&account.vendor_id))
            && mark_gone(apps, company_id, &mut account, item.version, now).await?
        {
            out.vanished.push(account.clone());
        }
        out.accounts.push(account);
    }
    Ok(out)
}

/// As `sweep_page`, over the records already in memory (`Scope::known`, read in this
/// invocation and kept up to date since): no read of the records again.
pub(super) async fn sweep_known(
    apps: &Apps,
    company_id: &str,
    known: HashMap<String, (u64, AppAccount)>,
    seen: Option<&HashSet<String>>,
    now: DateTime<Utc>,
) -> Result<Swept> {
    let mut out = Swept {
        accounts: Vec::with_capacity(known.len()),
        vanished: Vec::new(),
        next: None,
    };
    for (_, (version, mut account)) in known {
        if account.present
            && seen.is_some_and(|seen| !seen.contains(&account.vendor_id))
            && mark_gone(apps, company_id, &mut account, version, now).await?
        {
            out.vanished.push(account.clone());
        }
        out.accounts.push(account);
    }
    Ok(out)
}

/// Records that the listing no longer has the account; `true` when that is news, a removal
/// outside the service (an account the service deleted is expected to be gone).
async fn mark_gone(
    apps: &Apps,
    company_id: &str,
    account: &mut AppAccount,
    version: u64,
    now: DateTime<Utc>,
) -> Result<bool> {
    account.present = false;
    account.updated_at = now;
    write(apps, company_id, account, Some(version)).await?;
    return_email_of_deleted_mailbox(apps, company_id, account).await;
    Ok(account.status != AccountStatus::Deleted)
}

/// Records read per page when looking for vanished accounts.
const SWEEP_PAGE: u32 = 500;

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(shows_invites: bool) -> ConnectorCapabilities {
        ConnectorCapabilities {
            create: true,
            suspend: false,
            reactivate: false,
            delete: true,
            shows_invites,
        }
    }

    #[test]
    fn an_invitation_stays_sent_where_the_vendor_cannot_show_it() {
        use AccountStatus::*;
        let blind = caps(false);
        assert_eq!(
            status_from_vendor(Some(InviteSent), Active, blind, false),
            InviteSent
        );
        // Everything else the vendor says is recorded as said.
        assert_eq!(status_from_vendor(None, Active, blind, false), Active);
        assert_eq!(status_from_vendor(Some(Active), Active, blind, false), Active);
        assert_eq!(
            status_from_vendor(Some(InviteSent), Deleted, blind, false),
            Deleted
        );
        // A vendor that shows invitations is believed when it says the person joined.
        assert_eq!(
            status_from_vendor(Some(InviteSent), Active, caps(true), false),
            Active
        );
    }

    #[test]
    fn a_removal_stays_recorded_where_the_vendor_shows_it_as_a_suspension() {
        use AccountStatus::*;
        let seen = caps(true);
        assert_eq!(status_from_vendor(Some(Deleted), Suspended, seen, true), Deleted);
        // A suspension is still a suspension, and an account brought back is back.
        assert_eq!(
            status_from_vendor(Some(Suspended), Suspended, seen, true),
            Suspended
        );
        assert_eq!(status_from_vendor(Some(Active), Suspended, seen, true), Suspended);
        assert_eq!(status_from_vendor(Some(Deleted), Active, seen, true), Active);
        // Where removal deletes, an inactive account the vendor lists is a suspended one.
        assert_eq!(
            status_from_vendor(Some(Deleted), Suspended, seen, false),
            Suspended
        );
    }
}
