//! GitHub: the members and invitations of one organization through the REST API
//! (`https://api.github.com`, version `2022-11-28`), with an OAuth app token (scope
//! `admin:org`) of an organization owner. Classic OAuth app tokens do not expire and come
//! without a refresh token: a 401 means the token was revoked. (GitHub's SCIM API needs
//! Enterprise Cloud with SAML, so it is not used.)
//!
//! The organization is the connection's `org` when set, else the one organization the token's
//! user owns (asked once per connector); owning several is refused, as choosing one is not
//! built yet.
//!
//! Identity: a member's account id is their `login`. A pending invitation's id is its `login`
//! when the invitee already has a GitHub account, else `invitation:{id}`. GitHub never shows
//! members' emails, so only pending invitations can be found by email; once an invitation by
//! email is accepted, the person shows up as a member under their login (matched by hand).
//!
//! Create sends an organization invitation to the email (role `direct_member`); GitHub emails
//! it and it stays pending until accepted. Remove takes the person out of the organization
//! (`DELETE /orgs/{org}/memberships/{login}`, which also cancels a pending invitation of that
//! login) or cancels an invitation by id. Their personal GitHub account stays. There is no
//! suspend.

use async_trait::async_trait;
use prov_core::catalog::{self, App, ConnectionType};
use reqwest::header::{ACCEPT, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use tokio::sync::OnceCell;
use url::Url;

use crate::error::{ConnectorError, brief};
use crate::http::RateLimit;
use crate::http::{Session, VendorRequest, VendorResponse, refusal};
use crate::model::{
    AccountPage, AccountStatus, Connector, ConnectorCapabilities, NewAccount, VendorAccount, VendorTenant,
    Verified, create_once,
};
use crate::spec::Tenant;
use crate::spec::{AppSpec, OAuthSpec, TokenStyle, no_check};

/// Where the OAuth app authorizes (`github.com`) and the API (`api.github.com`).
pub const HOSTS: &[&str] = &["github.com", "api.github.com"];
const API_HOST: &str = "api.github.com";
const API: &str = "https://api.github.com/";
/// The REST API version every call asks for.
pub const API_VERSION: &str = "2022-11-28";
const MEDIA_TYPE: &str = "application/vnd.github+json";
const PAGE_SIZE: &str = "100";
/// A pending invitation of someone without a GitHub account: `invitation:{id}`.
pub const INVITATION_PREFIX: &str = "invitation:";
/// The OAuth scope organization membership needs.
pub const SCOPE: &str = "admin:org";

pub struct GitHubConnector {
    session: Session,
    org: OnceCell<String>,
}

/// Where a listing is: a page of the members, then a page of the pending invitations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cursor {
    Members(u32),
    Invitations(u32),
}

impl Cursor {
    fn parse(cursor: Option<&str>) -> Result<Self, ConnectorError> {
        let Some(cursor) = cursor else {
            return Ok(Cursor::Members(1));
        };
        let bad = || ConnectorError::Invalid(format!("`{cursor}` is not a GitHub listing cursor"));
        let (kind, page) = cursor.split_once(':').ok_or_else(bad)?;
        let page: u32 = page.parse().ok().filter(|p| *p >= 1).ok_or_else(bad)?;
        match kind {
            "m" => Ok(Cursor::Members(page)),
            "i" => Ok(Cursor::Invitations(page)),
            _ => Err(bad()),
        }
    }

    fn encode(self) -> String {
        match self {
            Cursor::Members(page) => format!("m:{page}"),
            Cursor::Invitations(page) => format!("i:{page}"),
        }
    }
}

#[derive(Debug, Deserialize)]
struct Member {
    login: String,
}

