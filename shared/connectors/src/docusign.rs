//! DocuSign: the users of one eSignature account through the eSignature REST API v2.1
//! (`{base_uri}/restapi/v2.1/accounts/{accountId}/users`), with the OAuth token (authorization
//! code grant, scope `signature`) of an account administrator.
//!
//! The account and its API host are not in the token answer: the connector asks DocuSign's
//! `/oauth/userinfo` (at `account.docusign.com`, or `account-d.docusign.com` for a connection in
//! the `demo` environment) once per connector, and takes the connection's `account_id` when it
//! names one, else the user's default account. The account's `base_uri` must be an https host
//! under `docusign.net`; anything else is refused before any call is made to it.
//!
//! Create is `POST users` with one `newUsers` entry: DocuSign emails the person an activation
//! link and lists them as `ActivationSent` (Invite Sent) until they activate. Problems come back
//! per user inside the 201 (`errorDetails`); `USER_ALREADY_EXISTS_IN_ACCOUNT` is the existing
//! user. Remove is `DELETE users` with the user's id in the body: DocuSign never deletes users,
//! it closes their membership of the account (`Closed`). There is no suspend. Closed
//! memberships are not listed and do not count as an existing account when creating (DocuSign
//! reopens or recreates one for the same email).

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::OnceCell;
use url::{Host, Url};

use crate::egress::HostPattern;
use crate::error::{ConnectorError, brief};
use crate::http::RateLimit;
use crate::http::{Session, VendorRequest, VendorResponse};
use crate::model::{
    AccountPage, AccountStatus, Connector, ConnectorCapabilities, NewAccount, VendorAccount, VendorTenant,
    Verified, create_once,
};
use crate::spec::{AppSpec, OAuthEnvironment, OAuthSpec, TokenStyle, no_check};
use crate::spec::{PRODUCTION, Tenant};
use prov_core::catalog::{self, App, ConnectionType};
use prov_core::connector::ENVIRONMENT;

/// DocuSign's authorization servers (production, demo) and the eSignature API hosts.
pub const HOSTS: &[&str] = &["account.docusign.com", "account-d.docusign.com", API_HOSTS];
/// Where every account's `base_uri` must be (`na3.docusign.net`, `demo.docusign.net`, …).
const API_HOSTS: &str = "*.docusign.net";
/// The developer (demo) environment's name on a connection.
pub const DEMO: &str = "demo";
const USERINFO: &str = "https://account.docusign.com/oauth/userinfo";
const DEMO_USERINFO: &str = "https://account-d.docusign.com/oauth/userinfo";
/// DocuSign's largest page (`count` is 1 to 100).
const PAGE_SIZE: usize = 100;
/// The statuses a listing asks for: every membership that is not closed.
pub const LISTED_STATUSES: &str = "ActivationRequired,ActivationSent,Active,Disabled";
/// How long a connection's account API host, once learned from `/oauth/userinfo`, is used
/// without asking again. DocuSign asks integrations to cache the answer (it "changes very
/// infrequently") and limits calls to the endpoint per hour
/// (https://developers.docusign.com/platform/auth/reference/user-info).
const USERINFO_TTL: std::time::Duration = std::time::Duration::from_secs(60 * 60);
/// What a refusal for want of rights means for the admin.
const ADMIN_NEEDED: &str = "the person who connects DocuSign must be an administrator of the DocuSign account to add and close users";

pub struct DocuSignConnector {
    session: Session,
    userinfo: Url,
    /// The account the connection names, if any (else the user's default account).
    account_id: Option<String>,
    /// `https://{host}/restapi/v2.1/accounts/{accountId}` and the account, found once.
    api: OnceCell<(Url, VendorTenant)>,
    /// The connection, as the process's cache of learned accounts knows it.
    connection: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorDetails {
    error_code: Option<String>,
    message: Option<String>,
}

impl ErrorDetails {
    fn code(&self) -> String {
        self.error_code.clone().unwrap_or_default().to_ascii_uppercase()
    }

