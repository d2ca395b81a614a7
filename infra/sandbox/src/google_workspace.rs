//! Google Workspace's Admin SDK Directory API (`/admin/directory/v1/…`, on
//! `admin.googleapis.com`) over the sandbox's users, with Google's answers: `Bearer` tokens,
//! `customer=my_customer`, `nextPageToken` pages, 200 (not 201) on create, 409 `duplicate`,
//! and errors as `{"error": {"code", "message", "errors": [{"domain", "reason", "message"}]}}`.
//! Over the limit Google answers 403 `userRateLimitExceeded` (no `Retry-After`): an injected
//! 429 fault answers that way.
//!
//! - `GET /users?customer=my_customer&maxResults=…&pageToken=…`, `GET|PUT|DELETE /users/{userKey}`
//!   (an id or a primary email), `POST /users` (a password of 8 to 100 characters is
//!   required; created users have not signed in yet: `agreedToTerms: false` until the
//!   sandbox's "accept").
//! - `GET /customer/my_customer/domains`: the primary domain `sandbox-workspace.test`, the
//!   domains added with `Sandbox::add_workspace_domain`, and the domains of the tenant's users
//!   (a Workspace's users are on its domains), all verified. Users are created only there.
//! - `GET /groups?customer=my_customer&maxResults=…&pageToken=…` and
//!   `POST /groups/{groupKey}/members`: three groups per tenant (Everyone, Engineering,
//!   Sales, on the primary domain), kept here with their members.

use std::collections::{BTreeSet, HashMap};
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

/// The primary domain of every sandbox Workspace.
pub const PRIMARY_DOMAIN: &str = "sandbox-workspace.test";
/// The customer id `my_customer` stands for.
const CUSTOMER_ID: &str = "C0sandbox";
const API: &str = "/admin/directory/v1";

type Shared = Arc<Mutex<State>>;

struct Group {
    id: String,
    email: String,
    name: String,
    /// Member user ids.
    members: BTreeSet<String>,
}

/// One tenant's Workspace beyond its users.
#[derive(Default)]
struct Workspace {
    /// Secondary domains added by tests and demos.
    domains: Vec<String>,
    /// Created on first use.
    groups: Option<Vec<Group>>,
    /// Recovery emails set at creation, by user id.
    recovery: HashMap<String, String>,
}

impl Workspace {
    fn groups(&mut self) -> &mut Vec<Group> {
        self.groups.get_or_insert_with(|| {
            [
                ("everyone", "Everyone"),
                ("engineering", "Engineering"),
                ("sales", "Sales"),
            ]
            .iter()
            .enumerate()
            .map(|(i, (local, name))| Group {
                id: format!("0sbxgrp{:010}", i + 1),
                email: format!("{local}@{PRIMARY_DOMAIN}"),
                name: (*name).to_owned(),
                members: BTreeSet::new(),
            })
            .collect()
        })
    }

    fn group(&mut self, key: &str) -> Option<&mut Group> {
        self.groups()
            .iter_mut()
            .find(|g| g.id == key || g.email.eq_ignore_ascii_case(key))
    }
}

/// The sandbox's Workspaces, by tenant.
#[derive(Default)]
pub(crate) struct Workspaces {
    tenants: HashMap<String, Workspace>,
}

impl Workspaces {
    fn of(&mut self, tenant: &str) -> &mut Workspace {
        self.tenants.entry(tenant.to_owned()).or_default()
    }

    pub(crate) fn add_domain(&mut self, tenant: &str, domain: &str) {
        let domain = domain.trim().to_ascii_lowercase();
        let workspace = self.of(tenant);
        if !workspace.domains.contains(&domain) {
            workspace.domains.push(domain);
        }
    }

