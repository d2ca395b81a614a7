//! Creating an account for a team member (or a work mailbox for a new employee), once, even
//! across crashes and concurrent requests: an intent is written before the vendor call.

use chrono::{DateTime, Duration, Utc};
use prov_core::access::Access;
use prov_core::audit::{self, Actor, Target};
use prov_core::body::{Body, Unparsed};
use prov_core::catalog::App;
use prov_core::connector::{self, Connector, Created, NewWorkAccount, VendorTenant};
use prov_core::error::{Category, Error, Result};
use prov_core::first_password;
use prov_core::keys::{intent_key, link_key};
use prov_core::store::{Item, StoreError};
use prov_core::team::{self, EmploymentStatus, Subject, TeamMember, eligibility};
use prov_core::validate::{Obj, Text, Validator};
use prov_core::webhooks::{self, EventType, Listening};
use secrecy::SecretString;
use utoipa::ToSchema;

use super::events::account_event;
use super::records::{
    AppAccount, CONFLICT_ATTEMPTS, INTENT_LEASE_MINUTES, Intent, Link, MatchedBy, WorkEmail, action_error,
    app_of, conflict, link_with, load, record_of, write,
};
use super::sync::from_vendor;
use super::views::{AccountView, Reach, status_name};
use crate::connections::{Apps, bound_connector};

/// `POST …/apps/{app}/accounts`.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    #[schema(min_length = 1, max_length = 64)]
    pub team_member_id: String,
    /// Apps that create mailboxes (Google Workspace, Microsoft 365): the new work address,
    /// on one of the tenant's domains (`GET …/domains`).
    #[schema(min_length = 1, max_length = 254)]
    pub work_email: Option<String>,
}

impl Body for NewAccount {
    fn parse(v: &mut Validator, root: &Obj<'_>, (): ()) -> Option<Self> {
        v.only(root, &["team_member_id", "work_email"]);
        let team_member_id = v.text(root, "team_member_id", true, Text { max_chars: 64 });
        let work_email = v.text(root, "work_email", false, Text { max_chars: 254 });
        Some(NewAccount {
            team_member_id: team_member_id?,
            work_email,
        })
    }
}

