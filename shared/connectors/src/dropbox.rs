//! Dropbox teams: the Team API's member routes (`https://api.dropboxapi.com/2/team/members/…`,
//! RPC style: every call a `POST` with a JSON body) with a team admin's OAuth token. Dropbox
//! has no public inbound SCIM API.
//!
//! Create adds the member with Dropbox's welcome email (the invitation): `invited` until the
//! person joins. Suspend keeps the member's data (`wipe_data: false`); remove takes the member
//! off the team and wipes team data from their devices (Dropbox keeps the account's files
//! with the team, recoverable for 7 days). Add and remove may answer with an asynchronous
//! job, which is polled to its end.

use std::time::Duration;

use async_trait::async_trait;
use prov_core::catalog::{self, App, ConnectionType};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use crate::error::{ConnectorError, brief};
use crate::http::RateLimit;
use crate::http::{Session, VendorRequest, VendorResponse};
use crate::model::{
    AccountPage, AccountStatus, Connector, ConnectorCapabilities, NewAccount, VendorAccount, VendorTenant,
    Verified, create_once,
};
use crate::spec::{AppSpec, OAuthSpec, TokenStyle, no_check};

pub const HOSTS: &[&str] = &["www.dropbox.com", "api.dropboxapi.com"];
const API: &str = "https://api.dropboxapi.com/2/";
const PAGE_SIZE: u32 = 200;
/// How often an asynchronous job is asked about before giving up (it can be retried).
const POLLS: u32 = 10;
const POLL_WAIT: Duration = Duration::from_secs(1);

pub struct DropboxConnector {
    session: Session,
}

#[derive(Debug, Deserialize)]
struct Tag {
    #[serde(rename = ".tag")]
    tag: String,
}

#[derive(Debug, Deserialize)]
struct Name {
    given_name: Option<String>,
    surname: Option<String>,
    display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Profile {
    team_member_id: String,
    email: Option<String>,
    status: Tag,
    name: Option<Name>,
}

#[derive(Debug, Deserialize)]
struct Member {
    profile: Profile,
}

#[derive(Debug, Deserialize)]
struct MemberList {
    members: Vec<Member>,
    cursor: Option<String>,
    #[serde(default)]
    has_more: bool,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error_summary: Option<String>,
    error: Option<Tag>,
}

fn status(tag: &str) -> AccountStatus {
    match tag {
        "invited" => AccountStatus::InviteSent,
        "suspended" => AccountStatus::Suspended,
        "removed" => AccountStatus::Deleted,
        _ => AccountStatus::Active,
    }
}

fn account(profile: Profile) -> VendorAccount {
    let name = profile.name.unwrap_or(Name {
        given_name: None,
        surname: None,
        display_name: None,
    });
    VendorAccount {
        id: profile.team_member_id,
        email: profile.email,
        first_name: name.given_name,
        last_name: name.surname,
        display_name: name.display_name,
        status: status(&profile.status.tag),
    }
}

/// The route error's tag (`user_not_found`, …) of a 409, if that is what came back.
fn route_error(response: &VendorResponse) -> Option<String> {
    if response.status != StatusCode::CONFLICT {
        return None;
    }
    serde_json::from_slice::<ErrorBody>(&response.body)
        .ok()?
        .error
        .map(|e| e.tag)
}

/// Dropbox's errors: 409 route errors, 401 `AuthError`, 403 `AccessError`, 400 plain text.
fn dropbox_error(response: &VendorResponse) -> ConnectorError {
    let parsed: Option<ErrorBody> = serde_json::from_slice(&response.body).ok();
    let summary = parsed
        .as_ref()
        .and_then(|e| e.error_summary.clone())
        .map(|s| brief(&s))
        .unwrap_or_else(|| response.text());
    let tag = parsed.and_then(|e| e.error).map(|t| t.tag).unwrap_or_default();
    match response.status {
        StatusCode::UNAUTHORIZED if tag == "missing_scope" => ConnectorError::Unauthorized(format!(
            "{summary} (the connection needs the members.read, members.write and members.delete scopes)"
        )),
        StatusCode::UNAUTHORIZED => ConnectorError::Unauthorized(summary),
        StatusCode::FORBIDDEN => ConnectorError::Unauthorized(format!(
            "{summary} (the token must be a team admin's, with member management rights)"
        )),
        StatusCode::CONFLICT if tag.contains("not_found") || tag == "user_not_in_team" => {
            ConnectorError::NotFound
        }
        StatusCode::CONFLICT => ConnectorError::Invalid(summary),
        s if s.is_client_error() => ConnectorError::Invalid(summary),
        s => ConnectorError::Transient(format!("Dropbox answered {s}: {summary}")),
    }
}

/// Why a member in a batch result was not added.
fn add_refusal(tag: &str) -> ConnectorError {
    match tag {
        "team_license_limit" | "free_team_member_limit_reached" => {
            ConnectorError::PlanRequired("the Dropbox team has no licence left for another member".into())
        }
        "user_on_another_team" => {
            ConnectorError::Conflict("the email belongs to a member of another Dropbox team".into())
        }
        other => ConnectorError::Invalid(format!("Dropbox did not add the member: {other}")),
    }
}

fn user(id: &str) -> Value {
    json!({".tag": "team_member_id", "team_member_id": id})
}

impl DropboxConnector {
    pub fn new(session: Session) -> Self {
        Self { session }
    }

