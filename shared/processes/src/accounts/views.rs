//! What the API and the console show of accounts: the app's accounts with a summary, and a
//! team member's apps.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use prov_core::access::Access;
use prov_core::catalog::App;
use prov_core::connections::{self, Connection, ConnectionState};
use prov_core::connector::{AccountStatus, VendorTenant};
use prov_core::error::{Error, Result};
use prov_core::keys::{accounts_prefix, company_partition, connection_key, links_prefix};
use prov_core::listing::ListQuery;
use prov_core::store::{Cursor, PageRequest};
use prov_core::team::{self, EmploymentStatus, Subject, eligibility};
use prov_core::validate::Validator;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::records::{AppAccount, Matching, Suggestion, all_records, app_of, load};
use crate::connections::Apps;

/// Where an app's accounts can be acted on now: whether the app is connected, and the vendor
/// tenant its connection reaches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    pub connected: bool,
    /// The connection's tenant (`None`: no connection, or one made before tenants were
    /// recorded).
    pub tenant: Option<VendorTenant>,
}

impl Reach {
    /// A connected app whose connection reaches `tenant` (the processes that just built its
    /// connector know it).
    pub fn connected(tenant: Option<VendorTenant>) -> Self {
        Self {
            connected: true,
            tenant,
        }
    }

    /// The tenant `account` belongs to when it is not the one the connection reaches: its
    /// accounts are never acted on through this connection.
    pub fn former<'a>(&self, account: &'a AppAccount) -> Option<&'a VendorTenant> {
        match (&account.tenant, &self.tenant) {
            (Some(own), Some(now)) if own.id != now.id => Some(own),
            _ => None,
        }
    }

    /// Whether actions on `account` go through this connection's credentials.
    pub fn owns(&self, account: &AppAccount) -> bool {
        self.former(account).is_none()
    }
}

/// What an admin may do with an account now.
pub(super) fn allowed_actions(app: &App, account: &AppAccount, reach: &Reach) -> Vec<&'static str> {
    let mut actions = Vec::new();
    match &account.matching {
        Matching::Matched { .. } => {
            if reach.connected && reach.owns(account) && account.live() {
                if app.capabilities.suspend && account.status != AccountStatus::Suspended {
                    actions.push("suspend");
                }
                if app.capabilities.suspend && account.status == AccountStatus::Suspended {
                    actions.push("reactivate");
                }
                if app.capabilities.delete {
                    actions.push("delete");
                }
            }
            actions.push("unmatch");
        }
        Matching::Unmatched => actions.extend(["match", "do_not_match"]),
        Matching::DoNotMatch => actions.push("match"),
    }
    actions
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AccountView {
    pub id: String,
    pub app: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    /// `invite_sent`, `connected`, `suspended` or `deleted`.
    pub status: &'static str,
    /// The status as the product says it: "Invite Sent", "Connected", …
    pub status_label: &'static str,
    /// Whether the vendor still has the account (as of the last sync or action).
    pub present: bool,
    #[serde(rename = "match")]
    pub matching: Matching,
    /// Managed from here: matched, the app connected, and the account in the tenant the
    /// connection reaches.
    pub managed: bool,
    /// The vendor tenant the account was seen in, when known.
    pub tenant: Option<VendorTenant>,
    /// `false` when the account belongs to a tenant the app is no longer connected to (the
    /// connection was switched to another): it is never acted on from here; remove it in
    /// that tenant yourself.
    pub tenant_connected: bool,
    pub suggestions: Vec<Suggestion>,
    pub allowed_actions: Vec<&'static str>,
    pub updated_at: DateTime<Utc>,
}

pub fn status_name(status: AccountStatus) -> (&'static str, &'static str) {
    match status {
        AccountStatus::InviteSent => ("invite_sent", "Invite Sent"),
        AccountStatus::Active => ("connected", "Connected"),
        AccountStatus::Suspended => ("suspended", "Suspended"),
        AccountStatus::Deleted => ("deleted", "Deleted"),
    }
}

impl AccountView {
    /// The team member the account is matched to.
    pub fn matching_team_member(&self) -> Option<&str> {
        match &self.matching {
            Matching::Matched { team_member_id, .. } => Some(team_member_id),
            _ => None,
        }
    }

