//! The `ItemStore` conformance suite. Every case runs against every adapter (see
//! `main.rs`), so the embedded store and DynamoDB keep the same semantics.

use std::sync::Arc;

use prov_core::store::{
    Expect, Item, ItemStore, Key, MAX_PAGE_SIZE, MAX_TRANSACTION_OPS, PageRequest, StoreError, WriteOp,
    query_all,
};
use serde_json::{Value, json};

fn item(pk: &str, sk: &str, data: Value) -> Item {
    Item::from_record(Key::new(pk, sk), &data).unwrap()
}

async fn data_of(store: &dyn ItemStore, pk: &str, sk: &str) -> Option<Value> {
    store
        .get(&Key::new(pk, sk))
        .await
        .unwrap()
        .map(|i| Value::Object(i.data))
}

pub async fn create_then_get_round_trips_everything(store: &dyn ItemStore) {
    assert_eq!(store.get(&Key::new("P", "missing")).await.unwrap(), None);
    let data = json!({
        "name": "Frank’s Ocean", "count": 8, "ratio": 0.5, "big": 9007199254740993u64,
        "flag": true, "none": null, "empty": "", "list": [1, "two", {"three": 3}],
        "nested": {"deep": {"deeper": ["x"]}}
    });
    let created = item("P", "A", data.clone())
        .with_index("IX", "2026-01-01#A")
        .with_expiry(1_900_000_000);
    assert_eq!(store.create(created.clone()).await.unwrap(), 1);
    let got = store.get(&Key::new("P", "A")).await.unwrap().unwrap();
    assert_eq!(got.version, 1);
    assert_eq!(Value::Object(got.data.clone()), data);
    assert_eq!(got.index, created.index);
    assert_eq!(got.expires_at, Some(1_900_000_000));
}

pub async fn create_refuses_an_existing_item(store: &dyn ItemStore) {
    store.create(item("P", "A", json!({"n": 1}))).await.unwrap();
    assert_eq!(
        store.create(item("P", "A", json!({"n": 2}))).await,
        Err(StoreError::ConditionFailed)
    );
    assert_eq!(data_of(store, "P", "A").await, Some(json!({"n": 1})));
}

pub async fn replace_needs_the_version_it_read(store: &dyn ItemStore) {
    store.create(item("P", "A", json!({"n": 1}))).await.unwrap();
    assert_eq!(store.replace(item("P", "A", json!({"n": 2})), 1).await, Ok(2));
    // A writer still holding version 1 loses.
    assert_eq!(
        store.replace(item("P", "A", json!({"n": 3})), 1).await,
        Err(StoreError::ConditionFailed)
    );
    let got = store.get(&Key::new("P", "A")).await.unwrap().unwrap();
    assert_eq!((got.version, Value::Object(got.data)), (2, json!({"n": 2})));
    assert_eq!(
        store.replace(item("P", "missing", json!({})), 1).await,
        Err(StoreError::ConditionFailed)
    );
    assert_eq!(store.get(&Key::new("P", "missing")).await.unwrap(), None);
}

pub async fn delete_checks_the_version_when_asked(store: &dyn ItemStore) {
    store.create(item("P", "A", json!({}))).await.unwrap();
    let key = Key::new("P", "A");
    assert_eq!(
        store.delete(&key, Some(2)).await,
        Err(StoreError::ConditionFailed)
    );
    assert!(store.get(&key).await.unwrap().is_some());
    store.delete(&key, Some(1)).await.unwrap();
    assert_eq!(store.get(&key).await.unwrap(), None);
    // Deleting what is gone succeeds, unless a version was expected.
    store.delete(&key, None).await.unwrap();
    assert_eq!(
        store.delete(&key, Some(1)).await,
        Err(StoreError::ConditionFailed)
    );
}

