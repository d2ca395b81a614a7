//! Issue 24, retry semantics and the vendors' pace: reset headers read on rate-limit answers
//! only, server errors retried after an exponential backoff (Google's own for Google), waits
//! bounded per connector and handed back with the wait beyond it, a rate-limit answer
//! holding every caller of the app (every instance, with shared budgets), and the pace back
//! to the published one within a minute.

use std::sync::Arc;
use std::time::Duration;

use prov_connectors::ConnectorError;
use prov_connectors::egress::EgressPolicy;
use prov_connectors::http::{
    HttpConfig, RateLimit, Session, SharedBudgets, StaticAuth, VendorHttp, VendorRequest,
};
use prov_connectors::registry::AppSpec;
use secrecy::SecretString;
use serde_json::json;
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{MemoryStore, SimTime, VENDOR, first_then, oauth_connector, session_for, vendor_http};

fn bearer() -> Arc<StaticAuth> {
    Arc::new(StaticAuth::bearer(&SecretString::from("token")))
}

fn at(host: &str, p: &str) -> Url {
    Url::parse(&format!("https://{host}{p}")).unwrap()
}

/// Response headers a vendor sends.
type Headers<'a> = &'a [(&'a str, &'a str)];

/// GitHub, DocuSign, Okta, ClickUp and LeanKit send their reset header on every answer, a
/// 5xx included: it says when the hour's (or minute's) allowance refills, not when to retry.
/// A 5xx carrying one is retried after the standard backoff's first wait (125–250 ms), not
/// after the minute the header names.
#[tokio::test]
async fn server_errors_carrying_a_vendors_reset_header_wait_the_backoff_not_the_reset() {
    let reset = (chrono::Utc::now() + chrono::Duration::seconds(60))
        .timestamp()
        .to_string();
    let vendors: [(&AppSpec, &str, Headers); 5] = [
        (
            &prov_connectors::github::SPEC,
            "api.github.com",
            &[
                ("x-ratelimit-limit", "5000"),
                ("x-ratelimit-remaining", "4990"),
                ("x-ratelimit-reset", &reset),
                ("x-ratelimit-resource", "core"),
            ],
        ),
        (
            &prov_connectors::docusign::SPEC,
            "na3.docusign.net",
            &[
                ("X-RateLimit-Limit", "3000"),
                ("X-RateLimit-Remaining", "2990"),
                ("X-RateLimit-Reset", &reset),
                ("X-BurstLimit-Limit", "500"),
                ("X-BurstLimit-Remaining", "499"),
            ],
        ),
        (
            &prov_connectors::okta::SPEC,
            "acme.okta.com",
            &[
                ("X-Rate-Limit-Limit", "600"),
                ("X-Rate-Limit-Remaining", "590"),
                ("X-Rate-Limit-Reset", &reset),
            ],
        ),
        (
            &prov_connectors::clickup::SPEC,
            "api.clickup.com",
            &[
                ("X-RateLimit-Limit", "10000"),
                ("X-RateLimit-Remaining", "9990"),
                ("X-RateLimit-Reset", &reset),
            ],
        ),
        (
            &prov_connectors::leankit::SPEC,
            "acme.leankit.com",
            &[
                ("X-RateLimit-Limit", "120"),
                ("X-RateLimit-Remaining", "110"),
                ("X-RateLimit-Reset", &reset),
            ],
        ),
    ];
    let config = HttpConfig::default();
    for (spec, host, headers) in vendors {
        let server = MockServer::start().await;
        let unavailable = headers
            .iter()
            .fold(ResponseTemplate::new(503), |r, (name, value)| {
                r.insert_header(*name, *value)
            });
        first_then(
            &server,
            || Mock::given(method("GET")).and(path("/probe")),
            unavailable,
            ResponseTemplate::new(200).set_body_json(json!({})),
        )
        .await;
        let (http, sleeper) = vendor_http(&server, &[host]);
        let session = spec.session(http, "com_1", bearer());
        let answer = session
            .send(VendorRequest::get(at(host, "/probe")))
            .await
            .unwrap();
        assert_eq!(answer.status, 200, "{}", spec.slug());
        let waits = sleeper.waits();
        assert_eq!(waits.len(), 1, "{}: {waits:?}", spec.slug());
        assert!(
            waits[0] >= config.base_backoff / 2 && waits[0] <= config.base_backoff,
            "{}: {waits:?}",
            spec.slug()
        );
        assert_eq!(server.received_requests().await.unwrap().len(), 2);
    }
}

