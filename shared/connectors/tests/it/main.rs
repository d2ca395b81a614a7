//! Connector tests: the shared plumbing and the SCIM connector against local fakes.

mod asana;
mod box_com;
mod clickup;
mod docusign;
mod dropbox;
mod dynatrace;
mod fifteen_five;
mod github;
mod google_workspace;
mod hubspot;
mod lastpass;
mod leankit;
mod microsoft_365;
mod okta;
mod plumbing;
mod refresh;
mod registry;
mod salesforce;
mod sauce_labs;
mod scim;
mod slack;
mod support;
mod trello;
mod vendor_answers;
mod vendor_faults;
mod zoho;
