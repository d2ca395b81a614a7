//! Dynatrace: the Account Management API's users (`https://api.dynatrace.com/iam/v1/accounts/
//! {accountUuid}/users`), authenticated by an OAuth client the admin creates in Account
//! Management and pastes (client id and secret): tokens come from the client-credentials
//! grant at `sso.dynatrace.com`, scoped to the account by `resource=urn:dtaccount:{uuid}`.
//!
//! Dynatrace addresses a user by email in every path, so the email is the account's id
//! here. Creating a user invites them: the user is `PENDING` ("Invite Sent") until they
//! finish signing up. A new user has no permissions until an admin puts them in groups.
//! Remove deletes the user from the account. There is no API to deactivate a user.

use std::sync::Arc;

use async_trait::async_trait;
use prov_core::catalog::{self, App, ConnectionType};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;
use url::Url;

use crate::error::{ConnectorError, brief};
use crate::http::RateLimit;
use crate::http::{Authenticator, Session, VendorRequest, VendorResponse, refusal};
use crate::model::{
    AccountPage, AccountStatus, Connector, ConnectorCapabilities, NewAccount, VendorAccount, VendorTenant,
    Verified, create_once,
};
use crate::oauth::MintedToken;
use crate::spec::AppSpec;
use crate::spec::{ApiKeyContext, Tenant};

pub const HOSTS: &[&str] = &["api.dynatrace.com", "sso.dynatrace.com"];
const API: &str = "https://api.dynatrace.com/iam/v1/accounts/";
const TOKEN_URL: &str = "https://sso.dynatrace.com/sso/oauth2/token";
/// Reading and changing users and groups.
const SCOPES: &str = "account-idm-read account-idm-write";

/// The account UUID the admin typed, checked (it becomes a path segment and the token's
/// `resource`).
pub fn account_uuid(tenant: &Tenant) -> Result<&str, ConnectorError> {
    let uuid = tenant
        .get("account_uuid")
        .map(String::as_str)
        .ok_or_else(|| ConnectorError::Invalid("`account_uuid` is required".into()))?;
    let groups: Vec<&str> = uuid.split('-').collect();
    let shape_ok = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| g.chars().all(|c| c.is_ascii_hexdigit()));
    if shape_ok {
        Ok(uuid)
    } else {
        Err(ConnectorError::Invalid(
            "`account_uuid` must be the account's UUID (Account Management → Identity & access management → OAuth clients)".into(),
        ))
    }
}

/// The connection's credentials: the pasted OAuth client, through the client-credentials
/// grant.
pub fn auth(c: &ApiKeyContext<'_>) -> Result<Arc<dyn Authenticator>, ConnectorError> {
    let uuid = account_uuid(c.tenant)?;
    let client_id = c.tenant_field("client_id")?;
    let params = vec![
        ("scope".to_owned(), SCOPES.to_owned()),
        ("resource".to_owned(), format!("urn:dtaccount:{uuid}")),
    ];
    Ok(Arc::new(MintedToken::client_credentials(
        c.session.clone(),
        Url::parse(TOKEN_URL).expect("valid"),
        client_id,
        c.secret("client_secret")?,
        params,
    )))
}

