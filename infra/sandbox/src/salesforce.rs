//! Salesforce's org APIs the connector uses: SCIM 2.0 users at `/services/scim/v2/Users`
//! (the sandbox's SCIM app) and the one REST query it makes, the "Standard User" profile's id.

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

/// Only the profile query is understood; anything else is Salesforce's `MALFORMED_QUERY`.
async fn query(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    if tenant(&mut state, &headers).is_err() {
        let body = json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]);
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    let soql = q.get("q").map(String::as_str).unwrap_or_default();
    if soql != "SELECT Id FROM Profile WHERE Name = 'Standard User' LIMIT 1" {
        let body = json!([{"message": "unexpected query", "errorCode": "MALFORMED_QUERY"}]);
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    Json(json!({
        "totalSize": 1, "done": true,
        "records": [{"attributes": {"type": "Profile"}, "Id": STANDARD_USER_PROFILE}]
    }))
    .into_response()
}