    /// Calls one RPC route; answers the JSON of a 200, or the vendor's response otherwise.
    async fn call(
        &self,
        route: &str,
        body: Option<Value>,
        repeatable: bool,
    ) -> Result<Result<Value, VendorResponse>, ConnectorError> {
        let url = Url::parse(API)
            .and_then(|base| base.join(route))
            .map_err(|e| ConnectorError::Invalid(format!("bad Dropbox route: {e}")))?;
        let mut request = VendorRequest::new(Method::POST, url);
        if let Some(body) = body {
            request = request.json(body);
        }
        if repeatable {
            request = request.repeatable();
        }
        let response = self.session.send(request).await?;
        if !response.status.is_success() {
            return Ok(Err(response));
        }
        // Routes without a result answer `null` (or nothing); anything else must parse: an
        // unreadable answer is never taken for "no result" (that would read as "no such
        // member" to a lookup).
        if response.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Ok(Value::Null));
        }
        response.json().map(Ok)
    }

    /// A call whose non-200 answers are all errors.
    async fn rpc(&self, route: &str, body: Option<Value>, repeatable: bool) -> Result<Value, ConnectorError> {
        self.call(route, body, repeatable)
            .await?
            .map_err(|r| dropbox_error(&r))
    }

    /// Polls an asynchronous job until it completes; answers the completed result.
    async fn finish(&self, launched: Value, status_route: &str) -> Result<Value, ConnectorError> {
        let Some(job) = launched
            .get("async_job_id")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            return Ok(launched);
        };
        for _ in 0..POLLS {
            self.session.pause(POLL_WAIT).await;
            let answer = self
                .rpc(status_route, Some(json!({"async_job_id": job})), true)
                .await?;
            match answer.get(".tag").and_then(Value::as_str) {
                Some("in_progress") => continue,
                Some("failed") => {
                    return Err(ConnectorError::Invalid(format!(
                        "Dropbox's job failed: {}",
                        brief(&answer["failed"].to_string())
                    )));
                }
                _ => return Ok(answer),
            }
        }
        Err(ConnectorError::Transient(
            "Dropbox is still working on it; try again shortly".into(),
        ))
    }

    async fn info(&self, selector: Value) -> Result<Option<VendorAccount>, ConnectorError> {
        let answer = self
            .rpc(
                "team/members/get_info_v2",
                Some(json!({"members": [selector]})),
                true,
            )
            .await?;
        let Some(found) = answer["members_info"].as_array() else {
            return Err(ConnectorError::Transient(
                "Dropbox's answer did not parse: no `members_info`".into(),
            ));
        };
        let Some(item) = found.first() else {
            return Ok(None);
        };
        if item[".tag"] != "member_info" {
            return Ok(None); // `id_not_found`
        }
        let member: Member = serde_json::from_value(item.clone())
            .map_err(|e| ConnectorError::Transient(format!("Dropbox's answer did not parse: {e}")))?;
        Ok(Some(account(member.profile)))
    }

    /// Calls a suspend/unsuspend route and answers the member as Dropbox then lists them.
    /// The `refused` route error (Dropbox's "not in a state this applies to") is no error
    /// only when the member read back is `wanted` already; otherwise `explain` says why.
    async fn set_state(
        &self,
        route: &str,
        body: Value,
        refused: &str,
        wanted: AccountStatus,
        explain: fn(AccountStatus) -> ConnectorError,
        id: &str,
    ) -> Result<VendorAccount, ConnectorError> {
        let was_refused = match self.call(route, Some(body), true).await? {
            Ok(_) => false,
            Err(r) if route_error(&r).as_deref() == Some(refused) => true,
            Err(r) => return Err(dropbox_error(&r)),
        };
        let member = self.get(id).await?.ok_or(ConnectorError::NotFound)?;
        if was_refused && member.status != wanted {
            return Err(explain(member.status));
        }
        Ok(member)
    }
}

