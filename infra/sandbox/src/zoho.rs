//! Zoho over the sandbox's users: the accounts server's token endpoint, and the user
//! endpoints the Zoho connector calls in Zoho Desk (`/api/v1`), Zoho Books (`/books/v3`)
//! and Zoho CRM (`/crm/v7`), with Zoho's shapes, paging and error bodies. All three products
//! share one tenant's users.
//!
//! Tokens: a grant code starting `sandbox-` (any Self Client id, a client secret starting
//! `sandbox-`) is exchanged for the refresh token `1000.refresh.<code>`; that refresh token
//! mints the access token `<code>`, which opens the tenant named by the code (as an API token
//! of the other sandbox apps does). Zoho answers token errors with HTTP 200 and `{"error":
//! …}`, and so does this fake.
//!
//! Created accounts are invited (Desk `isConfirmed: false`, Books `invited`, CRM `confirm:
//! false`) until `Sandbox::accept_invitation`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::directory::User;
use crate::state::{Refusal, State, page_size, tenant};
use crate::tenants::API_TOKEN_PREFIX;

type Shared = Arc<Mutex<State>>;

/// What the refresh tokens issued for a grant code start with.
const REFRESH_PREFIX: &str = "1000.refresh.";
/// The sandbox's Desk organization (its `orgId`) and its one department.
pub const DESK_ORG: &str = "700000001";
const DEPARTMENT: &str = "700000101";
/// The sandbox's Books organization (its `organization_id`).
pub const BOOKS_ORG: &str = "800000001";
const BOOKS_ROLES: &[(&str, &str)] = &[
    ("800000011", "Admin"),
    ("800000012", "Staff"),
    ("800000013", "TimesheetStaff"),
];
const CRM_PROFILES: &[(&str, &str)] = &[("900000011", "Administrator"), ("900000012", "Standard")];
/// CRM's role hierarchy: id, name, the role it reports to.
const CRM_ROLES: &[(&str, &str, Option<&str>)] = &[
    ("900000021", "CEO", None),
    ("900000022", "Manager", Some("900000021")),
    ("900000023", "Sales Rep", Some("900000022")),
];

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/oauth/v2/token", post(token))
        // Desk
        .route("/api/v1/organizations", get(desk_organizations))
        .route("/api/v1/departments", get(desk_departments))
        .route("/api/v1/agents", get(desk_list).post(desk_create))
        .route("/api/v1/agents/deleteUnconfirmed", post(desk_delete_unconfirmed))
        .route("/api/v1/agents/{id}", get(desk_read))
        .route("/api/v1/agents/{id}/deactivate", post(desk_deactivate))
        .route("/api/v1/agents/{id}/activate", post(desk_activate))
        // Books
        .route("/books/v3/organizations", get(books_organizations))
        .route("/books/v3/settings/roles", get(books_roles))
        .route("/books/v3/users", get(books_list).post(books_create))
        .route("/books/v3/users/{id}", get(books_read).delete(books_delete))
        .route("/books/v3/users/{id}/active", post(books_active))
        .route("/books/v3/users/{id}/inactive", post(books_inactive))
        // CRM
        .route("/crm/v7/settings/roles", get(crm_roles))
        .route("/crm/v7/settings/profiles", get(crm_profiles))
        .route("/crm/v7/org", get(crm_org))
        .route("/crm/v7/users", get(crm_list).post(crm_create))
        .route(
            "/crm/v7/users/{id}",
            get(crm_read).put(crm_update).delete(crm_delete),
        )
        .with_state(state)
}

// ---------------------------------------------------------------------------------------
// The accounts server

fn token_error(error: &str) -> Response {
    Json(json!({ "error": error })).into_response()
}