pub struct DynatraceConnector {
    session: Session,
    /// `…/iam/v1/accounts/{uuid}/users`.
    users: Url,
    /// The account UUID.
    account: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct User {
    email: String,
    name: Option<String>,
    surname: Option<String>,
    user_status: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserList {
    #[serde(default)]
    items: Vec<User>,
    /// Not documented for users (the list is whole); followed if Dynatrace ever pages it
    /// the way its other IAM lists do.
    next_page_key: Option<String>,
}

fn status(user: &User) -> AccountStatus {
    match user.user_status.as_deref() {
        // Invited; sign-up not completed.
        Some("PENDING") => AccountStatus::InviteSent,
        Some("INACTIVE") | Some("ECUSTOMS_MANUALLY_BLOCKED") => AccountStatus::Suspended,
        Some("DELETED") => AccountStatus::Deleted,
        _ => AccountStatus::Active,
    }
}

fn account(user: User) -> VendorAccount {
    let status = status(&user);
    VendorAccount {
        id: user.email.clone(),
        email: Some(user.email),
        first_name: user.name,
        last_name: user.surname,
        display_name: None,
        status,
    }
}

/// Dynatrace's answer, mapped to the typed error.
fn dynatrace_error(response: &VendorResponse) -> ConnectorError {
    let said: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
    let message = ["message", "error"]
        .iter()
        .find_map(|k| said.get(k).and_then(|v| v.as_str()))
        .or_else(|| said.pointer("/error/message").and_then(|v| v.as_str()))
        .map(brief)
        .unwrap_or_else(|| response.text());
    match response.status {
        StatusCode::UNAUTHORIZED => ConnectorError::Unauthorized(message),
        StatusCode::FORBIDDEN => ConnectorError::Unauthorized(format!(
            "{message} (the OAuth client needs the account-idm-read and account-idm-write scopes, and its user the account's user-management permission)"
        )),
        StatusCode::NOT_FOUND => ConnectorError::NotFound,
        StatusCode::CONFLICT => ConnectorError::Conflict(message),
        s if s.is_client_error() && message.to_lowercase().contains("already") => {
            ConnectorError::Conflict(message)
        }
        s => refusal("Dynatrace", s, message),
    }
}

impl DynatraceConnector {
    pub fn new(session: Session, tenant: &Tenant) -> Result<Self, ConnectorError> {
        let uuid = account_uuid(tenant)?;
        let users = Url::parse(&format!("{API}{uuid}/users")).expect("a checked UUID makes a valid URL");
        Ok(Self {
            session,
            users,
            account: uuid.to_owned(),
        })
    }

    fn user_url(&self, email: &str) -> Url {
        let mut url = self.users.clone();
        url.path_segments_mut().expect("an https URL").push(email);
        url
    }

    async fn fetch(&self, email: &str) -> Result<Option<User>, ConnectorError> {
        let response = self
            .session
            .send(VendorRequest::get(self.user_url(email)))
            .await?;
        match response.status {
            s if s.is_success() => Ok(Some(response.json()?)),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(dynatrace_error(&response)),
        }
    }
}

#[async_trait]
impl Connector for DynatraceConnector {
    fn capabilities(&self) -> ConnectorCapabilities {
        ConnectorCapabilities {
            create: true,
            suspend: false,
            reactivate: false,
            delete: true,
            shows_invites: true,
        }
    }

    async fn verify(&self) -> Result<(), ConnectorError> {
        // Mints a token (a wrong client fails here) and reads users (a missing scope fails).
        let mut url = self.users.clone();
        url.query_pairs_mut().append_pair("service-users", "false");
        let response = self.session.send(VendorRequest::get(url)).await?;
        if response.status.is_success() {
            Ok(())
        } else {
            Err(dynatrace_error(&response))
        }
    }

    /// The account: the client's token is scoped to one account UUID, and the account's own
    /// users listing (`/iam/v1/accounts/{uuid}/users`) answering proves the client reaches it.
    /// (Reading the account's name needs another scope, `account-env-read`, which the
    /// connection does not ask for.)
    async fn tenant(&self) -> Result<VendorTenant, ConnectorError> {
        Ok(VendorTenant {
            id: self.account.clone(),
            name: format!("Dynatrace account {}", self.account),
        })
    }

    async fn list(&self, cursor: Option<&str>) -> Result<AccountPage, ConnectorError> {
        let mut url = self.users.clone();
        url.query_pairs_mut().append_pair("service-users", "false");
        if let Some(key) = cursor {
            url.query_pairs_mut().append_pair("page-key", key);
        }
        let response = self.session.send(VendorRequest::get(url)).await?;
        if !response.status.is_success() {
            return Err(dynatrace_error(&response));
        }
        let list: UserList = response.json()?;
        // An empty page ends the listing whatever it says comes next.
        let next = list
            .next_page_key
            .filter(|k| !k.is_empty() && !list.items.is_empty());
        Ok(AccountPage {
            next,
            accounts: list.items.into_iter().map(account).collect(),
        })
    }

    async fn get(&self, id: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        Ok(self.fetch(id).await?.map(account))
    }

    async fn find_by_email(&self, email: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        Ok(self.fetch(email).await?.map(account))
    }

    async fn create(&self, new: &NewAccount) -> Result<VendorAccount, ConnectorError> {
        let post = async {
            let response = self
                .session
                .send(VendorRequest::new(Method::POST, self.users.clone()).json(json!({"email": new.email})))
                .await?;
            if !response.status.is_success() {
                return Err(dynatrace_error(&response));
            }
            // The answer carries no user (or only its id): read it back by email.
            self.fetch(&new.email)
                .await?
                .map(account)
                .ok_or_else(|| ConnectorError::Transient("Dynatrace did not show the user it created".into()))
        };
        create_once(self, &new.email, post).await
    }

    async fn delete(&self, id: &str) -> Result<Verified, ConnectorError> {
        let response = self
            .session
            .send(VendorRequest::new(Method::DELETE, self.user_url(id)))
            .await?;
        match response.status {
            s if s.is_success() => Ok(Verified::VendorAnswer),
            // The user's own resource.
            StatusCode::NOT_FOUND => Ok(Verified::AlreadyGone),
            _ => Err(dynatrace_error(&response)),
        }
    }
}

/// What the product shows of dynatrace (the app directory's entry).
pub const APP: App = App {
    vendor_plan_note: Some("Requires a Digital Experience Monitoring plan or higher."),
    remove_means: "Deletes the user from the Dynatrace account.",
    credential_fields: &[
        catalog::text("account_uuid", "Account UUID"),
        catalog::text("client_id", "OAuth client ID (dt0s02.…)"),
        catalog::secret("client_secret", "OAuth client secret"),
    ],
    differences_from_product_docs: &[
        "Dynatrace's Account Management API uses an OAuth client (ID and secret) that the admin pastes, not a static API key.",
        "Dynatrace documents no plan gate for its API; a refusal is detected by the connect check.",
        "A created user is invited with no permissions: a Dynatrace admin puts them in groups.",
    ],
    tenant: "Dynatrace account",
    ..catalog::app(
        "dynatrace",
        "Dynatrace",
        ConnectionType::ApiKey,
        catalog::CREATE_REMOVE,
    )
};

/// How the service talks to dynatrace.
pub const SPEC: AppSpec = AppSpec {
    app: &APP,
    hosts: HOSTS,
    // Dynatrace publishes no number for the account API; it answers 429 when over.
    limit: Some(RateLimit {
        per_minute: 120,
        burst: 10,
    }),
    oauth: None,
    check: |tenant, _, _| account_uuid(tenant).map(|_| ()),
    api_key_auth: Some(auth),
    exchange: None,
    build: |session, tenant| Ok(Box::new(DynatraceConnector::new(session, tenant)?)),
};
