//! HTTP-level tests of the provision function, on the embedded store.

mod claims;
mod lambda_smoke;
mod provision;
mod support;
