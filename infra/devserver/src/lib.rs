//! The devserver: every function's routes on the embedded adapters, in one local process,
//! plus development tools (`GET /_dev/outbox`). Nothing here is deployed.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use prov_connectors::egress::EgressPolicy;
use prov_connectors::http::{HttpConfig, VendorHttp};
use prov_connectors::oauth::{OAuthClientConfig, OAuthClients};
use prov_core::access::{Need, authorize};
use prov_core::audit::Actor;
use prov_core::auth::Principal;
use prov_core::clock::Clock;
use prov_core::listing::ListQuery;
use prov_core::mail::MailQueue;
use prov_core::provisioning::{self, list_companies};
use prov_core::schedule::StoreScheduler;
use prov_core::store::ItemStore;
use prov_core::team;
use prov_core::{Services, Settings};
use prov_platform::{FileSecretStore, LocalOutbox, parse_routes};
use prov_processes::Apps;
use prov_processes::dismissal::{self, CleanupEvent};
use prov_sandbox::Sandbox;
use prov_store::EmbeddedStore;
use prov_web::ApiError;
use secrecy::SecretString;
use serde_json::json;

/// Offline, each vendor host goes to the sandbox's fake of that app (`/_sandbox/{fake}`):
/// the same connector code, other hosts. `--vendor-route` overrides come first.
const SANDBOX_ROUTES: &[(&str, &str)] = &[
    ("scim.sandbox.test", "scim"),
    ("auth.sandbox.test", "oauth"),
    ("api.slack.com", "slack"),
    ("slack.com", "slack"),
    ("*.okta.com", "okta"),
    ("api.dynatrace.com", "dynatrace"),
    ("sso.dynatrace.com", "dynatrace"),
    ("app.asana.com", "asana"),
    ("account.box.com", "box"),
    ("api.box.com", "box"),
    ("www.dropbox.com", "dropbox"),
    ("api.dropboxapi.com", "dropbox"),
    ("login.salesforce.com", "salesforce"),
    ("test.salesforce.com", "salesforce"),
    ("*.my.salesforce.com", "salesforce"),
    ("api.us-west-1.saucelabs.com", "sauce_labs"),
    ("api.us-east-4.saucelabs.com", "sauce_labs"),
    ("api.eu-central-1.saucelabs.com", "sauce_labs"),
    ("*.leankit.com", "leankit"),
    ("api.clickup.com", "clickup"),
    ("api.trello.com", "trello"),
    ("github.com", "github"),
    ("account.docusign.com", "docusign"),
    ("account-d.docusign.com", "docusign"),
    ("*.docusign.net", "docusign"),
    ("api.github.com", "github"),
    ("app.hubspot.com", "hubspot"),
    ("api.hubapi.com", "hubspot"),
    ("*.15five.com", "scim"),
    ("login.microsoftonline.com", "microsoft_365"),
    ("graph.microsoft.com", "microsoft_365"),
    ("lastpass.com", "lastpass"),
    ("lastpass.eu", "lastpass"),
    ("accounts.google.com", "google_workspace"),
    ("oauth2.googleapis.com", "google_workspace"),
    ("admin.googleapis.com", "google_workspace"),
];

/// What a local run is made of.
#[derive(Clone)]
pub struct Local {
    pub services: Services,
    pub outbox: LocalOutbox,
    pub apps: Apps,
    pub sandbox: Sandbox,
    /// The local scheduler: `tick` fires what is due through the cleanup handler.
    pub scheduler: Arc<StoreScheduler>,
}

/// Where a local run lives and how it is reached.
pub struct LocalConfig<'a> {
    pub data_dir: &'a Path,
    /// Base of links in emails and the OAuth redirect URI.
    pub public_base_url: &'a str,
    /// Where this process itself listens (`http://127.0.0.1:3000`): the sandbox apps'
    /// vendor hosts are routed there.
    pub listen_url: &'a str,
    /// `host-or-*.domain=base-url` overrides, consulted before the sandbox's own routes.
    pub vendor_routes: &'a [String],
}

impl Local {
    /// Opens the embedded store and secret files under `data_dir` (created if missing).
    pub fn open(config: &LocalConfig<'_>, clock: Arc<dyn Clock>) -> Result<Self, String> {
        let data_dir = config.data_dir;
        std::fs::create_dir_all(data_dir)
            .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
        let store: Arc<dyn ItemStore> =
            Arc::new(EmbeddedStore::open(data_dir.join("store.redb")).map_err(|e| e.to_string())?);
        let secrets = FileSecretStore::open(&data_dir.join("secrets")).map_err(|e| e.to_string())?;
        let outbox = LocalOutbox::new(store.clone(), clock.clone());
        let mut settings = Settings::new(config.public_base_url);
        settings.sandbox = true;
        settings.oauth_return_origins = vec![origin(config.public_base_url)?];
        let scheduler = Arc::new(StoreScheduler::new(store.clone()));
        let services = Services::new(
            store.clone(),
            store,
            Arc::new(outbox.clone()),
            clock,
            settings,
            prov_connectors::registry::catalog(true),
        );
        let sandbox_base = format!("{}/_sandbox", config.listen_url.trim_end_matches('/'));
        let mut policy = parse_routes(EgressPolicy::sandbox(), &config.vendor_routes.join(","))?;
        let zoho = prov_connectors::zoho::HOSTS.iter().map(|h| (*h, "zoho"));
        for (host, fake) in SANDBOX_ROUTES.iter().copied().chain(zoho) {
            policy = policy.route(host, &format!("{sandbox_base}/{fake}"))?;
        }
        let sandbox_client = || OAuthClientConfig {
            client_id: prov_sandbox::CLIENT_ID.to_owned(),
            client_secret: SecretString::from(prov_sandbox::CLIENT_SECRET),
        };
        let oauth_clients = HashMap::from([
            ("sandbox_oauth".to_owned(), sandbox_client()),
            ("slack".to_owned(), sandbox_client()),
            ("hubspot".to_owned(), sandbox_client()),
            ("salesforce".to_owned(), sandbox_client()),
            ("github".to_owned(), sandbox_client()),
            ("docusign".to_owned(), sandbox_client()),
            ("microsoft_365".to_owned(), sandbox_client()),
            ("google_workspace".to_owned(), sandbox_client()),
            ("dropbox".to_owned(), sandbox_client()),
            ("box".to_owned(), sandbox_client()),
            ("asana".to_owned(), sandbox_client()),
        ]);
        let apps = Apps {
            services: services.clone(),
            secrets: Arc::new(secrets),
            vendors: Arc::new(prov_connectors::Gateway::new(
                Arc::new(VendorHttp::new(policy, HttpConfig::default())),
                Arc::new(OAuthClients::fixed(oauth_clients)),
                services.clock.clone(),
            )),
            scheduler: scheduler.clone(),
        };
        Ok(Self {
            services,
            outbox,
            apps,
            sandbox: Sandbox::new(),
            scheduler,
        })
    }

