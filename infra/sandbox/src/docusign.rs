//! DocuSign's eSignature REST users (`/restapi/v2.1/accounts/{accountId}/users`) over the
//! sandbox's users, with DocuSign's answers: one account ([`ACCOUNT_ID`], named by the
//! sandbox's `/oauth/userinfo` at [`BASE_URI`]), `count`/`start_position` pages with their
//! positions as strings, `status` and `email` filters, new users `ActivationSent` until they
//! accept, per-user `errorDetails` inside a 201 or 200, closing instead of deleting, and errors
//! as `{errorCode, message}` (429 with `X-RateLimit-Reset` over the limit).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::directory::User;
use crate::oauth;
use crate::state::{Refusal, State, page_size, tenant};

/// The sandbox's DocuSign account (the default account of every sandbox token).
pub const ACCOUNT_ID: &str = "5a4d0c00-5a4d-4b0c-8d0c-000000000001";
/// The account's API host, as userinfo names it (route `*.docusign.net` to the sandbox).
pub const BASE_URI: &str = "https://sandbox.docusign.net";

type Shared = Arc<Mutex<State>>;

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route(
            "/restapi/v2.1/accounts/{account}/users",
            get(list).post(create).delete(close),
        )
        .route("/restapi/v2.1/accounts/{account}/users/{id}", get(read))
        .route("/oauth/userinfo", get(docusign_userinfo))
        .with_state(state.clone())
        .merge(authorization_server(state))
}

/// DocuSign's authorization server (`account.docusign.com` and, for demo connections,
/// `account-d.docusign.com` both land here): our client in HTTP Basic authentication only,
/// eight-hour access tokens; its `/oauth/userinfo` names the sandbox's DocuSign account.
fn authorization_server(state: Shared) -> Router {
    oauth::server(
        state,
        "docusign",
        ["/oauth/auth", "/oauth/decide", "/oauth/token"],
        post(docusign_token),
    )
}

/// DocuSign's `/oauth/token`: the integration key and secret only as HTTP Basic
/// authentication; access tokens last eight hours (`expires_in` 28800).
async fn docusign_token(
    AxState(oauth::Issuer { state, tenant }): AxState<oauth::Issuer>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Basic "));
    if !basic
        || oauth::client(&headers, &form)
            != Some((oauth::CLIENT_ID.to_owned(), oauth::CLIENT_SECRET.to_owned()))
    {
        return oauth::token_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let mut state = state.lock().expect("sandbox lock");
    match oauth::grant(&mut state, &form, &tenant) {
        Ok(mut tokens) => {
            tokens["token_type"] = json!("Bearer");
            tokens["expires_in"] = json!(28800);
            if let Some(fields) = tokens.as_object_mut() {
                fields.remove("scope");
            }
            Json(tokens).into_response()
        }
        Err((status, error)) => oauth::token_error(status, error),
    }
}

/// DocuSign's `/oauth/userinfo`: the token's user and their one (default) account, whose
/// `base_uri` is the sandbox's `*.docusign.net` host.
async fn docusign_userinfo(AxState(state): AxState<Shared>, headers: HeaderMap) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    if let Err(refusal) = tenant(&mut state, &headers) {
        return refused(refusal);
    }
    Json(json!({
        "sub": "5a4d0c00-0000-4000-8000-00000000a0d1",
        "name": "Sandbox Admin",
        "given_name": "Sandbox",
        "family_name": "Admin",
        "created": "2025-01-01T00:00:00.000",
        "email": "admin@sandbox.test",
        "accounts": [{
            "account_id": ACCOUNT_ID,
            "is_default": true,
            "account_name": "Sandbox DocuSign account",
            "base_uri": BASE_URI
        }]
    }))
    .into_response()
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"errorCode": code, "message": message}))).into_response()
}

