//! End-to-end tests across crates: HTTP in, real adapters out.

mod access;
mod console;
mod console_browser;
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
