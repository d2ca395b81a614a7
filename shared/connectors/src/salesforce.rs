//! Salesforce: the org's SCIM 2.0 API (`{instance_url}/services/scim/v2/`, on every
//! edition with API access) with an OAuth token of a user holding "Manage Users". The
//! token answer names the org's API host (`instance_url`), kept on the connection;
//! sandboxes authorize at `test.salesforce.com` (the connection's `environment`).
//!
//! Salesforce never deletes users: remove sets `active: false`, which blocks sign-in and
//! frees the licence. A user needs a profile, so create gives the org's "Standard User"
//! profile (found with one SOQL query through the REST API). Salesforce emails the new
//! user to set a password. SCIM shows no invitation state, but the User object's
//! `LastLoginDate` stays null until the first sign-in
//! (https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_user.htm):
//! an active user who never signed in is "Invite Sent", read with one SOQL query per page.

use std::collections::HashSet;

use async_trait::async_trait;
use prov_core::catalog::{self, App, ConnectionType};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use url::Url;

use crate::error::ConnectorError;
use crate::http::RateLimit;
use crate::http::{Session, VendorRequest, VendorResponse};
use crate::model::{
    AccountPage, AccountStatus, Connector, ConnectorCapabilities, NewAccount, VendorAccount, VendorTenant,
    Verified, create_once,
};
use crate::scim::{ScimConnector, ScimFlavor, ScimRemove, ScimTenant};
use crate::spec::{AppSpec, OAuthEnvironment, OAuthSpec, TokenStyle, no_check, tenant_url};

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
    // Not used: the connector asks the org itself (`Organization`).
    tenant: ScimTenant::BaseUrl,
};

pub struct SalesforceConnector {
    session: Session,
    instance: Url,
    scim: ScimConnector,
}

