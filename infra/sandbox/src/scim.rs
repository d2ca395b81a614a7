//! A SCIM 2.0 Users endpoint (the parts apps use for provisioning), per tenant, as the
//! sandbox's own SCIM app and as the SCIM APIs of Slack and Salesforce (`Kind`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::extract::{Extension, Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::{Sandbox, State};

const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// Marks invitations not yet accepted (the service's sandbox connector reads it).
const EXTENSION: &str = "urn:ietf:params:scim:schemas:extension:sandbox:2.0:User";
/// Names the tenant a token opens in `ServiceProviderConfig` (the sandbox app's own
/// documented extension).
const CONFIG_EXTENSION: &str = "urn:ietf:params:scim:schemas:extension:sandbox:2.0:ServiceProviderConfig";
const CONFIG_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

#[derive(Clone, Debug)]
pub(crate) struct User {
    pub id: String,
    /// The email (every fake keys its users by it).
    pub user_name: String,
    /// A SCIM `userName` other than the email, where the app has one (a Slack member's
    /// username, a Salesforce login).
    pub login: Option<String>,
    pub given: String,
    pub family: String,
    pub active: bool,
    /// Suspended where the app tells suspension apart from deactivation (Okta's SUSPENDED,
    /// LeanKit's disabled user): no sign-in, still active otherwise.
    pub suspended: bool,
    /// Created through the API: invited, not yet accepted.
    pub invite_pending: bool,
    version: u64,
}

impl User {
    fn etag(&self) -> String {
        format!("W/\"{}\"", self.version)
    }

    /// The SCIM `userName`: the login where there is one, else the email.
    fn scim_user_name(&self) -> &str {
        self.login.as_deref().unwrap_or(&self.user_name)
    }

    fn resource(&self) -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": self.id,
            "userName": self.scim_user_name(),
            "name": {"givenName": self.given, "familyName": self.family},
            "emails": [{"value": self.user_name, "primary": true, "type": "work"}],
            "active": self.active,
            EXTENSION: {"invitePending": self.invite_pending},
            "meta": {"resourceType": "User", "version": self.etag()}
        })
    }
}

#[derive(Default)]
pub(crate) struct Directory {
    tenants: HashMap<String, BTreeMap<String, User>>,
    next_id: u64,
    faults: Vec<u16>,
    /// Calls that change users, by method (`POST`, `PATCH`, `DELETE`).
    changes: HashMap<&'static str, usize>,
}

impl Directory {
    pub(crate) fn insert(&mut self, tenant: &str, email: &str, first: &str, last: &str) -> String {
        self.next_id += 1;
        // Zero-padded so the tenant's users list in creation order.
        let id = format!("u{:08}", self.next_id);
        self.tenants.entry(tenant.to_owned()).or_default().insert(
            id.clone(),
            User {
                id: id.clone(),
                user_name: email.to_owned(),
                login: None,
                given: first.to_owned(),
                family: last.to_owned(),
                active: true,
                suspended: false,
                invite_pending: false,
                version: 1,
            },
        );
        id
    }

    /// Gives a user a SCIM `userName` other than their email.
    pub(crate) fn set_login(&mut self, tenant: &str, id: &str, login: &str) {
        if let Some(user) = self.tenants.get_mut(tenant).and_then(|t| t.get_mut(id)) {
            user.login = Some(login.to_owned());
        }
    }

    pub(crate) fn emails(&self, tenant: &str) -> Vec<String> {
        self.tenants
            .get(tenant)
            .map(|t| t.values().map(|u| u.user_name.clone()).collect())
            .unwrap_or_default()
    }

    pub(crate) fn remove_by_email(&mut self, tenant: &str, email: &str) -> bool {
        let Some(users) = self.tenants.get_mut(tenant) else {
            return false;
        };
        let id = users
            .values()
            .find(|u| u.user_name.eq_ignore_ascii_case(email))
            .map(|u| u.id.clone());
        id.is_some_and(|id| users.remove(&id).is_some())
    }

    /// The person accepts the invitation sent to `email`; false when there is none.
    pub(crate) fn accept(&mut self, tenant: &str, email: &str) -> bool {
        let Some(user) = self.tenants.get_mut(tenant).and_then(|t| {
            t.values_mut()
                .find(|u| u.user_name.eq_ignore_ascii_case(email) && u.invite_pending)
        }) else {
            return false;
        };
        user.invite_pending = false;
        user.version += 1;
        true
    }

    /// A tenant's users in creation order.
    pub(crate) fn users(&self, tenant: &str) -> Vec<User> {
        self.tenants
            .get(tenant)
            .map(|t| t.values().cloned().collect())
            .unwrap_or_default()
    }

