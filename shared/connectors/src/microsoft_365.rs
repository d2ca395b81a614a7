//! Microsoft 365: the tenant's Entra ID users through Microsoft Graph
//! (`https://graph.microsoft.com/v1.0/`), with a delegated OAuth 2.0 token of an administrator
//! (authorization code + PKCE at `login.microsoftonline.com/organizations`; scopes
//! `User.ReadWrite.All`, `Directory.Read.All`, `offline_access`; an administrator consents
//! for the organization, and the connecting user needs the User Administrator or Global
//! Administrator role). Entra ID offers no inbound SCIM for its own users: Graph `/users` is
//! the provisioning API.
//!
//! Create makes a member user, not an invitation: `POST /users` on one of the tenant's
//! verified domains, enabled, with a random one-time password that must be changed at first
//! sign-in (never stored, logged or returned), the tenant's country as `usageLocation`, and
//! the person's personal email (if any) in `otherMails`. A mailbox only exists once the
//! user holds a licence that includes Exchange Online, so create then assigns one
//! (`POST /users/{id}/assignLicense`) from the tenant's subscriptions with a free unit. When
//! no such licence is free, nothing is created (`PlanRequired`); if the last one goes between
//! the check and the assignment, the user is kept and the next attempt licenses it (an
//! existing user without a mailbox licence gets one). Guests (B2B invitations) are not
//! created here. Graph shows no invitation state for members: a user is active at once.
//!
//! Suspend and reactivate set `accountEnabled`. Delete is Graph's delete: the user is
//! soft-deleted and restorable for 30 days, and its licence is freed.

use async_trait::async_trait;
use prov_core::catalog::{self, App, ConnectionType};
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::OnceCell;
use url::Url;

use crate::error::{ConnectorError, brief};
use crate::http::RateLimit;
use crate::http::{Session, VendorRequest, VendorResponse, refusal};
use crate::model::{
    AccountPage, AccountStatus, Connector, ConnectorCapabilities, NewAccount, NewWorkAccount, VendorAccount,
    random_password,
};
use crate::model::{VendorTenant, Verified};
use crate::spec::Tenant;
use crate::spec::{AppSpec, OAuthSpec, TokenStyle, no_check};

/// Where admins authorize and where Graph answers.
pub const HOSTS: &[&str] = &["login.microsoftonline.com", "graph.microsoft.com"];
const GRAPH_HOST: &str = "graph.microsoft.com";
const GRAPH: &str = "https://graph.microsoft.com/v1.0/";
/// Graph's largest page of users.
const PAGE_SIZE: &str = "999";
/// The user properties the connector reads.
const USER_FIELDS: &str = "id,userPrincipalName,mail,givenName,surname,displayName,accountEnabled";
/// Also read when deciding whether an existing user still needs a mailbox licence.
const LICENCE_FIELDS: &str = "assignedLicenses,usageLocation";
/// Exchange Online service plans that give a mailbox (`EXCHANGE_S_STANDARD`,
/// `EXCHANGE_S_ENTERPRISE`, `EXCHANGE_S_DESKLESS`, …) start with this.
const EXCHANGE_PLAN: &str = "EXCHANGE_S_";
/// Included in many SKUs without giving a mailbox.
const EXCHANGE_FOUNDATION: &str = "EXCHANGE_S_FOUNDATION";
/// Tries of a call on a just-created user while directory replicas catch up, and the wait
/// between them.
const REPLICATION_TRIES: u32 = 3;
const REPLICATION_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