/// Each vendor's rate-limit answer is still waited for as its reset header says (here a
/// 429 with a reset 4 s ahead, within what a connector waits).
#[tokio::test]
async fn a_rate_limit_answer_still_waits_for_the_reset_it_names() {
    let reset = (chrono::Utc::now() + chrono::Duration::seconds(4))
        .timestamp()
        .to_string();
    let server = MockServer::start().await;
    first_then(
        &server,
        || Mock::given(method("GET")).and(path("/probe")),
        ResponseTemplate::new(429).insert_header("x-ratelimit-reset", reset.as_str()),
        ResponseTemplate::new(200).set_body_json(json!({})),
    )
    .await;
    let (http, sleeper) = vendor_http(&server, &["api.github.com"]);
    let session = prov_connectors::github::SPEC.session(http, "com_1", bearer());
    session
        .send(VendorRequest::get(at("api.github.com", "/probe")))
        .await
        .unwrap();
    let waits = sleeper.waits();
    assert_eq!(waits.len(), 1, "{waits:?}");
    assert!(
        waits[0] >= Duration::from_secs(2) && waits[0] <= Duration::from_secs(4),
        "{waits:?}"
    );
}

/// Google asks for exponential backoff: 1 s, 2 s, 4 s … each plus up to a second at random.
/// Rate-limit answers (403 `userRateLimitExceeded`) are retried that way until the
/// connector's wait is spent; the next wait is handed back with the error.
#[tokio::test]
async fn google_is_retried_with_its_own_exponential_backoff_and_the_next_wait_handed_back() {
    let server = MockServer::start().await;
    let limited = json!({"error": {"code": 403, "message": "Rate Limit Exceeded",
        "errors": [{"reason": "userRateLimitExceeded", "domain": "usageLimits", "message": "Rate Limit Exceeded"}]}});
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(403).set_body_json(limited))
        .mount(&server)
        .await;
    let (connector, sleeper) = oauth_connector(
        &server,
        "google_workspace",
        &["admin.googleapis.com"],
        "ya29.token",
    );
    let error = connector.list(None).await.unwrap_err();
    let waits = sleeper.waits();
    let second = |s: u64| Duration::from_secs(s);
    assert_eq!(waits.len(), 3, "{waits:?}");
    for (wait, first) in waits.iter().zip([1, 2, 4]) {
        assert!(*wait >= second(first) && *wait < second(first + 1), "{waits:?}");
    }
    match error {
        ConnectorError::RateLimited {
            retry_after: Some(next),
        } => assert!(next >= second(8) && next < second(9), "{next:?}"),
        other => panic!("expected the next wait handed back, got {other:?}"),
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
    // A 5xx is retried on the same backoff: once, after 1–2 s.
    let server = MockServer::start().await;
    first_then(
        &server,
        || Mock::given(method("GET")),
        ResponseTemplate::new(503),
        ResponseTemplate::new(200).set_body_json(json!({"users": []})),
    )
    .await;
    let (connector, sleeper) = oauth_connector(
        &server,
        "google_workspace",
        &["admin.googleapis.com"],
        "ya29.token",
    );
    connector.list(None).await.unwrap();
    let waits = sleeper.waits();
    assert_eq!(waits.len(), 1, "{waits:?}");
    assert!(waits[0] >= second(1) && waits[0] < second(2), "{waits:?}");
}

