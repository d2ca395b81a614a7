//! Planview LeanKit (AgilePlace): the v2 REST API of one LeanKit account
//! (`https://{account}.leankit.com/io`), with an account administrator's API token
//! (`Authorization: Bearer …`). Every user call there needs an account administrator, so the
//! connect-time check (`GET /io/user/me`) refuses a token whose user is not one.
//!
//! Create is `POST /io/user`, which LeanKit documents with a required password and no
//! invitation: the user is enabled at once. The connector sends a random strong password,
//! never logged, and answers it with the new user (`create_with_first_password`): the product
//! hands it to the person once through a reveal link emailed to them (after it expires, they
//! use LeanKit's "forgot password" or the account's SSO). Until they first sign in LeanKit reports `lastAccess: null`, which
//! is mapped to "Invite Sent"; afterwards "Active".
//!
//! Remove is `DELETE /io/user/{id}`: LeanKit deletes the user from the account. Suspend and
//! reactivate set the user's `enabled` with `PATCH /io/user/{id}`
//! (https://success.planview.com/Planview_AgilePlace/AgilePlace_API/01_v2/user/update): a
//! disabled user cannot sign in and is kept with their boards.
//!
//! Users are found by email with the listing's own `search` (user name and email), matched
//! exactly here; the SCIM 1.1 provisioning API (`/io/scim/v1`) is left alone because LeanKit
//! offers it to some editions only.

use async_trait::async_trait;
use prov_core::catalog::{self, App, ConnectionType};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use serde_json::json;
use url::Url;

use crate::error::{ConnectorError, brief};
use crate::http::RateLimit;
use crate::http::{Session, VendorRequest, VendorResponse};
use crate::model::{
    AccountPage, AccountStatus, Connector, ConnectorCapabilities, Created, NewAccount, VendorAccount,
    create_once_with_password, random_password,
};
use crate::model::{VendorTenant, Verified};
use crate::spec::AppSpec;
use crate::spec::Tenant;
use crate::spec::api_token_bearer;

/// The hosts LeanKit accounts live on (`{account}.leankit.com`).
pub const HOSTS: &[&str] = &["*.leankit.com"];
/// LeanKit's documented default page size for `GET /io/user`.
const PAGE_SIZE: usize = 100;
/// The tenant field naming the account (the subdomain before `.leankit.com`).
pub const ACCOUNT_FIELD: &str = "account";

/// The account subdomain, checked to be one DNS label so the host is exactly
/// `{account}.leankit.com`.
pub fn account_host(tenant: &Tenant) -> Result<String, ConnectorError> {
    let account = tenant
        .get(ACCOUNT_FIELD)
        .ok_or_else(|| ConnectorError::Invalid(format!("`{ACCOUNT_FIELD}` is required")))?;
    let label_ok = !account.is_empty()
        && account.len() <= 63
        && account
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !account.starts_with('-')
        && !account.ends_with('-');
    if !label_ok {
        return Err(ConnectorError::Invalid(format!(
            "`{ACCOUNT_FIELD}` must be only your LeanKit subdomain, e.g. `acme` for https://acme.leankit.com (lowercase letters, digits and hyphens; no scheme, dots or path)"
        )));
    }
    Ok(format!("{account}.leankit.com"))
}

/// The registry's check: a valid account subdomain and a token that can go in a header.
pub fn check(tenant: &Tenant, field: &str, value: &str) -> Result<(), ConnectorError> {
    account_host(tenant)?;
    if field == "api_token"
        && (value.trim().is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(ConnectorError::Invalid(
            "`api_token` must be a LeanKit API token (from \"My API Tokens\" in an account administrator's profile), without spaces".into(),
        ));
    }
    Ok(())
}

pub struct LeanKitConnector {
    session: Session,
    /// `https://{account}.leankit.com/io/`.
    base: Url,
}

/// LeanKit documents ids as strings; accept a number too.
fn id_of<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!("unexpected user id {other}"))),
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct User {
    #[serde(deserialize_with = "id_of")]
    id: String,
    username: Option<String>,
    email_address: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    full_name: Option<String>,
    /// `null` until the person first signs in.
    last_access: Option<String>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    deleted: bool,
    #[serde(default)]
    administrator: bool,
    /// The LeanKit account (organization) the user belongs to.
    #[serde(default, deserialize_with = "optional_id")]
    organization_id: Option<String>,
}

