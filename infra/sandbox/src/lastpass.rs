//! LastPass's Enterprise API (`POST /enterpriseapi.php`, the command in the JSON body) over the
//! sandbox's users, with LastPass's answers: the credentials in the body (`cid`, a positive
//! integer, and `provhash`, which opens the tenant when it starts with `sandbox-`), refusals
//! inside HTTP 200 (`{"status": "FAIL", "error": […]}`), and a 429 with `Retry-After` for an
//! injected rate limit.
//!
//! - `getuserdata`: `{"Users": {id: {username, fullname, disabled, neverloggedin, …}},
//!   "Groups": [], "total": N}`, paged by `pagesize` / `pageindex` (from 0) when asked, or the
//!   one user of `{"username": …}` (PHP's empty `"Users": []` when there is none). People
//!   invited through the API are `neverloggedin` until they accept.
//! - `batchadd`: adds each `{username, fullname}` as an invited user; an existing username
//!   is updated, not added twice.
//! - `deluser` (https://support.lastpass.com/help/delete-users-via-lastpass-api):
//!   `deleteaction` 0 deactivates (no sign-in, data and membership kept), 1 removes the user
//!   from the company (their own LastPass account and vault stay theirs: see
//!   `Sandbox::lastpass_account_kept`), 2 deletes the account entirely, 3 withdraws an
//!   invitation not yet accepted; an unknown username is refused with "User not found".
//! - `disableuser` / `enableuser` (https://support.lastpass.com/help/disable-users-via-lastpass-api,
//!   …/enable-users-via-lastpass-api): a list of usernames; the answer lists the users
//!   changed (`disabled_users` / `enabled_users`) and the others (`unchanged_users`).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Map, Value, json};

use crate::directory::User;
use crate::state::{Refusal, State, tenant_of_token};

type Shared = Arc<Mutex<State>>;

/// The people removed from a company (`deleteaction` 1) whose own LastPass account, vault
/// included, still exists, by email.
#[derive(Default)]
pub(crate) struct KeptAccounts(pub HashSet<String>);

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/enterpriseapi.php", post(command))
        .with_state(state)
}

fn ok() -> Response {
    Json(json!({"status": "OK"})).into_response()
}

/// LastPass's refusal: HTTP 200 with a failing status.
fn fail(error: &str) -> Response {
    Json(json!({"status": "FAIL", "error": [error]})).into_response()
}

fn refused(refusal: Refusal) -> Response {
    refusal.answer_as(|status| match status {
        StatusCode::UNAUTHORIZED => fail("Authorization Error: the cid or provhash is not valid"),
        StatusCode::TOO_MANY_REQUESTS => (
            status,
            Json(json!({"status": "FAIL", "error": ["Too many requests"]})),
        )
            .into_response(),
        _ => (status, [(header::CONTENT_TYPE, "text/plain")], "injected fault").into_response(),
    })
}

/// LastPass's numeric user id for a sandbox user (`u00000042` → 42).
fn user_id(user: &User) -> String {
    user.id
        .trim_start_matches('u')
        .parse::<u64>()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| user.id.clone())
}

fn user_json(user: &User) -> Value {
    json!({
        "username": user.user_name,
        "fullname": format!("{} {}", user.given, user.family).trim(),
        "mpstrength": if user.invite_pending { "0" } else { "100" },
        "created": "2024-01-01 00:00:00",
        "last_pw_change": "",
        "last_login": if user.invite_pending { "" } else { "2024-01-02 09:00:00" },
        "disabled": !user.active,
        "neverloggedin": user.invite_pending,
        "linked": "",
        "sites": 0, "notes": 0, "formfills": 0, "applications": 0, "attachments": 0,
        "groups": []
    })
}

/// `{"Users": …}` of `users`, PHP-style (`[]` when empty).
fn users_answer(users: &[User], total: Option<usize>) -> Response {
    let listed: Value = if users.is_empty() {
        json!([])
    } else {
        Value::Object(users.iter().map(|u| (user_id(u), user_json(u))).collect())
    };
    let mut answer = json!({"Users": listed, "Groups": []});
    if let Some(total) = total {
        answer["total"] = json!(total);
    }
    Json(answer).into_response()
}

