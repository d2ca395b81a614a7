//! Dynatrace's Account Management API over the sandbox's users: the client-credentials token
//! endpoint (`/sso/oauth2/token`, a client secret starting `sandbox-` is accepted, the token
//! opens the account named by `resource`) and `/iam/v1/accounts/{uuid}/users` (list, read,
//! invite, delete, by email). Invited users are `PENDING` until they sign up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Path, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::directory::User;
use crate::state::{Refusal, State, tenant};
use crate::tenants::API_TOKEN_PREFIX;

type Shared = Arc<Mutex<State>>;

/// Access tokens are this prefix and the account's UUID (so they open that account only).
const TOKEN_PREFIX: &str = "sandbox-dynatrace-";

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/sso/oauth2/token", post(token))
        .route("/iam/v1/accounts/{account}/users", get(list).post(create))
        .route(
            "/iam/v1/accounts/{account}/users/{email}",
            get(read).delete(remove),
        )
        .with_state(state)
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": status.as_u16(), "message": message}})),
    )
        .into_response()
}

fn refused(refusal: Refusal) -> Response {
    refusal.answer_as(|status| match status {
        StatusCode::UNAUTHORIZED => error(status, "Invalid or expired token"),
        StatusCode::TOO_MANY_REQUESTS => error(status, "Too many requests"),
        _ => error(status, "Injected fault"),
    })
}

/// The client-credentials grant: the secret must look like a sandbox one, the scopes must
/// cover users, and `resource` names the account.
async fn token(Form(form): Form<HashMap<String, String>>) -> Response {
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let invalid = |error: &str, description: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": error, "error_description": description})),
        )
            .into_response()
    };
    if field("grant_type") != "client_credentials" {
        return invalid("unsupported_grant_type", "Only client_credentials is supported");
    }
    let secret_ok = field("client_secret")
        .strip_prefix(API_TOKEN_PREFIX)
        .is_some_and(|rest| !rest.is_empty());
    if field("client_id").is_empty() || !secret_ok {
        return invalid("invalid_client", "Client authentication failed");
    }
    let scopes: Vec<&str> = field("scope").split(' ').collect();
    if !["account-idm-read", "account-idm-write"]
        .iter()
        .all(|s| scopes.contains(s))
    {
        return invalid(
            "invalid_scope",
            "The requested scope is not granted to the client",
        );
    }
    let Some(account) = field("resource").strip_prefix("urn:dtaccount:") else {
        return invalid("invalid_request", "resource must be urn:dtaccount:<account UUID>");
    };
    Json(json!({
        "access_token": format!("{TOKEN_PREFIX}{account}"),
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": field("scope"),
        "resource": field("resource"),
    }))
    .into_response()
}

/// The tenant of a request to `account`: the token must have been minted for it.
fn account_tenant(state: &mut State, headers: &HeaderMap, account: &str) -> Result<String, Box<Response>> {
    let tenant = tenant(state, headers).map_err(|r| Box::new(refused(r)))?;
    if tenant.strip_prefix(TOKEN_PREFIX) == Some(account) {
        Ok(tenant)
    } else {
        let refusal = error(StatusCode::FORBIDDEN, "Token is not valid for this account");
        Err(Box::new(refusal))
    }
}

fn user_json(user: &User) -> Value {
    let status = match (user.invite_pending, user.active) {
        (true, _) => "PENDING",
        (false, true) => "ACTIVE",
        (false, false) => "INACTIVE",
    };
    json!({"uid": user.id, "email": user.user_name, "name": user.given, "surname": user.family,
           "userStatus": status, "emergencyContact": false})
}

async fn list(AxState(state): AxState<Shared>, headers: HeaderMap, Path(account): Path<String>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match account_tenant(&mut state, &headers, &account) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let items: Vec<Value> = state.users.users(&tenant).iter().map(user_json).collect();
    Json(json!({"count": items.len(), "items": items})).into_response()
}

async fn create(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(account): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match account_tenant(&mut state, &headers, &account) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    state.users.count("POST");
    let Some(email) = body["email"].as_str().filter(|e| e.contains('@')) else {
        return error(StatusCode::BAD_REQUEST, "email must be a valid email address");
    };
    // Dynatrace takes only the email; the person sets their name when signing up.
    match state.users.invite(&tenant, email, "", "") {
        Some(user) => (StatusCode::CREATED, Json(json!({"userUuid": user.id}))).into_response(),
        None => error(StatusCode::BAD_REQUEST, "User already exists in the account"),
    }
}

async fn read(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path((account, email)): Path<(String, String)>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match account_tenant(&mut state, &headers, &account) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    match state.users.by_email(&tenant, &email) {
        Some(user) => Json(user_json(&user)).into_response(),
        None => error(StatusCode::NOT_FOUND, "User not found"),
    }
}

async fn remove(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path((account, email)): Path<(String, String)>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match account_tenant(&mut state, &headers, &account) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    state.users.count("DELETE");
    match state.users.by_email(&tenant, &email) {
        Some(user) => {
            state.users.remove(&tenant, &user.id);
            StatusCode::OK.into_response()
        }
        None => error(StatusCode::NOT_FOUND, "User not found"),
    }
}
