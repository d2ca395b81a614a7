//! One conformance suite for every `SecretStore` adapter (Secrets Manager on moto, files; the
//! envelope store's runs are in `envelope.rs`).

use std::time::Duration;

use prov_core::secrets::{SecretError, SecretStore};
use prov_platform::{FileSecretStore, SecretsManagerStore};
use secrecy::{ExposeSecret, SecretString};

pub(crate) async fn value(store: &dyn SecretStore, name: &str) -> Option<String> {
    store
        .get(name)
        .await
        .unwrap()
        .map(|s| s.expose_secret().to_owned())
}

pub(crate) async fn put_get_replace_delete(store: &dyn SecretStore) {
    let name = "connections/com_1/slack";
    assert_eq!(value(store, name).await, None);
    store
        .put(name, &SecretString::from(r#"{"token":"one"}"#))
        .await
        .unwrap();
    assert_eq!(value(store, name).await.as_deref(), Some(r#"{"token":"one"}"#));
    store
        .put(name, &SecretString::from(r#"{"token":"two"}"#))
        .await
        .unwrap();
    assert_eq!(value(store, name).await.as_deref(), Some(r#"{"token":"two"}"#));
    // Names are distinct secrets.
    store
        .put("connections/com_1/okta", &SecretString::from("other"))
        .await
        .unwrap();
    store
        .put("connections/com_1_/okta", &SecretString::from("third"))
        .await
        .unwrap();
    assert_eq!(
        value(store, "connections/com_1/okta").await.as_deref(),
        Some("other")
    );
    assert_eq!(value(store, name).await.as_deref(), Some(r#"{"token":"two"}"#));

    store.delete(name).await.unwrap();
    assert_eq!(value(store, name).await, None);
    store.delete(name).await.unwrap(); // gone is fine
    // Reconnecting after a disconnect writes the secret again.
    store.put(name, &SecretString::from("three")).await.unwrap();
    assert_eq!(value(store, name).await.as_deref(), Some("three"));
}

pub(crate) async fn bad_names_are_refused(store: &dyn SecretStore) {
    for bad in ["", "../etc/passwd", "/abs", "a b"] {
        assert!(
            matches!(store.get(bad).await, Err(SecretError::InvalidName(_))),
            "{bad}"
        );
        assert!(matches!(
            store.put(bad, &SecretString::from("x")).await,
            Err(SecretError::InvalidName(_))
        ));
    }
}

fn secrets_manager() -> SecretsManagerStore {
    let prefix = prov_testkit::unique_name("test");
    SecretsManagerStore::new(
        prov_testkit::secretsmanager_client(),
        &prefix,
        Duration::from_secs(300),
    )
}

#[tokio::test]
async fn secrets_manager_conformance() {
    let store = secrets_manager();
    put_get_replace_delete(&store).await;
    bad_names_are_refused(&store).await;
}

#[tokio::test]
async fn file_conformance() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileSecretStore::open(&dir.path().join("secrets")).unwrap();
    put_get_replace_delete(&store).await;
    bad_names_are_refused(&store).await;
}

#[tokio::test]
async fn secret_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    let store = FileSecretStore::open(&secrets).unwrap();
    store
        .put("connections/com_1/slack", &SecretString::from("x"))
        .await
        .unwrap();
    assert_eq!(
        std::fs::metadata(&secrets).unwrap().permissions().mode() & 0o777,
        0o700
    );
    for entry in std::fs::read_dir(&secrets).unwrap() {
        let mode = entry.unwrap().metadata().unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test]
async fn the_cache_serves_warm_reads_and_forgets_deleted_secrets() {
    let client = prov_testkit::secretsmanager_client();
    let prefix = prov_testkit::unique_name("cache");
    let cached = SecretsManagerStore::new(client.clone(), &prefix, Duration::from_secs(300));
    cached.put("a", &SecretString::from("v1")).await.unwrap();
    // Another writer changes it behind the cache's back: the warm read keeps v1 until the TTL.
    client
        .put_secret_value()
        .secret_id(format!("{prefix}/a"))
        .secret_string("v2")
        .send()
        .await
        .unwrap();
    assert_eq!(value(&cached, "a").await.as_deref(), Some("v1"));
    let uncached = SecretsManagerStore::new(client, &prefix, Duration::ZERO);
    assert_eq!(value(&uncached, "a").await.as_deref(), Some("v2"));
    cached.delete("a").await.unwrap();
    assert_eq!(value(&cached, "a").await, None);
}

/// Issue 24: a fresh read sees what another instance wrote behind this one's cache (a
/// refreshed token), and refreshes the cache with it.
#[tokio::test]
async fn a_fresh_read_sees_past_the_cache_and_refreshes_it() {
    let client = prov_testkit::secretsmanager_client();
    let prefix = prov_testkit::unique_name("fresh");
    let cached = SecretsManagerStore::new(client.clone(), &prefix, Duration::from_secs(300));
    cached.put("a", &SecretString::from("v1")).await.unwrap();
    client
        .put_secret_value()
        .secret_id(format!("{prefix}/a"))
        .secret_string("v2")
        .send()
        .await
        .unwrap();
    assert_eq!(value(&cached, "a").await.as_deref(), Some("v1"));
    let fresh = cached.get_fresh("a").await.unwrap();
    assert_eq!(fresh.as_ref().map(|v| v.expose_secret()), Some("v2"));
    assert_eq!(
        value(&cached, "a").await.as_deref(),
        Some("v2"),
        "the cache keeps what the fresh read saw"
    );
    assert_eq!(cached.get_fresh("missing").await.unwrap().map(|_| ()), None);
}

/// Issue 24: concurrent writes of one secret (refreshes in several instances on one data
/// dir) each land whole: no write fails, the file holds one of the values written, and no
/// temporary file is left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_of_one_file_secret_each_land_whole() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    let stores: Vec<std::sync::Arc<FileSecretStore>> = (0..4)
        .map(|_| std::sync::Arc::new(FileSecretStore::open(&secrets).unwrap()))
        .collect();
    let written: Vec<String> = (0..64).map(|i| format!("{i:02}-{}", "x".repeat(4096))).collect();
    let mut tasks = Vec::new();
    for (i, value) in written.iter().enumerate() {
        let store = stores[i % stores.len()].clone();
        let value = value.clone();
        tasks.push(tokio::spawn(async move {
            store.put("connections/c/app", &SecretString::from(value)).await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let kept = value(stores[0].as_ref(), "connections/c/app").await.unwrap();
    assert!(written.contains(&kept), "a whole value, not a mix");
    let files: Vec<String> = std::fs::read_dir(&secrets)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
}