pub async fn a_failed_condition_rolls_back_the_whole_transaction(store: &dyn ItemStore) {
    store.create(item("P", "A", json!({"n": 1}))).await.unwrap();
    store.create(item("P", "C", json!({"keep": true}))).await.unwrap();
    let ops = vec![
        WriteOp::Create(item("P", "B", json!({"new": true}))),
        WriteOp::Replace {
            item: item("P", "A", json!({"n": 2})),
            expected_version: 7,
        },
        WriteOp::Delete {
            key: Key::new("P", "C"),
            expected_version: None,
        },
    ];
    assert_eq!(
        store.transact(ops).await,
        Err(StoreError::TransactionCancelled { failed: vec![1] })
    );
    assert_eq!(data_of(store, "P", "B").await, None, "created item rolled back");
    assert_eq!(
        data_of(store, "P", "A").await,
        Some(json!({"n": 1})),
        "replace rolled back"
    );
    assert_eq!(
        data_of(store, "P", "C").await,
        Some(json!({"keep": true})),
        "delete rolled back"
    );

    // The same transaction at the right version applies every operation.
    store
        .transact(vec![
            WriteOp::Create(item("P", "B", json!({"new": true}))),
            WriteOp::Replace {
                item: item("P", "A", json!({"n": 2})),
                expected_version: 1,
            },
            WriteOp::Delete {
                key: Key::new("P", "C"),
                expected_version: Some(1),
            },
            WriteOp::Check {
                key: Key::new("P", "D"),
                expect: Expect::Absent,
            },
        ])
        .await
        .unwrap();
    assert_eq!(data_of(store, "P", "B").await, Some(json!({"new": true})));
    let a = store.get(&Key::new("P", "A")).await.unwrap().unwrap();
    assert_eq!((a.version, Value::Object(a.data)), (2, json!({"n": 2})));
    assert_eq!(data_of(store, "P", "C").await, None);
}

pub async fn transactions_report_every_failed_check(store: &dyn ItemStore) {
    store.create(item("P", "A", json!({}))).await.unwrap();
    let result = store
        .transact(vec![
            WriteOp::Check {
                key: Key::new("P", "A"),
                expect: Expect::Absent,
            },
            WriteOp::Check {
                key: Key::new("P", "B"),
                expect: Expect::Exists,
            },
            WriteOp::Check {
                key: Key::new("P", "C"),
                expect: Expect::Absent,
            },
            WriteOp::Create(item("P", "D", json!({}))),
            WriteOp::Check {
                key: Key::new("P", "E"),
                expect: Expect::Version(1),
            },
        ])
        .await;
    assert_eq!(
        result,
        Err(StoreError::TransactionCancelled {
            failed: vec![0, 1, 4]
        })
    );
    assert_eq!(data_of(store, "P", "D").await, None);
}

pub async fn transactions_refuse_two_operations_on_one_item(store: &dyn ItemStore) {
    let result = store
        .transact(vec![
            WriteOp::Create(item("P", "A", json!({}))),
            WriteOp::Check {
                key: Key::new("P", "A"),
                expect: Expect::Absent,
            },
        ])
        .await;
    assert!(matches!(result, Err(StoreError::Invalid(_))), "{result:?}");
    assert_eq!(data_of(store, "P", "A").await, None);
}

async fn all_pages(
    store: &dyn ItemStore,
    pk: &str,
    prefix: &str,
    limit: u32,
    descending: bool,
) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let mut request = PageRequest::first(limit).after(cursor);
        request.descending = descending;
        let page = store.query(pk, prefix, request).await.unwrap();
        pages.push(page.items.iter().map(|i| i.key.sk.clone()).collect());
        assert!(pages.len() < 100, "paging does not end");
        match page.next {
            Some(next) => cursor = Some(next),
            None => return pages,
        }
    }
}

pub async fn queries_page_through_a_prefix_in_order(store: &dyn ItemStore) {
    let mut ops = Vec::new();
    for i in 0..25 {
        ops.push(WriteOp::Create(item(
            "P",
            &format!("ITEM#{i:02}"),
            json!({"i": i}),
        )));
    }
    // Neighbours that must never show up: other prefixes, another partition whose name
    // extends this one.
    ops.push(WriteOp::Create(item("P", "ITEL#99", json!({}))));
    ops.push(WriteOp::Create(item("P", "ITEMS", json!({}))));
    ops.push(WriteOp::Create(item("P", "OTHER#1", json!({}))));
    ops.push(WriteOp::Create(item("PX", "ITEM#00", json!({}))));
    store.transact(ops).await.unwrap();

    let pages = all_pages(store, "P", "ITEM#", 10, false).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
    let flat: Vec<String> = pages.concat();
    let expected: Vec<String> = (0..25).map(|i| format!("ITEM#{i:02}")).collect();
    assert_eq!(flat, expected);

    let down = all_pages(store, "P", "ITEM#", 10, true).await.concat();
    assert_eq!(down, expected.iter().rev().cloned().collect::<Vec<_>>());

    // A page that ends exactly at the last item says no more follow.
    let exact = all_pages(store, "P", "ITEM#0", 5, false).await;
    assert_eq!(exact.iter().map(Vec::len).collect::<Vec<_>>(), [5, 5]);

    // An empty prefix is the whole partition.
    assert_eq!(all_pages(store, "P", "", 100, false).await.concat().len(), 28);
    assert_eq!(
        all_pages(store, "NOPE", "", 10, false).await,
        vec![Vec::<String>::new()]
    );
}

