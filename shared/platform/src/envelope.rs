//! A `SecretStore` whose fixed cost does not grow with the connections: each connection's
//! credentials are encrypted (AES-256-GCM, `keyring.rs`) and kept in the main table beside the
//! connection, under `keys::credentials_key` (and each partner webhook endpoint's signing
//! secret beside the endpoint). Only the keyring is a secret of its own.
//!
//! - The secret's name (`connections/{company}/{app}`) is the associated data: a ciphertext
//!   copied onto another connection does not decrypt.
//! - Rotation: writes use the ring's current key; reads accept any key of the ring, and a
//!   read of a ciphertext under an older key writes it back under the current one.
//! - Migration: with a legacy store (one secret per connection), a read that finds nothing
//!   in the table moves the legacy secret here; a delete deletes both.

use std::sync::Arc;

use async_trait::async_trait;
use prov_core::keys::{credentials_key, webhook_secret_key};
use prov_core::secrets::{SecretError, SecretStore, validate_name};
use prov_core::store::{Attempt, Item, ItemStore, Key, StoreError, retry_lost_writes};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::keyring::{Keyring, KeyringSource, Opened};

pub struct EnvelopeSecretStore {
    store: Arc<dyn ItemStore>,
    source: Box<dyn KeyringSource>,
    /// The keyring, loaded on first use (no call at start), kept for the process.
    ring: tokio::sync::Mutex<Option<Arc<Keyring>>>,
    legacy: Option<Arc<dyn SecretStore>>,
}

/// The stored item's data.
#[derive(Serialize, Deserialize)]
struct StoredCredentials {
    ciphertext: String,
}

/// How often a write that keeps losing to other writers is tried.
const WRITE_ATTEMPTS: usize = 3;

fn store_error(e: StoreError) -> SecretError {
    SecretError::Unavailable(e.to_string())
}

/// The item of a secret: a connection's (`connections/{company_id}/{app}`, beside the
/// connection) or a partner's webhook endpoint's signing secret
/// (`webhooks/{partner_id}/{endpoint_id}`, beside the endpoint).
fn item_key(name: &str) -> Result<Key, SecretError> {
    validate_name(name)?;
    match name.split('/').collect::<Vec<_>>()[..] {
        ["connections", company_id, app] if !company_id.is_empty() && !app.is_empty() => {
            Ok(credentials_key(company_id, app))
        }
        ["webhooks", partner_id, endpoint_id] if !partner_id.is_empty() && !endpoint_id.is_empty() => {
            Ok(webhook_secret_key(partner_id, endpoint_id))
        }
        _ => Err(SecretError::InvalidName(name.to_owned())),
    }
}

impl EnvelopeSecretStore {
    pub fn new(store: Arc<dyn ItemStore>, source: impl KeyringSource) -> Self {
        Self {
            store,
            source: Box::new(source),
            ring: tokio::sync::Mutex::new(None),
            legacy: None,
        }
    }

    /// Moves the secrets of `legacy` here as they are read (see the module's doc).
    pub fn with_legacy(mut self, legacy: Arc<dyn SecretStore>) -> Self {
        self.legacy = Some(legacy);
        self
    }

    /// The keyring: loaded by the first caller while the others wait, then shared.
    async fn ring(&self) -> Result<Arc<Keyring>, SecretError> {
        let mut ring = self.ring.lock().await;
        if let Some(loaded) = ring.as_ref() {
            return Ok(loaded.clone());
        }
        let loaded = Arc::new(self.source.load().await?);
        *ring = Some(loaded.clone());
        Ok(loaded)
    }

    /// Loads the keyring again, unless another caller already replaced `stale`.
    async fn reload(&self, stale: &Arc<Keyring>) -> Result<Arc<Keyring>, SecretError> {
        let mut ring = self.ring.lock().await;
        if let Some(loaded) = ring.as_ref()
            && !Arc::ptr_eq(loaded, stale)
        {
            return Ok(loaded.clone());
        }
        let loaded = Arc::new(self.source.load().await?);
        *ring = Some(loaded.clone());
        Ok(loaded)
    }

    fn sealed(ring: &Keyring, key: Key, name: &str, value: &SecretString) -> Result<Item, SecretError> {
        let ciphertext = ring.seal(name, value)?;
        Item::from_record(key, &StoredCredentials { ciphertext }).map_err(store_error)
    }

