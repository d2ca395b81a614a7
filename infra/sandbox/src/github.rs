//! GitHub's REST API for one organization's members and invitations (the paths of
//! `api.github.com`) over the sandbox's users, with GitHub's answers: one organization,
//! `sandbox-org`, which the token's user owns; members are the accepted users, each with a
//! login made from their email; invitations are the pending users (`login: null`, the
//! invitee has no GitHub account), with a numeric id; `Link` pages on
//! `https://api.github.com/…` by `page` number; no failed invitations; errors as
//! `{message, documentation_url, status}` (422 with `errors[]`).
//!
//! Stricter than GitHub: every call must send `Accept: application/vnd.github+json` and
//! `X-GitHub-Api-Version: 2022-11-28` (GitHub defaults both), so a connector that forgets
//! them fails here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::directory::User;
use crate::oauth;
use crate::state::{Refusal, State, page_size, tenant};

/// The one organization of the sandbox (its owner is whoever holds a token).
pub const ORG: &str = "sandbox-org";
/// An organization the token's user is a plain member of (not an owner).
pub const MEMBER_ORG: &str = "sandbox-member-org";
const API: &str = "https://api.github.com";
const DOCS: &str = "https://docs.github.com/rest/orgs/members";
const API_VERSION: &str = "2022-11-28";
const MEDIA_TYPE: &str = "application/vnd.github+json";

type Shared = Arc<Mutex<State>>;

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/user/memberships/orgs", get(my_memberships))
        .route("/user/memberships/orgs/{org}", get(my_membership))
        .route("/orgs/{org}", get(organization))
        .route("/orgs/{org}/members", get(members))
        .route("/orgs/{org}/invitations", get(invitations).post(invite))
        .route("/orgs/{org}/invitations/{id}", delete(cancel))
        .route("/orgs/{org}/failed_invitations", get(failed_invitations))
        .route(
            "/orgs/{org}/memberships/{login}",
            get(membership).delete(remove_membership),
        )
        .with_state(state.clone())
        .merge(authorization_server(state))
}

/// GitHub's authorization server (`github.com`): client credentials in the body,
/// answers without a refresh token or expiry (a classic OAuth app token lasts until
/// revoked), and token errors with HTTP 200 as GitHub sends them.
fn authorization_server(state: Shared) -> Router {
    oauth::server(
        state,
        "github",
        [
            "/login/oauth/authorize",
            "/login/oauth/decide",
            "/login/oauth/access_token",
        ],
        post(github_token),
    )
}

/// GitHub's `/login/oauth/access_token`: `{access_token, token_type, scope}` only; a bad
/// client or code is an `error` in an HTTP 200 answer (GitHub's own error names).
async fn github_token(
    AxState(oauth::Issuer { state, tenant }): AxState<oauth::Issuer>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let refusal = |error: &str, description: &str| {
        Json(json!({"error": error, "error_description": description,
                    "error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors"}))
        .into_response()
    };
    if !oauth::client_in_body(&form) {
        return refusal(
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
        );
    }
    let mut state = state.lock().expect("sandbox lock");
    match oauth::grant(&mut state, &form, &tenant) {
        Ok(tokens) => Json(json!({
            "access_token": tokens["access_token"], "token_type": "bearer", "scope": "admin:org"
        }))
        .into_response(),
        Err(_) => refusal(
            "bad_verification_code",
            "The code passed is incorrect or expired.",
        ),
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({"message": message, "documentation_url": DOCS, "status": status.as_u16().to_string()});
    (status, Json(body)).into_response()
}

/// GitHub's 422 with one validation error.
fn unprocessable(message: &str) -> Response {
    let body = json!({
        "message": "Validation Failed",
        "errors": [{"resource": "OrganizationInvitation", "code": "unprocessable", "field": "data", "message": message}],
        "documentation_url": format!("{DOCS}#create-an-organization-invitation"),
        "status": "422"
    });
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

fn refused(refusal: Refusal) -> Response {
    refusal.answer_as(|status| match status {
        StatusCode::UNAUTHORIZED => error(status, "Bad credentials"),
        StatusCode::TOO_MANY_REQUESTS | StatusCode::FORBIDDEN => error(
            status,
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        ),
        _ => error(status, "sandbox: injected fault"),
    })
}

/// The headers GitHub recommends, required here.
fn headers_missing(headers: &HeaderMap) -> Option<Response> {
    let is = |name: &str, want: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == want)
    };
    if !is(header::ACCEPT.as_str(), MEDIA_TYPE) || !is("x-github-api-version", API_VERSION) {
        return Some(error(
            StatusCode::BAD_REQUEST,
            "sandbox: send Accept: application/vnd.github+json and X-GitHub-Api-Version: 2022-11-28",
        ));
    }
    None
}

