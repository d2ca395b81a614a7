//! The `SecretStore` port: credentials of app connections, by name. Nothing else ever
//! holds them in plain text: not the item store (where an adapter may keep them encrypted),
//! not a log line, not an API answer.

use async_trait::async_trait;
use secrecy::SecretString;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("invalid secret name: {0}")]
    InvalidName(String),
    #[error("secret store unavailable: {0}")]
    Unavailable(String),
}

impl From<SecretError> for crate::Error {
    fn from(e: SecretError) -> Self {
        crate::Error::Internal(e.to_string())
    }
}

#[async_trait]
pub trait SecretStore: Send + Sync + 'static {
    /// Creates or replaces the secret.
    async fn put(&self, name: &str, value: &SecretString) -> Result<(), SecretError>;
    async fn get(&self, name: &str) -> Result<Option<SecretString>, SecretError>;
    /// As `get`, read from the store itself past any cache: what another instance wrote a
    /// moment ago (a refreshed token) is seen. Stores without a cache read as `get` does.
    async fn get_fresh(&self, name: &str) -> Result<Option<SecretString>, SecretError> {
        self.get(name).await
    }
    /// Removes the secret; removing a missing one succeeds.
    async fn delete(&self, name: &str) -> Result<(), SecretError>;
}

/// Names are paths of letters, digits and `_ - . /`, as Secrets Manager allows.
pub fn validate_name(name: &str) -> Result<(), SecretError> {
    let ok = !name.is_empty()
        && name.len() <= 400
        && !name.starts_with('/')
        && !name.contains("..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/'));
    if ok {
        Ok(())
    } else {
        Err(SecretError::InvalidName(name.to_owned()))
    }
}

/// The secret of one app connection.
pub fn connection_secret_name(company_id: &str, app: &str) -> String {
    format!("connections/{company_id}/{app}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_name(&connection_secret_name("com_1", "slack")).is_ok());
        for bad in ["", "/abs", "a/../b", "a b", "a\nb", "ä"] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }
}
