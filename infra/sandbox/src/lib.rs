//! Fake vendor apps for offline use: a generic SCIM 2.0 app, an OAuth 2.0 authorization
//! server (also at each OAuth vendor's own paths), and each connectable vendor's user API in
//! its own shapes (one module per vendor), served under `/_sandbox/{app}` by the devserver
//! and by tests. The service reaches them through its normal egress routing (the vendors'
//! hosts are routed here), so every call goes through the real connector code.
//!
//! What every fake shares (the user directory, the issued tokens, injected faults, each
//! fake's own part of the state, and how a request's token opens a tenant) is in `state`,
//! `directory`, `tokens` and `tenants`, which name no fake; this file mounts the fakes.
//!
//! `by_hand` is a person's side of the apps: the invitations they send (the devserver emails
//! them to its outbox, with a link to accept) and a page of their users to change by hand.
//!
//! State is in memory: a restart of the devserver empties the sandbox apps.

/// The tenant of a fake vendor's request, or the `refused(…)` answer of the calling module.
macro_rules! tenant_or_refuse {
    ($state:expr, $headers:expr) => {
        match tenant(&mut $state, &$headers) {
            Ok(t) => t,
            Err(r) => return refused(r),
        }
    };
}

mod app_scope;
mod asana;
mod box_com;
mod by_hand;
mod clickup;
mod directory;
mod docusign;
mod dropbox;
mod dynatrace;
mod github;
mod google_workspace;
mod hubspot;
mod lastpass;
mod leankit;
mod microsoft_365;
mod oauth;
mod okta;
mod page;
mod salesforce;
mod sauce_labs;
mod scim;
mod slack;
mod state;
mod tenants;
mod tokens;
mod trello;
mod zoho;

use std::sync::{Arc, Mutex};

use axum::Router;

pub use by_hand::Invitation;
pub use clickup::TEAM_ID as CLICKUP_TEAM_ID;
pub use docusign::{ACCOUNT_ID as DOCUSIGN_ACCOUNT_ID, BASE_URI as DOCUSIGN_BASE_URI};
pub use github::{MEMBER_ORG as GITHUB_MEMBER_ORG, ORG as GITHUB_ORG};
pub use google_workspace::PRIMARY_DOMAIN as GOOGLE_WORKSPACE_DOMAIN;
pub use microsoft_365::DOMAIN as MICROSOFT_365_DOMAIN;
pub use oauth::{CLIENT_ID, CLIENT_SECRET};
pub use okta::ORG as OKTA_ORG;
pub use salesforce::INSTANCE as SALESFORCE_INSTANCE;
pub use tenants::{API_TOKEN_PREFIX, OAUTH_TENANT, oauth_tenant, oauth_tenant_named, tenant_id, tenant_name};
pub use trello::WORKSPACE as TRELLO_WORKSPACE;
pub use zoho::{BOOKS_ORG as ZOHO_BOOKS_ORG, DESK_ORG as ZOHO_DESK_ORG};

use crate::app_scope::scoped;
use crate::state::{RequestFault, State};

/// Answers a request with its injected fault, if one is waiting.
async fn injected_fault(
    axum::extract::State(state): axum::extract::State<Arc<Mutex<State>>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let fault = {
        let mut state = state.lock().expect("sandbox lock");
        let at = state
            .request_faults
            .iter()
            .position(|f| f.method == request.method().as_str() && f.path == request.uri().path());
        at.map(|i| state.request_faults.remove(i))
    };
    match fault {
        Some(f) => (
            axum::http::StatusCode::from_u16(f.status)
                .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
            axum::Json(f.body),
        )
            .into_response(),
        None => next.run(request).await,
    }
}

/// A fake app's user as the fake holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxUser {
    /// The fake vendor's id for the user.
    pub id: String,
    pub email: String,
    /// False once deactivated (a deactivated user stays listed), or suspended where the app
    /// has no separate suspension.
    pub active: bool,
    /// Suspended, where the app tells suspension apart from deactivation (Okta).
    pub suspended: bool,
    /// Invited and not accepted yet.
    pub invite_pending: bool,
}

/// The sandbox: clones share state.
#[derive(Clone, Default)]
pub struct Sandbox {
    state: Arc<Mutex<State>>,
}

impl Sandbox {
    pub fn new() -> Self {
        Self::default()
    }

