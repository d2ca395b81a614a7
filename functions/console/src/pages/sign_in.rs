//! Signing in (with the admin token or a one-time link) and out; the home address and the
//! console's own stylesheet and script.

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use prov_core::audit::{self, Target};
use prov_core::auth::authenticate;
use prov_core::{Category, Error};
use prov_processes::Apps;
use prov_web::{PathParam, ReqId};

use crate::answer::{Fail, Page, see_other};
use crate::form::{Fields, checked};
use crate::session::{self, Admin};
use crate::view;

pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("GET", "/console"),
    ("GET", "/console/console.css"),
    ("GET", "/console/htmx.min.js"),
    ("GET", "/console/sign_in"),
    ("POST", "/console/sign_in"),
    ("GET", "/console/sign_in/link/{link}"),
    ("POST", "/console/sign_in/link/{link}"),
    ("POST", "/console/sign_out"),
];

pub(crate) fn routes() -> Router<Apps> {
    Router::new()
        .route("/console", get(home))
        .route("/console/console.css", get(stylesheet))
        .route("/console/htmx.min.js", get(htmx))
        .route("/console/sign_in", get(sign_in_form).post(sign_in))
        .route("/console/sign_in/link/{link}", get(link_form).post(link_sign_in))
        .route("/console/sign_out", post(sign_out))
}

async fn home(_: Admin) -> Response {
    see_other("/console/apps")
}

async fn stylesheet() -> Response {
    static_asset(
        view::STYLESHEET,
        "text/css; charset=utf-8",
        "public, max-age=3600",
    )
}

/// htmx (vendored, 0BSD): light enhancement only; every page works without it.
async fn htmx() -> Response {
    static_asset(
        view::HTMX,
        "text/javascript; charset=utf-8",
        "public, max-age=86400",
    )
}

/// A file served as is, with its type, how long it may be cached, and no sniffing.
fn static_asset(body: &'static str, content_type: &'static str, cache: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn sign_in_markup(token: &str, problem: Option<&str>, signed_out: bool) -> Markup {
    view::bare(
        "Sign in",
        html! {
            @if signed_out { p.notice role="status" { "You are signed out." } }
            @if let Some(problem) = problem { div.problems role="alert" { p { (problem) } } }
            p { "Sign in with your company admin token: the one shown when you claimed your account (the primary admin) or your admin invitation (admins who manage apps)." }
            form method="post" action="/console/sign_in" {
                input type="hidden" name="csrf" value=(token);
                label for="token" { "Admin token" }
                input id="token" name="token" type="password" autocomplete="off" required spellcheck="false";
                p { button type="submit" { "Sign in" } }
            }
        },
    )
}

fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

#[derive(serde::Deserialize)]
struct SignInQuery {
    signed_out: Option<String>,
}

async fn sign_in_form(headers: HeaderMap, Query(q): Query<SignInQuery>) -> Response {
    let (token, cookie) = session::presession(&headers, true);
    let page = sign_in_markup(&token, None, q.signed_out.is_some());
    with_cookie(view::send(StatusCode::OK, page), cookie)
}

async fn open_session(apps: &Apps, request_id: &str, principal: prov_core::auth::Principal) -> Page {
    let access = session::admit(apps, &principal).await?;
    let cookie = session::start(apps, &principal, true).await?;
    let actor = prov_core::audit::Actor {
        principal,
        request_id: request_id.to_owned(),
    };
    audit::succeeded(
        &apps.services,
        &actor,
        &access.company().id,
        "console.signed_in",
        Target::new("user", &access.admin().map(|a| a.id.clone()).unwrap_or_default()),
        None,
    )
    .await;
    let mut response = see_other("/console/apps");
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

async fn sign_in(
    State(apps): State<Apps>,
    ReqId(request_id): ReqId,
    headers: HeaderMap,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let (token, cookie) = session::presession(&headers, true);
    let refuse = |status: StatusCode, why: &str| {
        with_cookie(
            view::send(status, sign_in_markup(&token, Some(why), false)),
            cookie.clone(),
        )
    };
    let fields = form.map(|Form(f)| f).unwrap_or_default();
    let presented = fields.get("csrf").map(String::as_str).unwrap_or_default();
    if !session::presession_matches(&headers, presented) {
        return refuse(
            StatusCode::FORBIDDEN,
            "This form has expired or did not come from the console. Try again.",
        );
    }
    let secret = fields.get("token").map(|t| t.trim()).unwrap_or_default();
    let principal = match authenticate(apps.services.store.as_ref(), apps.services.clock.as_ref(), secret)
        .await
    {
        Ok(p) => p,
        Err(Error::Refused(_)) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "That token is not valid: check it was pasted whole. A token that was replaced or revoked no longer works; ask your primary admin if yours was.",
            );
        }
        Err(e) => return Fail(e).into_response(),
    };
    match open_session(&apps, &request_id, principal).await {
        Ok(response) => response,
        Err(Fail(Error::Refused(details))) => refuse(StatusCode::FORBIDDEN, &why_not(&details)),
        Err(e) => e.into_response(),
    }
}

