//! App connections: API-key connect (verified with the vendor before anything is saved),
//! OAuth start and callback, status and disconnect.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cookie::{Cookie, SameSite};
use maud::html;
use prov_core::access::{Need, authorize};
use prov_processes::connections::{
    self, ApiKeyCredentials, Apps, CallbackOutcome, OAuthStart, STATE_TTL_MINUTES,
};
use prov_web::html::{layout, page, protect};
use prov_web::{ApiError, Ctx, JsonBody, PathParam, ReqId};
use secrecy::{ExposeSecret, SecretString};
use utoipa::OpenApi;

pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/companies/{company_id}/apps/{app}/connection"),
    ("POST", "/v1/companies/{company_id}/apps/{app}/connection"),
    ("DELETE", "/v1/companies/{company_id}/apps/{app}/connection"),
    ("POST", "/v1/companies/{company_id}/apps/{app}/connection/oauth"),
    ("GET", "/v1/oauth/start"),
    ("GET", "/v1/oauth/callback"),
];

/// The cookie that ties an OAuth connect to the browser that opened its start link.
const BROWSER_COOKIE: &str = "oauth_browser";

pub(crate) fn routes() -> Router<Apps> {
    Router::new()
        .route(
            "/v1/companies/{company_id}/apps/{app}/connection",
            get(status).post(connect).delete(disconnect),
        )
        .route(
            "/v1/companies/{company_id}/apps/{app}/connection/oauth",
            post(start_oauth),
        )
        .route("/v1/oauth/start", get(open_start))
        .route("/v1/oauth/callback", get(callback))
}

#[derive(OpenApi)]
#[openapi(paths(status, connect, disconnect, start_oauth, open_start, callback))]
pub(crate) struct Doc;

type Answer = Result<Response, ApiError>;

/// The connection's state and non-secret details.
#[utoipa::path(
    get,
    path = "/v1/companies/{company_id}/apps/{app}/connection",
    tag = "connections",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("app" = String, Path, description = "The app's slug (`GET /v1/apps`)."),
    ),
    responses(
        (status = 200, description = "The connection (`not_connected` when there is none).", body = prov_processes::connections::ConnectionView),
        (status = 403, response = prov_web::openapi::Forbidden),
    )
)]
async fn status(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, app)): PathParam<(String, String)>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    Ok(Json(connections::status(&apps, &access, &app).await?).into_response())
}

/// API-key connect: one real call to the vendor checks the credentials before anything is saved.
#[utoipa::path(
    post,
    path = "/v1/companies/{company_id}/apps/{app}/connection",
    tag = "connections",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("app" = String, Path, description = "The app's slug (`GET /v1/apps`)."),
    ),
    request_body = ApiKeyCredentials,
    responses(
        (status = 200, description = "The connection.", body = prov_processes::connections::ConnectionView),
        (status = 409, response = prov_web::openapi::Conflict),
        prov_web::openapi::CompanyAppRoute,
    )
)]
async fn connect(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, app)): PathParam<(String, String)>,
    JsonBody(body): JsonBody<ApiKeyCredentials>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    let view = connections::connect_api_key(&apps, &actor, &access, &app, &body).await?;
    Ok(Json(view).into_response())
}

/// Disconnects: credentials deleted; nothing changes at the vendor.
#[utoipa::path(
    delete,
    path = "/v1/companies/{company_id}/apps/{app}/connection",
    tag = "connections",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("app" = String, Path, description = "The app's slug (`GET /v1/apps`)."),
    ),
    responses(
        (status = 200, description = "The connection.", body = prov_processes::connections::ConnectionView),
        (status = 403, response = prov_web::openapi::Forbidden),
        (status = 409, response = prov_web::openapi::Conflict),
    )
)]
async fn disconnect(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, app)): PathParam<(String, String)>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    Ok(Json(connections::disconnect(&apps, &actor, &access, &app).await?).into_response())
}

/// OAuth connect: answers where to send the admin's browser (the start link; single-use `state`, PKCE S256, 10 minutes).
#[utoipa::path(
    post,
    path = "/v1/companies/{company_id}/apps/{app}/connection/oauth",
    tag = "connections",
    security(("token" = [])),
    params(
        ("company_id" = String, Path, description = "The company's id."),
        ("app" = String, Path, description = "The app's slug (`GET /v1/apps`)."),
    ),
    request_body = OAuthStart,
    responses(
        (status = 200, description = "Where to send the browser.", body = prov_processes::connections::StartedAuthorization),
        (status = 403, response = prov_web::openapi::Forbidden),
    )
)]
async fn start_oauth(
    State(apps): State<Apps>,
    Ctx(actor): Ctx,
    PathParam((company_id, app)): PathParam<(String, String)>,
    JsonBody(body): JsonBody<OAuthStart>,
) -> Answer {
    let access = authorize(&apps.services, &actor.principal, &company_id, Need::ManageApps).await?;
    let started = connections::start_oauth(&apps, &actor, &access, &app, &body).await?;
    let mut response = Json(started).into_response();
    protect(&mut response);
    Ok(response)
}

