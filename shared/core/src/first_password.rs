//! First passwords. Where a vendor creates an account with a password and sends the person
//! nothing (Planview LeanKit, Sauce Labs), that password reaches the person only through a
//! single-use reveal link emailed to them:
//!
//! - The link's id is a bearer secret (256 random bits) that only the email holds. The item
//!   store keeps the password sealed (AES-256-GCM) under a key derived from that id, in an
//!   item keyed by the id's hash: the store alone cannot open it, and nothing else keeps it.
//! - The item is written in one transaction with the queued email (`MailQueue`), so a kept
//!   password always has its email; it expires after `LINK_DAYS` (and is refused after that
//!   even before the store drops it).
//! - Opening the link shows a page; revealing takes a POST, which empties the item at the
//!   version read (the one request whose write lands reveals it), so a mail scanner that
//!   follows links reveals nothing and a second reveal finds it used.
//! - The password is never logged, never in an error, and leaves only in the reveal's answer.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use chrono::{DateTime, Duration, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audit::{self, ActorRef, Outcome, Target};
use crate::error::{Category, Error, Result};
use crate::keys::first_password_key;
use crate::mail::{Email, MailQueue};
use crate::secret::{hash_secret, random_hex};
use crate::services::Services;
use crate::store::{Item, StoreError, WriteOp};

/// How long a reveal link works.
pub const LINK_DAYS: i64 = 7;

/// The account a first password opens, and whom it goes to.
pub struct Offer<'a> {
    pub company_id: &'a str,
    pub app_name: &'a str,
    pub account_id: &'a str,
    pub team_member_id: &'a str,
    /// The account's address, the person's: the link goes there.
    pub to: &'a str,
    /// What they sign in with, when it is not that address (a Sauce Labs username).
    pub sign_in_name: Option<&'a str>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Kept {
    company_id: String,
    app_name: String,
    account_id: String,
    team_member_id: String,
    sign_in: String,
    /// The nonce and the sealed password with its tag, hex; `None` once revealed.
    sealed: Option<(String, String)>,
    expires_at: DateTime<Utc>,
    revealed_at: Option<DateTime<Utc>>,
}

/// What the reveal page says before anything is revealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkView {
    pub app_name: String,
    pub expires_at: DateTime<Utc>,
}

/// A revealed first password, with what to sign in with.
pub struct Revealed {
    pub app_name: String,
    pub sign_in: String,
    pub password: SecretString,
}

/// The sealing key of a link: SHA-256 of the link id, apart from the item key's hash.
fn sealing_key(link_id: &str) -> Result<LessSafeKey> {
    let digest = Sha256::digest(format!("first-password-key\0{link_id}").as_bytes());
    let key = UnboundKey::new(&AES_256_GCM, &digest[..])
        .map_err(|_| Error::Internal("the first password's key could not be made".into()))?;
    Ok(LessSafeKey::new(key))
}

/// Seals `password` for the link; the item's key hash is the associated data (a sealed
/// password opens only in its own item).
fn seal(link_id: &str, password: &SecretString) -> Result<(String, String)> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce)
        .map_err(|_| Error::Internal("no random source for the first password's seal".into()))?;
    let mut sealed = password.expose_secret().as_bytes().to_vec();
    sealing_key(link_id)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(hash_secret(link_id).as_bytes()),
            &mut sealed,
        )
        .map_err(|_| Error::Internal("the first password could not be sealed".into()))?;
    Ok((hex::encode(nonce), hex::encode(sealed)))
}

fn unseal(link_id: &str, nonce: &str, sealed: &str) -> Result<SecretString> {
    let broken = || Error::Internal("a kept first password does not open".into());
    let nonce: [u8; NONCE_LEN] = hex::decode(nonce)
        .ok()
        .and_then(|n| n.try_into().ok())
        .ok_or_else(broken)?;
    let mut buffer = hex::decode(sealed).map_err(|_| broken())?;
    let plain = sealing_key(link_id)?
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(hash_secret(link_id).as_bytes()),
            &mut buffer,
        )
        .map_err(|_| broken())?
        .len();
    buffer.truncate(plain);
    String::from_utf8(buffer)
        .map(SecretString::from)
        .map_err(|_| broken())
}

