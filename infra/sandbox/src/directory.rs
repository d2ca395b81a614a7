//! The user directory every fake serves in its own shapes: per tenant (the directory a token
//! opens), users in creation order, each with the time it last changed (the sandbox's clock).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};

/// The sandbox's clock: the devserver's, so that its tests move both together.
pub type Now = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

#[derive(Clone, Debug)]
pub(crate) struct User {
    pub id: String,
    /// The email (every fake keys its users by it).
    pub user_name: String,
    /// A SCIM `userName` other than the email, where the app has one (a Slack member's
    /// username, a Salesforce login).
    pub login: Option<String>,
    pub given: String,
    pub family: String,
    pub active: bool,
    /// Suspended where the app tells suspension apart from deactivation (Okta's SUSPENDED,
    /// LeanKit's disabled user): no sign-in, still active otherwise.
    pub suspended: bool,
    /// Created through the API: invited, not yet accepted.
    pub invite_pending: bool,
    /// Counts the user's changes (a SCIM `ETag`).
    pub version: u64,
    /// When the user was created or last changed (Okta's `lastUpdated`).
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// The user's version as a weak HTTP entity tag.
    pub(crate) fn etag(&self) -> String {
        format!("W/\"{}\"", self.version)
    }

    /// The SCIM `userName`: the login where there is one, else the email.
    pub(crate) fn scim_user_name(&self) -> &str {
        self.login.as_deref().unwrap_or(&self.user_name)
    }
}

pub(crate) struct Directory {
    tenants: HashMap<String, BTreeMap<String, User>>,
    next_id: u64,
    /// Calls that change users, by method (`POST`, `PATCH`, `DELETE`).
    changes: HashMap<&'static str, usize>,
    pub(crate) now: Now,
    /// Users invited through an app's API since the devserver last took them (to email).
    pub(crate) invited: Vec<Invited>,
}

/// A user an app invited (by its API), as the vendor would email them.
pub(crate) struct Invited {
    pub app: &'static str,
    pub tenant: String,
    pub user_id: String,
}

impl Default for Directory {
    fn default() -> Self {
        Self {
            tenants: HashMap::new(),
            next_id: 0,
            changes: HashMap::new(),
            now: Arc::new(Utc::now),
            invited: Vec::new(),
        }
    }
}

impl Directory {
    pub(crate) fn insert(&mut self, tenant: &str, email: &str, first: &str, last: &str) -> String {
        self.next_id += 1;
        // Zero-padded so the tenant's users list in creation order.
        let id = format!("u{:08}", self.next_id);
        self.tenants.entry(tenant.to_owned()).or_default().insert(
            id.clone(),
            User {
                id: id.clone(),
                user_name: email.to_owned(),
                login: None,
                given: first.to_owned(),
                family: last.to_owned(),
                active: true,
                suspended: false,
                invite_pending: false,
                version: 1,
                updated_at: (self.now)(),
            },
        );
        id
    }

    /// Gives a user a SCIM `userName` other than their email.
    pub(crate) fn set_login(&mut self, tenant: &str, id: &str, login: &str) {
        if let Some(user) = self.user_mut(tenant, id) {
            user.login = Some(login.to_owned());
        }
    }

    pub(crate) fn emails(&self, tenant: &str) -> Vec<String> {
        self.tenants
            .get(tenant)
            .map(|t| t.values().map(|u| u.user_name.clone()).collect())
            .unwrap_or_default()
    }

    pub(crate) fn remove_by_email(&mut self, tenant: &str, email: &str) -> bool {
        let Some(users) = self.tenants.get_mut(tenant) else {
            return false;
        };
        let id = users
            .values()
            .find(|u| u.user_name.eq_ignore_ascii_case(email))
            .map(|u| u.id.clone());
        id.is_some_and(|id| users.remove(&id).is_some())
    }

    /// The person accepts the invitation sent to `email`; false when there is none.
    pub(crate) fn accept(&mut self, tenant: &str, email: &str) -> bool {
        let Some(user) = self.tenants.get_mut(tenant).and_then(|t| {
            t.values_mut()
                .find(|u| u.user_name.eq_ignore_ascii_case(email) && u.invite_pending)
        }) else {
            return false;
        };
        user.invite_pending = false;
        user.version += 1;
        user.updated_at = (self.now)();
        true
    }