/// The request's tenant, or the answer refusing it (missing headers, a bad token, an
/// organization other than the sandbox's).
macro_rules! github_tenant {
    ($state:expr, $headers:expr, $org:expr) => {{
        if let Some(answer) = headers_missing(&$headers) {
            return answer;
        }
        let tenant = tenant_or_refuse!($state, $headers);
        if !$org.eq_ignore_ascii_case(ORG) {
            return error(StatusCode::NOT_FOUND, "Not Found");
        }
        tenant
    }};
}

/// A login made from the email's local part (what the person would have picked), unique
/// among the tenant's members by a numeric suffix.
fn login_base(email: &str) -> String {
    let local = email.split('@').next().unwrap_or_default();
    let mut login = String::new();
    for c in local.chars() {
        let c = if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '-'
        };
        if !(c == '-' && (login.is_empty() || login.ends_with('-'))) {
            login.push(c);
        }
    }
    let login: String = login.trim_end_matches('-').chars().take(30).collect();
    if login.is_empty() {
        "member".to_owned()
    } else {
        login
    }
}

/// The tenant's members (accepted users) with their logins, in creation order.
fn members_of(state: &State, tenant: &str) -> Vec<(String, User)> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    state
        .users
        .users(tenant)
        .into_iter()
        .filter(|u| !u.invite_pending)
        .map(|u| {
            let base = login_base(&u.user_name);
            let n = seen.entry(base.clone()).or_default();
            *n += 1;
            let login = if *n == 1 { base } else { format!("{base}-{n}") };
            (login, u)
        })
        .collect()
}

/// The number in the sandbox's user id: a member's GitHub id, a pending user's invitation id.
fn number(user: &User) -> u64 {
    user.id.trim_start_matches('u').parse().unwrap_or_default()
}

fn pending_of(state: &State, tenant: &str) -> Vec<User> {
    state
        .users
        .users(tenant)
        .into_iter()
        .filter(|u| u.invite_pending)
        .collect()
}

fn simple_user(login: &str, id: u64) -> Value {
    json!({"login": login, "id": id, "type": "User", "site_admin": false,
           "url": format!("{API}/users/{login}"), "html_url": format!("https://github.com/{login}")})
}

fn invitation_json(user: &User) -> Value {
    json!({
        "id": number(user), "node_id": format!("OI_{}", user.id), "login": null, "email": user.user_name,
        "role": "direct_member", "created_at": "2025-01-01T00:00:00Z", "failed_at": null, "failed_reason": null,
        "inviter": simple_user("sandbox-owner", 1), "team_count": 0,
        "invitation_teams_url": format!("{API}/organizations/1/invitations/{}/teams", number(user)),
        "invitation_source": "member"
    })
}

fn membership_json(login: &str, state: &str, role: &str) -> Value {
    membership_in(ORG, login, state, role)
}

fn membership_in(org: &str, login: &str, state: &str, role: &str) -> Value {
    json!({
        "url": format!("{API}/orgs/{org}/memberships/{login}"), "state": state, "role": role,
        "organization_url": format!("{API}/orgs/{org}"),
        "organization": {"login": org, "id": 1, "url": format!("{API}/orgs/{org}")},
        "user": simple_user(login, 1)
    })
}

/// One page of `items` (1-based `page`, `per_page` at most 100) with GitHub's `Link`
/// header on `https://api.github.com{path}`.
fn paged(items: Vec<Value>, query: &HashMap<String, String>, path: &str) -> Response {
    let per_page = page_size(query, "per_page", 30, 100);
    let page: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let last = items.len().div_ceil(per_page).max(1);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let mut response = Json(slice).into_response();
    let link_to = |p: usize, rel: &str| format!("<{API}{path}?per_page={per_page}&page={p}>; rel=\"{rel}\"");
    let mut links = Vec::new();
    if page < last {
        links.push(link_to(page + 1, "next"));
        links.push(link_to(last, "last"));
    }
    if page > 1 {
        links.push(link_to(1, "first"));
        links.push(link_to(page - 1, "prev"));
    }
    if !links.is_empty()
        && let Ok(value) = links.join(", ").parse()
    {
        response.headers_mut().insert(header::LINK, value);
    }
    response
}

/// The token's user owns the sandbox organization.
async fn my_memberships(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    if let Some(answer) = headers_missing(&headers) {
        return answer;
    }
    let _ = tenant_or_refuse!(state, headers);
    if q.get("state").is_some_and(|s| s != "active") {
        return Json(json!([])).into_response();
    }
    Json(json!([
        membership_json("sandbox-owner", "active", "admin"),
        membership_in(MEMBER_ORG, "sandbox-owner", "active", "member")
    ]))
    .into_response()
}

