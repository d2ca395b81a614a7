//! Slack: its SCIM API (the sandbox's SCIM app, as Slack: `DELETE` deactivates, a taken
//! email is `email_taken`), its OAuth server at Slack's paths with Slack's token answers, and
//! `auth.test`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, State as AxState};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;

use crate::oauth;
use crate::scim;
use crate::state::{State, tenant};

type Shared = Arc<Mutex<State>>;

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/api/auth.test", post(slack_auth_test))
        .with_state(state.clone())
        .merge(authorization_server(state.clone()))
        .merge(scim::router_as(state, scim::Kind::Slack))
}

/// Slack's authorization server, with Slack's token answers.
fn authorization_server(state: Shared) -> Router {
    oauth::server(
        state,
        "slack",
        ["/oauth/v2/authorize", "/oauth/v2/decide", "/api/oauth.v2.access"],
        post(slack_access),
    )
}

/// Slack's `auth.test`: HTTP 200 always; the token's workspace, or `ok: false`.
async fn slack_auth_test(AxState(state): AxState<Shared>, headers: HeaderMap) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    match tenant(&mut state, &headers) {
        Ok(tenant) => Json(json!({
            "ok": true,
            "url": "https://sandbox-workspace.slack.com/",
            "team": crate::tenants::tenant_name(&tenant),
            "user": "sandbox-admin",
            "team_id": format!("T{}", crate::tenants::tenant_id(&tenant).to_uppercase()),
            "user_id": "USANDBOX"
        }))
        .into_response(),
        Err(_) => Json(json!({"ok": false, "error": "invalid_auth"})).into_response(),
    }
}

/// Slack's `oauth.v2.access`: HTTP 200 always, `ok: false` with Slack's error names, the
/// user token under `authed_user` (a refresh answers at the top level), and the team.
async fn slack_access(
    AxState(oauth::Issuer { state, tenant }): AxState<oauth::Issuer>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if oauth::client(&headers, &form) != Some((oauth::CLIENT_ID.to_owned(), oauth::CLIENT_SECRET.to_owned()))
    {
        return Json(json!({"ok": false, "error": "invalid_client_id"})).into_response();
    }
    let refresh = form.get("grant_type").map(String::as_str) == Some("refresh_token");
    let mut state = state.lock().expect("sandbox lock");
    match oauth::grant(&mut state, &form, &tenant) {
        Ok(tokens) if refresh => {
            let mut answer = tokens;
            answer["ok"] = json!(true);
            answer["token_type"] = json!("user");
            Json(answer).into_response()
        }
        Ok(tokens) => {
            let opened = tokens["access_token"]
                .as_str()
                .and_then(|t| state.tokens.access_tenant(t))
                .unwrap_or_default();
            Json(json!({
            "ok": true,
            "app_id": "ASANDBOX",
            "authed_user": {
                "id": "USANDBOX", "scope": "admin", "token_type": "user",
                "access_token": tokens["access_token"], "refresh_token": tokens["refresh_token"],
                "expires_in": tokens["expires_in"]
            },
            "team": {"id": format!("T{}", crate::tenants::tenant_id(&opened).to_uppercase()), "name": crate::tenants::tenant_name(&opened)}
        }))
        .into_response()
        }
        Err((_, "invalid_grant")) if refresh => {
            Json(json!({"ok": false, "error": "invalid_refresh_token"})).into_response()
        }
        Err((_, "invalid_grant")) => Json(json!({"ok": false, "error": "invalid_code"})).into_response(),
        Err((_, error)) => Json(json!({"ok": false, "error": error})).into_response(),
    }
}
