//! Dropbox's Team API member routes over the sandbox's users, RPC style (every call a `POST`
//! with a JSON body), with Dropbox's answers: `profile.status` tags (`invited` until the person
//! joins), `has_more` + `cursor` pages, per-member add results, and route errors as 409
//! `{error_summary, error: {".tag"}}`.

use std::sync::{Arc, Mutex};

use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::directory::User;
use crate::oauth;
use crate::state::{Refusal, State, tenant};

type Shared = Arc<Mutex<State>>;

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/2/team/get_info", post(team_info))
        .route("/2/team/members/list_v2", post(list))
        .route("/2/team/members/list/continue_v2", post(list))
        .route("/2/team/members/get_info_v2", post(get_info))
        .route("/2/team/members/add_v2", post(add))
        .route("/2/team/members/suspend", post(suspend))
        .route("/2/team/members/unsuspend", post(unsuspend))
        .route("/2/team/members/remove", post(remove))
        .with_state(state.clone())
        .merge(authorization_server(state))
}

/// Dropbox's authorization server (`www.dropbox.com` and `api.dropboxapi.com` both land
/// here).
fn authorization_server(state: Shared) -> Router {
    oauth::server(
        state,
        "dropbox",
        ["/oauth2/authorize", "/oauth2/decide", "/oauth2/token"],
        post(oauth::token),
    )
}

fn route_error(tag: &str) -> Response {
    let body = json!({"error_summary": format!("{tag}/.."), "error": {".tag": tag}});
    (StatusCode::CONFLICT, Json(body)).into_response()
}

fn refused(refusal: Refusal) -> Response {
    refusal.answer_as(|status| {
        let body = match status {
            StatusCode::TOO_MANY_REQUESTS => {
                json!({"error_summary": "too_many_requests/..", "error": {"reason": {".tag": "too_many_requests"}, "retry_after": 1}})
            }
            StatusCode::UNAUTHORIZED => {
                json!({"error_summary": "expired_access_token/..", "error": {".tag": "expired_access_token"}})
            }
            _ => json!({"error_summary": "internal_error/.."}),
        };
        (status, Json(body)).into_response()
    })
}

fn profile(user: &User) -> Value {
    let status = match (user.invite_pending, user.active) {
        (true, _) => "invited",
        (false, true) => "active",
        (false, false) => "suspended",
    };
    json!({
        "team_member_id": user.id, "email": user.user_name, "email_verified": true,
        "status": {".tag": status}, "membership_type": {".tag": "full"},
        "name": {"given_name": user.given, "surname": user.family, "familiar_name": user.given,
                 "display_name": format!("{} {}", user.given, user.family), "abbreviated_name": ""}
    })
}

async fn team_info(AxState(state): AxState<Shared>, headers: HeaderMap) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    match tenant(&mut state, &headers) {
        Ok(tenant) => Json(json!({
            "name": crate::tenants::tenant_name(&tenant),
            "team_id": format!("dbtid:{}", crate::tenants::tenant_id(&tenant)),
            "num_licensed_users": 100,
            "num_provisioned_users": 0
        }))
        .into_response(),
        Err(r) => refused(r),
    }
}

/// `list_v2` (`limit`) and `list/continue_v2` (`cursor`: the last id of the previous page).
async fn list(AxState(state): AxState<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return refused(r),
    };
    let (after, limit) = match body["cursor"].as_str() {
        Some(cursor) => match cursor.split_once('|') {
            Some((after, limit)) => (Some(after.to_owned()), limit.parse().unwrap_or(1000)),
            None => return route_error("invalid_cursor"),
        },
        None => (
            None,
            body["limit"].as_u64().unwrap_or(1000).clamp(1, 1000) as usize,
        ),
    };
    let (page, next) = state.users.page(&tenant, after.as_deref(), limit);
    let members: Vec<Value> = page
        .iter()
        .map(|u| json!({"profile": profile(u), "roles": []}))
        .collect();
    // The cursor carries the page size; at the end it stays where the listing stopped.
    let last = next
        .clone()
        .or_else(|| page.last().map(|u| u.id.clone()))
        .or(after)
        .unwrap_or_default();
    Json(json!({"members": members, "cursor": format!("{last}|{limit}"), "has_more": next.is_some()}))
        .into_response()
}

async fn get_info(AxState(state): AxState<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return refused(r),
    };
    let Some(selectors) = body["members"].as_array() else {
        return (
            StatusCode::BAD_REQUEST,
            "Error in call to API function \"team/members/get_info_v2\": missing members",
        )
            .into_response();
    };
    let infos: Vec<Value> = selectors
        .iter()
        .map(|s| {
            let (found, key) = match s[".tag"].as_str() {
                Some("email") => {
                    let email = s["email"].as_str().unwrap_or_default();
                    (state.users.by_email(&tenant, email), email)
                }
                _ => {
                    let id = s["team_member_id"].as_str().unwrap_or_default();
                    (state.users.by_id(&tenant, id), id)
                }
            };
            match found {
                Some(user) => json!({".tag": "member_info", "profile": profile(&user), "roles": []}),
                None => json!({".tag": "id_not_found", "id_not_found": key}),
            }
        })
        .collect();
    Json(json!({"members_info": infos})).into_response()
}

async fn add(AxState(state): AxState<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return refused(r),
    };
    let Some(new) = body["new_members"].as_array() else {
        return (
            StatusCode::BAD_REQUEST,
            "Error in call to API function \"team/members/add_v2\": missing new_members",
        )
            .into_response();
    };
    let mut results = Vec::new();
    for m in new {
        state.users.count("POST");
        let email = m["member_email"].as_str().unwrap_or_default();
        let given = m["member_given_name"].as_str().unwrap_or_default();
        let surname = m["member_surname"].as_str().unwrap_or_default();
        results.push(match state.users.invite(&tenant, email, given, surname) {
            Some(user) => json!({".tag": "success", "profile": profile(&user), "roles": []}),
            None => json!({".tag": "user_already_on_team", "user_already_on_team": email}),
        });
    }
    Json(json!({".tag": "complete", "complete": results})).into_response()
}

fn selected(body: &Value) -> String {
    body["user"]["team_member_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn set_active(state: Shared, headers: HeaderMap, body: Value, active: bool) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return refused(r),
    };
    state.users.count("PATCH");
    let id = selected(&body);
    match state.users.by_id(&tenant, &id) {
        None => route_error("user_not_found"),
        // Only an active member can be suspended: an invited one has not joined yet
        // (`suspend_inactive_user`, "The user is not active, so it cannot be suspended").
        Some(u) if !active && u.invite_pending => route_error("suspend_inactive_user"),
        Some(u) if u.active == active => route_error(if active {
            "unsuspend_non_suspended_member"
        } else {
            "suspend_inactive_user"
        }),
        Some(_) => {
            state.users.set_active(&tenant, &id, active);
            Json(Value::Null).into_response()
        }
    }
}

async fn suspend(AxState(state): AxState<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    set_active(state, headers, body, false).await
}

async fn unsuspend(AxState(state): AxState<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    set_active(state, headers, body, true).await
}

async fn remove(AxState(state): AxState<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return refused(r),
    };
    state.users.count("DELETE");
    if state.users.remove(&tenant, &selected(&body)) {
        Json(json!({".tag": "complete"})).into_response()
    } else {
        route_error("user_not_found")
    }
}
