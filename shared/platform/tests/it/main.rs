//! Platform adapter tests: the SecretStore conformance suite on both adapters.

mod secrets;
mod scheduler;
