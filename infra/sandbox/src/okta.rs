//! Okta's Users API (`/api/v1/users`) over the sandbox's users, with Okta's answers: `SSWS`
//! tokens, `Link: <…>; rel="next"` pages (on the sandbox org `https://sandbox.okta.com`),
//! `filter=profile.email eq "…"` and `filter=lastUpdated gt "…"` (also `ge`, `lt`, `le`: the
//! one property Okta's `filter` compares with inequalities, against current data, in pages),
//! each user's `lastUpdated` (any change of the user moves it, a status change included),
//! `PROVISIONED` until the person activates, suspend (ACTIVE users only) and unsuspend
//! (SUSPENDED users only), deactivate then delete, and errors as
//! `{errorCode, errorSummary, errorCauses}`. Filter semantics:
//! https://developer.okta.com/docs/api/openapi/okta-management/management/tag/User/#tag/User/operation/listUsers

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::directory::User;
use crate::state::{Refusal, State, page_size, tenant};

/// The org the sandbox's links point at (connect with this org URL).
pub const ORG: &str = "https://sandbox.okta.com";

type Shared = Arc<Mutex<State>>;

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/api/v1/users", get(list).post(create))
        .route("/api/v1/users/{id}", get(read).delete(remove))
        .route("/api/v1/users/{id}/lifecycle/deactivate", post(deactivate))
        .route("/api/v1/users/{id}/lifecycle/suspend", post(suspend))
        .route("/api/v1/users/{id}/lifecycle/unsuspend", post(unsuspend))
        .route("/.well-known/okta-organization", get(org_metadata))
        .with_state(state)
}

/// The org's well-known metadata (its id). The sandbox's orgs are its tokens' directories, so
/// the org is the one the request's token opens.
async fn org_metadata(AxState(state): AxState<Shared>, headers: HeaderMap) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    Json(json!({
        "id": format!("00o{}", crate::tenants::tenant_id(&tenant)),
        "pipeline": "idx",
        "_links": {"organization": {"href": ORG}}
    }))
    .into_response()
}

fn error(status: StatusCode, code: &str, summary: &str) -> Response {
    let body = json!({"errorCode": code, "errorSummary": summary, "errorLink": code, "errorId": "sandbox", "errorCauses": []});
    (status, Json(body)).into_response()
}

fn refused(refusal: Refusal) -> Response {
    refusal.answer_as(|status| match status {
        StatusCode::TOO_MANY_REQUESTS => error(
            status,
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
        ),
        StatusCode::UNAUTHORIZED => error(status, "E0000011", "Invalid token provided"),
        _ => error(status, "E0000009", "Internal Server Error"),
    })
}

fn user_json(user: &User) -> Value {
    json!({"id": user.id, "status": status_of(user), "lastUpdated": timestamp(user.updated_at), "profile": {
        "firstName": user.given, "lastName": user.family, "email": user.user_name, "login": user.user_name
    }})
}

/// Okta's timestamps: UTC with milliseconds (`2013-07-02T21:36:25.344Z`).
fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// What a `filter` asks for: one expression of the two the sandbox's users can answer.
enum Filter {
    Email(String),
    /// `lastUpdated <op> "<time>"`: the users whose last change compares so (to the ms).
    LastUpdated(fn(i64, i64) -> bool, i64),
}

fn parse_filter(filter: &str) -> Option<Filter> {
    if let Some(email) = filter
        .strip_prefix("profile.email eq \"")
        .and_then(|r| r.strip_suffix('"'))
    {
        return Some(Filter::Email(email.to_owned()));
    }
    let rest = filter.strip_prefix("lastUpdated ")?;
    let (op, value) = rest.split_once(' ')?;
    // Operators are case-insensitive; attribute names and values are not.
    let compare: fn(i64, i64) -> bool = match op.to_ascii_lowercase().as_str() {
        "gt" => |a, b| a > b,
        "ge" => |a, b| a >= b,
        "lt" => |a, b| a < b,
        "le" => |a, b| a <= b,
        "eq" => |a, b| a == b,
        _ => return None,
    };
    let value = value.strip_prefix('"')?.strip_suffix('"')?;
    let at = DateTime::parse_from_rfc3339(value).ok()?;
    Some(Filter::LastUpdated(compare, at.timestamp_millis()))
}

fn status_of(user: &User) -> &'static str {
    match (user.invite_pending, user.active, user.suspended) {
        (true, _, _) => "PROVISIONED",
        (false, false, _) => "DEPROVISIONED",
        (false, true, true) => "SUSPENDED",
        (false, true, false) => "ACTIVE",
    }
}

/// `suspend` (from ACTIVE) and `unsuspend` (from SUSPENDED); any other status is refused.
fn suspension(state: &Shared, headers: &HeaderMap, id: &str, suspend: bool) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    state.users.count("PATCH");
    let Some(user) = state.users.by_id(&tenant, id) else {
        return error(
            StatusCode::NOT_FOUND,
            "E0000007",
            &format!("Not found: Resource not found: {id} (User)"),
        );
    };
    let from = if suspend { "ACTIVE" } else { "SUSPENDED" };
    if status_of(&user) != from {
        let summary = if suspend {
            "Cannot suspend a user that is not active"
        } else {
            "Cannot unsuspend a user that is not suspended"
        };
        let body = json!({"errorCode": "E0000001", "errorSummary": "Api validation failed: user",
                          "errorLink": "E0000001", "errorId": "sandbox",
                          "errorCauses": [{"errorSummary": summary}]});
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    state.users.set_suspended(&tenant, id, suspend);
    Json(json!({})).into_response()
}

