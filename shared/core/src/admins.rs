//! A company's admins: listing them, inviting non-employee admins, granting or revoking the
//! `manage_apps` permission (the grantee is told by email), and removing an admin (their
//! tokens revoked, their console sessions ended, and they are told by email).

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::access::Access;
use crate::audit::{self, Actor, Target};
use crate::body::Body;
use crate::claims::{ADMIN_EMAIL_OP, admin_with_claim};
use crate::company::EmailOwner;
use crate::company::{Permission, Role, User};
use crate::error::{Category, Error, Result};
use crate::keys::{USERS, company_partition, email_owner_key, user_key};
use crate::listing::{ListQuery, Listing};
use crate::mail::{Email, MailQueue, send_queued};
use crate::provisioning::email_taken;
use crate::secret::new_id;
use crate::services::Services;
use crate::store::{Item, StoreError, WriteOp};
use crate::tokens;
use crate::validate::{Obj, Text, Validator, join};
use crate::values;

const CONFLICT_ATTEMPTS: usize = 3;

/// An admin as the API shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AdminView {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role: Role,
    /// Effective permissions (the primary admin has them all).
    pub permissions: Vec<Permission>,
    /// Not on the team: provisioning apps do not serve this admin.
    pub non_employee: bool,
    /// Whether the admin has claimed their access (confirmed their email).
    pub claimed: bool,
    pub created_at: DateTime<Utc>,
    /// When the admin's API token was last used, to the minute (`null`: never, or no token).
    pub token_last_used_at: Option<DateTime<Utc>>,
}

impl From<&User> for AdminView {
    fn from(u: &User) -> Self {
        let permissions = if u.role == Role::PrimaryAdmin {
            vec![Permission::ManageApps]
        } else {
            u.permissions.clone()
        };
        Self {
            id: u.id.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            email: u.email.clone(),
            role: u.role,
            permissions,
            non_employee: u.team_member_id.is_none(),
            claimed: u.email_confirmed_at.is_some(),
            created_at: u.created_at,
            token_last_used_at: None,
        }
    }
}

/// The admin as the API shows them, with their token's last use.
async fn shown(svc: &Services, user: &User) -> Result<AdminView> {
    Ok(AdminView {
        token_last_used_at: tokens::last_used(svc, user).await?,
        ..AdminView::from(user)
    })
}

pub async fn list(svc: &Services, access: &Access, query: &ListQuery) -> Result<Listing<AdminView>> {
    let company_id = &access.company().id;
    let page = svc
        .store
        .query(&company_partition(company_id), USERS, query.page_request()?)
        .await?;
    let listing = Listing::<User>::from_page(page)?;
    let mut items = Vec::with_capacity(listing.items.len());
    for user in &listing.items {
        items.push(shown(svc, user).await?);
    }
    Ok(Listing {
        items,
        next_cursor: listing.next_cursor,
    })
}

fn permissions(v: &mut Validator, root: &Obj<'_>, required: bool) -> Option<Vec<Permission>> {
    let path = join(root.path(), "permissions");
    if required && root.get("permissions").is_none() {
        v.error(
            &path,
            format!("`{path}` is required (an empty list revokes every permission)."),
        );
        return None;
    }
    let items = v.array(root, "permissions", 10)?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            Some("manage_apps") => {
                if !out.contains(&Permission::ManageApps) {
                    out.push(Permission::ManageApps);
                }
            }
            _ => v.error(
                format!("{path}[{i}]"),
                format!("`{path}[{i}]` must be `manage_apps`."),
            ),
        }
    }
    Some(out)
}

/// `POST …/admins`: a non-employee admin, who claims access by an emailed link.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminInvite {
    #[schema(min_length = 1, max_length = 100)]
    pub first_name: String,
    #[schema(min_length = 1, max_length = 100)]
    pub last_name: String,
    /// Unique across the service without regard to case.
    #[schema(format = Email, min_length = 3, max_length = 254)]
    pub email: String,
    #[schema(value_type = Option<Vec<Permission>>, required = false, max_items = 10)]
    pub permissions: Vec<Permission>,
}

