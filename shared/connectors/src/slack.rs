//! Slack: SCIM 2.0 with a user token holding the `admin` scope, connected by OAuth v2
//! (Slack's `oauth.v2.access` answers in its own shape: `TokenStyle::SlackUser`).

use std::future::Future;
use std::pin::Pin;

use prov_core::catalog::{self, App, ConnectionType};
use reqwest::Method;
use serde::Deserialize;
use url::Url;

use crate::error::ConnectorError;
use crate::http::{RateLimit, Session, VendorRequest};
use crate::model::VendorTenant;
use crate::scim::{ScimConnector, ScimFlavor, ScimRemove, ScimTenant};
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
    tenant: ScimTenant::Call(auth_test),
};

/// Slack's `auth.test` answer (HTTP 200 always; `ok: false` with an error name).
#[derive(Deserialize)]
struct AuthTest {
    ok: bool,
    error: Option<String>,
    team: Option<String>,
    team_id: Option<String>,
    /// On Enterprise Grid, the organization SCIM manages.
    enterprise_id: Option<String>,
}

/// The workspace (or, on Enterprise Grid, the organization) the token reaches, from
/// `auth.test`, which needs no scope (https://api.slack.com/methods/auth.test).
fn auth_test(
    session: &Session,
) -> Pin<Box<dyn Future<Output = Result<VendorTenant, ConnectorError>> + Send + '_>> {
    Box::pin(async move {
        let url = Url::parse("https://slack.com/api/auth.test").expect("valid");
        let response = session
            .send(VendorRequest::new(Method::POST, url).repeatable())
            .await?;
        if !response.status.is_success() {
            return Err(ConnectorError::Transient(format!(
                "Slack answered {} to auth.test",
                response.status
            )));
        }
        let answer: AuthTest = response.json()?;
        if !answer.ok {
            let error = answer.error.unwrap_or_else(|| "unknown_error".into());
            return Err(match error.as_str() {
                "invalid_auth" | "not_authed" | "token_revoked" | "token_expired" | "account_inactive" => {
                    ConnectorError::Unauthorized(format!("Slack: {error}"))
                }
                _ => ConnectorError::Invalid(format!("Slack: {error}")),
            });
        }
        let id = answer
            .enterprise_id
            .filter(|e| !e.is_empty())
            .or(answer.team_id)
            .ok_or_else(|| ConnectorError::Transient("Slack's auth.test named no team".into()))?;
        Ok(VendorTenant {
            name: answer
                .team
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| id.clone()),
            id,
        })
    })
}

/// What the product shows of slack (the app directory's entry).
pub const APP: App = App {
    vendor_plan_note: Some("Requires a paid Slack plan with SCIM: Business+ or Enterprise Grid."),
    remove_means: "Deactivates the member (Slack never deletes members; their messages stay).",
    removal_deactivates: true,
    differences_from_product_docs: &[
        "Slack's SCIM API needs Business+ or Enterprise Grid; a Pro workspace is refused at connect.",
        "Slack deactivates rather than deletes members.",
    ],
    tenant: "Slack workspace (or Enterprise Grid organization)",
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
