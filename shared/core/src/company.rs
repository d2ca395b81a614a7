//! Companies and their admins (users): the records every company-scoped use case reads,
//! and who may see a company.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::Principal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    #[default]
    Simple,
    Plus,
    Premium,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Company {
    pub id: String,
    pub partner_id: String,
    pub name: String,
    pub trade_name: Option<String>,
    pub ein: Option<String>,
    pub number_employees: Option<u32>,
    pub states: Vec<String>,
    pub addresses: Vec<Address>,
    pub plan: Plan,
    pub primary_admin_id: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    PrimaryAdmin,
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Connect apps and manage team members' app accounts.
    ManageApps,
}

/// An admin of a company: the primary payroll admin, or an invited admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub company_id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub role: Role,
    /// Granted permissions; the primary admin holds every permission implicitly.
    #[serde(default)]
    pub permissions: Vec<Permission>,
    /// The admin's own team member record, when the admin is also an employee.
    #[serde(default)]
    pub team_member_id: Option<String>,
    pub email_confirmed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The lookup ids of the admin's API tokens, so removing the admin revokes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<String>,
}

impl User {
    pub fn has(&self, permission: Permission) -> bool {
        self.role == Role::PrimaryAdmin || self.permissions.contains(&permission)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Address {
    pub street_1: String,
    pub street_2: Option<String>,
    pub city: String,
    pub state: String,
    pub zip: String,
    pub phone: String,
    pub is_primary: bool,
}

/// Whether `principal` may see `company`. Anyone else is told it does not exist.
pub fn may_see(principal: &Principal, company: &Company) -> bool {
    match principal {
        Principal::Partner { partner_id } => *partner_id == company.partner_id,
        Principal::Admin { company_id, .. } => *company_id == company.id,
    }
}

/// A company as stored: listed in its partner's index in the order companies were made,
/// with what its partner's webhook endpoints listen for (not part of the company as shown).
pub(crate) fn company_item(
    company: &Company,
    listening: &crate::webhooks::Listening,
) -> crate::error::Result<crate::store::Item> {
    let mut item = crate::store::Item::from_record(crate::keys::company_key(&company.id), company)?
        .with_index(
            crate::keys::partner_companies_index(&company.partner_id),
            format!("{}#{}", company.created_at.to_rfc3339(), company.id),
        );
    listening.put_on(&mut item);
    Ok(item)
}

/// Owner of an email address; its key makes emails unique across the service.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct EmailOwner {
    pub(crate) company_id: String,
    pub(crate) user_id: String,
}
