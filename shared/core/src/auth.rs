//! API tokens and the principals they stand for.
//!
//! A token is a high-entropy string. Its first 16 characters are a lookup id (stored in
//! the clear as part of the key), the whole token is stored only as a SHA-256 hash and
//! compared in constant time. Generated tokens are 56 lowercase hex characters, like the
//! provisioning API's documented example. The owner's record (the partner, the admin)
//! lists its tokens' lookup ids, so they can be revoked without the token (`tokens`); each
//! token records when it was last used, and a rotated partner token may expire later.

use chrono::{DateTime, Duration, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::keys::{self, partner_key};
use crate::secret::{hash_secret, new_id, random_hex, secret_matches};
use crate::store::{Item, ItemStore, Key, StoreError, WriteOp};

const LOOKUP_LEN: usize = 16;
pub const MIN_TOKEN_LEN: usize = 32;
pub const MAX_TOKEN_LEN: usize = 256;

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Principal {
    /// A partner: provisions companies and acts for the companies it provisioned.
    Partner { partner_id: String },
    /// An admin of one company.
    Admin { company_id: String, user_id: String },
}

/// How often a token's last use is written: at most once a minute per token, so a busy
/// caller does not write on every request.
const LAST_USE_EVERY_SECONDS: i64 = 60;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TokenRecord {
    pub(crate) hash: String,
    pub(crate) principal: Principal,
    pub(crate) created_at: DateTime<Utc>,
    /// When the token was last presented (to the minute).
    #[serde(default)]
    pub(crate) last_used_at: Option<DateTime<Utc>>,
    /// A partner's rotated token keeps working until then (the overlap it was given).
    #[serde(default)]
    pub(crate) expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Partner {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// The lookup ids of the partner's tokens (see the module's notes).
    #[serde(default)]
    pub tokens: Vec<String>,
}

/// The lookup id of a well-formed token: its first characters.
pub(crate) fn lookup_of(token: &str) -> Option<&str> {
    token.get(..LOOKUP_LEN)
}

fn token_key(token: &str) -> Option<Key> {
    Some(keys::token_key(lookup_of(token)?))
}

/// Whether `token` has the shape of a token (so it can be looked up at all).
pub fn well_formed(token: &str) -> bool {
    (MIN_TOKEN_LEN..=MAX_TOKEN_LEN).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// A fresh random token.
pub fn generate_token() -> SecretString {
    SecretString::from(random_hex(28))
}

/// The write that stores `token` for `principal` (fails if its lookup id is taken).
pub fn store_token_op(token: &SecretString, principal: Principal, clock: &dyn Clock) -> Result<WriteOp> {
    let token = token.expose_secret();
    if !well_formed(token) {
        return Err(Error::invalid(
            "token",
            format!(
                "A token is {MIN_TOKEN_LEN} to {MAX_TOKEN_LEN} characters of letters, digits, `-`, `_` or `.`."
            ),
        ));
    }
    let key = token_key(token).expect("well-formed tokens are long enough");
    let record = TokenRecord {
        hash: hash_secret(token),
        principal,
        created_at: clock.now(),
        last_used_at: None,
        expires_at: None,
    };
    Ok(WriteOp::Create(Item::from_record(key, &record)?))
}

/// The principal a presented token stands for, or `unauthorized` (unknown, wrong, revoked or
/// expired). Records the token's last use.
pub async fn authenticate(store: &dyn ItemStore, clock: &dyn Clock, token: &str) -> Result<Principal> {
    if !well_formed(token) {
        return Err(Error::unauthorized());
    }
    let key = token_key(token).expect("well-formed tokens are long enough");
    let Some(item) = store.get(&key).await? else {
        return Err(Error::unauthorized());
    };
    let mut record: TokenRecord = item.record()?;
    let now = clock.now();
    if !secret_matches(token, &record.hash) || record.expires_at.is_some_and(|at| at <= now) {
        return Err(Error::unauthorized());
    }
    let principal = record.principal.clone();
    if record
        .last_used_at
        .is_none_or(|at| now - at >= Duration::seconds(LAST_USE_EVERY_SECONDS))
    {
        record.last_used_at = Some(now);
        let mut used = Item::from_record(key, &record)?;
        used.expires_at = item.expires_at;
        // Never fails the request: a lost race means another request just recorded a use,
        // or the token was rotated meanwhile.
        match store.replace(used, item.version).await {
            Ok(_) | Err(StoreError::ConditionFailed) => {}
            Err(e) => tracing::warn!(error = %e, "a token's last use was not recorded"),
        }
    }
    Ok(principal)
}

/// Creates a partner and its first token. The token is returned once and never stored.
pub async fn create_partner(
    store: &dyn ItemStore,
    clock: &dyn Clock,
    name: &str,
    token: Option<SecretString>,
) -> Result<(Partner, SecretString)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::invalid("name", "A partner name is 1 to 200 characters."));
    }
    let token = token.unwrap_or_else(generate_token);
    let partner = Partner {
        id: new_id("ptn"),
        name: name.to_owned(),
        created_at: clock.now(),
        tokens: lookup_of(token.expose_secret())
            .map(str::to_owned)
            .into_iter()
            .collect(),
    };
    let ops = vec![
        WriteOp::Create(Item::from_record(partner_key(&partner.id), &partner)?),
        store_token_op(
            &token,
            Principal::Partner {
                partner_id: partner.id.clone(),
            },
            clock,
        )?,
    ];
    match store.transact(ops).await {
        Ok(()) => Ok((partner, token)),
        Err(StoreError::TransactionCancelled { .. }) => Err(Error::invalid(
            "token",
            "A token with the same first 16 characters already exists; choose another.",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Makes sure a partner with exactly this token exists (for the devserver's
/// `--partner-token`): creates it on first use, reuses it afterwards.
pub async fn ensure_partner_token(
    store: &dyn ItemStore,
    clock: &dyn Clock,
    name: &str,
    token: &SecretString,
) -> Result<Principal> {
    match authenticate(store, clock, token.expose_secret()).await {
        Ok(principal @ Principal::Partner { .. }) => Ok(principal),
        Ok(Principal::Admin { .. }) => Err(Error::invalid("token", "This token belongs to a company admin.")),
        Err(Error::Refused(_)) => {
            let (partner, _) = create_partner(store, clock, name, Some(token.clone())).await?;
            Ok(Principal::Partner {
                partner_id: partner.id,
            })
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shape() {
        assert!(well_formed(generate_token().expose_secret()));
        assert!(!well_formed("short"));
        assert!(!well_formed(&"x".repeat(MAX_TOKEN_LEN + 1)));
        assert!(!well_formed(&format!("{}é", "a".repeat(40))));
        assert!(!well_formed(&format!("{} {}", "a".repeat(20), "b".repeat(20))));
    }
}
