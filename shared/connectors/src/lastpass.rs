//! LastPass: the users of a LastPass Business account through LastPass's Enterprise API (its
//! provisioning API). It is one endpoint, `POST https://lastpass.com/enterpriseapi.php`
//! (`https://lastpass.eu/enterpriseapi.php` for accounts in LastPass's EU data center), whose
//! JSON body names the command: `{"cid": <account number>, "provhash": "<provisioning hash>",
//! "cmd": "…", "data": …}`. The account number and the provisioning hash (Admin Console →
//! Advanced → Enterprise API) are the credentials, and they travel in the body, not in a
//! header: the connection's [`BodyAuth`] has the session add them to every body as it is sent,
//! so the connector, its requests and its errors never hold the hash.
//!
//! - LastPass answers refused commands with HTTP 200 too: an answer counts only when its
//!   `status` is `OK` / `success` (or, for `getuserdata`, absent); any other status (`FAIL`,
//!   `WARN`) is a refusal, told by its `error` / `errors` text. A wrong account number or hash
//!   is refused the same way (the wording is not documented), so verification maps every
//!   refusal to `Unauthorized`.
//! - Accounts are keyed by username, which is the person's email: every command takes the
//!   username, none takes LastPass's numeric user id.
//! - The listing is `getuserdata`, paged with `pagesize` / `pageindex` (from 0) and counted by
//!   `total` where LastPass sends them; without a `total` the listing goes on until a page is
//!   empty, or repeats the one before (a LastPass that does not page answers every user each
//!   time). `getuserdata` with `{"username": …}` finds one user.
//! - Status: `disabled` is Suspended; an invited person who has not accepted yet (listed in
//!   `invited`, flagged `invited` / `pending`, or `neverloggedin`) is Invite Sent; anyone
//!   else is Active.
//! - Create is `batchadd` with the username and full name: LastPass adds the user and emails
//!   them the invitation to set up their account. `batchadd` of an existing username updates
//!   that user rather than adding a second one, and the connector looks the email up first.
//! - Remove is `deluser` (https://support.lastpass.com/help/delete-users-via-lastpass-api),
//!   whose `deleteaction` LastPass documents as: 0 "Deactivate user. Block login but retain
//!   data and LastPass Business membership"; 1 "Remove user. Remove the user from your
//!   LastPass Business account but keep the account itself active"; 2 "Delete user. Delete
//!   the account entirely"; 3 "Uninvite user. Delete a user's invitation to join LastPass".
//!   By default the connector removes the person from the company (1): the company's access
//!   and shared folders go, the person's own account and vault stay theirs. Deleting the
//!   account entirely (2, vault included, which LastPass cannot undo) happens only on a
//!   connection whose tenant field `removal` is `delete_account`, a choice the admin makes
//!   explicitly. A pending invitation is withdrawn (3), falling back to the connection's
//!   removal when LastPass keeps the user. A user that is not there is done.
//! - Suspend and reactivate are `disableuser` / `enableuser` with the username
//!   (https://support.lastpass.com/help/disable-users-via-lastpass-api,
//!   https://support.lastpass.com/help/enable-users-via-lastpass-api), read back after.
//! - LastPass publishes no rate limit. A 429 (or a refusal that speaks of a rate limit) makes
//!   the session wait and try again.

use std::sync::Arc;

use async_trait::async_trait;
use prov_core::catalog::{self, App, Confirmation, ConnectionType};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use url::Url;

use crate::error::{ConnectorError, brief};
use crate::http::RateLimit;
use crate::http::{Authenticator, BodyAuth, Session, VendorRequest, VendorResponse};
use crate::model::{
    AccountPage, AccountStatus, Connector, ConnectorCapabilities, NewAccount, VendorAccount, VendorTenant,
    Verified, create_once,
};
use crate::spec::AppSpec;
use crate::spec::{ApiKeyContext, Tenant};

/// The data centers a LastPass account can live in (the catalog's `region` choice).
pub const REGIONS: &[&str] = &["us", "eu"];
/// Their hosts, in the same order.
pub const HOSTS: &[&str] = &["lastpass.com", "lastpass.eu"];
/// Users asked for per `getuserdata` page.
pub const PAGE_SIZE: usize = 100;
/// `deluser`'s "remove the user from your LastPass Business account but keep the account
/// itself active".
pub const REMOVE_FROM_COMPANY: u8 = 1;
/// `deluser`'s "delete the account entirely".
pub const DELETE_ACCOUNT: u8 = 2;
/// `deluser`'s "delete the user's invitation to join LastPass".
pub const UNINVITE: u8 = 3;

