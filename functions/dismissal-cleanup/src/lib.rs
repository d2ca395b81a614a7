//! The dismissal cleanup function: EventBridge Scheduler delivers `DismissalDue` when a
//! dismissed person's access must end; a rate schedule delivers `Sweep`. Both run the same
//! idempotent, resumable cleanup the devserver's local scheduler fires.

use lambda_runtime::{Error, LambdaEvent};
use prov_processes::Apps;
use prov_processes::dismissal::{self, CleanupEvent};
use serde_json::Value;

/// Handles one delivery. A failure is returned to Lambda, so the scheduler retries it (and,
/// past its retries, sends it to the dead-letter queue); the sweep also picks it up.
pub async fn handle(apps: &Apps, event: LambdaEvent<CleanupEvent>) -> Result<Value, Error> {
    let request_id = event.context.request_id.clone();
    let payload = event.payload;
    tracing::info!(request_id, ?payload, "cleanup delivery");
    dismissal::handle(apps, payload).await.map_err(|e| {
        tracing::error!(request_id, error = %e, "cleanup failed");
        Error::from(e.to_string())
    })
}
