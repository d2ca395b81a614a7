//! Platform adapter tests: the SecretStore conformance suite on every adapter, the envelope
//! store's encryption, rotation and migration, the scheduler, the JobQueue conformance suite
//! on both queues.

mod envelope;
mod queue;
mod scheduler;
mod secrets;
