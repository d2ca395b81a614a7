//! The HTTP plumbing every connector shares, written once: timeouts, the egress policy, a
//! per company+app throttle, retries with backoff and jitter that honour `Retry-After` and
//! the vendors' reset headers, and one credential refresh on 401.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use crate::egress::{EgressPolicy, GuardedResolver, HostPattern, configured_proxy_hosts, redact};
use crate::error::{ConnectorError, brief};

#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub connect_timeout: Duration,
    /// The whole request, answer included.
    pub request_timeout: Duration,
    /// Tries per call, the first included.
    pub max_attempts: u32,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// A vendor asking us to wait longer than this gets `RateLimited` back instead of a wait.
    pub max_wait: Duration,
    pub max_body_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(20),
            max_attempts: 4,
            base_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(20),
            max_wait: Duration::from_secs(60),
            max_body_bytes: 8 * 1024 * 1024,
        }
    }
}

/// How waiting happens: real sleeps in production, recorded ones in tests.
#[async_trait]
pub trait Sleeper: Send + Sync {
    async fn sleep(&self, duration: Duration);

    /// Time passed on a simulated clock that only this sleeper's waits move (a benchmark of
    /// hours of throttled calls); `None`, the default, means real time.
    fn simulated_now(&self) -> Option<Duration> {
        None
    }
}

/// What the throttles read the time from: real time since the machinery was built, or the
/// sleeper's simulated time, so throttle and waits always agree.
#[derive(Clone)]
struct ThrottleClock {
    started: std::time::Instant,
    sleeper: Arc<dyn Sleeper>,
}

impl Clock for ThrottleClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.sleeper
            .simulated_now()
            .unwrap_or_else(|| self.started.elapsed())
    }
}

/// The pace a vendor stricter than its published limit taught us: after a 429, calls of
/// that app for that company are spaced at least `spacing` apart (half as fast again as the
/// published rate, then slower still on each further 429); each call that gets through
/// shortens the spacing by 1 %, back to the published limit alone once below it. So a vendor
/// that refuses beyond its real pace sees a 429 now and then, not one per call.
#[derive(Debug, Clone, Copy)]
struct Pace {
    spacing: Duration,
    /// On the throttle clock: when the next call may go.
    next_at: Duration,
}

/// One app's throttle: a GCRA limiter per company.
type Throttle = RateLimiter<String, DefaultKeyedStateStore<String>, ThrottleClock, NoOpMiddleware<Duration>>;

#[derive(Debug, Default)]
pub struct TokioSleeper;

#[async_trait]
impl Sleeper for TokioSleeper {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// Puts credentials on requests, and refreshes them when the vendor refuses them.
#[async_trait]
pub trait Authenticator: Send + Sync {
    /// The header carrying the current credentials, if any.
    async fn header(&self) -> Result<Option<(HeaderName, SecretString)>, ConnectorError>;
    /// Gets fresh credentials after a 401; `false` when there is nothing to refresh.
    async fn refresh(&self) -> Result<bool, ConnectorError>;

    /// Credentials that travel inside the JSON body instead of a header (e.g. LastPass's
    /// `cid` and `provhash`): the text of a JSON object whose fields the session adds to
    /// every JSON-object body it sends, at the moment of sending (so no request, error or log
    /// line holds them). None for the usual header credentials.
    async fn body_fields(&self) -> Result<Option<SecretString>, ConnectorError> {
        Ok(None)
    }
}

/// A fixed credential in a header, e.g. `Authorization: Bearer <token>`, `SSWS <token>` or
/// `Basic <base64 of user:password>`.
pub struct StaticAuth {
    header: HeaderName,
    value: SecretString,
}

impl StaticAuth {
    pub fn bearer(token: &SecretString) -> Self {
        Self::scheme("Bearer", token)
    }

    /// HTTP Basic authentication: `Authorization: Basic base64(user:password)`.
    pub fn basic(user: &str, password: &SecretString) -> Self {
        use base64::Engine as _;
        let pair = SecretString::from(format!("{user}:{}", password.expose_secret()));
        let encoded = base64::engine::general_purpose::STANDARD.encode(pair.expose_secret());
        Self::scheme("Basic", &SecretString::from(encoded))
    }

    pub fn scheme(scheme: &str, token: &SecretString) -> Self {
        Self {
            header: reqwest::header::AUTHORIZATION,
            value: SecretString::from(format!("{scheme} {}", token.expose_secret())),
        }
    }

