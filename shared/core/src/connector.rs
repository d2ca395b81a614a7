//! The vendor port: what the product's processes ask of the code that talks to vendors.
//!
//! Two traits. [`Connector`] is one connection's view of one vendor: list, find, create,
//! suspend, reactivate and delete accounts. [`Vendors`] is the gateway that builds
//! connectors and does the vendor's half of connecting (checking pasted credentials, the
//! OAuth authorize URL, the code exchange). The adapter is `prov-connectors`; the processes
//! (`prov-processes`) see only what is here, so no process can reach a vendor's internals.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// Non-secret connection details (what the admin typed, what the vendor told us).
pub type Tenant = BTreeMap<String, String>;

/// The secret fields an admin pasted, by field name.
pub type Secrets = BTreeMap<String, SecretString>;

/// The tenant detail naming a connection's vendor test environment (absent: production).
pub const ENVIRONMENT: &str = "environment";

/// The environment a connection uses when it names none.
pub const PRODUCTION: &str = "production";

/// The tenant details naming the vendor tenant a connection's credentials reach (its id and
/// name as the vendor gave them at connect).
pub const TENANT_ID: &str = "tenant_id";
pub const TENANT_NAME: &str = "tenant_name";

/// The vendor tenant a connection's credentials reach (a Slack workspace, a Google Workspace
/// customer, a Microsoft Entra tenant, an Okta org, …), as the vendor itself names it: never
/// taken from what an admin typed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VendorTenant {
    /// The vendor's id for the tenant (stable across renames).
    pub id: String,
    /// What people call it (a workspace or organization name, a domain).
    pub name: String,
}

impl VendorTenant {
    /// The tenant recorded in a connection's tenant details, if one was.
    pub fn recorded(details: &Tenant) -> Option<Self> {
        let id = details.get(TENANT_ID).filter(|id| !id.is_empty())?;
        Some(Self {
            id: id.clone(),
            name: details.get(TENANT_NAME).cloned().unwrap_or_else(|| id.clone()),
        })
    }

    /// Records the tenant in a connection's tenant details.
    pub fn record(&self, details: &mut Tenant) {
        details.insert(TENANT_ID.to_owned(), self.id.clone());
        details.insert(TENANT_NAME.to_owned(), self.name.clone());
    }
}

impl std::fmt::Display for VendorTenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.name == self.id {
            write!(f, "{}", self.id)
        } else {
            write!(f, "{} ({})", self.name, self.id)
        }
    }
}

/// How a change at a vendor was proven before it is recorded as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verified {
    /// The vendor's answer to the change itself says it was made.
    VendorAnswer,
    /// The account read again at the tenant shows the change.
    ReadBack,
    /// The account's own resource answered that it does not exist (it was known at this
    /// tenant), so there was nothing left to remove.
    AlreadyGone,
}

impl Verified {
    pub fn as_str(self) -> &'static str {
        match self {
            Verified::VendorAnswer => "vendor_answer",
            Verified::ReadBack => "read_back",
            Verified::AlreadyGone => "already_gone",
        }
    }
}

/// The one error type of every connector. Vendor messages are kept short and never carry
/// credentials (requests are not echoed into errors).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    /// The vendor asked us to slow down; `retry_after` when it said for how long.
    #[error("rate limited by the vendor (retry after {retry_after:?})")]
    RateLimited { retry_after: Option<Duration> },
    /// The credentials were refused (wrong, revoked, or lacking a permission).
    #[error("the vendor refused the credentials: {0}")]
    Unauthorized(String),
    /// The vendor account's plan does not allow this.
    #[error("the vendor plan does not allow this: {0}")]
    PlanRequired(String),
    #[error("not found at the vendor")]
    NotFound,
    #[error("conflict at the vendor: {0}")]
    Conflict(String),
    /// The vendor refused the request as invalid.
    #[error("the vendor refused the request: {0}")]
    Invalid(String),
    /// Timeouts, 5xx, connection failures: may succeed later.
    #[error("temporary vendor failure: {0}")]
    Transient(String),
    /// The app cannot do this (e.g. suspend where the vendor has no suspend).
    #[error("{0} is not supported by this app")]
    Unsupported(&'static str),
    /// Our own egress policy refused the call (host not allowed, private address, http).
    #[error("outbound call refused: {0}")]
    Refused(String),
}