    /// One page of a tenant's users after the cursor `after` (the last id of the previous
    /// page: ids sort in creation order), with the next cursor when more follow.
    pub(crate) fn page(
        &self,
        tenant: &str,
        after: Option<&str>,
        limit: usize,
    ) -> (Vec<User>, Option<String>) {
        let mut rest: Vec<User> = self
            .users(tenant)
            .into_iter()
            .filter(|u| after.is_none_or(|a| u.id.as_str() > a))
            .collect();
        let more = rest.len() > limit;
        rest.truncate(limit);
        let next = more.then(|| rest.last().map(|u| u.id.clone())).flatten();
        (rest, next)
    }

    pub(crate) fn by_email(&self, tenant: &str, email: &str) -> Option<User> {
        self.tenants
            .get(tenant)?
            .values()
            .find(|u| u.user_name.eq_ignore_ascii_case(email))
            .cloned()
    }

    pub(crate) fn by_id(&self, tenant: &str, id: &str) -> Option<User> {
        self.tenants.get(tenant)?.get(id).cloned()
    }

    /// Creates an invited user; `None` when the email is taken.
    pub(crate) fn invite(&mut self, tenant: &str, email: &str, first: &str, last: &str) -> Option<User> {
        if self.by_email(tenant, email).is_some() {
            return None;
        }
        let id = self.insert(tenant, email, first, last);
        let user = self.tenants.get_mut(tenant)?.get_mut(&id)?;
        user.invite_pending = true;
        Some(user.clone())
    }

    /// Suspends (`false`) or reactivates a user; `None` when there is no such user.
    pub(crate) fn set_active(&mut self, tenant: &str, id: &str, active: bool) -> Option<User> {
        let user = self.tenants.get_mut(tenant)?.get_mut(id)?;
        user.active = active;
        user.version += 1;
        Some(user.clone())
    }

    /// Suspends (`true`) or unsuspends a user; `None` when there is no such user.
    pub(crate) fn set_suspended(&mut self, tenant: &str, id: &str, suspended: bool) -> Option<User> {
        let user = self.tenants.get_mut(tenant)?.get_mut(id)?;
        user.suspended = suspended;
        user.version += 1;
        Some(user.clone())
    }

    pub(crate) fn remove(&mut self, tenant: &str, id: &str) -> bool {
        self.tenants
            .get_mut(tenant)
            .is_some_and(|t| t.remove(id).is_some())
    }

    pub(crate) fn changes(&self, method: &str) -> usize {
        self.changes.get(method).copied().unwrap_or(0)
    }

    pub(crate) fn count(&mut self, method: &'static str) {
        *self.changes.entry(method).or_default() += 1;
    }

    pub(crate) fn clear_faults(&mut self) {
        self.faults.clear();
    }

    pub(crate) fn fail_next(&mut self, count: usize, status: u16) {
        self.faults.extend(std::iter::repeat_n(status, count));
    }
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
        Err(r) => return r.answer(),
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

/// Why a request gets no tenant.
pub(crate) enum Refusal {
    /// An injected fault answers with this status.
    Fault(StatusCode),
    Unauthorized,
}

impl Refusal {
    /// The status a refusal answers with.
    fn status(&self) -> StatusCode {
        match self {
            Refusal::Fault(status) => *status,
            Refusal::Unauthorized => StatusCode::UNAUTHORIZED,
        }
    }

    /// The refusal in a fake vendor's own error shape: `body` builds the answer for the
    /// status (401 for a bad token, 429 and others for injected faults); a 429 also gets
    /// `Retry-After`, as every vendor sends.
    pub(crate) fn answer_as(self, body: impl FnOnce(StatusCode) -> Response) -> Response {
        let status = self.status();
        let mut response = body(status);
        if status == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, "1".parse().expect("valid"));
        }
        response
    }

    fn answer(self) -> Response {
        self.answer_as(|status| match status {
            StatusCode::UNAUTHORIZED => error(status, "", "invalid or expired token"),
            _ => error(status, "", "injected fault"),
        })
    }
}

/// The password of HTTP Basic credentials (`Basic base64(user:password)`).
fn basic_password(value: &str) -> Option<String> {
    use base64::Engine as _;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let pair = String::from_utf8(decoded).ok()?;
    pair.split_once(':').map(|(_, password)| password.to_owned())
}

