//! Property tests of every connector's reading of vendor answers (issue 25). A mock vendor
//! answers each endpoint a connector calls with its own fuzzed answer: any status, hostile
//! rate-limit and paging headers, and a body that is the vendor's documented shape for that
//! endpoint with values swapped for hostile ones (the edges of the integer types, as numbers
//! and as text, wrong types, empty containers) or keys removed, or arbitrary JSON, truncated
//! JSON or bytes. Every call of the connector runs against each case (verify, list and its
//! next page, get, find_by_email, create, suspend, reactivate, delete, the mailbox and group
//! calls, and for OAuth apps the code exchange and a refresh): none may panic or hang;
//! errors are the connector's to choose. Each test prints a `fuzz:` line (cases, calls,
//! calls that got through) for RELIABILITY.md.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use prov_connectors::egress::EgressPolicy;
use prov_connectors::http::{Authenticator, HttpConfig, StaticAuth, VendorHttp};
use prov_connectors::oauth::{self, OAuthClientConfig};
use prov_connectors::registry::{self, Secrets, Tenant};
use prov_connectors::{Connector, NewAccount, NewWorkAccount};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::support::RecordingSleeper;

/// Cases per connector: enough for every seed to come up mutated many times, few enough
/// that the whole file runs in seconds on two cores. `PROPTEST_CASES` sets more for a
/// longer hunt.
const CASES: u32 = 48;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASES)
}

/// One vendor answer.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

/// An endpoint of a vendor: a request is its when it contains every one of `when` (in
/// `METHOD /path?query body`); `seed` is the vendor's own answer there.
struct Endpoint {
    when: &'static [&'static str],
    seed: Value,
}

fn at(when: &'static [&'static str], seed: Value) -> Endpoint {
    Endpoint { when, seed }
}

/// The current case: the endpoints' `when`s, and each one's answer.
#[derive(Clone, Default)]
struct Current(Arc<Mutex<Option<Case>>>);

type Case = (Vec<&'static [&'static str]>, Vec<Answer>);

/// The mock vendor, on a loopback port: each request gets the current case's answer of the
/// first endpoint it matches (the last endpoint, with no `when`, takes the rest). Nothing
/// is kept of the requests (hundreds of thousands in a long run). Answers its base URL.
async fn mock_vendor(current: Current) -> String {
    async fn answer(
        axum::extract::State(current): axum::extract::State<Current>,
        method: axum::http::Method,
        uri: axum::http::Uri,
        body: axum::body::Bytes,
    ) -> axum::response::Response {
        let answer = {
            let current = current.0.lock().unwrap();
            let (endpoints, answers) = current.as_ref().expect("a case is set");
            let seen = format!(
                "{method} {}?{} {}",
                uri.path(),
                uri.query().unwrap_or_default(),
                String::from_utf8_lossy(&body)
            );
            let index = endpoints
                .iter()
                .position(|when| when.iter().all(|part| seen.contains(part)))
                .unwrap_or(endpoints.len() - 1);
            answers[index].clone()
        };
        let mut response = axum::http::Response::builder()
            .status(answer.status)
            .header("content-type", "application/json");
        for (name, value) in answer.headers {
            response = response.header(name, value);
        }
        response
            .body(axum::body::Body::from(answer.body))
            .expect("a valid answer")
    }
    let app = axum::Router::new().fallback(answer).with_state(current);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// The edges of the integer types, as numbers and as text (some vendors send counts and
/// positions as strings).
fn edge() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        json!(u64::MAX),
        json!(u64::MAX - 1),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u32::MAX),
        json!(-1),
        json!("18446744073709551615"),
        json!("18446744073709551614"),
        json!("9223372036854775807"),
        json!("-9223372036854775808"),
        json!("4294967295"),
        json!("-1"),
    ])
}

/// Values a vendor should never send where a connector reads one.
fn hostile_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec![
            Value::Null,
            json!(true),
            json!(false),
            json!(0),
            json!(-1),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(1e308),
            json!(-1e308),
            json!(0.5),
            json!(""),
            json!(" "),
            json!("-1"),
            json!("0"),
            json!("18446744073709551616"),
            json!("1e20"),
            json!("NaN"),
            json!("\u{0}"),
            json!("é\u{202e}"),
            json!("ada@example.com"),
            json!("ADA@EXAMPLE.COM"),
            json!("https://evil.example.com/next"),
            json!("true"),
            json!([]),
            json!({}),
            json!([null]),
            json!({"": null}),
        ]),
        edge(),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,24}".prop_map(Value::from),
    ]
}