    /// A sandbox whose users' change times (Okta's `lastUpdated`) come from `now`.
    pub fn with_clock(now: impl Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync + 'static) -> Self {
        let sandbox = Self::default();
        sandbox.state.lock().expect("sandbox lock").users.now = Arc::new(now);
        sandbox
    }

    /// Routes to mount at `/_sandbox`.
    pub fn router(&self) -> Router {
        let state = || self.state.clone();
        Router::new()
            // Each app's fake under the app's slug (the devserver routes each spec's hosts
            // there), an OAuth vendor's authorization server included; 15Five is a SCIM
            // server, so the SCIM app's fake serves it.
            .nest("/sandbox_scim", scoped("sandbox_scim", scim::router(state())))
            .nest("/sandbox_oauth", scoped("sandbox_oauth", oauth::router(state())))
            .nest("/fifteen_five", scoped("fifteen_five", scim::router(state())))
            .nest("/asana", scoped("asana", asana::router(state())))
            .nest("/box", scoped("box", box_com::router(state())))
            .nest("/clickup", scoped("clickup", clickup::router(state())))
            .nest("/docusign", scoped("docusign", docusign::router(state())))
            .nest("/dropbox", scoped("dropbox", dropbox::router(state())))
            .nest("/dynatrace", scoped("dynatrace", dynatrace::router(state())))
            .nest("/github", scoped("github", github::router(state())))
            .nest(
                "/google_workspace",
                scoped("google_workspace", google_workspace::router(state())),
            )
            .nest("/hubspot", scoped("hubspot", hubspot::router(state())))
            .nest("/lastpass", scoped("lastpass", lastpass::router(state())))
            .nest(
                "/microsoft_365",
                scoped("microsoft_365", microsoft_365::router(state())),
            )
            .nest("/okta", scoped("okta", okta::router(state())))
            .nest(
                "/planview_leankit",
                scoped("planview_leankit", leankit::router(state())),
            )
            .nest("/salesforce", scoped("salesforce", salesforce::router(state())))
            .nest("/sauce_labs", scoped("sauce_labs", sauce_labs::router(state())))
            .nest("/slack", scoped("slack", slack::router(state())))
            .nest("/trello", scoped("trello", trello::router(state())))
            .nest("/zoho", scoped("zoho", zoho::router(state())))
            // A person's side of the apps: invitations' links, and their users by hand.
            .merge(by_hand::router(state()))
            .layer(axum::middleware::from_fn_with_state(
                self.state.clone(),
                injected_fault,
            ))
    }

    /// Makes the next `method` request to `path` (as under `/_sandbox`, e.g.
    /// `/box/2.0/users/u00000001/folders/0`) answer `status` with the JSON `body`, as a vendor
    /// might on one call, whatever the fake would have done.
    pub fn fail_request(&self, method: &str, path: &str, status: u16, body: serde_json::Value) {
        self.state
            .lock()
            .expect("sandbox lock")
            .request_faults
            .push(RequestFault {
                method: method.to_owned(),
                path: path.to_owned(),
                status,
                body,
            });
    }

    /// Makes every access token invalid (as a vendor's expiry would), keeping refresh tokens.
    pub fn expire_access_tokens(&self) {
        self.state
            .lock()
            .expect("sandbox lock")
            .tokens
            .expire_access_tokens();
    }

    /// Makes every token invalid (as a vendor's revocation would).
    pub fn revoke_all_tokens(&self) {
        self.state.lock().expect("sandbox lock").tokens.revoke_all();
    }

    /// The access and refresh tokens the authorization server has issued and not revoked.
    pub fn live_tokens(&self) -> Vec<String> {
        self.state.lock().expect("sandbox lock").tokens.live()
    }

    /// How many token refreshes the authorization server answered.
    pub fn refreshes(&self) -> usize {
        self.state.lock().expect("sandbox lock").tokens.refreshes()
    }

    /// Adds users straight into a tenant (test and demo fixtures).
    pub fn seed_user(&self, tenant: &str, email: &str, first: &str, last: &str) -> String {
        self.state
            .lock()
            .expect("sandbox lock")
            .users
            .insert(tenant, email, first, last)
    }

    /// As `seed_user`, for an app whose SCIM `userName` is not the email (a Slack member's
    /// username, a Salesforce login).
    pub fn seed_user_with_login(
        &self,
        tenant: &str,
        login: &str,
        email: &str,
        first: &str,
        last: &str,
    ) -> String {
        let mut state = self.state.lock().expect("sandbox lock");
        let id = state.users.insert(tenant, email, first, last);
        state.users.set_login(tenant, &id, login);
        id
    }

