//! Platform adapter tests: the SecretStore conformance suite on every adapter, the envelope
//! store's encryption, rotation and migration, the scheduler.

mod envelope;
mod scheduler;
mod secrets;