#[derive(Deserialize)]
struct QueryAnswer<R> {
    #[serde(default = "Vec::new")]
    records: Vec<R>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Record {
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Organization {
    id: String,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SignIn {
    id: String,
    last_login_date: Option<String>,
}

/// An id as SOQL may quote it (letters and digits only), in its case-sensitive 15-character
/// form when it is an 18-character Salesforce id (the last three are a checksum).
fn id15(id: &str) -> Option<&str> {
    let plain = !id.is_empty() && id.len() <= 18 && id.chars().all(|c| c.is_ascii_alphanumeric());
    plain.then(|| if id.len() == 18 { &id[..15] } else { id })
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

    /// One SOQL query through the REST API; `what` names it in errors.
    async fn query<R: DeserializeOwned>(&self, soql: &str, what: &str) -> Result<Vec<R>, ConnectorError> {
        let mut url = self
            .instance
            .join(&format!("services/data/{API_VERSION}/query"))
            .expect("a valid path");
        url.query_pairs_mut().append_pair("q", soql);
        let response = self.session.send(VendorRequest::get(url)).await?;
        if !response.status.is_success() {
            let why = format!(
                "Salesforce refused the {what} ({}): {}",
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
        Ok(response.json::<QueryAnswer<R>>()?.records)
    }

    /// The id of the profile new users get.
    async fn new_user_profile(&self) -> Result<String, ConnectorError> {
        let soql = format!("SELECT Id FROM Profile WHERE Name = '{NEW_USER_PROFILE}' LIMIT 1");
        let records: Vec<Record> = self.query(&soql, "profile lookup").await?;
        records.into_iter().next().map(|r| r.id).ok_or_else(|| {
            ConnectorError::Invalid(format!(
                "the org has no \"{NEW_USER_PROFILE}\" profile to give new users"
            ))
        })
    }

    /// `accounts` with the active ones who never signed in (`LastLoginDate` null) as
    /// "Invite Sent".
    async fn with_sign_ins(
        &self,
        mut accounts: Vec<VendorAccount>,
    ) -> Result<Vec<VendorAccount>, ConnectorError> {
        let ids: Vec<&str> = accounts
            .iter()
            .filter(|a| a.status == AccountStatus::Active)
            .filter_map(|a| id15(&a.id).map(|_| a.id.as_str()))
            .collect();
        if ids.is_empty() {
            return Ok(accounts);
        }
        let soql = format!(
            "SELECT Id, LastLoginDate FROM User WHERE Id IN ('{}')",
            ids.join("','")
        );
        let sign_ins: Vec<SignIn> = self.query(&soql, "sign-in lookup").await?;
        let never: HashSet<String> = sign_ins
            .into_iter()
            .filter(|s| s.last_login_date.is_none())
            .filter_map(|s| id15(&s.id).map(str::to_owned))
            .collect();
        for account in &mut accounts {
            if account.status == AccountStatus::Active
                && id15(&account.id).is_some_and(|id| never.contains(id))
            {
                account.status = AccountStatus::InviteSent;
            }
        }
        Ok(accounts)
    }

    /// One account, found or not, with its sign-in read as for a page.
    async fn with_sign_in(
        &self,
        account: Option<VendorAccount>,
    ) -> Result<Option<VendorAccount>, ConnectorError> {
        match account {
            Some(account) => Ok(self.with_sign_ins(vec![account]).await?.pop()),
            None => Ok(None),
        }
    }
}

#[async_trait]
impl Connector for SalesforceConnector {
    fn capabilities(&self) -> ConnectorCapabilities {
        ConnectorCapabilities {
            shows_invites: true,
            ..self.scim.capabilities()
        }
    }

    async fn verify(&self) -> Result<(), ConnectorError> {
        self.scim.verify().await
    }

    /// The org: its one `Organization` record, read with SOQL
    /// (https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_organization.htm).
    async fn tenant(&self) -> Result<VendorTenant, ConnectorError> {
        let orgs: Vec<Organization> = self
            .query("SELECT Id, Name FROM Organization LIMIT 1", "organization lookup")
            .await?;
        let org = orgs
            .into_iter()
            .next()
            .ok_or_else(|| ConnectorError::Transient("Salesforce answered no Organization record".into()))?;
        Ok(VendorTenant {
            name: org
                .name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| org.id.clone()),
            id: org.id,
        })
    }

    async fn list(&self, cursor: Option<&str>) -> Result<AccountPage, ConnectorError> {
        let page = self.scim.list(cursor).await?;
        Ok(AccountPage {
            accounts: self.with_sign_ins(page.accounts).await?,
            next: page.next,
        })
    }

    async fn get(&self, id: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        let account = self.scim.get(id).await?;
        self.with_sign_in(account).await
    }

    async fn find_by_email(&self, email: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        let account = self.scim.find_by_email(email).await?;
        self.with_sign_in(account).await
    }

    async fn create(&self, account: &NewAccount) -> Result<VendorAccount, ConnectorError> {
        let post = async {
            let profile = self.new_user_profile().await?;
            let mut extra = serde_json::Map::new();
            extra.insert("entitlements".into(), json!([{"value": profile}]));
            self.scim.post_user(account, extra).await
        };
        // Looked up through SCIM alone: the sign-in is read once, at the end.
        let created = create_once(&self.scim, &account.email, post).await?;
        let created = self.scim.reactivated(created).await?;
        self.with_sign_in(Some(created))
            .await?
            .ok_or_else(|| ConnectorError::Transient("the created user was lost reading its sign-in".into()))
    }

    async fn suspend(&self, id: &str) -> Result<VendorAccount, ConnectorError> {
        self.scim.suspend(id).await
    }

    async fn reactivate(&self, id: &str) -> Result<VendorAccount, ConnectorError> {
        self.scim.reactivate(id).await
    }

    async fn delete(&self, id: &str) -> Result<Verified, ConnectorError> {
        self.scim.delete(id).await
    }
}

/// What the product shows of salesforce (the app directory's entry).
pub const APP: App = App {
    remove_means: "Deactivates the user (Salesforce never deletes users); their licence is freed.",
    removal_deactivates: true,
    differences_from_product_docs: &[
        "Salesforce users cannot be deleted: removing one deactivates it.",
        "New users get the org's \"Standard User\" profile; Salesforce emails them to set a password, and shows no invitation state (they are listed active).",
        "Sandbox orgs can be connected: start the connection with `environment: sandbox` (test.salesforce.com).",
    ],
    tenant: "Salesforce org",
    ..catalog::app(
        "salesforce",
        "Salesforce",
        ConnectionType::Oauth,
        catalog::CREATE_REMOVE,
    )
};

/// How the service talks to salesforce.
pub const SPEC: AppSpec = AppSpec {
    app: &APP,
    hosts: HOSTS,
    // The org's allowance is per 24 hours (by edition and licences), not per minute;
    // stay gentle. Over it Salesforce answers 403 `REQUEST_LIMIT_EXCEEDED`.
    limit: Some(RateLimit {
        per_minute: 120,
        burst: 10,
    }),
    oauth: Some(OAuthSpec {
        authorize_url: "https://login.salesforce.com/services/oauth2/authorize",
        token_url: "https://login.salesforce.com/services/oauth2/token",
        scopes: &["api", "refresh_token"],
        extra_params: &[],
        style: TokenStyle::Standard,
        credentials_in_body: true,
        // The org's API host.
        tenant_fields: &["instance_url"],
        environments: &[OAuthEnvironment {
            name: "sandbox",
            authorize_url: "https://test.salesforce.com/services/oauth2/authorize",
            token_url: "https://test.salesforce.com/services/oauth2/token",
        }],
        organization_field: None,
    }),
    check: no_check,
    api_key_auth: None,
    exchange: None,
    build: |session, tenant| {
        let instance = tenant_url(tenant, "instance_url", &["*.my.salesforce.com"])?;
        Ok(Box::new(SalesforceConnector::new(session, &instance)))
    },
};
