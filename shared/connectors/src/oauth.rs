//! OAuth 2.0 authorization code with PKCE (S256), through the `oauth2` crate, with every
//! call to the vendor's token endpoint made by our own guarded HTTP plumbing (egress policy,
//! no redirects, timeouts).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    StandardErrorResponse, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

pub use prov_core::connector::{Authorization, CodeGrant, TokenSet};

use crate::error::{ConnectorError, brief};
use crate::grant_refusals;
use crate::http::{Body, NoAuth, Session, VendorHttp, VendorRequest};
use crate::spec::{AppSpec, OAuthSpec, TokenStyle};

/// Our registration at a vendor (from configuration, never from a request).
#[derive(Clone)]
pub struct OAuthClientConfig {
    pub client_id: String,
    pub client_secret: SecretString,
}

/// Where our OAuth registrations come from, read once, on first use (so a function starts
/// without calling anything).
#[async_trait::async_trait]
pub trait OAuthClientSource: Send + Sync {
    async fn load(&self) -> Result<std::collections::HashMap<String, OAuthClientConfig>, String>;
}

/// Our OAuth registrations per app.
pub struct OAuthClients {
    loaded: tokio::sync::OnceCell<std::collections::HashMap<String, OAuthClientConfig>>,
    source: Option<Box<dyn OAuthClientSource>>,
}

impl OAuthClients {
    pub fn fixed(clients: std::collections::HashMap<String, OAuthClientConfig>) -> Self {
        Self {
            loaded: tokio::sync::OnceCell::from(clients),
            source: None,
        }
    }

    pub fn lazy(source: Box<dyn OAuthClientSource>) -> Self {
        Self {
            loaded: tokio::sync::OnceCell::new(),
            source: Some(source),
        }
    }

    pub fn none() -> Self {
        Self::fixed(std::collections::HashMap::new())
    }

    /// Our registration at `app`'s vendor, if configured.
    pub async fn get(&self, app: &str) -> Result<Option<OAuthClientConfig>, String> {
        let clients = self
            .loaded
            .get_or_try_init(|| async {
                match &self.source {
                    Some(source) => source.load().await,
                    None => Ok(std::collections::HashMap::new()),
                }
            })
            .await?;
        Ok(clients.get(app).cloned())
    }
}

fn oauth_spec(spec: &AppSpec) -> Result<OAuthSpec, ConnectorError> {
    spec.oauth.ok_or(ConnectorError::Unsupported("OAuth"))
}

fn invalid(e: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::Invalid(e.to_string())
}

/// The authorize URL, with `state` and a PKCE S256 challenge. The URL is routed like any
/// vendor URL (so the sandbox serves its own consent page).
pub fn authorize(
    http: &VendorHttp,
    spec: &AppSpec,
    client: &OAuthClientConfig,
    redirect: &str,
    environment: Option<&str>,
) -> Result<Authorization, ConnectorError> {
    let o = oauth_spec(spec)?;
    let (authorize_url, _) = o.endpoints(environment)?;
    let oauth = BasicClient::new(ClientId::new(client.client_id.clone()))
        .set_auth_uri(AuthUrl::new(authorize_url.to_owned()).map_err(invalid)?)
        .set_redirect_uri(RedirectUrl::new(redirect.to_owned()).map_err(invalid)?);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = oauth
        .authorize_url(CsrfToken::new_random)
        .add_scopes(o.scopes.iter().map(|s| Scope::new((*s).to_owned())))
        .set_pkce_challenge(challenge);
    for (name, value) in o.extra_params {
        request = request.add_extra_param(*name, *value);
    }
    let (url, state) = request.url();
    let url = http.policy().prepare(&url, &spec.host_patterns())?;
    Ok(Authorization {
        url,
        state: SecretString::from(state.secret().clone()),
        pkce_verifier: SecretString::from(verifier.secret().clone()),
    })
}

/// Sends the `oauth2` crate's requests through our session.
struct Through<'s>(&'s Session);

impl<'c> oauth2::AsyncHttpClient<'c> for Through<'_> {
    type Error = ConnectorError;
    type Future = Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, ConnectorError>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let url = Url::parse(&parts.uri.to_string()).map_err(invalid)?;
            let mut vendor = VendorRequest::new(parts.method, url);
            vendor.headers = parts
                .headers
                .iter()
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect();
            vendor.body = Body::Raw(body);
            let response = self.0.send(vendor).await?;
            let mut builder = http::Response::builder().status(response.status);
            for (name, value) in &response.headers {
                builder = builder.header(name, value);
            }
            builder.body(response.body).map_err(invalid)
        })
    }
}

