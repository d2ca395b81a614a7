//! The Zoho connector's calls, product by product: listing and reading accounts, what
//! creating one needs, creating, finding by email, suspending and reactivating, removing.

use reqwest::Method;
use serde_json::{Value, json};

use super::client::ZohoConnector;
use super::products::{
    Defaults, Product, books_account, crm_account, desk_account, id_of, lowest_role, users_page,
};
use crate::error::ConnectorError;
use crate::model::{AccountPage, AccountStatus, NewAccount, VendorAccount, Verified};

/// A bound on the pages one lookup by email reads (100 000 accounts or more): a vendor that
/// says "more" forever cannot hold a call.
const MAX_FIND_PAGES: usize = 1000;

impl ZohoConnector {
    pub(super) async fn page(
        &self,
        cursor: Option<&str>,
        size: usize,
    ) -> Result<AccountPage, ConnectorError> {
        match self.product {
            Product::Desk => {
                let from: usize = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
                let request = self
                    .request(
                        Method::GET,
                        &["agents"],
                        &[("from", from.to_string()), ("limit", size.to_string())],
                    )
                    .await?;
                let body = self
                    .call(request)
                    .await
                    .map_err(|e| self.lookup_error(e, "agents listing"))?;
                let agents = body
                    .get("data")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let full = agents.len() >= size;
                Ok(AccountPage {
                    next: full.then(|| (from + agents.len()).to_string()),
                    accounts: agents.iter().filter_map(desk_account).collect(),
                })
            }
            Product::Books => {
                let page: u32 = cursor.and_then(|c| c.parse().ok()).unwrap_or(1);
                let request = self
                    .request(
                        Method::GET,
                        &["users"],
                        &[
                            ("page", page.to_string()),
                            ("per_page", size.to_string()),
                            ("filter_by", "Status.All".to_owned()),
                        ],
                    )
                    .await?;
                let body = self
                    .call(request)
                    .await
                    .map_err(|e| self.lookup_error(e, "users listing"))?;
                Ok(users_page(
                    &body,
                    page,
                    "/page_context/has_more_page",
                    books_account,
                ))
            }
            Product::Crm => {
                let page: u32 = cursor.and_then(|c| c.parse().ok()).unwrap_or(1);
                let request = self
                    .request(
                        Method::GET,
                        &["users"],
                        &[
                            ("type", "AllUsers".to_owned()),
                            ("page", page.to_string()),
                            ("per_page", size.to_string()),
                        ],
                    )
                    .await?;
                let body = self
                    .call(request)
                    .await
                    .map_err(|e| self.lookup_error(e, "users listing"))?;
                Ok(users_page(&body, page, "/info/more_records", crm_account))
            }
        }
    }

    /// Whether an answer to a read by id means "no such account": a 404, or the product's
    /// "invalid id / does not exist" refusal.
    fn means_missing(&self, error: &ConnectorError) -> bool {
        match error {
            ConnectorError::NotFound => true,
            ConnectorError::Invalid(why) => match self.product {
                Product::Desk => why.starts_with("INVALID_DATA") || why.starts_with("RESOURCE_NOT_FOUND"),
                Product::Books => false,
                Product::Crm => why.starts_with("INVALID_DATA"),
            },
            _ => false,
        }
    }