    fn describe(&self) -> Option<String> {
        match (&self.error_code, &self.message) {
            (Some(code), Some(message)) => Some(brief(&format!("{code}: {message}"))),
            (Some(code), None) => Some(code.clone()),
            (None, Some(message)) => Some(brief(message)),
            (None, None) => None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct User {
    user_id: Option<String>,
    user_name: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    user_status: Option<String>,
    error_details: Option<ErrorDetails>,
}

/// A `GET users` page. DocuSign sends the positions as strings; numbers are read too.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserList {
    #[serde(default)]
    users: Vec<User>,
    end_position: Option<Value>,
    total_set_size: Option<Value>,
    next_uri: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewUsers {
    #[serde(default)]
    new_users: Vec<User>,
}

#[derive(Debug, Deserialize)]
struct UserInfo {
    #[serde(default)]
    accounts: Vec<UserInfoAccount>,
}

#[derive(Debug, Deserialize)]
struct UserInfoAccount {
    account_id: String,
    account_name: Option<String>,
    #[serde(default)]
    is_default: Value,
    base_uri: Option<String>,
}

impl UserInfoAccount {
    fn is_default(&self) -> bool {
        match &self.is_default {
            Value::Bool(b) => *b,
            Value::String(s) => s.eq_ignore_ascii_case("true"),
            _ => false,
        }
    }
}

/// A position or count DocuSign sent as a string or a number.
fn number(value: &Option<Value>) -> Option<usize> {
    match value.as_ref()? {
        Value::Number(n) => n.as_u64().map(|n| n as usize),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// DocuSign's `userStatus`, normalised.
fn status(raw: Option<&str>, absent: AccountStatus) -> AccountStatus {
    let Some(raw) = raw else { return absent };
    match raw.to_ascii_lowercase().as_str() {
        "active" => AccountStatus::Active,
        "activationsent" | "activationrequired" => AccountStatus::InviteSent,
        "disabled" => AccountStatus::Suspended,
        "closed" => AccountStatus::Deleted,
        other => {
            tracing::warn!(status = other, "unknown DocuSign user status; taken as active");
            AccountStatus::Active
        }
    }
}

fn is_closed(user: &User) -> bool {
    user.user_status
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("closed"))
}

/// A user as an account; `absent` is the status when DocuSign names none.
fn account(user: User, absent: AccountStatus) -> Option<VendorAccount> {
    Some(VendorAccount {
        id: user.user_id?,
        email: user.email,
        first_name: user.first_name.filter(|s| !s.is_empty()),
        last_name: user.last_name.filter(|s| !s.is_empty()),
        display_name: user.user_name.filter(|s| !s.is_empty()),
        status: status(user.user_status.as_deref(), absent),
    })
}

/// Whether an error code says the connecting user may not manage users.
fn lacks_rights(code: &str) -> bool {
    code.starts_with("USER_LACKS_") || code == "USER_NOT_ACCOUNT_ADMIN"
}

/// Whether an error code says there is no such user.
fn no_such_user(code: &str) -> bool {
    code.contains("USER_DOES_NOT_EXIST") || code.contains("USER_NOT_FOUND") || code == "INVALID_USERID"
}

/// A per-user `errorDetails`, or a whole answer's `{errorCode, message}`, as an error.
fn details_error(status: StatusCode, details: &ErrorDetails, fallback: String) -> ConnectorError {
    let code = details.code();
    let said = details.describe().unwrap_or(fallback);
    match status {
        StatusCode::UNAUTHORIZED => ConnectorError::Unauthorized(said),
        _ if status == StatusCode::FORBIDDEN || lacks_rights(&code) => {
            ConnectorError::Unauthorized(format!("{said} ({ADMIN_NEEDED})"))
        }
        _ if code == "AUTHORIZATION_INVALID_TOKEN" || code == "USER_AUTHENTICATION_FAILED" => {
            ConnectorError::Unauthorized(said)
        }
        _ if code == "ACCOUNT_LACKS_PERMISSIONS" => ConnectorError::PlanRequired(said),
        StatusCode::NOT_FOUND => ConnectorError::NotFound,
        s if s.is_client_error() || s.is_success() => ConnectorError::Invalid(said),
        s => ConnectorError::Transient(format!("DocuSign answered {s}: {said}")),
    }
}

/// DocuSign's `{errorCode, message}` answer, mapped.
fn docusign_error(response: &VendorResponse) -> ConnectorError {
    let details: ErrorDetails = serde_json::from_slice(&response.body).unwrap_or_default();
    details_error(response.status, &details, response.text())
}

/// Over the account's hourly or burst allowance DocuSign answered 400 with
/// `HOURLY_APIINVOCATION_LIMIT_EXCEEDED` (or `BURST_…`) before it moved to 429; both are taken.
fn invocation_limit(response: &VendorResponse) -> bool {
    if response.status != StatusCode::BAD_REQUEST {
        return false;
    }
    let details: ErrorDetails = serde_json::from_slice(&response.body).unwrap_or_default();
    let code = details.code();
    code.contains("APIINVOCATION") || code.contains("POLLING_LIMIT")
}

/// The eSignature API base of `account_id` at `base_uri`, which must be an https host under
/// `docusign.net` (no credentials, port or query): the only hosts DocuSign names.
pub fn account_api(base_uri: &str, account_id: &str) -> Result<Url, ConnectorError> {
    let refused = || {
        ConnectorError::Refused(format!(
            "DocuSign named `{}` as the account's API host, which is not an https host under docusign.net",
            brief(base_uri)
        ))
    };
    let url = Url::parse(base_uri).map_err(|_| refused())?;
    let pattern = HostPattern::new(API_HOSTS).expect("a valid pattern");
    let host_ok = matches!(url.host(), Some(Host::Domain(h)) if pattern.matches(h));
    if url.scheme() != "https"
        || !host_ok
        || url.port().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(refused());
    }
    let mut api = url;
    api.path_segments_mut()
        .map_err(|_| refused())?
        .clear()
        .extend(["restapi", "v2.1", "accounts", account_id]);
    Ok(api)
}

impl DocuSignConnector {
    pub fn new(mut session: Session, tenant: &Tenant) -> Result<Self, ConnectorError> {
        session.rate_limit_signal = Some(invocation_limit);
        let userinfo = match tenant.get(ENVIRONMENT).map(String::as_str) {
            None | Some(PRODUCTION) => USERINFO,
            Some(DEMO) => DEMO_USERINFO,
            Some(other) => {
                return Err(ConnectorError::Invalid(format!(
                    "`{}` is not a DocuSign environment (production or demo)",
                    brief(other)
                )));
            }
        };
        let account_id = match tenant.get("account_id").map(|a| a.trim()) {
            None | Some("") => None,
            Some(id) if id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') => {
                Some(id.to_owned())
            }
            Some(_) => {
                return Err(ConnectorError::Invalid(
                    "`account_id` must be a DocuSign account id (a GUID or the account number)".into(),
                ));
            }
        };
        let connection = format!(
            "docusign/{}/{userinfo}/{}",
            session.company_id,
            account_id.as_deref().unwrap_or("default")
        );
        Ok(Self {
            session,
            userinfo: Url::parse(userinfo).expect("valid"),
            account_id,
            api: OnceCell::new(),
            connection,
        })
    }

    /// The account's API base.
    async fn api(&self) -> Result<&Url, ConnectorError> {
        self.account().await.map(|(url, _)| url)
    }

    /// The account's API base and the account itself (its id and `account_name` as
    /// `/oauth/userinfo` lists them, https://developers.docusign.com/platform/auth/reference/user-info/):
    /// learned once per connection (per `USERINFO_TTL`) and kept by the process for the
    /// connectors that follow.
    async fn account(&self) -> Result<&(Url, VendorTenant), ConnectorError> {
        self.api
            .get_or_try_init(|| async {
                let now = self.session.http.now();
                let learned = self
                    .session
                    .http
                    .learned
                    .lock()
                    .expect("learned lock")
                    .get(&self.connection)
                    .filter(|(_, at)| now.saturating_sub(*at) < USERINFO_TTL)
                    .map(|(account, _)| account.clone());
                if let Some(account) = learned {
                    return Ok(account);
                }
                let account = self.ask_userinfo().await?;
                self.session
                    .http
                    .learned
                    .lock()
                    .expect("learned lock")
                    .insert(self.connection.clone(), (account.clone(), now));
                Ok(account)
            })
            .await
    }

    /// The account's API base and the account, as `/oauth/userinfo` names them now.
    async fn ask_userinfo(&self) -> Result<(Url, VendorTenant), ConnectorError> {
        let response = self
            .session
            .send(VendorRequest::get(self.userinfo.clone()))
            .await?;
        if !response.status.is_success() {
            return Err(docusign_error(&response));
        }
        let info: UserInfo = response.json()?;
        let chosen = match &self.account_id {
            Some(wanted) => info
                .accounts
                .iter()
                .find(|a| a.account_id.eq_ignore_ascii_case(wanted))
                .ok_or_else(|| {
                    ConnectorError::Invalid(format!(
                        "the connecting DocuSign user is not a member of account {wanted}"
                    ))
                })?,
            None => match info.accounts.iter().find(|a| a.is_default()) {
                Some(default) => default,
                None if info.accounts.len() == 1 => &info.accounts[0],
                None => {
                    return Err(ConnectorError::Invalid(
                        "the connecting DocuSign user has no default account".into(),
                    ));
                }
            },
        };
        let base_uri = chosen
            .base_uri
            .as_deref()
            .ok_or_else(|| ConnectorError::Invalid("DocuSign named no API host for the account".into()))?;
        let tenant = VendorTenant {
            id: chosen.account_id.clone(),
            name: chosen
                .account_name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| chosen.account_id.clone()),
        };
        Ok((account_api(base_uri, &chosen.account_id)?, tenant))
    }

    /// The account's `users` resource, or one user under it.
    async fn users_url(&self, id: Option<&str>) -> Result<Url, ConnectorError> {
        let mut url = self.api().await?.clone();
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|_| ConnectorError::Invalid("bad DocuSign path".into()))?;
            segments.push("users");
            if let Some(id) = id {
                segments.push(id);
            }
        }
        Ok(url)
    }

