//! Connecting apps through the API: API-key connect against the sandbox SCIM app, the SCIM
//! connector's whole lifecycle, OAuth against the sandbox authorization server (and every
//! way its callback can go wrong), token refresh, disconnect, and secret hygiene.

use prov_connectors::{AccountStatus, ConnectorError, NewAccount};
use prov_processes::connections::connector_for;
use serde_json::json;

use crate::support::{Company, RETURN_ORIGIN, World};

const SCIM_BASE: &str = "https://scim.sandbox.test/scim/v2";

fn api_key(token: &str) -> serde_json::Value {
    json!({"scim_base_url": SCIM_BASE, "scim_token": token})
}

#[tokio::test]
async fn an_api_key_is_verified_before_anything_is_saved() {
    let w = World::new().await;
    let c = w.company("owner@example.com", "simple").await;
    let path = w.connection_path(&c, "sandbox_scim");

    let wrong = w
        .send("POST", &path, Some(&c.admin), Some(api_key("wrong-key")))
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.text());
    assert_eq!(wrong.error_keys(), ["credentials"]);
    assert!(
        wrong.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("refused these credentials")
    );
    assert_eq!(w.secret_of(&c, "sandbox_scim").await, None);
    assert_eq!(w.state_of(&c, "sandbox_scim").await, "not_connected");

    let elsewhere = w
        .send(
            "POST",
            &path,
            Some(&c.admin),
            Some(json!({"scim_base_url": "https://evil.example.com/scim/v2", "scim_token": "sandbox-acme"})),
        )
        .await;
    assert_eq!(elsewhere.status, 422);
    let missing = w
        .send(
            "POST",
            &path,
            Some(&c.admin),
            Some(json!({"scim_token": "sandbox-acme", "extra": 1})),
        )
        .await;
    assert_eq!(missing.status, 422);
    assert_eq!(missing.error_keys(), ["extra", "scim_base_url"]);
    assert_eq!(w.secret_of(&c, "sandbox_scim").await, None);

    let good = w
        .send("POST", &path, Some(&c.admin), Some(api_key("sandbox-acme")))
        .await;
    assert_eq!(good.status, 200, "{}", good.text());
    let body = good.json();
    assert_eq!(body["state"], "connected");
    // What the admin typed, and the tenant the vendor says the token reaches.
    assert_eq!(
        body["tenant"],
        json!({
            "scim_base_url": SCIM_BASE,
            "tenant_id": prov_sandbox::tenant_id("sandbox-acme"),
            "tenant_name": prov_sandbox::tenant_name("sandbox-acme")
        })
    );
    assert!(!good.text().contains("sandbox-acme"), "no secret in the answer");
    assert!(
        w.secret_of(&c, "sandbox_scim")
            .await
            .unwrap()
            .contains("sandbox-acme")
    );
    let status = w.send("GET", &path, Some(&c.admin), None).await;
    assert_eq!(status.json()["connected_by"]["kind"], "admin");
    assert!(!status.text().contains("sandbox-acme"));
}

