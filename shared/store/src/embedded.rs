//! The embedded `ItemStore`: one redb file, for `cargo run` without a cloud account.
//!
//! Items live in one table keyed by `pk \0 sk` (byte order equals DynamoDB's UTF-8 order);
//! the secondary index is a second table keyed by `ipk \0 isk \0 pk \0 sk`. Every write is
//! a redb write transaction: conditions are checked and changes applied inside it, so
//! writes are atomic and serialised, and survive a restart once committed.

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use prov_core::store::{
    Cursor, CursorKeys, Expect, IndexKey, Item, ItemStore, Key, Page, PageRequest, StoreError, WriteOp,
    validate_key, validate_transaction,
};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

const ITEMS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("items");
const INDEX: TableDefinition<&[u8], ()> = TableDefinition::new("index");
const SEP: u8 = 0;
/// The pages redb keeps in memory (its default is 1 GiB): a local server's working set fits,
/// and its memory stays the service's own (the sync benchmark measures it).
const CACHE_BYTES: usize = 16 * 1024 * 1024;

/// What is stored for an item besides its key.
#[derive(Serialize, Deserialize)]
struct Stored {
    v: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ipk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    isk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ttl: Option<i64>,
    data: Map<String, Value>,
}

#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EmbeddedStore")
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn join(parts: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push(SEP);
        }
        out.extend_from_slice(p.as_bytes());
    }
    out
}

/// The smallest byte string greater than every string starting with `prefix`.
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    // UTF-8 and our separator never produce 0xFF, so incrementing the last byte is enough.
    let last = end.last_mut().expect("prefixes are never empty here");
    *last += 1;
    end
}

fn index_entry(key: &Key, index: &IndexKey) -> Vec<u8> {
    join(&[&index.pk, &index.sk, &key.pk, &key.sk])
}

fn validate_index(index: &Option<IndexKey>) -> Result<(), StoreError> {
    match index {
        Some(i) => validate_key(&Key::new(i.pk.clone(), i.sk.clone())),
        None => Ok(()),
    }
}

fn decode(key: Key, bytes: &[u8]) -> Result<Item, StoreError> {
    let stored: Stored = serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt(format!("{}/{}: {e}", key.pk, key.sk)))?;
    Ok(Item {
        key,
        version: stored.v,
        index: match (stored.ipk, stored.isk) {
            (Some(pk), Some(sk)) => Some(IndexKey { pk, sk }),
            _ => None,
        },
        expires_at: stored.ttl,
        data: stored.data,
    })
}

fn encode(item: &Item, version: u64) -> Vec<u8> {
    let stored = Stored {
        v: version,
        ipk: item.index.as_ref().map(|i| i.pk.clone()),
        isk: item.index.as_ref().map(|i| i.sk.clone()),
        ttl: item.expires_at,
        data: item.data.clone(),
    };
    serde_json::to_vec(&stored).expect("JSON values serialize")
}

impl EmbeddedStore {
    /// Opens (or creates) the store file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(path.as_ref())
            .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.as_ref().display())))?;
        let txn = db.begin_write().map_err(unavailable)?;
        txn.open_table(ITEMS).map_err(unavailable)?;
        txn.open_table(INDEX).map_err(unavailable)?;
        txn.commit().map_err(unavailable)?;
        Ok(Self { db: Arc::new(db) })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| StoreError::Unavailable(format!("store task failed: {e}")))?
    }
}

