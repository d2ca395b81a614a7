//! Sessions pointed at a wiremock server, with a sleeper that records instead of waiting.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use prov_connectors::egress::{EgressPolicy, HostPattern};
use prov_connectors::http::{HttpConfig, Session, Sleeper, StaticAuth, VendorHttp};
use secrecy::SecretString;
use wiremock::MockServer;

/// The made-up vendor host the tests' sessions call (routed to the mock server).
pub const VENDOR: &str = "api.vendor.test";

/// Records each wait instead of waiting, and keeps a simulated clock that only those waits
/// move: the throttles read it, so what they decide does not depend on how fast the machine is.
#[derive(Default)]
pub struct RecordingSleeper(Mutex<Vec<Duration>>);

impl RecordingSleeper {
    pub fn waits(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}

#[async_trait]
impl Sleeper for RecordingSleeper {
    async fn sleep(&self, duration: Duration) {
        self.0.lock().unwrap().push(duration);
        tokio::task::yield_now().await;
    }

    fn simulated_now(&self) -> Option<Duration> {
        Some(self.0.lock().unwrap().iter().sum())
    }
}

pub fn session_for(server: &MockServer, config: HttpConfig) -> (Session, Arc<RecordingSleeper>) {
    let policy = EgressPolicy::sandbox().route(VENDOR, &server.uri()).unwrap();
    let sleeper = Arc::new(RecordingSleeper::default());
    let http = Arc::new(VendorHttp::with_sleeper(policy, config, sleeper.clone()));
    let session = Session::new(
        http,
        "test",
        "com_1",
        vec![HostPattern::new(VENDOR).unwrap()],
        Arc::new(StaticAuth::bearer(&SecretString::from("test-token"))),
        None,
    );
    (session, sleeper)
}

/// The HTTP machinery with `hosts` routed to the mock server, and a recording sleeper.
pub fn vendor_http(server: &MockServer, hosts: &[&str]) -> (Arc<VendorHttp>, Arc<RecordingSleeper>) {
    let policy = hosts.iter().fold(EgressPolicy::sandbox(), |p, host| {
        p.route(host, &server.uri()).unwrap()
    });
    let sleeper = Arc::new(RecordingSleeper::default());
    let http = Arc::new(VendorHttp::with_sleeper(
        policy,
        HttpConfig::default(),
        sleeper.clone(),
    ));
    (http, sleeper)
}

/// The registry's connector for an OAuth `app` (no tenant details) with a bearer token, its
/// hosts routed to the mock server.
pub fn oauth_connector(
    server: &MockServer,
    app: &str,
    hosts: &[&str],
    token: &str,
) -> (Box<dyn prov_connectors::Connector>, Arc<RecordingSleeper>) {
    let (http, sleeper) = vendor_http(server, hosts);
    let auth = Arc::new(StaticAuth::bearer(&SecretString::from(token)));
    let spec = prov_connectors::registry::spec(app).unwrap();
    let tenant = prov_connectors::registry::Tenant::new();
    (spec.connector(http, "com_1", &tenant, auth).unwrap(), sleeper)
}

/// Starts `app`'s authorization as production would (the vendor's own hosts); answers the
/// authorize URL, its query and the state it carries.
pub fn authorize_in_production(
    app: &str,
    client: &prov_connectors::oauth::OAuthClientConfig,
) -> (url::Url, std::collections::HashMap<String, String>, String) {
    use secrecy::ExposeSecret;
    let http = VendorHttp::new(EgressPolicy::production(), HttpConfig::default());
    let auth = prov_connectors::oauth::authorize(
        &http,
        prov_connectors::registry::spec(app).unwrap(),
        client,
        "https://api.example.test/v1/oauth/callback",
        None,
    )
    .unwrap();
    let query = auth.url.query_pairs().into_owned().collect();
    (auth.url, query, auth.state.expose_secret().to_owned())
}

/// Mounts `first` for the first request `given()` matches and `then` for every later one
/// (a vendor that answers differently the second time: a 429 then the page, not there then
/// there).
pub async fn first_then(
    server: &MockServer,
    given: impl Fn() -> wiremock::MockBuilder,
    first: wiremock::ResponseTemplate,
    then: wiremock::ResponseTemplate,
) {
    given()
        .respond_with(first)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
    given().respond_with(then).with_priority(2).mount(server).await;
}

/// The registry's connector for an API-key `app` with the pasted `tenant` and `secrets`
/// fields (checked as connect checks them), its hosts routed to the mock server.
pub fn api_key_connector(
    server: &MockServer,
    app: &str,
    hosts: &[&str],
    tenant: &[(&str, &str)],
    secrets: &[(&str, &str)],
) -> (Box<dyn prov_connectors::Connector>, Arc<RecordingSleeper>) {
    use prov_connectors::registry::{Secrets, Tenant};
    let (http, sleeper) = vendor_http(server, hosts);
    let spec = prov_connectors::registry::spec(app).unwrap();
    let tenant: Tenant = tenant
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let secrets: Secrets = secrets
        .iter()
        .map(|(k, v)| ((*k).to_owned(), SecretString::from(*v)))
        .collect();
    for (name, value) in &secrets {
        use secrecy::ExposeSecret;
        (spec.check)(&tenant, name, value.expose_secret()).unwrap();
    }
    let auth = spec
        .api_key_authenticator(http.clone(), "com_1", &tenant, &secrets)
        .unwrap();
    (spec.connector(http, "com_1", &tenant, auth).unwrap(), sleeper)
}

/// A simulated time that is both the service's clock and the machinery's sleeper: only
/// waits move it (one caller at a time in these tests), so the shared budgets (dated by
/// the clock) and the throttles (by the sleeper) agree.
#[derive(Default)]
pub struct SimTime {
    elapsed: Mutex<Duration>,
    waits: Mutex<Vec<Duration>>,
}

impl SimTime {
    pub fn waits(&self) -> Vec<Duration> {
        self.waits.lock().unwrap().clone()
    }

