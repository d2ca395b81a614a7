//! The envelope secret store: the conformance suite over the embedded store and over DynamoDB
//! with the keyring in Secrets Manager (moto), then what only it does: ciphertexts bound to
//! their connection, key rotation, the move from the per-connection store, the keyring
//! loaded once.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use prov_core::keys::credentials_key;
use prov_core::secrets::{SecretError, SecretStore};
use prov_core::store::{Item, ItemStore};
use prov_platform::{
    EnvelopeSecretStore, FileSecretStore, KeyFile, Keyring, KeyringSource, SecretsManagerKeyring,
    SecretsManagerStore,
};
use prov_store::{DynamoStore, EmbeddedStore};
use secrecy::SecretString;

use crate::secrets::{bad_names_are_refused, put_get_replace_delete, value};

const K1: &str = "first-key-material-0123456789abcdefghij";
const K2: &str = "second-key-material-0123456789abcdefghi";

fn ring_json(current: &str, keys: &[(&str, &str)]) -> String {
    let mut ring = serde_json::Map::new();
    ring.insert("current".into(), current.into());
    for (id, material) in keys {
        ring.insert((*id).into(), (*material).into());
    }
    serde_json::Value::Object(ring).to_string()
}

/// Replaces the key file as an operator rotating the local key would.
fn write_key_file(path: &Path, json: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    std::io::Write::write_all(&mut file, json.as_bytes()).unwrap();
}

/// A data dir as the devserver lays it out: the store, the key file, the legacy secret files.
struct Local {
    dir: tempfile::TempDir,
    store: Arc<EmbeddedStore>,
    legacy: Arc<FileSecretStore>,
}

impl Local {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(EmbeddedStore::open(dir.path().join("store.redb")).unwrap());
        let legacy = Arc::new(FileSecretStore::open(&dir.path().join("secrets")).unwrap());
        Self { dir, store, legacy }
    }

    fn key_file(&self) -> PathBuf {
        self.dir.path().join("credentials.key")
    }

    /// A process's store (each call: a fresh process, which loads the keyring anew).
    fn envelope(&self) -> EnvelopeSecretStore {
        EnvelopeSecretStore::new(self.store.clone(), KeyFile::open(&self.key_file()).unwrap())
            .with_legacy(self.legacy.clone())
    }
}

async fn stored(store: &dyn ItemStore, company: &str, app: &str) -> Option<Item> {
    store.get(&credentials_key(company, app)).await.unwrap()
}

