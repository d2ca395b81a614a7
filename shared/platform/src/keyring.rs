//! The keys that encrypt connection credentials (`EnvelopeSecretStore`): a keyring of named
//! keys, the `current` one for new writes and every one for reads, so a key can be rotated
//! without downtime. Its source is the deployment's root of trust: one Secrets Manager
//! secret in AWS, a key file (0600) in the local data dir.
//!
//! Each AES-256-GCM key is derived with HKDF-SHA256 from its material (a high-entropy
//! string), so CloudFormation's `GenerateSecretString` can create the secret.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use aws_lc_rs::hkdf;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use prov_core::secrets::SecretError;
use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretString};

use crate::SdkClient;

/// The ciphertext format's version: `v1.<key id>.<base64url(nonce | ciphertext | tag)>`.
const FORMAT: &str = "v1";
/// Material shorter than this is refused: `GenerateSecretString` makes 32 characters by default.
const MIN_MATERIAL: usize = 32;
/// HKDF's salt and info: fixed, non-secret, naming what the derived keys are for.
const SALT: &[u8] = b"app-provisioning keyring";
const INFO: &[u8] = b"connection credentials, AES-256-GCM";

/// The named keys; `current` encrypts, all decrypt.
pub struct Keyring {
    current: String,
    keys: BTreeMap<String, RandomizedNonceKey>,
}

/// Key ids, as they appear in ciphertexts (no `.`, the format's separator).
fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

fn invalid(why: String) -> SecretError {
    SecretError::Unavailable(format!("the credentials keyring is invalid: {why}"))
}

struct KeyLen;

impl hkdf::KeyType for KeyLen {
    fn len(&self) -> usize {
        32
    }
}

fn derive(material: &str) -> Result<RandomizedNonceKey, SecretError> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, SALT).extract(material.as_bytes());
    let mut key = [0u8; 32];
    let derived = prk
        .expand(&[INFO], KeyLen)
        .and_then(|okm| okm.fill(&mut key))
        .and_then(|()| RandomizedNonceKey::new(&AES_256_GCM, &key));
    key.zeroize();
    derived.map_err(|_| invalid("a key cannot be derived".into()))
}

/// What a ciphertext opened to.
pub(crate) enum Opened {
    /// The plaintext, and whether it was sealed under the current key.
    Plain { value: SecretString, current: bool },
    /// Sealed under a key this ring does not hold (a newer ring may).
    UnknownKey(String),
}

impl Keyring {
    /// Parses `{"current": "<id>", "<id>": "<material>", …}`.
    pub fn parse(json: &SecretString) -> Result<Self, SecretError> {
        let mut entries: BTreeMap<String, SecretString> = serde_json::from_str(json.expose_secret())
            // Only the position: serde's messages may quote the (secret) input.
            .map_err(|e| {
                invalid(format!(
                    "not a JSON object of strings (line {}, column {})",
                    e.line(),
                    e.column()
                ))
            })?;
        let current = entries
            .remove("current")
            .ok_or_else(|| invalid("it has no `current` key id".into()))?
            .expose_secret()
            .to_owned();
        let mut keys = BTreeMap::new();
        for (id, material) in entries {
            if !valid_id(&id) {
                return Err(invalid(format!(
                    "`{id}` is not a key id (letters, digits, `_`, `-`)"
                )));
            }
            if material.expose_secret().len() < MIN_MATERIAL {
                return Err(invalid(format!(
                    "key `{id}` is shorter than {MIN_MATERIAL} characters"
                )));
            }
            keys.insert(id, derive(material.expose_secret())?);
        }
        if !keys.contains_key(&current) {
            return Err(invalid(format!(
                "`current` names `{current}`, which it does not hold"
            )));
        }
        Ok(Self { current, keys })
    }

    /// Encrypts `value` under the current key, bound to `name` (the associated data): the
    /// ciphertext opens only as the secret of that name.
    pub(crate) fn seal(&self, name: &str, value: &SecretString) -> Result<String, SecretError> {
        let key = &self.keys[&self.current];
        let mut sealed = value.expose_secret().as_bytes().to_vec();
        let nonce = key
            .seal_in_place_append_tag(Aad::from(name.as_bytes()), &mut sealed)
            .map_err(|_| SecretError::Unavailable("credentials cannot be encrypted".into()))?;
        let mut out = nonce.as_ref().to_vec();
        out.append(&mut sealed);
        Ok(format!(
            "{FORMAT}.{}.{}",
            self.current,
            URL_SAFE_NO_PAD.encode(out)
        ))
    }