    /// The user ids of a group's members (the group by its id or email).
    pub(crate) fn member_ids(&mut self, tenant: &str, group: &str) -> Vec<String> {
        self.of(tenant)
            .group(group)
            .map(|g| g.members.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub(crate) fn recovery_email(&self, tenant: &str, id: &str) -> Option<String> {
        self.tenants.get(tenant)?.recovery.get(id).cloned()
    }
}

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route(&format!("{API}/users"), get(list).post(create))
        .route(
            &format!("{API}/users/{{key}}"),
            get(read).put(update).delete(remove),
        )
        .route(&format!("{API}/customer/{{customer}}/domains"), get(domains))
        .route(&format!("{API}/customers/{{customer}}"), get(customer))
        .route(&format!("{API}/groups"), get(groups))
        .route(&format!("{API}/groups/{{key}}/members"), post(add_member))
        .with_state(state.clone())
        .merge(authorization_server(state))
}

/// Google's authorization server (`accounts.google.com` and `oauth2.googleapis.com` both land
/// here): credentials in the body, and refresh tokens that do not rotate.
fn authorization_server(state: Shared) -> Router {
    oauth::server(
        state,
        "google_workspace",
        ["/o/oauth2/v2/auth", "/o/oauth2/v2/decide", "/token"],
        post(google_token),
    )
}

/// The Directory API scopes the Google Workspace connector asks for.
const GOOGLE_SCOPES: &str = "https://www.googleapis.com/auth/admin.directory.user https://www.googleapis.com/auth/admin.directory.group.readonly https://www.googleapis.com/auth/admin.directory.group.member https://www.googleapis.com/auth/admin.directory.domain.readonly https://www.googleapis.com/auth/admin.directory.customer.readonly";

/// Google's `/token`: credentials in the body, `token_type: Bearer`, and a refresh that
/// answers a new access token only: the refresh token stays valid (Google does not rotate it).
async fn google_token(
    AxState(oauth::Issuer { state, tenant }): AxState<oauth::Issuer>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !oauth::client_in_body(&form) {
        return oauth::token_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let refreshing = form.get("grant_type").map(String::as_str) == Some("refresh_token");
    let presented = form.get("refresh_token").cloned().unwrap_or_default();
    let mut state = state.lock().expect("sandbox lock");
    match oauth::grant(&mut state, &form, &tenant) {
        Ok(mut tokens) => {
            if refreshing
                && let Some(fields) = tokens.as_object_mut()
                && let Some(issued) = fields
                    .remove("refresh_token")
                    .and_then(|t| t.as_str().map(str::to_owned))
            {
                state.tokens.keep_refresh(presented, &issued);
            }
            tokens["token_type"] = json!("Bearer");
            tokens["expires_in"] = json!(oauth::ACCESS_TOKEN_SECONDS - 1);
            tokens["scope"] = json!(GOOGLE_SCOPES);
            Json(tokens).into_response()
        }
        Err((status, error)) => oauth::token_error(status, error),
    }
}

/// Google's error body.
fn error(status: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({"error": {
        "code": status.as_u16(), "message": message,
        "errors": [{"message": message, "domain": "global", "reason": reason}]
    }});
    (status, Json(body)).into_response()
}

fn refused(refusal: Refusal) -> Response {
    match refusal {
        // Google's rate limit is a 403 with a reason, and no header saying how long to wait.
        Refusal::Fault(StatusCode::TOO_MANY_REQUESTS) => error(
            StatusCode::FORBIDDEN,
            "userRateLimitExceeded",
            "User Rate Limit Exceeded",
        ),
        other => other.answer_as(|status| match status {
            StatusCode::UNAUTHORIZED => error(status, "authError", "Invalid Credentials"),
            s if s.is_server_error() => error(status, "backendError", "Backend Error"),
            s => error(s, "failedPrecondition", "injected fault"),
        }),
    }
}

fn not_found(what: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "notFound",
        &format!("Resource Not Found: {what}"),
    )
}

fn user_json(user: &User) -> Value {
    json!({
        "kind": "admin#directory#user",
        "id": user.id,
        "etag": format!("\"sandbox-{}\"", user.id),
        "primaryEmail": user.user_name,
        "name": {
            "givenName": user.given, "familyName": user.family,
            "fullName": format!("{} {}", user.given, user.family).trim()
        },
        "isAdmin": false,
        "isDelegatedAdmin": false,
        // Created through the API and not signed in yet.
        "agreedToTerms": !user.invite_pending,
        "suspended": !user.active,
        "archived": false,
        "changePasswordAtNextLogin": user.invite_pending,
        "customerId": CUSTOMER_ID,
        "orgUnitPath": "/",
        "isMailboxSetup": true,
        "includeInGlobalAddressList": true
    })
}

/// `my_customer` or the customer's id.
fn is_customer(customer: &str) -> bool {
    customer == "my_customer" || customer == CUSTOMER_ID
}

fn domain_of(email: &str) -> Option<String> {
    email
        .trim()
        .rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase())
        .filter(|d| !d.is_empty())
}

