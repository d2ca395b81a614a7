//! ClickUp's API v2 Workspace user endpoints over the sandbox's users, with ClickUp's answers:
//! a bare `Authorization: pk_…` personal token (`pk_sandbox-acme` opens the sandbox tenant
//! `sandbox-acme`), one Workspace per tenant (id [`TEAM_ID`], on the Enterprise plan), the
//! whole member list in Get Authorized Workspaces (ClickUp does not page it), members invited
//! through the API pending (`date_joined: null`) until they accept, Remove User From
//! Workspace, and errors as `{err, ECODE}` with `X-RateLimit-*` headers on 429.
//!
//! ClickUp does not document its answers for a user outside the Workspace or an email already
//! in it; the sandbox's `SANDBOX_*` codes stand in for them.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::directory::User;
use crate::state::{Refusal, State, tenant};

/// The sandbox Workspace's ID (the `team_id` to connect with).
pub const TEAM_ID: &str = "9000001";
const TEAM_NAME: &str = "Sandbox Workspace";
/// ClickUp's role codes: 3 is a member.
const MEMBER: u8 = 3;
/// Fixed Unix-millisecond dates for the fake's members.
const INVITED_AT: &str = "1700000000000";
const JOINED_AT: &str = "1700000600000";

type Shared = Arc<Mutex<State>>;

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/api/v2/user", get(me))
        .route("/api/v2/team", get(teams))
        .route("/api/v2/team/{team}/plan", get(plan))
        .route("/api/v2/team/{team}/user", axum::routing::post(invite))
        .route("/api/v2/team/{team}/user/{id}", get(read).delete(remove))
        .with_state(state)
}

fn error(status: StatusCode, code: &str, err: &str) -> Response {
    (status, Json(json!({"err": err, "ECODE": code}))).into_response()
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// A refused request as ClickUp answers it: 401 with its token codes; 429 with its
/// `X-RateLimit-*` headers (the reset in Unix seconds) and no `Retry-After`.
fn refused(refusal: Refusal, headers: &HeaderMap) -> Response {
    let no_header = !headers.contains_key(header::AUTHORIZATION);
    let mut response = refusal.answer_as(|status| match status {
        StatusCode::UNAUTHORIZED if no_header => error(status, "OAUTH_017", "Authorization header required"),
        StatusCode::UNAUTHORIZED => error(status, "OAUTH_025", "Token invalid"),
        StatusCode::TOO_MANY_REQUESTS => (status, Json(json!({"err": "Rate limit reached"}))).into_response(),
        _ => error(status, "SANDBOX_FAULT", "injected fault"),
    });
    if response.status() == StatusCode::TOO_MANY_REQUESTS {
        let headers = response.headers_mut();
        headers.remove(header::RETRY_AFTER);
        let reset = (now_seconds() + 1).to_string();
        for (name, value) in [
            ("x-ratelimit-limit", "10000"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", reset.as_str()),
        ] {
            if let Ok(value) = value.parse() {
                headers.insert(name, value);
            }
        }
    }
    response
}

/// The request's tenant, or ClickUp's refusal.
macro_rules! clickup_tenant {
    ($state:expr, $headers:expr) => {
        match tenant(&mut $state, &$headers) {
            Ok(t) => t,
            Err(r) => return refused(r, &$headers),
        }
    };
}

/// ClickUp's answer for a Workspace the token was not authorized for.
fn other_team() -> Response {
    error(StatusCode::UNAUTHORIZED, "OAUTH_027", "Team not authorized")
}

/// ClickUp's user ids are numbers: the sandbox's `u00000007` is 81000007 (clear of the
/// admin's id, 1).
fn numeric_id(id: &str) -> u64 {
    const BASE: u64 = 81_000_000;
    BASE + id
        .trim_start_matches(|c: char| !c.is_ascii_digit())
        .parse::<u64>()
        .unwrap_or_default()
}

fn user_json(user: &User) -> Value {
    let name = format!("{} {}", user.given, user.family).trim().to_owned();
    let mut initials: String = name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .collect::<String>()
        .to_uppercase();
    if initials.is_empty() {
        initials = user.user_name.chars().take(1).collect::<String>().to_uppercase();
    }
    let joined = (!user.invite_pending).then_some(JOINED_AT);
    json!({
        "id": numeric_id(&user.id),
        "username": (!name.is_empty()).then_some(name),
        "email": user.user_name,
        "color": "#7b68ee",
        "profilePicture": null,
        "initials": initials,
        "role": MEMBER,
        "custom_role": null,
        "last_active": joined,
        "date_joined": joined,
        "date_invited": INVITED_AT
    })
}

fn member_json(user: &User) -> Value {
    json!({
        "user": user_json(user),
        "invited_by": {"id": 1, "username": "Sandbox Admin", "email": "admin@sandbox.test", "color": "#536cfe", "initials": "SA", "profilePicture": null}
    })
}

/// The token's owner, the Workspace's owner (listed first among its members, as ClickUp does).
fn owner_json() -> Value {
    json!({"user": {
        "id": 1, "username": "Sandbox Admin", "email": "admin@sandbox.test", "color": "#536cfe",
        "profilePicture": null, "initials": "SA", "role": 1, "custom_role": null,
        "last_active": INVITED_AT, "date_joined": INVITED_AT, "date_invited": INVITED_AT
    }})
}

/// The tenant's Workspace with its members (a deactivated user is no member).
fn team_json(state: &State, tenant: &str) -> Value {
    let members: Vec<Value> = std::iter::once(owner_json())
        .chain(
            state
                .users
                .users(tenant)
                .iter()
                .filter(|u| u.active)
                .map(member_json),
        )
        .collect();
    json!({"id": TEAM_ID, "name": TEAM_NAME, "color": "#536cfe", "avatar": null, "members": members})
}

/// The member with ClickUp user id `id`, if any.
fn member(state: &State, tenant: &str, id: &str) -> Option<User> {
    let wanted: u64 = id.parse().ok()?;
    state
        .users
        .users(tenant)
        .into_iter()
        .find(|u| u.active && numeric_id(&u.id) == wanted)
}

fn no_user() -> Response {
    error(StatusCode::NOT_FOUND, "SANDBOX_USER_404", "User not found")
}

/// Get Authorized User: the token's owner, the sandbox admin.
async fn me(AxState(state): AxState<Shared>, headers: HeaderMap) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let _ = clickup_tenant!(state, headers);
    Json(json!({"user": {
        "id": 1, "username": "Sandbox Admin", "email": "admin@sandbox.test", "color": "#536cfe",
        "profilePicture": null, "initials": "SA", "week_start_day": 0, "global_font_support": false,
        "timezone": "UTC"
    }}))
    .into_response()
}

/// Get Authorized Workspaces: the one sandbox Workspace, all its members in one answer.
async fn teams(AxState(state): AxState<Shared>, headers: HeaderMap) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = clickup_tenant!(state, headers);
    Json(json!({"teams": [team_json(&state, &tenant)]})).into_response()
}

