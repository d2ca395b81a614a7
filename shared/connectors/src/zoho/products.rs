//! Zoho's data, product by product: which product a connection manages, each product's
//! account and organization shapes, its errors and its "slow down" answers, and what
//! creating an account needs. Parsing only: no call is made here.

use reqwest::StatusCode;
use serde_json::Value;

use crate::error::{ConnectorError, brief};
use crate::http::VendorResponse;
use crate::model::{AccountPage, AccountStatus, VendorAccount};
use crate::spec::Tenant;

/// The Zoho product a connection manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    Desk,
    Books,
    Crm,
}

impl Product {
    pub fn of(tenant: &Tenant) -> Result<Self, ConnectorError> {
        match tenant.get("product").map(String::as_str) {
            Some("desk") => Ok(Product::Desk),
            Some("books") => Ok(Product::Books),
            Some("crm") => Ok(Product::Crm),
            Some(_) => Err(ConnectorError::Invalid(
                "`product` must be one of desk, books, crm".into(),
            )),
            None => Err(ConnectorError::Invalid("`product` is required".into())),
        }
    }

    pub(super) fn slug(self) -> &'static str {
        match self {
            Product::Desk => "desk",
            Product::Books => "books",
            Product::Crm => "crm",
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Product::Desk => "Zoho Desk",
            Product::Books => "Zoho Books",
            Product::Crm => "Zoho CRM",
        }
    }

    /// Accounts per page: Desk's agents 100 (it allows up to 200), Books' and CRM's users
    /// 200, the most both allow.
    pub(super) fn page_size(self) -> usize {
        match self {
            Product::Desk => 100,
            Product::Books | Product::Crm => 200,
        }
    }

    /// The scopes the Self Client's grant code must be generated with.
    pub fn scopes(self) -> &'static str {
        match self {
            Product::Desk => "Desk.settings.ALL,Desk.basic.READ",
            Product::Books => "ZohoBooks.settings.READ,ZohoBooks.settings.CREATE,ZohoBooks.settings.DELETE",
            Product::Crm => {
                "ZohoCRM.users.ALL,ZohoCRM.org.READ,ZohoCRM.settings.roles.READ,ZohoCRM.settings.profiles.READ"
            }
        }
    }
}

/// Zoho's "slow down" answers beyond a plain 429: Desk's and CRM's error codes for too
/// many requests, concurrent requests or the day's API credits used up.
pub fn rate_limited(response: &VendorResponse) -> bool {
    if !response.status.is_client_error() {
        return false;
    }
    let said: Value = serde_json::from_slice(&response.body).unwrap_or_default();
    ["errorCode", "code"].iter().any(|k| {
        matches!(
            said.get(*k).and_then(Value::as_str),
            Some("TOO_MANY_REQUESTS" | "THRESHOLD_EXCEEDED" | "CONCURRENCY_LIMIT_EXCEEDED")
        )
    })
}

/// What creating an account needs, looked up once per connector.
#[derive(Debug, Clone)]
pub(super) enum Defaults {
    /// The department a new agent joins.
    Desk { department: String },
    /// The "Staff" role, when Books has one.
    Books { role: Option<String> },
    /// The "Standard" profile and the lowest role.
    Crm { profile: String, role: String },
}

