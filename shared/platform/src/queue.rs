//! The `JobQueue` port on Amazon SQS: the jobs queue the worker function consumes (through
//! its event source mapping in AWS; `receive` serves tests and tools). The queue's redrive
//! policy sends a message received too often to its dead-letter queue.

use async_trait::async_trait;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use chrono::Duration;
use prov_core::queue::{JobQueue, QueueError, Received, check_delay};
use serde_json::Value;

use crate::SdkClient;

pub struct SqsQueue {
    client: SdkClient<aws_sdk_sqs::Client>,
    url: String,
}

impl SqsQueue {
    pub fn new(client: impl Into<SdkClient<aws_sdk_sqs::Client>>, url: impl Into<String>) -> Self {
        Self {
            client: client.into(),
            url: url.into(),
        }
    }
}

fn unavailable(e: impl std::error::Error + 'static) -> QueueError {
    QueueError::Unavailable(DisplayErrorContext(&e).to_string())
}

#[async_trait]
impl JobQueue for SqsQueue {
    async fn send(&self, body: &Value, delay: Duration) -> Result<(), QueueError> {
        check_delay(delay)?;
        self.client
            .get()
            .send_message()
            .queue_url(&self.url)
            .message_body(body.to_string())
            .delay_seconds(delay.num_seconds() as i32)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn receive(&self, max: u32, visibility: Duration) -> Result<Vec<Received>, QueueError> {
        let answer = self
            .client
            .get()
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .visibility_timeout(visibility.num_seconds().clamp(0, 43_200) as i32)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(unavailable)?;
        answer
            .messages()
            .iter()
            .map(|m| {
                let body = serde_json::from_str(m.body().unwrap_or_default())
                    .map_err(|e| QueueError::Invalid(format!("a message is not JSON: {e}")))?;
                let receives = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                Ok(Received {
                    body,
                    receipt: m.receipt_handle().unwrap_or_default().to_owned(),
                    receives,
                })
            })
            .collect()
    }

    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        self.client
            .get()
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