/// Arbitrary JSON whose object keys are mostly the vendor's own.
fn arbitrary_json(keys: Vec<String>) -> impl Strategy<Value = Value> {
    let key = prop_oneof![4 => prop::sample::select(keys), 1 => ".{0,8}"];
    hostile_leaf().prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// Every object key in `values`, for `arbitrary_json`.
fn keys_of(values: &[Value]) -> Vec<String> {
    fn walk(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    out.push(k.clone());
                    walk(v, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = vec!["id".to_owned()];
    values.iter().for_each(|v| walk(v, &mut out));
    out.sort();
    out.dedup();
    out
}

#[derive(Debug, Clone)]
enum Mutation {
    Replace(Value),
    Remove,
    /// Every number, and every text that reads as an integer, becomes this value (counts,
    /// positions and totals at once, where a single swap rarely lands).
    Numbers(Value),
}

fn numbers(value: &mut Value, to: &Value) {
    match value {
        Value::Number(_) => *value = to.clone(),
        Value::String(s) if s.parse::<i128>().is_ok() => *value = to.clone(),
        Value::Object(map) => map.values_mut().for_each(|v| numbers(v, to)),
        Value::Array(items) => items.iter_mut().for_each(|v| numbers(v, to)),
        _ => {}
    }
}

/// The node `index` (pre-order, modulo the count) of `value`, with its parent's hold on it.
fn apply(value: &mut Value, index: usize, mutation: &Mutation) {
    if let Mutation::Numbers(to) = mutation {
        return numbers(value, to);
    }
    fn count(value: &Value) -> usize {
        1 + match value {
            Value::Object(map) => map.values().map(count).sum(),
            Value::Array(items) => items.iter().map(count).sum(),
            _ => 0,
        }
    }
    /// Walks to the `n`th node below `value` (0 = its first child); true when done.
    fn visit(value: &mut Value, n: &mut usize, mutation: &Mutation) -> bool {
        let children: Vec<String> = match value {
            Value::Object(map) => map.keys().cloned().collect(),
            Value::Array(items) => (0..items.len()).map(|i| i.to_string()).collect(),
            _ => return false,
        };
        for child in children {
            if *n == 0 {
                match (value, mutation) {
                    (Value::Object(map), Mutation::Remove) => {
                        map.remove(&child);
                    }
                    (Value::Array(items), Mutation::Remove) => {
                        items.remove(child.parse::<usize>().unwrap());
                    }
                    (Value::Object(map), Mutation::Replace(v)) => {
                        map.insert(child, v.clone());
                    }
                    (Value::Array(items), Mutation::Replace(v)) => {
                        items[child.parse::<usize>().unwrap()] = v.clone();
                    }
                    _ => unreachable!("only containers have children; `Numbers` is applied whole"),
                }
                return true;
            }
            *n -= 1;
            let node = match value {
                Value::Object(map) => map.get_mut(&child).unwrap(),
                Value::Array(items) => &mut items[child.parse::<usize>().unwrap()],
                _ => unreachable!(),
            };
            if visit(node, n, mutation) {
                return true;
            }
        }
        false
    }
    let below = count(value) - 1;
    if below == 0 {
        if let Mutation::Replace(v) = mutation {
            *value = v.clone();
        }
        return;
    }
    let mut n = index % below;
    visit(value, &mut n, mutation);
}

/// The vendor's own answer with up to five of its values swapped or removed.
fn mutated(seeds: Vec<Value>) -> impl Strategy<Value = Value> {
    let mutation = prop_oneof![
        4 => hostile_leaf().prop_map(Mutation::Replace),
        1 => arbitrary_json(keys_of(&seeds)).prop_map(Mutation::Replace),
        2 => Just(Mutation::Remove),
        1 => edge().prop_map(Mutation::Numbers),
    ];
    (
        prop::sample::select(seeds),
        prop::collection::vec((any::<usize>(), mutation), 0..6),
    )
        .prop_map(|(mut seed, mutations)| {
            for (index, mutation) in &mutations {
                apply(&mut seed, *index, mutation);
            }
            seed
        })
}

fn bodies(seed: Value, keys: Vec<String>) -> impl Strategy<Value = Vec<u8>> {
    let text = seed.to_string().into_bytes();
    let truncated = any::<usize>().prop_map(move |at| text[..at % text.len().max(1)].to_vec());
    // The vendor's answer as it is, often: later calls of a flow are reached only when the
    // earlier ones (a token, the organization) got through.
    let as_is = seed.to_string().into_bytes();
    prop_oneof![
        4 => Just(as_is),
        8 => mutated(vec![seed]).prop_map(|v| v.to_string().into_bytes()),
        2 => arbitrary_json(keys).prop_map(|v| v.to_string().into_bytes()),
        1 => truncated,
        1 => prop::collection::vec(any::<u8>(), 0..64),
        1 => Just(Vec::new()),
    ]
}

/// The headers the plumbing and the connectors read, with hostile values.
fn headers() -> impl Strategy<Value = Vec<(&'static str, String)>> {
    let name = prop::sample::select(vec![
        "retry-after",
        "x-ratelimit-reset",
        "x-rate-limit-reset",
        "ratelimit-reset",
        "x-ratelimit-remaining",
        "x-oauth-scopes",
        "link",
        "location",
        "content-type",
    ]);
    let value = prop_oneof![
        prop::sample::select(vec![
            "1e20".to_owned(),
            "inf".to_owned(),
            "NaN".to_owned(),
            "-1".to_owned(),
            "0".to_owned(),
            "18446744073709551616".to_owned(),
            "9223372036854775807".to_owned(),
            "Fri, 31 Dec 9999 23:59:59 GMT".to_owned(),
            "<https://api.github.com/organizations/1/members?page=2>; rel=\"next\"".to_owned(),
            "<https://api.github.com/organizations/1/members?page=18446744073709551616>; rel=\"next\""
                .to_owned(),
            "<https://acme.okta.com/api/v1/users?after=u9&limit=200>; rel=\"next\"".to_owned(),
            "<https://evil.example.com/x?page=2>; rel=\"next\"".to_owned(),
            "<>; rel=next".to_owned(),
            "<:::>; rel=\"next\", <x>;".to_owned(),
            "admin:org, repo".to_owned(),
            "text/html".to_owned(),
        ]),
        "[ -~]{0,40}",
        any::<f64>().prop_map(|f| f.to_string()),
    ];
    prop::collection::vec((name, value), 0..3)
}

fn answer(seed: Value, keys: Vec<String>) -> impl Strategy<Value = Answer> {
    let status = prop_oneof![
        6 => Just(200u16),
        1 => prop::sample::select(vec![201u16, 202, 204]),
        2 => prop::sample::select(vec![400u16, 401, 403, 404, 409, 410, 412, 422, 429, 500, 502, 503]),
        1 => 200u16..600,
    ];
    (status, headers(), bodies(seed, keys)).prop_map(|(status, headers, body)| Answer {
        status,
        headers,
        body,
    })
}

/// One answer per endpoint.
fn answers(endpoints: &[Endpoint]) -> Vec<BoxedStrategy<Answer>> {
    let seeds: Vec<Value> = endpoints.iter().map(|e| e.seed.clone()).collect();
    let keys = keys_of(&seeds);
    endpoints
        .iter()
        .map(|e| answer(e.seed.clone(), keys.clone()).boxed())
        .collect()
}

/// The HTTP machinery with every host of `app` routed to `vendor`: two tries per call (a
/// retry is all a second try adds), waits recorded, not waited.
fn http_for(vendor: &str, app: &str) -> Arc<VendorHttp> {
    let spec = registry::spec(app).unwrap();
    let policy = spec
        .hosts
        .iter()
        .fold(EgressPolicy::sandbox(), |p, host| p.route(host, vendor).unwrap());
    let config = HttpConfig {
        max_attempts: 2,
        ..HttpConfig::default()
    };
    Arc::new(VendorHttp::with_sleeper(
        policy,
        config,
        Arc::new(RecordingSleeper::default()),
    ))
}

/// How the fuzzed connector of an app is made.
#[derive(Clone, Copy)]
enum Made {
    /// An OAuth app with a bearer token and these tenant details.
    OAuth(&'static [(&'static str, &'static str)]),
    /// An API-key app with these tenant details and secret fields.
    ApiKey(
        &'static [(&'static str, &'static str)],
        &'static [(&'static str, &'static str)],
    ),
}

fn connector(vendor: &str, app: &str, made: Made) -> Box<dyn Connector> {
    let http = http_for(vendor, app);
    let spec = registry::spec(app).unwrap();
    let pairs = |p: &[(&str, &str)]| -> Tenant {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let (tenant, auth): (Tenant, Arc<dyn Authenticator>) = match made {
        Made::OAuth(tenant) => (
            pairs(tenant),
            Arc::new(StaticAuth::bearer(&SecretString::from("fuzz-access-token"))),
        ),
        Made::ApiKey(tenant, secrets) => {
            let tenant = pairs(tenant);
            let secrets: Secrets = secrets
                .iter()
                .map(|(k, v)| ((*k).to_owned(), SecretString::from(*v)))
                .collect();
            let auth = spec
                .api_key_authenticator(http.clone(), "com_1", &tenant, &secrets)
                .unwrap();
            (tenant, auth)
        }
    };
    spec.connector(http, "com_1", &tenant, auth).unwrap()
}

/// How long one call may take: against a local vendor every call takes milliseconds, so
/// this means a call that never ends (a vendor saying "more" forever).
const HUNG: Duration = Duration::from_secs(5);

/// A call's outcome: `Err(reason)` when it panicked or hung.
async fn settled<T: Send + 'static>(
    call: impl std::future::Future<Output = T> + Send + 'static,
) -> Result<T, String> {
    let mut task = tokio::spawn(call);
    match tokio::time::timeout(HUNG, &mut task).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) if e.is_panic() => {
            let payload = e.into_panic();
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            Err(format!("panicked: {message}"))
        }
        Ok(Err(e)) => Err(format!("did not finish: {e}")),
        Err(_) => {
            task.abort();
            Err(format!("hung ({HUNG:?} without an answer)"))
        }
    }
}

fn ada() -> NewAccount {
    NewAccount {
        email: "ada@example.com".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
    }
}

/// Every call of `connector`, each on its own task; answers how many calls were made and
/// how many succeeded, or the first that panicked or hung.
async fn every_call(connector: Box<dyn Connector>) -> Result<(usize, usize), String> {
    let c: Arc<dyn Connector> = Arc::from(connector);
    let (mut calls, mut through) = (0, 0);
    let mut check = |name: &str, outcome: Result<bool, String>| {
        calls += 1;
        through += usize::from(outcome == Ok(true));
        outcome.map(drop).map_err(|why| format!("{name} {why}"))
    };
    let x = c.clone();
    check("verify", settled(async move { x.verify().await.is_ok() }).await)?;
    let x = c.clone();
    let listed = settled(async move { x.list(None).await.ok() }).await;
    let page = listed.clone().ok().flatten();
    check("list", listed.map(|page| page.is_some()))?;
    let id = page
        .as_ref()
        .and_then(|p| p.accounts.first())
        .map_or_else(|| "u1".to_owned(), |a| a.id.clone());
    if let Some(next) = page.and_then(|p| p.next) {
        let x = c.clone();
        check(
            "list (next page)",
            settled(async move { x.list(Some(&next)).await.is_ok() }).await,
        )?;
    }
    let (x, i) = (c.clone(), id.clone());
    check("get", settled(async move { x.get(&i).await.is_ok() }).await)?;
    let x = c.clone();
    check(
        "find_by_email",
        settled(async move { x.find_by_email("ada@example.com").await.is_ok() }).await,
    )?;
    let x = c.clone();
    check(
        "create",
        settled(async move { x.create(&ada()).await.is_ok() }).await,
    )?;
    let (x, i) = (c.clone(), id.clone());
    check(
        "suspend",
        settled(async move { x.suspend(&i).await.is_ok() }).await,
    )?;
    let (x, i) = (c.clone(), id.clone());
    check(
        "reactivate",
        settled(async move { x.reactivate(&i).await.is_ok() }).await,
    )?;
    let (x, i) = (c.clone(), id.clone());
    check("delete", settled(async move { x.delete(&i).await.is_ok() }).await)?;
    // The mailbox and group calls (Google Workspace, Microsoft 365; the others refuse them).
    let x = c.clone();
    check(
        "work_email_domains",
        settled(async move { x.work_email_domains().await.is_ok() }).await,
    )?;
    let x = c.clone();
    let work = NewWorkAccount {
        work_email: "ada@acme.com".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        personal_email: Some("ada@example.com".into()),
    };
    check(
        "create_work_account",
        settled(async move { x.create_work_account(&work).await.is_ok() }).await,
    )?;
    let x = c.clone();
    check("groups", settled(async move { x.groups().await.is_ok() }).await)?;
    let (x, i) = (c.clone(), id);
    check(
        "add_to_group",
        settled(async move { x.add_to_group(&i, "g1").await.is_ok() }).await,
    )?;
    Ok((calls, through))
}

/// The OAuth code exchange and a refresh of `app`; answers calls made and succeeded.
async fn token_calls(vendor: &str, app: &'static str) -> Result<(usize, usize), String> {
    let client = OAuthClientConfig {
        client_id: "fuzz-client".into(),
        client_secret: SecretString::from("fuzz-secret"),
    };
    let now = chrono::Utc::now();
    let (http, c) = (http_for(vendor, app), client.clone());
    let exchanged = settled(async move {
        let verifier = SecretString::from("v".repeat(43));
        let grant = oauth::CodeGrant {
            redirect: "https://api.example.test/v1/oauth/callback",
            code: "fuzz-code",
            verifier: &verifier,
            environment: None,
        };
        oauth::exchange_code(http, registry::spec(app).unwrap(), "com_1", &c, grant, now)
            .await
            .is_ok()
    })
    .await
    .map_err(|why| format!("exchange_code {why}"))?;
    let http = http_for(vendor, app);
    let refreshed = settled(async move {
        let refresh = SecretString::from("fuzz-refresh");
        oauth::refresh(
            http,
            registry::spec(app).unwrap(),
            "com_1",
            &client,
            &refresh,
            None,
            now,
        )
        .await
        .is_ok()
    })
    .await
    .map_err(|why| format!("refresh {why}"))?;
    Ok((2, usize::from(exchanged) + usize::from(refreshed)))
}

/// Fuzzes `app`'s connector with `cases()` answers built from its `endpoints` (the last
/// one, with no `when`, answers anything else) and prints the counts.
fn fuzz(app: &'static str, made: Made, endpoints: Vec<Endpoint>) {
    assert!(
        endpoints.last().is_some_and(|e| e.when.is_empty()),
        "{app}: a catch-all last"
    );
    // Two workers: a call that spins without yielding still lets the other one time it out.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let current = Current::default();
    let vendor = runtime.block_on(mock_vendor(current.clone()));
    let oauth_app = matches!(made, Made::OAuth(_));
    let whens: Vec<&'static [&'static str]> = endpoints.iter().map(|e| e.when).collect();
    // The same cases on every run (a failure is replayed by running again); more cases
    // with `PROPTEST_CASES`.
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let counts = Mutex::new((0usize, 0usize));
    // A hang is reported with its whole case, unshrunk: each try of a shrink would hang too.
    let hung = Mutex::new(None);
    let result = runner.run(&answers(&endpoints), |answers| {
        if hung.lock().unwrap().is_some() {
            return Ok(());
        }
        *current.0.lock().unwrap() = Some((whens.clone(), answers.clone()));
        let (calls, through) = runtime
            .block_on(async {
                let (mut calls, mut through) = every_call(connector(&vendor, app, made)).await?;
                if oauth_app {
                    let (c, t) = token_calls(&vendor, app).await?;
                    calls += c;
                    through += t;
                }
                Ok::<_, String>((calls, through))
            })
            .map_err(|why| {
                if why.contains("hung") {
                    *hung.lock().unwrap() = Some(format!("{app}: {why} with {answers:#?}"));
                }
                TestCaseError::fail(format!("{app}: {why}"))
            })?;
        let mut counts = counts.lock().unwrap();
        counts.0 += calls;
        counts.1 += through;
        Ok(())
    });
    if let Some(hang) = hung.into_inner().unwrap() {
        panic!("{hang}");
    }
    if let Err(e) = result {
        panic!("{e}");
    }
    let (calls, through) = counts.into_inner().unwrap();
    let product = match made {
        Made::ApiKey(tenant, _) => tenant
            .iter()
            .find(|(k, _)| *k == "product")
            .map(|(_, v)| format!(" ({v})")),
        Made::OAuth(_) => None,
    };
    println!(
        "fuzz: {app}{}: {} cases, {calls} connector calls ({through} got an answer through, the rest a clear error): 0 panics, 0 hangs",
        product.unwrap_or_default(),
        cases(),
    );
}

/// An OAuth 2.0 token answer (RFC 6749 §5.1).
fn token() -> Value {
    json!({"access_token": "a", "refresh_token": "r", "expires_in": 3600, "token_type": "Bearer", "scope": "x y"})
}

fn scim_user(id: &str, active: bool) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": id, "userName": "ada@example.com",
           "name": {"givenName": "Ada", "familyName": "Lovelace"}, "active": active,
           "emails": [{"value": "ada@example.com", "primary": true}]})
}

