//! An OAuth 2.0 authorization server: a consent page, authorization codes bound to their
//! redirect URI and PKCE S256 challenge, and a token endpoint that rotates refresh tokens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::State;

pub const CLIENT_ID: &str = "sandbox-client";
pub const CLIENT_SECRET: &str = "sandbox-client-secret";
const ACCESS_TOKEN_SECONDS: u64 = 3600;

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

#[derive(Default)]
pub(crate) struct Grants {
    requests: HashMap<String, PendingRequest>,
    codes: HashMap<String, IssuedCode>,
    /// Valid access and refresh tokens, each with the tenant (directory) it opens: the
    /// vendor whose token endpoint issued it, so each fake keeps its own users.
    access: HashMap<String, String>,
    refresh: HashMap<String, String>,
    counter: u64,
    pub refreshes: usize,
}

impl Grants {
    fn token(&mut self, kind: &str) -> String {
        self.counter += 1;
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).expect("random source");
        format!("sbx-{kind}-{}-{}", self.counter, URL_SAFE_NO_PAD.encode(random))
    }

    /// The tenant a valid access token opens.
    pub(crate) fn access_tenant(&self, token: &str) -> Option<String> {
        self.access.get(token).cloned()
    }

    /// Every access and refresh token now valid.
    pub(crate) fn live_tokens(&self) -> Vec<String> {
        self.access.keys().chain(self.refresh.keys()).cloned().collect()
    }

    pub(crate) fn expire_access_tokens(&mut self) {
        self.access.clear();
    }

    pub(crate) fn revoke_all(&mut self) {
        self.access.clear();
        self.refresh.clear();
    }

    fn issue(&mut self, tenant: &str) -> serde_json::Value {
        let access = self.token("at");
        let refresh = self.token("rt");
        self.access.insert(access.clone(), tenant.to_owned());
        self.refresh.insert(refresh.clone(), tenant.to_owned());
        json!({
            "access_token": access,
            "token_type": "bearer",
            "expires_in": ACCESS_TOKEN_SECONDS,
            "refresh_token": refresh,
            "scope": "users:read users:write"
        })
    }
}

type Shared = Arc<Mutex<State>>;

/// A vendor's authorization server: the sandbox's state, and the tenant (directory) its
/// tokens open, so a token issued by one fake vendor never reads another's users.
#[derive(Clone)]
struct Issuer {
    state: Shared,
    tenant: String,
}

impl axum::extract::FromRef<Issuer> for Shared {
    fn from_ref(issuer: &Issuer) -> Shared {
        issuer.state.clone()
    }
}

fn issuer(state: Shared, tenant: String) -> Issuer {
    Issuer { state, tenant }
}

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/oauth/authorize", get(authorize))
        .route("/oauth/decide", get(decide))
        .route("/oauth/token", post(token))
        .with_state(issuer(state, crate::OAUTH_TENANT.to_owned()))
}

/// The same server at Slack's paths and with Slack's token answers.
pub(crate) fn slack_router(state: Shared) -> Router {
    Router::new()
        .route("/oauth/v2/authorize", get(authorize))
        .route("/oauth/v2/decide", get(decide))
        .route("/api/oauth.v2.access", post(slack_access))
        .route("/api/auth.test", post(slack_auth_test))
        .with_state(issuer(state, crate::oauth_tenant("slack")))
}

