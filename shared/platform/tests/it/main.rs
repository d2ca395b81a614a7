//! Platform adapter tests: the SecretStore conformance suite on both adapters.

mod scheduler;
mod secrets;
