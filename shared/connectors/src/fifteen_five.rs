//! 15Five: the generic SCIM 2.0 connector at the company's 15Five SCIM base URL, with a
//! 30-character SCIM token; removal deactivates (15Five documents no hard delete).

use prov_core::catalog::{self, App, ConnectionType};

use crate::error::ConnectorError;
use crate::http::RateLimit;
use crate::scim::{ScimConnector, ScimFlavor, ScimRemove, ScimTenant};
use crate::spec::{AppSpec, Tenant, scim_token_bearer, tenant_url};

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

/// What the product shows of fifteen_five (the app directory's entry).
pub const APP: App = App {
    remove_means: "Deactivates the user through 15Five's SCIM API (15Five documents no hard delete).",
    removal_deactivates: true,
    suspend_means: Some(
        "Deactivates the user (SCIM `active: false`), the same state removal leaves; reactivating sets them active again.",
    ),
    credential_fields: &[
        catalog::url(
            "scim_base_url",
            "SCIM 2.0 base URL (Settings → Integrations → SCIM 2.0)",
        ),
        catalog::secret("scim_token", "SCIM 2.0 token (30 characters)"),
    ],
    tenant: "15Five company (its SCIM base URL)",
    ..catalog::app(
        "fifteen_five",
        "15Five",
        ConnectionType::ApiKey,
        catalog::CREATE_SUSPEND_REMOVE,
    )
};

/// How the service talks to fifteen_five.
pub const SPEC: AppSpec = AppSpec {
    app: &APP,
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
            // The company is the SCIM base URL's own subdomain; 15Five's SCIM token is
            // issued for that company and documents no call naming it.
            tenant: ScimTenant::BaseUrl,
        };
        Ok(Box::new(ScimConnector::new(session, &base, flavor)))
    },
};
