//! Sauce Labs' Team Management users API (`/team-management/v1/users/`, trailing slashes
//! included) over the sandbox's users, with Sauce Labs' answers: HTTP Basic (username and
//! access key; the access key opens the tenant), `{links, count, results}` pages by
//! `limit` (default 20, at most 100) and `offset`, `phrase` prefix search, 201 on create with
//! the user active at once (Sauce Labs has no invitation state), usernames unique across the
//! whole sandbox, deactivate/activate, and errors as `{"detail": …}` or field errors
//! (`{"email": ["…"]}`). A new user needs the `organization` id, as the parameter table of
//! https://docs.saucelabs.com/dev/api/accounts/ ("Create a New User") marks it, which "Get
//! Teams" tells (`org_uuid`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::directory::User;
use crate::state::{Refusal, State, page_size, tenant};

const USERS: &str = "/team-management/v1/users/";
/// The sandbox organization's id (every tenant's, as each is its own organization).
const ORGANIZATION: &str = "sandbox-org";
/// The host the `links` point at (the sandbox serves every data center alike).
const API: &str = "https://api.us-west-1.saucelabs.com";

/// The login usernames given at creation, by user id (Sauce Labs' are unique platform-wide).
#[derive(Default)]
pub(crate) struct Usernames(HashMap<String, String>);

type Shared = Arc<Mutex<State>>;

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/team-management/v1/teams/", get(teams))
        .route(USERS, get(list).post(create))
        .route("/team-management/v1/users/{id}/", get(read))
        .route("/team-management/v1/users/{id}/deactivate/", post(deactivate))
        .route("/team-management/v1/users/{id}/activate/", post(activate))
        .with_state(state)
}

fn detail(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"detail": message}))).into_response()
}

fn field_error(field: &str, message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ field: [message] }))).into_response()
}

fn refused(refusal: Refusal) -> Response {
    refusal.answer_as(|status| match status {
        StatusCode::TOO_MANY_REQUESTS => detail(status, "Request was throttled."),
        StatusCode::UNAUTHORIZED => detail(status, "Invalid username or access key."),
        _ => detail(status, "injected fault"),
    })
}

fn user_json(state: &mut State, user: &User) -> Value {
    let username = state
        .part::<Usernames>()
        .0
        .get(&user.id)
        .cloned()
        .unwrap_or_else(|| user.user_name.split('@').next().unwrap_or_default().to_owned());
    json!({
        "id": user.id, "username": username, "email": user.user_name,
        "first_name": user.given, "last_name": user.family, "is_active": user.active,
        "teams": [], "roles": [{"name": "member", "role": 3}], "user_type": "subaccount",
        "organization": {"id": ORGANIZATION, "name": "Sandbox"},
        "is_organization_admin": false, "is_team_admin": false
    })
}

/// The organization's one (default) team.
async fn teams(AxState(state): AxState<Shared>, headers: HeaderMap) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let _ = tenant_or_refuse!(state, headers);
    Json(json!({
        "links": {"next": null, "previous": null},
        "count": 1,
        "results": [{
            "id": "sandbox-team", "name": "Default",
            "settings": {"virtual_machines": 25, "real_devices": 0, "live_only": false},
            "group": {}, "is_default": true, "org_uuid": ORGANIZATION, "user_count": 0
        }]
    }))
    .into_response()
}

fn page_link(limit: usize, offset: usize) -> String {
    format!("{API}{USERS}?limit={limit}&offset={offset}")
}

async fn list(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    let limit = page_size(&q, "limit", 20, 100);
    let offset: usize = q.get("offset").and_then(|o| o.parse().ok()).unwrap_or(0);
    let phrase = q.get("phrase").map(|p| p.to_lowercase());
    let status = q.get("status").map(String::as_str);
    let matching: Vec<User> = state
        .users
        .users(&tenant)
        .into_iter()
        .filter(|u| {
            phrase.as_deref().is_none_or(|p| {
                [&u.user_name, &u.given, &u.family]
                    .iter()
                    .any(|s| s.to_lowercase().starts_with(p))
            })
        })
        .filter(|u| match status {
            Some("active") => u.active,
            Some("inactive") => !u.active,
            Some("pending") => false,
            _ => true,
        })
        .collect();
    let count = matching.len();
    let results: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|u| user_json(&mut state, u))
        .collect();
    let next = (offset + limit < count).then(|| page_link(limit, offset + limit));
    let previous = (offset > 0).then(|| page_link(limit, offset.saturating_sub(limit)));
    Json(json!({
        "links": {"next": next, "previous": previous, "first": page_link(limit, 0), "last": page_link(limit, count.saturating_sub(1) / limit * limit)},
        "count": count,
        "results": results
    }))
    .into_response()
}