pub async fn query_all_reads_past_the_largest_page(store: &dyn ItemStore) {
    // One more full page than a query answers at once, and neighbours that must not show up.
    let count = MAX_PAGE_SIZE as usize + 150;
    let items: Vec<WriteOp> = (0..count)
        .map(|i| WriteOp::Create(item("P", &format!("ITEM#{i:05}"), json!({"i": i}))))
        .collect();
    for chunk in items.chunks(MAX_TRANSACTION_OPS) {
        store.transact(chunk.to_vec()).await.unwrap();
    }
    store.create(item("P", "ITEMS", json!({}))).await.unwrap();
    store.create(item("PX", "ITEM#00000", json!({}))).await.unwrap();

    let all = query_all(store, "P", "ITEM#").await.unwrap();
    let keys: Vec<String> = all.iter().map(|i| i.key.sk.clone()).collect();
    let expected: Vec<String> = (0..count).map(|i| format!("ITEM#{i:05}")).collect();
    assert_eq!(keys, expected);
    assert!(query_all(store, "NOPE", "").await.unwrap().is_empty());
}

pub async fn a_cursor_only_works_for_its_own_query(store: &dyn ItemStore) {
    for i in 0..3 {
        store
            .create(item("P", &format!("A#{i}"), json!({})))
            .await
            .unwrap();
        store
            .create(item("Q", &format!("A#{i}"), json!({})))
            .await
            .unwrap();
    }
    let page = store.query("P", "A#", PageRequest::first(1)).await.unwrap();
    let cursor = page.next.expect("more follow");
    let elsewhere = store
        .query("Q", "A#", PageRequest::first(1).after(Some(cursor.clone())))
        .await;
    assert_eq!(elsewhere, Err(StoreError::InvalidCursor));
    let on_index = store
        .query_index("P", PageRequest::first(1).after(Some(cursor)))
        .await;
    assert_eq!(on_index, Err(StoreError::InvalidCursor));
    let garbage = store
        .query(
            "P",
            "A#",
            PageRequest::first(1).after(Some(prov_core::store::Cursor::from_client("%%%"))),
        )
        .await;
    assert_eq!(garbage, Err(StoreError::InvalidCursor));
}

pub async fn the_index_finds_items_and_follows_their_changes(store: &dyn ItemStore) {
    for i in 0..7 {
        let it = item(&format!("COMPANY#{i}"), "COMPANY", json!({"i": i})).with_index(
            if i % 2 == 0 { "PARTNER#even" } else { "PARTNER#odd" },
            format!("2026-0{i}#{i}"),
        );
        store.create(it).await.unwrap();
    }
    store
        .create(item("COMPANY#x", "COMPANY", json!({})))
        .await
        .unwrap(); // not indexed

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .query_index("PARTNER#even", PageRequest::first(3).after(cursor))
            .await
            .unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|i| i.data["i"].as_i64().unwrap()));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, [0, 2, 4, 6]);

    let down = store
        .query_index("PARTNER#even", PageRequest::first(10).descending())
        .await
        .unwrap();
    let down: Vec<i64> = down.items.iter().map(|i| i.data["i"].as_i64().unwrap()).collect();
    assert_eq!(down, [6, 4, 2, 0]);

    // Moving an item to another index key moves it in the index; deleting removes it.
    let moved = item("COMPANY#0", "COMPANY", json!({"i": 0})).with_index("PARTNER#odd", "2026-00#0");
    store.replace(moved, 1).await.unwrap();
    store
        .delete(&Key::new("COMPANY#2", "COMPANY"), None)
        .await
        .unwrap();
    let even = store
        .query_index("PARTNER#even", PageRequest::first(10))
        .await
        .unwrap();
    let even: Vec<i64> = even.items.iter().map(|i| i.data["i"].as_i64().unwrap()).collect();
    assert_eq!(even, [4, 6]);
    let odd = store
        .query_index("PARTNER#odd", PageRequest::first(10))
        .await
        .unwrap();
    let odd: Vec<i64> = odd.items.iter().map(|i| i.data["i"].as_i64().unwrap()).collect();
    assert_eq!(odd, [0, 1, 3, 5]);
    let none = store
        .query_index("PARTNER#none", PageRequest::first(10))
        .await
        .unwrap();
    assert!(none.items.is_empty() && none.next.is_none());
}

