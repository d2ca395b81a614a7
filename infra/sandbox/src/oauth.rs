//! An OAuth 2.0 authorization server: a consent page, authorization codes bound to their
//! redirect URI and PKCE S256 challenge, and a token endpoint that rotates refresh tokens.
//! The sandbox OAuth app's own, and (`server`) each OAuth vendor's at the vendor's paths,
//! mounted by the vendor's fake with the vendor's token answers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::page::escape;
use crate::state::State;
use crate::tenants::{OAUTH_TENANT, oauth_tenant};

pub const CLIENT_ID: &str = "sandbox-client";
pub const CLIENT_SECRET: &str = "sandbox-client-secret";
/// How long an access token lives, as the answers say.
pub(crate) const ACCESS_TOKEN_SECONDS: u64 = 3600;

struct PendingRequest {
    redirect_uri: String,
    state: String,
    challenge: String,
}

struct IssuedCode {
    redirect_uri: String,
    challenge: String,
    /// Another workspace of the vendor the admin picked on the consent page, if any.
    other_tenant: Option<String>,
}

/// The consent requests and authorization codes not yet used, across every vendor's server.
#[derive(Default)]
struct Consents {
    requests: HashMap<String, PendingRequest>,
    codes: HashMap<String, IssuedCode>,
}

/// New tokens for `tenant`, as the RFC 6749 token answer.
fn issue(state: &mut State, tenant: &str) -> serde_json::Value {
    let (access, refresh) = state.tokens.issue(tenant);
    json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": ACCESS_TOKEN_SECONDS,
        "refresh_token": refresh,
        "scope": "users:read users:write"
    })
}

type Shared = Arc<Mutex<State>>;

/// A vendor's authorization server: the sandbox's state, and the tenant (directory) its
/// tokens open, so a token issued by one fake vendor never reads another's users.
#[derive(Clone)]
pub(crate) struct Issuer {
    pub state: Shared,
    pub tenant: String,
}

impl axum::extract::FromRef<Issuer> for Shared {
    fn from_ref(issuer: &Issuer) -> Shared {
        issuer.state.clone()
    }
}

fn issuer(state: Shared, tenant: String) -> Issuer {
    Issuer { state, tenant }
}

/// The sandbox OAuth app's server.
pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/oauth/authorize", get(authorize))
        .route("/oauth/decide", get(decide))
        .route("/oauth/token", post(token))
        .with_state(issuer(state, OAUTH_TENANT.to_owned()))
}

/// An OAuth vendor's server at the vendor's own paths: the consent page at `authorize` (its
/// links go to `decide`, beside it) and the token endpoint at `token`, answered by `answer`
/// (`post(token)` for plain RFC 6749 answers); its tokens open the vendor's tenant
/// (`oauth_tenant(app)`).
pub(crate) fn server(
    state: Shared,
    app: &str,
    [authorize_at, decide_at, token_at]: [&str; 3],
    answer: MethodRouter<Issuer>,
) -> Router {
    Router::new()
        .route(authorize_at, get(authorize))
        .route(decide_at, get(decide))
        .route(token_at, answer)
        .with_state(issuer(state, oauth_tenant(app)))
}

/// The consent page. It checks the request like a real server: our client id, a code
/// response, a S256 challenge and a state.
async fn authorize(AxState(state): AxState<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("client_id") != CLIENT_ID
        || get("response_type") != "code"
        || get("code_challenge_method") != "S256"
        || get("code_challenge").is_empty()
        || get("state").is_empty()
        || get("redirect_uri").is_empty()
    {
        return (StatusCode::BAD_REQUEST, "invalid authorization request").into_response();
    }
    let mut state = state.lock().expect("sandbox lock");
    let id = state.tokens.mint("req");
    state.part::<Consents>().requests.insert(
        id.clone(),
        PendingRequest {
            redirect_uri: get("redirect_uri"),
            state: get("state"),
            challenge: get("code_challenge"),
        },
    );
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sandbox app: allow access?</title></head>\
         <body><main><h1>Allow the provisioning service to manage users of the Sandbox OAuth app?</h1>\
         <p>Scopes: {}</p>\
         <p><a id=\"allow\" href=\"decide?request={id}&amp;decision=allow\">Allow</a> \
         <a id=\"allow-other\" href=\"decide?request={id}&amp;decision=allow&amp;tenant=other\">Allow for another workspace</a> \
         <a id=\"deny\" href=\"decide?request={id}&amp;decision=deny\">Deny</a></p></main></body></html>",
        escape(&get("scope"))
    );
    Html(page).into_response()
}

