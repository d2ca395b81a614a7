//! The `Scheduler` port (one-time jobs at a wall-clock time in a time zone) and when a
//! dismissal's removal is due.

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::America::Los_Angeles;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::keys::{TIMERS_INDEX, timer_key};
use crate::store::{Attempt, Item, ItemStore, PageRequest, StoreError, retry_lost_writes};

/// The time zone dismissals are scheduled in (the product's "PT").
pub const REMOVAL_TIME_ZONE: &str = "America/Los_Angeles";

/// When a dismissed person's access ends: 00:00 Pacific on the day after their last day.
/// Midnight exists exactly once in every Pacific day (the clocks change at 02:00), so this
/// is exact across daylight-saving changes.
pub fn removal_time(last_day: NaiveDate) -> DateTime<Utc> {
    let next_day = last_day.succ_opt().unwrap_or(last_day);
    let midnight = next_day.and_hms_opt(0, 0, 0).expect("midnight is a valid time");
    Los_Angeles
        .from_local_datetime(&midnight)
        .earliest()
        .expect("midnight Pacific always exists")
        .with_timezone(&Utc)
}

/// The hour after the removal time in which removals run ("access is removed between
/// 12:00am and 1:00am PT").
pub const REMOVAL_WINDOW_SECONDS: i64 = 60 * 60;

/// When the removals of the dismissal known by `key` run: at its own moment within the hour
/// after `due_at`, never before it. A layoff's removals, all due at the same midnight, are
/// spread over the hour instead of meeting every vendor at once. The moment is a hash of the
/// key: the same dismissal always gets the same one, in every instance.
pub fn removal_run_at(due_at: DateTime<Utc>, key: &str) -> DateTime<Utc> {
    let hash = crate::secret::hash_secret(key);
    let spread = u64::from_str_radix(&hash[..12], 16).unwrap_or(0) % REMOVAL_WINDOW_SECONDS as u64;
    due_at + Duration::seconds(spread as i64)
}

/// The wall-clock form EventBridge Scheduler's `at(...)` expressions take, in
/// `REMOVAL_TIME_ZONE`.
pub fn pacific_wall_clock(at: DateTime<Utc>) -> String {
    at.with_timezone(&Los_Angeles)
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// A moment as people read it, in Pacific time (the product states its rules in Pacific
/// time): "March 11, 2026 at 12:00 AM PDT". Pages and emails show times this one way.
pub fn pacific_for_people(at: DateTime<Utc>) -> String {
    at.with_timezone(&Los_Angeles)
        .format("%B %-d, %Y at %-I:%M %p %Z")
        .to_string()
}

/// A one-time job: at `at`, deliver `payload` to the cleanup handler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduledJob {
    /// Deterministic per purpose (e.g. one per dismissal), so re-scheduling replaces.
    pub name: String,
    pub at: DateTime<Utc>,
    pub payload: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("invalid schedule: {0}")]
    Invalid(String),
    #[error("scheduler unavailable: {0}")]
    Unavailable(String),
}

impl From<ScheduleError> for crate::Error {
    fn from(e: ScheduleError) -> Self {
        crate::Error::Internal(e.to_string())
    }
}

#[async_trait]
pub trait Scheduler: Send + Sync + 'static {
    /// Creates the job, or moves it when one with the name exists.
    async fn schedule(&self, job: &ScheduledJob) -> Result<(), ScheduleError>;
    /// Removes the job; a missing one is fine.
    async fn cancel(&self, name: &str) -> Result<(), ScheduleError>;
}

/// Scheduled jobs kept in the item store, fired by whoever calls `due` (the devserver's
/// ticker, or a test with a hand-moved clock). Survives restarts like the rest of the data.
pub struct StoreScheduler {
    store: std::sync::Arc<dyn ItemStore>,
}

impl StoreScheduler {
    pub fn new(store: std::sync::Arc<dyn ItemStore>) -> Self {
        Self { store }
    }

    /// Jobs due at `now`, earliest first; each is removed as it is handed out, so a job
    /// fires once even with several tickers.
    pub async fn take_due(&self, now: DateTime<Utc>) -> Result<Vec<ScheduledJob>, StoreError> {
        let page = self
            .store
            .query_index(TIMERS_INDEX, PageRequest::first(100))
            .await?;
        let mut due = Vec::new();
        for item in page.items {
            let job: ScheduledJob = item.record()?;
            if job.at > now {
                break;
            }
            match self.store.delete(&item.key, Some(item.version)).await {
                Ok(()) => due.push(job),
                Err(StoreError::ConditionFailed) => {} // taken by another ticker
                Err(e) => return Err(e),
            }
        }
        Ok(due)
    }