impl ConnectorError {
    /// Whether retrying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ConnectorError::RateLimited { .. } | ConnectorError::Transient(_)
        )
    }
}

/// A vendor's message, cut to a readable length on a character boundary.
pub fn brief(message: &str) -> String {
    const MAX: usize = 300;
    let trimmed = message.trim();
    match trimmed.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &trimmed[..cut]),
        None => trimmed.to_owned(),
    }
}

/// A vendor account's status, normalised across vendors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    /// Invited; the person has not accepted yet ("Invite Sent").
    InviteSent,
    /// Access removed, account and data kept (suspend, or a vendor's "deactivate").
    Suspended,
    /// Removed at the vendor.
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorAccount {
    /// The vendor's id for the account.
    pub id: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The vendor's display name when it has no separate first and last name.
    pub display_name: Option<String>,
    pub status: AccountStatus,
}

/// Who to create an account for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
}

/// An account a creation answered, with the first password it was made with where the
/// vendor sends the person nothing (Planview LeanKit, Sauce Labs): the product hands that
/// password to the person once, through a reveal link emailed to them. `None` where the
/// vendor invites the person itself, or the account existed already.
pub struct Created {
    pub account: VendorAccount,
    pub first_password: Option<SecretString>,
    /// What the person signs in with, when it is not their email (a Sauce Labs username).
    pub sign_in_name: Option<String>,
}

/// A new mailbox user for a new employee (Google Workspace, Microsoft 365): the work
/// address is created; the person's personal email (if any) becomes the account's recovery
/// address, so they can set their own password (the random one set at creation is never
/// stored, logged or returned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWorkAccount {
    /// The work address to create, on one of the tenant's domains.
    pub work_email: String,
    pub first_name: String,
    pub last_name: String,
    pub personal_email: Option<String>,
}

impl From<&NewAccount> for NewWorkAccount {
    /// A plain create on an app with mailboxes: the address is the work address, with no
    /// personal email to recover it by.
    fn from(new: &NewAccount) -> Self {
        Self {
            work_email: new.email.clone(),
            first_name: new.first_name.clone(),
            last_name: new.last_name.clone(),
            personal_email: None,
        }
    }
}

/// A group an account can be put in (Google Workspace Groups).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VendorGroup {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
}

/// One page of accounts; `next` continues the listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountPage {
    pub accounts: Vec<VendorAccount>,
    pub next: Option<String>,
}

/// What a connector can do (the catalog says the same for the product; a test in
/// `prov-connectors` holds the two equal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectorCapabilities {
    pub create: bool,
    pub suspend: bool,
    pub reactivate: bool,
    pub delete: bool,
    /// Whether the vendor's listing tells a pending invitation from an account in use. When
    /// it cannot (HubSpot), the "Invite Sent" recorded at creation is kept.
    pub shows_invites: bool,
}

/// One vendor, one connection. Semantics are idempotent: creating an account that exists
/// returns it; deleting one that is gone succeeds.
#[async_trait]
pub trait Connector: Send + Sync {
    fn capabilities(&self) -> ConnectorCapabilities;

    /// One cheap call proving the credentials work (used before a connection is saved).
    async fn verify(&self) -> Result<(), ConnectorError>;

    /// The vendor tenant these credentials reach, from the vendor's own documented call
    /// (recorded at connect; a connection is bound to it). Asked right after `verify`: where
    /// the tenant is what the credentials were proven against (a SCIM base URL, an account
    /// number), `verify`'s answer is the proof.
    async fn tenant(&self) -> Result<VendorTenant, ConnectorError>;

    async fn list(&self, cursor: Option<&str>) -> Result<AccountPage, ConnectorError>;

