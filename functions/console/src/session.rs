//! Console sign-in, sessions and CSRF.
//!
//! - An admin signs in with a one-time sign-in link (15 minutes, `prov_core::sign_in_links`)
//!   that the claim page gives them right after they confirm their email (or an operator
//!   mints; the devserver prints one at start), or with the company admin token from the
//!   claim, pasted into the sign-in form. Only admins who may manage apps (the primary
//!   admin, `manage_apps`) get in; partner tokens do not.
//! - A session is a 256-bit random id in an `HttpOnly; Secure; SameSite=Strict` cookie. The
//!   store keeps only its SHA-256 hash (looked up by a 16-character prefix, compared in
//!   constant time), with the admin it stands for, its CSRF token and an expiry (the item's
//!   TTL too). Sign-out deletes it. Every request re-runs `authorize` for the company, so a
//!   revoked permission or a removed admin ends access at once.
//! - Every form carries the session's CSRF token (compared in constant time); the sign-in
//!   forms, which come before a session, use a double-submit cookie instead.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use chrono::{DateTime, Duration, Utc};
use cookie::{Cookie, SameSite};
use prov_core::access::{Access, Need, authorize};
use prov_core::audit::Actor;
use prov_core::auth::Principal;
use prov_core::keys;
use prov_core::secret::{hash_secret, random_hex, secret_matches};
use prov_core::sign_in_links;
use prov_core::store::{Item, Key, StoreError};
use prov_core::{Error, Result};
use prov_processes::Apps;
use prov_web::RequestId;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

pub const SESSION_COOKIE: &str = "console_session";
pub const PRESESSION_COOKIE: &str = "console_presession";
/// How long a session lasts from sign-in (no sliding renewal).
pub const SESSION_HOURS: i64 = 8;
pub use prov_core::sign_in_links::LINK_MINUTES;
const LOOKUP_LEN: usize = 16;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionRecord {
    hash: String,
    company_id: String,
    user_id: String,
    csrf: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

fn session_key(id: &str) -> Option<Key> {
    let well_formed = id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then(|| keys::console_session_key(&id[..LOOKUP_LEN]))
}

/// Whether two secrets are equal, in constant time.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The signed-in admin of one request: who they are, what `authorize` found, and the
/// session's CSRF token for the forms of the page.
#[derive(Debug, Clone)]
pub struct Admin {
    pub actor: Actor,
    pub access: Access,
    pub csrf: String,
    /// The access report's open findings (the navigation shows the count).
    pub open_findings: usize,
}

impl Admin {
    pub fn company_id(&self) -> &str {
        &self.access.company().id
    }

    /// The admin's access for a page that needs more than signing in does (dismissals need
    /// `manage_team`), checked as the API checks it.
    pub async fn access_for(&self, apps: &Apps, need: Need) -> Result<Access> {
        authorize(&apps.services, &self.actor.principal, self.company_id(), need).await
    }

    /// The company's primary admin (who manages roles and permissions).
    pub fn is_primary(&self) -> bool {
        self.access
            .admin()
            .is_some_and(|u| u.role == prov_core::company::Role::PrimaryAdmin)
    }

    pub fn name(&self) -> String {
        self.access
            .admin()
            .map(|u| format!("{} {}", u.first_name, u.last_name))
            .unwrap_or_default()
    }

    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, presented: &str) -> Result<()> {
        if same(presented, &self.csrf) {
            Ok(())
        } else {
            Err(csrf_refused())
        }
    }
}

pub fn csrf_refused() -> Error {
    Error::forbidden(
        "csrf",
        "This form has expired or did not come from the console. Go back, reload the page and try again.",
    )
}

/// A request without a valid session: the handler sends the browser to sign in.
#[derive(Debug)]
pub enum Rejection {
    SignIn,
    Failed(Error),
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(|c| c.ok())
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

impl FromRequestParts<Apps> for Admin {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, apps: &Apps) -> Result<Self, Rejection> {
        let id = cookie_value(&parts.headers, SESSION_COOKIE).ok_or(Rejection::SignIn)?;
        let request_id = parts
            .extensions
            .get::<RequestId>()
            .map_or_else(|| "unknown".to_owned(), |r| r.0.clone());
        let (principal, csrf) = match load(apps, &id).await {
            Ok(Some(found)) => found,
            Ok(None) => return Err(Rejection::SignIn),
            Err(e) => return Err(Rejection::Failed(e)),
        };
        let Principal::Admin { company_id, .. } = &principal else {
            return Err(Rejection::SignIn);
        };
        let access = match authorize(&apps.services, &principal, company_id, Need::ManageApps).await {
            Ok(access) => access,
            // The admin was removed or lost the permission since signing in.
            Err(Error::Refused(_)) => return Err(Rejection::SignIn),
            Err(e) => return Err(Rejection::Failed(e)),
        };
        let open_findings = prov_processes::reconcile::open_findings(apps, company_id)
            .await
            .map_err(Rejection::Failed)?;
        Ok(Admin {
            actor: Actor {
                principal,
                request_id,
            },
            access,
            csrf,
            open_findings,
        })
    }
}