/// The authorization-code grant (a Self Client's grant code) and the refresh-token grant.
async fn token(Form(form): Form<HashMap<String, String>>) -> Response {
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let sandbox = |value: &str| {
        value
            .strip_prefix(API_TOKEN_PREFIX)
            .is_some_and(|rest| !rest.is_empty())
    };
    if field("client_id").is_empty() || !sandbox(field("client_secret")) {
        return token_error("invalid_client");
    }
    let access = |code: &str| {
        json!({
            "access_token": code,
            "api_domain": "https://www.zohoapis.com",
            "token_type": "Bearer",
            "expires_in": 3600
        })
    };
    match field("grant_type") {
        "authorization_code" if sandbox(field("code")) => {
            let mut answer = access(field("code"));
            answer["refresh_token"] = json!(format!("{REFRESH_PREFIX}{}", field("code")));
            Json(answer).into_response()
        }
        "authorization_code" => token_error("invalid_code"),
        "refresh_token" => match field("refresh_token").strip_prefix(REFRESH_PREFIX) {
            Some(code) if sandbox(code) => Json(access(code)).into_response(),
            _ => token_error("invalid_code"),
        },
        _ => token_error("unsupported_grant_type"),
    }
}

fn name_parts(name: &str) -> (String, String) {
    match name.trim().split_once(' ') {
        Some((first, last)) => (first.trim().to_owned(), last.trim().to_owned()),
        None => (String::new(), name.trim().to_owned()),
    }
}

fn text(body: &Value, field: &str) -> String {
    body[field].as_str().map(str::trim).unwrap_or_default().to_owned()
}

// ---------------------------------------------------------------------------------------
// Desk

fn desk_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"errorCode": code, "message": message}))).into_response()
}

fn desk_refused(refusal: Refusal) -> Response {
    refusal.answer_as(|status| match status {
        StatusCode::UNAUTHORIZED => desk_error(
            status,
            "INVALID_OAUTH",
            "The OAuth Token you provided is invalid.",
        ),
        StatusCode::TOO_MANY_REQUESTS => desk_error(status, "TOO_MANY_REQUESTS", "Too many requests."),
        _ => desk_error(status, "INTERNAL_SERVER_ERROR", "Injected fault."),
    })
}

/// The tenant of a Desk call in the sandbox organization (the `orgId` header).
fn desk_tenant(state: &mut State, headers: &HeaderMap) -> Result<String, Box<Response>> {
    let tenant = tenant(state, headers).map_err(|r| Box::new(desk_refused(r)))?;
    let org = headers.get("orgid").and_then(|v| v.to_str().ok());
    if org == Some(DESK_ORG) {
        Ok(tenant)
    } else {
        Err(Box::new(desk_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "UNPROCESSABLE_ENTITY",
            "The orgId header is missing or names no organization of yours.",
        )))
    }
}

fn agent_json(user: &User) -> Value {
    let name = format!("{} {}", user.given, user.family);
    json!({
        "id": user.id, "emailId": user.user_name, "firstName": user.given, "lastName": user.family,
        "name": name.trim(), "status": if user.active { "ACTIVE" } else { "DISABLED" },
        "isConfirmed": !user.invite_pending, "roleId": "700000201", "profileId": "700000301",
        "associatedDepartmentIds": [DEPARTMENT], "rolePermissionType": "AgentPublic"
    })
}

async fn desk_organizations(AxState(state): AxState<Shared>, headers: HeaderMap) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    if let Err(r) = tenant(&mut state, &headers) {
        return desk_refused(r);
    }
    Json(json!({"data": [{
        "id": DESK_ORG, "companyName": "Sandbox", "portalName": "sandbox", "isDefault": true,
        "edition": "PROFESSIONAL", "isAdminInOrg": true
    }]}))
    .into_response()
}

async fn desk_departments(AxState(state): AxState<Shared>, headers: HeaderMap) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    if let Err(r) = desk_tenant(&mut state, &headers) {
        return *r;
    }
    Json(json!({"data": [{
        "id": DEPARTMENT, "name": "Support", "isDefault": true, "isEnabled": true
    }]}))
    .into_response()
}

/// Agents by `from` (0-based index) and `limit` (default 10, at most 200); nothing left is
/// 204, as Desk answers.
async fn desk_list(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match desk_tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let limit = page_size(&q, "limit", 10, 200);
    let from: usize = q.get("from").and_then(|f| f.parse().ok()).unwrap_or(0);
    let agents: Vec<Value> = state
        .users
        .users(&tenant)
        .iter()
        .skip(from)
        .take(limit)
        .map(agent_json)
        .collect();
    if agents.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    Json(json!({ "data": agents })).into_response()
}

