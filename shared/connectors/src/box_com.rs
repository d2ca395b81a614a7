//! Box: managed users of an enterprise (`https://api.box.com/2.0/users`) with an enterprise
//! admin's OAuth token. Box offers no public inbound SCIM endpoint.
//!
//! Box users have one `name` and no pending/accepted state: a created managed user is an
//! account at once. Suspend sets `status: inactive` (content kept). Remove never destroys
//! content: the user's files and folders are first moved to the connecting admin
//! (`PUT /users/{id}/folders/0`, https://developer.box.com/reference/put-users-id-folders-0),
//! then the user is deleted without `force`.

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

pub const HOSTS: &[&str] = &["account.box.com", "api.box.com"];
const API: &str = "https://api.box.com/2.0/";
const FIELDS: &str = "id,name,login,status";
const PAGE_SIZE: &str = "1000";

pub struct BoxConnector {
    session: Session,
}

#[derive(Debug, Deserialize)]
struct User {
    id: String,
    name: Option<String>,
    login: Option<String>,
    status: Option<String>,
}

/// The current user with their enterprise (a user object's `enterprise` field).
#[derive(Debug, Deserialize)]
struct Me {
    enterprise: Option<Enterprise>,
}

#[derive(Debug, Deserialize)]
struct Enterprise {
    id: String,
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Users {
    #[serde(default)]
    entries: Vec<User>,
    next_marker: Option<String>,
}

#[derive(Debug, Deserialize)]
struct BoxError {
    code: Option<String>,
    message: Option<String>,
}

fn account(user: User) -> VendorAccount {
    VendorAccount {
        id: user.id,
        email: user.login,
        first_name: None,
        last_name: None,
        display_name: user.name,
        status: match user.status.as_deref() {
            Some("inactive") => AccountStatus::Suspended,
            // `active`, and the restricted `cannot_delete_edit*` states, can sign in.
            _ => AccountStatus::Active,
        },
    }
}

/// Box's `ClientError` (`{type: "error", status, code, message, request_id}`), mapped.
fn box_error(response: &VendorResponse) -> ConnectorError {
    let parsed: Option<BoxError> = serde_json::from_slice(&response.body).ok();
    let code = parsed.as_ref().and_then(|e| e.code.clone()).unwrap_or_default();
    let message = parsed
        .and_then(|e| e.message)
        .map(|m| brief(&m))
        .unwrap_or_else(|| response.text());
    let said = format!("{code} {message}").trim().to_owned();
    match response.status {
        StatusCode::FORBIDDEN => ConnectorError::Unauthorized(format!(
            "{said} (the connection must be made by a Box enterprise admin or co-admin who manages users, with the app's \"Manage users\" scope)"
        )),
        StatusCode::CONFLICT => ConnectorError::Conflict(said),
        s => refusal("Box", s, said),
    }
}

impl BoxConnector {
    pub fn new(session: Session) -> Self {
        Self { session }
    }

    fn url(path: &str) -> Url {
        Url::parse(API).and_then(|b| b.join(path)).expect("valid")
    }

    /// `/users/{id}[/…]`, the id as one path segment.
    fn user_url(id: &str, rest: &[&str]) -> Result<Url, ConnectorError> {
        let mut url = Self::url("users");
        url.path_segments_mut()
            .map_err(|_| ConnectorError::Invalid("bad Box path".into()))?
            .push(id)
            .extend(rest);
        Ok(url)
    }

    async fn users(&self, query: &[(&str, &str)]) -> Result<Users, ConnectorError> {
        let mut url = Self::url("users");
        url.query_pairs_mut()
            .append_pair("user_type", "managed")
            .append_pair("fields", FIELDS)
            .extend_pairs(query);
        let response = self.session.send(VendorRequest::get(url)).await?;
        if !response.status.is_success() {
            return Err(box_error(&response));
        }
        response.json()
    }

    async fn set_status(&self, id: &str, status: &str) -> Result<VendorAccount, ConnectorError> {
        let mut url = Self::user_url(id, &[])?;
        url.query_pairs_mut().append_pair("fields", FIELDS);
        let response = self
            .session
            .send(VendorRequest::new(Method::PUT, url).json(json!({"status": status})))
            .await?;
        if response.status.is_success() {
            Ok(account(response.json()?))
        } else {
            Err(box_error(&response))
        }
    }

    /// The connecting admin's user id (who receives a removed user's content).
    async fn me(&self) -> Result<String, ConnectorError> {
        let mut url = Self::url("users/me");
        url.query_pairs_mut().append_pair("fields", "id,role");
        let response = self.session.send(VendorRequest::get(url)).await?;
        if !response.status.is_success() {
            return Err(box_error(&response));
        }
        Ok(response.json::<User>()?.id)
    }
}

#[async_trait]
impl Connector for BoxConnector {
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
        // Listing managed users needs an enterprise admin with user management.
        self.users(&[("limit", "1"), ("usemarker", "true")])
            .await
            .map(|_| ())
    }

