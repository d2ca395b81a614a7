//! One-time sign-in links to the admin console: minted where an admin's identity is already
//! proven (the claim page right after the email was confirmed; an operator, the devserver)
//! and used up once by the console, which then starts a session. Only the link's hash keys
//! its record, which expires with it.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::access::{Need, authorize};
use crate::auth::Principal;
use crate::error::{Category, Error, Result};
use crate::keys;
use crate::secret::random_hex;
use crate::services::Services;
use crate::store::{Item, StoreError};

/// How long a sign-in link works.
pub const LINK_MINUTES: i64 = 15;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct LinkRecord {
    company_id: String,
    user_id: String,
    expires_at: DateTime<Utc>,
}

/// Mints a one-time sign-in link for an admin who may use the console (the primary admin,
/// or an admin with `manage_apps`); refuses, saying why, anyone else.
pub async fn mint(svc: &Services, company_id: &str, user_id: &str) -> Result<String> {
    let principal = Principal::Admin {
        company_id: company_id.to_owned(),
        user_id: user_id.to_owned(),
    };
    authorize(svc, &principal, company_id, Need::ManageApps).await?;
    let secret = random_hex(32);
    let expires_at = svc.clock.now() + Duration::minutes(LINK_MINUTES);
    let record = LinkRecord {
        company_id: company_id.to_owned(),
        user_id: user_id.to_owned(),
        expires_at,
    };
    let item =
        Item::from_record(keys::console_link_key(&secret), &record)?.with_expiry(expires_at.timestamp());
    svc.store.create(item).await?;
    Ok(format!(
        "{}/console/sign_in/link/{secret}",
        svc.settings.public_base_url
    ))
}

/// Uses up a sign-in link: answers the admin it was for, once.
pub async fn redeem(svc: &Services, secret: &str) -> Result<Principal> {
    let gone = || {
        Error::refused(
            "link",
            Category::Gone,
            "This sign-in link is not valid, was already used or has expired. Sign in with your admin token, or ask for a new link.",
        )
    };
    if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(gone());
    }
    let key = keys::console_link_key(secret);
    let item = svc.store.get(&key).await?.ok_or_else(gone)?;
    let record: LinkRecord = item.record()?;
    // Deleting at the version read makes the link single-use even under a race.
    match svc.store.delete(&key, Some(item.version)).await {
        Ok(()) => {}
        Err(StoreError::ConditionFailed) => return Err(gone()),
        Err(e) => return Err(e.into()),
    }
    if record.expires_at <= svc.clock.now() {
        return Err(gone());
    }
    Ok(Principal::Admin {
        company_id: record.company_id,
        user_id: record.user_id,
    })
}