pub(crate) fn refused(refusal: Refusal) -> Response {
    refusal.answer_as(|status| match status {
        StatusCode::TOO_MANY_REQUESTS => {
            let mut response = error(
                status,
                "HOURLY_APIINVOCATION_LIMIT_EXCEEDED",
                "The maximum number of hourly API invocations has been exceeded.",
            );
            let soon = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() + 1)
                .unwrap_or_default();
            for (name, value) in [
                ("x-ratelimit-reset", soon.to_string()),
                ("x-ratelimit-remaining", "0".to_owned()),
                ("x-ratelimit-limit", "3000".to_owned()),
            ] {
                if let Ok(value) = value.parse() {
                    response.headers_mut().insert(name, value);
                }
            }
            response
        }
        StatusCode::UNAUTHORIZED => error(
            status,
            "AUTHORIZATION_INVALID_TOKEN",
            "The access token provided is expired, revoked or malformed.",
        ),
        _ => error(
            status,
            "UNSPECIFIED_ERROR",
            "An unexpected error occurred (injected fault).",
        ),
    })
}

fn no_such_user() -> Value {
    json!({"errorCode": "USER_DOES_NOT_EXIST_IN_SYSTEM", "message": "The user does not exist in the system."})
}

/// DocuSign's `userStatus`: closing makes a user inactive.
fn status(user: &User) -> &'static str {
    match (user.active, user.invite_pending) {
        (false, _) => "Closed",
        (true, true) => "ActivationSent",
        (true, false) => "Active",
    }
}

fn full_name(user: &User) -> String {
    format!("{} {}", user.given, user.family).trim().to_owned()
}

/// A listing's `userInfo`.
fn user_info(user: &User) -> Value {
    json!({
        "userId": user.id, "userName": full_name(user), "userType": "CompanyUser",
        "userStatus": status(user), "uri": format!("/users/{}", user.id), "email": user.user_name,
    })
}

/// `GET users/{id}`'s `userInformation`.
fn user_information(user: &User) -> Value {
    json!({
        "userId": user.id, "userName": full_name(user), "firstName": user.given, "lastName": user.family,
        "userType": "CompanyUser", "userStatus": status(user), "uri": format!("/users/{}", user.id),
        "email": user.user_name, "isAdmin": "False", "permissionProfileName": "DocuSign Sender",
    })
}

/// The tenant of a request to the sandbox account, or DocuSign's refusal.
macro_rules! account_tenant {
    ($state:expr, $headers:expr, $account:expr) => {{
        let tenant = tenant_or_refuse!($state, $headers);
        if !$account.eq_ignore_ascii_case(ACCOUNT_ID) {
            return error(
                StatusCode::BAD_REQUEST,
                "USER_LACKS_MEMBERSHIP",
                "The UserID does not have a valid membership in this Account.",
            );
        }
        tenant
    }};
}

async fn list(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(account): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = account_tenant!(state, headers, account);
    let count = page_size(&q, "count", 100, 100);
    let Ok(start) = q.get("start_position").map_or(Ok(0), |s| s.parse::<usize>()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST_PARAMETER",
            "The request contained at least one invalid parameter. 'start_position' must be a number.",
        );
    };
    let statuses: Option<Vec<String>> = q
        .get("status")
        .map(|s| s.split(',').map(|s| s.trim().to_ascii_lowercase()).collect());
    let matching: Vec<User> = state
        .users
        .users(&tenant)
        .into_iter()
        .filter(|u| {
            statuses
                .as_ref()
                .is_none_or(|wanted| wanted.contains(&status(u).to_ascii_lowercase()))
        })
        .filter(|u| {
            q.get("email")
                .is_none_or(|email| u.user_name.eq_ignore_ascii_case(email))
        })
        .collect();
    let total = matching.len();
    let page: Vec<Value> = matching.iter().skip(start).take(count).map(user_info).collect();
    let mut body = json!({
        "resultSetSize": page.len().to_string(),
        "totalSetSize": total.to_string(),
        "startPosition": start.to_string(),
        "endPosition": (start + page.len()).saturating_sub(1).to_string(),
    });
    let path = format!("/restapi/v2.1/accounts/{ACCOUNT_ID}/users");
    if start + page.len() < total {
        body["nextUri"] = json!(format!(
            "{path}?start_position={}&count={count}",
            start + page.len()
        ));
    }
    if start > 0 {
        body["previousUri"] = json!(format!(
            "{path}?start_position={}&count={count}",
            start.saturating_sub(count)
        ));
    }
    // DocuSign leaves an empty collection out.
    if !page.is_empty() {
        body["users"] = json!(page);
    }
    Json(body).into_response()
}