/// The start link (`authorize_url` of the OAuth connect): ties the connect to this browser with
/// a short-lived cookie and sends it on to the app's consent page. Only this browser can then
/// finish the connect (RFC 9700, section 4.7); another browser opening the link is refused.
#[utoipa::path(
    get,
    path = "/v1/oauth/start",
    tag = "connections",
    params(
        ("state" = Option<String>, Query, description = "The single-use state of the authorization."),
    ),
    responses(
        (status = 303, description = "On to the app's consent page, with the browser's `oauth_browser` cookie (`HttpOnly; Secure; SameSite=Lax`, 10 minutes).",
            headers(("Location" = String, description = "The app's consent page."))),
        (status = 400, description = "The link is not valid, has expired or was opened in another browser (a page).", content_type = "text/html", body = String),
    )
)]
async fn open_start(
    State(apps): State<Apps>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let presented = browser_cookie(&headers);
    match connections::open_authorization(&apps, &query, presented.as_deref()).await? {
        Ok(opened) => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            let location = HeaderValue::from_str(&opened.vendor_url)
                .map_err(|_| prov_core::Error::Internal("a consent URL is not a header value".into()))?;
            response.headers_mut().insert(header::LOCATION, location);
            response
                .headers_mut()
                .insert(header::SET_COOKIE, set_browser_cookie(&opened.browser));
            protect(&mut response);
            Ok(response)
        }
        Err(e) => Ok(tell(CallbackOutcome {
            return_url: None,
            app: None,
            result: Err(e),
        })),
    }
}

/// The vendor sends the admin's browser here. The answer is a redirect to the return URL
/// chosen when the connect started (with `status=connected` or `error=…`), or a page.
#[utoipa::path(
    get,
    path = "/v1/oauth/callback",
    tag = "connections",
    params(
        ("state" = Option<String>, Query, description = "The single-use state of the authorization."),
        ("code" = Option<String>, Query, description = "The vendor's grant code."),
        ("error" = Option<String>, Query, description = "The vendor's refusal, when the admin denied access."),
    ),
    responses(
        (status = 303, description = "Back to the `return_url` chosen at the start, with `status=connected` or `error=…&message=…`.",
            headers(("Location" = String, description = "The return URL."))),
        (status = 200, description = "Connected (a page; no return URL was given).", content_type = "text/html", body = String),
        (status = 400, description = "Not connected, and why (a page; no return URL was given, the state is not valid, or the browser is not the one that opened the start link).", content_type = "text/html", body = String),
    )
)]
async fn callback(
    State(apps): State<Apps>,
    ReqId(request_id): ReqId,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let presented = browser_cookie(&headers);
    let outcome = connections::finish_oauth(&apps, &request_id, &query, presented.as_deref()).await?;
    Ok(tell(outcome))
}

/// The browser's binding secret, from its `oauth_browser` cookie.
fn browser_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == BROWSER_COOKIE)
        .map(|c| c.value().to_owned())
}

/// Sent only to the OAuth routes, never to scripts, and along with the vendor's redirect
/// back (a top-level navigation from another site: `SameSite=Lax`, not `Strict`).
fn set_browser_cookie(secret: &SecretString) -> HeaderValue {
    let cookie = Cookie::build((BROWSER_COOKIE, secret.expose_secret()))
        .path("/v1/oauth")
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::minutes(STATE_TTL_MINUTES))
        .build();
    HeaderValue::from_str(&cookie.to_string()).expect("binding secrets are hex")
}

fn tell(outcome: CallbackOutcome) -> Response {
    if let Some(return_url) = &outcome.return_url
        && let Ok(mut url) = url::Url::parse(return_url)
    {
        {
            let mut pairs = url.query_pairs_mut();
            if let Some(app) = &outcome.app {
                pairs.append_pair("app", app);
            }
            match &outcome.result {
                Ok(()) => pairs.append_pair("status", "connected"),
                Err(e) => pairs
                    .append_pair("error", e.code)
                    .append_pair("message", &e.message),
            };
        }
        let mut response = StatusCode::SEE_OTHER.into_response();
        if let Ok(location) = HeaderValue::from_str(url.as_str()) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        protect(&mut response);
        return response;
    }
    match outcome.result {
        Ok(()) => page(
            StatusCode::OK,
            layout(
                "App connected",
                html! { p { "The app is connected. You can close this window." } },
            ),
        ),
        Err(e) => page(
            StatusCode::BAD_REQUEST,
            layout(
                "The app was not connected",
                html! { p.error role="alert" { (e.message) } },
            ),
        ),
    }
}
