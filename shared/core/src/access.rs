//! Who may do what to a company. Every company route goes through `authorize`.
//!
//! Anyone who may not see the company is told it does not exist (404). Someone who may see
//! it but lacks the permission for the action gets 403.

use crate::auth::Principal;
use crate::company::{Company, Permission, Role, User, may_see};
use crate::error::{Error, Result};
use crate::keys::{company_key, user_key};
use crate::services::Services;
use crate::webhooks::Listening;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Read the company, its team, admins and audit log: the owning partner, any admin.
    Read,
    /// Add and change team members: the owning partner, any admin.
    ManageTeam,
    /// App, connection and account routes: the owning partner, the primary admin, or an
    /// admin with `manage_apps`.
    ManageApps,
    /// Invite admins and change permissions: the owning partner or the primary admin.
    ManageAdmins,
    /// Change the plan: the owning partner.
    ChangePlan,
}

/// What `authorize` found: the company (at the version read) and the calling admin, if any.
/// Only `authorize` builds one, so a use case that takes an `Access` was authorized for the
/// company it names: every company-scoped use case takes one.
#[derive(Debug, Clone)]
pub struct Access {
    company: Company,
    company_version: u64,
    admin: Option<User>,
    /// What the company's partner listens for (from the company record).
    listening: Listening,
}

impl Access {
    pub fn company(&self) -> &Company {
        &self.company
    }

    /// The version the company was read at (for a change written at that version).
    pub fn company_version(&self) -> u64 {
        self.company_version
    }

    pub fn into_company(self) -> Company {
        self.company
    }

    /// The event types the company's partner listens for: a change writes its event with
    /// itself only when it is one of them.
    pub fn listening(&self) -> &Listening {
        &self.listening
    }

    /// The calling admin (`None` for the owning partner).
    pub fn admin(&self) -> Option<&User> {
        self.admin.as_ref()
    }

    /// Whether the caller may also do what `need` allows (a route authorized for less that
    /// offers more to those who may, e.g. a dismissal's per-app removal choices).
    pub fn allows(&self, need: Need) -> bool {
        self.admin.as_ref().is_none_or(|admin| permits(admin, need))
    }
}

/// What an admin may do (the owning partner may do all but what is checked elsewhere).
fn permits(admin: &User, need: Need) -> bool {
    match need {
        Need::Read | Need::ManageTeam => true,
        Need::ManageApps => admin.has(Permission::ManageApps),
        Need::ManageAdmins => admin.role == Role::PrimaryAdmin,
        Need::ChangePlan => false,
    }
}

pub async fn authorize(
    svc: &Services,
    principal: &Principal,
    company_id: &str,
    need: Need,
) -> Result<Access> {
    let not_found = || Error::not_found("company");
    if company_id.is_empty() || company_id.len() > 64 {
        return Err(not_found());
    }
    let item = svc
        .store
        .get(&company_key(company_id))
        .await?
        .ok_or_else(not_found)?;
    let company: Company = item.record()?;
    if !may_see(principal, &company) {
        return Err(not_found());
    }
    let admin = match principal {
        Principal::Partner { .. } => None,
        Principal::Admin { user_id, .. } => {
            // An admin removed since the token was issued no longer sees the company.
            let user_item = svc
                .store
                .get(&user_key(company_id, user_id))
                .await?
                .ok_or_else(not_found)?;
            Some(user_item.record::<User>()?)
        }
    };
    if let Some(admin) = &admin
        && !permits(admin, need)
    {
        let why = match need {
            Need::ManageApps => "Managing apps needs the primary admin or the `manage_apps` permission.",
            Need::ManageAdmins => "Only the primary admin can manage admins and permissions.",
            _ => "Only the company's partner can change its plan.",
        };
        return Err(Error::forbidden("authorization", why));
    }
    Ok(Access {
        company,
        company_version: item.version,
        admin,
        listening: Listening::of_item(&item),
    })
}
