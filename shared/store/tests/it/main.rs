//! Store tests: the conformance suite on both adapters, and embedded persistence.

mod conformance;
mod faults;
mod migrations;

use std::sync::Arc;

use prov_core::store::ItemStore;
use prov_store::{DynamoStore, EmbeddedStore};

/// A fresh store and whatever must live as long as it.
struct Fixture {
    store: Arc<dyn ItemStore>,
    _dir: Option<tempfile::TempDir>,
}

async fn embedded() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path().join("store.redb")).unwrap();
    Fixture {
        store: Arc::new(store),
        _dir: Some(dir),
    }
}

async fn dynamodb() -> Fixture {
    let client = prov_testkit::dynamodb_client();
    let table = prov_testkit::unique_name("conformance");
    DynamoStore::create_table(&client, &table).await.unwrap();
    Fixture {
        store: Arc::new(DynamoStore::new(client, table)),
        _dir: None,
    }
}

/// Runs every conformance case against one adapter.
macro_rules! conformance_suite {
    ($adapter:ident: $($case:ident),* $(,)?) => {
        mod $adapter {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let fixture = super::$adapter().await;
                    super::conformance::$case(fixture.store.as_ref()).await;
                }
            )*

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_creates_of_one_key_have_one_winner() {
                let fixture = super::$adapter().await;
                super::conformance::concurrent_creates_of_one_key_have_one_winner(fixture.store.clone()).await;
            }
        }
    };
}

macro_rules! both_adapters {
    ($($case:ident),* $(,)?) => {
        conformance_suite!(embedded: $($case),*);
        conformance_suite!(dynamodb: $($case),*);
    };
}

both_adapters!(
    create_then_get_round_trips_everything,
    create_refuses_an_existing_item,
    replace_needs_the_version_it_read,
    delete_checks_the_version_when_asked,
    a_failed_condition_rolls_back_the_whole_transaction,
    transactions_report_every_failed_check,
    transactions_refuse_two_operations_on_one_item,
    queries_page_through_a_prefix_in_order,
    query_all_reads_past_the_largest_page,
    a_cursor_only_works_for_its_own_query,
    the_index_finds_items_and_follows_their_changes,
    a_scan_reads_every_partition_a_page_at_a_time,
    bad_keys_are_refused,
);

#[tokio::test]
async fn embedded_data_survives_a_restart() {
    use prov_core::store::{Item, Key};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    {
        let store = EmbeddedStore::open(&path).unwrap();
        let item = Item::from_record(Key::new("P", "A"), &serde_json::json!({"kept": true}))
            .unwrap()
            .with_index("IX", "1");
        store.create(item).await.unwrap();
    }
    let reopened = EmbeddedStore::open(&path).unwrap();
    let got = reopened.get(&Key::new("P", "A")).await.unwrap().unwrap();
    assert_eq!(got.data["kept"], true);
    let indexed = reopened
        .query_index("IX", prov_core::store::PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(indexed.items.len(), 1);
}
