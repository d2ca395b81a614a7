//! The HTTP plumbing every connector shares, written once: timeouts, the egress policy, a
//! per company+app pace at the vendor's published limit (in the process, and shared by
//! every instance through the item store when configured), retries as the vendors document
//! them (a rate-limit answer's `Retry-After` or reset header; exponential backoff with
//! jitter for server errors), waits bounded per connector with the rest handed back to the
//! caller, and one credential refresh on 401.

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

use crate::budget::Pace;
pub use crate::budget::{RateLimit, SharedBudgets};
use crate::egress::{EgressPolicy, GuardedResolver, HostPattern, configured_proxy_hosts, redact};
use crate::error::{ConnectorError, brief};
use crate::model::VendorTenant;

/// A connection's account as its vendor names it: the account's API base and the tenant.
pub(crate) type LearnedAccount = (Url, VendorTenant);

#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub connect_timeout: Duration,
    /// The whole request, answer included.
    pub request_timeout: Duration,
    /// Tries per call, the first included.
    pub max_attempts: u32,
    /// The first wait of the standard backoff (doubled on each retry, with jitter).
    pub base_backoff: Duration,
    /// No single backoff wait is longer (a server error's `Retry-After` included).
    pub max_backoff: Duration,
    /// The most one connector (one request's, or one removal's) waits in all: for its turn
    /// at the vendor's pace, for a rate-limit answer's wait, between retries. A wait beyond
    /// what is left is not waited: the caller gets it back (`RateLimited` with the wait),
    /// so an HTTP request answers long before API Gateway's 30 s and no function pays for
    /// sleeping.
    pub max_wait: Duration,
    /// The longest a call waits in the process for its turn at the vendor's pace; a later
    /// turn is booked and handed back (`RateLimited` with the wait until it).
    pub max_turn_wait: Duration,
    pub max_body_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(20),
            max_attempts: 4,
            base_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            max_wait: Duration::from_secs(10),
            max_turn_wait: Duration::from_secs(10),
            max_body_bytes: 8 * 1024 * 1024,
        }
    }
}

impl HttpConfig {
    /// For work nobody is waiting on (the dismissal cleanup): a call waits a second or two
    /// for its turn at most; a later turn is booked and the work handed back to be
    /// scheduled then, instead of a function paid to sleep (and holding a worker the
    /// booked turns of others need).
    pub fn background() -> Self {
        Self {
            max_turn_wait: Duration::from_secs(2),
            ..Self::default()
        }
    }

    /// The longest one call through a connector may take: every try timing out, and the
    /// connector's whole wait.
    pub fn longest_call(&self) -> Duration {
        (self.connect_timeout + self.request_timeout) * self.max_attempts + self.max_wait
    }
}

/// How long to wait before retrying when the vendor did not say how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first wait; each retry doubles it.
    pub first: Duration,
    /// No single wait is longer.
    pub cap: Duration,
    pub jitter: Jitter,
}

/// The random part of a backoff wait, so retries of many callers spread out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// Anywhere from half to all of the wait.
    Half,
    /// Up to this much added to the wait.
    Added(Duration),
}

impl Backoff {
    /// The wait before retry `attempt` (1 for the first retry).
    pub fn wait(&self, attempt: u32) -> Duration {
        let exp = self
            .first
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.cap);
        match self.jitter {
            Jitter::Half => exp.mul_f64(0.5 + 0.5 * rand_fraction()),
            Jitter::Added(most) => exp + most.mul_f64(rand_fraction()),
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

/// The in-process paces kept before they are forgotten when idle.
const LOCAL_PACES: usize = 10_000;

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
    clock: ThrottleClock,
    /// The last gate: this process's own GCRA limiter per app, one key per company.
    throttles: Mutex<HashMap<&'static str, Arc<Throttle>>>,
    /// Per app and company, the pace kept in this process (when no shared budget is set).
    paces: Mutex<HashMap<(&'static str, String), Pace>>,
    /// The paces every instance of the service shares, when configured.
    shared: Option<SharedBudgets>,
    /// Tokens minted by grants the service makes itself, by grant (see `oauth::MintedToken`).
    pub(crate) minted: Mutex<HashMap<String, (SecretString, std::time::Instant)>>,
    /// What a vendor told about a connection that rarely changes (DocuSign's account and
    /// its API host from `/oauth/userinfo`), by connection, with when it was learned.
    pub(crate) learned: Mutex<HashMap<String, (LearnedAccount, Duration)>>,
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
            clock: ThrottleClock {
                started: std::time::Instant::now(),
                sleeper: sleeper.clone(),
            },
            sleeper,
            throttles: Mutex::new(HashMap::new()),
            paces: Mutex::new(HashMap::new()),
            shared: None,
            minted: Mutex::new(HashMap::new()),
            learned: Mutex::new(HashMap::new()),
        }
    }