    /// Decrypts a stored item; one under a key the loaded ring lacks makes it load the ring
    /// again (a newer instance rotated the key).
    async fn open(&self, name: &str, item: &Item) -> Result<(SecretString, bool), SecretError> {
        let stored: StoredCredentials = item.record().map_err(store_error)?;
        let mut ring = self.ring().await?;
        let mut reloaded = false;
        loop {
            match ring.open(name, &stored.ciphertext)? {
                Opened::Plain { value, current } => return Ok((value, current)),
                Opened::UnknownKey(id) if reloaded => {
                    return Err(SecretError::Unavailable(format!(
                        "the credentials of {name} are encrypted under key `{id}`, which the keyring does not hold"
                    )));
                }
                Opened::UnknownKey(_) => {
                    ring = self.reload(&ring).await?;
                    reloaded = true;
                }
            }
        }
    }

    /// Writes the secret back under the current key, at the version read. Losing to another
    /// writer is fine (it wrote under a ring's current key too); any other failure leaves
    /// the old ciphertext, still readable, for the next read to try again.
    async fn reencrypt(&self, name: &str, item: Item, value: &SecretString) {
        let rewritten = async {
            let ring = self.ring().await?;
            let fresh = Self::sealed(&ring, item.key.clone(), name, value)?;
            match self.store.replace(fresh, item.version).await {
                Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
                Err(e) => Err(store_error(e)),
            }
        };
        if let Err(e) = rewritten.await {
            tracing::warn!(secret_name = name, error = %e, "credentials not re-encrypted under the current key");
        }
    }

    /// Moves a legacy secret into the table, then deletes it there. When another writer
    /// put credentials meanwhile, theirs are newer: they are answered instead.
    async fn migrate(&self, name: &str, key: Key) -> Result<Option<SecretString>, SecretError> {
        let Some(legacy) = &self.legacy else {
            return Ok(None);
        };
        // Past the legacy store's cache: another instance may have moved and deleted the
        // secret meanwhile (or a disconnect deleted it), and a cached copy would bring it back.
        let Some(value) = legacy.get_fresh(name).await? else {
            return Ok(None);
        };
        let ring = self.ring().await?;
        let item = Self::sealed(&ring, key.clone(), name, &value)?;
        let value = match self.store.create(item).await {
            Ok(_) => value,
            Err(StoreError::ConditionFailed) => match self.store.get(&key).await.map_err(store_error)? {
                Some(newer) => self.open(name, &newer).await?.0,
                None => value,
            },
            Err(e) => return Err(store_error(e)),
        };
        legacy.delete(name).await?;
        tracing::info!(
            secret_name = name,
            "credentials moved from the legacy secret store"
        );
        Ok(Some(value))
    }
}

#[async_trait]
impl SecretStore for EnvelopeSecretStore {
    async fn put(&self, name: &str, value: &SecretString) -> Result<(), SecretError> {
        let key = item_key(name)?;
        let ring = self.ring().await?;
        let item = Self::sealed(&ring, key.clone(), name, value)?;
        let created = retry_lost_writes(WRITE_ATTEMPTS, || async {
            let written = match self.store.get(&key).await.map_err(store_error)? {
                Some(stored) => self
                    .store
                    .replace(item.clone(), stored.version)
                    .await
                    .map(|_| false),
                None => self.store.create(item.clone()).await.map(|_| true),
            };
            Attempt::of(written).map_err(store_error)
        })
        .await?
        .ok_or_else(|| {
            SecretError::Unavailable(format!("the credentials of {name} kept changing; try again"))
        })?;
        // A connection's first credentials here: an older legacy secret must not outlive them.
        if created && let Some(legacy) = &self.legacy {
            legacy.delete(name).await?;
        }
        Ok(())
    }

    /// Always read from the table (strongly consistent), so `get_fresh` is `get`: what another
    /// instance stored a moment ago (a refreshed token) is seen.
    async fn get(&self, name: &str) -> Result<Option<SecretString>, SecretError> {
        let key = item_key(name)?;
        let Some(item) = self.store.get(&key).await.map_err(store_error)? else {
            return self.migrate(name, key).await;
        };
        let (value, current) = self.open(name, &item).await?;
        if !current {
            self.reencrypt(name, item, &value).await;
        }
        Ok(Some(value))
    }

    async fn delete(&self, name: &str) -> Result<(), SecretError> {
        let key = item_key(name)?;
        self.store.delete(&key, None).await.map_err(store_error)?;
        if let Some(legacy) = &self.legacy {
            legacy.delete(name).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_connection_secret_names_have_an_item() {
        let key = item_key(&prov_core::secrets::connection_secret_name("com_1", "slack")).unwrap();
        assert_eq!(key, credentials_key("com_1", "slack"));
        for bad in [
            "a",
            "connections/com_1",
            "connections/com_1/slack/x",
            "other/com_1/slack",
            "connections//slack",
        ] {
            assert!(matches!(item_key(bad), Err(SecretError::InvalidName(_))), "{bad}");
        }
    }
}
