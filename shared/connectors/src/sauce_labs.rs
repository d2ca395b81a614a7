//! Sauce Labs: the Team Management API of a Sauce Labs organization
//! (`https://api.{data center}.saucelabs.com/team-management/v1/users/`), with HTTP Basic
//! authentication: the username and access key of an organization admin. The connection's
//! data center (`us-west-1`, `us-east-4`, `eu-central-1`) picks the host.
//!
//! Create makes a member (role 3) of the connection's organization (its id, which Sauce Labs'
//! parameter table marks required, is the `org_uuid` of the organization's teams), with a
//! username derived from the email and a random password, never logged, both answered with
//! the new user (`create_with_first_password`): the product hands them to the person once
//! through a reveal link emailed to them (afterwards "Forgot password" or the organization's
//! SSO). Sauce Labs sends no invitation and the user is active at once, so the listing shows
//! no pending state (`shows_invites: false`). Source:
//! https://docs.saucelabs.com/dev/api/accounts/ ("Create a New User", "Get Teams",
//! "Deactivate a User", "Activate a User").
//!
//! Sauce Labs has no user delete in its API. `POST …/users/{id}/deactivate/` "suspends the
//! specified user's account, preventing all access to Sauce Labs while deactivated", and
//! `POST …/users/{id}/activate/` undoes it: they are suspend and reactivate, and remove is the
//! same deactivation (the user stays listed with `is_active: false`, read as `Suspended`).
//! Creating an account for the email of a deactivated user activates that user again (Sauce
//! Labs' emails and usernames stay taken).

use async_trait::async_trait;
use prov_core::catalog::{self, App, ConnectionType};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::OnceCell;
use url::Url;

use crate::error::{ConnectorError, brief};
use crate::http::Authenticator;
use crate::http::RateLimit;
use crate::http::StaticAuth;
use crate::http::{Session, VendorRequest, VendorResponse, refusal};
use crate::model::{
    AccountPage, AccountStatus, Connector, ConnectorCapabilities, Created, NewAccount, VendorAccount,
    create_once_with_password, random_password,
};
use crate::model::{VendorTenant, Verified};
use crate::spec::ApiKeyContext;
use crate::spec::AppSpec;
use crate::spec::Tenant;
use std::sync::Arc;

/// The data centers a Sauce Labs organization can live in (the catalog's choice field).
pub const DATA_CENTERS: &[&str] = &["us-west-1", "us-east-4", "eu-central-1"];
/// Their API hosts, in the same order.
pub const HOSTS: &[&str] = &[
    "api.us-west-1.saucelabs.com",
    "api.us-east-4.saucelabs.com",
    "api.eu-central-1.saucelabs.com",
];
/// The documented maximum of `limit`.
const PAGE_SIZE: usize = 100;
/// The "Member" role (1 is Organization Admin, 4 Team Admin).
const MEMBER: u8 = 3;
/// Longest username the connector derives (Sauce Labs documents no limit; kept short).
const MAX_USERNAME: usize = 40;

pub struct SauceLabsConnector {
    session: Session,
    /// `https://api.{data center}.saucelabs.com/team-management/v1/users/`.
    users: Url,
    /// The organization new users join, found once.
    organization: OnceCell<String>,
}

#[derive(Debug, Deserialize)]
struct User {
    id: String,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    is_active: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
struct Links {
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Team {
    org_uuid: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Teams {
    #[serde(default)]
    results: Vec<Team>,
}

#[derive(Debug, Deserialize)]
struct Users {
    #[serde(default)]
    results: Vec<User>,
    count: Option<u64>,
    #[serde(default)]
    links: Option<Links>,
}

fn account(user: User) -> VendorAccount {
    VendorAccount {
        id: user.id,
        email: user.email,
        first_name: user.first_name,
        last_name: user.last_name,
        display_name: None,
        // Deactivated ("suspends the account"); an absent flag is an account in use.
        status: if user.is_active == Some(false) {
            AccountStatus::Suspended
        } else {
            AccountStatus::Active
        },
    }
}

/// The messages of Sauce Labs' error body, whose shape it does not document: `detail`,
/// `message`, `non_field_errors`, or field errors (`{"email": ["…"]}`); the raw text otherwise.
fn messages(body: &Value) -> Vec<(String, String)> {
    let text = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    };
    let Some(fields) = body.as_object() else {
        return Vec::new();
    };
    fields
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "status_code" | "code" | "status"))
        .flat_map(|(k, v)| text(v).into_iter().map(move |m| (k.clone(), m)))
        .collect()
}

