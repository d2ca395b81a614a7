//! What the service knows about talking to each app: its hosts, published rate limit, OAuth
//! endpoints, and how to build its connector from a connection's tenant details and
//! credentials. Apps without an entry here cannot be connected yet.

use std::collections::BTreeMap;
use std::sync::Arc;

use secrecy::SecretString;
use url::Url;

use crate::asana::{self, AsanaConnector};
use crate::box_com::{self, BoxConnector};
use crate::clickup::{self, ClickUpConnector};
use crate::docusign::{self, DocuSignConnector};
use crate::dropbox::{self, DropboxConnector};
use crate::dynatrace::{self, DynatraceConnector};
use crate::egress::HostPattern;
use crate::error::ConnectorError;
use crate::github::{self, GitHubConnector};
use crate::google_workspace::{self, GoogleWorkspaceConnector};
use crate::http::{Authenticator, NoAuth, RateLimit, Session, StaticAuth, VendorHttp};
use crate::hubspot::{self, HubSpotConnector};
use crate::lastpass::{self, LastPassConnector};
use crate::leankit::{self, LeanKitConnector};
use crate::microsoft_365::{self, Microsoft365Connector};
use crate::model::Connector;
use crate::okta::{self, OktaConnector};
use crate::salesforce::{self, SalesforceConnector};
use crate::sauce_labs::{self, SauceLabsConnector};
use crate::scim::{ScimConnector, ScimFlavor, ScimRemove};
use crate::trello::{self, TrelloConnector};
use crate::zoho::{self, ZohoConnector};

/// Non-secret connection details (what the admin typed, what the vendor told us).
pub type Tenant = BTreeMap<String, String>;

/// The secret fields an admin pasted, by field name.
pub type Secrets = BTreeMap<String, SecretString>;

/// What an API-key app's credentials are made from: the secret fields the admin pasted, the
/// connection's tenant details, and an unauthenticated session to the app's hosts (for apps
/// whose pasted credentials are exchanged for tokens, e.g. an OAuth client's).
pub struct ApiKeyContext<'a> {
    pub secrets: &'a Secrets,
    pub tenant: &'a Tenant,
    pub session: Session,
}

impl ApiKeyContext<'_> {
    /// A required secret field.
    pub fn secret(&self, field: &str) -> Result<&SecretString, ConnectorError> {
        self.secrets
            .get(field)
            .ok_or_else(|| ConnectorError::Invalid(format!("`{field}` is required")))
    }

    /// A required tenant field.
    pub fn tenant_field(&self, field: &str) -> Result<&str, ConnectorError> {
        self.tenant
            .get(field)
            .map(String::as_str)
            .ok_or_else(|| ConnectorError::Invalid(format!("`{field}` is required")))
    }
}

