//! A world for accounts tests: the provision and accounts routes together (as the devserver
//! and API Gateway serve them) on one store, with two partners and helpers that make
//! companies and admins through the API itself.

use std::sync::Arc;

use axum::Router;
use chrono::{TimeZone, Utc};
use prov_connectors::egress::EgressPolicy;
use prov_connectors::http::{HttpConfig, VendorHttp};
use prov_core::auth::create_partner;
use prov_core::clock::ManualClock;
use prov_core::store::ItemStore;
use prov_core::{Services, Settings};
use prov_platform::{FileSecretStore, LocalOutbox};
use prov_processes::Apps;
use prov_store::EmbeddedStore;
use prov_testkit::{Answer, call, get, json_request};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

pub struct World {
    pub router: Router,
    pub outbox: LocalOutbox,
    pub clock: ManualClock,
    pub partner: String,
    _dir: Option<tempfile::TempDir>,
    _secrets_dir: tempfile::TempDir,
}

/// A company made through the API, with its primary admin's token.
#[derive(Debug, Clone)]
pub struct Company {
    pub id: String,
    pub admin: String,
    pub admin_id: String,
}

impl World {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn ItemStore> = Arc::new(EmbeddedStore::open(dir.path().join("s.redb")).unwrap());
        Self::on(store.clone(), store, Some(dir)).await
    }

    pub async fn on(
        store: Arc<dyn ItemStore>,
        audit: Arc<dyn ItemStore>,
        dir: Option<tempfile::TempDir>,
    ) -> Self {
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap());
        let outbox = LocalOutbox::new(store.clone(), Arc::new(clock.clone()));
        let services = Services::new(
            store,
            audit,
            Arc::new(outbox.clone()),
            Arc::new(clock.clone()),
            Settings::new("https://api.example.test"),
            prov_connectors::registry::catalog(false),
        );
        let queue: Arc<dyn prov_core::queue::JobQueue> = Arc::new(prov_core::queue::StoreQueue::new(
            services.store.clone(),
            services.clock.clone(),
            5,
        ));
        let services = services.with_queue(queue.clone());
        let (_, partner) = create_partner(services.store.as_ref(), &clock, "Acme Payroll", None)
            .await
            .unwrap();
        let secrets_dir = tempfile::tempdir().unwrap();
        let apps = Apps {
            services: services.clone(),
            secrets: Arc::new(FileSecretStore::open(secrets_dir.path()).unwrap()),
            vendors: Arc::new(prov_connectors::Gateway::new(
                Arc::new(VendorHttp::new(EgressPolicy::production(), HttpConfig::default())),
                Arc::new(prov_connectors::oauth::OAuthClients::none()),
                services.clock.clone(),
            )),
            scheduler: Arc::new(prov_core::schedule::StoreScheduler::new(services.store.clone())),
            queue,
            webhooks: Arc::new(prov_connectors::webhooks::HttpWebhookSender::new(false)),
        };
        let router = prov_web::finish(provision::routes(services.clone()).merge(accounts::routes(apps)));
        Self {
            router,
            outbox,
            clock,
            partner: partner.expose_secret().to_owned(),
            _dir: dir,
            _secrets_dir: secrets_dir,
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

    pub async fn get(&self, uri: &str, token: &str) -> Answer {
        call(&self.router, get(uri, Some(token))).await
    }

    /// Claims the link in the newest email sent to `email`; returns (user id, token).
    pub async fn claim_from_outbox(&self, email: &str) -> (String, String) {
        let sent = self.outbox.recent(100).await.unwrap();
        let mail = sent
            .iter()
            .find(|m| m.email.to == email)
            .expect("an email to claim from");
        let url = mail
            .email
            .text
            .split_whitespace()
            .find(|w| w.contains("/claim_account/"))
            .unwrap();
        let claim_id = url.rsplit('/').next().unwrap();
        let answer = self
            .send(
                "POST",
                &format!("/v1/claims/{claim_id}"),
                None,
                Some(json!({ "email": email })),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text());
        let body = answer.json();
        (
            body["user_id"].as_str().unwrap().to_owned(),
            body["token"].as_str().unwrap().to_owned(),
        )
    }

    /// Provisions a company for `partner` and claims it.
    pub async fn company_of(&self, partner: &str, email: &str) -> Company {
        let body = json!({
            "user": {"first_name": "Pat", "last_name": "Primary", "email": email},
            "company": {"name": format!("Company of {email}")}
        });
        let answer = self
            .send("POST", "/v1/provision", Some(partner), Some(body))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        let (admin_id, admin) = self.claim_from_outbox(email).await;
        let listed = self.get("/v1/companies", &admin).await;
        Company {
            id: listed.json()["items"][0]["id"].as_str().unwrap().to_owned(),
            admin,
            admin_id,
        }
    }

    pub async fn company(&self, email: &str) -> Company {
        let partner = self.partner.clone();
        self.company_of(&partner, email).await
    }

    /// Invites an admin (with `permissions`) and claims the invitation; returns (id, token).
    pub async fn invited_admin(
        &self,
        company: &Company,
        email: &str,
        permissions: Value,
    ) -> (String, String) {
        let body =
            json!({"first_name": "Ivy", "last_name": "Invited", "email": email, "permissions": permissions});
        let answer = self
            .send(
                "POST",
                &format!("/v1/companies/{}/admins", company.id),
                Some(&company.admin),
                Some(body),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text());
        self.claim_from_outbox(email).await
    }

    pub async fn team_member(&self, company: &Company, body: Value) -> Value {
        let answer = self
            .send(
                "POST",
                &format!("/v1/companies/{}/team_members", company.id),
                Some(&company.admin),
                Some(body),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text());
        answer.json()
    }

    /// Every event of a company, newest first.
    pub async fn actions(&self, company: &Company) -> Vec<String> {
        let events = self
            .get(
                &format!("/v1/companies/{}/events?limit=100", company.id),
                &company.admin,
            )
            .await;
        assert_eq!(events.status, 200, "{}", events.text());
        events.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect()
    }
}
