//! `Mailer` adapters: Amazon SES v2, and a local outbox kept in the item store.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use chrono::{DateTime, Utc};
use prov_core::clock::Clock;
use prov_core::mail::{Email, MailError, Mailer};
use prov_core::secret::new_ordered_id;
use prov_core::store::{Item, ItemStore, Key, PageRequest};
use serde::{Deserialize, Serialize};

use crate::SdkClient;

/// Sends through Amazon SES v2 from a verified sender address.
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: SdkClient<aws_sdk_sesv2::Client>,
    from: String,
}

impl SesMailer {
    pub fn new(client: impl Into<SdkClient<aws_sdk_sesv2::Client>>, from: impl Into<String>) -> Self {
        Self {
            client: client.into(),
            from: from.into(),
        }
    }
}

fn content(text: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|e| MailError::Rejected(e.to_string()))
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(Body::builder().text(content(&email.text)?).build())
            .build();
        self.client
            .get()
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&email.to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| match e.code() {
                Some("MessageRejected" | "MailFromDomainNotVerifiedException" | "BadRequestException") => {
                    MailError::Rejected(DisplayErrorContext(&e).to_string())
                }
                _ => MailError::Unavailable(DisplayErrorContext(&e).to_string()),
            })?;
        Ok(())
    }
}

const OUTBOX_PK: &str = "OUTBOX";

/// An email the local outbox received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentEmail {
    #[serde(flatten)]
    pub email: Email,
    pub sent_at: DateTime<Utc>,
}

/// Keeps sent emails in the item store, where tests and `GET /_dev/outbox` read them.
#[derive(Clone)]
pub struct LocalOutbox {
    store: Arc<dyn ItemStore>,
    clock: Arc<dyn Clock>,
}

impl LocalOutbox {
    pub fn new(store: Arc<dyn ItemStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Up to `limit` emails, newest first.
    pub async fn recent(&self, limit: u32) -> Result<Vec<SentEmail>, prov_core::Error> {
        let page = self
            .store
            .query(OUTBOX_PK, "", PageRequest::first(limit).descending())
            .await?;
        Ok(page.items.iter().map(Item::record).collect::<Result<_, _>>()?)
    }
}

#[async_trait]
impl Mailer for LocalOutbox {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let sent_at = self.clock.now();
        let key = Key::new(
            OUTBOX_PK,
            format!(
                "{}#{}",
                sent_at.format("%Y%m%dT%H%M%S%.6fZ"),
                new_ordered_id("mail")
            ),
        );
        let item = Item::from_record(
            key,
            &SentEmail {
                email: email.clone(),
                sent_at,
            },
        )
        .map_err(|e| MailError::Rejected(e.to_string()))?;
        self.store
            .create(item)
            .await
            .map_err(|e| MailError::Unavailable(e.to_string()))?;
        tracing::info!(to = %email.to, subject = %email.subject, "email written to the local outbox");
        Ok(())
    }
}
