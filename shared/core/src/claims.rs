//! Account claims: the one-time link an admin sets up their access with (written by
//! provisioning and by admin invitations), what the claim page shows, the confirmation that
//! hands out the admin's token once, the lock after wrong emails, and a new link.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::{Need, authorize};
use crate::audit::{self, Actor, ActorRef, Outcome, Target};
use crate::auth::{Principal, generate_token, lookup_of, store_token_op};
use crate::body::{Body, Unparsed};
use crate::company::{Company, EmailOwner, Role, User};
use crate::error::{Category, Error, Result};
use crate::keys::{claim_key, company_key, email_owner_key, user_key};
use crate::mail::{Email, MailQueue, QueuedMail, send_queued};
use crate::secret::random_hex;
use crate::services::Services;
use crate::store::{CONTENTION_ATTEMPTS, Item, StoreError, WriteOp};
use crate::validate::{Obj, Text, Validator};
use crate::values;
use crate::webhooks::{self, EventType, Listening, partner_listening, partner_listening_check};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Claim {
    company_id: String,
    user_id: String,
    company_name: String,
    email_key: String,
    expires_at: DateTime<Utc>,
    claimed_at: Option<DateTime<Utc>>,
    /// Emails entered that were not the account's; at `CLAIM_TRIES` the claim is locked.
    #[serde(default)]
    wrong_emails: u32,
    /// The company's partner (claims made before it was recorded read the company).
    #[serde(default)]
    partner_id: Option<String>,
}

/// Wrong email addresses a claim link takes before it is locked: a person mistypes once or
/// twice; someone guessing whose link it is needs many more.
pub const CLAIM_TRIES: u32 = 5;
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProvisionResponse {
    pub account_claim_url: String,
}

pub(crate) const INVITATION_WITHDRAWN: &str =
    "This invitation was withdrawn. Ask the company's primary admin if this is unexpected.";

/// Position of the email lock in the writes `admin_with_claim` returns.
pub(crate) const ADMIN_EMAIL_OP: usize = 0;

/// The writes that add an admin who sets up their access through a claim link: the email
/// lock (first, at `ADMIN_EMAIL_OP`), the user, the one-time claim and the invitation
/// email. Returns them with the queued email and the claim URL.
pub(crate) fn admin_with_claim(
    svc: &Services,
    company: &Company,
    user: &User,
    invitation: impl FnOnce(&str, DateTime<Utc>) -> Email,
) -> Result<(Vec<WriteOp>, QueuedMail, String)> {
    let mut ops = vec![
        WriteOp::Create(Item::from_record(
            email_owner_key(&user.email),
            &EmailOwner {
                company_id: user.company_id.clone(),
                user_id: user.id.clone(),
            },
        )?),
        WriteOp::Create(Item::from_record(user_key(&user.company_id, &user.id), user)?),
    ];
    let (claim_ops, queued, url) = claim_with_email(svc, company, user, invitation)?;
    ops.extend(claim_ops);
    Ok((ops, queued, url))
}

/// The writes of a new one-time claim link for `user` and the email that carries it;
/// returns them with the queued email and the claim URL.
pub(crate) fn claim_with_email(
    svc: &Services,
    company: &Company,
    user: &User,
    invitation: impl FnOnce(&str, DateTime<Utc>) -> Email,
) -> Result<(Vec<WriteOp>, QueuedMail, String)> {
    let claim_id = random_hex(32);
    let expires_at = svc.clock.now() + svc.settings.claim_ttl;
    let url = format!("{}/claim_account/{claim_id}", svc.settings.public_base_url);
    let claim = Claim {
        company_id: user.company_id.clone(),
        user_id: user.id.clone(),
        company_name: company.name.clone(),
        email_key: values::email_key(&user.email),
        expires_at,
        claimed_at: None,
        wrong_emails: 0,
        partner_id: Some(company.partner_id.clone()),
    };
    let (mail_op, queued) = MailQueue::enqueue(invitation(&url, expires_at), svc.clock.as_ref())?;
    let ops = vec![
        WriteOp::Create(Item::from_record(claim_key(&claim_id), &claim)?.with_expiry(expires_at.timestamp())),
        mail_op,
    ];
    Ok((ops, queued, url))
}

