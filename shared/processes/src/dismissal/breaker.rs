//! The circuit breaker: removals of one app beyond a share of its managed accounts within
//! an hour pause until an admin confirms.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use prov_core::connector::AccountStatus;
use prov_core::error::{Error, Result};
use prov_core::keys::{accounts_prefix, breaker_key, company_partition};
use prov_core::store::{Attempt, Item, PageRequest, WriteOp, retry_lost_writes};
use serde::{Deserialize, Serialize};

use crate::accounts::AppAccount;
use crate::connections::Apps;

/// The circuit breaker: removals of one app within an hour beyond this share of its managed
/// accounts (and at least `BREAKER_FLOOR`) pause until an admin confirms.
pub(super) const BREAKER_SHARE: f64 = 0.2;
pub(super) const BREAKER_FLOOR: usize = 5;

/// Removals are counted by the five minutes they were claimed in: the breaker's item keeps
/// its size (13 counts at most) however many accounts a layoff removes.
const BUCKET_MINUTES: i64 = 5;
const BUCKET_FORMAT: &str = "%Y%m%d%H%M";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Breaker {
    /// When removals of this app happened, within the last hour (as counted before removals
    /// were counted by step; they age out).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    removals: Vec<DateTime<Utc>>,
    /// Removals by the step attempt that made them (as counted before they were counted by
    /// the five minutes; they age out).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    counted: BTreeMap<String, DateTime<Utc>>,
    /// Removals within the last hour, by the start of the five minutes their claim was made
    /// in. Each is counted in the same write as its step's claim and taken back in the same
    /// write as the step's failure, so each once, whatever crashes or duplicate runs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    recent: BTreeMap<String, u32>,
    /// An admin confirmed unusual removals until then.
    confirmed_until: Option<DateTime<Utc>>,
}

/// The five minutes `at` falls in, by their start.
fn bucket(at: DateTime<Utc>) -> String {
    let start = at.timestamp() - at.timestamp().rem_euclid(BUCKET_MINUTES * 60);
    DateTime::from_timestamp(start, 0)
        .unwrap_or(at)
        .format(BUCKET_FORMAT)
        .to_string()
}

/// Whether the five minutes starting at `bucket` reach into the hour before `now`: a
/// removal counts for an hour at least (up to five minutes more, never less).
fn within_the_hour(bucket: &str, now: DateTime<Utc>) -> bool {
    NaiveDateTime::parse_from_str(bucket, BUCKET_FORMAT)
        .is_ok_and(|start| start.and_utc() + Duration::minutes(BUCKET_MINUTES) > now - Duration::hours(1))
}

impl Breaker {
    /// Forgets what is older than the hour the breaker looks at.
    fn prune(&mut self, now: DateTime<Utc>) {
        let since = now - Duration::hours(1);
        self.removals.retain(|t| *t > since);
        self.counted.retain(|_, t| *t > since);
        self.recent.retain(|b, _| within_the_hour(b, now));
    }

    fn recent(&self, now: DateTime<Utc>) -> usize {
        let since = now - Duration::hours(1);
        self.removals.iter().filter(|t| **t > since).count()
            + self.counted.values().filter(|t| **t > since).count()
            + self
                .recent
                .iter()
                .filter(|(b, _)| within_the_hour(b, now))
                .map(|(_, n)| *n as usize)
                .sum::<usize>()
    }
}

/// A breaker as read: its stored version (`None`: not stored yet) and content.
#[derive(Clone)]
pub(super) struct BreakerRead {
    version: Option<u64>,
    breaker: Breaker,
}

pub(super) async fn read_breaker(apps: &Apps, company_id: &str, app: &str) -> Result<BreakerRead> {
    Ok(
        match apps.services.store.get(&breaker_key(company_id, app)).await? {
            Some(item) => BreakerRead {
                version: Some(item.version),
                breaker: item.record()?,
            },
            None => BreakerRead {
                version: None,
                breaker: Breaker::default(),
            },
        },
    )
}

