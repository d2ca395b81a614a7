//! DynamoDB faults injected into the SDK client (`aws-smithy-mocks`): what the adapter makes
//! of throttling, cancelled transactions and server errors on each kind of call, with the
//! SDK's retries as deployed (standard mode, 3 attempts). Each case prints one
//! `fault-injection:` line for RELIABILITY.md.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput;
use aws_sdk_dynamodb::types::AttributeValue;
use prov_core::store::{Item, ItemStore, Key, PageRequest, StoreError, WriteOp};
use prov_core::{Category, Error};
use prov_store::DynamoStore;
use prov_testkit::aws_smithy_mocks::{Rule, RuleMode, mock};
use prov_testkit::{DYNAMODB_ATTEMPTS, dynamodb_error_body, dynamodb_mock_client};
use serde_json::json;

const THROUGHPUT: &str = "ProvisionedThroughputExceededException";
const THROTTLING: &str = "ThrottlingException";
const INTERNAL: &str = "InternalServerError";

fn store_with(rules: &[&Rule]) -> DynamoStore {
    DynamoStore::new(dynamodb_mock_client(RuleMode::Sequential, rules), "faults")
}

fn error(error_type: &str) -> Option<String> {
    Some(dynamodb_error_body(error_type, "injected"))
}

/// The status DynamoDB answers each injected error with.
fn status_of(error_type: &str) -> u16 {
    if error_type == INTERNAL { 500 } else { 400 }
}

/// A stored item as DynamoDB returns it.
fn stored(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
        ("sk".to_owned(), AttributeValue::S(sk.to_owned())),
        ("v".to_owned(), AttributeValue::N("3".to_owned())),
        (
            "data".to_owned(),
            AttributeValue::M(HashMap::from([(
                "name".to_owned(),
                AttributeValue::S("kept".to_owned()),
            )])),
        ),
    ])
}

fn item() -> Item {
    Item::from_record(Key::new("P", "A"), &json!({"name": "new"})).unwrap()
}

/// What the port's error becomes at the edge: the category (and so the status) a client sees.
fn edge_category(e: StoreError) -> Option<Category> {
    match Error::from(e) {
        Error::Refused(d) => Some(d[0].category),
        Error::Busy(_) => Some(Category::ServiceUnavailable),
        Error::Internal(_) => None,
    }
}

#[tokio::test]
async fn throttled_calls_succeed_within_the_retry_budget() {
    let throttles = (DYNAMODB_ATTEMPTS - 1) as usize;
    for fault in [THROUGHPUT, THROTTLING, INTERNAL] {
        let get = mock!(Client::get_item)
            .sequence()
            .http_status(status_of(fault), error(fault))
            .times(throttles)
            .output(|| GetItemOutput::builder().set_item(Some(stored("P", "A"))).build())
            .build();
        let store = store_with(&[&get]);
        let got = store.get(&Key::new("P", "A")).await.unwrap().unwrap();
        assert_eq!((got.version, got.data["name"].as_str()), (3, Some("kept")));
        assert_eq!(get.num_calls(), DYNAMODB_ATTEMPTS as usize, "{fault}");

        let put = mock!(Client::put_item)
            .sequence()
            .http_status(status_of(fault), error(fault))
            .times(throttles)
            .output(|| PutItemOutput::builder().build())
            .build();
        assert_eq!(store_with(&[&put]).create(item()).await, Ok(1), "{fault}");
        assert_eq!(put.num_calls(), DYNAMODB_ATTEMPTS as usize);

        let transact = mock!(Client::transact_write_items)
            .sequence()
            .http_status(status_of(fault), error(fault))
            .times(throttles)
            .output(|| TransactWriteItemsOutput::builder().build())
            .build();
        let ops = vec![WriteOp::Create(item())];
        assert_eq!(store_with(&[&transact]).transact(ops).await, Ok(()), "{fault}");
        assert_eq!(transact.num_calls(), DYNAMODB_ATTEMPTS as usize);

        let query = mock!(Client::query)
            .sequence()
            .http_status(status_of(fault), error(fault))
            .times(throttles)
            .output(|| {
                QueryOutput::builder()
                    .set_items(Some(vec![stored("P", "A")]))
                    .build()
            })
            .build();
        let page = store_with(&[&query])
            .query("P", "", PageRequest::first(10))
            .await
            .unwrap();
        assert_eq!((page.items.len(), page.next), (1, None), "{fault}");
        assert_eq!(query.num_calls(), DYNAMODB_ATTEMPTS as usize);
        println!(
            "fault-injection: dynamodb {fault} ×{throttles} then success on get, put, transact, query: 4/4 succeeded after {DYNAMODB_ATTEMPTS} attempts"
        );
    }
}

