//! The scheduled reconciliation. Each connection has its own moment in the period (from a
//! hash of the company and app), the same every period, so a deployment's syncs are spread
//! evenly rather than all at once. A tick, run often (every few minutes in AWS, every few
//! seconds in the devserver), starts the syncs whose moment fell since the last tick; a sync
//! already running is joined, not started twice. Apps that are not connected are reviewed
//! without the vendor (a connection to make again, accounts left active).

use chrono::{DateTime, Duration, Utc};
use prov_core::audit::ActorRef;
use prov_core::connections::{Connection, ConnectionState};
use prov_core::connector::AccountStatus;
use prov_core::error::{Error, Result};
use prov_core::keys::{CONNECTIONS_INDEX, accounts_prefix, company_partition, reconcile_key};
use prov_core::migrations::{self, Limits};
use prov_core::secret::hash_secret;
use prov_core::store::{Cursor, Item, PageRequest, StoreError};
use serde::{Deserialize, Serialize};

use super::findings::{self, FindingKind, Logged, Observed};
use crate::accounts::{self, AppAccount, Trigger};
use crate::connections::Apps;

/// What the reconciliation records of itself (`RECONCILE`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Covered {
    /// Every connection's moment up to here has had its sync started.
    until: DateTime<Utc>,
}

/// What one tick did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TickReport {
    /// Syncs started.
    pub started: usize,
    /// Syncs already running, joined.
    pub joined: usize,
    /// Apps not connected, reviewed without the vendor.
    pub reviewed: usize,
    /// Connections whose sync could not be started (logged; the next period tries again).
    pub failed: usize,
    /// Connections saved before the `CONNECTIONS` index, given their entry by this tick.
    pub indexed: u64,
}

/// A connection's moment within each period.
pub fn slot_offset(company_id: &str, app: &str, period: Duration) -> Duration {
    let seconds = period.num_seconds().max(1) as u64;
    let hash = hash_secret(&format!("{company_id}/{app}"));
    let n = u64::from_str_radix(&hash[..12], 16).unwrap_or(0);
    Duration::seconds((n % seconds) as i64)
}

/// The latest time at or before `t` that is `offset` into a period (periods count from the
/// Unix epoch).
fn moment_at_or_before(t: DateTime<Utc>, offset: Duration, period: Duration) -> DateTime<Utc> {
    let period_s = period.num_seconds().max(1);
    let into = (t.timestamp() - offset.num_seconds()).rem_euclid(period_s);
    t - Duration::seconds(into) - Duration::nanoseconds(i64::from(t.timestamp_subsec_nanos()))
}

/// Starts the syncs whose moment came since the last tick (at most one period back).
pub async fn tick(apps: &Apps, period: Duration) -> Result<TickReport> {
    if period < Duration::seconds(1) {
        return Err(Error::Internal(
            "the sync period must be at least a second".into(),
        ));
    }
    let now = apps.services.clock.now();
    let store = &apps.services.store;
    let progress = store.get(&reconcile_key()).await?;
    let from = match &progress {
        Some(item) => item.record::<Covered>()?.until.max(now - period),
        // The first tick only marks where the schedule begins, so the first syncs are
        // spread over the period like every later one.
        None => now,
    };
    let mut report = TickReport::default();
    // Connections saved before the index had no entry: the first ticks of a deployment give
    // them theirs (once; a marker keeps the progress), before the index is read.
    match migrations::index_connections(store.as_ref(), Limits::TICK).await {
        Ok(ran) => report.indexed = ran.changed,
        Err(e) => {
            tracing::error!(error = %e, "indexing the connections saved before the index failed; the next tick resumes it")
        }
    }
    let mut cursor: Option<Cursor> = None;
    // Nothing fell since the last tick when it was at this very time.
    let mut more = from < now;
    while more {
        let page = store
            .query_index(CONNECTIONS_INDEX, PageRequest::first(1000).after(cursor))
            .await?;
        for item in &page.items {
            let connection: Connection = item.record()?;
            let moment = moment_at_or_before(
                now,
                slot_offset(&connection.company_id, &connection.app, period),
                period,
            );
            if moment <= from {
                continue;
            }
            reconcile(apps, &connection, &mut report).await;
        }
        more = page.next.is_some();
        cursor = page.next;
    }
    let covered = Item::from_record(reconcile_key(), &Covered { until: now })?;
    let written = match progress {
        Some(item) => store.replace(covered, item.version).await.map(|_| ()),
        None => store.create(covered).await.map(|_| ()),
    };
    match written {
        // Another tick recorded its progress meanwhile: it covered the same moments.
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(report),
        Err(e) => Err(e.into()),
    }
}