/// The host of the connection's data center; a connection without `region` is in the US.
pub fn host(tenant: &Tenant) -> Result<&'static str, ConnectorError> {
    let region = tenant.get("region").map(|r| r.trim()).unwrap_or("us");
    REGIONS
        .iter()
        .position(|r| *r == region)
        .map(|i| HOSTS[i])
        .ok_or_else(|| ConnectorError::Invalid(format!("`region` must be one of {}", REGIONS.join(", "))))
}

/// The account number (`cid`): LastPass's company id, a positive integer.
pub fn account_number(tenant: &Tenant) -> Result<u64, ConnectorError> {
    tenant
        .get("cid")
        .map(|c| c.trim())
        .filter(|c| !c.is_empty() && c.len() <= 18 && c.chars().all(|ch| ch.is_ascii_digit()))
        .and_then(|c| c.parse::<u64>().ok())
        .filter(|c| *c > 0)
        .ok_or_else(|| {
            ConnectorError::Invalid(
                "`cid` must be the LastPass account number (digits only; Admin Console → Advanced → Enterprise API)"
                    .into(),
            )
        })
}

/// The shape of a pasted provisioning hash: one word, without the quotation marks the Admin
/// Console shows around it.
fn provisioning_hash(value: &str) -> Result<(), ConnectorError> {
    if value.contains('"') {
        return Err(ConnectorError::Invalid(
            "`provhash` must be pasted without the quotation marks around it".into(),
        ));
    }
    let word = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if value.len() < 8 || !word {
        return Err(ConnectorError::Invalid(
            "`provhash` must be the provisioning hash of the LastPass Admin Console (Advanced → Enterprise API)"
                .into(),
        ));
    }
    Ok(())
}

/// The tenant field choosing what remove does.
pub const REMOVAL_FIELD: &str = "removal";

/// What remove does at LastPass: the connection's `removal`, `remove_from_company` unless it
/// says `delete_account` (the destructive delete, chosen explicitly).
pub fn removal(tenant: &Tenant) -> Result<u8, ConnectorError> {
    match tenant.get(REMOVAL_FIELD).map(|r| r.trim()) {
        None | Some("" | "remove_from_company") => Ok(REMOVE_FROM_COMPANY),
        Some("delete_account") => Ok(DELETE_ACCOUNT),
        Some(_) => Err(ConnectorError::Invalid(
            "`removal` must be remove_from_company (the default) or delete_account".into(),
        )),
    }
}

/// The connect-time check of the data center, the account number, the removal and the hash.
pub fn check(tenant: &Tenant, field: &str, value: &str) -> Result<(), ConnectorError> {
    host(tenant)?;
    account_number(tenant)?;
    removal(tenant)?;
    if field == "provhash" {
        provisioning_hash(value)?;
    }
    Ok(())
}

/// The connection's credentials: `cid` and `provhash`, added to every request body.
pub fn auth(c: &ApiKeyContext<'_>) -> Result<Arc<dyn Authenticator>, ConnectorError> {
    let cid = account_number(c.tenant)?;
    let hash = c.secret("provhash")?;
    provisioning_hash(hash.expose_secret())?;
    let fields = SecretString::from(json!({"cid": cid, "provhash": hash.expose_secret()}).to_string());
    Ok(Arc::new(BodyAuth::new(fields)))
}

pub struct LastPassConnector {
    session: Session,
    /// `https://{host}/enterpriseapi.php`.
    endpoint: Url,
    /// The `deleteaction` remove sends (see [`removal`]).
    removal: u8,
    /// The data center's host and the account number (checked when credentials are made).
    host: &'static str,
    cid: Option<u64>,
}

/// A refusal that speaks of a rate limit, whatever its HTTP status.
fn rate_limit_refusal(response: &VendorResponse) -> bool {
    serde_json::from_slice::<Value>(&response.body)
        .ok()
        .and_then(|v| refusal(&v))
        .is_some_and(|message| about_rate_limit(&message.to_lowercase()))
}