async fn ciphertext(store: &dyn ItemStore, company: &str, app: &str) -> String {
    stored(store, company, app).await.expect("credentials item").data["ciphertext"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn envelope_conformance_on_the_embedded_store() {
    let local = Local::new();
    let envelope = local.envelope();
    put_get_replace_delete(&envelope).await;
    bad_names_are_refused(&envelope).await;
    // What the suite stored is in the table, encrypted; nothing went to the legacy files.
    let sealed = ciphertext(local.store.as_ref(), "com_1", "okta").await;
    assert!(
        sealed.starts_with("v1.k1.") && !sealed.contains("other"),
        "{sealed}"
    );
    assert_eq!(
        std::fs::read_dir(local.dir.path().join("secrets"))
            .unwrap()
            .count(),
        0
    );
    // Only connections' credentials have a place here.
    assert!(matches!(
        envelope
            .put("oauth/registrations", &SecretString::from("x"))
            .await,
        Err(SecretError::InvalidName(_))
    ));
}

#[tokio::test]
async fn envelope_conformance_on_dynamodb_with_the_keyring_in_secrets_manager() {
    let dynamodb = prov_testkit::dynamodb_client();
    let table = prov_testkit::unique_name("envelope");
    DynamoStore::create_table(&dynamodb, &table).await.unwrap();
    let store: Arc<dyn ItemStore> = Arc::new(DynamoStore::new(dynamodb, &table));
    let secretsmanager = prov_testkit::secretsmanager_client();
    let keyring = prov_testkit::unique_name("keyring");
    secretsmanager
        .create_secret()
        .name(&keyring)
        .secret_string(ring_json("k1", &[("k1", K1)]))
        .send()
        .await
        .unwrap();
    let legacy = Arc::new(SecretsManagerStore::new(
        secretsmanager.clone(),
        &prov_testkit::unique_name("legacy"),
        std::time::Duration::ZERO,
    ));
    let process = || {
        EnvelopeSecretStore::new(
            store.clone(),
            SecretsManagerKeyring::new(secretsmanager.clone(), &keyring),
        )
        .with_legacy(legacy.clone())
    };
    let warm = process();
    put_get_replace_delete(&warm).await;
    bad_names_are_refused(&warm).await;

    // A legacy secret moves over on its first read.
    legacy
        .put("connections/com_2/slack", &SecretString::from("legacy"))
        .await
        .unwrap();
    assert_eq!(
        value(&warm, "connections/com_2/slack").await.as_deref(),
        Some("legacy")
    );
    assert_eq!(value(legacy.as_ref(), "connections/com_2/slack").await, None);

    // Rotated in Secrets Manager: a new process writes under k2; the warm one, whose ring
    // lacks k2, loads the ring again and reads it.
    secretsmanager
        .put_secret_value()
        .secret_id(&keyring)
        .secret_string(ring_json("k2", &[("k1", K1), ("k2", K2)]))
        .send()
        .await
        .unwrap();
    process()
        .put("connections/com_1/slack", &SecretString::from("under k2"))
        .await
        .unwrap();
    assert!(
        ciphertext(store.as_ref(), "com_1", "slack")
            .await
            .starts_with("v1.k2.")
    );
    assert_eq!(
        value(&warm, "connections/com_1/slack").await.as_deref(),
        Some("under k2")
    );
}

#[tokio::test]
async fn a_ciphertext_copied_onto_another_connection_does_not_decrypt() {
    let local = Local::new();
    let envelope = local.envelope();
    envelope
        .put(
            "connections/com_1/okta",
            &SecretString::from(r#"{"api_token":"okta-secret-1"}"#),
        )
        .await
        .unwrap();
    let item = stored(local.store.as_ref(), "com_1", "okta").await.unwrap();
    assert!(
        !serde_json::to_string(&item.data)
            .unwrap()
            .contains("okta-secret-1")
    );
    // Someone with write access to the table copies it onto another company's connection,
    // and onto another app of the same company.
    for (company, app) in [("com_2", "okta"), ("com_1", "slack")] {
        let copy = Item {
            key: credentials_key(company, app),
            ..item.clone()
        };
        local.store.create(copy).await.unwrap();
        let refused = envelope
            .get(&format!("connections/{company}/{app}"))
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("do not decrypt"), "{refused}");
        assert!(!refused.to_string().contains("okta-secret-1"));
    }
    assert_eq!(
        value(&envelope, "connections/com_1/okta").await.as_deref(),
        Some(r#"{"api_token":"okta-secret-1"}"#)
    );
}

#[tokio::test]
async fn a_rotated_key_still_reads_old_ciphertexts_and_re_encrypts_them() {
    let local = Local::new();
    write_key_file(&local.key_file(), &ring_json("k1", &[("k1", K1)]));
    let before = local.envelope();
    before
        .put("connections/com_1/okta", &SecretString::from("one"))
        .await
        .unwrap();
    before
        .put("connections/com_1/slack", &SecretString::from("two"))
        .await
        .unwrap();
    assert!(
        ciphertext(local.store.as_ref(), "com_1", "okta")
            .await
            .starts_with("v1.k1.")
    );

    // Rotation: k2 becomes current, k1 stays for reading.
    write_key_file(&local.key_file(), &ring_json("k2", &[("k1", K1), ("k2", K2)]));
    let after = local.envelope();
    assert_eq!(
        value(&after, "connections/com_1/okta").await.as_deref(),
        Some("one")
    );
    // Read under k1, written back under k2 (the same value).
    assert!(
        ciphertext(local.store.as_ref(), "com_1", "okta")
            .await
            .starts_with("v1.k2.")
    );
    assert_eq!(
        value(&after, "connections/com_1/okta").await.as_deref(),
        Some("one")
    );
    // A process still on the old ring meets k2 and loads the ring again.
    assert_eq!(
        value(&before, "connections/com_1/okta").await.as_deref(),
        Some("one")
    );

    // Once every ciphertext was read, k1 can go; a ciphertext under a key the ring no longer
    // holds is an error naming the key, not a panic or an empty answer.
    write_key_file(&local.key_file(), &ring_json("k2", &[("k2", K2)]));
    let retired = local.envelope();
    assert_eq!(
        value(&retired, "connections/com_1/okta").await.as_deref(),
        Some("one")
    );
    let unknown = retired.get("connections/com_1/slack").await.unwrap_err();
    assert!(unknown.to_string().contains("`k1`"), "{unknown}");
}

#[tokio::test]
async fn secrets_of_the_legacy_store_move_into_the_table() {
    let local = Local::new();
    let envelope = local.envelope();
    let legacy = local.legacy.as_ref();
    legacy
        .put("connections/com_1/okta", &SecretString::from("from before"))
        .await
        .unwrap();
    // First read: answered from the legacy store, written encrypted, deleted there.
    assert_eq!(
        value(&envelope, "connections/com_1/okta").await.as_deref(),
        Some("from before")
    );
    assert_eq!(value(legacy, "connections/com_1/okta").await, None);
    assert!(
        ciphertext(local.store.as_ref(), "com_1", "okta")
            .await
            .starts_with("v1.")
    );
    assert_eq!(
        value(&local.envelope(), "connections/com_1/okta")
            .await
            .as_deref(),
        Some("from before")
    );

    // New credentials for a connection that still has a legacy secret replace it.
    legacy
        .put("connections/com_1/slack", &SecretString::from("stale"))
        .await
        .unwrap();
    envelope
        .put("connections/com_1/slack", &SecretString::from("fresh"))
        .await
        .unwrap();
    assert_eq!(value(legacy, "connections/com_1/slack").await, None);
    assert_eq!(
        value(&envelope, "connections/com_1/slack").await.as_deref(),
        Some("fresh")
    );

    // A disconnect deletes both copies.
    legacy
        .put("connections/com_1/box", &SecretString::from("legacy copy"))
        .await
        .unwrap();
    envelope.delete("connections/com_1/box").await.unwrap();
    assert_eq!(value(legacy, "connections/com_1/box").await, None);
    assert_eq!(value(&envelope, "connections/com_1/box").await, None);
    assert!(
        std::fs::read_dir(local.dir.path().join("secrets"))
            .unwrap()
            .next()
            .is_none()
    );
}

/// A keyring source that counts its loads.
struct Counted {
    inner: KeyFile,
    loads: Arc<AtomicUsize>,
}

#[async_trait]
impl KeyringSource for Counted {
    async fn load(&self) -> Result<Keyring, SecretError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keyring_is_loaded_once_on_first_use() {
    let local = Local::new();
    let loads = Arc::new(AtomicUsize::new(0));
    let envelope = Arc::new(EnvelopeSecretStore::new(
        local.store.clone(),
        Counted {
            inner: KeyFile::open(&local.key_file()).unwrap(),
            loads: loads.clone(),
        },
    ));
    assert_eq!(loads.load(Ordering::SeqCst), 0, "nothing is loaded at start");
    envelope
        .put("connections/com_1/okta", &SecretString::from("v"))
        .await
        .unwrap();
    let readers: Vec<_> = (0..16)
        .map(|_| {
            let envelope = envelope.clone();
            tokio::spawn(async move { value(envelope.as_ref(), "connections/com_1/okta").await })
        })
        .collect();
    for reader in readers {
        assert_eq!(reader.await.unwrap().as_deref(), Some("v"));
    }
    assert_eq!(loads.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_key_file_is_made_private_once_and_refused_when_others_may_read_it() {
    use std::os::unix::fs::PermissionsExt;
    let local = Local::new();
    let path = local.key_file();
    KeyFile::open(&path).unwrap();
    let made = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Opening again keeps the key (the credentials it sealed stay readable).
    local
        .envelope()
        .put("connections/com_1/okta", &SecretString::from("v"))
        .await
        .unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), made);
    assert_eq!(
        value(&local.envelope(), "connections/com_1/okta")
            .await
            .as_deref(),
        Some("v")
    );
    // A second data dir gets its own random key.
    let other = Local::new();
    KeyFile::open(&other.key_file()).unwrap();
    assert_ne!(std::fs::read_to_string(other.key_file()).unwrap(), made);

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = local.envelope().get("connections/com_1/okta").await.unwrap_err();
    assert!(refused.to_string().contains("0600"), "{refused}");
}

/// A legacy store with a cache, as Secrets Manager's adapter keeps one: `get` answers what it
/// read before, `get_fresh` reads the store.
struct CachedLegacy {
    inner: Arc<FileSecretStore>,
    remembered: std::sync::Mutex<std::collections::HashMap<String, SecretString>>,
}

#[async_trait]
impl SecretStore for CachedLegacy {
    async fn put(&self, name: &str, value: &SecretString) -> Result<(), SecretError> {
        self.inner.put(name, value).await?;
        self.remembered
            .lock()
            .unwrap()
            .insert(name.to_owned(), value.clone());
        Ok(())
    }

    async fn get(&self, name: &str) -> Result<Option<SecretString>, SecretError> {
        let remembered = self.remembered.lock().unwrap().get(name).cloned();
        match remembered {
            Some(value) => Ok(Some(value)),
            None => self.get_fresh(name).await,
        }
    }

    async fn get_fresh(&self, name: &str) -> Result<Option<SecretString>, SecretError> {
        let value = self.inner.get(name).await?;
        if let Some(value) = &value {
            self.remembered
                .lock()
                .unwrap()
                .insert(name.to_owned(), value.clone());
        }
        Ok(value)
    }

    async fn delete(&self, name: &str) -> Result<(), SecretError> {
        self.remembered.lock().unwrap().remove(name);
        self.inner.delete(name).await
    }
}

/// Issue 24: a legacy secret is moved with a read past the legacy store's cache. An instance
/// whose cache still holds a copy of credentials another instance moved and a disconnect then
/// deleted does not bring them back.
#[tokio::test]
async fn a_cached_legacy_copy_does_not_bring_back_credentials_moved_and_deleted() {
    let local = Local::new();
    let name = "connections/com_1/okta";
    local
        .legacy
        .put(name, &SecretString::from("from before"))
        .await
        .unwrap();
    // This instance read the legacy secret once (its cache holds it).
    let cached = Arc::new(CachedLegacy {
        inner: local.legacy.clone(),
        remembered: std::sync::Mutex::new(std::collections::HashMap::new()),
    });
    assert!(cached.get(name).await.unwrap().is_some());
    // Another instance moves it into the table, then the app is disconnected.
    let other = local.envelope();
    assert_eq!(value(&other, name).await.as_deref(), Some("from before"));
    other.delete(name).await.unwrap();
    // This instance finds nothing, and writes nothing back.
    let this = EnvelopeSecretStore::new(local.store.clone(), KeyFile::open(&local.key_file()).unwrap())
        .with_legacy(cached);
    assert_eq!(value(&this, name).await, None);
    assert_eq!(value(&this, name).await, None);
    assert!(stored(local.store.as_ref(), "com_1", "okta").await.is_none());
}
