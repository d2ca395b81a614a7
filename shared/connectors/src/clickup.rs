//! ClickUp: the Workspace user endpoints of ClickUp's API v2 (`https://api.clickup.com/api/v2`),
//! with a personal API token sent bare (`Authorization: pk_…`, no `Bearer`). API v2 calls a
//! Workspace a "team": the connection's `team_id` is the Workspace ID.
//!
//! ClickUp opens its user endpoints (Invite User To Workspace, Get User, Remove User From
//! Workspace) to Enterprise Workspaces only, so connecting checks the Workspace's plan and
//! that the token's user is one of its owners or admins.
//!
//! - Listing: ClickUp has no paged user listing. The Workspace's whole member list comes in
//!   one answer from Get Authorized Workspaces (`GET /v2/team`). Guests (role 4) are left
//!   out: ClickUp manages them with separate guest endpoints, and this connector invites and
//!   removes members only.
//! - Create invites the email as a member (`admin: false`). ClickUp emails an invitation,
//!   and the member has no `date_joined` until they accept ("Invite Sent").
//! - Remove is ClickUp's Remove User From Workspace, which ClickUp describes as deactivating
//!   the user in that Workspace. They lose access to the Workspace, but their ClickUp account
//!   stays (it can belong to other Workspaces).
//! - ClickUp's API has no suspend and no reactivate.

use async_trait::async_trait;
use prov_core::catalog::{self, App, ConnectionType};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};
use url::Url;

use crate::error::{ConnectorError, brief};
use crate::http::Authenticator;
use crate::http::RateLimit;
use crate::http::StaticAuth;
use crate::http::{Session, VendorRequest, VendorResponse};
use crate::model::{
    AccountPage, AccountStatus, Connector, ConnectorCapabilities, NewAccount, VendorAccount, VendorTenant,
    Verified, create_once,
};
use crate::spec::ApiKeyContext;
use crate::spec::AppSpec;
use crate::spec::Tenant;
use std::sync::Arc;

/// ClickUp's API host (one for every Workspace).
pub const HOSTS: &[&str] = &["api.clickup.com"];
const BASE: &str = "https://api.clickup.com/api/";

/// ClickUp's role codes: 1 owner, 2 admin, 3 member, 4 guest.
const ADMIN: u8 = 2;
const GUEST: u8 = 4;

/// The `ECODE`s ClickUp documents for a missing or revoked token ("Authorization Header
/// Required", "Token not found").
const TOKEN_REFUSED: &[&str] = &["OAUTH_017", "OAUTH_019", "OAUTH_021", "OAUTH_025", "OAUTH_077"];

/// "Team not authorized": OAUTH_023, OAUTH_026, OAUTH_027 and OAUTH_029 to OAUTH_045.
fn workspace_not_authorized(code: &str) -> bool {
    code.strip_prefix("OAUTH_")
        .and_then(|n| n.parse::<u32>().ok())
        .is_some_and(|n| matches!(n, 23 | 26 | 27 | 29..=45))
}

/// A personal API token as ClickUp issues it: `pk_` and more, one header-safe word.
pub fn is_personal_token(token: &str) -> bool {
    token.len() > 3 && token.starts_with("pk_") && token.chars().all(|c| c.is_ascii_graphic())
}

/// The connection's Workspace ID (`team_id`): ClickUp's Workspace IDs are numbers.
pub fn workspace_id(tenant: &Tenant) -> Result<String, ConnectorError> {
    let raw = tenant
        .get("team_id")
        .map(|v| v.trim())
        .ok_or_else(|| ConnectorError::Invalid("`team_id` is required".into()))?;
    if raw.is_empty() || raw.len() > 20 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ConnectorError::Invalid(
            "`team_id` must be the Workspace ID: digits only (the number right after app.clickup.com/ in ClickUp's address bar)".into(),
        ));
    }
    Ok(raw.to_owned())
}

/// Whether an id can be a ClickUp user id (numbers); any other id names no ClickUp user.
fn is_user_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())
}

