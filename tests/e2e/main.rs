//! End-to-end tests across crates: HTTP in, real adapters out.

mod dynamodb;
mod local;
mod template;