fn summary(response: &VendorResponse) -> String {
    let parsed: Option<Value> = serde_json::from_slice(&response.body).ok();
    let found = parsed.as_ref().map(messages).unwrap_or_default();
    if found.is_empty() {
        return response.text();
    }
    brief(
        &found
            .iter()
            .map(|(field, message)| match field.as_str() {
                "detail" | "message" | "non_field_errors" | "error" => message.clone(),
                _ => format!("{field}: {message}"),
            })
            .collect::<Vec<_>>()
            .join("; "),
    )
}

/// The fields a 400 says are already taken (`username`, `email`).
fn taken_fields(response: &VendorResponse) -> Vec<String> {
    let parsed: Option<Value> = serde_json::from_slice(&response.body).ok();
    parsed
        .as_ref()
        .map(messages)
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, m)| {
            let m = m.to_lowercase();
            m.contains("already") || m.contains("taken") || m.contains("in use")
        })
        .map(|(field, _)| field)
        .collect()
}

/// Sauce Labs' answer, mapped to the typed error.
fn sauce_error(response: &VendorResponse) -> ConnectorError {
    let summary = summary(response);
    match response.status {
        StatusCode::UNAUTHORIZED => ConnectorError::Unauthorized(if summary.is_empty() {
            "Sauce Labs refused the username or access key".into()
        } else {
            summary
        }),
        StatusCode::FORBIDDEN => ConnectorError::Unauthorized(format!(
            "{summary} (the username must be an organization admin of Sauce Labs to manage users)"
        )),
        StatusCode::NOT_FOUND => ConnectorError::NotFound,
        s if s.is_client_error() && !taken_fields(response).is_empty() => ConnectorError::Conflict(summary),
        s => refusal("Sauce Labs", s, summary),
    }
}

/// The API host of a data center.
pub fn host(data_center: &str) -> Result<&'static str, ConnectorError> {
    DATA_CENTERS
        .iter()
        .position(|d| *d == data_center)
        .map(|i| HOSTS[i])
        .ok_or_else(|| {
            ConnectorError::Invalid(format!(
                "`data_center` must be one of {}",
                DATA_CENTERS.join(", ")
            ))
        })
}

/// A short hash of the email (FNV-1a), to tell apart usernames derived alike.
fn tag(email: &str) -> String {
    let hash = email
        .to_lowercase()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    format!("{:06x}", hash & 0xff_ffff)
}

/// The usernames to try for `email`, in order: `local-domain` (e.g. `ada.lovelace-example`
/// for `ada.lovelace@example.com`), then the same with a hash of the email, since Sauce Labs
/// usernames are unique across all its customers. Lowercase letters, digits, `.`, `_`, `-`.
fn usernames(email: &str) -> Vec<String> {
    let clean = |s: &str| -> String {
        let mapped: String = s
            .to_lowercase()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        mapped.trim_matches(['.', '-', '_']).to_owned()
    };
    let (local, domain) = email.rsplit_once('@').unwrap_or((email, ""));
    let label = domain.split('.').next().unwrap_or_default();
    let mut base = [clean(local), clean(label)]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if base.is_empty() {
        base = "user".into();
    }
    let cut = |s: &str, max: usize| s.chars().take(max).collect::<String>();
    let first = cut(&base, MAX_USERNAME);
    let second = format!("{}-{}", cut(&base, MAX_USERNAME - 7), tag(email));
    vec![first, second]
}

impl SauceLabsConnector {
    pub fn new(session: Session, data_center: &str) -> Result<Self, ConnectorError> {
        let users = Url::parse(&format!(
            "https://{}/team-management/v1/users/",
            host(data_center)?
        ))
        .map_err(|e| ConnectorError::Invalid(format!("bad Sauce Labs host: {e}")))?;
        Ok(Self {
            session,
            users,
            organization: OnceCell::new(),
        })
    }