type TokenError = RequestTokenError<ConnectorError, StandardErrorResponse<BasicErrorResponseType>>;

/// A token request's failure, as `app`'s token endpoint meant it (see `grant_refusals`).
fn token_error(app: &str, e: TokenError) -> ConnectorError {
    match e {
        RequestTokenError::ServerResponse(r) => {
            let body = serde_json::to_vec(&r).unwrap_or_default();
            grant_refusals::read(app, &body).unwrap_or_else(|| {
                let description = r
                    .error_description()
                    .map(|d| format!(": {}", brief(d)))
                    .unwrap_or_default();
                ConnectorError::Invalid(format!("{}{description}", r.error()))
            })
        }
        RequestTokenError::Request(e) => e,
        // An answer that is not tokens in RFC 6749's shape: a vendor's own refusal (HubSpot's
        // `status`, GitHub's errors sent with HTTP 200), or nonsense.
        RequestTokenError::Parse(e, body) => grant_refusals::read(app, &body).unwrap_or_else(|| {
            match serde_json::from_slice::<StandardErrorResponse<BasicErrorResponseType>>(&body) {
                Ok(refusal) => token_error(app, RequestTokenError::ServerResponse(refusal)),
                Err(_) => ConnectorError::Transient(format!("the token answer did not parse: {e}")),
            }
        }),
        RequestTokenError::Other(e) => ConnectorError::Transient(brief(&e)),
    }
}

/// A session to the app's token endpoint (unpaced: see `Session::unpaced`).
fn session(http: Arc<VendorHttp>, spec: &AppSpec, company_id: &str) -> Session {
    spec.session(http, company_id, Arc::new(NoAuth)).unpaced()
}

/// The fields of a token answer beyond RFC 6749's (e.g. Salesforce's `instance_url`).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ExtraFields {
    #[serde(flatten)]
    fields: std::collections::BTreeMap<String, serde_json::Value>,
}

impl oauth2::ExtraTokenFields for ExtraFields {}

type TokenAnswer = oauth2::StandardTokenResponse<ExtraFields, oauth2::basic::BasicTokenType>;

/// A token's stated lifetime is read as at most this (longer than any vendor's tokens), so
/// an absurd `expires_in` cannot overflow a date or an instant.
const LONGEST_TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(365 * 24 * 60 * 60);

/// When a token said to live `lifetime` from `now` expires (at most `LONGEST_TOKEN_LIFETIME`).
fn expiry(now: DateTime<Utc>, lifetime: std::time::Duration) -> Option<DateTime<Utc>> {
    chrono::Duration::from_std(lifetime.min(LONGEST_TOKEN_LIFETIME))
        .ok()
        .and_then(|d| now.checked_add_signed(d))
}

/// The tokens of an answer; `now` (the service's clock) dates their expiry. The answer's
/// `tenant_fields` (strings only) are kept as tenant details.
fn tokens(response: &TokenAnswer, spec: &OAuthSpec, now: DateTime<Utc>) -> TokenSet {
    let extras = &response.extra_fields().fields;
    let tenant = spec
        .tenant_fields
        .iter()
        .filter_map(|f| {
            extras
                .get(*f)
                .and_then(|v| v.as_str())
                .map(|v| ((*f).to_owned(), v.to_owned()))
        })
        .collect();
    TokenSet {
        access_token: SecretString::from(response.access_token().secret().clone()),
        refresh_token: response
            .refresh_token()
            .map(|r| SecretString::from(r.secret().clone())),
        expires_at: response.expires_in().and_then(|d| expiry(now, d)),
        scope: response
            .scopes()
            .map(|s| s.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(" ")),
        tenant,
    }
}

/// A client that knows only the token endpoint, keeping the answer's extra fields.
type TokenClient = oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    TokenAnswer,
    oauth2::basic::BasicTokenIntrospectionResponse,
    oauth2::StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