/// Sends the browser back to the client with a code, or with `error=access_denied`.
async fn decide(AxState(state): AxState<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    let Some(request) = q
        .get("request")
        .and_then(|id| state.part::<Consents>().requests.remove(id))
    else {
        return (StatusCode::BAD_REQUEST, "unknown or used authorization request").into_response();
    };
    let Ok(mut back) = url::Url::parse(&request.redirect_uri) else {
        return (StatusCode::BAD_REQUEST, "bad redirect_uri").into_response();
    };
    if q.get("decision").map(String::as_str) == Some("allow") {
        let code = state.tokens.mint("code");
        state.part::<Consents>().codes.insert(
            code.clone(),
            IssuedCode {
                redirect_uri: request.redirect_uri.clone(),
                challenge: request.challenge,
                other_tenant: q
                    .get("tenant")
                    .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric()))
                    .cloned(),
            },
        );
        back.query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", &request.state);
    } else {
        back.query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("error_description", "The user denied access")
            .append_pair("state", &request.state);
    }
    Redirect::to(back.as_str()).into_response()
}

pub(crate) fn token_error(status: StatusCode, error: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": format!("sandbox: {error}")})),
    )
        .into_response()
}

/// The client's id and secret from HTTP Basic auth or the form.
pub(crate) fn client(headers: &HeaderMap, form: &HashMap<String, String>) -> Option<(String, String)> {
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        let decoded = String::from_utf8(STANDARD.decode(basic).ok()?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        let unescape = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
        };
        return Some((unescape(id)?, unescape(secret)?));
    }
    Some((form.get("client_id")?.clone(), form.get("client_secret")?.clone()))
}

/// The grant both token endpoints share: a code (bound to its redirect URI and PKCE
/// challenge) or a refresh token (which works once: rotation). Answers new tokens or the
/// OAuth error code.
pub(crate) fn grant(
    state: &mut State,
    form: &HashMap<String, String>,
    tenant: &str,
) -> Result<serde_json::Value, (StatusCode, &'static str)> {
    let kind = form
        .get("grant_type")
        .map(String::as_str)
        .or_else(|| form.contains_key("code").then_some("authorization_code"));
    match kind {
        Some("authorization_code") => {
            let Some(code) = form
                .get("code")
                .and_then(|c| state.part::<Consents>().codes.remove(c))
            else {
                return Err((StatusCode::BAD_REQUEST, "invalid_grant"));
            };
            let verifier = form.get("code_verifier").cloned().unwrap_or_default();
            let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if form.get("redirect_uri") != Some(&code.redirect_uri) || challenge != code.challenge {
                return Err((StatusCode::BAD_REQUEST, "invalid_grant"));
            }
            let opened = match &code.other_tenant {
                Some(other) => format!("{tenant}#{other}"),
                None => tenant.to_owned(),
            };
            Ok(issue(state, &opened))
        }
        Some("refresh_token") => {
            let presented = form.get("refresh_token").cloned().unwrap_or_default();
            // A refresh token works only at the vendor that issued it (in any of its
            // workspaces).
            let Some(opened) = state.tokens.refresh_tenant(&presented) else {
                return Err((StatusCode::BAD_REQUEST, "invalid_grant"));
            };
            if opened != tenant && !opened.starts_with(&format!("{tenant}#")) {
                return Err((StatusCode::BAD_REQUEST, "invalid_grant"));
            }
            state.tokens.redeem(&presented);
            Ok(issue(state, &opened))
        }
        _ => Err((StatusCode::BAD_REQUEST, "unsupported_grant_type")),
    }
}

/// The RFC 6749 token endpoint: our client in HTTP Basic authentication or the form body.
pub(crate) async fn token(
    AxState(Issuer { state, tenant }): AxState<Issuer>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if client(&headers, &form) != Some((CLIENT_ID.to_owned(), CLIENT_SECRET.to_owned())) {
        return token_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let mut state = state.lock().expect("sandbox lock");
    match grant(&mut state, &form, &tenant) {
        Ok(tokens) => Json(tokens).into_response(),
        Err((status, error)) => token_error(status, error),
    }
}

/// Whether the form body carries our sandbox client's id and secret (vendors that read them
/// only there).
pub(crate) fn client_in_body(form: &HashMap<String, String>) -> bool {
    form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
        && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET)
}