impl Body for AdminInvite {
    fn parse(v: &mut Validator, root: &Obj<'_>, (): ()) -> Option<Self> {
        v.only(root, &["first_name", "last_name", "email", "permissions"]);
        let first_name = v.text(root, "first_name", true, Text::NAME);
        let last_name = v.text(root, "last_name", true, Text::NAME);
        let email = v.parsed(root, "email", true, values::email);
        let permissions = permissions(v, root, false).unwrap_or_default();
        Some(AdminInvite {
            first_name: first_name?,
            last_name: last_name?,
            email: email?,
            permissions,
        })
    }
}

/// `PATCH …/admins/{admin_id}`: the admin's permissions (an empty list revokes them all).
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionsChange {
    #[schema(max_items = 10)]
    pub permissions: Vec<Permission>,
}

impl Body for PermissionsChange {
    fn parse(v: &mut Validator, root: &Obj<'_>, (): ()) -> Option<Self> {
        v.only(root, &["permissions"]);
        let permissions = permissions(v, root, true);
        Some(PermissionsChange {
            permissions: permissions?,
        })
    }
}

/// Invites a non-employee admin: they claim their access through a one-time link.
pub async fn invite(
    svc: &Services,
    actor: &Actor,
    access: &Access,
    invite: &AdminInvite,
) -> Result<AdminView> {
    let company = &access.company();
    let user = User {
        id: new_id("usr"),
        company_id: company.id.clone(),
        first_name: invite.first_name.clone(),
        last_name: invite.last_name.clone(),
        email: invite.email.clone(),
        phone: None,
        role: Role::Admin,
        permissions: invite.permissions.clone(),
        team_member_id: None,
        email_confirmed_at: None,
        created_at: svc.clock.now(),
        tokens: Vec::new(),
    };
    // Not read first: the transaction's condition on the email lock answers "taken".
    let can_manage_apps = user.has(Permission::ManageApps);
    let (ops, mail, _) = admin_with_claim(svc, company, &user, |url, expires| Email {
        to: user.email.clone(),
        subject: format!("You are invited to be an admin of {}", company.name),
        text: format!(
            "Hi {},\n\nYou were invited to be an admin of {}{}.\n\
             Confirm your email and set up your access here:\n\n{url}\n\n\
             This link works once and expires on {}.\n",
            user.first_name,
            company.name,
            if can_manage_apps {
                ", with permission to manage apps"
            } else {
                ""
            },
            crate::schedule::pacific_for_people(expires),
        ),
    })?;
    match svc.store.transact(ops).await {
        Ok(()) => {}
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&ADMIN_EMAIL_OP) => {
            return Err(email_taken("email"));
        }
        Err(e) => return Err(e.into()),
    }
    audit::succeeded(
        svc,
        actor,
        &company.id,
        "admin.invited",
        Target::new("user", &user.id),
        can_manage_apps.then(|| "with manage_apps".to_owned()),
    )
    .await;
    send_queued(svc.store.as_ref(), svc.mailer.as_ref(), &mail).await;
    Ok(AdminView::from(&user))
}