/// A SCIM 2.0 service provider (RFC 7644): lists, users, errors.
fn scim(token_path: &'static [&'static str], token: Value) -> Vec<Endpoint> {
    vec![
        at(token_path, token),
        at(
            &["GET", "/Users?"],
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 3,
            "startIndex": 1, "itemsPerPage": 2, "Resources": [scim_user("u1", true), scim_user("u2", false)]}),
        ),
        at(&["/Users"], scim_user("u1", true)),
        at(
            &["/query"],
            json!({"totalSize": 1, "done": true, "records": [{"attributes": {"type": "Profile"}, "Id": "00e1"}]}),
        ),
        at(
            &[],
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "409", "scimType": "uniqueness", "detail": "exists"}),
        ),
    ]
}

#[test]
fn fifteen_five_reads_any_answer_without_panic() {
    fuzz(
        "fifteen_five",
        Made::ApiKey(
            &[("scim_base_url", "https://acme.15five.com/scim/v2/")],
            &[("scim_token", "fuzz-token-0123456789abcdefghij")],
        ),
        scim(&["/token"], token()),
    );
}

#[test]
fn slack_reads_any_answer_without_panic() {
    let access = json!({"ok": true, "app_id": "A1", "authed_user": {"id": "U1", "scope": "admin", "access_token": "a", "refresh_token": "r",
        "expires_in": 43200, "token_type": "user"}, "team": {"id": "T1", "name": "Acme"}});
    fuzz("slack", Made::OAuth(&[]), scim(&["oauth.v2.access"], access));
}