    /// One page of the accounts changed at the vendor after `since`, by the vendor's
    /// documented change filter (scheduled syncs between whole listings). An account deleted
    /// since may not be in it: only a whole listing shows an account gone. Vendors without a
    /// filter that is simple to use safely keep this default.
    async fn list_changed(
        &self,
        _since: DateTime<Utc>,
        _cursor: Option<&str>,
    ) -> Result<AccountPage, ConnectorError> {
        Err(ConnectorError::Unsupported("a listing of changes"))
    }

    async fn get(&self, id: &str) -> Result<Option<VendorAccount>, ConnectorError>;

    async fn find_by_email(&self, email: &str) -> Result<Option<VendorAccount>, ConnectorError>;

    /// Creates (or invites) the account; an existing account with the email is returned.
    /// A vendor that needs a first password and sends the person nothing tells that password
    /// only through `create_with_first_password`, which is what the product calls.
    async fn create(&self, account: &NewAccount) -> Result<VendorAccount, ConnectorError>;

    /// As `create`, with the first password of an account this call made where the vendor
    /// sends the person nothing. Vendors that invite keep this default.
    async fn create_with_first_password(&self, account: &NewAccount) -> Result<Created, ConnectorError> {
        Ok(Created {
            account: self.create(account).await?,
            first_password: None,
            sign_in_name: None,
        })
    }

    /// Takes the account's access away, keeping it (vendors without a suspend keep this
    /// default).
    async fn suspend(&self, _id: &str) -> Result<VendorAccount, ConnectorError> {
        Err(ConnectorError::Unsupported("suspend"))
    }

    async fn reactivate(&self, _id: &str) -> Result<VendorAccount, ConnectorError> {
        Err(ConnectorError::Unsupported("reactivate"))
    }

    /// Removes the account the way the vendor removes (see the catalog), answering how that
    /// is proven. Gone is fine only when the account's own resource says so
    /// (`AlreadyGone`); a 404 of a sub-resource or a listing proves nothing.
    async fn delete(&self, id: &str) -> Result<Verified, ConnectorError>;

    /// The domains a work address may be created on (apps with mailboxes).
    async fn work_email_domains(&self) -> Result<Vec<String>, ConnectorError> {
        Err(ConnectorError::Unsupported("work email"))
    }

    /// Creates a mailbox user for a new employee (apps with mailboxes); an existing user
    /// with the work address is returned.
    async fn create_work_account(&self, _new: &NewWorkAccount) -> Result<VendorAccount, ConnectorError> {
        Err(ConnectorError::Unsupported("work email"))
    }

    /// The tenant's groups (apps with groups).
    async fn groups(&self) -> Result<Vec<VendorGroup>, ConnectorError> {
        Err(ConnectorError::Unsupported("groups"))
    }

    /// Puts an account in a group; already a member is fine.
    async fn add_to_group(&self, _account_id: &str, _group_id: &str) -> Result<(), ConnectorError> {
        Err(ConnectorError::Unsupported("groups"))
    }
}

/// Tokens from a vendor's token endpoint.
pub struct TokenSet {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub expires_at: Option<DateTime<Utc>>,
    pub scope: Option<String>,
    /// What the vendor said about the tenant (e.g. Slack's team), kept on the connection.
    pub tenant: Vec<(String, String)>,
}

/// A started authorization: the URL to send the admin to, the `state` to expect back and
/// the PKCE verifier to prove it was us.
pub struct Authorization {
    pub url: url::Url,
    pub state: SecretString,
    pub pkce_verifier: SecretString,
}

/// What the vendor's redirect brought back, with what proves we asked for it.
pub struct CodeGrant<'a> {
    pub redirect: &'a str,
    pub code: &'a str,
    pub verifier: &'a SecretString,
    /// The vendor environment the authorization was started in (`None`: production).
    pub environment: Option<&'a str>,
}

/// A connection's stored credentials, as the gateway needs them to build its connector.
pub enum Credentials {
    /// The secret fields an admin pasted (or what they were exchanged for at connect).
    ApiKey(Secrets),
    Oauth(OAuthTokens),
}