/// The email inviting `user` (the primary admin of a new company, or an invited admin) to
/// claim their access at `url`.
pub(crate) fn claim_email(company_name: &str, user: &User, url: &str, expires: DateTime<Utc>) -> Email {
    let (subject, what) = match user.role {
        Role::PrimaryAdmin => (
            format!("Claim your account for {company_name}"),
            format!("An account was created for you as the primary payroll administrator of {company_name}."),
        ),
        Role::Admin => (
            format!("You are invited to be an admin of {company_name}"),
            format!("You were invited to be an admin of {company_name}."),
        ),
    };
    Email {
        to: user.email.clone(),
        subject,
        text: format!(
            "Hi {},\n\n{what}\n\
             Confirm your email and claim your account here:\n\n{url}\n\n\
             This link works once and expires on {}.\n",
            user.first_name,
            crate::schedule::pacific_for_people(expires),
        ),
    }
}

// ---------------------------------------------------------------------------------------
// Claims

/// What the claim page shows: enough to recognise the invitation, nothing more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimView {
    pub company_name: String,
    pub email_hint: String,
    pub expires_at: DateTime<Utc>,
}

pub struct ClaimGranted {
    pub company_id: String,
    pub user_id: String,
    /// The company-scoped admin token, shown once.
    pub token: SecretString,
}

pub(crate) fn claim_not_found() -> Error {
    Error::not_found("claim")
}

pub(crate) async fn load_claim(svc: &Services, claim_id: &str) -> Result<(Item, Claim)> {
    if claim_id.len() != 64 || !claim_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(claim_not_found());
    }
    let item = svc
        .store
        .get(&claim_key(claim_id))
        .await?
        .ok_or_else(claim_not_found)?;
    let claim: Claim = item.record()?;
    if claim.claimed_at.is_some() {
        return Err(Error::refused(
            "claim",
            Category::Gone,
            "This account was already claimed. Sign in with the token you received, or ask your partner for help.",
        ));
    }
    if claim.expires_at <= svc.clock.now() {
        return Err(Error::refused(
            "claim",
            Category::Gone,
            "This claim link has expired. Ask your partner to send a new one.",
        ));
    }
    if claim.wrong_emails >= CLAIM_TRIES {
        return Err(claim_locked());
    }
    Ok((item, claim))
}

pub(crate) fn claim_locked() -> Error {
    Error::refused(
        "claim",
        Category::Gone,
        format!(
            "This claim link is locked: a wrong email address was entered {CLAIM_TRIES} times. \
             Ask your partner (or, if you were invited, your company's primary admin) to send a new one."
        ),
    )
}