#[async_trait]
impl Connector for DropboxConnector {
    fn capabilities(&self) -> ConnectorCapabilities {
        ConnectorCapabilities {
            create: true,
            suspend: true,
            reactivate: true,
            delete: true,
            shows_invites: true,
        }
    }

    async fn verify(&self) -> Result<(), ConnectorError> {
        // A user-linked (not team) token fails here; the answer names the team.
        self.tenant().await.map(|_| ())
    }

    /// The team, from `team/get_info` (`team_id`, `name`;
    /// https://www.dropbox.com/developers/documentation/http/teams#team-get_info).
    async fn tenant(&self) -> Result<VendorTenant, ConnectorError> {
        let team = self.rpc("team/get_info", None, true).await?;
        let id = team
            .get("team_id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                ConnectorError::Transient("Dropbox's answer did not parse: no `team_id`".into())
            })?;
        Ok(VendorTenant {
            id: id.to_owned(),
            name: team
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.trim().is_empty())
                .unwrap_or(id)
                .to_owned(),
        })
    }

    async fn list(&self, cursor: Option<&str>) -> Result<AccountPage, ConnectorError> {
        let answer = match cursor {
            None => {
                self.rpc(
                    "team/members/list_v2",
                    Some(json!({"limit": PAGE_SIZE, "include_removed": false})),
                    true,
                )
                .await?
            }
            Some(cursor) => {
                self.rpc(
                    "team/members/list/continue_v2",
                    Some(json!({"cursor": cursor})),
                    true,
                )
                .await?
            }
        };
        let page: MemberList = serde_json::from_value(answer)
            .map_err(|e| ConnectorError::Transient(format!("Dropbox's answer did not parse: {e}")))?;
        Ok(AccountPage {
            next: page.cursor.filter(|_| page.has_more),
            accounts: page.members.into_iter().map(|m| account(m.profile)).collect(),
        })
    }

    async fn get(&self, id: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        self.info(user(id)).await
    }

    async fn find_by_email(&self, email: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        self.info(json!({".tag": "email", "email": email})).await
    }

    async fn create(&self, new: &NewAccount) -> Result<VendorAccount, ConnectorError> {
        let post = async {
            let launched = self
                .rpc(
                    "team/members/add_v2",
                    Some(json!({"new_members": [{
                        "member_email": new.email,
                        "member_given_name": new.first_name,
                        "member_surname": new.last_name,
                        "send_welcome_email": true,
                    }], "force_async": false})),
                    false,
                )
                .await?;
            let done = self
                .finish(launched, "team/members/add/job_status/get_v2")
                .await?;
            let Some(result) = done["complete"].as_array().and_then(|a| a.first()) else {
                return Err(ConnectorError::Transient(
                    "Dropbox's add answered no result".into(),
                ));
            };
            match result[".tag"].as_str().unwrap_or_default() {
                "success" => {
                    let member: Member = serde_json::from_value(result.clone()).map_err(|e| {
                        ConnectorError::Transient(format!("Dropbox's answer did not parse: {e}"))
                    })?;
                    Ok(account(member.profile))
                }
                // Added meanwhile: that member (or, if still recoverable only, this says so).
                "user_already_on_team" => Err(ConnectorError::Conflict(
                    "Dropbox says the email is already on the team (a removed member can be recovered in the admin console)".into(),
                )),
                other => Err(add_refusal(other)),
            }
        };
        create_once(self, &new.email, post).await
    }

    async fn suspend(&self, id: &str) -> Result<VendorAccount, ConnectorError> {
        let body = json!({"user": user(id), "wipe_data": false});
        // `suspend_inactive_user`: "The user is not active, so it cannot be suspended"
        // (https://www.dropbox.com/developers/documentation/http/teams#team-members-suspend):
        // already suspended, or invited and not joined yet, which Dropbox cannot suspend.
        self.set_state(
            "team/members/suspend",
            body,
            "suspend_inactive_user",
            AccountStatus::Suspended,
            |status| match status {
                AccountStatus::InviteSent => ConnectorError::Invalid(
                    "Dropbox cannot suspend a member who has not joined the team yet (invited); remove the member instead to withdraw the invitation".into(),
                ),
                _ => ConnectorError::Invalid(
                    "Dropbox refused to suspend the member: they are not active (suspend_inactive_user)".into(),
                ),
            },
            id,
        )
        .await
    }

    async fn reactivate(&self, id: &str) -> Result<VendorAccount, ConnectorError> {
        let body = json!({"user": user(id)});
        // `unsuspend_non_suspended_member`: not suspended, so nothing to undo when active.
        self.set_state(
            "team/members/unsuspend",
            body,
            "unsuspend_non_suspended_member",
            AccountStatus::Active,
            |status| match status {
                AccountStatus::InviteSent => ConnectorError::Invalid(
                    "the Dropbox member has not joined the team yet (invited): there is no suspension to undo".into(),
                ),
                _ => ConnectorError::Invalid(
                    "Dropbox refused to reactivate the member: they are not suspended (unsuspend_non_suspended_member)".into(),
                ),
            },
            id,
        )
        .await
    }

    async fn delete(&self, id: &str) -> Result<Verified, ConnectorError> {
        let body = json!({"user": user(id), "wipe_data": true, "keep_account": false});
        let launched = match self.call("team/members/remove", Some(body), false).await? {
            Ok(v) => v,
            Err(r) => {
                return match dropbox_error(&r) {
                    // The route's own error about this member (`user_not_found`,
                    // `user_not_in_team`): already gone.
                    ConnectorError::NotFound => Ok(Verified::AlreadyGone),
                    other => Err(other),
                };
            }
        };
        // The call's answer (or its finished job) is Dropbox's word that the member is off.
        self.finish(launched, "team/members/remove/job_status/get")
            .await
            .map(|_| Verified::VendorAnswer)
    }
}

