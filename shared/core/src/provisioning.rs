//! Company provisioning (`POST /v1/provision`), account claims and reading companies.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::access::{Need, authorize};
use crate::audit::{self, Actor, ActorRef, Outcome, Target};
use crate::auth::{Principal, generate_token, lookup_of, store_token_op};
use crate::body::{Body, Boolish, Unparsed};
use crate::company::{Address, Company, Plan, Role, User};
use crate::error::{Category, Error, Result};
use crate::keys::{
    claim_key, company_key, email_owner_key, idempotency_key, partner_companies_index, user_key,
};
use crate::listing::{ListQuery, Listing};
use crate::mail::{Email, MailQueue, QueuedMail};
use crate::secret::{new_id, random_hex};
use crate::services::Services;
use crate::store::{Item, Key, StoreError, WriteOp};
use crate::validate::{Obj, Text, Validator, join};
use crate::values;

/// Retries of a transaction that met contention before giving up with `Busy`.
const CONTENTION_ATTEMPTS: usize = 3;

// ---------------------------------------------------------------------------------------
// Request

/// `POST /v1/provision`: the company, its primary payroll admin, and the welcome email.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvisionBody {
    pub user: NewUser,
    pub company: NewCompany,
}

/// The company's primary payroll admin.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schema(min_length = 1, max_length = 100)]
    pub first_name: String,
    #[schema(min_length = 1, max_length = 100)]
    pub last_name: String,
    /// Unique across the service without regard to case.
    #[schema(format = Email, min_length = 3, max_length = 254)]
    pub email: String,
    /// A 10-digit US number; spaces, `-`, `.`, `(`, `)` and a leading `+1` or `1` allowed.
    #[schema(min_length = 10, max_length = 320, pattern = r"^[0-9 ().+-]+$")]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCompany {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(min_length = 1, max_length = 200)]
    pub trade_name: Option<String>,
    /// 9 digits; `12-3456789` accepted.
    #[schema(pattern = r"^([0-9]{9}|[0-9]{2}-[0-9]{7})$")]
    pub ein: Option<String>,
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub number_employees: Option<u32>,
    /// US state codes (or `DC`), any case; repeats count once.
    #[schema(value_type = Option<Vec<String>>, required = false, max_items = 102, pattern = r"^[A-Za-z]{2}$")]
    pub states: Vec<String>,
    /// At most one primary.
    #[schema(value_type = Option<Vec<NewAddress>>, required = false, max_items = 100)]
    pub addresses: Vec<NewAddress>,
}

#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAddress {
    #[schema(min_length = 1, max_length = 200)]
    pub street_1: String,
    #[schema(min_length = 1, max_length = 200)]
    pub street_2: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub city: String,
    /// A US state code (or `DC`), any case.
    #[schema(pattern = r"^[A-Za-z]{2}$")]
    pub state: String,
    /// `80202` or `80202-1234`.
    #[schema(pattern = r"^[0-9]{5}(-[0-9]{4})?$")]
    pub zip: String,
    /// A 10-digit US number; spaces, `-`, `.`, `(`, `)` and a leading `+1` or `1` allowed.
    #[schema(min_length = 10, max_length = 320, pattern = r"^[0-9 ().+-]+$")]
    pub phone: String,
    #[schema(value_type = Option<Boolish>, required = false)]
    pub is_primary: bool,
}

impl From<NewAddress> for Address {
    fn from(a: NewAddress) -> Self {
        Address {
            street_1: a.street_1,
            street_2: a.street_2,
            city: a.city,
            state: a.state,
            zip: a.zip,
            phone: a.phone,
            is_primary: a.is_primary,
        }
    }
}

const MAX_ADDRESSES: usize = 100;
const MAX_EMPLOYEES: i64 = 10_000_000;

impl Body for ProvisionBody {
    fn parse(v: &mut Validator, root: &Obj<'_>, (): ()) -> Option<Self> {
        v.only(root, &["user", "company"]);
        let user = v
            .object(root, "user", true)
            .and_then(|o| NewUser::parse(v, &o, ()));
        let company = v
            .object(root, "company", true)
            .and_then(|o| NewCompany::parse(v, &o, ()));
        Some(ProvisionBody {
            user: user?,
            company: company?,
        })
    }
}

impl Body for NewUser {
    fn parse(v: &mut Validator, o: &Obj<'_>, (): ()) -> Option<Self> {
        v.only(o, &["first_name", "last_name", "email", "phone"]);
        let first_name = v.text(o, "first_name", true, Text::NAME);
        let last_name = v.text(o, "last_name", true, Text::NAME);
        let email = v.parsed(o, "email", true, values::email);
        let phone = v.parsed(o, "phone", false, values::phone);
        Some(NewUser {
            first_name: first_name?,
            last_name: last_name?,
            email: email?,
            phone,
        })
    }
}