    /// Fires the scheduled jobs that are due (through the cleanup function's own handler),
    /// then sweeps, as the deployed rate schedule does. Answers how many jobs fired.
    pub async fn tick(&self) -> Result<usize, prov_core::Error> {
        let due = self.scheduler.take_due(self.services.clock.now()).await?;
        let fired = due.len();
        for job in due {
            match serde_json::from_value::<CleanupEvent>(job.payload) {
                Ok(event) => {
                    if let Err(e) = dismissal::handle(&self.apps, event).await {
                        tracing::error!(error = %e, job = job.name, "scheduled job failed; the sweep retries it");
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, job = job.name, "scheduled job with an unknown payload")
                }
            }
        }
        dismissal::handle(&self.apps, CleanupEvent::Sweep).await?;
        Ok(fired)
    }

    /// Sends whatever the mail queue still holds (e.g. after a crash mid-request).
    pub async fn drain_mail(&self) -> Result<usize, prov_core::Error> {
        MailQueue::drain(self.services.store.as_ref(), self.services.mailer.as_ref()).await
    }

    /// Every function's routes plus the dev tools, with the shared outer layers.
    pub fn app(&self) -> Router {
        let dev = Router::new()
            .route("/_dev/outbox", get(outbox))
            .with_state(self.outbox.clone());
        prov_web::finish(
            provision::routes(self.services.clone())
                .merge(accounts::routes(self.apps.clone()))
                .merge(connect::routes(self.apps.clone()))
                .merge(console::routes(self.apps.clone()))
                .merge(dev)
                .nest("/_sandbox", self.sandbox.router()),
        )
    }
}

/// A one-time sign-in link to the admin console for the newest company of `partner`. A
/// partner without companies first gets a demo company (Plus plan, a few team members), so
/// the whole product can be tried offline right after start.
pub async fn console_sign_in_link(local: &Local, partner: &Principal) -> Result<String, prov_core::Error> {
    let svc = &local.services;
    let actor = Actor {
        principal: partner.clone(),
        request_id: "devserver-start".to_owned(),
    };
    let mut companies = list_companies(
        svc,
        partner,
        ListQuery {
            limit: Some("100".into()),
            cursor: None,
        },
    )
    .await?;
    if companies.items.is_empty() {
        let body = json!({
            "user": {"first_name": "Dana", "last_name": "Demo", "email": "dana@demo.example"},
            "company": {"name": "Demo Company, Inc."}
        });
        let serde_json::Value::Object(body) = body else {
            unreachable!()
        };
        provisioning::provision(svc, &actor, &body, None).await?;
        companies = list_companies(
            svc,
            partner,
            ListQuery {
                limit: Some("100".into()),
                cursor: None,
            },
        )
        .await?;
        let company = companies
            .items
            .last()
            .ok_or_else(|| prov_core::Error::Internal("demo company missing".into()))?;
        let plan = json!({"plan": "plus"});
        let serde_json::Value::Object(plan) = plan else {
            unreachable!()
        };
        provisioning::update_company(svc, &actor, &company.id, &plan).await?;
        let access = authorize(svc, partner, &company.id, Need::ManageTeam).await?;
        for (first, last, email) in [
            ("Ada", "Lovelace", "ada@demo.example"),
            ("Grace", "Hopper", "grace@demo.example"),
            ("Alan", "Turing", "alan@demo.example"),
        ] {
            let member = json!({"first_name": first, "last_name": last, "email": email, "kind": "employee"});
            let serde_json::Value::Object(member) = member else {
                unreachable!()
            };
            team::create(svc, &actor, &access, &member).await?;
        }
    }
    let company = companies
        .items
        .last()
        .ok_or_else(|| prov_core::Error::Internal("no company".into()))?;
    console::mint_link(&local.apps, &company.id, &company.primary_admin_id).await
}

/// The emails "sent" so far, newest first.
async fn outbox(State(outbox): State<LocalOutbox>) -> Result<Json<serde_json::Value>, ApiError> {
    let items = outbox.recent(100).await?;
    Ok(Json(json!({ "items": items })))
}

/// The origin (`scheme://host:port`) of a base URL.
fn origin(base: &str) -> Result<String, String> {
    url::Url::parse(base)
        .map(|u| u.origin().ascii_serialization())
        .map_err(|e| format!("`{base}` is not a URL: {e}"))
}
