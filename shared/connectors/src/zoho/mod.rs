//! Zoho: the agents of Zoho Desk, the users of Zoho Books or the users of Zoho CRM (one
//! product per connection), through each product's REST API.
//!
//! **Auth.** Zoho's APIs take only OAuth 2.0 access tokens, in `Authorization:
//! Zoho-oauthtoken …`. The admin creates a Self Client in the Zoho API Console of their data
//! center, generates a grant code with the product's scopes, and pastes the client id,
//! secret and grant code. At connect the code is exchanged once at the data center's
//! accounts server (`POST /oauth/v2/token`, `grant_type=authorization_code`) for a refresh
//! token, which is stored with the client secret (the code is dropped); access tokens (one
//! hour) are minted from it on first use and again after a 401. Zoho answers token errors
//! with HTTP 200 and `{"error": …}`.
//!
//! **Hosts.** The connection's data center picks the accounts server, Desk's host
//! (`desk.zoho.{…}`) and the host of Books and CRM (`www.zohoapis.{…}`).
//!
//! **Desk** (`/api/v1`, header `orgId` on every call but `/organizations`): the organization
//! is the one Desk marks default (the first default when several are). Creating an agent
//! invites them (they are "not confirmed" until they accept): the agent gets Desk's standard
//! Agent permissions (`rolePermissionType: AgentPublic`, the Agent profile, the tickets of
//! their department) in the organization's default department. Remove deletes an agent who
//! never confirmed (`POST /agents/deleteUnconfirmed`) and deactivates one who did (`POST
//! /agents/{id}/deactivate`: the agent is kept, listed as deactivated, and frees the seat).
//! Desk's API needs a paid edition: its `LICENSE_ACCESS_LIMITED` is `PlanRequired`.
//!
//! **Books** (`/books/v3`, query `organization_id` on every call but `/organizations`): the
//! organization is Books' default one. Creating a user invites them (`invited` until they
//! accept) with Books' standard "Staff" role when the organization has it (otherwise Books'
//! own default). Remove deletes the user. Books answers `{"code": 0, …}`; any other `code`
//! is an error, even with HTTP 200.
//!
//! **CRM** (`/crm/v7`): creating a user invites them (`confirm: false` until they accept)
//! with the "Standard" profile and the lowest role of the organization's role hierarchy.
//! Remove deletes the user. CRM reports errors per record (`{"users": [{"code":
//! "INVALID_DATA", "status": "error", …}]}`), with HTTP 200, 201 or 400 alike.
//!
//! **Suspend and reactivate**, per product: Desk deactivates and activates the agent
//! (`POST /agents/{id}/deactivate` and `/activate`, https://desk.zoho.com/DeskAPIDocument#Agents;
//! a confirmed agent's removal is the same deactivation); Books marks the user inactive and
//! active (`POST /users/{id}/inactive` and `/active`, https://www.zoho.com/books/api/v3/users/);
//! CRM updates the user's `status` to `inactive` or `active`
//! (https://www.zoho.com/crm/developer/docs/api/update-user.html). The account is read back
//! after, and must show the state asked for.

mod accounts;
mod client;
mod products;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use prov_core::catalog::{self, App, ConnectionType};
use reqwest::Method;
use secrecy::SecretString;
use url::Url;

pub use client::ZohoConnector;
use products::Defaults;
pub use products::{Product, rate_limited};

use crate::error::ConnectorError;
use crate::http::RateLimit;
use crate::http::{Authenticator, Session};
use crate::model::{
    AccountPage, AccountStatus, Connector, ConnectorCapabilities, NewAccount, VendorAccount, VendorTenant,
    Verified, create_once,
};
use crate::oauth::{MintedToken, request_grant};
use crate::spec::AppSpec;
use crate::spec::{ApiKeyContext, Secrets, Tenant};

/// The data centers a Zoho account can live in (the catalog's choice field).
pub const DATA_CENTERS: &[&str] = &["us", "eu", "in", "au", "jp", "ca", "cn", "sa"];