/// Sauce Labs' password rules: 8 characters or more, a lowercase and an uppercase letter, a
/// digit, a special character, no spaces.
fn strong(password: &str) -> bool {
    password.chars().count() >= 8
        && password.chars().any(|c| c.is_lowercase())
        && password.chars().any(|c| c.is_uppercase())
        && password.chars().any(|c| c.is_ascii_digit())
        && password
            .chars()
            .any(|c| !c.is_alphanumeric() && !c.is_whitespace())
        && !password.chars().any(char::is_whitespace)
}

/// A member (or other role) created active at once; the email must be new in the tenant and
/// the username new anywhere.
async fn create(AxState(state): AxState<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    state.users.count("POST");
    let text = |field: &str| body[field].as_str().map(str::trim).unwrap_or_default().to_owned();
    for field in [
        "first_name",
        "last_name",
        "email",
        "username",
        "password",
        "organization",
    ] {
        if text(field).is_empty() {
            return field_error(field, "This field is required.");
        }
    }
    if text("organization") != ORGANIZATION {
        return field_error("organization", "Object with id does not exist.");
    }
    let (email, username) = (text("email"), text("username"));
    if !email.contains('@') {
        return field_error("email", "Enter a valid email address.");
    }
    if !username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return field_error(
            "username",
            "Enter a valid username: letters, digits, '.', '_' and '-' only.",
        );
    }
    if !strong(body["password"].as_str().unwrap_or_default()) {
        return field_error(
            "password",
            "The password needs 8 characters with a lowercase and an uppercase letter, a digit and a special character, and no spaces.",
        );
    }
    if !matches!(body.get("role").and_then(Value::as_u64), None | Some(1 | 3 | 4)) {
        return field_error("role", "Select a valid choice.");
    }
    if state.users.by_email(&tenant, &email).is_some() {
        return field_error("email", "user with this email already exists.");
    }
    if state
        .part::<Usernames>()
        .0
        .values()
        .any(|u| u.eq_ignore_ascii_case(&username))
    {
        return field_error("username", "A user with that username already exists.");
    }
    let id = state
        .users
        .insert(&tenant, &email, &text("first_name"), &text("last_name"));
    state.part::<Usernames>().0.insert(id.clone(), username);
    state
        .passwords
        .insert((tenant.clone(), id.clone()), text("password"));
    match state.users.by_id(&tenant, &id) {
        Some(user) => (StatusCode::CREATED, Json(user_json(&mut state, &user))).into_response(),
        None => detail(StatusCode::INTERNAL_SERVER_ERROR, "the user vanished"),
    }
}

async fn read(AxState(state): AxState<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    match state.users.by_id(&tenant, &id) {
        Some(user) => Json(user_json(&mut state, &user)).into_response(),
        None => detail(StatusCode::NOT_FOUND, "Not found."),
    }
}

fn set_active(state: &Shared, headers: &HeaderMap, id: &str, active: bool) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    state.users.count("PATCH");
    match state.users.set_active(&tenant, id, active) {
        Some(user) => Json(user_json(&mut state, &user)).into_response(),
        None => detail(StatusCode::NOT_FOUND, "Not found."),
    }
}

/// "Suspends the specified user's account": the user stays, inactive, and can no longer sign
/// in (also Sauce Labs' only removal).
async fn deactivate(AxState(state): AxState<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    set_active(&state, &headers, &id, false)
}

async fn activate(AxState(state): AxState<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    set_active(&state, &headers, &id, true)
}
