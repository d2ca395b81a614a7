//! HubSpot: the Settings user-provisioning API (`https://api.hubapi.com/settings/v3/users/`)
//! with an OAuth access token. HubSpot documents no public SCIM endpoint for third parties.
//!
//! Create sends HubSpot's welcome email (`sendWelcomeEmail: true`), which is the invitation.
//! HubSpot's users carry no pending/accepted field, so the connector cannot tell an invited
//! user from an active one: it reports `shows_invites: false` and the service keeps the
//! "Invite Sent" it recorded at creation. HubSpot has no suspend; remove deletes the user
//! from the account.

use async_trait::async_trait;
use prov_core::catalog::{self, App, ConnectionType};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;
use url::Url;

use crate::error::{ConnectorError, brief};
use crate::http::RateLimit;
use crate::http::{Session, VendorRequest, VendorResponse, refusal};
use crate::model::{
    AccountPage, AccountStatus, Connector, ConnectorCapabilities, NewAccount, VendorAccount, VendorTenant,
    Verified, create_once,
};
use crate::spec::{AppSpec, OAuthSpec, TokenStyle, no_check};

pub const HOSTS: &[&str] = &["api.hubapi.com", "app.hubspot.com"];
const USERS: &str = "https://api.hubapi.com/settings/v3/users/";
/// The account the token was installed in (https://developers.hubspot.com/docs/api-reference/legacy/account/account-information/get-account-details).
const ACCOUNT_DETAILS: &str = "https://api.hubapi.com/account-info/v3/details";
const PAGE_SIZE: &str = "100";

