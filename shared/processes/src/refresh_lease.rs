//! A connection's refresh lease (issue 24): one instance at a time refreshes a connection's
//! OAuth tokens. The lease is an item of the main table (`REFRESH#<app>`), taken with a
//! conditional write and an expiry, so a holder that died is taken over once it runs out.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use prov_core::Services;
use prov_core::connector::ConnectorError;
use prov_core::keys::refresh_lease_key;
use prov_core::store::{Item, Key, StoreError};
use serde::{Deserialize, Serialize};

/// One keeper's hold on a connection's refresh lease.
pub(crate) struct RefreshLease {
    services: Services,
    key: Key,
    /// The version this keeper wrote, while it holds the lease.
    held: Mutex<Option<u64>>,
}

/// Who holds a connection's refresh lease, until when.
#[derive(Serialize, Deserialize)]
struct Held {
    until: DateTime<Utc>,
}

impl RefreshLease {
    pub(crate) fn new(services: &Services, company_id: &str, app: &str) -> Self {
        Self {
            services: services.clone(),
            key: refresh_lease_key(company_id, app),
            held: Mutex::new(None),
        }
    }

    /// Takes the lease for `ttl`: `false` while another keeper holds it.
    pub(crate) async fn take(&self, ttl: std::time::Duration) -> Result<bool, ConnectorError> {
        let store = &self.services.store;
        let unavailable = |e: StoreError| ConnectorError::Transient(format!("the refresh lease: {e}"));
        let now = self.services.clock.now();
        let until = now + Duration::from_std(ttl).unwrap_or(Duration::minutes(5));
        let item = Item::from_record(self.key.clone(), &Held { until })
            .map_err(unavailable)?
            .with_expiry(until.timestamp());
        let written = match store.get(&self.key).await.map_err(unavailable)? {
            None => store.create(item).await,
            Some(held) => {
                let lease: Option<Held> = held.record().ok();
                if lease.is_some_and(|l| l.until > now) {
                    return Ok(false);
                }
                // The holder is gone (its lease ran out): take it over.
                store.replace(item, held.version).await
            }
        };
        match written {
            Ok(version) => {
                *self.held.lock().expect("lease lock") = Some(version);
                Ok(true)
            }
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Gives the lease back, unless another keeper took it over meanwhile.
    pub(crate) async fn release(&self) {
        let Some(version) = self.held.lock().expect("lease lock").take() else {
            return;
        };
        match self.services.store.delete(&self.key, Some(version)).await {
            // Taken over meanwhile: the new holder's lease stays.
            Ok(()) | Err(StoreError::ConditionFailed) => {}
            Err(e) => {
                tracing::warn!(error = %e, key = ?self.key, "refresh lease not released; it expires")
            }
        }
    }
}
