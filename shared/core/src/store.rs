//! The `ItemStore` port: a small key-value model that both DynamoDB and the embedded
//! file-backed store implement with the same semantics.
//!
//! Every item has a partition key (`pk`), a sort key (`sk`), a version that the store
//! maintains, an optional secondary-index key, an optional expiry (the TTL attribute)
//! and a JSON object of data. Writes are always conditional: an item is either created
//! (it must not exist yet) or replaced at the version it was read at. That keeps lost
//! updates impossible by construction.

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Largest page a query may ask for.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Largest number of operations in one transaction (DynamoDB's limit).
pub const MAX_TRANSACTION_OPS: usize = 100;

/// The primary key of an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
}

/// The key of an item in the secondary index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexKey {
    pub pk: String,
    pub sk: String,
}

/// One stored item.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub key: Key,
    /// Set by the store: 1 when created, +1 on every replace. Ignored on write.
    pub version: u64,
    pub index: Option<IndexKey>,
    /// Unix seconds after which the item may be removed (DynamoDB TTL). Readers that care
    /// about expiry check it themselves: neither adapter hides expired items.
    pub expires_at: Option<i64>,
    pub data: Map<String, Value>,
}

impl Item {
    /// Builds an item from any serializable record; the record must serialize to an object.
    pub fn from_record<T: Serialize>(key: Key, record: &T) -> Result<Self, StoreError> {
        match serde_json::to_value(record) {
            Ok(Value::Object(data)) => Ok(Self {
                key,
                version: 0,
                index: None,
                expires_at: None,
                data,
            }),
            Ok(_) => Err(StoreError::Invalid("a record must serialize to an object".into())),
            Err(e) => Err(StoreError::Invalid(format!("record does not serialize: {e}"))),
        }
    }

    pub fn with_index(mut self, pk: impl Into<String>, sk: impl Into<String>) -> Self {
        self.index = Some(IndexKey {
            pk: pk.into(),
            sk: sk.into(),
        });
        self
    }

    pub fn with_expiry(mut self, unix_seconds: i64) -> Self {
        self.expires_at = Some(unix_seconds);
        self
    }

    /// Reads the data back into a record type.
    pub fn record<T: DeserializeOwned>(&self) -> Result<T, StoreError> {
        serde_json::from_value(Value::Object(self.data.clone())).map_err(|e| {
            StoreError::Corrupt(format!(
                "item {}/{} does not parse: {e}",
                self.key.pk, self.key.sk
            ))
        })
    }
}

/// What must hold about the stored item for a check in a transaction to pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Exists,
    Absent,
    Version(u64),
}

/// One operation of a transactional write.
#[derive(Debug, Clone)]
pub enum WriteOp {
    /// Create; fails if an item with the key exists.
    Create(Item),
    /// Replace; fails unless the stored item has exactly this version.
    Replace { item: Item, expected_version: u64 },
    /// Delete; with `Some(v)` only at that version, with `None` whether or not it exists.
    Delete { key: Key, expected_version: Option<u64> },
    /// Writes nothing; fails unless the expectation holds.
    Check { key: Key, expect: Expect },
}

impl WriteOp {
    pub fn key(&self) -> &Key {
        match self {
            WriteOp::Create(item) | WriteOp::Replace { item, .. } => &item.key,
            WriteOp::Delete { key, .. } | WriteOp::Check { key, .. } => key,
        }
    }
}

/// Which page of a query to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub cursor: Option<Cursor>,
    /// Newest (highest sort key) first.
    pub descending: bool,
}

impl PageRequest {
    pub fn first(limit: u32) -> Self {
        Self {
            limit,
            cursor: None,
            descending: false,
        }
    }

    pub fn descending(mut self) -> Self {
        self.descending = true;
        self
    }

    pub fn after(mut self, cursor: Option<Cursor>) -> Self {
        self.cursor = cursor;
        self
    }

    /// The limit clamped to `1..=MAX_PAGE_SIZE`.
    pub fn effective_limit(&self) -> usize {
        self.limit.clamp(1, MAX_PAGE_SIZE) as usize
    }
}

/// A page of items; `next` is present exactly when more items follow.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub items: Vec<Item>,
    pub next: Option<Cursor>,
}

/// An opaque position in a query. Both adapters encode the last item's keys the same way,
/// so a cursor means the same thing to each, and they check that a cursor belongs to the
/// query it is used with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(String);

/// The keys a cursor carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorKeys {
    pub pk: String,
    pub sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isk: Option<String>,
}

