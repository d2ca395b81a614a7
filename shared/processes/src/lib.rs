//! The product's processes that reach vendors, over the ports of `prov-core` (the store,
//! the secret store, the scheduler, the mailer and the vendor port `prov_core::connector`):
//! connecting and disconnecting apps, app accounts (sync, matching, create, actions, remove
//! all), onboarding, dismissal and the offboarding task, and the partner webhook events these
//! changes write (delivered by the worker, `worker`). Nothing here knows a vendor's API,
//! AWS or HTTP; `Apps` carries the ports, built once by each function's `main`.

pub mod accounts;
mod alerts;
pub mod connections;
pub mod credentials;
pub mod dismissal;
pub mod onboarding;
mod rate_limits;
pub mod reconcile;
mod refresh_lease;
pub mod tenancy;
pub mod worker;

pub use connections::Apps;
