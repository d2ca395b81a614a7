//! A company's App directory: the apps it has connected, the apps it can connect, and the
//! apps its plan does not include.

use serde::Serialize;

use crate::access::Access;
use crate::catalog::ConnectionType;
use crate::connections::{self, ConnectionState};
use crate::error::Result;
use crate::services::Services;

/// An app as one company sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CompanyApp {
    pub slug: &'static str,
    pub name: &'static str,
    pub connection_type: ConnectionType,
    /// For connected apps: the connection's state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_state: Option<ConnectionState>,
    /// For unavailable apps: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable_reason: Option<String>,
}

/// The company's App directory: apps it has connected, apps it can connect, and apps its
/// plan does not include (with the reason).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CompanyApps {
    pub connected: Vec<CompanyApp>,
    pub available: Vec<CompanyApp>,
    pub unavailable: Vec<CompanyApp>,
}

pub async fn company_apps(svc: &Services, access: &Access) -> Result<CompanyApps> {
    let company = access.company();
    let connections = connections::summaries(svc, &company.id).await?;
    let mut out = CompanyApps {
        connected: Vec::new(),
        available: Vec::new(),
        unavailable: Vec::new(),
    };
    for app in svc.catalog.directory() {
        let entry = |connection_state, unavailable_reason| CompanyApp {
            slug: app.slug,
            name: app.name,
            connection_type: app.connection_type,
            connection_state,
            unavailable_reason,
        };
        let connection = connections
            .iter()
            .find(|c| c.app == app.slug && c.state != ConnectionState::Disconnected);
        match (connection, app.allowed_on(company.plan)) {
            (Some(c), _) => out.connected.push(entry(Some(c.state), None)),
            (None, Ok(())) => out.available.push(entry(None, None)),
            (None, Err(why)) => out.unavailable.push(entry(None, Some(why))),
        }
    }
    Ok(out)
}
