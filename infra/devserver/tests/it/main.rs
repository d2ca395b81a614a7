//! The devserver binary as people run it: flags, printed URL and token, admin command.

mod hardening;

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

/// Runs an admin command on `data_dir`; answers its standard output.
fn admin_command(data_dir: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn printed<'a>(stdout: &'a str, prefix: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} in {stdout}"))
}

#[tokio::test]
async fn rotate_partner_token_retires_the_old_token_at_once_or_after_the_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let created = admin_command(dir.path(), &["create-partner", "--name", "Acme Payroll"]);
    let partner_id = printed(&created, "partner ")
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let first = printed(&created, "token (shown once, store it now): ").to_owned();

    // With an overlap, the old token keeps working (until the time printed).
    let rotated = admin_command(
        dir.path(),
        &[
            "rotate-partner-token",
            "--partner-id",
            &partner_id,
            "--overlap-hours",
            "2",
        ],
    );
    let second = printed(&rotated, "new token (shown once, store it now): ").to_owned();
    assert!(rotated.contains(" works until "), "{rotated}");
    let server = start(dir.path(), &[]);
    assert_eq!(companies(&server, &first).await.status(), 200, "the overlap");
    assert_eq!(companies(&server, &second).await.status(), 200);
    drop(server);

    // Without one, every old token stops at once; more than 24 hours is refused.
    let too_long = Command::new(BIN)
        .args([
            "rotate-partner-token",
            "--partner-id",
            &partner_id,
            "--overlap-hours",
            "25",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!too_long.status.success());
    let rotated = admin_command(dir.path(), &["rotate-partner-token", "--partner-id", &partner_id]);
    let third = printed(&rotated, "new token (shown once, store it now): ").to_owned();
    let server = start(dir.path(), &[]);
    assert_eq!(companies(&server, &first).await.status(), 401);
    assert_eq!(companies(&server, &second).await.status(), 401);
    assert_eq!(companies(&server, &third).await.status(), 200);
}

/// What a fake vendor received.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, String, Option<String>)>>>;

/// A fake vendor that records requests and answers an empty SCIM list (and, as the sandbox
/// SCIM app does, its `ServiceProviderConfig` naming the token's tenant).
async fn recording_vendor() -> (String, Seen) {
    use axum::extract::{Request, State};
    let seen: Seen = Default::default();
    let app = axum::Router::new()
        .fallback(|State(seen): State<Seen>, req: Request| async move {
            let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
            let tenant_asked = req.uri().path().ends_with("/ServiceProviderConfig");
            seen.lock().unwrap().push((req.method().to_string(), req.uri().to_string(), auth));
            if tenant_asked {
                return axum::Json(json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                    prov_connectors::sandbox::SANDBOX_CONFIG_EXTENSION: {"id": "t1", "name": "Tenant one"}
                }));
            }
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
    // The check of the token, then the tenant it reaches.
    assert_eq!(
        seen,
        [
            (
                "GET".to_owned(),
                "/recorded/scim/v2/Users?count=1".to_owned(),
                Some("Bearer sandbox-routed".to_owned())
            ),
            (
                "GET".to_owned(),
                "/recorded/scim/v2/ServiceProviderConfig".to_owned(),
                Some("Bearer sandbox-routed".to_owned())
            )
        ]
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
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].1, "http://127.0.0.1:9/behind-proxy/scim/v2/Users?count=1");
    assert_eq!(
        seen[1].1,
        "http://127.0.0.1:9/behind-proxy/scim/v2/ServiceProviderConfig"
    );
}

/// What a recording vendor saw: method, path and query, and the `Authorization` header.
type Calls = std::sync::Arc<std::sync::Mutex<Vec<(String, String, Option<String>)>>>;

