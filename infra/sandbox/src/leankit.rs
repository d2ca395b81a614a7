//! Planview LeanKit's (AgilePlace) user API (`/io/user…`) over the sandbox's users, with
//! LeanKit's answers: bearer tokens, `{pageMeta: {totalRecords, offset, limit, startRow,
//! endRow}, users}` pages by `offset`/`limit` (sorted by last name, LeanKit's default), the
//! keyword `search`, `POST /io/user` with a required password (the user is enabled at once and
//! has `lastAccess: null` until the person "signs in", i.e. accepts in the sandbox), `DELETE`
//! answered 204, errors as `{statusCode, error, message}`, and the `X-RateLimit-*` headers on
//! every answer (a 429 also carries `Retry-After` as an HTTP date).
//!
//! Any account subdomain is served: the devserver routes `*.leankit.com` here and the token
//! picks the tenant. `GET /io/user/me` says the token's user is an account administrator,
//! except for tokens starting `sandbox-member` (a board user, which connect must refuse).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::directory::User;
use crate::state::{Refusal, State, page_size, tenant};

/// When the sandbox says a user who is not pending last signed in.
const SIGNED_IN: &str = "2024-01-02T09:30:00.000Z";
/// The points of the sandbox's (never enforced) 60-second window.
const POINTS: u32 = 120;
/// Tokens of a user who is not an account administrator.
const MEMBER_PREFIX: &str = "sandbox-member";

type Shared = Arc<Mutex<State>>;

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/io/user", get(list).post(create))
        .route("/io/user/me", get(me))
        .route("/io/user/{id}", get(read).patch(update).delete(remove))
        .layer(axum::middleware::map_response(rate_limit_headers))
        .with_state(state)
}

fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({
        "statusCode": status.as_u16(),
        "error": status.canonical_reason().unwrap_or("Error"),
        "message": message,
    });
    (status, Json(body)).into_response()
}

fn refused(refusal: Refusal) -> Response {
    refusal.answer_as(|status| match status {
        StatusCode::TOO_MANY_REQUESTS => error(status, "Rate limit exceeded"),
        StatusCode::UNAUTHORIZED => error(status, "Invalid credentials"),
        _ => error(status, "injected fault"),
    })
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// `Fri, 12 Mar 2021 14:21:09 GMT` for Unix seconds (the proleptic Gregorian calendar).
fn http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let rest = secs % 86_400;
    // Days since 1970-01-01 to a civil date (shifted to eras starting on 1 March).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

/// LeanKit's rate-limit headers on every answer; a 429 is told to wait a second.
async fn rate_limit_headers(mut response: Response) -> Response {
    let limited = response.status() == StatusCode::TOO_MANY_REQUESTS;
    let reset = now_secs() + if limited { 1 } else { 60 };
    let remaining = if limited { 0 } else { POINTS - 1 };
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-ratelimit-limit", POINTS.to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        ("x-ratelimit-reset", reset.to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
    if limited && let Ok(v) = HeaderValue::from_str(&http_date(reset)) {
        headers.insert(header::RETRY_AFTER, v);
    }
    response
}

fn user_json(user: &User) -> Value {
    json!({
        "id": user.id,
        "username": user.user_name,
        "firstName": user.given,
        "lastName": user.family,
        "fullName": format!("{} {}", user.given, user.family).trim(),
        "emailAddress": user.user_name,
        "lastAccess": if user.invite_pending { Value::Null } else { json!(SIGNED_IN) },
        "dateFormat": "MM/dd/yyyy",
        "administrator": false,
        "enabled": !user.suspended,
        "deleted": false,
        "organizationId": "sandbox",
        "boardCreator": false,
        "timeZone": "Etc/GMT",
        "licenseType": "full",
        "externalUserName": null,
    })
}

async fn me(AxState(state): AxState<Shared>, headers: HeaderMap) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    Json(json!({
        "id": "sandbox-admin",
        "username": "admin@sandbox.test",
        "firstName": "Sandbox",
        "lastName": "Admin",
        "fullName": "Sandbox Admin",
        "emailAddress": "admin@sandbox.test",
        "lastAccess": SIGNED_IN,
        "administrator": !tenant.starts_with(MEMBER_PREFIX),
        "enabled": true,
        "deleted": false,
        // The account the token opens.
        "organizationId": crate::tenants::tenant_id(&tenant),
    }))
    .into_response()
}

