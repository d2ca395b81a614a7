//! App connections: connecting with an API key (verified by one real call before anything is
//! saved), connecting with OAuth (state + PKCE, tokens kept in the secret store and refreshed
//! before they expire), disconnecting, and the connector of a connection.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use prov_core::Services;
use prov_core::access::Access;
use prov_core::audit::{self, Actor, ActorRef, Outcome, Target};
use prov_core::body::{Body, Unparsed};
use prov_core::catalog::{App, ConnectionType};
use prov_core::connections::{Connection, ConnectionState};
use prov_core::connector::{
    CodeGrant, ConnectOptions, Connector, ConnectorError, Credentials, ENVIRONMENT, OAuthTokens, PRODUCTION,
    Secrets, Tenant, TokenKeeper, TokenSet, VendorTenant, Vendors, brief,
};
use prov_core::error::{Category, Error, Result};
use prov_core::keys::{connection_key, oauth_state_key};
use prov_core::queue::JobQueue;
use prov_core::schedule::Scheduler;
use prov_core::secret::{hash_secret, random_hex, secret_matches};
use prov_core::secrets::{SecretStore, connection_secret_name};
use prov_core::store::{Attempt, Item, StoreError, WriteOp, retry_lost_writes};
use prov_core::validate::{Obj, Text, Validator};
use prov_core::webhooks::{self, EventType, Hooks, Listening, WebhookSender};

pub use crate::credentials::ApiKeyCredentials;
use crate::rate_limits::rate_limited;
use crate::refresh_lease::RefreshLease;
pub use crate::tenancy::SWITCH_TENANT;
use crate::tenancy::{bind, settle_binding};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

/// How long an OAuth `state` may wait for the vendor's redirect.
pub const STATE_TTL_MINUTES: i64 = 10;

/// What app connections need besides the core services.
#[derive(Clone)]
pub struct Apps {
    pub services: Services,
    pub secrets: Arc<dyn SecretStore>,
    /// The vendors, through their port.
    pub vendors: Arc<dyn Vendors>,
    /// Schedules dismissals' removals.
    pub scheduler: Arc<dyn Scheduler>,
    /// Background jobs (syncs) for the worker.
    pub queue: Arc<dyn JobQueue>,
    /// Where partners' webhook deliveries go out.
    pub webhooks: Arc<dyn WebhookSender>,
}

impl Apps {
    /// The ports webhook work needs.
    pub fn hooks(&self) -> Hooks<'_> {
        Hooks {
            svc: &self.services,
            secrets: self.secrets.as_ref(),
            sender: self.webhooks.as_ref(),
        }
    }
}

/// Routers whose state is `Apps` hand the services to the extractors that need them.
impl AsRef<Services> for Apps {
    fn as_ref(&self) -> &Services {
        &self.services
    }
}

/// A connection as the API shows it (never with credentials).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ConnectionView {
    pub app: String,
    /// `not_connected`, or the connection's state.
    pub state: String,
    pub connected_at: Option<DateTime<Utc>>,
    pub connected_by: Option<ActorRef>,
    pub tenant: BTreeMap<String, String>,
    pub problem: Option<String>,
}

