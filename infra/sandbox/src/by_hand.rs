//! Trying the sandbox apps by hand, as a person would the real ones: each invitation an app
//! sends through its API is handed to the devserver to email (`take`), with a link to accept
//! it here (`/_sandbox/invitations/{secret}`); and a page of every tenant's users
//! (`/_sandbox`) where a user can be deactivated, reactivated, deleted or have their
//! invitation accepted, as the app's own admin would. The same changes are calls for scripts:
//! `POST /_sandbox/tenants/{tenant id}/users/{email}/{action}` answers the user as JSON, or
//! sends a browser back to the page. Tenants are shown and named by their id (`tenant_id`),
//! never by their key: an API-key fake's tenant is keyed by its token, a credential.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::directory::User;
use crate::page::{escape, frame};
use crate::state::State;
use crate::tenants::{tenant_id, tenant_name};

type Shared = Arc<Mutex<State>>;

/// Where the sandbox's routes are mounted (the devserver's `/_sandbox`).
const BASE: &str = "/_sandbox";

/// An invitation an app sent, to be emailed to the person it invites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// The app's slug (`okta`, `sandbox_scim`, …).
    pub app: String,
    /// The name of the tenant (workspace, org) the person is invited to.
    pub tenant: String,
    pub email: String,
    pub name: String,
    /// Opens the invitation: `/_sandbox/invitations/{secret}`.
    pub secret: String,
}

impl Invitation {
    /// The link that accepts it, under the devserver's base URL.
    pub fn link(&self, base_url: &str) -> String {
        format!(
            "{}{BASE}/invitations/{}",
            base_url.trim_end_matches('/'),
            self.secret
        )
    }
}

/// The invitations emailed, by their link's secret.
#[derive(Default)]
pub(crate) struct Links(HashMap<String, Link>);

struct Link {
    app: &'static str,
    tenant: String,
    user_id: String,
}

/// The invitations sent since the last call whose person has not accepted yet (an app that
/// adds people at once accepts for them in the same call: nothing to email).
pub(crate) fn take(state: &mut State) -> Vec<Invitation> {
    let invited = std::mem::take(&mut state.users.invited);
    let mut out = Vec::new();
    for sent in invited {
        let Some(user) = state.users.by_id(&sent.tenant, &sent.user_id) else {
            continue;
        };
        if !user.invite_pending {
            continue;
        }
        let secret = state.tokens.mint("invitation");
        state.part::<Links>().0.insert(
            secret.clone(),
            Link {
                app: sent.app,
                tenant: sent.tenant.clone(),
                user_id: sent.user_id,
            },
        );
        out.push(Invitation {
            app: sent.app.to_owned(),
            tenant: tenant_name(&sent.tenant),
            email: user.user_name.clone(),
            name: format!("{} {}", user.given, user.family).trim().to_owned(),
            secret,
        });
    }
    out
}

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/", get(users_page))
        .route("/invitations/{secret}", get(invitation).post(accept))
        .route("/tenants/{tenant_id}/users/{email}/{action}", post(change))
        .with_state(state)
}

fn status(user: &User) -> &'static str {
    match (user.invite_pending, user.active, user.suspended) {
        (true, _, _) => "Invited",
        (false, false, _) => "Deactivated",
        (false, true, true) => "Suspended",
        (false, true, false) => "Active",
    }
}

fn segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Every tenant's users with what can be done to each.
async fn users_page(AxState(state): AxState<Shared>) -> Html<String> {
    let state = state.lock().expect("sandbox lock");
    let mut body = String::from(
        "<h1>Sandbox apps: their users</h1>\
         <p>What the fake apps hold, per tenant (the API key or workspace a connection opens). \
         Change a user here as the app's own admin would; the service notices at the app's next \
         sync (scheduled, or Sync accounts in the console).</p>",
    );
    let tenants = state.users.tenants();
    if tenants.is_empty() {
        body.push_str("<p>No users yet: connect a sandbox app and create or sync accounts.</p>");
    }
    for tenant in tenants {
        body.push_str(&format!(
            "<h2>{} (id {})</h2><table><thead><tr><th scope=\"col\">Email</th><th scope=\"col\">Name</th>\
             <th scope=\"col\">Status</th><th scope=\"col\">Change</th></tr></thead><tbody>",
            escape(&tenant_name(&tenant)),
            tenant_id(&tenant)
        ));
        for user in state.users.users(&tenant) {
            let mut actions = Vec::new();
            if user.invite_pending {
                actions.push(("accept", "Accept invitation"));
            }
            if user.active && !user.invite_pending {
                actions.push(("deactivate", "Deactivate"));
            }
            if !user.active || user.suspended {
                actions.push(("reactivate", "Reactivate"));
            }
            actions.push(("delete", "Delete"));
            let forms: String = actions
                .iter()
                .map(|(action, label)| {
                    format!(
                        "<form method=\"post\" action=\"{BASE}/tenants/{}/users/{}/{action}\">\
                         <button type=\"submit\" aria-label=\"{label} {}\">{label}</button></form>",
                        tenant_id(&tenant),
                        segment(&user.user_name),
                        escape(&user.user_name)
                    )
                })
                .collect();
            body.push_str(&format!(
                "<tr><td>{}</td><td>{} {}</td><td>{}</td><td>{forms}</td></tr>",
                escape(&user.user_name),
                escape(&user.given),
                escape(&user.family),
                status(&user)
            ));
        }
        body.push_str("</tbody></table>");
    }
    Html(frame("Sandbox apps: their users", &body))
}