    /// The organization's id: the `org_uuid` its teams carry (`GET …/teams/` lists the teams
    /// of the requesting account's organization).
    async fn organization(&self) -> Result<&str, ConnectorError> {
        self.organization
            .get_or_try_init(|| async {
                let teams = self
                    .users
                    .join("../teams/")
                    .map_err(|e| ConnectorError::Invalid(format!("bad Sauce Labs URL: {e}")))?;
                let response = self.session.send(VendorRequest::get(teams)).await?;
                if !response.status.is_success() {
                    return Err(match sauce_error(&response) {
                        ConnectorError::NotFound => ConnectorError::Invalid(
                            "Sauce Labs showed no teams to find the organization by".into(),
                        ),
                        other => other,
                    });
                }
                let teams: Teams = response.json()?;
                teams
                    .results
                    .into_iter()
                    .find_map(|t| t.org_uuid.filter(|o| !o.is_empty()))
                    .ok_or_else(|| {
                        ConnectorError::Invalid(
                            "Sauce Labs named no organization for the connection's teams".into(),
                        )
                    })
            })
            .await
            .map(String::as_str)
    }

    /// `…/users/{id}/` or `…/users/{id}/{action}/` (Sauce Labs' paths end with a slash).
    fn user_url(&self, id: &str, action: Option<&str>) -> Result<Url, ConnectorError> {
        let mut url = self.users.clone();
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|_| ConnectorError::Invalid("bad Sauce Labs URL".into()))?;
            segments.pop_if_empty().push(id);
            if let Some(action) = action {
                segments.push(action);
            }
            segments.push("");
        }
        Ok(url)
    }

    async fn users_page(&self, query: &[(&str, String)]) -> Result<Users, ConnectorError> {
        let mut url = self.users.clone();
        url.query_pairs_mut()
            .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        let response = self.session.send(VendorRequest::get(url)).await?;
        if !response.status.is_success() {
            return Err(sauce_error(&response));
        }
        response.json()
    }

    /// `POST …/users/{id}/{action}/` (`activate`, `deactivate`); `None` when the user is gone.
    async fn lifecycle(&self, id: &str, action: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        // Setting a state it may already have: safe to send again.
        let request = VendorRequest::new(Method::POST, self.user_url(id, Some(action))?).repeatable();
        let response = self.session.send(request).await?;
        match response.status {
            s if s.is_success() => Ok(Some(account(response.json()?))),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(sauce_error(&response)),
        }
    }

    /// One POST of a new user; `Ok(None)` when only the username was taken.
    async fn post_user(
        &self,
        new: &NewAccount,
        username: &str,
        password: &SecretString,
    ) -> Result<Option<VendorAccount>, ConnectorError> {
        let body = json!({
            "first_name": new.first_name,
            "last_name": new.last_name,
            "email": new.email,
            "username": username,
            "password": password.expose_secret(),
            "organization": self.organization().await?,
            "role": MEMBER,
        });
        let response = self
            .session
            .send(VendorRequest::new(Method::POST, self.users.clone()).json(body))
            .await?;
        if response.status.is_success() {
            return Ok(Some(account(response.json()?)));
        }
        let taken = taken_fields(&response);
        if response.status == StatusCode::BAD_REQUEST
            && taken.iter().all(|f| f == "username")
            && !taken.is_empty()
        {
            return Ok(None);
        }
        Err(sauce_error(&response))
    }
}

#[async_trait]
impl Connector for SauceLabsConnector {
    fn capabilities(&self) -> ConnectorCapabilities {
        ConnectorCapabilities {
            create: true,
            suspend: true,
            reactivate: true,
            delete: true,
            shows_invites: false,
        }
    }

    async fn verify(&self) -> Result<(), ConnectorError> {
        // Listing users needs an organization admin (403 otherwise).
        self.users_page(&[("limit", "1".into())]).await.map(|_| ())
    }

    /// The organization (the `org_uuid` of its teams, from "Lookup Teams") in the
    /// connection's data center, after the credentials are proven there.
    async fn tenant(&self) -> Result<VendorTenant, ConnectorError> {
        let organization = self.organization().await?;
        let data_center = self
            .users
            .host_str()
            .and_then(|h| h.strip_prefix("api."))
            .and_then(|h| h.strip_suffix(".saucelabs.com"))
            .unwrap_or_default();
        Ok(VendorTenant {
            id: format!("{data_center}/{organization}"),
            name: format!("Sauce Labs organization {organization} ({data_center})"),
        })
    }

