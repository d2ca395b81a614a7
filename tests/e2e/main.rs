//! End-to-end tests across crates: HTTP in, real adapters out.

mod access;
mod admins;
mod after_removal;
mod alerts;
mod axe;
mod console;
mod console_browser;
mod console_bugs;
mod console_paths;
mod console_readable;
mod credentials;
mod dismissal;
mod dynamodb;
mod faults;
mod fleet;
mod flows;
mod local;
mod offline;
mod openapi;
mod reconcile;
mod round_trips;
mod support;
mod template;
mod tenancy;
mod truth;
mod webhooks;
