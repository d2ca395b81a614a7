//! App connections of a company (the records; connecting is another module's work).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::ActorRef;
use crate::connector::VendorTenant;
use crate::error::Result;
use crate::keys::{CONNECTIONS, CONNECTIONS_INDEX, company_partition, connection_key, connections_index_sk};
use crate::services::Services;
use crate::store::{Item, PageRequest, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    Connected,
    /// The vendor refused our credentials; an admin must connect again.
    NeedsReauth,
    /// Paused by a safeguard until an admin confirms.
    Quarantined,
    Disconnected,
}

/// What every connection record holds, whatever else its app keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionSummary {
    pub app: String,
    pub state: ConnectionState,
}

/// A company's connection to one app. Credentials are not here: they are in the secret
/// store under `secret_name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub app: String,
    pub company_id: String,
    pub state: ConnectionState,
    /// Non-secret details: what the admin entered (e.g. the Okta org URL) and what the
    /// vendor told us at connect time (e.g. Salesforce's instance URL). Never taken from a
    /// later request.
    pub tenant: BTreeMap<String, String>,
    pub secret_name: String,
    pub connected_at: DateTime<Utc>,
    pub connected_by: ActorRef,
    pub updated_at: DateTime<Utc>,
    /// Why the connection needs attention, when it does.
    pub problem: Option<String>,
}

impl Connection {
    /// The record as stored: in the `CONNECTIONS` index, where the scheduled reconciliation
    /// finds every company's connections.
    pub fn item(&self) -> std::result::Result<Item, StoreError> {
        Ok(
            Item::from_record(connection_key(&self.company_id, &self.app), self)?.with_index(
                CONNECTIONS_INDEX,
                connections_index_sk(&self.company_id, &self.app),
            ),
        )
    }

    /// The vendor tenant the connection's credentials reach, as recorded at connect (`None`
    /// for a connection made before tenants were recorded).
    pub fn vendor_tenant(&self) -> Option<VendorTenant> {
        VendorTenant::recorded(&self.tenant)
    }
}

/// Every connection of a company (at most one per app, so one page).
pub async fn all(svc: &Services, company_id: &str) -> Result<Vec<Connection>> {
    records(svc, company_id).await
}

/// Every connection record of a company, in its short form.
pub async fn summaries(svc: &Services, company_id: &str) -> Result<Vec<ConnectionSummary>> {
    records(svc, company_id).await
}

async fn records<T: serde::de::DeserializeOwned>(svc: &Services, company_id: &str) -> Result<Vec<T>> {
    let page = svc
        .store
        .query(
            &company_partition(company_id),
            CONNECTIONS,
            PageRequest::first(100),
        )
        .await?;
    Ok(page.items.iter().map(|i| i.record()).collect::<Result<_, _>>()?)
}
