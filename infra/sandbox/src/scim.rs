//! A SCIM 2.0 Users endpoint (the parts apps use for provisioning), per tenant, as the
//! sandbox's own SCIM app and as the SCIM APIs of Slack and Salesforce (`Kind`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Extension, Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::directory::User;
use crate::state::{Refusal, State, tenant};

const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// Marks invitations not yet accepted (the service's sandbox connector reads it).
const EXTENSION: &str = "urn:ietf:params:scim:schemas:extension:sandbox:2.0:User";
/// Names the tenant a token opens in `ServiceProviderConfig` (the sandbox app's own
/// documented extension).
const CONFIG_EXTENSION: &str = "urn:ietf:params:scim:schemas:extension:sandbox:2.0:ServiceProviderConfig";
const CONFIG_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// The user as a SCIM resource.
fn resource(user: &User) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": user.id,
        "userName": user.scim_user_name(),
        "name": {"givenName": user.given, "familyName": user.family},
        "emails": [{"value": user.user_name, "primary": true, "type": "work"}],
        "active": user.active,
        EXTENSION: {"invitePending": user.invite_pending},
        "meta": {"resourceType": "User", "version": user.etag()}
    })
}

type Shared = Arc<Mutex<State>>;

/// Whose SCIM API the endpoint plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The sandbox's own SCIM app (and 15Five's SCIM API): `DELETE` deletes.
    Sandbox,
    /// Slack: `DELETE` deactivates the member, who stays listed with `active: false`
    /// (https://docs.slack.dev/reference/scim-api: "Sets a Slack user to deactivated"); an
    /// email already in the workspace is refused with 409 `email_taken`.
    Slack,
    /// Salesforce: users are deactivated (`active: false`), never deleted.
    Salesforce,
}

pub(crate) fn router(state: Shared) -> Router {
    router_as(state, Kind::Sandbox)
}

pub(crate) fn router_as(state: Shared, kind: Kind) -> Router {
    Router::new()
        .route("/scim/v2/Users", get(list).post(create))
        .route("/scim/v2/Users/{id}", get(read).patch(patch).delete(remove))
        .route("/scim/v2/ServiceProviderConfig", get(service_provider_config))
        .layer(Extension(kind))
        .with_state(state)
}

/// RFC 7644 section 4's `ServiceProviderConfig`, with the sandbox app's extension naming the
/// tenant the token opens.
async fn service_provider_config(AxState(state): AxState<Shared>, headers: HeaderMap) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return refused(r),
    };
    Json(json!({
        "schemas": [CONFIG_SCHEMA, CONFIG_EXTENSION],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": 100},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [{"type": "oauthbearertoken", "name": "Bearer token", "description": "A sandbox token"}],
        CONFIG_EXTENSION: {"id": crate::tenants::tenant_id(&tenant), "name": crate::tenants::tenant_name(&tenant)}
    }))
    .into_response()
}

fn error(status: StatusCode, scim_type: &str, detail: &str) -> Response {
    let body = json!({"schemas": [ERROR_SCHEMA], "status": status.as_u16().to_string(), "scimType": scim_type, "detail": detail});
    (status, Json(body)).into_response()
}

/// A refusal in SCIM's error shape.
fn refused(refusal: Refusal) -> Response {
    refusal.answer_as(|status| match status {
        StatusCode::UNAUTHORIZED => error(status, "", "invalid or expired token"),
        _ => error(status, "", "injected fault"),
    })
}

