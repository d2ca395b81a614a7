//! End-to-end tests across crates: HTTP in, real adapters out.

mod access;
mod console;
mod console_browser;
mod dismissal;
mod dynamodb;
mod flows;
mod local;
mod support;
mod template;