/// Counts a wrong email against the claim; answers the error to show (the tries left, or
/// the lock it reached).
pub(crate) async fn wrong_email(svc: &Services, item: &Item, claim: &Claim) -> Result<Error> {
    let mut counted = claim.clone();
    counted.wrong_emails = claim.wrong_emails.saturating_add(1);
    let replaced = svc
        .store
        .replace(
            Item::from_record(item.key.clone(), &counted)?.with_expiry(claim.expires_at.timestamp()),
            item.version,
        )
        .await;
    match replaced {
        Ok(_) => {}
        // Another try landed meanwhile (or the claim was used): the caller reads it again.
        Err(StoreError::ConditionFailed) => return Err(Error::Busy("claim changed".into())),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(
        company_id = claim.company_id,
        user_id = claim.user_id,
        wrong_emails = counted.wrong_emails,
        "claim tried with a wrong email"
    );
    let left = CLAIM_TRIES.saturating_sub(counted.wrong_emails);
    if left == 0 {
        return Ok(claim_locked());
    }
    Ok(Error::invalid(
        "email",
        format!(
            "This is not the email address the account was created for ({left} {} left before this link is locked).",
            if left == 1 { "try" } else { "tries" }
        ),
    ))
}

/// `f***@example.com`: recognisable to its owner, useless to anyone else.
pub(crate) fn email_hint(email_key: &str) -> String {
    match email_key.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

pub async fn open_claim(svc: &Services, claim_id: &str) -> Result<ClaimView> {
    let (_, claim) = load_claim(svc, claim_id).await?;
    Ok(ClaimView {
        company_name: claim.company_name,
        email_hint: email_hint(&claim.email_key),
        expires_at: claim.expires_at,
    })
}

/// `POST /v1/claims/{claim_id}`: the email the account was created for.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimBody {
    #[schema(format = Email, min_length = 3, max_length = 254)]
    pub email: String,
}

impl Body for ClaimBody {
    fn parse(v: &mut Validator, root: &Obj<'_>, (): ()) -> Option<Self> {
        v.only(root, &["email"]);
        let email = v.parsed(root, "email", true, values::email);
        Some(ClaimBody { email: email? })
    }
}

/// Where the claim's check of the partner's webhook listening is in its transaction.
const LISTENING_OP: usize = 3;

/// The partner of a company (for a claim made before claims recorded it).
async fn partner_of(svc: &Services, company_id: &str) -> Result<String> {
    let item = svc
        .store
        .get(&company_key(company_id))
        .await?
        .ok_or_else(claim_not_found)?;
    Ok(item.record::<Company>()?.partner_id)
}

/// Confirms the claimant's email and hands out the company's admin token, once.
pub async fn confirm_claim(
    svc: &Services,
    request_id: &str,
    claim_id: &str,
    body: &ClaimBody,
) -> Result<ClaimGranted> {
    let email = &body.email;
    // What the company's partner's webhook endpoints listen for, with the version of the
    // partner's record: believed to be nothing (no read), checked by the transaction.
    let mut listening: (Listening, Option<u64>) = (Listening::default(), None);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (claim_item, claim) = load_claim(svc, claim_id).await?;
        if values::email_key(email) != claim.email_key {
            match wrong_email(svc, &claim_item, &claim).await {
                Err(Error::Busy(_)) if attempt < CONTENTION_ATTEMPTS => continue,
                Err(e) => return Err(e),
                Ok(refusal) => return Err(refusal),
            }
        }
        let user_key = user_key(&claim.company_id, &claim.user_id);
        // An admin removed before claiming: the invitation is withdrawn.
        let withdrawn = || Error::refused("claim", Category::Gone, INVITATION_WITHDRAWN);
        let user_item = svc.store.get(&user_key).await?.ok_or_else(withdrawn)?;
        let mut user: User = user_item.record()?;
        // Claimed through another link (a new one was sent): one admin, one token.
        if user.email_confirmed_at.is_some() {
            return Err(Error::refused(
                "claim",
                Category::Gone,
                "This account was already claimed. Sign in with the token you received, or ask your partner for help.",
            ));
        }
        let now = svc.clock.now();
        user.email_confirmed_at = Some(now);
        let mut claimed = claim.clone();
        claimed.claimed_at = Some(now);

        let token = generate_token();
        user.tokens
            .extend(lookup_of(token.expose_secret()).map(str::to_owned));
        let principal = Principal::Admin {
            company_id: claim.company_id.clone(),
            user_id: claim.user_id.clone(),
        };
        let mut ops = vec![
            WriteOp::Replace {
                item: Item::from_record(claim_item.key.clone(), &claimed)?
                    .with_expiry(claim.expires_at.timestamp()),
                expected_version: claim_item.version,
            },
            WriteOp::Replace {
                item: Item::from_record(user_key, &user)?,
                expected_version: user_item.version,
            },
            store_token_op(&token, principal, svc.clock.as_ref())?,
        ];
        // The primary admin's claim is the company's: `company.claimed`, with it.
        let mut pending = Vec::new();
        let mut partner = None;
        if user.role == Role::PrimaryAdmin {
            let partner_id = match &claim.partner_id {
                Some(p) => p.clone(),
                None => partner_of(svc, &claim.company_id).await?,
            };
            ops.push(partner_listening_check(&partner_id, listening.1));
            let data = serde_json::json!({"user_id": claim.user_id, "claimed_at": now});
            let event = audit::new_event_id();
            if let Some((op, p)) = webhooks::outbox(
                &listening.0,
                &claim.company_id,
                EventType::CompanyClaimed,
                &event,
                now,
                data,
            )? {
                ops.push(op);
                pending.push(p);
            }
            partner = Some(partner_id);
        }
        match svc.store.transact(ops).await {
            Ok(()) => {
                webhooks::nudge(svc.queue.as_ref(), &pending).await;
                tracing::info!(
                    company_id = claim.company_id,
                    user_id = claim.user_id,
                    "account claimed"
                );
                audit::record(
                    svc,
                    audit::Record {
                        company_id: &claim.company_id,
                        actor: ActorRef::Claimant {
                            user_id: claim.user_id.clone(),
                        },
                        request_id,
                        action: "account.claimed",
                        target: Target::new("user", &claim.user_id),
                        result: Outcome::Succeeded,
                        detail: None,
                    },
                )
                .await;
                return Ok(ClaimGranted {
                    company_id: claim.company_id,
                    user_id: claim.user_id,
                    token,
                });
            }
            // The partner's endpoints listen after all: read what for, and write again.
            Err(StoreError::TransactionCancelled { failed })
                if failed == [LISTENING_OP] && attempt < CONTENTION_ATTEMPTS =>
            {
                if let Some(partner_id) = &partner {
                    listening = partner_listening(svc.store.as_ref(), partner_id).await?;
                }
                continue;
            }
            // Someone changed the claim or the user meanwhile: read again. A claim used by
            // the other request now answers "already claimed".
            Err(StoreError::TransactionCancelled { .. } | StoreError::Contention(_))
                if attempt < CONTENTION_ATTEMPTS =>
            {
                continue;
            }
            Err(StoreError::TransactionCancelled { .. }) => {
                return Err(Error::Busy("claim kept changing".into()));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// `POST /v1/companies/{company_id}/claims`: the admin to send a new claim link.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClaimLink {
    /// The admin's user id (`GET /v1/companies/{company_id}/admins`), not yet claimed.
    #[schema(min_length = 1, max_length = 64)]
    pub user_id: String,
}

impl Body for NewClaimLink {
    fn parse(v: &mut Validator, root: &Obj<'_>, (): ()) -> Option<Self> {
        v.only(root, &["user_id"]);
        let user_id = v.text(root, "user_id", true, Text { max_chars: 64 });
        Some(NewClaimLink { user_id: user_id? })
    }
}

/// A new claim link for an admin who has not claimed their access yet (the first was lost,
/// expired, or locked by wrong emails): emailed to them and answered to the caller (the
/// owning partner or the primary admin). Earlier links are left as they are; whichever is
/// used first claims the account, and the others then answer "already claimed".
pub async fn new_claim_link(
    svc: &Services,
    actor: &Actor,
    company_id: &str,
    body: &Unparsed<NewClaimLink>,
) -> Result<ProvisionResponse> {
    let access = authorize(svc, &actor.principal, company_id, Need::ManageAdmins).await?;
    let user_id = body.parse()?.user_id;
    let no_such = || Error::invalid("user_id", "No admin of this company has this id.");
    let user: User = svc
        .store
        .get(&user_key(company_id, &user_id))
        .await?
        .ok_or_else(no_such)?
        .record()?;
    if user.email_confirmed_at.is_some() {
        return Err(Error::invalid(
            "user_id",
            "This admin already claimed their access; there is nothing to send.",
        ));
    }
    let company = access.company();
    let (ops, mail, url) = claim_with_email(svc, company, &user, |url, expires| {
        claim_email(&company.name, &user, url, expires)
    })?;
    svc.store.transact(ops).await?;
    tracing::info!(company_id, user_id = user.id, "new claim link sent");
    audit::succeeded(
        svc,
        actor,
        company_id,
        "claim.sent",
        Target::new("user", &user.id),
        None,
    )
    .await;
    send_queued(svc.store.as_ref(), svc.mailer.as_ref(), &mail).await;
    Ok(ProvisionResponse {
        account_claim_url: url,
    })
}

// ---------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_hints_hide_the_address() {
        assert_eq!(email_hint("frank@example.com"), "f***@example.com");
    }
}