async fn desk_read(AxState(state): AxState<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match desk_tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    match state.users.by_id(&tenant, &id) {
        Some(user) => Json(agent_json(&user)).into_response(),
        None => desk_error(
            StatusCode::NOT_FOUND,
            "URL_NOT_FOUND",
            "The requested agent does not exist.",
        ),
    }
}

/// Invites an agent: the email, last name, a department of the organization and a role
/// permission type are required; an email already used is a duplicate.
async fn desk_create(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match desk_tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    state.users.count("POST");
    let invalid = |field: &str, kind: &str| {
        let body = json!({
            "errorCode": "INVALID_DATA", "message": "An invalid value was given for a field.",
            "errors": [{"fieldName": format!("/{field}"), "errorType": kind, "errorMessage": ""}]
        });
        (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
    };
    let email = text(&body, "emailId");
    if !email.contains('@') {
        return invalid("emailId", if email.is_empty() { "missing" } else { "invalid" });
    }
    if text(&body, "lastName").is_empty() {
        return invalid("lastName", "missing");
    }
    let departments = body["associatedDepartmentIds"].as_array();
    if !departments.is_some_and(|d| !d.is_empty() && d.iter().all(|d| d == DEPARTMENT)) {
        return invalid("associatedDepartmentIds", "invalid");
    }
    if text(&body, "rolePermissionType").is_empty() {
        return invalid("rolePermissionType", "missing");
    }
    match state.users.invite(
        &tenant,
        &email,
        &text(&body, "firstName"),
        &text(&body, "lastName"),
    ) {
        Some(user) => Json(agent_json(&user)).into_response(),
        None => invalid("emailId", "duplicate"),
    }
}

async fn desk_deactivate(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match desk_tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    state.users.count("POST");
    match state.users.set_active(&tenant, &id, false) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => desk_error(
            StatusCode::NOT_FOUND,
            "URL_NOT_FOUND",
            "The requested agent does not exist.",
        ),
    }
}

/// Activates a deactivated agent again.
async fn desk_activate(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match desk_tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    state.users.count("POST");
    match state.users.set_active(&tenant, &id, true) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => desk_error(
            StatusCode::NOT_FOUND,
            "URL_NOT_FOUND",
            "The requested agent does not exist.",
        ),
    }
}

/// Deletes agents who never confirmed; a confirmed agent cannot be deleted this way.
async fn desk_delete_unconfirmed(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match desk_tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    state.users.count("POST");
    let ids: Vec<String> = body["agentIds"]
        .as_array()
        .map(|ids| ids.iter().filter_map(|i| i.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    if ids.is_empty() {
        return desk_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_DATA",
            "agentIds is required.",
        );
    }
    for id in &ids {
        if state.users.by_id(&tenant, id).is_some_and(|u| !u.invite_pending) {
            return desk_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "INVALID_DATA",
                "Only unconfirmed agents can be deleted.",
            );
        }
    }
    for id in &ids {
        state.users.remove(&tenant, id);
    }
    StatusCode::NO_CONTENT.into_response()
}

// ---------------------------------------------------------------------------------------
// Books

fn books_error(status: StatusCode, code: i64, message: &str) -> Response {
    (status, Json(json!({"code": code, "message": message}))).into_response()
}

fn books_refused(refusal: Refusal) -> Response {
    refusal.answer_as(|status| match status {
        StatusCode::UNAUTHORIZED => books_error(status, 14, "Invalid value passed for authtoken."),
        StatusCode::TOO_MANY_REQUESTS => books_error(
            status,
            45,
            "You have exceeded the maximum number of API calls allowed per minute.",
        ),
        _ => books_error(status, 1000, "Internal error"),
    })
}

/// The tenant of a Books call in the sandbox organization (`organization_id`).
fn books_tenant(
    state: &mut State,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
) -> Result<String, Box<Response>> {
    let tenant = tenant(state, headers).map_err(|r| Box::new(books_refused(r)))?;
    if q.get("organization_id").map(String::as_str) == Some(BOOKS_ORG) {
        Ok(tenant)
    } else {
        Err(Box::new(books_error(
            StatusCode::BAD_REQUEST,
            6041,
            "This user is not associated with the CompanyID/CompanyName.",
        )))
    }
}