async fn reconcile(apps: &Apps, connection: &Connection, report: &mut TickReport) {
    let (company_id, app) = (connection.company_id.as_str(), connection.app.as_str());
    let done = match connection.state {
        ConnectionState::Connected => {
            match accounts::start(
                apps,
                company_id,
                app,
                ActorRef::System,
                "reconcile",
                Trigger::Scheduled,
            )
            .await
            {
                Ok(started) if started.started => {
                    report.started += 1;
                    Ok(())
                }
                Ok(_) => {
                    report.joined += 1;
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
        state => {
            let reviewed = review(apps, company_id, app, state).await;
            if reviewed.is_ok() {
                report.reviewed += 1;
            }
            reviewed
        }
    };
    if let Err(e) = done {
        report.failed += 1;
        tracing::error!(error = %e, company_id, app, "scheduled reconciliation of an app failed; the next period tries again");
    }
}

/// The findings of an app that is not connected: a connection to make again, or accounts
/// still active in an app no longer connected.
async fn review(apps: &Apps, company_id: &str, app: &str, state: ConnectionState) -> Result<()> {
    let name = apps.services.catalog.get(app)?.name;
    let mut observed = Vec::new();
    match state {
        ConnectionState::NeedsReauth | ConnectionState::Quarantined => observed.push(Observed::app(
            FindingKind::NeedsReconnect,
            None,
            format!("{name} needs to be connected again; it is not synced until then."),
            "Connect the app again (App directory, the app, Connect).",
        )),
        ConnectionState::Disconnected => {
            let active = active_accounts(apps, company_id, app).await?;
            if active > 0 {
                observed.push(Observed::app(
                    FindingKind::DisconnectedWithAccounts,
                    Some(active),
                    format!(
                        "{name} is disconnected and {active} of its accounts were active when last seen."
                    ),
                    "Connect the app again to manage them, or remove them at the app.",
                ));
            }
        }
        ConnectionState::Connected => {}
    }
    let by = Logged {
        actor: ActorRef::System,
        request_id: "reconcile",
    };
    let stored = findings::stored(apps, company_id, app).await?;
    findings::settle(
        apps,
        company_id,
        app,
        &[FindingKind::NeedsReconnect, FindingKind::DisconnectedWithAccounts],
        observed,
        stored,
        &by,
    )
    .await
}

async fn active_accounts(apps: &Apps, company_id: &str, app: &str) -> Result<u64> {
    let mut count = 0;
    let mut cursor: Option<Cursor> = None;
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
            let account: AppAccount = item.record()?;
            if account.present && matches!(account.status, AccountStatus::Active | AccountStatus::InviteSent)
            {
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

    #[test]
    fn each_connection_has_one_moment_per_period_spread_over_it() {
        let period = Duration::hours(1);
        let t: DateTime<Utc> = "2026-03-01T12:34:56.789Z".parse().unwrap();
        for offset in [0, 1, 1000, 3599] {
            let offset = Duration::seconds(offset);
            let m = moment_at_or_before(t, offset, period);
            assert!(m <= t && t - m < period);
            assert_eq!((m.timestamp() - offset.num_seconds()).rem_euclid(3600), 0);
        }
        // 1,000 connections fall in every sixth of the hour, none of them empty.
        let mut sixths = [0usize; 6];
        for i in 0..1000 {
            let o = slot_offset(&format!("com_{i}"), "slack", period);
            assert!(o < period);
            sixths[(o.num_seconds() / 600) as usize] += 1;
        }
        assert!(sixths.iter().all(|&n| n > 100), "{sixths:?}");
    }
}