/// The tenant of the request's token (`Bearer`, Okta's `SSWS`, the password of HTTP Basic as
/// Sauce Labs' access key is, ClickUp's bare personal token, whose `pk_` is dropped
/// (`pk_sandbox-acme` opens `sandbox-acme`), the `oauth_token` of Trello's `OAuth
/// oauth_consumer_key="…", oauth_token="…"`, or Zoho's `Zoho-oauthtoken`); an injected fault
/// comes first.
pub(crate) fn tenant(state: &mut State, headers: &HeaderMap) -> Result<String, Refusal> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("SSWS "))
        .or_else(|| value.strip_prefix("Zoho-oauthtoken "))
        .or_else(|| value.strip_prefix("pk_"))
        .or_else(|| value.strip_prefix("OAuth ").and_then(oauth_token))
        .map(str::to_owned)
        .or_else(|| basic_password(value))
        .unwrap_or_default();
    tenant_of_token(state, &token)
}

/// The tenant a token opens, wherever the request carried it (LastPass's provisioning hash is
/// in the JSON body); an injected fault comes first.
pub(crate) fn tenant_of_token(state: &mut State, token: &str) -> Result<String, Refusal> {
    if !state.scim.faults.is_empty() {
        let status =
            StatusCode::from_u16(state.scim.faults.remove(0)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Err(Refusal::Fault(status));
    }
    Sandbox::tenant_of(state, token).ok_or(Refusal::Unauthorized)
}

/// The `oauth_token="…"` parameter of an `OAuth` authorization header.
fn oauth_token(params: &str) -> Option<&str> {
    params.split(',').find_map(|p| {
        p.trim()
            .strip_prefix("oauth_token=\"")
            .and_then(|v| v.strip_suffix('"'))
    })
}

fn with_etag(user: &User, status: StatusCode) -> Response {
    let mut response = (status, Json(user.resource())).into_response();
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
        Err(r) => return r.answer(),
    };
    let users: Vec<&User> = state
        .scim
        .tenants
        .get(&tenant)
        .map(|t| t.values().collect())
        .unwrap_or_default();
    let filtered: Vec<&User> = match q.get("filter") {
        Some(f) => {
            let Some(wanted) = f.strip_prefix("userName eq \"").and_then(|r| r.strip_suffix('"')) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalidFilter",
                    "only userName eq is supported",
                );
            };
            users
                .into_iter()
                .filter(|u| u.scim_user_name().eq_ignore_ascii_case(wanted))
                .collect()
        }
        None => users,
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
    let page: Vec<Value> = filtered
        .iter()
        .skip(start - 1)
        .take(count)
        .map(|u| u.resource())
        .collect();
    Json(json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": filtered.len(),
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
        Err(r) => return r.answer(),
    };
    state.scim.count("POST");
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
        state.scim.users(&tenant).iter().any(|u| {
            u.user_name.eq_ignore_ascii_case(email) || u.scim_user_name().eq_ignore_ascii_case(user_name)
        })
    };
    if taken(&state) {
        return match kind {
            Kind::Slack => error(StatusCode::CONFLICT, "uniqueness", "email_taken"),
            _ => error(StatusCode::CONFLICT, "uniqueness", "userName is already taken"),
        };
    }
    let Some(mut user) = state.scim.invite(&tenant, email, given, family) else {
        return error(StatusCode::CONFLICT, "uniqueness", "userName is already taken");
    };
    if !user_name.eq_ignore_ascii_case(email) {
        state.scim.set_login(&tenant, &user.id, user_name);
        user.login = Some(user_name.to_owned());
    }
    if kind == Kind::Slack {
        // Slack shows no invitation state: the member is active at once. (A Salesforce
        // user keeps `invite_pending` until their first sign-in: its LastLoginDate.)
        state.scim.accept(&tenant, email);
        user.invite_pending = false;
    }
    with_etag(&user, StatusCode::CREATED)
}

async fn read(AxState(state): AxState<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = match tenant(&mut state, &headers) {
        Ok(t) => t,
        Err(r) => return r.answer(),
    };
    match state.scim.tenants.get(&tenant).and_then(|t| t.get(&id)) {
        Some(user) => with_etag(user, StatusCode::OK),
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
        Err(r) => return r.answer(),
    };
    state.scim.count("PATCH");
    let if_match = headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Some(user) = state.scim.tenants.get_mut(&tenant).and_then(|t| t.get_mut(&id)) else {
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
        Err(r) => return r.answer(),
    };
    state.scim.count("DELETE");
    let done = match kind {
        Kind::Sandbox => state.scim.remove(&tenant, &id),
        // Deactivated, still listed.
        Kind::Slack | Kind::Salesforce => state.scim.set_active(&tenant, &id, false).is_some(),
    };
    if done {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::NOT_FOUND, "", "no such user")
    }
}