impl ConnectionView {
    fn of(connection: &Connection) -> Self {
        Self {
            app: connection.app.clone(),
            state: serde_json::to_value(connection.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            connected_at: Some(connection.connected_at),
            connected_by: Some(connection.connected_by.clone()),
            tenant: connection.tenant.clone(),
            problem: connection.problem.clone(),
        }
    }

    fn none(app: &str) -> Self {
        Self {
            app: app.to_owned(),
            state: "not_connected".into(),
            connected_at: None,
            connected_by: None,
            tenant: BTreeMap::new(),
            problem: None,
        }
    }
}

/// A vendor's refusal, said to the admin who is connecting.
pub fn connect_error(app: &App, e: ConnectorError) -> Error {
    match e {
        ConnectorError::Unauthorized(why) => Error::invalid(
            "credentials",
            format!("{} refused these credentials: {why}", app.name),
        ),
        ConnectorError::PlanRequired(why) => Error::invalid("plan", format!("{}: {why}", app.name)),
        ConnectorError::Invalid(why) | ConnectorError::Conflict(why) => {
            Error::invalid("credentials", format!("{}: {why}", app.name))
        }
        ConnectorError::Refused(why) => {
            Error::invalid("credentials", format!("That address cannot be used: {why}"))
        }
        ConnectorError::NotFound => {
            Error::invalid("credentials", format!("{} did not find the account.", app.name))
        }
        ConnectorError::Unsupported(what) => {
            Error::invalid("app", format!("{} does not support {what}.", app.name))
        }
        ConnectorError::RateLimited { retry_after } => rate_limited(app, retry_after),
        ConnectorError::Transient(why) => Error::refused(
            "app",
            Category::ServiceUnavailable,
            format!("{} could not be reached: {why}", app.name),
        ),
    }
}

/// The app, if this company may connect it, and how it connects.
fn connectable(apps: &Apps, access: &Access, slug: &str) -> Result<(&'static App, ConnectOptions)> {
    let app = apps.services.catalog.get(slug)?;
    if let Err(why) = app.allowed_on(access.company().plan) {
        return Err(Error::forbidden("plan", why));
    }
    let options = apps
        .vendors
        .connect_options(slug)
        .ok_or_else(|| Error::invalid("app", format!("Connecting {} is not available yet.", app.name)))?;
    Ok((app, options))
}

async fn load(apps: &Apps, company_id: &str, slug: &str) -> Result<Option<(u64, Connection)>> {
    Ok(
        match apps.services.store.get(&connection_key(company_id, slug)).await? {
            Some(item) => Some((item.version, item.record()?)),
            None => None,
        },
    )
}

/// A company's connection to an app, if it has one (in any state).
pub(crate) async fn connection_of(apps: &Apps, company_id: &str, slug: &str) -> Result<Option<Connection>> {
    Ok(load(apps, company_id, slug).await?.map(|(_, c)| c))
}

pub async fn status(apps: &Apps, access: &Access, slug: &str) -> Result<ConnectionView> {
    let company_id = &access.company().id;
    apps.services.catalog.get(slug)?;
    Ok(match load(apps, company_id, slug).await? {
        Some((_, c)) => ConnectionView::of(&c),
        None => ConnectionView::none(slug),
    })
}

/// Writes the connection record, whatever state it was in.
async fn save(apps: &Apps, connection: &Connection) -> Result<()> {
    save_with(apps, connection, &[]).await
}

/// `save`, with the partner events the change causes in the same transaction.
async fn save_with(apps: &Apps, connection: &Connection, events: &[WriteOp]) -> Result<()> {
    let key = connection_key(&connection.company_id, &connection.app);
    let store = &apps.services.store;
    let key = &key;
    let written = retry_lost_writes(3, move || async move {
        let item = connection.item()?;
        let existing = store.get(key).await?;
        if !events.is_empty() {
            let mut ops = vec![match &existing {
                Some(old) => WriteOp::Replace {
                    item,
                    expected_version: old.version,
                },
                None => WriteOp::Create(item),
            }];
            ops.extend(events.iter().cloned());
            return match store.transact(ops).await {
                Ok(()) => Ok(Attempt::Done(0)),
                Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => Ok(Attempt::Lost),
                Err(e) => Err(Error::from(e)),
            };
        }
        let written = match existing {
            Some(existing) => store.replace(item, existing.version).await,
            None => store.create(item).await,
        };
        Ok::<_, Error>(Attempt::of(written)?)
    })
    .await?;
    written.map(|_| ()).ok_or_else(|| {
        Error::refused(
            "connection",
            Category::Conflict,
            "The connection kept changing; retry.",
        )
    })
}

/// The credentials kept in the secret store for a connection.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Stored {
    ApiKey { fields: BTreeMap<String, SecretString> },
    Oauth(StoredTokens),
}

#[derive(Deserialize)]
struct StoredTokens {
    access_token: SecretString,
    refresh_token: Option<SecretString>,
    expires_at: Option<DateTime<Utc>>,
}

impl From<StoredTokens> for OAuthTokens {
    fn from(t: StoredTokens) -> Self {
        OAuthTokens {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            expires_at: t.expires_at,
        }
    }
}