async fn suspend(AxState(state): AxState<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    suspension(&state, &headers, &id, true)
}

async fn unsuspend(AxState(state): AxState<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    suspension(&state, &headers, &id, false)
}

async fn list(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    let filter = match q.get("filter").map(|f| parse_filter(f)) {
        None => None,
        Some(Some(filter)) => Some(filter),
        Some(None) => return error(StatusCode::BAD_REQUEST, "E0000031", "Invalid search criteria."),
    };
    let changed = match filter {
        Some(Filter::Email(email)) => {
            let found: Vec<Value> = state
                .users
                .by_email(&tenant, &email)
                .iter()
                .map(user_json)
                .collect();
            return Json(found).into_response();
        }
        Some(Filter::LastUpdated(compare, at)) => Some((compare, at)),
        None => None,
    };
    let limit = page_size(&q, "limit", 200, 200);
    let after = q.get("after").map(String::as_str);
    let (page, next) = match changed {
        None => state.users.page(&tenant, after, limit),
        Some((compare, at)) => {
            let mut rest: Vec<User> = state
                .users
                .users(&tenant)
                .into_iter()
                .filter(|u| compare(u.updated_at.timestamp_millis(), at))
                .filter(|u| after.is_none_or(|a| u.id.as_str() > a))
                .collect();
            let more = rest.len() > limit;
            rest.truncate(limit);
            let next = more.then(|| rest.last().map(|u| u.id.clone())).flatten();
            (rest, next)
        }
    };
    let mut response = Json(page.iter().map(user_json).collect::<Vec<_>>()).into_response();
    // The links repeat the request's filter, as Okta's do.
    let filtered = q
        .get("filter")
        .map(|f| {
            format!(
                "&filter={}",
                url::form_urlencoded::byte_serialize(f.as_bytes()).collect::<String>()
            )
        })
        .unwrap_or_default();
    let mut link = format!("<{ORG}/api/v1/users?limit={limit}{filtered}>; rel=\"self\"");
    if let Some(after) = next {
        link.push_str(&format!(
            ", <{ORG}/api/v1/users?after={after}&limit={limit}{filtered}>; rel=\"next\""
        ));
    }
    if let Ok(value) = link.parse() {
        response.headers_mut().insert(header::LINK, value);
    }
    response
}

/// `activate=true` (what the connector sends) emails an activation link: `PROVISIONED`.
async fn create(AxState(state): AxState<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    state.users.count("POST");
    let profile = &body["profile"];
    let Some(login) = profile["login"].as_str().filter(|l| l.contains('@')) else {
        return error(
            StatusCode::BAD_REQUEST,
            "E0000001",
            "Api validation failed: login",
        );
    };
    let first = profile["firstName"].as_str().unwrap_or_default();
    let last = profile["lastName"].as_str().unwrap_or_default();
    match state.users.invite(&tenant, login, first, last) {
        Some(user) => Json(user_json(&user)).into_response(),
        None => error(
            StatusCode::BAD_REQUEST,
            "E0000001",
            "Api validation failed: login: An object with this field already exists in the current organization",
        ),
    }
}

async fn read(AxState(state): AxState<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    if id == "me" {
        return Json(
            json!({"id": "00usandboxadmin", "status": "ACTIVE", "profile": {"login": "admin@sandbox.test"}}),
        )
        .into_response();
    }
    match state.users.by_id(&tenant, &id) {
        Some(user) => Json(user_json(&user)).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "E0000007",
            &format!("Not found: Resource not found: {id} (User)"),
        ),
    }
}

async fn deactivate(AxState(state): AxState<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    state.users.count("PATCH");
    if deprovision(&mut state, &tenant, &id) {
        Json(json!({})).into_response()
    } else {
        error(
            StatusCode::NOT_FOUND,
            "E0000007",
            "Not found: Resource not found (User)",
        )
    }
}

/// `DEPROVISIONED`: inactive, and no activation pending any more.
fn deprovision(state: &mut State, tenant: &str, id: &str) -> bool {
    let Some(user) = state.users.set_active(tenant, id, false) else {
        return false;
    };
    state.users.set_suspended(tenant, id, false);
    state.users.accept(tenant, &user.user_name);
    true
}

/// Okta's DELETE: a user not yet deactivated is deactivated; a deactivated one is deleted.
async fn remove(AxState(state): AxState<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    state.users.count("DELETE");
    match state.users.by_id(&tenant, &id) {
        None => error(
            StatusCode::NOT_FOUND,
            "E0000007",
            "Not found: Resource not found (User)",
        ),
        Some(user) if user.active || user.invite_pending => {
            deprovision(&mut state, &tenant, &id);
            StatusCode::NO_CONTENT.into_response()
        }
        Some(_) => {
            state.users.remove(&tenant, &id);
            StatusCode::NO_CONTENT.into_response()
        }
    }
}
