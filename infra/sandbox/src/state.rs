//! What every fake shares: the sandbox's state (the user directory, the issued tokens, the
//! injected faults, first passwords, and each fake's own part), and how a request finds the
//! tenant its token opens or is refused.

use std::any::{Any, TypeId};
use std::collections::HashMap;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use crate::directory::Directory;
use crate::tenants::API_TOKEN_PREFIX;
use crate::tokens::Tokens;

#[derive(Default)]
pub(crate) struct State {
    pub users: Directory,
    pub tokens: Tokens,
    /// Statuses the next requests that ask for their tenant answer with (see
    /// `Sandbox::fail_next`).
    pub faults: Vec<u16>,
    /// Answers forced on the next request of a method and path (see `Sandbox::fail_request`).
    pub request_faults: Vec<RequestFault>,
    /// The passwords users were created with, by tenant and user id, where the vendor takes
    /// one at creation (LeanKit, Sauce Labs).
    pub passwords: HashMap<(String, String), String>,
    /// Each fake's own state beyond the directory, by its type (see `part`).
    parts: HashMap<TypeId, Box<dyn Any + Send>>,
}

impl State {
    /// A fake's own state of type `T` (created empty on first use), so that the shared state
    /// names no fake.
    pub(crate) fn part<T: Default + Send + 'static>(&mut self) -> &mut T {
        self.parts
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Box::new(T::default()))
            .downcast_mut()
            .expect("a part is stored under its own type")
    }
}

/// The next `method` request to `path` (under `/_sandbox`) gets this answer instead of the
/// fake's own.
pub(crate) struct RequestFault {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub body: serde_json::Value,
}

/// A page size from a query parameter: `default` when absent, kept within 1..=`max`.
pub(crate) fn page_size(query: &HashMap<String, String>, name: &str, default: usize, max: usize) -> usize {
    query
        .get(name)
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
        .clamp(1, max)
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
/// in the JSON body): an API key (`sandbox-…`) opens its own, an access token the one it was
/// issued for; an injected fault comes first.
pub(crate) fn tenant_of_token(state: &mut State, token: &str) -> Result<String, Refusal> {
    if !state.faults.is_empty() {
        let status =
            StatusCode::from_u16(state.faults.remove(0)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Err(Refusal::Fault(status));
    }
    if token.starts_with(API_TOKEN_PREFIX) && token.len() > API_TOKEN_PREFIX.len() {
        return Ok(token.to_owned());
    }
    state.tokens.access_tenant(token).ok_or(Refusal::Unauthorized)
}

/// The `oauth_token="…"` parameter of an `OAuth` authorization header.
fn oauth_token(params: &str) -> Option<&str> {
    params.split(',').find_map(|p| {
        p.trim()
            .strip_prefix("oauth_token=\"")
            .and_then(|v| v.strip_suffix('"'))
    })
}
