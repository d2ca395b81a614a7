//! Box's managed-users API (`/2.0/users`) over the sandbox's users, with Box's answers:
//! `entries` + `next_marker` pages, `status` `active`/`inactive`, the content move to another
//! user (`PUT /users/{id}/folders/0`), and errors as `{type: "error", status, code, message}`.
//! Like Box, a user has no invitation state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::directory::User;
use crate::oauth;
use crate::state::{Refusal, State, page_size, tenant};

/// The id of the admin who connected (the sandbox's `/users/me`).
const ADMIN_ID: &str = "admin";

type Shared = Arc<Mutex<State>>;

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/2.0/users", get(list).post(create))
        .route("/2.0/users/me", get(me))
        .route("/2.0/users/{id}", get(read).put(update).delete(remove))
        .route("/2.0/users/{id}/folders/0", put(move_content))
        .with_state(state.clone())
        .merge(authorization_server(state))
}

/// Box's authorization server (`account.box.com` and `api.box.com` both land here).
fn authorization_server(state: Shared) -> Router {
    oauth::server(
        state,
        "box",
        ["/api/oauth2/authorize", "/api/oauth2/decide", "/oauth2/token"],
        post(oauth::token),
    )
}

fn error(status: StatusCode, code: &str) -> Response {
    let body = json!({"type": "error", "status": status.as_u16(), "code": code, "message": format!("sandbox: {code}"), "request_id": "sandbox"});
    (status, Json(body)).into_response()
}

fn refused(refusal: Refusal) -> Response {
    refusal.answer_as(|status| match status {
        StatusCode::TOO_MANY_REQUESTS => error(status, "rate_limit_exceeded"),
        StatusCode::UNAUTHORIZED => error(status, "unauthorized"),
        _ => error(status, "internal_server_error"),
    })
}

fn user_json(user: &User) -> Value {
    json!({
        "type": "user", "id": user.id, "name": format!("{} {}", user.given, user.family).trim(),
        "login": user.user_name, "status": if user.active { "active" } else { "inactive" }
    })
}

async fn list(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    let limit = page_size(&q, "limit", 100, 1000);
    if let Some(term) = q.get("filter_term").map(|t| t.to_lowercase()) {
        // A prefix match on login or name, as Box's is.
        let found: Vec<Value> = state
            .users
            .users(&tenant)
            .iter()
            .filter(|u| {
                u.user_name.to_lowercase().starts_with(&term) || u.given.to_lowercase().starts_with(&term)
            })
            .take(limit)
            .map(user_json)
            .collect();
        return Json(json!({"entries": found, "limit": limit})).into_response();
    }
    let (page, next) = state
        .users
        .page(&tenant, q.get("marker").map(String::as_str), limit);
    Json(json!({"entries": page.iter().map(user_json).collect::<Vec<_>>(), "limit": limit, "next_marker": next}))
        .into_response()
}

async fn me(AxState(state): AxState<Shared>, headers: HeaderMap) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    // The admin's enterprise: the one the token opens.
    Json(
        json!({"type": "user", "id": ADMIN_ID, "role": "admin", "enterprise": {
            "type": "enterprise", "id": crate::tenants::tenant_id(&tenant), "name": crate::tenants::tenant_name(&tenant)
        }}),
    )
    .into_response()
}

async fn create(AxState(state): AxState<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    state.users.count("POST");
    let (Some(name), Some(login)) = (body["name"].as_str(), body["login"].as_str()) else {
        return error(StatusCode::BAD_REQUEST, "bad_request");
    };
    let (given, family) = name.split_once(' ').unwrap_or((name, ""));
    match state.users.invite(&tenant, login, given, family) {
        Some(user) => {
            // Box has no invitation state: the managed user is active at once.
            state.users.accept(&tenant, login);
            (StatusCode::CREATED, Json(user_json(&user))).into_response()
        }
        None => error(StatusCode::CONFLICT, "user_login_already_used"),
    }
}

async fn read(AxState(state): AxState<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    match state.users.by_id(&tenant, &id) {
        Some(user) => Json(user_json(&user)).into_response(),
        None => error(StatusCode::NOT_FOUND, "not_found"),
    }
}

async fn update(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    state.users.count("PATCH");
    let active = match body["status"].as_str() {
        Some("active") => true,
        Some("inactive") => false,
        _ => return error(StatusCode::BAD_REQUEST, "bad_request"),
    };
    match state.users.set_active(&tenant, &id, active) {
        Some(user) => Json(user_json(&user)).into_response(),
        None => error(StatusCode::NOT_FOUND, "not_found"),
    }
}

async fn move_content(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    if body["owned_by"]["id"] != ADMIN_ID {
        return error(StatusCode::BAD_REQUEST, "bad_request");
    }
    match state.users.by_id(&tenant, &id) {
        Some(user) => Json(json!({"type": "folder", "id": format!("moved-{id}"), "name": format!("{} Files and Folders", user.user_name)}))
            .into_response(),
        None => error(StatusCode::NOT_FOUND, "not_found"),
    }
}

async fn remove(AxState(state): AxState<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    state.users.count("DELETE");
    if state.users.remove(&tenant, &id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::NOT_FOUND, "not_found")
    }
}
