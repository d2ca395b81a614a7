//! Identifiers, bearer secrets and their hashes.
//!
//! Bearer secrets (API tokens, claim ids) are high-entropy random strings, so a single
//! SHA-256 is a sufficient one-way hash: there is nothing to brute-force. Only hashes are
//! stored, and hashes are compared in constant time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A new resource id such as `com_1f0c…` (128 random bits).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// A new resource id whose order follows creation time (UUIDv7: 48-bit time, 74 random
/// bits), for lists that read in the order things were added.
pub fn new_ordered_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// `bytes` random bytes from the operating system, hex-encoded.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system's random source works");
    hex::encode(buf)
}

/// SHA-256 of a secret, hex-encoded: what is stored in place of the secret.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Constant-time comparison of a presented secret with a stored hash.
pub fn secret_matches(presented: &str, stored_hash: &str) -> bool {
    let presented = hash_secret(presented);
    presented.as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_only_their_secret() {
        let h = hash_secret("s3cret-token-value");
        assert_ne!(h, "s3cret-token-value");
        assert!(secret_matches("s3cret-token-value", &h));
        assert!(!secret_matches("s3cret-token-valuf", &h));
        assert!(!secret_matches("", &h));
    }

    #[test]
    fn random_values_are_distinct_and_sized() {
        let a = random_hex(28);
        assert_eq!(a.len(), 56);
        assert_ne!(a, random_hex(28));
        assert!(new_id("com").starts_with("com_"));
        assert_ne!(new_id("com"), new_id("com"));
    }
}