fn api_key_secret(fields: &Secrets) -> SecretString {
    let fields: Map<String, Value> = fields
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.expose_secret().to_owned())))
        .collect();
    SecretString::from(json!({ "kind": "api_key", "fields": fields }).to_string())
}

fn oauth_secret(tokens: &TokenSet) -> SecretString {
    SecretString::from(
        json!({
            "kind": "oauth",
            "access_token": tokens.access_token.expose_secret(),
            "refresh_token": tokens.refresh_token.as_ref().map(|t| t.expose_secret().to_owned()),
            "expires_at": tokens.expires_at,
            "scope": tokens.scope,
        })
        .to_string(),
    )
}

fn new_connection(
    company_id: &str,
    slug: &str,
    tenant: Tenant,
    by: ActorRef,
    now: DateTime<Utc>,
) -> Connection {
    Connection {
        app: slug.to_owned(),
        company_id: company_id.to_owned(),
        state: ConnectionState::Connected,
        tenant,
        secret_name: connection_secret_name(company_id, slug),
        connected_at: now,
        connected_by: by,
        updated_at: now,
        problem: None,
    }
}

/// Connects an API-key app: the credentials are checked with one real call to the vendor
/// before anything is saved; refused credentials store nothing.
pub async fn connect_api_key(
    apps: &Apps,
    actor: &Actor,
    access: &Access,
    slug: &str,
    body: &Unparsed<ApiKeyCredentials>,
) -> Result<ConnectionView> {
    let (app, _) = connectable(apps, access, slug)?;
    if app.connection_type != ConnectionType::ApiKey {
        return Err(Error::invalid(
            "app",
            format!(
                "{} connects with OAuth: start at `POST …/apps/{slug}/connection/oauth`.",
                app.name
            ),
        ));
    }
    let ApiKeyCredentials {
        mut tenant,
        secrets,
        switch_tenant: switch,
    } = body.parse_for(app)?;
    let company_id = &access.company().id;
    let proven = apps
        .vendors
        .connect_api_key(company_id, slug, &tenant, secrets)
        .await
        .map_err(|e| connect_error(app, e))?;
    let recorded = load(apps, company_id, slug)
        .await?
        .and_then(|(_, c)| c.vendor_tenant());
    let binding = bind(app, recorded, &proven.tenant, switch)?;

    let now = apps.services.clock.now();
    let by = ActorRef::from(&actor.principal);
    settle_binding(
        &apps.services,
        by.clone(),
        &actor.request_id,
        company_id,
        slug,
        &binding,
        &proven.tenant,
    )
    .await?;
    proven.tenant.record(&mut tenant);
    let connection = new_connection(company_id, slug, tenant, by, now);
    apps.secrets
        .put(&connection.secret_name, &api_key_secret(&proven.secrets))
        .await?;
    save(apps, &connection).await?;
    audit::succeeded(
        &apps.services,
        actor,
        company_id,
        "connection.connected",
        Target::new("app", slug),
        Some(format!("{} {}", app.tenant, proven.tenant)),
    )
    .await;
    Ok(ConnectionView::of(&connection))
}

/// The pending OAuth authorization, keyed by the hash of its `state`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingAuthorization {
    company_id: String,
    app: String,
    started_by: ActorRef,
    pkce_verifier: String,
    return_url: Option<String>,
    /// The vendor test environment chosen (absent: production).
    #[serde(default)]
    environment: Option<String>,
    /// The organization (workspace, account) the admin named, for vendors where one sign-in
    /// reaches several.
    #[serde(default)]
    organization: Option<String>,
    /// Whether the admin confirmed a switch to another vendor tenant.
    #[serde(default)]
    switch_tenant: bool,
    expires_at: DateTime<Utc>,
    /// The vendor's consent page, where the start link sends the browser (empty in a state
    /// started before start links existed: such a state cannot be finished).
    #[serde(default)]
    vendor_url: String,
    /// The hash of the secret in the cookie of the browser that opened the start link: only
    /// that browser can finish the connect (RFC 9700, section 4.7).
    #[serde(default)]
    browser: Option<String>,
}