/// Turns an API-key app's pasted fields into the credentials of its calls.
pub type ApiKeyAuth = fn(&ApiKeyContext<'_>) -> Result<Arc<dyn Authenticator>, ConnectorError>;

/// Trades what an API-key app's admin pasted for what is stored, at connect (e.g. a one-time
/// grant code for a refresh token); the answer replaces the secret fields.
pub type Exchange = for<'a> fn(
    &'a ApiKeyContext<'a>,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Secrets, ConnectorError>> + Send + 'a>,
>;

/// Builds a connection's connector from its session and tenant details.
pub type Build = fn(Session, &Tenant) -> Result<Box<dyn Connector>, ConnectorError>;

fn scim_token_bearer(c: &ApiKeyContext<'_>) -> Result<Arc<dyn Authenticator>, ConnectorError> {
    Ok(Arc::new(StaticAuth::bearer(c.secret("scim_token")?)))
}

fn okta_ssws(c: &ApiKeyContext<'_>) -> Result<Arc<dyn Authenticator>, ConnectorError> {
    Ok(Arc::new(StaticAuth::scheme("SSWS", c.secret("api_token")?)))
}

fn api_token_bearer(c: &ApiKeyContext<'_>) -> Result<Arc<dyn Authenticator>, ConnectorError> {
    Ok(Arc::new(StaticAuth::bearer(c.secret("api_token")?)))
}

fn okta_check(tenant: &Tenant, _: &str, _: &str) -> Result<(), ConnectorError> {
    tenant_url(tenant, "org_url", okta::HOSTS).map(|_| ())
}

/// Sauce Labs authenticates with HTTP Basic: an organization admin's username (a tenant
/// field, shown on the connection) and access key (a secret field).
fn sauce_labs_basic(c: &ApiKeyContext<'_>) -> Result<Arc<dyn Authenticator>, ConnectorError> {
    Ok(Arc::new(StaticAuth::basic(
        c.tenant_field("username")?,
        c.secret("access_key")?,
    )))
}

/// The data center and the username (a tenant field, checked with every secret field), and
/// the access key.
fn sauce_labs_check(tenant: &Tenant, field: &str, value: &str) -> Result<(), ConnectorError> {
    let data_center = tenant
        .get("data_center")
        .ok_or_else(|| ConnectorError::Invalid("`data_center` is required".into()))?;
    sauce_labs::host(data_center)?;
    let username = tenant.get("username").map(|u| u.trim()).unwrap_or_default();
    // Basic authentication cannot carry a colon in the username.
    if username.is_empty() || username.contains(':') || username.chars().any(char::is_whitespace) {
        return Err(ConnectorError::Invalid(
            "`username` must be the Sauce Labs username of an organization admin (no spaces or colons)"
                .into(),
        ));
    }
    if field == "access_key" && (value.trim().is_empty() || value.chars().any(char::is_whitespace)) {
        return Err(ConnectorError::Invalid(
            "`access_key` must be the user's Sauce Labs access key".into(),
        ));
    }
    Ok(())
}

/// ClickUp's personal token goes in `Authorization` as it is, without a scheme.
fn clickup_token(c: &ApiKeyContext<'_>) -> Result<Arc<dyn Authenticator>, ConnectorError> {
    Ok(Arc::new(StaticAuth::bare(c.secret("api_token")?)))
}

fn clickup_check(tenant: &Tenant, field: &str, value: &str) -> Result<(), ConnectorError> {
    clickup::workspace_id(tenant)?;
    if field == "api_token" && !clickup::is_personal_token(value) {
        return Err(ConnectorError::Invalid(
            "`api_token` must be a ClickUp personal API token, which starts with `pk_` (ClickUp: Settings, Apps, API Token)".into(),
        ));
    }
    Ok(())
}

/// An app's OAuth 2.0 authorization-code endpoints.
#[derive(Debug, Clone, Copy)]
pub struct OAuthSpec {
    pub authorize_url: &'static str,
    pub token_url: &'static str,
    pub scopes: &'static [&'static str],
    /// Extra authorize parameters (e.g. Slack's `user_scope`).
    pub extra_params: &'static [(&'static str, &'static str)],
    pub style: TokenStyle,
    /// Whether our client id and secret go in the token request's form body (some vendors
    /// take only that) rather than HTTP Basic authentication.
    pub credentials_in_body: bool,
    /// Fields of the token answer kept on the connection as tenant details (e.g.
    /// Salesforce's `instance_url`, the API host of the org).
    pub tenant_fields: &'static [&'static str],
    /// The vendor's test environments a connection may use instead of production.
    pub environments: &'static [OAuthEnvironment],
    /// For vendors where one sign-in reaches several tenants (organizations, workspaces,
    /// accounts): the tenant field an admin may name at OAuth start (`"organization"`), so
    /// the connection manages that one instead of the only one the connector would discover.
    pub organization_field: Option<&'static str>,
}

/// A vendor test environment: its own authorization server.
#[derive(Debug, Clone, Copy)]
pub struct OAuthEnvironment {
    /// What the connection records, e.g. `sandbox`.
    pub name: &'static str,
    pub authorize_url: &'static str,
    pub token_url: &'static str,
}

/// The environment a connection uses when it names none.
pub const PRODUCTION: &str = "production";

impl OAuthSpec {
    /// The authorize and token URLs of `environment` (production when `None`).
    pub fn endpoints(
        &self,
        environment: Option<&str>,
    ) -> Result<(&'static str, &'static str), ConnectorError> {
        match environment {
            None | Some(PRODUCTION) => Ok((self.authorize_url, self.token_url)),
            Some(name) => self
                .environments
                .iter()
                .find(|e| e.name == name)
                .map(|e| (e.authorize_url, e.token_url))
                .ok_or_else(|| {
                    ConnectorError::Invalid(format!("`{name}` is not one of the app's environments"))
                }),
        }
    }