    async fn read_list(&self, url: Url) -> Result<UserList, ConnectorError> {
        let response = self.session.send(VendorRequest::get(url)).await?;
        if response.status.is_success() {
            response.json()
        } else {
            Err(docusign_error(&response))
        }
    }

    /// The user is gone or closed after a close DocuSign did not confirm; else `error`.
    async fn confirm_closed(&self, id: &str, error: ConnectorError) -> Result<Verified, ConnectorError> {
        match self.get(id).await? {
            None => Ok(Verified::ReadBack),
            Some(user) if user.status == AccountStatus::Deleted => Ok(Verified::ReadBack),
            Some(_) => Err(error),
        }
    }

    /// `POST users` with one new user; an existing one (DocuSign's
    /// `USER_ALREADY_EXISTS_IN_ACCOUNT`) is read back by the id DocuSign names.
    async fn post_user(&self, new: &NewAccount) -> Result<VendorAccount, ConnectorError> {
        let url = self.users_url(None).await?;
        let name = format!("{} {}", new.first_name.trim(), new.last_name.trim());
        let body = json!({"newUsers": [{
            "userName": name.trim(),
            "email": new.email,
            "firstName": new.first_name,
            "lastName": new.last_name,
        }]});
        let response = self
            .session
            .send(VendorRequest::new(Method::POST, url).json(body))
            .await?;
        if !response.status.is_success() {
            return Err(docusign_error(&response));
        }
        let answer: NewUsers = response.json()?;
        let Some(entry) = answer.new_users.into_iter().next() else {
            return Err(ConnectorError::Transient(
                "DocuSign answered the new user with no entry".into(),
            ));
        };
        if let Some(details) = &entry.error_details {
            if details.code() == "USER_ALREADY_EXISTS_IN_ACCOUNT" {
                if let Some(id) = &entry.user_id
                    && let Some(existing) = self.get(id).await?
                    && existing.status != AccountStatus::Deleted
                {
                    return Ok(existing);
                }
                return Err(ConnectorError::Conflict(
                    details.describe().unwrap_or_else(|| details.code()),
                ));
            }
            return Err(details_error(
                StatusCode::BAD_REQUEST,
                details,
                "DocuSign refused the new user".into(),
            ));
        }
        // DocuSign emails the activation link: invited until the person activates.
        account(entry, AccountStatus::InviteSent)
            .ok_or_else(|| ConnectorError::Transient("DocuSign answered the new user without an id".into()))
    }
}

