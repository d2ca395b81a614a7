//! Slack: SCIM 2.0 with a user token holding the `admin` scope, connected by OAuth v2
//! (Slack's `oauth.v2.access` answers in its own shape: `TokenStyle::SlackUser`).

use prov_core::catalog::{self, App, ConnectionType};
use url::Url;

use crate::http::RateLimit;
use crate::scim::{ScimConnector, ScimFlavor, ScimRemove};
use crate::spec::{AppSpec, OAuthSpec, TokenStyle, no_check};

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

/// What the product shows of slack (the app directory's entry).
pub const APP: App = App {
    vendor_plan_note: Some("Requires a paid Slack plan with SCIM: Business+ or Enterprise Grid."),
    remove_means: "Deactivates the member (Slack never deletes members; their messages stay).",
    removal_deactivates: true,
    differences_from_product_docs: &[
        "Slack's SCIM API needs Business+ or Enterprise Grid; a Pro workspace is refused at connect.",
        "Slack deactivates rather than deletes members.",
    ],
    ..catalog::app("slack", "Slack", ConnectionType::Oauth, catalog::CREATE_REMOVE)
};

/// How the service talks to slack.
pub const SPEC: AppSpec = AppSpec {
    app: &APP,
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
};