/// The tenant's domains: primary first, then added ones, then those of its users.
fn tenant_domains(state: &mut State, tenant: &str) -> Vec<String> {
    let mut domains = vec![PRIMARY_DOMAIN.to_owned()];
    let added = state.part::<Workspaces>().of(tenant).domains.clone();
    let of_users = state
        .users
        .emails(tenant)
        .iter()
        .filter_map(|e| domain_of(e))
        .collect::<Vec<_>>();
    for domain in added.into_iter().chain(of_users) {
        if !domains.contains(&domain) {
            domains.push(domain);
        }
    }
    domains
}

/// A user by Google's `userKey`: the id or the primary email.
fn by_key(state: &State, tenant: &str, key: &str) -> Option<User> {
    state
        .users
        .by_id(tenant, key)
        .or_else(|| state.users.by_email(tenant, key))
}

/// Google's refusal of a listing without a `customer` (or `domain`), or for another customer.
fn bad_customer(q: &HashMap<String, String>) -> Option<Response> {
    let ok = match (q.get("customer"), q.get("domain")) {
        (Some(c), _) => is_customer(c),
        (None, domain) => domain.is_some(),
    };
    (!ok).then(|| error(StatusCode::BAD_REQUEST, "badRequest", "Bad Request"))
}

async fn list(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    if let Some(refusal) = bad_customer(&q) {
        return refusal;
    }
    let limit = page_size(&q, "maxResults", 100, 500);
    let (mut page, mut next) = state
        .users
        .page(&tenant, q.get("pageToken").map(String::as_str), limit);
    if let Some(domain) = q.get("domain").map(|d| d.to_ascii_lowercase()) {
        // One domain: the whole filtered list (the sandbox's tenants are small).
        page = state
            .users
            .users(&tenant)
            .into_iter()
            .filter(|u| domain_of(&u.user_name).as_deref() == Some(domain.as_str()))
            .collect();
        next = None;
    }
    let mut answer = json!({
        "kind": "admin#directory#users",
        "etag": "\"sandbox\"",
        "users": page.iter().map(user_json).collect::<Vec<_>>()
    });
    if let Some(token) = next {
        answer["nextPageToken"] = json!(token);
    }
    Json(answer).into_response()
}

async fn create(AxState(state): AxState<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    state.users.count("POST");
    let Some(email) = body["primaryEmail"]
        .as_str()
        .map(str::trim)
        .filter(|e| e.contains('@'))
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "required",
            "Invalid Input: primary_user_email",
        );
    };
    let (given, family) = (
        body["name"]["givenName"].as_str().unwrap_or_default(),
        body["name"]["familyName"].as_str().unwrap_or_default(),
    );
    if given.trim().is_empty() || family.trim().is_empty() {
        return error(StatusCode::BAD_REQUEST, "required", "Required");
    }
    let password_ok = body["password"]
        .as_str()
        .is_some_and(|p| (8..=100).contains(&p.len()) && p.is_ascii());
    if !password_ok {
        return error(StatusCode::BAD_REQUEST, "invalid", "Invalid Password");
    }
    let domain = domain_of(email).unwrap_or_default();
    if !tenant_domains(&mut state, &tenant).contains(&domain) {
        return error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Not Authorized to access this resource/api",
        );
    }
    let Some(user) = state.users.invite(&tenant, email, given, family) else {
        return error(StatusCode::CONFLICT, "duplicate", "Entity already exists.");
    };
    let mut answer = user_json(&user);
    if let Some(recovery) = body["recoveryEmail"].as_str() {
        state
            .part::<Workspaces>()
            .of(&tenant)
            .recovery
            .insert(user.id.clone(), recovery.to_owned());
        answer["recoveryEmail"] = json!(recovery);
    }
    answer["changePasswordAtNextLogin"] = json!(body["changePasswordAtNextLogin"].as_bool().unwrap_or(false));
    Json(answer).into_response()
}

async fn read(AxState(state): AxState<Shared>, headers: HeaderMap, Path(key): Path<String>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    if let Some(domain) = domain_of(&key)
        && !tenant_domains(&mut state, &tenant).contains(&domain)
    {
        // Google's answer for a user outside the customer's domains.
        return error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Not Authorized to access this resource/api",
        );
    }
    match by_key(&state, &tenant, &key) {
        Some(user) => Json(user_json(&user)).into_response(),
        None => not_found("userKey"),
    }
}