/// ClickUp sends user ids as numbers and Workspace ids as strings; both become text.
fn id_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!("unexpected id {other}"))),
    }
}

#[derive(Debug, Deserialize)]
struct User {
    #[serde(deserialize_with = "id_text")]
    id: String,
    username: Option<String>,
    email: Option<String>,
    role: Option<u8>,
    /// Unix milliseconds as text; `null` while the invitation is not accepted.
    #[serde(default)]
    date_joined: Value,
}

impl User {
    fn is_guest(&self) -> bool {
        self.role == Some(GUEST)
    }

    fn has_email(&self, email: &str) -> bool {
        self.email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(email))
    }
}

#[derive(Debug, Deserialize)]
struct Member {
    user: User,
}

#[derive(Debug, Deserialize)]
struct Team {
    #[serde(deserialize_with = "id_text")]
    id: String,
    name: Option<String>,
    #[serde(default)]
    members: Vec<Member>,
}

/// Get Authorized Workspaces.
#[derive(Debug, Deserialize)]
struct Teams {
    #[serde(default)]
    teams: Vec<Team>,
}

/// Invite User To Workspace answers with the Workspace and its members.
#[derive(Debug, Deserialize)]
struct TeamAnswer {
    team: Team,
}

/// Get User.
#[derive(Debug, Deserialize)]
struct MemberAnswer {
    member: Member,
}

/// Get Authorized User.
#[derive(Debug, Deserialize)]
struct Me {
    user: User,
}

/// Get Workspace Plan: `{"plan_name": "Enterprise", "plan_id": …}`.
#[derive(Debug, Deserialize)]
struct Plan {
    plan_name: Option<String>,
}

/// ClickUp's error body: `{"err": "Token invalid", "ECODE": "OAUTH_025"}`.
#[derive(Debug, Deserialize)]
struct ClickUpError {
    err: Option<String>,
    #[serde(rename = "ECODE")]
    ecode: Option<String>,
}

fn status(user: &User) -> AccountStatus {
    let joined = match &user.date_joined {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        _ => true,
    };
    if joined {
        AccountStatus::Active
    } else {
        AccountStatus::InviteSent
    }
}

fn account(user: User) -> VendorAccount {
    let status = status(&user);
    VendorAccount {
        id: user.id,
        email: user.email,
        first_name: None,
        last_name: None,
        // ClickUp keeps one display name (`username`), not first and last names.
        display_name: user.username.filter(|n| !n.trim().is_empty()),
        status,
    }
}

fn role_name(role: u8) -> &'static str {
    match role {
        1 => "owner",
        2 => "admin",
        3 => "member",
        4 => "guest",
        _ => "user without an admin role",
    }
}

pub struct ClickUpConnector {
    session: Session,
    base: Url,
    /// The Workspace ID.
    team_id: String,
}

impl ClickUpConnector {
    pub fn new(session: Session, team_id: &str) -> Self {
        Self {
            session,
            base: Url::parse(BASE).expect("valid"),
            team_id: team_id.to_owned(),
        }
    }

