//! What a console handler answers: a page, a redirect, or a failure shown as a page (never
//! with internals: those are logged with the request id). A failure is drawn without the
//! navigation first (the handler may not know the admin); `reframe` then draws it again in
//! the signed-in frame when the request carries a session, so no error page is a dead end.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use prov_core::{Error, ErrorDetail};
use prov_processes::Apps;

use crate::session::{self, Admin};
use crate::view;

pub(crate) type Page = Result<Response, Fail>;

pub(crate) fn ok(markup: Markup) -> Page {
    Ok(view::send(StatusCode::OK, markup))
}

pub(crate) fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    view::protect(&mut response);
    response
}

/// A failure, shown as a page.
#[derive(Debug)]
pub(crate) struct Fail(pub Error);

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail(e)
    }
}

/// A failure page's title and body, kept on the response so `reframe` can draw it again
/// inside the signed-in frame.
#[derive(Clone)]
struct Failed {
    title: &'static str,
    body: Markup,
}

fn failure_page(status: StatusCode, title: &'static str, body: Markup) -> Response {
    let mut response = view::send(status, view::bare(title, body.clone()));
    response.extensions_mut().insert(Failed { title, body });
    response
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        match self.0 {
            Error::Refused(details) => {
                let status = details
                    .first()
                    .and_then(|d| StatusCode::from_u16(d.category.status()).ok())
                    .unwrap_or(StatusCode::BAD_REQUEST);
                let title = match status {
                    StatusCode::NOT_FOUND => "Not found",
                    StatusCode::FORBIDDEN => "Not allowed",
                    _ => "That did not work",
                };
                failure_page(status, title, refused_body(&details))
            }
            Error::Busy(why) => {
                tracing::warn!(why, "store contention outlasted retries");
                failure_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Busy",
                    html! { p { "The service is busy; try again in a moment." } },
                )
            }
            Error::Internal(why) => {
                // The request-id layer logs it and replaces the body; keep a page here.
                let mut response = prov_web::ApiError(Error::Internal(why)).into_response();
                response
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                response
            }
        }
    }
}

fn refused_body(details: &[ErrorDetail]) -> Markup {
    html! {
        (view::problems(details))
        p { a href="/console/apps" { "Back to the App directory" } }
    }
}

/// Draws a failure page again in the signed-in frame (navigation, the admin's name, sign
/// out) when the request has a session; anything else passes through untouched.
pub(crate) async fn reframe(State(apps): State<Apps>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    // What the session lookup needs, kept aside: the cookies and the request id.
    let mut kept = axum::http::Request::new(());
    *kept.headers_mut() = parts.headers.clone();
    *kept.uri_mut() = parts.uri.clone();
    if let Some(id) = parts.extensions.get::<prov_web::RequestId>() {
        kept.extensions_mut().insert(id.clone());
    }
    let response = next.run(Request::from_parts(parts, body)).await;
    let Some(failed) = response.extensions().get::<Failed>().cloned() else {
        return response;
    };
    let (mut kept, ()) = kept.into_parts();
    match Admin::from_request_parts(&mut kept, &apps).await {
        Ok(admin) => view::send(
            response.status(),
            view::page(&admin, kept.uri.path(), failed.title, failed.body),
        ),
        Err(_) => response,
    }
}

impl IntoResponse for session::Rejection {
    fn into_response(self) -> Response {
        match self {
            session::Rejection::SignIn => see_other("/console/sign_in"),
            session::Rejection::Failed(e) => Fail(e).into_response(),
        }
    }
}
