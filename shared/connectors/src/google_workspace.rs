//! Google Workspace: the Admin SDK Directory API (`https://admin.googleapis.com/admin/directory/v1/`,
//! always for `customer=my_customer`, the connecting admin's own account) with an OAuth 2.0
//! token of a super admin (or an admin holding the user management privileges), asked for
//! offline access so Google returns a refresh token. Google Workspace has no inbound SCIM API
//! for its own users.
//!
//! Create makes a real user with a mailbox at once; Google sends no invitation and shows no
//! invitation state, so a created user is listed as active. The user gets a random one-time
//! password (generated here, sent once, never stored, logged or returned) that must be changed
//! at the first sign-in; the person's personal email, when known, becomes the recovery email
//! so they can set their own. Only addresses on the Workspace's verified domains can be
//! created: Google cannot invite an outside address into a Workspace.
//!
//! Suspend is `suspended: true` (no sign-in; mail and files kept); remove deletes the user,
//! which Google keeps restorable for about 20 days. Groups are the Workspace's Google Groups.
//!
//! Google reports "slow down" as 403 with the reason `userRateLimitExceeded`,
//! `rateLimitExceeded` or `quotaExceeded` (sometimes 429): the session treats all of them as
//! rate limits and backs off.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use prov_core::catalog::{self, App, ConnectionType};
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::OnceCell;
use url::Url;

use crate::error::{ConnectorError, brief};
use crate::http::RateLimit;
use crate::http::{Backoff, Jitter, Session, VendorRequest, VendorResponse};
use crate::model::{
    AccountPage, AccountStatus, Connector, ConnectorCapabilities, NewAccount, NewWorkAccount, VendorAccount,
    VendorGroup, create_once, random_password,
};
use crate::model::{VendorTenant, Verified};
use crate::spec::{AppSpec, OAuthSpec, TokenStyle, no_check};

/// The Directory API, Google's authorization page and its token endpoint.
pub const HOSTS: &[&str] = &[
    "admin.googleapis.com",
    "accounts.google.com",
    "oauth2.googleapis.com",
];
const API: &str = "https://admin.googleapis.com/admin/directory/v1/";
/// The alias of the connecting admin's own Google Workspace account.
pub const CUSTOMER: &str = "my_customer";
/// Users per page: the most `users.list` returns.
const USERS_PAGE: &str = "500";
/// Groups per page: the most `groups.list` returns.
const GROUPS_PAGE: &str = "200";
/// A bound on the pages of groups read in one call (200 000 groups).
const MAX_GROUP_PAGES: usize = 1_000;

/// The reasons of Google's 403 (and 429) answers that mean "slow down".
const RATE_LIMIT_REASONS: &[&str] = &["userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded"];

const NOT_ADMIN: &str = "the Google account that connected must be a super admin of the Workspace (or an admin with the user management privileges), and must have granted every requested permission";

pub struct GoogleWorkspaceConnector {
    session: Session,
    /// The Workspace's domains, asked once per connector.
    domains: OnceCell<WorkspaceDomains>,
}

/// The domains a Workspace's addresses can be on.
#[derive(Debug, Default)]
struct WorkspaceDomains {
    /// Where users can be created: the primary domain first, then the verified secondary ones.
    domains: Vec<String>,
    /// Verified domain aliases: every user also receives mail at their name on these, but no
    /// user can be created on them.
    aliases: Vec<String>,
}

