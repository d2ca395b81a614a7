//! Issue 25: the devserver's scheduler survives a failing job, its data is its owner's
//! alone, the outbox answers this machine only, slow clients are cut off, and offline means
//! offline.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use devserver::{Local, LocalConfig};
use prov_connectors::egress::HostPattern;
use prov_connectors::http::{Session, StaticAuth, VendorRequest};
use prov_connectors::{ConnectorError, registry};
use prov_core::clock::SystemClock;
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

fn open(data_dir: &std::path::Path) -> Local {
    let config = LocalConfig {
        data_dir,
        public_base_url: "http://127.0.0.1:3000",
        listen_url: "http://127.0.0.1:3000",
        vendor_routes: &[],
    };
    Local::open(&config, Arc::new(SystemClock)).unwrap()
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn the_scheduler_survives_a_panicking_and_a_failing_tick() {
    let (ran, mut runs) = tokio::sync::mpsc::unbounded_channel();
    let mut tick = 0;
    let scheduler = tokio::spawn(devserver::run_every(Duration::from_millis(5), move || {
        tick += 1;
        let (n, ran) = (tick, ran.clone());
        async move {
            match n {
                1 => panic!("a vendor's answer crashed the cleanup"),
                2 => Err(prov_core::Error::Internal("the store is down".into())),
                _ => {
                    ran.send(n).unwrap();
                    Ok(0)
                }
            }
        }
    }));
    // The ticks after the panic and the error still run.
    for expected in [3, 4] {
        let n = tokio::time::timeout(Duration::from_secs(10), runs.recv())
            .await
            .expect("the scheduler is still ticking");
        assert_eq!(n, Some(expected));
    }
    assert!(!scheduler.is_finished(), "the scheduler's task is alive");
    scheduler.abort();
}

#[cfg(unix)]
#[test]
fn the_data_dir_and_its_store_are_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let fresh = parent.path().join("data");
    drop(open(&fresh));
    assert_eq!(mode(&fresh), 0o700);
    assert_eq!(mode(&fresh.join("store.redb")), 0o600);
    assert_eq!(mode(&fresh.join("credentials.key")), 0o600);
    // Credentials are in the store, encrypted: no file per connection any more.
    assert!(!fresh.join("secrets").exists());

    // A data dir made before: readable by everyone, tightened at the next start.
    let older = parent.path().join("older");
    drop(open(&older));
    std::fs::set_permissions(&older, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(older.join("store.redb"), std::fs::Permissions::from_mode(0o644)).unwrap();
    // It still has the secret files of a version from before (moved into the store as read).
    std::fs::create_dir(older.join("secrets")).unwrap();
    std::fs::set_permissions(older.join("secrets"), std::fs::Permissions::from_mode(0o755)).unwrap();
    drop(open(&older));
    assert_eq!(mode(&older), 0o700);
    assert_eq!(mode(&older.join("store.redb")), 0o600);
    assert_eq!(mode(&older.join("secrets")), 0o700);

    // A directory that holds other things (e.g. `/tmp`) keeps its mode; the store does not.
    let shared = parent.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::write(shared.join("someone-elses.txt"), "x").unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
    drop(open(&shared));
    assert_eq!(mode(&shared), 0o755);
    assert_eq!(mode(&shared.join("store.redb")), 0o600);
}

#[tokio::test]
async fn the_outbox_answers_this_machine_only() {
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path()).app();
    let from = |peer: Option<SocketAddr>| {
        let mut request = axum::http::Request::get("/_dev/outbox");
        if let Some(peer) = peer {
            request = request.extension(ConnectInfo(peer));
        }
        request.body(axum::body::Body::empty()).unwrap()
    };
    for peer in [
        Some(SocketAddr::from(([127, 0, 0, 1], 50000))),
        Some("[::1]:50000".parse().unwrap()),
        Some("[::ffff:127.0.0.1]:50000".parse().unwrap()),
        None,
    ] {
        let answer = app.clone().oneshot(from(peer)).await.unwrap();
        assert_eq!(answer.status(), 200, "{peer:?}");
    }
    for peer in ["192.168.1.20:50000", "10.0.0.7:50000", "[2001:4860::1]:50000"] {
        let answer = app
            .clone()
            .oneshot(from(Some(peer.parse().unwrap())))
            .await
            .unwrap();
        assert_eq!(answer.status(), 404, "{peer}");
        let body = axum::body::to_bytes(answer.into_body(), 1 << 16).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["errors"][0]["category"], "not_found", "{peer}: {body}");
    }
}

/// A client that sends its request line and then one header byte at a time, never
/// finishing, is cut off after the header read timeout; others are served meanwhile.
#[tokio::test]
async fn a_slow_loris_client_is_cut_off_after_the_header_read_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "served" }));
    let timeout = Duration::from_millis(300);
    tokio::spawn(devserver::serve(listener, app, timeout, std::future::pending()));

    let mut slow = tokio::net::TcpStream::connect(address).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let dripping = async {
        // The drip is the client under test, not a wait for the server.
        loop {
            if slow.write_all(b"X").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), dripping)
        .await
        .expect("the server closed the slow connection");
    let held = started.elapsed();
    assert!(held >= timeout, "closed after {held:?}");

    let mut fine = tokio::net::TcpStream::connect(address).await.unwrap();
    fine.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    fine.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("served"), "{answer}");
}

/// A sample host of a registry host pattern (`*.okta.com` → `acme.okta.com`).
fn sample(pattern: &str) -> String {
    pattern.replace("*.", "acme.")
}

#[test]
fn every_host_of_every_app_goes_to_the_sandbox_offline() {
    let dir = tempfile::tempdir().unwrap();
    let local = open(dir.path());
    let policy = local.http.policy();
    let mut checked = 0;
    for spec in registry::all() {
        for host in spec.hosts {
            let url = url::Url::parse(&format!("https://{}/x", sample(host))).unwrap();
            let target = policy
                .prepare(&url, &spec.host_patterns())
                .unwrap_or_else(|e| panic!("{}: {host}: {e}", spec.slug()));
            assert!(
                target.as_str().starts_with("http://127.0.0.1:3000/_sandbox/"),
                "{}: {host} goes to {target}",
                spec.slug()
            );
            checked += 1;
        }
    }
    for okta in ["acme.oktapreview.com", "acme.okta-emea.com"] {
        let url = url::Url::parse(&format!("https://{okta}/api/v1/users/me")).unwrap();
        let target = policy
            .prepare(&url, &registry::spec("okta").unwrap().host_patterns())
            .unwrap();
        assert_eq!(
            target.as_str(),
            "http://127.0.0.1:3000/_sandbox/okta/api/v1/users/me"
        );
    }
    assert!(checked >= 40, "{checked} hosts");
}

#[tokio::test]
async fn a_vendor_host_without_a_sandbox_route_is_refused_offline_before_any_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let local = open(dir.path());
    let session = Session::new(
        local.http.clone(),
        "okta",
        "com_1",
        vec![HostPattern::new("*.unrouted-vendor.example").unwrap()],
        Arc::new(StaticAuth::bearer(&SecretString::from("typed-by-an-admin"))),
        None,
    );
    let url = url::Url::parse("https://acme.unrouted-vendor.example/api/v1/users/me").unwrap();
    match session.send(VendorRequest::get(url)).await {
        // Refused by the policy: no name was resolved, no connection opened (either would
        // have failed as `Transient`).
        Err(ConnectorError::Refused(why)) => {
            assert!(why.contains("acme.unrouted-vendor.example"), "{why}");
            assert!(!why.contains("typed-by-an-admin"), "{why}");
        }
        other => panic!("{other:?}"),
    }
}
