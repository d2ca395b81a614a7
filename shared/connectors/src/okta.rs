//! Okta: the Users API of an Okta org (`https://{org}.okta.com/api/v1`), with an API token
//! (`Authorization: SSWS …`). Okta is a SCIM client, not a server, so this is its REST API.
//!
//! Create uses `activate=true` without a password: Okta emails the person an activation link
//! and the user stays `PROVISIONED` ("Invite Sent") until they activate. Remove is what Okta
//! requires: deactivate, then delete. Suspend and reactivate are the lifecycle operations
//! `suspend` (ACTIVE users only, to SUSPENDED) and `unsuspend` (SUSPENDED users only, back to
//! ACTIVE): https://developer.okta.com/docs/api/openapi/okta-management/management/tag/UserLifecycle

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use prov_core::catalog::{self, App, ConnectionType};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;
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
use crate::spec::Tenant;
use crate::spec::{AppSpec, tenant_url};
use std::sync::Arc;

/// The hosts an Okta org lives on.
pub const HOSTS: &[&str] = &["*.okta.com", "*.oktapreview.com", "*.okta-emea.com"];
const PAGE_SIZE: &str = "200";

pub struct OktaConnector {
    session: Session,
    /// The org, e.g. `https://acme.okta.com/`.
    org: Url,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    login: Option<String>,
}

#[derive(Debug, Deserialize)]
struct User {
    id: String,
    status: String,
    profile: Profile,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OktaError {
    error_code: Option<String>,
    error_summary: Option<String>,
    #[serde(default)]
    error_causes: Vec<Cause>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cause {
    error_summary: Option<String>,
}

fn status(okta: &str) -> AccountStatus {
    match okta {
        // Created, activation email sent (or staged): not yet signed in.
        "PROVISIONED" | "STAGED" => AccountStatus::InviteSent,
        "SUSPENDED" => AccountStatus::Suspended,
        "DEPROVISIONED" => AccountStatus::Deleted,
        // ACTIVE, LOCKED_OUT, PASSWORD_EXPIRED, RECOVERY: an account in use.
        _ => AccountStatus::Active,
    }
}

fn account(user: User) -> VendorAccount {
    VendorAccount {
        id: user.id,
        email: user.profile.email.or(user.profile.login),
        first_name: user.profile.first_name,
        last_name: user.profile.last_name,
        display_name: None,
        status: status(&user.status),
    }
}

/// Okta's error body, mapped to the typed error.
fn okta_error(response: &VendorResponse) -> ConnectorError {
    let parsed: Option<OktaError> = serde_json::from_slice(&response.body).ok();
    let code = parsed
        .as_ref()
        .and_then(|e| e.error_code.clone())
        .unwrap_or_default();
    let summary = parsed
        .as_ref()
        .map(|e| {
            let causes: Vec<String> = e
                .error_causes
                .iter()
                .filter_map(|c| c.error_summary.clone())
                .collect();
            let head = e.error_summary.clone().unwrap_or_default();
            brief(&if causes.is_empty() {
                head
            } else {
                format!("{head}: {}", causes.join("; "))
            })
        })
        .unwrap_or_else(|| response.text());
    match response.status {
        StatusCode::UNAUTHORIZED => {
            ConnectorError::Unauthorized(format!("{code} {summary}").trim().to_owned())
        }
        StatusCode::FORBIDDEN => ConnectorError::Unauthorized(format!(
            "{code} {summary} (the token's admin may not manage users)"
        )),
        StatusCode::NOT_FOUND => ConnectorError::NotFound,
        s if s.is_client_error() && summary.to_lowercase().contains("already exists") => {
            ConnectorError::Conflict(summary)
        }
        s if s.is_client_error() => ConnectorError::Invalid(format!("{code} {summary}").trim().to_owned()),
        s => ConnectorError::Transient(format!("Okta answered {s}: {summary}")),
    }
}

/// The `after` cursor of Okta's `Link: <…>; rel="next"` header, if that link stays on the org.
fn next_cursor(response: &VendorResponse, org: &Url) -> Option<String> {
    response
        .headers
        .get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|header| {
            header.split(',').find_map(|link| {
                let (target, params) = link.split_once(';')?;
                if !params.contains("rel=\"next\"") {
                    return None;
                }
                let url = Url::parse(target.trim().trim_start_matches('<').trim_end_matches('>')).ok()?;
                if url.host_str() != org.host_str() {
                    return None; // never follow a link off the vendor
                }
                url.query_pairs()
                    .find(|(k, _)| k == "after")
                    .map(|(_, v)| v.into_owned())
            })
        })
}

impl OktaConnector {
    pub fn new(session: Session, org: &Url) -> Self {
        let mut org = org.clone();
        org.set_path("/");
        org.set_query(None);
        Self { session, org }
    }