    /// Every environment's name, production first.
    pub fn environment_names(&self) -> Vec<&'static str> {
        std::iter::once(PRODUCTION)
            .chain(self.environments.iter().map(|e| e.name))
            .collect()
    }
}

/// How an app's token endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStyle {
    /// RFC 6749: `access_token`, `token_type`, errors as 4xx with `error`.
    Standard,
    /// Slack's `oauth.v2.access`: HTTP 200 with `ok`, the user token under `authed_user`,
    /// errors as `{"ok": false, "error": …}`.
    SlackUser,
}

pub struct AppSpec {
    pub slug: &'static str,
    /// Hosts every connection of the app may call (API, OAuth).
    pub hosts: &'static [&'static str],
    /// The published limit the per company+app throttle keeps to.
    pub limit: Option<RateLimit>,
    pub oauth: Option<OAuthSpec>,
    /// Checks the tenant details and a secret field's value before anything is called.
    pub check: fn(&Tenant, &str, &str) -> Result<(), ConnectorError>,
    /// For API-key apps: how the pasted secret fields authenticate calls.
    pub api_key_auth: Option<ApiKeyAuth>,
    /// For API-key apps whose pasted secret is one-time: what is stored instead.
    pub exchange: Option<Exchange>,
    pub build: Build,
}

impl AppSpec {
    pub fn host_patterns(&self) -> Vec<HostPattern> {
        self.hosts
            .iter()
            .map(|h| HostPattern::new(h).expect("registry hosts are valid patterns"))
            .collect()
    }

    /// A session of one company with this app's hosts, limit and credentials.
    pub fn session(&self, http: Arc<VendorHttp>, company_id: &str, auth: Arc<dyn Authenticator>) -> Session {
        Session {
            http,
            app: self.slug,
            company_id: company_id.to_owned(),
            hosts: self.host_patterns(),
            auth,
            limit: self.limit,
            rate_limit_signal: None,
        }
    }

    /// The connector of one connection.
    pub fn connector(
        &self,
        http: Arc<VendorHttp>,
        company_id: &str,
        tenant: &Tenant,
        auth: Arc<dyn Authenticator>,
    ) -> Result<Box<dyn Connector>, ConnectorError> {
        (self.build)(self.session(http, company_id, auth), tenant)
    }

    /// The secret fields to store for what the admin pasted (exchanged when the app trades a
    /// one-time grant for lasting credentials).
    pub async fn exchanged(
        &self,
        http: Arc<VendorHttp>,
        company_id: &str,
        tenant: &Tenant,
        secrets: Secrets,
    ) -> Result<Secrets, ConnectorError> {
        let Some(exchange) = self.exchange else {
            return Ok(secrets);
        };
        let context = ApiKeyContext {
            secrets: &secrets,
            tenant,
            session: self.session(http, company_id, Arc::new(NoAuth)),
        };
        exchange(&context).await
    }

    /// The credentials of an API-key connection, from its pasted fields.
    pub fn api_key_authenticator(
        &self,
        http: Arc<VendorHttp>,
        company_id: &str,
        tenant: &Tenant,
        secrets: &Secrets,
    ) -> Result<Arc<dyn Authenticator>, ConnectorError> {
        let make = self
            .api_key_auth
            .ok_or(ConnectorError::Unsupported("API-key connections"))?;
        make(&ApiKeyContext {
            secrets,
            tenant,
            session: self.session(http, company_id, Arc::new(NoAuth)),
        })
    }
}

/// A tenant URL field, parsed, https, on one of the app's hosts.
fn tenant_url(tenant: &Tenant, field: &str, hosts: &[&str]) -> Result<Url, ConnectorError> {
    let raw = tenant
        .get(field)
        .ok_or_else(|| ConnectorError::Invalid(format!("`{field}` is required")))?;
    let url = Url::parse(raw).map_err(|_| ConnectorError::Invalid(format!("`{field}` is not a URL")))?;
    let host_ok = url.host_str().is_some_and(|h| {
        hosts
            .iter()
            .any(|p| HostPattern::new(p).is_ok_and(|p| p.matches(h)))
    });
    let plain = url.username().is_empty() && url.password().is_none() && url.port().is_none();
    if url.scheme() != "https" || !host_ok || url.query().is_some() || url.fragment().is_some() || !plain {
        return Err(ConnectorError::Invalid(format!(
            "`{field}` must be an https URL on {}",
            hosts.join(" or ")
        )));
    }
    Ok(url)
}

