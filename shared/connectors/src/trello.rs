//! Trello: the members of one Workspace (Trello's API calls it an organization) through the
//! REST API `https://api.trello.com/1`, with a Power-Up's API key and a user token of a
//! Workspace admin (generated on Trello's authorize page with `scope=read,write,account` and
//! `expiration=never`). Both go in the `Authorization: OAuth oauth_consumer_key="…",
//! oauth_token="…"` header Trello accepts, never in the URL.
//!
//! - Accounts are the Workspace's memberships (`GET /organizations/{ws}/memberships`, the
//!   whole list in one answer: Trello does not page it); an account's id is the member id.
//!   An invited person who has not joined yet is `unconfirmed` ("Invite Sent"); a member an
//!   admin deactivated is `deactivated` (Suspended).
//! - Create is Trello's invitation by email (`PUT /organizations/{ws}/members?email=…&
//!   fullName=…&type=normal`): Trello adds the Trello account with that email, or creates a
//!   pending one and emails the person. Inviting the same email twice adds nobody twice.
//! - Trello shows a member's email only to that member (and, for managed members, to
//!   Enterprise admins), so accounts are found by email only where Trello shows one.
//!   Otherwise the invited member is told by comparing the Workspace's memberships before and
//!   after the invitation (the new one), or, when the person was already a member, by their
//!   full name; when neither settles it, create answers `Conflict` rather than guess.
//! - Remove is `DELETE /organizations/{ws}/members/{id}/all`: the member leaves the Workspace
//!   and every board in it (the plain `DELETE …/members/{id}` leaves them on its boards, as
//!   guests). Their Trello account, which they own, stays.
//! - Suspend and reactivate deactivate and reactivate the member in the Workspace
//!   (`PUT /organizations/{ws}/members/{id}/deactivated?value=true|false`,
//!   https://developer.atlassian.com/cloud/trello/rest/api-group-organizations/), read back
//!   from the memberships after.
//! - Free Workspaces take 10 collaborators; an invitation over that is refused as
//!   `PlanRequired`. Limits: 100 requests per 10 s per token, 300 per key; a 429 carries a
//!   JSON body (`API_TOKEN_LIMIT_EXCEEDED` / `API_KEY_LIMIT_EXCEEDED`) and no `Retry-After`,
//!   so the session backs off.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use prov_core::catalog::{self, App, ConnectionType};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::error::{ConnectorError, brief};
use crate::http::RateLimit;
use crate::http::{Authenticator, Session, StaticAuth, VendorRequest, VendorResponse, refusal};
use crate::model::{AccountPage, AccountStatus, Connector, ConnectorCapabilities, NewAccount, VendorAccount};
use crate::model::{VendorTenant, Verified};
use crate::spec::AppSpec;
use crate::spec::{ApiKeyContext, Tenant};

pub const HOSTS: &[&str] = &["api.trello.com"];
const API: &str = "https://api.trello.com/1/";

/// The Workspace the admin typed: its id (24 hex digits), its short name, or its URL
/// (`https://trello.com/w/{name}`), as the id or name Trello's paths take.
pub fn workspace(tenant: &Tenant) -> Result<String, ConnectorError> {
    let raw = tenant
        .get("workspace")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ConnectorError::Invalid("`workspace` is required".into()))?;
    let name = match Url::parse(raw) {
        Ok(url)
            if url
                .host_str()
                .is_some_and(|h| h == "trello.com" || h == "www.trello.com") =>
        {
            url.path_segments()
                .and_then(|mut s| match (s.next(), s.next()) {
                    (Some("w"), Some(name)) => Some(name.to_owned()),
                    _ => None,
                })
                .unwrap_or_default()
        }
        _ => raw.to_owned(),
    };
    if name.len() >= 3 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(name)
    } else {
        Err(ConnectorError::Invalid(
            "`workspace` must be the Workspace's id or short name (the part after trello.com/w/ in its URL)"
                .into(),
        ))
    }
}

