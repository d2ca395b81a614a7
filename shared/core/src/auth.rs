//! API tokens and the principals they stand for.
//!
//! A token is a high-entropy string. Its first 16 characters are a lookup id (stored in
//! the clear as part of the key), the whole token is stored only as a SHA-256 hash and
//! compared in constant time. Generated tokens are 56 lowercase hex characters, like the
//! provisioning API's documented example.

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

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TokenRecord {
    hash: String,
    principal: Principal,
    created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Partner {
    pub id: String,
    pub name: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

fn token_key(token: &str) -> Option<Key> {
    Some(keys::token_key(token.get(..LOOKUP_LEN)?))
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
    };
    Ok(WriteOp::Create(Item::from_record(key, &record)?))
}

/// The principal a presented token stands for, or `unauthorized`.
pub async fn authenticate(store: &dyn ItemStore, token: &str) -> Result<Principal> {
    if !well_formed(token) {
        return Err(Error::unauthorized());
    }
    let key = token_key(token).expect("well-formed tokens are long enough");
    let Some(item) = store.get(&key).await? else {
        return Err(Error::unauthorized());
    };
    let record: TokenRecord = item.record()?;
    if secret_matches(token, &record.hash) {
        Ok(record.principal)
    } else {
        Err(Error::unauthorized())
    }
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
    let partner = Partner {
        id: new_id("ptn"),
        name: name.to_owned(),
        created_at: clock.now(),
    };
    let token = token.unwrap_or_else(generate_token);
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
    match authenticate(store, token.expose_secret()).await {
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
