//! Suspend, reactivate, delete and unmatch: what each means for the app, its plan (shown for
//! confirmation), and the vendor call with the recorded result.

use prov_core::access::Access;
use prov_core::audit::{self, Actor, Target};
use prov_core::catalog::App;
use prov_core::connector::{AccountStatus, Connector, ConnectorError, VendorAccount, VendorTenant, Verified};
use prov_core::error::{Error, Result};
use prov_core::store::{Attempt, StoreError, retry_lost_writes};
use prov_core::webhooks::{self, EventType, Listening};
use serde::{Deserialize, Serialize};

use super::events::{change_events, write_with};
use super::records::{
    AppAccount, CONFLICT_ATTEMPTS, Matching, action_error, app_of, load, return_email_of_deleted_mailbox,
    unlink, write,
};
use super::sync::from_vendor;
use super::views::{AccountView, Reach, reach};
use crate::connections::{Apps, Bound, bound_connector};

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
    let done = perform_action(
        apps,
        company_id,
        access.listening(),
        app,
        version,
        account,
        action,
    )
    .await?;
    let said = match action {
        Action::Delete => app.remove_means.to_owned(),
        _ => format!("in {}", app.name),
    };
    audit::succeeded(
        &apps.services,
        actor,
        company_id,
        &format!("account.{}", past(action)),
        Target::new("account", account_id),
        Some(match done.verified {
            Some(verified) => with_proof(&said, verified),
            None => said,
        }),
    )
    .await;
    let reach = reach(apps, company_id, slug).await?;
    Ok(AccountView::of(app, done.account, &reach))
}