fn no_check(_: &Tenant, _: &str, _: &str) -> Result<(), ConnectorError> {
    Ok(())
}

const FIFTEEN_FIVE_HOSTS: &[&str] = &["*.15five.com"];

fn fifteen_five_check(tenant: &Tenant, field: &str, value: &str) -> Result<(), ConnectorError> {
    tenant_url(tenant, "scim_base_url", FIFTEEN_FIVE_HOSTS)?;
    // 15Five's SCIM token is 30 characters; its Public API key (32) does not work for SCIM.
    if field == "scim_token" && value.chars().count() != 30 {
        return Err(ConnectorError::Invalid(
            "`scim_token` must be the 30-character SCIM 2.0 token (a 32-character value is 15Five's Public API key, which cannot manage users)".into(),
        ));
    }
    Ok(())
}

const SANDBOX_SCIM_HOSTS: &[&str] = &["scim.sandbox.test"];

fn sandbox_scim_check(tenant: &Tenant, _: &str, _: &str) -> Result<(), ConnectorError> {
    tenant_url(tenant, "scim_base_url", SANDBOX_SCIM_HOSTS).map(|_| ())
}

/// The sandbox's SCIM API, which the sandbox OAuth app also uses.
const SANDBOX_SCIM_BASE: &str = "https://scim.sandbox.test/scim/v2/";
const SANDBOX_FLAVOR: ScimFlavor = ScimFlavor {
    remove: ScimRemove::Delete,
    suspend: true,
    invite_pending: Some((SANDBOX_EXTENSION, "invitePending")),
    forbidden_means_plan: None,
    search_emails: false,
    reactivate_on_create: false,
};

/// The sandbox SCIM app's extension schema (it marks invitations not yet accepted).
pub const SANDBOX_EXTENSION: &str = "urn:ietf:params:scim:schemas:extension:sandbox:2.0:User";

/// Slack's SCIM API (Business+ and Enterprise Grid only).
const SLACK_SCIM_BASE: &str = "https://api.slack.com/scim/v2/";
const SLACK_FLAVOR: ScimFlavor = ScimFlavor {
    // SCIM DELETE deactivates: Slack never hard-deletes members.
    remove: ScimRemove::Delete,
    suspend: false,
    invite_pending: None,
    forbidden_means_plan: Some(
        "Slack's user provisioning (SCIM) needs the Business+ or Enterprise Grid plan, and the person connecting must be a Workspace Owner or Admin.",
    ),
    // A member's `userName` is their Slack username, not their email.
    search_emails: true,
    reactivate_on_create: true,
};

