//! The sandbox apps (devserver and tests only): a SCIM app connected with an API key, and an
//! OAuth app with rotating refresh tokens, both served by `prov-sandbox`.

use prov_core::catalog::{self, App, ConnectionType};
use url::Url;

use crate::error::ConnectorError;
use crate::http::RateLimit;
use crate::scim::{ScimConnector, ScimFlavor, ScimRemove, ScimTenant};
use crate::spec::{AppSpec, OAuthSpec, Tenant, TokenStyle, no_check, scim_token_bearer, tenant_url};

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
    // The sandbox names the tenant a token opens in its ServiceProviderConfig.
    tenant: ScimTenant::ServiceProviderConfig(SANDBOX_CONFIG_EXTENSION),
};

/// The sandbox SCIM app's ServiceProviderConfig extension naming the tenant: `{"id", "name"}`.
pub const SANDBOX_CONFIG_EXTENSION: &str =
    "urn:ietf:params:scim:schemas:extension:sandbox:2.0:ServiceProviderConfig";

/// The sandbox SCIM app's extension schema (it marks invitations not yet accepted).
pub const SANDBOX_EXTENSION: &str = "urn:ietf:params:scim:schemas:extension:sandbox:2.0:User";

/// What the product shows of sandbox_scim (the app directory's entry).
pub const SCIM_APP: App = App {
    requires_plus_or_premium: false,
    remove_means: "Deletes the user in the sandbox SCIM app.",
    suspend_means: Some("Sets the user inactive in the sandbox SCIM app."),
    credential_fields: &[
        catalog::url(
            "scim_base_url",
            "SCIM base URL (https://scim.sandbox.test/scim/v2)",
        ),
        catalog::secret("scim_token", "SCIM token (any value starting with sandbox-)"),
    ],
    tenant: "sandbox tenant",
    ..catalog::app(
        "sandbox_scim",
        "Sandbox SCIM app",
        ConnectionType::ApiKey,
        catalog::CREATE_SUSPEND_REMOVE,
    )
};

/// How the service talks to sandbox_scim.
pub const SCIM_SPEC: AppSpec = AppSpec {
    app: &SCIM_APP,
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
};

/// What the product shows of sandbox_oauth (the app directory's entry).
pub const OAUTH_APP: App = App {
    requires_plus_or_premium: false,
    remove_means: "Deletes the user in the sandbox OAuth app.",
    suspend_means: Some("Sets the user inactive in the sandbox OAuth app."),
    tenant: "sandbox tenant",
    ..catalog::app(
        "sandbox_oauth",
        "Sandbox OAuth app",
        ConnectionType::Oauth,
        catalog::CREATE_SUSPEND_REMOVE,
    )
};

/// How the service talks to sandbox_oauth.
pub const OAUTH_SPEC: AppSpec = AppSpec {
    app: &OAUTH_APP,
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
};