    async fn list(&self, cursor: Option<&str>) -> Result<AccountPage, ConnectorError> {
        let offset: u64 = match cursor {
            None => 0,
            Some(c) => c
                .parse()
                .map_err(|_| ConnectorError::Invalid("bad Sauce Labs cursor".into()))?,
        };
        let page = self
            .users_page(&[("limit", PAGE_SIZE.to_string()), ("offset", offset.to_string())])
            .await?;
        let seen = offset + page.results.len() as u64;
        // The `next` link says more follow; the offset is ours (never a link to follow).
        let more = page.links.and_then(|l| l.next).is_some() || page.count.is_some_and(|c| c > seen);
        Ok(AccountPage {
            next: (more && !page.results.is_empty()).then(|| seen.to_string()),
            accounts: page.results.into_iter().map(account).collect(),
        })
    }

    async fn get(&self, id: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        let response = self
            .session
            .send(VendorRequest::get(self.user_url(id, None)?))
            .await?;
        match response.status {
            s if s.is_success() => Ok(Some(account(response.json()?))),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(sauce_error(&response)),
        }
    }

    async fn find_by_email(&self, email: &str) -> Result<Option<VendorAccount>, ConnectorError> {
        // `phrase` matches names and emails that begin with it; the exact email is ours.
        let page = self
            .users_page(&[("phrase", email.to_owned()), ("limit", PAGE_SIZE.to_string())])
            .await?;
        Ok(page
            .results
            .into_iter()
            .map(account)
            .find(|a| a.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(email))))
    }

    async fn create(&self, new: &NewAccount) -> Result<VendorAccount, ConnectorError> {
        self.create_with_first_password(new).await.map(|c| c.account)
    }

    /// Sauce Labs requires a password and sends nothing: the password goes back with the
    /// user this call made.
    async fn create_with_first_password(&self, new: &NewAccount) -> Result<Created, ConnectorError> {
        let post = async {
            let password = random_password()?;
            for username in usernames(&new.email) {
                if let Some(account) = self.post_user(new, &username, &password).await? {
                    // Sauce Labs signs people in by username.
                    return Ok(Created {
                        account,
                        first_password: Some(password),
                        sign_in_name: Some(username),
                    });
                }
            }
            Err(ConnectorError::Conflict(
                "every username derived from the email is taken at Sauce Labs".into(),
            ))
        };
        let found = create_once_with_password(self, &new.email, post).await?;
        if found.account.status != AccountStatus::Suspended {
            return Ok(found);
        }
        // The person's old account, deactivated by an earlier remove: Sauce Labs keeps its
        // email taken, so giving the person access again means activating it (their own
        // password still opens it).
        let account = self
            .lifecycle(&found.account.id, "activate")
            .await?
            .ok_or(ConnectorError::NotFound)?;
        Ok(Created {
            account,
            first_password: None,
            sign_in_name: None,
        })
    }

    async fn suspend(&self, id: &str) -> Result<VendorAccount, ConnectorError> {
        self.lifecycle(id, "deactivate")
            .await?
            .ok_or(ConnectorError::NotFound)
    }

    async fn reactivate(&self, id: &str) -> Result<VendorAccount, ConnectorError> {
        self.lifecycle(id, "activate")
            .await?
            .ok_or(ConnectorError::NotFound)
    }

    async fn delete(&self, id: &str) -> Result<Verified, ConnectorError> {
        // Gone is what the user's own resource says, not a 404 of the action. Sauce Labs does
        // not document its answer for a user already deactivated: a refusal is fine when the
        // user is in fact deactivated.
        let refused = match self.lifecycle(id, "deactivate").await {
            Ok(Some(user)) if user.status == AccountStatus::Suspended => return Ok(Verified::VendorAnswer),
            Ok(_) => ConnectorError::Invalid(
                "Sauce Labs answered the deactivation but still lists the user as active".into(),
            ),
            Err(e @ (ConnectorError::Invalid(_) | ConnectorError::Conflict(_))) => e,
            Err(e) => return Err(e),
        };
        match self.get(id).await? {
            None => Ok(Verified::AlreadyGone),
            Some(user) if user.status == AccountStatus::Suspended => Ok(Verified::ReadBack),
            Some(_) => Err(refused),
        }
    }
}