impl Cursor {
    /// Wraps a cursor received from a client; it is checked when decoded.
    pub fn from_client(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn encode(keys: &CursorKeys) -> Self {
        let json = serde_json::to_vec(keys).expect("cursor keys serialize");
        Self(URL_SAFE_NO_PAD.encode(json))
    }

    /// Decodes a cursor for a table query on `pk` with `sk_prefix`.
    pub fn decode_for_query(&self, pk: &str, sk_prefix: &str) -> Result<CursorKeys, StoreError> {
        let keys = self.decode()?;
        if keys.pk != pk || !keys.sk.starts_with(sk_prefix) || keys.ipk.is_some() {
            return Err(StoreError::InvalidCursor);
        }
        Ok(keys)
    }

    /// Decodes a cursor for an index query on `index_pk`.
    pub fn decode_for_index(&self, index_pk: &str) -> Result<CursorKeys, StoreError> {
        let keys = self.decode()?;
        if keys.ipk.as_deref() != Some(index_pk) || keys.isk.is_none() {
            return Err(StoreError::InvalidCursor);
        }
        Ok(keys)
    }

    /// Decodes a cursor for a scan: the last item read, whatever its partition.
    pub fn decode_for_scan(&self) -> Result<CursorKeys, StoreError> {
        let keys = self.decode()?;
        if keys.ipk.is_some() {
            return Err(StoreError::InvalidCursor);
        }
        Ok(keys)
    }

    fn decode(&self) -> Result<CursorKeys, StoreError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(self.0.as_bytes())
            .map_err(|_| StoreError::InvalidCursor)?;
        serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A single put or delete found the item not in the expected state.
    #[error("condition failed")]
    ConditionFailed,
    /// A transaction was rolled back; `failed` lists the operations whose condition failed.
    #[error("transaction cancelled: conditions failed at {failed:?}")]
    TransactionCancelled { failed: Vec<usize> },
    /// Another writer or throughput limits got in the way; retrying may succeed.
    #[error("contention: {0}")]
    Contention(String),
    #[error("invalid cursor")]
    InvalidCursor,
    /// The request itself is wrong (a bug in the caller).
    #[error("invalid store request: {0}")]
    Invalid(String),
    /// Stored data does not parse.
    #[error("corrupt item: {0}")]
    Corrupt(String),
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// Retries of a transaction that met contention before giving up with `Busy`.
pub const CONTENTION_ATTEMPTS: usize = 3;

/// How one try of a read-modify-write ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt<T> {
    Done(T),
    /// Its conditional write lost to another writer: read again and retry.
    Lost,
}

impl<T> Attempt<T> {
    /// A conditional write's answer: a failed condition is `Lost`; other errors stay errors.
    pub fn of(written: Result<T, StoreError>) -> Result<Self, StoreError> {
        match written {
            Ok(v) => Ok(Attempt::Done(v)),
            Err(StoreError::ConditionFailed) => Ok(Attempt::Lost),
            Err(e) => Err(e),
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Attempt<U> {
        match self {
            Attempt::Done(v) => Attempt::Done(f(v)),
            Attempt::Lost => Attempt::Lost,
        }
    }
}

/// Re-reads and retries a lost conditional write: runs `attempt` (which reads the record,
/// changes it and writes it at the version read) until it is done, at most `attempts`
/// times. `None` when every try lost to another writer (the caller says what that means:
/// a conflict, or "busy").
pub async fn retry_lost_writes<T, E, F, Fut>(attempts: usize, mut attempt: F) -> Result<Option<T>, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Attempt<T>, E>>,
{
    for _ in 0..attempts {
        if let Attempt::Done(v) = attempt().await? {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// Every item of one partition under a sort-key prefix, in sort-key order, read page after
/// page of the largest size. For partitions a company's size bounds (its admins, team members,
/// findings); a listing that can grow without bound pages for itself.
pub async fn query_all(store: &dyn ItemStore, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .query(pk, sk_prefix, PageRequest::first(MAX_PAGE_SIZE).after(cursor))
            .await?;
        out.extend(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

/// Checks a transaction the way DynamoDB does, so both adapters refuse the same requests.
pub fn validate_transaction(ops: &[WriteOp]) -> Result<(), StoreError> {
    if ops.is_empty() || ops.len() > MAX_TRANSACTION_OPS {
        return Err(StoreError::Invalid(format!(
            "a transaction takes 1 to {MAX_TRANSACTION_OPS} operations, got {}",
            ops.len()
        )));
    }
    let mut seen = std::collections::HashSet::with_capacity(ops.len());
    for op in ops {
        validate_key(op.key())?;
        if !seen.insert(op.key()) {
            return Err(StoreError::Invalid(
                "a transaction cannot include several operations on one item".into(),
            ));
        }
    }
    Ok(())
}

/// Keys are non-empty and free of NUL (the embedded store's separator).
pub fn validate_key(key: &Key) -> Result<(), StoreError> {
    for part in [&key.pk, &key.sk] {
        if part.is_empty() || part.contains('\0') || part.len() > 1024 {
            return Err(StoreError::Invalid("keys are 1 to 1024 bytes without NUL".into()));
        }
    }
    Ok(())
}

/// The port. Reads are strongly consistent on the table; index reads may lag on DynamoDB.
#[async_trait]
pub trait ItemStore: Send + Sync + 'static {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError>;

    /// Creates the item; `ConditionFailed` if it exists. Returns the new version (1).
    async fn create(&self, item: Item) -> Result<u64, StoreError>;

    /// Replaces the item if it is at `expected_version`; returns the new version.
    async fn replace(&self, item: Item, expected_version: u64) -> Result<u64, StoreError>;

    /// Deletes the item; with `Some(v)` only at that version. Deleting a missing item
    /// without an expected version succeeds.
    async fn delete(&self, key: &Key, expected_version: Option<u64>) -> Result<(), StoreError>;

    /// All operations or none.
    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError>;

    /// Items of one partition whose sort key starts with `sk_prefix`, in sort-key order.
    async fn query(&self, pk: &str, sk_prefix: &str, page: PageRequest) -> Result<Page, StoreError>;

    /// Items whose index partition key is `index_pk`, in index sort-key order.
    async fn query_index(&self, index_pk: &str, page: PageRequest) -> Result<Page, StoreError>;

    /// Items of every partition whose sort key starts with `sk_prefix`, in no particular
    /// order: the whole table read, for one-off migrations only. A page reads at most
    /// `page.limit` items and answers those that match (as a DynamoDB scan with a filter
    /// does), so it may hold fewer, even none, while `next` is set; `next` is absent once
    /// the table is read to its end. `descending` is refused.
    async fn scan(&self, sk_prefix: &str, page: PageRequest) -> Result<Page, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_lost_write_is_tried_again_within_its_budget() {
        // Two lost races, then the write lands: done on the third try.
        let mut tries = 0;
        let done = retry_lost_writes(3, || {
            tries += 1;
            let outcome = if tries < 3 {
                Attempt::Lost
            } else {
                Attempt::Done(tries)
            };
            async move { Ok::<_, StoreError>(outcome) }
        })
        .await;
        assert_eq!(done, Ok(Some(3)));
        // Every try lost: no answer, and no more tries than the budget.
        let mut tries = 0;
        let lost = retry_lost_writes(3, || {
            tries += 1;
            async { Ok::<Attempt<()>, StoreError>(Attempt::Lost) }
        })
        .await;
        assert_eq!((lost, tries), (Ok(None), 3));
        // Another error ends it at once.
        let mut tries = 0;
        let failed = retry_lost_writes(3, || {
            tries += 1;
            async { Err::<Attempt<()>, _>(StoreError::Unavailable("down".into())) }
        })
        .await;
        assert_eq!((failed, tries), (Err(StoreError::Unavailable("down".into())), 1));
        // Only a failed condition is a lost race.
        assert_eq!(
            Attempt::of(Err::<(), _>(StoreError::ConditionFailed)),
            Ok(Attempt::Lost)
        );
        assert_eq!(Attempt::of(Ok::<_, StoreError>(7)), Ok(Attempt::Done(7)));
    }

    #[test]
    fn cursor_round_trips_and_is_bound_to_its_query() {
        let keys = CursorKeys {
            pk: "COMPANY#1".into(),
            sk: "USER#2".into(),
            ipk: None,
            isk: None,
        };
        let c = Cursor::encode(&keys);
        assert_eq!(c.decode_for_query("COMPANY#1", "USER#").unwrap(), keys);
        assert_eq!(
            c.decode_for_query("COMPANY#9", "USER#"),
            Err(StoreError::InvalidCursor)
        );
        assert_eq!(
            c.decode_for_query("COMPANY#1", "TM#"),
            Err(StoreError::InvalidCursor)
        );
        assert_eq!(c.decode_for_index("COMPANY#1"), Err(StoreError::InvalidCursor));
        assert_eq!(
            Cursor::from_client("not base64!").decode_for_query("COMPANY#1", ""),
            Err(StoreError::InvalidCursor)
        );
    }

    #[test]
    fn transactions_refuse_duplicate_keys_and_bad_sizes() {
        let item = Item::from_record(Key::new("a", "b"), &serde_json::json!({})).unwrap();
        let dup = vec![
            WriteOp::Create(item.clone()),
            WriteOp::Check {
                key: item.key.clone(),
                expect: Expect::Exists,
            },
        ];
        assert!(matches!(validate_transaction(&dup), Err(StoreError::Invalid(_))));
        assert!(matches!(validate_transaction(&[]), Err(StoreError::Invalid(_))));
        assert!(validate_transaction(&[WriteOp::Create(item)]).is_ok());
    }
}
