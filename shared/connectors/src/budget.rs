//! Pacing calls to a vendor at its published limit. One company's pace with one app is a
//! GCRA schedule plus what the vendor's last rate-limit answer taught; it is kept in the
//! process, or in the item store where every running instance of the service shares it (so
//! eight instances together keep to the limit one would).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prov_core::clock::Clock;
use prov_core::keys::vendor_budget_key;
use prov_core::store::{Attempt, Item, ItemStore, Key, StoreError, retry_lost_writes};
use serde::{Deserialize, Serialize};

use crate::error::ConnectorError;

/// A vendor's published limit for one company's calls to one app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_minute: u32,
    pub burst: u32,
}

impl RateLimit {
    /// The time between two calls at the sustained rate.
    pub fn spacing(self) -> Duration {
        Duration::from_secs(60) / self.per_minute.max(1)
    }

    /// How far ahead of the sustained rate a burst may run.
    fn tolerance(self) -> Duration {
        self.spacing() * (self.burst.max(1) - 1)
    }
}

/// How long after a rate-limit answer's wait the pace is back to the published one (coming
/// back linearly meanwhile): a vendor stricter than it publishes sees a 429 now and then, not
/// one per call, and a vendor that was only busy is at full pace again within a minute.
pub const RECOVERY: Duration = Duration::from_secs(60);

/// A slowed pace is never slower than one call per this.
const SLOWEST: Duration = Duration::from_secs(60);

/// Tries of a read-modify-write of a shared pace that lost to other instances' writes.
const CONTENTION_TRIES: usize = 32;

/// A turn booked for a caller told to come back later is given up when nobody came for it
/// within this long after its time.
const BOOKED_KEPT: Duration = Duration::from_secs(60);

/// At most this many turns are booked ahead; beyond, a wait is handed back without one.
const MOST_BOOKED: usize = 1000;

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// One company's pace with one app, in milliseconds on its budget's clock.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pace {
    /// When the next call would be due if no burst were allowed (GCRA's theoretical
    /// arrival time).
    tat_ms: u64,
    /// No call before this: the wait a rate-limit answer asked for.
    blocked_until_ms: u64,
    /// The spacing the last rate-limit answer taught, from `slowed_from_ms` on.
    slowed_spacing_ms: u64,
    slowed_from_ms: u64,
    /// Turns booked for callers told to come back at their time (a wait handed back): the
    /// first caller at or after a booked turn's time takes it instead of a new one, so a
    /// layoff's handed-back removals come back spread at the vendor's pace, not all at once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    booked_ms: Vec<u64>,
}

impl Pace {
    /// The spacing at `now`: the published one, or slower for a while after a rate-limit
    /// answer.
    fn spacing_ms(&self, limit: RateLimit, now: u64) -> u64 {
        let published = ms(limit.spacing());
        let since = now.saturating_sub(self.slowed_from_ms);
        if self.slowed_spacing_ms <= published || since >= ms(RECOVERY) {
            return published;
        }
        let left = (ms(RECOVERY) - since) as f64 / ms(RECOVERY) as f64;
        published + ((self.slowed_spacing_ms - published) as f64 * left) as u64
    }

    /// When a call asking at `now` may go.
    fn next_at(&self, limit: RateLimit, now: u64) -> u64 {
        // While slowed there is no burst: calls go one spacing apart.
        let slowed = self.spacing_ms(limit, now) > ms(limit.spacing());
        let tolerance = if slowed { 0 } else { ms(limit.tolerance()) };
        now.max(self.tat_ms.saturating_sub(tolerance))
            .max(self.blocked_until_ms)
    }

    /// How long a call asking at `now` would wait for its turn.
    pub fn wait(&self, limit: RateLimit, now: Duration) -> Duration {
        let now = ms(now);
        Duration::from_millis(self.next_at(limit, now) - now)
    }

    /// Takes the next turn for a call asking at `now`; answers how long it waits for it.
    pub fn reserve(&mut self, limit: RateLimit, now: Duration) -> Duration {
        let now = ms(now);
        let at = self.next_at(limit, now);
        self.tat_ms = self.tat_ms.max(at).saturating_add(self.spacing_ms(limit, at));
        Duration::from_millis(at - now)
    }