fn with_etag(user: &User, status: StatusCode) -> Response {
    let mut response = (status, Json(resource(user))).into_response();
    if let Ok(v) = user.etag().parse() {
        response.headers_mut().insert(header::ETAG, v);
    }
    response
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
    let wanted = match q.get("filter") {
        Some(f) => {
            let Some(wanted) = f.strip_prefix("userName eq \"").and_then(|r| r.strip_suffix('"')) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalidFilter",
                    "only userName eq is supported",
                );
            };
            Some(wanted)
        }
        None => None,
    };
    let start: usize = q
        .get("startIndex")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
        .max(1);
    let count: usize = q
        .get("count")
        .and_then(|s| s.parse().ok())
        .unwrap_or(100)
        .min(100);
    // A page without copying the tenant's other users (tenants of 100,000 in the benchmarks).
    let (page, total): (Vec<Value>, usize) = match wanted {
        Some(wanted) => {
            let filtered: Vec<User> = state
                .users
                .users(&tenant)
                .into_iter()
                .filter(|u| u.scim_user_name().eq_ignore_ascii_case(wanted))
                .collect();
            let page = filtered
                .iter()
                .skip(start - 1)
                .take(count)
                .map(resource)
                .collect();
            (page, filtered.len())
        }
        None => (
            state
                .users
                .slice(&tenant, start - 1, count)
                .iter()
                .map(resource)
                .collect(),
            state.users.count_of(&tenant),
        ),
    };
    Json(json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": page.len(),
        "Resources": page
    }))
    .into_response()
}

async fn create(
    AxState(state): AxState<Shared>,
    Extension(kind): Extension<Kind>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return refused(r),
    };
    state.users.count("POST");
    let Some(user_name) = body["userName"].as_str().filter(|u| u.contains('@')) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalidValue",
            "userName must be an email",
        );
    };
    let email = body["emails"][0]["value"].as_str().unwrap_or(user_name);
    let given = body["name"]["givenName"].as_str().unwrap_or_default();
    let family = body["name"]["familyName"].as_str().unwrap_or_default();
    let taken = |state: &State| {
        state.users.users(&tenant).iter().any(|u| {
            u.user_name.eq_ignore_ascii_case(email) || u.scim_user_name().eq_ignore_ascii_case(user_name)
        })
    };
    if taken(&state) {
        return match kind {
            Kind::Slack => error(StatusCode::CONFLICT, "uniqueness", "email_taken"),
            _ => error(StatusCode::CONFLICT, "uniqueness", "userName is already taken"),
        };
    }
    let Some(mut user) = state.users.invite(&tenant, email, given, family) else {
        return error(StatusCode::CONFLICT, "uniqueness", "userName is already taken");
    };
    if !user_name.eq_ignore_ascii_case(email) {
        state.users.set_login(&tenant, &user.id, user_name);
        user.login = Some(user_name.to_owned());
    }
    if kind == Kind::Slack {
        // Slack shows no invitation state: the member is active at once. (A Salesforce
        // user keeps `invite_pending` until their first sign-in: its LastLoginDate.)
        state.users.accept(&tenant, email);
        user.invite_pending = false;
    }
    with_etag(&user, StatusCode::CREATED)
}

async fn read(AxState(state): AxState<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return refused(r),
    };
    match state.users.by_id(&tenant, &id) {
        Some(user) => with_etag(&user, StatusCode::OK),
        None => error(StatusCode::NOT_FOUND, "", "no such user"),
    }
}

async fn patch(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return refused(r),
    };
    state.users.count("PATCH");
    let if_match = headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Some(user) = state.users.user_mut(&tenant, &id) else {
        return error(StatusCode::NOT_FOUND, "", "no such user");
    };
    if if_match.is_some_and(|m| m != user.etag()) {
        return error(StatusCode::PRECONDITION_FAILED, "", "the user changed");
    }
    let Some(operations) = body["Operations"].as_array() else {
        return error(StatusCode::BAD_REQUEST, "invalidSyntax", "Operations is required");
    };
    for op in operations {
        match (
            op["op"].as_str().map(str::to_ascii_lowercase).as_deref(),
            op["value"]["active"].as_bool(),
        ) {
            (Some("replace"), Some(active)) => user.active = active,
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalidValue",
                    "only replace of active is supported",
                );
            }
        }
    }
    user.version += 1;
    let user = user.clone();
    with_etag(&user, StatusCode::OK)
}

async fn remove(
    AxState(state): AxState<Shared>,
    Extension(kind): Extension<Kind>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return refused(r),
    };
    state.users.count("DELETE");
    let done = match kind {
        Kind::Sandbox => state.users.remove(&tenant, &id),
        // Deactivated, still listed.
        Kind::Slack | Kind::Salesforce => state.users.set_active(&tenant, &id, false).is_some(),
    };
    if done {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::NOT_FOUND, "", "no such user")
    }
}