fn redirect_uri(apps: &Apps) -> String {
    format!("{}/v1/oauth/callback", apps.services.settings.public_base_url)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StartedAuthorization {
    /// Send the admin's browser here: the service's start link (`GET /v1/oauth/start`),
    /// which ties the connect to that browser and sends it on to the app's consent page.
    /// Only that browser can finish the connect.
    pub authorize_url: String,
    pub expires_at: DateTime<Utc>,
}

/// Whether `url` is under one of the configured return origins.
fn allowed_return(apps: &Apps, url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    let origin = parsed.origin().ascii_serialization();
    apps.services
        .settings
        .oauth_return_origins
        .iter()
        .any(|allowed| allowed.trim_end_matches('/') == origin)
}

/// OAuth connect.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuthStart {
    /// Where the admin's browser goes back to, under one of the configured return origins.
    #[schema(min_length = 1, max_length = 320)]
    pub return_url: Option<String>,
    /// A vendor test environment the app lists (`environments` of `GET /v1/apps/{app}`).
    #[schema(min_length = 1, max_length = 320)]
    pub environment: Option<String>,
    /// Apps where one sign-in reaches several organizations (GitHub organization, Asana
    /// workspace gid, DocuSign account id): the one to manage. Refused by other apps.
    #[schema(min_length = 1, max_length = 200)]
    pub organization: Option<String>,
    /// Confirms a switch to another vendor tenant than the one connected (the accounts of
    /// the former one are then no longer managed here).
    pub switch_tenant: Option<bool>,
}

/// Read against the service's return origins and how the app connects.
impl Body<(&Apps, &ConnectOptions)> for OAuthStart {
    fn parse(v: &mut Validator, root: &Obj<'_>, (apps, options): (&Apps, &ConnectOptions)) -> Option<Self> {
        let allowed: &[&str] = if options.organization_field.is_some() {
            &["return_url", "environment", "organization", SWITCH_TENANT]
        } else {
            &["return_url", "environment", SWITCH_TENANT]
        };
        v.only(root, allowed);
        let return_url = v.parsed(root, "return_url", false, |raw| {
            if allowed_return(apps, raw) {
                Ok(raw.to_owned())
            } else {
                Err("is not one of the allowed return addresses.".to_owned())
            }
        });
        let environments = &options.environments;
        let environment = v.parsed(root, "environment", false, |raw| {
            if environments.contains(&raw) {
                Ok(raw.to_owned())
            } else {
                Err(format!("must be one of {}.", environments.join(", ")))
            }
        });
        let organization = v.text(root, "organization", false, Text { max_chars: 200 });
        let switch_tenant = v.boolish(root, SWITCH_TENANT);
        Some(OAuthStart {
            return_url,
            environment,
            organization,
            switch_tenant,
        })
    }
}

/// Starts connecting an OAuth app: answers the vendor's authorize URL, with a single-use,
/// expiring `state` bound to the company, the app and the admin, and a PKCE S256 challenge.
pub async fn start_oauth(
    apps: &Apps,
    actor: &Actor,
    access: &Access,
    slug: &str,
    body: &Unparsed<OAuthStart>,
) -> Result<StartedAuthorization> {
    let (app, options) = connectable(apps, access, slug)?;
    if app.connection_type != ConnectionType::Oauth {
        return Err(Error::invalid(
            "app",
            format!(
                "{} connects with an API key: send its credentials to `POST …/apps/{slug}/connection`.",
                app.name
            ),
        ));
    }
    let OAuthStart {
        return_url,
        environment,
        organization,
        switch_tenant,
    } = body.parse_for((apps, &options))?;
    let environment = environment.filter(|e| e != PRODUCTION);
    if !apps
        .vendors
        .oauth_registered(slug)
        .await
        .map_err(Error::Internal)?
    {
        return Err(Error::refused(
            "app",
            Category::ServiceUnavailable,
            format!("OAuth for {} is not configured on this service.", app.name),
        ));
    }
    let authorization = apps
        .vendors
        .authorize(slug, &redirect_uri(apps), environment.as_deref())
        .await
        .map_err(|e| connect_error(app, e))?;
    let expires_at = apps.services.clock.now() + Duration::minutes(STATE_TTL_MINUTES);
    let pending = PendingAuthorization {
        company_id: access.company().id.clone(),
        app: slug.to_owned(),
        started_by: ActorRef::from(&actor.principal),
        pkce_verifier: authorization.pkce_verifier.expose_secret().to_owned(),
        return_url,
        environment,
        organization,
        switch_tenant: switch_tenant.unwrap_or(false),
        expires_at,
        vendor_url: authorization.url.to_string(),
        browser: None,
    };
    let state = authorization.state.expose_secret();
    let item = Item::from_record(oauth_state_key(state), &pending)?.with_expiry(expires_at.timestamp());
    apps.services.store.create(item).await?;
    let mut start = url::Url::parse(&format!(
        "{}/v1/oauth/start",
        apps.services.settings.public_base_url
    ))
    .map_err(|e| Error::Internal(format!("the public base URL does not parse: {e}")))?;
    start.query_pairs_mut().append_pair("state", state);
    Ok(StartedAuthorization {
        authorize_url: start.to_string(),
        expires_at,
    })
}