    /// Takes a turn for a call asking at `now` that may wait `within` at most: `Ok(wait)`
    /// for a turn within it (a booked turn whose time has come is taken first), or
    /// `Err(wait)`: come back after `wait`, when a turn booked now is yours.
    pub fn take(&mut self, limit: RateLimit, now: Duration, within: Duration) -> Result<Duration, Duration> {
        let now_ms = ms(now);
        self.booked_ms
            .retain(|at| at.saturating_add(ms(BOOKED_KEPT)) > now_ms);
        if now_ms >= self.blocked_until_ms
            && let Some(i) = self.booked_ms.iter().position(|at| *at <= now_ms)
        {
            self.booked_ms.remove(i);
            return Ok(Duration::ZERO);
        }
        let wait = self.wait(limit, now);
        if wait <= within {
            return Ok(self.reserve(limit, now));
        }
        if self.booked_ms.len() < MOST_BOOKED {
            let at = now_ms + ms(wait);
            self.reserve(limit, now);
            self.booked_ms.push(at);
        }
        Err(wait)
    }

    /// The vendor answered "slow down" at `now` and asked for `wait`: no call before it has
    /// passed, then calls one at a time, half as slow again as the pace it refused, back to
    /// the published pace within `RECOVERY`.
    pub fn rate_limited(&mut self, limit: RateLimit, now: Duration, wait: Duration) {
        let now = ms(now);
        let refused = self.spacing_ms(limit, now);
        // The turns already given out end where a burst would have let the next one go;
        // from there (after the wait), one at a time.
        let tolerance = if refused > ms(limit.spacing()) {
            0
        } else {
            ms(limit.tolerance())
        };
        self.blocked_until_ms = self.blocked_until_ms.max(now.saturating_add(ms(wait)));
        self.slowed_spacing_ms = ((refused as f64 * 1.5) as u64)
            .min(ms(SLOWEST))
            .max(ms(limit.spacing()));
        self.slowed_from_ms = self.blocked_until_ms;
        self.tat_ms = self.tat_ms.saturating_sub(tolerance).max(self.blocked_until_ms);
        // Turns booked at the old pace would all come back at once after the wait: their
        // callers take new turns at the slower one.
        self.booked_ms.clear();
    }

    /// Whether the pace says nothing a fresh one would not (it may be forgotten).
    pub fn idle(&self, now: Duration) -> bool {
        let now = ms(now);
        self.tat_ms <= now
            && self.blocked_until_ms <= now
            && now.saturating_sub(self.slowed_from_ms) >= ms(RECOVERY)
            && self.booked_ms.is_empty()
    }

    /// Until when the pace matters (after that it is idle).
    fn matters_until(&self) -> u64 {
        let booked = self.booked_ms.iter().max().copied().unwrap_or(0);
        self.tat_ms
            .max(self.blocked_until_ms)
            .max(self.slowed_from_ms.saturating_add(ms(RECOVERY)))
            .max(booked.saturating_add(ms(BOOKED_KEPT)))
    }
}

/// The paces of every company with every app, in the item store: every instance of the
/// service reads and writes the same ones (conditional writes; a lost one is read again).
/// Times come from the service's clock.
///
/// Round trips: a turn costs one conditional write when this instance wrote the pace last
/// (it writes at the version it knows, without reading first), a read and a write when
/// another instance did (a lost write is one more). While the vendor's burst has room, one
/// write takes a lease of a few turns (`lease_turns`) that this instance spends on its next
/// calls within `LEASE_LIFE`, without the store: a removal's few calls to one app cost one
/// write, not one each.
pub struct SharedBudgets {
    store: Arc<dyn ItemStore>,
    clock: Arc<dyn Clock>,
    /// Each pace as this instance last read or wrote it, with its version.
    known: Mutex<HashMap<Key, (u64, Pace)>>,
    /// Turns leased and not spent yet: how many, and until when (ms) they may be spent.
    leased: Mutex<HashMap<Key, (u32, u64)>>,
}

/// A lease's turns are spent within this long of being taken, or given up: a call spends
/// one the moment it is ready, so a lease never lets calls bunch up later.
pub const LEASE_LIFE: Duration = Duration::from_secs(2);

/// Above this many paces known, those that say nothing any more are forgotten.
const KNOWN_PACES: usize = 10_000;

/// How many turns one write takes while the burst has room: a third of the burst, at most
/// three (a removal's usual calls to one app), so instances that find the burst free at
/// once still each get theirs.
pub fn lease_turns(limit: RateLimit) -> u32 {
    (limit.burst / 3).clamp(1, 3)
}

fn unavailable(e: StoreError) -> ConnectorError {
    ConnectorError::Transient(format!("the shared rate budget cannot be read: {e}"))
}

