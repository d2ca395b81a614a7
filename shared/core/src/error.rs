//! The one error model. Every failure a client can see is a list of `ErrorDetail`s with a
//! category; the HTTP edge turns the category into a status code and the list into
//! `{"errors":[{"error_key":..,"category":..,"message":..}]}`.

use serde::{Deserialize, Serialize};

use crate::store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 400: the request cannot be read (malformed JSON, bad header).
    InvalidRequest,
    /// 401
    InvalidToken,
    /// 403
    Forbidden,
    /// 404
    NotFound,
    /// 405
    MethodNotAllowed,
    /// 409: the resource changed under the request; retry after reading it again.
    Conflict,
    /// 410: a one-time thing that was used or expired.
    Gone,
    /// 413
    PayloadTooLarge,
    /// 415
    UnsupportedMediaType,
    /// 422
    InvalidAttributeValue,
    /// 422
    DuplicateOperation,
    /// 422: the team member (or admin) cannot have provisioned accounts.
    NotEligible,
    /// 429
    RateLimited,
    /// 500
    InternalError,
    /// 503
    ServiceUnavailable,
}

impl Category {
    pub fn status(self) -> u16 {
        match self {
            Category::InvalidRequest => 400,
            Category::InvalidToken => 401,
            Category::Forbidden => 403,
            Category::NotFound => 404,
            Category::MethodNotAllowed => 405,
            Category::Conflict => 409,
            Category::Gone => 410,
            Category::PayloadTooLarge => 413,
            Category::UnsupportedMediaType => 415,
            Category::InvalidAttributeValue | Category::DuplicateOperation | Category::NotEligible => 422,
            Category::RateLimited => 429,
            Category::InternalError => 500,
            Category::ServiceUnavailable => 503,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub error_key: String,
    pub category: Category,
    pub message: String,
    /// How long the client should wait before retrying, when someone said (a vendor's
    /// `Retry-After`): the edge sends it as the answer's `Retry-After`, not in the body.
    #[serde(skip)]
    pub retry_after: Option<std::time::Duration>,
}

impl ErrorDetail {
    pub fn new(error_key: impl Into<String>, category: Category, message: impl Into<String>) -> Self {
        Self {
            error_key: error_key.into(),
            category,
            message: message.into(),
            retry_after: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request was refused for reasons the client can act on. Never empty.
    #[error("request refused: {0:?}")]
    Refused(Vec<ErrorDetail>),
    /// Contention or an outage of the store that outlasted our retries: the client may retry.
    #[error("busy: {0}")]
    Busy(String),
    /// Anything else. The message is logged with the request id, never shown.
    #[error("internal: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn refused(error_key: impl Into<String>, category: Category, message: impl Into<String>) -> Self {
        Error::Refused(vec![ErrorDetail::new(error_key, category, message)])
    }

    pub fn invalid(error_key: impl Into<String>, message: impl Into<String>) -> Self {
        Self::refused(error_key, Category::InvalidAttributeValue, message)
    }

    pub fn unauthorized() -> Self {
        Self::refused(
            "authorization",
            Category::InvalidToken,
            "A valid API token is required: send `Authorization: Token <token>`.",
        )
    }

    /// The resource does not exist *or the caller may not know it does*.
    pub fn not_found(what: &str) -> Self {
        Self::refused(what, Category::NotFound, format!("No such {what}."))
    }

    /// Refused for now (429): retry after `wait` when known.
    pub fn rate_limited(
        error_key: impl Into<String>,
        message: impl Into<String>,
        wait: Option<std::time::Duration>,
    ) -> Self {
        let mut detail = ErrorDetail::new(error_key, Category::RateLimited, message);
        detail.retry_after = wait;
        Error::Refused(vec![detail])
    }

    /// The longest wait any detail asks for.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        self.details()?.iter().filter_map(|d| d.retry_after).max()
    }

    pub fn forbidden(error_key: impl Into<String>, message: impl Into<String>) -> Self {
        Self::refused(error_key, Category::Forbidden, message)
    }

    /// The details, for the edge; `None` for internal errors.
    pub fn details(&self) -> Option<&[ErrorDetail]> {
        match self {
            Error::Refused(d) => Some(d),
            _ => None,
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            // Throttling that outlasted the SDK's retries, or the store down (5xx, timeouts):
            // the client may retry (503 with Retry-After).
            StoreError::Contention(m) | StoreError::Unavailable(m) => Error::Busy(m),
            // A conditional write that a use case did not expect to lose: another writer
            // changed the item meanwhile. The client may read again and retry (409).
            StoreError::ConditionFailed | StoreError::TransactionCancelled { .. } => Error::refused(
                "resource",
                Category::Conflict,
                "The resource changed while the request was being handled; read it again and retry.",
            ),
            StoreError::InvalidCursor => Error::invalid(
                "cursor",
                "The cursor is not valid for this list; start again without it.",
            ),
            other => Error::Internal(other.to_string()),
        }
    }
}
