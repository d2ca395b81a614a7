//! HubSpot's Settings user-provisioning API (`/settings/v3/users/`) over the sandbox's users,
//! with HubSpot's answers: `{results, paging.next.after}` pages, 201 on create, 204 on delete,
//! and errors as `{status: "error", message, correlationId, category}`. Like HubSpot, a user
//! carries no pending/accepted field.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::directory::User;
use crate::oauth;
use crate::state::{Refusal, State, page_size, tenant};

const USERS: &str = "/settings/v3/users/";

type Shared = Arc<Mutex<State>>;

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route(USERS, get(list).post(create))
        .route("/settings/v3/users/{id}", get(read).delete(remove))
        .route("/account-info/v3/details", get(account_details))
        .with_state(state.clone())
        .merge(authorization_server(state))
}

/// HubSpot's authorization server; its v3 token endpoint takes our client's id and secret
/// only in the form body.
fn authorization_server(state: Shared) -> Router {
    oauth::server(
        state,
        "hubspot",
        ["/oauth/authorize", "/oauth/decide", "/oauth/v3/token"],
        post(hubspot_token),
    )
}

/// HubSpot's `/oauth/v3/token`: every parameter in the body (Basic authentication is not
/// read), RFC 6749 answers plus the portal's `hub_id`.
async fn hubspot_token(
    AxState(oauth::Issuer { state, tenant }): AxState<oauth::Issuer>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !oauth::client_in_body(&form) {
        return oauth::token_error(StatusCode::BAD_REQUEST, "invalid_client");
    }
    let mut state = state.lock().expect("sandbox lock");
    match oauth::grant(&mut state, &form, &tenant) {
        Ok(mut tokens) => {
            tokens["hub_id"] = json!(4242);
            tokens["scope"] = json!("settings.users.read settings.users.write");
            Json(tokens).into_response()
        }
        Err((status, error)) => oauth::token_error(status, error),
    }
}

/// The account (portal) the token was installed in.
async fn account_details(AxState(state): AxState<Shared>, headers: HeaderMap) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return refused(r),
    };
    // The first sandbox portal is the token answer's `hub_id`.
    let portal = if tenant == crate::tenants::oauth_tenant("hubspot") {
        4242
    } else {
        u64::from_str_radix(&crate::tenants::tenant_id(&tenant)[..8], 16).unwrap_or(0)
    };
    Json(json!({
        "portalId": portal,
        "accountType": "STANDARD",
        "timeZone": "US/Eastern",
        "companyCurrency": "USD",
        "additionalCurrencies": [],
        "utcOffset": "-05:00",
        "utcOffsetMilliseconds": -18_000_000,
        "uiDomain": "app.hubspot.com",
        "dataHostingLocation": "na1"
    }))
    .into_response()
}

fn error(status: StatusCode, category: &str, message: &str) -> Response {
    let body =
        json!({"status": "error", "message": message, "correlationId": "sandbox", "category": category});
    (status, Json(body)).into_response()
}

fn refused(refusal: Refusal) -> Response {
    refusal.answer_as(|status| match status {
        StatusCode::TOO_MANY_REQUESTS => error(
            status,
            "RATE_LIMITS",
            "You have reached your ten_secondly_rolling limit.",
        ),
        StatusCode::UNAUTHORIZED => error(
            status,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found.",
        ),
        _ => error(status, "INTERNAL_ERROR", "injected fault"),
    })
}

fn public_user(user: &User) -> Value {
    json!({
        "id": user.id, "email": user.user_name, "firstName": user.given, "lastName": user.family,
        "roleIds": [], "secondaryTeamIds": [], "superAdmin": false, "sendWelcomeEmail": false
    })
}

async fn list(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return refused(r),
    };
    let limit = page_size(&q, "limit", 100, 100);
    let (page, next) = state
        .users
        .page(&tenant, q.get("after").map(String::as_str), limit);
    let mut answer = json!({"results": page.iter().map(public_user).collect::<Vec<_>>()});
    if let Some(after) = next {
        answer["paging"] =
            json!({"next": {"after": after, "link": format!("https://api.hubapi.com{USERS}?after={after}")}});
    }
    Json(answer).into_response()
}

async fn create(AxState(state): AxState<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return refused(r),
    };
    state.users.count("POST");
    let Some(email) = body["email"].as_str().filter(|e| e.contains('@')) else {
        return error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "email is required");
    };
    let Some(welcome) = body["sendWelcomeEmail"].as_bool() else {
        return error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "sendWelcomeEmail is required",
        );
    };
    let first = body["firstName"].as_str().unwrap_or_default();
    let last = body["lastName"].as_str().unwrap_or_default();
    let Some(user) = state.users.invite(&tenant, email, first, last) else {
        return error(
            StatusCode::CONFLICT,
            "CONFLICT",
            "A user with this email already exists.",
        );
    };
    let mut answer = public_user(&user);
    answer["sendWelcomeEmail"] = json!(welcome);
    (StatusCode::CREATED, Json(answer)).into_response()
}

async fn read(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return refused(r),
    };
    let user = match q.get("idProperty").map(String::as_str) {
        Some("EMAIL") => state.users.by_email(&tenant, &id),
        None | Some("USER_ID") => state.users.by_id(&tenant, &id),
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "VALIDATION_ERROR",
                "idProperty must be USER_ID or EMAIL",
            );
        }
    };
    match user {
        Some(user) => Json(public_user(&user)).into_response(),
        None => error(StatusCode::NOT_FOUND, "OBJECT_NOT_FOUND", "User not found"),
    }
}

async fn remove(AxState(state): AxState<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return refused(r),
    };
    state.users.count("DELETE");
    if state.users.remove(&tenant, &id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::NOT_FOUND, "OBJECT_NOT_FOUND", "User not found")
    }
}