#[tokio::test]
async fn the_scim_connector_lives_a_whole_lifecycle_in_the_sandbox() {
    let w = World::new().await;
    let c = w.company("owner@example.com", "plus").await;
    let connected = w
        .send(
            "POST",
            &w.connection_path(&c, "sandbox_scim"),
            Some(&c.admin),
            Some(api_key("sandbox-life")),
        )
        .await;
    assert_eq!(connected.status, 200);
    for i in 0..150 {
        w.sandbox.seed_user(
            "sandbox-life",
            &format!("seed{i}@example.com"),
            "Seed",
            &format!("{i}"),
        );
    }
    let connector = connector_for(&w.apps, &c.id, "sandbox_scim").await.unwrap();

    // Two pages: 100, then 50.
    let first = connector.list(None).await.unwrap();
    assert_eq!(first.accounts.len(), 100);
    let second = connector.list(first.next.as_deref()).await.unwrap();
    assert_eq!(second.accounts.len(), 50);
    assert_eq!(second.next, None);

    let ada = NewAccount {
        email: "ada@example.com".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
    };
    let created = connector.create(&ada).await.unwrap();
    assert_eq!(
        created.status,
        AccountStatus::InviteSent,
        "invited until Ada accepts"
    );
    assert_eq!(created.email.as_deref(), Some("ada@example.com"));
    // Creating again returns the same account: no second account for one person.
    let again = connector.create(&ada).await.unwrap();
    assert_eq!(again.id, created.id);
    let found = connector.find_by_email("ADA@example.com").await.unwrap().unwrap();
    assert_eq!(found.id, created.id);
    assert!(w.sandbox.accept_invitation("sandbox-life", "ada@example.com"));
    assert_eq!(
        connector.get(&created.id).await.unwrap().unwrap().status,
        AccountStatus::Active
    );

    let suspended = connector.suspend(&created.id).await.unwrap();
    assert_eq!(suspended.status, AccountStatus::Suspended);
    let back = connector.reactivate(&created.id).await.unwrap();
    assert_eq!(back.status, AccountStatus::Active);

    connector.delete(&created.id).await.unwrap();
    assert_eq!(connector.get(&created.id).await.unwrap(), None);
    connector.delete(&created.id).await.unwrap(); // deleting what is gone succeeds
    assert_eq!(connector.find_by_email("ada@example.com").await.unwrap(), None);
    assert!(matches!(
        connector.suspend(&created.id).await,
        Err(ConnectorError::NotFound)
    ));

    // Transient vendor trouble is retried; what persists is reported as transient.
    w.sandbox.fail_next(2, 503);
    assert_eq!(connector.list(None).await.unwrap().accounts.len(), 100);
    w.sandbox.fail_next(10, 503);
    assert!(matches!(
        connector.list(None).await,
        Err(ConnectorError::Transient(_))
    ));
}