pub const APPS: &[AppSpec] = &[
    AppSpec {
        slug: "fifteen_five",
        hosts: FIFTEEN_FIVE_HOSTS,
        // 15Five publishes no limit; stay well below what a SCIM endpoint takes.
        limit: Some(RateLimit {
            per_minute: 300,
            burst: 10,
        }),
        oauth: None,
        check: fifteen_five_check,
        api_key_auth: Some(scim_token_bearer),
        exchange: None,
        build: |session, tenant| {
            let base = tenant_url(tenant, "scim_base_url", FIFTEEN_FIVE_HOSTS)?;
            // 15Five's SCIM deactivates (`active: false`) and reactivates; it documents no
            // hard delete, so suspend and remove are the same deactivation
            // (https://success.15five.com/hc/en-us/articles/50988324323355).
            let flavor = ScimFlavor {
                remove: ScimRemove::Deactivate,
                suspend: true,
                invite_pending: None,
                forbidden_means_plan: None,
                search_emails: false,
                reactivate_on_create: true,
            };
            Ok(Box::new(ScimConnector::new(session, &base, flavor)))
        },
    },
    AppSpec {
        slug: "asana",
        hosts: asana::HOSTS,
        // 150 requests a minute on free domains (1,500 on paid): keep to the lower.
        limit: Some(RateLimit {
            per_minute: 150,
            burst: 10,
        }),
        oauth: Some(OAuthSpec {
            authorize_url: "https://app.asana.com/-/oauth_authorize",
            token_url: "https://app.asana.com/-/oauth_token",
            // addUser/removeUser have no granular scope: the app's full (`default`) access.
            scopes: &[],
            extra_params: &[],
            style: TokenStyle::Standard,
            credentials_in_body: true,
            tenant_fields: &[],
            environments: &[],
            organization_field: Some("workspace_gid"),
        }),
        check: no_check,
        api_key_auth: None,
        exchange: None,
        build: |session, tenant| Ok(Box::new(AsanaConnector::new(session, tenant))),
    },
    AppSpec {
        slug: "box",
        hosts: box_com::HOSTS,
        // Box publishes no number (about 1,000 a minute per user is commonly cited); it
        // answers 429 with `retry-after` when over.
        limit: Some(RateLimit {
            per_minute: 600,
            burst: 20,
        }),
        oauth: Some(OAuthSpec {
            authorize_url: "https://account.box.com/api/oauth2/authorize",
            token_url: "https://api.box.com/oauth2/token",
            // Box grants the scopes configured on the app ("Manage users", read/write all
            // files for the content move); none are named here.
            scopes: &[],
            extra_params: &[],
            style: TokenStyle::Standard,
            credentials_in_body: true,
            tenant_fields: &[],
            environments: &[],
            organization_field: None,
        }),
        check: no_check,
        api_key_auth: None,
        exchange: None,
        build: |session, _| Ok(Box::new(BoxConnector::new(session))),
    },
    AppSpec {
        slug: "clickup",
        hosts: clickup::HOSTS,
        // Per token: 100 a minute below Business Plus, 10,000 on Enterprise, which connecting
        // requires. The personal token is an admin's own and may serve their other
        // integrations too, so keep to a tenth of Enterprise's; a 429 still waits for
        // `X-RateLimit-Reset`.
        limit: Some(RateLimit {
            per_minute: 1_000,
            burst: 50,
        }),
        oauth: None,
        check: clickup_check,
        api_key_auth: Some(clickup_token),
        exchange: None,
        build: |session, tenant| {
            let team_id = clickup::workspace_id(tenant)?;
            Ok(Box::new(ClickUpConnector::new(session, &team_id)))
        },
    },
    AppSpec {
        slug: "docusign",
        hosts: docusign::HOSTS,
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
                name: docusign::DEMO,
                authorize_url: "https://account-d.docusign.com/oauth/auth",
                token_url: "https://account-d.docusign.com/oauth/token",
            }],
            organization_field: Some("account_id"),
        }),
        check: no_check,
        api_key_auth: None,
        exchange: None,
        build: |session, tenant| Ok(Box::new(DocuSignConnector::new(session, tenant)?)),
    },
    AppSpec {
        slug: "dropbox",
        hosts: dropbox::HOSTS,
        // Dropbox publishes no number; it answers 429 with `Retry-After` when over.
        limit: Some(RateLimit {
            per_minute: 300,
            burst: 20,
        }),
        oauth: Some(OAuthSpec {
            authorize_url: "https://www.dropbox.com/oauth2/authorize",
            token_url: "https://api.dropboxapi.com/oauth2/token",
            scopes: &[
                "members.read",
                "members.write",
                "members.delete",
                "team_info.read",
            ],
            // A refresh token (short-lived access tokens otherwise end the connection).
            extra_params: &[("token_access_type", "offline")],
            style: TokenStyle::Standard,
            credentials_in_body: false,
            tenant_fields: &[],
            environments: &[],
            organization_field: None,
        }),
        check: no_check,
        api_key_auth: None,
        exchange: None,
        build: |session, _| Ok(Box::new(DropboxConnector::new(session))),
    },
    AppSpec {
        slug: "dynatrace",
        hosts: dynatrace::HOSTS,
        // Dynatrace publishes no number for the account API; it answers 429 when over.
        limit: Some(RateLimit {
            per_minute: 120,
            burst: 10,
        }),
        oauth: None,
        check: |tenant, _, _| dynatrace::account_uuid(tenant).map(|_| ()),
        api_key_auth: Some(dynatrace::auth),
        exchange: None,
        build: |session, tenant| Ok(Box::new(DynatraceConnector::new(session, tenant)?)),
    },
    AppSpec {
        slug: "github",
        hosts: github::HOSTS,
        // 5,000 requests an hour per user token: 80 a minute (4,800 an hour) stays under it.
        // The small burst also keeps under GitHub's secondary limit on content-creating calls
        // (invitations), published as at most 80 a minute and 500 an hour.
        limit: Some(RateLimit {
            per_minute: 80,
            burst: 20,
        }),
        oauth: Some(OAuthSpec {
            authorize_url: "https://github.com/login/oauth/authorize",
            token_url: "https://github.com/login/oauth/access_token",
            // Inviting and removing members needs `admin:org` (`read:org` only reads).
            scopes: &[github::SCOPE],
            // The person connecting must already own the organization: no sign-up on the way.
            extra_params: &[("allow_signup", "false")],
            style: TokenStyle::Standard,
            credentials_in_body: true,
            tenant_fields: &[],
            environments: &[],
            organization_field: Some("org"),
        }),
        check: no_check,
        api_key_auth: None,
        exchange: None,
        build: |session, tenant| Ok(Box::new(GitHubConnector::new(session, tenant)?)),
    },
    AppSpec {
        slug: "google_workspace",
        hosts: google_workspace::HOSTS,
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
            // The least that works: users, group listing and membership, domain listing.
            scopes: &[
                "https://www.googleapis.com/auth/admin.directory.user",
                "https://www.googleapis.com/auth/admin.directory.group.readonly",
                "https://www.googleapis.com/auth/admin.directory.group.member",
                "https://www.googleapis.com/auth/admin.directory.domain.readonly",
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
    },
    AppSpec {
        slug: "hubspot",
        hosts: hubspot::HOSTS,
        // 100 calls per 10 seconds per installed account: a 10-call burst refilled at 9 a
        // second never exceeds it in any 10-second window.
        limit: Some(RateLimit {
            per_minute: 540,
            burst: 10,
        }),
        oauth: Some(OAuthSpec {
            authorize_url: "https://app.hubspot.com/oauth/authorize",
            // v3: every parameter in the form body (v1 is deprecated from 2027-02-16).
            token_url: "https://api.hubapi.com/oauth/v3/token",
            scopes: &["settings.users.read", "settings.users.write"],
            extra_params: &[],
            style: TokenStyle::Standard,
            credentials_in_body: true,
            tenant_fields: &[],
            environments: &[],
            organization_field: None,
        }),
        check: no_check,
        api_key_auth: None,
        exchange: None,
        build: |session, _| Ok(Box::new(HubSpotConnector::new(session))),
    },
    AppSpec {
        slug: "microsoft_365",
        hosts: microsoft_365::HOSTS,
        // Graph's identity limits are resource units per app and tenant per 10 seconds
        // (thousands, by tenant size) and about 3,000 writes per 2.5 minutes; a listing page
        // of users costs a few units. Stay far below; a 429 still waits for `Retry-After`.
        limit: Some(RateLimit {
            per_minute: 600,
            burst: 20,
        }),
        oauth: Some(OAuthSpec {
            // `organizations`: any work account's tenant (not personal Microsoft accounts);
            // a refresh token is redeemed at the same endpoint.
            authorize_url: "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize",
            token_url: "https://login.microsoftonline.com/organizations/oauth2/v2.0/token",
            // Users (create, update, delete, assign licences); domains, organization and
            // subscribed SKUs (read); a refresh token.
            scopes: &["User.ReadWrite.All", "Directory.Read.All", "offline_access"],
            extra_params: &[],
            style: TokenStyle::Standard,
            credentials_in_body: true,
            // The token answer names no tenant; the connector asks `GET /organization`.
            tenant_fields: &[],
            environments: &[],
            organization_field: None,
        }),
        check: no_check,
        api_key_auth: None,
        exchange: None,
        build: |session, tenant| Ok(Box::new(Microsoft365Connector::new(session, tenant))),
    },
    AppSpec {
        slug: "lastpass",
        hosts: lastpass::HOSTS,
        // LastPass publishes no limit for its Enterprise API: stay gentle (a listing page, a
        // lookup and a command a second at most).
        limit: Some(RateLimit {
            per_minute: 60,
            burst: 5,
        }),
        oauth: None,
        check: lastpass::check,
        api_key_auth: Some(lastpass::auth),
        exchange: None,
        build: |session, tenant| Ok(Box::new(LastPassConnector::new(session, tenant)?)),
    },
    AppSpec {
        slug: "okta",
        hosts: okta::HOSTS,
        // Okta's limits depend on the org's SKU; stay under the smallest management bucket.
        limit: Some(RateLimit {
            per_minute: 300,
            burst: 25,
        }),
        oauth: None,
        check: okta_check,
        api_key_auth: Some(okta_ssws),
        exchange: None,
        build: |session, tenant| {
            let org = tenant_url(tenant, "org_url", okta::HOSTS)?;
            Ok(Box::new(OktaConnector::new(session, &org)))
        },
    },
    AppSpec {
        slug: "salesforce",
        hosts: salesforce::HOSTS,
        // The org's allowance is per 24 hours (by edition and licences), not per minute;
        // stay gentle. Over it Salesforce answers 403 `REQUEST_LIMIT_EXCEEDED`.
        limit: Some(RateLimit {
            per_minute: 120,
            burst: 10,
        }),
        oauth: Some(OAuthSpec {
            authorize_url: "https://login.salesforce.com/services/oauth2/authorize",
            token_url: "https://login.salesforce.com/services/oauth2/token",
            scopes: &["api", "refresh_token"],
            extra_params: &[],
            style: TokenStyle::Standard,
            credentials_in_body: true,
            // The org's API host.
            tenant_fields: &["instance_url"],
            environments: &[OAuthEnvironment {
                name: "sandbox",
                authorize_url: "https://test.salesforce.com/services/oauth2/authorize",
                token_url: "https://test.salesforce.com/services/oauth2/token",
            }],
            organization_field: None,
        }),
        check: no_check,
        api_key_auth: None,
        exchange: None,
        build: |session, tenant| {
            let instance = tenant_url(tenant, "instance_url", &["*.my.salesforce.com"])?;
            Ok(Box::new(SalesforceConnector::new(session, &instance)))
        },
    },
    AppSpec {
        slug: "sauce_labs",
        hosts: sauce_labs::HOSTS,
        // Sauce Labs' REST limit is 10 requests a second and 3,500 an hour per account (its
        // 2016 announcement; the Team Management API states none): keep under the hourly one.
        limit: Some(RateLimit {
            per_minute: 55,
            burst: 10,
        }),
        oauth: None,
        check: sauce_labs_check,
        api_key_auth: Some(sauce_labs_basic),
        exchange: None,
        build: |session, tenant| {
            let data_center = tenant
                .get("data_center")
                .ok_or_else(|| ConnectorError::Invalid("`data_center` is required".into()))?;
            Ok(Box::new(SauceLabsConnector::new(session, data_center)?))
        },
    },
    AppSpec {
        slug: "planview_leankit",
        hosts: leankit::HOSTS,
        // LeanKit limits points per user per 60 s window and publishes no fixed number (its
        // example is 120; the real one is in `X-RateLimit-Limit`). The token's user shares it
        // with their other integrations, so stay well under the example.
        limit: Some(RateLimit {
            per_minute: 60,
            burst: 10,
        }),
        oauth: None,
        check: leankit::check,
        api_key_auth: Some(api_token_bearer),
        exchange: None,
        build: |session, tenant| Ok(Box::new(LeanKitConnector::new(session, tenant)?)),
    },
    AppSpec {
        slug: "slack",
        hosts: &["slack.com", "api.slack.com"],
        // SCIM writes: 180 per minute per endpoint, bursts of 20.
        limit: Some(RateLimit {
            per_minute: 180,
            burst: 20,
        }),
        oauth: Some(OAuthSpec {
            authorize_url: "https://slack.com/oauth/v2/authorize",
            token_url: "https://slack.com/api/oauth.v2.access",
            scopes: &[],
            // SCIM needs a user token with the `admin` scope.
            extra_params: &[("user_scope", "admin")],
            style: TokenStyle::SlackUser,
            credentials_in_body: true,
            tenant_fields: &[],
            environments: &[],
            organization_field: None,
        }),
        check: no_check,
        api_key_auth: None,
        exchange: None,
        build: |session, _| {
            let base = Url::parse(SLACK_SCIM_BASE).expect("valid");
            Ok(Box::new(ScimConnector::new(session, &base, SLACK_FLAVOR)))
        },
    },
    AppSpec {
        slug: "trello",
        hosts: trello::HOSTS,
        // 100 requests per 10 seconds per token (300 per API key): a 10-call burst refilled
        // at 9 a second never exceeds it in any 10-second window.
        limit: Some(RateLimit {
            per_minute: 540,
            burst: 10,
        }),
        oauth: None,
        check: trello::check,
        api_key_auth: Some(trello::auth),
        exchange: None,
        build: |session, tenant| Ok(Box::new(TrelloConnector::new(session, tenant)?)),
    },
    AppSpec {
        slug: "zoho",
        hosts: zoho::HOSTS,
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
        check: zoho::check,
        api_key_auth: Some(zoho::auth),
        exchange: Some(zoho::exchange),
        build: |session, tenant| Ok(Box::new(ZohoConnector::new(session, tenant)?)),
    },
    AppSpec {
        slug: "sandbox_scim",
        hosts: SANDBOX_SCIM_HOSTS,
        limit: Some(RateLimit {
            per_minute: 600,
            burst: 50,
        }),
        oauth: None,
        check: sandbox_scim_check,
        api_key_auth: Some(scim_token_bearer),
        exchange: None,
        build: |session, tenant| {
            let base = tenant_url(tenant, "scim_base_url", SANDBOX_SCIM_HOSTS)?;
            Ok(Box::new(ScimConnector::new(session, &base, SANDBOX_FLAVOR)))
        },
    },
    AppSpec {
        slug: "sandbox_oauth",
        hosts: &["scim.sandbox.test", "auth.sandbox.test"],
        limit: Some(RateLimit {
            per_minute: 600,
            burst: 50,
        }),
        oauth: Some(OAuthSpec {
            authorize_url: "https://auth.sandbox.test/oauth/authorize",
            token_url: "https://auth.sandbox.test/oauth/token",
            scopes: &["users:read", "users:write"],
            extra_params: &[],
            style: TokenStyle::Standard,
            credentials_in_body: false,
            tenant_fields: &[],
            environments: &[],
            organization_field: None,
        }),
        check: no_check,
        api_key_auth: None,
        exchange: None,
        build: |session, _| {
            let base = Url::parse(SANDBOX_SCIM_BASE).expect("valid");
            Ok(Box::new(ScimConnector::new(session, &base, SANDBOX_FLAVOR)))
        },
    },
];