/// A connector waits `max_wait` in all: a second `Retry-After: 7` is more than is left, so
/// the caller gets it (to answer 429 with it, or to come back later) instead of a wait.
#[tokio::test]
async fn a_wait_beyond_what_the_connector_has_left_is_handed_back_with_the_wait() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "7"))
        .mount(&server)
        .await;
    let config = HttpConfig::default();
    let (session, sleeper) = session_for(&server, config.clone());
    let error = session
        .send(VendorRequest::get(at(VENDOR, "/users")))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        ConnectorError::RateLimited {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    assert_eq!(sleeper.waits(), [Duration::from_secs(7)]);
    assert!(sleeper.waits().iter().sum::<Duration>() <= config.max_wait);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    // A 5xx whose backoff no longer fits is not waited for either: the failure is answered.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "6"))
        .mount(&server)
        .await;
    let (session, sleeper) = session_for(&server, config);
    let error = session
        .send(VendorRequest::get(at(VENDOR, "/users")))
        .await
        .unwrap_err();
    assert!(matches!(error, ConnectorError::Transient(_)), "{error:?}");
    assert_eq!(sleeper.waits(), [Duration::from_secs(6)]);
}

fn paced(http: Arc<VendorHttp>, limit: RateLimit) -> Session {
    let policy_hosts = vec![prov_connectors::egress::HostPattern::new(VENDOR).unwrap()];
    Session::new(http, "test", "com_1", policy_hosts, bearer(), Some(limit))
}

/// After a rate-limit answer, every caller of the app for the company (a later connector
/// too) waits out the vendor's wait, then calls go one at a time, half as slow again as
/// the published pace, coming back to it within a minute.
#[tokio::test]
async fn a_rate_limit_answer_holds_every_caller_then_the_pace_recovers_within_a_minute() {
    let server = MockServer::start().await;
    first_then(
        &server,
        || Mock::given(method("GET")),
        ResponseTemplate::new(429).insert_header("retry-after", "5"),
        ResponseTemplate::new(200),
    )
    .await;
    let limit = RateLimit {
        per_minute: 60,
        burst: 5,
    };
    let (http, sleeper) = vendor_http(&server, &[VENDOR]);
    paced(http.clone(), limit)
        .send(VendorRequest::get(at(VENDOR, "/a")))
        .await
        .unwrap();
    assert_eq!(sleeper.waits(), [Duration::from_secs(5)]);
    // A new connector (another request) right after: no burst, 1.5 s apart.
    let mut waits = Vec::new();
    for _ in 0..3 {
        let before = sleeper.waits().len();
        paced(http.clone(), limit)
            .send(VendorRequest::get(at(VENDOR, "/b")))
            .await
            .unwrap();
        waits.push(sleeper.waits()[before..].iter().sum::<Duration>());
    }
    assert_eq!(waits[0], Duration::from_millis(1500), "{waits:?}");
    assert!(
        waits[1] < waits[0] && waits[1] > Duration::from_secs(1),
        "{waits:?}"
    );
    // A minute of calls later the published pace is back, and with it the burst.
    for _ in 0..60 {
        paced(http.clone(), limit)
            .send(VendorRequest::get(at(VENDOR, "/c")))
            .await
            .unwrap();
    }
    let calm = sleeper.waits().len();
    paced(http.clone(), limit)
        .send(VendorRequest::get(at(VENDOR, "/d")))
        .await
        .unwrap();
    assert!(
        sleeper.waits()[calm..]
            .iter()
            .all(|w| *w <= Duration::from_secs(1)),
        "{:?}",
        &sleeper.waits()[calm..]
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1 + 1 + 3 + 60 + 1
    );
}

