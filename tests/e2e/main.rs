//! End-to-end tests across crates: HTTP in, real adapters out.

mod access;
mod dismissal;
mod dynamodb;
mod flows;
mod local;
mod openapi;
mod support;
mod template;
