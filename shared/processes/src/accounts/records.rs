//! The account records, their keys, and the writes several use cases share (an account at
//! the version read, a link to a team member under the one-per-person lock, an unlink).

use chrono::{DateTime, Utc};
use prov_core::catalog::App;
use prov_core::connector::{AccountStatus, ConnectorError, VendorTenant};
use prov_core::error::{Category, Error, Result};
use prov_core::keys::{TEAM_MEMBERS, company_partition};
use prov_core::keys::{account_key, link_key};
use prov_core::secret::hash_secret;
use prov_core::store::{Item, StoreError, WriteOp, query_all};
use prov_core::team::TeamMember;
use serde::{Deserialize, Serialize};

use crate::connections::Apps;

/// How long a creation may stay in flight before another request may take it over.
pub(super) const INTENT_LEASE_MINUTES: i64 = 5;
pub(super) const CONFLICT_ATTEMPTS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// Same name and email in both.
    Auto,
    /// An admin matched it.
    Manual,
    /// We created the account for the person.
    Created,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Matching {
    Matched {
        team_member_id: String,
        by: MatchedBy,
    },
    Unmatched,
    /// "Do not match": bots and service accounts; never a seat, never touched.
    DoNotMatch,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Suggestion {
    pub team_member_id: String,
    /// 0–100: how alike the two look.
    pub score: u8,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppAccount {
    pub id: String,
    pub app: String,
    pub vendor_id: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    pub status: AccountStatus,
    /// Whether the vendor still has it (as of the last sync or action).
    pub present: bool,
    pub matching: Matching,
    pub suggestions: Vec<Suggestion>,
    pub first_seen_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set when the account is a work mailbox made for its team member, whose email it
    /// became.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_email: Option<WorkEmail>,
    /// The vendor tenant the account was seen in (`None`: recorded before connections knew
    /// their tenant; such accounts belong to the tenant the connection has, and a switch
    /// gives them to the tenant it leaves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<VendorTenant>,
}

/// A work mailbox made for a team member (Google Workspace, Microsoft 365): its address
/// became their email, and the email they had before is the mailbox's recovery address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkEmail {
    /// Their email before (`None`: they had none): theirs again once the mailbox is deleted.
    pub previous_email: Option<String>,
}

impl AppAccount {
    pub fn team_member_id(&self) -> Option<&str> {
        match &self.matching {
            Matching::Matched { team_member_id, .. } => Some(team_member_id),
            _ => None,
        }
    }

    pub(super) fn live(&self) -> bool {
        self.present && self.status != AccountStatus::Deleted
    }
}

/// An account's id: one per vendor account in one tenant (two tenants may use the same
/// vendor id). Accounts of a connection that has no tenant recorded keep the id they had
/// before tenants were recorded.
pub fn account_id(app: &str, tenant: Option<&VendorTenant>, vendor_id: &str) -> String {
    let key = match tenant {
        Some(t) => format!("{app}\0{}\0{vendor_id}", t.id),
        None => format!("{app}\0{vendor_id}"),
    };
    format!("acc_{}", &hash_secret(&key)[..24])
}

/// The record of the vendor account `vendor_id` seen in `tenant`: under its id, or, for an
/// account recorded before tenants were, under the id it had then (if no other tenant has
/// claimed it since).
pub(super) async fn record_of(
    apps: &Apps,
    company_id: &str,
    app: &str,
    tenant: Option<&VendorTenant>,
    vendor_id: &str,
) -> Result<Option<(u64, AppAccount)>> {
    let keyed = |id: String| account_key(company_id, app, &id);
    if let Some(item) = apps
        .services
        .store
        .get(&keyed(account_id(app, tenant, vendor_id)))
        .await?
    {
        return Ok(Some((item.version, item.record()?)));
    }
    if tenant.is_none() {
        return Ok(None);
    }
    match apps
        .services
        .store
        .get(&keyed(account_id(app, None, vendor_id)))
        .await?
    {
        Some(item) => {
            let legacy: AppAccount = item.record()?;
            Ok(legacy.tenant.is_none().then_some((item.version, legacy)))
        }
        None => Ok(None),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Link {
    pub(super) account_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Intent {
    pub(super) started_at: DateTime<Utc>,
    pub(super) email: String,
    /// The id of the creation's `account.created` event, reserved with the intent so that a
    /// resumed creation logs the same event (once, in its place in the log).
    #[serde(default)]
    pub(super) event_id: Option<String>,
}

/// A vendor's refusal of an action on an account, said to the admin.
pub fn action_error(app: &App, e: ConnectorError) -> Error {
    match e {
        ConnectorError::Unauthorized(why) => Error::invalid(
            "app",
            format!("{} refused our access ({why}); connect the app again.", app.name),
        ),
        ConnectorError::PlanRequired(why) => Error::invalid("app", format!("{}: {why}", app.name)),
        ConnectorError::NotFound => {
            Error::invalid("account", format!("{} no longer has this account.", app.name))
        }
        ConnectorError::Conflict(why) | ConnectorError::Invalid(why) => {
            Error::invalid("account", format!("{} refused: {why}", app.name))
        }
        ConnectorError::Unsupported(what) => {
            Error::invalid("action", format!("{} cannot {what} accounts.", app.name))
        }
        ConnectorError::RateLimited { retry_after } => crate::rate_limits::rate_limited(app, retry_after),
        ConnectorError::Transient(why) | ConnectorError::Refused(why) => Error::refused(
            "app",
            Category::ServiceUnavailable,
            format!("{} could not be reached: {why}", app.name),
        ),
    }
}

pub(super) fn app_of(apps: &Apps, slug: &str) -> Result<&'static App> {
    apps.services.catalog.get(slug)
}

/// An account record and its version.
pub async fn load(apps: &Apps, company_id: &str, app: &str, id: &str) -> Result<(u64, AppAccount)> {
    let not_found = || Error::not_found("account");
    if id.is_empty() || id.len() > 64 {
        return Err(not_found());
    }
    let item = apps
        .services
        .store
        .get(&account_key(company_id, app, id))
        .await?
        .ok_or_else(not_found)?;
    Ok((item.version, item.record()?))
}

/// Every record of one kind in a partition, following pages.
pub(super) async fn all_records<T: serde::de::DeserializeOwned>(
    apps: &Apps,
    pk: &str,
    prefix: &str,
) -> Result<Vec<(u64, T)>> {
    query_all(apps.services.store.as_ref(), pk, prefix)
        .await?
        .iter()
        .map(|item| Ok((item.version, item.record()?)))
        .collect()
}

pub(super) async fn all_team_members(apps: &Apps, company_id: &str) -> Result<Vec<TeamMember>> {
    Ok(
        all_records::<TeamMember>(apps, &company_partition(company_id), TEAM_MEMBERS)
            .await?
            .into_iter()
            .map(|(_, tm)| tm)
            .collect(),
    )
}

pub(super) fn put(item: Item, version: Option<u64>) -> WriteOp {
    match version {
        Some(expected_version) => WriteOp::Replace {
            item,
            expected_version,
        },
        None => WriteOp::Create(item),
    }
}

/// Writes an account record at the version read (`None`: it must not exist yet).
pub(super) async fn write(
    apps: &Apps,
    company_id: &str,
    account: &AppAccount,
    version: Option<u64>,
) -> std::result::Result<u64, StoreError> {
    let item = Item::from_record(account_key(company_id, &account.app, &account.id), account)?;
    match version {
        Some(v) => apps.services.store.replace(item, v).await,
        None => apps.services.store.create(item).await,
    }
}

pub(super) fn conflict(message: impl Into<String>) -> Error {
    Error::refused("team_member_id", Category::Conflict, message)
}

/// Links an account to a team member in one transaction with the one-per-person lock.
/// A person who already has a (live) account of this app is refused.
pub(super) async fn link(
    apps: &Apps,
    company_id: &str,
    account: &AppAccount,
    version: u64,
    team_member_id: &str,
    by: MatchedBy,
) -> Result<AppAccount> {
    link_with(apps, company_id, account, version, team_member_id, by, Vec::new()).await
}

/// `link`, with the events the link causes written in its transaction.
pub(super) async fn link_with(
    apps: &Apps,
    company_id: &str,
    account: &AppAccount,
    version: u64,
    team_member_id: &str,
    by: MatchedBy,
    events: Vec<WriteOp>,
) -> Result<AppAccount> {
    let now = apps.services.clock.now();
    let mut ops = Vec::new();
    if let Some(old) = account.team_member_id() {
        if old == team_member_id {
            return Ok(account.clone());
        }
        ops.push(WriteOp::Delete {
            key: link_key(company_id, old, &account.app),
            expected_version: None,
        });
    }
    let lock = link_key(company_id, team_member_id, &account.app);
    // A link to a deleted account may be replaced (a rehire gets a new account).
    let existing_lock = apps.services.store.get(&lock).await?;
    let lock_version = match &existing_lock {
        Some(item) => {
            let other: Link = item.record()?;
            let (_, other_account) = load(apps, company_id, &account.app, &other.account_id).await?;
            if other_account.live() && other.account_id != account.id {
                return Err(conflict(
                    "This team member already has a matched account in this app.",
                ));
            }
            Some(item.version)
        }
        None => None,
    };
    let next = AppAccount {
        matching: Matching::Matched {
            team_member_id: team_member_id.to_owned(),
            by,
        },
        suggestions: Vec::new(),
        updated_at: now,
        ..account.clone()
    };
    ops.push(WriteOp::Replace {
        item: Item::from_record(account_key(company_id, &account.app, &account.id), &next)?,
        expected_version: version,
    });
    let link_value =
        serde_json::json!({"account_id": account.id, "app": account.app, "team_member_id": team_member_id});
    ops.push(put(Item::from_record(lock, &link_value)?, lock_version));
    ops.extend(events);
    match apps.services.store.transact(ops).await {
        Ok(()) => Ok(next),
        Err(StoreError::TransactionCancelled { .. }) => Err(conflict(
            "The account or the team member's accounts changed meanwhile; read them again.",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Sets an account unmatched or "do not match", releasing its link.
pub(super) async fn unlink(
    apps: &Apps,
    company_id: &str,
    account: &AppAccount,
    version: u64,
    to: Matching,
) -> Result<AppAccount> {
    let mut ops = Vec::new();
    if let Some(tm) = account.team_member_id() {
        ops.push(WriteOp::Delete {
            key: link_key(company_id, tm, &account.app),
            expected_version: None,
        });
    }
    let next = AppAccount {
        matching: to,
        updated_at: apps.services.clock.now(),
        ..account.clone()
    };
    ops.push(WriteOp::Replace {
        item: Item::from_record(account_key(company_id, &account.app, &account.id), &next)?,
        expected_version: version,
    });
    match apps.services.store.transact(ops).await {
        Ok(()) => Ok(next),
        Err(StoreError::TransactionCancelled { .. }) => Err(Error::refused(
            "account",
            Category::Conflict,
            "The account changed meanwhile; read it again.",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Once a work mailbox is deleted, its address is dead: the team member's email returns to
/// the one they had before, so later invitations reach them. Nothing changes when their
/// email is no longer the mailbox's. A failure is logged, not raised: the mailbox is gone
/// either way, and an admin can set the email by hand.
pub(crate) async fn return_email_of_deleted_mailbox(apps: &Apps, company_id: &str, account: &AppAccount) {
    let (Some(work), Some(team_member_id), Some(address)) = (
        account.work_email.as_ref(),
        account.team_member_id(),
        account.email.as_deref(),
    ) else {
        return;
    };
    if let Err(e) = prov_core::team::return_email(
        &apps.services,
        company_id,
        team_member_id,
        address,
        work.previous_email.as_deref(),
    )
    .await
    {
        tracing::warn!(error = %e, "the team member's email before their deleted mailbox was not given back");
    }
}
