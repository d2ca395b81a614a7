//! Signed partner webhooks: partners register endpoints for the events they want; each
//! event is written to an outbox with the change that causes it, then delivered by the
//! worker to each endpoint that listens for it, signed (`signature`), retried with backoff
//! for 24 hours, every attempt recorded where the partner reads it.

mod deliveries;
mod endpoints;
mod events;
mod sender;
pub mod signature;

pub use deliveries::{
    Delivery, DeliveryAttempt, DeliveryState, RETRY_HOURS, backoff, deliveries, handle, sweep,
};
pub use endpoints::{
    MAX_ENDPOINTS, NewEndpoint, Registered, WebhookEndpoint, delete, list, partner_listening,
    partner_listening_check, register,
};
pub use events::{Event, EventType, LISTENING, Listening, Pending, WebhookMessage, nudge, outbox};
pub use sender::{Answered, Hooks, WebhookSender};