impl WorkspaceDomains {
    fn covers(&self, domain: &str) -> bool {
        self.domains.iter().chain(&self.aliases).any(|d| d == domain)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Name {
    given_name: Option<String>,
    family_name: Option<String>,
    full_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct User {
    id: String,
    primary_email: Option<String>,
    #[serde(default)]
    name: Name,
    #[serde(default)]
    suspended: bool,
    #[serde(default)]
    archived: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Users {
    #[serde(default)]
    users: Vec<User>,
    next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Domain {
    domain_name: String,
    #[serde(default)]
    is_primary: bool,
    #[serde(default)]
    verified: bool,
    #[serde(default)]
    domain_aliases: Vec<DomainAlias>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DomainAlias {
    domain_alias_name: String,
    #[serde(default)]
    verified: bool,
}

#[derive(Debug, Deserialize)]
struct Domains {
    #[serde(default)]
    domains: Vec<Domain>,
}

#[derive(Debug, Deserialize)]
struct Group {
    id: String,
    email: Option<String>,
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Groups {
    #[serde(default)]
    groups: Vec<Group>,
    next_page_token: Option<String>,
}

/// Google's error body: `{"error": {"code", "message", "errors": [{"reason", "message"}]}}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: GoogleError,
}

#[derive(Debug, Deserialize)]
struct GoogleError {
    message: Option<String>,
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Debug, Deserialize)]
struct ErrorItem {
    reason: Option<String>,
}

/// The answer's message and its first reason, when it is Google's error body.
fn said(response: &VendorResponse) -> (String, Option<String>) {
    match serde_json::from_slice::<ErrorBody>(&response.body) {
        Ok(body) => (
            body.error
                .message
                .map(|m| brief(&m))
                .unwrap_or_else(|| response.status.to_string()),
            body.error.errors.into_iter().find_map(|e| e.reason),
        ),
        Err(_) => (response.text(), None),
    }
}

/// Google's rate-limit answers: 403 (or 429) with a rate or quota reason.
fn rate_limit_signal(response: &VendorResponse) -> bool {
    if response.status != StatusCode::FORBIDDEN && response.status != StatusCode::TOO_MANY_REQUESTS {
        return false;
    }
    serde_json::from_slice::<ErrorBody>(&response.body).is_ok_and(|body| {
        body.error.errors.iter().any(|e| {
            e.reason
                .as_deref()
                .is_some_and(|r| RATE_LIMIT_REASONS.contains(&r))
        })
    })
}

/// Google's error body, mapped.
/// A 404 that answers something other than the account's own resource (the domains, a
/// group): it names what Google did not find, never "no such account".
fn not_found_as(error: ConnectorError, what: &str) -> ConnectorError {
    match error {
        ConnectorError::NotFound => {
            ConnectorError::Invalid(format!("Google Workspace found no {what} (not found)"))
        }
        other => other,
    }
}

fn google_error(response: &VendorResponse) -> ConnectorError {
    let (message, reason) = said(response);
    let reason = reason.unwrap_or_default();
    let lower = message.to_lowercase();
    if RATE_LIMIT_REASONS.contains(&reason.as_str()) {
        return ConnectorError::RateLimited { retry_after: None };
    }
    match response.status {
        StatusCode::UNAUTHORIZED => ConnectorError::Unauthorized(message),
        StatusCode::FORBIDDEN if reason == "accessNotConfigured" => ConnectorError::Unauthorized(format!(
            "{message} (the Admin SDK API is not enabled for the service's Google Cloud project)"
        )),
        // Google's wording for a Workspace without a free licence is not documented; it
        // speaks of a user limit.
        s if s.is_client_error() && lower.contains("limit") && lower.contains("user") => {
            ConnectorError::PlanRequired(format!(
                "{message} (the Workspace has no licence left for a new user)"
            ))
        }
        StatusCode::FORBIDDEN => ConnectorError::Unauthorized(format!("{message} ({NOT_ADMIN})")),
        StatusCode::NOT_FOUND => ConnectorError::NotFound,
        StatusCode::CONFLICT => ConnectorError::Conflict(message),
        s if s.is_client_error() => ConnectorError::Invalid(if reason.is_empty() {
            message
        } else {
            format!("{message} ({reason})")
        }),
        s => ConnectorError::Transient(format!("Google answered {s}: {message}")),
    }
}

fn account(user: User) -> VendorAccount {
    let status = if user.suspended || user.archived {
        AccountStatus::Suspended
    } else {
        AccountStatus::Active
    };
    let display_name = match (&user.name.given_name, &user.name.family_name) {
        (None, None) => user.name.full_name,
        _ => None,
    };
    VendorAccount {
        id: user.id,
        email: user.primary_email,
        first_name: user.name.given_name,
        last_name: user.name.family_name,
        display_name,
        status,
    }
}

/// The domain of an address, lower-cased; `None` when it is not one.
fn domain_of(email: &str) -> Option<String> {
    let (local, domain) = email.trim().rsplit_once('@')?;
    (!local.is_empty() && !domain.is_empty()).then(|| domain.to_ascii_lowercase())
}

/// Google's exponential backoff for the Directory API: 1 s, 2 s, 4 s, … each plus up to a
/// second at random, never more than 32 s at a time
/// (https://developers.google.com/workspace/admin/directory/v1/limits#backoff). What the
/// connector's wait cannot hold is handed back with the next wait.
pub const BACKOFF: Backoff = Backoff {
    first: Duration::from_secs(1),
    cap: Duration::from_secs(32),
    jitter: Jitter::Added(Duration::from_secs(1)),
};

impl GoogleWorkspaceConnector {
    pub fn new(mut session: Session) -> Self {
        session.rate_limit_signal = Some(rate_limit_signal);
        session.backoff = Some(BACKOFF);
        Self {
            session,
            domains: OnceCell::new(),
        }
    }

    fn url(path: &[&str]) -> Result<Url, ConnectorError> {
        let mut url = Url::parse(API).expect("valid");
        url.path_segments_mut()
            .map_err(|_| ConnectorError::Invalid("bad Google path".into()))?
            .pop_if_empty()
            .extend(path);
        Ok(url)
    }

    fn users_url(page_size: &str, page_token: Option<&str>) -> Result<Url, ConnectorError> {
        let mut url = Self::url(&["users"])?;
        url.query_pairs_mut()
            .append_pair("customer", CUSTOMER)
            .append_pair("maxResults", page_size);
        if let Some(token) = page_token {
            url.query_pairs_mut().append_pair("pageToken", token);
        }
        Ok(url)
    }

    /// A user by id, primary email or alias (Google's `userKey`); `None` when there is none.
    async fn user(&self, key: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        let response = self
            .session
            .send(VendorRequest::get(Self::url(&["users", key])?))
            .await?;
        match response.status {
            s if s.is_success() => Ok(Some(account(response.json()?))),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(google_error(&response)),
        }
    }

    /// `suspended: true|false` with `users.update` (PUT), which Google documents as taking
    /// partial bodies (patch semantics) and prefers over `users.patch`.
    async fn set_suspended(&self, id: &str, suspended: bool) -> Result<VendorAccount, ConnectorError> {
        let request =
            VendorRequest::new(Method::PUT, Self::url(&["users", id])?).json(json!({"suspended": suspended}));
        let response = self.session.send(request).await?;
        if response.status.is_success() {
            Ok(account(response.json()?))
        } else {
            Err(google_error(&response))
        }
    }

    /// The Workspace's domains and domain aliases, asked once.
    async fn domains(&self) -> Result<&WorkspaceDomains, ConnectorError> {
        self.domains
            .get_or_try_init(|| async {
                let url = Self::url(&["customer", CUSTOMER, "domains"])?;
                let response = self.session.send(VendorRequest::get(url)).await?;
                if !response.status.is_success() {
                    return Err(not_found_as(
                        google_error(&response),
                        "domains for the connection's customer",
                    ));
                }
                let mut domains: Vec<Domain> = response
                    .json::<Domains>()?
                    .domains
                    .into_iter()
                    .filter(|d| d.verified || d.is_primary)
                    .collect();
                domains.sort_by_key(|d| !d.is_primary);
                let aliases = domains
                    .iter()
                    .flat_map(|d| &d.domain_aliases)
                    .filter(|a| a.verified)
                    .map(|a| a.domain_alias_name.to_ascii_lowercase())
                    .collect();
                let mut seen = HashSet::new();
                Ok(WorkspaceDomains {
                    domains: domains
                        .into_iter()
                        .map(|d| d.domain_name.to_ascii_lowercase())
                        .filter(|d| seen.insert(d.clone()))
                        .collect(),
                    aliases,
                })
            })
            .await
    }

    /// Refuses an address that is not on one of the Workspace's domains.
    async fn check_domain(&self, email: &str) -> Result<(), ConnectorError> {
        let domains = &self.domains().await?.domains;
        let domain = domain_of(email)
            .ok_or_else(|| ConnectorError::Invalid(format!("`{email}` is not an email address")))?;
        if domains.contains(&domain) {
            return Ok(());
        }
        Err(ConnectorError::Invalid(format!(
            "{email} is not on one of the Google Workspace's domains ({}): Google cannot invite an outside address into the Workspace; create a work address on one of its domains instead",
            domains.join(", ")
        )))
    }

    /// `POST users`: a new user with a random one-time password to change at first sign-in.
    async fn insert_user(&self, new: &NewWorkAccount) -> Result<VendorAccount, ConnectorError> {
        let password = random_password()?;
        let mut body = json!({
            "primaryEmail": new.work_email.trim(),
            "name": {"givenName": new.first_name, "familyName": new.last_name},
            "password": password.expose_secret(),
            "changePasswordAtNextLogin": true,
        });
        if let Some(personal) = new
            .personal_email
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            body["recoveryEmail"] = json!(personal);
        }
        let response = self
            .session
            .send(VendorRequest::new(Method::POST, Self::url(&["users"])?).json(body))
            .await?;
        if response.status.is_success() {
            Ok(account(response.json()?))
        } else {
            Err(google_error(&response))
        }
    }
}

#[async_trait]
impl Connector for GoogleWorkspaceConnector {
    fn capabilities(&self) -> ConnectorCapabilities {
        ConnectorCapabilities {
            create: true,
            suspend: true,
            reactivate: true,
            delete: true,
            shows_invites: false,
        }
    }

    /// A cheap listing: a token of someone who is not an admin gets 403, which says so plainly.
    async fn verify(&self) -> Result<(), ConnectorError> {
        let response = self
            .session
            .send(VendorRequest::get(Self::users_url("1", None)?))
            .await?;
        if response.status.is_success() {
            Ok(())
        } else {
            Err(google_error(&response))
        }
    }

    /// The Workspace customer: `customers.get` of `my_customer` (its `id` and
    /// `customerDomain`, https://developers.google.com/admin-sdk/directory/reference/rest/v1/customers/get).
    async fn tenant(&self) -> Result<VendorTenant, ConnectorError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Customer {
            id: String,
            customer_domain: Option<String>,
        }
        let response = self
            .session
            .send(VendorRequest::get(Self::url(&["customers", CUSTOMER])?))
            .await?;
        if !response.status.is_success() {
            return Err(not_found_as(google_error(&response), "the connection's customer"));
        }
        let customer: Customer = response.json()?;
        Ok(VendorTenant {
            name: customer
                .customer_domain
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| customer.id.clone()),
            id: customer.id,
        })
    }

    async fn list(&self, cursor: Option<&str>) -> Result<AccountPage, ConnectorError> {
        let url = Self::users_url(USERS_PAGE, cursor)?;
        let response = self.session.send(VendorRequest::get(url)).await?;
        if !response.status.is_success() {
            return Err(google_error(&response));
        }
        let users: Users = response.json()?;
        Ok(AccountPage {
            next: users.next_page_token.filter(|t| !t.is_empty()),
            accounts: users.users.into_iter().map(account).collect(),
        })
    }

    async fn get(&self, id: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        self.user(id).await
    }

    /// Google resolves a primary address, an alias or a domain alias to the one user who
    /// receives its mail (addresses are unique across all three), so the user found is kept
    /// even when its primary email differs: that person already has an account, and Google
    /// would refuse to create another user with the address anyway. An address on none of
    /// the Workspace's domains has no user, and is not asked (Google answers 403 for it).
    async fn find_by_email(&self, email: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        let email = email.trim();
        let Some(domain) = domain_of(email) else {
            return Ok(None);
        };
        if !self.domains().await?.covers(&domain) {
            return Ok(None);
        }
        self.user(email).await
    }

    async fn create(&self, new: &NewAccount) -> Result<VendorAccount, ConnectorError> {
        self.create_work_account(&NewWorkAccount::from(new)).await
    }

    async fn suspend(&self, id: &str) -> Result<VendorAccount, ConnectorError> {
        self.set_suspended(id, true).await
    }

    async fn reactivate(&self, id: &str) -> Result<VendorAccount, ConnectorError> {
        self.set_suspended(id, false).await
    }

    async fn delete(&self, id: &str) -> Result<Verified, ConnectorError> {
        let response = self
            .session
            .send(VendorRequest::new(Method::DELETE, Self::url(&["users", id])?))
            .await?;
        match response.status {
            s if s.is_success() => Ok(Verified::VendorAnswer),
            // The user's own resource.
            StatusCode::NOT_FOUND => Ok(Verified::AlreadyGone),
            _ => Err(google_error(&response)),
        }
    }

    async fn work_email_domains(&self) -> Result<Vec<String>, ConnectorError> {
        Ok(self.domains().await?.domains.clone())
    }

    async fn create_work_account(&self, new: &NewWorkAccount) -> Result<VendorAccount, ConnectorError> {
        // Checked first: Google answers 403 (not 404) for a user outside its domains.
        self.check_domain(&new.work_email).await?;
        create_once(self, new.work_email.trim(), self.insert_user(new)).await
    }

    async fn groups(&self) -> Result<Vec<VendorGroup>, ConnectorError> {
        let mut groups = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_GROUP_PAGES {
            let mut url = Self::url(&["groups"])?;
            url.query_pairs_mut()
                .append_pair("customer", CUSTOMER)
                .append_pair("maxResults", GROUPS_PAGE);
            if let Some(t) = &token {
                url.query_pairs_mut().append_pair("pageToken", t);
            }
            let response = self.session.send(VendorRequest::get(url)).await?;
            if !response.status.is_success() {
                return Err(not_found_as(google_error(&response), "groups listing"));
            }
            let page: Groups = response.json()?;
            groups.extend(page.groups.into_iter().map(|g| VendorGroup {
                name: g.name.or_else(|| g.email.clone()).unwrap_or_else(|| g.id.clone()),
                id: g.id,
                email: g.email,
            }));
            match page.next_page_token.filter(|t| !t.is_empty()) {
                // The same token again: Google is not paging, and reading on would repeat it.
                Some(next) if token.as_ref() == Some(&next) => {
                    return Err(ConnectorError::Transient(
                        "Google's group listing repeated a page".into(),
                    ));
                }
                Some(next) => token = Some(next),
                None => return Ok(groups),
            }
        }
        Err(ConnectorError::Transient(format!(
            "Google's group listing did not end after {MAX_GROUP_PAGES} pages"
        )))
    }

    /// Adds the user by their primary email (what `members.insert` requires); 409 (already a
    /// member) is success, so the call may be repeated safely.
    async fn add_to_group(&self, account_id: &str, group_id: &str) -> Result<(), ConnectorError> {
        let user = self.user(account_id).await?.ok_or(ConnectorError::NotFound)?;
        let email = user
            .email
            .ok_or_else(|| ConnectorError::Invalid("the Google user has no primary email".into()))?;
        let request = VendorRequest::new(Method::POST, Self::url(&["groups", group_id, "members"])?)
            .json(json!({"email": email, "role": "MEMBER"}))
            .repeatable();
        let response = self.session.send(request).await?;
        match response.status {
            s if s.is_success() => Ok(()),
            StatusCode::CONFLICT => Ok(()), // "Member already exists."
            _ => Err(not_found_as(
                google_error(&response),
                &format!("group `{group_id}`"),
            )),
        }
    }
}

/// What the product shows of google_workspace (the app directory's entry).
pub const APP: App = App {
    requires_plus_or_premium: false,
    remove_means: "Deletes the Google Workspace user (Google can restore it for about 20 days).",
    suspend_means: Some("Suspends the user: no sign-in, mail and files kept."),
    differences_from_product_docs: &[
        "Creating an account creates a mailbox with a random one-time password (never shown or stored) instead of sending an invitation; the person's personal email becomes the account's recovery email, and the password must be changed at the first sign-in.",
        "Google has no invitation state: a created user is listed as active at once.",
        "Only addresses on the Workspace's verified domains can be created; Google cannot invite an outside address.",
        "The connection must be made by a super admin (or an admin with the user management privileges).",
    ],
    tenant: "Google Workspace customer",
    ..catalog::app(
        "google_workspace",
        "Google Workspace",
        ConnectionType::Oauth,
        catalog::caps(true, true, true, true, true),
    )
};

/// How the service talks to google_workspace.
pub const SPEC: AppSpec = AppSpec {
    app: &APP,
    hosts: HOSTS,
    // The Directory API allows 2,400 queries a minute per user per Google Cloud project
    // (the service's project, shared by every company): keep each company to a quarter.
    // Over it Google answers 403 `userRateLimitExceeded` (or `quotaExceeded`).
    limit: Some(RateLimit {
        per_minute: 600,
        burst: 20,
    }),
    oauth: Some(OAuthSpec {
        authorize_url: "https://accounts.google.com/o/oauth2/v2/auth",
        token_url: "https://oauth2.googleapis.com/token",
        // The least that works: users, group listing and membership, domain listing, and
        // reading the customer (the tenant a connection is bound to).
        scopes: &[
            "https://www.googleapis.com/auth/admin.directory.user",
            "https://www.googleapis.com/auth/admin.directory.group.readonly",
            "https://www.googleapis.com/auth/admin.directory.group.member",
            "https://www.googleapis.com/auth/admin.directory.domain.readonly",
            "https://www.googleapis.com/auth/admin.directory.customer.readonly",
        ],
        // A refresh token comes back only with offline access, and reliably only when
        // consent is asked again.
        extra_params: &[("access_type", "offline"), ("prompt", "consent")],
        style: TokenStyle::Standard,
        credentials_in_body: true,
        tenant_fields: &[],
        environments: &[],
        organization_field: None,
    }),
    check: no_check,
    api_key_auth: None,
    exchange: None,
    build: |session, _| Ok(Box::new(GoogleWorkspaceConnector::new(session))),
};