fn about_rate_limit(lower: &str) -> bool {
    lower.contains("too many") || lower.contains("rate limit") || lower.contains("throttl")
}

/// The text of a JSON string or array of strings.
fn text_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .filter_map(|i| i.as_str().map(str::trim).filter(|s| !s.is_empty()))
                .map(str::to_owned)
                .collect();
            (!parts.is_empty()).then(|| parts.join("; "))
        }
        _ => None,
    }
}

/// What LastPass said when it refused a command (a status other than OK / success, or an
/// error without a status); `None` when the answer is a success.
fn refusal(answer: &Value) -> Option<String> {
    let object = answer.as_object()?;
    let said = text_of(object.get("error"))
        .or_else(|| text_of(object.get("errors")))
        .or_else(|| text_of(object.get("message")));
    match object.get("status").and_then(Value::as_str) {
        Some(s) if s.eq_ignore_ascii_case("ok") || s.eq_ignore_ascii_case("success") => None,
        Some(s) => Some(brief(&match said {
            Some(said) => format!("{s}: {said}"),
            None => format!("LastPass answered status {s}"),
        })),
        None => said.map(|s| brief(&s)),
    }
}

/// Whether the words of `lower` include `word` on its own (`cid`, not `lucid`).
fn has_word(lower: &str, word: &str) -> bool {
    lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| w == word)
}

/// A refusal's text, mapped to the typed error.
fn refused(message: String) -> ConnectorError {
    let lower = message.to_lowercase();
    if about_rate_limit(&lower) {
        ConnectorError::RateLimited { retry_after: None }
    } else if lower.contains("provhash")
        || lower.contains("provisioning hash")
        || lower.contains("api secret")
        || has_word(&lower, "cid")
        || lower.contains("company id")
        || lower.contains("authoriz")
        || lower.contains("authenticat")
        || lower.contains("permission")
        || lower.contains("access denied")
        || lower.contains("not allowed")
        || lower.contains("invalid hash")
    {
        ConnectorError::Unauthorized(format!(
            "{message} (check the account number and the provisioning hash in the LastPass Admin Console, Advanced → Enterprise API)"
        ))
    } else if lower.contains("not found")
        || lower.contains("does not exist")
        || lower.contains("doesn't exist")
        || lower.contains("no such user")
        || lower.contains("unknown user")
    {
        ConnectorError::NotFound
    } else if lower.contains("already") || lower.contains("exists") {
        ConnectorError::Conflict(message)
    } else if lower.contains("licen") || lower.contains("seat") || lower.contains("subscription") {
        ConnectorError::PlanRequired(format!(
            "{message} (adding users needs a free seat of a LastPass Business plan)"
        ))
    } else {
        ConnectorError::Invalid(message)
    }
}

/// A LastPass answer: its JSON when the command succeeded, else the typed error.
fn answer(response: &VendorResponse) -> Result<Value, ConnectorError> {
    match response.status {
        s if s.is_success() => {}
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            return Err(ConnectorError::Unauthorized(format!(
                "LastPass refused the call ({}): check the account number and the provisioning hash",
                response.status
            )));
        }
        s if s.is_client_error() => {
            return Err(ConnectorError::Invalid(format!(
                "LastPass answered {s}: {}",
                response.text()
            )));
        }
        s => return Err(ConnectorError::Transient(format!("LastPass answered {s}"))),
    }
    // The API answers JSON to every call it takes; anything else means it did not take the
    // credentials (other clients see the same), and the text is not echoed.
    let value: Value = serde_json::from_slice(&response.body).map_err(|_| {
        ConnectorError::Unauthorized(
            "LastPass did not answer with its API's JSON: check the account number, the provisioning hash and the data center"
                .into(),
        )
    })?;
    match refusal(&value) {
        Some(message) => Err(refused(message)),
        None => Ok(value),
    }
}

/// A LastPass flag: `true` / `1` / `"1"` / `"true"`.
fn flag(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_u64().is_some_and(|n| n != 0),
        Some(Value::String(s)) => matches!(s.trim(), "1" | "true" | "True" | "TRUE"),
        _ => false,
    }
}