    /// The token alone as the `Authorization` value, without a scheme (e.g. ClickUp's
    /// personal tokens: `Authorization: pk_…`).
    pub fn bare(token: &SecretString) -> Self {
        Self {
            header: reqwest::header::AUTHORIZATION,
            value: token.clone(),
        }
    }
}

#[async_trait]
impl Authenticator for StaticAuth {
    async fn header(&self) -> Result<Option<(HeaderName, SecretString)>, ConnectorError> {
        Ok(Some((self.header.clone(), self.value.clone())))
    }

    async fn refresh(&self) -> Result<bool, ConnectorError> {
        Ok(false)
    }
}

/// Fixed credentials sent as fields of every JSON request body, no header (see
/// [`Authenticator::body_fields`]).
pub struct BodyAuth {
    fields: SecretString,
}

impl BodyAuth {
    /// `fields` is the text of a JSON object, e.g. `{"cid": 123, "provhash": "…"}`.
    pub fn new(fields: SecretString) -> Self {
        Self { fields }
    }
}

#[async_trait]
impl Authenticator for BodyAuth {
    async fn header(&self) -> Result<Option<(HeaderName, SecretString)>, ConnectorError> {
        Ok(None)
    }

    async fn refresh(&self) -> Result<bool, ConnectorError> {
        Ok(false)
    }

    async fn body_fields(&self) -> Result<Option<SecretString>, ConnectorError> {
        Ok(Some(self.fields.clone()))
    }
}

/// `body` with the credential `fields` (a JSON object's text) added, when both are objects.
fn with_body_fields(body: &serde_json::Value, fields: Option<&SecretString>) -> serde_json::Value {
    let mut body = body.clone();
    let extra = fields.and_then(|f| {
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(f.expose_secret()).ok()
    });
    if let (Some(object), Some(extra)) = (body.as_object_mut(), extra) {
        object.extend(extra);
    }
    body
}

/// No credentials (token endpoints, public calls).
pub struct NoAuth;

#[async_trait]
impl Authenticator for NoAuth {
    async fn header(&self) -> Result<Option<(HeaderName, SecretString)>, ConnectorError> {
        Ok(None)
    }

    async fn refresh(&self) -> Result<bool, ConnectorError> {
        Ok(false)
    }
}

#[derive(Debug, Clone)]
pub enum Body {
    Empty,
    Json(serde_json::Value),
    Form(Vec<(String, String)>),
    /// Bytes whose content type the request's headers say.
    Raw(Vec<u8>),
}

#[derive(Debug, Clone)]
pub struct VendorRequest {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Body,
    /// A POST that reads or sets a state (an RPC-style API's reads), so repeating it is safe.
    pub repeatable: bool,
}

impl VendorRequest {
    pub fn new(method: Method, url: Url) -> Self {
        Self {
            method,
            url,
            headers: Vec::new(),
            body: Body::Empty,
            repeatable: false,
        }
    }

    /// Marks a POST as safe to send twice (it reads, or sets a state it may already have).
    pub fn repeatable(mut self) -> Self {
        self.repeatable = true;
        self
    }

    pub fn get(url: Url) -> Self {
        Self::new(Method::GET, url)
    }

    pub fn json(mut self, body: serde_json::Value) -> Self {
        self.body = Body::Json(body);
        self
    }

    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Whether sending it twice does no more than sending it once (so a timeout or 5xx
    /// may be retried). POST is not, unless marked repeatable: it is retried only when it
    /// surely was not processed.
    fn idempotent(&self) -> bool {
        self.method != Method::POST || self.repeatable
    }
}

#[derive(Debug, Clone)]
pub struct VendorResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl VendorResponse {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ConnectorError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| ConnectorError::Transient(format!("the vendor's answer did not parse: {e}")))
    }