fn books_user_json(user: &User) -> Value {
    let status = match (user.invite_pending, user.active) {
        (true, _) => "invited",
        (false, true) => "active",
        (false, false) => "inactive",
    };
    let name = format!("{} {}", user.given, user.family);
    json!({
        "user_id": user.id, "name": name.trim(), "email": user.user_name, "status": status,
        "user_role": "staff", "role_id": BOOKS_ROLES[1].0, "is_current_user": false
    })
}

async fn books_organizations(AxState(state): AxState<Shared>, headers: HeaderMap) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    if let Err(r) = tenant(&mut state, &headers) {
        return books_refused(r);
    }
    Json(json!({"code": 0, "message": "success", "organizations": [{
        "organization_id": BOOKS_ORG, "name": "Sandbox", "is_default_org": true, "plan_name": "STANDARD"
    }]}))
    .into_response()
}

async fn books_roles(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    if let Err(r) = books_tenant(&mut state, &headers, &q) {
        return *r;
    }
    let roles: Vec<Value> = BOOKS_ROLES
        .iter()
        .map(|(id, name)| json!({"role_id": id, "role_name": name, "is_custom_role": false}))
        .collect();
    Json(json!({"code": 0, "message": "success", "roles": roles})).into_response()
}

/// Users by `page` (from 1) and `per_page` (default and most 200), `filter_by` a status.
async fn books_list(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match books_tenant(&mut state, &headers, &q) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let per_page = page_size(&q, "per_page", 200, 200);
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let filter = q.get("filter_by").map(String::as_str).unwrap_or("Status.All");
    let matching: Vec<Value> = state
        .users
        .users(&tenant)
        .iter()
        .map(books_user_json)
        .filter(|u| match filter {
            "Status.Active" => u["status"] == "active",
            "Status.Inactive" => u["status"] == "inactive",
            "Status.Invited" => u["status"] == "invited",
            "Status.Deleted" => u["status"] == "deleted",
            _ => true,
        })
        .collect();
    let users: Vec<Value> = matching
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .cloned()
        .collect();
    let more = page * per_page < matching.len();
    Json(json!({
        "code": 0, "message": "success", "users": users,
        "page_context": {"page": page, "per_page": per_page, "has_more_page": more,
                         "applied_filter": filter, "sort_column": "name", "sort_order": "A"}
    }))
    .into_response()
}

async fn books_read(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match books_tenant(&mut state, &headers, &q) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    match state.users.by_id(&tenant, &id) {
        Some(user) => {
            Json(json!({"code": 0, "message": "success", "user": books_user_json(&user)})).into_response()
        }
        None => books_error(StatusCode::NOT_FOUND, 1002, "User does not exist."),
    }
}

/// Invites a user: `name` and `email` are required, `role_id` must be a role of the
/// organization; an email already used is refused.
async fn books_create(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    Json(body): Json<Value>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match books_tenant(&mut state, &headers, &q) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    state.users.count("POST");
    let (name, email) = (text(&body, "name"), text(&body, "email"));
    if name.is_empty() {
        return books_error(StatusCode::BAD_REQUEST, 4, "Invalid value passed for Name");
    }
    if !email.contains('@') {
        return books_error(StatusCode::BAD_REQUEST, 4, "Invalid value passed for Email");
    }
    if let Some(role) = body.get("role_id")
        && !BOOKS_ROLES.iter().any(|(id, _)| role == id)
    {
        return books_error(StatusCode::BAD_REQUEST, 4, "Invalid value passed for role_id");
    }
    let (first, last) = name_parts(&name);
    match state.users.invite(&tenant, &email, &first, &last) {
        Some(user) => (
            StatusCode::CREATED,
            Json(json!({"code": 0, "message": "Your invitation has been sent.", "user": books_user_json(&user)})),
        )
            .into_response(),
        None => books_error(
            StatusCode::BAD_REQUEST,
            3011,
            "A user with this email address already exists in your organization.",
        ),
    }
}

/// "Mark user as active" / "Mark user as inactive".
fn books_mark(
    state: &Shared,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    id: &str,
    active: bool,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match books_tenant(&mut state, headers, q) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    state.users.count("POST");
    match state.users.set_active(&tenant, id, active) {
        Some(_) => {
            let said = if active { "active" } else { "inactive" };
            Json(json!({"code": 0, "message": format!("The user has been marked as {said}.")}))
                .into_response()
        }
        None => books_error(StatusCode::NOT_FOUND, 1002, "User does not exist."),
    }
}