#[async_trait]
impl Connector for DocuSignConnector {
    fn capabilities(&self) -> ConnectorCapabilities {
        ConnectorCapabilities {
            create: true,
            suspend: false,
            reactivate: false,
            delete: true,
            shows_invites: true,
        }
    }

    async fn verify(&self) -> Result<(), ConnectorError> {
        // Proving credentials (a connect, a reconnect to another account) asks userinfo
        // anew: what the process learned of the connection before may be another account's.
        self.session
            .http
            .learned
            .lock()
            .expect("learned lock")
            .remove(&self.connection);
        let mut url = self.users_url(None).await?;
        url.query_pairs_mut().append_pair("count", "1");
        self.read_list(url).await.map(|_| ())
    }

    async fn tenant(&self) -> Result<VendorTenant, ConnectorError> {
        self.account().await.map(|(_, tenant)| tenant.clone())
    }

    async fn list(&self, cursor: Option<&str>) -> Result<AccountPage, ConnectorError> {
        let start: usize = match cursor {
            None => 0,
            Some(c) => c
                .parse()
                .map_err(|_| ConnectorError::Invalid("not a DocuSign listing position".into()))?,
        };
        let mut url = self.users_url(None).await?;
        url.query_pairs_mut()
            .append_pair("count", &PAGE_SIZE.to_string())
            .append_pair("start_position", &start.to_string())
            .append_pair("status", LISTED_STATUSES);
        let page = self.read_list(url).await?;
        let received = page.users.len();
        // Saturating: the positions are DocuSign's to send, however large.
        let after = number(&page.end_position)
            .map(|end| end.saturating_add(1))
            .unwrap_or(start.saturating_add(received))
            .max(start.saturating_add(1));
        let more = received > 0
            && match number(&page.total_set_size) {
                Some(total) => after < total,
                None => page.next_uri.as_deref().is_some_and(|u| !u.is_empty()),
            };
        Ok(AccountPage {
            accounts: page
                .users
                .into_iter()
                .filter_map(|u| account(u, AccountStatus::Active))
                .collect(),
            next: more.then(|| after.to_string()),
        })
    }

