//! Asana: members of an organization through the REST API (`https://app.asana.com/api/1.0`)
//! with an organization admin's OAuth token. (Asana's SCIM endpoint takes only Enterprise
//! service-account tokens, not OAuth.)
//!
//! The organization is the connection's `workspace_gid` when known, else the one organization
//! the connecting admin belongs to (asked once per connector). Create is `addUser` (Asana
//! invites the person; no pending state is exposed, and the name is the person's to set).
//! Remove is `removeUser`: Asana hands the person's resources to the token's owner. There is
//! no suspend.

use async_trait::async_trait;
use prov_core::catalog::{self, App, ConnectionType};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
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

pub const HOSTS: &[&str] = &["app.asana.com"];
const API: &str = "https://app.asana.com/api/1.0/";
const PAGE_SIZE: &str = "100";

pub struct AsanaConnector {
    session: Session,
    workspace: OnceCell<String>,
}

#[derive(Debug, Deserialize)]
struct Data<T> {
    data: T,
}

#[derive(Debug, Deserialize)]
struct Workspace {
    gid: String,
    name: Option<String>,
    #[serde(default)]
    is_organization: bool,
}

#[derive(Debug, Deserialize)]
struct User {
    gid: String,
    email: Option<String>,
    name: Option<String>,
    #[serde(default)]
    workspaces: Vec<Workspace>,
}

#[derive(Debug, Deserialize)]
struct NextPage {
    offset: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Users {
    data: Vec<User>,
    next_page: Option<NextPage>,
}

#[derive(Debug, Deserialize)]
struct Errors {
    #[serde(default)]
    errors: Vec<Message>,
}

#[derive(Debug, Deserialize)]
struct Message {
    message: Option<String>,
}

fn account(user: User) -> VendorAccount {
    VendorAccount {
        id: user.gid,
        email: user.email,
        first_name: None,
        last_name: None,
        display_name: user.name,
        status: AccountStatus::Active,
    }
}

/// Asana's `{errors: [{message, help}]}`, mapped.
fn asana_error(response: &VendorResponse) -> ConnectorError {
    let message = serde_json::from_slice::<Errors>(&response.body)
        .ok()
        .map(|e| {
            e.errors
                .into_iter()
                .filter_map(|m| m.message)
                .collect::<Vec<_>>()
                .join("; ")
        })
        .filter(|m| !m.is_empty())
        .map(|m| brief(&m))
        .unwrap_or_else(|| response.text());
    match response.status {
        StatusCode::UNAUTHORIZED => ConnectorError::Unauthorized(message),
        StatusCode::PAYMENT_REQUIRED => ConnectorError::PlanRequired(message),
        StatusCode::FORBIDDEN => ConnectorError::Unauthorized(format!(
            "{message} (the connection must be made by an admin of the Asana organization)"
        )),
        StatusCode::NOT_FOUND => ConnectorError::NotFound,
        s if s.is_client_error() && message.to_lowercase().contains("already") => {
            ConnectorError::Conflict(message)
        }
        s => refusal("Asana", s, message),
    }
}

impl AsanaConnector {
    pub fn new(session: Session, tenant: &Tenant) -> Self {
        let workspace = match tenant.get("workspace_gid") {
            Some(gid) => OnceCell::from(gid.clone()),
            None => OnceCell::new(),
        };
        Self { session, workspace }
    }

    fn url(path: &[&str]) -> Result<Url, ConnectorError> {
        let mut url = Url::parse(API).expect("valid");
        url.path_segments_mut()
            .map_err(|_| ConnectorError::Invalid("bad Asana path".into()))?
            .pop_if_empty()
            .extend(path);
        Ok(url)
    }

    async fn read<T: serde::de::DeserializeOwned>(&self, url: Url) -> Result<Option<T>, ConnectorError> {
        let response = self.session.send(VendorRequest::get(url)).await?;
        match response.status {
            s if s.is_success() => Ok(Some(response.json()?)),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(asana_error(&response)),
        }
    }

    /// The organization this connection manages.
    async fn workspace(&self) -> Result<&str, ConnectorError> {
        self.workspace
            .get_or_try_init(|| async {
                let mut url = Self::url(&["users", "me"])?;
                url.query_pairs_mut()
                    .append_pair("opt_fields", "workspaces.gid,workspaces.is_organization");
                let me: Data<User> = self.read(url).await?.ok_or(ConnectorError::NotFound)?;
                let organizations: Vec<Workspace> = me
                    .data
                    .workspaces
                    .into_iter()
                    .filter(|w| w.is_organization)
                    .collect();
                match organizations.as_slice() {
                    [one] => Ok(one.gid.clone()),
                    [] => Err(ConnectorError::PlanRequired(
                        "the connecting user belongs to no Asana organization (a personal workspace has no members to manage)".into(),
                    )),
                    _ => Err(ConnectorError::Invalid(
                        "the connecting user belongs to several Asana organizations; connect with an account that administers only the company's".into(),
                    )),
                }
            })
            .await
            .map(String::as_str)
    }