/// Creates an app account for an eligible team member: the vendor sends the invitation.
/// The intent is recorded first; a creation in flight refuses a second one, and a stale one
/// is reconciled by looking the person up at the vendor (never two accounts for one person).
pub async fn create_account(
    apps: &Apps,
    actor: &Actor,
    access: &Access,
    slug: &str,
    team_member_id: &str,
    work_email: Option<&str>,
) -> Result<AccountView> {
    let app = app_of(apps, slug)?;
    let company_id = access.company().id.as_str();
    if let Err(why) = app.allowed_on(access.company().plan) {
        return Err(Error::forbidden("plan", why));
    }
    let member = team::get(&apps.services, access, team_member_id).await?;
    eligibility(Subject::TeamMember(&member))?;
    if work_email.is_some() && !app.capabilities.work_email {
        return Err(Error::invalid(
            "work_email",
            format!("{} does not create work emails.", app.name),
        ));
    }
    // A new work address needs no email on file; any other account is made for the email
    // the team member has.
    let Some(email) = work_email.map(str::to_owned).or_else(|| member.email.clone()) else {
        return Err(Error::invalid(
            "team_member_id",
            format!(
                "{} has no email; add one to their profile before creating app accounts.",
                member.full_name()
            ),
        ));
    };
    if member.employment_status == EmploymentStatus::Dismissed {
        return Err(Error::invalid(
            "team_member_id",
            format!("{} is dismissed.", member.full_name()),
        ));
    }
    if !app.capabilities.create {
        return Err(Error::invalid(
            "app",
            format!("{} cannot create accounts.", app.name),
        ));
    }
    let bound = bound_connector(apps, company_id, slug).await?;
    let (connector, tenant) = (bound.connector, bound.tenant);
    let reach = Reach::connected(tenant.clone());
    if work_email.is_some() {
        on_a_work_domain(app, connector.as_ref(), &email).await?;
    }

    let key = intent_key(company_id, slug, team_member_id);
    let in_flight = || {
        Error::refused(
            "team_member_id",
            Category::Conflict,
            "An account is already being created for this team member in this app; wait for it.",
        )
    };
    let now = apps.services.clock.now();
    let lease_ended = |intent: &Intent| intent.started_at + Duration::minutes(INTENT_LEASE_MINUTES) <= now;
    // Already has a live account here? Then that is the answer. A creation that died after
    // linking the account (before logging it and clearing its intent) left the intent:
    // once its lease has ended, finish its work now (the event is written at most once), so
    // nothing stays "in flight" and nothing is missing from the log. Within the lease the
    // creation may still be running, and it logs its own event.
    if let Some(existing) = existing_live(apps, company_id, team_member_id, slug).await? {
        if let Some(leftover) = apps.services.store.get(&key).await? {
            let earlier = leftover.record::<Intent>()?;
            if !lease_ended(&earlier) {
                return Err(in_flight());
            }
            finish_died(apps, actor, company_id, &existing, team_member_id, earlier).await;
            match apps.services.store.delete(&key, Some(leftover.version)).await {
                Ok(()) | Err(StoreError::ConditionFailed) => {}
                Err(e) => return Err(e.into()),
            }
        }
        return Ok(AccountView::of(app, existing, &reach));
    }

    // Claim the creation.
    let event_id = audit::new_event_id();
    let intent = Item::from_record(
        key.clone(),
        &Intent {
            started_at: now,
            email: email.clone(),
            event_id: Some(event_id.clone()),
        },
    )?
    .with_expiry((now + Duration::days(1)).timestamp());
    // The unfinished attempt this one takes over (its account may exist).
    let resumed = match apps.services.store.create(intent.clone()).await {
        Ok(_) => None,
        Err(StoreError::ConditionFailed) => match apps.services.store.get(&key).await? {
            Some(item) if !lease_ended(&item.record::<Intent>()?) => return Err(in_flight()),
            // A creation that never finished (crash, timeout): take it over. The vendor
            // lookup inside `create` finds an account it may have made.
            Some(item) => {
                let earlier = item.record::<Intent>()?;
                apps.services
                    .store
                    .replace(intent, item.version)
                    .await
                    .map_err(|_| {
                        Error::refused(
                            "team_member_id",
                            Category::Conflict,
                            "Another request took over this creation.",
                        )
                    })?;
                Some(earlier)
            }
            None => {
                apps.services.store.create(intent).await.map_err(|_| {
                    Error::refused(
                        "team_member_id",
                        Category::Conflict,
                        "Another request is creating this account.",
                    )
                })?;
                None
            }
        },
        Err(e) => return Err(e.into()),
    };
    let clear_intent = || async {
        if let Err(e) = apps.services.store.delete(&key, None).await {
            tracing::warn!(error = %e, "creation intent not cleared; it expires with its lease");
        }
    };
    // Looked at again under the claim: a creation that finished between the first look and
    // the claim made the account (and logged it); this request must neither make another
    // nor log it again. Only a dead creation's account is logged here, under its event.
    let existing = match existing_live(apps, company_id, team_member_id, slug).await {
        Ok(existing) => existing,
        Err(e) => {
            clear_intent().await;
            return Err(e);
        }
    };
    if let Some(existing) = existing {
        if let Some(earlier) = resumed {
            finish_died(apps, actor, company_id, &existing, team_member_id, earlier).await;
        }
        clear_intent().await;
        return Ok(AccountView::of(app, existing, &reach));
    }

    let kind = match work_email {
        Some(_) => Creation::WorkEmail,
        None => Creation::Account,
    };
    let result = async {
        // A work address is new: one that exists already belongs to someone (unless this
        // creation's own earlier attempt made it), and is never handed to this person.
        let own_earlier = resumed.is_some_and(|e| e.email.eq_ignore_ascii_case(&email));
        if kind == Creation::WorkEmail && !own_earlier {
            let existing = connector
                .find_by_email(&email)
                .await
                .map_err(|e| action_error(app, e))?;
            if existing.is_some() {
                return Err(conflict(format!(
                    "{email} already exists in {}; choose another address, or match that account to the team member instead.",
                    app.name
                )));
            }
        }
        let at = At {
            connector: connector.as_ref(),
            tenant: tenant.as_ref(),
        };
        let event = Announced {
            listening: access.listening(),
            event_id: &event_id,
            at: now,
        };
        create_and_record(apps, company_id, app, at, &member, &email, kind, event).await
    }
    .await;
    // The intent goes whatever happened, last: on success the account is recorded and
    // logged; on a clear failure nothing was made. (A crash leaves it, and the next attempt
    // reconciles.)
    let (account, first_password) = match result {
        Ok(made) => made,
        Err(e) => {
            clear_intent().await;
            return Err(e);
        }
    };
    if kind == Creation::WorkEmail {
        adopt_work_email(apps, actor, company_id, &member, &email).await;
    }
    log_created(apps, actor, company_id, &account, &member.id, &event_id, now).await;
    if let Some(first) = first_password {
        send_first_password(apps, actor, company_id, app, &account, &member.id, first).await;
    }
    clear_intent().await;
    Ok(AccountView::of(app, account, &reach))
}