    /// `https://api.clickup.com/api/v2/<segments…>`, each segment escaped.
    fn url(&self, segments: &[&str]) -> Result<Url, ConnectorError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| ConnectorError::Invalid("bad ClickUp URL".into()))?
            .pop_if_empty()
            .push("v2")
            .extend(segments);
        Ok(url)
    }

    fn user_url(&self, id: &str) -> Result<Url, ConnectorError> {
        self.url(&["team", &self.team_id, "user", id])
    }

    /// ClickUp's error answer, mapped to the typed error.
    fn error(&self, response: &VendorResponse) -> ConnectorError {
        let parsed: Option<ClickUpError> = serde_json::from_slice(&response.body).ok();
        let code = parsed.as_ref().and_then(|e| e.ecode.clone()).unwrap_or_default();
        let message = parsed
            .as_ref()
            .and_then(|e| e.err.as_deref())
            .map(brief)
            .unwrap_or_else(|| response.text());
        let said = format!("{code} {message}").trim().to_owned();
        if TOKEN_REFUSED.contains(&code.as_str()) {
            return ConnectorError::Unauthorized(format!(
                "{said} (the personal API token is missing, wrong or revoked)"
            ));
        }
        if workspace_not_authorized(&code) {
            return ConnectorError::Unauthorized(format!(
                "{said} (the token is not authorized for Workspace {})",
                self.team_id
            ));
        }
        let lower = message.to_lowercase();
        let mentions_plan = lower.contains("enterprise") || lower.contains("upgrade");
        match response.status {
            StatusCode::UNAUTHORIZED => ConnectorError::Unauthorized(said),
            s if s.is_client_error() && mentions_plan => ConnectorError::PlanRequired(format!(
                "{said} (ClickUp's user management API needs the Enterprise plan)"
            )),
            StatusCode::FORBIDDEN => ConnectorError::Unauthorized(format!(
                "{said} (the token's user may not manage this Workspace's users: it must be an owner or admin)"
            )),
            StatusCode::NOT_FOUND => ConnectorError::NotFound,
            s if s.is_client_error() && lower.contains("already") => ConnectorError::Conflict(said),
            s if s.is_client_error() => ConnectorError::Invalid(said),
            s => ConnectorError::Transient(format!("ClickUp answered {s}: {said}")),
        }
    }

    /// Whether ClickUp's refusal says the user is not there: a 404, or a "not found" error
    /// that is not about the token or the Workspace (ClickUp does not document its answer
    /// for a user outside the Workspace).
    fn says_missing(&self, response: &VendorResponse) -> bool {
        if response.status == StatusCode::NOT_FOUND {
            return true;
        }
        if !response.status.is_client_error()
            || matches!(
                response.status,
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS
            )
        {
            return false;
        }
        let parsed: Option<ClickUpError> = serde_json::from_slice(&response.body).ok();
        let about_auth = parsed
            .as_ref()
            .and_then(|e| e.ecode.as_deref())
            .is_some_and(|c| c.starts_with("OAUTH_"));
        let not_found = parsed
            .as_ref()
            .and_then(|e| e.err.as_deref())
            .is_some_and(|m| m.to_lowercase().contains("not found"));
        not_found && !about_auth
    }

    /// Sends, and answers the vendor's response when it succeeded.
    async fn call(&self, request: VendorRequest) -> Result<VendorResponse, ConnectorError> {
        let response = self.session.send(request).await?;
        if response.status.is_success() {
            Ok(response)
        } else {
            Err(self.error(&response))
        }
    }

    /// The connection's Workspace among the token's Workspaces.
    async fn workspace(&self) -> Result<Team, ConnectorError> {
        let teams: Teams = self
            .call(VendorRequest::get(self.url(&["team"])?))
            .await?
            .json()?;
        let seen: Vec<String> = teams
            .teams
            .iter()
            .map(|t| match &t.name {
                Some(name) => format!("{} ({})", t.id, brief(name)),
                None => t.id.clone(),
            })
            .collect();
        teams
            .teams
            .into_iter()
            .find(|t| t.id == self.team_id)
            .ok_or_else(|| {
                ConnectorError::Unauthorized(format!(
                    "the token's user is not in Workspace {} (it sees {}); check the Workspace ID",
                    self.team_id,
                    if seen.is_empty() {
                        "no Workspace".to_owned()
                    } else {
                        seen.join(", ")
                    }
                ))
            })
    }

    /// The Workspace's members, guests left out.
    async fn members(&self) -> Result<Vec<User>, ConnectorError> {
        Ok(self
            .workspace()
            .await?
            .members
            .into_iter()
            .map(|m| m.user)
            .filter(|u| !u.is_guest())
            .collect())
    }

    /// Get User (guests included); `None` when ClickUp says there is no such user.
    async fn fetch(&self, id: &str) -> Result<Option<User>, ConnectorError> {
        if !is_user_id(id) {
            return Ok(None);
        }
        let response = self.session.send(VendorRequest::get(self.user_url(id)?)).await?;
        if response.status.is_success() {
            let answer: MemberAnswer = response.json()?;
            return Ok(Some(answer.member.user));
        }
        if self.says_missing(&response) {
            return Ok(None);
        }
        Err(self.error(&response))
    }
}

