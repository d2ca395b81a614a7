//! The connectors' error type is the vendor port's (`prov_core::connector`).

pub use prov_core::connector::{ConnectorError, brief};
