//! The adapter of the vendor port (`prov_core::connector`): everything that talks to vendors.
//! The HTTP plumbing every connector shares (written once: `http`, `egress`, `oauth`), the
//! generic SCIM 2.0 connector, one module per vendor, the registry of their specs, and the
//! `Gateway` the processes reach them through. Partners' webhook endpoints are called under
//! the same egress rules (`webhooks`).

pub mod asana;
pub mod box_com;
pub mod budget;
pub mod clickup;
pub mod docusign;
pub mod dropbox;
pub mod dynatrace;
pub mod egress;
pub mod error;
pub mod fifteen_five;
pub mod gateway;
pub mod github;
pub mod google_workspace;
pub mod grant_refusals;
pub mod http;
pub mod hubspot;
pub mod lastpass;
pub mod leankit;
pub mod microsoft_365;
pub mod model;
pub mod oauth;
pub mod okta;
pub mod registry;
pub mod salesforce;
pub mod sandbox;
pub mod sauce_labs;
pub mod scim;
pub mod slack;
pub mod spec;
pub mod trello;
pub mod webhooks;
pub mod zoho;

pub use error::ConnectorError;
pub use gateway::Gateway;
pub use model::{
    AccountPage, AccountStatus, Connector, ConnectorCapabilities, NewAccount, NewWorkAccount, VendorAccount,
    VendorGroup, VendorTenant, Verified,
};