/// A recording stand-in for vendors: each request under `/{app}/…` is recorded (with the
/// vendor's own path) and forwarded to the devserver's fake of that app, so a whole flow
/// works and every call can be checked. The devserver's address is set once it is started.
async fn recording_vendors() -> (String, Calls, std::sync::Arc<std::sync::OnceLock<String>>) {
    use axum::extract::{Request, State};
    use axum::response::IntoResponse;
    type Shared = (Calls, std::sync::Arc<std::sync::OnceLock<String>>);
    let calls: Calls = Default::default();
    let upstream = std::sync::Arc::new(std::sync::OnceLock::new());
    let app = axum::Router::new()
        .fallback(
            |State((calls, upstream)): State<Shared>, req: Request| async move {
                let (parts, body) = req.into_parts();
                let path_and_query = parts.uri.path_and_query().unwrap().as_str().to_owned();
                let (app, vendor_path) = path_and_query[1..].split_once('/').unwrap();
                let auth = parts
                    .headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                calls
                    .lock()
                    .unwrap()
                    .push((parts.method.to_string(), format!("/{vendor_path}"), auth));
                let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
                let client = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap();
                let target = format!("{}/_sandbox/{app}/{vendor_path}", upstream.get().unwrap());
                let mut forward = client.request(parts.method.clone(), target).body(body.to_vec());
                for (name, value) in &parts.headers {
                    if name != "host" {
                        forward = forward.header(name, value);
                    }
                }
                let answer = forward.send().await.unwrap();
                let mut response = axum::http::Response::builder().status(answer.status().as_u16());
                for (name, value) in answer.headers() {
                    response = response.header(name.as_str(), value.as_bytes());
                }
                response
                    .body(axum::body::Body::from(answer.bytes().await.unwrap()))
                    .unwrap()
                    .into_response()
            },
        )
        .with_state((calls.clone(), upstream.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, calls, upstream)
}

/// The paths (without queries) the service called, in order, with whether they carried
/// credentials.
fn paths(calls: &Calls) -> Vec<(String, String)> {
    calls
        .lock()
        .unwrap()
        .iter()
        .map(|(m, p, _)| (m.clone(), p.split('?').next().unwrap().to_owned()))
        .collect()
}

async fn call(server: &Server, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", server.url))
        .header("authorization", format!("Token {}", server.token));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

/// A company on the Plus plan with one team member (Ada); answers the company and member.
async fn company_with_ada(server: &Server, name: &str) -> (String, String) {
    let provision = json!({"user": {"first_name": "R", "last_name": "V", "email": format!("{name}@example.com")}, "company": {"name": name}});
    let (status, _) = call(server, reqwest::Method::POST, "/v1/provision", Some(provision)).await;
    assert_eq!(status, 200);
    let (_, companies) = call(server, reqwest::Method::GET, "/v1/companies", None).await;
    let company = companies["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let plan = json!({"plan": "plus"});
    let (status, _) = call(
        server,
        reqwest::Method::PATCH,
        &format!("/v1/companies/{company}"),
        Some(plan),
    )
    .await;
    assert_eq!(status, 200);
    let ada =
        json!({"first_name": "Ada", "last_name": "Lovelace", "kind": "employee", "email": "ada@example.com"});
    let (status, member) = call(
        server,
        reqwest::Method::POST,
        &format!("/v1/companies/{company}/team_members"),
        Some(ada),
    )
    .await;
    assert_eq!(status, 201, "{member}");
    (company, member["id"].as_str().unwrap().to_owned())
}

/// Syncs `app` (`base` is its path): the request answers 202 at once, the devserver's own
/// worker runs the job in the background; answers the job once it is over (its state is
/// polled: the worker is another process's).
async fn sync(server: &Server, base: &str) -> Value {
    let (status, started) = call(server, reqwest::Method::POST, &format!("{base}/sync"), None).await;
    assert_eq!(status, 202, "{started}");
    for _ in 0..600 {
        let (status, job) = call(server, reqwest::Method::GET, &format!("{base}/sync"), None).await;
        assert_eq!(status, 200, "{job}");
        if !matches!(job["state"].as_str(), Some("queued" | "running")) {
            return job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the sync of {base} did not end in 30 seconds");
}

/// Creates Ada's account in `app`, syncs, and deletes it; answers nothing (the calls are
/// what the test reads).
async fn create_sync_delete(server: &Server, company: &str, ada: &str, app: &str) {
    let base = format!("/v1/companies/{company}/apps/{app}");
    let (status, created) = call(
        server,
        reqwest::Method::POST,
        &format!("{base}/accounts"),
        Some(json!({"team_member_id": ada})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let synced = sync(server, &base).await;
    assert_eq!(synced["state"], "succeeded", "{synced}");
    let id = created["id"].as_str().unwrap();
    let (status, deleted) = call(
        server,
        reqwest::Method::POST,
        &format!("{base}/accounts/{id}/delete"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{deleted}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_apps_whole_flow_reaches_the_routed_vendor_with_its_own_paths() {
    let (vendors, calls, upstream) = recording_vendors().await;
    let dir = tempfile::tempdir().unwrap();
    let route = format!("sandbox.okta.com={vendors}/okta");
    let server = start(dir.path(), &["--vendor-route", &route]);
    upstream.set(server.url.clone()).unwrap();
    let (company, ada) = company_with_ada(&server, "okta-routed").await;
    let (status, connected) = call(
        &server,
        reqwest::Method::POST,
        &format!("/v1/companies/{company}/apps/okta/connection"),
        Some(json!({"org_url": "https://sandbox.okta.com", "api_token": "sandbox-routed"})),
    )
    .await;
    assert_eq!(status, 200, "{connected}");
    create_sync_delete(&server, &company, &ada, "okta").await;
    let paths = paths(&calls);
    let expected = [
        ("GET", "/api/v1/users/me"),               // connect: the token works
        ("GET", "/.well-known/okta-organization"), // connect: the org it reaches
        ("GET", "/api/v1/users"),                  // create: is there one with the email?
        ("POST", "/api/v1/users"),                 // create, activation email
        ("GET", "/api/v1/users"),                  // sync
        ("GET", "/api/v1/users/{id}"),             // delete: read it
        ("POST", "/api/v1/users/{id}/lifecycle/deactivate"),
        ("DELETE", "/api/v1/users/{id}"),
    ];
    assert_eq!(paths.len(), expected.len(), "{paths:?}");
    for ((method, path), (want_method, want)) in paths.iter().zip(expected) {
        assert_eq!(method, want_method, "{paths:?}");
        let (head, tail) = want.split_once("{id}").unwrap_or((want, ""));
        assert!(
            path.starts_with(head) && path.ends_with(tail),
            "{path} is not {want}"
        );
    }
    assert!(
        calls
            .lock()
            .unwrap()
            .iter()
            .all(|(_, _, auth)| auth.as_deref() == Some("SSWS sandbox-routed")),
        "every call carries the API token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oauth_apps_whole_flow_reaches_the_routed_vendor_with_its_own_paths() {
    let (vendors, calls, upstream) = recording_vendors().await;
    let dir = tempfile::tempdir().unwrap();
    let authorize_route = format!("app.hubspot.com={vendors}/hubspot");
    let api_route = format!("api.hubapi.com={vendors}/hubspot");
    let server = start(
        dir.path(),
        &["--vendor-route", &authorize_route, "--vendor-route", &api_route],
    );
    upstream.set(server.url.clone()).unwrap();
    let (company, ada) = company_with_ada(&server, "hubspot-routed").await;
    let (status, started) = call(
        &server,
        reqwest::Method::POST,
        &format!("/v1/companies/{company}/apps/hubspot/connection/oauth"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    // The admin's browser opens the service's start link, which ties the connect to it
    // (a cookie) and sends it where HubSpot's authorize host is routed, same path.
    let start = started["authorize_url"].as_str().unwrap().to_owned();
    assert!(
        start.starts_with(&format!("{}/v1/oauth/start?", server.url)),
        "{start}"
    );
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let opened = browser.get(&start).send().await.unwrap();
    assert_eq!(opened.status(), 303);
    let cookie = opened.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let authorize = opened.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        authorize.starts_with(&format!("{vendors}/hubspot/oauth/authorize?")),
        "{authorize}"
    );
    let consent = browser
        .get(&authorize)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let allow = consent
        .split("id=\"allow\" href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let decided = browser
        .get(format!("{vendors}/hubspot/oauth/{allow}"))
        .send()
        .await
        .unwrap();
    let callback = decided.headers()["location"].to_str().unwrap().to_owned();
    let done = browser
        .get(&callback)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200, "{}", done.text().await.unwrap());
    create_sync_delete(&server, &company, &ada, "hubspot").await;

    let paths = paths(&calls);
    let expected = [
        ("GET", "/oauth/authorize"),           // the admin's browser
        ("GET", "/oauth/decide"),              // consent given
        ("POST", "/oauth/v3/token"),           // the code exchange
        ("GET", "/settings/v3/users/"),        // the new token works
        ("GET", "/account-info/v3/details"),   // the account it reaches
        ("GET", "/settings/v3/users/"),        // create: is there one with the email?
        ("POST", "/settings/v3/users/"),       // create
        ("GET", "/settings/v3/users/"),        // sync
        ("DELETE", "/settings/v3/users/{id}"), // delete
    ];
    assert_eq!(paths.len(), expected.len(), "{paths:?}");
    for ((method, path), (want_method, want)) in paths.iter().zip(expected) {
        assert_eq!(method, want_method, "{paths:?}");
        let (head, tail) = want.split_once("{id}").unwrap_or((want, ""));
        assert!(
            path.starts_with(head) && path.ends_with(tail),
            "{path} is not {want}"
        );
    }
    // The browser and the token exchange (HubSpot takes our client in the form body) carry
    // no Authorization header; every API call carries the token HubSpot issued.
    let calls = calls.lock().unwrap().clone();
    assert!(calls[..3].iter().all(|(_, _, auth)| auth.is_none()), "{calls:?}");
    assert!(
        calls[3..]
            .iter()
            .all(|(_, _, auth)| auth.as_deref().is_some_and(|a| a.starts_with("Bearer "))),
        "{calls:?}"
    );
}

/// Issue 25: Okta's preview and EMEA orgs went to the real Okta with the token an admin
/// typed; offline they are served by the sandbox like any other Okta org.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_preview_and_emea_orgs_are_served_by_the_sandbox_offline() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    let (company, _) = company_with_ada(&server, "okta-preview").await;
    for org in ["https://acme.oktapreview.com", "https://acme.okta-emea.com"] {
        let (status, connected) = call(
            &server,
            reqwest::Method::POST,
            &format!("/v1/companies/{company}/apps/okta/connection"),
            Some(json!({"org_url": org, "api_token": "sandbox-okta-preview"})),
        )
        .await;
        assert_eq!(status, 200, "{org}: {connected}");
        let synced = sync(&server, &format!("/v1/companies/{company}/apps/okta")).await;
        assert_eq!(synced["state"], "succeeded", "{org}: {synced}");
    }
}

#[test]
fn the_sync_period_flag_reads_seconds_minutes_and_hours() {
    use chrono::Duration;
    assert_eq!(devserver::parse_period("30s"), Ok(Duration::seconds(30)));
    assert_eq!(devserver::parse_period("5m"), Ok(Duration::minutes(5)));
    assert_eq!(devserver::parse_period("1h"), Ok(Duration::hours(1)));
    for bad in ["0s", "30", "5x", "m", "8d", "200h"] {
        assert!(devserver::parse_period(bad).is_err(), "{bad}");
    }
}
