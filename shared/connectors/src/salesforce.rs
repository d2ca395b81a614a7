//! Salesforce: the org's SCIM 2.0 API (`{instance_url}/services/scim/v2/`, on every
//! edition with API access) with an OAuth token of a user holding "Manage Users". The
//! token answer names the org's API host (`instance_url`), kept on the connection;
//! sandboxes authorize at `test.salesforce.com` (the connection's `environment`).
//!
//! Salesforce never deletes users: remove sets `active: false`, which blocks sign-in and
//! frees the licence. A user needs a profile, so create gives the org's "Standard User"
//! profile (found with one SOQL query through the REST API). Salesforce emails the new
//! user to set a password; SCIM shows no invitation state, so a created user is active.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;
use url::Url;

use crate::error::ConnectorError;
use crate::http::{Session, VendorRequest, VendorResponse};
use crate::model::{AccountPage, Connector, ConnectorCapabilities, NewAccount, VendorAccount, create_once};
use crate::scim::{ScimConnector, ScimFlavor, ScimRemove};

/// Where orgs authorize (production, sandboxes) and their My Domain API hosts.
pub const HOSTS: &[&str] = &[
    "login.salesforce.com",
    "test.salesforce.com",
    "*.my.salesforce.com",
];
/// The REST API version of the profile query.
const API_VERSION: &str = "v62.0";
/// The profile new users get.
pub const NEW_USER_PROFILE: &str = "Standard User";

const FLAVOR: ScimFlavor = ScimFlavor {
    remove: ScimRemove::Deactivate,
    suspend: false,
    invite_pending: None,
    forbidden_means_plan: None,
    // A Salesforce username is username-formatted and may differ from the email.
    search_emails: true,
    reactivate_on_create: true,
};

pub struct SalesforceConnector {
    session: Session,
    instance: Url,
    scim: ScimConnector,
}

#[derive(Deserialize)]
struct QueryAnswer {
    #[serde(default)]
    records: Vec<Record>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Record {
    id: String,
}

/// Over the org's 24-hour API allowance Salesforce answers 403 `REQUEST_LIMIT_EXCEEDED`.
fn request_limit_exceeded(response: &VendorResponse) -> bool {
    response.status == reqwest::StatusCode::FORBIDDEN && response.text().contains("REQUEST_LIMIT_EXCEEDED")
}

impl SalesforceConnector {
    /// `instance` is the org's `instance_url` (already checked to be a Salesforce host).
    pub fn new(mut session: Session, instance: &Url) -> Self {
        session.rate_limit_signal = Some(request_limit_exceeded);
        let mut instance = instance.clone();
        instance.set_path("/");
        let base = instance.join("services/scim/v2/").expect("a valid path");
        let scim = ScimConnector::new(session.clone(), &base, FLAVOR);
        Self {
            session,
            instance,
            scim,
        }
    }

    /// The id of the profile new users get.
    async fn new_user_profile(&self) -> Result<String, ConnectorError> {
        let mut url = self
            .instance
            .join(&format!("services/data/{API_VERSION}/query"))
            .expect("a valid path");
        url.query_pairs_mut().append_pair(
            "q",
            &format!("SELECT Id FROM Profile WHERE Name = '{NEW_USER_PROFILE}' LIMIT 1"),
        );
        let response = self.session.send(VendorRequest::get(url)).await?;
        if !response.status.is_success() {
            let why = format!(
                "Salesforce refused the profile lookup ({}): {}",
                response.status,
                crate::error::brief(&response.text())
            );
            return Err(match response.status {
                // The token no longer works (the session already refreshed once).
                reqwest::StatusCode::UNAUTHORIZED => ConnectorError::Unauthorized(why),
                reqwest::StatusCode::FORBIDDEN => ConnectorError::Unauthorized(format!(
                    "{why} (the connecting user needs API access and the Manage Users permission)"
                )),
                s if s.is_server_error() => ConnectorError::Transient(why),
                _ => ConnectorError::Invalid(why),
            });
        }
        let answer: QueryAnswer = response.json()?;
        answer.records.into_iter().next().map(|r| r.id).ok_or_else(|| {
            ConnectorError::Invalid(format!(
                "the org has no \"{NEW_USER_PROFILE}\" profile to give new users"
            ))
        })
    }
}

#[async_trait]
impl Connector for SalesforceConnector {
    fn capabilities(&self) -> ConnectorCapabilities {
        self.scim.capabilities()
    }

    async fn verify(&self) -> Result<(), ConnectorError> {
        self.scim.verify().await
    }

    async fn list(&self, cursor: Option<&str>) -> Result<AccountPage, ConnectorError> {
        self.scim.list(cursor).await
    }

    async fn get(&self, id: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        self.scim.get(id).await
    }

    async fn find_by_email(&self, email: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        self.scim.find_by_email(email).await
    }

    async fn create(&self, account: &NewAccount) -> Result<VendorAccount, ConnectorError> {
        let post = async {
            let profile = self.new_user_profile().await?;
            let mut extra = serde_json::Map::new();
            extra.insert("entitlements".into(), json!([{"value": profile}]));
            self.scim.post_user(account, extra).await
        };
        let created = create_once(self, &account.email, post).await?;
        self.scim.reactivated(created).await
    }

    async fn suspend(&self, id: &str) -> Result<VendorAccount, ConnectorError> {
        self.scim.suspend(id).await
    }

    async fn reactivate(&self, id: &str) -> Result<VendorAccount, ConnectorError> {
        self.scim.reactivate(id).await
    }

    async fn delete(&self, id: &str) -> Result<(), ConnectorError> {
        self.scim.delete(id).await
    }
}