pub(super) async fn confirm_breaker(
    apps: &Apps,
    company_id: &str,
    app: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let read = read_breaker(apps, company_id, app).await?;
    update_breaker(apps, company_id, app, read, |b| {
        b.confirmed_until = Some(now + Duration::hours(1))
    })
    .await
}

/// Applies `change` to the breaker as `read`, written at the version read; when another run
/// wrote meanwhile, reads it again and reapplies.
async fn update_breaker(
    apps: &Apps,
    company_id: &str,
    app: &str,
    read: BreakerRead,
    change: impl Fn(&mut Breaker),
) -> Result<()> {
    let (key, change) = (&breaker_key(company_id, app), &change);
    // The first try writes over the breaker as the caller read it; later ones read it again.
    let mut given = Some(read);
    let written = retry_lost_writes(5, || {
        let given = given.take();
        async move {
            let mut read = match given {
                Some(read) => read,
                None => read_breaker(apps, company_id, app).await?,
            };
            read.breaker.prune(apps.services.clock.now());
            change(&mut read.breaker);
            let item = Item::from_record(key.clone(), &read.breaker)?;
            let written = match read.version {
                Some(version) => apps.services.store.replace(item, version).await,
                None => apps.services.store.create(item).await,
            };
            Ok::<_, Error>(Attempt::of(written)?)
        }
    })
    .await?;
    written
        .map(|_| ())
        .ok_or_else(|| Error::Busy("breaker contention".into()))
}

impl BreakerRead {
    /// Whether step attempt `attempt` is counted under it, as removals were counted before
    /// they were counted by the five minutes.
    pub(super) fn counted_by_attempt(&self, attempt: &str) -> bool {
        self.breaker.counted.contains_key(attempt)
    }
}

/// The breaker's write at the version read, for a transaction.
fn breaker_write(company_id: &str, app: &str, read: &BreakerRead, breaker: &Breaker) -> Result<WriteOp> {
    let item = Item::from_record(breaker_key(company_id, app), breaker)?;
    Ok(match read.version {
        Some(expected_version) => WriteOp::Replace {
            item,
            expected_version,
        },
        None => WriteOp::Create(item),
    })
}

/// The write that counts a removal claimed at `claimed_at` (its attempt's reserved event's
/// time) over the breaker as `read`: part of the claim's transaction (a lost race re-reads
/// both).
pub(super) fn count_write(
    apps: &Apps,
    company_id: &str,
    app: &str,
    read: &BreakerRead,
    claimed_at: DateTime<Utc>,
) -> Result<WriteOp> {
    let mut breaker = read.breaker.clone();
    breaker.prune(apps.services.clock.now());
    *breaker.recent.entry(bucket(claimed_at)).or_default() += 1;
    breaker_write(company_id, app, read, &breaker)
}

/// The write that takes back the count of step attempt `attempt` claimed at `claimed_at`,
/// which removed nothing (it failed, waits for the vendor, or was given back), over the
/// breaker as `read`: part of the transaction that records the step's new state. `None`
/// when there is nothing to take back (the count has aged out).
pub(super) fn uncount_write(
    apps: &Apps,
    company_id: &str,
    app: &str,
    read: &BreakerRead,
    attempt: &str,
    claimed_at: DateTime<Utc>,
) -> Result<Option<WriteOp>> {
    let mut breaker = read.breaker.clone();
    breaker.prune(apps.services.clock.now());
    if breaker.counted.remove(attempt).is_none() {
        let key = bucket(claimed_at);
        match breaker.recent.get_mut(&key) {
            Some(n) if *n > 1 => *n -= 1,
            Some(_) => {
                breaker.recent.remove(&key);
            }
            None => return Ok(None),
        }
    }
    breaker_write(company_id, app, read, &breaker).map(Some)
}

