//! The devserver's local set-up: embedded store, outbox, and data that survives a restart.

use std::sync::Arc;

use devserver::Local;
use prov_core::auth::ensure_partner_token;
use prov_core::clock::SystemClock;
use prov_testkit::{call, get, json_request};
use secrecy::SecretString;
use serde_json::json;

const TOKEN: &str = "dev-partner-token-for-tests-0123456789";

async fn start(dir: &std::path::Path) -> Local {
    let config = devserver::LocalConfig {
        data_dir: dir,
        public_base_url: "http://127.0.0.1:3000",
        listen_url: "http://127.0.0.1:3000",
        vendor_routes: &[],
    };
    let local = Local::open(&config, Arc::new(SystemClock)).unwrap();
    ensure_partner_token(
        local.services.store.as_ref(),
        &SystemClock,
        "Dev",
        &SecretString::from(TOKEN),
    )
    .await
    .unwrap();
    local
}

#[tokio::test]
async fn data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let company_id = {
        let local = start(dir.path()).await;
        let app = local.app();
        let body = json!({"user": {"first_name": "Frank", "last_name": "Ocean", "email": "frank@example.com"},
                          "company": {"name": "Frank's Ocean, LLC"}});
        let answer = call(&app, json_request("POST", "/v1/provision", Some(TOKEN), &body)).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        let listed = call(&app, get("/v1/companies", Some(TOKEN))).await;
        listed.json()["items"][0]["id"].as_str().unwrap().to_owned()
    };

    // A new process on the same data dir: same partner token, same company, same outbox.
    let local = start(dir.path()).await;
    let app = local.app();
    let company = call(&app, get(&format!("/v1/companies/{company_id}"), Some(TOKEN))).await;
    assert_eq!(company.status, 200);
    assert_eq!(company.json()["name"], "Frank's Ocean, LLC");
    let outbox = call(&app, get("/_dev/outbox", None)).await;
    let emails = outbox.json()["items"].as_array().unwrap().clone();
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0]["to"], "frank@example.com");
    assert!(
        emails[0]["text"]
            .as_str()
            .unwrap()
            .contains("http://127.0.0.1:3000/claim_account/")
    );
}

#[tokio::test]
async fn the_devserver_answers_unknown_routes_in_the_error_shape() {
    let dir = tempfile::tempdir().unwrap();
    let app = start(dir.path()).await.app();
    let answer = call(&app, get("/nowhere", None)).await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.error_keys(), ["path"]);
}