/// The token's user's membership of one organization: owner of the sandbox organization, a
/// plain member of `MEMBER_ORG`, not a member (404) of any other.
async fn my_membership(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(org): Path<String>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    if let Some(answer) = headers_missing(&headers) {
        return answer;
    }
    let _ = tenant_or_refuse!(state, headers);
    match org.as_str() {
        ORG => Json(membership_json("sandbox-owner", "active", "admin")).into_response(),
        MEMBER_ORG => Json(membership_in(MEMBER_ORG, "sandbox-owner", "active", "member")).into_response(),
        _ => error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// `GET /orgs/{org}`: the organization's numeric id and login.
async fn organization(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(org): Path<String>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    if let Some(answer) = headers_missing(&headers) {
        return answer;
    }
    let _ = tenant_or_refuse!(state, headers);
    let id = match org.as_str() {
        ORG => 9_100_001,
        MEMBER_ORG => 9_100_002,
        _ => return error(StatusCode::NOT_FOUND, "Not Found"),
    };
    Json(json!({"login": org, "id": id, "url": format!("{API}/orgs/{org}"), "name": org})).into_response()
}

async fn members(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(org): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    // A plain member may list the members of their organization too (only owners may
    // invite or remove).
    if org.eq_ignore_ascii_case(MEMBER_ORG) {
        if let Some(answer) = headers_missing(&headers) {
            return answer;
        }
        let _ = tenant_or_refuse!(state, headers);
        let mut response = paged(
            vec![simple_user("sandbox-owner", 1)],
            &q,
            &format!("/orgs/{MEMBER_ORG}/members"),
        );
        response
            .headers_mut()
            .insert("x-oauth-scopes", "admin:org".parse().expect("valid"));
        return response;
    }
    let tenant = github_tenant!(state, headers, org);
    let items = members_of(&state, &tenant)
        .iter()
        .map(|(login, user)| simple_user(login, number(user)))
        .collect();
    let mut response = paged(items, &q, &format!("/orgs/{ORG}/members"));
    // A classic OAuth token's scopes, as GitHub lists them.
    response
        .headers_mut()
        .insert("x-oauth-scopes", "admin:org".parse().expect("valid"));
    response
}

async fn invitations(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(org): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = github_tenant!(state, headers, org);
    let items = pending_of(&state, &tenant).iter().map(invitation_json).collect();
    paged(items, &q, &format!("/orgs/{ORG}/invitations"))
}

/// No invitation of the sandbox fails or expires.
async fn failed_invitations(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(org): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let _ = github_tenant!(state, headers, org);
    paged(Vec::new(), &q, &format!("/orgs/{ORG}/failed_invitations"))
}

/// An invitation to an email: pending until the person accepts.
async fn invite(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(org): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = github_tenant!(state, headers, org);
    state.users.count("POST");
    let Some(email) = body["email"].as_str().filter(|e| e.contains('@')) else {
        return unprocessable("Invitee email or invitee_id is required");
    };
    let role = body["role"].as_str().unwrap_or("direct_member");
    if !["direct_member", "admin", "billing_manager", "reinstate"].contains(&role) {
        return unprocessable("role is not included in the list");
    }
    if let Some(existing) = state.users.by_email(&tenant, email) {
        return unprocessable(if existing.invite_pending {
            "Invitee is already invited"
        } else {
            "A user with this email address is already a part of this organization"
        });
    }
    match state.users.invite(&tenant, email, "", "") {
        Some(user) => (StatusCode::CREATED, Json(invitation_json(&user))).into_response(),
        None => error(StatusCode::INTERNAL_SERVER_ERROR, "sandbox: invite failed"),
    }
}

async fn cancel(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path((org, id)): Path<(String, String)>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = github_tenant!(state, headers, org);
    state.users.count("DELETE");
    let Ok(id) = id.parse::<u64>() else {
        return unprocessable("invitation_id is invalid");
    };
    let found = pending_of(&state, &tenant).into_iter().find(|u| number(u) == id);
    match found {
        Some(user) => {
            state.users.remove(&tenant, &user.id);
            StatusCode::NO_CONTENT.into_response()
        }
        None => error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// A member by login (pending invitees have no login in the sandbox: they have no account).
fn member_by_login(state: &State, tenant: &str, login: &str) -> Option<User> {
    members_of(state, tenant)
        .into_iter()
        .find(|(l, _)| l.eq_ignore_ascii_case(login))
        .map(|(_, u)| u)
}

async fn membership(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path((org, login)): Path<(String, String)>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = github_tenant!(state, headers, org);
    match member_by_login(&state, &tenant, &login) {
        Some(_) => Json(membership_json(&login, "active", "member")).into_response(),
        None => error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// Removes the member from the organization.
async fn remove_membership(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path((org, login)): Path<(String, String)>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = github_tenant!(state, headers, org);
    state.users.count("DELETE");
    match member_by_login(&state, &tenant, &login) {
        Some(user) => {
            state.users.remove(&tenant, &user.id);
            StatusCode::NO_CONTENT.into_response()
        }
        None => error(StatusCode::NOT_FOUND, "Not Found"),
    }
}
