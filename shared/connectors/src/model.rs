//! What every connector speaks: vendor accounts, their normalised status, and the trait.

use async_trait::async_trait;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::error::ConnectorError;

/// A vendor account's status, normalised across vendors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    /// Invited; the person has not accepted yet ("Invite Sent").
    InviteSent,
    /// Access removed, account and data kept (suspend, or a vendor's "deactivate").
    Suspended,
    /// Removed at the vendor.
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorAccount {
    /// The vendor's id for the account.
    pub id: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The vendor's display name when it has no separate first and last name.
    pub display_name: Option<String>,
    pub status: AccountStatus,
}

/// Who to create an account for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
}

/// A new mailbox user for a new employee (Google Workspace, Microsoft 365): the work
/// address is created; the person's personal email (if any) becomes the account's recovery
/// address, so they can set their own password (the random one set at creation is never
/// stored, logged or returned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWorkAccount {
    /// The work address to create, on one of the tenant's domains.
    pub work_email: String,
    pub first_name: String,
    pub last_name: String,
    pub personal_email: Option<String>,
}

impl From<&NewAccount> for NewWorkAccount {
    /// A plain create on an app with mailboxes: the address is the work address, with no
    /// personal email to recover it by.
    fn from(new: &NewAccount) -> Self {
        Self {
            work_email: new.email.clone(),
            first_name: new.first_name.clone(),
            last_name: new.last_name.clone(),
            personal_email: None,
        }
    }
}

/// A group an account can be put in (Google Workspace Groups).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VendorGroup {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
}

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

/// One page of accounts; `next` continues the listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountPage {
    pub accounts: Vec<VendorAccount>,
    pub next: Option<String>,
}

/// What a connector can do (the catalog says the same for the product).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectorCapabilities {
    pub create: bool,
    pub suspend: bool,
    pub reactivate: bool,
    pub delete: bool,
    /// Whether the vendor's listing tells a pending invitation from an account in use. When
    /// it cannot (HubSpot), the "Invite Sent" recorded at creation is kept.
    pub shows_invites: bool,
}

/// One vendor, one connection. Semantics are idempotent: creating an account that exists
/// returns it; deleting one that is gone succeeds.
#[async_trait]
pub trait Connector: Send + Sync {
    fn capabilities(&self) -> ConnectorCapabilities;

    /// One cheap call proving the credentials work (used before a connection is saved).
    async fn verify(&self) -> Result<(), ConnectorError>;

    async fn list(&self, cursor: Option<&str>) -> Result<AccountPage, ConnectorError>;

    async fn get(&self, id: &str) -> Result<Option<VendorAccount>, ConnectorError>;

    async fn find_by_email(&self, email: &str) -> Result<Option<VendorAccount>, ConnectorError>;

    /// Creates (or invites) the account; an existing account with the email is returned.
    async fn create(&self, account: &NewAccount) -> Result<VendorAccount, ConnectorError>;

    async fn suspend(&self, id: &str) -> Result<VendorAccount, ConnectorError>;

    async fn reactivate(&self, id: &str) -> Result<VendorAccount, ConnectorError>;

    /// Removes the account the way the vendor removes (see the catalog); gone is fine.
    async fn delete(&self, id: &str) -> Result<(), ConnectorError>;

    /// The domains a work address may be created on (apps with mailboxes).
    async fn work_email_domains(&self) -> Result<Vec<String>, ConnectorError> {
        Err(ConnectorError::Unsupported("work email"))
    }

    /// Creates a mailbox user for a new employee (apps with mailboxes); an existing user
    /// with the work address is returned.
    async fn create_work_account(&self, _new: &NewWorkAccount) -> Result<VendorAccount, ConnectorError> {
        Err(ConnectorError::Unsupported("work email"))
    }

    /// The tenant's groups (apps with groups).
    async fn groups(&self) -> Result<Vec<VendorGroup>, ConnectorError> {
        Err(ConnectorError::Unsupported("groups"))
    }

    /// Puts an account in a group; already a member is fine.
    async fn add_to_group(&self, _account_id: &str, _group_id: &str) -> Result<(), ConnectorError> {
        Err(ConnectorError::Unsupported("groups"))
    }
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