    /// Decrypts a ciphertext of `seal` made for `name`.
    pub(crate) fn open(&self, name: &str, ciphertext: &str) -> Result<Opened, SecretError> {
        let unreadable =
            || SecretError::Unavailable(format!("the stored credentials of {name} do not decrypt"));
        let mut parts = ciphertext.splitn(3, '.');
        let (Some(FORMAT), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(unreadable());
        };
        let Some(key) = self.keys.get(id) else {
            return Ok(Opened::UnknownKey(id.to_owned()));
        };
        let mut bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| unreadable())?;
        if bytes.len() < NONCE_LEN {
            return Err(unreadable());
        }
        let mut sealed = bytes.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&bytes).map_err(|_| unreadable())?;
        let plain = key
            .open_in_place(nonce, Aad::from(name.as_bytes()), &mut sealed)
            .map_err(|_| unreadable())?;
        let value = std::str::from_utf8(plain).map(str::to_owned);
        sealed.zeroize();
        Ok(Opened::Plain {
            value: SecretString::from(value.map_err(|_| unreadable())?),
            current: id == self.current,
        })
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Key ids only: never material.
        f.debug_struct("Keyring")
            .field("current", &self.current)
            .field("ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Where a keyring comes from; loaded on first use and again when a ciphertext names a key
/// the loaded ring lacks (another instance rotated it).
#[async_trait]
pub trait KeyringSource: Send + Sync + 'static {
    async fn load(&self) -> Result<Keyring, SecretError>;
}

/// The keyring in one Secrets Manager secret (by name or ARN).
pub struct SecretsManagerKeyring {
    client: SdkClient<aws_sdk_secretsmanager::Client>,
    secret_id: String,
}

impl SecretsManagerKeyring {
    pub fn new(client: impl Into<SdkClient<aws_sdk_secretsmanager::Client>>, secret_id: &str) -> Self {
        Self {
            client: client.into(),
            secret_id: secret_id.to_owned(),
        }
    }
}

#[async_trait]
impl KeyringSource for SecretsManagerKeyring {
    async fn load(&self) -> Result<Keyring, SecretError> {
        let out = self
            .client
            .get()
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|e| {
                SecretError::Unavailable(format!(
                    "the credentials keyring cannot be read: {}",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
                ))
            })?;
        let json = out
            .secret_string
            .ok_or_else(|| invalid("the secret holds no string".into()))?;
        Keyring::parse(&SecretString::from(json))
    }
}

/// The keyring in a local file only its owner may read, created with one random key when
/// absent.
pub struct KeyFile {
    path: PathBuf,
}

