//! What a console handler answers: a page, a redirect, or a failure shown as a page (never
//! with internals: those are logged with the request id).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use prov_core::Error;

use crate::session;
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
                view::send(
                    status,
                    view::bare(
                        title,
                        html! {
                            (view::problems(&details))
                            p { a href="/console/apps" { "Back to the console" } }
                        },
                    ),
                )
            }
            Error::Busy(why) => {
                tracing::warn!(why, "store contention outlasted retries");
                view::send(
                    StatusCode::SERVICE_UNAVAILABLE,
                    view::bare(
                        "Busy",
                        html! { p { "The service is busy; try again in a moment." } },
                    ),
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

impl IntoResponse for session::Rejection {
    fn into_response(self) -> Response {
        match self {
            session::Rejection::SignIn => see_other("/console/sign_in"),
            session::Rejection::Failed(e) => Fail(e).into_response(),
        }
    }
}
