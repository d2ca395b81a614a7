//! The devserver binary as people run it: flags, printed URL and token, admin command.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_devserver");

struct Server {
    child: Child,
    url: String,
    token: String,
    // Kept open: the server writes to it.
    _stdout: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the devserver on a free port and reads what it prints at start.
fn start(data_dir: &Path, extra: &[&str]) -> Server {
    let mut child = Command::new(BIN)
        .args(["--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("devserver starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = |prefix: &str| {
        let line = lines.next().expect("a line").expect("readable");
        line.strip_prefix(prefix)
            .unwrap_or_else(|| panic!("expected {prefix:?}, got {line:?}"))
            .to_owned()
    };
    let url = next("devserver listening on ");
    let token = next("dev partner token: ");
    assert_eq!(next("sent emails: "), format!("{url}/_dev/outbox"));
    Server {
        child,
        url,
        token,
        _stdout: lines,
    }
}

async fn companies(server: &Server, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}/v1/companies", server.url))
        .header("authorization", format!("Token {token}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn prints_its_url_and_a_kept_dev_token() {
    let dir = tempfile::tempdir().unwrap();
    let first = start(dir.path(), &[]);
    assert!(first.url.starts_with("http://127.0.0.1:"));
    assert_eq!(first.token.len(), 56);
    assert_eq!(companies(&first, &first.token).await.status(), 200);
    assert_eq!(
        companies(&first, "not-a-real-token-000000000000000000")
            .await
            .status(),
        401
    );
    let token = first.token.clone();
    drop(first);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("dev-partner-token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let second = start(dir.path(), &[]);
    assert_eq!(second.token, token, "the dev token is kept across restarts");
    assert_eq!(companies(&second, &token).await.status(), 200);
}

#[tokio::test]
async fn the_readme_example_works() {
    let dir = tempfile::tempdir().unwrap();
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let token = "dev-partner-token-0123456789abcdef";
    assert!(readme.contains(&format!("cargo run -p devserver -- --partner-token {token}")));
    assert!(readme.contains(&format!("-H 'Authorization: Token {token}'")));
    let server = start(dir.path(), &["--partner-token", token]);
    assert_eq!(server.token, token);
    // The body of the README's curl command, as the shell passes it.
    let body = json!({"user":{"first_name":"Frank","last_name":"Ocean","email":"frank@example.com"},
                      "company":{"name":"Frank's Ocean, LLC"}});
    assert!(readme.contains(r#""company":{"name":"Frank'"'"'s Ocean, LLC"}"#));
    let answer = reqwest::Client::new()
        .post(format!("{}/v1/provision", server.url))
        .header("authorization", format!("Token {token}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let answer: Value = answer.json().await.unwrap();
    let url = answer["account_claim_url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/claim_account/", server.url)));
    let page = reqwest::get(url).await.unwrap();
    assert_eq!(page.status(), 200);
}

#[tokio::test]
async fn create_partner_prints_a_token_that_works() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["create-partner", "--name", "Acme Payroll", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = stdout
        .lines()
        .find_map(|l| l.strip_prefix("token (shown once, store it now): "))
        .unwrap()
        .to_owned();
    let server = start(dir.path(), &[]);
    assert_ne!(server.token, token);
    assert_eq!(companies(&server, &token).await.status(), 200);
}

/// What a fake vendor received.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, String, Option<String>)>>>;

/// A fake vendor that records requests and answers an empty SCIM list.
async fn recording_vendor() -> (String, Seen) {
    use axum::extract::{Request, State};
    let seen: Seen = Default::default();
    let app = axum::Router::new()
        .fallback(|State(seen): State<Seen>, req: Request| async move {
            let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
            seen.lock().unwrap().push((req.method().to_string(), req.uri().to_string(), auth));
            axum::Json(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0, "Resources": []}))
        })
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vendor_routes_send_a_vendors_calls_elsewhere_with_their_own_paths() {
    let (vendor, seen) = recording_vendor().await;
    let dir = tempfile::tempdir().unwrap();
    let route = format!("scim.sandbox.test={vendor}/recorded");
    let server = start(dir.path(), &["--vendor-route", &route]);
    let client = reqwest::Client::new();
    let token = server.token.clone();
    let provision = json!({"user": {"first_name": "R", "last_name": "V", "email": "route@example.com"}, "company": {"name": "Routed"}});
    let answer = client
        .post(format!("{}/v1/provision", server.url))
        .header("authorization", format!("Token {token}"))
        .json(&provision)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let companies: Value = companies(&server, &token).await.json().await.unwrap();
    let company = companies["items"][0]["id"].as_str().unwrap().to_owned();
    let connected = client
        .post(format!(
            "{}/v1/companies/{company}/apps/sandbox_scim/connection",
            server.url
        ))
        .header("authorization", format!("Token {token}"))
        .json(&json!({"scim_base_url": "https://scim.sandbox.test/scim/v2", "scim_token": "sandbox-routed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(connected.status(), 200, "{}", connected.text().await.unwrap());
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [(
            "GET".to_owned(),
            "/recorded/scim/v2/Users?count=1".to_owned(),
            Some("Bearer sandbox-routed".to_owned())
        )]
    );
}

#[test]
fn a_route_to_a_private_address_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(["--vendor-route", "api.slack.com=http://10.1.2.3/"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("10.1.2.3") && stderr.contains("api.slack.com"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_calls_go_through_the_configured_proxy() {
    // The "proxy" records what it is asked to fetch; the vendor's address has nobody
    // listening, so only the proxy can answer.
    let (proxy, seen) = recording_vendor().await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args([
            "--vendor-route",
            "scim.sandbox.test=http://127.0.0.1:9/behind-proxy",
        ])
        .env("HTTP_PROXY", &proxy)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines
        .next()
        .unwrap()
        .unwrap()
        .strip_prefix("devserver listening on ")
        .unwrap()
        .to_owned();
    let token = lines
        .next()
        .unwrap()
        .unwrap()
        .strip_prefix("dev partner token: ")
        .unwrap()
        .to_owned();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let provision = json!({"user": {"first_name": "P", "last_name": "X", "email": "proxy@example.com"}, "company": {"name": "Proxied"}});
    let sent = client
        .post(format!("{url}/v1/provision"))
        .header("authorization", format!("Token {token}"))
        .json(&provision)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let companies: Value = client
        .get(format!("{url}/v1/companies"))
        .header("authorization", format!("Token {token}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let company = companies["items"][0]["id"].as_str().unwrap().to_owned();
    let connected = client
        .post(format!(
            "{url}/v1/companies/{company}/apps/sandbox_scim/connection"
        ))
        .header("authorization", format!("Token {token}"))
        .json(&json!({"scim_base_url": "https://scim.sandbox.test/scim/v2", "scim_token": "sandbox-proxied"}))
        .send()
        .await
        .unwrap();
    let status = connected.status();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 200);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].1, "http://127.0.0.1:9/behind-proxy/scim/v2/Users?count=1");
}