/// Why an authenticated admin may not use the console, in plain words.
fn why_not(details: &[prov_core::ErrorDetail]) -> String {
    if details.iter().any(|d| d.category == Category::NotFound) {
        "That sign-in is no longer valid: your admin access was removed.".to_owned()
    } else if details.iter().any(|d| d.error_key == "authorization") {
        "The admin console is for the primary admin and admins who may manage apps. Ask your company's primary admin to grant you \"Manage apps\" in Roles and permissions.".to_owned()
    } else {
        details
            .first()
            .map(|d| view::plain(&d.message))
            .unwrap_or_default()
    }
}

async fn link_form(headers: HeaderMap, PathParam(link): PathParam<String>) -> Response {
    let (token, cookie) = session::presession(&headers, true);
    let page = view::bare(
        "Sign in",
        html! {
            p { "This one-time link signs you in to the admin console." }
            form method="post" action={ "/console/sign_in/link/" (link) } {
                input type="hidden" name="csrf" value=(token);
                button type="submit" { "Sign in" }
            }
        },
    );
    let mut response = with_cookie(view::send(StatusCode::OK, page), cookie);
    view::protect(&mut response);
    response
}

async fn link_sign_in(
    State(apps): State<Apps>,
    ReqId(request_id): ReqId,
    headers: HeaderMap,
    PathParam(link): PathParam<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let fields = form.map(|Form(f)| f).unwrap_or_default();
    let presented = fields.get("csrf").map(String::as_str).unwrap_or_default();
    if !session::presession_matches(&headers, presented) {
        return Fail(session::csrf_refused()).into_response();
    }
    let principal = match session::redeem_link(&apps, &link).await {
        Ok(p) => p,
        Err(e) => return Fail(e).into_response(),
    };
    match open_session(&apps, &request_id, principal).await {
        Ok(response) => response,
        Err(Fail(Error::Refused(details))) => {
            let why = why_not(&details);
            view::send(
                StatusCode::FORBIDDEN,
                view::bare("Not allowed", html! { div.problems role="alert" { p { (why) } } }),
            )
        }
        Err(e) => e.into_response(),
    }
}

async fn sign_out(
    State(apps): State<Apps>,
    admin: Admin,
    headers: HeaderMap,
    form: Result<Form<Fields>, FormRejection>,
) -> Page {
    checked(&admin, form)?;
    let cookie = session::end(&apps, &headers, true).await?;
    audit::succeeded(
        &apps.services,
        &admin.actor,
        admin.company_id(),
        "console.signed_out",
        Target::new(
            "user",
            &admin.access.admin().map(|a| a.id.clone()).unwrap_or_default(),
        ),
        None,
    )
    .await;
    let mut response = see_other("/console/sign_in?signed_out=1");
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}
