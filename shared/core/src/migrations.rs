//! One-off migrations of the main table, run by the scheduled reconciliation's tick, so a
//! deployment needs no separate step. A migration keeps its progress in a marker item
//! (`MIGRATION#<name>`): its cursor over the table and whether it is done. It advances a
//! page at a time and records each page at the marker's version read, so any number of
//! instances may run it at once: one whose record loses stops (another is ahead of it),
//! and a page migrated twice changes nothing the second time (an item is changed only at
//! the version read, and re-read when that loses). A run that dies resumes from the last
//! page recorded.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::connections::Connection;
use crate::error::{Error, Result};
use crate::keys::{CONNECTIONS, connection_key, migration_key};
use crate::store::{
    Attempt, CONTENTION_ATTEMPTS, Cursor, Item, ItemStore, PageRequest, StoreError, retry_lost_writes,
};

/// Connections saved before the `CONNECTIONS` index existed get their entry, so the scheduled
/// reconciliation finds them.
pub const CONNECTIONS_INDEX: &str = "connections_index";

/// A migration's progress (the marker item).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Where the next page starts; none before the first.
    pub cursor: Option<Cursor>,
    pub done: bool,
    /// Pages read by every run so far.
    pub pages: u64,
}

/// How much one run may do.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Items read per page (DynamoDB also stops a page at 1 MB).
    pub page_size: u32,
    pub max_pages: u32,
    /// No page is started after this long.
    pub budget: Duration,
}

impl Limits {
    /// A reconciliation tick's share: a minute of the worker's five, at most 100,000 items
    /// (DynamoDB reads a page of 1,000 small items in well under a second).
    pub const TICK: Limits = Limits {
        page_size: 1000,
        max_pages: 100,
        budget: Duration::from_secs(60),
    };
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Ran {
    pub pages: u32,
    pub changed: u64,
    /// The migration is over (by this run or an earlier one).
    pub done: bool,
}

/// Gives every connection saved before the `CONNECTIONS` index its entry (see the module).
pub async fn index_connections(store: &dyn ItemStore, limits: Limits) -> Result<Ran> {
    let key = migration_key(CONNECTIONS_INDEX);
    let began = Instant::now();
    let mut ran = Ran::default();
    loop {
        let marker = store.get(&key).await?;
        let progress: Progress = match &marker {
            Some(item) => item.record()?,
            None => Progress::default(),
        };
        if progress.done {
            ran.done = true;
            return Ok(ran);
        }
        if ran.pages >= limits.max_pages || began.elapsed() >= limits.budget {
            return Ok(ran);
        }
        let page = store
            .scan(
                CONNECTIONS,
                PageRequest::first(limits.page_size).after(progress.cursor.clone()),
            )
            .await?;
        let mut changed = 0;
        for item in page.items {
            if index_connection(store, item).await? {
                changed += 1;
            }
        }
        ran.pages += 1;
        ran.changed += changed;
        let next = Progress {
            done: page.next.is_none(),
            cursor: page.next,
            pages: progress.pages + 1,
        };
        let item = Item::from_record(key.clone(), &next)?;
        let recorded = match marker {
            Some(marker) => store.replace(item, marker.version).await.map(|_| ()),
            None => store.create(item).await.map(|_| ()),
        };
        match recorded {
            Ok(()) => {}
            // Another run recorded this page first: it is ahead, the rest is its work.
            Err(StoreError::ConditionFailed) => return Ok(ran),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Puts one connection record in the index, as saving it would; `true` when it changed.
async fn index_connection(store: &dyn ItemStore, scanned: Item) -> Result<bool> {
    let key = scanned.key.clone();
    let mut first = Some(scanned);
    let done = retry_lost_writes(CONTENTION_ATTEMPTS, || {
        let read = first.take();
        let key = &key;
        async move {
            let item = match read {
                Some(item) => item,
                None => match store.get(key).await? {
                    Some(item) => item,
                    // Removed meanwhile: nothing to index.
                    None => return Ok(Attempt::Done(false)),
                },
            };
            if item.index.is_some() {
                return Ok(Attempt::Done(false));
            }
            let connection: Connection = match item.record() {
                Ok(c) => c,
                Err(e) => {
                    // Left out of the index, so the reconciliation's list never meets it.
                    tracing::warn!(pk = key.pk, sk = key.sk, error = %e, "a connection record that does not parse is not indexed");
                    return Ok(Attempt::Done(false));
                }
            };
            if connection_key(&connection.company_id, &connection.app) != item.key {
                tracing::warn!(pk = key.pk, sk = key.sk, "a connection record under another key is not indexed");
                return Ok(Attempt::Done(false));
            }
            let indexed = Item {
                index: connection.item()?.index,
                ..item.clone()
            };
            Ok::<_, Error>(Attempt::of(store.replace(indexed, item.version).await.map(|_| true))?)
        }
    })
    .await?;
    done.ok_or_else(|| Error::Busy("a connection kept changing while it was indexed".into()))
}