#[tokio::test]
async fn oauth_connects_with_state_and_pkce_and_refreshes_tokens() {
    let w = World::new().await;
    let c = w.company("owner@example.com", "plus").await;
    let location = w.oauth_round_trip(&c, "allow").await;
    let done = w.callback(&location).await;
    assert_eq!(done.status, 303, "{}", done.text());
    assert_eq!(
        done.header("location"),
        Some(format!("{RETURN_ORIGIN}/apps?app=sandbox_oauth&status=connected").as_str())
    );
    assert_eq!(done.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(w.state_of(&c, "sandbox_oauth").await, "connected");
    let stored = w.secret_of(&c, "sandbox_oauth").await.unwrap();
    assert!(stored.contains("\"kind\":\"oauth\"") && stored.contains("sbx-rt-"));

    let connector = connector_for(&w.apps, &c.id, "sandbox_oauth").await.unwrap();
    w.sandbox
        .seed_user(prov_sandbox::OAUTH_TENANT, "grace@example.com", "Grace", "Hopper");
    assert_eq!(connector.list(None).await.unwrap().accounts.len(), 1);

    // The vendor expires the access token: one 401, one refresh, and the rotated refresh
    // token is saved.
    w.sandbox.expire_access_tokens();
    assert_eq!(connector.list(None).await.unwrap().accounts.len(), 1);
    assert_eq!(w.sandbox.refreshes(), 1);
    let rotated = w.secret_of(&c, "sandbox_oauth").await.unwrap();
    assert_ne!(rotated, stored);

    // A fresh connector (another process) uses the saved, rotated tokens.
    let later = connector_for(&w.apps, &c.id, "sandbox_oauth").await.unwrap();
    assert_eq!(later.list(None).await.unwrap().accounts.len(), 1);

    // The vendor revokes everything: the connection needs to be connected again.
    w.sandbox.revoke_all_tokens();
    assert!(matches!(
        later.list(None).await,
        Err(ConnectorError::Unauthorized(_))
    ));
    assert_eq!(w.state_of(&c, "sandbox_oauth").await, "needs_reauth");
    let events = w
        .send(
            "GET",
            &format!("/v1/companies/{}/events", c.id),
            Some(&c.admin),
            None,
        )
        .await
        .json();
    assert_eq!(events["items"][0]["action"], "connection.needs_reauth");
}

#[tokio::test]
async fn every_failed_callback_stores_nothing() {
    let w = World::new().await;
    let c = w.company("owner@example.com", "plus").await;
    let assert_nothing = |label: &'static str| {
        let w = &w;
        let c = &c;
        async move {
            assert_eq!(w.secret_of(c, "sandbox_oauth").await, None, "{label}");
            assert_eq!(w.state_of(c, "sandbox_oauth").await, "not_connected", "{label}");
        }
    };

    // A forged state: a plain page, no redirect (the return URL cannot be trusted).
    let forged = w
        .callback("https://api.example.test/v1/oauth/callback?code=x&state=forged")
        .await;
    assert_eq!(forged.status, 400);
    assert!(forged.header("location").is_none());
    assert!(forged.text().contains("not valid"));
    assert_nothing("forged").await;

    // The admin says no.
    let denied = w.callback(&w.oauth_round_trip(&c, "deny").await).await;
    assert_eq!(denied.status, 303);
    assert!(denied.header("location").unwrap().contains("error=access_denied"));
    assert_nothing("denied").await;

    // Too slow: the state expired.
    let location = w.oauth_round_trip(&c, "allow").await;
    w.clock.advance(chrono::Duration::minutes(11));
    let expired = w.callback(&location).await;
    assert!(expired.header("location").unwrap().contains("error=expired"));
    assert_nothing("expired").await;

    // A code the vendor does not know: the exchange fails.
    let location = w.oauth_round_trip(&c, "allow").await;
    let tampered = location
        .split('&')
        .map(|p| {
            if p.starts_with("code=") || p.contains("?code=") {
                p.split("code=").next().unwrap().to_owned() + "code=bogus"
            } else {
                p.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("&");
    let failed = w.callback(&tampered).await;
    assert!(
        failed
            .header("location")
            .unwrap()
            .contains("error=exchange_failed"),
        "{:?}",
        failed.header("location")
    );
    assert_nothing("exchange").await;

    // A replayed callback: the state works once.
    let location = w.oauth_round_trip(&c, "allow").await;
    assert_eq!(w.callback(&location).await.status, 303);
    w.send(
        "DELETE",
        &w.connection_path(&c, "sandbox_oauth"),
        Some(&c.admin),
        None,
    )
    .await;
    let replay = w.callback(&location).await;
    assert_eq!(replay.status, 400);
    assert_eq!(w.secret_of(&c, "sandbox_oauth").await, None, "replay");
    assert_eq!(w.state_of(&c, "sandbox_oauth").await, "disconnected", "replay");
}

#[tokio::test]
async fn a_browser_without_the_start_cookie_cannot_finish_another_admins_connect() {
    let w = World::new().await;
    let c = w.company("owner@example.com", "plus").await;
    let assert_nothing = |label: &'static str| {
        let (w, c) = (&w, &c);
        async move {
            assert_eq!(w.secret_of(c, "sandbox_oauth").await, None, "{label}");
            assert_eq!(w.state_of(c, "sandbox_oauth").await, "not_connected", "{label}");
        }
    };

    // The start link binds the connect to the browser that opens it, with a cookie only the
    // OAuth routes receive, that scripts cannot read, and that comes back with the vendor's
    // cross-site redirect.
    let started = w
        .send(
            "POST",
            &format!("{}/oauth", w.connection_path(&c, "sandbox_oauth")),
            Some(&c.admin),
            Some(json!({})),
        )
        .await;
    let start_link = started.json()["authorize_url"].as_str().unwrap().to_owned();
    let opened = w.in_browser(&start_link, true).await;
    assert_eq!(opened.status, 303, "{}", opened.text());
    let cookie = opened.header("set-cookie").unwrap().to_owned();
    for part in [
        "oauth_browser=",
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/v1/oauth",
        "Max-Age=600",
    ] {
        assert!(cookie.contains(part), "{cookie} lacks {part}");
    }
    assert_eq!(opened.header("cache-control"), Some("no-store"));
    // Another browser cannot take the link over once it is opened.
    let elsewhere = w.in_browser(&start_link, false).await;
    assert_eq!(elsewhere.status, 400, "{}", elsewhere.text());
    assert!(elsewhere.header("set-cookie").is_none());
    assert!(elsewhere.header("location").is_none());

    // The admin sends the consent to someone in another organization, who approves it: their
    // browser has no cookie, so nothing is connected, and they are not sent to the return URL.
    let location = w.oauth_round_trip(&c, "allow").await;
    let stranger = w.in_browser(&location, false).await;
    assert_eq!(stranger.status, 400, "{}", stranger.text());
    assert!(stranger.header("location").is_none());
    assert!(stranger.text().contains("another browser"), "{}", stranger.text());
    assert_nothing("no cookie").await;
    // The state is used up: not even the admin's browser can finish it now.
    let replay = w.callback(&location).await;
    assert_eq!(replay.status, 400, "{}", replay.text());
    assert_nothing("replayed by the admin").await;

    // A cookie of another browser (well formed, not this connect's) is refused too.
    let location = w.oauth_round_trip(&c, "allow").await;
    let path = location.strip_prefix("https://api.example.test").unwrap();
    let request = axum::http::Request::builder()
        .uri(path)
        .header("cookie", format!("oauth_browser={}", "ab".repeat(32)))
        .body(axum::body::Body::empty())
        .unwrap();
    let forged = prov_testkit::call(&w.router, request).await;
    assert_eq!(forged.status, 400, "{}", forged.text());
    assert_nothing("another cookie").await;

    // The admin's own browser finishes a connect it started.
    let location = w.oauth_round_trip(&c, "allow").await;
    assert_eq!(w.callback(&location).await.status, 303);
    assert_eq!(w.state_of(&c, "sandbox_oauth").await, "connected");
    let events = w
        .send(
            "GET",
            &format!("/v1/companies/{}/events", c.id),
            Some(&c.admin),
            None,
        )
        .await
        .json();
    let connected = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "connection.connected")
        .count();
    assert_eq!(connected, 1, "only the admin's own connect: {events}");
}

#[tokio::test]
async fn oauth_start_checks_the_app_the_plan_and_the_return_url() {
    let w = World::new().await;
    let c = w.company("owner@example.com", "simple").await;
    let (w, c) = (&w, &c);
    let start = |app: &str, body: serde_json::Value| {
        let path = format!("{}/oauth", w.connection_path(c, app));
        async move { w.send("POST", &path, Some(&c.admin), Some(body)).await }
    };
    let evil = start(
        "sandbox_oauth",
        json!({"return_url": "https://evil.example.com/steal"}),
    )
    .await;
    assert_eq!(
        (evil.status.as_u16(), evil.error_keys()),
        (422, vec!["return_url".to_owned()])
    );
    let api_key_app = start("sandbox_scim", json!({})).await;
    assert_eq!(api_key_app.status, 422);
    let gated = start("github", json!({})).await;
    assert_eq!(
        (gated.status.as_u16(), gated.category()),
        (403, "forbidden".to_owned())
    );
    let unknown = start("myspace", json!({})).await;
    assert_eq!(unknown.status, 404);

    let started = start("sandbox_oauth", json!({})).await;
    assert_eq!(started.status, 200);
    assert_eq!(started.header("cache-control"), Some("no-store"));
    // The browser goes to the service's start link first, then on to the vendor.
    let start_link = started.json()["authorize_url"].as_str().unwrap().to_owned();
    assert!(
        start_link.starts_with("https://api.example.test/v1/oauth/start?state="),
        "{start_link}"
    );
    let opened = w.in_browser(&start_link, true).await;
    assert_eq!(opened.status, 303, "{}", opened.text());
    let url = url::Url::parse(opened.header("location").unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert!(q["state"].len() >= 16);
    assert_eq!(q["redirect_uri"], "https://api.example.test/v1/oauth/callback");
    assert_eq!(q["client_id"], prov_sandbox::CLIENT_ID);

    // An OAuth app whose client this service has no registration for says so.
    w.send(
        "PATCH",
        &format!("/v1/companies/{}", c.id),
        Some(&w.partner),
        Some(json!({"plan": "plus"})),
    )
    .await;
    let unconfigured = start("github", json!({})).await;
    assert_eq!(unconfigured.status, 503, "{}", unconfigured.text());
    assert!(
        unconfigured.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not configured")
    );
}

#[tokio::test]
async fn disconnect_forgets_the_credentials_and_a_reconnect_restores_management() {
    let w = World::new().await;
    let c = w.company("owner@example.com", "plus").await;
    let path = w.connection_path(&c, "sandbox_scim");
    assert_eq!(w.send("DELETE", &path, Some(&c.admin), None).await.status, 404);
    w.send("POST", &path, Some(&c.admin), Some(api_key("sandbox-dis")))
        .await;
    w.sandbox
        .seed_user("sandbox-dis", "kept@example.com", "Kept", "User");

    let gone = w.send("DELETE", &path, Some(&c.admin), None).await;
    assert_eq!(gone.status, 200);
    assert_eq!(gone.json()["state"], "disconnected");
    assert_eq!(w.secret_of(&c, "sandbox_scim").await, None);
    assert!(connector_for(&w.apps, &c.id, "sandbox_scim").await.is_err());

    // Nothing changed at the vendor; connecting again manages the same accounts.
    let again = w
        .send("POST", &path, Some(&c.admin), Some(api_key("sandbox-dis")))
        .await;
    assert_eq!(again.json()["state"], "connected");
    let connector = connector_for(&w.apps, &c.id, "sandbox_scim").await.unwrap();
    assert!(
        connector
            .find_by_email("kept@example.com")
            .await
            .unwrap()
            .is_some()
    );
    let events = w
        .send(
            "GET",
            &format!("/v1/companies/{}/events", c.id),
            Some(&c.admin),
            None,
        )
        .await
        .json();
    let actions: Vec<_> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .take(3)
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        actions,
        [
            "connection.connected",
            "connection.disconnected",
            "connection.connected"
        ]
    );
}

#[tokio::test]
async fn a_plain_admin_cannot_touch_connections() {
    let w = World::new().await;
    let c = w.company("owner@example.com", "plus").await;
    let invited = w
        .send(
            "POST",
            &format!("/v1/companies/{}/admins", c.id),
            Some(&c.admin),
            Some(json!({"first_name": "P", "last_name": "A", "email": "plain@example.com"})),
        )
        .await;
    assert_eq!(invited.status, 201);
    let mail = &w.outbox.recent(1).await.unwrap()[0];
    let claim = mail
        .email
        .text
        .split_whitespace()
        .find(|s| s.contains("/claim_account/"))
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let plain = w
        .send(
            "POST",
            &format!("/v1/claims/{claim}"),
            None,
            Some(json!({"email": "plain@example.com"})),
        )
        .await
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = w.connection_path(&c, "sandbox_scim");
    assert_eq!(
        w.send("POST", &path, Some(&plain), Some(api_key("sandbox-x")))
            .await
            .status,
        403
    );
    assert_eq!(w.send("GET", &path, Some(&plain), None).await.status, 403);
    assert_eq!(w.secret_of(&c, "sandbox_scim").await, None);
}

#[tokio::test]
async fn access_tokens_are_refreshed_before_they_expire() {
    let w = World::new().await;
    let c = w.company("owner@example.com", "plus").await;
    w.callback(&w.oauth_round_trip(&c, "allow").await).await;
    let connector = connector_for(&w.apps, &c.id, "sandbox_oauth").await.unwrap();
    connector.list(None).await.unwrap();
    assert_eq!(w.sandbox.refreshes(), 0);
    // The sandbox's tokens last an hour; 59 minutes later the next call refreshes first.
    w.clock.advance(chrono::Duration::minutes(59));
    connector.list(None).await.unwrap();
    assert_eq!(w.sandbox.refreshes(), 1);
    connector.list(None).await.unwrap();
    assert_eq!(
        w.sandbox.refreshes(),
        1,
        "the new token is used until it nears expiry"
    );
}

/// Collects everything the service logs.
#[derive(Clone, Default)]
struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_credential_reaches_a_response_or_a_log_line() {
    // One process-wide subscriber: a thread-local one misses events whose callsites other
    // tests (on other threads) registered first. Every test's logs land here; the secrets
    // below are this test's own.
    static CAPTURE: std::sync::OnceLock<Capture> = std::sync::OnceLock::new();
    let capture = CAPTURE
        .get_or_init(|| {
            let capture = Capture::default();
            let writer = capture.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_writer(move || writer.clone())
                .finish();
            tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
            capture
        })
        .clone();

    let w = World::new().await;
    let c = w.company("owner@example.com", "plus").await;
    let mut answers = Vec::new();
    let scim_path = w.connection_path(&c, "sandbox_scim");
    answers.push(
        w.send(
            "POST",
            &scim_path,
            Some(&c.admin),
            Some(api_key("wrong-secret-4711")),
        )
        .await,
    );
    answers.push(
        w.send(
            "POST",
            &scim_path,
            Some(&c.admin),
            Some(api_key("sandbox-hygiene-secret-42")),
        )
        .await,
    );
    answers.push(w.send("GET", &scim_path, Some(&c.admin), None).await);
    let location = w.oauth_round_trip(&c, "allow").await;
    answers.push(w.callback(&location).await);
    let oauth_secret = w.secret_of(&c, "sandbox_oauth").await.unwrap();
    let stored: serde_json::Value = serde_json::from_str(&oauth_secret).unwrap();
    let connector = connector_for(&w.apps, &c.id, "sandbox_oauth").await.unwrap();
    w.sandbox.expire_access_tokens();
    connector.list(None).await.unwrap();
    let refreshed: serde_json::Value =
        serde_json::from_str(&w.secret_of(&c, "sandbox_oauth").await.unwrap()).unwrap();
    answers.push(
        w.send(
            "GET",
            &w.connection_path(&c, "sandbox_oauth"),
            Some(&c.admin),
            None,
        )
        .await,
    );
    answers.push(w.send("DELETE", &scim_path, Some(&c.admin), None).await);
    answers.push(
        w.send(
            "GET",
            &format!("/v1/companies/{}/events?limit=100", c.id),
            Some(&c.admin),
            None,
        )
        .await,
    );

    let secrets = [
        "wrong-secret-4711".to_owned(),
        "sandbox-hygiene-secret-42".to_owned(),
        prov_sandbox::CLIENT_SECRET.to_owned(),
        stored["access_token"].as_str().unwrap().to_owned(),
        stored["refresh_token"].as_str().unwrap().to_owned(),
        refreshed["access_token"].as_str().unwrap().to_owned(),
        refreshed["refresh_token"].as_str().unwrap().to_owned(),
    ];
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("answered") && logs.contains("connection"),
        "logs were captured"
    );
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a log line holds a credential");
        for answer in &answers {
            assert!(
                !answer.text().contains(secret.as_str()),
                "an answer holds a credential"
            );
            for value in answer.headers.values() {
                assert!(!value.to_str().unwrap_or_default().contains(secret.as_str()));
            }
        }
    }
}

