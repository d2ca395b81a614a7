//! Trello's REST API (`/1/…`) for one Workspace over the sandbox's users, with Trello's
//! answers: the `Authorization: OAuth oauth_consumer_key="…", oauth_token="…"` header (a
//! 32-hex-digit key and a token starting `sandbox-`; the token is the tenant), plain-text
//! `invalid key` / `invalid token` 401s, and a JSON 429 without `Retry-After`.
//!
//! - `GET /1/members/me`: the token's member, the Workspace's admin.
//! - `GET /1/organizations/{ws}`: the Workspace (`id`, `name`, `displayName`).
//! - `GET /1/organizations/{ws}/memberships`: the whole list (Trello does not page it), the
//!   admin first; invited people are `unconfirmed` (and `ghost` members) until they accept.
//! - `PUT /1/organizations/{ws}/members?email=…&fullName=…&type=…`: invites the email (an
//!   email already in the Workspace adds nobody).
//! - `DELETE /1/organizations/{ws}/members/{id}/all`: removes the member.
//!
//! The Workspace is `sandbox_workspace` (id `5e5a0000000000000000aaaa`); any other answers
//! 404 as Trello does for a Workspace the token cannot see.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, put};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::directory::User;
use crate::state::{Refusal, State, tenant};

/// The Workspace's short name (connect with this, or with its id).
pub const WORKSPACE: &str = "sandbox_workspace";
const WORKSPACE_ID: &str = "5e5a0000000000000000aaaa";
/// The member every sandbox token belongs to: the Workspace's admin.
const ADMIN_ID: &str = "5e5a0000000000000000ad01";

type Shared = Arc<Mutex<State>>;

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/1/members/me", get(me))
        .route("/1/organizations/{ws}", get(workspace))
        .route("/1/organizations/{ws}/memberships", get(memberships))
        .route("/1/organizations/{ws}/members", put(invite))
        .route("/1/organizations/{ws}/members/{id}/all", delete(remove))
        .route("/1/organizations/{ws}/members/{id}/deactivated", put(deactivated))
        .with_state(state)
}

/// Trello's many plain-text answers.
fn text(status: StatusCode, body: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body.to_owned(),
    )
        .into_response()
}

fn refused(refusal: Refusal) -> Response {
    let mut response = refusal.answer_as(|status| match status {
        StatusCode::UNAUTHORIZED => text(status, "invalid token"),
        StatusCode::TOO_MANY_REQUESTS => (
            status,
            Json(json!({"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"})),
        )
            .into_response(),
        _ => text(status, "Internal Server Error"),
    });
    // Trello documents no Retry-After on its 429.
    response.headers_mut().remove(header::RETRY_AFTER);
    response
}

/// The `oauth_consumer_key` of the `OAuth` header: Trello's keys are 32 hex digits.
fn key_ok(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("OAuth "))
        .and_then(|params| {
            params.split(',').find_map(|p| {
                p.trim()
                    .strip_prefix("oauth_consumer_key=\"")
                    .and_then(|v| v.strip_suffix('"'))
            })
        })
        .is_some_and(|key| key.len() == 32 && key.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The tenant of a request with a good key and token, or Trello's refusal.
fn caller(state: &mut State, headers: &HeaderMap) -> Result<String, Box<Response>> {
    let tenant = tenant(state, headers).map_err(|r| Box::new(refused(r)))?;
    if key_ok(headers) {
        Ok(tenant)
    } else {
        Err(Box::new(text(StatusCode::UNAUTHORIZED, "invalid key")))
    }
}

fn known_workspace(ws: &str) -> Result<(), Box<Response>> {
    if ws == WORKSPACE || ws == WORKSPACE_ID {
        Ok(())
    } else {
        Err(Box::new(text(
            StatusCode::NOT_FOUND,
            "The requested resource was not found.",
        )))
    }
}

/// `GET /1/organizations/{ws}`: the Workspace's id and names.
async fn workspace(AxState(state): AxState<Shared>, headers: HeaderMap, Path(ws): Path<String>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    if let Err(refusal) = caller(&mut state, &headers) {
        return *refusal;
    }
    if let Err(missing) = known_workspace(&ws) {
        return *missing;
    }
    Json(json!({"id": WORKSPACE_ID, "name": WORKSPACE, "displayName": "Sandbox Workspace"})).into_response()
}

fn username(email: &str) -> String {
    email
        .split('@')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_lowercase()
}

fn membership_json(user: &User) -> Value {
    let full_name = format!("{} {}", user.given, user.family).trim().to_owned();
    json!({
        "id": format!("ms{}", user.id),
        "idMember": user.id,
        "memberType": "normal",
        "unconfirmed": user.invite_pending,
        "deactivated": !user.active,
        "member": {
            "id": user.id,
            "username": username(&user.user_name),
            "fullName": full_name,
            // An invitation to an email without a Trello account makes a pending member.
            "memberType": if user.invite_pending { "ghost" } else { "normal" },
            "confirmed": !user.invite_pending,
        }
    })
}

fn admin_membership() -> Value {
    json!({
        "id": "ms5e5a0000000000000000ad01",
        "idMember": ADMIN_ID,
        "memberType": "admin",
        "unconfirmed": false,
        "deactivated": false,
        "member": {"id": ADMIN_ID, "username": "sandboxadmin", "fullName": "Sandbox Admin",
                   "memberType": "normal", "confirmed": true}
    })
}

fn all_memberships(state: &State, tenant: &str) -> Vec<Value> {
    std::iter::once(admin_membership())
        .chain(state.users.users(tenant).iter().map(membership_json))
        .collect()
}

async fn me(AxState(state): AxState<Shared>, headers: HeaderMap) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    if let Err(r) = caller(&mut state, &headers) {
        return *r;
    }
    Json(json!({"id": ADMIN_ID, "username": "sandboxadmin", "fullName": "Sandbox Admin"})).into_response()
}