#[async_trait]
impl Connector for ClickUpConnector {
    fn capabilities(&self) -> ConnectorCapabilities {
        ConnectorCapabilities {
            create: true,
            suspend: false,
            reactivate: false,
            delete: true,
            shows_invites: true,
        }
    }

    /// The token works (Get Authorized User), sees the Workspace as an owner or admin, and the
    /// Workspace is on the Enterprise plan (Get Workspace Plan).
    async fn verify(&self) -> Result<(), ConnectorError> {
        let me: Me = self
            .call(VendorRequest::get(self.url(&["user"])?))
            .await?
            .json()?;
        let team = self.workspace().await?;
        let role = team
            .members
            .iter()
            .find(|m| m.user.id == me.user.id)
            .and_then(|m| m.user.role);
        match role {
            Some(role) if role <= ADMIN => {}
            Some(role) => {
                return Err(ConnectorError::Unauthorized(format!(
                    "the token belongs to a {} of Workspace {}; ClickUp lets only the Workspace's owners and admins manage users",
                    role_name(role),
                    self.team_id
                )));
            }
            None => {
                return Err(ConnectorError::Unauthorized(format!(
                    "the token's user is not listed as an owner or admin of Workspace {}; ClickUp lets only them manage users",
                    self.team_id
                )));
            }
        }
        let plan: Plan = self
            .call(VendorRequest::get(self.url(&["team", &self.team_id, "plan"])?))
            .await?
            .json()?;
        let name = plan.plan_name.map(|n| brief(&n)).unwrap_or_default();
        if !name.to_lowercase().contains("enterprise") {
            let on = if name.is_empty() {
                "a plan ClickUp did not name".to_owned()
            } else {
                format!("the {name} plan")
            };
            return Err(ConnectorError::PlanRequired(format!(
                "Workspace {} is on {on}; ClickUp opens user management (invite, remove) to Enterprise Workspaces only",
                self.team_id
            )));
        }
        Ok(())
    }

    /// The Workspace as Get Authorized Workspaces (`GET /v2/team`,
    /// https://developer.clickup.com/reference/getauthorizedteams) lists it for the token.
    async fn tenant(&self) -> Result<VendorTenant, ConnectorError> {
        let team = self.workspace().await?;
        Ok(VendorTenant {
            name: team
                .name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| team.id.clone()),
            id: team.id,
        })
    }

    /// ClickUp answers the whole member list at once: one page, no cursor.
    async fn list(&self, cursor: Option<&str>) -> Result<AccountPage, ConnectorError> {
        if cursor.is_some() {
            return Err(ConnectorError::Invalid(
                "ClickUp lists a Workspace's members in one answer; it has no next page".into(),
            ));
        }
        Ok(AccountPage {
            accounts: self.members().await?.into_iter().map(account).collect(),
            next: None,
        })
    }

    async fn get(&self, id: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        Ok(self.fetch(id).await?.filter(|u| !u.is_guest()).map(account))
    }

    async fn find_by_email(&self, email: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        Ok(self
            .members()
            .await?
            .into_iter()
            .find(|u| u.has_email(email))
            .map(account))
    }

    async fn create(&self, new: &NewAccount) -> Result<VendorAccount, ConnectorError> {
        let post = async {
            let body = json!({"email": new.email, "admin": false});
            let url = self.url(&["team", &self.team_id, "user"])?;
            let answer: TeamAnswer = self
                .call(VendorRequest::new(Method::POST, url).json(body))
                .await?
                .json()?;
            let invited = answer
                .team
                .members
                .into_iter()
                .map(|m| m.user)
                .find(|u| u.has_email(&new.email));
            match invited {
                Some(user) => Ok(account(user)),
                None => self.find_by_email(&new.email).await?.ok_or_else(|| {
                    ConnectorError::Transient(
                        "ClickUp accepted the invitation but did not list the new member".into(),
                    )
                }),
            }
        };
        create_once(self, &new.email, post).await
    }

    async fn delete(&self, id: &str) -> Result<Verified, ConnectorError> {
        if !is_user_id(id) {
            // No ClickUp user has this id, so no account known at this Workspace does:
            // nothing is sent, and nothing is proven removed.
            return Err(ConnectorError::Invalid(format!(
                "`{}` is not a ClickUp user id",
                brief(id)
            )));
        }
        let in_workspace = |team: Team| team.members.iter().any(|m| m.user.id == id);
        let response = self
            .session
            .send(VendorRequest::new(Method::DELETE, self.user_url(id)?))
            .await?;
        if response.status.is_success() {
            return Ok(Verified::VendorAnswer);
        }
        let error = self.error(&response);
        // ClickUp does not document its answer for a user already gone: on a refusal that
        // may mean it, the Workspace's member list (authoritative) decides.
        let maybe_gone = self.says_missing(&response)
            || matches!(error, ConnectorError::Invalid(_) | ConnectorError::Conflict(_));
        if maybe_gone && !in_workspace(self.workspace().await?) {
            return Ok(Verified::ReadBack);
        }
        Err(error)
    }
}

