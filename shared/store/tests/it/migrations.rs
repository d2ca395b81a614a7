//! The one-off migrations of `prov_core::migrations`, on both adapters.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use prov_core::connections::Connection;
use prov_core::keys::{CONNECTIONS_INDEX, connection_key, migration_key};
use prov_core::migrations::{self, Limits, Progress, Ran};
use prov_core::store::{Item, ItemStore, Key, PageRequest};
use serde_json::json;

fn connection(company: usize, app: &str) -> Connection {
    serde_json::from_value(json!({
        "app": app,
        "company_id": format!("c{company}"),
        "state": if company.is_multiple_of(3) { "needs_reauth" } else { "connected" },
        "tenant": {},
        "secret_name": format!("conn/c{company}/{app}"),
        "connected_at": "2026-01-05T10:00:00Z",
        "connected_by": {"kind": "system"},
        "updated_at": "2026-01-05T10:00:00Z",
        "problem": null
    }))
    .unwrap()
}

fn limits(page_size: u32, max_pages: u32) -> Limits {
    Limits {
        page_size,
        max_pages,
        budget: Duration::from_secs(600),
    }
}

async fn version_of(store: &dyn ItemStore, key: &Key) -> u64 {
    store.get(key).await.unwrap().unwrap().version
}

/// 120 companies each have a connection saved before the `CONNECTIONS` index (without its
/// entry); every 4th has one saved since (with it); each has other records too. A first
/// run is cut short after 2 pages, then 4 instances run the migration at once, a page per
/// call, until it is over.
async fn connections_saved_before_the_index_get_theirs_once_whatever_runs_it(store: Arc<dyn ItemStore>) {
    let mut before = Vec::new();
    let mut since = Vec::new();
    for c in 0..120 {
        let old = connection(c, "slack");
        let key = connection_key(&old.company_id, &old.app);
        store
            .create(Item::from_record(key.clone(), &old).unwrap())
            .await
            .unwrap();
        before.push((key, old));
        if c.is_multiple_of(4) {
            let new = connection(c, "okta");
            store.create(new.item().unwrap()).await.unwrap();
            since.push(new);
        }
        for sk in ["COMPANY", "TM#t1", "ACCT#slack#a1", "CREDENTIALS#slack"] {
            let other = Item::from_record(Key::new(format!("COMPANY#c{c}"), sk), &json!({"n": c})).unwrap();
            store.create(other).await.unwrap();
        }
    }
    // A record under a connection's key that is not one is left out of the index.
    let broken = connection_key("broken", "slack");
    store
        .create(Item::from_record(broken.clone(), &json!({"app": 7})).unwrap())
        .await
        .unwrap();
    let marker = migration_key(migrations::CONNECTIONS_INDEX);

    let first = migrations::index_connections(store.as_ref(), limits(50, 2))
        .await
        .unwrap();
    assert_eq!((first.pages, first.done), (2, false), "{first:?}");
    let progress: Progress = store.get(&marker).await.unwrap().unwrap().record().unwrap();
    assert_eq!((progress.pages, progress.done), (2, false));
    assert!(progress.cursor.is_some());

    let instances: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut changed = 0;
                for _ in 0..1000 {
                    let ran = migrations::index_connections(store.as_ref(), limits(50, 1))
                        .await
                        .unwrap();
                    changed += ran.changed;
                    if ran.done {
                        return changed;
                    }
                }
                panic!("the migration never ended")
            })
        })
        .collect();
    let mut changed = first.changed;
    for instance in instances {
        changed += instance.await.unwrap();
    }
    // Each connection saved before was changed exactly once, by one of the runs.
    assert_eq!(changed, 120);

    // The index now lists every connection, under the entry saving it gives.
    let mut listed = HashSet::new();
    let mut cursor = None;
    loop {
        let page = store
            .query_index(CONNECTIONS_INDEX, PageRequest::first(100).after(cursor))
            .await
            .unwrap();
        for it in &page.items {
            let c: Connection = it.record().unwrap();
            assert_eq!(it.index, c.item().unwrap().index);
            listed.insert(it.key.clone());
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let expected: HashSet<Key> = before
        .iter()
        .map(|(k, _)| k.clone())
        .chain(since.iter().map(|c| connection_key(&c.company_id, &c.app)))
        .collect();
    assert_eq!(listed, expected);
    // Written once each, and only the index changed; the rest is untouched.
    for (key, old) in &before {
        let now = store.get(key).await.unwrap().unwrap();
        assert_eq!(now.version, 2);
        assert_eq!(&now.record::<Connection>().unwrap(), old);
    }
    for new in &since {
        assert_eq!(
            version_of(store.as_ref(), &connection_key(&new.company_id, &new.app)).await,
            1
        );
    }
    let broken_now = store.get(&broken).await.unwrap().unwrap();
    assert_eq!((broken_now.version, broken_now.index), (1, None));
    for c in [0, 59, 119] {
        let tm = Key::new(format!("COMPANY#c{c}"), "TM#t1");
        assert_eq!(store.get(&tm).await.unwrap().unwrap().index, None);
        assert_eq!(version_of(store.as_ref(), &tm).await, 1);
    }

    // Over: a later run reads nothing but the marker and writes nothing.
    let progress: Progress = store.get(&marker).await.unwrap().unwrap().record().unwrap();
    assert!(progress.done && progress.cursor.is_none(), "{progress:?}");
    let marker_version = version_of(store.as_ref(), &marker).await;
    let again = migrations::index_connections(store.as_ref(), Limits::TICK)
        .await
        .unwrap();
    assert_eq!(
        again,
        Ran {
            pages: 0,
            changed: 0,
            done: true
        }
    );
    assert_eq!(version_of(store.as_ref(), &marker).await, marker_version);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_connections_saved_before_the_index_get_theirs_once_whatever_runs_it() {
    let fixture = super::embedded().await;
    connections_saved_before_the_index_get_theirs_once_whatever_runs_it(fixture.store.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_connections_saved_before_the_index_get_theirs_once_whatever_runs_it() {
    let fixture = super::dynamodb().await;
    connections_saved_before_the_index_get_theirs_once_whatever_runs_it(fixture.store.clone()).await;
}