/// Every host a Zoho connection may call: the accounts servers, Desk's hosts and the
/// `zohoapis` hosts of Books and CRM, of every data center.
pub const HOSTS: &[&str] = &[
    "accounts.zoho.com",
    "accounts.zoho.eu",
    "accounts.zoho.in",
    "accounts.zoho.com.au",
    "accounts.zoho.jp",
    "accounts.zohocloud.ca",
    "accounts.zoho.com.cn",
    "accounts.zoho.sa",
    "desk.zoho.com",
    "desk.zoho.eu",
    "desk.zoho.in",
    "desk.zoho.com.au",
    "desk.zoho.jp",
    "desk.zohocloud.ca",
    "desk.zoho.com.cn",
    "desk.zoho.sa",
    "www.zohoapis.com",
    "www.zohoapis.eu",
    "www.zohoapis.in",
    "www.zohoapis.com.au",
    "www.zohoapis.jp",
    "www.zohoapis.ca",
    "www.zohoapis.com.cn",
    "www.zohoapis.sa",
];

/// The hosts of one data center.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataCenter {
    pub accounts: &'static str,
    pub desk: &'static str,
    pub apis: &'static str,
}

/// The hosts of the data center `code` (one of [`DATA_CENTERS`]).
pub fn data_center(code: &str) -> Result<DataCenter, ConnectorError> {
    let (accounts, desk, apis) = match code {
        "us" => ("accounts.zoho.com", "desk.zoho.com", "www.zohoapis.com"),
        "eu" => ("accounts.zoho.eu", "desk.zoho.eu", "www.zohoapis.eu"),
        "in" => ("accounts.zoho.in", "desk.zoho.in", "www.zohoapis.in"),
        "au" => ("accounts.zoho.com.au", "desk.zoho.com.au", "www.zohoapis.com.au"),
        "jp" => ("accounts.zoho.jp", "desk.zoho.jp", "www.zohoapis.jp"),
        "ca" => ("accounts.zohocloud.ca", "desk.zohocloud.ca", "www.zohoapis.ca"),
        "cn" => ("accounts.zoho.com.cn", "desk.zoho.com.cn", "www.zohoapis.com.cn"),
        "sa" => ("accounts.zoho.sa", "desk.zoho.sa", "www.zohoapis.sa"),
        _ => {
            return Err(ConnectorError::Invalid(format!(
                "`data_center` must be one of {}",
                DATA_CENTERS.join(", ")
            )));
        }
    };
    Ok(DataCenter { accounts, desk, apis })
}

fn tenant_data_center(tenant: &Tenant) -> Result<DataCenter, ConnectorError> {
    let code = tenant
        .get("data_center")
        .ok_or_else(|| ConnectorError::Invalid("`data_center` is required".into()))?;
    data_center(code)
}

/// The accounts server's token endpoint of the connection's data center.
fn token_url(dc: DataCenter) -> Url {
    Url::parse(&format!("https://{}/oauth/v2/token", dc.accounts)).expect("a valid URL")
}

/// Checks the connection's product, data center and Self Client id, and a pasted secret
/// (the client secret, the grant code, or the refresh token it was exchanged for), before
/// anything is called.
pub fn check(tenant: &Tenant, field: &str, value: &str) -> Result<(), ConnectorError> {
    Product::of(tenant)?;
    tenant_data_center(tenant)?;
    let client_id = tenant.get("client_id").map(|c| c.trim()).unwrap_or_default();
    if client_id.is_empty() || client_id.chars().any(char::is_whitespace) {
        return Err(ConnectorError::Invalid(
            "`client_id` must be the Self Client's Client ID (Zoho API Console → Self Client → Client Secret)".into(),
        ));
    }
    let what = match field {
        "client_secret" => "the Self Client's Client Secret",
        "grant_code" => "the grant code generated in the Self Client (Generate Code)",
        "refresh_token" => "a refresh token of the Self Client",
        _ => return Ok(()),
    };
    if value.trim().is_empty() || value.chars().any(char::is_whitespace) {
        return Err(ConnectorError::Invalid(format!("`{field}` must be {what}")));
    }
    Ok(())
}

/// The connection's credentials: access tokens minted from the stored refresh token.
pub fn auth(c: &ApiKeyContext<'_>) -> Result<Arc<dyn Authenticator>, ConnectorError> {
    let dc = tenant_data_center(c.tenant)?;
    let refresh_token = c.secrets.get("refresh_token").ok_or_else(|| {
        ConnectorError::Unauthorized(
            "no Zoho refresh token is stored: connect again with a new grant code".into(),
        )
    })?;
    Ok(Arc::new(MintedToken::refresh_token(
        c.session.clone(),
        token_url(dc),
        c.tenant_field("client_id")?,
        c.secret("client_secret")?,
        refresh_token,
        "Zoho-oauthtoken",
    )))
}