/// Whether `secret` has the shape of a browser binding this service makes.
fn binding_shaped(secret: &str) -> bool {
    secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The start link opened: where to send the browser, and the binding secret its cookie keeps.
#[derive(Debug)]
pub struct OpenedAuthorization {
    pub vendor_url: String,
    pub browser: SecretString,
}

/// Opens an OAuth connect's start link: ties the connect to this browser (its binding
/// cookie's secret, or a new one) and answers the vendor's consent page. The first browser
/// to open it keeps it: another browser is refused, the same one may open it again.
pub async fn open_authorization(
    apps: &Apps,
    query: &HashMap<String, String>,
    browser: Option<&str>,
) -> Result<std::result::Result<OpenedAuthorization, CallbackError>> {
    let invalid = || {
        Err(CallbackError {
            code: "invalid_state",
            message: "This link is not valid, has expired or was opened in another browser. Start connecting again."
                .into(),
        })
    };
    let Some(state) = query.get("state").filter(|s| !s.is_empty() && s.len() <= 512) else {
        return Ok(invalid());
    };
    let key = oauth_state_key(state);
    let Some(item) = apps.services.store.get(&key).await? else {
        return Ok(invalid());
    };
    let mut pending: PendingAuthorization = item.record()?;
    if pending.expires_at <= apps.services.clock.now() || pending.vendor_url.is_empty() {
        return Ok(invalid());
    }
    let browser = browser
        .filter(|b| binding_shaped(b))
        .map_or_else(|| random_hex(32), str::to_owned);
    match &pending.browser {
        Some(bound) if secret_matches(&browser, bound) => {}
        Some(_) => return Ok(invalid()),
        None => {
            pending.browser = Some(hash_secret(&browser));
            let bound = Item::from_record(key, &pending)?.with_expiry(pending.expires_at.timestamp());
            match apps.services.store.replace(bound, item.version).await {
                Ok(_) => {}
                // Another browser opened it first, or the callback already used it.
                Err(StoreError::ConditionFailed) => return Ok(invalid()),
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(Ok(OpenedAuthorization {
        vendor_url: pending.vendor_url,
        browser: SecretString::from(browser),
    }))
}

/// How an OAuth callback ended, for the page or redirect that tells the admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackOutcome {
    /// Where to send the admin (only from a valid state: never from the request).
    pub return_url: Option<String>,
    pub app: Option<String>,
    pub result: std::result::Result<(), CallbackError>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackError {
    /// `invalid_state`, `other_browser`, `expired`, `access_denied`, `vendor_error`,
    /// `exchange_failed`, `verification_failed`, `tenant_mismatch`.
    pub code: &'static str,
    pub message: String,
}

fn failed(code: &'static str, message: impl Into<String>) -> std::result::Result<(), CallbackError> {
    Err(CallbackError {
        code,
        message: message.into(),
    })
}

/// Finishes an OAuth connect in the browser that opened its start link (`browser`: the secret
/// of its binding cookie). Forged, replayed or expired states, another browser, a vendor
/// refusal, a failed exchange or tokens that do not work store nothing.
pub async fn finish_oauth(
    apps: &Apps,
    request_id: &str,
    query: &HashMap<String, String>,
    browser: Option<&str>,
) -> Result<CallbackOutcome> {
    let invalid = || CallbackOutcome {
        return_url: None,
        app: None,
        result: failed(
            "invalid_state",
            "This sign-in link is not valid or was already used. Start connecting again.",
        ),
    };
    let Some(state) = query.get("state").filter(|s| !s.is_empty() && s.len() <= 512) else {
        return Ok(invalid());
    };
    let key = oauth_state_key(state);
    let Some(item) = apps.services.store.get(&key).await? else {
        return Ok(invalid());
    };
    // Single use: whoever deletes it first owns this callback.
    match apps.services.store.delete(&key, Some(item.version)).await {
        Ok(()) => {}
        Err(StoreError::ConditionFailed) => return Ok(invalid()),
        Err(e) => return Err(e.into()),
    }
    let pending: PendingAuthorization = item.record()?;
    // Only the browser that opened the start link may finish: a consent approved anywhere
    // else (a link sent to someone in another organization) connects nothing, and the state
    // is used up. That browser is not sent to the return URL either.
    let same_browser = matches!(
        (browser, &pending.browser),
        (Some(presented), Some(bound)) if secret_matches(presented, bound)
    );
    if !same_browser {
        tracing::warn!(
            app = pending.app,
            "OAuth callback from a browser that did not start the connect"
        );
        return Ok(CallbackOutcome {
            return_url: None,
            app: Some(pending.app.clone()),
            result: failed(
                "other_browser",
                "This connection was started in another browser, so it was not made. Start connecting again in the browser you use for the admin console.",
            ),
        });
    }
    let outcome = |result| CallbackOutcome {
        return_url: pending.return_url.clone(),
        app: Some(pending.app.clone()),
        result,
    };
    if pending.expires_at <= apps.services.clock.now() {
        return Ok(outcome(failed(
            "expired",
            "The sign-in took too long. Start connecting again.",
        )));
    }
    if let Some(error) = query.get("error") {
        let code = if error == "access_denied" {
            "access_denied"
        } else {
            "vendor_error"
        };
        let description = query.get("error_description").map(|d| brief(d));
        let message = match (code, description) {
            ("access_denied", _) => "Access was not granted, so the app was not connected.".to_owned(),
            (_, Some(d)) => format!("The app refused: {error}: {d}"),
            _ => format!("The app refused: {error}"),
        };
        return Ok(outcome(failed(code, message)));
    }
    let Some(code) = query.get("code").filter(|c| !c.is_empty()) else {
        return Ok(outcome(failed(
            "vendor_error",
            "The app sent no authorization code.",
        )));
    };
    let app = apps.services.catalog.get(&pending.app)?;
    let options = apps
        .vendors
        .connect_options(&pending.app)
        .ok_or_else(|| Error::Internal("state for an unknown app".into()))?;
    if !apps
        .vendors
        .oauth_registered(&pending.app)
        .await
        .map_err(Error::Internal)?
    {
        return Err(Error::Internal("OAuth client vanished".into()));
    }
    let verifier = SecretString::from(pending.pkce_verifier.clone());
    let redirect = redirect_uri(apps);
    let grant = CodeGrant {
        redirect: &redirect,
        code,
        verifier: &verifier,
        environment: pending.environment.as_deref(),
    };
    let tokens = match apps
        .vendors
        .exchange_code(&pending.company_id, &pending.app, grant)
        .await
    {
        Ok(tokens) => tokens,
        Err(e) => {
            tracing::warn!(app = pending.app, error = %e, "OAuth code exchange failed");
            return Ok(outcome(failed(
                "exchange_failed",
                connect_error(app, e).to_string_for_people(),
            )));
        }
    };
    // What the vendor said about the tenant (its API host, team) and the environment used.
    let mut tenant: Tenant = tokens.tenant.iter().cloned().collect();
    if let Some(environment) = &pending.environment {
        tenant.insert(ENVIRONMENT.to_owned(), environment.clone());
    }
    if let (Some(field), Some(organization)) = (options.organization_field, &pending.organization) {
        tenant.insert(field.to_owned(), organization.clone());
    }
    // The new tokens must work before they are kept (this is also where a vendor plan
    // that cannot provision is detected).
    let reached = match apps
        .vendors
        .verify_tokens(&pending.company_id, &pending.app, &tenant, &tokens.access_token)
        .await
    {
        Ok(reached) => reached,
        Err(e) => {
            return Ok(outcome(failed(
                "verification_failed",
                connect_error(app, e).to_string_for_people(),
            )));
        }
    };
    let recorded = load(apps, &pending.company_id, &pending.app)
        .await?
        .and_then(|(_, c)| c.vendor_tenant());
    let binding = match bind(app, recorded, &reached, pending.switch_tenant) {
        Ok(binding) => binding,
        Err(refused) => {
            return Ok(outcome(failed("tenant_mismatch", refused.to_string_for_people())));
        }
    };
    settle_binding(
        &apps.services,
        pending.started_by.clone(),
        request_id,
        &pending.company_id,
        &pending.app,
        &binding,
        &reached,
    )
    .await?;
    reached.record(&mut tenant);

    let now = apps.services.clock.now();
    let connection = new_connection(
        &pending.company_id,
        &pending.app,
        tenant,
        pending.started_by.clone(),
        now,
    );
    apps.secrets
        .put(&connection.secret_name, &oauth_secret(&tokens))
        .await?;
    save(apps, &connection).await?;
    audit::record(
        &apps.services,
        audit::Record {
            company_id: &pending.company_id,
            actor: pending.started_by.clone(),
            request_id,
            action: "connection.connected",
            target: Target::new("app", &pending.app),
            result: Outcome::Succeeded,
            detail: Some(format!("oauth; {} {reached}", app.tenant)),
        },
    )
    .await;
    Ok(outcome(Ok(())))
}

/// Disconnects: the credentials are deleted and the connection marked disconnected. Nothing
/// changes at the vendor; accounts stay, unmanaged, until the app is connected again.
pub async fn disconnect(apps: &Apps, actor: &Actor, access: &Access, slug: &str) -> Result<ConnectionView> {
    apps.services.catalog.get(slug)?;
    let company_id = &access.company().id;
    let Some((_, mut connection)) = load(apps, company_id, slug).await? else {
        return Err(Error::not_found("connection"));
    };
    if connection.state == ConnectionState::Disconnected {
        return Ok(ConnectionView::of(&connection));
    }
    apps.secrets.delete(&connection.secret_name).await?;
    connection.state = ConnectionState::Disconnected;
    connection.problem = None;
    connection.updated_at = apps.services.clock.now();
    save(apps, &connection).await?;
    audit::succeeded(
        &apps.services,
        actor,
        company_id,
        "connection.disconnected",
        Target::new("app", slug),
        None,
    )
    .await;
    Ok(ConnectionView::of(&connection))
}

/// A connected app's connector and the vendor tenant its connection is bound to (`None`
/// for a connection made before tenants were recorded).
pub struct Bound {
    pub connector: Box<dyn Connector>,
    pub tenant: Option<VendorTenant>,
}

/// The connector of a company's connected app.
pub async fn connector_for(apps: &Apps, company_id: &str, slug: &str) -> Result<Box<dyn Connector>> {
    bound_connector(apps, company_id, slug).await.map(|b| b.connector)
}

/// The connector of a company's connected app, with the tenant it reaches.
pub async fn bound_connector(apps: &Apps, company_id: &str, slug: &str) -> Result<Bound> {
    let app = apps.services.catalog.get(slug)?;
    let not_connected = || Error::invalid("app", format!("{} is not connected.", app.name));
    let (_, connection) = load(apps, company_id, slug).await?.ok_or_else(not_connected)?;
    if connection.state != ConnectionState::Connected || apps.vendors.connect_options(slug).is_none() {
        return Err(not_connected());
    }
    let raw = apps
        .secrets
        .get(&connection.secret_name)
        .await?
        .ok_or_else(|| Error::Internal(format!("the credentials of {slug} are missing")))?;
    let stored: Stored = serde_json::from_str(raw.expose_secret())
        .map_err(|_| Error::Internal(format!("the credentials of {slug} do not parse")))?;
    let credentials = match stored {
        Stored::ApiKey { fields } => Credentials::ApiKey(fields),
        Stored::Oauth(tokens) => Credentials::Oauth(tokens.into()),
    };
    let keeper = Arc::new(ConnectionTokens {
        apps: apps.clone(),
        connection: connection.clone(),
        lease: RefreshLease::new(&apps.services, company_id, slug),
    });
    let connector = apps
        .vendors
        .connector(company_id, slug, &connection.tenant, credentials, keeper)
        .map_err(|e| connect_error(app, e))?;
    Ok(Bound {
        connector,
        tenant: connection.vendor_tenant(),
    })
}

/// A connection's OAuth tokens for its connector, shared by every instance: the secret
/// store holds them, the item store the refresh lease (`refresh_lease`), and a refusal marks
/// the connection `needs_reauth`.
struct ConnectionTokens {
    apps: Apps,
    connection: Connection,
    lease: RefreshLease,
}

#[async_trait]
impl TokenKeeper for ConnectionTokens {
    async fn stored(&self) -> std::result::Result<Option<OAuthTokens>, ConnectorError> {
        let unavailable = |e: String| ConnectorError::Transient(format!("the stored credentials: {e}"));
        let Some(raw) = self
            .apps
            .secrets
            .get_fresh(&self.connection.secret_name)
            .await
            .map_err(|e| unavailable(e.to_string()))?
        else {
            return Ok(None);
        };
        match serde_json::from_str::<Stored>(raw.expose_secret()) {
            Ok(Stored::Oauth(tokens)) => Ok(Some(tokens.into())),
            Ok(Stored::ApiKey { .. }) => Ok(None),
            Err(_) => Err(unavailable("they do not parse".into())),
        }
    }

    async fn take_refresh_lease(
        &self,
        ttl: std::time::Duration,
    ) -> std::result::Result<bool, ConnectorError> {
        self.lease.take(ttl).await
    }

    async fn release_refresh_lease(&self) {
        self.lease.release().await
    }

    async fn save(&self, tokens: &TokenSet) -> std::result::Result<(), ConnectorError> {
        self.apps
            .secrets
            .put(&self.connection.secret_name, &oauth_secret(tokens))
            .await
            .map_err(|e| ConnectorError::Transient(e.to_string()))
    }

    async fn refused(&self, why: &str) {
        let mut connection = self.connection.clone();
        connection.state = ConnectionState::NeedsReauth;
        connection.problem = Some(format!("The app refused our access; connect it again. ({why})"));
        connection.updated_at = self.apps.services.clock.now();
        // Rare enough to read the company for: does its partner listen for it?
        let marked = async {
            let store = self.apps.services.store.as_ref();
            let listening = Listening::of_company(store, &connection.company_id).await?;
            let event = webhooks::outbox(
                &listening,
                &connection.company_id,
                EventType::ConnectionNeedsReauth,
                &audit::new_event_id(),
                connection.updated_at,
                json!({"app": connection.app, "problem": connection.problem}),
            )?;
            let (events, pending): (Vec<_>, Vec<_>) = event.into_iter().unzip();
            save_with(&self.apps, &connection, &events).await?;
            webhooks::nudge(self.apps.queue.as_ref(), &pending).await;
            Ok::<_, Error>(())
        };
        if let Err(e) = marked.await {
            tracing::error!(error = %e, app = connection.app, "could not mark the connection needs_reauth");
        }
        audit::record(
            &self.apps.services,
            audit::Record {
                company_id: &connection.company_id,
                actor: ActorRef::System,
                request_id: "",
                action: "connection.needs_reauth",
                target: Target::new("app", &connection.app),
                result: Outcome::Failed,
                detail: connection.problem.clone(),
            },
        )
        .await;
    }
}

/// An error's first message, for pages shown to people.
trait ForPeople {
    fn to_string_for_people(&self) -> String;
}

impl ForPeople for Error {
    fn to_string_for_people(&self) -> String {
        self.details()
            .and_then(|d| d.first())
            .map(|d| d.message.clone())
            .unwrap_or_else(|| "Something went wrong.".into())
    }
}