    async fn get(&self, id: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        let url = self.users_url(Some(id)).await?;
        let response = self.session.send(VendorRequest::get(url)).await?;
        if response.status.is_success() {
            return Ok(account(response.json()?, AccountStatus::Active));
        }
        if response.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let details: ErrorDetails = serde_json::from_slice(&response.body).unwrap_or_default();
        if response.status == StatusCode::BAD_REQUEST && no_such_user(&details.code()) {
            return Ok(None);
        }
        Err(docusign_error(&response))
    }

    /// The open membership with exactly this email (an account may hold closed ones too).
    async fn find_by_email(&self, email: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        let mut url = self.users_url(None).await?;
        url.query_pairs_mut().append_pair("email", email);
        let page = self.read_list(url).await?;
        let rank = |a: &VendorAccount| match a.status {
            AccountStatus::Active => 0,
            AccountStatus::InviteSent => 1,
            AccountStatus::Suspended => 2,
            AccountStatus::Deleted => 3,
        };
        Ok(page
            .users
            .into_iter()
            .filter(|u| !is_closed(u))
            .filter(|u| u.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(email)))
            .filter_map(|u| account(u, AccountStatus::Active))
            .min_by_key(rank))
    }

    async fn create(&self, new: &NewAccount) -> Result<VendorAccount, ConnectorError> {
        create_once(self, &new.email, self.post_user(new)).await
    }

    /// Closes the membership; a user already closed or unknown is done.
    async fn delete(&self, id: &str) -> Result<Verified, ConnectorError> {
        let url = self.users_url(None).await?;
        let request = VendorRequest::new(Method::DELETE, url).json(json!({"users": [{"userId": id}]}));
        let response = self.session.send(request).await?;
        match response.status {
            s if s.is_success() => {
                let answer: UserList = response.json()?;
                let failed = answer
                    .users
                    .iter()
                    .filter(|u| u.user_id.as_deref().is_none_or(|u| u.eq_ignore_ascii_case(id)))
                    .find_map(|u| u.error_details.as_ref());
                match failed {
                    None => Ok(Verified::VendorAnswer),
                    Some(details) => {
                        let error = details_error(s, details, "DocuSign did not close the user".into());
                        self.confirm_closed(id, error).await
                    }
                }
            }
            // The account's `users` collection, not the user's own resource: read the user.
            StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST => {
                self.confirm_closed(id, docusign_error(&response)).await
            }
            _ => Err(docusign_error(&response)),
        }
    }
}

