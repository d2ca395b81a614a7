//! A devserver in the test process: every function's routes on the embedded store, the
//! sandbox apps served on a real loopback port (vendor calls go over the network through the
//! egress routing), and helpers that drive the API as partners and admins do.

use std::sync::Arc;

use axum::Router;
use chrono::{TimeZone, Utc};
use devserver::{Local, LocalConfig};
use prov_core::Services;
use prov_core::auth::ensure_partner_token;
use prov_core::clock::ManualClock;
use prov_core::schedule::StoreScheduler;
use prov_core::secrets::SecretStore;
use prov_core::store::ItemStore;
use prov_platform::{EnvelopeSecretStore, SecretsManagerKeyring};
use prov_store::DynamoStore;
use prov_testkit::{Answer, call, json_request};
use secrecy::SecretString;
use serde_json::{Value, json};

pub const PARTNER: &str = "walk-partner-token-0123456789abcdef";
pub const OTHER_PARTNER: &str = "walk-other-partner-token-0123456789";

pub struct Walk {
    pub app: Router,
    pub local: Local,
    pub clock: ManualClock,
    /// The main table's name, when the walk runs on DynamoDB.
    pub table: Option<String>,
    /// On DynamoDB, what another instance of the service opens: the tables and the keyring.
    deployed: Option<Deployed>,
    dir: tempfile::TempDir,
}

/// Where the walk's data lives on AWS (moto).
struct Deployed {
    table: String,
    audit: String,
    keyring: String,
}

/// What one instance of the service holds of the walk's data: its store, audit store and
/// connection credentials.
pub struct Wiring {
    pub store: Arc<dyn ItemStore>,
    pub audit: Arc<dyn ItemStore>,
    pub secrets: Arc<dyn SecretStore>,
}

impl Walk {
    pub async fn start() -> Self {
        Self::start_routed(&[]).await
    }

    /// As `start`, with `host=base-url` vendor routes consulted before the sandbox's own.
    pub async fn start_routed(vendor_routes: &[String]) -> Self {
        Self::open(vendor_routes, false).await
    }

    /// As `start`, with the main and audit tables on DynamoDB and connection credentials
    /// kept as deployed: in the main table, under a keyring in Secrets Manager (moto).
    pub async fn start_on_dynamodb() -> Self {
        Self::open(&[], true).await
    }

    /// As `start`, with the services' main store seen through `wrap` (a store that injects
    /// faults); the queue, the scheduler and the credentials keep the store itself.
    pub async fn start_wrapped(wrap: impl FnOnce(Arc<dyn ItemStore>) -> Arc<dyn ItemStore>) -> Self {
        Self::open_with(&[], false, wrap).await
    }

    async fn open(vendor_routes: &[String], dynamodb: bool) -> Self {
        Self::open_with(vendor_routes, dynamodb, |store| store).await
    }