    /// The enterprise of the connecting admin: `GET /users/me?fields=enterprise`
    /// (https://developer.box.com/reference/get-users-me, the user object's `enterprise`).
    async fn tenant(&self) -> Result<VendorTenant, ConnectorError> {
        let mut url = Self::url("users/me");
        url.query_pairs_mut().append_pair("fields", "id,enterprise");
        let response = self.session.send(VendorRequest::get(url)).await?;
        if !response.status.is_success() {
            return Err(box_error(&response));
        }
        let enterprise = response.json::<Me>()?.enterprise.ok_or_else(|| {
            ConnectorError::PlanRequired(
                "the connecting Box user belongs to no enterprise (a personal Box account has no managed users)".into(),
            )
        })?;
        Ok(VendorTenant {
            name: enterprise.name.unwrap_or_else(|| enterprise.id.clone()),
            id: enterprise.id,
        })
    }

    async fn list(&self, cursor: Option<&str>) -> Result<AccountPage, ConnectorError> {
        let mut query = vec![("limit", PAGE_SIZE), ("usemarker", "true")];
        if let Some(marker) = cursor {
            query.push(("marker", marker));
        }
        let users = self.users(&query).await?;
        Ok(AccountPage {
            next: users.next_marker.filter(|m| !m.is_empty()),
            accounts: users.entries.into_iter().map(account).collect(),
        })
    }

    async fn get(&self, id: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        let mut url = Self::user_url(id, &[])?;
        url.query_pairs_mut().append_pair("fields", FIELDS);
        let response = self.session.send(VendorRequest::get(url)).await?;
        match response.status {
            s if s.is_success() => Ok(Some(account(response.json()?))),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(box_error(&response)),
        }
    }

    async fn find_by_email(&self, email: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        // `filter_term` matches name or login prefixes: keep the exact login only.
        let users = self.users(&[("filter_term", email)]).await?;
        Ok(users
            .entries
            .into_iter()
            .map(account)
            .find(|a| a.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(email))))
    }

    async fn create(&self, new: &NewAccount) -> Result<VendorAccount, ConnectorError> {
        let post = async {
            let mut url = Self::url("users");
            url.query_pairs_mut().append_pair("fields", FIELDS);
            let name = format!("{} {}", new.first_name, new.last_name);
            let body = json!({"name": name.trim(), "login": new.email});
            let response = self
                .session
                .send(VendorRequest::new(Method::POST, url).json(body))
                .await?;
            if response.status.is_success() {
                Ok(account(response.json()?))
            } else {
                // 409 `user_login_already_used`: the account found after it.
                Err(box_error(&response))
            }
        };
        create_once(self, &new.email, post).await
    }

    async fn suspend(&self, id: &str) -> Result<VendorAccount, ConnectorError> {
        self.set_status(id, "inactive").await
    }

    async fn reactivate(&self, id: &str) -> Result<VendorAccount, ConnectorError> {
        self.set_status(id, "active").await
    }

    async fn delete(&self, id: &str) -> Result<Verified, ConnectorError> {
        // Move everything the user owns to the admin first, so nothing is destroyed.
        let admin = self.me().await?;
        let mut transfer = Self::user_url(id, &["folders", "0"])?;
        transfer.query_pairs_mut().append_pair("notify", "false");
        let response = self
            .session
            .send(VendorRequest::new(Method::PUT, transfer).json(json!({"owned_by": {"id": admin}})))
            .await?;
        match response.status {
            // A 404 from this sub-resource does not prove the user gone (only the user's own
            // resource can): the DELETE below says. It destroys nothing either way.
            s if s.is_success() || s == StatusCode::NOT_FOUND => {}
            _ => return Err(box_error(&response)),
        }
        let mut url = Self::user_url(id, &[])?;
        // Without `force`: should the user still own content (created since the move, or not
        // moved), Box refuses rather than destroying it, and a retry moves it first
        // (https://developer.box.com/guides/users/delete-user: "The delete user request will
        // fail if the user account still has content in it").
        url.query_pairs_mut()
            .append_pair("notify", "false")
            .append_pair("force", "false");
        let response = self.session.send(VendorRequest::new(Method::DELETE, url)).await?;
        match response.status {
            s if s.is_success() => Ok(Verified::VendorAnswer),
            // The user's own resource: a 404 here is "already gone".
            StatusCode::NOT_FOUND => Ok(Verified::AlreadyGone),
            _ => Err(box_error(&response)),
        }
    }
}

/// What the product shows of box (the app directory's entry).
pub const APP: App = App {
    remove_means: "Moves the managed user's files and folders to the admin who connected Box, then deletes the user.",
    suspend_means: Some("Sets the user inactive: no sign-in, content kept."),
    differences_from_product_docs: &[
        "Box has no invitation state: a created managed user is an active account at once (Box emails them to set it up).",
    ],
    tenant: "Box enterprise",
    ..catalog::app(
        "box",
        "Box",
        ConnectionType::Oauth,
        catalog::CREATE_SUSPEND_REMOVE,
    )
};

/// How the service talks to box.
pub const SPEC: AppSpec = AppSpec {
    app: &APP,
    hosts: HOSTS,
    // Box publishes no number (about 1,000 a minute per user is commonly cited); it
    // answers 429 with `retry-after` when over.
    limit: Some(RateLimit {
        per_minute: 600,
        burst: 20,
    }),
    oauth: Some(OAuthSpec {
        authorize_url: "https://account.box.com/api/oauth2/authorize",
        token_url: "https://api.box.com/oauth2/token",
        // Box grants the scopes configured on the app ("Manage users", read/write all
        // files for the content move); none are named here.
        scopes: &[],
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
    build: |session, _| Ok(Box::new(BoxConnector::new(session))),
};