#[test]
fn salesforce_reads_any_answer_without_panic() {
    let access = json!({"access_token": "a", "refresh_token": "r", "token_type": "Bearer", "instance_url": "https://acme.my.salesforce.com",
        "id": "https://login.salesforce.com/id/00D/005", "issued_at": "1700000000000"});
    fuzz(
        "salesforce",
        Made::OAuth(&[("instance_url", "https://acme.my.salesforce.com")]),
        scim(&["/services/oauth2/token"], access),
    );
}

#[test]
fn okta_reads_any_answer_without_panic() {
    let user = |id: &str, status: &str| json!({"id": id, "status": status, "profile": {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "login": "ada@example.com"}});
    fuzz(
        "okta",
        Made::ApiKey(
            &[("org_url", "https://acme.okta.com")],
            &[("api_token", "fuzz-okta-token")],
        ),
        vec![
            at(&["GET", "/users/me"], user("00u0", "ACTIVE")),
            at(
                &["GET", "/api/v1/users?"],
                json!([
                    user("00u1", "ACTIVE"),
                    user("00u2", "PROVISIONED"),
                    user("00u3", "SUSPENDED")
                ]),
            ),
            at(&["/lifecycle/"], json!({})),
            at(&["/api/v1/users"], user("00u1", "DEPROVISIONED")),
            at(
                &[],
                json!({"errorCode": "E0000007", "errorSummary": "Not found: Resource not found: x (User)", "errorCauses": []}),
            ),
        ],
    );
}

#[test]
fn asana_reads_any_answer_without_panic() {
    let user = |gid: &str| json!({"gid": gid, "resource_type": "user", "email": "ada@example.com", "name": "Ada Lovelace", "workspaces": [{"gid": "42", "resource_type": "workspace"}]});
    fuzz(
        "asana",
        Made::OAuth(&[]),
        vec![
            at(&["/-/oauth_token"], token()),
            at(
                &["/users/me"],
                json!({"data": {"gid": "1", "workspaces": [{"gid": "77", "is_organization": false}, {"gid": "42", "is_organization": true}]}}),
            ),
            at(
                &["GET", "/users?"],
                json!({"data": [user("2"), user("3")], "next_page": {"offset": "eyJ0", "path": "/users?offset=eyJ0", "uri": "https://app.asana.com/api/1.0/users?offset=eyJ0"}}),
            ),
            at(&["/addUser"], json!({"data": user("9")})),
            at(&["/removeUser"], json!({"data": {}})),
            at(&["GET", "/users/"], json!({"data": user("9")})),
            at(
                &[],
                json!({"errors": [{"message": "user: Unknown object: 10", "help": "x"}]}),
            ),
        ],
    );
}

