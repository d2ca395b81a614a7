//! Suspend, reactivate, delete and unmatch: what each means for the app, its plan (shown for
//! confirmation), and the vendor call with the recorded result.

use prov_core::access::Access;
use prov_core::audit::{self, Actor, Target};
use prov_core::catalog::App;
use prov_core::connector::{AccountStatus, ConnectorError};
use prov_core::error::{Error, Result};
use prov_core::store::{Attempt, StoreError, retry_lost_writes};
use serde::{Deserialize, Serialize};

use super::records::{
    AppAccount, CONFLICT_ATTEMPTS, Matching, action_error, app_of, load, return_email_of_deleted_mailbox,
    unlink, write,
};
use super::sync::from_vendor;
use super::views::{AccountView, is_connected};
use crate::connections::{Apps, connector_for};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Suspend,
    Reactivate,
    Delete,
    Unmatch,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Suspend => "suspend",
            Action::Reactivate => "reactivate",
            Action::Delete => "delete",
            Action::Unmatch => "unmatch",
        }
    }
}

/// Does `action` to one matched account.
pub async fn act(
    apps: &Apps,
    actor: &Actor,
    access: &Access,
    slug: &str,
    account_id: &str,
    action: Action,
) -> Result<AccountView> {
    let app = app_of(apps, slug)?;
    let company_id = access.company().id.as_str();
    let (version, account) = load(apps, company_id, slug, account_id).await?;
    let account = perform_action(apps, company_id, app, version, account, action).await?;
    audit::succeeded(
        &apps.services,
        actor,
        company_id,
        &format!("account.{}", past(action)),
        Target::new("account", account_id),
        Some(match action {
            Action::Delete => app.remove_means.to_owned(),
            _ => format!("in {}", app.name),
        }),
    )
    .await;
    let connected = is_connected(apps, company_id, slug).await?;
    Ok(AccountView::of(app, account, connected))
}

pub(super) fn past(action: Action) -> &'static str {
    match action {
        Action::Suspend => "suspended",
        Action::Reactivate => "reactivated",
        Action::Delete => "deleted",
        Action::Unmatch => "unmatched",
    }
}

/// Whether `action` can be done to `account` at all (before any vendor call).
pub(super) fn check_action(app: &App, account: &AppAccount, action: Action) -> Result<()> {
    if account.team_member_id().is_none() {
        return Err(Error::invalid(
            "account",
            "Only matched accounts are managed here; match the account first.",
        ));
    }
    if action == Action::Unmatch {
        return Ok(());
    }
    let supported = match action {
        Action::Suspend | Action::Reactivate => app.capabilities.suspend,
        _ => app.capabilities.delete,
    };
    if !supported {
        return Err(Error::invalid(
            "action",
            format!("{} cannot {} accounts.", app.name, action.name()),
        ));
    }
    if !account.live() {
        return Err(Error::invalid(
            "account",
            "This account is already gone from the app.",
        ));
    }
    Ok(())
}

/// Exactly what `action` does to an account in `app`.
pub fn action_means(app: &App, action: Action) -> String {
    match action {
        Action::Delete => app.remove_means.to_owned(),
        Action::Suspend => app
            .suspend_means
            .map(str::to_owned)
            .unwrap_or_else(|| format!("Suspends the account in {}.", app.name)),
        Action::Reactivate => format!(
            "Reactivates the account in {}: the person can sign in again.",
            app.name
        ),
        Action::Unmatch => format!(
            "Stops managing this account from here. Nothing changes in {}: the account stays as it is and can be matched again.",
            app.name
        ),
    }
}

/// What an action would do to one account (a dry run): the same checks as doing it, no
/// vendor call, nothing saved.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActionPlan {
    /// Always `true`: nothing was done.
    pub dry_run: bool,
    /// `suspend`, `reactivate`, `delete` or `unmatch`.
    pub action: &'static str,
    /// Exactly what it would do in this app.
    pub means: String,
    /// The account as it is now.
    pub account: AccountView,
}

