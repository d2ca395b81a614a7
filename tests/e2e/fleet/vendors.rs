//! The sandbox's fake vendors made strict, as real ones are: each enforces its published
//! limit per company (a GCRA at the registry's limit, on the fleet's time; beyond it a 429
//! with `Retry-After`), its access tokens expire (a rewritten `expires_in`, and a 401 after
//! it), and refresh tokens rotate (the sandbox's own). What they served, refused and when
//! each removal came is recorded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prov_connectors::registry;

use super::sim::FleetTime;

/// A removal as a vendor saw it.
#[derive(Debug, Clone)]
pub struct Change {
    pub app: String,
    pub method: String,
    pub path: String,
    pub at: Duration,
}

#[derive(Default)]
pub struct Record {
    /// API calls answered (not refused as rate limited or expired), by app.
    pub served: HashMap<String, usize>,
    /// 429s sent, by app, with when.
    pub refused: HashMap<String, Vec<Duration>>,
    /// 401s for expired access tokens, by app.
    pub expired: HashMap<String, usize>,
    /// Token refreshes answered with tokens, by app.
    pub refreshes: HashMap<String, usize>,
    /// Calls that change users (not `GET`), in order.
    pub changes: Vec<Change>,
}

pub struct StrictVendors {
    time: Arc<FleetTime>,
    /// How long an access token lives.
    lifetime: Duration,
    state: Mutex<Strict>,
}

#[derive(Default)]
struct Strict {
    /// When each access token was issued (a token issued before the fleet: at its start).
    issued: HashMap<String, Duration>,
    /// Per app: GCRA's theoretical arrival time.
    tat: HashMap<String, Duration>,
    record: Record,
}

impl StrictVendors {
    pub fn new(time: Arc<FleetTime>, lifetime: Duration) -> Arc<Self> {
        Arc::new(Self {
            time,
            lifetime,
            state: Mutex::new(Strict::default()),
        })
    }

    pub fn record<T>(&self, read: impl FnOnce(&Record) -> T) -> T {
        read(&self.state.lock().unwrap().record)
    }
}

/// The app of a path under the sandbox (`/_sandbox/{app}/…`) and the rest of the path.
fn app_of(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/_sandbox/")?;
    let (app, rest) = rest.split_once('/')?;
    Some((app, rest))
}

/// The middleware: token endpoints get short-lived tokens; API calls keep to the limit.
pub async fn strict(State(vendors): State<Arc<StrictVendors>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let Some((app, rest)) = app_of(&path) else {
        return next.run(request).await;
    };
    let Some(spec) = registry::spec(app) else {
        return next.run(request).await;
    };
    let token_path = spec
        .oauth
        .and_then(|o| url::Url::parse(o.token_url).ok())
        .map(|u| u.path().trim_start_matches('/').to_owned());
    if token_path.as_deref() == Some(rest) {
        return tokens(&vendors, app, next.run(request).await).await;
    }
    let now = vendors.time.elapsed();
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    {
        let mut state = vendors.state.lock().unwrap();
        if let Some(token) = &bearer {
            let issued = state.issued.get(token).copied().unwrap_or_default();
            if now >= issued + vendors.lifetime {
                *state.record.expired.entry(app.to_owned()).or_default() += 1;
                return (StatusCode::UNAUTHORIZED, "expired access token").into_response();
            }
        }
        if let Some(limit) = spec.limit {
            let spacing = limit.spacing();
            let tolerance = spacing * (limit.burst.max(1) - 1);
            let tat = state.tat.get(app).copied().unwrap_or_default();
            let earliest = tat.saturating_sub(tolerance);
            if now < earliest {
                state.record.refused.entry(app.to_owned()).or_default().push(now);
                let wait = (earliest - now).as_secs_f64().ceil() as u64;
                return too_many(wait.max(1));
            }
            state.tat.insert(app.to_owned(), tat.max(now) + spacing);
        }
        *state.record.served.entry(app.to_owned()).or_default() += 1;
        if request.method() != axum::http::Method::GET {
            state.record.changes.push(Change {
                app: app.to_owned(),
                method: request.method().to_string(),
                path: rest.to_owned(),
                at: now,
            });
        }
    }
    next.run(request).await
}

fn too_many(seconds: u64) -> Response {
    let mut response = (StatusCode::TOO_MANY_REQUESTS, "rate limited").into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// A token endpoint's answer: its access token's life starts now and lasts the vendors'
/// lifetime (said in `expires_in` where the vendor says it).
async fn tokens(vendors: &StrictVendors, app: &str, response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let Ok(mut answer) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let Some(access) = answer["access_token"].as_str().map(str::to_owned) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    {
        let mut state = vendors.state.lock().unwrap();
        state.issued.insert(access, vendors.time.elapsed());
        *state.record.refreshes.entry(app.to_owned()).or_default() += 1;
    }
    if answer.get("expires_in").is_some() {
        answer["expires_in"] = vendors.lifetime.as_secs().into();
    }
    let body = serde_json::to_vec(&answer).expect("JSON");
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}
