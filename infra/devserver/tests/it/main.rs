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
