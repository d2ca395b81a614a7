//! The ports a use case may need, injected once at start-up.

use std::sync::Arc;

use chrono::Duration;

use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::mail::Mailer;
use crate::queue::{JobQueue, NoQueue};
use crate::store::ItemStore;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Where people reach the service, e.g. `https://api.example.com` (no trailing slash).
    pub public_base_url: String,
    /// How long an account claim link works.
    pub claim_ttl: Duration,
    /// How long an `Idempotency-Key` is remembered.
    pub idempotency_ttl: Duration,
    /// Sandbox mode (devserver, tests): the sandbox apps are in the directory.
    pub sandbox: bool,
    /// Where an OAuth connect may send the admin back to: origins such as
    /// `https://app.example.com` (an exact origin, any path under it).
    pub oauth_return_origins: Vec<String>,
}

impl Settings {
    pub fn new(public_base_url: &str) -> Self {
        Self {
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
            claim_ttl: Duration::days(7),
            idempotency_ttl: Duration::hours(24),
            sandbox: false,
            oauth_return_origins: Vec::new(),
        }
    }
}

#[derive(Clone)]
pub struct Services {
    /// The main table.
    pub store: Arc<dyn ItemStore>,
    /// The audit table (may be the same store locally: its keys do not collide).
    pub audit: Arc<dyn ItemStore>,
    pub mailer: Arc<dyn Mailer>,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<Settings>,
    /// The apps this service offers (from the vendor adapter's specs).
    pub catalog: Catalog,
    /// The worker's queue, where a use case hands on what follows a change (a webhook
    /// event to deliver); `NoQueue` unless `with_queue` gives one.
    pub queue: Arc<dyn JobQueue>,
}

impl Services {
    pub fn new(
        store: Arc<dyn ItemStore>,
        audit: Arc<dyn ItemStore>,
        mailer: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
        settings: Settings,
        catalog: Catalog,
    ) -> Self {
        Self {
            store,
            audit,
            mailer,
            clock,
            settings: Arc::new(settings),
            catalog,
            queue: Arc::new(NoQueue),
        }
    }

    /// The same services, handing work to `queue`.
    pub fn with_queue(mut self, queue: Arc<dyn JobQueue>) -> Self {
        self.queue = queue;
        self
    }
}

/// The HTTP edge's extractors take any router state that carries the services.
impl AsRef<Services> for Services {
    fn as_ref(&self) -> &Services {
        self
    }
}