#[test]
fn box_reads_any_answer_without_panic() {
    let user = |id: &str, status: &str| json!({"type": "user", "id": id, "name": "Ada Lovelace", "login": "ada@example.com", "status": status});
    fuzz(
        "box",
        Made::OAuth(&[]),
        vec![
            at(&["/oauth2/token"], token()),
            at(
                &["/users/me"],
                json!({"type": "user", "id": "1", "role": "admin", "login": "admin@example.com"}),
            ),
            at(
                &["/folders/"],
                json!({"type": "folder", "id": "555", "name": "ada@example.com - Ada Lovelace's Files and Folders"}),
            ),
            at(
                &["GET", "/2.0/users?"],
                json!({"entries": [user("1", "active"), user("2", "inactive")], "limit": 1000, "next_marker": "m2"}),
            ),
            at(&["/2.0/users"], user("9", "active")),
            at(
                &[],
                json!({"type": "error", "status": 409, "code": "user_login_already_used", "message": "taken"}),
            ),
        ],
    );
}

#[test]
fn clickup_reads_any_answer_without_panic() {
    let member = |id: u64, joined: Value| json!({"user": {"id": id, "username": "Ada", "email": "ada@example.com", "role": 3, "date_joined": joined, "date_invited": "1700000000000"}});
    let team = json!({"id": "9001", "name": "Acme", "members": [member(1, json!("1600000000000")), member(2, Value::Null)]});
    fuzz(
        "clickup",
        Made::ApiKey(&[("team_id", "9001")], &[("api_token", "pk_fuzz_token")]),
        vec![
            at(&["/plan"], json!({"plan_name": "Enterprise", "plan_id": 4})),
            at(
                &["/api/v2/user?"],
                json!({"user": {"id": 1, "username": "Owner", "email": "owner@example.com"}}),
            ),
            at(&["/api/v2/team?"], json!({"teams": [team.clone()]})),
            at(&["POST", "/user"], json!({"team": team})),
            at(&["/user/"], json!({"member": member(3, Value::Null)})),
            at(&[], json!({"err": "Team not authorized", "ECODE": "OAUTH_027"})),
        ],
    );
}

#[test]
fn docusign_reads_any_answer_without_panic() {
    let user = |id: &str, status: &str| json!({"userId": id, "userName": "Ada Lovelace", "firstName": "Ada", "lastName": "Lovelace", "userStatus": status, "email": "ada@example.com", "uri": format!("/users/{id}")});
    fuzz(
        "docusign",
        Made::OAuth(&[]),
        vec![
            at(&["/oauth/token"], token()),
            at(
                &["/oauth/userinfo"],
                json!({"sub": "4799e5e9", "email": "admin@example.com", "accounts": [
                {"account_id": "a4ec37d6-0000-4000-8000-143885c1a001", "is_default": true, "account_name": "Acme", "base_uri": "https://na3.docusign.net"}]}),
            ),
            at(
                &["GET", "/users?"],
                json!({"resultSetSize": "2", "totalSetSize": "5", "startPosition": "0", "endPosition": "1",
                "users": [user("u1", "Active"), user("u2", "ActivationSent")], "nextUri": "/users?start_position=2&count=100"}),
            ),
            at(
                &["POST", "/users"],
                json!({"newUsers": [{"userId": "u9", "userName": "Ada Lovelace", "userStatus": "ActivationSent", "email": "ada@example.com"}]}),
            ),
            at(&["/users/"], user("u1", "Active")),
            at(
                &["/users"],
                json!({"users": [{"userId": "u1", "userStatus": "closed"}]}),
            ),
            at(
                &[],
                json!({"errorCode": "USER_DOES_NOT_EXIST_IN_SYSTEM", "message": "no such user"}),
            ),
        ],
    );
}

#[test]
fn dropbox_reads_any_answer_without_panic() {
    let profile = |id: &str, status: &str| {
        json!({"team_member_id": id, "email": "ada@example.com", "email_verified": true, "status": {".tag": status},
        "name": {"given_name": "Ada", "surname": "Lovelace", "familiar_name": "Ada", "display_name": "Ada Lovelace", "abbreviated_name": "AL"}, "membership_type": {".tag": "full"}})
    };
    fuzz(
        "dropbox",
        Made::OAuth(&[]),
        vec![
            at(&["/oauth2/token"], token()),
            at(
                &["team/get_info"],
                json!({"name": "Acme", "team_id": "dbtid:1", "num_licensed_users": 5, "num_provisioned_users": 2}),
            ),
            at(
                &["members/list"],
                json!({"members": [{"profile": profile("dbmid:1", "active"), "roles": []}], "cursor": "c1", "has_more": true}),
            ),
            at(
                &["get_info_v2"],
                json!({"members_info": [{".tag": "member_info", "profile": profile("dbmid:2", "suspended"), "roles": []}]}),
            ),
            at(
                &["add/job_status"],
                json!({".tag": "complete", "complete": [{".tag": "success", "profile": profile("dbmid:3", "invited"), "roles": []}]}),
            ),
            at(
                &["add_v2"],
                json!({".tag": "async_job_id", "async_job_id": "job-1"}),
            ),
            at(&["remove/job_status"], json!({".tag": "complete"})),
            at(
                &["members/remove"],
                json!({".tag": "async_job_id", "async_job_id": "job-2"}),
            ),
            at(&["suspend"], Value::Null),
            at(
                &[],
                json!({"error_summary": "too_many_requests/..", "error": {"reason": {".tag": "too_many_requests"}, "retry_after": 3}}),
            ),
        ],
    );
}