/// Trades the pasted grant code for a refresh token at the data center's accounts server;
/// what is stored is the client secret and the refresh token (the one-time code is dropped).
pub fn exchange<'a>(
    c: &'a ApiKeyContext<'a>,
) -> Pin<Box<dyn Future<Output = Result<Secrets, ConnectorError>> + Send + 'a>> {
    Box::pin(async move {
        let dc = tenant_data_center(c.tenant)?;
        let client_secret = c.secret("client_secret")?.clone();
        let Some(code) = c.secrets.get("grant_code") else {
            // Nothing to trade: a refresh token the admin generated themselves is kept.
            let token = c
                .secrets
                .get("refresh_token")
                .ok_or_else(|| ConnectorError::Invalid("`grant_code` is required".into()))?;
            return Ok(Secrets::from([
                ("client_secret".to_owned(), client_secret),
                ("refresh_token".to_owned(), token.clone()),
            ]));
        };
        let form = vec![
            ("grant_type".to_owned(), SecretString::from("authorization_code")),
            (
                "client_id".to_owned(),
                SecretString::from(c.tenant_field("client_id")?),
            ),
            ("client_secret".to_owned(), client_secret.clone()),
            ("code".to_owned(), code.clone()),
        ];
        let answer = request_grant(&c.session, &token_url(dc), &form, false).await?;
        let refresh_token = answer.refresh_token.ok_or_else(|| {
            ConnectorError::Unauthorized(
                "Zoho issued no refresh token for the grant code: generate a new code in the Self Client (Generate Code, with the product's scopes) and paste it within its expiry".into(),
            )
        })?;
        Ok(Secrets::from([
            ("client_secret".to_owned(), client_secret),
            ("refresh_token".to_owned(), refresh_token),
        ]))
    })
}

impl ZohoConnector {
    pub fn new(session: Session, tenant: &Tenant) -> Result<Self, ConnectorError> {
        let product = Product::of(tenant)?;
        let dc = tenant_data_center(tenant)?;
        let base = match product {
            Product::Desk => format!("https://{}/api/v1/", dc.desk),
            Product::Books => format!("https://{}/books/v3/", dc.apis),
            Product::Crm => format!("https://{}/crm/v7/", dc.apis),
        };
        Ok(Self::at(
            session,
            product,
            Url::parse(&base).expect("a valid URL"),
        ))
    }
}

#[async_trait]
impl Connector for ZohoConnector {
    fn capabilities(&self) -> ConnectorCapabilities {
        ConnectorCapabilities {
            create: true,
            suspend: true,
            reactivate: true,
            delete: true,
            shows_invites: true,
        }
    }

    async fn verify(&self) -> Result<(), ConnectorError> {
        // Mints a token (a wrong client, secret or revoked grant fails here), finds the
        // organization (Desk: its edition), and reads one account (a missing scope fails).
        match self.product {
            Product::Crm => {
                let request = self
                    .request(Method::GET, &["users"], &[("type", "CurrentUser".to_owned())])
                    .await?;
                self.call(request).await.map(|_| ())
            }
            _ => self.page(None, 1).await.map(|_| ()),
        }
    }

    /// The product and its organization: a Desk organization and a CRM organization are
    /// different tenants even with the same Zoho account.
    async fn tenant(&self) -> Result<VendorTenant, ConnectorError> {
        let org = self.organization().await?;
        Ok(VendorTenant {
            id: format!("{}:{}", self.product.slug(), org.id),
            name: format!(
                "{} ({})",
                org.name.clone().unwrap_or_else(|| org.id.clone()),
                self.product.name()
            ),
        })
    }

    async fn list(&self, cursor: Option<&str>) -> Result<AccountPage, ConnectorError> {
        self.page(cursor, self.product.page_size()).await
    }

    async fn get(&self, id: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        self.fetch(id).await
    }

    async fn find_by_email(&self, email: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        self.find(email).await
    }

    async fn create(&self, new: &NewAccount) -> Result<VendorAccount, ConnectorError> {
        let post = async {
            match self.defaults().await? {
                Defaults::Desk { department } => self.create_desk(new, department).await,
                Defaults::Books { role } => self.create_books(new, role.as_deref()).await,
                Defaults::Crm { profile, role } => self.create_crm(new, profile, role).await,
            }
        };
        let found = create_once(self, &new.email, post).await?;
        // A Desk agent an earlier removal deactivated keeps the email: giving the person
        // access again means activating it.
        match (self.product, found.status) {
            (Product::Desk, AccountStatus::Suspended) => self.set_active(&found.id, true).await,
            _ => Ok(found),
        }
    }

