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

/// At start the devserver prints a console sign-in link; a fresh data dir first gets a demo
/// company to try. A restart reuses it.
#[tokio::test]
async fn the_devserver_offers_a_console_sign_in_link() {
    let dir = tempfile::tempdir().unwrap();
    let local = start(dir.path()).await;
    let partner = prov_core::auth::authenticate(
        local.services.store.as_ref(),
        local.services.clock.as_ref(),
        TOKEN,
    )
    .await
    .unwrap();
    let first = devserver::console_sign_in_link(&local, &partner).await.unwrap();
    assert_eq!(
        first.company, "Demo Company, Inc.",
        "the printed link names its company"
    );
    let link = first.url;
    assert!(
        link.starts_with("http://127.0.0.1:3000/console/sign_in/link/"),
        "{link}"
    );
    let app = local.app();
    // Another company of the partner: the link still opens the demo company.
    let body = json!({"user": {"first_name": "Late", "last_name": "Comer", "email": "late@example.com"},
                      "company": {"name": "Made Later, LLC"}});
    let later = call(&app, json_request("POST", "/v1/provision", Some(TOKEN), &body)).await;
    assert_eq!(later.status, 200, "{}", later.text());
    let again = devserver::console_sign_in_link(&local, &partner).await.unwrap();
    assert_ne!(link, again.url, "each link is new");
    assert_eq!(again.company, "Demo Company, Inc.");
    let secret = again.url.rsplit('/').next().unwrap();
    let opened = console::session::redeem_link(&local.apps, secret).await.unwrap();
    let prov_core::auth::Principal::Admin { company_id, .. } = opened else {
        panic!("an admin's link")
    };
    let companies = call(&app, get("/v1/companies", Some(TOKEN))).await.json();
    let items = companies["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        2,
        "one demo company, not one per start (and the later one)"
    );
    assert_eq!(items[0]["plan"], "plus");
    let id = items[0]["id"].as_str().unwrap();
    assert_eq!(company_id, id, "the link opens the demo company");
    let team = call(
        &app,
        get(&format!("/v1/companies/{id}/team_members"), Some(TOKEN)),
    )
    .await;
    assert_eq!(team.json()["items"].as_array().unwrap().len(), 3);
    // The link opens the sign-in page.
    let path = &link[link.find("/console/").unwrap()..];
    let page = call(&app, get(path, None)).await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("one-time link"));
}