    /// The emails of a tenant's users, in creation order.
    pub fn emails(&self, tenant: &str) -> Vec<String> {
        self.state.lock().expect("sandbox lock").users.emails(tenant)
    }

    /// A tenant's user as the fake app itself holds it (for comparing with what the service
    /// recorded), by email.
    pub fn user(&self, tenant: &str, email: &str) -> Option<SandboxUser> {
        let state = self.state.lock().expect("sandbox lock");
        state.users.by_email(tenant, email).map(|u| SandboxUser {
            id: u.id,
            email: u.user_name,
            active: u.active,
            suspended: u.suspended,
            invite_pending: u.invite_pending,
        })
    }

    /// Whether the person, removed from a LastPass company, still has their own LastPass
    /// account and vault (LastPass's "remove from company"; "delete" destroys them).
    pub fn lastpass_account_kept(&self, email: &str) -> bool {
        self.state
            .lock()
            .expect("sandbox lock")
            .part::<lastpass::KeptAccounts>()
            .0
            .contains(&email.to_lowercase())
    }

    /// Whether `password` signs the tenant's user with this email in (the password it was
    /// created with, where the vendor takes one: LeanKit, Sauce Labs).
    pub fn signs_in(&self, tenant: &str, email: &str, password: &str) -> bool {
        let state = self.state.lock().expect("sandbox lock");
        state.users.by_email(tenant, email).is_some_and(|u| {
            state
                .passwords
                .get(&(tenant.to_owned(), u.id))
                .is_some_and(|p| p == password)
        })
    }

    /// Someone removes a user in the app itself (outside the service).
    pub fn remove_user(&self, tenant: &str, email: &str) -> bool {
        self.state
            .lock()
            .expect("sandbox lock")
            .users
            .remove_by_email(tenant, email)
    }

    /// The invitations the apps sent since the last call and not yet accepted, for the
    /// devserver to email (each with the link that accepts it).
    pub fn take_invitations(&self) -> Vec<Invitation> {
        by_hand::take(&mut self.state.lock().expect("sandbox lock"))
    }

    /// The invited person accepts (as clicking the app's invitation email would).
    pub fn accept_invitation(&self, tenant: &str, email: &str) -> bool {
        self.state
            .lock()
            .expect("sandbox lock")
            .users
            .accept(tenant, email)
    }

    /// Adds a verified secondary domain to a tenant's Google Workspace (its primary domain is
    /// `GOOGLE_WORKSPACE_DOMAIN`; the domains of its users count too).
    pub fn add_workspace_domain(&self, tenant: &str, domain: &str) {
        self.state
            .lock()
            .expect("sandbox lock")
            .part::<google_workspace::Workspaces>()
            .add_domain(tenant, domain);
    }

    /// The primary emails of a Google Workspace group's members (the group by its id or email,
    /// e.g. `engineering@sandbox-workspace.test`).
    pub fn workspace_group_members(&self, tenant: &str, group: &str) -> Vec<String> {
        let mut state = self.state.lock().expect("sandbox lock");
        let ids = state
            .part::<google_workspace::Workspaces>()
            .member_ids(tenant, group);
        ids.iter()
            .filter_map(|id| state.users.by_id(tenant, id).map(|u| u.user_name))
            .collect()
    }

    /// The recovery email a Google Workspace user was created with.
    pub fn workspace_recovery_email(&self, tenant: &str, email: &str) -> Option<String> {
        let mut state = self.state.lock().expect("sandbox lock");
        let user = state.users.by_email(tenant, email)?;
        state
            .part::<google_workspace::Workspaces>()
            .recovery_email(tenant, &user.id)
    }

    /// How many user-changing calls (`POST`, `PATCH`, `DELETE`) the SCIM app answered.
    pub fn changes(&self, method: &str) -> usize {
        self.state.lock().expect("sandbox lock").users.changes(method)
    }

    /// Drops the faults not yet answered.
    pub fn clear_faults(&self) {
        self.state.lock().expect("sandbox lock").faults.clear();
    }

    /// Makes the next `count` SCIM calls answer `status` (with `Retry-After` for 429).
    pub fn fail_next(&self, count: usize, status: u16) {
        self.state
            .lock()
            .expect("sandbox lock")
            .faults
            .extend(std::iter::repeat_n(status, count));
    }
}
