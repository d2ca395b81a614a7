//! A provision router on the embedded store, a local outbox and a hand-moved clock.

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use chrono::{TimeZone, Utc};
use prov_core::auth::create_partner;
use prov_core::clock::ManualClock;
use prov_core::mail::{Email, MailError, Mailer};
use prov_core::store::ItemStore;
use prov_core::{Services, Settings};
use prov_platform::LocalOutbox;
use prov_store::EmbeddedStore;
use prov_testkit::{Answer, call, json_request};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

pub const BASE: &str = "https://api.example.test";

pub struct App {
    pub router: Router,
    pub services: Services,
    pub outbox: LocalOutbox,
    pub clock: ManualClock,
    pub partner: String,
    pub other_partner: String,
    _dir: tempfile::TempDir,
}

/// Swappable mailer: the local outbox, or a broken one.
pub struct Switchable {
    pub outbox: LocalOutbox,
    pub broken: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl Mailer for Switchable {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        if self.broken.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(MailError::Unavailable("mail service down".into()));
        }
        self.outbox.send(email).await
    }
}

impl App {
    pub async fn new() -> Self {
        Self::with_mailer(|outbox| Arc::new(outbox)).await
    }

    pub async fn with_mailer(make: impl FnOnce(LocalOutbox) -> Arc<dyn Mailer>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn ItemStore> = Arc::new(EmbeddedStore::open(dir.path().join("s.redb")).unwrap());
        Self::on_store(store, make, dir).await
    }

    pub async fn on_store(
        store: Arc<dyn ItemStore>,
        make: impl FnOnce(LocalOutbox) -> Arc<dyn Mailer>,
        dir: tempfile::TempDir,
    ) -> Self {
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap());
        let outbox = LocalOutbox::new(store.clone(), Arc::new(clock.clone()));
        let services = Services::new(
            store.clone(),
            store,
            make(outbox.clone()),
            Arc::new(clock.clone()),
            Settings::new(BASE),
            // Provisioning reads no app.
            prov_core::catalog::Catalog::new(&[]),
        );
        let (_, partner) = create_partner(services.store.as_ref(), &clock, "Acme Payroll", None)
            .await
            .unwrap();
        let (_, other) = create_partner(services.store.as_ref(), &clock, "Other HR", None)
            .await
            .unwrap();
        Self {
            router: provision::router(services.clone()),
            services,
            outbox,
            clock,
            partner: partner.expose_secret().to_owned(),
            other_partner: other.expose_secret().to_owned(),
            _dir: dir,
        }
    }

    pub async fn provision(&self, body: &Value) -> Answer {
        call(
            &self.router,
            json_request("POST", "/v1/provision", Some(&self.partner), body),
        )
        .await
    }

    /// Provisions `minimal(email)` and returns (company id, claim id).
    pub async fn provisioned(&self, email: &str) -> (String, String) {
        let answer = self.provision(&minimal(email)).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        let claim_id = claim_id(&answer);
        let companies = call(
            &self.router,
            prov_testkit::get("/v1/companies?limit=100", Some(&self.partner)),
        )
        .await;
        let company = companies.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == format!("Company of {email}"))
            .cloned()
            .unwrap();
        (company["id"].as_str().unwrap().to_owned(), claim_id)
    }

    /// Claims with the right email and returns the admin token.
    pub async fn claimed(&self, email: &str) -> (String, String) {
        let (company_id, claim_id) = self.provisioned(email).await;
        let answer = call(
            &self.router,
            json_request(
                "POST",
                &format!("/v1/claims/{claim_id}"),
                None,
                &json!({ "email": email }),
            ),
        )
        .await;
        assert_eq!(answer.status, 201, "{}", answer.text());
        (company_id, answer.json()["token"].as_str().unwrap().to_owned())
    }
}

pub fn minimal(email: &str) -> Value {
    json!({
        "user": {"first_name": "Frank", "last_name": "Ocean", "email": email},
        "company": {"name": format!("Company of {email}")}
    })
}

pub fn maximal(email: &str) -> Value {
    json!({
      "user": {"first_name": "Frank", "last_name": "Ocean", "email": email, "phone": "2345558899"},
      "company": {
        "name": "Frank's Ocean, LLC", "trade_name": "Frank’s Ocean", "ein": "123456789",
        "states": ["CO", "CA"], "number_employees": 8,
        "addresses": [{
          "street_1": "1201 16th Street Mall", "street_2": "Suite 350", "city": "Denver",
          "zip": "80202", "state": "CO", "phone": "2345678900", "is_primary": "true"
        }, {
          "street_1": "525 20th Street", "city": "San Francisco", "zip": "94107", "state": "CA",
          "phone": "2345678901"
        }]
      }
    })
}

pub fn claim_id(answer: &Answer) -> String {
    let url = answer.json()["account_claim_url"].as_str().unwrap().to_owned();
    let id = url
        .strip_prefix(&format!("{BASE}/claim_account/"))
        .unwrap_or_else(|| panic!("unexpected claim url {url}"));
    id.to_owned()
}