pub struct Microsoft365Connector {
    session: Session,
    /// The tenant (id, country), asked once per connector.
    organization: OnceCell<Organization>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Organization {
    /// The tenant id.
    id: String,
    country_letter_code: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Collection<T> {
    #[serde(default = "Vec::new")]
    value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct User {
    id: String,
    user_principal_name: Option<String>,
    mail: Option<String>,
    given_name: Option<String>,
    surname: Option<String>,
    display_name: Option<String>,
    account_enabled: Option<bool>,
    #[serde(default)]
    assigned_licenses: Vec<AssignedLicense>,
    usage_location: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssignedLicense {
    sku_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Domain {
    id: String,
    #[serde(default)]
    is_verified: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscribedSku {
    sku_id: String,
    sku_part_number: Option<String>,
    capability_status: Option<String>,
    applies_to: Option<String>,
    #[serde(default)]
    consumed_units: i64,
    prepaid_units: Option<PrepaidUnits>,
    #[serde(default)]
    service_plans: Vec<ServicePlan>,
}

#[derive(Debug, Clone, Deserialize)]
struct PrepaidUnits {
    #[serde(default)]
    enabled: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServicePlan {
    service_plan_name: Option<String>,
    applies_to: Option<String>,
}

impl SubscribedSku {
    /// Whether it gives its users an Exchange Online mailbox.
    fn has_mailbox(&self) -> bool {
        self.service_plans.iter().any(|p| {
            p.service_plan_name
                .as_deref()
                .is_some_and(|n| n.starts_with(EXCHANGE_PLAN) && n != EXCHANGE_FOUNDATION)
                && p.applies_to.as_deref().is_none_or(|a| a == "User")
        })
    }

    fn free_units(&self) -> i64 {
        self.prepaid_units.as_ref().map_or(0, |p| p.enabled) - self.consumed_units
    }

    /// Assignable to users now: an active subscription for users with a unit left.
    fn assignable(&self) -> bool {
        self.capability_status.as_deref() == Some("Enabled")
            && self.applies_to.as_deref().is_none_or(|a| a == "User")
            && self.free_units() > 0
    }
}

/// The mailbox licence to give a new user: of the subscriptions with a free unit whose plans
/// include Exchange Online, the one with the most free units (the company's usual licence,
/// most likely), the first listed on a tie.
fn mailbox_sku(skus: &[SubscribedSku]) -> Result<&SubscribedSku, ConnectorError> {
    skus.iter()
        .filter(|s| s.has_mailbox() && s.assignable())
        .fold(None, |best: Option<&SubscribedSku>, s| match best {
            Some(b) if b.free_units() >= s.free_units() => Some(b),
            _ => Some(s),
        })
        .ok_or_else(|| {
            let with_mailbox: Vec<&str> = skus
                .iter()
                .filter(|s| s.has_mailbox())
                .map(|s| s.sku_part_number.as_deref().unwrap_or(&s.sku_id))
                .collect();
            ConnectorError::PlanRequired(if with_mailbox.is_empty() {
                "no Microsoft 365 licence with an Exchange Online mailbox is available: the tenant has no subscription that includes Exchange Online".into()
            } else {
                format!(
                    "no Microsoft 365 licence with an Exchange Online mailbox is available: every licence of {} is assigned; buy or free one, then try again",
                    with_mailbox.join(", ")
                )
            })
        })
}

fn status(user: &User) -> AccountStatus {
    if user.account_enabled == Some(false) {
        AccountStatus::Suspended
    } else {
        AccountStatus::Active
    }
}

fn account(user: &User) -> VendorAccount {
    VendorAccount {
        id: user.id.clone(),
        // The primary SMTP address; until the mailbox exists, the sign-in name.
        email: user.mail.clone().or_else(|| user.user_principal_name.clone()),
        first_name: user.given_name.clone(),
        last_name: user.surname.clone(),
        display_name: user.display_name.clone(),
        status: status(user),
    }
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: Option<ErrorDetail>,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    code: Option<String>,
    message: Option<String>,
}

/// Graph's `{error: {code, message}}`: the code and a short message.
fn error_parts(response: &VendorResponse) -> (String, String) {
    match serde_json::from_slice::<ErrorBody>(&response.body)
        .ok()
        .and_then(|b| b.error)
    {
        Some(e) => (e.code.unwrap_or_default(), brief(&e.message.unwrap_or_default())),
        None => (String::new(), response.text()),
    }
}

/// Graph's error answer, mapped.
fn graph_error(response: &VendorResponse) -> ConnectorError {
    let (code, message) = error_parts(response);
    let said = format!("{code}: {message}");
    match response.status {
        StatusCode::UNAUTHORIZED => ConnectorError::Unauthorized(said),
        StatusCode::FORBIDDEN => ConnectorError::Unauthorized(format!(
            "{said} (an administrator must grant the app's permissions for the organization (admin consent), and the connecting user needs the User Administrator or Global Administrator role)"
        )),
        StatusCode::NOT_FOUND => ConnectorError::NotFound,
        s if s.is_client_error() && message.to_lowercase().contains("already exist") => {
            ConnectorError::Conflict(said)
        }
        s => refusal("Microsoft Graph", s, said),
    }
}

/// The `$skiptoken` of Graph's `@odata.nextLink`, if that link stays on Graph's users list
/// (a link to any other host or path is never followed).
fn next_cursor(link: Option<&str>) -> Option<String> {
    let link = link?;
    let url = Url::parse(link).ok()?;
    if url.scheme() != "https" || url.host_str() != Some(GRAPH_HOST) || url.path() != "/v1.0/users" {
        tracing::warn!("Microsoft Graph's next page link leaves the users list; the listing stops there");
        return None;
    }
    url.query_pairs()
        .find(|(k, _)| k.eq_ignore_ascii_case("$skiptoken"))
        .map(|(_, v)| v.into_owned())
}

/// An OData string literal: quoted, a quote doubled. Control characters are refused.
fn odata_string(value: &str) -> Result<String, ConnectorError> {
    if value.chars().any(char::is_control) {
        return Err(ConnectorError::Invalid(
            "the email cannot be searched for (it contains control characters)".into(),
        ));
    }
    Ok(format!("'{}'", value.replace('\'', "''")))
}

/// The domain of an address, lowercased.
fn domain_of(email: &str) -> Option<String> {
    email
        .rsplit_once('@')
        .map(|(local, domain)| (local, domain.trim().to_ascii_lowercase()))
        .filter(|(local, domain)| !local.is_empty() && !domain.is_empty())
        .map(|(_, domain)| domain)
}

/// The mail alias from the address's local part: the characters Exchange takes in an alias
/// that are safe everywhere (letters, digits, `.`, `-`, `_`), without leading or trailing
/// dots, at most 64 characters.
fn mail_nickname(email: &str) -> String {
    let local = email.rsplit_once('@').map_or(email, |(l, _)| l);
    let kept: String = local
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(64)
        .collect();
    let trimmed = kept.trim_matches('.');
    if trimmed.is_empty() {
        "user".to_owned()
    } else {
        trimmed.to_owned()
    }
}

impl Microsoft365Connector {
    pub fn new(session: Session, _tenant: &Tenant) -> Self {
        Self {
            session,
            organization: OnceCell::new(),
        }
    }

    fn url(path: &[&str]) -> Url {
        let mut url = Url::parse(GRAPH).expect("valid");
        url.path_segments_mut()
            .expect("an https URL")
            .pop_if_empty()
            .extend(path);
        url
    }

    fn user_url(id: &str) -> Url {
        Self::url(&["users", id])
    }

    async fn read<T: serde::de::DeserializeOwned>(&self, url: Url) -> Result<Option<T>, ConnectorError> {
        let response = self.session.send(VendorRequest::get(url)).await?;
        match response.status {
            s if s.is_success() => Ok(Some(response.json()?)),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(graph_error(&response)),
        }
    }

    async fn expect<T: serde::de::DeserializeOwned>(&self, url: Url) -> Result<T, ConnectorError> {
        self.read(url).await?.ok_or(ConnectorError::NotFound)
    }

    /// The tenant: its id and country (the usage location new users get, needed before a
    /// licence can be assigned).
    async fn organization(&self) -> Result<&Organization, ConnectorError> {
        self.organization
            .get_or_try_init(|| async {
                let mut url = Self::url(&["organization"]);
                url.query_pairs_mut()
                    .append_pair("$select", "id,countryLetterCode");
                let answer: Collection<Organization> = self.expect(url).await?;
                answer.value.into_iter().next().ok_or_else(|| {
                    ConnectorError::Invalid("Microsoft Graph named no organization for the token".into())
                })
            })
            .await
    }

    /// The tenant's verified domains.
    async fn verified_domains(&self) -> Result<Vec<String>, ConnectorError> {
        let answer: Collection<Domain> = self.expect(Self::url(&["domains"])).await?;
        Ok(answer
            .value
            .into_iter()
            .filter(|d| d.is_verified)
            .map(|d| d.id.to_ascii_lowercase())
            .collect())
    }

    /// Refuses an address outside the tenant's verified domains; `why` says what to do.
    async fn require_tenant_domain(&self, email: &str, why: &str) -> Result<(), ConnectorError> {
        let domains = self.verified_domains().await?;
        match domain_of(email) {
            Some(domain) if domains.contains(&domain) => Ok(()),
            _ => Err(ConnectorError::Invalid(format!(
                "{email} is not on one of the Microsoft 365 tenant's verified domains ({}): {why}",
                domains.join(", ")
            ))),
        }
    }

    async fn subscribed_skus(&self) -> Result<Vec<SubscribedSku>, ConnectorError> {
        let answer: Collection<SubscribedSku> = self.expect(Self::url(&["subscribedSkus"])).await?;
        Ok(answer.value)
    }

    /// The user whose sign-in name or primary address is `email`, with what licensing needs.
    async fn find_user(&self, email: &str) -> Result<Option<User>, ConnectorError> {
        // Control characters are refused even at the ends, where trimming would drop them.
        odata_string(email)?;
        let literal = odata_string(email.trim())?;
        let mut url = Self::url(&["users"]);
        url.query_pairs_mut()
            .append_pair(
                "$filter",
                &format!("userPrincipalName eq {literal} or mail eq {literal}"),
            )
            .append_pair("$select", &format!("{USER_FIELDS},{LICENCE_FIELDS}"));
        let answer: Collection<User> = self.expect(url).await?;
        let email = email.trim();
        Ok(answer.value.into_iter().find(|u| {
            [&u.user_principal_name, &u.mail]
                .iter()
                .any(|a| a.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(email)))
        }))
    }

    async fn patch_user(&self, id: &str, body: serde_json::Value) -> Result<(), ConnectorError> {
        let response = self
            .session
            .send(VendorRequest::new(Method::PATCH, Self::user_url(id)).json(body))
            .await?;
        if response.status.is_success() {
            Ok(())
        } else {
            Err(graph_error(&response))
        }
    }

    async fn set_enabled(&self, id: &str, enabled: bool) -> Result<VendorAccount, ConnectorError> {
        self.patch_user(id, json!({"accountEnabled": enabled})).await?;
        self.get(id).await?.ok_or(ConnectorError::NotFound)
    }

    /// `POST /users`: an enabled member with a one-time password to change at first sign-in.
    async fn post_user(&self, new: &NewWorkAccount, country: &str) -> Result<User, ConnectorError> {
        let email = new.work_email.trim();
        let display_name = format!("{} {}", new.first_name.trim(), new.last_name.trim())
            .trim()
            .to_owned();
        let password = random_password()?;
        let mut body = json!({
            "accountEnabled": true,
            "displayName": if display_name.is_empty() { email.to_owned() } else { display_name },
            "givenName": new.first_name.trim(),
            "surname": new.last_name.trim(),
            "mailNickname": mail_nickname(email),
            "userPrincipalName": email,
            "usageLocation": country,
            "passwordProfile": {
                "password": password.expose_secret(),
                "forceChangePasswordNextSignIn": true
            }
        });
        if let Some(personal) = new
            .personal_email
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            body["otherMails"] = json!([personal]);
        }
        let response = self
            .session
            .send(VendorRequest::new(Method::POST, Self::url(&["users"])).json(body))
            .await?;
        if response.status.is_success() {
            response.json()
        } else {
            Err(graph_error(&response))
        }
    }

    /// Gives `user` a mailbox licence unless it holds one: `usageLocation` first if it has
    /// none, then `assignLicense`. `skus` is the tenant's subscriptions.
    async fn ensure_mailbox_licence(
        &self,
        user: &User,
        skus: &[SubscribedSku],
    ) -> Result<(), ConnectorError> {
        let holds_mailbox = user.assigned_licenses.iter().any(|l| {
            skus.iter()
                .any(|s| s.sku_id.eq_ignore_ascii_case(&l.sku_id) && s.has_mailbox())
        });
        if holds_mailbox {
            return Ok(());
        }
        let sku = mailbox_sku(skus)?;
        if user.usage_location.as_deref().is_none_or(str::is_empty) {
            let country = self.country().await?;
            self.patch_user(&user.id, json!({"usageLocation": country}))
                .await?;
        }
        let url = Self::url(&["users", &user.id, "assignLicense"]);
        let body = json!({
            "addLicenses": [{"skuId": sku.sku_id, "disabledPlans": []}],
            "removeLicenses": []
        });
        let mut attempt = 1;
        let response = loop {
            // Assigning a licence the user already holds changes nothing: safe to repeat.
            let response = self
                .session
                .send(
                    VendorRequest::new(Method::POST, url.clone())
                        .json(body.clone())
                        .repeatable(),
                )
                .await?;
            // A user created a moment ago may not have reached every directory replica yet.
            if response.status == StatusCode::NOT_FOUND && attempt < REPLICATION_TRIES {
                attempt += 1;
                self.session.pause(REPLICATION_WAIT).await;
                continue;
            }
            break response;
        };
        if response.status.is_success() {
            return Ok(());
        }
        let (code, message) = error_parts(&response);
        let lower = message.to_lowercase();
        if response.status == StatusCode::BAD_REQUEST
            && lower.contains("licens")
            && !lower.contains("usage location")
        {
            // Most likely the last unit went meanwhile. The user stays; the next attempt
            // finds it without a mailbox licence and assigns one.
            return Err(ConnectorError::PlanRequired(format!(
                "the user {} was created, but Microsoft 365 refused the mailbox licence ({}): {code}: {message}",
                user.user_principal_name.as_deref().unwrap_or(&user.id),
                sku.sku_part_number.as_deref().unwrap_or(&sku.sku_id),
            )));
        }
        Err(graph_error(&response))
    }

    async fn country(&self) -> Result<String, ConnectorError> {
        self.organization()
            .await?
            .country_letter_code
            .clone()
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| {
                ConnectorError::Invalid(
                    "the Microsoft 365 organization has no country set (Microsoft 365 admin center, Settings, Org settings, Organization profile); a licence needs the user's usage location".into(),
                )
            })
    }

    /// The mailbox user for `new`, on a domain already checked: the existing user (with a
    /// mailbox licence given if it lacks one), or a new one, licensed.
    async fn create_mailbox_user(&self, new: &NewWorkAccount) -> Result<VendorAccount, ConnectorError> {
        let email = new.work_email.trim();
        let existing = self.find_user(email).await?;
        let skus = self.subscribed_skus().await?;
        if let Some(existing) = existing {
            self.ensure_mailbox_licence(&existing, &skus).await?;
            return Ok(account(&existing));
        }
        // Checked before anything is created: with no licence free, nothing is left behind.
        mailbox_sku(&skus)?;
        let country = self.country().await?;
        let user = match self.post_user(new, &country).await {
            // Graph's answer leaves out `usageLocation` (not a default property); it was set.
            Ok(user) => User {
                usage_location: Some(country),
                ..user
            },
            // Created meanwhile (an earlier attempt that timed out, another admin): that one.
            Err(ConnectorError::Conflict(why)) => self
                .find_user(email)
                .await?
                .ok_or(ConnectorError::Conflict(why))?,
            Err(e) => return Err(e),
        };
        self.ensure_mailbox_licence(&user, &skus).await?;
        Ok(account(&user))
    }

    /// The tenant's id (from `GET /organization`).
    pub async fn tenant_id(&self) -> Result<String, ConnectorError> {
        Ok(self.organization().await?.id.clone())
    }
}

#[async_trait]
impl Connector for Microsoft365Connector {
    fn capabilities(&self) -> ConnectorCapabilities {
        ConnectorCapabilities {
            create: true,
            suspend: true,
            reactivate: true,
            delete: true,
            // Members have no invitation state.
            shows_invites: false,
        }
    }

    async fn verify(&self) -> Result<(), ConnectorError> {
        let mut url = Self::url(&["users"]);
        url.query_pairs_mut()
            .append_pair("$top", "1")
            .append_pair("$select", "id");
        self.expect::<Collection<serde_json::Value>>(url)
            .await
            .map(|_| ())
    }

    /// The Microsoft Entra tenant: `GET /organization` answers the one organization
    /// (its `id` is the tenant id; https://learn.microsoft.com/graph/api/organization-list).
    async fn tenant(&self) -> Result<VendorTenant, ConnectorError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Named {
            id: String,
            display_name: Option<String>,
        }
        let mut url = Self::url(&["organization"]);
        url.query_pairs_mut().append_pair("$select", "id,displayName");
        let answer: Collection<Named> = self.expect(url).await?;
        let org = answer.value.into_iter().next().ok_or_else(|| {
            ConnectorError::Invalid("Microsoft Graph named no organization for the token".into())
        })?;
        Ok(VendorTenant {
            name: org
                .display_name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| org.id.clone()),
            id: org.id,
        })
    }

    async fn list(&self, cursor: Option<&str>) -> Result<AccountPage, ConnectorError> {
        let mut url = Self::url(&["users"]);
        url.query_pairs_mut()
            .append_pair("$select", USER_FIELDS)
            .append_pair("$top", PAGE_SIZE);
        if let Some(token) = cursor {
            url.query_pairs_mut().append_pair("$skiptoken", token);
        }
        let page: Collection<User> = self.expect(url).await?;
        Ok(AccountPage {
            next: next_cursor(page.next_link.as_deref()),
            accounts: page.value.iter().map(account).collect(),
        })
    }

    async fn get(&self, id: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        let mut url = Self::user_url(id);
        url.query_pairs_mut().append_pair("$select", USER_FIELDS);
        Ok(self.read::<User>(url).await?.as_ref().map(account))
    }

    async fn find_by_email(&self, email: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        Ok(self.find_user(email).await?.as_ref().map(account))
    }

    async fn create(&self, new: &NewAccount) -> Result<VendorAccount, ConnectorError> {
        self.require_tenant_domain(
            new.email.trim(),
            "Microsoft 365 accounts are created on the company's own domains (outside people would be guests, which this app does not invite)",
        )
        .await?;
        self.create_mailbox_user(&NewWorkAccount::from(new)).await
    }

    async fn suspend(&self, id: &str) -> Result<VendorAccount, ConnectorError> {
        self.set_enabled(id, false).await
    }

    async fn reactivate(&self, id: &str) -> Result<VendorAccount, ConnectorError> {
        self.set_enabled(id, true).await
    }

    async fn delete(&self, id: &str) -> Result<Verified, ConnectorError> {
        let response = self
            .session
            .send(VendorRequest::new(Method::DELETE, Self::user_url(id)))
            .await?;
        match response.status {
            s if s.is_success() => Ok(Verified::VendorAnswer),
            // The user's own resource.
            StatusCode::NOT_FOUND => Ok(Verified::AlreadyGone),
            _ => Err(graph_error(&response)),
        }
    }

    async fn work_email_domains(&self) -> Result<Vec<String>, ConnectorError> {
        self.verified_domains().await
    }

    async fn create_work_account(&self, new: &NewWorkAccount) -> Result<VendorAccount, ConnectorError> {
        self.require_tenant_domain(new.work_email.trim(), "choose an address on one of them")
            .await?;
        self.create_mailbox_user(new).await
    }
}

/// What the product shows of microsoft_365 (the app directory's entry).
pub const APP: App = App {
    requires_plus_or_premium: false,
    vendor_plan_note: Some(
        "Needs a Microsoft 365 subscription that includes Exchange Online, with a free licence for each new user. An administrator who can consent for the organization (e.g. a Global Administrator) approves the app's permissions; the person connecting needs the User Administrator or Global Administrator role.",
    ),
    remove_means: "Deletes the user (Microsoft keeps it restorable for 30 days) and frees its licence.",
    suspend_means: Some("Blocks sign-in (account disabled), mailbox kept."),
    differences_from_product_docs: &[
        "Creating an account creates a member user with a random one-time password (never shown or stored; it must be changed at first sign-in) and assigns a licence that includes an Exchange Online mailbox; no invitation is sent, and Microsoft shows no invitation state, so new accounts are listed active.",
        "Accounts are created only on the organization's verified domains; an outside address would be a guest, which the app does not invite.",
        "When no licence with Exchange Online is free, nothing is created and the error says so; a user created without one (the last licence taken meanwhile) gets a licence on the next attempt.",
    ],
    tenant: "Microsoft Entra tenant",
    ..catalog::app(
        "microsoft_365",
        "Microsoft 365",
        ConnectionType::Oauth,
        catalog::caps(true, true, true, false, true),
    )
};

/// How the service talks to microsoft_365.
pub const SPEC: AppSpec = AppSpec {
    app: &APP,
    hosts: HOSTS,
    // Graph's identity limits are resource units per app and tenant per 10 seconds
    // (thousands, by tenant size) and about 3,000 writes per 2.5 minutes; a listing page
    // of users costs a few units. Stay far below; a 429 still waits for `Retry-After`.
    limit: Some(RateLimit {
        per_minute: 600,
        burst: 20,
    }),
    oauth: Some(OAuthSpec {
        // `organizations`: any work account's tenant (not personal Microsoft accounts);
        // a refresh token is redeemed at the same endpoint.
        authorize_url: "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize",
        token_url: "https://login.microsoftonline.com/organizations/oauth2/v2.0/token",
        // Users (create, update, delete, assign licences); domains, organization and
        // subscribed SKUs (read); a refresh token.
        scopes: &["User.ReadWrite.All", "Directory.Read.All", "offline_access"],
        extra_params: &[],
        style: TokenStyle::Standard,
        credentials_in_body: true,
        // The token answer names no tenant; the connector asks `GET /organization`.
        tenant_fields: &[],
        environments: &[],
        organization_field: None,
    }),
    check: no_check,
    api_key_auth: None,
    exchange: None,
    build: |session, tenant| Ok(Box::new(Microsoft365Connector::new(session, tenant))),
};
