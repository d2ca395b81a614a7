//! Salesforce's org APIs the connector uses: SCIM 2.0 users at `/services/scim/v2/Users`
//! (the sandbox's SCIM app, as Salesforce: deactivated users stay listed) and the two REST
//! queries it makes: the org's `Organization` record, the "Standard User" profile's id, and
//! users' `LastLoginDate` (null until the person first signs in: `Sandbox::accept_invitation`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::oauth;
use crate::scim;
use crate::state::{State, tenant};

type Shared = Arc<Mutex<State>>;

/// The My Domain host the sandbox's Salesforce token answers name as `instance_url`.
pub const INSTANCE: &str = "https://sandbox.my.salesforce.com";

/// The sandbox org's "Standard User" profile.
pub const STANDARD_USER_PROFILE: &str = "00e000000000001AAA";

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/services/data/v62.0/query", get(query))
        .with_state(state.clone())
        .nest(
            "/services",
            scim::router_as(state.clone(), scim::Kind::Salesforce),
        )
        .merge(authorization_server(state))
}

/// Salesforce's authorization server (`login.salesforce.com`, `test.salesforce.com`): client
/// credentials in the body, no `expires_in`, and the org's `instance_url`.
fn authorization_server(state: Shared) -> Router {
    oauth::server(
        state,
        "salesforce",
        [
            "/services/oauth2/authorize",
            "/services/oauth2/decide",
            "/services/oauth2/token",
        ],
        post(salesforce_token),
    )
}

/// Salesforce's `/services/oauth2/token`: credentials in the body; the answer names the org's
/// API host (`instance_url`, the sandbox's My Domain) and carries no `expires_in` (a token
/// lives as long as the org's session timeout).
async fn salesforce_token(
    AxState(oauth::Issuer { state, tenant }): AxState<oauth::Issuer>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !oauth::client_in_body(&form) {
        return oauth::token_error(StatusCode::BAD_REQUEST, "invalid_client");
    }
    let mut state = state.lock().expect("sandbox lock");
    match oauth::grant(&mut state, &form, &tenant) {
        Ok(mut tokens) => {
            if let Some(fields) = tokens.as_object_mut() {
                fields.remove("expires_in");
            }
            tokens["instance_url"] = json!(INSTANCE);
            tokens["id"] = json!("https://login.salesforce.com/id/00Dsandbox/005sandbox");
            tokens["token_type"] = json!("Bearer");
            Json(tokens).into_response()
        }
        Err((status, error)) => oauth::token_error(status, error),
    }
}

/// Only the connector's two queries are understood; anything else is Salesforce's
/// `MALFORMED_QUERY`.
async fn query(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let Ok(tenant) = tenant(&mut state, &headers) else {
        let body = json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]);
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    };
    let soql = q.get("q").map(String::as_str).unwrap_or_default();
    if soql == "SELECT Id, Name FROM Organization LIMIT 1" {
        // The org the token opens: 00D and a 15-character id.
        let id = format!("00D{:0>12}", crate::tenants::tenant_id(&tenant));
        return Json(json!({
            "totalSize": 1, "done": true,
            "records": [{"attributes": {"type": "Organization"}, "Id": id, "Name": crate::tenants::tenant_name(&tenant)}]
        }))
        .into_response();
    }
    if soql == "SELECT Id FROM Profile WHERE Name = 'Standard User' LIMIT 1" {
        return Json(json!({
            "totalSize": 1, "done": true,
            "records": [{"attributes": {"type": "Profile"}, "Id": STANDARD_USER_PROFILE}]
        }))
        .into_response();
    }
    let Some(ids) = soql
        .strip_prefix("SELECT Id, LastLoginDate FROM User WHERE Id IN (")
        .and_then(|rest| rest.strip_suffix(')'))
    else {
        let body = json!([{"message": "unexpected query", "errorCode": "MALFORMED_QUERY"}]);
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    };
    let records: Vec<_> = ids
        .split(',')
        .map(|id| id.trim().trim_matches('\''))
        .filter_map(|id| state.users.by_id(&tenant, id))
        .map(|u| {
            let last_login = (!u.invite_pending).then_some("2024-01-02T09:00:00.000+0000");
            json!({"attributes": {"type": "User"}, "Id": u.id, "LastLoginDate": last_login})
        })
        .collect();
    Json(json!({"totalSize": records.len(), "done": true, "records": records})).into_response()
}