fn token_client(
    spec: &AppSpec,
    client: &OAuthClientConfig,
    environment: Option<&str>,
) -> Result<TokenClient, ConnectorError> {
    let o = oauth_spec(spec)?;
    let (_, token_url) = o.endpoints(environment)?;
    let auth_type = if o.credentials_in_body {
        AuthType::RequestBody
    } else {
        AuthType::BasicAuth
    };
    Ok(oauth2::Client::new(ClientId::new(client.client_id.clone()))
        .set_client_secret(ClientSecret::new(client.client_secret.expose_secret().to_owned()))
        .set_auth_type(auth_type)
        .set_token_uri(TokenUrl::new(token_url.to_owned()).map_err(invalid)?))
}

/// Trades the authorization code (with the PKCE verifier) for tokens.
pub async fn exchange_code(
    http: Arc<VendorHttp>,
    spec: &AppSpec,
    company_id: &str,
    client: &OAuthClientConfig,
    grant: CodeGrant<'_>,
    now: DateTime<Utc>,
) -> Result<TokenSet, ConnectorError> {
    let session = session(http, spec, company_id);
    if oauth_spec(spec)?.style == TokenStyle::SlackUser {
        let form = vec![
            ("code".to_owned(), grant.code.to_owned()),
            ("redirect_uri".to_owned(), grant.redirect.to_owned()),
            (
                "code_verifier".to_owned(),
                grant.verifier.expose_secret().to_owned(),
            ),
        ];
        return slack_token(&session, spec, client, form, now).await;
    }
    let response = token_client(spec, client, grant.environment)?
        .set_redirect_uri(RedirectUrl::new(grant.redirect.to_owned()).map_err(invalid)?)
        .exchange_code(AuthorizationCode::new(grant.code.to_owned()))
        .set_pkce_verifier(PkceCodeVerifier::new(grant.verifier.expose_secret().to_owned()))
        .request_async(&Through(&session))
        .await
        .map_err(|e| token_error(spec.slug(), e))?;
    Ok(tokens(&response, &oauth_spec(spec)?, now))
}

/// Trades a refresh token for new tokens (the answer may carry a rotated refresh token).
pub async fn refresh(
    http: Arc<VendorHttp>,
    spec: &AppSpec,
    company_id: &str,
    client: &OAuthClientConfig,
    refresh_token: &SecretString,
    environment: Option<&str>,
    now: DateTime<Utc>,
) -> Result<TokenSet, ConnectorError> {
    let session = session(http, spec, company_id);
    if oauth_spec(spec)?.style == TokenStyle::SlackUser {
        let form = vec![
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            (
                "refresh_token".to_owned(),
                refresh_token.expose_secret().to_owned(),
            ),
        ];
        return slack_token(&session, spec, client, form, now).await;
    }
    let token = RefreshToken::new(refresh_token.expose_secret().to_owned());
    let response = token_client(spec, client, environment)?
        .exchange_refresh_token(&token)
        .request_async(&Through(&session))
        .await
        .map_err(|e| token_error(spec.slug(), e))?;
    Ok(tokens(&response, &oauth_spec(spec)?, now))
}

#[derive(serde::Deserialize)]
struct SlackTokens {
    access_token: Option<String>,
    refresh_token: Option<String>,
    expires_in: Option<i64>,
    scope: Option<String>,
}

#[derive(serde::Deserialize)]
struct SlackTeam {
    id: Option<String>,
    name: Option<String>,
}

#[derive(serde::Deserialize)]
struct SlackAnswer {
    ok: bool,
    error: Option<String>,
    authed_user: Option<SlackTokens>,
    #[serde(flatten)]
    top: SlackTokens,
    team: Option<SlackTeam>,
}