/// Recent audit events of a company, newest first: (action, detail).
async fn events(w: &World, c: &Company) -> Vec<(String, String)> {
    let events = w
        .send(
            "GET",
            &format!("/v1/companies/{}/events", c.id),
            Some(&c.admin),
            None,
        )
        .await
        .json();
    events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_owned(),
                e["detail"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_connection_is_bound_to_the_tenant_its_credentials_reach() {
    let w = World::new().await;
    let c = w.company("owner@example.com", "plus").await;
    let path = w.connection_path(&c, "sandbox_scim");
    let (one, two) = ("sandbox-tenant-one", "sandbox-tenant-two");
    let first = w.send("POST", &path, Some(&c.admin), Some(api_key(one))).await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.json()["tenant"]["tenant_id"], prov_sandbox::tenant_id(one));

    // The same tenant again: the credentials are replaced, the binding stays.
    let same = w.send("POST", &path, Some(&c.admin), Some(api_key(one))).await;
    assert_eq!(same.status, 200, "{}", same.text());
    assert_eq!(same.json()["tenant"], first.json()["tenant"]);

    // Another tenant: refused, naming both, and nothing changes.
    let other = w.send("POST", &path, Some(&c.admin), Some(api_key(two))).await;
    assert_eq!(other.status, 422, "{}", other.text());
    assert_eq!(other.error_keys(), ["switch_tenant"]);
    let message = other.json()["errors"][0]["message"].as_str().unwrap().to_owned();
    assert!(message.contains(&prov_sandbox::tenant_id(one)), "{message}");
    assert!(message.contains(&prov_sandbox::tenant_id(two)), "{message}");
    assert!(w.secret_of(&c, "sandbox_scim").await.unwrap().contains(one));
    let status = w.send("GET", &path, Some(&c.admin), None).await.json();
    assert_eq!(status["tenant"]["tenant_id"], prov_sandbox::tenant_id(one));

    // Confirmed: switched, and the switch is in the audit log with both tenants.
    let mut confirmed = api_key(two);
    confirmed["switch_tenant"] = json!(true);
    let switched = w.send("POST", &path, Some(&c.admin), Some(confirmed)).await;
    assert_eq!(switched.status, 200, "{}", switched.text());
    assert_eq!(
        switched.json()["tenant"]["tenant_id"],
        prov_sandbox::tenant_id(two)
    );
    assert!(w.secret_of(&c, "sandbox_scim").await.unwrap().contains(two));
    let (action, detail) = events(&w, &c)
        .await
        .into_iter()
        .find(|(a, _)| a == "connection.tenant_switched")
        .unwrap();
    assert_eq!(action, "connection.tenant_switched");
    assert!(
        detail.contains(&prov_sandbox::tenant_id(one)) && detail.contains(&prov_sandbox::tenant_id(two)),
        "{detail}"
    );
    // `switch_tenant` must be a boolean.
    let mut wrong = api_key(one);
    wrong["switch_tenant"] = json!("yes");
    let wrong = w.send("POST", &path, Some(&c.admin), Some(wrong)).await;
    assert_eq!(wrong.status, 422);
    assert_eq!(wrong.error_keys(), ["switch_tenant"]);
}

#[tokio::test]
async fn an_oauth_sign_in_to_another_workspace_needs_the_switch_confirmed() {
    let w = World::new().await;
    let c = w.company("owner@example.com", "plus").await;
    let first = w.callback(&w.oauth_round_trip(&c, "allow").await).await;
    assert_eq!(first.status, 303, "{}", first.text());
    assert_eq!(w.state_of(&c, "sandbox_oauth").await, "connected");
    let path = w.connection_path(&c, "sandbox_oauth");
    let bound = w.send("GET", &path, Some(&c.admin), None).await.json()["tenant"].clone();
    assert_eq!(
        bound["tenant_id"],
        prov_sandbox::tenant_id(prov_sandbox::OAUTH_TENANT)
    );
    let kept = w.secret_of(&c, "sandbox_oauth").await;

    // Signed in to another workspace without confirming: refused, nothing stored.
    let other = w.callback(&w.oauth_round_trip(&c, "allow-other").await).await;
    let location = other.header("location").unwrap().to_owned();
    assert!(location.contains("error=tenant_mismatch"), "{location}");
    assert_eq!(w.secret_of(&c, "sandbox_oauth").await, kept);
    assert_eq!(
        w.send("GET", &path, Some(&c.admin), None).await.json()["tenant"],
        bound
    );

    // Confirmed at the start: switched.
    let switched = w
        .callback(
            &w.oauth_round_trip_with(&c, "allow-other", json!({"switch_tenant": true}))
                .await,
        )
        .await;
    assert!(
        switched.header("location").unwrap().contains("status=connected"),
        "{:?}",
        switched.header("location")
    );
    let now = w.send("GET", &path, Some(&c.admin), None).await.json()["tenant"].clone();
    assert_eq!(
        now["tenant_id"],
        prov_sandbox::tenant_id(&format!("{}#other", prov_sandbox::OAUTH_TENANT))
    );
    assert!(
        events(&w, &c)
            .await
            .iter()
            .any(|(a, _)| a == "connection.tenant_switched")
    );
}

/// Issue 23: a connection marked `needs_reauth` writes the partner's webhook event with the
/// connection's own write (when the partner listens for it), and hands it to the worker.
#[tokio::test]
async fn a_connection_needing_reauth_is_announced_to_a_partner_that_listens() {
    let w = World::new().await;
    let registered = w
        .send(
            "POST",
            "/v1/webhook_endpoints",
            Some(&w.partner),
            Some(json!({"url": "https://hooks.example.test/provisioning", "events": ["connection.needs_reauth"]})),
        )
        .await;
    assert_eq!(registered.status, 201, "{}", registered.text());
    let c = w.company("reauth@example.com", "plus").await;
    let location = w.oauth_round_trip(&c, "allow").await;
    assert_eq!(w.callback(&location).await.status, 303);
    let connector = connector_for(&w.apps, &c.id, "sandbox_oauth").await.unwrap();
    // Nothing so far is an event of this kind.
    let outbox = |w: &World| {
        let store = w.apps.services.store.clone();
        let company = c.id.clone();
        async move {
            store
                .query(
                    &prov_core::keys::company_partition(&company),
                    "HOOKEVENT#",
                    prov_core::store::PageRequest::first(10),
                )
                .await
                .unwrap()
                .items
        }
    };
    assert!(outbox(&w).await.is_empty());

    w.sandbox.revoke_all_tokens();
    assert!(matches!(
        connector.list(None).await,
        Err(ConnectorError::Unauthorized(_))
    ));
    assert_eq!(w.state_of(&c, "sandbox_oauth").await, "needs_reauth");
    let written = outbox(&w).await;
    assert_eq!(written.len(), 1);
    let event = &written[0].data["event"];
    assert_eq!(event["type"], "connection.needs_reauth");
    assert_eq!(event["company_id"], c.id.as_str());
    assert_eq!(event["data"]["app"], "sandbox_oauth");
    assert!(
        event["data"]["problem"]
            .as_str()
            .is_some_and(|p| p.contains("connect it again")),
        "{event}"
    );
    // Handed to the worker at once.
    let queued = w
        .apps
        .queue
        .receive(10, chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert!(
        queued
            .iter()
            .any(|m| m.body["kind"] == "webhook_event" && m.body["event_id"] == event["id"]),
        "{queued:?}"
    );
}