async fn books_active(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    books_mark(&state, &headers, &q, &id, true)
}

async fn books_inactive(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    books_mark(&state, &headers, &q, &id, false)
}

async fn books_delete(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match books_tenant(&mut state, &headers, &q) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    state.users.count("DELETE");
    if state.users.remove(&tenant, &id) {
        Json(json!({"code": 0, "message": "The user has been removed from your organization."}))
            .into_response()
    } else {
        books_error(StatusCode::NOT_FOUND, 1002, "User does not exist.")
    }
}

// ---------------------------------------------------------------------------------------
// CRM

fn crm_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"code": code, "details": {}, "message": message, "status": "error"});
    (status, Json(body)).into_response()
}

/// A per-record answer: `{"users": [{"code", "details", "message", "status"}]}`.
fn crm_record(status: StatusCode, code: &str, details: Value, message: &str) -> Response {
    let outcome = if code == "SUCCESS" { "success" } else { "error" };
    let body = json!({"users": [{"code": code, "details": details, "message": message, "status": outcome}]});
    (status, Json(body)).into_response()
}

fn crm_tenant(state: &mut State, headers: &HeaderMap) -> Result<String, Box<Response>> {
    tenant(state, headers).map_err(|refusal| {
        Box::new(refusal.answer_as(|status| match status {
            StatusCode::UNAUTHORIZED => crm_error(status, "INVALID_TOKEN", "invalid oauth token"),
            StatusCode::TOO_MANY_REQUESTS => crm_error(status, "TOO_MANY_REQUESTS", "too many requests"),
            _ => crm_error(status, "INTERNAL_ERROR", "internal error"),
        }))
    })
}

fn crm_user_json(user: &User) -> Value {
    let name = format!("{} {}", user.given, user.family);
    json!({
        "id": user.id, "email": user.user_name, "first_name": user.given, "last_name": user.family,
        "full_name": name.trim(), "status": if user.active { "active" } else { "disabled" },
        "confirm": !user.invite_pending,
        "role": {"id": CRM_ROLES[2].0, "name": CRM_ROLES[2].1},
        "profile": {"id": CRM_PROFILES[1].0, "name": CRM_PROFILES[1].1}
    })
}

/// CRM's organization: the one the token opens.
async fn crm_org(AxState(state): AxState<Shared>, headers: HeaderMap) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match crm_tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    Json(json!({"org": [{
        "id": format!("4{:0>18}", u64::from_str_radix(&crate::tenants::tenant_id(&tenant), 16).unwrap_or(0)),
        "company_name": crate::tenants::tenant_name(&tenant),
        "domain_name": "sandbox",
        "primary_email": "admin@sandbox.test",
        "zgid": "90000001"
    }]}))
    .into_response()
}

async fn crm_roles(AxState(state): AxState<Shared>, headers: HeaderMap) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    if let Err(r) = crm_tenant(&mut state, &headers) {
        return *r;
    }
    let roles: Vec<Value> = CRM_ROLES
        .iter()
        .map(|(id, name, parent)| {
            let reporting_to = parent.map(|p| {
                let name = CRM_ROLES.iter().find(|r| r.0 == p).map(|r| r.1);
                json!({"id": p, "name": name})
            });
            json!({"id": id, "name": name, "display_label": name, "reporting_to": reporting_to,
                   "admin_user": parent.is_none(), "share_with_peers": true})
        })
        .collect();
    Json(json!({ "roles": roles })).into_response()
}

async fn crm_profiles(AxState(state): AxState<Shared>, headers: HeaderMap) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    if let Err(r) = crm_tenant(&mut state, &headers) {
        return *r;
    }
    let profiles: Vec<Value> = CRM_PROFILES
        .iter()
        .map(|(id, name)| json!({"id": id, "name": name, "display_label": name, "custom": false}))
        .collect();
    Json(json!({ "profiles": profiles })).into_response()
}

