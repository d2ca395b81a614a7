//! The `JobQueue` port: background work (an app's sync and its continuations) handed to a
//! worker. SQS in AWS (consumed by the worker function), `StoreQueue` locally (the devserver's
//! in-process worker). Delivery is at least once: a message received and not deleted comes
//! back after its visibility timeout, and one received too often goes to the dead-letter
//! queue, so a worker must be safe to run twice on one message.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::Clock;
use crate::keys::{JOBS_DEAD_LETTERS, JOBS_QUEUE, queued_job_key};
use crate::secret::new_ordered_id;
use crate::store::{Cursor, Item, ItemStore, Key, PageRequest, StoreError, WriteOp};

/// Longest delay a message may be sent with (SQS's limit).
pub const MAX_DELAY_SECONDS: i64 = 900;

/// A message handed to a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub body: Value,
    /// What deletes this delivery of the message.
    pub receipt: String,
    /// How many times the message has been received, this time included.
    pub receives: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error("invalid queue request: {0}")]
    Invalid(String),
    #[error("queue unavailable: {0}")]
    Unavailable(String),
}

impl From<QueueError> for crate::Error {
    fn from(e: QueueError) -> Self {
        match e {
            QueueError::Invalid(why) => crate::Error::Internal(why),
            QueueError::Unavailable(why) => crate::Error::Busy(why),
        }
    }
}

impl From<StoreError> for QueueError {
    fn from(e: StoreError) -> Self {
        QueueError::Unavailable(e.to_string())
    }
}

#[async_trait]
pub trait JobQueue: Send + Sync + 'static {
    /// Sends a message, received no sooner than `delay` from now (0 to 15 minutes).
    async fn send(&self, body: &Value, delay: Duration) -> Result<(), QueueError>;

    /// Up to `max` messages that are visible now, each hidden from other receivers for
    /// `visibility` (received again after that unless deleted).
    async fn receive(&self, max: u32, visibility: Duration) -> Result<Vec<Received>, QueueError>;

    /// Done with a received message. A receipt whose message is gone or was received again
    /// since is fine (the other receiver has it).
    async fn delete(&self, receipt: &str) -> Result<(), QueueError>;
}

/// The queue of a process deployed without one (`JOBS_QUEUE_URL` unset): starting a
/// background job is refused as unavailable, nothing else is affected.
pub struct NoQueue;

#[async_trait]
impl JobQueue for NoQueue {
    async fn send(&self, _: &Value, _: Duration) -> Result<(), QueueError> {
        Err(QueueError::Unavailable(
            "no jobs queue is configured (JOBS_QUEUE_URL)".into(),
        ))
    }

    async fn receive(&self, _: u32, _: Duration) -> Result<Vec<Received>, QueueError> {
        Ok(Vec::new())
    }

    async fn delete(&self, _: &str) -> Result<(), QueueError> {
        Ok(())
    }
}

/// Checks a delay as SQS does.
pub fn check_delay(delay: Duration) -> Result<(), QueueError> {
    if delay < Duration::zero() || delay > Duration::seconds(MAX_DELAY_SECONDS) {
        return Err(QueueError::Invalid(format!(
            "a delay is 0 to {MAX_DELAY_SECONDS} seconds"
        )));
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    body: Value,
    visible_at: DateTime<Utc>,
    receives: u32,
}

/// A queue kept in the item store (the devserver's): messages survive restarts like the rest
/// of the data, visibility follows the service's clock, and a message received
/// `max_receives` times without being deleted moves to the dead-letter partition.
pub struct StoreQueue {
    store: Arc<dyn ItemStore>,
    clock: Arc<dyn Clock>,
    max_receives: u32,
}

impl StoreQueue {
    pub fn new(store: Arc<dyn ItemStore>, clock: Arc<dyn Clock>, max_receives: u32) -> Self {
        Self {
            store,
            clock,
            max_receives: max_receives.max(1),
        }
    }

    /// The messages that went to the dead-letter partition (for tests and the devserver).
    pub async fn dead_letters(&self) -> Result<Vec<Value>, QueueError> {
        let page = self
            .store
            .query(JOBS_DEAD_LETTERS, "", PageRequest::first(1000))
            .await?;
        Ok(page
            .items
            .iter()
            .filter_map(|i| i.record::<Stored>().ok())
            .map(|s| s.body)
            .collect())
    }

    /// Gives up on a message received too often: moves it to the dead letters.
    async fn bury(&self, item: &Item) -> Result<(), StoreError> {
        let dead = Item {
            key: Key::new(JOBS_DEAD_LETTERS, item.key.sk.clone()),
            version: 0,
            index: None,
            expires_at: None,
            data: item.data.clone(),
        };
        match self
            .store
            .transact(vec![
                WriteOp::Delete {
                    key: item.key.clone(),
                    expected_version: Some(item.version),
                },
                WriteOp::Create(dead),
            ])
            .await
        {
            Ok(()) | Err(StoreError::TransactionCancelled { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl JobQueue for StoreQueue {
    async fn send(&self, body: &Value, delay: Duration) -> Result<(), QueueError> {
        check_delay(delay)?;
        let message = Stored {
            body: body.clone(),
            visible_at: self.clock.now() + delay,
            receives: 0,
        };
        let item = Item::from_record(queued_job_key(&new_ordered_id("msg")), &message)?;
        self.store.create(item).await?;
        Ok(())
    }

    async fn receive(&self, max: u32, visibility: Duration) -> Result<Vec<Received>, QueueError> {
        let now = self.clock.now();
        let mut out = Vec::new();
        let mut cursor: Option<Cursor> = None;
        // Messages are in the order they were sent; those in flight or delayed are skipped.
        while out.len() < max as usize {
            let page = self
                .store
                .query(JOBS_QUEUE, "", PageRequest::first(100).after(cursor))
                .await?;
            for item in &page.items {
                if out.len() >= max as usize {
                    break;
                }
                let mut message: Stored = item.record()?;
                if message.visible_at > now {
                    continue;
                }
                if message.receives >= self.max_receives {
                    self.bury(item).await?;
                    continue;
                }
                message.receives += 1;
                message.visible_at = now + visibility;
                let next = Item::from_record(item.key.clone(), &message)?;
                match self.store.replace(next, item.version).await {
                    Ok(version) => out.push(Received {
                        body: message.body,
                        receipt: format!("{}:{version}", item.key.sk),
                        receives: message.receives,
                    }),
                    Err(StoreError::ConditionFailed) => {} // another receiver took it
                    Err(e) => return Err(e.into()),
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(out)
    }

    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        let (id, version) = receipt
            .rsplit_once(':')
            .and_then(|(id, v)| Some((id, v.parse::<u64>().ok()?)))
            .ok_or_else(|| QueueError::Invalid("not a receipt of this queue".into()))?;
        match self.store.delete(&queued_job_key(id), Some(version)).await {
            Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