/// The OAuth tokens a connection holds.
#[derive(Clone)]
pub struct OAuthTokens {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Where a connector's OAuth tokens are kept, shared by every instance of the service: the
/// process that owns the connection stores what a refresh brings, lets one instance refresh
/// at a time (a lease), shows the others what it stored, and hears when the vendor refused
/// a refresh.
#[async_trait]
pub trait TokenKeeper: Send + Sync {
    /// The connection's tokens as stored now, read past any cache: another instance may
    /// have refreshed them a moment ago. `None` when the connection holds none.
    async fn stored(&self) -> Result<Option<OAuthTokens>, ConnectorError>;

    /// Takes the connection's refresh lease for `ttl`: true when this keeper holds it now,
    /// false while another instance does (its lease ends at the latest after its `ttl`).
    async fn take_refresh_lease(&self, ttl: Duration) -> Result<bool, ConnectorError>;

    /// Gives the lease back, if this keeper still holds it.
    async fn release_refresh_lease(&self);

    /// Keeps the tokens of a refresh (a rotated refresh token included) before they are used.
    async fn save(&self, tokens: &TokenSet) -> Result<(), ConnectorError>;

    /// The vendor refused our refresh token: an admin must connect again.
    async fn refused(&self, why: &str);
}

/// What connecting an app offers beyond its catalog entry: the hosts its connector calls,
/// and for OAuth apps the vendor environments and the tenant field an admin may name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    pub hosts: &'static [&'static str],
    /// Production first; empty for apps without test environments.
    pub environments: Vec<&'static str>,
    /// For vendors where one sign-in reaches several tenants: the tenant field an admin may
    /// name at OAuth start.
    pub organization_field: Option<&'static str>,
}

/// Pasted credentials proven at the vendor: the secret fields to keep and the tenant they
/// reach.
pub struct ProvenCredentials {
    pub secrets: Secrets,
    pub tenant: VendorTenant,
}

/// The gateway to the vendors.
#[async_trait]
pub trait Vendors: Send + Sync {
    /// How the app connects, or `None` when no connector exists for it.
    fn connect_options(&self, app: &str) -> Option<ConnectOptions>;

    /// Checks what an admin pasted for an API-key app, trades a one-time grant where the
    /// app uses one, proves the credentials with one call and asks the vendor which tenant
    /// they reach. Answers the secret fields to keep and that tenant. Refused credentials are
    /// an error; nothing is kept by the gateway.
    async fn connect_api_key(
        &self,
        company_id: &str,
        app: &str,
        tenant: &Tenant,
        secrets: Secrets,
    ) -> Result<ProvenCredentials, ConnectorError>;

    /// Whether our OAuth registration for the app is configured (`Err`: it cannot be read).
    async fn oauth_registered(&self, app: &str) -> Result<bool, String>;

    /// The vendor's authorize URL, with a fresh `state` and PKCE challenge.
    async fn authorize(
        &self,
        app: &str,
        redirect: &str,
        environment: Option<&str>,
    ) -> Result<Authorization, ConnectorError>;

    /// Trades an authorization code for tokens.
    async fn exchange_code(
        &self,
        company_id: &str,
        app: &str,
        grant: CodeGrant<'_>,
    ) -> Result<TokenSet, ConnectorError>;

    /// Proves new tokens work at the tenant with one call (also where a vendor plan that
    /// cannot provision is detected), and answers the vendor tenant they reach.
    async fn verify_tokens(
        &self,
        company_id: &str,
        app: &str,
        tenant: &Tenant,
        access_token: &SecretString,
    ) -> Result<VendorTenant, ConnectorError>;

    /// The longest one call through a connector may take, its retries, waits and credential
    /// refresh included: longer waits are handed back (`RateLimited` with the wait) instead
    /// of waited. A claim on work that calls a vendor must outlast a few of these.
    fn longest_call(&self) -> Duration;

    /// The connector of one connection. OAuth credentials are refreshed shortly before they
    /// expire and once after a 401; `keeper` keeps what a refresh brings.
    fn connector(
        &self,
        company_id: &str,
        app: &str,
        tenant: &Tenant,
        credentials: Credentials,
        keeper: Arc<dyn TokenKeeper>,
    ) -> Result<Box<dyn Connector>, ConnectorError>;
}