    pub fn text(&self) -> String {
        brief(&String::from_utf8_lossy(&self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// How a vendor says "slow down", beyond a plain 429.
pub type RateLimitSignal = fn(&VendorResponse) -> bool;

/// A vendor's published limit for the per company+app throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_minute: u32,
    pub burst: u32,
}

impl RateLimit {
    /// The time between two calls at the sustained rate.
    pub fn spacing(self) -> Duration {
        Duration::from_secs(60) / self.per_minute.max(1)
    }
}

/// The process-wide HTTP machinery: one client (connection pool), the egress policy and
/// the throttles. Build once at start and share.
pub struct VendorHttp {
    /// Built on the first vendor call: building it parses the system's root certificates
    /// (milliseconds), which a function start should not pay for requests that never call
    /// a vendor.
    client: std::sync::OnceLock<reqwest::Client>,
    policy: Arc<EgressPolicy>,
    config: HttpConfig,
    sleeper: Arc<dyn Sleeper>,
    throttles: Mutex<HashMap<&'static str, Arc<Throttle>>>,
    /// Per app and company, the slower pace a 429 taught us (see `Pace`).
    paces: Mutex<HashMap<(&'static str, String), Pace>>,
    /// Tokens minted by grants the service makes itself, by grant (see `oauth::MintedToken`).
    pub(crate) minted: Mutex<HashMap<String, (SecretString, std::time::Instant)>>,
}

impl VendorHttp {
    pub fn new(policy: EgressPolicy, config: HttpConfig) -> Self {
        Self::with_sleeper(policy, config, Arc::new(TokioSleeper))
    }

    pub fn with_sleeper(policy: EgressPolicy, config: HttpConfig, sleeper: Arc<dyn Sleeper>) -> Self {
        Self {
            client: std::sync::OnceLock::new(),
            policy: Arc::new(policy),
            config,
            sleeper,
            throttles: Mutex::new(HashMap::new()),
            paces: Mutex::new(HashMap::new()),
            minted: Mutex::new(HashMap::new()),
        }
    }

    pub fn policy(&self) -> &EgressPolicy {
        &self.policy
    }

    fn client(&self) -> &reqwest::Client {
        self.client.get_or_init(|| {
            reqwest::Client::builder()
                // The TLS the AWS calls use too: Mozilla's roots compiled in.
                .tls_backend_preconfigured(prov_https::tls_config())
                .connect_timeout(self.config.connect_timeout)
                .timeout(self.config.request_timeout)
                .redirect(reqwest::redirect::Policy::none())
                .dns_resolver(Arc::new(GuardedResolver {
                    sandbox: self.policy.is_sandbox(),
                    trusted: configured_proxy_hosts(),
                }))
                .user_agent(concat!("app-provisioning/", env!("CARGO_PKG_VERSION")))
                .build()
                .expect("the HTTP client builds")
        })
    }

    fn throttle(&self, app: &'static str, limit: RateLimit) -> Arc<Throttle> {
        let mut throttles = self.throttles.lock().expect("throttle lock");
        throttles
            .entry(app)
            .or_insert_with(|| {
                let per_minute = NonZeroU32::new(limit.per_minute.max(1)).expect("non-zero");
                let burst = NonZeroU32::new(limit.burst.max(1)).expect("non-zero");
                let clock = ThrottleClock {
                    started: std::time::Instant::now(),
                    sleeper: self.sleeper.clone(),
                };
                Arc::new(RateLimiter::new(
                    Quota::per_minute(per_minute).allow_burst(burst),
                    DefaultKeyedStateStore::default(),
                    clock,
                ))
            })
            .clone()
    }
}

/// What one connection talks to, and how.
#[derive(Clone)]
pub struct Session {
    pub http: Arc<VendorHttp>,
    pub app: &'static str,
    pub company_id: String,
    /// The hosts this connection may call (the vendor's, plus its tenant host).
    pub hosts: Vec<HostPattern>,
    pub auth: Arc<dyn Authenticator>,
    pub limit: Option<RateLimit>,
    pub rate_limit_signal: Option<RateLimitSignal>,
}

/// The default reading of a vendor's refusal, for what a connector does not read itself: 401
/// is refused credentials, 404 not found, any other 4xx a refused request, anything else (a
/// 5xx, an answer that did not parse as asked) a failure that may pass, naming the vendor.
/// Connectors match their own codes first (a 403's hint, a plan refusal, "already exists")
/// and hand the rest here.
pub fn refusal(vendor: &str, status: StatusCode, said: String) -> ConnectorError {
    match status {
        StatusCode::UNAUTHORIZED => ConnectorError::Unauthorized(said),
        StatusCode::NOT_FOUND => ConnectorError::NotFound,
        s if s.is_client_error() => ConnectorError::Invalid(said),
        s => ConnectorError::Transient(format!("{vendor} answered {s}: {said}")),
    }
}

/// The longest wait a vendor's header is taken to ask for. Anything longer (a date years
/// ahead, `1e20`, `inf`) is read as this, so a wait is always a sane `Duration`; callers
/// cap it further (`HttpConfig::max_wait`).
pub const LONGEST_TOLD_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

/// A wait of `secs` seconds, clamped to `[0, LONGEST_TOLD_WAIT]`; `None` for NaN.
fn told_seconds(secs: f64) -> Option<Duration> {
    if secs.is_nan() {
        return None;
    }
    Some(Duration::from_secs_f64(
        secs.clamp(0.0, LONGEST_TOLD_WAIT.as_secs_f64()),
    ))
}

/// Seconds to wait from `Retry-After` (seconds or an HTTP date) or the vendors' reset
/// headers (epoch seconds, or seconds from now for small values). Never more than
/// `LONGEST_TOLD_WAIT`, whatever the vendor sent; an unreadable value is no answer.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(v) = get("retry-after") {
        if let Some(wait) = v.parse::<f64>().ok().and_then(told_seconds) {
            return Some(wait);
        }
        if let Ok(at) = chrono::DateTime::parse_from_rfc2822(v) {
            let wait = at.signed_duration_since(chrono::Utc::now()).num_milliseconds();
            return told_seconds(wait as f64 / 1000.0);
        }
    }
    for name in ["x-ratelimit-reset", "x-rate-limit-reset", "ratelimit-reset"] {
        if let Some(secs) = get(name)
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|s| !s.is_nan())
        {
            let now = chrono::Utc::now().timestamp() as f64;
            // Large values are epoch seconds; small ones are seconds from now.
            let wait = if secs > 1e9 { secs - now } else { secs };
            return told_seconds(wait);
        }
    }
    None
}

impl Session {
    fn backoff(&self, attempt: u32) -> Duration {
        let config = &self.http.config;
        let exp = config
            .base_backoff
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        let capped = exp.min(config.max_backoff);
        // Full jitter: anywhere from half to all of the capped backoff.
        let jitter = rand_fraction();
        capped.mul_f64(0.5 + 0.5 * jitter)
    }

