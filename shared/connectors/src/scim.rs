//! A generic SCIM 2.0 client (RFC 7643 resources, RFC 7644 protocol) for any app that
//! offers SCIM: a base URL and a bearer token (or any `Authenticator`).

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;
use reqwest::header::{HeaderValue, IF_MATCH};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use crate::error::{ConnectorError, brief};
use crate::http::{Session, VendorRequest, VendorResponse};
use crate::model::{
    AccountPage, AccountStatus, Connector, ConnectorCapabilities, NewAccount, VendorAccount, VendorTenant,
    Verified, create_once,
};

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const PAGE_SIZE: u32 = 100;

/// What "remove" does in this app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimRemove {
    /// `DELETE /Users/{id}`.
    Delete,
    /// `active: false` (apps that never hard-delete through SCIM).
    Deactivate,
}

/// A vendor's own call naming the tenant a session's credentials reach (SCIM has none).
pub type TenantCall =
    for<'a> fn(
        &'a Session,
    ) -> Pin<Box<dyn Future<Output = Result<VendorTenant, ConnectorError>> + Send + 'a>>;

/// How an app's SCIM connection learns the tenant its token reaches.
#[derive(Clone, Copy)]
pub enum ScimTenant {
    /// The SCIM base URL is the tenant's own (one per company, e.g. 15Five's subdomain) and
    /// the token is proven there by a listing: the base URL is the tenant's id.
    BaseUrl,
    /// `GET ServiceProviderConfig` (RFC 7644 section 4) carries the tenant under this
    /// extension schema, as `{"id", "name"}` (the sandbox SCIM app).
    ServiceProviderConfig(&'static str),
    /// The vendor's own call (Slack's `auth.test`).
    Call(TenantCall),
}

impl std::fmt::Debug for ScimTenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScimTenant::BaseUrl => f.write_str("BaseUrl"),
            ScimTenant::ServiceProviderConfig(schema) => write!(f, "ServiceProviderConfig({schema})"),
            ScimTenant::Call(_) => f.write_str("Call"),
        }
    }
}

/// An app's SCIM specifics.
#[derive(Debug, Clone, Copy)]
pub struct ScimFlavor {
    pub remove: ScimRemove,
    /// Whether the product offers suspend (reversible `active: false`) for this app.
    pub suspend: bool,
    /// An extension attribute (schema URN, attribute) that is `true` while the person has
    /// not accepted their invitation, for apps that expose one; core SCIM has no such state.
    pub invite_pending: Option<(&'static str, &'static str)>,
    /// When the app answers 403 because of its plan (not a missing permission), what to
    /// tell the admin.
    pub forbidden_means_plan: Option<&'static str>,
    /// Whether a person's `userName` may be other than their email (Slack's is the member's
    /// username, Salesforce's a username-formatted login): when the `userName` filter finds
    /// nothing, the listing is searched for the email in `emails` (no `emails` filter is
    /// documented for these apps).
    pub search_emails: bool,
    /// Whether the app's removal leaves the account deactivated (`active: false`): creating
    /// an account for someone whose account is deactivated activates it again, as the app's
    /// own re-provisioning does, rather than answering the deactivated account.
    pub reactivate_on_create: bool,
    /// How the tenant the token reaches is learnt.
    pub tenant: ScimTenant,
}

