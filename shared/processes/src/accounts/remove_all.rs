//! Removing all of a person's app accounts at once, and the mailbox apps' domains and groups.

use prov_core::access::Access;
use prov_core::audit::{self, Actor, Target};
use prov_core::body::Body;
use prov_core::connector::VendorGroup;
use prov_core::error::{Error, ErrorDetail, Result};
use prov_core::team::{self};
use prov_core::validate::{Obj, Text, Validator};
use serde::Serialize;
use utoipa::ToSchema;

use super::actions::{Action, not_this_tenant, perform_action, with_proof};
use super::records::{action_error, app_of, load};
use super::views::{AccountView, Reach, member_links, reach};
use crate::connections::{Apps, bound_connector, connector_for};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Removal {
    pub app: String,
    pub app_name: String,
    pub account_id: String,
    pub email: Option<String>,
    /// `delete`, or `skip` when it cannot be done here.
    pub action: &'static str,
    /// What the action really does in this app, or why it is skipped.
    pub means: String,
    /// After a real run: `deleted`, `failed` or `skipped`.
    pub result: Option<&'static str>,
    pub error: Option<ErrorDetail>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RemoveAll {
    pub team_member_id: String,
    pub dry_run: bool,
    pub accounts: Vec<Removal>,
}

/// Deletes every managed account of a team member (dry run: says exactly what would happen).
pub async fn remove_all(
    apps: &Apps,
    actor: &Actor,
    access: &Access,
    team_member_id: &str,
    dry_run: bool,
) -> Result<RemoveAll> {
    let company_id = access.company().id.as_str();
    team::get(&apps.services, access, team_member_id).await?;
    let mut plan = Vec::new();
    for (slug, account_id) in member_links(apps, company_id, team_member_id).await? {
        let app = app_of(apps, &slug)?;
        let (version, account) = load(apps, company_id, &slug, &account_id).await?;
        if !account.live() {
            continue;
        }
        let reach = reach(apps, company_id, &slug).await?;
        let (action, means) = if !reach.connected {
            (
                "skip",
                format!(
                    "{} is not connected: remove the account in the app itself.",
                    app.name
                ),
            )
        } else if let Some(former) = reach.former(&account) {
            ("skip", not_this_tenant(app, &account, former, &reach))
        } else if !app.capabilities.delete {
            ("skip", format!("{} cannot remove accounts from here.", app.name))
        } else {
            ("delete", app.remove_means.to_owned())
        };
        plan.push((app, version, account, action, means));
    }
    let mut accounts = Vec::with_capacity(plan.len());
    for (app, version, account, action, means) in plan {
        let mut removal = Removal {
            app: app.slug.to_owned(),
            app_name: app.name.to_owned(),
            account_id: account.id.clone(),
            email: account.email.clone(),
            action,
            means,
            result: None,
            error: None,
        };
        if !dry_run {
            if action == "skip" {
                removal.result = Some("skipped");
            } else {
                match perform_action(
                    apps,
                    company_id,
                    access.listening(),
                    app,
                    version,
                    account,
                    Action::Delete,
                )
                .await
                {
                    Ok(done) => {
                        removal.result = Some("deleted");
                        let said = format!("remove all: {}", app.remove_means);
                        audit::succeeded(
                            &apps.services,
                            actor,
                            company_id,
                            "account.deleted",
                            Target::new("account", &removal.account_id),
                            Some(match done.verified {
                                Some(verified) => with_proof(&said, verified),
                                None => said,
                            }),
                        )
                        .await;
                    }
                    Err(Error::Refused(details)) => {
                        removal.result = Some("failed");
                        removal.error = details.into_iter().next();
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        accounts.push(removal);
    }
    Ok(RemoveAll {
        team_member_id: team_member_id.to_owned(),
        dry_run,
        accounts,
    })
}

/// The domains a work email may be created on in `slug` (Google Workspace, Microsoft 365).
pub async fn work_email_domains(apps: &Apps, access: &Access, slug: &str) -> Result<Vec<String>> {
    let company_id = &access.company().id;
    let app = app_of(apps, slug)?;
    if !app.capabilities.work_email {
        return Err(Error::invalid(
            "app",
            format!("{} does not create work emails.", app.name),
        ));
    }
    let connector = connector_for(apps, company_id, slug).await?;
    connector
        .work_email_domains()
        .await
        .map_err(|e| action_error(app, e))
}

/// The groups of `slug` (Google Workspace) accounts can be put in.
pub async fn groups(apps: &Apps, access: &Access, slug: &str) -> Result<Vec<VendorGroup>> {
    let company_id = &access.company().id;
    let app = app_of(apps, slug)?;
    if !app.capabilities.groups {
        return Err(Error::invalid("app", format!("{} has no groups.", app.name)));
    }
    let connector = connector_for(apps, company_id, slug).await?;
    connector.groups().await.map_err(|e| action_error(app, e))
}

/// `POST …/groups/{group_id}/members`.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupMember {
    #[schema(min_length = 1, max_length = 64)]
    pub account_id: String,
}

impl Body for GroupMember {
    fn parse(v: &mut Validator, root: &Obj<'_>, (): ()) -> Option<Self> {
        v.only(root, &["account_id"]);
        let account_id = v.text(root, "account_id", true, Text { max_chars: 64 });
        Some(GroupMember {
            account_id: account_id?,
        })
    }
}

/// Puts an account of `slug` in one of its groups (already a member is fine).
pub async fn add_to_group(
    apps: &Apps,
    actor: &Actor,
    access: &Access,
    slug: &str,
    group_id: &str,
    account_id: &str,
) -> Result<AccountView> {
    let app = app_of(apps, slug)?;
    if !app.capabilities.groups {
        return Err(Error::invalid("app", format!("{} has no groups.", app.name)));
    }
    let company_id = access.company().id.as_str();
    if let Err(why) = app.allowed_on(access.company().plan) {
        return Err(Error::forbidden("plan", why));
    }
    let (_, account) = load(apps, company_id, slug, account_id).await?;
    if account.team_member_id().is_none() {
        return Err(Error::invalid(
            "account_id",
            "Only an account matched to a team member is managed here; match it first.",
        ));
    }
    if !account.live() {
        return Err(Error::invalid(
            "account_id",
            format!("The {} account is gone.", app.name),
        ));
    }
    let bound = bound_connector(apps, company_id, slug).await?;
    let reach = Reach::connected(bound.tenant);
    if let Some(former) = reach.former(&account) {
        return Err(Error::invalid(
            "account_id",
            not_this_tenant(app, &account, former, &reach),
        ));
    }
    bound
        .connector
        .add_to_group(&account.vendor_id, group_id)
        .await
        .map_err(|e| action_error(app, e))?;
    audit::succeeded(
        &apps.services,
        actor,
        company_id,
        "account.added_to_group",
        Target::new("account", &account.id),
        Some(format!("group {group_id}")),
    )
    .await;
    Ok(AccountView::of(app, account, &reach))
}
