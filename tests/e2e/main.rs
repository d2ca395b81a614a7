//! End-to-end tests across crates: HTTP in, real adapters out.

mod access;
mod admins;
mod after_removal;
mod console;
mod console_browser;
mod credentials;
mod dismissal;
mod dynamodb;
mod faults;
mod fleet;
mod flows;
mod local;
mod openapi;
mod round_trips;
mod support;
mod template;
mod tenancy;
mod truth;
