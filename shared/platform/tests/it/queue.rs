//! The `JobQueue` conformance suite: the SQS adapter (on moto) and the embedded queue (in the
//! item store) keep the same promises.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Duration;
use prov_core::clock::SystemClock;
use prov_core::queue::{JobQueue, QueueError, Received, StoreQueue};
use prov_platform::SqsQueue;
use prov_store::EmbeddedStore;
use serde_json::{Value, json};

/// Receives until `n` messages came (SQS may answer fewer than are visible at once).
async fn receive_n(queue: &dyn JobQueue, n: usize, visibility: Duration) -> Vec<Received> {
    let mut out = Vec::new();
    for _ in 0..20 {
        out.extend(queue.receive(10, visibility).await.unwrap());
        if out.len() >= n {
            break;
        }
    }
    out
}

async fn conformance(queue: &dyn JobQueue) {
    let hidden = Duration::minutes(5);
    assert!(
        queue.receive(10, hidden).await.unwrap().is_empty(),
        "starts empty"
    );

    // Messages sent are received with their bodies, each once while in flight.
    queue.send(&json!({"n": 1}), Duration::zero()).await.unwrap();
    queue.send(&json!({"n": 2}), Duration::zero()).await.unwrap();
    let got = receive_n(queue, 2, hidden).await;
    let bodies: BTreeSet<String> = got.iter().map(|m| m.body.to_string()).collect();
    assert_eq!(
        bodies,
        BTreeSet::from([json!({"n": 1}).to_string(), json!({"n": 2}).to_string()])
    );
    assert!(got.iter().all(|m| m.receives == 1), "{got:?}");
    assert!(
        queue.receive(10, hidden).await.unwrap().is_empty(),
        "in flight: hidden"
    );

    // One received and not deleted comes back once its visibility ends, counted again.
    queue.send(&json!({"n": 3}), Duration::zero()).await.unwrap();
    let first = receive_n(queue, 1, Duration::zero()).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].body, json!({"n": 3}));
    let again = receive_n(queue, 1, hidden).await;
    assert_eq!((again[0].body.clone(), again[0].receives), (json!({"n": 3}), 2));

    // Deleted, a message never comes back; deleting it again is fine.
    for m in got.iter().chain(&again) {
        queue.delete(&m.receipt).await.unwrap();
    }
    queue.delete(&got[0].receipt).await.unwrap();

    // A delayed message is not received before its delay; delays past 15 minutes are refused.
    queue.send(&json!({"n": 4}), Duration::minutes(10)).await.unwrap();
    assert!(queue.receive(10, hidden).await.unwrap().is_empty(), "delayed");
    assert!(matches!(
        queue.send(&json!({"n": 5}), Duration::minutes(16)).await,
        Err(QueueError::Invalid(_))
    ));
    let none: Vec<Value> = queue
        .receive(10, hidden)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert!(none.is_empty(), "{none:?}");
}

#[tokio::test]
async fn the_sqs_queue_keeps_the_queues_promises() {
    let client = prov_testkit::sqs_client();
    let created = client
        .create_queue()
        .queue_name(prov_testkit::unique_name("jobs"))
        .send()
        .await
        .unwrap();
    let queue = SqsQueue::new(client, created.queue_url().unwrap());
    conformance(&queue).await;
}

#[tokio::test]
async fn the_embedded_queue_keeps_the_queues_promises() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path().join("store.redb")).unwrap());
    let queue = StoreQueue::new(store, Arc::new(SystemClock), 5);
    conformance(&queue).await;
}

#[tokio::test]
async fn the_embedded_queue_gives_up_on_a_message_received_too_often() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path().join("store.redb")).unwrap());
    let queue = StoreQueue::new(store, Arc::new(SystemClock), 2);
    queue
        .send(&json!({"poison": true}), Duration::zero())
        .await
        .unwrap();
    for receives in 1..=2 {
        let got = queue.receive(10, Duration::zero()).await.unwrap();
        assert_eq!(got[0].receives, receives);
    }
    assert!(queue.receive(10, Duration::zero()).await.unwrap().is_empty());
    assert_eq!(queue.dead_letters().await.unwrap(), [json!({"poison": true})]);
}