/// Slack's `oauth.v2.access`: always HTTP 200; `ok: false` carries the error; a user token
/// (what SCIM needs) comes under `authed_user` (a refresh answers at the top level).
async fn slack_token(
    session: &Session,
    spec: &AppSpec,
    client: &OAuthClientConfig,
    mut form: Vec<(String, String)>,
    now: DateTime<Utc>,
) -> Result<TokenSet, ConnectorError> {
    let o = oauth_spec(spec)?;
    form.push(("client_id".to_owned(), client.client_id.clone()));
    form.push((
        "client_secret".to_owned(),
        client.client_secret.expose_secret().to_owned(),
    ));
    let mut request = VendorRequest::new(http::Method::POST, Url::parse(o.token_url).map_err(invalid)?);
    request.body = Body::Form(form);
    let response = session.send(request).await?;
    if !response.status.is_success() {
        return Err(ConnectorError::Transient(format!(
            "Slack answered {}",
            response.status
        )));
    }
    let answer: SlackAnswer = response.json()?;
    if !answer.ok {
        return Err(
            grant_refusals::read(spec.slug(), &response.body).unwrap_or_else(|| {
                ConnectorError::Invalid(brief(answer.error.as_deref().unwrap_or("unknown_error")))
            }),
        );
    }
    let tokens = answer
        .authed_user
        .filter(|u| u.access_token.is_some())
        .unwrap_or(answer.top);
    let access = tokens.access_token.ok_or_else(|| {
        ConnectorError::Invalid("Slack sent no user token; the `admin` user scope is needed".into())
    })?;
    let mut tenant = Vec::new();
    if let Some(team) = answer.team {
        tenant.extend(team.id.map(|id| ("team_id".to_owned(), id)));
        tenant.extend(team.name.map(|name| ("team_name".to_owned(), name)));
    }
    Ok(TokenSet {
        access_token: SecretString::from(access),
        refresh_token: tokens.refresh_token.map(SecretString::from),
        expires_at: tokens
            .expires_in
            .and_then(|s| expiry(now, std::time::Duration::from_secs(u64::try_from(s).unwrap_or(0)))),
        scope: tokens.scope,
        tenant,
    })
}

/// A token endpoint's answer to a grant the service makes itself (client credentials, a
/// refresh token, a pasted authorization code).
pub struct GrantAnswer {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    /// Seconds the access token lives (300 when the vendor does not say).
    pub lifetime: std::time::Duration,
}

#[derive(serde::Deserialize)]
struct RawGrantAnswer {
    access_token: Option<String>,
    refresh_token: Option<String>,
    expires_in: Option<u64>,
}

/// Posts `form` to a token endpoint through `session` (the egress policy applies). Refusals
/// are `Unauthorized` with the vendor's reason (never the form's secrets), including the
/// errors some vendors (Zoho) send with HTTP 200.
///
/// `repeatable`: whether the grant may be sent again after a timeout or a 5xx (client
/// credentials and refresh tokens may; a one-time authorization code may not: a replayed
/// code is refused, and may revoke what it was first exchanged for).
pub async fn request_grant(
    session: &Session,
    token_url: &Url,
    form: &[(String, SecretString)],
    repeatable: bool,
) -> Result<GrantAnswer, ConnectorError> {
    let fields = form
        .iter()
        .map(|(k, v)| (k.clone(), v.expose_secret().to_owned()))
        .collect();
    let mut request = VendorRequest::new(http::Method::POST, token_url.clone());
    if repeatable {
        request = request.repeatable();
    }
    request.body = Body::Form(fields);
    let response = session.send(request).await?;
    // The vendor's words for "refused", or "not now", whatever the status (Zoho's come with 200).
    if let Some(refusal) = grant_refusals::read(session.app, &response.body)
        && !serde_json::from_slice::<RawGrantAnswer>(&response.body).is_ok_and(|a| a.access_token.is_some())
    {
        return Err(refusal);
    }
    // RFC 6749 errors (`error`, `error_description`) or a vendor's own (`message`).
    let said: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
    let reason = || {
        ["error_description", "error", "message"]
            .iter()
            .find_map(|k| said.get(k).and_then(|v| v.as_str()))
            .map(brief)
            .unwrap_or_else(|| response.status.to_string())
    };
    if response.status.is_success() {
        let raw: RawGrantAnswer = response.json()?;
        let Some(access) = raw.access_token else {
            return Err(ConnectorError::Unauthorized(format!(
                "the token endpoint refused: {}",
                reason()
            )));
        };
        return Ok(GrantAnswer {
            access_token: SecretString::from(access),
            refresh_token: raw.refresh_token.map(SecretString::from),
            lifetime: std::time::Duration::from_secs(raw.expires_in.unwrap_or(300))
                .min(LONGEST_TOKEN_LIFETIME),
        });
    }
    if response.status.is_client_error() {
        Err(ConnectorError::Unauthorized(format!(
            "the token endpoint refused: {}",
            reason()
        )))
    } else {
        Err(ConnectorError::Transient(format!(
            "the token endpoint answered {}: {}",
            response.status,
            reason()
        )))
    }
}