/// A pasted credential's shape: the API key is 32 hex digits; the user token is one long
/// word (64 hex digits, or a longer `ATTA…` token) that is not the key.
fn credential(field: &str, value: &str) -> Result<(), ConnectorError> {
    let hex32 = value.len() == 32 && value.chars().all(|c| c.is_ascii_hexdigit());
    let word = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    match field {
        "api_key" if hex32 => Ok(()),
        "api_key" => Err(ConnectorError::Invalid(
            "`api_key` must be the Power-Up's 32-character API key (trello.com/power-ups/admin → API key)".into(),
        )),
        "api_token" if word && value.len() >= 32 && !hex32 => Ok(()),
        "api_token" => Err(ConnectorError::Invalid(
            "`api_token` must be the user token Trello's authorize page shows (not the API key or the Power-Up secret)".into(),
        )),
        _ => Ok(()),
    }
}

/// The connect-time check of the Workspace and a pasted credential.
pub fn check(tenant: &Tenant, field: &str, value: &str) -> Result<(), ConnectorError> {
    workspace(tenant)?;
    credential(field, value)
}

/// The connection's credentials: key and token in Trello's `OAuth` authorization header.
pub fn auth(c: &ApiKeyContext<'_>) -> Result<Arc<dyn Authenticator>, ConnectorError> {
    let key = c.secret("api_key")?;
    let token = c.secret("api_token")?;
    credential("api_key", key.expose_secret())?;
    credential("api_token", token.expose_secret())?;
    let params = SecretString::from(format!(
        "oauth_consumer_key=\"{}\", oauth_token=\"{}\"",
        key.expose_secret(),
        token.expose_secret()
    ));
    Ok(Arc::new(StaticAuth::scheme("OAuth", &params)))
}