/// Several instances (each its own machinery: throttle, caches) sharing the item store keep
/// the app to one budget: nine calls with a burst of two and one a second take seven
/// seconds, as from one instance; without shared budgets each instance would burst on its own.
#[tokio::test]
async fn instances_sharing_budgets_keep_to_one_limit_and_to_one_rate_limit_answer() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/calls"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let limit = RateLimit {
        per_minute: 60,
        burst: 2,
    };
    let time = Arc::new(SimTime::default());
    let store = Arc::new(MemoryStore::default());
    let instances: Vec<Arc<VendorHttp>> = (0..3)
        .map(|_| {
            let policy = EgressPolicy::sandbox().route(VENDOR, &server.uri()).unwrap();
            Arc::new(
                VendorHttp::with_sleeper(policy, HttpConfig::default(), time.clone())
                    .with_shared_budgets(SharedBudgets::new(store.clone(), time.clone())),
            )
        })
        .collect();
    for call in 0..9 {
        paced(instances[call % 3].clone(), limit)
            .send(VendorRequest::get(at(VENDOR, "/calls")))
            .await
            .unwrap();
    }
    assert_eq!(time.elapsed(), Duration::from_secs(7), "{:?}", time.waits());
    // One instance's rate-limit answer holds the others: the vendor asked for 4 s.
    Mock::given(method("GET"))
        .and(path("/busy"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "4"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/busy"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&server)
        .await;
    let before = time.elapsed();
    paced(instances[0].clone(), limit)
        .send(VendorRequest::get(at(VENDOR, "/busy")))
        .await
        .unwrap();
    let held = time.elapsed();
    assert!(held >= before + Duration::from_secs(4), "{:?}", time.waits());
    paced(instances[1].clone(), limit)
        .send(VendorRequest::get(at(VENDOR, "/calls")))
        .await
        .unwrap();
    // The other instance went no earlier than the slowed pace allows after the wait.
    assert!(
        time.elapsed() >= held + Duration::from_millis(1500),
        "{:?}",
        time.waits()
    );
    let busy = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/busy")
        .count();
    assert_eq!(busy, 2, "one 429, then the retry");
}

/// The shared budget's round trips (issue 24): one instance's turns cost one write per
/// lease of turns while the burst has room, and no read while it wrote the pace last; after
/// another instance wrote, a turn reads it again (its write at the old version is refused);
/// a lease not spent within its life goes back to the store.
#[tokio::test]
async fn shared_budget_turns_cost_one_write_per_lease_and_read_only_after_another_instance() {
    use prov_connectors::budget::{LEASE_LIFE, lease_turns};
    use prov_connectors::http::Sleeper;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let limit = RateLimit {
        per_minute: 60,
        burst: 9,
    };
    assert_eq!(lease_turns(limit), 3);
    let time = Arc::new(SimTime::default());
    let store = Arc::new(MemoryStore::default());
    let instance = || {
        let policy = EgressPolicy::sandbox().route(VENDOR, &server.uri()).unwrap();
        Arc::new(
            VendorHttp::with_sleeper(policy, HttpConfig::default(), time.clone())
                .with_shared_budgets(SharedBudgets::new(store.clone(), time.clone())),
        )
    };
    let (one, two) = (instance(), instance());
    let call = |http: &Arc<VendorHttp>| {
        let session = paced(http.clone(), limit);
        async move {
            session
                .send(VendorRequest::get(at(VENDOR, "/calls")))
                .await
                .unwrap()
        }
    };
    // Six calls within the burst: two leases of three turns; the first read finds nothing.
    for _ in 0..6 {
        call(&one).await;
    }
    assert_eq!(store.round_trips(), (1, 2));
    // Another instance: it reads, takes what is left of the burst (three) in one write.
    call(&two).await;
    assert_eq!(store.round_trips(), (2, 3));
    // The first instance's write at the version it knew is refused: it reads and writes
    // again. The burst is spent: this turn waits a second at the published pace, one turn.
    call(&one).await;
    assert_eq!(store.round_trips(), (3, 5));
    assert_eq!(time.elapsed(), Duration::from_secs(1));
    // The second instance's two leased turns are spent without the store, within their life.
    call(&two).await;
    call(&two).await;
    assert_eq!(store.round_trips(), (3, 5));
    // Later, the burst refilled: the first instance wrote last, so it writes without a read,
    // and takes a lease again.
    time.sleep(Duration::from_secs(30)).await;
    call(&one).await;
    assert_eq!(store.round_trips(), (3, 6));
    // A lease not spent within its life is given up: the next call goes to the store.
    time.sleep(LEASE_LIFE + Duration::from_secs(1)).await;
    call(&one).await;
    assert_eq!(store.round_trips(), (3, 7));
    let calls = server.received_requests().await.unwrap().len();
    assert_eq!(calls, 12);
}
