//! `ApiError`: the one mapping from the domain's errors to HTTP answers.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prov_core::{Category, Error, ErrorDetail};
use serde::Serialize;

#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl ApiError {
    pub fn refused(error_key: &str, category: Category, message: impl Into<String>) -> Self {
        ApiError(Error::refused(error_key, category, message))
    }
}

#[derive(Serialize)]
struct Body<'a> {
    errors: &'a [ErrorDetail],
}

/// Marks a response as a failure whose cause must be logged (with the request id) and
/// never shown; the request-id layer completes the answer.
#[derive(Debug, Clone)]
pub(crate) struct InternalFailure(pub String);

pub(crate) fn respond(details: &[ErrorDetail]) -> Response {
    let category = details.first().map_or(Category::InternalError, |d| d.category);
    let status = StatusCode::from_u16(category.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(Body { errors: details })).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    match category {
        Category::InvalidToken => {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Token"));
        }
        Category::ServiceUnavailable | Category::RateLimited => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        _ => {}
    }
    response
}

pub(crate) fn internal_body(request_id: &str) -> Response {
    respond(&[ErrorDetail::new(
        "internal",
        Category::InternalError,
        format!(
            "Something went wrong on our end. If it persists, contact support with request id {request_id}."
        ),
    )])
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self.0 {
            Error::Refused(details) => respond(&details),
            Error::Busy(why) => {
                tracing::warn!(why, "store contention or outage outlasted retries");
                respond(&[ErrorDetail::new(
                    "service",
                    Category::ServiceUnavailable,
                    "The service is busy; retry the request shortly.",
                )])
            }
            Error::Internal(why) => {
                let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
                response.extensions_mut().insert(InternalFailure(why));
                response
            }
        }
    }
}