/// A number LastPass takes as an integer or a numeric string.
fn number(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// First and last name from a full name (the last word is the family name).
fn split_name(full: &str) -> (String, String) {
    match full.trim().rsplit_once(' ') {
        Some((first, last)) => (first.trim().to_owned(), last.to_owned()),
        None => (full.trim().to_owned(), String::new()),
    }
}

async fn command(AxState(state): AxState<Shared>, body: Bytes) -> Response {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return fail("Invalid JSON request");
    };
    let mut state = state.lock().expect("sandbox lock");
    let hash = body.get("provhash").and_then(Value::as_str).unwrap_or_default();
    let tenant = match tenant_of_token(&mut state, hash) {
        Ok(t) => t,
        Err(r) => return refused(r),
    };
    if number(body.get("cid")).is_none_or(|cid| cid == 0) {
        return fail("Authorization Error: the cid or provhash is not valid");
    }
    let data = body.get("data").cloned().unwrap_or(Value::Null);
    match body.get("cmd").and_then(Value::as_str).unwrap_or_default() {
        "getuserdata" => user_data(&state, &tenant, &data),
        "batchadd" => batch_add(&mut state, &tenant, &data),
        "deluser" => delete_user(&mut state, &tenant, &data),
        "disableuser" => set_disabled(&mut state, &tenant, &data, true),
        "enableuser" => set_disabled(&mut state, &tenant, &data, false),
        _ => fail("Unknown command"),
    }
}

fn user_data(state: &State, tenant: &str, data: &Value) -> Response {
    let empty = Map::new();
    let data = data.as_object().unwrap_or(&empty);
    if let Some(username) = data.get("username").and_then(Value::as_str) {
        let found: Vec<User> = state.users.by_email(tenant, username).into_iter().collect();
        return users_answer(&found, None);
    }
    let all = state.users.users(tenant);
    let total = all.len();
    let Some(size) = number(data.get("pagesize")).filter(|s| *s > 0) else {
        return users_answer(&all, Some(total));
    };
    let size = size.min(2000) as usize;
    let index = number(data.get("pageindex")).unwrap_or(0) as usize;
    let page: Vec<User> = all
        .into_iter()
        .skip(index.saturating_mul(size))
        .take(size)
        .collect();
    users_answer(&page, Some(total))
}

fn batch_add(state: &mut State, tenant: &str, data: &Value) -> Response {
    let Some(entries) = data.as_array() else {
        return fail("data must be an array of users");
    };
    let mut errors = Vec::new();
    for entry in entries {
        let username = entry
            .get("username")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim();
        if !username.contains('@') {
            errors.push(format!("{username} is not a valid email address"));
            continue;
        }
        let (first, last) = split_name(entry.get("fullname").and_then(Value::as_str).unwrap_or_default());
        if state.users.by_email(tenant, username).is_some() {
            continue; // batchadd updates an existing user; the sandbox keeps its name
        }
        state.users.invite(tenant, username, &first, &last);
        state.users.count("POST");
    }
    if errors.is_empty() {
        ok()
    } else {
        Json(json!({"status": "WARN", "errors": errors})).into_response()
    }
}

fn delete_user(state: &mut State, tenant: &str, data: &Value) -> Response {
    let username = data.get("username").and_then(Value::as_str).unwrap_or_default();
    let Some(user) = state.users.by_email(tenant, username) else {
        return fail("User not found");
    };
    match number(data.get("deleteaction")).unwrap_or(0) {
        0 => {
            state.users.set_active(tenant, &user.id, false);
            state.users.count("PATCH");
        }
        1 => {
            state.users.remove(tenant, &user.id);
            state
                .part::<KeptAccounts>()
                .0
                .insert(user.user_name.to_lowercase());
            state.users.count("DELETE");
        }
        2 => {
            state.users.remove(tenant, &user.id);
            state
                .part::<KeptAccounts>()
                .0
                .remove(&user.user_name.to_lowercase());
            state.users.count("DELETE");
        }
        3 if user.invite_pending => {
            state.users.remove(tenant, &user.id);
            state.users.count("DELETE");
        }
        3 => return fail("The user has no pending invitation"),
        _ => return fail("Invalid deleteaction"),
    }
    ok()
}

/// `disableuser` / `enableuser` of a list of usernames.
fn set_disabled(state: &mut State, tenant: &str, data: &Value, disable: bool) -> Response {
    let Some(usernames) = data.as_array() else {
        return fail("data must be an array of usernames");
    };
    let (mut changed, mut unchanged) = (Vec::new(), Vec::new());
    for username in usernames.iter().filter_map(Value::as_str) {
        match state.users.by_email(tenant, username) {
            Some(user) if user.active == disable => {
                state.users.set_active(tenant, &user.id, !disable);
                state.users.count("PATCH");
                changed.push(username.to_owned());
            }
            _ => unchanged.push(username.to_owned()),
        }
    }
    let key = if disable {
        "disabled_users"
    } else {
        "enabled_users"
    };
    Json(json!({"status": "success", key: changed, "unchanged_users": unchanged})).into_response()
}