/// Slack's `auth.test`: HTTP 200 always; the token's workspace, or `ok: false`.
async fn slack_auth_test(AxState(state): AxState<Shared>, headers: HeaderMap) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    match crate::scim::tenant(&mut state, &headers) {
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

/// The same server at Dropbox's paths (`www.dropbox.com` and `api.dropboxapi.com` both
/// land here).
pub(crate) fn dropbox_router(state: Shared) -> Router {
    Router::new()
        .route("/oauth2/authorize", get(authorize))
        .route("/oauth2/decide", get(decide))
        .route("/oauth2/token", post(token))
        .with_state(issuer(state, crate::oauth_tenant("dropbox")))
}

/// The same server at Asana's paths.
pub(crate) fn asana_router(state: Shared) -> Router {
    Router::new()
        .route("/-/oauth_authorize", get(authorize))
        .route("/-/decide", get(decide))
        .route("/-/oauth_token", post(token))
        .with_state(issuer(state, crate::oauth_tenant("asana")))
}

/// The same server at Box's paths (`account.box.com` and `api.box.com` both land here).
pub(crate) fn box_router(state: Shared) -> Router {
    Router::new()
        .route("/api/oauth2/authorize", get(authorize))
        .route("/api/oauth2/decide", get(decide))
        .route("/oauth2/token", post(token))
        .with_state(issuer(state, crate::oauth_tenant("box")))
}

/// The same server at HubSpot's paths; its v3 token endpoint takes our client's id and
/// secret only in the form body.
pub(crate) fn hubspot_router(state: Shared) -> Router {
    Router::new()
        .route("/oauth/authorize", get(authorize))
        .route("/oauth/decide", get(decide))
        .route("/oauth/v3/token", post(hubspot_token))
        .with_state(issuer(state, crate::oauth_tenant("hubspot")))
}

/// The same server at Salesforce's paths (`login.salesforce.com`, `test.salesforce.com`):
/// client credentials in the body, no `expires_in`, and the org's `instance_url`.
pub(crate) fn salesforce_router(state: Shared) -> Router {
    Router::new()
        .route("/services/oauth2/authorize", get(authorize))
        .route("/services/oauth2/decide", get(decide))
        .route("/services/oauth2/token", post(salesforce_token))
        .with_state(issuer(state, crate::oauth_tenant("salesforce")))
}

/// The same server at GitHub's paths (`github.com`): client credentials in the body,
/// answers without a refresh token or expiry (a classic OAuth app token lasts until
/// revoked), and token errors with HTTP 200 as GitHub sends them.
pub(crate) fn github_router(state: Shared) -> Router {
    Router::new()
        .route("/login/oauth/authorize", get(authorize))
        .route("/login/oauth/decide", get(decide))
        .route("/login/oauth/access_token", post(github_token))
        .with_state(issuer(state, crate::oauth_tenant("github")))
}

/// The same server at DocuSign's paths (`account.docusign.com` and, for demo connections,
/// `account-d.docusign.com` both land here): our client in HTTP Basic authentication only,
/// eight-hour access tokens, and `/oauth/userinfo` naming the sandbox's DocuSign account.
pub(crate) fn docusign_router(state: Shared) -> Router {
    Router::new()
        .route("/oauth/auth", get(authorize))
        .route("/oauth/decide", get(decide))
        .route("/oauth/token", post(docusign_token))
        .route("/oauth/userinfo", get(docusign_userinfo))
        .with_state(issuer(state, crate::oauth_tenant("docusign")))
}

/// The same server at the Microsoft identity platform's multi-tenant paths
/// (`login.microsoftonline.com/organizations/oauth2/v2.0/…`), with its token answers.
pub(crate) fn microsoft_router(state: Shared) -> Router {
    Router::new()
        .route("/organizations/oauth2/v2.0/authorize", get(authorize))
        .route("/organizations/oauth2/v2.0/decide", get(decide))
        .route("/organizations/oauth2/v2.0/token", post(microsoft_token))
        .with_state(issuer(state, crate::oauth_tenant("microsoft_365")))
}

/// The same server at Google's paths (`accounts.google.com` and `oauth2.googleapis.com` both
/// land here): credentials in the body, and refresh tokens that do not rotate.
pub(crate) fn google_router(state: Shared) -> Router {
    Router::new()
        .route("/o/oauth2/v2/auth", get(authorize))
        .route("/o/oauth2/v2/decide", get(decide))
        .route("/token", post(google_token))
        .with_state(issuer(state, crate::oauth_tenant("google_workspace")))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
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
    let id = state.oauth.token("req");
    state.oauth.requests.insert(
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
    let Some(request) = q.get("request").and_then(|id| state.oauth.requests.remove(id)) else {
        return (StatusCode::BAD_REQUEST, "unknown or used authorization request").into_response();
    };
    let Ok(mut back) = url::Url::parse(&request.redirect_uri) else {
        return (StatusCode::BAD_REQUEST, "bad redirect_uri").into_response();
    };
    if q.get("decision").map(String::as_str) == Some("allow") {
        let code = state.oauth.token("code");
        state.oauth.codes.insert(
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

fn token_error(status: StatusCode, error: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": format!("sandbox: {error}")})),
    )
        .into_response()
}

/// The client's id and secret from HTTP Basic auth or the form.
fn client(headers: &HeaderMap, form: &HashMap<String, String>) -> Option<(String, String)> {
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
fn grant(
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
            let Some(code) = form.get("code").and_then(|c| state.oauth.codes.remove(c)) else {
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
            Ok(state.oauth.issue(&opened))
        }
        Some("refresh_token") => {
            let presented = form.get("refresh_token").cloned().unwrap_or_default();
            // A refresh token works only at the vendor that issued it (in any of its
            // workspaces).
            let Some(opened) = state.oauth.refresh.get(&presented).cloned() else {
                return Err((StatusCode::BAD_REQUEST, "invalid_grant"));
            };
            if opened != tenant && !opened.starts_with(&format!("{tenant}#")) {
                return Err((StatusCode::BAD_REQUEST, "invalid_grant"));
            }
            state.oauth.refresh.remove(&presented);
            state.oauth.refreshes += 1;
            Ok(state.oauth.issue(&opened))
        }
        _ => Err((StatusCode::BAD_REQUEST, "unsupported_grant_type")),
    }
}

async fn token(
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

/// Slack's `oauth.v2.access`: HTTP 200 always, `ok: false` with Slack's error names, the
/// user token under `authed_user` (a refresh answers at the top level), and the team.
async fn slack_access(
    AxState(Issuer { state, tenant }): AxState<Issuer>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if client(&headers, &form) != Some((CLIENT_ID.to_owned(), CLIENT_SECRET.to_owned())) {
        return Json(json!({"ok": false, "error": "invalid_client_id"})).into_response();
    }
    let refresh = form.get("grant_type").map(String::as_str) == Some("refresh_token");
    let mut state = state.lock().expect("sandbox lock");
    match grant(&mut state, &form, &tenant) {
        Ok(tokens) if refresh => {
            let mut answer = tokens;
            answer["ok"] = json!(true);
            answer["token_type"] = json!("user");
            Json(answer).into_response()
        }
        Ok(tokens) => {
            let opened = tokens["access_token"]
                .as_str()
                .and_then(|t| state.oauth.access_tenant(t))
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

/// HubSpot's `/oauth/v3/token`: every parameter in the body (Basic authentication is not
/// read), RFC 6749 answers plus the portal's `hub_id`.
async fn hubspot_token(
    AxState(Issuer { state, tenant }): AxState<Issuer>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !client_in_body(&form) {
        return token_error(StatusCode::BAD_REQUEST, "invalid_client");
    }
    let mut state = state.lock().expect("sandbox lock");
    match grant(&mut state, &form, &tenant) {
        Ok(mut tokens) => {
            tokens["hub_id"] = json!(4242);
            tokens["scope"] = json!("settings.users.read settings.users.write");
            Json(tokens).into_response()
        }
        Err((status, error)) => token_error(status, error),
    }
}

/// Whether the form body carries our sandbox client's id and secret (vendors that read them
/// only there).
fn client_in_body(form: &HashMap<String, String>) -> bool {
    form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
        && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET)
}

/// Salesforce's `/services/oauth2/token`: credentials in the body; the answer names the org's
/// API host (`instance_url`, the sandbox's My Domain) and carries no `expires_in` (a token
/// lives as long as the org's session timeout).
async fn salesforce_token(
    AxState(Issuer { state, tenant }): AxState<Issuer>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !client_in_body(&form) {
        return token_error(StatusCode::BAD_REQUEST, "invalid_client");
    }
    let mut state = state.lock().expect("sandbox lock");
    match grant(&mut state, &form, &tenant) {
        Ok(mut tokens) => {
            if let Some(fields) = tokens.as_object_mut() {
                fields.remove("expires_in");
            }
            tokens["instance_url"] = json!(crate::SALESFORCE_INSTANCE);
            tokens["id"] = json!("https://login.salesforce.com/id/00Dsandbox/005sandbox");
            tokens["token_type"] = json!("Bearer");
            Json(tokens).into_response()
        }
        Err((status, error)) => token_error(status, error),
    }
}

/// GitHub's `/login/oauth/access_token`: `{access_token, token_type, scope}` only; a bad
/// client or code is an `error` in an HTTP 200 answer (GitHub's own error names).
async fn github_token(
    AxState(Issuer { state, tenant }): AxState<Issuer>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let refusal = |error: &str, description: &str| {
        Json(json!({"error": error, "error_description": description,
                    "error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors"}))
        .into_response()
    };
    if !client_in_body(&form) {
        return refusal(
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
        );
    }
    let mut state = state.lock().expect("sandbox lock");
    match grant(&mut state, &form, &tenant) {
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

/// DocuSign's `/oauth/token`: the integration key and secret only as HTTP Basic
/// authentication; access tokens last eight hours (`expires_in` 28800).
async fn docusign_token(
    AxState(Issuer { state, tenant }): AxState<Issuer>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Basic "));
    if !basic || client(&headers, &form) != Some((CLIENT_ID.to_owned(), CLIENT_SECRET.to_owned())) {
        return token_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let mut state = state.lock().expect("sandbox lock");
    match grant(&mut state, &form, &tenant) {
        Ok(mut tokens) => {
            tokens["token_type"] = json!("Bearer");
            tokens["expires_in"] = json!(28800);
            if let Some(fields) = tokens.as_object_mut() {
                fields.remove("scope");
            }
            Json(tokens).into_response()
        }
        Err((status, error)) => token_error(status, error),
    }
}

/// DocuSign's `/oauth/userinfo`: the token's user and their one (default) account, whose
/// `base_uri` is the sandbox's `*.docusign.net` host.
async fn docusign_userinfo(AxState(state): AxState<Shared>, headers: HeaderMap) -> Response {
    let mut state = state.lock().expect("sandbox lock");
    if let Err(refusal) = crate::scim::tenant(&mut state, &headers) {
        return crate::docusign::refused(refusal);
    }
    Json(json!({
        "sub": "5a4d0c00-0000-4000-8000-00000000a0d1",
        "name": "Sandbox Admin",
        "given_name": "Sandbox",
        "family_name": "Admin",
        "created": "2025-01-01T00:00:00.000",
        "email": "admin@sandbox.test",
        "accounts": [{
            "account_id": crate::docusign::ACCOUNT_ID,
            "is_default": true,
            "account_name": "Sandbox DocuSign account",
            "base_uri": crate::docusign::BASE_URI
        }]
    }))
    .into_response()
}

/// The Microsoft identity platform's v2.0 token endpoint: a web app's secret in the form body;
/// answers with `ext_expires_in` and the granted Graph scopes as full URIs, errors with an
/// `AADSTS` description and `error_codes`; refresh tokens rotate.
async fn microsoft_token(
    AxState(Issuer { state, tenant }): AxState<Issuer>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let aad_error = |status: StatusCode, error: &str, code: u32, description: &str| {
        let body = json!({
            "error": error, "error_description": format!("AADSTS{code}: {description}"),
            "error_codes": [code], "timestamp": "2025-01-01 00:00:00Z",
            "trace_id": "sandbox", "correlation_id": "sandbox"
        });
        (status, Json(body)).into_response()
    };
    if !client_in_body(&form) {
        return aad_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7_000_215,
            "Invalid client secret provided.",
        );
    }
    let mut state = state.lock().expect("sandbox lock");
    match grant(&mut state, &form, &tenant) {
        Ok(mut tokens) => {
            tokens["token_type"] = json!("Bearer");
            tokens["ext_expires_in"] = tokens["expires_in"].clone();
            tokens["scope"] = json!(
                "https://graph.microsoft.com/Directory.Read.All https://graph.microsoft.com/User.ReadWrite.All"
            );
            Json(tokens).into_response()
        }
        Err((_, "invalid_grant")) => aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            70_008,
            "The provided authorization code or refresh token has expired due to inactivity.",
        ),
        Err((status, error)) => aad_error(
            status,
            error,
            70_003,
            "The app requested an unsupported grant type.",
        ),
    }
}

/// The Directory API scopes the Google Workspace connector asks for.
const GOOGLE_SCOPES: &str = "https://www.googleapis.com/auth/admin.directory.user https://www.googleapis.com/auth/admin.directory.group.readonly https://www.googleapis.com/auth/admin.directory.group.member https://www.googleapis.com/auth/admin.directory.domain.readonly https://www.googleapis.com/auth/admin.directory.customer.readonly";

/// Google's `/token`: credentials in the body, `token_type: Bearer`, and a refresh that
/// answers a new access token only: the refresh token stays valid (Google does not rotate it).
async fn google_token(
    AxState(Issuer { state, tenant }): AxState<Issuer>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !client_in_body(&form) {
        return token_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let refreshing = form.get("grant_type").map(String::as_str) == Some("refresh_token");
    let presented = form.get("refresh_token").cloned().unwrap_or_default();
    let mut state = state.lock().expect("sandbox lock");
    match grant(&mut state, &form, &tenant) {
        Ok(mut tokens) => {
            if refreshing && let Some(fields) = tokens.as_object_mut() {
                if let Some(issued) = fields
                    .remove("refresh_token")
                    .and_then(|t| t.as_str().map(str::to_owned))
                {
                    state.oauth.refresh.remove(&issued);
                }
                state.oauth.refresh.insert(presented, tenant.clone());
            }
            tokens["token_type"] = json!("Bearer");
            tokens["expires_in"] = json!(ACCESS_TOKEN_SECONDS - 1);
            tokens["scope"] = json!(GOOGLE_SCOPES);
            Json(tokens).into_response()
        }
        Err((status, error)) => token_error(status, error),
    }
}