async fn read(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path((account, id)): Path<(String, String)>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = account_tenant!(state, headers, account);
    match state.users.by_id(&tenant, &id) {
        Some(user) => Json(user_information(&user)).into_response(),
        None => (StatusCode::BAD_REQUEST, Json(no_such_user())).into_response(),
    }
}

/// `POST users`: 201 with one entry per new user; a user whose email is already open in the
/// account gets `USER_ALREADY_EXISTS_IN_ACCOUNT` with its id; a closed one is added anew.
async fn create(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(account): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = account_tenant!(state, headers, account);
    state.users.count("POST");
    let Some(new_users) = body["newUsers"].as_array().filter(|u| !u.is_empty()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST_BODY",
            "The request body is missing or improperly formatted. newUsers is required.",
        );
    };
    let mut answers = Vec::new();
    for new in new_users {
        let email = new["email"].as_str().unwrap_or_default();
        let user_name = new["userName"].as_str().unwrap_or_default();
        if !email.contains('@') || user_name.trim().is_empty() {
            answers.push(json!({"email": email, "userName": user_name, "errorDetails": {
                "errorCode": "INVALID_EMAIL_ADDRESS_FOR_USER",
                "message": "A user name and a valid email address are required."
            }}));
            continue;
        }
        if let Some(existing) = state.users.by_email(&tenant, email) {
            if existing.active {
                answers.push(json!({
                    "userId": existing.id, "uri": format!("/users/{}", existing.id), "email": existing.user_name,
                    "userName": full_name(&existing), "createdDateTime": "0001-01-01T08:00:00.0000000Z",
                    "errorDetails": {"errorCode": "USER_ALREADY_EXISTS_IN_ACCOUNT",
                                     "message": "Username and email combination already exists for this account."}
                }));
                continue;
            }
            // A closed membership: the user is added again.
            state.users.remove(&tenant, &existing.id);
        }
        let mut words = user_name.split_whitespace();
        let first = new["firstName"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| words.next().unwrap_or_default().to_owned());
        let last = new["lastName"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| words.collect::<Vec<_>>().join(" "));
        let Some(user) = state.users.invite(&tenant, email, &first, &last) else {
            continue;
        };
        answers.push(json!({
            "userId": user.id, "uri": format!("/users/{}", user.id), "email": user.user_name,
            "userName": user_name, "userStatus": status(&user),
            "createdDateTime": "2025-01-01T00:00:00.0000000Z"
        }));
    }
    (StatusCode::CREATED, Json(json!({"newUsers": answers}))).into_response()
}

/// `DELETE users`: closes each listed user; an unknown one gets `errorDetails`, a closed one
/// stays closed.
async fn close(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    Path(account): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let tenant = account_tenant!(state, headers, account);
    state.users.count("DELETE");
    let Some(users) = body["users"].as_array().filter(|u| !u.is_empty()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST_BODY",
            "The request body is missing or improperly formatted. users is required.",
        );
    };
    let mut answers = Vec::new();
    for entry in users {
        let id = entry["userId"].as_str().unwrap_or_default();
        let Some(user) = state.users.set_active(&tenant, id, false) else {
            answers.push(json!({"userId": id, "errorDetails": no_such_user()}));
            continue;
        };
        // An invitation not yet accepted is withdrawn with the membership.
        state.users.accept(&tenant, &user.user_name);
        answers.push(json!({
            "userId": user.id, "userName": full_name(&user), "email": user.user_name,
            "userStatus": "Closed", "uri": format!("/users/{}", user.id)
        }));
    }
    Json(json!({"users": answers})).into_response()
}