async fn load(apps: &Apps, id: &str) -> Result<Option<(Principal, String)>> {
    let Some(key) = session_key(id) else {
        return Ok(None);
    };
    let Some(item) = apps.services.store.get(&key).await? else {
        return Ok(None);
    };
    let record: SessionRecord = item.record()?;
    if !secret_matches(id, &record.hash) || record.expires_at <= apps.services.clock.now() {
        return Ok(None);
    }
    Ok(Some((
        Principal::Admin {
            company_id: record.company_id,
            user_id: record.user_id,
        },
        record.csrf,
    )))
}

/// Checks that `principal` may use the console (a company admin who may manage apps).
pub async fn admit(apps: &Apps, principal: &Principal) -> Result<Access> {
    match principal {
        Principal::Admin { company_id, .. } => {
            authorize(&apps.services, principal, company_id, Need::ManageApps).await
        }
        Principal::Partner { .. } => Err(Error::forbidden(
            "token",
            "The console is for company admins; a partner token cannot sign in here.",
        )),
    }
}

/// Starts a session for an admitted principal; answers the `Set-Cookie` value.
pub async fn start(apps: &Apps, principal: &Principal, secure: bool) -> Result<HeaderValue> {
    let Principal::Admin { company_id, user_id } = principal else {
        return Err(Error::forbidden("token", "Only company admins can sign in."));
    };
    let now = apps.services.clock.now();
    let expires_at = now + Duration::hours(SESSION_HOURS);
    let id = random_hex(32);
    let record = SessionRecord {
        hash: hash_secret(&id),
        company_id: company_id.clone(),
        user_id: user_id.clone(),
        csrf: random_hex(32),
        created_at: now,
        expires_at,
    };
    let key = session_key(&id).expect("a fresh id is well formed");
    let item = Item::from_record(key, &record)?.with_expiry(expires_at.timestamp());
    apps.services.store.create(item).await?;
    Ok(set_cookie(
        SESSION_COOKIE,
        &id,
        secure,
        Some(SESSION_HOURS * 3600),
    ))
}

/// Ends the session the request carries (if any); answers the cookie that clears it.
pub async fn end(apps: &Apps, headers: &HeaderMap, secure: bool) -> Result<HeaderValue> {
    if let Some(id) = cookie_value(headers, SESSION_COOKIE)
        && let Some(key) = session_key(&id)
        && load(apps, &id).await?.is_some()
    {
        match apps.services.store.delete(&key, None).await {
            Ok(()) | Err(StoreError::ConditionFailed) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(set_cookie(SESSION_COOKIE, "", secure, Some(0)))
}

/// Mints a one-time sign-in link for an admin (operators, the devserver).
pub async fn mint_link(apps: &Apps, company_id: &str, user_id: &str) -> Result<String> {
    sign_in_links::mint(&apps.services, company_id, user_id).await
}

/// Uses up a sign-in link: answers the admin it was for, once.
pub async fn redeem_link(apps: &Apps, secret: &str) -> Result<Principal> {
    sign_in_links::redeem(&apps.services, secret).await
}

/// The pre-session CSRF token of the sign-in forms (double-submit cookie): the one the
/// browser already has, or a new one to set.
pub fn presession(headers: &HeaderMap, secure: bool) -> (String, Option<HeaderValue>) {
    match cookie_value(headers, PRESESSION_COOKIE).filter(|v| v.len() == 64) {
        Some(existing) => (existing, None),
        None => {
            let fresh = random_hex(32);
            let cookie = set_cookie(PRESESSION_COOKIE, &fresh, secure, Some(3600));
            (fresh, Some(cookie))
        }
    }
}

/// Whether a sign-in form's token matches the browser's pre-session cookie.
pub fn presession_matches(headers: &HeaderMap, presented: &str) -> bool {
    cookie_value(headers, PRESESSION_COOKIE).is_some_and(|c| c.len() == 64 && same(&c, presented))
}

fn set_cookie(name: &str, value: &str, secure: bool, max_age_seconds: Option<i64>) -> HeaderValue {
    let mut cookie = Cookie::build((name, value))
        .path("/console")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .build();
    if let Some(seconds) = max_age_seconds {
        cookie.set_max_age(cookie::time::Duration::seconds(seconds));
    }
    HeaderValue::from_str(&cookie.to_string()).expect("cookie values are hex")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cookies_are_locked_down() {
        let value = set_cookie(SESSION_COOKIE, &"a".repeat(64), true, Some(60));
        let text = value.to_str().unwrap();
        for part in [
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/console",
            "Max-Age=60",
        ] {
            assert!(text.contains(part), "{text} lacks {part}");
        }
    }

    #[test]
    fn malformed_session_ids_are_not_looked_up() {
        assert!(session_key("short").is_none());
        assert!(session_key(&"z".repeat(64)).is_none());
        assert!(session_key(&"a".repeat(64)).is_some());
    }

    #[test]
    fn cookies_are_read_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; console_session=abc; b=2"),
        );
        assert_eq!(cookie_value(&headers, SESSION_COOKIE).as_deref(), Some("abc"));
        assert!(cookie_value(&headers, PRESESSION_COOKIE).is_none());
    }
}