/// Logs the account a dead creation made, under the event its intent reserved.
async fn finish_died(
    apps: &Apps,
    actor: &Actor,
    company_id: &str,
    account: &AppAccount,
    team_member_id: &str,
    died: Intent,
) {
    let event_id = died.event_id.unwrap_or_else(audit::new_event_id);
    log_created(
        apps,
        actor,
        company_id,
        account,
        team_member_id,
        &event_id,
        died.started_at,
    )
    .await;
}

/// The first password an account was made with, where the vendor sends the person nothing.
pub(super) struct FirstPassword {
    password: SecretString,
    /// The address the account was made for, the person's: the link goes there.
    to: String,
    /// What they sign in with, when it is not that address.
    sign_in_name: Option<String>,
}

/// Emails the person a one-time link to their new account's first password. A failure
/// leaves the account made and says so in the audit log (the person can use the app's
/// "Forgot password"); the password itself is never logged.
pub(super) async fn send_first_password(
    apps: &Apps,
    actor: &Actor,
    company_id: &str,
    app: &App,
    account: &AppAccount,
    team_member_id: &str,
    first: FirstPassword,
) {
    let offer = first_password::Offer {
        company_id,
        app_name: app.name,
        account_id: &account.id,
        team_member_id,
        to: &first.to,
        sign_in_name: first.sign_in_name.as_deref(),
    };
    let (result, detail) = match first_password::send(&apps.services, offer, &first.password).await {
        Ok(expires_at) => (
            audit::Outcome::Succeeded,
            format!(
                "a one-time link to the first password, emailed to the team member, works until {}",
                prov_core::schedule::pacific_for_people(expires_at)
            ),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "the first password was not kept for a reveal link");
            (
                audit::Outcome::Failed,
                format!(
                    "the first password could not be emailed; the person can use {}'s \"Forgot password\"",
                    app.name
                ),
            )
        }
    };
    audit::record(
        &apps.services,
        audit::Record {
            company_id,
            actor: audit::ActorRef::from(&actor.principal),
            request_id: &actor.request_id,
            action: "account.first_password_sent",
            target: Target::new("account", &account.id),
            result,
            detail: Some(detail),
        },
    )
    .await;
}

/// The `account.created` event of the creation whose intent reserved `event_id` at
/// `started_at`: the same event however often a crashed creation is resumed.
pub(super) async fn log_created(
    apps: &Apps,
    actor: &Actor,
    company_id: &str,
    account: &AppAccount,
    team_member_id: &str,
    event_id: &str,
    started_at: DateTime<Utc>,
) {
    audit::record_once(
        &apps.services,
        audit::Record {
            company_id,
            actor: audit::ActorRef::from(&actor.principal),
            request_id: &actor.request_id,
            action: "account.created",
            target: Target::new("account", &account.id),
            result: audit::Outcome::Succeeded,
            detail: Some(format!(
                "for team member {team_member_id}; status {}",
                status_name(account.status).0
            )),
        },
        event_id,
        started_at,
    )
    .await;
}

pub(super) async fn existing_live(
    apps: &Apps,
    company_id: &str,
    team_member_id: &str,
    slug: &str,
) -> Result<Option<AppAccount>> {
    let Some(item) = apps
        .services
        .store
        .get(&link_key(company_id, team_member_id, slug))
        .await?
    else {
        return Ok(None);
    };
    let link: Link = item.record()?;
    let (_, account) = load(apps, company_id, slug, &link.account_id).await?;
    Ok(account.live().then_some(account))
}

/// What an account creation makes at the vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Creation {
    /// An account (or invitation) for the email the team member has.
    Account,
    /// A new mailbox user at a work address (Google Workspace, Microsoft 365); the team
    /// member's email on file, if any, is its recovery address.
    WorkEmail,
}

/// Refuses a work address that is not on one of the tenant's domains.
pub(super) async fn on_a_work_domain(app: &App, connector: &dyn Connector, email: &str) -> Result<()> {
    let domain = email
        .split_once('@')
        .filter(|(local, domain)| !local.is_empty() && domain.contains('.') && !domain.contains('@'))
        .map(|(_, domain)| domain.to_ascii_lowercase())
        .ok_or_else(|| Error::invalid("work_email", "must be an email address."))?;
    let domains = connector
        .work_email_domains()
        .await
        .map_err(|e| action_error(app, e))?;
    if domains.iter().any(|d| d.eq_ignore_ascii_case(&domain)) {
        Ok(())
    } else {
        Err(Error::invalid(
            "work_email",
            format!(
                "must be on one of the {} domains: {}.",
                app.name,
                domains.join(", ")
            ),
        ))
    }
}