/// An optional id, as a string or a number.
fn optional_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(deserializer)? {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

impl User {
    fn email(&self) -> Option<&str> {
        self.email_address.as_deref().or(self.username.as_deref())
    }

    fn has_email(&self, email: &str) -> bool {
        [self.email_address.as_deref(), self.username.as_deref()]
            .into_iter()
            .flatten()
            .any(|e| e.eq_ignore_ascii_case(email))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageMeta {
    total_records: Option<u64>,
}

/// `GET /io/user`: `{pageMeta: {totalRecords, offset, limit, startRow, endRow}, users: […]}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Users {
    page_meta: Option<PageMeta>,
    #[serde(default)]
    users: Vec<User>,
}

/// LeanKit documents status codes only; a JSON body may carry `message` (and `error`).
#[derive(Debug, Deserialize)]
struct LeanKitError {
    message: Option<String>,
    error: Option<String>,
}

fn status(user: &User) -> AccountStatus {
    if user.deleted {
        AccountStatus::Deleted
    } else if !user.enabled {
        // Disabled in LeanKit (by an admin there): no sign-in, no licence used.
        AccountStatus::Suspended
    } else if user.last_access.is_none() {
        // Created, never signed in: the person still has to set their password.
        AccountStatus::InviteSent
    } else {
        AccountStatus::Active
    }
}

fn account(user: User) -> VendorAccount {
    let status = status(&user);
    let display_name = match (&user.first_name, &user.last_name) {
        (None, None) => user.full_name.clone(),
        _ => None,
    };
    VendorAccount {
        email: user.email().map(str::to_owned),
        id: user.id,
        first_name: user.first_name,
        last_name: user.last_name,
        display_name,
        status,
    }
}

/// LeanKit's answer, mapped to the typed error.
fn leankit_error(response: &VendorResponse) -> ConnectorError {
    let parsed: Option<LeanKitError> = serde_json::from_slice(&response.body).ok();
    let message = parsed
        .and_then(|e| e.message.or(e.error))
        .map(|m| brief(&m))
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| response.text());
    let lower = message.to_lowercase();
    match response.status {
        StatusCode::UNAUTHORIZED => ConnectorError::Unauthorized(if message.is_empty() {
            "LeanKit refused the API token".into()
        } else {
            message
        }),
        StatusCode::FORBIDDEN => ConnectorError::Unauthorized(
            format!("{message} (managing LeanKit users needs an account administrator's API token)")
                .trim()
                .to_owned(),
        ),
        StatusCode::NOT_FOUND => ConnectorError::NotFound,
        StatusCode::CONFLICT => ConnectorError::Conflict(message),
        s if s.is_client_error() && (lower.contains("licen") || lower.contains("seat")) => {
            ConnectorError::PlanRequired(format!(
                "{message} (the LeanKit account has no free user licence)"
            ))
        }
        s if s.is_client_error()
            && ["already", "exists", "in use", "taken", "duplicate"]
                .iter()
                .any(|w| lower.contains(w)) =>
        {
            ConnectorError::Conflict(message)
        }
        s if s.is_client_error() => ConnectorError::Invalid(format!("LeanKit answered {s}: {message}")),
        s => ConnectorError::Transient(format!("LeanKit answered {s}: {message}")),
    }
}

impl LeanKitConnector {
    pub fn new(session: Session, tenant: &Tenant) -> Result<Self, ConnectorError> {
        let host = account_host(tenant)?;
        let base = Url::parse(&format!("https://{host}/io/"))
            .map_err(|_| ConnectorError::Invalid("bad LeanKit account".into()))?;
        Ok(Self { session, base })
    }

    fn url(&self, path: &str) -> Result<Url, ConnectorError> {
        self.base
            .join(path)
            .map_err(|e| ConnectorError::Invalid(format!("bad LeanKit path: {e}")))
    }

    /// `/io/user/{id}`, the id as one path segment.
    fn user_url(&self, id: &str) -> Result<Url, ConnectorError> {
        let mut url = self.url("user")?;
        url.path_segments_mut()
            .map_err(|_| ConnectorError::Invalid("bad LeanKit account".into()))?
            .push(id);
        Ok(url)
    }

    /// One page of `GET /io/user` from `offset`, and the next page's offset.
    async fn page(
        &self,
        offset: u64,
        search: Option<&str>,
    ) -> Result<(Vec<User>, Option<u64>), ConnectorError> {
        let mut url = self.url("user")?;
        url.query_pairs_mut()
            .append_pair("offset", &offset.to_string())
            .append_pair("limit", &PAGE_SIZE.to_string());
        if let Some(search) = search {
            url.query_pairs_mut().append_pair("search", search);
        }
        let response = self.session.send(VendorRequest::get(url)).await?;
        if !response.status.is_success() {
            return Err(leankit_error(&response));
        }
        let page: Users = response.json()?;
        let after = offset + page.users.len() as u64;
        let more = match page.page_meta.and_then(|m| m.total_records) {
            Some(total) => after < total,
            // Without the envelope's total, a full page may have more after it.
            None => page.users.len() >= PAGE_SIZE,
        };
        let next = (more && !page.users.is_empty()).then_some(after);
        Ok((page.users, next))
    }

    async fn fetch(&self, id: &str) -> Result<Option<User>, ConnectorError> {
        let response = self.session.send(VendorRequest::get(self.user_url(id)?)).await?;
        match response.status {
            s if s.is_success() => Ok(Some(response.json()?)),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(leankit_error(&response)),
        }
    }

    /// The token's own user, who must be an account administrator.
    async fn me(&self) -> Result<User, ConnectorError> {
        let response = self
            .session
            .send(VendorRequest::get(self.url("user/me")?))
            .await?;
        if !response.status.is_success() {
            return Err(leankit_error(&response));
        }
        let me: User = response.json()?;
        if me.administrator {
            Ok(me)
        } else {
            Err(ConnectorError::Unauthorized(
                "the API token's LeanKit user is not an account administrator; only an account administrator can manage users".into(),
            ))
        }
    }

    /// Sets `enabled` and answers the user as LeanKit returns them.
    async fn set_enabled(&self, id: &str, enabled: bool) -> Result<VendorAccount, ConnectorError> {
        let response = self
            .session
            .send(VendorRequest::new(Method::PATCH, self.user_url(id)?).json(json!({"enabled": enabled})))
            .await?;
        if !response.status.is_success() {
            return Err(leankit_error(&response));
        }
        let user: User = response.json()?;
        if user.enabled != enabled {
            return Err(ConnectorError::Transient(format!(
                "LeanKit answered the change but shows the user {}",
                if user.enabled { "enabled" } else { "disabled" }
            )));
        }
        Ok(account(user))
    }

    async fn post_user(
        &self,
        new: &NewAccount,
        password: &SecretString,
    ) -> Result<VendorAccount, ConnectorError> {
        let body = json!({
            "emailAddress": new.email,
            "firstName": new.first_name,
            "lastName": new.last_name,
            "password": password.expose_secret(),
        });
        let response = self
            .session
            .send(VendorRequest::new(Method::POST, self.url("user")?).json(body))
            .await?;
        if response.status.is_success() {
            return Ok(account(response.json()?));
        }
        match leankit_error(&response) {
            // LeanKit does not document its answer to a taken email: whatever 400/422 it
            // gives, an account that now has the email means the email was taken (the one
            // asked for, made by someone else; not with our password).
            ConnectorError::Invalid(why) => match self.find_by_email(&new.email).await? {
                Some(_) => Err(ConnectorError::Conflict(why)),
                None => Err(ConnectorError::Invalid(why)),
            },
            other => Err(other),
        }
    }
}

#[async_trait]
impl Connector for LeanKitConnector {
    fn capabilities(&self) -> ConnectorCapabilities {
        ConnectorCapabilities {
            create: true,
            suspend: true,
            reactivate: true,
            delete: true,
            shows_invites: true,
        }
    }

    /// `GET /io/user/me`: the token works, and its user is an account administrator.
    async fn verify(&self) -> Result<(), ConnectorError> {
        self.me().await.map(|_| ())
    }

    /// The account: the `organizationId` of the token's own user (`GET /io/user/me`), named
    /// by the account's host.
    async fn tenant(&self) -> Result<VendorTenant, ConnectorError> {
        let me = self.me().await?;
        let id = me.organization_id.ok_or_else(|| {
            ConnectorError::Transient("LeanKit named no account for the token's user".into())
        })?;
        Ok(VendorTenant {
            id,
            name: self.base.host_str().unwrap_or_default().to_owned(),
        })
    }

    async fn list(&self, cursor: Option<&str>) -> Result<AccountPage, ConnectorError> {
        let offset = match cursor {
            None => 0,
            Some(c) => c
                .parse::<u64>()
                .map_err(|_| ConnectorError::Invalid("bad LeanKit page cursor".into()))?,
        };
        let (users, next) = self.page(offset, None).await?;
        Ok(AccountPage {
            accounts: users.into_iter().map(account).collect(),
            next: next.map(|n| n.to_string()),
        })
    }

    async fn get(&self, id: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        Ok(self.fetch(id).await?.map(account))
    }

    /// The listing's `search` (user name and email), matched exactly; deleted users are not
    /// the person's account.
    async fn find_by_email(&self, email: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        let mut offset = 0;
        // A search is a handful of users; a listing that does not end is LeanKit's fault.
        for _ in 0..100 {
            let (users, next) = self.page(offset, Some(email)).await?;
            if let Some(user) = users.into_iter().find(|u| !u.deleted && u.has_email(email)) {
                return Ok(Some(account(user)));
            }
            match next {
                Some(n) if n > offset => offset = n,
                _ => return Ok(None),
            }
        }
        Err(ConnectorError::Transient(
            "LeanKit's search for the email did not end".into(),
        ))
    }

    async fn create(&self, new: &NewAccount) -> Result<VendorAccount, ConnectorError> {
        self.create_with_first_password(new).await.map(|c| c.account)
    }

    /// LeanKit requires a password and sends nothing: the password goes back with the user.
    async fn create_with_first_password(&self, new: &NewAccount) -> Result<Created, ConnectorError> {
        let post = async {
            let password = random_password()?;
            Ok(Created {
                account: self.post_user(new, &password).await?,
                first_password: Some(password),
                sign_in_name: None,
            })
        };
        create_once_with_password(self, &new.email, post).await
    }

    async fn suspend(&self, id: &str) -> Result<VendorAccount, ConnectorError> {
        self.set_enabled(id, false).await
    }

    async fn reactivate(&self, id: &str) -> Result<VendorAccount, ConnectorError> {
        self.set_enabled(id, true).await
    }

    /// `DELETE /io/user/{id}` (LeanKit answers 204); a user already gone is done.
    async fn delete(&self, id: &str) -> Result<Verified, ConnectorError> {
        let response = self
            .session
            .send(VendorRequest::new(Method::DELETE, self.user_url(id)?))
            .await?;
        if response.status.is_success() {
            return Ok(Verified::VendorAnswer);
        }
        if response.status == StatusCode::NOT_FOUND {
            // The user's own resource.
            return Ok(Verified::AlreadyGone);
        }
        match leankit_error(&response) {
            // A refusal of a user LeanKit already marks deleted is a finished removal.
            error @ (ConnectorError::Invalid(_) | ConnectorError::Conflict(_)) => match self.fetch(id).await?
            {
                None => Ok(Verified::ReadBack),
                Some(user) if user.deleted => Ok(Verified::ReadBack),
                Some(_) => Err(error),
            },
            other => Err(other),
        }
    }
}

/// What the product shows of planview_leankit (the app directory's entry).
pub const APP: App = App {
    vendor_plan_note: Some(
        "Requires a paid Planview LeanKit (AgilePlace) plan; the API token must be an account administrator's.",
    ),
    remove_means: "Deletes the user from the LeanKit account.",
    suspend_means: Some(
        "Disables the user (LeanKit's `enabled: false`): no sign-in, boards and history kept.",
    ),
    credential_fields: &[
        catalog::text("account", "Account subdomain (the part before .leankit.com)"),
        catalog::secret("api_token", "API token of an account administrator"),
    ],
    differences_from_product_docs: &[
        "LeanKit's API sends no invitation: creating an account creates an enabled user with a random first password, which the service emails to the person as a one-time reveal link (valid 7 days; afterwards LeanKit's \"Forgot password\" or the account's SSO). The account shows as Invite Sent until their first sign-in.",
    ],
    tenant: "Planview LeanKit account",
    ..catalog::app(
        "planview_leankit",
        "Planview LeanKit",
        ConnectionType::ApiKey,
        catalog::CREATE_SUSPEND_REMOVE,
    )
};

/// How the service talks to planview_leankit.
pub const SPEC: AppSpec = AppSpec {
    app: &APP,
    hosts: HOSTS,
    // LeanKit limits points per user per 60 s window and publishes no fixed number (its
    // example is 120; the real one is in `X-RateLimit-Limit`). The token's user shares it
    // with their other integrations, so stay well under the example.
    limit: Some(RateLimit {
        per_minute: 60,
        burst: 10,
    }),
    oauth: None,
    check,
    api_key_auth: Some(api_token_bearer),
    exchange: None,
    build: |session, tenant| Ok(Box::new(LeanKitConnector::new(session, tenant)?)),
};