async fn memberships(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(ws): Path<String>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match caller(&mut state, &headers).and_then(|t| known_workspace(&ws).map(|_| t)) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    Json(all_memberships(&state, &tenant)).into_response()
}

/// Trello's invitation by email: a new email becomes an invited (unconfirmed) member; one
/// already in the Workspace adds nobody.
async fn invite(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(ws): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match caller(&mut state, &headers).and_then(|t| known_workspace(&ws).map(|_| t)) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    state.users.count("POST");
    let Some(email) = q.get("email").filter(|e| e.contains('@')) else {
        return text(StatusCode::BAD_REQUEST, "invalid value for email");
    };
    let Some(full_name) = q
        .get("fullName")
        .filter(|n| !n.is_empty() && n.trim() == n.as_str())
    else {
        return text(StatusCode::BAD_REQUEST, "invalid value for fullName");
    };
    if !matches!(q.get("type").map(String::as_str), None | Some("normal" | "admin")) {
        return text(StatusCode::BAD_REQUEST, "invalid value for type");
    }
    if state.users.by_email(&tenant, email).is_none() {
        let (first, last) = full_name.split_once(' ').unwrap_or((full_name, ""));
        state.users.invite(&tenant, email, first, last);
    }
    Json(json!({"id": WORKSPACE_ID, "name": WORKSPACE, "memberships": all_memberships(&state, &tenant)}))
        .into_response()
}

/// Deactivates (`value=true`) or reactivates a member of the Workspace.
async fn deactivated(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path((ws, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match caller(&mut state, &headers).and_then(|t| known_workspace(&ws).map(|_| t)) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    state.users.count("PATCH");
    let value = match q.get("value").map(String::as_str) {
        Some("true") => true,
        Some("false") => false,
        _ => return text(StatusCode::BAD_REQUEST, "invalid value for value"),
    };
    if id == ADMIN_ID && value {
        return text(
            StatusCode::BAD_REQUEST,
            "A Workspace must have at least one admin",
        );
    }
    match state.users.set_active(&tenant, &id, !value) {
        Some(user) => Json(json!({"id": user.id})).into_response(),
        None => text(StatusCode::BAD_REQUEST, "invalid id"),
    }
}

async fn remove(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path((ws, id)): Path<(String, String)>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match caller(&mut state, &headers).and_then(|t| known_workspace(&ws).map(|_| t)) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    state.users.count("DELETE");
    if id == ADMIN_ID {
        return text(
            StatusCode::BAD_REQUEST,
            "A Workspace must have at least one admin",
        );
    }
    if state.users.remove(&tenant, &id) {
        Json(json!({"_value": null})).into_response()
    } else {
        text(StatusCode::BAD_REQUEST, "invalid id")
    }
}
