//! Independent instances of the service over one store: each with its own vendor machinery
//! (throttles, pacing, caches), its own secret cache and its own gateway, as separate Lambda
//! instances are; and the fleet that runs the dismissal cleanup on them, the way the
//! scheduler and the sweep deliver it.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use prov_connectors::Gateway;
use prov_connectors::egress::EgressPolicy;
use prov_connectors::http::{HttpConfig, Sleeper, SharedBudgets, VendorHttp};
use prov_connectors::oauth::{OAuthClientConfig, OAuthClients};
use prov_connectors::registry;
use prov_core::clock::Clock;
use prov_core::keys::DISMISSALS_INDEX;
use prov_core::schedule::StoreScheduler;
use prov_core::secrets::{SecretError, SecretStore};
use prov_core::store::PageRequest;
use prov_processes::Apps;
use prov_processes::dismissal::{self, CleanupEvent};
use secrecy::SecretString;

use super::sim::FleetTime;
use crate::support::Walk;

/// The secret store as one warm instance sees it: a few minutes' cache (as Secrets Manager's
/// adapter keeps) over the store every instance shares.
struct CachedSecrets {
    shared: Arc<dyn SecretStore>,
    time: Arc<FleetTime>,
    cache: Mutex<HashMap<String, (Option<SecretString>, Duration)>>,
}

const SECRET_CACHE: Duration = Duration::from_secs(300);

impl CachedSecrets {
    fn remember(&self, name: &str, value: Option<SecretString>) {
        self.cache
            .lock()
            .unwrap()
            .insert(name.to_owned(), (value, self.time.elapsed()));
    }
}

#[async_trait]
impl SecretStore for CachedSecrets {
    async fn put(&self, name: &str, value: &SecretString) -> Result<(), SecretError> {
        self.shared.put(name, value).await?;
        self.remember(name, Some(value.clone()));
        Ok(())
    }

    async fn get(&self, name: &str) -> Result<Option<SecretString>, SecretError> {
        let now = self.time.elapsed();
        if let Some((value, at)) = self.cache.lock().unwrap().get(name)
            && now < *at + SECRET_CACHE
        {
            return Ok(value.clone());
        }
        self.get_fresh(name).await
    }

    async fn get_fresh(&self, name: &str) -> Result<Option<SecretString>, SecretError> {
        let value = self.shared.get_fresh(name).await?;
        self.remember(name, value.clone());
        Ok(value)
    }

    async fn delete(&self, name: &str) -> Result<(), SecretError> {
        self.shared.delete(name).await?;
        self.remember(name, None);
        Ok(())
    }
}

/// The egress routes of every vendor host to its (strict) fake under `vendors`.
fn policy(vendors: &str) -> EgressPolicy {
    let mut policy = EgressPolicy::sandbox();
    let mut routed = std::collections::HashSet::new();
    for spec in registry::all() {
        for host in spec.hosts.iter().filter(|h| routed.insert(**h)) {
            policy = policy
                .route(host, &format!("{vendors}/_sandbox/{}", spec.slug()))
                .unwrap();
        }
    }
    policy.routed_only()
}

/// One instance of the service on the walk's store and secrets, on the fleet's time.
pub fn instance(w: &Walk, vendors: &str, time: &Arc<FleetTime>) -> Apps {
    let local = &w.local;
    let store = local.services.store.clone();
    let clock: Arc<dyn Clock> = time.clone();
    let sleeper: Arc<dyn Sleeper> = time.clone();
    // The cleanup function's configuration: long turns are booked and handed back.
    let http = VendorHttp::with_sleeper(policy(vendors), HttpConfig::background(), sleeper)
        .with_shared_budgets(SharedBudgets::new(store.clone(), clock.clone()));
    let clients = registry::all()
        .filter(|spec| spec.oauth.is_some())
        .map(|spec| {
            (
                spec.slug().to_owned(),
                OAuthClientConfig {
                    client_id: prov_sandbox::CLIENT_ID.to_owned(),
                    client_secret: SecretString::from(prov_sandbox::CLIENT_SECRET),
                },
            )
        })
        .collect();
    let services = prov_core::Services {
        clock: clock.clone(),
        mailer: Arc::new(prov_platform::LocalOutbox::new(store.clone(), clock.clone())),
        ..local.services.clone()
    };
    Apps {
        services,
        secrets: Arc::new(CachedSecrets {
            shared: local.apps.secrets.clone(),
            time: time.clone(),
            cache: Mutex::new(HashMap::new()),
        }),
        vendors: Arc::new(Gateway::new(
            Arc::new(http),
            Arc::new(OAuthClients::fixed(clients)),
            clock,
        )),
        scheduler: Arc::new(StoreScheduler::new(store)),
    }
}

