//! A world for connect tests: the API (provision, accounts, connect) on the embedded store
//! and secret files, and the sandbox apps served on a real loopback port, reached through
//! the egress routing like any vendor.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use chrono::{TimeZone, Utc};
use prov_connectors::egress::EgressPolicy;
use prov_connectors::http::{HttpConfig, VendorHttp};
use prov_connectors::oauth::OAuthClientConfig;
use prov_core::auth::create_partner;
use prov_core::clock::ManualClock;
use prov_core::secrets::SecretStore;
use prov_core::store::ItemStore;
use prov_core::{Services, Settings};
use prov_platform::{FileSecretStore, LocalOutbox};
use prov_processes::Apps;
use prov_sandbox::Sandbox;
use prov_store::EmbeddedStore;
use prov_testkit::{Answer, call, json_request};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

pub const RETURN_ORIGIN: &str = "https://console.example.test";

pub struct World {
    pub router: Router,
    pub apps: Apps,
    pub secrets: Arc<FileSecretStore>,
    pub sandbox: Sandbox,
    pub sandbox_router: Router,
    pub sandbox_base: String,
    pub clock: ManualClock,
    pub outbox: LocalOutbox,
    pub partner: String,
    /// The admin's browser's `oauth_browser` cookie, once the service has set one.
    browser: std::sync::Mutex<Option<String>>,
    _dir: tempfile::TempDir,
}

pub struct Company {
    pub id: String,
    pub admin: String,
}

