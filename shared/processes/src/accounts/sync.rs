//! Sync: the vendor's listing read page by page into the account records, writing only what
//! changed, marking vanished accounts, matching new ones.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use prov_core::access::Access;
use prov_core::audit::{self, Actor, Target};
use prov_core::catalog::App;
use prov_core::connector::{
    AccountStatus, ConnectorCapabilities, ConnectorError, VendorAccount, VendorTenant,
};
use prov_core::error::Result;
use prov_core::keys::sync_key;
use prov_core::keys::{LINKS, accounts_prefix, company_partition};
use prov_core::store::Item;
use prov_core::team::{Subject, eligibility};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::matching::{Identity, Roster};
use super::records::{
    AppAccount, MatchedBy, Matching, account_id, action_error, all_records, all_team_members, app_of, link,
    return_email_of_deleted_mailbox, write,
};
use super::views::Reach;
use crate::connections::{Apps, bound_connector};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SyncReport {
    pub total: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub vanished: usize,
    pub auto_matched: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct SyncRecord {
    synced_at: DateTime<Utc>,
    report: SyncReport,
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
pub(super) const MAX_SYNC_PAGES: usize = 10_000;

/// Pulls every account of a connected app (all pages), records what changed, marks the
/// ones that vanished, and matches those whose name and email agree with one team member.
/// Running it again without vendor changes writes nothing.
pub async fn sync(apps: &Apps, actor: &Actor, access: &Access, slug: &str) -> Result<SyncReport> {
    let app = app_of(apps, slug)?;
    let company_id = access.company().id.as_str();
    let bound = bound_connector(apps, company_id, slug).await?;
    let (connector, tenant) = (bound.connector, bound.tenant);
    let reach = Reach::connected(tenant.clone());
    let caps = connector.capabilities();
    // The whole listing or nothing: a listing cut short would make the rest look vanished.
    let mut vendor = Vec::new();
    let mut cursor: Option<String> = None;
    let mut cursors = std::collections::HashSet::new();
    loop {
        let page = connector
            .list(cursor.as_deref())
            .await
            .map_err(|e| action_error(app, e))?;
        vendor.extend(page.accounts);
        let Some(next) = page.next else { break };
        if cursors.len() >= MAX_SYNC_PAGES || !cursors.insert(next.clone()) {
            return Err(action_error(
                app,
                ConnectorError::Transient(format!(
                    "the listing did not end (a repeated page, or more than {MAX_SYNC_PAGES} pages); nothing was changed"
                )),
            ));
        }
        cursor = Some(next);
    }
    let now = apps.services.clock.now();
    // Only the accounts of the tenant the connection reaches: a former tenant's are not in
    // this listing, and are neither updated nor marked vanished by it.
    let mut known: HashMap<String, (u64, AppAccount)> =
        all_records::<AppAccount>(apps, &company_partition(company_id), &accounts_prefix(slug))
            .await?
            .into_iter()
            .filter(|(_, a)| reach.owns(a))
            .map(|(v, a)| (a.vendor_id.clone(), (v, a)))
            .collect();
    let mut report = SyncReport {
        total: vendor.len(),
        ..SyncReport::default()
    };
    let mut seen = HashSet::new();
    let mut current: Vec<(Option<u64>, AppAccount)> = Vec::with_capacity(vendor.len());
    for v in &vendor {
        if !seen.insert(v.id.clone()) {
            continue; // a vendor listing an account twice (pages shifting) counts once
        }
        let existing = known.remove(&v.id);
        let next = from_vendor(
            existing.as_ref().map(|(_, a)| a),
            app,
            tenant.as_ref(),
            v,
            caps,
            now,
        );
        match &existing {
            Some((_, before)) if !differs(before, &next) => {
                report.unchanged += 1;
                current.push((existing.as_ref().map(|(ver, _)| *ver), next));
                continue;
            }
            Some(_) => report.updated += 1,
            None => report.created += 1,
        }
        let version = existing.as_ref().map(|(ver, _)| *ver);
        let next = AppAccount {
            updated_at: now,
            ..next
        };
        let new_version = write(apps, company_id, &next, version).await?;
        current.push((Some(new_version), next));
    }
    for (_, (version, mut gone)) in known {
        if gone.present {
            gone.present = false;
            gone.updated_at = now;
            write(apps, company_id, &gone, Some(version)).await?;
            return_email_of_deleted_mailbox(apps, company_id, &gone).await;
            report.vanished += 1;
        }
    }

    // Match what agrees exactly; suggest for the rest.
    let members = all_team_members(apps, company_id).await?;
    let identities = Roster::identities(&members);
    let roster = Roster::new(&members, &identities);
    let links: HashSet<(String, String)> = all_records::<Value>(apps, &company_partition(company_id), LINKS)
        .await?
        .into_iter()
        .filter_map(|(_, v)| {
            v.get("app")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .zip(v.get("team_member_id").and_then(Value::as_str).map(str::to_owned))
        })
        .collect();
    for (version, account) in current {
        if account.matching != Matching::Unmatched || !account.live() {
            continue;
        }
        let version = version.expect("every current account is stored");
        let mut id = Identity::default();
        id.fill_from_account(&account);
        if let Some(tm) = roster.exact(&id)
            && eligibility(Subject::TeamMember(tm)).is_ok()
            && !links.contains(&(slug.to_owned(), tm.id.clone()))
        {
            match link(apps, company_id, &account, version, &tm.id, MatchedBy::Auto).await {
                Ok(_) => {
                    report.auto_matched += 1;
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
            write(apps, company_id, &next, Some(version)).await?;
        }
    }
    let record = SyncRecord {
        synced_at: now,
        report: report.clone(),
    };
    let key = sync_key(company_id, slug);
    let item = Item::from_record(key.clone(), &record)?;
    match apps.services.store.get(&key).await? {
        Some(old) => apps.services.store.replace(item, old.version).await.map(|_| ())?,
        None => apps.services.store.create(item).await.map(|_| ())?,
    }
    audit::succeeded(
        &apps.services,
        actor,
        company_id,
        "app.synced",
        Target::new("app", slug),
        Some(format!(
            "{} accounts: {} new, {} changed, {} vanished, {} matched automatically",
            report.total, report.created, report.updated, report.vanished, report.auto_matched
        )),
    )
    .await;
    Ok(report)
}

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