/// The cleanup on a fleet of instances: due schedules are delivered to whichever instance
/// is free (as Lambda's invocations are), the sweep comes every 15 minutes, until no
/// dismissal is left to run.
pub struct Fleet {
    pub time: Arc<FleetTime>,
    instances: Vec<Apps>,
    scheduler: StoreScheduler,
    queue: Mutex<VecDeque<CleanupEvent>>,
    stop: AtomicBool,
    /// What went wrong in a run (the sweep takes it up again).
    pub errors: Mutex<Vec<String>>,
}

const SWEEP_EVERY: Duration = Duration::from_secs(15 * 60);

impl Fleet {
    pub fn new(w: &Walk, vendors: &str, time: Arc<FleetTime>, size: usize) -> Arc<Self> {
        Arc::new(Self {
            instances: (0..size).map(|_| instance(w, vendors, &time)).collect(),
            scheduler: StoreScheduler::new(w.local.services.store.clone()),
            time,
            queue: Mutex::new(VecDeque::new()),
            stop: AtomicBool::new(false),
            errors: Mutex::new(Vec::new()),
        })
    }

    pub fn instance(&self, i: usize) -> &Apps {
        &self.instances[i]
    }

    /// Runs until every dismissal is done (no active one left), or fails after `limit` of
    /// real time.
    pub async fn run(self: &Arc<Self>, limit: Duration) {
        let mut tasks = Vec::new();
        self.time.enter();
        let fleet = self.clone();
        tasks.push(tokio::spawn(async move { fleet.dispatch().await }));
        for i in 0..self.instances.len() {
            self.time.enter();
            let fleet = self.clone();
            tasks.push(tokio::spawn(async move { fleet.work(i).await }));
        }
        let all = async {
            for task in tasks {
                task.await.unwrap();
            }
        };
        tokio::time::timeout(limit, all)
            .await
            .expect("the fleet finished in time");
    }

    async fn dispatch(&self) {
        let clock = &self.instances[0].services.clock;
        let store = &self.instances[0].services.store;
        let mut next_sweep = self.time.elapsed() + SWEEP_EVERY;
        let mut next_look = Duration::ZERO;
        loop {
            for job in self.scheduler.take_due(clock.now()).await.unwrap() {
                let event: CleanupEvent = serde_json::from_value(job.payload).unwrap();
                self.queue.lock().unwrap().push_back(event);
            }
            let now = self.time.elapsed();
            if now >= next_sweep {
                self.queue.lock().unwrap().push_back(CleanupEvent::Sweep);
                next_sweep += SWEEP_EVERY;
            }
            if now >= next_look {
                next_look = now + Duration::from_secs(10);
                let active = store
                    .query_index(DISMISSALS_INDEX, PageRequest::first(1))
                    .await
                    .unwrap();
                if active.items.is_empty() {
                    break;
                }
            }
            self.time.sleep(Duration::from_secs(1)).await;
        }
        self.stop.store(true, Ordering::SeqCst);
        self.time.leave();
    }

    async fn work(&self, i: usize) {
        let apps = &self.instances[i];
        loop {
            let job = self.queue.lock().unwrap().pop_front();
            let ran = match job {
                Some(CleanupEvent::DismissalDue {
                    company_id,
                    team_member_id,
                }) => dismissal::run(apps, &company_id, &team_member_id)
                    .await
                    .map(|_| ()),
                Some(CleanupEvent::Sweep) => dismissal::sweep(apps).await.map(|_| ()),
                None if self.stop.load(Ordering::SeqCst) => break,
                None => {
                    self.time.sleep(Duration::from_millis(500)).await;
                    Ok(())
                }
            };
            if let Err(e) = ran {
                self.errors.lock().unwrap().push(e.to_string());
            }
        }
        self.time.leave();
    }
}