/// Users by `type` (`AllUsers`, or `CurrentUser`: the Self Client's admin), `page` (from 1)
/// and `per_page` (default and most 200); nothing left is 204, as CRM answers.
async fn crm_list(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match crm_tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    if q.get("type").map(String::as_str) == Some("CurrentUser") {
        let admin = json!({
            "id": "900000001", "email": "admin@sandbox.test", "first_name": "Sandbox",
            "last_name": "Admin", "full_name": "Sandbox Admin", "status": "active", "confirm": true,
            "role": {"id": CRM_ROLES[0].0, "name": CRM_ROLES[0].1},
            "profile": {"id": CRM_PROFILES[0].0, "name": CRM_PROFILES[0].1}
        });
        return Json(json!({"users": [admin], "info": {"per_page": 200, "count": 1, "page": 1, "more_records": false}}))
            .into_response();
    }
    let per_page = page_size(&q, "per_page", 200, 200);
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let all = state.users.users(&tenant);
    let users: Vec<Value> = all
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(crm_user_json)
        .collect();
    if users.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let more = page * per_page < all.len();
    Json(json!({
        "users": users,
        "info": {"per_page": per_page, "count": users.len(), "page": page, "more_records": more}
    }))
    .into_response()
}

async fn crm_read(AxState(state): AxState<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match crm_tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    match state.users.by_id(&tenant, &id) {
        Some(user) => Json(json!({"users": [crm_user_json(&user)]})).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

/// Invites one user: `last_name`, `email`, a known `role` and `profile` are required; an
/// email already used is a duplicate.
async fn crm_create(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match crm_tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    state.users.count("POST");
    let Some(user) = body["users"].as_array().filter(|u| u.len() == 1).map(|u| &u[0]) else {
        return crm_error(StatusCode::BAD_REQUEST, "INVALID_DATA", "one user per request");
    };
    let invalid = |field: &str| {
        crm_record(
            StatusCode::BAD_REQUEST,
            "INVALID_DATA",
            json!({"api_name": field}),
            "invalid data",
        )
    };
    let email = text(user, "email");
    if !email.contains('@') {
        return invalid("email");
    }
    if text(user, "last_name").is_empty() {
        return invalid("last_name");
    }
    if !CRM_ROLES.iter().any(|r| user["role"] == r.0) {
        return invalid("role");
    }
    if !CRM_PROFILES.iter().any(|p| user["profile"] == p.0) {
        return invalid("profile");
    }
    match state.users.invite(
        &tenant,
        &email,
        &text(user, "first_name"),
        &text(user, "last_name"),
    ) {
        Some(created) => crm_record(
            StatusCode::CREATED,
            "SUCCESS",
            json!({"id": created.id}),
            "User added",
        ),
        None => crm_record(
            StatusCode::BAD_REQUEST,
            "DUPLICATE_DATA",
            json!({"api_name": "email"}),
            "duplicate data",
        ),
    }
}

/// Updates one user; of its fields the sandbox keeps `status` (`active` or `inactive`).
async fn crm_update(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match crm_tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    state.users.count("PATCH");
    let Some(user) = body["users"].as_array().filter(|u| u.len() == 1).map(|u| &u[0]) else {
        return crm_error(StatusCode::BAD_REQUEST, "INVALID_DATA", "one user per request");
    };
    let active = match user["status"].as_str() {
        Some("active") => Some(true),
        Some("inactive") => Some(false),
        None => None,
        Some(_) => {
            return crm_record(
                StatusCode::BAD_REQUEST,
                "INVALID_DATA",
                json!({"api_name": "status"}),
                "invalid data",
            );
        }
    };
    let updated = match active {
        Some(active) => state.users.set_active(&tenant, &id, active),
        None => state.users.by_id(&tenant, &id),
    };
    match updated {
        Some(_) => crm_record(StatusCode::OK, "SUCCESS", json!({"id": id}), "User updated"),
        None => crm_record(
            StatusCode::BAD_REQUEST,
            "INVALID_DATA",
            json!({"id": id}),
            "the id given seems to be invalid",
        ),
    }
}

async fn crm_delete(AxState(state): AxState<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match crm_tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    state.users.count("DELETE");
    if state.users.remove(&tenant, &id) {
        crm_record(StatusCode::OK, "SUCCESS", json!({"id": id}), "User deleted")
    } else {
        crm_record(
            StatusCode::BAD_REQUEST,
            "INVALID_DATA",
            json!({"id": id}),
            "the id given seems to be invalid",
        )
    }
}
