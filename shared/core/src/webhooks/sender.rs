//! The port deliveries go out through (the guarded HTTP client of the vendor adapter in
//! production), and the ports webhook work needs together.

use async_trait::async_trait;

use crate::secrets::SecretStore;
use crate::services::Services;

/// What came back from one POST to an endpoint. Never an error type: whatever a receiver
/// answers (or does not) is recorded as an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    /// The receiver's HTTP status; `None` when no answer came (refused, unreachable, timed
    /// out, not allowed).
    pub status: Option<u16>,
    /// Why no answer came, in words fit for the partner.
    pub error: Option<String>,
    /// The start of the receiver's answer, as text.
    pub response: Option<String>,
}

#[async_trait]
pub trait WebhookSender: Send + Sync + 'static {
    /// Why `url` may not be an endpoint, if it may not: the rules vendor calls go by (https,
    /// no private, loopback, link-local or metadata address; plain http to loopback only in
    /// sandbox mode).
    fn check(&self, url: &str) -> Result<(), String>;

    /// POSTs `body` (JSON) with `headers` to `url`, within the sender's time and size limits.
    async fn post(&self, url: &str, headers: &[(&str, String)], body: &str) -> Answered;
}

/// The ports webhook work needs: the services (store, clock, queue), where endpoints'
/// signing secrets are kept, and the sender.
#[derive(Clone, Copy)]
pub struct Hooks<'a> {
    pub svc: &'a Services,
    pub secrets: &'a dyn SecretStore,
    pub sender: &'a dyn WebhookSender,
}