/// Applies `ops` atomically. Every condition is checked first; if any fails nothing is
/// written and the failing positions are reported, as DynamoDB does.
fn apply(db: &Database, ops: Vec<WriteOp>) -> Result<Vec<u64>, StoreError> {
    let txn = db.begin_write().map_err(unavailable)?;
    let mut versions = Vec::with_capacity(ops.len());
    {
        let mut items = txn.open_table(ITEMS).map_err(unavailable)?;
        let mut index = txn.open_table(INDEX).map_err(unavailable)?;

        let mut current = Vec::with_capacity(ops.len());
        let mut failed = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            let key = op.key();
            let existing = match items
                .get(join(&[&key.pk, &key.sk]).as_slice())
                .map_err(unavailable)?
            {
                Some(guard) => Some(decode(key.clone(), guard.value())?),
                None => None,
            };
            let version = existing.as_ref().map(|e| e.version);
            let holds = match op {
                WriteOp::Create(_) => version.is_none(),
                WriteOp::Replace { expected_version, .. } => version == Some(*expected_version),
                WriteOp::Delete { expected_version, .. } => {
                    expected_version.is_none() || version == *expected_version
                }
                WriteOp::Check { expect, .. } => match expect {
                    Expect::Exists => version.is_some(),
                    Expect::Absent => version.is_none(),
                    Expect::Version(v) => version == Some(*v),
                },
            };
            if !holds {
                failed.push(i);
            }
            current.push(existing);
        }
        if !failed.is_empty() {
            return Err(StoreError::TransactionCancelled { failed });
        }

        for (op, existing) in ops.into_iter().zip(current) {
            // A write replaces or removes the item, so its old index entry goes.
            if let Some(old) = &existing
                && let Some(old_index) = &old.index
                && !matches!(op, WriteOp::Check { .. })
            {
                index
                    .remove(index_entry(&old.key, old_index).as_slice())
                    .map_err(unavailable)?;
            }
            match op {
                WriteOp::Create(item) | WriteOp::Replace { item, .. } => {
                    let version = existing.map_or(1, |e| e.version + 1);
                    let raw_key = join(&[&item.key.pk, &item.key.sk]);
                    items
                        .insert(raw_key.as_slice(), encode(&item, version).as_slice())
                        .map_err(unavailable)?;
                    if let Some(ix) = &item.index {
                        index
                            .insert(index_entry(&item.key, ix).as_slice(), ())
                            .map_err(unavailable)?;
                    }
                    versions.push(version);
                }
                WriteOp::Delete { key, .. } => {
                    items
                        .remove(join(&[&key.pk, &key.sk]).as_slice())
                        .map_err(unavailable)?;
                    versions.push(0);
                }
                WriteOp::Check { .. } => versions.push(0),
            }
        }
    }
    txn.commit().map_err(unavailable)?;
    Ok(versions)
}

fn single(result: Result<Vec<u64>, StoreError>) -> Result<u64, StoreError> {
    match result {
        Ok(v) => Ok(v[0]),
        Err(StoreError::TransactionCancelled { .. }) => Err(StoreError::ConditionFailed),
        Err(e) => Err(e),
    }
}

/// Bounds for a page within `[start, end)`, resuming after `resume` when given.
fn bounds(
    start: Vec<u8>,
    end: Vec<u8>,
    resume: Option<Vec<u8>>,
    descending: bool,
) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    match (resume, descending) {
        (None, _) => (Bound::Included(start), Bound::Excluded(end)),
        (Some(r), false) => (Bound::Excluded(r), Bound::Excluded(end)),
        (Some(r), true) => (Bound::Included(start), Bound::Excluded(r)),
    }
}

