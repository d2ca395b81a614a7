//! Independent instances of the service over one store: each with its own vendor machinery
//! (throttles, pacing, caches), its own secret cache and its own gateway, as separate Lambda
//! instances are (on DynamoDB also its own clients of the tables and the keyring); and the
//! fleet that runs the dismissal cleanup on them, the way the scheduler and the sweep
//! deliver it.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use prov_connectors::http::{HttpConfig, SharedBudgets, Sleeper, VendorHttp};
use prov_core::clock::Clock;
use prov_core::keys::{DISMISSALS_INDEX, TIMERS_INDEX};
use prov_core::schedule::{ScheduledJob, StoreScheduler};
use prov_core::secrets::{SecretError, SecretStore};
use prov_core::store::{Item, ItemStore, Key, Page, PageRequest, StoreError, WriteOp};
use prov_processes::Apps;
use prov_processes::dismissal::{self, CleanupEvent};
use secrecy::SecretString;

use super::sim::FleetTime;
use crate::support::Walk;

/// The secret store as one warm instance sees it: a few minutes' cache over the store every
/// instance shares. The deployed envelope store reads the table each time; a cache is the
/// harder case (a token another instance refreshed is not seen without `get_fresh`), and
/// Secrets Manager's adapter, still read for credentials stored before, keeps one.
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

/// The instances' round trips to the store, and of those on the vendors' shared rate
/// budgets.
#[derive(Default)]
pub struct StoreCounts {
    pub round_trips: AtomicUsize,
    pub budget_round_trips: AtomicUsize,
}

/// The store as one instance reaches it, every round trip counted with the fleet's.
struct CountedStore {
    inner: Arc<dyn ItemStore>,
    counts: Arc<StoreCounts>,
}

impl CountedStore {
    fn count(&self, key: Option<&Key>) {
        self.counts.round_trips.fetch_add(1, Ordering::SeqCst);
        if key.is_some_and(|k| k.sk.starts_with("BUDGET#")) {
            self.counts.budget_round_trips.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[async_trait]
impl ItemStore for CountedStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.count(Some(key));
        self.inner.get(key).await
    }

    async fn create(&self, item: Item) -> Result<u64, StoreError> {
        self.count(Some(&item.key));
        self.inner.create(item).await
    }

    async fn replace(&self, item: Item, expected_version: u64) -> Result<u64, StoreError> {
        self.count(Some(&item.key));
        self.inner.replace(item, expected_version).await
    }

    async fn delete(&self, key: &Key, expected_version: Option<u64>) -> Result<(), StoreError> {
        self.count(Some(key));
        self.inner.delete(key, expected_version).await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.count(None);
        self.inner.transact(ops).await
    }

    async fn query(&self, pk: &str, sk_prefix: &str, page: PageRequest) -> Result<Page, StoreError> {
        self.count(None);
        self.inner.query(pk, sk_prefix, page).await
    }

    async fn query_index(&self, index_pk: &str, page: PageRequest) -> Result<Page, StoreError> {
        self.count(None);
        self.inner.query_index(index_pk, page).await
    }

    async fn scan(&self, sk_prefix: &str, page: PageRequest) -> Result<Page, StoreError> {
        self.count(None);
        self.inner.scan(sk_prefix, page).await
    }
}

/// What the instances' vendor machinery slept (a function is paid while it does): the
/// longest single wait and all of them together, in milliseconds.
#[derive(Default)]
pub struct Waits {
    pub longest_ms: AtomicU64,
    pub total_ms: AtomicU64,
}

/// The fleet's time as one instance's vendor machinery sleeps on it, its waits counted.
struct CountedSleeper {
    time: Arc<FleetTime>,
    waits: Arc<Waits>,
}

#[async_trait]
impl Sleeper for CountedSleeper {
    async fn sleep(&self, duration: Duration) {
        let ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        self.waits.longest_ms.fetch_max(ms, Ordering::SeqCst);
        self.waits.total_ms.fetch_add(ms, Ordering::SeqCst);
        self.time.sleep(duration).await;
    }

