//! Salesforce's org APIs the connector uses: SCIM 2.0 users at `/services/scim/v2/Users`
//! (the sandbox's SCIM app, as Salesforce: deactivated users stay listed) and the two REST
//! queries it makes: the org's `Organization` record, the "Standard User" profile's id, and
//! users' `LastLoginDate` (null until the person first signs in: `Sandbox::accept_invitation`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::State;
use crate::scim::{self, tenant};

type Shared = Arc<Mutex<State>>;

/// The sandbox org's "Standard User" profile.
pub const STANDARD_USER_PROFILE: &str = "00e000000000001AAA";

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/services/data/v62.0/query", get(query))
        .with_state(state.clone())
        .nest("/services", scim::router_as(state, scim::Kind::Salesforce))
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
        .filter_map(|id| state.scim.by_id(&tenant, id))
        .map(|u| {
            let last_login = (!u.invite_pending).then_some("2024-01-02T09:00:00.000+0000");
            json!({"attributes": {"type": "User"}, "Id": u.id, "LastLoginDate": last_login})
        })
        .collect();
    Json(json!({"totalSize": records.len(), "done": true, "records": records})).into_response()
}