/// `users.update` with a partial body: only `suspended` is understood.
async fn update(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(key): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    state.users.count("PATCH");
    let Some(user) = by_key(&state, &tenant, &key) else {
        return not_found("userKey");
    };
    let user = match body.get("suspended").map(Value::as_bool) {
        None => user,
        Some(Some(suspended)) => match state.users.set_active(&tenant, &user.id, !suspended) {
            Some(user) => user,
            None => return not_found("userKey"),
        },
        Some(None) => {
            return error(StatusCode::BAD_REQUEST, "invalid", "Invalid value for: suspended");
        }
    };
    Json(user_json(&user)).into_response()
}

async fn remove(AxState(state): AxState<Shared>, headers: HeaderMap, Path(key): Path<String>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    state.users.count("DELETE");
    let Some(user) = by_key(&state, &tenant, &key) else {
        return not_found("userKey");
    };
    state.users.remove(&tenant, &user.id);
    for group in state.part::<Workspaces>().of(&tenant).groups() {
        group.members.remove(&user.id);
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `customers.get`: the customer the token opens, named by its primary domain.
async fn customer(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(customer): Path<String>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    if !is_customer(&customer) {
        return error(StatusCode::BAD_REQUEST, "badRequest", "Bad Request");
    }
    Json(json!({
        "kind": "admin#directory#customer",
        "id": format!("C{}", crate::tenants::tenant_id(&tenant)),
        "customerDomain": PRIMARY_DOMAIN,
        "language": "en"
    }))
    .into_response()
}

async fn domains(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(customer): Path<String>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    if !is_customer(&customer) {
        return error(StatusCode::BAD_REQUEST, "badRequest", "Bad Request");
    }
    let domains: Vec<Value> = tenant_domains(&mut state, &tenant)
        .into_iter()
        .map(|d| {
            json!({
                "kind": "admin#directory#domain", "domainName": d, "isPrimary": d == PRIMARY_DOMAIN,
                "verified": true, "creationTime": "1700000000000", "domainAliases": []
            })
        })
        .collect();
    Json(json!({"kind": "admin#directory#domains", "etag": "\"sandbox\"", "domains": domains}))
        .into_response()
}

async fn groups(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    if let Some(refusal) = bad_customer(&q) {
        return refusal;
    }
    let limit = page_size(&q, "maxResults", 200, 200);
    // The token is the index of the page's first group.
    let start: usize = match q.get("pageToken").map(|t| t.parse()) {
        None => 0,
        Some(Ok(start)) => start,
        Some(Err(_)) => return error(StatusCode::BAD_REQUEST, "invalid", "Invalid page token"),
    };
    let all = state.part::<Workspaces>().of(&tenant).groups();
    let page: Vec<Value> = all
        .iter()
        .skip(start)
        .take(limit)
        .map(|g| {
            json!({
                "kind": "admin#directory#group", "id": g.id, "email": g.email, "name": g.name,
                "description": "", "directMembersCount": g.members.len().to_string(), "adminCreated": true
            })
        })
        .collect();
    let mut answer = json!({"kind": "admin#directory#groups", "etag": "\"sandbox\"", "groups": page});
    if start + limit < all.len() {
        answer["nextPageToken"] = json!((start + limit).to_string());
    }
    Json(answer).into_response()
}

async fn add_member(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(key): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = tenant_or_refuse!(state, headers);
    let role = body["role"].as_str().unwrap_or("MEMBER").to_owned();
    if !["MEMBER", "MANAGER", "OWNER"].contains(&role.as_str()) {
        return error(StatusCode::BAD_REQUEST, "invalid", "Invalid Input: role");
    }
    let member_key = body["email"].as_str().or_else(|| body["id"].as_str());
    let Some(user) = member_key.and_then(|k| by_key(&state, &tenant, k)) else {
        return not_found("memberKey");
    };
    let Some(group) = state.part::<Workspaces>().of(&tenant).group(&key) else {
        return not_found("groupKey");
    };
    if !group.members.insert(user.id.clone()) {
        return error(StatusCode::CONFLICT, "duplicate", "Member already exists.");
    }
    Json(json!({
        "kind": "admin#directory#member", "id": user.id, "email": user.user_name,
        "role": role, "type": "USER", "status": "ACTIVE"
    }))
    .into_response()
}