/// Says what `action` would do to one account, refusing exactly as doing it would (short
/// of the vendor's own answer).
pub async fn plan_action(
    apps: &Apps,
    access: &Access,
    slug: &str,
    account_id: &str,
    action: Action,
) -> Result<ActionPlan> {
    let app = app_of(apps, slug)?;
    let company_id = access.company().id.as_str();
    let (_, account) = load(apps, company_id, slug, account_id).await?;
    check_action(app, &account, action)?;
    let connected = is_connected(apps, company_id, slug).await?;
    if !connected && action != Action::Unmatch {
        return Err(Error::invalid(
            "app",
            format!("{} is not connected: connect it again first.", app.name),
        ));
    }
    Ok(ActionPlan {
        dry_run: true,
        action: action.name(),
        means: action_means(app, action),
        account: AccountView::of(app, account, connected),
    })
}

/// The action itself (vendor call, then the record), shared by single actions, "remove
/// all" and dismissals.
pub async fn perform_action(
    apps: &Apps,
    company_id: &str,
    app: &App,
    version: u64,
    account: AppAccount,
    action: Action,
) -> Result<AppAccount> {
    check_action(app, &account, action)?;
    if action == Action::Unmatch {
        return unlink(apps, company_id, &account, version, Matching::Unmatched).await;
    }
    let connector = connector_for(apps, company_id, app.slug).await?;
    let vendor = match action {
        Action::Suspend => connector.suspend(&account.vendor_id).await.map(Some),
        Action::Reactivate => connector.reactivate(&account.vendor_id).await.map(Some),
        Action::Delete => connector.delete(&account.vendor_id).await.map(|()| None),
        Action::Unmatch => unreachable!("handled above"),
    };
    let now = apps.services.clock.now();
    let next = match vendor {
        Ok(Some(v)) => AppAccount {
            updated_at: now,
            ..from_vendor(Some(&account), app, &v, connector.capabilities(), now)
        },
        Ok(None) => AppAccount {
            status: AccountStatus::Deleted,
            updated_at: now,
            ..account
        },
        // Gone at the vendor: record the truth.
        Err(ConnectorError::NotFound) => {
            let gone = AppAccount {
                present: false,
                updated_at: now,
                ..account
            };
            write(apps, company_id, &gone, Some(version)).await?;
            return_email_of_deleted_mailbox(apps, company_id, &gone).await;
            return Err(action_error(app, ConnectorError::NotFound));
        }
        Err(e) => return Err(action_error(app, e)),
    };
    // The vendor changed; record it even if someone else updated the record meanwhile.
    let recorded = match write(apps, company_id, &next, Some(version)).await {
        Ok(_) => next,
        Err(StoreError::ConditionFailed) => {
            let (v, mut fresh) = load(apps, company_id, app.slug, &next.id).await?;
            fresh.status = next.status;
            fresh.present = next.present;
            fresh.updated_at = now;
            write(apps, company_id, &fresh, Some(v)).await?;
            fresh
        }
        Err(e) => return Err(e.into()),
    };
    if action == Action::Delete {
        return_email_of_deleted_mailbox(apps, company_id, &recorded).await;
    }
    Ok(recorded)
}

/// Records the status a dismissal found an account already in at the vendor (removed or
/// suspended by a run that died before recording it).
pub async fn record_status(
    apps: &Apps,
    company_id: &str,
    app: &str,
    id: &str,
    status: AccountStatus,
) -> Result<()> {
    let written = retry_lost_writes(CONFLICT_ATTEMPTS, move || async move {
        let (version, mut account) = load(apps, company_id, app, id).await?;
        account.status = status;
        account.updated_at = apps.services.clock.now();
        Ok::<_, Error>(Attempt::of(write(apps, company_id, &account, Some(version)).await)?.map(|_| account))
    })
    .await?;
    let account = written.ok_or_else(|| Error::Busy("account kept changing".into()))?;
    if status == AccountStatus::Deleted {
        return_email_of_deleted_mailbox(apps, company_id, &account).await;
    }
    Ok(())
}