/// Credentials minted by a grant the service makes itself: OAuth 2.0 client credentials (RFC
/// 6749 §4.4) for apps whose admin pastes an OAuth client, or a stored refresh token (§6)
/// for apps whose admin pastes a one-time grant. A token is minted on first use, reused until
/// shortly before it expires, and minted again after a 401. Only what was pasted (or the
/// refresh token it was exchanged for) is stored.
pub struct MintedToken {
    /// An unauthenticated session to the app's hosts (the token endpoint is one).
    session: Session,
    token_url: Url,
    form: Vec<(String, SecretString)>,
    /// The scheme of the `Authorization` header (`Bearer`; Zoho's `Zoho-oauthtoken`).
    scheme: &'static str,
    /// The grant's key in the process's token cache.
    key: String,
    current: tokio::sync::Mutex<Option<(SecretString, std::time::Instant)>>,
}

/// A token is minted again this long before its stated expiry.
const EXPIRY_MARGIN: std::time::Duration = std::time::Duration::from_secs(60);

fn client_form(
    grant_type: &str,
    client_id: &str,
    client_secret: &SecretString,
) -> Vec<(String, SecretString)> {
    vec![
        ("grant_type".to_owned(), SecretString::from(grant_type)),
        ("client_id".to_owned(), SecretString::from(client_id)),
        ("client_secret".to_owned(), client_secret.clone()),
    ]
}

impl MintedToken {
    /// The client-credentials grant with further form fields (`scope`, a vendor's
    /// `resource`, …); tokens go in `Authorization: Bearer`.
    pub fn client_credentials(
        session: Session,
        token_url: Url,
        client_id: &str,
        client_secret: &SecretString,
        params: Vec<(String, String)>,
    ) -> Self {
        let mut form = client_form("client_credentials", client_id, client_secret);
        form.extend(params.into_iter().map(|(k, v)| (k, SecretString::from(v))));
        Self::new(session, token_url, form, "Bearer")
    }

    /// The refresh-token grant; tokens go in `Authorization: {scheme}`.
    pub fn refresh_token(
        session: Session,
        token_url: Url,
        client_id: &str,
        client_secret: &SecretString,
        refresh_token: &SecretString,
        scheme: &'static str,
    ) -> Self {
        let mut form = client_form("refresh_token", client_id, client_secret);
        form.push(("refresh_token".to_owned(), refresh_token.clone()));
        Self::new(session, token_url, form, scheme)
    }

    fn new(
        session: Session,
        token_url: Url,
        form: Vec<(String, SecretString)>,
        scheme: &'static str,
    ) -> Self {
        // The grant's identity (a digest: no secret is kept as a key).
        let grant = std::iter::once(token_url.as_str().to_owned())
            .chain(form.iter().map(|(k, v)| format!("{k}={}", v.expose_secret())))
            .collect::<Vec<_>>()
            .join("\n");
        let key = prov_core::secret::hash_secret(&grant);
        let session = session.unpaced();
        let cached = session
            .http
            .minted
            .lock()
            .expect("token cache")
            .get(&key)
            .cloned();
        Self {
            session,
            token_url,
            form,
            scheme,
            key,
            current: tokio::sync::Mutex::new(cached),
        }
    }

    async fn mint(&self) -> Result<(SecretString, std::time::Instant), ConnectorError> {
        let answer = request_grant(&self.session, &self.token_url, &self.form, true).await?;
        let renew_at = std::time::Instant::now() + answer.lifetime.saturating_sub(EXPIRY_MARGIN);
        let minted = (answer.access_token, renew_at);
        // Connectors are built per request, and vendors limit how often one grant may mint
        // (Zoho: a handful of tokens per refresh token in ten minutes): the process's HTTP
        // machinery keeps the token for the next connector until it is due for renewal.
        self.session
            .http
            .minted
            .lock()
            .expect("token cache")
            .insert(self.key.clone(), minted.clone());
        Ok(minted)
    }
}

#[async_trait::async_trait]
impl crate::http::Authenticator for MintedToken {
    async fn header(&self) -> Result<Option<(http::HeaderName, SecretString)>, ConnectorError> {
        let mut current = self.current.lock().await;
        let fresh = current
            .as_ref()
            .is_some_and(|(_, renew_at)| std::time::Instant::now() < *renew_at);
        if !fresh {
            *current = Some(self.mint().await?);
        }
        let (token, _) = current.as_ref().expect("just minted");
        Ok(Some((
            http::header::AUTHORIZATION,
            SecretString::from(format!("{} {}", self.scheme, token.expose_secret())),
        )))
    }

    async fn refresh(&self) -> Result<bool, ConnectorError> {
        let minted = self.mint().await?;
        *self.current.lock().await = Some(minted);
        Ok(true)
    }
}