/// One change by the app's own admin; the user as the sandbox now holds it.
async fn change(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path((id, email, action)): Path<(String, String, String)>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let found = state
        .users
        .tenants()
        .into_iter()
        .find(|t| tenant_id(t) == id)
        .and_then(|tenant| state.users.by_email(&tenant, &email).map(|user| (tenant, user)));
    let Some((tenant, user)) = found else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": format!("no user {email} in the tenant {id}")})),
        )
            .into_response();
    };
    let done = match action.as_str() {
        "deactivate" => state.users.set_active(&tenant, &user.id, false).is_some(),
        "reactivate" => {
            state.users.set_suspended(&tenant, &user.id, false);
            state.users.set_active(&tenant, &user.id, true).is_some()
        }
        "delete" => state.users.remove(&tenant, &user.id),
        "accept" => state.users.accept(&tenant, &email),
        _ => {
            return (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"error": "the actions are deactivate, reactivate, delete and accept"})),
            )
                .into_response();
        }
    };
    if !done {
        return (
            StatusCode::CONFLICT,
            axum::Json(json!({"error": format!("{email} has no invitation to accept")})),
        )
            .into_response();
    }
    let wants_page = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if wants_page {
        return Redirect::to(BASE).into_response();
    }
    let now = state.users.by_email(&tenant, &email);
    axum::Json(json!({
        "tenant": id,
        "email": email,
        "status": now.as_ref().map_or("deleted", status),
    }))
    .into_response()
}

/// The invitation as its email's link opens it: who is invited where, and a button to accept.
async fn invitation(AxState(state): AxState<Shared>, Path(secret): Path<String>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let Some((app, tenant, user)) = invited(&mut state, &secret) else {
        return not_found();
    };
    let tenant = tenant_name(&tenant);
    let body = match user {
        Some(user) if user.invite_pending => format!(
            "<h1>Join {} in {}</h1><p>{} was invited to {} ({}).</p>\
             <form method=\"post\"><button type=\"submit\">Accept invitation</button></form>",
            escape(&tenant),
            escape(app),
            escape(&user.user_name),
            escape(app),
            escape(&tenant)
        ),
        Some(user) => format!(
            "<h1>Invitation accepted already</h1><p>{} is a member of {} in {}.</p>",
            escape(&user.user_name),
            escape(&tenant),
            escape(app)
        ),
        None => "<h1>Invitation withdrawn</h1><p>The user no longer exists in the app.</p>".to_owned(),
    };
    Html(frame(&format!("Invitation to {app}"), &body)).into_response()
}

/// The person accepts: the app's user is theirs now ("Connected" at the service's next sync).
async fn accept(AxState(state): AxState<Shared>, Path(secret): Path<String>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let Some((app, tenant, Some(user))) = invited(&mut state, &secret) else {
        return not_found();
    };
    state.users.accept(&tenant, &user.user_name);
    let tenant = tenant_name(&tenant);
    let body = format!(
        "<h1>Invitation accepted</h1><p>{} is now a member of {} in {}. The provisioning \
         service shows the account as \"Connected\" after its next sync of {} (scheduled, or \
         Sync accounts in the console).</p><p><a href=\"{BASE}\">The sandbox apps' users</a></p>",
        escape(&user.user_name),
        escape(&tenant),
        escape(app),
        escape(app)
    );
    Html(frame("Invitation accepted", &body)).into_response()
}

/// The app, tenant and user (if it still exists) an invitation's secret opens.
fn invited(state: &mut State, secret: &str) -> Option<(&'static str, String, Option<User>)> {
    let (app, tenant, user_id) = {
        let link = state.part::<Links>().0.get(secret)?;
        (link.app, link.tenant.clone(), link.user_id.clone())
    };
    let user = state.users.by_id(&tenant, &user_id);
    Some((app, tenant, user))
}

fn not_found() -> Response {
    let body = "<h1>No such invitation</h1><p>The link is not one a sandbox app sent.</p>";
    (StatusCode::NOT_FOUND, Html(frame("No such invitation", body))).into_response()
}