/// ClickUp's personal token goes in `Authorization` as it is, without a scheme.
fn clickup_token(c: &ApiKeyContext<'_>) -> Result<Arc<dyn Authenticator>, ConnectorError> {
    Ok(Arc::new(StaticAuth::bare(c.secret("api_token")?)))
}

fn clickup_check(tenant: &Tenant, field: &str, value: &str) -> Result<(), ConnectorError> {
    workspace_id(tenant)?;
    if field == "api_token" && !is_personal_token(value) {
        return Err(ConnectorError::Invalid(
            "`api_token` must be a ClickUp personal API token, which starts with `pk_` (ClickUp: Settings, Apps, API Token)".into(),
        ));
    }
    Ok(())
}

/// What the product shows of clickup (the app directory's entry).
pub const APP: App = App {
    vendor_plan_note: Some("ClickUp's user management API needs the Enterprise plan."),
    remove_means: "Removes the member from the ClickUp Workspace (ClickUp deactivates them there): they lose access to the Workspace; their ClickUp account stays.",
    credential_fields: &[
        catalog::secret(
            "api_token",
            "Personal API token (starts with pk_) of a workspace owner or admin",
        ),
        catalog::text(
            "team_id",
            "Workspace (team) ID: the number after app.clickup.com/ in ClickUp's address",
        ),
    ],
    differences_from_product_docs: &[
        "ClickUp's user endpoints need the Enterprise plan; other plans are refused at connect.",
        "Creating an account invites the email as a Workspace member; it shows \"Invite Sent\" until the person accepts ClickUp's invitation.",
        "Only members are listed and managed: the Workspace's guests are left out.",
        "ClickUp keeps one display name per user, not a first and last name.",
    ],
    tenant: "ClickUp Workspace",
    ..catalog::app(
        "clickup",
        "ClickUp",
        ConnectionType::ApiKey,
        catalog::CREATE_REMOVE,
    )
};

/// How the service talks to clickup.
pub const SPEC: AppSpec = AppSpec {
    app: &APP,
    hosts: HOSTS,
    // Per token: 100 a minute below Business Plus, 10,000 on Enterprise, which connecting
    // requires. The personal token is an admin's own and may serve their other
    // integrations too, so keep to a tenth of Enterprise's; a 429 still waits for
    // `X-RateLimit-Reset`.
    limit: Some(RateLimit {
        per_minute: 1_000,
        burst: 50,
    }),
    oauth: None,
    check: clickup_check,
    api_key_auth: Some(clickup_token),
    exchange: None,
    build: |session, tenant| {
        let team_id = workspace_id(tenant)?;
        Ok(Box::new(ClickUpConnector::new(session, &team_id)))
    },
};