/// Keeps `password` for a new reveal link and emails the link to the person, in one
/// transaction; the email goes out at once when it can (else the sweep sends it). Answers
/// when the link expires.
pub async fn send(svc: &Services, offer: Offer<'_>, password: &SecretString) -> Result<DateTime<Utc>> {
    let link_id = random_hex(32);
    let expires_at = svc.clock.now() + Duration::days(LINK_DAYS);
    let sign_in = offer.sign_in_name.unwrap_or(offer.to);
    let kept = Kept {
        company_id: offer.company_id.to_owned(),
        app_name: offer.app_name.to_owned(),
        account_id: offer.account_id.to_owned(),
        team_member_id: offer.team_member_id.to_owned(),
        sign_in: sign_in.to_owned(),
        sealed: Some(seal(&link_id, password)?),
        expires_at,
        revealed_at: None,
    };
    let url = format!("{}/first_password/{link_id}", svc.settings.public_base_url);
    let app = offer.app_name;
    let email = Email {
        to: offer.to.to_owned(),
        subject: format!("Your new {app} account"),
        text: format!(
            "Hello,\n\nAn account in {app} was made for you. {app} sends no invitation of its own, so \
             your first password is behind this link. It shows the password once, until {}:\n\n{url}\n\n\
             Sign in to {app} as {sign_in} with that password, then choose your own. If the link has \
             expired or was already used, use {app}'s \"Forgot password\" instead.\n",
            crate::schedule::pacific_for_people(expires_at)
        ),
    };
    let (queue, queued) = MailQueue::enqueue(email, svc.clock.as_ref())?;
    let item = Item::from_record(first_password_key(&link_id), &kept)?.with_expiry(expires_at.timestamp());
    svc.store.transact(vec![WriteOp::Create(item), queue]).await?;
    if let Err(e) = MailQueue::deliver(svc.store.as_ref(), svc.mailer.as_ref(), &queued).await {
        tracing::warn!(error = %e, "the first password's email stays queued for the sweep");
    }
    Ok(expires_at)
}

fn not_found() -> Error {
    Error::not_found("first_password")
}

async fn load(svc: &Services, link_id: &str) -> Result<(Item, Kept)> {
    if link_id.len() != 64 || !link_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(not_found());
    }
    let item = svc
        .store
        .get(&first_password_key(link_id))
        .await?
        .ok_or_else(not_found)?;
    let kept: Kept = item.record()?;
    if kept.revealed_at.is_some() || kept.sealed.is_none() {
        return Err(Error::refused(
            "first_password",
            Category::Gone,
            "This password was already shown. If you did not keep it, use the app's \"Forgot password\".",
        ));
    }
    if kept.expires_at <= svc.clock.now() {
        return Err(Error::refused(
            "first_password",
            Category::Gone,
            "This link has expired. Use the app's \"Forgot password\" to set a password.",
        ));
    }
    Ok((item, kept))
}

/// What the link's page shows before the reveal (nothing secret).
pub async fn open(svc: &Services, link_id: &str) -> Result<LinkView> {
    let (_, kept) = load(svc, link_id).await?;
    Ok(LinkView {
        app_name: kept.app_name,
        expires_at: kept.expires_at,
    })
}

/// Reveals the password, once: the item is emptied first, at the version read, so only one
/// request reveals it.
pub async fn reveal(svc: &Services, link_id: &str) -> Result<Revealed> {
    let (item, kept) = load(svc, link_id).await?;
    let Some((nonce, sealed)) = kept.sealed.clone() else {
        return Err(not_found());
    };
    let now = svc.clock.now();
    let used = Kept {
        sealed: None,
        revealed_at: Some(now),
        ..kept.clone()
    };
    let emptied = Item::from_record(item.key.clone(), &used)?.with_expiry(kept.expires_at.timestamp());
    match svc.store.replace(emptied, item.version).await {
        Ok(_) => {}
        Err(StoreError::ConditionFailed) => {
            return Err(Error::refused(
                "first_password",
                Category::Gone,
                "This password was already shown. If you did not keep it, use the app's \"Forgot password\".",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let password = unseal(link_id, &nonce, &sealed)?;
    audit::record(
        svc,
        audit::Record {
            company_id: &kept.company_id,
            actor: ActorRef::TeamMember {
                team_member_id: kept.team_member_id.clone(),
            },
            request_id: "",
            action: "account.first_password_revealed",
            target: Target::new("account", &kept.account_id),
            result: Outcome::Succeeded,
            detail: Some(format!("in {}, through the link emailed to them", kept.app_name)),
        },
    )
    .await;
    Ok(Revealed {
        app_name: kept.app_name,
        sign_in: kept.sign_in,
        password,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_password_opens_only_with_its_link() {
        let link = random_hex(32);
        let password = SecretString::from("Sx9!first-password-é");
        let (nonce, sealed) = seal(&link, &password).unwrap();
        assert!(!sealed.contains(&hex::encode("first-password")));
        assert_eq!(
            unseal(&link, &nonce, &sealed).unwrap().expose_secret(),
            "Sx9!first-password-é"
        );
        assert!(unseal(&random_hex(32), &nonce, &sealed).is_err());
        let mut tampered = hex::decode(&sealed).unwrap();
        tampered[0] ^= 1;
        assert!(unseal(&link, &nonce, &hex::encode(tampered)).is_err());
        // The same password sealed again differs (a fresh nonce).
        assert_ne!(seal(&link, &password).unwrap(), (nonce, sealed));
    }
}