/// Sauce Labs authenticates with HTTP Basic: an organization admin's username (a tenant
/// field, shown on the connection) and access key (a secret field).
fn sauce_labs_basic(c: &ApiKeyContext<'_>) -> Result<Arc<dyn Authenticator>, ConnectorError> {
    Ok(Arc::new(StaticAuth::basic(
        c.tenant_field("username")?,
        c.secret("access_key")?,
    )))
}

/// The data center and the username (a tenant field, checked with every secret field), and
/// the access key.
fn sauce_labs_check(tenant: &Tenant, field: &str, value: &str) -> Result<(), ConnectorError> {
    let data_center = tenant
        .get("data_center")
        .ok_or_else(|| ConnectorError::Invalid("`data_center` is required".into()))?;
    host(data_center)?;
    let username = tenant.get("username").map(|u| u.trim()).unwrap_or_default();
    // Basic authentication cannot carry a colon in the username.
    if username.is_empty() || username.contains(':') || username.chars().any(char::is_whitespace) {
        return Err(ConnectorError::Invalid(
            "`username` must be the Sauce Labs username of an organization admin (no spaces or colons)"
                .into(),
        ));
    }
    if field == "access_key" && (value.trim().is_empty() || value.chars().any(char::is_whitespace)) {
        return Err(ConnectorError::Invalid(
            "`access_key` must be the user's Sauce Labs access key".into(),
        ));
    }
    Ok(())
}

/// What the product shows of sauce_labs (the app directory's entry).
pub const APP: App = App {
    vendor_plan_note: Some(
        "Requires a Live Testing plan or higher; connect with an organization admin's username and access key.",
    ),
    remove_means: "Deactivates the user (Sauce Labs offers no delete); the user can no longer sign in or run tests.",
    removal_deactivates: true,
    suspend_means: Some(
        "Deactivates the user, which Sauce Labs calls suspending the account; activating restores access.",
    ),
    credential_fields: &[
        catalog::choice(
            "data_center",
            "Data center",
            &["us-west-1", "us-east-4", "eu-central-1"],
        ),
        // Goes with the access key into the HTTP Basic credentials.
        catalog::text("username", "Admin username"),
        catalog::secret("access_key", "Access key"),
    ],
    differences_from_product_docs: &[
        "Sauce Labs has no delete: removing a user deactivates it.",
        "Sauce Labs sends no invitation: the user is created active, as a member of the organization's default team, with a random first password, which the service emails to the person as a one-time reveal link (valid 7 days; afterwards \"Forgot password\" or the organization's SSO).",
        "Adding someone whose Sauce Labs user was deactivated activates that user again (Sauce Labs keeps the email taken).",
    ],
    tenant: "Sauce Labs organization and data center",
    ..catalog::app(
        "sauce_labs",
        "Sauce Labs",
        ConnectionType::ApiKey,
        catalog::CREATE_SUSPEND_REMOVE,
    )
};

/// How the service talks to sauce_labs.
pub const SPEC: AppSpec = AppSpec {
    app: &APP,
    hosts: HOSTS,
    // Sauce Labs' REST limit is 10 requests a second and 3,500 an hour per account (its
    // 2016 announcement; the Team Management API states none): keep under the hourly one.
    limit: Some(RateLimit {
        per_minute: 55,
        burst: 10,
    }),
    oauth: None,
    check: sauce_labs_check,
    api_key_auth: Some(sauce_labs_basic),
    exchange: None,
    build: |session, tenant| {
        let data_center = tenant
            .get("data_center")
            .ok_or_else(|| ConnectorError::Invalid("`data_center` is required".into()))?;
        Ok(Box::new(SauceLabsConnector::new(session, data_center)?))
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_derived_from_the_email() {
        assert_eq!(usernames("Ada.Lovelace@Example.com")[0], "ada.lovelace-example");
        assert_eq!(usernames("o'brien+qa@acme.co.uk")[0], "o-brien-qa-acme");
        let second = &usernames("ada@example.com")[1];
        assert!(second.starts_with("ada-example-") && second.len() == "ada-example-".len() + 6);
        assert_eq!(usernames("ada@example.com"), usernames("ADA@example.com"));
        let long = format!("{}@example.com", "a".repeat(80));
        assert!(usernames(&long).iter().all(|u| u.chars().count() <= MAX_USERNAME));
    }
}