/// Reads up to `limit + 1` keys in range order; the extra one only tells that more follow.
fn scan<T>(
    table: &impl ReadableTable<&'static [u8], T>,
    range: (Bound<Vec<u8>>, Bound<Vec<u8>>),
    descending: bool,
    limit: usize,
) -> Result<Vec<Vec<u8>>, StoreError>
where
    T: redb::Value + 'static,
{
    let as_slices = (
        range.0.as_ref().map(Vec::as_slice),
        range.1.as_ref().map(Vec::as_slice),
    );
    let iter = table.range::<&[u8]>(as_slices).map_err(unavailable)?;
    let mut keys = Vec::with_capacity(limit + 1);
    let mut push = |entry: Result<
        (redb::AccessGuard<'_, &'static [u8]>, redb::AccessGuard<'_, T>),
        redb::StorageError,
    >| {
        entry
            .map(|(k, _)| keys.push(k.value().to_vec()))
            .map_err(unavailable)
    };
    if descending {
        for entry in iter.rev().take(limit + 1) {
            push(entry)?;
        }
    } else {
        for entry in iter.take(limit + 1) {
            push(entry)?;
        }
    }
    Ok(keys)
}

fn split_key(raw: &[u8]) -> Result<Vec<String>, StoreError> {
    raw.split(|b| *b == SEP)
        .map(|p| String::from_utf8(p.to_vec()).map_err(|_| StoreError::Corrupt("key is not UTF-8".into())))
        .collect()
}

#[async_trait]
impl ItemStore for EmbeddedStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        validate_key(key)?;
        let key = key.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let items = txn.open_table(ITEMS).map_err(unavailable)?;
            match items
                .get(join(&[&key.pk, &key.sk]).as_slice())
                .map_err(unavailable)?
            {
                Some(guard) => Ok(Some(decode(key, guard.value())?)),
                None => Ok(None),
            }
        })
        .await
    }

    async fn create(&self, item: Item) -> Result<u64, StoreError> {
        validate_key(&item.key)?;
        validate_index(&item.index)?;
        single(
            self.blocking(move |db| apply(db, vec![WriteOp::Create(item)]))
                .await,
        )
    }

    async fn replace(&self, item: Item, expected_version: u64) -> Result<u64, StoreError> {
        validate_key(&item.key)?;
        validate_index(&item.index)?;
        single(
            self.blocking(move |db| {
                apply(
                    db,
                    vec![WriteOp::Replace {
                        item,
                        expected_version,
                    }],
                )
            })
            .await,
        )
    }

    async fn delete(&self, key: &Key, expected_version: Option<u64>) -> Result<(), StoreError> {
        validate_key(key)?;
        let key = key.clone();
        single(
            self.blocking(move |db| {
                apply(
                    db,
                    vec![WriteOp::Delete {
                        key,
                        expected_version,
                    }],
                )
            })
            .await,
        )
        .map(|_| ())
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        validate_transaction(&ops)?;
        for op in &ops {
            if let WriteOp::Create(item) | WriteOp::Replace { item, .. } = op {
                validate_index(&item.index)?;
            }
        }
        self.blocking(move |db| apply(db, ops)).await.map(|_| ())
    }

    async fn query(&self, pk: &str, sk_prefix: &str, page: PageRequest) -> Result<Page, StoreError> {
        validate_key(&Key::new(pk, "x"))?;
        let resume = match &page.cursor {
            Some(c) => Some(c.decode_for_query(pk, sk_prefix)?),
            None => None,
        };
        let (pk, sk_prefix) = (pk.to_owned(), sk_prefix.to_owned());
        self.blocking(move |db| {
            let limit = page.effective_limit();
            let start = join(&[&pk, &sk_prefix]);
            let end = prefix_end(&start);
            let resume = resume.map(|c| join(&[&c.pk, &c.sk]));
            let txn = db.begin_read().map_err(unavailable)?;
            let items = txn.open_table(ITEMS).map_err(unavailable)?;
            let keys = scan(
                &items,
                bounds(start, end, resume, page.descending),
                page.descending,
                limit,
            )?;
            let more = keys.len() > limit;
            let mut out = Vec::with_capacity(limit);
            for raw in keys.into_iter().take(limit) {
                let [pk, sk] = split_key(&raw)?
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("bad item key".into()))?;
                let key = Key::new(pk, sk);
                let guard = items
                    .get(raw.as_slice())
                    .map_err(unavailable)?
                    .expect("key just listed");
                out.push(decode(key, guard.value())?);
            }
            let next = more.then(|| {
                let last = out.last().expect("a full page");
                Cursor::encode(&CursorKeys {
                    pk: last.key.pk.clone(),
                    sk: last.key.sk.clone(),
                    ipk: None,
                    isk: None,
                })
            });
            Ok(Page { items: out, next })
        })
        .await
    }

    async fn query_index(&self, index_pk: &str, page: PageRequest) -> Result<Page, StoreError> {
        validate_key(&Key::new(index_pk, "x"))?;
        let resume = match &page.cursor {
            Some(c) => Some(c.decode_for_index(index_pk)?),
            None => None,
        };
        let index_pk = index_pk.to_owned();
        self.blocking(move |db| {
            let limit = page.effective_limit();
            let start = [index_pk.as_bytes(), &[SEP]].concat();
            let end = prefix_end(&start);
            let resume = resume.map(|c| {
                join(&[
                    c.ipk.as_deref().unwrap_or_default(),
                    c.isk.as_deref().unwrap_or_default(),
                    &c.pk,
                    &c.sk,
                ])
            });
            let txn = db.begin_read().map_err(unavailable)?;
            let index = txn.open_table(INDEX).map_err(unavailable)?;
            let items = txn.open_table(ITEMS).map_err(unavailable)?;
            let entries = scan(
                &index,
                bounds(start, end, resume, page.descending),
                page.descending,
                limit,
            )?;
            let more = entries.len() > limit;
            let mut out = Vec::with_capacity(limit);
            for raw in entries.into_iter().take(limit) {
                let parts = split_key(&raw)?;
                let [_, _, pk, sk] = parts.as_slice() else {
                    return Err(StoreError::Corrupt("bad index entry".into()));
                };
                let key = Key::new(pk.clone(), sk.clone());
                let guard = items
                    .get(join(&[pk, sk]).as_slice())
                    .map_err(unavailable)?
                    .ok_or_else(|| StoreError::Corrupt("index entry without item".into()))?;
                out.push(decode(key, guard.value())?);
            }
            let next = more.then(|| {
                let last = out.last().expect("a full page");
                let ix = last.index.as_ref().expect("indexed items carry their index key");
                Cursor::encode(&CursorKeys {
                    pk: last.key.pk.clone(),
                    sk: last.key.sk.clone(),
                    ipk: Some(ix.pk.clone()),
                    isk: Some(ix.sk.clone()),
                })
            });
            Ok(Page { items: out, next })
        })
        .await
    }

    async fn scan(&self, sk_prefix: &str, page: PageRequest) -> Result<Page, StoreError> {
        if page.descending {
            return Err(StoreError::Invalid("a scan reads in no order".into()));
        }
        let resume = match &page.cursor {
            Some(c) => Some(c.decode_for_scan()?),
            None => None,
        };
        let sk_prefix = sk_prefix.to_owned();
        self.blocking(move |db| {
            let limit = page.effective_limit();
            let from = match resume {
                Some(c) => Bound::Excluded(join(&[&c.pk, &c.sk])),
                None => Bound::Unbounded,
            };
            let txn = db.begin_read().map_err(unavailable)?;
            let items = txn.open_table(ITEMS).map_err(unavailable)?;
            let keys = scan(&items, (from, Bound::Unbounded), false, limit)?;
            let more = keys.len() > limit;
            let mut out = Vec::new();
            let mut last = None;
            for raw in keys.into_iter().take(limit) {
                let [pk, sk] = split_key(&raw)?
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("bad item key".into()))?;
                let key = Key::new(pk, sk);
                if key.sk.starts_with(&sk_prefix) {
                    let guard = items
                        .get(raw.as_slice())
                        .map_err(unavailable)?
                        .expect("key just listed");
                    out.push(decode(key.clone(), guard.value())?);
                }
                last = Some(key);
            }
            let next = match (more, last) {
                (true, Some(last)) => Some(Cursor::encode(&CursorKeys {
                    pk: last.pk,
                    sk: last.sk,
                    ipk: None,
                    isk: None,
                })),
                _ => None,
            };
            Ok(Page { items: out, next })
        })
        .await
    }
}