#[test]
fn dynatrace_reads_any_answer_without_panic() {
    let user = |email: &str, status: &str| json!({"uid": format!("uid-{email}"), "email": email, "name": "Ada", "surname": "Lovelace", "userStatus": status, "emergencyContact": false});
    fuzz(
        "dynatrace",
        Made::ApiKey(
            &[
                ("account_uuid", "0d3bd3c9-7bd4-4a13-9d0e-c1a6f2c08a11"),
                ("client_id", "dt0s02.SAMPLE"),
            ],
            &[("client_secret", "dt0s02.SAMPLE.fuzz-secret")],
        ),
        vec![
            at(
                &["/sso/oauth2/token"],
                json!({"access_token": "tok", "token_type": "Bearer", "expires_in": 300, "scope": "account-idm-read account-idm-write"}),
            ),
            at(
                &["GET", "/users?"],
                json!({"count": 2, "items": [user("ada@example.com", "ACTIVE"), user("b@example.com", "PENDING")]}),
            ),
            at(&["/users"], user("ada@example.com", "INACTIVE")),
            at(&[], json!({"error": {"code": 404, "message": "User not found"}})),
        ],
    );
}

#[test]
fn github_reads_any_answer_without_panic() {
    let member = |login: &str| json!({"login": login, "id": 1, "type": "User", "site_admin": false});
    fuzz(
        "github",
        Made::OAuth(&[]),
        vec![
            at(
                &["/login/oauth/access_token"],
                json!({"access_token": "gho_a", "token_type": "bearer", "scope": "admin:org"}),
            ),
            at(
                &["/user/memberships/orgs"],
                json!([{"url": "https://api.github.com/orgs/acme/memberships/owner", "state": "active", "role": "admin",
                "organization": {"login": "acme", "id": 1}, "user": {"login": "owner", "id": 9}}]),
            ),
            at(&["/members?"], json!([member("octocat"), member("hubot")])),
            at(
                &["GET", "/invitations?"],
                json!([{"id": 9, "login": "linus", "email": "ada@example.com", "role": "direct_member",
                "created_at": "2025-01-01T00:00:00Z", "failed_at": null, "inviter": {"login": "owner", "id": 9}}]),
            ),
            at(
                &["/invitations"],
                json!({"id": 10, "login": null, "email": "ada@example.com", "role": "direct_member"}),
            ),
            at(
                &["/memberships/"],
                json!({"state": "active", "role": "member", "user": member("octocat")}),
            ),
            at(
                &[],
                json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}),
            ),
        ],
    );
}

#[test]
fn google_workspace_reads_any_answer_without_panic() {
    let user = |id: &str, suspended: bool| {
        json!({"kind": "admin#directory#user", "id": id, "primaryEmail": "ada@acme.com",
        "name": {"givenName": "Ada", "familyName": "Lovelace", "fullName": "Ada Lovelace"}, "suspended": suspended, "archived": false,
        "recoveryEmail": "ada@example.com", "emails": [{"address": "ada@acme.com", "primary": true}]})
    };
    fuzz(
        "google_workspace",
        Made::OAuth(&[]),
        vec![
            at(&["/token"], token()),
            at(
                &["/domains"],
                json!({"domains": [{"domainName": "acme.com", "isPrimary": true, "verified": true,
                "domainAliases": [{"domainAliasName": "acme.net", "verified": true}]}]}),
            ),
            at(
                &["/members"],
                json!({"kind": "admin#directory#member", "email": "ada@acme.com", "role": "MEMBER"}),
            ),
            at(
                &["/groups"],
                json!({"groups": [{"id": "g1", "email": "eng@acme.com", "name": "Engineering"}], "nextPageToken": "g2"}),
            ),
            at(
                &["GET", "/users?"],
                json!({"kind": "admin#directory#users", "users": [user("1", false), user("2", true)], "nextPageToken": "t2"}),
            ),
            at(&["/users"], user("1", false)),
            at(
                &[],
                json!({"error": {"code": 403, "message": "Rate Limit Exceeded",
                "errors": [{"message": "x", "domain": "usageLimits", "reason": "rateLimitExceeded"}]}}),
            ),
        ],
    );
}

#[test]
fn hubspot_reads_any_answer_without_panic() {
    let user = |id: &str| json!({"id": id, "email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace", "roleIds": [], "superAdmin": false});
    fuzz(
        "hubspot",
        Made::OAuth(&[]),
        vec![
            at(&["/oauth/v3/token"], token()),
            at(
                &["GET", "/settings/v3/users/?"],
                json!({"results": [user("1"), user("2")],
                "paging": {"next": {"after": "2", "link": "https://api.hubapi.com/settings/v3/users/?after=2"}}}),
            ),
            at(&["/settings/v3/users/"], user("9")),
            at(
                &[],
                json!({"status": "error", "message": "exists", "correlationId": "c0ffee", "category": "CONFLICT"}),
            ),
        ],
    );
}

#[test]
fn lastpass_reads_any_answer_without_panic() {
    let user = json!({"username": "ada@example.com", "fullname": "Ada Lovelace", "disabled": false, "admin": false,
        "last_login": "2025-01-01 00:00:00", "groups": ["Engineering"]});
    fuzz(
        "lastpass",
        Made::ApiKey(
            &[("region", "us"), ("cid", "1234567")],
            &[("provhash", "fuzz-provisioning-hash")],
        ),
        vec![
            at(
                &["getuserdata", "username"],
                json!({"Users": {"101": user.clone()}, "Groups": []}),
            ),
            at(
                &["getuserdata"],
                json!({"Users": {"101": user.clone(), "102": user}, "Groups": [], "invited": ["new@example.com"], "total": 3}),
            ),
            at(&["batchadd"], json!({"status": "OK"})),
            at(&["deluser"], json!({"status": "OK"})),
            at(&[], json!({"status": "FAIL", "error": ["user not found"]})),
        ],
    );
}

#[test]
fn leankit_reads_any_answer_without_panic() {
    let user = |id: &str| {
        json!({"id": id, "username": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace", "emailAddress": "ada@example.com",
        "lastAccess": null, "administrator": false, "enabled": true, "deleted": false})
    };
    fuzz(
        "planview_leankit",
        Made::ApiKey(&[("account", "acme")], &[("api_token", "fuzz-leankit-token")]),
        vec![
            at(&["/io/user/me"], user("1")),
            at(
                &["GET", "/io/user?"],
                json!({"pageMeta": {"totalRecords": 3, "offset": 0, "limit": 100, "startRow": 1, "endRow": 2}, "users": [user("1"), user("2")]}),
            ),
            at(&["/io/user"], user("9")),
            at(
                &[],
                json!({"statusCode": 422, "error": "Unprocessable Entity", "message": "exists"}),
            ),
        ],
    );
}

