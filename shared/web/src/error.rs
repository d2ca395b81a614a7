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
            // The wait someone asked for (a vendor's), in whole seconds rounded up; else 1.
            let wait = details
                .iter()
                .filter_map(|d| d.retry_after)
                .max()
                .map_or(1, |w| w.as_secs() + u64::from(w.subsec_nanos() > 0))
                .max(1);
            headers.insert(header::RETRY_AFTER, HeaderValue::from(wait));
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn retry_after(error: Error) -> Option<String> {
        ApiError(error)
            .into_response()
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn a_429_tells_the_vendors_wait_rounded_up_and_others_say_one_second() {
        let told = |wait| Error::rate_limited("app", "Slow down.", wait);
        assert_eq!(
            retry_after(told(Some(Duration::from_secs(120)))).as_deref(),
            Some("120")
        );
        assert_eq!(
            retry_after(told(Some(Duration::from_millis(2500)))).as_deref(),
            Some("3")
        );
        assert_eq!(retry_after(told(Some(Duration::ZERO))).as_deref(), Some("1"));
        assert_eq!(retry_after(told(None)).as_deref(), Some("1"));
        let busy = Error::Busy("contention".into());
        assert_eq!(retry_after(busy).as_deref(), Some("1"));
        assert_eq!(retry_after(Error::not_found("account")), None);
    }
}