    async fn membership(&self, action: &str, user: &str) -> Result<VendorResponse, ConnectorError> {
        let workspace = self.workspace().await?.to_owned();
        let url = Self::url(&["workspaces", &workspace, action])?;
        self.session
            .send(VendorRequest::new(Method::POST, url).json(json!({"data": {"user": user}})))
            .await
    }

    /// A user, if they are a member of the organization.
    async fn member(&self, id_or_email: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        let workspace = self.workspace().await?.to_owned();
        let mut url = Self::url(&["users", id_or_email])?;
        url.query_pairs_mut()
            .append_pair("opt_fields", "email,name,workspaces.gid");
        let user: Option<Data<User>> = self.read(url).await?;
        Ok(user
            .map(|u| u.data)
            .filter(|u| u.workspaces.iter().any(|w| w.gid == workspace))
            .map(account))
    }
}

#[async_trait]
impl Connector for AsanaConnector {
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
        self.workspace().await.map(|_| ())
    }

    /// The organization, read as `GET /workspaces/{gid}`
    /// (https://developers.asana.com/reference/getworkspace).
    async fn tenant(&self) -> Result<VendorTenant, ConnectorError> {
        let gid = self.workspace().await?.to_owned();
        let mut url = Self::url(&["workspaces", &gid])?;
        url.query_pairs_mut()
            .append_pair("opt_fields", "name,is_organization");
        let workspace: Data<Workspace> = self.read(url).await?.ok_or_else(|| {
            ConnectorError::Invalid(format!("Asana has no workspace {gid} this token can read"))
        })?;
        Ok(VendorTenant {
            name: workspace.data.name.unwrap_or_else(|| gid.clone()),
            id: workspace.data.gid,
        })
    }

    async fn list(&self, cursor: Option<&str>) -> Result<AccountPage, ConnectorError> {
        let workspace = self.workspace().await?.to_owned();
        let mut url = Self::url(&["users"])?;
        url.query_pairs_mut()
            .append_pair("workspace", &workspace)
            .append_pair("limit", PAGE_SIZE)
            .append_pair("opt_fields", "email,name");
        if let Some(offset) = cursor {
            url.query_pairs_mut().append_pair("offset", offset);
        }
        let users: Users = self.read(url).await?.ok_or(ConnectorError::NotFound)?;
        Ok(AccountPage {
            next: users.next_page.and_then(|p| p.offset),
            accounts: users.data.into_iter().map(account).collect(),
        })
    }

    async fn get(&self, id: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        self.member(id).await
    }

    async fn find_by_email(&self, email: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        Ok(self
            .member(email)
            .await?
            .filter(|a| a.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(email))))
    }

    async fn create(&self, new: &NewAccount) -> Result<VendorAccount, ConnectorError> {
        let post = async {
            let response = self.membership("addUser", &new.email).await?;
            if response.status.is_success() {
                Ok(account(response.json::<Data<User>>()?.data))
            } else {
                Err(asana_error(&response))
            }
        };
        create_once(self, &new.email, post).await
    }

    async fn delete(&self, id: &str) -> Result<Verified, ConnectorError> {
        let response = self.membership("removeUser", id).await?;
        match response.status {
            s if s.is_success() => Ok(Verified::VendorAnswer),
            // A 404 of the organization's action proves nothing: the user's own resource
            // says whether they are still a member.
            StatusCode::NOT_FOUND => match self.member(id).await? {
                None => Ok(Verified::ReadBack),
                Some(_) => Err(ConnectorError::Invalid(
                    "Asana answered \"not found\" to removeUser but still lists the user in the organization"
                        .into(),
                )),
            },
            _ => Err(asana_error(&response)),
        }
    }
}

/// What the product shows of asana (the app directory's entry).
pub const APP: App = App {
    remove_means: "Removes the user from the Asana organization; Asana hands their tasks and projects to the admin who connected Asana.",
    differences_from_product_docs: &[
        "Asana shows no invitation state, and the person sets their own name: a member added by email is listed as active.",
    ],
    tenant: "Asana organization (workspace)",
    ..catalog::app("asana", "Asana", ConnectionType::Oauth, catalog::CREATE_REMOVE)
};

/// How the service talks to asana.
pub const SPEC: AppSpec = AppSpec {
    app: &APP,
    hosts: HOSTS,
    // 150 requests a minute on free domains (1,500 on paid): keep to the lower.
    limit: Some(RateLimit {
        per_minute: 150,
        burst: 10,
    }),
    oauth: Some(OAuthSpec {
        authorize_url: "https://app.asana.com/-/oauth_authorize",
        token_url: "https://app.asana.com/-/oauth_token",
        // addUser/removeUser have no granular scope: the app's full (`default`) access.
        scopes: &[],
        extra_params: &[],
        style: TokenStyle::Standard,
        credentials_in_body: true,
        tenant_fields: &[],
        environments: &[],
        organization_field: Some("workspace_gid"),
    }),
    check: no_check,
    api_key_auth: None,
    exchange: None,
    build: |session, tenant| Ok(Box::new(AsanaConnector::new(session, tenant))),
};