impl SharedBudgets {
    pub fn new(store: Arc<dyn ItemStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            known: Mutex::new(HashMap::new()),
            leased: Mutex::new(HashMap::new()),
        }
    }

    fn now(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.clock.now().timestamp_millis()).unwrap_or(0))
    }

    /// Spends a turn of this instance's lease on `key`, if one is left and still valid.
    fn spend_leased(&self, key: &Key, now: Duration) -> bool {
        let mut leased = self.leased.lock().expect("lease lock");
        let Some((left, until)) = leased.get_mut(key) else {
            return false;
        };
        if *left == 0 || ms(now) > *until {
            leased.remove(key);
            return false;
        }
        *left -= 1;
        true
    }

    /// Takes `app`'s next turn for `company_id` (see `Pace::take`): `Ok(wait)` for a turn
    /// within `within`, `Err(wait)` to come back after `wait` to a turn booked meanwhile.
    pub async fn take(
        &self,
        app: &str,
        company_id: &str,
        limit: RateLimit,
        within: Duration,
    ) -> Result<Result<Duration, Duration>, ConnectorError> {
        let key = vendor_budget_key(company_id, app);
        if self.spend_leased(&key, self.now()) {
            return Ok(Ok(Duration::ZERO));
        }
        let (turn, extra, at) = self
            .update(&key, |pace, now| {
                let turn = pace.take(limit, now, within);
                // The burst has room: a few more turns now, for this instance's next calls.
                let mut extra = 0;
                if turn == Ok(Duration::ZERO) {
                    while extra + 1 < lease_turns(limit) && pace.wait(limit, now).is_zero() {
                        pace.reserve(limit, now);
                        extra += 1;
                    }
                }
                (turn, extra, now)
            })
            .await?;
        if extra > 0 {
            self.leased
                .lock()
                .expect("lease lock")
                .insert(key, (extra, ms(at + LEASE_LIFE)));
        }
        Ok(turn)
    }

    /// Tells every instance that `app` answered "slow down, for `wait`" for `company_id`.
    pub async fn rate_limited(
        &self,
        app: &str,
        company_id: &str,
        limit: RateLimit,
        wait: Duration,
    ) -> Result<(), ConnectorError> {
        let key = vendor_budget_key(company_id, app);
        // Turns leased before the vendor's answer are not spent after it.
        self.leased.lock().expect("lease lock").remove(&key);
        self.update(&key, |pace, now| pace.rate_limited(limit, now, wait))
            .await
    }

    /// Applies `change` to the pace and writes it at the version it was at: first the
    /// version this instance knows (no read), after a lost write the one read now.
    async fn update<T>(
        &self,
        key: &Key,
        change: impl Fn(&mut Pace, Duration) -> T,
    ) -> Result<T, ConnectorError> {
        let change = &change;
        let mut known = self.known.lock().expect("known lock").get(key).cloned();
        let outcome = retry_lost_writes(CONTENTION_TRIES, || {
            let known = known.take();
            async move {
                let (version, mut pace) = match known {
                    Some((version, pace)) => (Some(version), pace),
                    None => match self.store.get(key).await.map_err(unavailable)? {
                        // A pace that does not parse is a fresh one: the limit still holds.
                        Some(item) => (Some(item.version), item.record::<Pace>().unwrap_or_default()),
                        None => (None, Pace::default()),
                    },
                };
                let now = self.now();
                let before = pace.clone();
                let outcome = change(&mut pace, now);
                if pace == before {
                    return Ok(Attempt::Done(outcome));
                }
                let expires = i64::try_from(pace.matters_until() / 1000).unwrap_or(i64::MAX);
                let item = Item::from_record(key.clone(), &pace)
                    .map_err(unavailable)?
                    .with_expiry(expires.saturating_add(3600));
                let written = match version {
                    Some(v) => self.store.replace(item, v).await,
                    None => self.store.create(item).await,
                };
                Ok::<_, ConnectorError>(match Attempt::of(written).map_err(unavailable)? {
                    Attempt::Done(version) => {
                        self.remember(key, version, pace, now);
                        Attempt::Done(outcome)
                    }
                    Attempt::Lost => {
                        self.known.lock().expect("known lock").remove(key);
                        Attempt::Lost
                    }
                })
            }
        })
        .await?;
        outcome
            .ok_or_else(|| ConnectorError::Transient("the vendor's shared rate budget kept changing".into()))
    }

    fn remember(&self, key: &Key, version: u64, pace: Pace, now: Duration) {
        let mut known = self.known.lock().expect("known lock");
        if known.len() > KNOWN_PACES {
            known.retain(|_, (_, pace)| !pace.idle(now));
        }
        known.insert(key.clone(), (version, pace));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: RateLimit = RateLimit {
        per_minute: 60,
        burst: 3,
    };

    fn s(secs: f64) -> Duration {
        Duration::from_secs_f64(secs)
    }

    #[test]
    fn a_burst_then_the_published_spacing() {
        let mut pace = Pace::default();
        let waits: Vec<Duration> = (0..6).map(|_| pace.reserve(LIMIT, s(100.0))).collect();
        assert_eq!(waits, [s(0.0), s(0.0), s(0.0), s(1.0), s(2.0), s(3.0)]);
        // Unused time refills the burst.
        let mut pace = Pace::default();
        pace.reserve(LIMIT, s(0.0));
        assert_eq!(pace.wait(LIMIT, s(10.0)), Duration::ZERO);
    }

    #[test]
    fn a_rate_limit_answer_blocks_then_slows_then_recovers_within_a_minute() {
        let mut pace = Pace::default();
        pace.reserve(LIMIT, s(0.0));
        pace.rate_limited(LIMIT, s(0.0), s(10.0));
        // Nobody calls before the vendor's wait has passed.
        assert_eq!(pace.wait(LIMIT, s(4.0)), s(6.0));
        assert_eq!(pace.reserve(LIMIT, s(10.0)), Duration::ZERO);
        // Then one at a time, half as slow again as the published spacing, no burst.
        assert_eq!(pace.reserve(LIMIT, s(10.0)), s(1.5));
        // A minute of calls after the wait, the published pace and its burst are back.
        assert_eq!(pace.spacing_ms(LIMIT, ms(s(70.0))), 1000);
        assert!(pace.idle(s(75.0)));
        let mut later = pace.clone();
        let burst: Vec<Duration> = (0..3).map(|_| later.reserve(LIMIT, s(75.0))).collect();
        assert_eq!(burst, [s(0.0); 3]);
        // Halfway through the recovery the spacing is halfway back.
        assert_eq!(pace.spacing_ms(LIMIT, ms(s(40.0))), 1250);
    }

    #[test]
    fn a_rate_limit_answer_after_a_burst_adds_no_wait_beyond_the_vendors() {
        let mut pace = Pace::default();
        for _ in 0..3 {
            pace.reserve(LIMIT, s(0.0));
        }
        pace.rate_limited(LIMIT, s(0.0), s(5.0));
        assert_eq!(pace.reserve(LIMIT, s(5.0)), Duration::ZERO);
        assert_eq!(pace.reserve(LIMIT, s(5.0)), s(1.5));
    }

    #[test]
    fn turns_beyond_a_callers_wait_are_booked_for_when_it_comes_back() {
        let mut pace = Pace::default();
        let within = s(1.5);
        let taken: Vec<Result<Duration, Duration>> =
            (0..6).map(|_| pace.take(LIMIT, s(0.0), within)).collect();
        // The burst, one within the wait, then turns booked 2 s, 3 s, … away.
        assert_eq!(
            taken,
            [
                Ok(s(0.0)),
                Ok(s(0.0)),
                Ok(s(0.0)),
                Ok(s(1.0)),
                Err(s(2.0)),
                Err(s(3.0))
            ]
        );
        // A caller coming back at its time takes its booked turn at once; a booked turn
        // nobody comes for is given up after a minute.
        assert_eq!(pace.take(LIMIT, s(2.0), Duration::ZERO), Ok(Duration::ZERO));
        assert_eq!(pace.booked_ms, [3000]);
        assert_eq!(pace.take(LIMIT, s(64.0), Duration::ZERO), Ok(Duration::ZERO));
        assert!(pace.booked_ms.is_empty());
        // A rate-limit answer gives up the booked turns (their callers take new ones).
        while pace.take(LIMIT, s(64.0), Duration::ZERO).is_ok() {}
        assert_eq!(pace.booked_ms.len(), 1);
        pace.rate_limited(LIMIT, s(64.0), s(5.0));
        assert!(pace.booked_ms.is_empty());
    }

    #[test]
    fn repeated_refusals_slow_further_but_never_below_one_call_a_minute() {
        let mut pace = Pace::default();
        for at in 0..40 {
            pace.rate_limited(LIMIT, s(f64::from(at)), Duration::ZERO);
        }
        assert_eq!(pace.slowed_spacing_ms, ms(SLOWEST));
        assert!(!pace.idle(s(39.0)));
    }
}