    /// Paces calls with the budgets every instance shares (the item store, the service's
    /// clock) instead of this process's alone; this process's throttle stays a gate.
    pub fn with_shared_budgets(mut self, budgets: SharedBudgets) -> Self {
        self.shared = Some(budgets);
        self
    }

    pub fn policy(&self) -> &EgressPolicy {
        &self.policy
    }

    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// Now on the machinery's clock (the sleeper's simulated time in tests).
    pub(crate) fn now(&self) -> Duration {
        self.clock.now()
    }

    /// Waits on the machinery's sleeper (simulated in tests).
    pub(crate) async fn sleep(&self, duration: Duration) {
        self.sleeper.sleep(duration).await;
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
                Arc::new(RateLimiter::new(
                    Quota::per_minute(per_minute).allow_burst(burst),
                    DefaultKeyedStateStore::default(),
                    self.clock.clone(),
                ))
            })
            .clone()
    }
}

/// What one connection talks to, and how. Clones share the connector's wait.
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
    /// The vendor's own backoff, where it documents one (`None`: the standard one of
    /// `HttpConfig`).
    pub backoff: Option<Backoff>,
    /// How long this connector has waited so far (see `HttpConfig::max_wait`).
    pub waited: Arc<Mutex<Duration>>,
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

/// A `Retry-After` (seconds or an HTTP date), which any answer may carry (RFC 9110 §10.2.3;
/// a 503's says how long the outage is expected to last).
fn retry_after_header(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Some(wait) = v.parse::<f64>().ok().and_then(told_seconds) {
        return Some(wait);
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let wait = at.signed_duration_since(chrono::Utc::now()).num_milliseconds();
    told_seconds(wait as f64 / 1000.0)
}

/// The wait a rate-limit answer asks for: its `Retry-After`, else the vendors' reset headers
/// (epoch seconds, or seconds from now for small values). Read on rate-limit answers only:
/// GitHub, DocuSign, Okta, ClickUp and LeanKit send their reset headers on every answer,
/// where they say when the hour's (or minute's) allowance refills, not when to retry a
/// failure. Never more than `LONGEST_TOLD_WAIT`, whatever the vendor sent; an unreadable
/// value is no answer.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(wait) = retry_after_header(headers) {
        return Some(wait);
    }
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
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
    /// A session of one company with `app`'s hosts, limit and credentials.
    pub fn new(
        http: Arc<VendorHttp>,
        app: &'static str,
        company_id: &str,
        hosts: Vec<HostPattern>,
        auth: Arc<dyn Authenticator>,
        limit: Option<RateLimit>,
    ) -> Self {
        Self {
            http,
            app,
            company_id: company_id.to_owned(),
            hosts,
            auth,
            limit,
            rate_limit_signal: None,
            backoff: None,
            waited: Arc::default(),
        }
    }

    /// This session for token requests: not paced by the app's published limit. A vendor's
    /// authorization server limits token requests apart from the API calls that limit
    /// describes (DocuSign's OAuth service at `account.docusign.com` is not an account's API,
    /// https://developers.docusign.com/platform/resource-limits; Salesforce's
    /// `/services/oauth2/token` is not a REST API request), a connection refreshes at most once
    /// per token lifetime under its lease, and a refresh waiting for a turn behind the API
    /// calls it is needed for would never get one when those are handed back to a backlog.
    pub fn unpaced(mut self) -> Self {
        self.limit = None;
        self
    }

    /// The wait before retry `attempt` when the vendor did not say how long.
    fn backoff(&self, attempt: u32) -> Duration {
        let config = &self.http.config;
        let backoff = self.backoff.unwrap_or(Backoff {
            first: config.base_backoff,
            cap: config.max_backoff,
            jitter: Jitter::Half,
        });
        backoff.wait(attempt)
    }

    /// What is left of the connector's wait (`HttpConfig::max_wait`).
    fn wait_left(&self) -> Duration {
        let waited = *self.waited.lock().expect("wait lock");
        self.http.config.max_wait.saturating_sub(waited)
    }

    /// Waits `duration` as part of the connector's wait.
    async fn wait(&self, duration: Duration) {
        if duration.is_zero() {
            return;
        }
        *self.waited.lock().expect("wait lock") += duration;
        self.http.sleeper.sleep(duration).await;
    }

    /// Waits between polls of a vendor's asynchronous job (on the session's sleeper, so
    /// tests do not wait).
    pub async fn pause(&self, duration: Duration) {
        self.http.sleeper.sleep(duration).await;
    }

    /// Waits for this call's turn at the vendor's pace: the pace every instance shares (or
    /// this process's own), then this process's throttle. A turn further off than the
    /// connector may still wait is not taken: the wait is handed back (with a turn booked
    /// for when the caller comes back). The throttle is asked only for a call about to go:
    /// a cell spent on a call handed back would hold this process's next calls behind turns
    /// nobody used, and handed-back callers would find it closed at their booked turns.
    async fn take_turn(&self) -> Result<(), ConnectorError> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        let handed_back = |wait| ConnectorError::RateLimited {
            retry_after: Some(wait),
        };
        let left = || self.wait_left().min(self.http.config.max_turn_wait);
        let within = left();
        let turn = match &self.http.shared {
            Some(shared) => shared.take(self.app, &self.company_id, limit, within).await?,
            None => {
                let now = self.http.now();
                let mut paces = self.http.paces.lock().expect("pace lock");
                if paces.len() > LOCAL_PACES {
                    paces.retain(|_, pace| !pace.idle(now));
                }
                paces
                    .entry((self.app, self.company_id.clone()))
                    .or_default()
                    .take(limit, now, within)
            }
        };
        match turn {
            Ok(wait) => self.wait(wait).await,
            Err(wait) => return Err(handed_back(wait)),
        }
        let limiter = self.http.throttle(self.app, limit);
        while let Err(not_until) = limiter.check_key(&self.company_id) {
            let wait = not_until.wait_time_from(limiter.clock().now());
            if wait > left() {
                return Err(handed_back(wait));
            }
            self.wait(wait).await;
        }
        Ok(())
    }

    /// A rate-limit answer asking for `wait`: every caller of this app for this company
    /// (every instance, with a shared budget) holds off until it has passed, then goes
    /// slower for a while.
    async fn slow_down(&self, wait: Duration) -> Result<(), ConnectorError> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        match &self.http.shared {
            Some(shared) => shared.rate_limited(self.app, &self.company_id, limit, wait).await,
            None => {
                let now = self.http.now();
                let mut paces = self.http.paces.lock().expect("pace lock");
                paces
                    .entry((self.app, self.company_id.clone()))
                    .or_default()
                    .rate_limited(limit, now, wait);
                Ok(())
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
    /// every status the plumbing does not handle itself (rate-limit answers and 5xx are
    /// retried, a 401 gets one credential refresh); the connector maps those to its errors.
    ///
    /// Waits are the vendors' documented ones: a rate-limit answer's `Retry-After` or reset
    /// header (else the backoff), told to every caller of the app through the pace; for a
    /// server error or a failed connection the exponential backoff (or the 503's
    /// `Retry-After`), capped per wait, never the reset headers. A wait beyond what is left
    /// of the connector's is handed back: `RateLimited` with the wait, or the failure.
    pub async fn send(&self, request: VendorRequest) -> Result<VendorResponse, ConnectorError> {
        let target = self.http.policy.prepare(&request.url, &self.hosts)?;
        let config = &self.http.config;
        let mut refreshed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.take_turn().await?;
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
                    let wait = self.backoff(attempt);
                    if last || !(unsent || request.idempotent()) || wait > self.wait_left() {
                        return Err(error);
                    }
                    tracing::warn!(app = self.app, attempt, "vendor call {what}; retrying");
                    self.wait(wait).await;
                    continue;
                }
            };
            let status = response.status;
            let rate_limited = status == StatusCode::TOO_MANY_REQUESTS
                || self.rate_limit_signal.is_some_and(|signal| signal(&response));
            if rate_limited {
                let wait = retry_after(&response.headers).unwrap_or_else(|| self.backoff(attempt));
                self.slow_down(wait).await?;
                if last || wait > self.wait_left() {
                    return Err(ConnectorError::RateLimited {
                        retry_after: Some(wait),
                    });
                }
                tracing::info!(
                    app = self.app,
                    wait_ms = wait.as_millis() as u64,
                    "vendor rate limit; waiting"
                );
                self.wait(wait).await;
                continue;
            }
            if status.is_server_error() {
                let wait = retry_after_header(&response.headers)
                    .map_or_else(|| self.backoff(attempt), |told| told.min(config.max_backoff));
                if last || !request.idempotent() || wait > self.wait_left() {
                    return Err(ConnectorError::Transient(format!(
                        "the vendor answered {status}: {}",
                        response.text()
                    )));
                }
                self.wait(wait).await;
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