/// Whether one more removal in `app` now would be unusual: more than a fifth of its managed
/// accounts (and at least five) within an hour, unless an admin confirmed. The managed
/// accounts are counted (a query over the app's accounts, kept in `managed` for the run)
/// only when the hour's removals reach the floor, so a usual dismissal never pages through
/// a large app. Answers the breaker as read too: the removal that follows counts itself in
/// it (one read per removal, not two).
pub(super) async fn breaker_trips(
    apps: &Apps,
    company_id: &str,
    app: &str,
    managed: &mut HashMap<String, usize>,
) -> Result<(bool, BreakerRead)> {
    let now = apps.services.clock.now();
    let read = read_breaker(apps, company_id, app).await?;
    let breaker = &read.breaker;
    if breaker.confirmed_until.is_some_and(|t| t > now) {
        return Ok((false, read));
    }
    let recent = breaker.recent(now);
    if recent < BREAKER_FLOOR {
        return Ok((false, read));
    }
    let managed = match managed.get(app) {
        Some(n) => *n,
        None => {
            let n = managed_count(apps, company_id, app).await?;
            managed.insert(app.to_owned(), n);
            n
        }
    };
    let limit = ((managed as f64 * BREAKER_SHARE).ceil() as usize).max(BREAKER_FLOOR);
    Ok((recent >= limit, read))
}

/// How many accounts of an app are managed here (matched and present).
pub(super) async fn managed_count(apps: &Apps, company_id: &str, app: &str) -> Result<usize> {
    let mut count = 0;
    let mut cursor = None;
    loop {
        let page = apps
            .services
            .store
            .query(
                &company_partition(company_id),
                &accounts_prefix(app),
                PageRequest::first(1000).after(cursor),
            )
            .await?;
        for item in &page.items {
            let a: AppAccount = item.record()?;
            if a.team_member_id().is_some() && a.present && a.status != AccountStatus::Deleted {
                count += 1;
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(count),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_removal_counts_for_an_hour_and_at_most_five_minutes_more() {
        let mut b = Breaker::default();
        let claimed = at("2026-03-03T08:07:30Z");
        *b.recent.entry(bucket(claimed)).or_default() += 1;
        assert_eq!(bucket(claimed), "202603030805");
        assert_eq!(b.recent(claimed), 1);
        // Never less than the hour after its claim.
        assert_eq!(
            b.recent(claimed + Duration::minutes(60) - Duration::seconds(1)),
            1
        );
        // Its five minutes end at 08:10: gone once they are an hour old.
        assert_eq!(b.recent(at("2026-03-03T09:09:59Z")), 1);
        assert_eq!(b.recent(at("2026-03-03T09:10:00Z")), 0);
        b.prune(at("2026-03-03T09:10:00Z"));
        assert!(b.recent.is_empty());
    }

    #[test]
    fn the_count_keeps_its_size_however_many_are_removed() {
        let mut b = Breaker::default();
        let start = at("2026-03-03T08:00:00Z");
        // A removal every three seconds for two hours.
        for i in 0..2400 {
            let now = start + Duration::seconds(3 * i);
            b.prune(now);
            *b.recent.entry(bucket(now)).or_default() += 1;
            assert!(b.recent.len() <= 13, "{} counts", b.recent.len());
        }
        let now = start + Duration::seconds(3 * 2399);
        // The last hour's 1,200 removals, and those of the five minutes before at most.
        assert!((1200..=1300).contains(&b.recent(now)), "{}", b.recent(now));
    }

    #[test]
    fn counts_by_attempt_written_before_still_count_and_age_out() {
        let stored = serde_json::json!({
            "counted": {"evt_a": "2026-03-03T08:00:00Z", "evt_b": "2026-03-03T08:30:00Z"},
            "recent": {"202603030830": 2},
            "confirmed_until": null
        });
        let mut b: Breaker = serde_json::from_value(stored).unwrap();
        assert_eq!(b.recent(at("2026-03-03T08:40:00Z")), 4);
        b.prune(at("2026-03-03T09:00:30Z"));
        assert_eq!(b.recent(at("2026-03-03T09:00:30Z")), 3);
        assert!(!b.counted.contains_key("evt_a"));
        // Once every old count has aged out, the breaker is written without them.
        b.prune(at("2026-03-03T09:40:00Z"));
        let written = serde_json::to_value(&b).unwrap();
        assert_eq!(written, serde_json::json!({"confirmed_until": null}));
    }
}