pub fn spec(slug: &str) -> Option<&'static AppSpec> {
    APPS.iter().find(|a| a.slug == slug)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(url: &str) -> Tenant {
        Tenant::from([("scim_base_url".to_owned(), url.to_owned())])
    }

    #[test]
    fn fifteen_five_checks_its_host_and_token_length() {
        let check = spec("fifteen_five").unwrap().check;
        let good = tenant("https://acme.15five.com/scim/v2/");
        assert!(check(&good, "scim_token", &"t".repeat(30)).is_ok());
        assert!(check(&good, "scim_token", &"t".repeat(32)).is_err());
        for bad in [
            "http://acme.15five.com/scim/v2/",
            "https://15five.evil.com/scim",
            "https://acme.15five.com.evil.com/x",
            "https://user@acme.15five.com/scim",
        ] {
            assert!(
                check(&tenant(bad), "scim_token", &"t".repeat(30)).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn every_spec_is_a_catalog_app_and_names_valid_hosts() {
        for app in APPS {
            app.host_patterns();
            if let Some(oauth) = app.oauth {
                let environments = oauth
                    .environments
                    .iter()
                    .flat_map(|e| [e.authorize_url, e.token_url]);
                for u in [oauth.authorize_url, oauth.token_url]
                    .into_iter()
                    .chain(environments)
                {
                    let host = Url::parse(u).unwrap().host_str().unwrap().to_owned();
                    assert!(app.host_patterns().iter().any(|p| p.matches(&host)), "{u}");
                }
            }
        }
    }
}
