//! The one error type of every connector. Vendor messages are kept short and never carry
//! credentials (requests are not echoed into errors).

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    /// The vendor asked us to slow down; `retry_after` when it said for how long.
    #[error("rate limited by the vendor (retry after {retry_after:?})")]
    RateLimited { retry_after: Option<Duration> },
    /// The credentials were refused (wrong, revoked, or lacking a permission).
    #[error("the vendor refused the credentials: {0}")]
    Unauthorized(String),
    /// The vendor account's plan does not allow this.
    #[error("the vendor plan does not allow this: {0}")]
    PlanRequired(String),
    #[error("not found at the vendor")]
    NotFound,
    #[error("conflict at the vendor: {0}")]
    Conflict(String),
    /// The vendor refused the request as invalid.
    #[error("the vendor refused the request: {0}")]
    Invalid(String),
    /// Timeouts, 5xx, connection failures: may succeed later.
    #[error("temporary vendor failure: {0}")]
    Transient(String),
    /// The app cannot do this (e.g. suspend where the vendor has no suspend).
    #[error("{0} is not supported by this app")]
    Unsupported(&'static str),
    /// Our own egress policy refused the call (host not allowed, private address, http).
    #[error("outbound call refused: {0}")]
    Refused(String),
}

impl ConnectorError {
    /// Whether retrying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ConnectorError::RateLimited { .. } | ConnectorError::Transient(_)
        )
    }
}

/// A vendor's message, cut to a readable length on a character boundary.
pub fn brief(message: &str) -> String {
    const MAX: usize = 300;
    let trimmed = message.trim();
    match trimmed.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &trimmed[..cut]),
        None => trimmed.to_owned(),
    }
}
