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

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use prov_core::catalog::{self, App, ConnectionType};
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::OnceCell;
use url::Url;

use crate::error::{ConnectorError, brief};
use crate::http::RateLimit;
use crate::http::{Authenticator, Session, VendorRequest, VendorResponse};
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

    fn slug(self) -> &'static str {
        match self {
            Product::Desk => "desk",
            Product::Books => "books",
            Product::Crm => "crm",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Product::Desk => "Zoho Desk",
            Product::Books => "Zoho Books",
            Product::Crm => "Zoho CRM",
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

/// Agents (Desk) per page; Desk allows up to 200.
const DESK_PAGE: usize = 100;
/// Users (Books, CRM) per page, the most both allow.
const USERS_PAGE: usize = 200;
/// A bound on the pages one lookup by email reads (100 000 accounts or more): a vendor that
/// says "more" forever cannot hold a call.
const MAX_FIND_PAGES: usize = 1000;

/// What creating an account needs, looked up once per connector.
#[derive(Debug, Clone)]
enum Defaults {
    /// The department a new agent joins.
    Desk { department: String },
    /// The "Staff" role, when Books has one.
    Books { role: Option<String> },
    /// The "Standard" profile and the lowest role.
    Crm { profile: String, role: String },
}

pub struct ZohoConnector {
    session: Session,
    product: Product,
    /// `https://desk.zoho.{…}/api/v1/`, `https://www.zohoapis.{…}/books/v3/` or
    /// `…/crm/v7/`.
    base: Url,
    /// The organization: Desk's `orgId` or Books' `organization_id` (the id every call
    /// names; CRM's token names its own) and its name.
    org: OnceCell<Organization>,
    defaults: OnceCell<Defaults>,
}

/// An id Zoho sends as a string or a number.
fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn text(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn desk_account(agent: &Value) -> Option<VendorAccount> {
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

fn books_account(user: &Value) -> Option<VendorAccount> {
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

fn crm_account(user: &Value) -> Option<VendorAccount> {
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

fn parsed(response: &VendorResponse) -> Value {
    serde_json::from_slice(&response.body).unwrap_or_default()
}

fn transient(product: Product, status: StatusCode, message: &str) -> ConnectorError {
    ConnectorError::Transient(format!("{} answered {status}: {message}", product.name()))
}

/// Desk's answer (`{"errorCode": …, "message": …}`), mapped to the typed error.
fn desk_error(response: &VendorResponse) -> ConnectorError {
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
fn books_error(response: &VendorResponse) -> ConnectorError {
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
fn crm_code_error(status: StatusCode, code: &str, message: &str) -> ConnectorError {
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
fn crm_reported_error(response: &VendorResponse) -> Option<ConnectorError> {
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

impl ZohoConnector {
    pub fn new(session: Session, tenant: &Tenant) -> Result<Self, ConnectorError> {
        let product = Product::of(tenant)?;
        let dc = tenant_data_center(tenant)?;
        let base = match product {
            Product::Desk => format!("https://{}/api/v1/", dc.desk),
            Product::Books => format!("https://{}/books/v3/", dc.apis),
            Product::Crm => format!("https://{}/crm/v7/", dc.apis),
        };
        let mut session = session;
        session.rate_limit_signal = Some(rate_limited);
        Ok(Self {
            session,
            product,
            base: Url::parse(&base).expect("a valid URL"),
            org: OnceCell::new(),
            defaults: OnceCell::new(),
        })
    }

    fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("an https URL")
            .pop_if_empty()
            .extend(segments);
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        url
    }

    /// A 404 (or "does not exist") says an account is gone only when it answers the
    /// account's own resource; from anything else (the organization, a listing, a default,
    /// an action's sub-resource) it names what Zoho did not find.
    fn lookup_error(&self, error: ConnectorError, what: &str) -> ConnectorError {
        match error {
            ConnectorError::NotFound => {
                ConnectorError::Invalid(format!("{} found no {what} (not found)", self.product.name()))
            }
            other => other,
        }
    }

    fn error(&self, response: &VendorResponse) -> ConnectorError {
        match self.product {
            Product::Desk => desk_error(response),
            Product::Books => books_error(response),
            Product::Crm => crm_reported_error(response)
                .unwrap_or_else(|| transient(Product::Crm, response.status, &response.text())),
        }
    }

    /// A request in the connection's organization: Desk's `orgId` header, Books'
    /// `organization_id` parameter (first in the query).
    async fn request(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<VendorRequest, ConnectorError> {
        match self.product {
            Product::Desk => {
                let org = self.org().await?;
                let value = HeaderValue::from_str(org).map_err(|_| {
                    ConnectorError::Invalid("Zoho Desk sent an unusable organization id".into())
                })?;
                Ok(VendorRequest::new(method, self.url(segments, query))
                    .header(HeaderName::from_static("orgid"), value))
            }
            Product::Books => {
                let mut all = vec![("organization_id", self.org().await?.to_owned())];
                all.extend(query.iter().cloned());
                Ok(VendorRequest::new(method, self.url(segments, &all)))
            }
            Product::Crm => Ok(VendorRequest::new(method, self.url(segments, query))),
        }
    }

    /// Sends and returns the answer's JSON, or the product's error. A 204 (Desk's and CRM's
    /// "nothing") is `null`. Books' `code` other than 0 is an error even with HTTP 200; so
    /// are CRM's per-record errors.
    async fn call(&self, request: VendorRequest) -> Result<Value, ConnectorError> {
        let response = self.session.send(request).await?;
        if !response.status.is_success() {
            return Err(self.error(&response));
        }
        if response.status == StatusCode::NO_CONTENT || response.body.is_empty() {
            return Ok(Value::Null);
        }
        let body: Value = response.json()?;
        match self.product {
            Product::Books if body.get("code").and_then(Value::as_i64).unwrap_or(0) != 0 => {
                Err(books_error(&response))
            }
            Product::Crm => match crm_reported_error(&response) {
                Some(e) => Err(e),
                None => Ok(body),
            },
            _ => Ok(body),
        }
    }

    /// The id of the organization this connection manages (Desk, Books), found once.
    async fn org(&self) -> Result<&str, ConnectorError> {
        self.organization().await.map(|o| o.id.as_str())
    }

    /// The organization this connection manages, found once: Desk's default organization
    /// (`GET /api/v1/organizations`, https://desk.zoho.com/DeskAPIDocument#Organizations),
    /// Books' default one (`GET /books/v3/organizations`,
    /// https://www.zoho.com/books/api/v3/organizations/), CRM's own (`GET /crm/v7/org`,
    /// https://www.zoho.com/crm/developer/docs/api/v7/get-org-data.html).
    async fn organization(&self) -> Result<&Organization, ConnectorError> {
        self.org
            .get_or_try_init(|| async {
                if self.product == Product::Crm {
                    let request = VendorRequest::get(self.url(&["org"], &[]));
                    return crm_org(&self.call(request).await?);
                }
                let url = self.url(&["organizations"], &[]);
                let response = self.session.send(VendorRequest::get(url)).await?;
                if !response.status.is_success() {
                    return Err(self.lookup_error(
                        self.error(&response),
                        "organization for the connection (check its data center)",
                    ));
                }
                let body: Value = if response.status == StatusCode::NO_CONTENT {
                    Value::Null
                } else {
                    response.json()?
                };
                match self.product {
                    Product::Desk => desk_org(&body),
                    Product::Books => {
                        if body.get("code").and_then(Value::as_i64).unwrap_or(0) != 0 {
                            return Err(self.lookup_error(
                                books_error(&response),
                                "organization for the connection (check its data center)",
                            ));
                        }
                        books_org(&body)
                    }
                    Product::Crm => Err(ConnectorError::Unsupported("organizations")),
                }
            })
            .await
    }

    /// One page of accounts from `cursor` (Desk: the `from` index; Books, CRM: the page).
    async fn page(&self, cursor: Option<&str>, size: usize) -> Result<AccountPage, ConnectorError> {
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

    async fn fetch(&self, id: &str) -> Result<Option<VendorAccount>, ConnectorError> {
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
    async fn defaults(&self) -> Result<&Defaults, ConnectorError> {
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

    async fn create_desk(&self, new: &NewAccount, department: &str) -> Result<VendorAccount, ConnectorError> {
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

    async fn create_books(
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

    async fn create_crm(
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
    async fn find(&self, email: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        let size = if self.product == Product::Desk {
            DESK_PAGE
        } else {
            USERS_PAGE
        };
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
    async fn set_active(&self, id: &str, active: bool) -> Result<VendorAccount, ConnectorError> {
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
    async fn remove_desk(&self, id: &str) -> Result<Verified, ConnectorError> {
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
    async fn remove_user(&self, id: &str) -> Result<Verified, ConnectorError> {
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

/// A Zoho organization: its id and name.
#[derive(Debug, Clone)]
struct Organization {
    id: String,
    name: Option<String>,
}

/// CRM's organization, the one of the `org` answer.
fn crm_org(body: &Value) -> Result<Organization, ConnectorError> {
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
fn desk_org(body: &Value) -> Result<Organization, ConnectorError> {
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
fn books_org(body: &Value) -> Result<Organization, ConnectorError> {
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
fn lowest_role(roles: &[Value]) -> Option<String> {
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
        let size = if self.product == Product::Desk {
            DESK_PAGE
        } else {
            USERS_PAGE
        };
        self.page(cursor, size).await
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

/// A Books or CRM page of `users` (page-numbered; `more` points at the flag saying another
/// page follows), each mapped by `account`.
fn users_page(
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
