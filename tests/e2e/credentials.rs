//! Connection credentials at rest (issue 27): encrypted in the main table beside their
//! connection, never there in plain text, deleted by a disconnect. Through the API, with the
//! devserver's wiring (embedded store, a key file) and the deployed one (DynamoDB, a keyring
//! in Secrets Manager; moto).

use aws_sdk_dynamodb::types::AttributeValue;
use prov_core::keys::credentials_key;
use prov_core::secrets::connection_secret_name;
use serde_json::{Value, json};

use crate::flows::oauth_connected;
use crate::support::{Co, Walk};

/// API-key apps connected with known secret values: (app, connect fields, the secrets in them).
fn api_key_apps() -> Vec<(&'static str, Value, Vec<&'static str>)> {
    vec![
        (
            "sandbox_scim",
            json!({"scim_base_url": "https://scim.sandbox.test/scim/v2", "scim_token": "sandbox-at-rest-scim-token-0123"}),
            vec!["sandbox-at-rest-scim-token-0123"],
        ),
        (
            "okta",
            json!({"org_url": prov_sandbox::OKTA_ORG, "api_token": "sandbox-okta-at-rest-token"}),
            vec!["sandbox-okta-at-rest-token"],
        ),
        (
            "dynatrace",
            json!({"account_uuid": "6f1c1b9e-0c52-4d7a-9a43-2b8f4f0e3c99", "client_id": "dt0s02.ATREST",
                   "client_secret": "sandbox-dynatrace-at-rest-secret"}),
            vec!["sandbox-dynatrace-at-rest-secret"],
        ),
    ]
}

/// Connects every API-key app and HubSpot (OAuth) for a new company; answers the company and
/// every secret value it handed over or was issued (the OAuth access and refresh tokens).
async fn connect_all(w: &Walk, owner: &str) -> (Co, Vec<String>, Vec<&'static str>) {
    let (co, _) = oauth_connected(w, owner, "hubspot", "/_sandbox/hubspot/oauth/authorize").await;
    let mut secrets = Vec::new();
    let mut apps = vec!["hubspot"];
    for (app, fields, values) in api_key_apps() {
        let connected = w
            .send(
                "POST",
                &co.path(&format!("/apps/{app}/connection")),
                Some(&co.admin),
                Some(fields),
            )
            .await;
        assert_eq!(connected.status, 200, "{app}: {}", connected.text());
        secrets.extend(values.into_iter().map(str::to_owned));
        apps.push(app);
    }
    let issued = w.local.sandbox.live_tokens();
    assert!(issued.len() >= 2, "the OAuth app was issued tokens: {issued:?}");
    secrets.extend(issued);
    (co, secrets, apps)
}

/// Disconnects `app` through the API.
async fn disconnect(w: &Walk, co: &Co, app: &str) {
    let answer = w
        .send(
            "DELETE",
            &co.path(&format!("/apps/{app}/connection")),
            Some(&co.admin),
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{app}: {}", answer.text());
    assert_eq!(answer.json()["state"], "disconnected");
}

async fn credentials_item(w: &Walk, co: &Co, app: &str) -> Option<String> {
    w.local
        .services
        .store
        .get(&credentials_key(&co.id, app))
        .await
        .unwrap()
        .map(|item| item.data["ciphertext"].as_str().unwrap().to_owned())
}

/// Every file under `dir`, as bytes.
fn files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files(&path));
        } else {
            found.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_encrypted_in_the_local_store_and_a_disconnect_deletes_them() {
    let w = Walk::start().await;
    let (co, secrets, apps) = connect_all(&w, "at-rest-local@example.com").await;
    for app in &apps {
        let sealed = credentials_item(&w, &co, app)
            .await
            .expect("credentials beside the connection");
        assert!(sealed.starts_with("v1.k1."), "{app}: {sealed}");
    }
    // Nothing under the data dir holds a credential in plain text: not the store's file (its
    // free pages included), not the key file, no file per connection.
    let stored = files(w.data_dir());
    assert!(stored.iter().any(|(path, _)| path.ends_with("store.redb")));
    for (path, bytes) in &stored {
        let text = String::from_utf8_lossy(bytes);
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{secret} is in {}",
                path.display()
            );
        }
    }
    // The app still works from the encrypted credentials.
    let synced = w.sync(&co, "okta").await;
    assert_eq!(synced.status, 200, "{}", synced.text());

    for app in ["okta", "hubspot"] {
        disconnect(&w, &co, app).await;
        assert_eq!(credentials_item(&w, &co, app).await, None, "{app}");
        let name = connection_secret_name(&co.id, app);
        assert!(w.local.apps.secrets.get(&name).await.unwrap().is_none());
    }
    // The others are untouched.
    assert!(credentials_item(&w, &co, "sandbox_scim").await.is_some());
}

/// Every item of a DynamoDB table, each attribute's value as text.
async fn scan(table: &str) -> Vec<std::collections::HashMap<String, AttributeValue>> {
    let client = prov_testkit::dynamodb_client();
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        items.extend(page.items.unwrap_or_default());
        start = page.last_evaluated_key;
        if start.is_none() {
            return items;
        }
    }
}

fn is_credentials(item: &std::collections::HashMap<String, AttributeValue>) -> bool {
    matches!(item.get("sk"), Some(AttributeValue::S(sk)) if sk.starts_with("CREDENTIALS#"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_item_in_dynamodb_holds_a_credential_in_plain_text() {
    let w = Walk::start_on_dynamodb().await;
    let table = w.table.clone().unwrap();
    let (co, secrets, apps) = connect_all(&w, "at-rest-dynamodb@example.com").await;
    let items = scan(&table).await;
    assert_eq!(items.iter().filter(|i| is_credentials(i)).count(), apps.len());
    for item in &items {
        // Every attribute of every item (keys, data, index keys), as DynamoDB holds it.
        let text = format!("{item:?}");
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{secret} is stored in plain text: {text}"
            );
        }
    }
    // The app works from the encrypted credentials.
    let synced = w.sync(&co, "okta").await;
    assert_eq!(synced.status, 200, "{}", synced.text());

    for app in &apps {
        disconnect(&w, &co, app).await;
    }
    assert!(
        !scan(&table).await.iter().any(is_credentials),
        "a disconnect deletes the credentials"
    );
}
