//! HTTP-level tests of the provision function, on the embedded store.

mod claims;
mod provision;
mod support;
