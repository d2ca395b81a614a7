//! `SecretStore` adapters: AWS Secrets Manager (with a short cache in the warm Lambda) and
//! files with mode 0600 under the local data dir.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};
use prov_core::secrets::{SecretError, SecretStore, validate_name};
use secrecy::{ExposeSecret, SecretString};

use crate::SdkClient;

/// Secrets Manager, one secret per name under `prefix` (e.g. `app-provisioning/prod/`).
pub struct SecretsManagerStore {
    client: SdkClient<aws_sdk_secretsmanager::Client>,
    prefix: String,
    ttl: Duration,
    cache: Mutex<HashMap<String, (SecretString, Instant)>>,
}

fn unavailable<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    e: aws_sdk_secretsmanager::error::SdkError<E, R>,
) -> SecretError {
    SecretError::Unavailable(DisplayErrorContext(&e).to_string())
}

impl SecretsManagerStore {
    pub fn new(
        client: impl Into<SdkClient<aws_sdk_secretsmanager::Client>>,
        prefix: &str,
        ttl: Duration,
    ) -> Self {
        Self {
            client: client.into(),
            prefix: prefix.trim_end_matches('/').to_owned() + "/",
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn id(&self, name: &str) -> Result<String, SecretError> {
        validate_name(name)?;
        Ok(format!("{}{name}", self.prefix))
    }

    /// Reads the secret from Secrets Manager, and keeps what it read in the cache.
    async fn read(&self, id: &str) -> Result<Option<SecretString>, SecretError> {
        match self.client.get().get_secret_value().secret_id(id).send().await {
            Ok(out) => {
                let value = out.secret_string.map(SecretString::from);
                self.remember(id, value.as_ref());
                Ok(value)
            }
            Err(e)
                if matches!(
                    e.code(),
                    Some("ResourceNotFoundException" | "InvalidRequestException")
                ) =>
            {
                self.remember(id, None);
                Ok(None)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    fn remember(&self, id: &str, value: Option<&SecretString>) {
        let mut cache = self.cache.lock().expect("secret cache lock");
        match value {
            Some(v) => cache.insert(id.to_owned(), (v.clone(), Instant::now())),
            None => cache.remove(id),
        };
    }
}

#[async_trait]
impl SecretStore for SecretsManagerStore {
    async fn put(&self, name: &str, value: &SecretString) -> Result<(), SecretError> {
        let id = self.id(name)?;
        let put = self
            .client
            .get()
            .put_secret_value()
            .secret_id(&id)
            .secret_string(value.expose_secret())
            .send()
            .await;
        match put {
            Ok(_) => {}
            Err(e) if e.code() == Some("ResourceNotFoundException") => {
                self.client
                    .get()
                    .create_secret()
                    .name(&id)
                    .secret_string(value.expose_secret())
                    .send()
                    .await
                    .map_err(unavailable)?;
            }
            // Deleted with a recovery window: bring it back, then write the new value.
            Err(e) if e.code() == Some("InvalidRequestException") => {
                self.client
                    .get()
                    .restore_secret()
                    .secret_id(&id)
                    .send()
                    .await
                    .map_err(unavailable)?;
                self.client
                    .get()
                    .put_secret_value()
                    .secret_id(&id)
                    .secret_string(value.expose_secret())
                    .send()
                    .await
                    .map_err(unavailable)?;
            }
            Err(e) => return Err(unavailable(e)),
        }
        self.remember(&id, Some(value));
        Ok(())
    }

    async fn get(&self, name: &str) -> Result<Option<SecretString>, SecretError> {
        let id = self.id(name)?;
        if let Some((value, at)) = self.cache.lock().expect("secret cache lock").get(&id)
            && at.elapsed() < self.ttl
        {
            return Ok(Some(value.clone()));
        }
        self.read(&id).await
    }

    async fn get_fresh(&self, name: &str) -> Result<Option<SecretString>, SecretError> {
        self.read(&self.id(name)?).await
    }

    async fn delete(&self, name: &str) -> Result<(), SecretError> {
        let id = self.id(name)?;
        self.remember(&id, None);
        match self
            .client
            .get()
            .delete_secret()
            .secret_id(&id)
            .force_delete_without_recovery(true)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// One file per secret under a directory only the owner can read.
pub struct FileSecretStore {
    dir: PathBuf,
}

impl FileSecretStore {
    pub fn open(dir: &Path) -> Result<Self, SecretError> {
        std::fs::create_dir_all(dir).map_err(|e| SecretError::Unavailable(e.to_string()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| SecretError::Unavailable(e.to_string()))?;
        }
        Ok(Self { dir: dir.to_owned() })
    }

    fn path(&self, name: &str) -> Result<PathBuf, SecretError> {
        validate_name(name)?;
        // One flat directory. `_` becomes `_u` and `/` becomes `__`: a reversible mapping,
        // so distinct names stay distinct files.
        Ok(self
            .dir
            .join(format!("{}.secret", name.replace('_', "_u").replace('/', "__"))))
    }
}

#[async_trait]
impl SecretStore for FileSecretStore {
    async fn put(&self, name: &str, value: &SecretString) -> Result<(), SecretError> {
        use std::io::Write;
        let path = self.path(name)?;
        // Unique per write, not per process: concurrent writes of one secret (two refreshes,
        // two devservers on one data dir) each rename their own complete file into place.
        static WRITES: AtomicU64 = AtomicU64::new(0);
        let tmp = path.with_extension(format!(
            "tmp{}-{}",
            std::process::id(),
            WRITES.fetch_add(1, Ordering::Relaxed)
        ));
        let write = || -> std::io::Result<()> {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(&tmp)?;
            file.write_all(value.expose_secret().as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            // A write that failed leaves no half-written file behind.
            let _ = std::fs::remove_file(&tmp);
            SecretError::Unavailable(e.to_string())
        })
    }

    async fn get(&self, name: &str) -> Result<Option<SecretString>, SecretError> {
        match std::fs::read_to_string(self.path(name)?) {
            Ok(v) => Ok(Some(SecretString::from(v))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(SecretError::Unavailable(e.to_string())),
        }
    }

    async fn delete(&self, name: &str) -> Result<(), SecretError> {
        match std::fs::remove_file(self.path(name)?) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(SecretError::Unavailable(e.to_string())),
        }
    }
}