    fn url(&self, path: &str) -> Result<Url, ConnectorError> {
        self.org
            .join(path)
            .map_err(|e| ConnectorError::Invalid(format!("bad Okta path: {e}")))
    }

    fn user_url(&self, id: &str, action: Option<&str>) -> Result<Url, ConnectorError> {
        let mut url = self.url("api/v1/users")?;
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|_| ConnectorError::Invalid("bad Okta org".into()))?;
            segments.push(id);
            if let Some(action) = action {
                segments.push("lifecycle").push(action);
            }
        }
        Ok(url)
    }

    /// Runs a lifecycle operation and answers the user as Okta then shows them. Okta refuses
    /// an operation the user's status does not allow; that is no error when the user already
    /// has the status the operation leads to (`done`), and otherwise says the status.
    async fn lifecycle(&self, id: &str, action: &str, done: &str) -> Result<VendorAccount, ConnectorError> {
        let response = self
            .session
            .send(VendorRequest::new(Method::POST, self.user_url(id, Some(action))?).repeatable())
            .await?;
        let refused = match response.status {
            s if s.is_success() => None,
            StatusCode::BAD_REQUEST | StatusCode::FORBIDDEN | StatusCode::CONFLICT => {
                Some(okta_error(&response))
            }
            _ => return Err(okta_error(&response)),
        };
        let user = self.fetch(id).await?.ok_or(ConnectorError::NotFound)?;
        match refused {
            Some(_) if user.status == done => Ok(account(user)),
            Some(ConnectorError::Unauthorized(why)) => Err(ConnectorError::Unauthorized(why)),
            Some(_) => Err(ConnectorError::Invalid(format!(
                "Okta cannot {action} a user whose status is {}",
                user.status
            ))),
            None => Ok(account(user)),
        }
    }

    /// One page of `GET /api/v1/users`, filtered or not, and the `after` of the next.
    async fn page_of_users(
        &self,
        filter: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<AccountPage, ConnectorError> {
        let mut url = self.url("api/v1/users")?;
        url.query_pairs_mut().append_pair("limit", PAGE_SIZE);
        if let Some(filter) = filter {
            url.query_pairs_mut().append_pair("filter", filter);
        }
        if let Some(after) = cursor {
            url.query_pairs_mut().append_pair("after", after);
        }
        let response = self.session.send(VendorRequest::get(url)).await?;
        if !response.status.is_success() {
            return Err(okta_error(&response));
        }
        let users: Vec<User> = response.json()?;
        Ok(AccountPage {
            next: next_cursor(&response, &self.org),
            accounts: users.into_iter().map(account).collect(),
        })
    }

    async fn fetch(&self, id: &str) -> Result<Option<User>, ConnectorError> {
        let response = self
            .session
            .send(VendorRequest::get(self.user_url(id, None)?))
            .await?;
        match response.status {
            s if s.is_success() => Ok(Some(response.json()?)),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(okta_error(&response)),
        }
    }
}