impl Body for NewCompany {
    fn parse(v: &mut Validator, o: &Obj<'_>, (): ()) -> Option<Self> {
        v.only(
            o,
            &[
                "name",
                "trade_name",
                "ein",
                "number_employees",
                "states",
                "addresses",
            ],
        );
        let name = v.text(o, "name", true, Text::LONG_NAME);
        let trade_name = v.text(o, "trade_name", false, Text::LONG_NAME);
        let ein = v.parsed(o, "ein", false, values::ein);
        let number_employees = v
            .integer(o, "number_employees", false, 0, MAX_EMPLOYEES)
            .map(|n| u32::try_from(n).expect("bounded above"));

        let states_path = join(o.path(), "states");
        let mut states: Vec<String> = Vec::new();
        for (i, s) in v
            .array(o, "states", values::US_STATES.len() * 2)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let path = format!("{states_path}[{i}]");
            match s.as_str().map(values::state) {
                Some(Ok(code)) if !states.contains(&code) => states.push(code),
                Some(Ok(_)) => {} // a repeated state adds nothing
                Some(Err(why)) => v.error(&path, format!("`{path}` {why}")),
                None => v.error(&path, format!("`{path}` must be a string.")),
            }
        }

        let addresses_path = join(o.path(), "addresses");
        let mut addresses = Vec::new();
        for (i, a) in v
            .array(o, "addresses", MAX_ADDRESSES)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            if let Some(obj) = v.element(a, &addresses_path, i) {
                addresses.extend(NewAddress::parse(v, &obj, ()));
            }
        }
        if addresses.iter().filter(|a| a.is_primary).count() > 1 {
            v.error(
                &addresses_path,
                format!("Only one of `{addresses_path}` can be primary."),
            );
        }
        Some(NewCompany {
            name: name?,
            trade_name,
            ein,
            number_employees,
            states,
            addresses,
        })
    }
}

