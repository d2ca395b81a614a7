//! Helpers every connector may use, over the vendor port's types (`prov_core::connector`,
//! re-exported here).

use secrecy::SecretString;

pub use prov_core::connector::{
    AccountPage, AccountStatus, Connector, ConnectorCapabilities, Created, NewAccount, NewWorkAccount,
    VendorAccount, VendorGroup, VendorTenant, Verified,
};

use crate::error::ConnectorError;

/// A random 24-character password with a lowercase and an uppercase letter, a digit and a
/// special character, no spaces: for vendors that want one at creation (the person then sets
/// their own through the vendor's recovery or SSO). Sent once; never kept, logged or returned.
pub fn random_password() -> Result<SecretString, ConnectorError> {
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGIT: &[u8] = b"23456789";
    const SPECIAL: &[u8] = b"!#%*+-=?@^_";
    // A uniformly random index below `n` (rejection sampling).
    let below = |n: usize| -> Result<usize, ConnectorError> {
        let n = n as u32;
        let zone = u32::MAX - u32::MAX % n;
        loop {
            let mut bytes = [0u8; 4];
            getrandom::fill(&mut bytes).map_err(|_| {
                ConnectorError::Transient("no random source for the new user's password".into())
            })?;
            let v = u32::from_le_bytes(bytes);
            if v < zone {
                return Ok((v % n) as usize);
            }
        }
    };
    let all: Vec<u8> = [LOWER, UPPER, DIGIT, SPECIAL].concat();
    let mut chars = Vec::with_capacity(24);
    for set in [LOWER, UPPER, DIGIT, SPECIAL] {
        chars.push(set[below(set.len())?]);
    }
    while chars.len() < 24 {
        chars.push(all[below(all.len())?]);
    }
    // Shuffle so the classes are not always first (Fisher–Yates).
    for i in (1..chars.len()).rev() {
        chars.swap(i, below(i + 1)?);
    }
    Ok(SecretString::from(String::from_utf8(chars).expect("ASCII")))
}

/// The idempotent create of a vendor without an idempotency key: the account with the email
/// if there is one; otherwise `post` (not started until then); a conflict (the account was
/// created meanwhile, perhaps by an earlier attempt) resolves to the account found after it.
pub async fn create_once<C, F>(connector: &C, email: &str, post: F) -> Result<VendorAccount, ConnectorError>
where
    C: Connector + ?Sized,
    F: std::future::Future<Output = Result<VendorAccount, ConnectorError>>,
{
    if let Some(existing) = connector.find_by_email(email).await? {
        return Ok(existing);
    }
    match post.await {
        Err(ConnectorError::Conflict(why)) => connector
            .find_by_email(email)
            .await?
            .ok_or(ConnectorError::Conflict(why)),
        other => other,
    }
}

/// `create_once` for a vendor that makes an account with a first password and sends the
/// person nothing: `post` answers the account it made with that password; an account that
/// existed (or that someone else made meanwhile, which `post` reports as a conflict) goes
/// without one.
pub async fn create_once_with_password<C, F>(
    connector: &C,
    email: &str,
    post: F,
) -> Result<Created, ConnectorError>
where
    C: Connector + ?Sized,
    F: std::future::Future<Output = Result<Created, ConnectorError>>,
{
    let existing = |account| Created {
        account,
        first_password: None,
        sign_in_name: None,
    };
    if let Some(found) = connector.find_by_email(email).await? {
        return Ok(existing(found));
    }
    match post.await {
        Err(ConnectorError::Conflict(why)) => connector
            .find_by_email(email)
            .await?
            .map(existing)
            .ok_or(ConnectorError::Conflict(why)),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::random_password;

    #[test]
    fn passwords_meet_the_usual_rules_and_differ() {
        for _ in 0..50 {
            let p = random_password().unwrap();
            let p = p.expose_secret();
            assert_eq!(p.len(), 24);
            assert!(p.chars().any(|c| c.is_ascii_lowercase()));
            assert!(p.chars().any(|c| c.is_ascii_uppercase()));
            assert!(p.chars().any(|c| c.is_ascii_digit()));
            assert!(p.chars().any(|c| !c.is_ascii_alphanumeric()));
            assert!(!p.contains(' '));
        }
        let (a, b) = (random_password().unwrap(), random_password().unwrap());
        assert_ne!(a.expose_secret(), b.expose_secret());
    }
}
