//! Devserver throughput (issue 11, item 6): starts the devserver binary on a loopback port
//! with a fresh data dir, then a bounded load: a fixed number of requests from a fixed number
//! of concurrent clients, for a read route and for provisioning. Prints requests per second
//! and p50/p99 latency. It is not a test.
//!
//! `load --devserver target/release/devserver [--requests 2000] [--concurrency 8]`

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bench::{ms, quantile};
use serde_json::{Value, json};

const PARTNER: &str = "load-partner-token-0123456789abcdefghij";

struct Run {
    took: Duration,
    latencies: Vec<Duration>,
    failures: usize,
}

/// `requests` requests, `concurrency` at a time; `request(i)` sends the i-th.
async fn load<F, Fut>(requests: usize, concurrency: usize, request: F) -> Run
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let request = Arc::new(request);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (request, next) = (request.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    break;
                }
                let sent = Instant::now();
                if !request(i).await {
                    failures += 1;
                }
                latencies.push(sent.elapsed());
            }
            (latencies, failures)
        }));
    }
    let mut run = Run {
        took: Duration::ZERO,
        latencies: Vec::with_capacity(requests),
        failures: 0,
    };
    for worker in workers {
        let (latencies, failures) = worker.await.expect("a load worker");
        run.latencies.extend(latencies);
        run.failures += failures;
    }
    run.took = started.elapsed();
    run
}

fn row(route: &str, concurrency: usize, run: &Run) {
    let n = run.latencies.len();
    println!(
        "| {route} | {n} | {concurrency} | {:.0} | {} | {} | {} |",
        n as f64 / run.took.as_secs_f64(),
        ms(quantile(&run.latencies, 0.5).unwrap_or_default()),
        ms(quantile(&run.latencies, 0.99).unwrap_or_default()),
        run.failures
    );
}

fn provision_body(i: usize) -> Value {
    json!({
        "user": {"first_name": "Load", "last_name": format!("Tester{i}"), "email": format!("load{i}@example.com")},
        "company": {"name": format!("Load Co {i}")}
    })
}

#[tokio::main]
async fn main() {
    let mut devserver = "target/release/devserver".to_owned();
    let mut requests = 2000;
    let mut concurrency = 8;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--devserver" => devserver = value(),
            "--requests" => requests = value().parse().expect("--requests N"),
            "--concurrency" => concurrency = value().parse().expect("--concurrency N"),
            other => panic!("unknown argument {other}"),
        }
    }
    let data_dir = std::env::temp_dir().join(format!("devserver-load-{}", std::process::id()));
    let mut server = Command::new(&devserver)
        .args(["--addr", "127.0.0.1:0", "--partner-token", PARTNER, "--data-dir"])
        .arg(&data_dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {devserver}: {e}"));
    let mut line = String::new();
    BufReader::new(server.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("the devserver says where it listens");
    let base = line
        .trim()
        .rsplit(' ')
        .next()
        .expect("devserver listening on URL")
        .to_owned();
    let client = reqwest::Client::new();
    let auth = format!("Token {PARTNER}");

    let made = client
        .post(format!("{base}/v1/provision"))
        .header("authorization", &auth)
        .json(&provision_body(usize::MAX))
        .send()
        .await
        .expect("the devserver answers");
    assert!(
        made.status().is_success(),
        "provisioning failed: {}",
        made.status()
    );
    // The partner's companies: the one just made.
    let listed: Value = client
        .get(format!("{base}/v1/companies"))
        .header("authorization", &auth)
        .send()
        .await
        .expect("the devserver answers")
        .json()
        .await
        .expect("JSON");
    let company = listed["items"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no company in {listed}"))
        .to_owned();

    println!("| route | requests | concurrent clients | requests/s | p50 | p99 | failures |");
    println!("|---|---|---|---|---|---|---|");
    let read = {
        let (client, auth, url) = (
            client.clone(),
            auth.clone(),
            format!("{base}/v1/companies/{company}"),
        );
        move |_| {
            let (client, auth, url) = (client.clone(), auth.clone(), url.clone());
            async move {
                client
                    .get(&url)
                    .header("authorization", &auth)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        }
    };
    load(100, concurrency, read.clone()).await; // warm-up, not counted
    row(
        "GET /v1/companies/{company_id}",
        concurrency,
        &load(requests, concurrency, read).await,
    );

    let provision = {
        let (client, auth, url) = (client.clone(), auth.clone(), format!("{base}/v1/provision"));
        move |i| {
            let (client, auth, url) = (client.clone(), auth.clone(), url.clone());
            async move {
                client
                    .post(&url)
                    .header("authorization", &auth)
                    .json(&provision_body(i))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        }
    };
    let provisions = requests / 4;
    row(
        "POST /v1/provision",
        concurrency,
        &load(provisions, concurrency, provision).await,
    );

    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&data_dir);
    println!();
    println!(
        "Loopback, the devserver on its embedded store (redb, one file, fsync on each commit); \
         each provisioning writes a company, its claim and its welcome email (sent to the local outbox)."
    );
}