    async fn suspend(&self, id: &str) -> Result<VendorAccount, ConnectorError> {
        self.set_active(id, false).await
    }

    async fn reactivate(&self, id: &str) -> Result<VendorAccount, ConnectorError> {
        self.set_active(id, true).await
    }

    async fn delete(&self, id: &str) -> Result<Verified, ConnectorError> {
        match self.product {
            Product::Desk => self.remove_desk(id).await,
            Product::Books | Product::Crm => self.remove_user(id).await,
        }
    }
}

/// What the product shows of zoho (the app directory's entry).
pub const APP: App = App {
    vendor_plan_note: Some(
        "Supports Zoho Desk, Zoho Books and Zoho CRM (one product per connection). Zoho Desk needs a paid edition (Standard, Professional or Enterprise): its Free edition has no API.",
    ),
    remove_means: "Zoho Desk: deletes agents who never accepted their invitation and deactivates those who did (kept as deactivated, seat freed). Zoho Books and Zoho CRM: deletes the user.",
    // Zoho Desk's confirmed agents; Books and CRM users are deleted and leave the listing.
    removal_deactivates: true,
    suspend_means: Some(
        "Zoho Desk: deactivates the agent (the state a confirmed agent's removal leaves too). Zoho Books: marks the user inactive. Zoho CRM: sets the user's status to inactive. Reactivating undoes it.",
    ),
    credential_fields: &[
        catalog::choice("product", "Zoho product", &["desk", "books", "crm"]),
        catalog::choice(
            "data_center",
            "Data center (zoho.com: us, zoho.eu: eu, zoho.in: in, zoho.com.au: au, zoho.jp: jp, zohocloud.ca: ca, zoho.com.cn: cn, zoho.sa: sa)",
            &["us", "eu", "in", "au", "jp", "ca", "cn", "sa"],
        ),
        catalog::text(
            "client_id",
            "Self Client ID (Zoho API Console of your data center → Self Client → Client Secret tab)",
        ),
        catalog::secret("client_secret", "Self Client secret"),
        catalog::secret(
            "grant_code",
            "Grant code (Self Client → Generate Code, with the product's scopes listed below; paste it before it expires)",
        ),
    ],
    differences_from_product_docs: &[
        "Zoho has no static API keys: the admin pastes a Self Client's ID, secret and grant code, exchanged once for a refresh token.",
        "Scopes for the grant code: Zoho Desk `Desk.settings.ALL,Desk.basic.READ`; Zoho Books `ZohoBooks.settings.READ,ZohoBooks.settings.CREATE,ZohoBooks.settings.DELETE`; Zoho CRM `ZohoCRM.users.ALL,ZohoCRM.org.READ,ZohoCRM.settings.roles.READ,ZohoCRM.settings.profiles.READ`. The Self Client's user must be an administrator of the product.",
        "The organization managed is the product's default one for the Zoho account (Zoho Desk: the first default when several are).",
        "Creating an account sends Zoho's invitation; the person is \"Invite Sent\" until they accept. New Zoho Desk agents get Desk's standard Agent permissions in the default department, new Zoho Books users the Staff role, new Zoho CRM users the Standard profile and the lowest role of the hierarchy; an admin can change them in Zoho.",
    ],
    tenant: "Zoho product and organization",
    ..catalog::app(
        "zoho",
        "Zoho",
        ConnectionType::ApiKey,
        catalog::CREATE_SUSPEND_REMOVE,
    )
};

/// How the service talks to zoho.
pub const SPEC: AppSpec = AppSpec {
    app: &APP,
    hosts: HOSTS,
    // Zoho Books allows 100 requests a minute per organization (and 1,000 to 10,000 a
    // day by plan); Desk and CRM count API credits per day by edition (CRM also caps
    // concurrent calls, 5 to 25). A per-minute throttle cannot express a day's credits:
    // stay at half of Books' minute, with bursts of one create's calls; a 429 still
    // waits.
    limit: Some(RateLimit {
        per_minute: 50,
        burst: 10,
    }),
    oauth: None,
    check,
    api_key_auth: Some(auth),
    exchange: Some(exchange),
    build: |session, tenant| Ok(Box::new(ZohoConnector::new(session, tenant)?)),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_data_center_has_registry_hosts() {
        for code in DATA_CENTERS {
            let dc = data_center(code).unwrap();
            for host in [dc.accounts, dc.desk, dc.apis] {
                assert!(HOSTS.contains(&host), "{host}");
            }
        }
        assert!(data_center("uk").is_err());
    }
}