    fn simulated_now(&self) -> Option<Duration> {
        self.time.simulated_now()
    }
}

/// One instance of the service on its own wiring of the walk's data (`Walk::another_instance`),
/// its store round trips counted in `counts`, on the fleet's time.
fn instance(
    w: &Walk,
    counts: &Arc<StoreCounts>,
    vendors: &str,
    time: &Arc<FleetTime>,
    waits: &Arc<Waits>,
) -> Apps {
    let local = &w.local;
    let own = w.another_instance();
    let store: Arc<dyn ItemStore> = Arc::new(CountedStore {
        inner: own.store,
        counts: counts.clone(),
    });
    let clock: Arc<dyn Clock> = time.clone();
    let sleeper: Arc<dyn Sleeper> = Arc::new(CountedSleeper {
        time: time.clone(),
        waits: waits.clone(),
    });
    // The cleanup function's configuration: long turns are booked and handed back.
    let policy = devserver::sandbox_policy(&format!("{vendors}/_sandbox"), &[]).unwrap();
    let http = VendorHttp::with_sleeper(policy, HttpConfig::background(), sleeper)
        .with_shared_budgets(SharedBudgets::new(store.clone(), clock.clone()));
    let services = prov_core::Services {
        store: store.clone(),
        audit: own.audit,
        clock: clock.clone(),
        mailer: Arc::new(prov_platform::LocalOutbox::new(store.clone(), clock.clone())),
        ..local.services.clone()
    };
    Apps {
        services,
        secrets: Arc::new(CachedSecrets {
            shared: own.secrets,
            time: time.clone(),
            cache: Mutex::new(HashMap::new()),
        }),
        vendors: Arc::new(devserver::sandbox_gateway(Arc::new(http), clock)),
        scheduler: Arc::new(StoreScheduler::new(store)),
        queue: local.apps.queue.clone(),
        webhooks: local.apps.webhooks.clone(),
    }
}

/// The cleanup on a fleet of instances: due schedules are delivered to whichever instance
/// is free (as Lambda's invocations are), the sweep comes every 15 minutes, until no
/// dismissal is left to run.
pub struct Fleet {
    pub time: Arc<FleetTime>,
    instances: Vec<Apps>,
    /// The instances' store round trips (the dispatcher's own are not counted).
    pub counts: Arc<StoreCounts>,
    /// The walk's store, uncounted.
    plain: Arc<dyn ItemStore>,
    /// What the instances slept on vendors.
    pub waits: Arc<Waits>,
    /// Cleanup runs of a dismissal, and of those steps a vendor's pace handed back.
    pub runs: AtomicUsize,
    pub handed_back: AtomicUsize,
    scheduler: StoreScheduler,
    queue: Mutex<VecDeque<CleanupEvent>>,
    stop: AtomicBool,
    /// What went wrong in a run (the sweep takes it up again).
    pub errors: Mutex<Vec<String>>,
}

const SWEEP_EVERY: Duration = Duration::from_secs(15 * 60);

impl Fleet {
    pub fn new(w: &Walk, vendors: &str, time: Arc<FleetTime>, size: usize) -> Arc<Self> {
        let plain = w.local.services.store.clone();
        let counts = Arc::new(StoreCounts::default());
        let waits = Arc::new(Waits::default());
        Arc::new(Self {
            instances: (0..size)
                .map(|_| instance(w, &counts, vendors, &time, &waits))
                .collect(),
            waits,
            scheduler: StoreScheduler::new(plain.clone()),
            counts,
            plain,
            runs: AtomicUsize::new(0),
            handed_back: AtomicUsize::new(0),
            time,
            queue: Mutex::new(VecDeque::new()),
            stop: AtomicBool::new(false),
            errors: Mutex::new(Vec::new()),
        })
    }

    /// Runs until every dismissal is done (no active one left), or fails after `limit` of
    /// real time; answers the real time it took.
    pub async fn run(self: &Arc<Self>, limit: Duration) -> Duration {
        let began = std::time::Instant::now();
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
        began.elapsed()
    }

    async fn dispatch(&self) {
        let clock = &self.instances[0].services.clock;
        let store = &self.plain;
        let mut next_sweep = self.time.elapsed() + SWEEP_EVERY;
        let mut next_look = Duration::ZERO;
        loop {
            // The next schedule's time (the index is in time order): the due ones are taken
            // when it has come, so each second costs one read of one item.
            let next = store
                .query_index(TIMERS_INDEX, PageRequest::first(1))
                .await
                .unwrap();
            let due = next.items.first().is_some_and(|item| {
                item.record::<ScheduledJob>()
                    .is_ok_and(|job| job.at <= clock.now())
            });
            if due {
                for job in self.scheduler.take_due(clock.now()).await.unwrap() {
                    let event: CleanupEvent = serde_json::from_value(job.payload).unwrap();
                    self.queue.lock().unwrap().push_back(event);
                }
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
                    .map(|report| {
                        self.runs.fetch_add(1, Ordering::SeqCst);
                        self.handed_back.fetch_add(report.waiting, Ordering::SeqCst);
                    }),
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