#[test]
fn microsoft_365_reads_any_answer_without_panic() {
    let user = |id: &str, enabled: bool| {
        json!({"id": id, "userPrincipalName": "ada@acme.com", "mail": "ada@acme.com", "givenName": "Ada",
        "surname": "Lovelace", "displayName": "Ada Lovelace", "accountEnabled": enabled, "assignedLicenses": [], "usageLocation": "US"})
    };
    fuzz(
        "microsoft_365",
        Made::OAuth(&[]),
        vec![
            at(&["/oauth2/v2.0/token"], token()),
            at(
                &["/domains"],
                json!({"value": [{"id": "acme.com", "isVerified": true, "isDefault": true, "supportedServices": ["Email"]}]}),
            ),
            at(
                &["/subscribedSkus"],
                json!({"value": [{"skuId": "3b555118-0000-4000-8000-000000000001", "skuPartNumber": "O365_BUSINESS_ESSENTIALS",
                "appliesTo": "User", "capabilityStatus": "Enabled", "consumedUnits": 1, "prepaidUnits": {"enabled": 5},
                "servicePlans": [{"servicePlanId": "p1", "servicePlanName": "EXCHANGE_S_STANDARD", "provisioningStatus": "Success", "appliesTo": "User"}]}]}),
            ),
            at(
                &["/organization"],
                json!({"value": [{"id": "tenant", "verifiedDomains": [{"name": "acme.com", "isDefault": true}]}]}),
            ),
            at(
                &["GET", "/users?"],
                json!({"value": [user("u1", true), user("u2", false)], "@odata.nextLink": "https://graph.microsoft.com/v1.0/users?$skiptoken=x"}),
            ),
            at(&["/users"], user("u1", true)),
            at(
                &[],
                json!({"error": {"code": "Request_ResourceNotFound", "message": "gone", "innerError": {"request-id": "r-1"}}}),
            ),
        ],
    );
}

#[test]
fn sauce_labs_reads_any_answer_without_panic() {
    let user = |id: &str, active: bool| {
        json!({"id": id, "username": format!("user-{id}"), "email": "ada@example.com", "first_name": "Ada",
        "last_name": "Lovelace", "is_active": active, "organization": {"id": "org1", "name": "Acme"}})
    };
    fuzz(
        "sauce_labs",
        Made::ApiKey(
            &[("data_center", "us-west-1"), ("username", "acme-admin")],
            &[("access_key", "fuzz-access-key")],
        ),
        vec![
            at(
                &["GET", "/users/?"],
                json!({"links": {"next": "https://api.us-west-1.saucelabs.com/team-management/v1/users/?offset=2", "previous": null},
                "count": 3, "results": [user("1", true), user("2", false)]}),
            ),
            at(&["/users/"], user("9", true)),
            at(
                &[],
                json!({"username": ["A user with that username already exists."], "detail": "Not found."}),
            ),
        ],
    );
}

#[test]
fn trello_reads_any_answer_without_panic() {
    let membership = |id: &str, unconfirmed: bool, deactivated: bool| {
        json!({"id": format!("ms-{id}"), "idMember": id, "memberType": "normal",
        "unconfirmed": unconfirmed, "deactivated": deactivated, "member": {"id": id, "username": "ada", "fullName": "Ada Lovelace", "confirmed": !unconfirmed}})
    };
    fuzz(
        "trello",
        Made::ApiKey(
            &[("workspace", "acme_team")],
            &[
                ("api_key", "0123456789abcdef0123456789abcdef"),
                ("api_token", "fuzz-token-of-a-trello-workspace-admin"),
            ],
        ),
        vec![
            at(
                &["/members/me"],
                json!({"id": "5f00000000000000000000a1", "username": "admin", "fullName": "Admin", "idOrganizations": ["acme"]}),
            ),
            at(
                &["/memberships"],
                json!([
                    membership("5f00000000000000000000a1", false, false),
                    membership("5f00000000000000000000b2", true, false)
                ]),
            ),
            at(
                &["/members"],
                json!({"id": "org1", "name": "acme_team", "memberships": [membership("5f00000000000000000000c3", false, true)]}),
            ),
            at(&[], json!({"message": "invalid token", "error": "ERROR"})),
        ],
    );
}

/// Zoho Desk, Books and CRM behind one accounts server.
fn zoho() -> Vec<Endpoint> {
    let agent = json!({"id": "3001", "emailId": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace", "name": "Ada Lovelace",
        "status": "ACTIVE", "isConfirmed": true});
    let user = json!({"id": "4001", "user_id": "4001", "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace",
        "full_name": "Ada Lovelace", "name": "Ada Lovelace", "status": "active", "confirm": true, "user_role": "staff"});
    vec![
        at(
            &["/oauth/v2/token"],
            json!({"access_token": "tok", "expires_in": 3600, "api_domain": "https://www.zohoapis.com", "token_type": "Bearer"}),
        ),
        at(
            &["/organizations"],
            json!({"data": [{"id": "2389290", "companyName": "Acme", "isDefault": true}],
            "organizations": [{"organization_id": "10234695", "name": "Acme", "is_default_org": true}], "code": 0}),
        ),
        at(
            &["/departments"],
            json!({"data": [{"id": "502", "isDefault": true, "isEnabled": true}]}),
        ),
        at(&["GET", "/agents?"], json!({"data": [agent.clone()]})),
        at(&["/agents"], agent),
        at(
            &["/roles"],
            json!({"roles": [{"id": "r1", "name": "Standard", "display_label": "Standard", "role_name": "Staff"}], "code": 0}),
        ),
        at(
            &["/profiles"],
            json!({"profiles": [{"id": "p1", "name": "Standard"}]}),
        ),
        at(
            &["GET", "/users?"],
            json!({"code": 0, "users": [user.clone()], "info": {"per_page": 200, "count": 1, "page": 1, "more_records": true},
            "page_context": {"page": 1, "per_page": 200, "has_more_page": true}}),
        ),
        at(
            &["/users"],
            json!({"code": 0, "users": [user.clone()], "user": user}),
        ),
        at(
            &[],
            json!({"errorCode": "TOO_MANY_REQUESTS", "code": "INVALID_DATA", "status": "error", "message": "bad", "details": {}}),
        ),
    ]
}

