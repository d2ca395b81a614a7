//! Connector tests: the shared plumbing and the SCIM connector against local fakes.

mod asana;
mod box_com;
mod clickup;
mod dropbox;
mod dynatrace;
mod google_workspace;
mod hubspot;
mod leankit;
mod okta;
mod plumbing;
mod salesforce;
mod sauce_labs;
mod scim;
mod slack;
mod support;
mod trello;