/// An audit detail that says how the change was proven.
pub(crate) fn with_proof(detail: &str, verified: Verified) -> String {
    format!("{detail} (verified: {})", verified.as_str())
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
pub(super) fn check_action(app: &App, account: &AppAccount, action: Action, reach: &Reach) -> Result<()> {
    if account.team_member_id().is_none() {
        return Err(Error::invalid(
            "account",
            "Only matched accounts are managed here; match the account first.",
        ));
    }
    if action == Action::Unmatch {
        return Ok(());
    }
    if let Some(former) = reach.former(account) {
        return Err(Error::invalid(
            "account",
            not_this_tenant(app, account, former, reach),
        ));
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
    let reach = reach(apps, company_id, slug).await?;
    check_action(app, &account, action, &reach)?;
    if !reach.connected && action != Action::Unmatch {
        return Err(Error::invalid(
            "app",
            format!("{} is not connected: connect it again first.", app.name),
        ));
    }
    Ok(ActionPlan {
        dry_run: true,
        action: action.name(),
        means: action_means(app, action),
        account: AccountView::of(app, account, &reach),
    })
}

/// Why an account of a tenant the app is no longer connected to is not acted on.
pub(crate) fn not_this_tenant(
    app: &App,
    account: &AppAccount,
    former: &VendorTenant,
    reach: &Reach,
) -> String {
    let who = account
        .email
        .as_deref()
        .or(account.display_name.as_deref())
        .unwrap_or(&account.vendor_id);
    remove_yourself(app, who, former, reach.tenant.as_ref())
}

/// "Remove it in <tenant> yourself": an account of a tenant the app is no longer connected to.
pub(crate) fn remove_yourself(
    app: &App,
    who: &str,
    former: &VendorTenant,
    now: Option<&VendorTenant>,
) -> String {
    let now = now
        .map(|t| format!(", and {} now reaches {t}", app.name))
        .unwrap_or_default();
    format!(
        "{who} is in {former}, which is no longer connected{now}. Nothing was done: remove it in {former} yourself."
    )
}

/// An action done at the vendor, and how it was proven (`None` for an unmatch, which
/// changes nothing there).
#[derive(Debug, Clone)]
pub struct Performed {
    pub account: AppAccount,
    pub verified: Option<Verified>,
}

/// The vendor's account after a suspend or reactivate, proven: the answer shows the state
/// asked for, or else the account read again does; otherwise nothing is recorded.
async fn proven_state(
    app: &App,
    connector: &dyn Connector,
    vendor_id: &str,
    answer: VendorAccount,
    wanted: &[AccountStatus],
) -> Result<(VendorAccount, Verified)> {
    if wanted.contains(&answer.status) {
        return Ok((answer, Verified::VendorAnswer));
    }
    match connector.get(vendor_id).await.map_err(|e| action_error(app, e))? {
        Some(read) if wanted.contains(&read.status) => Ok((read, Verified::ReadBack)),
        read => Err(Error::invalid(
            "account",
            format!(
                "{} answered, but the account still shows as {}: nothing was recorded.",
                app.name,
                read.map(|a| super::views::status_name(a.status).1)
                    .unwrap_or("gone")
            ),
        )),
    }
}

/// The action itself (vendor call, then the record), shared by single actions, "remove
/// all" and dismissals. It is recorded as done only when proven (see [`Verified`]).
pub async fn perform_action(
    apps: &Apps,
    company_id: &str,
    listening: &Listening,
    app: &App,
    version: u64,
    account: AppAccount,
    action: Action,
) -> Result<Performed> {
    if action == Action::Unmatch {
        check_action(app, &account, action, &Reach::default())?;
        let account = unlink(apps, company_id, &account, version, Matching::Unmatched).await?;
        return Ok(Performed {
            account,
            verified: None,
        });
    }
    let bound = bound_connector(apps, company_id, app.slug).await?;
    perform_with(apps, company_id, listening, app, &bound, version, account, action).await
}

/// `perform_action` (not an unmatch) through a connection already at hand.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn perform_with(
    apps: &Apps,
    company_id: &str,
    listening: &Listening,
    app: &App,
    bound: &Bound,
    version: u64,
    account: AppAccount,
    action: Action,
) -> Result<Performed> {
    let reach = Reach::connected(bound.tenant.clone());
    check_action(app, &account, action, &reach)?;
    let connector = bound.connector.as_ref();
    let vendor_id = &account.vendor_id;
    let vendor = match action {
        Action::Suspend => match connector.suspend(vendor_id).await {
            Ok(v) => proven_state(app, connector, vendor_id, v, &[AccountStatus::Suspended])
                .await
                .map(|(v, proof)| (Some(v), proof))
                .map_err(Gone::Refused),
            Err(e) => Err(action_error_or_gone(e)),
        },
        Action::Reactivate => match connector.reactivate(vendor_id).await {
            Ok(v) => proven_state(
                app,
                connector,
                vendor_id,
                v,
                &[AccountStatus::Active, AccountStatus::InviteSent],
            )
            .await
            .map(|(v, proof)| (Some(v), proof))
            .map_err(Gone::Refused),
            Err(e) => Err(action_error_or_gone(e)),
        },
        Action::Delete => connector
            .delete(vendor_id)
            .await
            .map(|proof| (None, proof))
            .map_err(action_error_or_gone),
        Action::Unmatch => unreachable!("handled above"),
    };
    let now = apps.services.clock.now();
    let (next, verified) = match vendor {
        Ok((Some(v), proof)) => (
            AppAccount {
                updated_at: now,
                ..from_vendor(
                    Some(&account),
                    app,
                    bound.tenant.as_ref(),
                    &v,
                    connector.capabilities(),
                    now,
                )
            },
            proof,
        ),
        Ok((None, proof)) => (
            AppAccount {
                status: AccountStatus::Deleted,
                // Gone from the vendor's own resource: no longer listed either.
                present: account.present && proof != Verified::AlreadyGone,
                updated_at: now,
                ..account
            },
            proof,
        ),
        // The account's own resource is gone at the vendor: record the truth.
        Err(Gone::Yes) => {
            let gone = AppAccount {
                present: false,
                updated_at: now,
                ..account
            };
            write(apps, company_id, &gone, Some(version)).await?;
            return_email_of_deleted_mailbox(apps, company_id, &gone).await;
            return Err(action_error(app, ConnectorError::NotFound));
        }
        Err(Gone::No(e)) => return Err(action_error(app, e)),
        Err(Gone::Refused(e)) => return Err(e),
    };
    // The vendor changed; record it even if someone else updated the record meanwhile,
    // with the event it causes for the partner (in the same write).
    let kind = match action {
        Action::Suspend => Some(EventType::AccountSuspended),
        Action::Delete => Some(EventType::AccountRemoved),
        Action::Reactivate | Action::Unmatch => None,
    };
    let (events, mut pending) = change_events(listening, company_id, kind, &next, now)?;
    let recorded = match write_with(apps, company_id, &next, Some(version), events).await {
        Ok(_) => next,
        Err(StoreError::ConditionFailed) => {
            let (v, mut fresh) = load(apps, company_id, app.slug, &next.id).await?;
            fresh.status = next.status;
            fresh.present = next.present;
            fresh.updated_at = now;
            let events;
            (events, pending) = change_events(listening, company_id, kind, &fresh, now)?;
            write_with(apps, company_id, &fresh, Some(v), events).await?;
            fresh
        }
        Err(e) => return Err(e.into()),
    };
    webhooks::nudge(apps.queue.as_ref(), &pending).await;
    if action == Action::Delete {
        return_email_of_deleted_mailbox(apps, company_id, &recorded).await;
    }
    Ok(Performed {
        account: recorded,
        verified: Some(verified),
    })
}

/// Why an action was not recorded: the account is gone at the vendor, the vendor refused,
/// or the answer did not prove it.
enum Gone {
    Yes,
    No(ConnectorError),
    Refused(Error),
}

fn action_error_or_gone(e: ConnectorError) -> Gone {
    match e {
        ConnectorError::NotFound => Gone::Yes,
        other => Gone::No(other),
    }
}

/// Records the status a dismissal found an account already in at the vendor (removed or
/// suspended by a run that died before recording it).
pub async fn record_status(
    apps: &Apps,
    company_id: &str,
    listening: &Listening,
    app: &str,
    id: &str,
    status: AccountStatus,
) -> Result<()> {
    let kind = match status {
        AccountStatus::Deleted => Some(EventType::AccountRemoved),
        AccountStatus::Suspended => Some(EventType::AccountSuspended),
        AccountStatus::Active | AccountStatus::InviteSent => None,
    };
    let written = retry_lost_writes(CONFLICT_ATTEMPTS, move || async move {
        let (version, mut account) = load(apps, company_id, app, id).await?;
        let now = apps.services.clock.now();
        account.status = status;
        account.updated_at = now;
        let (events, pending) = change_events(listening, company_id, kind, &account, now)?;
        let written = write_with(apps, company_id, &account, Some(version), events).await;
        Ok::<_, Error>(Attempt::of(written)?.map(|_| (account, pending)))
    })
    .await?;
    let (account, pending) = written.ok_or_else(|| Error::Busy("account kept changing".into()))?;
    webhooks::nudge(apps.queue.as_ref(), &pending).await;
    if status == AccountStatus::Deleted {
        return_email_of_deleted_mailbox(apps, company_id, &account).await;
    }
    Ok(())
}