    pub fn of(app: &App, account: AppAccount, reach: &Reach) -> Self {
        let (status, status_label) = status_name(account.status);
        let allowed = allowed_actions(app, &account, reach);
        let tenant_connected = reach.owns(&account);
        Self {
            managed: reach.connected && tenant_connected && account.team_member_id().is_some(),
            tenant_connected,
            tenant: account.tenant,
            id: account.id,
            app: account.app,
            email: account.email,
            first_name: account.first_name,
            last_name: account.last_name,
            display_name: account.display_name,
            status,
            status_label,
            present: account.present,
            matching: account.matching,
            suggestions: account.suggestions,
            allowed_actions: allowed,
            updated_at: account.updated_at,
        }
    }
}

/// Whether the app is connected, and the tenant its connection reaches.
pub async fn reach(apps: &Apps, company_id: &str, app: &str) -> Result<Reach> {
    Ok(
        match apps.services.store.get(&connection_key(company_id, app)).await? {
            Some(item) => {
                let connection: Connection = item.record()?;
                Reach {
                    connected: connection.state == ConnectionState::Connected,
                    tenant: connection.vendor_tenant(),
                }
            }
            None => Reach::default(),
        },
    )
}

/// Filters of an app's account list.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountQuery {
    pub status: Option<String>,
    #[serde(rename = "match")]
    pub matching: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// An app's accounts, filtered by status and match state, in a stable order.
