//! Connect function tests against the sandbox apps.

mod connect;
mod support;