/// The new work address becomes the team member's email (later app accounts are made for
/// it). A failure here leaves the account made and is logged: the admin can set it by hand.
pub(super) async fn adopt_work_email(
    apps: &Apps,
    actor: &Actor,
    company_id: &str,
    member: &TeamMember,
    email: &str,
) {
    if member
        .email
        .as_deref()
        .is_some_and(|e| e.eq_ignore_ascii_case(email))
    {
        return;
    }
    // Read as an admin's change would be: the vendor's address is checked like any email.
    let patch = Unparsed::new(serde_json::Map::from_iter([(
        "email".to_owned(),
        serde_json::Value::from(email),
    )]));
    if let Err(e) = team::update(&apps.services, actor, company_id, &member.id, &patch).await {
        tracing::warn!(error = %e, "the new work email was not set on the team member");
    }
}

/// Where an account is created: the connection's connector and the tenant it reaches.
#[derive(Clone, Copy)]
pub(super) struct At<'a> {
    pub(super) connector: &'a dyn Connector,
    pub(super) tenant: Option<&'a VendorTenant>,
}

/// The partner event a creation announces: `account.created` under the id (and time) the
/// creation reserved for its audit event, if the company's partner listens for it.
#[derive(Clone, Copy)]
pub(super) struct Announced<'a> {
    pub(super) listening: &'a Listening,
    pub(super) event_id: &'a str,
    pub(super) at: DateTime<Utc>,
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn create_and_record(
    apps: &Apps,
    company_id: &str,
    app: &App,
    at: At<'_>,
    member: &TeamMember,
    email: &str,
    kind: Creation,
    announced: Announced<'_>,
) -> Result<(AppAccount, Option<FirstPassword>)> {
    let connector = at.connector;
    let made = match kind {
        Creation::Account => {
            connector
                .create_with_first_password(&connector::NewAccount {
                    email: email.to_owned(),
                    first_name: member.first_name.clone(),
                    last_name: member.last_name.clone(),
                })
                .await
        }
        Creation::WorkEmail => connector
            .create_work_account(&NewWorkAccount {
                work_email: email.to_owned(),
                first_name: member.first_name.clone(),
                last_name: member.last_name.clone(),
                personal_email: member.email.clone(),
            })
            .await
            .map(|account| Created {
                account,
                first_password: None,
                sign_in_name: None,
            }),
    };
    let Created {
        account: vendor,
        first_password,
        sign_in_name,
    } = made.map_err(|e| action_error(app, e))?;
    let mut first_password = first_password.map(|password| FirstPassword {
        password,
        to: email.to_owned(),
        sign_in_name,
    });
    let caps = connector.capabilities();
    let now = apps.services.clock.now();
    for _ in 0..CONFLICT_ATTEMPTS {
        let existing = record_of(apps, company_id, app.slug, at.tenant, &vendor.id).await?;
        let (version, before) = match existing {
            Some((version, record)) => (Some(version), Some(record)),
            None => (None, None),
        };
        if let Some(other) = before.as_ref().and_then(|b| b.team_member_id())
            && other != member.id
        {
            return Err(conflict(format!(
                "{} already has an account with {email}, matched to another team member.",
                app.name
            )));
        }
        let mut account = from_vendor(before.as_ref(), app, at.tenant, &vendor, caps, now);
        account.updated_at = now;
        if kind == Creation::WorkEmail && account.work_email.is_none() {
            // The address becomes the person's email; the one they had is kept to give back.
            account.work_email = Some(WorkEmail {
                previous_email: member.email.clone().filter(|e| !e.eq_ignore_ascii_case(email)),
            });
        }
        let version = match write(apps, company_id, &account, version).await {
            Ok(v) => v,
            Err(StoreError::ConditionFailed) => continue, // changed meanwhile: read again
            Err(e) => return Err(e.into()),
        };
        // The link is the creation's last write: the partner's event goes with it.
        let event = account_event(
            announced.listening,
            company_id,
            EventType::AccountCreated,
            Some(announced.event_id),
            &account,
            Some(&member.id),
            announced.at,
        )?;
        let (events, pending): (Vec<_>, Vec<_>) = event.into_iter().unzip();
        match link_with(
            apps,
            company_id,
            &account,
            version,
            &member.id,
            MatchedBy::Created,
            events,
        )
        .await
        {
            Ok(linked) => {
                webhooks::nudge(apps.queue.as_ref(), &pending).await;
                return Ok((linked, first_password.take()));
            }
            Err(Error::Refused(d)) if d.iter().all(|d| d.category == Category::Conflict) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::refused(
        "account",
        Category::Conflict,
        "The account kept changing; read it again.",
    ))
}
