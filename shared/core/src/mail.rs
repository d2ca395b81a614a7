//! The `Mailer` port and the mail queue that makes sending reliable.
//!
//! A use case that must send an email writes it into the store *in the same transaction*
//! as the change it announces (`MailQueue::enqueue`), then tries to deliver it at once.
//! If delivery fails (or the process dies), the email stays queued and a later
//! `MailQueue::drain` sends it. So a committed change never loses its email.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::keys::MAIL_QUEUE;
use crate::secret::new_ordered_id;
use crate::store::{Item, ItemStore, Key, PageRequest, StoreError, WriteOp};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The recipient or content was refused; retrying will not help.
    #[error("rejected: {0}")]
    Rejected(String),
    /// The mail service could not be reached or was busy.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, email: &Email) -> Result<(), MailError>;
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Queued {
    email: Email,
    queued_at: chrono::DateTime<chrono::Utc>,
}

/// A queued email as written (by `enqueue`, for the immediate delivery attempt) or read (by
/// `drain`): what to send and which stored version to remove once it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    key: Key,
    version: u64,
    email: Email,
}

/// The version a store gives an item it creates.
const CREATED_VERSION: u64 = 1;

pub struct MailQueue;

impl MailQueue {
    /// The write that queues `email`; put it in the transaction of the change it announces.
    pub fn enqueue(email: Email, clock: &dyn Clock) -> Result<(WriteOp, QueuedMail)> {
        let now = clock.now();
        // The timestamp prefix keeps the queue in order for `drain`.
        let key = Key::new(
            MAIL_QUEUE,
            format!("{}#{}", now.format("%Y%m%dT%H%M%S%.6fZ"), new_ordered_id("mail")),
        );
        let item = Item::from_record(
            key.clone(),
            &Queued {
                email: email.clone(),
                queued_at: now,
            },
        )?;
        let queued = QueuedMail {
            key,
            version: CREATED_VERSION,
            email,
        };
        Ok((WriteOp::Create(item), queued))
    }

    /// Sends one queued email and removes it from the queue. A failure leaves it queued.
    /// Nothing is read first: the caller holds the email (it queued it, or a drain read it).
    pub async fn deliver(store: &dyn ItemStore, mailer: &dyn Mailer, mail: &QueuedMail) -> Result<()> {
        mailer
            .send(&mail.email)
            .await
            .map_err(|e| Error::Internal(format!("mail delivery failed: {e}")))?;
        // Deleting at the version written means a concurrent drain that also sent it (and
        // removed it first) cannot make us fail; at worst an email goes twice, never zero
        // times.
        match store.delete(&mail.key, Some(mail.version)).await {
            Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Sends every queued email, oldest first. Returns how many were sent; stops at the first
    /// failure so a broken mailer is not hammered.
    pub async fn drain(store: &dyn ItemStore, mailer: &dyn Mailer) -> Result<usize> {
        let mut sent = 0;
        let mut cursor = None;
        loop {
            let page = store
                .query(MAIL_QUEUE, "", PageRequest::first(100).after(cursor))
                .await?;
            for item in &page.items {
                let queued: Queued = item.record()?;
                let mail = QueuedMail {
                    key: item.key.clone(),
                    version: item.version,
                    email: queued.email,
                };
                Self::deliver(store, mailer, &mail).await?;
                sent += 1;
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(sent),
            }
        }
    }

    /// How many emails wait to be sent.
    pub async fn pending(store: &dyn ItemStore) -> Result<usize> {
        let mut count = 0;
        let mut cursor = None;
        loop {
            let page = store
                .query(MAIL_QUEUE, "", PageRequest::first(1000).after(cursor))
                .await?;
            count += page.items.len();
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(count),
            }
        }
    }
}

/// Tries to send a queued email now; on failure it stays queued for the next drain.
pub(crate) async fn send_queued(store: &dyn ItemStore, mailer: &dyn Mailer, mail: &QueuedMail) {
    if let Err(e) = MailQueue::deliver(store, mailer, mail).await {
        tracing::warn!(error = %e, "email not sent yet; it stays queued");
    }
}