/// An id Zoho sends as a string or a number.
pub(super) fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(super) fn text(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

pub(super) fn desk_account(agent: &Value) -> Option<VendorAccount> {
    let status = match (
        agent.get("status").and_then(Value::as_str),
        agent.get("isConfirmed").and_then(Value::as_bool),
    ) {
        (Some("DELETED"), _) => AccountStatus::Deleted,
        (Some("DISABLED"), _) => AccountStatus::Suspended,
        // Invited, not accepted yet.
        (_, Some(false)) => AccountStatus::InviteSent,
        _ => AccountStatus::Active,
    };
    Some(VendorAccount {
        id: id_of(agent.get("id")?)?,
        email: text(agent, "emailId"),
        first_name: text(agent, "firstName"),
        last_name: text(agent, "lastName"),
        display_name: text(agent, "name"),
        status,
    })
}

pub(super) fn books_account(user: &Value) -> Option<VendorAccount> {
    let status = match user.get("status").and_then(Value::as_str) {
        Some("invited") => AccountStatus::InviteSent,
        Some("inactive") => AccountStatus::Suspended,
        Some("deleted") => AccountStatus::Deleted,
        _ => AccountStatus::Active,
    };
    Some(VendorAccount {
        id: id_of(user.get("user_id")?)?,
        email: text(user, "email"),
        first_name: None,
        last_name: None,
        // Books keeps one name.
        display_name: text(user, "name"),
        status,
    })
}

pub(super) fn crm_account(user: &Value) -> Option<VendorAccount> {
    let status = match (
        user.get("status").and_then(Value::as_str),
        user.get("confirm").and_then(Value::as_bool),
    ) {
        (Some("deleted"), _) => AccountStatus::Deleted,
        (Some("disabled" | "inactive"), _) => AccountStatus::Suspended,
        // Invited, not accepted yet.
        (_, Some(false)) => AccountStatus::InviteSent,
        _ => AccountStatus::Active,
    };
    Some(VendorAccount {
        id: id_of(user.get("id")?)?,
        email: text(user, "email"),
        first_name: text(user, "first_name"),
        last_name: text(user, "last_name"),
        display_name: text(user, "full_name"),
        status,
    })
}

pub(super) fn parsed(response: &VendorResponse) -> Value {
    serde_json::from_slice(&response.body).unwrap_or_default()
}

pub(super) fn transient(product: Product, status: StatusCode, message: &str) -> ConnectorError {
    ConnectorError::Transient(format!("{} answered {status}: {message}", product.name()))
}

/// Desk's answer (`{"errorCode": …, "message": …}`), mapped to the typed error.
pub(super) fn desk_error(response: &VendorResponse) -> ConnectorError {
    let said = parsed(response);
    let code = said.get("errorCode").and_then(Value::as_str).unwrap_or_default();
    let message = text(&said, "message")
        .map(|m| brief(&m))
        .unwrap_or_else(|| response.text());
    // A field error of the duplicate kind (`{"errors": [{"errorType": "duplicate"}]}`).
    let duplicate = said
        .get("errors")
        .and_then(Value::as_array)
        .is_some_and(|e| e.iter().any(|e| e["errorType"] == "duplicate"));
    match (response.status, code) {
        (_, "LICENSE_ACCESS_LIMITED") => ConnectorError::PlanRequired(format!(
            "{message} (Zoho Desk's API needs a paid edition: Standard, Professional or Enterprise)"
        )),
        (_, "SCOPE_MISMATCH") => ConnectorError::Unauthorized(format!(
            "{message} (generate the grant code with the scopes {})",
            Product::Desk.scopes()
        )),
        (_, "OAUTH_ORG_MISMATCH") => ConnectorError::Unauthorized(format!(
            "{message} (generate the grant code for the Desk organization to manage)"
        )),
        (StatusCode::UNAUTHORIZED, _) | (_, "INVALID_OAUTH" | "UNAUTHORIZED") => {
            ConnectorError::Unauthorized(message)
        }
        (StatusCode::FORBIDDEN, _) => ConnectorError::Unauthorized(format!(
            "{message} (the Self Client's user must be a Zoho Desk administrator)"
        )),
        (StatusCode::NOT_FOUND, _) => ConnectorError::NotFound,
        (StatusCode::CONFLICT, _) => ConnectorError::Conflict(message),
        (s, _) if s.is_client_error() && duplicate => ConnectorError::Conflict(message),
        (s, _) if s.is_client_error() => ConnectorError::Invalid(format!("{code}: {message}")),
        (s, _) => transient(Product::Desk, s, &message),
    }
}

/// Books' answer (`{"code": <non-zero>, "message": …}`, with any HTTP status), mapped.
pub(super) fn books_error(response: &VendorResponse) -> ConnectorError {
    let said = parsed(response);
    let code = said.get("code").and_then(Value::as_i64).unwrap_or(-1);
    let message = text(&said, "message")
        .map(|m| brief(&m))
        .unwrap_or_else(|| response.text());
    let lower = message.to_lowercase();
    match response.status {
        StatusCode::UNAUTHORIZED => ConnectorError::Unauthorized(message),
        StatusCode::FORBIDDEN => ConnectorError::Unauthorized(format!(
            "{message} (the Self Client's user must be an admin of the Books organization)"
        )),
        StatusCode::NOT_FOUND => ConnectorError::NotFound,
        s if s.is_server_error() => transient(Product::Books, s, &message),
        // 57: "You are not authorized to perform this operation".
        _ if code == 57 => ConnectorError::Unauthorized(format!(
            "{message} (the Self Client's user must be an admin of the Books organization)"
        )),
        _ if lower.contains("already") => ConnectorError::Conflict(message),
        _ if lower.contains("does not exist") || lower.contains("not exist") => ConnectorError::NotFound,
        _ if lower.contains("upgrade") => ConnectorError::PlanRequired(message),
        // 1000: internal error.
        _ if code == 1000 => transient(Product::Books, response.status, &message),
        _ => ConnectorError::Invalid(format!("code {code}: {message}")),
    }
}

/// A CRM error code (top-level or per record), mapped.
pub(super) fn crm_code_error(status: StatusCode, code: &str, message: &str) -> ConnectorError {
    let message = brief(message);
    match code {
        "INVALID_TOKEN" | "INVALID_OAUTHTOKEN" | "AUTHENTICATION_FAILURE" => {
            ConnectorError::Unauthorized(message)
        }
        "OAUTH_SCOPE_MISMATCH" => ConnectorError::Unauthorized(format!(
            "{message} (generate the grant code with the scopes {})",
            Product::Crm.scopes()
        )),
        "NO_PERMISSION" => ConnectorError::Unauthorized(format!(
            "{message} (the Self Client's user must be a Zoho CRM administrator)"
        )),
        "DUPLICATE_DATA" => ConnectorError::Conflict(message),
        "FEATURE_NOT_SUPPORTED" | "FEATURE_NOT_ENABLED" | "LICENSE_LIMIT_EXCEEDED" => {
            ConnectorError::PlanRequired(message)
        }
        "TOO_MANY_REQUESTS" => ConnectorError::RateLimited { retry_after: None },
        "INTERNAL_ERROR" => transient(Product::Crm, status, &message),
        _ if status == StatusCode::UNAUTHORIZED => ConnectorError::Unauthorized(message),
        _ if status == StatusCode::NOT_FOUND => ConnectorError::NotFound,
        _ if status.is_server_error() => transient(Product::Crm, status, &message),
        _ if message.to_lowercase().contains("already exist") => ConnectorError::Conflict(message),
        _ => ConnectorError::Invalid(format!("{code}: {message}")),
    }
}

/// The first error CRM reports: top-level (`{"code", "message", "status": "error"}`) or for
/// a record (`{"users": [{…}]}`); `None` when the answer reports none.
pub(super) fn crm_reported_error(response: &VendorResponse) -> Option<ConnectorError> {
    let said = parsed(response);
    let is_error = |v: &Value| v.get("status").and_then(Value::as_str) == Some("error");
    let as_error = |v: &Value| {
        crm_code_error(
            response.status,
            v.get("code").and_then(Value::as_str).unwrap_or_default(),
            v.get("message").and_then(Value::as_str).unwrap_or_default(),
        )
    };
    if is_error(&said) {
        return Some(as_error(&said));
    }
    if let Some(item) = said
        .get("users")
        .and_then(Value::as_array)
        .and_then(|items| items.iter().find(|i| is_error(i)))
    {
        return Some(as_error(item));
    }
    if response.status.is_success() {
        None
    } else {
        let message = response.text();
        Some(crm_code_error(response.status, "", &message))
    }
}

/// A Zoho organization: its id and name.
#[derive(Debug, Clone)]
pub(super) struct Organization {
    pub id: String,
    pub name: Option<String>,
}

/// CRM's organization, the one of the `org` answer.
pub(super) fn crm_org(body: &Value) -> Result<Organization, ConnectorError> {
    let org = body
        .get("org")
        .and_then(Value::as_array)
        .and_then(|orgs| orgs.first())
        .ok_or_else(|| ConnectorError::Transient("Zoho CRM answered no organization".into()))?;
    Ok(Organization {
        id: org
            .get("id")
            .and_then(id_of)
            .ok_or_else(|| ConnectorError::Transient("Zoho CRM sent an organization without an id".into()))?,
        name: text(org, "company_name"),
    })
}

/// Desk's organization: the default one (the first default when several are); a Free
/// edition has no API.
pub(super) fn desk_org(body: &Value) -> Result<Organization, ConnectorError> {
    let orgs = body
        .get("data")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let org = orgs
        .iter()
        .find(|o| o["isDefault"] == true)
        .or_else(|| orgs.first())
        .ok_or_else(|| ConnectorError::Invalid("the Zoho account has no Zoho Desk organization".into()))?;
    if org["edition"]
        .as_str()
        .is_some_and(|e| e.eq_ignore_ascii_case("free"))
    {
        return Err(ConnectorError::PlanRequired(
            "the Zoho Desk organization is on the Free edition, which has no API: Standard, Professional or Enterprise is needed".into(),
        ));
    }
    Ok(Organization {
        id: org.get("id").and_then(id_of).ok_or_else(|| {
            ConnectorError::Transient("Zoho Desk sent an organization without an id".into())
        })?,
        name: text(org, "companyName").or_else(|| text(org, "portalName")),
    })
}

/// Books' organization: the default one, else the first.
pub(super) fn books_org(body: &Value) -> Result<Organization, ConnectorError> {
    let orgs = body
        .get("organizations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    orgs.iter()
        .find(|o| o["is_default_org"] == true)
        .or_else(|| orgs.first())
        .and_then(|o| {
            Some(Organization {
                id: o.get("organization_id").and_then(id_of)?,
                name: text(o, "name"),
            })
        })
        .ok_or_else(|| ConnectorError::Invalid("the Zoho account has no Zoho Books organization".into()))
}

/// The lowest role of CRM's hierarchy: of the roles no other role reports to, the deepest
/// (the first of equals); admin roles are never chosen.
pub(super) fn lowest_role(roles: &[Value]) -> Option<String> {
    let id = |r: &Value| r.get("id").and_then(id_of);
    let parent = |r: &Value| r.pointer("/reporting_to/id").and_then(id_of);
    let depth = |r: &Value| {
        let mut depth = 0;
        let mut current = parent(r);
        // Bounded by the number of roles, so a loop in the data cannot hang us.
        while let Some(p) = current {
            depth += 1;
            if depth > roles.len() {
                break;
            }
            current = roles
                .iter()
                .find(|x| id(x).as_deref() == Some(&p))
                .and_then(parent);
        }
        depth
    };
    let is_leaf = |r: &Value| {
        let me = id(r);
        !roles.iter().any(|x| parent(x).is_some() && parent(x) == me)
    };
    let mut best: Option<(usize, String)> = None;
    for role in roles.iter().filter(|r| is_leaf(r) && r["admin_user"] != true) {
        let (Some(role_id), d) = (id(role), depth(role)) else {
            continue;
        };
        if best.as_ref().is_none_or(|(bd, _)| d > *bd) {
            best = Some((d, role_id));
        }
    }
    best.map(|(_, id)| id)
}

/// A Books or CRM page of `users` (page-numbered; `more` points at the flag saying another
/// page follows), each mapped by `account`.
pub(super) fn users_page(
    body: &Value,
    page: u32,
    more: &str,
    account: fn(&Value) -> Option<VendorAccount>,
) -> AccountPage {
    let users = body.get("users").and_then(Value::as_array);
    let more = body.pointer(more).and_then(Value::as_bool).unwrap_or(false);
    AccountPage {
        next: more.then(|| (page + 1).to_string()),
        accounts: users
            .map(|u| u.iter().filter_map(account).collect())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_lowest_role_is_the_deepest_leaf() {
        let roles = vec![
            json!({"id": "1", "name": "CEO", "reporting_to": null, "admin_user": true}),
            json!({"id": "2", "name": "Manager", "reporting_to": {"id": "1", "name": "CEO"}}),
            json!({"id": "3", "name": "Assistant", "reporting_to": {"id": "1", "name": "CEO"}}),
            json!({"id": "4", "name": "Sales Rep", "reporting_to": {"id": "2", "name": "Manager"}}),
        ];
        assert_eq!(lowest_role(&roles).as_deref(), Some("4"));
        // A lone administrator role is never chosen.
        assert_eq!(lowest_role(&roles[..1]), None);
    }
}