impl Body for NewAddress {
    fn parse(v: &mut Validator, o: &Obj<'_>, (): ()) -> Option<Self> {
        v.only(
            o,
            &[
                "street_1",
                "street_2",
                "city",
                "state",
                "zip",
                "phone",
                "is_primary",
            ],
        );
        let street_1 = v.text(o, "street_1", true, Text::LONG_NAME);
        let street_2 = v.text(o, "street_2", false, Text::LONG_NAME);
        let city = v.text(o, "city", true, Text::NAME);
        let state = v.parsed(o, "state", true, values::state);
        let zip = v.parsed(o, "zip", true, values::zip);
        let phone = v.parsed(o, "phone", true, values::phone);
        let is_primary = v.boolish(o, "is_primary").unwrap_or(false);
        Some(NewAddress {
            street_1: street_1?,
            street_2,
            city: city?,
            state: state?,
            zip: zip?,
            phone: phone?,
            is_primary,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Records

/// Owner of an email address; its key makes emails unique across the service.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct EmailOwner {
    pub(crate) company_id: String,
    pub(crate) user_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claim {
    company_id: String,
    user_id: String,
    company_name: String,
    email_key: String,
    expires_at: DateTime<Utc>,
    claimed_at: Option<DateTime<Utc>>,
    /// Emails entered that were not the account's; at `CLAIM_TRIES` the claim is locked.
    #[serde(default)]
    wrong_emails: u32,
}

/// Wrong email addresses a claim link takes before it is locked: a person mistypes once or
/// twice; someone guessing whose link it is needs many more.
pub const CLAIM_TRIES: u32 = 5;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct IdempotencyRecord {
    request_hash: String,
    response: ProvisionResponse,
}

/// A company as stored: listed in its partner's index in the order companies were made.
fn company_item(company: &Company) -> Result<Item> {
    Ok(Item::from_record(company_key(&company.id), company)?.with_index(
        partner_companies_index(&company.partner_id),
        format!("{}#{}", company.created_at.to_rfc3339(), company.id),
    ))
}

// ---------------------------------------------------------------------------------------
// Provision

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProvisionResponse {
    pub account_claim_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provisioned {
    Created(ProvisionResponse),
    /// The same `Idempotency-Key` and body were seen before: this is the first answer.
    Replayed(ProvisionResponse),
}

/// An `Idempotency-Key` bound to the partner that sent it and the body it came with.
struct Idempotency {
    key: Key,
    request_hash: String,
}

impl Idempotency {
    fn new(partner_id: &str, header: &str, body: &Map<String, Value>) -> Result<Self> {
        if header.is_empty() || header.len() > 255 || !header.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid(
                "Idempotency-Key",
                "`Idempotency-Key` must be 1 to 255 visible ASCII characters.",
            ));
        }
        let mut canonical = String::new();
        write_canonical(&Value::Object(body.clone()), &mut canonical);
        Ok(Self {
            key: idempotency_key(partner_id, header),
            request_hash: hex::encode(Sha256::digest(canonical.as_bytes())),
        })
    }

    /// The first answer for this key, if any; refuses a key reused with another body.
    async fn previous(&self, svc: &Services) -> Result<Option<ProvisionResponse>> {
        let Some(item) = svc.store.get(&self.key).await? else {
            return Ok(None);
        };
        if item.expires_at.is_some_and(|t| t <= svc.clock.now().timestamp()) {
            // Expired but not yet removed by the TTL sweeper: forget it now, so the key
            // can be used afresh.
            match svc.store.delete(&self.key, Some(item.version)).await {
                Ok(()) | Err(StoreError::ConditionFailed) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
        let record: IdempotencyRecord = item.record()?;
        if record.request_hash != self.request_hash {
            return Err(Error::refused(
                "Idempotency-Key",
                Category::DuplicateOperation,
                "This `Idempotency-Key` was already used with a different request body.",
            ));
        }
        Ok(Some(record.response))
    }
}

/// JSON with object keys sorted, so equal bodies hash equally whatever their key order.
fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// An email already used by a user; `error_key` names the attribute in the request.
pub(crate) fn email_taken(error_key: &str) -> Error {
    Error::invalid(error_key, "A user with this email already exists.")
}

/// Creates the company, its primary payroll admin and the account claim in one
/// transaction, queues the welcome email with it, and answers with the claim URL.
pub async fn provision(
    svc: &Services,
    actor: &Actor,
    body: &Unparsed<ProvisionBody>,
    idempotency_key: Option<&str>,
) -> Result<Provisioned> {
    // Only a partner may learn what is wrong with a body.
    let Principal::Partner { partner_id } = &actor.principal else {
        return Err(Error::forbidden(
            "authorization",
            "Only a partner token can provision companies.",
        ));
    };
    let request = body.parse()?;
    let idempotency = idempotency_key
        .map(|k| Idempotency::new(partner_id, k, &body.object))
        .transpose()?;
    if let Some(idem) = &idempotency
        && let Some(previous) = idem.previous(svc).await?
    {
        return Ok(Provisioned::Replayed(previous));
    }
    // The email is taken. If a request with the same key took it meanwhile, answer as it
    // did; otherwise the email belongs to someone else.
    let taken = async || -> Result<Provisioned> {
        if let Some(idem) = &idempotency
            && let Some(previous) = idem.previous(svc).await?
        {
            return Ok(Provisioned::Replayed(previous));
        }
        Err(email_taken("user.email"))
    };
    // Not read first: the transaction's condition on the email lock answers "taken".
    let now = svc.clock.now();
    let company_id = new_id("com");
    let user_id = new_id("usr");
    let ProvisionBody {
        user: new_user,
        company: new_company,
    } = request;
    let company = Company {
        id: company_id.clone(),
        partner_id: partner_id.to_owned(),
        name: new_company.name,
        trade_name: new_company.trade_name,
        ein: new_company.ein,
        number_employees: new_company.number_employees,
        states: new_company.states,
        addresses: new_company.addresses.into_iter().map(Address::from).collect(),
        plan: Plan::default(),
        primary_admin_id: user_id.clone(),
        created_at: now,
    };
    let user = User {
        id: user_id.clone(),
        company_id: company_id.clone(),
        first_name: new_user.first_name,
        last_name: new_user.last_name,
        email: new_user.email,
        phone: new_user.phone,
        role: Role::PrimaryAdmin,
        permissions: Vec::new(),
        team_member_id: None,
        email_confirmed_at: None,
        created_at: now,
        tokens: Vec::new(),
    };
    let (mut ops, queued_mail, claim_url) = admin_with_claim(svc, &company.name, &user, |url, expires| {
        claim_email(&company.name, &user, url, expires)
    })?;
    let response = ProvisionResponse {
        account_claim_url: claim_url,
    };
    ops.push(WriteOp::Create(company_item(&company)?));
    let idempotency_op = idempotency
        .as_ref()
        .map(|idem| -> Result<usize> {
            let record = IdempotencyRecord {
                request_hash: idem.request_hash.clone(),
                response: response.clone(),
            };
            let expiry = (now + svc.settings.idempotency_ttl).timestamp();
            ops.push(WriteOp::Create(
                Item::from_record(idem.key.clone(), &record)?.with_expiry(expiry),
            ));
            Ok(ops.len() - 1)
        })
        .transpose()?;

    let mut attempt = 0;
    loop {
        attempt += 1;
        match svc.store.transact(ops.clone()).await {
            Ok(()) => break,
            Err(StoreError::TransactionCancelled { failed }) => {
                if failed.contains(&ADMIN_EMAIL_OP) || idempotency_op.is_some_and(|i| failed.contains(&i)) {
                    return taken().await;
                }
                return Err(Error::Internal(format!(
                    "provision transaction cancelled at {failed:?}"
                )));
            }
            Err(StoreError::Contention(_)) if attempt < CONTENTION_ATTEMPTS => continue,
            Err(e) => return Err(e.into()),
        }
    }
    tracing::info!(company_id, user_id, "company provisioned");
    audit::succeeded(
        svc,
        actor,
        &company_id,
        "company.provisioned",
        Target::new("company", &company_id),
        Some(format!("primary admin {user_id}")),
    )
    .await;
    send_queued(svc, &queued_mail).await;
    Ok(Provisioned::Created(response))
}

/// Tries to send a queued email now; on failure it stays queued for the next drain.
pub(crate) async fn send_queued(svc: &Services, mail: &QueuedMail) {
    if let Err(e) = MailQueue::deliver(svc.store.as_ref(), svc.mailer.as_ref(), mail).await {
        tracing::warn!(error = %e, "email not sent yet; it stays queued");
    }
}

const INVITATION_WITHDRAWN: &str =
    "This invitation was withdrawn. Ask the company's primary admin if this is unexpected.";

/// Position of the email lock in the writes `admin_with_claim` returns.
pub(crate) const ADMIN_EMAIL_OP: usize = 0;

/// The writes that add an admin who sets up their access through a claim link: the email
/// lock (first, at `ADMIN_EMAIL_OP`), the user, the one-time claim and the invitation
/// email. Returns them with the queued email and the claim URL.
pub(crate) fn admin_with_claim(
    svc: &Services,
    company_name: &str,
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
    let (claim_ops, queued, url) = claim_with_email(svc, company_name, user, invitation)?;
    ops.extend(claim_ops);
    Ok((ops, queued, url))
}

/// The writes of a new one-time claim link for `user` and the email that carries it;
/// returns them with the queued email and the claim URL.
fn claim_with_email(
    svc: &Services,
    company_name: &str,
    user: &User,
    invitation: impl FnOnce(&str, DateTime<Utc>) -> Email,
) -> Result<(Vec<WriteOp>, QueuedMail, String)> {
    let claim_id = random_hex(32);
    let expires_at = svc.clock.now() + svc.settings.claim_ttl;
    let url = format!("{}/claim_account/{claim_id}", svc.settings.public_base_url);
    let claim = Claim {
        company_id: user.company_id.clone(),
        user_id: user.id.clone(),
        company_name: company_name.to_owned(),
        email_key: values::email_key(&user.email),
        expires_at,
        claimed_at: None,
        wrong_emails: 0,
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
            expires.format("%B %-d, %Y at %H:%M UTC"),
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

fn claim_not_found() -> Error {
    Error::not_found("claim")
}

async fn load_claim(svc: &Services, claim_id: &str) -> Result<(Item, Claim)> {
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

fn claim_locked() -> Error {
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
async fn wrong_email(svc: &Services, item: &Item, claim: &Claim) -> Result<Error> {
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
fn email_hint(email_key: &str) -> String {
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

/// Confirms the claimant's email and hands out the company's admin token, once.
pub async fn confirm_claim(
    svc: &Services,
    request_id: &str,
    claim_id: &str,
    body: &ClaimBody,
) -> Result<ClaimGranted> {
    let email = &body.email;
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
        let ops = vec![
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
        match svc.store.transact(ops).await {
            Ok(()) => {
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
    let (ops, mail, url) = claim_with_email(svc, &company.name, &user, |url, expires| {
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
    send_queued(svc, &mail).await;
    Ok(ProvisionResponse {
        account_claim_url: url,
    })
}

// ---------------------------------------------------------------------------------------
// Reading companies

pub async fn get_company(svc: &Services, principal: &Principal, company_id: &str) -> Result<Company> {
    Ok(authorize(svc, principal, company_id, Need::Read)
        .await?
        .into_company())
}

/// `PATCH /v1/companies/{company_id}`: what a partner may change.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyChange {
    pub plan: Plan,
}

impl Body for CompanyChange {
    fn parse(v: &mut Validator, root: &Obj<'_>, (): ()) -> Option<Self> {
        v.only(root, &["plan"]);
        let plan = v.parsed(root, "plan", true, |raw| match raw {
            "simple" => Ok(Plan::Simple),
            "plus" => Ok(Plan::Plus),
            "premium" => Ok(Plan::Premium),
            _ => Err("must be `simple`, `plus` or `premium`.".to_owned()),
        });
        Some(CompanyChange { plan: plan? })
    }
}

/// Changes what a partner may change about a company: its plan.
pub async fn update_company(
    svc: &Services,
    actor: &Actor,
    company_id: &str,
    change: &CompanyChange,
) -> Result<Company> {
    let plan = change.plan;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let access = authorize(svc, &actor.principal, company_id, Need::ChangePlan).await?;
        let before = access.company().plan;
        if before == plan {
            return Ok(access.into_company());
        }
        let version = access.company_version();
        let mut company = access.into_company();
        company.plan = plan;
        match svc.store.replace(company_item(&company)?, version).await {
            Ok(_) => {
                audit::succeeded(
                    svc,
                    actor,
                    company_id,
                    "company.plan_changed",
                    Target::new("company", company_id),
                    Some(format!("{before:?} -> {plan:?}").to_lowercase()),
                )
                .await;
                return Ok(company);
            }
            Err(StoreError::ConditionFailed) if attempt < CONTENTION_ATTEMPTS => {}
            Err(StoreError::ConditionFailed) => {
                return Err(Error::refused(
                    "company",
                    Category::Conflict,
                    "The company kept changing; retry.",
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The companies a partner provisioned (oldest first), or an admin's own company.
pub async fn list_companies(
    svc: &Services,
    principal: &Principal,
    query: ListQuery,
) -> Result<Listing<Company>> {
    match principal {
        Principal::Partner { partner_id } => {
            let page = svc
                .store
                .query_index(&partner_companies_index(partner_id), query.page_request()?)
                .await?;
            Listing::from_page(page)
        }
        Principal::Admin { company_id, .. } => {
            // An admin's list is one page, but the query rules are the same as a partner's:
            // a bad `limit` is refused, and no cursor continues a list that has no next page.
            query.page_request()?;
            if query.cursor.is_some() {
                return Err(StoreError::InvalidCursor.into());
            }
            Ok(Listing {
                items: vec![get_company(svc, principal, company_id).await?],
                next_cursor: None,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn canonical_form_ignores_key_order() {
        let mut a = String::new();
        let mut b = String::new();
        write_canonical(&json!({"b": [1, {"y": 2, "x": "é"}], "a": null}), &mut a);
        write_canonical(&json!({"a": null, "b": [1, {"x": "é", "y": 2}]}), &mut b);
        assert_eq!(a, b);
        assert_eq!(a, r#"{"a":null,"b":[1,{"x":"é","y":2}]}"#);
    }

    #[test]
    fn parses_the_maximum_payload() {
        let body = obj(json!({
          "user": {"first_name": "Frank", "last_name": "Ocean", "email": "frank@example.com", "phone": "2345558899"},
          "company": {
            "name": "Frank's Ocean, LLC", "trade_name": "Frank’s Ocean", "ein": "123456789",
            "states": ["CO", "CA"], "number_employees": 8,
            "addresses": [
              {"street_1": "1201 16th Street Mall", "street_2": "Suite 350", "city": "Denver", "zip": "80202", "state": "CO", "phone": "2345678900", "is_primary": "true"},
              {"street_1": "525 20th Street", "city": "San Francisco", "zip": "94107", "state": "CA", "phone": "2345678901"}
            ]
          }
        }));
        let r = Unparsed::<ProvisionBody>::new(body).parse().unwrap();
        assert_eq!(r.company.states, ["CO", "CA"]);
        assert_eq!(r.company.number_employees, Some(8));
        assert!(r.company.addresses[0].is_primary);
        assert!(!r.company.addresses[1].is_primary);
        assert_eq!(r.company.addresses[0].street_2.as_deref(), Some("Suite 350"));
    }

    #[test]
    fn email_hints_hide_the_address() {
        assert_eq!(email_hint("frank@example.com"), "f***@example.com");
    }
}
