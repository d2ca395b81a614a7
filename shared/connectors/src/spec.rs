//! What an app spec is made of: how the service talks to one vendor (its hosts, published
//! rate limit, OAuth endpoints, how pasted credentials authenticate, and how its connector
//! is built from a connection's tenant details). Each vendor's module exports its own
//! `SPEC`; the registry lists them.

use std::sync::Arc;

use prov_core::catalog::App;
use secrecy::SecretString;
use url::Url;

use crate::egress::HostPattern;
use crate::error::ConnectorError;
use crate::http::{Authenticator, NoAuth, RateLimit, Session, StaticAuth, VendorHttp};
use crate::model::Connector;

pub use prov_core::connector::{PRODUCTION, Secrets, Tenant};

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

/// A SCIM token pasted as `scim_token`, sent as a bearer token.
pub fn scim_token_bearer(c: &ApiKeyContext<'_>) -> Result<Arc<dyn Authenticator>, ConnectorError> {
    Ok(Arc::new(StaticAuth::bearer(c.secret("scim_token")?)))
}

/// An API token pasted as `api_token`, sent as a bearer token.
pub fn api_token_bearer(c: &ApiKeyContext<'_>) -> Result<Arc<dyn Authenticator>, ConnectorError> {
    Ok(Arc::new(StaticAuth::bearer(c.secret("api_token")?)))
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
    /// What the product shows of the app: its directory entry (slug, name, capabilities,
    /// credential fields, what removal means). The catalog is built from these.
    pub app: &'static App,
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
    pub fn slug(&self) -> &'static str {
        self.app.slug
    }

    pub fn host_patterns(&self) -> Vec<HostPattern> {
        self.hosts
            .iter()
            .map(|h| HostPattern::new(h).expect("registry hosts are valid patterns"))
            .collect()
    }

    /// A session of one company with this app's hosts, limit and credentials.
    pub fn session(&self, http: Arc<VendorHttp>, company_id: &str, auth: Arc<dyn Authenticator>) -> Session {
        Session::new(
            http,
            self.slug(),
            company_id,
            self.host_patterns(),
            auth,
            self.limit,
        )
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
pub fn tenant_url(tenant: &Tenant, field: &str, hosts: &[&str]) -> Result<Url, ConnectorError> {
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

/// For apps whose pasted fields need no check before the verifying call.
pub fn no_check(_: &Tenant, _: &str, _: &str) -> Result<(), ConnectorError> {
    Ok(())
}
