//! Adapters of the `ItemStore` port (defined in `prov-core`): DynamoDB for AWS, and an
//! embedded redb file for local runs. Both pass the same conformance suite
//! (`tests/it/conformance.rs`).

mod dynamodb;
mod embedded;

pub use dynamodb::{DynamoStore, INDEX_NAME};
pub use embedded::EmbeddedStore;