    /// Every job waiting, earliest first (for tests and the devserver's status).
    pub async fn pending(&self) -> Result<Vec<ScheduledJob>, StoreError> {
        let page = self
            .store
            .query_index(TIMERS_INDEX, PageRequest::first(1000))
            .await?;
        page.items.iter().map(|i| i.record()).collect()
    }
}

#[async_trait]
impl Scheduler for StoreScheduler {
    async fn schedule(&self, job: &ScheduledJob) -> Result<(), ScheduleError> {
        let unavailable = |e: StoreError| ScheduleError::Unavailable(e.to_string());
        let key = timer_key(&job.name);
        let item = Item::from_record(key.clone(), job)
            .map_err(unavailable)?
            .with_index(
                TIMERS_INDEX,
                format!("{}#{}", job.at.format("%Y%m%dT%H%M%S%.6fZ"), job.name),
            );
        let (key, item) = (&key, &item);
        let written = retry_lost_writes(3, move || async move {
            let written = match self.store.get(key).await? {
                Some(existing) => self.store.replace(item.clone(), existing.version).await,
                None => self.store.create(item.clone()).await,
            };
            Attempt::of(written)
        })
        .await
        .map_err(unavailable)?;
        written
            .map(|_| ())
            .ok_or_else(|| ScheduleError::Unavailable("the timer kept changing".into()))
    }

    async fn cancel(&self, name: &str) -> Result<(), ScheduleError> {
        self.store
            .delete(&timer_key(name), None)
            .await
            .map_err(|e| ScheduleError::Unavailable(e.to_string()))
    }
}

/// How late a job may run and still count as on time (EventBridge fires within a minute).
pub fn grace() -> Duration {
    Duration::minutes(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Timelike};
    use proptest::prelude::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_products_example_and_both_daylight_saving_changes() {
        // Last day January 1: access ends between 00:00 and 01:00 PT on January 2 (PST).
        assert_eq!(
            removal_time(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()),
            utc("2026-01-02T08:00:00Z")
        );
        // Clocks spring forward at 02:00 on March 8, 2026: midnight that day is still PST.
        assert_eq!(
            removal_time(NaiveDate::from_ymd_opt(2026, 3, 7).unwrap()),
            utc("2026-03-08T08:00:00Z")
        );
        assert_eq!(
            removal_time(NaiveDate::from_ymd_opt(2026, 3, 8).unwrap()),
            utc("2026-03-09T07:00:00Z")
        );
        // Clocks fall back at 02:00 on November 1, 2026: midnight that day is still PDT.
        assert_eq!(
            removal_time(NaiveDate::from_ymd_opt(2026, 10, 31).unwrap()),
            utc("2026-11-01T07:00:00Z")
        );
        assert_eq!(
            removal_time(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()),
            utc("2026-11-02T08:00:00Z")
        );
        // Year end and a leap day.
        assert_eq!(
            removal_time(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()),
            utc("2027-01-01T08:00:00Z")
        );
        assert_eq!(
            removal_time(NaiveDate::from_ymd_opt(2028, 2, 28).unwrap()),
            utc("2028-02-29T08:00:00Z")
        );
        assert_eq!(
            pacific_wall_clock(utc("2026-01-02T08:00:00Z")),
            "2026-01-02T00:00:00"
        );
    }

    #[test]
    fn a_layoffs_removals_spread_over_the_hour_after_midnight_never_before() {
        let midnight = utc("2026-03-11T07:00:00Z");
        let moments: Vec<DateTime<Utc>> = (0..200)
            .map(|i| removal_run_at(midnight, &format!("company/tm-{i}")))
            .collect();
        let last = midnight + Duration::seconds(REMOVAL_WINDOW_SECONDS);
        assert!(moments.iter().all(|m| *m >= midnight && *m < last));
        // Spread, not bunched: every quarter of the hour has its share (50 ± 20).
        for quarter in 0..4 {
            let from = midnight + Duration::minutes(15 * quarter);
            let n = moments
                .iter()
                .filter(|m| **m >= from && **m < from + Duration::minutes(15))
                .count();
            assert!((30..=70).contains(&n), "quarter {quarter}: {n}");
        }
        // The same dismissal, the same moment (every instance computes it alike).
        assert_eq!(removal_run_at(midnight, "company/tm-7"), moments[7]);
    }

    proptest! {
        #[test]
        fn removal_is_midnight_pacific_on_the_next_day(days in 0i64..(365 * 40)) {
            let last_day = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() + Duration::days(days);
            let at = removal_time(last_day);
            let local = at.with_timezone(&Los_Angeles);
            prop_assert_eq!(local.date_naive(), last_day.succ_opt().unwrap());
            prop_assert_eq!((local.hour(), local.minute(), local.second()), (0, 0, 0));
            prop_assert!(at.hour() == 7 || at.hour() == 8, "PDT is UTC-7, PST UTC-8");
            prop_assert!(at.day() >= 1);
        }
    }
}