pub struct ScimConnector {
    session: Session,
    /// The SCIM base, ending in `/` (e.g. `https://api.slack.com/scim/v2/`).
    base: Url,
    flavor: ScimFlavor,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScimName {
    given_name: Option<String>,
    family_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ScimEmail {
    value: Option<String>,
    #[serde(default)]
    primary: bool,
}

#[derive(Debug, Deserialize)]
struct ScimMeta {
    version: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScimUser {
    id: String,
    user_name: Option<String>,
    name: Option<ScimName>,
    display_name: Option<String>,
    #[serde(default)]
    emails: Vec<ScimEmail>,
    active: Option<bool>,
    meta: Option<ScimMeta>,
    /// Everything else, for extension attributes.
    #[serde(flatten)]
    extensions: serde_json::Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListResponse {
    total_results: Option<u64>,
    start_index: Option<u64>,
    #[serde(default, rename = "Resources")]
    resources: Vec<ScimUser>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScimErrorBody {
    detail: Option<String>,
    scim_type: Option<String>,
}

/// Maps a SCIM error answer to the typed error.
fn scim_error(response: &VendorResponse, forbidden_means_plan: Option<&str>) -> ConnectorError {
    let parsed: Option<ScimErrorBody> = serde_json::from_slice(&response.body).ok();
    let detail = parsed
        .as_ref()
        .and_then(|b| b.detail.clone())
        .map(|d| brief(&d))
        .unwrap_or_else(|| response.text());
    let scim_type = parsed.and_then(|b| b.scim_type).unwrap_or_default();
    match response.status {
        StatusCode::UNAUTHORIZED => ConnectorError::Unauthorized(detail),
        StatusCode::FORBIDDEN => match forbidden_means_plan {
            Some(plan) => ConnectorError::PlanRequired(format!("{plan} ({detail})")),
            None => ConnectorError::Unauthorized(format!("forbidden: {detail}")),
        },
        StatusCode::NOT_FOUND => ConnectorError::NotFound,
        StatusCode::CONFLICT => ConnectorError::Conflict(format!("{scim_type} {detail}").trim().to_owned()),
        StatusCode::PRECONDITION_FAILED => {
            ConnectorError::Conflict(format!("the account changed meanwhile: {detail}"))
        }
        s if s.is_client_error() => {
            ConnectorError::Invalid(format!("{scim_type} {detail}").trim().to_owned())
        }
        s => ConnectorError::Transient(format!("unexpected answer {s}: {detail}")),
    }
}

impl ScimConnector {
    /// `base` is the SCIM base URL (a trailing `/` is added when missing).
    pub fn new(session: Session, base: &Url, flavor: ScimFlavor) -> Self {
        let mut base = base.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        Self {
            session,
            base,
            flavor,
        }
    }

    fn error(&self, response: &VendorResponse) -> ConnectorError {
        scim_error(response, self.flavor.forbidden_means_plan)
    }

    fn url(&self, path: &str) -> Result<Url, ConnectorError> {
        self.base
            .join(path)
            .map_err(|e| ConnectorError::Invalid(format!("bad SCIM path: {e}")))
    }

    fn user_url(&self, id: &str) -> Result<Url, ConnectorError> {
        // Ids are opaque: keep them inside one path segment.
        let mut url = self.url("Users")?;
        url.path_segments_mut()
            .map_err(|_| ConnectorError::Invalid("bad SCIM base".into()))?
            .push(id);
        Ok(url)
    }

    fn account(&self, user: ScimUser) -> VendorAccount {
        let email = user
            .emails
            .iter()
            .find(|e| e.primary)
            .or_else(|| user.emails.first())
            .and_then(|e| e.value.clone())
            .or_else(|| user.user_name.clone().filter(|u| u.contains('@')));
        let pending = self.flavor.invite_pending.is_some_and(|(schema, attribute)| {
            user.extensions
                .get(schema)
                .and_then(|ext| ext.get(attribute))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        });
        let status = match user.active {
            Some(false) if self.flavor.suspend => AccountStatus::Suspended,
            Some(false) => AccountStatus::Deleted,
            _ if pending => AccountStatus::InviteSent,
            _ => AccountStatus::Active,
        };
        VendorAccount {
            id: user.id,
            email,
            first_name: user.name.as_ref().and_then(|n| n.given_name.clone()),
            last_name: user.name.as_ref().and_then(|n| n.family_name.clone()),
            display_name: user.display_name,
            status,
        }
    }

    async fn fetch(&self, id: &str) -> Result<Option<ScimUser>, ConnectorError> {
        let response = self.session.send(VendorRequest::get(self.user_url(id)?)).await?;
        match response.status {
            s if s.is_success() => Ok(Some(response.json()?)),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(self.error(&response)),
        }
    }

    /// Posts a new user with `extra` attributes beside the core ones (an app's required
    /// fields, e.g. Salesforce's profile in `entitlements`). A 409 (created meanwhile, or by
    /// an earlier attempt whose answer was lost) is a `Conflict`, which `create_once`
    /// resolves to the account found after it.
    pub async fn post_user(
        &self,
        account: &NewAccount,
        extra: serde_json::Map<String, Value>,
    ) -> Result<VendorAccount, ConnectorError> {
        let mut user = json!({
            "schemas": [USER_SCHEMA],
            "userName": account.email,
            "name": {"givenName": account.first_name, "familyName": account.last_name},
            "emails": [{"value": account.email, "type": "work", "primary": true}],
            "active": true
        });
        if let Some(fields) = user.as_object_mut() {
            fields.extend(extra);
        }
        let response = self
            .session
            .send(VendorRequest::new(Method::POST, self.url("Users")?).json(user))
            .await?;
        if response.status.is_success() {
            Ok(self.account(response.json()?))
        } else {
            Err(self.error(&response))
        }
    }

    /// Sets `active`, with the account's ETag when the app offers one; a changed ETag is
    /// read again once. The account must show the state asked for: in the answer to the
    /// change (`VendorAnswer`), or when read (`ReadBack`: already so, or a 204 answer).
    async fn set_active(&self, id: &str, active: bool) -> Result<(VendorAccount, Verified), ConnectorError> {
        for _ in 0..2 {
            let Some(user) = self.fetch(id).await? else {
                return Err(ConnectorError::NotFound);
            };
            if user.active == Some(active) {
                // Already so (a repeated removal, say): nothing to send.
                return Ok((self.account(user), Verified::ReadBack));
            }
            let patch = json!({
                "schemas": [PATCH_SCHEMA],
                "Operations": [{"op": "replace", "value": {"active": active}}]
            });
            let mut request = VendorRequest::new(Method::PATCH, self.user_url(id)?).json(patch);
            if let Some(version) = user.meta.and_then(|m| m.version)
                && let Ok(v) = HeaderValue::from_str(&version)
            {
                request = request.header(IF_MATCH, v);
            }
            let response = self.session.send(request).await?;
            let (user, verified) = match response.status {
                StatusCode::PRECONDITION_FAILED => continue,
                StatusCode::NO_CONTENT => (
                    self.fetch(id).await?.ok_or(ConnectorError::NotFound)?,
                    Verified::ReadBack,
                ),
                s if s.is_success() => (response.json::<ScimUser>()?, Verified::VendorAnswer),
                _ => return Err(self.error(&response)),
            };
            return match user.active {
                Some(now) if now == active => Ok((self.account(user), verified)),
                _ => Err(ConnectorError::Conflict(format!(
                    "the app answered the change but the account is still {}",
                    if active { "inactive" } else { "active" }
                ))),
            };
        }
        Err(ConnectorError::Conflict("the account kept changing".into()))
    }

    /// The tenant named by the base URL, once the token is proven there.
    async fn base_url_tenant(&self) -> Result<VendorTenant, ConnectorError> {
        let id = self.base.as_str().trim_end_matches('/').to_owned();
        Ok(VendorTenant {
            name: self.base.host_str().unwrap_or(&id).to_owned(),
            id,
        })
    }

    /// The tenant named in `ServiceProviderConfig` under the app's extension `schema`.
    async fn service_provider_tenant(&self, schema: &str) -> Result<VendorTenant, ConnectorError> {
        let response = self
            .session
            .send(VendorRequest::get(self.url("ServiceProviderConfig")?))
            .await?;
        if !response.status.is_success() {
            return Err(self.error(&response));
        }
        let config: Value = response.json()?;
        let tenant = config.get(schema).cloned().unwrap_or_default();
        serde_json::from_value(tenant)
            .map_err(|_| ConnectorError::Transient("the app's ServiceProviderConfig names no tenant".into()))
    }
}

impl ScimConnector {
    /// The account whose `emails` hold `email`, searched page by page through the listing.
    async fn search_emails(&self, email: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut url = self.url("Users")?;
            let start = cursor.as_deref().unwrap_or("1");
            url.query_pairs_mut()
                .append_pair("startIndex", start)
                .append_pair("count", &PAGE_SIZE.to_string());
            let response = self.session.send(VendorRequest::get(url)).await?;
            if !response.status.is_success() {
                return Err(self.error(&response));
            }
            let page: ListResponse = response.json()?;
            let got = page.resources.len() as u64;
            let first = page.start_index.unwrap_or_else(|| start.parse().unwrap_or(1));
            let total = page.total_results;
            let found = page.resources.into_iter().find(|u| {
                u.emails
                    .iter()
                    .any(|e| e.value.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(email)))
            });
            if let Some(user) = found {
                return Ok(Some(self.account(user)));
            }
            let next = first + got;
            pages += 1;
            // A listing that does not end (no total, or a repeated page) is cut short.
            if got == 0 || total.is_none_or(|t| next > t) || pages >= MAX_SEARCH_PAGES {
                return Ok(None);
            }
            cursor = Some(next.to_string());
        }
    }

    /// A deactivated account activated again, where deactivation is the app's removal.
    pub async fn reactivated(&self, account: VendorAccount) -> Result<VendorAccount, ConnectorError> {
        let inactive = matches!(account.status, AccountStatus::Deleted | AccountStatus::Suspended);
        if self.flavor.reactivate_on_create && inactive {
            self.set_active(&account.id, true).await.map(|(a, _)| a)
        } else {
            Ok(account)
        }
    }
}

/// The most pages an email search reads (at 100 a page, 100,000 accounts).
const MAX_SEARCH_PAGES: usize = 1_000;

/// A SCIM filter string literal; refuses what cannot be quoted safely.
fn filter_literal(email: &str) -> Result<String, ConnectorError> {
    if email.contains(['"', '\\']) || email.chars().any(char::is_control) {
        return Err(ConnectorError::Invalid("the email cannot be searched for".into()));
    }
    Ok(format!("\"{email}\""))
}

#[async_trait]
impl Connector for ScimConnector {
    fn capabilities(&self) -> ConnectorCapabilities {
        ConnectorCapabilities {
            create: true,
            suspend: self.flavor.suspend,
            reactivate: self.flavor.suspend,
            delete: true,
            shows_invites: self.flavor.invite_pending.is_some(),
        }
    }

    async fn verify(&self) -> Result<(), ConnectorError> {
        let mut url = self.url("Users")?;
        url.query_pairs_mut().append_pair("count", "1");
        let response = self.session.send(VendorRequest::get(url)).await?;
        if response.status.is_success() {
            response.json::<ListResponse>().map(|_| ())
        } else {
            Err(self.error(&response))
        }
    }

    async fn tenant(&self) -> Result<VendorTenant, ConnectorError> {
        match self.flavor.tenant {
            ScimTenant::BaseUrl => self.base_url_tenant().await,
            ScimTenant::ServiceProviderConfig(schema) => self.service_provider_tenant(schema).await,
            ScimTenant::Call(call) => call(&self.session).await,
        }
    }

    async fn list(&self, cursor: Option<&str>) -> Result<AccountPage, ConnectorError> {
        let start: u64 = match cursor {
            Some(c) => c
                .parse()
                .map_err(|_| ConnectorError::Invalid("bad SCIM cursor".into()))?,
            None => 1,
        };
        let mut url = self.url("Users")?;
        url.query_pairs_mut()
            .append_pair("startIndex", &start.to_string())
            .append_pair("count", &PAGE_SIZE.to_string());
        let response = self.session.send(VendorRequest::get(url)).await?;
        if !response.status.is_success() {
            return Err(self.error(&response));
        }
        let page: ListResponse = response.json()?;
        let got = page.resources.len() as u64;
        let first = page.start_index.unwrap_or(start);
        // Saturating: `startIndex` is the vendor's to send, however large.
        let next_start = first.saturating_add(got);
        let more = got > 0 && page.total_results.is_some_and(|total| next_start <= total);
        Ok(AccountPage {
            accounts: page.resources.into_iter().map(|u| self.account(u)).collect(),
            next: more.then(|| next_start.to_string()),
        })
    }

    async fn get(&self, id: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        Ok(self.fetch(id).await?.map(|u| self.account(u)))
    }

    async fn find_by_email(&self, email: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        let mut url = self.url("Users")?;
        url.query_pairs_mut()
            .append_pair("filter", &format!("userName eq {}", filter_literal(email)?));
        let response = self.session.send(VendorRequest::get(url)).await?;
        if !response.status.is_success() {
            return Err(self.error(&response));
        }
        let page: ListResponse = response.json()?;
        let found = page
            .resources
            .into_iter()
            .map(|u| self.account(u))
            .find(|a| a.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(email)));
        if found.is_some() || !self.flavor.search_emails {
            return Ok(found);
        }
        self.search_emails(email).await
    }

    async fn create(&self, account: &NewAccount) -> Result<VendorAccount, ConnectorError> {
        let created = create_once(
            self,
            &account.email,
            self.post_user(account, serde_json::Map::new()),
        )
        .await?;
        self.reactivated(created).await
    }

    async fn suspend(&self, id: &str) -> Result<VendorAccount, ConnectorError> {
        if !self.flavor.suspend {
            return Err(ConnectorError::Unsupported("suspend"));
        }
        self.set_active(id, false).await.map(|(a, _)| a)
    }

    async fn reactivate(&self, id: &str) -> Result<VendorAccount, ConnectorError> {
        if !self.flavor.suspend {
            return Err(ConnectorError::Unsupported("reactivate"));
        }
        self.set_active(id, true).await.map(|(a, _)| a)
    }

    async fn delete(&self, id: &str) -> Result<Verified, ConnectorError> {
        match self.flavor.remove {
            // `set_active` reads the user's own resource first: its 404 is "already gone".
            ScimRemove::Deactivate => match self.set_active(id, false).await {
                Ok((_, verified)) => Ok(verified),
                Err(ConnectorError::NotFound) => Ok(Verified::AlreadyGone),
                Err(e) => Err(e),
            },
            ScimRemove::Delete => {
                let response = self
                    .session
                    .send(VendorRequest::new(Method::DELETE, self.user_url(id)?))
                    .await?;
                match response.status {
                    s if s.is_success() => Ok(Verified::VendorAnswer),
                    // The user's own resource.
                    StatusCode::NOT_FOUND => Ok(Verified::AlreadyGone),
                    _ => Err(self.error(&response)),
                }
            }
        }
    }
}

/// The user as our sandbox and tests see it (also handy to build fixtures).
pub fn user_resource(id: &str, email: &str, first: &str, last: &str, active: bool) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "id": id,
        "userName": email,
        "name": {"givenName": first, "familyName": last},
        "emails": [{"value": email, "primary": true, "type": "work"}],
        "active": active,
        "meta": {"resourceType": "User", "version": format!("W/\"{id}-{active}\"")}
    })
}