pub async fn a_scan_reads_every_partition_a_page_at_a_time(store: &dyn ItemStore) {
    // 30 items whose sort key starts with the prefix, over 10 partitions, among 40 others
    // (another prefix, a sort key the prefix extends, indexed or not).
    let mut expected = std::collections::BTreeSet::new();
    for p in 0..10 {
        let pk = format!("COMPANY#{p}");
        for i in 0..3 {
            let sk = format!("CONNECTION#app{i}");
            let it = item(&pk, &sk, json!({"p": p, "i": i}));
            let it = if i == 0 {
                it.with_index("IX", format!("{p}"))
            } else {
                it
            };
            store.create(it).await.unwrap();
            expected.insert((pk.clone(), sk));
        }
        for sk in ["COMPANY", "TM#1", "CONNECTIO", "ACCT#app0#1"] {
            store.create(item(&pk, sk, json!({}))).await.unwrap();
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut pages = 0;
    let mut cursor = None;
    loop {
        let page = store
            .scan("CONNECTION#", PageRequest::first(7).after(cursor))
            .await
            .unwrap();
        pages += 1;
        assert!(page.items.len() <= 7);
        for it in page.items {
            assert!(it.key.sk.starts_with("CONNECTION#"), "{:?}", it.key);
            // Whole items: data, version, index.
            let (p, i) = (it.data["p"].as_i64().unwrap(), it.data["i"].as_i64().unwrap());
            assert_eq!(
                it.key,
                Key::new(format!("COMPANY#{p}"), format!("CONNECTION#app{i}"))
            );
            assert_eq!(it.version, 1);
            assert_eq!(it.index.is_some(), i == 0);
            assert!(seen.insert((it.key.pk, it.key.sk)), "an item scanned twice");
        }
        assert!(pages < 100, "the scan does not end");
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    // A page reads at most 7 items of the table, matching or not: 70 items take 10 pages.
    assert!(pages >= 10, "{pages} pages");

    // An empty prefix reads everything.
    let everything = store.scan("", PageRequest::first(1000)).await.unwrap();
    assert_eq!(everything.items.len(), 70);
    // No order to reverse; an index query's cursor or garbage is not a scan's.
    assert!(matches!(
        store.scan("", PageRequest::first(10).descending()).await,
        Err(StoreError::Invalid(_))
    ));
    let on_index = store.query_index("IX", PageRequest::first(1)).await.unwrap().next;
    assert_eq!(
        store.scan("", PageRequest::first(10).after(on_index)).await,
        Err(StoreError::InvalidCursor)
    );
    let garbage = Some(prov_core::store::Cursor::from_client("%%%"));
    assert_eq!(
        store.scan("", PageRequest::first(10).after(garbage)).await,
        Err(StoreError::InvalidCursor)
    );
}

pub async fn concurrent_creates_of_one_key_have_one_winner(store: Arc<dyn ItemStore>) {
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.create(item("RACE", "ONE", json!({"writer": i}))).await })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => wins += 1,
            Err(StoreError::ConditionFailed) => {}
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!(wins, 1);
}

pub async fn bad_keys_are_refused(store: &dyn ItemStore) {
    assert!(matches!(
        store.get(&Key::new("", "x")).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.create(item("P", "a\0b", json!({}))).await,
        Err(StoreError::Invalid(_))
    ));
}