/// `GET /io/user`: `offset` (0), `limit` (100), `search` over user name and email.
async fn list(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    let Ok(offset) = q.get("offset").map_or(Ok(0), |o| o.parse::<usize>()) else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "offset must be a number");
    };
    let limit = page_size(&q, "limit", 100, 1000);
    let search = q
        .get("search")
        .map(|s| s.to_lowercase())
        .filter(|s| !s.is_empty());
    let mut users: Vec<User> = state
        .users
        .users(&tenant)
        .into_iter()
        .filter(|u| {
            search.as_deref().is_none_or(|s| {
                u.user_name.to_lowercase().contains(s)
                    || format!("{} {}", u.given, u.family).to_lowercase().contains(s)
            })
        })
        .collect();
    users.sort_by(|a, b| (a.family.to_lowercase(), &a.id).cmp(&(b.family.to_lowercase(), &b.id)));
    let total = users.len();
    let page: Vec<Value> = users.iter().skip(offset).take(limit).map(user_json).collect();
    let count = page.len();
    Json(json!({
        "pageMeta": {
            "totalRecords": total,
            "offset": offset,
            "limit": limit,
            "startRow": if count == 0 { 0 } else { offset + 1 },
            "endRow": offset + count,
        },
        "users": page,
    }))
    .into_response()
}

/// `POST /io/user`: `emailAddress`, `firstName`, `lastName` and `password` are required.
async fn create(AxState(state): AxState<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    state.users.count("POST");
    let field = |name: &str| body[name].as_str().map(str::trim).filter(|v| !v.is_empty());
    let (Some(email), Some(first), Some(last)) =
        (field("emailAddress"), field("firstName"), field("lastName"))
    else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "emailAddress, firstName and lastName are required",
        );
    };
    if !email.contains('@') {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "emailAddress must be an email address",
        );
    }
    if field("password").is_none_or(|p| p.len() < 8) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "password is required");
    }
    let password = field("password").unwrap_or_default().to_owned();
    match state.users.invite(&tenant, email, first, last) {
        Some(user) => {
            state.passwords.insert((tenant, user.id.clone()), password);
            Json(user_json(&user)).into_response()
        }
        None => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "A user with this email address already exists",
        ),
    }
}

async fn read(AxState(state): AxState<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    match state.users.by_id(&tenant, &id) {
        Some(user) => Json(user_json(&user)).into_response(),
        None => error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// `PATCH /io/user/{id}`: of the documented properties the sandbox keeps `enabled` (a disabled
/// user cannot sign in); the user as updated is the answer.
async fn update(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    state.users.count("PATCH");
    let enabled = match &body["enabled"] {
        Value::Bool(b) => Some(*b),
        // LeanKit's own example sends the boolean as a string.
        Value::String(s) if s == "true" || s == "false" => Some(s == "true"),
        Value::Null => None,
        _ => return error(StatusCode::UNPROCESSABLE_ENTITY, "enabled must be a boolean"),
    };
    if state.users.by_id(&tenant, &id).is_none() {
        return error(StatusCode::NOT_FOUND, "Not Found");
    }
    if let Some(enabled) = enabled {
        state.users.set_suspended(&tenant, &id, !enabled);
    }
    match state.users.by_id(&tenant, &id) {
        Some(user) => Json(user_json(&user)).into_response(),
        None => error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

async fn remove(AxState(state): AxState<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    state.users.count("DELETE");
    if state.users.remove(&tenant, &id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::NOT_FOUND, "Not Found")
    }
}