    pub fn elapsed(&self) -> Duration {
        *self.elapsed.lock().unwrap()
    }
}

#[async_trait]
impl Sleeper for SimTime {
    async fn sleep(&self, duration: Duration) {
        *self.elapsed.lock().unwrap() += duration;
        self.waits.lock().unwrap().push(duration);
        tokio::task::yield_now().await;
    }

    fn simulated_now(&self) -> Option<Duration> {
        Some(self.elapsed())
    }
}

impl prov_core::clock::Clock for SimTime {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        let start = chrono::DateTime::parse_from_rfc3339("2026-03-01T08:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        start + chrono::Duration::from_std(self.elapsed()).unwrap()
    }
}

/// An item store in memory with the port's conditional writes (get, create, replace,
/// delete; nothing else is needed here), counting its reads and writes (round trips).
#[derive(Default)]
pub struct MemoryStore {
    items: Mutex<std::collections::HashMap<prov_core::store::Key, prov_core::store::Item>>,
    reads: std::sync::atomic::AtomicUsize,
    writes: std::sync::atomic::AtomicUsize,
}

impl MemoryStore {
    /// Reads and writes (a refused conditional write included) so far.
    pub fn round_trips(&self) -> (usize, usize) {
        use std::sync::atomic::Ordering::SeqCst;
        (self.reads.load(SeqCst), self.writes.load(SeqCst))
    }

    fn counted(&self, write: bool) {
        let counter = if write { &self.writes } else { &self.reads };
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[async_trait]
impl prov_core::store::ItemStore for MemoryStore {
    async fn get(
        &self,
        key: &prov_core::store::Key,
    ) -> Result<Option<prov_core::store::Item>, prov_core::store::StoreError> {
        self.counted(false);
        Ok(self.items.lock().unwrap().get(key).cloned())
    }

    async fn create(&self, mut item: prov_core::store::Item) -> Result<u64, prov_core::store::StoreError> {
        self.counted(true);
        let mut items = self.items.lock().unwrap();
        if items.contains_key(&item.key) {
            return Err(prov_core::store::StoreError::ConditionFailed);
        }
        item.version = 1;
        items.insert(item.key.clone(), item);
        Ok(1)
    }

    async fn replace(
        &self,
        mut item: prov_core::store::Item,
        expected_version: u64,
    ) -> Result<u64, prov_core::store::StoreError> {
        self.counted(true);
        let mut items = self.items.lock().unwrap();
        match items.get(&item.key) {
            Some(stored) if stored.version == expected_version => {
                item.version = expected_version + 1;
                items.insert(item.key.clone(), item);
                Ok(expected_version + 1)
            }
            _ => Err(prov_core::store::StoreError::ConditionFailed),
        }
    }

    async fn delete(
        &self,
        key: &prov_core::store::Key,
        expected_version: Option<u64>,
    ) -> Result<(), prov_core::store::StoreError> {
        self.counted(true);
        let mut items = self.items.lock().unwrap();
        match (items.get(key), expected_version) {
            (Some(stored), Some(v)) if stored.version != v => {
                Err(prov_core::store::StoreError::ConditionFailed)
            }
            (None, Some(_)) => Err(prov_core::store::StoreError::ConditionFailed),
            _ => {
                items.remove(key);
                Ok(())
            }
        }
    }

    async fn transact(&self, _: Vec<prov_core::store::WriteOp>) -> Result<(), prov_core::store::StoreError> {
        Err(prov_core::store::StoreError::Invalid("not needed here".into()))
    }

    async fn query(
        &self,
        _: &str,
        _: &str,
        _: prov_core::store::PageRequest,
    ) -> Result<prov_core::store::Page, prov_core::store::StoreError> {
        Err(prov_core::store::StoreError::Invalid("not needed here".into()))
    }

    async fn query_index(
        &self,
        _: &str,
        _: prov_core::store::PageRequest,
    ) -> Result<prov_core::store::Page, prov_core::store::StoreError> {
        Err(prov_core::store::StoreError::Invalid("not needed here".into()))
    }

    async fn scan(
        &self,
        _: &str,
        _: prov_core::store::PageRequest,
    ) -> Result<prov_core::store::Page, prov_core::store::StoreError> {
        Err(prov_core::store::StoreError::Invalid("not needed here".into()))
    }
}