/// What the product shows of dropbox (the app directory's entry).
pub const APP: App = App {
    remove_means: "Removes the member from the Dropbox team and wipes team data from their linked devices; for 7 days an admin can recover the member or transfer their files.",
    suspend_means: Some("Suspends the member: no sign-in, files kept."),
    tenant: "Dropbox team",
    ..catalog::app(
        "dropbox",
        "Dropbox",
        ConnectionType::Oauth,
        catalog::CREATE_SUSPEND_REMOVE,
    )
};

/// How the service talks to dropbox.
pub const SPEC: AppSpec = AppSpec {
    app: &APP,
    hosts: HOSTS,
    // Dropbox publishes no number; it answers 429 with `Retry-After` when over.
    limit: Some(RateLimit {
        per_minute: 300,
        burst: 20,
    }),
    oauth: Some(OAuthSpec {
        authorize_url: "https://www.dropbox.com/oauth2/authorize",
        token_url: "https://api.dropboxapi.com/oauth2/token",
        scopes: &[
            "members.read",
            "members.write",
            "members.delete",
            "team_info.read",
        ],
        // A refresh token (short-lived access tokens otherwise end the connection).
        extra_params: &[("token_access_type", "offline")],
        style: TokenStyle::Standard,
        credentials_in_body: false,
        tenant_fields: &[],
        environments: &[],
        organization_field: None,
    }),
    check: no_check,
    api_key_auth: None,
    exchange: None,
    build: |session, _| Ok(Box::new(DropboxConnector::new(session))),
};