pub struct HubSpotConnector {
    session: Session,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct User {
    id: String,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Next {
    after: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Paging {
    next: Option<Next>,
}

#[derive(Debug, Deserialize)]
struct Users {
    #[serde(default)]
    results: Vec<User>,
    paging: Option<Paging>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountDetails {
    portal_id: u64,
    /// Not in every version of the answer.
    portal_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct HubSpotError {
    message: Option<String>,
    category: Option<String>,
}

fn account(user: User, status: AccountStatus) -> VendorAccount {
    VendorAccount {
        id: user.id,
        email: user.email,
        first_name: user.first_name,
        last_name: user.last_name,
        display_name: None,
        status,
    }
}

/// HubSpot's error body (`{status, message, category, correlationId, …}`), mapped.
fn hubspot_error(response: &VendorResponse) -> ConnectorError {
    let parsed: Option<HubSpotError> = serde_json::from_slice(&response.body).ok();
    let category = parsed
        .as_ref()
        .and_then(|e| e.category.clone())
        .unwrap_or_default();
    let message = parsed
        .and_then(|e| e.message)
        .map(|m| brief(&m))
        .unwrap_or_else(|| response.text());
    let said = format!("{category} {message}").trim().to_owned();
    match response.status {
        StatusCode::UNAUTHORIZED => ConnectorError::Unauthorized(said),
        StatusCode::FORBIDDEN => ConnectorError::Unauthorized(format!(
            "{said} (the connection needs the settings.users.read and settings.users.write scopes, granted by a user who may manage users)"
        )),
        StatusCode::NOT_FOUND => ConnectorError::NotFound,
        StatusCode::CONFLICT => ConnectorError::Conflict(said),
        s if s.is_client_error() && message.to_lowercase().contains("already") => {
            ConnectorError::Conflict(said)
        }
        s => refusal("HubSpot", s, said),
    }
}

impl HubSpotConnector {
    pub fn new(session: Session) -> Self {
        Self { session }
    }

    fn users() -> Url {
        Url::parse(USERS).expect("valid")
    }

    /// `/settings/v3/users/{id}`, the id as one path segment.
    fn user_url(id: &str) -> Result<Url, ConnectorError> {
        let mut url = Self::users();
        url.path_segments_mut()
            .map_err(|_| ConnectorError::Invalid("bad HubSpot path".into()))?
            .pop_if_empty()
            .push(id);
        Ok(url)
    }

    async fn user(&self, url: Url) -> Result<Option<VendorAccount>, ConnectorError> {
        let response = self.session.send(VendorRequest::get(url)).await?;
        match response.status {
            s if s.is_success() => Ok(Some(account(response.json()?, AccountStatus::Active))),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(hubspot_error(&response)),
        }
    }
}

#[async_trait]
impl Connector for HubSpotConnector {
    fn capabilities(&self) -> ConnectorCapabilities {
        ConnectorCapabilities {
            create: true,
            suspend: false,
            reactivate: false,
            delete: true,
            shows_invites: false,
        }
    }

    async fn verify(&self) -> Result<(), ConnectorError> {
        let mut url = Self::users();
        url.query_pairs_mut().append_pair("limit", "1");
        let response = self.session.send(VendorRequest::get(url)).await?;
        if response.status.is_success() {
            // A page of users: anything else is not HubSpot's API.
            response.json::<Users>().map(|_| ())
        } else {
            Err(hubspot_error(&response))
        }
    }

    /// The HubSpot account (portal) the app was installed in: `portalId` of its details.
    async fn tenant(&self) -> Result<VendorTenant, ConnectorError> {
        let url = Url::parse(ACCOUNT_DETAILS).expect("valid");
        let response = self.session.send(VendorRequest::get(url)).await?;
        if !response.status.is_success() {
            return Err(hubspot_error(&response));
        }
        let details: AccountDetails = response.json()?;
        let id = details.portal_id.to_string();
        Ok(VendorTenant {
            name: details
                .portal_name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| format!("HubSpot account {id}")),
            id,
        })
    }

    async fn list(&self, cursor: Option<&str>) -> Result<AccountPage, ConnectorError> {
        let mut url = Self::users();
        url.query_pairs_mut().append_pair("limit", PAGE_SIZE);
        if let Some(after) = cursor {
            url.query_pairs_mut().append_pair("after", after);
        }
        let response = self.session.send(VendorRequest::get(url)).await?;
        if !response.status.is_success() {
            return Err(hubspot_error(&response));
        }
        let users: Users = response.json()?;
        Ok(AccountPage {
            next: users
                .paging
                .and_then(|p| p.next)
                .and_then(|n| n.after)
                .filter(|a| !a.is_empty()),
            accounts: users
                .results
                .into_iter()
                .map(|u| account(u, AccountStatus::Active))
                .collect(),
        })
    }

    async fn get(&self, id: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        self.user(Self::user_url(id)?).await
    }

    async fn find_by_email(&self, email: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        let mut url = Self::user_url(email)?;
        url.query_pairs_mut().append_pair("idProperty", "EMAIL");
        Ok(self
            .user(url)
            .await?
            .filter(|a| a.email.as_deref().is_none_or(|e| e.eq_ignore_ascii_case(email))))
    }

    async fn create(&self, new: &NewAccount) -> Result<VendorAccount, ConnectorError> {
        let post = async {
            let body = json!({
                "email": new.email,
                "firstName": new.first_name,
                "lastName": new.last_name,
                "sendWelcomeEmail": true,
            });
            let response = self
                .session
                .send(VendorRequest::new(Method::POST, Self::users()).json(body))
                .await?;
            if response.status.is_success() {
                Ok(account(response.json()?, AccountStatus::InviteSent))
            } else {
                Err(hubspot_error(&response))
            }
        };
        create_once(self, &new.email, post).await
    }

    async fn delete(&self, id: &str) -> Result<Verified, ConnectorError> {
        let response = self
            .session
            .send(VendorRequest::new(Method::DELETE, Self::user_url(id)?))
            .await?;
        match response.status {
            s if s.is_success() => Ok(Verified::VendorAnswer),
            // The user's own resource.
            StatusCode::NOT_FOUND => Ok(Verified::AlreadyGone),
            _ => Err(hubspot_error(&response)),
        }
    }
}

/// What the product shows of hubspot (the app directory's entry).
pub const APP: App = App {
    remove_means: "Removes the user from the HubSpot account.",
    differences_from_product_docs: &[
        "HubSpot does not say whether an invited user has accepted: \"Invite Sent\" is what the service recorded when it sent HubSpot's welcome email, and it stays so.",
    ],
    tenant: "HubSpot account (portal)",
    ..catalog::app(
        "hubspot",
        "HubSpot",
        ConnectionType::Oauth,
        catalog::CREATE_REMOVE,
    )
};

/// How the service talks to hubspot.
pub const SPEC: AppSpec = AppSpec {
    app: &APP,
    hosts: HOSTS,
    // 100 calls per 10 seconds per installed account: a 10-call burst refilled at 9 a
    // second never exceeds it in any 10-second window.
    limit: Some(RateLimit {
        per_minute: 540,
        burst: 10,
    }),
    oauth: Some(OAuthSpec {
        authorize_url: "https://app.hubspot.com/oauth/authorize",
        // v3: every parameter in the form body (v1 is deprecated from 2027-02-16).
        token_url: "https://api.hubapi.com/oauth/v3/token",
        scopes: &["settings.users.read", "settings.users.write"],
        extra_params: &[],
        style: TokenStyle::Standard,
        credentials_in_body: true,
        tenant_fields: &[],
        environments: &[],
        organization_field: None,
    }),
    check: no_check,
    api_key_auth: None,
    exchange: None,
    build: |session, _| Ok(Box::new(HubSpotConnector::new(session))),
};
