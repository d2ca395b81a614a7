//! Connector tests: the shared plumbing and the SCIM connector against local fakes.

mod asana;
mod box_com;
mod dropbox;
mod dynatrace;
mod hubspot;
mod okta;
mod plumbing;
mod scim;
mod slack;
mod support;
mod trello;