    pub(super) async fn fetch(&self, id: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        let resource = if self.product == Product::Desk {
            "agents"
        } else {
            "users"
        };
        let request = self.request(Method::GET, &[resource, id], &[]).await?;
        let body = match self.call(request).await {
            Ok(body) => body,
            Err(e) if self.means_missing(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(match self.product {
            Product::Desk if body.is_null() => None,
            Product::Desk => desk_account(&body),
            Product::Books => body.get("user").and_then(books_account),
            Product::Crm => body
                .get("users")
                .and_then(Value::as_array)
                .and_then(|u| u.first())
                .and_then(crm_account),
        })
    }

    /// What creating an account needs, found once.
    pub(super) async fn defaults(&self) -> Result<&Defaults, ConnectorError> {
        self.defaults
            .get_or_try_init(|| async {
                match self.product {
                    Product::Desk => self.desk_department().await,
                    Product::Books => self.books_staff_role().await,
                    Product::Crm => self.crm_profile_and_role().await,
                }
            })
            .await
    }

    /// The organization's default department (else its first enabled one).
    async fn desk_department(&self) -> Result<Defaults, ConnectorError> {
        let request = self
            .request(
                Method::GET,
                &["departments"],
                &[("isEnabled", "true".to_owned()), ("limit", "100".to_owned())],
            )
            .await?;
        let body = self
            .call(request)
            .await
            .map_err(|e| self.lookup_error(e, "departments"))?;
        let departments = body
            .get("data")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let chosen = departments
            .iter()
            .find(|d| d["isDefault"] == true)
            .or_else(|| departments.iter().find(|d| d["isEnabled"] != false))
            .and_then(|d| d.get("id").and_then(id_of))
            .ok_or_else(|| {
                ConnectorError::Invalid(
                    "the Zoho Desk organization has no enabled department for new agents".into(),
                )
            })?;
        Ok(Defaults::Desk { department: chosen })
    }

    /// Books' standard "Staff" role, if the organization has it; when the roles cannot be
    /// read, Books' own default applies.
    async fn books_staff_role(&self) -> Result<Defaults, ConnectorError> {
        let request = self.request(Method::GET, &["settings", "roles"], &[]).await?;
        let body = match self.call(request).await {
            Ok(body) => body,
            Err(ConnectorError::NotFound | ConnectorError::Invalid(_)) => {
                return Ok(Defaults::Books { role: None });
            }
            Err(e) => return Err(e),
        };
        let roles = body
            .get("roles")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let role = roles
            .iter()
            .find(|r| {
                ["role_name", "name"].iter().any(|k| {
                    r.get(*k)
                        .and_then(Value::as_str)
                        .is_some_and(|n| n.trim().eq_ignore_ascii_case("staff"))
                })
            })
            .and_then(|r| r.get("role_id").and_then(id_of));
        Ok(Defaults::Books { role })
    }

    /// CRM's "Standard" profile and the lowest role of the hierarchy.
    async fn crm_profile_and_role(&self) -> Result<Defaults, ConnectorError> {
        let profiles = self
            .call(self.request(Method::GET, &["settings", "profiles"], &[]).await?)
            .await
            .map_err(|e| self.lookup_error(e, "profiles"))?;
        let profile = profiles
            .get("profiles")
            .and_then(Value::as_array)
            .and_then(|p| {
                p.iter().find(|p| {
                    p["name"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case("standard"))
                })
            })
            .and_then(|p| p.get("id").and_then(id_of))
            .ok_or_else(|| {
                ConnectorError::Invalid("Zoho CRM has no \"Standard\" profile for new users".into())
            })?;
        let roles = self
            .call(self.request(Method::GET, &["settings", "roles"], &[]).await?)
            .await
            .map_err(|e| self.lookup_error(e, "roles"))?;
        let roles = roles
            .get("roles")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let role = lowest_role(&roles)
            .ok_or_else(|| ConnectorError::Invalid("Zoho CRM lists no role for new users".into()))?;
        Ok(Defaults::Crm { profile, role })
    }

    pub(super) async fn create_desk(
        &self,
        new: &NewAccount,
        department: &str,
    ) -> Result<VendorAccount, ConnectorError> {
        let mut body = json!({
            "emailId": new.email,
            "lastName": new.last_name,
            "associatedDepartmentIds": [department],
            // Desk's standard Agent: the Agent profile, the tickets of their departments.
            "rolePermissionType": "AgentPublic",
        });
        if !new.first_name.trim().is_empty() {
            body["firstName"] = json!(new.first_name);
        }
        let request = self.request(Method::POST, &["agents"], &[]).await?.json(body);
        let agent = self
            .call(request)
            .await
            .map_err(|e| self.lookup_error(e, "place to invite agents"))?;
        match desk_account(&agent) {
            Some(account) => Ok(account),
            None => self.find(&new.email).await?.ok_or_else(|| {
                ConnectorError::Transient("Zoho Desk did not show the agent it invited".into())
            }),
        }
    }

    pub(super) async fn create_books(
        &self,
        new: &NewAccount,
        role: Option<&str>,
    ) -> Result<VendorAccount, ConnectorError> {
        let name = format!("{} {}", new.first_name.trim(), new.last_name.trim());
        let mut body = json!({"name": name.trim(), "email": new.email});
        if let Some(role) = role {
            body["role_id"] = json!(role);
        }
        let request = self.request(Method::POST, &["users"], &[]).await?.json(body);
        let answer = self
            .call(request)
            .await
            .map_err(|e| self.lookup_error(e, "place to invite users"))?;
        match answer.get("user").and_then(books_account) {
            Some(account) => Ok(account),
            None => self.find(&new.email).await?.ok_or_else(|| {
                ConnectorError::Transient("Zoho Books did not show the user it invited".into())
            }),
        }
    }

    pub(super) async fn create_crm(
        &self,
        new: &NewAccount,
        profile: &str,
        role: &str,
    ) -> Result<VendorAccount, ConnectorError> {
        let mut user = json!({
            "last_name": new.last_name,
            "email": new.email,
            "role": role,
            "profile": profile,
        });
        if !new.first_name.trim().is_empty() {
            user["first_name"] = json!(new.first_name);
        }
        let request = self
            .request(Method::POST, &["users"], &[])
            .await?
            .json(json!({"users": [user]}));
        let answer = self
            .call(request)
            .await
            .map_err(|e| self.lookup_error(e, "place to add users"))?;
        let id = answer
            .pointer("/users/0/details/id")
            .and_then(id_of)
            .ok_or_else(|| ConnectorError::Transient("Zoho CRM did not say which user it added".into()))?;
        // CRM sends the invitation; the user is unconfirmed until they accept.
        Ok(VendorAccount {
            id,
            email: Some(new.email.clone()),
            first_name: Some(new.first_name.clone()).filter(|f| !f.trim().is_empty()),
            last_name: Some(new.last_name.clone()),
            display_name: None,
            status: AccountStatus::InviteSent,
        })
    }

    /// The account with the email (any case), other than a deleted one.
    pub(super) async fn find(&self, email: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        let size = self.product.page_size();
        let mut cursor: Option<String> = None;
        let mut previous = Vec::new();
        for _ in 0..MAX_FIND_PAGES {
            let page = self.page(cursor.as_deref(), size).await?;
            if let Some(found) = page.accounts.iter().find(|a| {
                a.status != AccountStatus::Deleted
                    && a.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(email))
            }) {
                return Ok(Some(found.clone()));
            }
            // An empty page, or the same page again, ends the listing whatever it says.
            if page.accounts.is_empty() || page.accounts == previous {
                return Ok(None);
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(None),
            }
            previous = page.accounts;
        }
        Err(ConnectorError::Transient(format!(
            "Zoho's user listing did not end after {MAX_FIND_PAGES} pages"
        )))
    }

    /// Suspends (`active: false`) or reactivates the account the product's own way, then
    /// reads it back.
    pub(super) async fn set_active(&self, id: &str, active: bool) -> Result<VendorAccount, ConnectorError> {
        let request = match self.product {
            Product::Desk => self
                .request(
                    Method::POST,
                    &["agents", id, if active { "activate" } else { "deactivate" }],
                    &[],
                )
                .await?
                .json(json!({})),
            Product::Books => {
                self.request(
                    Method::POST,
                    &["users", id, if active { "active" } else { "inactive" }],
                    &[],
                )
                .await?
            }
            Product::Crm => self
                .request(Method::PUT, &["users", id], &[])
                .await?
                .json(json!({"users": [{"id": id, "status": if active { "active" } else { "inactive" }}]})),
        };
        if let Err(e) = self.call(request.repeatable()).await {
            // The action's 404 is about the account only if its own resource agrees.
            return Err(match (e, self.fetch(id).await?) {
                (_, None) => ConnectorError::NotFound,
                (e, Some(_)) => self.lookup_error(e, "action for the account"),
            });
        }
        let account = self.fetch(id).await?.ok_or(ConnectorError::NotFound)?;
        if (account.status == AccountStatus::Suspended) == active {
            return Err(ConnectorError::Invalid(format!(
                "{} accepted the change but does not show the account {}",
                self.product.name(),
                if active { "active" } else { "deactivated" }
            )));
        }
        Ok(account)
    }

    /// Desk: an agent who never confirmed is deleted; one who did is deactivated. Gone is
    /// what the agent's own resource says (`GET /agents/{id}`), never a 404 of the action.
    pub(super) async fn remove_desk(&self, id: &str) -> Result<Verified, ConnectorError> {
        let Some(agent) = self.fetch(id).await? else {
            return Ok(Verified::AlreadyGone); // the agent's own resource
        };
        let request = match agent.status {
            AccountStatus::Deleted | AccountStatus::Suspended => return Ok(Verified::ReadBack),
            AccountStatus::InviteSent => self
                .request(Method::POST, &["agents", "deleteUnconfirmed"], &[])
                .await?
                .json(json!({"agentIds": [id]})),
            AccountStatus::Active => self
                .request(Method::POST, &["agents", id, "deactivate"], &[])
                .await?
                .json(json!({})),
        };
        match self.call(request.repeatable()).await {
            Ok(_) => Ok(Verified::VendorAnswer),
            Err(ConnectorError::NotFound) => match self.fetch(id).await? {
                None => Ok(Verified::AlreadyGone),
                Some(a) if matches!(a.status, AccountStatus::Deleted | AccountStatus::Suspended) => {
                    Ok(Verified::ReadBack)
                }
                Some(_) => Err(ConnectorError::Invalid(
                    "Zoho Desk answered \"not found\" to the removal but still lists the agent".into(),
                )),
            },
            Err(e) => Err(e),
        }
    }

    /// Books and CRM delete the user; one that is gone (or deleted already) is fine.
    pub(super) async fn remove_user(&self, id: &str) -> Result<Verified, ConnectorError> {
        let request = self.request(Method::DELETE, &["users", id], &[]).await?;
        match self.call(request).await {
            Ok(_) => Ok(Verified::VendorAnswer),
            // The user's own resource.
            Err(ConnectorError::NotFound) => Ok(Verified::AlreadyGone),
            Err(e @ (ConnectorError::Invalid(_) | ConnectorError::Conflict(_))) => {
                // An unknown id is refused as invalid data: gone is fine, anything else is not.
                match self.fetch(id).await? {
                    None => Ok(Verified::AlreadyGone),
                    Some(a) if a.status == AccountStatus::Deleted => Ok(Verified::ReadBack),
                    Some(_) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }
}