/// Sets an admin's permissions. When `manage_apps` is granted or revoked, the admin gets
/// an email, written in the same transaction as the change.
pub async fn set_permissions(
    svc: &Services,
    actor: &Actor,
    access: &Access,
    admin_id: &str,
    change: &PermissionsChange,
) -> Result<AdminView> {
    let wanted = &change.permissions;
    let company = &access.company();
    let not_found = || Error::not_found("admin");
    if admin_id.is_empty() || admin_id.len() > 64 {
        return Err(not_found());
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        let item = svc
            .store
            .get(&user_key(&company.id, admin_id))
            .await?
            .ok_or_else(not_found)?;
        let mut user: User = item.record()?;
        if user.role == Role::PrimaryAdmin {
            return Err(Error::invalid(
                "permissions",
                "The primary admin holds every permission; it cannot be changed.",
            ));
        }
        let had = user.has(Permission::ManageApps);
        user.permissions = wanted.clone();
        let has = user.has(Permission::ManageApps);
        if had == has {
            return shown(svc, &user).await;
        }
        let (subject, text) = if has {
            (
                format!("You can now manage apps for {}", company.name),
                format!(
                    "Hi {},\n\nYou were given permission to manage apps for {}: connect apps and create, suspend and remove team members' app accounts.\n",
                    user.first_name, company.name
                ),
            )
        } else {
            (
                format!("Your permission to manage apps for {} was removed", company.name),
                format!(
                    "Hi {},\n\nYour permission to manage apps for {} was removed. Ask your primary admin if this is unexpected.\n",
                    user.first_name, company.name
                ),
            )
        };
        let (mail_op, mail) = MailQueue::enqueue(
            Email {
                to: user.email.clone(),
                subject,
                text,
            },
            svc.clock.as_ref(),
        )?;
        let ops = vec![
            WriteOp::Replace {
                item: Item::from_record(item.key.clone(), &user)?,
                expected_version: item.version,
            },
            mail_op,
        ];
        match svc.store.transact(ops).await {
            Ok(()) => {
                let change = if has {
                    "granted manage_apps"
                } else {
                    "revoked manage_apps"
                };
                audit::succeeded(
                    svc,
                    actor,
                    &company.id,
                    "admin.permissions_changed",
                    Target::new("user", &user.id),
                    Some(change.to_owned()),
                )
                .await;
                send_queued(svc.store.as_ref(), svc.mailer.as_ref(), &mail).await;
                return shown(svc, &user).await;
            }
            Err(StoreError::TransactionCancelled { .. } | StoreError::Contention(_))
                if attempt < CONFLICT_ATTEMPTS => {}
            Err(StoreError::TransactionCancelled { .. }) => {
                return Err(Error::refused(
                    "admin",
                    Category::Conflict,
                    "The admin kept changing; retry.",
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The write that frees an admin's email address (with the admin's removal), if the admin
/// holds it: it can then be given to an admin again.
async fn release_email(svc: &Services, user: &User) -> Result<Option<WriteOp>> {
    let Some(lock) = svc.store.get(&email_owner_key(&user.email)).await? else {
        return Ok(None);
    };
    let owner: EmailOwner = lock.record()?;
    Ok(
        (owner.company_id == user.company_id && owner.user_id == user.id).then(|| WriteOp::Delete {
            key: lock.key.clone(),
            expected_version: Some(lock.version),
        }),
    )
}

/// Removes an admin (the owning partner or the primary admin; not the primary admin). In one
/// transaction: the admin, their API tokens and their hold on their email address go, and
/// the email telling them is queued. Their console sessions end at once too: every console
/// request authorizes its admin again, and the admin is gone.
pub async fn remove(svc: &Services, actor: &Actor, access: &Access, admin_id: &str) -> Result<()> {
    let company = access.company();
    let not_found = || Error::not_found("admin");
    if admin_id.is_empty() || admin_id.len() > 64 {
        return Err(not_found());
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        let item = svc
            .store
            .get(&user_key(&company.id, admin_id))
            .await?
            .ok_or_else(not_found)?;
        let user: User = item.record()?;
        if user.role == Role::PrimaryAdmin || company.primary_admin_id == user.id {
            return Err(Error::invalid("admin_id", "The primary admin cannot be removed."));
        }
        let mut ops = vec![WriteOp::Delete {
            key: item.key.clone(),
            expected_version: Some(item.version),
        }];
        ops.extend(release_email(svc, &user).await?);
        ops.extend(tokens::revoke_ops(&user));
        let (mail_op, mail) = MailQueue::enqueue(
            Email {
                to: user.email.clone(),
                subject: format!("You are no longer an admin of {}", company.name),
                text: format!(
                    "Hi {},\n\nYou were removed as an admin of {}. Your admin token and console sign-in no longer work. Ask the company's primary admin if this is unexpected.\n",
                    user.first_name, company.name
                ),
            },
            svc.clock.as_ref(),
        )?;
        ops.push(mail_op);
        match svc.store.transact(ops).await {
            Ok(()) => {
                audit::succeeded(
                    svc,
                    actor,
                    &company.id,
                    "admin.removed",
                    Target::new("user", &user.id),
                    Some(format!("{} token(s) revoked", user.tokens.len())),
                )
                .await;
                send_queued(svc.store.as_ref(), svc.mailer.as_ref(), &mail).await;
                return Ok(());
            }
            Err(StoreError::TransactionCancelled { .. } | StoreError::Contention(_))
                if attempt < CONFLICT_ATTEMPTS => {}
            Err(StoreError::TransactionCancelled { .. }) => {
                return Err(Error::refused(
                    "admin",
                    Category::Conflict,
                    "The admin kept changing; retry.",
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
}