    async fn open_with(
        vendor_routes: &[String],
        dynamodb: bool,
        wrap: impl FnOnce(Arc<dyn ItemStore>) -> Arc<dyn ItemStore>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let listen_url = format!("http://{}", listener.local_addr().unwrap());
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap());
        let config = LocalConfig {
            data_dir: dir.path(),
            public_base_url: &listen_url,
            listen_url: &listen_url,
            vendor_routes,
        };
        let mut local = Local::open(&config, Arc::new(clock.clone())).unwrap();
        let deployed = if dynamodb {
            Some(on_dynamodb(&mut local).await)
        } else {
            None
        };
        let store = wrap(local.services.store.clone());
        local.services.store = store.clone();
        local.apps.services.store = store;
        for token in [PARTNER, OTHER_PARTNER] {
            ensure_partner_token(
                local.services.store.as_ref(),
                &clock,
                "P",
                &SecretString::from(token),
            )
            .await
            .unwrap();
        }
        let app = local.app();
        let served = app.clone();
        tokio::spawn(async move { axum::serve(listener, served).await });
        Self {
            app,
            local,
            clock,
            table: deployed.as_ref().map(|d| d.table.clone()),
            deployed,
            dir,
        }
    }

    /// The wiring another instance of the service opens, as a Lambda instance does at its
    /// start: on DynamoDB its own clients of the same tables and keyring (its own keyring
    /// cache, nothing shared but the data); the embedded store is a file one process holds,
    /// so there the walk's own.
    pub fn another_instance(&self) -> Wiring {
        let services = &self.local.services;
        let Some(deployed) = &self.deployed else {
            return Wiring {
                store: services.store.clone(),
                audit: services.audit.clone(),
                secrets: self.local.apps.secrets.clone(),
            };
        };
        let dynamodb = prov_testkit::dynamodb_client();
        let store: Arc<dyn ItemStore> = Arc::new(DynamoStore::new(dynamodb.clone(), &deployed.table));
        Wiring {
            store: store.clone(),
            audit: Arc::new(DynamoStore::new(dynamodb, &deployed.audit)),
            secrets: Arc::new(EnvelopeSecretStore::new(
                store,
                SecretsManagerKeyring::new(prov_testkit::secretsmanager_client(), &deployed.keyring),
            )),
        }
    }

    /// Where the devserver keeps its store and secrets.
    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub async fn send(&self, method: &str, uri: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        match body {
            Some(b) => call(&self.app, json_request(method, uri, token, &b)).await,
            None => {
                let mut req = axum::http::Request::builder().method(method).uri(uri);
                if let Some(t) = token {
                    req = req.header("authorization", format!("Token {t}"));
                }
                call(&self.app, req.body(axum::body::Body::empty()).unwrap()).await
            }
        }
    }

    /// Syncs `app` as the API does: `POST …/sync` answers 202 at once with the job; the
    /// worker then runs the jobs queue until it is empty (as the devserver's does), and the
    /// answer is `GET …/sync`'s: the job, succeeded. Its `changes` are the counts.
    pub async fn sync(&self, co: &Co, app: &str) -> Answer {
        let path = co.path(&format!("/apps/{app}/sync"));
        let started = self.send("POST", &path, Some(&co.admin), None).await;
        assert_eq!(started.status, 202, "{}", started.text());
        // Tests that sync several companies at once share the worker's queue: another
        // test's `work` may be running this job's message, so wait for the job to be over.
        for _ in 0..10_000 {
            self.local.work().await.unwrap();
            let job = self.send("GET", &path, Some(&co.admin), None).await;
            if !matches!(job.json()["state"].as_str(), Some("queued" | "running")) {
                assert_eq!(job.json()["state"], "succeeded", "{}", job.text());
                return job;
            }
            tokio::task::yield_now().await;
        }
        panic!("the sync of {app} did not end")
    }

    pub async fn claim(&self, email: &str) -> (String, String) {
        let mail = self
            .local
            .outbox
            .recent(100)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.email.to == email)
            .unwrap();
        let claim = mail
            .email
            .text
            .split_whitespace()
            .find(|w| w.contains("/claim_account/"))
            .unwrap();
        let id = claim.rsplit('/').next().unwrap();
        let granted = self
            .send(
                "POST",
                &format!("/v1/claims/{id}"),
                None,
                Some(json!({"email": email})),
            )
            .await
            .json();
        (
            granted["company_id"].as_str().unwrap().to_owned(),
            granted["token"].as_str().unwrap().to_owned(),
        )
    }

    /// A claimed company of `partner`: (company id, primary admin token).
    pub async fn company(&self, partner: &str, email: &str) -> (String, String) {
        let body =
            json!({"user": {"first_name": "P", "last_name": "A", "email": email}, "company": {"name": "Co"}});
        assert_eq!(
            self.send("POST", "/v1/provision", Some(partner), Some(body))
                .await
                .status,
            200
        );
        self.claim(email).await
    }

    /// A claimed company of `PARTNER` with the sandbox SCIM app connected under `token`.
    pub async fn connected_company(&self, owner: &str, token: &str) -> Co {
        let (id, admin) = self.company(PARTNER, owner).await;
        let co = Co { id, admin };
        let connected = self
            .send(
                "POST",
                &co.path("/apps/sandbox_scim/connection"),
                Some(&co.admin),
                Some(json!({"scim_base_url": "https://scim.sandbox.test/scim/v2", "scim_token": token})),
            )
            .await;
        assert_eq!(connected.status, 200, "{}", connected.text());
        co
    }

    /// Adds a team member; answers its id.
    pub async fn team_member(&self, co: &Co, body: Value) -> String {
        let answer = self
            .send("POST", &co.path("/team_members"), Some(&co.admin), Some(body))
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text());
        answer.json()["id"].as_str().unwrap().to_owned()
    }
}

/// Moves `local`'s tables to DynamoDB and its connection credentials to the envelope store
/// there, as `prov_platform::aws_apps` wires them, and the local scheduler's timers to the
/// main table (EventBridge Scheduler's stand-in: every instance sees what another scheduled).
async fn on_dynamodb(local: &mut Local) -> Deployed {
    let dynamodb = prov_testkit::dynamodb_client();
    let (table, audit) = (
        prov_testkit::unique_name("walk"),
        prov_testkit::unique_name("walk-audit"),
    );
    DynamoStore::create_table(&dynamodb, &table).await.unwrap();
    DynamoStore::create_table(&dynamodb, &audit).await.unwrap();
    let secretsmanager = prov_testkit::secretsmanager_client();
    let keyring = prov_testkit::unique_name("walk-keyring");
    secretsmanager
        .create_secret()
        .name(&keyring)
        .secret_string(r#"{"current": "k1", "k1": "walk-key-material-0123456789abcdefghij"}"#)
        .send()
        .await
        .unwrap();
    let services = Services {
        store: Arc::new(DynamoStore::new(dynamodb.clone(), &table)),
        audit: Arc::new(DynamoStore::new(dynamodb, &audit)),
        ..local.services.clone()
    };
    local.services = services.clone();
    local.apps.services = services.clone();
    local.scheduler = Arc::new(StoreScheduler::new(services.store.clone()));
    local.apps.scheduler = local.scheduler.clone();
    local.apps.secrets = Arc::new(EnvelopeSecretStore::new(
        services.store,
        SecretsManagerKeyring::new(secretsmanager, &keyring),
    ));
    Deployed {
        table,
        audit,
        keyring,
    }
}

/// A company as its primary admin sees it.
pub struct Co {
    pub id: String,
    pub admin: String,
}

impl Co {
    pub fn path(&self, rest: &str) -> String {
        format!("/v1/companies/{}{rest}", self.id)
    }
}

/// The removals an app's safeguard (its `BREAKER` item) counts: by the five minutes they
/// were claimed in, and any still counted by attempt as before (issue 27).
pub fn removals_counted(breaker: &serde_json::Map<String, Value>) -> u64 {
    let by_time: u64 = breaker
        .get("recent")
        .and_then(Value::as_object)
        .map_or(0, |r| r.values().filter_map(Value::as_u64).sum());
    let by_attempt = breaker
        .get("counted")
        .and_then(Value::as_object)
        .map_or(0, |c| c.len() as u64);
    by_time + by_attempt
}