#[test]
fn zoho_desk_books_and_crm_read_any_answer_without_panic() {
    for tenant in [
        &[
            ("product", "desk"),
            ("data_center", "us"),
            ("client_id", "1000.FUZZCLIENT"),
        ],
        &[
            ("product", "books"),
            ("data_center", "us"),
            ("client_id", "1000.FUZZCLIENT"),
        ],
        &[
            ("product", "crm"),
            ("data_center", "us"),
            ("client_id", "1000.FUZZCLIENT"),
        ],
    ] {
        fuzz(
            "zoho",
            Made::ApiKey(
                tenant,
                &[
                    ("client_secret", "fuzz-client-secret"),
                    ("refresh_token", "fuzz-refresh-token"),
                ],
            ),
            zoho(),
        );
    }
}

/// Every call of `app`'s connector (and its token calls) against one fixed 200 answer per
/// endpoint: the first call that panicked or hung, if any.
fn every_call_against(app: &'static str, made: Made, endpoints: Vec<Endpoint>) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let current = Current::default();
        let vendor = mock_vendor(current.clone()).await;
        let whens = endpoints.iter().map(|e| e.when).collect();
        let answers = endpoints
            .into_iter()
            .map(|e| Answer {
                status: 200,
                headers: Vec::new(),
                body: e.seed.to_string().into_bytes(),
            })
            .collect();
        *current.0.lock().unwrap() = Some((whens, answers));
        every_call(connector(&vendor, app, made)).await?;
        if matches!(made, Made::OAuth(_)) {
            token_calls(&vendor, app).await?;
        }
        Ok(())
    })
}

/// Found by the property tests above: `startIndex` near `u64::MAX` overflowed the next
/// page's position (SCIM apps: 15Five, Salesforce, Slack, the sandbox).
#[test]
fn a_scim_start_index_at_the_integer_edge_is_read_without_panic() {
    let page = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": u64::MAX,
        "startIndex": u64::MAX, "itemsPerPage": 1, "Resources": [scim_user("u1", true)]});
    let endpoints = vec![at(&["GET", "/Users?"], page), at(&[], scim_user("u1", true))];
    every_call_against(
        "fifteen_five",
        Made::ApiKey(
            &[("scim_base_url", "https://acme.15five.com/scim/v2/")],
            &[("scim_token", "fuzz-token-0123456789abcdefghij")],
        ),
        endpoints,
    )
    .unwrap();
}

/// Found by the property tests: an `endPosition` of `usize::MAX` (as text) overflowed the
/// next page's position.
#[test]
fn a_docusign_end_position_at_the_integer_edge_is_read_without_panic() {
    let user = json!({"userId": "u1", "userName": "Ada Lovelace", "userStatus": "Active", "email": "ada@example.com"});
    let endpoints = vec![
        at(
            &["/oauth/userinfo"],
            json!({"sub": "s", "accounts": [{"account_id": "a4ec37d6-0000-4000-8000-143885c1a001",
            "is_default": true, "base_uri": "https://na3.docusign.net"}]}),
        ),
        at(
            &["GET", "/users?"],
            json!({"resultSetSize": "1", "totalSetSize": "18446744073709551615",
            "startPosition": "18446744073709551615", "endPosition": "18446744073709551615", "users": [user.clone()]}),
        ),
        at(&[], user),
    ];
    every_call_against("docusign", Made::OAuth(&[]), endpoints).unwrap();
}

/// Found by the property tests: an `expires_in` beyond any date (Slack's, or an OAuth
/// token endpoint's, or a token the service mints itself) overflowed the expiry.
#[test]
fn a_token_lifetime_beyond_any_date_is_read_without_panic() {
    every_call_against(
        "slack",
        Made::OAuth(&[]),
        vec![
            at(
                &["oauth.v2.access"],
                json!({"ok": true, "authed_user": {"id": "U1", "access_token": "a", "expires_in": i64::MAX}}),
            ),
            at(&[], scim_user("u1", true)),
        ],
    )
    .unwrap();
    every_call_against(
        "box",
        Made::OAuth(&[]),
        vec![
            at(
                &["/oauth2/token"],
                json!({"access_token": "a", "token_type": "Bearer", "expires_in": u64::MAX}),
            ),
            at(
                &[],
                json!({"type": "user", "id": "1", "login": "ada@example.com", "status": "active"}),
            ),
        ],
    )
    .unwrap();
    every_call_against(
        "dynatrace",
        Made::ApiKey(
            &[
                ("account_uuid", "0d3bd3c9-7bd4-4a13-9d0e-c1a6f2c08a11"),
                ("client_id", "dt0s02.SAMPLE"),
            ],
            &[("client_secret", "dt0s02.SAMPLE.fuzz-secret")],
        ),
        vec![
            at(
                &["/sso/oauth2/token"],
                json!({"access_token": "tok", "token_type": "Bearer", "expires_in": u64::MAX}),
            ),
            at(&[], json!({"count": 0, "items": []})),
        ],
    )
    .unwrap();
}

/// Found by the property tests: a Zoho listing whose every page says another follows (the
/// same page again) held a lookup by email forever.
#[test]
fn a_zoho_listing_that_says_more_forever_ends_a_lookup() {
    let user = json!({"id": "4001", "email": "someone@example.com", "first_name": "Some", "last_name": "One", "status": "active", "confirm": true});
    every_call_against(
        "zoho",
        Made::ApiKey(
            &[("product", "crm"), ("data_center", "us"), ("client_id", "1000.FUZZCLIENT")],
            &[("client_secret", "fuzz-client-secret"), ("refresh_token", "fuzz-refresh-token")],
        ),
        vec![
            at(&["/oauth/v2/token"], json!({"access_token": "tok", "expires_in": 3600})),
            at(&["GET", "/users?"], json!({"users": [user], "info": {"per_page": 200, "count": 1, "page": 1, "more_records": true}})),
            at(&[], json!({"code": "INVALID_DATA", "status": "error", "message": "bad"})),
        ],
    )
    .unwrap();
}

/// Found by the property tests: a Google group listing that gives the same page token
/// again made a thousand calls (the page bound) before it gave up; it now stops at the
/// repeat.
#[tokio::test]
async fn a_google_group_listing_that_repeats_its_page_stops_at_the_repeat() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/admin/directory/v1/groups"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "groups": [{"id": "g1", "email": "eng@acme.com", "name": "Engineering"}],
            "nextPageToken": "the-same-page"
        })))
        .mount(&server)
        .await;
    let (connector, _) = crate::support::oauth_connector(
        &server,
        "google_workspace",
        &["admin.googleapis.com"],
        "gw-access",
    );
    let result = connector.groups().await;
    assert!(
        matches!(&result, Err(prov_connectors::ConnectorError::Transient(m)) if m.contains("repeated")),
        "{result:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}