/// What the product shows of docusign (the app directory's entry).
pub const APP: App = App {
    remove_means: "Closes the user's membership of the DocuSign account (DocuSign never deletes users; an admin can reactivate a closed user).",
    removal_deactivates: true,
    differences_from_product_docs: &[
        "The person who connects DocuSign must be an administrator of the DocuSign account; the connection manages their default account.",
        "A created user gets DocuSign's activation email and shows as Invite Sent until they activate their account.",
        "Developer (demo) accounts can be connected: start the connection with `environment: demo` (account-d.docusign.com).",
    ],
    tenant: "DocuSign account",
    ..catalog::app(
        "docusign",
        "DocuSign",
        ConnectionType::Oauth,
        catalog::CREATE_REMOVE,
    )
};

/// How the service talks to docusign.
pub const SPEC: AppSpec = AppSpec {
    app: &APP,
    hosts: HOSTS,
    // 3,000 calls an hour per account by default, shared by every app the account uses
    // (and at most 500 in 30 seconds, 200 in demo): keep to a third, about 1,000 an hour.
    // Over it DocuSign answers 429 (formerly 400 `HOURLY_APIINVOCATION_LIMIT_EXCEEDED`)
    // with `X-RateLimit-Reset`.
    limit: Some(RateLimit {
        per_minute: 16,
        burst: 10,
    }),
    oauth: Some(OAuthSpec {
        authorize_url: "https://account.docusign.com/oauth/auth",
        token_url: "https://account.docusign.com/oauth/token",
        // `signature` is the eSignature API (users included, for an account admin);
        // `extended` keeps the refresh token's lifetime renewed at each refresh.
        scopes: &["signature", "extended"],
        extra_params: &[],
        style: TokenStyle::Standard,
        // DocuSign takes the integration key and secret as HTTP Basic authentication.
        credentials_in_body: false,
        // The account and its API host come from `/oauth/userinfo`, not the token answer.
        tenant_fields: &[],
        environments: &[OAuthEnvironment {
            name: DEMO,
            authorize_url: "https://account-d.docusign.com/oauth/auth",
            token_url: "https://account-d.docusign.com/oauth/token",
        }],
        organization_field: Some("account_id"),
    }),
    check: no_check,
    api_key_auth: None,
    exchange: None,
    build: |session, tenant| Ok(Box::new(DocuSignConnector::new(session, tenant)?)),
};