#[tokio::test]
async fn exhausted_retries_are_a_retryable_unavailability_never_a_success_or_a_panic() {
    for fault in [THROUGHPUT, THROTTLING, INTERNAL] {
        macro_rules! always {
            ($operation:expr) => {
                mock!($operation)
                    .sequence()
                    .http_status(status_of(fault), error(fault))
                    .repeatedly()
                    .build()
            };
        }
        let get = always!(Client::get_item);
        let put = always!(Client::put_item);
        let transact = always!(Client::transact_write_items);
        let query = always!(Client::query);
        let store = DynamoStore::new(
            dynamodb_mock_client(RuleMode::MatchAny, &[&get, &put, &transact, &query]),
            "faults",
        );
        let results = [
            store.get(&Key::new("P", "A")).await.map(|_| ()),
            store.create(item()).await.map(|_| ()),
            store.transact(vec![WriteOp::Create(item())]).await,
            store.query("P", "", PageRequest::first(10)).await.map(|_| ()),
        ];
        for (call, result) in ["get", "put", "transact", "query"].iter().zip(results) {
            let e = result.expect_err(call);
            let expected_contention = fault != INTERNAL;
            assert_eq!(
                matches!(e, StoreError::Contention(_)),
                expected_contention,
                "{fault} on {call}: {e:?}"
            );
            assert_eq!(
                matches!(e, StoreError::Unavailable(_)),
                !expected_contention,
                "{fault} on {call}: {e:?}"
            );
            // The edge answers 503 `service_unavailable` (with Retry-After): retry later.
            assert_eq!(
                edge_category(e),
                Some(Category::ServiceUnavailable),
                "{fault} on {call}"
            );
        }
        for rule in [&get, &put, &transact, &query] {
            assert_eq!(rule.num_calls(), DYNAMODB_ATTEMPTS as usize, "{fault}");
        }
        println!(
            "fault-injection: dynamodb {fault} on every attempt of get, put, transact, query: 4/4 gave up after {DYNAMODB_ATTEMPTS} attempts as a retryable 503"
        );
    }
}

#[tokio::test]
async fn condition_failures_are_conflicts_and_are_not_retried() {
    let put = mock!(Client::put_item)
        .sequence()
        .http_status(400, error("ConditionalCheckFailedException"))
        .build();
    let e = store_with(&[&put]).replace(item(), 2).await.unwrap_err();
    assert_eq!(e, StoreError::ConditionFailed);
    assert_eq!(put.num_calls(), 1, "a lost condition is final: not retried");
    assert_eq!(edge_category(e), Some(Category::Conflict));

    let cancelled = |reasons: serde_json::Value| {
        json!({
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons",
            "CancellationReasons": reasons,
        })
        .to_string()
    };
    let conditional = cancelled(json!([
        {"Code": "None"},
        {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"},
        {"Code": "None"}
    ]));
    let transact = mock!(Client::transact_write_items)
        .sequence()
        .http_status(400, Some(conditional))
        .build();
    let ops = vec![
        WriteOp::Create(item()),
        WriteOp::Create(Item::from_record(Key::new("P", "B"), &json!({})).unwrap()),
        WriteOp::Delete {
            key: Key::new("P", "C"),
            expected_version: None,
        },
    ];
    let e = store_with(&[&transact]).transact(ops.clone()).await.unwrap_err();
    assert_eq!(e, StoreError::TransactionCancelled { failed: vec![1] });
    assert_eq!(transact.num_calls(), 1);
    assert_eq!(edge_category(e), Some(Category::Conflict));

    // Cancelled for another transaction in flight (no condition failed): contention, which
    // the SDK does not retry by itself; the edge says "retry".
    let conflict = cancelled(json!([{"Code": "TransactionConflict"}, {"Code": "None"}, {"Code": "None"}]));
    let transact = mock!(Client::transact_write_items)
        .sequence()
        .http_status(400, Some(conflict))
        .build();
    let e = store_with(&[&transact]).transact(ops).await.unwrap_err();
    assert!(matches!(e, StoreError::Contention(_)), "{e:?}");
    assert_eq!(edge_category(e), Some(Category::ServiceUnavailable));
    println!(
        "fault-injection: dynamodb ConditionalCheckFailed on put and TransactionCanceled (ConditionalCheckFailed at op 1; TransactionConflict) on transact: 3/3 mapped (409 conflict ×2, 503 retry ×1), 1 attempt each"
    );
}
