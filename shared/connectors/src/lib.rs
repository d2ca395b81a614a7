//! Connectors: the `Connector` trait every app implements, the HTTP plumbing they all share
//! (written once, in `http` and `egress`), and the generic SCIM 2.0 connector.

pub mod accounts;
pub mod asana;
pub mod box_com;
pub mod clickup;
pub mod connections;
pub mod dismissal;
pub mod docusign;
pub mod dropbox;
pub mod dynatrace;
pub mod egress;
pub mod error;
pub mod github;
pub mod google_workspace;
pub mod http;
pub mod hubspot;
pub mod lastpass;
pub mod leankit;
pub mod microsoft_365;
pub mod model;
pub mod oauth;
pub mod okta;
pub mod onboarding;
pub mod registry;
pub mod salesforce;
pub mod sauce_labs;
pub mod scim;
pub mod trello;
pub mod zoho;

pub use error::ConnectorError;
pub use model::{
    AccountPage, AccountStatus, Connector, ConnectorCapabilities, NewAccount, NewWorkAccount, VendorAccount,
    VendorGroup,
};