async fn plan(AxState(state): AxState<Shared>, headers: HeaderMap, Path(team): Path<String>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let _ = clickup_tenant!(state, headers);
    if team != TEAM_ID {
        return other_team();
    }
    Json(json!({"plan_name": "Enterprise", "plan_id": 4})).into_response()
}

/// Invite User To Workspace: `{email, admin}`; the member is pending until they accept.
async fn invite(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(team): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = clickup_tenant!(state, headers);
    if team != TEAM_ID {
        return other_team();
    }
    state.users.count("POST");
    let Some(email) = body["email"].as_str().filter(|e| e.contains('@')) else {
        return error(StatusCode::BAD_REQUEST, "SANDBOX_INPUT", "Email invalid");
    };
    if !body["admin"].is_boolean() {
        return error(
            StatusCode::BAD_REQUEST,
            "SANDBOX_INPUT",
            "admin must be a boolean",
        );
    }
    if state.users.invite(&tenant, email, "", "").is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "SANDBOX_USER_EXISTS",
            "User is already a member of this Workspace",
        );
    }
    let mut team = team_json(&state, &tenant);
    team["roles"] = json!([
        {"id": 1, "name": "owner"}, {"id": 2, "name": "admin"},
        {"id": 3, "name": "member"}, {"id": 4, "name": "guest"}
    ]);
    Json(json!({"team": team})).into_response()
}

/// Get User.
async fn read(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path((team, id)): Path<(String, String)>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = clickup_tenant!(state, headers);
    if team != TEAM_ID {
        return other_team();
    }
    match member(&state, &tenant, &id) {
        Some(user) => {
            let mut member = member_json(&user);
            member["shared"] = json!({"tasks": [], "lists": [], "folders": []});
            Json(json!({"member": member})).into_response()
        }
        None => no_user(),
    }
}

/// Remove User From Workspace: the user leaves the Workspace; the answer is the Workspace.
async fn remove(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path((team, id)): Path<(String, String)>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = clickup_tenant!(state, headers);
    if team != TEAM_ID {
        return other_team();
    }
    state.users.count("DELETE");
    let Some(user) = member(&state, &tenant, &id) else {
        return no_user();
    };
    state.users.remove(&tenant, &user.id);
    Json(json!({"team": team_json(&state, &tenant)})).into_response()
}