impl World {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn ItemStore> = Arc::new(EmbeddedStore::open(dir.path().join("s.redb")).unwrap());
        let secrets = Arc::new(FileSecretStore::open(&dir.path().join("secrets")).unwrap());
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap());
        let outbox = LocalOutbox::new(store.clone(), Arc::new(clock.clone()));
        let mut settings = Settings::new("https://api.example.test");
        settings.sandbox = true;
        settings.oauth_return_origins = vec![RETURN_ORIGIN.to_owned()];
        let services = Services::new(
            store.clone(),
            store,
            Arc::new(outbox.clone()),
            Arc::new(clock.clone()),
            settings,
            prov_connectors::registry::catalog(true),
        );
        let queue: Arc<dyn prov_core::queue::JobQueue> = Arc::new(prov_core::queue::StoreQueue::new(
            services.store.clone(),
            services.clock.clone(),
            5,
        ));
        let services = services.with_queue(queue.clone());

        let sandbox = Sandbox::new();
        let sandbox_router = sandbox.router();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sandbox_base = format!("http://{}/_sandbox", listener.local_addr().unwrap());
        let served = Router::new().nest("/_sandbox", sandbox_router.clone());
        tokio::spawn(async move { axum::serve(listener, served).await });

        let policy = EgressPolicy::sandbox()
            .route("scim.sandbox.test", &format!("{sandbox_base}/sandbox_scim"))
            .unwrap()
            .route("auth.sandbox.test", &format!("{sandbox_base}/sandbox_oauth"))
            .unwrap();
        let config = HttpConfig {
            base_backoff: std::time::Duration::from_millis(1),
            ..HttpConfig::default()
        };
        let apps = Apps {
            services: services.clone(),
            secrets: secrets.clone(),
            vendors: Arc::new(prov_connectors::Gateway::new(
                Arc::new(VendorHttp::new(policy, config)),
                Arc::new(prov_connectors::oauth::OAuthClients::fixed(HashMap::from([(
                    "sandbox_oauth".to_owned(),
                    OAuthClientConfig {
                        client_id: prov_sandbox::CLIENT_ID.to_owned(),
                        client_secret: SecretString::from(prov_sandbox::CLIENT_SECRET),
                    },
                )]))),
                services.clock.clone(),
            )),
            scheduler: Arc::new(prov_core::schedule::StoreScheduler::new(services.store.clone())),
            queue,
            webhooks: Arc::new(prov_connectors::webhooks::HttpWebhookSender::new(true)),
        };
        let (_, partner) = create_partner(services.store.as_ref(), &clock, "Acme Payroll", None)
            .await
            .unwrap();
        let router = prov_web::finish(
            provision::routes(services.clone())
                .merge(accounts::routes(apps.clone()))
                .merge(connect::routes(apps.clone())),
        );
        Self {
            router,
            apps,
            secrets,
            sandbox,
            sandbox_router,
            sandbox_base,
            clock,
            outbox,
            partner: partner.expose_secret().to_owned(),
            browser: std::sync::Mutex::new(None),
            _dir: dir,
        }
    }

    pub async fn send(&self, method: &str, uri: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        match body {
            Some(b) => call(&self.router, json_request(method, uri, token, &b)).await,
            None => {
                let mut req = axum::http::Request::builder().method(method).uri(uri);
                if let Some(t) = token {
                    req = req.header("authorization", format!("Token {t}"));
                }
                call(&self.router, req.body(axum::body::Body::empty()).unwrap()).await
            }
        }
    }

    /// A provisioned, claimed company on `plan`.
    pub async fn company(&self, email: &str, plan: &str) -> Company {
        let body =
            json!({"user": {"first_name": "P", "last_name": "A", "email": email}, "company": {"name": "Co"}});
        let answer = self
            .send("POST", "/v1/provision", Some(&self.partner), Some(body))
            .await;
        let url = answer.json()["account_claim_url"].as_str().unwrap().to_owned();
        let claim = url.rsplit('/').next().unwrap();
        let granted = self
            .send(
                "POST",
                &format!("/v1/claims/{claim}"),
                None,
                Some(json!({"email": email})),
            )
            .await
            .json();
        let company = Company {
            id: granted["company_id"].as_str().unwrap().to_owned(),
            admin: granted["token"].as_str().unwrap().to_owned(),
        };
        let changed = self
            .send(
                "PATCH",
                &format!("/v1/companies/{}", company.id),
                Some(&self.partner),
                Some(json!({"plan": plan})),
            )
            .await;
        assert_eq!(changed.status, 200);
        company
    }

    pub fn connection_path(&self, company: &Company, app: &str) -> String {
        format!("/v1/companies/{}/apps/{app}/connection", company.id)
    }

    pub async fn secret_of(&self, company: &Company, app: &str) -> Option<String> {
        self.secrets
            .get(&format!("connections/{}/{app}", company.id))
            .await
            .unwrap()
            .map(|s| s.expose_secret().to_owned())
    }

    pub async fn state_of(&self, company: &Company, app: &str) -> String {
        let answer = self
            .send(
                "GET",
                &self.connection_path(company, app),
                Some(&company.admin),
                None,
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        answer.json()["state"].as_str().unwrap().to_owned()
    }

    /// Sends a request the admin's browser would send to the sandbox (in process; the
    /// sandbox shares its state with the served copy).
    pub async fn browser_at_sandbox(&self, url: &str) -> Answer {
        let path = url
            .strip_prefix(&self.sandbox_base)
            .unwrap_or_else(|| panic!("{url} is not a sandbox URL"));
        call(&self.sandbox_router, prov_testkit::get(path, None)).await
    }

    /// Starts an OAuth connect, opens its start link in the admin's browser and answers
    /// the callback URL the sandbox sends that browser to after `decision`.
    pub async fn oauth_round_trip(&self, company: &Company, decision: &str) -> String {
        self.oauth_round_trip_with(company, decision, json!({})).await
    }

    /// As `oauth_round_trip`, with more fields in the start body; `decision` may also be
    /// `allow-other` (the consent page's other workspace of the vendor).
    pub async fn oauth_round_trip_with(&self, company: &Company, decision: &str, extra: Value) -> String {
        let mut body = json!({"return_url": format!("{RETURN_ORIGIN}/apps")});
        if let (Some(fields), Some(more)) = (body.as_object_mut(), extra.as_object()) {
            fields.extend(more.clone());
        }
        let started = self
            .send(
                "POST",
                &format!("{}/oauth", self.connection_path(company, "sandbox_oauth")),
                Some(&company.admin),
                Some(body),
            )
            .await;
        assert_eq!(started.status, 200, "{}", started.text());
        let start_url = started.json()["authorize_url"].as_str().unwrap().to_owned();
        let opened = self.in_browser(&start_url, true).await;
        assert_eq!(opened.status, 303, "{}", opened.text());
        let authorize_url = opened.header("location").unwrap().to_owned();
        let consent = self.browser_at_sandbox(&authorize_url).await;
        assert_eq!(consent.status, 200, "{}", consent.text());
        let html = consent.text();
        let id = match decision {
            "allow" | "allow-other" => decision,
            _ => "deny",
        };
        let href = html
            .split(&format!("id=\"{id}\" href=\""))
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .replace("&amp;", "&");
        let decided = self
            .browser_at_sandbox(&format!("{}/sandbox_oauth/oauth/{href}", self.sandbox_base))
            .await;
        assert!(decided.status.is_redirection(), "{}", decided.text());
        let location = decided.header("location").unwrap().to_owned();
        assert!(
            location.starts_with("https://api.example.test/v1/oauth/callback?"),
            "{location}"
        );
        location
    }

    /// Opens one of the service's pages at `url` in the admin's browser (`own_browser`) or in
    /// another one with no cookie; the admin's browser keeps the cookie it is given.
    pub async fn in_browser(&self, url: &str, own_browser: bool) -> Answer {
        let path = url.strip_prefix("https://api.example.test").unwrap();
        let mut request = axum::http::Request::builder().method("GET").uri(path);
        if own_browser && let Some(value) = self.browser.lock().unwrap().clone() {
            request = request.header("cookie", format!("oauth_browser={value}"));
        }
        let answer = call(&self.router, request.body(axum::body::Body::empty()).unwrap()).await;
        if own_browser
            && let Some(set) = answer.header("set-cookie")
            && let Some(value) = set.strip_prefix("oauth_browser=")
        {
            let value = value.split(';').next().unwrap_or_default().to_owned();
            *self.browser.lock().unwrap() = Some(value);
        }
        answer
    }

    /// Follows the vendor's redirect to our callback in the admin's browser; answers the
    /// callback's answer.
    pub async fn callback(&self, location: &str) -> Answer {
        self.in_browser(location, true).await
    }
}