/// One user of a `getuserdata` answer.
fn account_of(user: &Map<String, Value>) -> Option<VendorAccount> {
    let username = user.get("username").and_then(Value::as_str)?.trim().to_owned();
    if username.is_empty() {
        return None;
    }
    let status = if flag(user.get("disabled")) {
        AccountStatus::Suspended
    } else if flag(user.get("invited")) || flag(user.get("pending")) || flag(user.get("neverloggedin")) {
        AccountStatus::InviteSent
    } else {
        AccountStatus::Active
    };
    let display_name = user
        .get("fullname")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    Some(VendorAccount {
        id: username.clone(),
        email: Some(username),
        first_name: None,
        last_name: None,
        display_name,
        status,
    })
}

/// An invitation listed by email only (the answer's `invited` list).
fn invitation(email: &str) -> VendorAccount {
    VendorAccount {
        id: email.to_owned(),
        email: Some(email.to_owned()),
        first_name: None,
        last_name: None,
        display_name: None,
        status: AccountStatus::InviteSent,
    }
}

/// The users of a `getuserdata` answer: `Users` keyed by user id (PHP answers an empty one as
/// `[]`), then, with `invited`, the answer's `invited` emails not among them.
fn accounts_of(answer: &Value, invited: bool) -> Vec<VendorAccount> {
    let mut accounts: Vec<VendorAccount> = match answer.get("Users") {
        Some(Value::Object(users)) => users
            .values()
            .filter_map(Value::as_object)
            .filter_map(account_of)
            .collect(),
        Some(Value::Array(users)) => users
            .iter()
            .filter_map(Value::as_object)
            .filter_map(account_of)
            .collect(),
        _ => Vec::new(),
    };
    if let (true, Some(Value::Array(emails))) = (invited, answer.get("invited")) {
        for email in emails.iter().filter_map(Value::as_str).map(str::trim) {
            let known = accounts.iter().any(|a| a.id.eq_ignore_ascii_case(email));
            if !email.is_empty() && !known {
                accounts.push(invitation(email));
            }
        }
    }
    accounts
}

/// The answer's count of all users (`total`, or `Total`), when it sends one.
fn total_of(answer: &Value) -> Option<u64> {
    let value = answer.get("total").or_else(|| answer.get("Total"))?;
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

/// Where a listing goes on: the next page index, the users listed so far, and the first user
/// of the page before (a LastPass that ignores `pageindex` answers the same page again: then
/// the listing ends).
struct Cursor<'a> {
    index: u64,
    seen: u64,
    previous_first: &'a str,
}

impl<'a> Cursor<'a> {
    fn parse(cursor: &'a str) -> Result<Self, ConnectorError> {
        let mut parts = cursor.splitn(3, ':');
        let mut number = || parts.next().and_then(|p| p.parse::<u64>().ok());
        let (index, seen) = (number(), number());
        match (index, seen, parts.next()) {
            (Some(index), Some(seen), Some(previous_first)) => Ok(Self {
                index,
                seen,
                previous_first,
            }),
            _ => Err(ConnectorError::Invalid("not a LastPass listing cursor".into())),
        }
    }

    fn next(index: u64, seen: u64, first: &str) -> String {
        format!("{index}:{seen}:{first}")
    }
}

/// The full name LastPass shows, from the first and last name.
fn full_name(new: &NewAccount) -> String {
    format!("{} {}", new.first_name.trim(), new.last_name.trim())
        .trim()
        .to_owned()
}

impl LastPassConnector {
    pub fn new(mut session: Session, tenant: &Tenant) -> Result<Self, ConnectorError> {
        let endpoint = Url::parse(&format!("https://{}/enterpriseapi.php", host(tenant)?))
            .map_err(|e| ConnectorError::Invalid(format!("bad LastPass host: {e}")))?;
        session.rate_limit_signal = Some(rate_limit_refusal);
        Ok(Self {
            session,
            endpoint,
            removal: removal(tenant)?,
            host: host(tenant)?,
            cid: account_number(tenant).ok(),
        })
    }

    /// `disableuser` / `enableuser` of one username, then the user as LastPass lists them,
    /// who must be suspended (or not) as asked.
    async fn set_disabled(&self, id: &str, disable: bool) -> Result<VendorAccount, ConnectorError> {
        let cmd = if disable { "disableuser" } else { "enableuser" };
        self.command(cmd, json!([id])).await?;
        let user = self.find_by_email(id).await?.ok_or(ConnectorError::NotFound)?;
        if (user.status == AccountStatus::Suspended) != disable {
            return Err(ConnectorError::Invalid(format!(
                "LastPass accepted {cmd} but does not list the user as {}",
                if disable { "disabled" } else { "enabled" }
            )));
        }
        Ok(user)
    }