    /// Waits between polls of a vendor's asynchronous job (on the session's sleeper, so
    /// tests do not wait).
    pub async fn pause(&self, duration: Duration) {
        self.http.sleeper.sleep(duration).await;
    }

    async fn wait_for_throttle(&self) {
        let Some(limit) = self.limit else { return };
        let limiter = self.http.throttle(self.app, limit);
        while let Err(not_until) = limiter.check_key(&self.company_id) {
            self.http
                .sleeper
                .sleep(not_until.wait_time_from(limiter.clock().now()))
                .await;
        }
        let wait = {
            let mut paces = self.http.paces.lock().expect("pace lock");
            match paces.get_mut(&(self.app, self.company_id.clone())) {
                Some(pace) => {
                    let now = limiter.clock().now();
                    let at = pace.next_at.max(now);
                    pace.next_at = at + pace.spacing;
                    at - now
                }
                None => Duration::ZERO,
            }
        };
        if !wait.is_zero() {
            self.http.sleeper.sleep(wait).await;
        }
    }

    /// A 429: space this app's calls for this company further apart.
    fn slow_down(&self) {
        let Some(limit) = self.limit else { return };
        let published = limit.spacing();
        let mut paces = self.http.paces.lock().expect("pace lock");
        let pace = paces.entry((self.app, self.company_id.clone())).or_insert(Pace {
            spacing: Duration::ZERO,
            next_at: Duration::ZERO,
        });
        pace.spacing = pace
            .spacing
            .max(published)
            .mul_f64(1.5)
            .min(self.http.config.max_wait);
    }

    /// A call got through: move back toward the published pace.
    fn speed_up(&self) {
        let Some(limit) = self.limit else { return };
        let published = limit.spacing();
        let key = (self.app, self.company_id.clone());
        let mut paces = self.http.paces.lock().expect("pace lock");
        if let Some(pace) = paces.get_mut(&key) {
            pace.spacing = pace.spacing.mul_f64(0.99);
            if pace.spacing <= published {
                paces.remove(&key);
            }
        }
    }

    async fn send_once(
        &self,
        request: &VendorRequest,
        target: &Url,
        auth: Option<(HeaderName, SecretString)>,
        body_fields: Option<&SecretString>,
    ) -> Result<VendorResponse, reqwest::Error> {
        let mut builder = self.http.client().request(request.method.clone(), target.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        builder = match &request.body {
            Body::Empty => builder,
            Body::Json(v) if body_fields.is_some() => builder.json(&with_body_fields(v, body_fields)),
            Body::Json(v) => builder.json(v),
            Body::Form(fields) => builder.form(fields),
            Body::Raw(bytes) => builder.body(bytes.clone()),
        };
        // JSON unless the request names its own media type (e.g. GitHub's).
        if !request
            .headers
            .iter()
            .any(|(name, _)| name == reqwest::header::ACCEPT)
        {
            builder = builder.header(
                reqwest::header::ACCEPT,
                HeaderValue::from_static("application/json"),
            );
        }
        if let Some((name, value)) = &auth
            && let Ok(mut v) = HeaderValue::from_str(value.expose_secret())
        {
            v.set_sensitive(true);
            builder = builder.header(name, v);
        }
        let mut response = builder.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > self.http.config.max_body_bytes {
                break; // a larger answer is cut; it will not parse and is reported as such
            }
            body.extend_from_slice(&chunk);
        }
        Ok(VendorResponse {
            status,
            headers,
            body,
        })
    }