#[derive(Debug, Deserialize)]
struct Invitation {
    id: u64,
    login: Option<String>,
    email: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Organization {
    login: String,
}

/// One of the token user's organization memberships (`/user/memberships/orgs`) or a
/// member's membership (`/orgs/{org}/memberships/{login}`).
#[derive(Debug, Deserialize)]
struct Membership {
    state: String,
    role: String,
    organization: Option<Organization>,
}

#[derive(Debug, Deserialize)]
struct GitHubError {
    message: Option<String>,
    #[serde(default)]
    errors: Vec<FieldError>,
}

#[derive(Debug, Deserialize)]
struct FieldError {
    message: Option<String>,
    code: Option<String>,
}

/// GitHub's rate limits beyond a 429: a 403 with `x-ratelimit-remaining: 0` (the hourly
/// budget is spent; `x-ratelimit-reset` says when it refills) or with `retry-after` (a
/// secondary limit), or a 403 whose message says a secondary limit was exceeded.
pub fn rate_limited(response: &VendorResponse) -> bool {
    response.status == StatusCode::FORBIDDEN
        && (response.header("x-ratelimit-remaining").map(str::trim) == Some("0")
            || response.header("retry-after").is_some()
            || message(response).to_lowercase().contains("rate limit"))
}

/// GitHub's `message`, with the `errors[].message` (or `code`) details of a 422.
fn message(response: &VendorResponse) -> String {
    let Ok(parsed) = serde_json::from_slice::<GitHubError>(&response.body) else {
        return response.text();
    };
    let details: Vec<String> = parsed
        .errors
        .into_iter()
        .filter_map(|e| e.message.or(e.code))
        .collect();
    let head = parsed.message.unwrap_or_default();
    brief(&if details.is_empty() {
        head
    } else {
        format!("{head}: {}", details.join("; "))
    })
}

/// GitHub's `{message, documentation_url, errors?}`, mapped.
fn github_error(response: &VendorResponse) -> ConnectorError {
    let message = message(response);
    let lower = message.to_lowercase();
    match response.status {
        StatusCode::UNAUTHORIZED => ConnectorError::Unauthorized(format!(
            "{message} (the GitHub token was revoked: connect GitHub again)"
        )),
        StatusCode::FORBIDDEN if lower.contains("oauth app access restrictions") => {
            ConnectorError::Unauthorized(format!(
                "{message} (an owner of the organization must approve this app in the organization's settings, Third-party access)"
            ))
        }
        StatusCode::FORBIDDEN => ConnectorError::Unauthorized(format!(
            "{message} (the person connecting must be an owner of the GitHub organization)"
        )),
        StatusCode::PAYMENT_REQUIRED => ConnectorError::PlanRequired(message),
        StatusCode::UNPROCESSABLE_ENTITY if lower.contains("part of this organization") => {
            ConnectorError::Conflict(format!(
                "{message} (GitHub does not show members' emails: match the team member to their GitHub login by hand)"
            ))
        }
        StatusCode::UNPROCESSABLE_ENTITY if lower.contains("already") => ConnectorError::Conflict(message),
        // GitHub's wording for an organization out of paid seats is not documented.
        StatusCode::UNPROCESSABLE_ENTITY if lower.contains("seat") => ConnectorError::PlanRequired(message),
        s => refusal("GitHub", s, message),
    }
}

/// The page number of GitHub's `Link: <…>; rel="next"`, only from a link on the API host.
/// A next link elsewhere is refused rather than followed or ignored (ignoring it would end
/// the listing early, and the accounts not listed would look removed).
fn next_page(response: &VendorResponse) -> Result<Option<u32>, ConnectorError> {
    let next = response
        .headers
        .get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|header| header.split(','))
        .find_map(|link| {
            let (target, params) = link.split_once(';')?;
            params.split(';').any(|p| p.trim() == "rel=\"next\"").then(|| {
                target
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
        });
    let Some(target) = next else {
        return Ok(None);
    };
    let off = || {
        ConnectorError::Invalid(format!(
            "GitHub's next page link is not on {API_HOST}; it was not followed"
        ))
    };
    let url = Url::parse(&target).map_err(|_| off())?;
    if url.scheme() != "https" || url.host_str() != Some(API_HOST) {
        return Err(off());
    }
    url.query_pairs()
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.parse().ok())
        .map(Some)
        .ok_or_else(|| ConnectorError::Invalid("GitHub's next page link carries no page number".into()))
}

fn member(login: String) -> VendorAccount {
    VendorAccount {
        id: login.clone(),
        // GitHub does not show members' emails.
        email: None,
        first_name: None,
        last_name: None,
        display_name: Some(login),
        status: AccountStatus::Active,
    }
}

fn invitation(invitation: Invitation) -> VendorAccount {
    let id = match &invitation.login {
        Some(login) => login.clone(),
        None => format!("{INVITATION_PREFIX}{}", invitation.id),
    };
    VendorAccount {
        id,
        email: invitation.email,
        first_name: None,
        last_name: None,
        display_name: invitation.login,
        status: AccountStatus::InviteSent,
    }
}

/// Whether `name` can be a GitHub login or organization name (letters, digits and single
/// hyphens, not at either end, at most 39 characters): nothing else reaches a URL path.
pub fn is_login(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 39
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

fn checked_login(login: &str) -> Result<&str, ConnectorError> {
    if is_login(login) {
        Ok(login)
    } else {
        Err(ConnectorError::Invalid(format!(
            "`{}` is not a GitHub login",
            brief(login)
        )))
    }
}

impl GitHubConnector {
    /// The connection's `org`, if set, is checked to be an organization name.
    pub fn new(mut session: Session, tenant: &Tenant) -> Result<Self, ConnectorError> {
        session.rate_limit_signal = Some(rate_limited);
        let org = match tenant.get("org").map(|o| o.trim()).filter(|o| !o.is_empty()) {
            Some(org) => OnceCell::from(checked_login(org)?.to_owned()),
            None => OnceCell::new(),
        };
        Ok(Self { session, org })
    }

    fn url(path: &[&str]) -> Url {
        let mut url = Url::parse(API).expect("valid");
        url.path_segments_mut()
            .expect("an https URL has path segments")
            .pop_if_empty()
            .extend(path);
        url
    }

    /// Every call names GitHub's media type and the API version it was built against.
    fn request(method: Method, url: Url) -> VendorRequest {
        VendorRequest::new(method, url)
            .header(ACCEPT, HeaderValue::from_static(MEDIA_TYPE))
            .header(
                HeaderName::from_static("x-github-api-version"),
                HeaderValue::from_static(API_VERSION),
            )
    }

    async fn send(&self, method: Method, url: Url) -> Result<VendorResponse, ConnectorError> {
        self.session.send(Self::request(method, url)).await
    }

    /// A GET whose answer must succeed.
    async fn read<T: DeserializeOwned>(&self, url: Url) -> Result<(T, VendorResponse), ConnectorError> {
        let response = self.send(Method::GET, url).await?;
        if !response.status.is_success() {
            return Err(self.org_error(&response));
        }
        Ok((response.json()?, response))
    }

    /// A 404 on the organization's own listings means the token cannot see it.
    fn org_error(&self, response: &VendorResponse) -> ConnectorError {
        match (github_error(response), self.org.get()) {
            (ConnectorError::NotFound, Some(org)) => ConnectorError::Unauthorized(format!(
                "GitHub shows no organization `{org}` to this token (the person connecting must be an owner of it)"
            )),
            (ConnectorError::NotFound, None) => ConnectorError::Unauthorized(
                "GitHub shows this token no organization memberships (the person connecting must be an owner of the company's organization)".into(),
            ),
            (other, _) => other,
        }
    }

    /// The token's user must own the organization: GitHub lets only owners invite and remove
    /// members (`GET /user/memberships/orgs/{org}`, `role: admin`, `state: active`:
    /// https://docs.github.com/en/rest/orgs/members#get-an-organization-membership-for-the-authenticated-user).
    async fn check_owner(&self, org: &str) -> Result<(), ConnectorError> {
        let response = self
            .send(Method::GET, Self::url(&["user", "memberships", "orgs", org]))
            .await?;
        if response.status == StatusCode::NOT_FOUND {
            return Err(ConnectorError::Unauthorized(format!(
                "the person connecting is not a member of the GitHub organization `{org}`; an owner of it must connect"
            )));
        }
        if !response.status.is_success() {
            return Err(github_error(&response));
        }
        let membership: Membership = response.json()?;
        if membership.role == "admin" && membership.state == "active" {
            Ok(())
        } else {
            Err(ConnectorError::Unauthorized(format!(
                "the person connecting is {} {} of the GitHub organization `{org}`, not an owner; only an owner can invite and remove members",
                if membership.state == "active" {
                    "an active"
                } else {
                    "a pending"
                },
                if membership.role == "admin" {
                    "owner"
                } else {
                    "member"
                },
            )))
        }
    }

    /// The organization this connection manages.
    async fn org(&self) -> Result<&str, ConnectorError> {
        self.org
            .get_or_try_init(|| async {
                let mut url = Self::url(&["user", "memberships", "orgs"]);
                url.query_pairs_mut()
                    .append_pair("state", "active")
                    .append_pair("per_page", PAGE_SIZE);
                let (memberships, _): (Vec<Membership>, _) = self.read(url).await?;
                let owned: Vec<String> = memberships
                    .into_iter()
                    .filter(|m| m.role == "admin" && m.state == "active")
                    .filter_map(|m| m.organization.map(|o| o.login))
                    .collect();
                match owned.as_slice() {
                    [one] => Ok(checked_login(one)?.to_owned()),
                    [] => Err(ConnectorError::Unauthorized(
                        "the person connecting must be an owner of the GitHub organization (they own none)".into(),
                    )),
                    several => Err(ConnectorError::Invalid(format!(
                        "the person connecting owns several GitHub organizations ({}); choosing one is not supported yet: connect with an account that owns only the company's",
                        several.join(", ")
                    ))),
                }
            })
            .await
            .map(String::as_str)
    }

    /// One page of the organization's members or pending invitations, and the next page.
    async fn page<T: DeserializeOwned>(
        &self,
        listing: &str,
        page: u32,
    ) -> Result<(Vec<T>, Option<u32>), ConnectorError> {
        let org = self.org().await?.to_owned();
        let mut url = Self::url(&["orgs", &org, listing]);
        url.query_pairs_mut()
            .append_pair("per_page", PAGE_SIZE)
            .append_pair("page", &page.to_string());
        let (items, response) = self.read(url).await?;
        Ok((items, next_page(&response)?))
    }

    /// Walks every page of an invitation listing until `found` picks one.
    async fn find_invitation(
        &self,
        listing: &str,
        found: impl Fn(&Invitation) -> bool,
    ) -> Result<Option<Invitation>, ConnectorError> {
        let mut page = 1;
        loop {
            let (invitations, next): (Vec<Invitation>, _) = self.page(listing, page).await?;
            if let Some(hit) = invitations.into_iter().find(&found) {
                return Ok(Some(hit));
            }
            match next {
                Some(n) if n > page => page = n,
                _ => return Ok(None),
            }
        }
    }

    /// An invitation by its id: pending (Invite Sent), failed or expired (removed), or
    /// neither (accepted or cancelled: an accepted one is a member under their login now).
    async fn invitation_by_id(&self, id: u64) -> Result<Option<VendorAccount>, ConnectorError> {
        if let Some(pending) = self.find_invitation("invitations", |i| i.id == id).await? {
            return Ok(Some(invitation(pending)));
        }
        let failed = self.find_invitation("failed_invitations", |i| i.id == id).await?;
        Ok(failed.map(|f| VendorAccount {
            status: AccountStatus::Deleted,
            ..invitation(f)
        }))
    }

    /// A login's membership: active (Active) or pending (Invite Sent).
    async fn membership(&self, login: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        let org = self.org().await?.to_owned();
        let url = Self::url(&["orgs", &org, "memberships", checked_login(login)?]);
        let response = self.send(Method::GET, url).await?;
        match response.status {
            s if s.is_success() => {
                let membership: Membership = response.json()?;
                let mut account = member(login.to_owned());
                if membership.state == "pending" {
                    account.status = AccountStatus::InviteSent;
                }
                Ok(Some(account))
            }
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(github_error(&response)),
        }
    }

    async fn invite(&self, email: &str) -> Result<VendorAccount, ConnectorError> {
        let org = self.org().await?.to_owned();
        let url = Self::url(&["orgs", &org, "invitations"]);
        let body = json!({"email": email, "role": "direct_member"});
        let response = self
            .session
            .send(Self::request(Method::POST, url).json(body))
            .await?;
        if response.status.is_success() {
            Ok(invitation(response.json()?))
        } else {
            Err(self.org_error(&response))
        }
    }

    /// A DELETE where a 404 means already gone.
    /// Deletes a membership or invitation: the account's own resource, whose 404 is gone.
    async fn remove(&self, url: Url) -> Result<Verified, ConnectorError> {
        let response = self.send(Method::DELETE, url).await?;
        match response.status {
            s if s.is_success() => Ok(Verified::VendorAnswer),
            StatusCode::NOT_FOUND => Ok(Verified::AlreadyGone),
            _ => Err(github_error(&response)),
        }
    }
}

fn invitation_id(id: &str) -> Result<Option<u64>, ConnectorError> {
    match id.strip_prefix(INVITATION_PREFIX) {
        None => Ok(None),
        Some(n) => n
            .parse()
            .map(Some)
            .map_err(|_| ConnectorError::Invalid(format!("`{}` is not a GitHub invitation", brief(id)))),
    }
}

#[async_trait]
impl Connector for GitHubConnector {
    fn capabilities(&self) -> ConnectorCapabilities {
        ConnectorCapabilities {
            create: true,
            suspend: false,
            reactivate: false,
            delete: true,
            shows_invites: true,
        }
    }

    /// The organization (found or named), then one member: the token sees it and may list.
    /// A token granted without `admin:org` (GitHub lists a classic token's scopes in
    /// `X-OAuth-Scopes`) could list but not invite or remove, so it is refused here.
    async fn verify(&self) -> Result<(), ConnectorError> {
        let org = self.org().await?.to_owned();
        self.check_owner(&org).await?;
        let mut url = Self::url(&["orgs", &org, "members"]);
        url.query_pairs_mut().append_pair("per_page", "1");
        let (_, response): (Vec<Member>, _) = self.read(url).await?;
        if let Some(scopes) = response.header("x-oauth-scopes")
            && !scopes.split(',').any(|s| s.trim() == SCOPE)
        {
            return Err(ConnectorError::Unauthorized(format!(
                "the GitHub token lacks the `{SCOPE}` scope needed to invite and remove members"
            )));
        }
        Ok(())
    }

    /// The organization: `GET /orgs/{org}` (its numeric `id`, which survives a rename, and
    /// `login`; https://docs.github.com/en/rest/orgs/orgs#get-an-organization).
    async fn tenant(&self) -> Result<VendorTenant, ConnectorError> {
        #[derive(Deserialize)]
        struct Organization {
            id: u64,
            login: String,
        }
        let org = self.org().await?.to_owned();
        let (found, _): (Organization, _) = self.read(Self::url(&["orgs", &org])).await?;
        Ok(VendorTenant {
            id: found.id.to_string(),
            name: found.login,
        })
    }

    async fn list(&self, cursor: Option<&str>) -> Result<AccountPage, ConnectorError> {
        match Cursor::parse(cursor)? {
            Cursor::Members(page) => {
                let (members, next): (Vec<Member>, _) = self.page("members", page).await?;
                // After the members' last page come the pending invitations.
                let next = match next {
                    Some(n) if n > page => Cursor::Members(n),
                    _ => Cursor::Invitations(1),
                };
                Ok(AccountPage {
                    accounts: members.into_iter().map(|m| member(m.login)).collect(),
                    next: Some(next.encode()),
                })
            }
            Cursor::Invitations(page) => {
                let (invitations, next): (Vec<Invitation>, _) = self.page("invitations", page).await?;
                Ok(AccountPage {
                    accounts: invitations.into_iter().map(invitation).collect(),
                    next: next
                        .filter(|n| *n > page)
                        .map(|n| Cursor::Invitations(n).encode()),
                })
            }
        }
    }

    async fn get(&self, id: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        match invitation_id(id)? {
            Some(n) => self.invitation_by_id(n).await,
            None => self.membership(id).await,
        }
    }

    /// Pending invitations only: GitHub does not show members' emails.
    async fn find_by_email(&self, email: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        let found = self
            .find_invitation("invitations", |i| {
                i.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
            .await?;
        Ok(found.map(invitation))
    }

    async fn create(&self, new: &NewAccount) -> Result<VendorAccount, ConnectorError> {
        create_once(self, &new.email, self.invite(&new.email)).await
    }

    async fn delete(&self, id: &str) -> Result<Verified, ConnectorError> {
        let org = self.org().await?.to_owned();
        let url = match invitation_id(id)? {
            Some(n) => Self::url(&["orgs", &org, "invitations", &n.to_string()]),
            None => Self::url(&["orgs", &org, "memberships", checked_login(id)?]),
        };
        self.remove(url).await
    }
}

/// What the product shows of github (the app directory's entry).
pub const APP: App = App {
    vendor_plan_note: Some(
        "Any GitHub organization plan; the person connecting must be an owner of the organization.",
    ),
    remove_means: "Removes the person from the GitHub organization (or cancels a pending invitation); their personal account stays.",
    differences_from_product_docs: &[
        "Creating an account sends a GitHub organization invitation to the email (as a member, not an owner); it shows \"Invite Sent\" until the person accepts, and an invitation that expires or fails shows as removed.",
        "GitHub does not show members' email addresses: a member is listed by their GitHub login, and only pending invitations can be matched by email. Once someone accepts an invitation sent to their email, they appear as a member under their login in the next sync, to be matched to the team member by hand.",
        "Someone who is already a member cannot be invited again; match them to the team member by their GitHub login instead.",
        "The organization is the one the person connecting owns; an account that owns several organizations is refused (choosing one is not built yet).",
        "If the organization restricts OAuth app access, an owner must approve the app in the organization's settings (Third-party access) before it can connect.",
    ],
    tenant: "GitHub organization",
    ..catalog::app("github", "GitHub", ConnectionType::Oauth, catalog::CREATE_REMOVE)
};

/// How the service talks to github.
pub const SPEC: AppSpec = AppSpec {
    app: &APP,
    hosts: HOSTS,
    // 5,000 requests an hour per user token: 80 a minute (4,800 an hour) stays under it.
    // The small burst also keeps under GitHub's secondary limit on content-creating calls
    // (invitations), published as at most 80 a minute and 500 an hour.
    limit: Some(RateLimit {
        per_minute: 80,
        burst: 20,
    }),
    oauth: Some(OAuthSpec {
        authorize_url: "https://github.com/login/oauth/authorize",
        token_url: "https://github.com/login/oauth/access_token",
        // Inviting and removing members needs `admin:org` (`read:org` only reads).
        scopes: &[SCOPE],
        // The person connecting must already own the organization: no sign-up on the way.
        extra_params: &[("allow_signup", "false")],
        style: TokenStyle::Standard,
        credentials_in_body: true,
        tenant_fields: &[],
        environments: &[],
        organization_field: Some("org"),
    }),
    check: no_check,
    api_key_auth: None,
    exchange: None,
    build: |session, tenant| Ok(Box::new(GitHubConnector::new(session, tenant)?)),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_walk_members_then_invitations() {
        assert_eq!(Cursor::parse(None).unwrap(), Cursor::Members(1));
        assert_eq!(Cursor::parse(Some("m:3")).unwrap(), Cursor::Members(3));
        assert_eq!(Cursor::parse(Some("i:2")).unwrap(), Cursor::Invitations(2));
        for bad in ["x:1", "m:0", "m:", "i:two", "3"] {
            assert!(Cursor::parse(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(Cursor::Invitations(4).encode(), "i:4");
    }

    #[test]
    fn logins_are_github_names_only() {
        for good in ["octocat", "ada-lovelace", "a1", "A"] {
            assert!(is_login(good), "{good}");
        }
        for bad in [
            "",
            "-ada",
            "ada-",
            "ada/../x",
            "ada lovelace",
            "ada@example.com",
            &"a".repeat(40),
        ] {
            assert!(!is_login(bad), "{bad}");
        }
    }
}