    /// A tenant's users in creation order.
    pub(crate) fn users(&self, tenant: &str) -> Vec<User> {
        self.tenants
            .get(tenant)
            .map(|t| t.values().cloned().collect())
            .unwrap_or_default()
    }

    /// `take` of a tenant's users from position `skip` in creation order, copying only those.
    pub(crate) fn slice(&self, tenant: &str, skip: usize, take: usize) -> Vec<User> {
        self.tenants
            .get(tenant)
            .map(|t| t.values().skip(skip).take(take).cloned().collect())
            .unwrap_or_default()
    }

    /// How many users a tenant has.
    pub(crate) fn count_of(&self, tenant: &str) -> usize {
        self.tenants.get(tenant).map_or(0, BTreeMap::len)
    }

    /// One page of a tenant's users after the cursor `after` (the last id of the previous
    /// page: ids sort in creation order), with the next cursor when more follow.
    pub(crate) fn page(
        &self,
        tenant: &str,
        after: Option<&str>,
        limit: usize,
    ) -> (Vec<User>, Option<String>) {
        let Some(users) = self.tenants.get(tenant) else {
            return (Vec::new(), None);
        };
        let from = match after {
            Some(a) => std::ops::Bound::Excluded(a.to_owned()),
            None => std::ops::Bound::Unbounded,
        };
        let mut rest: Vec<User> = users
            .range((from, std::ops::Bound::Unbounded))
            .take(limit + 1)
            .map(|(_, u)| u.clone())
            .collect();
        let more = rest.len() > limit;
        rest.truncate(limit);
        let next = more.then(|| rest.last().map(|u| u.id.clone())).flatten();
        (rest, next)
    }

    pub(crate) fn by_email(&self, tenant: &str, email: &str) -> Option<User> {
        self.tenants
            .get(tenant)?
            .values()
            .find(|u| u.user_name.eq_ignore_ascii_case(email))
            .cloned()
    }

    pub(crate) fn by_id(&self, tenant: &str, id: &str) -> Option<User> {
        self.tenants.get(tenant)?.get(id).cloned()
    }

    /// A user to change in place (whoever changes it counts the change in `version`); its
    /// change time is now.
    pub(crate) fn user_mut(&mut self, tenant: &str, id: &str) -> Option<&mut User> {
        let now = (self.now)();
        let user = self.tenants.get_mut(tenant)?.get_mut(id)?;
        user.updated_at = now;
        Some(user)
    }

    /// Creates an invited user; `None` when the email is taken.
    pub(crate) fn invite(&mut self, tenant: &str, email: &str, first: &str, last: &str) -> Option<User> {
        if self.by_email(tenant, email).is_some() {
            return None;
        }
        let id = self.insert(tenant, email, first, last);
        if let Some(app) = crate::app_scope::current() {
            self.invited.push(Invited {
                app,
                tenant: tenant.to_owned(),
                user_id: id.clone(),
            });
        }
        let user = self.user_mut(tenant, &id)?;
        user.invite_pending = true;
        Some(user.clone())
    }

    /// Suspends (`false`) or reactivates a user; `None` when there is no such user.
    pub(crate) fn set_active(&mut self, tenant: &str, id: &str, active: bool) -> Option<User> {
        let user = self.user_mut(tenant, id)?;
        user.active = active;
        user.version += 1;
        Some(user.clone())
    }

    /// Suspends (`true`) or unsuspends a user; `None` when there is no such user.
    pub(crate) fn set_suspended(&mut self, tenant: &str, id: &str, suspended: bool) -> Option<User> {
        let user = self.user_mut(tenant, id)?;
        user.suspended = suspended;
        user.version += 1;
        Some(user.clone())
    }

    pub(crate) fn remove(&mut self, tenant: &str, id: &str) -> bool {
        self.tenants
            .get_mut(tenant)
            .is_some_and(|t| t.remove(id).is_some())
    }

    /// The tenants that have users.
    pub(crate) fn tenants(&self) -> Vec<String> {
        let mut names: Vec<String> = self.tenants.keys().cloned().collect();
        names.sort();
        names
    }

    pub(crate) fn changes(&self, method: &str) -> usize {
        self.changes.get(method).copied().unwrap_or(0)
    }

    pub(crate) fn count(&mut self, method: &'static str) {
        *self.changes.entry(method).or_default() += 1;
    }
}