    /// Sends `request`, retrying what may be retried. Answers with the vendor's response for
    /// every status the plumbing does not handle itself (429 and 5xx are retried, a 401 gets
    /// one credential refresh); the connector maps those to its errors.
    pub async fn send(&self, request: VendorRequest) -> Result<VendorResponse, ConnectorError> {
        let target = self.http.policy.prepare(&request.url, &self.hosts)?;
        let config = &self.http.config;
        let mut refreshed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.wait_for_throttle().await;
            let last = attempt >= config.max_attempts;
            // Credentials that cannot be had (a refused token grant) send nothing.
            let auth = self.auth.header().await?;
            let body_fields = self.auth.body_fields().await?;
            let response = match self
                .send_once(&request, &target, auth, body_fields.as_ref())
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    // Nothing reached the vendor when the connection failed, so any method
                    // may retry it; after a timeout only idempotent ones may.
                    let unsent = e.is_connect();
                    let what = if e.is_timeout() { "timed out" } else { "failed" };
                    let error = ConnectorError::Transient(format!("the call to {} {what}", redact(&target)));
                    if last || !(unsent || request.idempotent()) {
                        return Err(error);
                    }
                    tracing::warn!(app = self.app, attempt, "vendor call {what}; retrying");
                    self.http.sleeper.sleep(self.backoff(attempt)).await;
                    continue;
                }
            };
            let status = response.status;
            let rate_limited = status == StatusCode::TOO_MANY_REQUESTS
                || self.rate_limit_signal.is_some_and(|signal| signal(&response));
            if rate_limited {
                let told = retry_after(&response.headers);
                let wait = told.unwrap_or_else(|| self.backoff(attempt));
                if last || wait > config.max_wait {
                    return Err(ConnectorError::RateLimited { retry_after: told });
                }
                tracing::info!(
                    app = self.app,
                    wait_ms = wait.as_millis() as u64,
                    "vendor rate limit; waiting"
                );
                self.slow_down();
                self.http.sleeper.sleep(wait).await;
                continue;
            }
            if status.is_server_error() {
                if last || !request.idempotent() {
                    return Err(ConnectorError::Transient(format!(
                        "the vendor answered {status}: {}",
                        response.text()
                    )));
                }
                let wait = retry_after(&response.headers).unwrap_or_else(|| self.backoff(attempt));
                self.http.sleeper.sleep(wait.min(config.max_wait)).await;
                continue;
            }
            if status == StatusCode::UNAUTHORIZED && !refreshed {
                refreshed = true;
                if self.auth.refresh().await? {
                    attempt -= 1; // the refresh is not the vendor's failure
                    continue;
                }
            }
            if status.is_redirection() {
                return Err(ConnectorError::Invalid(format!(
                    "the vendor answered with a redirect ({status}), which is not followed"
                )));
            }
            self.speed_up();
            return Ok(response);
        }
    }
}

/// A uniformly random number in [0, 1), for jitter.
fn rand_fraction() -> f64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the operating system's random source works");
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_fields_join_json_object_bodies_only() {
        let fields = SecretString::from(r#"{"cid": 7, "provhash": "h"}"#);
        let merged = with_body_fields(&serde_json::json!({"cmd": "x"}), Some(&fields));
        assert_eq!(merged, serde_json::json!({"cmd": "x", "cid": 7, "provhash": "h"}));
        let array = serde_json::json!([1]);
        assert_eq!(with_body_fields(&array, Some(&fields)), array);
        let plain = serde_json::json!({"a": 1});
        assert_eq!(with_body_fields(&plain, None), plain);
    }

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let mut h = HeaderMap::new();
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(30)).timestamp();
        h.insert(
            "x-ratelimit-reset",
            HeaderValue::from_str(&soon.to_string()).unwrap(),
        );
        let wait = retry_after(&h).unwrap();
        assert!(
            wait <= Duration::from_secs(30) && wait >= Duration::from_secs(28),
            "{wait:?}"
        );
        let mut h = HeaderMap::new();
        h.insert("x-rate-limit-reset", HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }
}