pub struct TrelloConnector {
    session: Session,
    /// The Workspace's id or short name, one path segment.
    workspace: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Member {
    id: String,
    full_name: Option<String>,
    username: Option<String>,
    /// Shown only for the token's own member (and to Enterprise admins).
    email: Option<String>,
    /// `ghost` for a pending account created by an invitation to a new email.
    member_type: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Membership {
    id_member: String,
    member_type: Option<String>,
    #[serde(default)]
    unconfirmed: bool,
    #[serde(default)]
    deactivated: bool,
    member: Option<Member>,
}

impl Membership {
    fn email_is(&self, email: &str) -> bool {
        self.member
            .as_ref()
            .and_then(|m| m.email.as_deref())
            .is_some_and(|e| e.eq_ignore_ascii_case(email))
    }

    fn full_name_is(&self, name: &str) -> bool {
        self.member
            .as_ref()
            .and_then(|m| m.full_name.as_deref())
            .is_some_and(|n| n.trim().eq_ignore_ascii_case(name.trim()))
    }
}

fn status(membership: &Membership) -> AccountStatus {
    let ghost = membership.member.as_ref().and_then(|m| m.member_type.as_deref()) == Some("ghost");
    if membership.deactivated {
        AccountStatus::Suspended
    } else if membership.unconfirmed || ghost {
        AccountStatus::InviteSent
    } else {
        AccountStatus::Active
    }
}

fn account(membership: Membership) -> VendorAccount {
    let status = status(&membership);
    let member = membership.member;
    VendorAccount {
        id: membership.id_member,
        email: member.as_ref().and_then(|m| m.email.clone()),
        first_name: None,
        last_name: None,
        display_name: member.and_then(|m| m.full_name.filter(|n| !n.trim().is_empty()).or(m.username)),
        status,
    }
}

/// What Trello said: `{"message": …}` / `{"error": …}` JSON, or (often) plain text.
fn said(response: &VendorResponse) -> String {
    let json: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
    let field = |k: &str| json.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    match (field("error"), field("message")) {
        (Some(code), Some(message)) => brief(&format!("{code}: {message}")),
        (code, message) => message
            .or(code)
            .map(|m| brief(&m))
            .unwrap_or_else(|| response.text()),
    }
}

/// Trello's answer, mapped to the typed error.
fn trello_error(response: &VendorResponse) -> ConnectorError {
    let message = said(response);
    let lower = message.to_lowercase();
    let plan = lower.contains("collaborator") || lower.contains("limit");
    match response.status {
        StatusCode::UNAUTHORIZED if lower.contains("invalid key") || lower.contains("invalid token") => {
            ConnectorError::Unauthorized(message)
        }
        // Trello's exact words for a full free Workspace are not documented: anything about
        // a (collaborator) limit that is not a 401 or a 429 is taken as the plan's.
        s if s.is_client_error()
            && s != StatusCode::UNAUTHORIZED
            && s != StatusCode::TOO_MANY_REQUESTS
            && plan =>
        {
            ConnectorError::PlanRequired(format!(
                "{message} (free Trello Workspaces take 10 collaborators; a paid plan takes more)"
            ))
        }
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ConnectorError::Unauthorized(format!(
            "{message} (the token needs the read, write and account scopes, and its member must be an admin of the Workspace)"
        )),
        StatusCode::CONFLICT => ConnectorError::Conflict(message),
        s => refusal("Trello", s, message),
    }
}

impl TrelloConnector {
    pub fn new(session: Session, tenant: &Tenant) -> Result<Self, ConnectorError> {
        Ok(Self {
            session,
            workspace: workspace(tenant)?,
        })
    }

    /// `https://api.trello.com/1/{segments…}`, each segment escaped.
    fn url(segments: &[&str]) -> Url {
        let mut url = Url::parse(API).expect("valid");
        url.path_segments_mut()
            .expect("an https URL")
            .pop_if_empty()
            .extend(segments);
        url
    }

    fn memberships_url(&self) -> Url {
        let mut url = Self::url(&["organizations", &self.workspace, "memberships"]);
        url.query_pairs_mut()
            .append_pair("filter", "all")
            .append_pair("member", "true");
        url
    }

    /// The Workspace's memberships, whole (Trello does not page them).
    async fn memberships(&self) -> Result<Vec<Membership>, ConnectorError> {
        let response = self
            .session
            .send(VendorRequest::get(self.memberships_url()))
            .await?;
        match response.status {
            s if s.is_success() => response.json(),
            // Trello says "invalid id" (400) or 404 for a Workspace it does not know.
            StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST => Err(ConnectorError::Invalid(format!(
                "Trello does not know the Workspace `{}` ({}); use its id or the short name in its URL",
                self.workspace,
                said(&response)
            ))),
            _ => Err(trello_error(&response)),
        }
    }

    /// Deactivates (or reactivates) the member in the Workspace; the membership read back must
    /// say so.
    async fn set_deactivated(&self, id: &str, deactivated: bool) -> Result<VendorAccount, ConnectorError> {
        let mut url = Self::url(&["organizations", &self.workspace, "members", id, "deactivated"]);
        url.query_pairs_mut()
            .append_pair("value", if deactivated { "true" } else { "false" });
        let response = self.session.send(VendorRequest::new(Method::PUT, url)).await?;
        if !response.status.is_success() {
            return Err(match self.fetch(id).await? {
                // Trello answers an unknown member with 400 "invalid id" or 404.
                None => ConnectorError::NotFound,
                Some(_) => trello_error(&response),
            });
        }
        let membership = self.fetch(id).await?.ok_or(ConnectorError::NotFound)?;
        if membership.deactivated != deactivated {
            return Err(ConnectorError::Invalid(format!(
                "Trello accepted the change but lists the member as {}",
                if membership.deactivated {
                    "deactivated"
                } else {
                    "active"
                }
            )));
        }
        Ok(account(membership))
    }

    async fn fetch(&self, id: &str) -> Result<Option<Membership>, ConnectorError> {
        Ok(self.memberships().await?.into_iter().find(|m| m.id_member == id))
    }

    /// The member the invitation of `new` added, from the memberships before and after it.
    fn invited(
        new: &NewAccount,
        before: &[Membership],
        after: Vec<Membership>,
    ) -> Result<Membership, ConnectorError> {
        let name = full_name(new);
        if let Some(found) = after.iter().find(|m| m.email_is(&new.email)) {
            return Ok(found.clone());
        }
        let known: HashSet<&str> = before.iter().map(|m| m.id_member.as_str()).collect();
        let fresh: Vec<Membership> = after
            .into_iter()
            .filter(|m| !known.contains(m.id_member.as_str()))
            .collect();
        let one = |mut found: Vec<Membership>| (found.len() == 1).then(|| found.remove(0));
        let named = |list: &[Membership]| -> Vec<Membership> {
            list.iter().filter(|m| m.full_name_is(&name)).cloned().collect()
        };
        if fresh.len() == 1 {
            return Ok(fresh.into_iter().next().expect("one"));
        }
        if !fresh.is_empty() {
            // Someone else joined meanwhile: the one with the invited name.
            return one(named(&fresh)).ok_or_else(|| {
                ConnectorError::Conflict(
                    "several members joined the Trello Workspace at once and Trello does not show their emails; check the Workspace's members".into(),
                )
            });
        }
        // Nobody new: the email's account was already a member. Trello does not show whose
        // email it is, and a name alone could be a namesake (whose access a later remove
        // would take): the admin matches the member instead.
        Err(ConnectorError::Conflict(format!(
            "{} is already a member of the Trello Workspace, and Trello does not show members' emails: match the member named \"{name}\" to the team member in Accounts instead",
            new.email
        )))
    }
}

/// The `fullName` Trello requires: at least one character, no space at either end.
fn full_name(new: &NewAccount) -> String {
    let name = format!("{} {}", new.first_name.trim(), new.last_name.trim());
    let name = name.trim();
    if name.is_empty() {
        new.email.split('@').next().unwrap_or("member").to_owned()
    } else {
        name.to_owned()
    }
}

#[async_trait]
impl Connector for TrelloConnector {
    fn capabilities(&self) -> ConnectorCapabilities {
        ConnectorCapabilities {
            create: true,
            suspend: true,
            reactivate: true,
            delete: true,
            shows_invites: true,
        }
    }

    /// The key and token work (`/members/me`), the Workspace exists, and the token's member
    /// is one of its admins (only admins may invite and remove members).
    async fn verify(&self) -> Result<(), ConnectorError> {
        let mut url = Self::url(&["members", "me"]);
        url.query_pairs_mut().append_pair("fields", "id,username");
        let response = self.session.send(VendorRequest::get(url)).await?;
        if !response.status.is_success() {
            return Err(trello_error(&response));
        }
        let me: Member = response.json()?;
        let admin = self
            .memberships()
            .await?
            .iter()
            .any(|m| m.id_member == me.id && m.member_type.as_deref() == Some("admin") && !m.deactivated);
        if admin {
            Ok(())
        } else {
            Err(ConnectorError::Unauthorized(format!(
                "the token's Trello member ({}) is not an admin of the Workspace `{}`; generate the token as a Workspace admin",
                me.username.as_deref().unwrap_or(&me.id),
                self.workspace
            )))
        }
    }

    /// The Workspace: `GET /organizations/{id}` (its `id`, which stays when the short name
    /// changes, and `displayName`; https://developer.atlassian.com/cloud/trello/rest/api-group-organizations/#api-organizations-id-get).
    async fn tenant(&self) -> Result<VendorTenant, ConnectorError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Organization {
            id: String,
            display_name: Option<String>,
            name: Option<String>,
        }
        let mut url = Self::url(&["organizations", &self.workspace]);
        url.query_pairs_mut().append_pair("fields", "id,name,displayName");
        let response = self.session.send(VendorRequest::get(url)).await?;
        match response.status {
            s if s.is_success() => {
                let org: Organization = response.json()?;
                Ok(VendorTenant {
                    name: org
                        .display_name
                        .or(org.name)
                        .filter(|n| !n.trim().is_empty())
                        .unwrap_or_else(|| org.id.clone()),
                    id: org.id,
                })
            }
            StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST => Err(ConnectorError::Invalid(format!(
                "Trello does not know the Workspace `{}` ({})",
                self.workspace,
                said(&response)
            ))),
            _ => Err(trello_error(&response)),
        }
    }

    async fn list(&self, _cursor: Option<&str>) -> Result<AccountPage, ConnectorError> {
        Ok(AccountPage {
            accounts: self.memberships().await?.into_iter().map(account).collect(),
            next: None,
        })
    }

    async fn get(&self, id: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        Ok(self.fetch(id).await?.map(account))
    }

    async fn find_by_email(&self, email: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        Ok(self
            .memberships()
            .await?
            .into_iter()
            .find(|m| m.email_is(email))
            .map(account))
    }

    async fn create(&self, new: &NewAccount) -> Result<VendorAccount, ConnectorError> {
        let before = self.memberships().await?;
        if let Some(found) = before.iter().find(|m| m.email_is(&new.email)) {
            return Ok(account(found.clone()));
        }
        let mut url = Self::url(&["organizations", &self.workspace, "members"]);
        url.query_pairs_mut()
            .append_pair("email", &new.email)
            .append_pair("fullName", &full_name(new))
            .append_pair("type", "normal");
        // A PUT: inviting the same email again adds nobody, so the session may retry it.
        let response = self.session.send(VendorRequest::new(Method::PUT, url)).await?;
        if !response.status.is_success() {
            return Err(trello_error(&response));
        }
        let after = self.memberships().await?;
        Self::invited(new, &before, after).map(account)
    }

    async fn suspend(&self, id: &str) -> Result<VendorAccount, ConnectorError> {
        self.set_deactivated(id, true).await
    }

    async fn reactivate(&self, id: &str) -> Result<VendorAccount, ConnectorError> {
        self.set_deactivated(id, false).await
    }

    async fn delete(&self, id: &str) -> Result<Verified, ConnectorError> {
        let url = Self::url(&["organizations", &self.workspace, "members", id, "all"]);
        let response = self.session.send(VendorRequest::new(Method::DELETE, url)).await?;
        match response.status {
            s if s.is_success() => Ok(Verified::VendorAnswer),
            // Trello answers a member it cannot find with 400 "invalid id" or 404: done when
            // the Workspace's memberships really have no such member.
            StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND => match self.fetch(id).await? {
                None => Ok(Verified::ReadBack),
                Some(_) => Err(trello_error(&response)),
            },
            _ => Err(trello_error(&response)),
        }
    }
}

/// What the product shows of trello (the app directory's entry).
pub const APP: App = App {
    vendor_plan_note: Some(
        "Free Trello Workspaces take 10 collaborators (members, guests and pending invitations); more need a paid plan.",
    ),
    remove_means: "Removes the member from the Trello Workspace and from every board in it; their Trello account, which they own, stays.",
    suspend_means: Some(
        "Deactivates the member in the Trello Workspace (no access to its boards); reactivating restores it.",
    ),
    credential_fields: &[
        catalog::text(
            "workspace",
            "Workspace ID or short name (the part after trello.com/w/ in its URL)",
        ),
        catalog::secret(
            "api_key",
            "API key of a Power-Up you own (trello.com/power-ups/admin → API key)",
        ),
        catalog::secret(
            "api_token",
            "User token of a Workspace admin (Trello's authorize page with scope=read,write,account and expiration=never)",
        ),
    ],
    differences_from_product_docs: &[
        "The product docs give no connection type; Trello connects with a pasted API key and a Workspace admin's user token (Trello's OAuth 2.0 endpoints are not confirmed yet).",
        "Trello does not show members' emails: an existing account is recognised by email only where Trello shows it, otherwise as the member the invitation added, or by full name when the person was already a member.",
        "Creating an account invites the email to the Workspace; until the person joins Trello or accepts, they are listed as \"Invite Sent\".",
    ],
    tenant: "Trello Workspace",
    ..catalog::app(
        "trello",
        "Trello",
        ConnectionType::ApiKey,
        catalog::CREATE_SUSPEND_REMOVE,
    )
};

/// How the service talks to trello.
pub const SPEC: AppSpec = AppSpec {
    app: &APP,
    hosts: HOSTS,
    // 100 requests per 10 seconds per token (300 per API key): a 10-call burst refilled
    // at 9 a second never exceeds it in any 10-second window.
    limit: Some(RateLimit {
        per_minute: 540,
        burst: 10,
    }),
    oauth: None,
    check,
    api_key_auth: Some(auth),
    exchange: None,
    build: |session, tenant| Ok(Box::new(TrelloConnector::new(session, tenant)?)),
};