pub async fn list_accounts(
    apps: &Apps,
    access: &Access,
    slug: &str,
    query: &AccountQuery,
) -> Result<AccountListing> {
    let company_id = &access.company().id;
    let app = app_of(apps, slug)?;
    let mut v = Validator::new();
    let statuses = ["invite_sent", "connected", "suspended", "deleted"];
    let matches = ["matched", "unmatched", "do_not_match"];
    if let Some(s) = &query.status
        && !statuses.contains(&s.as_str())
    {
        v.error(
            "status",
            format!("`status` must be one of {}.", statuses.join(", ")),
        );
    }
    if let Some(m) = &query.matching
        && !matches.contains(&m.as_str())
    {
        v.error("match", format!("`match` must be one of {}.", matches.join(", ")));
    }
    let page = ListQuery {
        limit: query.limit.clone(),
        cursor: query.cursor.clone(),
    }
    .page_request();
    let page = match page {
        Ok(p) => Some(p),
        Err(Error::Refused(details)) => {
            for d in details {
                v.error(d.error_key, d.message);
            }
            None
        }
        Err(e) => return Err(e),
    };
    let request = v.finish(page)?;
    let reach = reach(apps, company_id, slug).await?;
    let wanted = |a: &AppAccount| {
        query
            .status
            .as_deref()
            .is_none_or(|s| status_name(a.status).0 == s)
            && query.matching.as_deref().is_none_or(|m| {
                matches!(
                    (&a.matching, m),
                    (Matching::Matched { .. }, "matched")
                        | (Matching::Unmatched, "unmatched")
                        | (Matching::DoNotMatch, "do_not_match")
                )
            })
    };
    // Filters apply after reading, so keep reading until the page is full or the list ends.
    let limit = request.effective_limit();
    let mut items = Vec::new();
    let mut cursor = request.cursor.clone();
    let mut next_cursor = None;
    'pages: loop {
        let page = apps
            .services
            .store
            .query(
                &company_partition(company_id),
                &accounts_prefix(slug),
                PageRequest::first(limit as u32).after(cursor.clone()),
            )
            .await?;
        let count = page.items.len();
        for (i, item) in page.items.iter().enumerate() {
            let account: AppAccount = item.record()?;
            if wanted(&account) {
                items.push(AccountView::of(app, account, &reach));
                if items.len() == limit {
                    let more = i + 1 < count || page.next.is_some();
                    if more {
                        next_cursor = Some(Cursor::encode(&prov_core::store::CursorKeys {
                            pk: item.key.pk.clone(),
                            sk: item.key.sk.clone(),
                            ipk: None,
                            isk: None,
                        }));
                    }
                    break 'pages;
                }
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let summary = summarise(apps, company_id, slug, &reach).await?;
    Ok(AccountListing {
        items,
        next_cursor: next_cursor.map(|c| c.as_str().to_owned()),
        summary,
    })
}

/// An app's accounts, the page asked for, and counts over all of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AccountListing {
    pub items: Vec<AccountView>,
    pub next_cursor: Option<String>,
    pub summary: AccountSummary,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AccountSummary {
    /// Accounts the vendor still has.
    pub present: usize,
    pub matched: usize,
    pub unmatched: usize,
    pub do_not_match: usize,
    pub invite_sent: usize,
    /// Accounts that take a seat: present, not deleted, not marked "do not match" (bots and
    /// service accounts are not seats).
    pub seats: usize,
    /// Accounts of a tenant the app is no longer connected to (counted apart from the rest,
    /// which are the connected tenant's): remove them in that tenant yourself.
    pub tenant_not_connected: usize,
}

pub(super) async fn summarise(
    apps: &Apps,
    company_id: &str,
    slug: &str,
    reach: &Reach,
) -> Result<AccountSummary> {
    let mut s = AccountSummary::default();
    for (_, a) in
        all_records::<AppAccount>(apps, &company_partition(company_id), &accounts_prefix(slug)).await?
    {
        if !a.live() {
            continue;
        }
        if !reach.owns(&a) {
            s.tenant_not_connected += 1;
            continue;
        }
        s.present += 1;
        match a.matching {
            Matching::Matched { .. } => s.matched += 1,
            Matching::Unmatched => s.unmatched += 1,
            Matching::DoNotMatch => s.do_not_match += 1,
        }
        if a.status == AccountStatus::InviteSent {
            s.invite_sent += 1;
        }
        if a.matching != Matching::DoNotMatch {
            s.seats += 1;
        }
    }
    Ok(s)
}

/// One app in a team member's Apps view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MemberApp {
    pub app: &'static str,
    pub name: &'static str,
    pub connected: bool,
    pub account: Option<AccountView>,
    /// What can be done for the person in this app (`create` when they have no account).
    pub allowed_actions: Vec<&'static str>,
}

pub(super) async fn member_links(
    apps: &Apps,
    company_id: &str,
    team_member_id: &str,
) -> Result<Vec<(String, String)>> {
    Ok(all_records::<Value>(
        apps,
        &company_partition(company_id),
        &links_prefix(team_member_id),
    )
    .await?
    .into_iter()
    .filter_map(|(_, v)| {
        Some((
            v.get("app")?.as_str()?.to_owned(),
            v.get("account_id")?.as_str()?.to_owned(),
        ))
    })
    .collect())
}

/// A team member's Apps: every matched account with its status and actions, and every
/// connected app where the person could get an account.
pub async fn member_apps(apps: &Apps, access: &Access, team_member_id: &str) -> Result<Vec<MemberApp>> {
    apps_of_member(apps, &access.company().id, team_member_id).await
}

/// `member_apps` for the processes that run without a caller (the dismissal cleanup).
pub(crate) async fn apps_of_member(
    apps: &Apps,
    company_id: &str,
    team_member_id: &str,
) -> Result<Vec<MemberApp>> {
    let member = team::load(&apps.services, company_id, team_member_id).await?.1;
    let links: HashMap<String, String> = member_links(apps, company_id, team_member_id)
        .await?
        .into_iter()
        .collect();
    // Every app's reach from one read of the company's connections.
    let reaches: HashMap<String, Reach> = connections::all(&apps.services, company_id)
        .await?
        .into_iter()
        .map(|c| {
            let reach = Reach {
                connected: c.state == ConnectionState::Connected,
                tenant: c.vendor_tenant(),
            };
            (c.app, reach)
        })
        .collect();
    let can_create = eligibility(Subject::TeamMember(&member)).is_ok()
        && member.email.is_some()
        && member.employment_status != EmploymentStatus::Dismissed;
    let mut out = Vec::new();
    for app in apps.services.catalog.directory() {
        let reach = reaches.get(app.slug).cloned().unwrap_or_default();
        let is_connected = reach.connected;
        let account = match links.get(app.slug) {
            Some(id) => Some(load(apps, company_id, app.slug, id).await?.1),
            None => None,
        };
        if account.is_none() && !is_connected {
            continue;
        }
        let view = account.map(|a| AccountView::of(app, a, &reach));
        let mut allowed = view
            .as_ref()
            .map(|v| v.allowed_actions.clone())
            .unwrap_or_default();
        let has_live = view.as_ref().is_some_and(|v| v.present && v.status != "deleted");
        if is_connected && !has_live && can_create && app.capabilities.create {
            allowed.push("create");
        }
        out.push(MemberApp {
            app: app.slug,
            name: app.name,
            connected: is_connected,
            account: view,
            allowed_actions: allowed,
        });
    }
    Ok(out)
}