    /// Sends one command (the session adds `cid` and `provhash`). Every command the connector
    /// sends reads, or sets a state it may already have, so it may be sent again.
    async fn command(&self, cmd: &str, data: Value) -> Result<Value, ConnectorError> {
        let request = VendorRequest::new(Method::POST, self.endpoint.clone())
            .json(json!({"cmd": cmd, "data": data}))
            .repeatable();
        let response = self.session.send(request).await?;
        answer(&response)
    }

    /// `deluser` of one username: LastPass's success is its answer; its "user does not
    /// exist" (about this user: LastPass has no per-user resource) is gone.
    async fn deluser(&self, username: &str, action: u8) -> Result<Verified, ConnectorError> {
        match self
            .command("deluser", json!({"username": username, "deleteaction": action}))
            .await
        {
            Ok(_) => Ok(Verified::VendorAnswer),
            Err(ConnectorError::NotFound) => Ok(Verified::AlreadyGone),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl Connector for LastPassConnector {
    fn capabilities(&self) -> ConnectorCapabilities {
        ConnectorCapabilities {
            create: true,
            suspend: true,
            reactivate: true,
            delete: true,
            shows_invites: true,
        }
    }

    /// The smallest listing (one user); any refusal means the account number, hash or data
    /// center is wrong.
    async fn verify(&self) -> Result<(), ConnectorError> {
        match self
            .command("getuserdata", json!({"pagesize": 1, "pageindex": 0}))
            .await
        {
            Ok(_) => Ok(()),
            Err(e @ (ConnectorError::RateLimited { .. } | ConnectorError::Transient(_))) => Err(e),
            Err(ConnectorError::Unauthorized(why)) => Err(ConnectorError::Unauthorized(why)),
            Err(other) => Err(ConnectorError::Unauthorized(format!(
                "LastPass refused the account number and provisioning hash ({other})"
            ))),
        }
    }

    /// The company: LastPass's Enterprise API names no company, and the provisioning hash
    /// works only with its own account number (`cid`) at its own data center, so the
    /// account number the listing was proven with is the company's id.
    async fn tenant(&self) -> Result<VendorTenant, ConnectorError> {
        let cid = self
            .cid
            .ok_or_else(|| ConnectorError::Invalid("`cid` must be the LastPass account number".into()))?;
        Ok(VendorTenant {
            id: format!("{}/{cid}", self.host),
            name: format!("LastPass account {cid} ({})", self.host),
        })
    }

    async fn list(&self, cursor: Option<&str>) -> Result<AccountPage, ConnectorError> {
        let at = match cursor {
            Some(c) => Cursor::parse(c)?,
            None => Cursor {
                index: 0,
                seen: 0,
                previous_first: "",
            },
        };
        let answer = self
            .command(
                "getuserdata",
                json!({"pagesize": PAGE_SIZE, "pageindex": at.index}),
            )
            .await?;
        // The `invited` list is the whole account's: it belongs to the first page only.
        let accounts = accounts_of(&answer, at.index == 0);
        let users = match answer.get("Users") {
            Some(Value::Object(u)) => u.len(),
            Some(Value::Array(u)) => u.len(),
            _ => 0,
        } as u64;
        let first = accounts.first().map(|a| a.id.clone()).unwrap_or_default();
        if at.index > 0 && !first.is_empty() && first == at.previous_first {
            // The same page again: LastPass did not page this listing.
            return Ok(AccountPage {
                accounts: Vec::new(),
                next: None,
            });
        }
        let seen = at.seen + users;
        // With a `total`, until all are seen; without one, until a page comes back empty (a
        // short page is not the end: LastPass may hold pages to fewer users than asked).
        let more = users > 0 && total_of(&answer).is_none_or(|total| seen < total);
        Ok(AccountPage {
            accounts,
            next: more.then(|| Cursor::next(at.index + 1, seen, &first)),
        })
    }

    async fn get(&self, id: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        self.find_by_email(id).await
    }

    async fn find_by_email(&self, email: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        let answer = match self.command("getuserdata", json!({"username": email})).await {
            Ok(answer) => answer,
            Err(ConnectorError::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(accounts_of(&answer, true)
            .into_iter()
            .find(|a| a.id.eq_ignore_ascii_case(email.trim())))
    }

    async fn create(&self, new: &NewAccount) -> Result<VendorAccount, ConnectorError> {
        create_once(self, &new.email, async {
            let mut user = Map::new();
            user.insert("username".into(), Value::String(new.email.trim().to_owned()));
            let name = full_name(new);
            if !name.is_empty() {
                user.insert("fullname".into(), Value::String(name.clone()));
            }
            self.command("batchadd", Value::Array(vec![Value::Object(user)]))
                .await?;
            // LastPass answers only a status; the new user is looked up (an invitation it does
            // not list yet is still one).
            Ok(self
                .find_by_email(&new.email)
                .await?
                .unwrap_or_else(|| VendorAccount {
                    display_name: (!name.is_empty()).then_some(name),
                    ..invitation(new.email.trim())
                }))
        })
        .await
    }

    async fn suspend(&self, id: &str) -> Result<VendorAccount, ConnectorError> {
        self.set_disabled(id, true).await
    }

    async fn reactivate(&self, id: &str) -> Result<VendorAccount, ConnectorError> {
        self.set_disabled(id, false).await
    }

    async fn delete(&self, id: &str) -> Result<Verified, ConnectorError> {
        // LastPass has no per-user resource: the account's listing is read.
        let Some(found) = self.find_by_email(id).await? else {
            return Ok(Verified::ReadBack);
        };
        if found.status == AccountStatus::InviteSent {
            match self.deluser(&found.id, UNINVITE).await {
                Ok(_) => {}
                // Not an invitation to LastPass: the connection's removal below.
                Err(ConnectorError::Invalid(_) | ConnectorError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
            if self.find_by_email(&found.id).await?.is_none() {
                return Ok(Verified::ReadBack);
            }
        }
        self.deluser(&found.id, self.removal).await
    }
}

/// What the product shows of lastpass (the app directory's entry).
pub const APP: App = App {
    vendor_plan_note: Some(
        "Requires a LastPass Business (or Enterprise) account: the account number and provisioning hash are in its Admin Console under Advanced → Enterprise API.",
    ),
    remove_means: "Removes the user from the LastPass Business account: the company's access and shared folders go, while their own LastPass account and vault stay theirs; an invitation not yet accepted is withdrawn instead. A connection whose removal is `delete_account` deletes the whole LastPass account, vault included, instead.",
    suspend_means: Some("Disables the user: no sign-in; their data and membership are kept."),
    credential_fields: &[
        catalog::choice(
            "region",
            "Data center (us: lastpass.com, eu: lastpass.eu)",
            &["us", "eu"],
        ),
        catalog::text("cid", "Account number (CID)"),
        catalog::secret("provhash", "Provisioning hash"),
        catalog::confirmed_choice(
            REMOVAL_FIELD,
            "Removal (remove_from_company, the default: the person leaves the company and keeps their own LastPass account; delete_account: LastPass deletes their account)",
            &["remove_from_company", "delete_account"],
            Confirmation {
                field: "removal_confirmed",
                warning: "With delete_account, removing someone deletes their whole LastPass account, their personal vault included, which LastPass cannot undo (its `deleteaction` 2).",
            },
        ),
    ],
    differences_from_product_docs: &[
        "LastPass offers no OAuth for provisioning: connect with the account number and provisioning hash.",
        "Adding someone makes LastPass email them an invitation; the account shows as Invite Sent until they set it up.",
    ],
    tenant: "LastPass Business account (account number and data center)",
    ..catalog::app(
        "lastpass",
        "LastPass",
        ConnectionType::ApiKey,
        catalog::CREATE_SUSPEND_REMOVE,
    )
};

/// How the service talks to lastpass.
pub const SPEC: AppSpec = AppSpec {
    app: &APP,
    hosts: HOSTS,
    // LastPass publishes no limit for its Enterprise API: stay gentle (a listing page, a
    // lookup and a command a second at most).
    limit: Some(RateLimit {
        per_minute: 60,
        burst: 5,
    }),
    oauth: None,
    check,
    api_key_auth: Some(auth),
    exchange: None,
    build: |session, tenant| Ok(Box::new(LastPassConnector::new(session, tenant)?)),
};
