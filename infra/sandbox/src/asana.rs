//! Asana's REST API for organization membership (`/api/1.0/…`) over the sandbox's users,
//! with Asana's answers: `{data}` envelopes, `next_page.offset` pages, `addUser` /
//! `removeUser`, and errors as `{errors: [{message}]}`. The connecting admin belongs to one
//! organization (and a personal workspace). Like Asana, a member has no invitation state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::directory::User;
use crate::oauth;
use crate::state::{Refusal, State, page_size, tenant};

/// The sandbox organization's gid.
const ORG: &str = "1200000000000001";

type Shared = Arc<Mutex<State>>;

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/api/1.0/users", get(list))
        .route("/api/1.0/users/{user}", get(read))
        .route("/api/1.0/workspaces/{workspace}", get(workspace))
        .route("/api/1.0/workspaces/{workspace}/addUser", post(add))
        .route("/api/1.0/workspaces/{workspace}/removeUser", post(remove))
        .with_state(state.clone())
        .merge(authorization_server(state))
}

/// Asana's authorization server.
fn authorization_server(state: Shared) -> Router {
    oauth::server(
        state,
        "asana",
        ["/-/oauth_authorize", "/-/decide", "/-/oauth_token"],
        post(oauth::token),
    )
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"errors": [{"message": message}]}))).into_response()
}

fn refused(refusal: Refusal) -> Response {
    refusal.answer_as(|status| match status {
        StatusCode::TOO_MANY_REQUESTS => error(status, "Rate limit enforced"),
        StatusCode::UNAUTHORIZED => error(status, "Not Authorized"),
        _ => error(status, "sandbox: injected fault"),
    })
}

/// `GET /workspaces/{gid}`: the organization (the admin's personal workspace is not asked).
async fn workspace(AxState(state): AxState<Shared>, headers: HeaderMap, Path(gid): Path<String>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let _tenant = tenant_or_refuse!(state, headers);
    if gid != ORG {
        return error(StatusCode::NOT_FOUND, "workspace: Unknown object");
    }
    Json(json!({"data": {"gid": ORG, "resource_type": "workspace", "name": "Sandbox organization", "is_organization": true}}))
        .into_response()
}

fn user_json(user: &User) -> Value {
    json!({"gid": user.id, "resource_type": "user", "email": user.user_name,
           "name": format!("{} {}", user.given, user.family).trim(), "workspaces": [{"gid": ORG, "resource_type": "workspace"}]})
}

async fn list(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    if q.get("workspace").map(String::as_str) != Some(ORG) {
        return error(StatusCode::BAD_REQUEST, "workspace: Not a recognized ID");
    }
    let limit = page_size(&q, "limit", 100, 100);
    let (page, next) = state
        .users
        .page(&tenant, q.get("offset").map(String::as_str), limit);
    Json(json!({"data": page.iter().map(user_json).collect::<Vec<_>>(), "next_page": next.map(|o| json!({"offset": o}))}))
        .into_response()
}

async fn read(AxState(state): AxState<Shared>, headers: HeaderMap, Path(user): Path<String>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    if user == "me" {
        return Json(json!({"data": {"gid": "1", "workspaces": [
            {"gid": "1100000000000001", "is_organization": false},
            {"gid": ORG, "is_organization": true}
        ]}}))
        .into_response();
    }
    let found = if user.contains('@') {
        state.users.by_email(&tenant, &user)
    } else {
        state.users.by_id(&tenant, &user)
    };
    match found {
        Some(u) => Json(json!({"data": user_json(&u)})).into_response(),
        None => error(StatusCode::NOT_FOUND, &format!("user: Unknown object: {user}")),
    }
}

async fn add(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(workspace): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    if workspace != ORG {
        return error(StatusCode::NOT_FOUND, "workspace: Unknown object");
    }
    state.users.count("POST");
    let Some(email) = body["data"]["user"].as_str().filter(|e| e.contains('@')) else {
        return error(StatusCode::BAD_REQUEST, "user: Missing input");
    };
    // Adding a member again answers the member, as Asana does.
    let user = match state.users.by_email(&tenant, email) {
        Some(existing) => existing,
        None => {
            let Some(user) = state.users.invite(&tenant, email, "", "") else {
                return error(StatusCode::INTERNAL_SERVER_ERROR, "sandbox: add failed");
            };
            // No invitation state at Asana: the member is listed at once.
            state.users.accept(&tenant, email);
            user
        }
    };
    Json(json!({"data": user_json(&user)})).into_response()
}

async fn remove(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(workspace): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    if workspace != ORG {
        return error(StatusCode::NOT_FOUND, "workspace: Unknown object");
    }
    state.users.count("DELETE");
    let user = body["data"]["user"].as_str().unwrap_or_default().to_owned();
    let removed = if user.contains('@') {
        state.users.remove_by_email(&tenant, &user)
    } else {
        state.users.remove(&tenant, &user)
    };
    if removed {
        Json(json!({"data": {}})).into_response()
    } else {
        error(StatusCode::NOT_FOUND, &format!("user: Unknown object: {user}"))
    }
}