#[async_trait]
impl Connector for OktaConnector {
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
        let response = self
            .session
            .send(VendorRequest::get(self.url("api/v1/users/me")?))
            .await?;
        if response.status.is_success() {
            // The token's own user: anything else (a sign-in page) is not Okta's API.
            response.json::<User>().map(|_| ())
        } else {
            Err(okta_error(&response))
        }
    }

    /// The org: its id from the org's well-known metadata (`GET /.well-known/okta-organization`,
    /// https://developer.okta.com/docs/api/openapi/okta-management/management/tag/OrgSettingMetadata/),
    /// after the token is proven at the org. The id stays when a custom domain is added.
    async fn tenant(&self) -> Result<VendorTenant, ConnectorError> {
        #[derive(Deserialize)]
        struct OrgMetadata {
            id: String,
        }
        let response = self
            .session
            .send(VendorRequest::get(self.url(".well-known/okta-organization")?))
            .await?;
        if !response.status.is_success() {
            return Err(okta_error(&response));
        }
        let org: OrgMetadata = response.json()?;
        Ok(VendorTenant {
            id: org.id,
            name: self.org.host_str().unwrap_or_default().to_owned(),
        })
    }

    async fn list(&self, cursor: Option<&str>) -> Result<AccountPage, ConnectorError> {
        self.page_of_users(None, cursor).await
    }

    /// `filter=lastUpdated gt "…"`: Okta's `filter` compares `lastUpdated` with `gt` and reads
    /// current data (its `search` may lag behind a change), in pages like the plain listing
    /// (https://developer.okta.com/docs/api/openapi/okta-management/management/tag/User/#tag/User/operation/listUsers).
    async fn list_changed(
        &self,
        since: DateTime<Utc>,
        cursor: Option<&str>,
    ) -> Result<AccountPage, ConnectorError> {
        let filter = format!("lastUpdated gt \"{}\"", since.format("%Y-%m-%dT%H:%M:%S%.3fZ"));
        self.page_of_users(Some(&filter), cursor).await
    }

    async fn get(&self, id: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        Ok(self.fetch(id).await?.map(account))
    }

    async fn find_by_email(&self, email: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        if email.contains(['"', '\\']) || email.chars().any(char::is_control) {
            return Err(ConnectorError::Invalid("the email cannot be searched for".into()));
        }
        let mut url = self.url("api/v1/users")?;
        // `filter` is consistent at once, unlike `search`.
        url.query_pairs_mut()
            .append_pair("filter", &format!("profile.email eq \"{email}\""));
        let response = self.session.send(VendorRequest::get(url)).await?;
        if !response.status.is_success() {
            return Err(okta_error(&response));
        }
        let users: Vec<User> = response.json()?;
        Ok(users
            .into_iter()
            .map(account)
            .find(|a| a.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(email))))
    }

    async fn create(&self, new: &NewAccount) -> Result<VendorAccount, ConnectorError> {
        let post = async {
            let mut url = self.url("api/v1/users")?;
            url.query_pairs_mut().append_pair("activate", "true");
            let body = json!({"profile": {
                "firstName": new.first_name, "lastName": new.last_name, "email": new.email, "login": new.email
            }});
            let response = self
                .session
                .send(VendorRequest::new(Method::POST, url).json(body))
                .await?;
            if response.status.is_success() {
                Ok(account(response.json()?))
            } else {
                Err(okta_error(&response))
            }
        };
        create_once(self, &new.email, post).await
    }

    async fn suspend(&self, id: &str) -> Result<VendorAccount, ConnectorError> {
        self.lifecycle(id, "suspend", "SUSPENDED").await
    }

    async fn reactivate(&self, id: &str) -> Result<VendorAccount, ConnectorError> {
        self.lifecycle(id, "unsuspend", "ACTIVE").await
    }

    async fn delete(&self, id: &str) -> Result<Verified, ConnectorError> {
        let Some(user) = self.fetch(id).await? else {
            return Ok(Verified::AlreadyGone); // the user's own resource
        };
        if user.status != "DEPROVISIONED" {
            let response = self
                .session
                .send(VendorRequest::new(
                    Method::POST,
                    self.user_url(id, Some("deactivate"))?,
                ))
                .await?;
            match response.status {
                // A 404 of the action says nothing: the user's own DELETE below does.
                s if s.is_success() || s == StatusCode::NOT_FOUND => {}
                _ => return Err(okta_error(&response)),
            }
        }
        let response = self
            .session
            .send(VendorRequest::new(Method::DELETE, self.user_url(id, None)?))
            .await?;
        match response.status {
            s if s.is_success() => Ok(Verified::VendorAnswer),
            StatusCode::NOT_FOUND => Ok(Verified::AlreadyGone),
            _ => Err(okta_error(&response)),
        }
    }
}

fn okta_ssws(c: &ApiKeyContext<'_>) -> Result<Arc<dyn Authenticator>, ConnectorError> {
    Ok(Arc::new(StaticAuth::scheme("SSWS", c.secret("api_token")?)))
}

fn okta_check(tenant: &Tenant, _: &str, _: &str) -> Result<(), ConnectorError> {
    tenant_url(tenant, "org_url", HOSTS).map(|_| ())
}

/// What the product shows of okta (the app directory's entry).
pub const APP: App = App {
    vendor_plan_note: Some("Requires a paid Okta plan."),
    remove_means: "Deactivates the user, then deletes them.",
    suspend_means: Some(
        "Suspends the user (Okta's SUSPENDED status: no sign-in, assignments kept); only an active user can be suspended.",
    ),
    credential_fields: &[
        catalog::url("org_url", "Okta org URL (https://your-org.okta.com)"),
        catalog::secret("api_token", "API token"),
    ],
    tenant: "Okta org",
    ..catalog::app(
        "okta",
        "Okta",
        ConnectionType::ApiKey,
        catalog::CREATE_SUSPEND_REMOVE,
    )
};

/// How the service talks to okta.
pub const SPEC: AppSpec = AppSpec {
    app: &APP,
    hosts: HOSTS,
    // Okta's limits depend on the org's SKU; stay under the smallest management bucket.
    limit: Some(RateLimit {
        per_minute: 300,
        burst: 25,
    }),
    oauth: None,
    check: okta_check,
    api_key_auth: Some(okta_ssws),
    exchange: None,
    build: |session, tenant| {
        let org = tenant_url(tenant, "org_url", HOSTS)?;
        Ok(Box::new(OktaConnector::new(session, &org)))
    },
};