impl KeyFile {
    pub fn open(path: &Path) -> Result<Self, SecretError> {
        let io = |e: std::io::Error| SecretError::Unavailable(format!("key file {}: {e}", path.display()));
        if !path.exists() {
            let mut material = [0u8; 32];
            aws_lc_rs::rand::fill(&mut material)
                .map_err(|_| SecretError::Unavailable("no random source for a new key".into()))?;
            let ring = SecretString::from(
                serde_json::json!({"current": "k1", "k1": URL_SAFE_NO_PAD.encode(material)}).to_string(),
            );
            material.zeroize();
            // Written aside, then linked into place: the link fails if another process made
            // the file meanwhile, and nobody ever reads a half-written key file.
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            write_private(&tmp, ring.expose_secret().as_bytes()).map_err(io)?;
            let linked = std::fs::hard_link(&tmp, path);
            std::fs::remove_file(&tmp).map_err(io)?;
            match linked {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(io(e)),
                _ => {}
            }
        }
        Ok(Self {
            path: path.to_owned(),
        })
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[async_trait]
impl KeyringSource for KeyFile {
    async fn load(&self) -> Result<Keyring, SecretError> {
        let io =
            |e: std::io::Error| SecretError::Unavailable(format!("key file {}: {e}", self.path.display()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&self.path).map_err(io)?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(invalid(format!(
                    "key file {} may be read by others (mode {:o}); it must be 0600",
                    self.path.display(),
                    mode & 0o777
                )));
            }
        }
        Keyring::parse(&SecretString::from(
            std::fs::read_to_string(&self.path).map_err(io)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(json: &str) -> Result<Keyring, SecretError> {
        Keyring::parse(&SecretString::from(json))
    }

    const K1: &str = "material-one-0123456789abcdefghijklmnop";
    const K2: &str = "material-two-0123456789abcdefghijklmnop";

    fn plain(opened: Opened) -> (String, bool) {
        match opened {
            Opened::Plain { value, current } => (value.expose_secret().to_owned(), current),
            Opened::UnknownKey(id) => panic!("unknown key {id}"),
        }
    }

    #[test]
    fn seals_under_the_current_key_and_opens_only_for_the_same_name() {
        let ring = ring(&format!(r#"{{"current":"k1","k1":"{K1}"}}"#)).unwrap();
        let value = SecretString::from(r#"{"api_token":"tok-123"}"#);
        let sealed = ring.seal("connections/c1/okta", &value).unwrap();
        assert!(sealed.starts_with("v1.k1."), "{sealed}");
        assert!(!sealed.contains("tok-123"));
        // A fresh random nonce each time.
        assert_ne!(sealed, ring.seal("connections/c1/okta", &value).unwrap());
        assert_eq!(
            plain(ring.open("connections/c1/okta", &sealed).unwrap()),
            (r#"{"api_token":"tok-123"}"#.to_owned(), true)
        );
        // Another connection's name is other associated data: the tag does not verify.
        assert!(ring.open("connections/c2/okta", &sealed).is_err());
        assert!(ring.open("connections/c1/slack", &sealed).is_err());
        // Tampering anywhere fails the tag, not the process.
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(
            ring.open("connections/c1/okta", std::str::from_utf8(&tampered).unwrap())
                .is_err()
        );
        for garbage in [
            "",
            "v1",
            "v1.k1",
            "v1.k1.",
            "v1.k1.!!",
            "v2.k1.AAAA",
            "v1.k1.AAAA",
        ] {
            assert!(ring.open("connections/c1/okta", garbage).is_err(), "{garbage}");
        }
    }

    #[test]
    fn a_rotated_ring_opens_old_ciphertexts_and_says_when_a_key_is_unknown() {
        let old = ring(&format!(r#"{{"current":"k1","k1":"{K1}"}}"#)).unwrap();
        let new = ring(&format!(r#"{{"current":"k2","k1":"{K1}","k2":"{K2}"}}"#)).unwrap();
        let by_old = old.seal("n", &SecretString::from("v")).unwrap();
        assert_eq!(plain(new.open("n", &by_old).unwrap()), ("v".to_owned(), false));
        let by_new = new.seal("n", &SecretString::from("w")).unwrap();
        assert!(by_new.starts_with("v1.k2."));
        assert!(matches!(old.open("n", &by_new).unwrap(), Opened::UnknownKey(id) if id == "k2"));
        // The same id with other material is another key: it does not open.
        let impostor = ring(&format!(r#"{{"current":"k1","k1":"{K2}"}}"#)).unwrap();
        assert!(impostor.open("n", &by_old).is_err());
    }

    #[test]
    fn refuses_a_bad_keyring_without_quoting_its_material() {
        for (json, says) in [
            ("not json", "line 1"),
            (
                r#"{"k1":"material-one-0123456789abcdefghijklmnop"}"#,
                "no `current`",
            ),
            (
                r#"{"current":"k9","k1":"material-one-0123456789abcdefghijklmnop"}"#,
                "`k9`",
            ),
            (r#"{"current":"k1","k1":"short-material"}"#, "shorter than 32"),
            (
                r#"{"current":"k.1","k.1":"material-one-0123456789abcdefghijklmnop"}"#,
                "not a key id",
            ),
        ] {
            let refused = ring(json).unwrap_err().to_string();
            assert!(refused.contains(says), "{json}: {refused}");
            assert!(
                !refused.contains("material-one") && !refused.contains("short-material"),
                "{refused}"
            );
        }
        let ok = ring(&format!(r#"{{"current":"k1","k1":"{K1}"}}"#)).unwrap();
        assert!(!format!("{ok:?}").contains("material"));
    }
}
