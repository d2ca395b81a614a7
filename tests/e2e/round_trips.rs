//! AWS round trips per operation (issue 11, item 3): the whole service on its AWS adapters
//! (DynamoDB, Secrets Manager, EventBridge Scheduler and SES, all on moto, every SDK client
//! counting what it sends), the sandbox apps as vendors. Each operation's round trips are
//! printed (`infra/scripts/bench` collects the lines into BENCHMARKS.md) and held to a budget:
//! the minimum its data needs, so a change that adds a round trip fails here. Each operation's
//! trips, with the sizes of the DynamoDB items they read and wrote, and its vendor calls are
//! printed as `cost-input` lines too, with the sizes of every stored item at the end: the
//! figures of the cost model (`infra/bench/src/bin/cost.rs`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{TimeZone, Utc};
use devserver::{Local, LocalConfig};
use prov_connectors::http::{HttpConfig, SharedBudgets, VendorHttp};
use prov_core::Services;
use prov_core::auth::ensure_partner_token;
use prov_core::clock::ManualClock;
use prov_core::queue::JobQueue;
use prov_platform::{
    EnvelopeSecretStore, EventBridgeScheduler, EventBridgeTarget, SecretsManagerKeyring, SecretsManagerStore,
    SesMailer, SqsQueue,
};
use prov_processes::accounts::RunLimits;
use prov_processes::dismissal::{self, CleanupEvent};
use prov_processes::reconcile;
use prov_store::DynamoStore;
use prov_testkit::{Answer, RoundTrips, Trip, call, json_request};
use secrecy::SecretString;
use serde_json::{Value, json};

const PARTNER: &str = "round-trips-partner-token-0123456789";
const SENDER: &str = "no-reply@provisioning.example.com";

struct Deployed {
    app: axum::Router,
    local: Local,
    clock: ManualClock,
    round_trips: RoundTrips,
    /// Requests the sandbox vendors received (over the network, from the service).
    vendor_calls: Arc<AtomicUsize>,
    dynamodb: aws_sdk_dynamodb::Client,
    /// The jobs queue (SQS): the worker's messages, sent and consumed through counted calls.
    jobs: Arc<SqsQueue>,
    /// The main and audit tables.
    tables: [String; 2],
    /// Each measured operation: (name, its round trips, its vendor calls).
    measured: Vec<(String, Vec<Trip>, usize)>,
    _dir: tempfile::TempDir,
}

impl Deployed {
    async fn start() -> Self {
        let aws = prov_testkit::counted_clients();
        let (table, audit) = (
            prov_testkit::unique_name("rt"),
            prov_testkit::unique_name("rt-audit"),
        );
        DynamoStore::create_table(&aws.dynamodb, &table).await.unwrap();
        DynamoStore::create_table(&aws.dynamodb, &audit).await.unwrap();
        let tables = [table.clone(), audit.clone()];
        aws.sesv2
            .create_email_identity()
            .email_identity(SENDER)
            .send()
            .await
            .unwrap();
        let queue_url = aws
            .sqs
            .create_queue()
            .queue_name(prov_testkit::unique_name("rt-jobs"))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let jobs = Arc::new(SqsQueue::new(aws.sqs.clone(), queue_url));
        let group = prov_testkit::unique_name("rt-dismissals");
        aws.scheduler
            .create_schedule_group()
            .name(&group)
            .send()
            .await
            .unwrap();

        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let listen_url = format!("http://{}", listener.local_addr().unwrap());
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap());
        let config = LocalConfig {
            data_dir: dir.path(),
            public_base_url: &listen_url,
            listen_url: &listen_url,
            vendor_routes: &[],
        };
        // The devserver's wiring (sandbox vendors, egress routes, OAuth clients) with the
        // AWS adapters in place of the embedded ones.
        let mut local = Local::open(&config, Arc::new(clock.clone())).unwrap();
        let services = Services {
            store: Arc::new(DynamoStore::new(aws.dynamodb.clone(), table)),
            audit: Arc::new(DynamoStore::new(aws.dynamodb.clone(), audit)),
            mailer: Arc::new(SesMailer::new(aws.sesv2.clone(), SENDER)),
            ..local.services.clone()
        }
        .with_queue(jobs.clone());
        local.services = services.clone();
        local.apps.services = services.clone();
        local.apps.queue = jobs.clone();
        // Credentials as `prov_platform::aws_apps` keeps them: in the table, under the
        // keyring of Secrets Manager, moving per-connection secrets of before as read.
        let keyring = prov_testkit::unique_name("rt-keyring");
        aws.secretsmanager
            .create_secret()
            .name(&keyring)
            .secret_string(r#"{"current": "k1", "k1": "round-trips-key-material-0123456789abcdef"}"#)
            .send()
            .await
            .unwrap();
        let legacy = SecretsManagerStore::new(
            aws.secretsmanager.clone(),
            &prov_testkit::unique_name("rt"),
            std::time::Duration::ZERO,
        );
        local.apps.secrets = Arc::new(
            EnvelopeSecretStore::new(
                services.store.clone(),
                SecretsManagerKeyring::new(aws.secretsmanager.clone(), &keyring),
            )
            .with_legacy(Arc::new(legacy)),
        );
        // Vendor calls paced as `aws_apps` paces them: the budgets every instance shares,
        // in the table.
        let sandbox_base = format!("{listen_url}/_sandbox");
        let http = VendorHttp::new(
            devserver::sandbox_policy(&sandbox_base, &[]).unwrap(),
            HttpConfig::default(),
        )
        .with_shared_budgets(SharedBudgets::new(services.store.clone(), services.clock.clone()));
        local.apps.vendors = Arc::new(devserver::sandbox_gateway(Arc::new(http), services.clock.clone()));
        local.apps.scheduler = Arc::new(EventBridgeScheduler::new(
            aws.scheduler.clone(),
            EventBridgeTarget {
                group,
                function_arn: "arn:aws:lambda:us-east-1:123456789012:function:cleanup".into(),
                role_arn: "arn:aws:iam::123456789012:role/scheduler".into(),
                dead_letter_arn: "arn:aws:sqs:us-east-1:123456789012:dlq".into(),
            },
        ));
        ensure_partner_token(
            local.services.store.as_ref(),
            &clock,
            "P",
            &SecretString::from(PARTNER),
        )
        .await
        .unwrap();
        let app = local.app();
        // What reaches the sandbox over the network is what the service sent its vendors.
        let vendor_calls = Arc::new(AtomicUsize::new(0));
        let counted = vendor_calls.clone();
        let served = app.clone().layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                if request.uri().path().starts_with("/_sandbox/") {
                    counted.fetch_add(1, Ordering::SeqCst);
                }
                next.run(request)
            },
        ));
        tokio::spawn(async move { axum::serve(listener, served).await });
        aws.round_trips.take();
        Self {
            app,
            local,
            clock,
            round_trips: aws.round_trips,
            vendor_calls,
            dynamodb: aws.dynamodb,
            jobs,
            tables,
            measured: Vec::new(),
            _dir: dir,
        }
    }

    async fn send(&self, method: &str, uri: &str, token: &str, body: Option<Value>) -> Answer {
        let body = body.unwrap_or(Value::Null);
        let token = Some(token).filter(|t| !t.is_empty());
        let mut request = json_request(method, uri, token, &body);
        if body.is_null() {
            *request.body_mut() = axum::body::Body::empty();
            request.headers_mut().remove("content-type");
        }
        call(&self.app, request).await
    }

    /// Sends one request and records its round trips under `name`.
    async fn measure(
        &mut self,
        name: &str,
        method: &str,
        uri: &str,
        token: &str,
        body: Option<Value>,
    ) -> Answer {
        self.begin();
        let answer = self.send(method, uri, token, body).await;
        assert!(answer.status.is_success(), "{name}: {}", answer.text());
        self.record(name);
        answer
    }

    /// Runs the jobs queue's messages as the worker function's event source mapping does in
    /// AWS: one message an invocation (`BatchSize: 1`), deleted once it ran. Its receives and
    /// deletes are SQS requests billed like the sends. The receive that finds the queue empty
    /// is not counted here: the mapping polls an idle queue all the time, a cost of the
    /// deployment that the cost model books as such.
    async fn work_jobs(&self) -> usize {
        let mut ran = 0;
        loop {
            let received = self.jobs.receive(1, chrono::Duration::minutes(6)).await.unwrap();
            let Some(message) = received.into_iter().next() else {
                let empty = self.round_trips.pop().expect("the empty receive");
                assert_eq!(empty.operation, "ReceiveMessage");
                return ran;
            };
            prov_processes::worker::run_message(&self.local.apps, &message.body, RunLimits::default())
                .await
                .unwrap();
            self.jobs.delete(&message.receipt).await.unwrap();
            ran += 1;
        }
    }

    /// Starts a measurement: what came before is not counted.
    fn begin(&self) {
        self.round_trips.take();
        self.vendor_calls.store(0, Ordering::SeqCst);
    }

    fn record(&mut self, name: &str) {
        let vendor_calls = self.vendor_calls.swap(0, Ordering::SeqCst);
        self.measured
            .push((name.to_owned(), self.round_trips.take(), vendor_calls));
    }

    fn count(&self, name: &str) -> usize {
        self.measured
            .iter()
            .find(|(n, _, _)| n == name)
            .map_or(0, |(_, trips, _)| trips.len())
    }

    /// Connects `app` with OAuth through the sandbox's consent page at `consent_path`: the
    /// start and the callback are measured (the consent page is the vendor's).
    async fn oauth_connect(&mut self, company: &str, admin: &str, app: &str, consent_path: &str) {
        let started = self
            .measure(
                "start an OAuth connection",
                "POST",
                &format!("/v1/companies/{company}/apps/{app}/connection/oauth"),
                admin,
                Some(json!({})),
            )
            .await;
        // The admin's browser opens the service's start link, which ties the connect to it
        // with a cookie and sends it on to the vendor's consent page.
        let start = url::Url::parse(started.json()["authorize_url"].as_str().unwrap()).unwrap();
        assert_eq!(start.path(), "/v1/oauth/start");
        self.begin();
        let opened = self
            .send(
                "GET",
                &format!("{}?{}", start.path(), start.query().unwrap()),
                "",
                None,
            )
            .await;
        assert_eq!(opened.status, 303, "{}", opened.text());
        self.record("open the OAuth start link (browser)");
        let browser = opened
            .header("set-cookie")
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let authorize = url::Url::parse(opened.header("location").unwrap()).unwrap();
        assert_eq!(authorize.path(), consent_path);
        let consent = self
            .send(
                "GET",
                &format!("{consent_path}?{}", authorize.query().unwrap()),
                "",
                None,
            )
            .await;
        let allow = consent
            .text()
            .split("id=\"allow\" href=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .replace("&amp;", "&");
        let (consent_dir, _) = consent_path.rsplit_once('/').unwrap();
        let decided = self
            .send("GET", &format!("{consent_dir}/{allow}"), "", None)
            .await;
        let callback = url::Url::parse(decided.header("location").unwrap()).unwrap();
        self.begin();
        let back = axum::http::Request::get(format!("{}?{}", callback.path(), callback.query().unwrap()))
            .header("cookie", browser)
            .body(axum::body::Body::empty())
            .unwrap();
        let done = call(&self.app, back).await;
        assert!(done.status.is_success(), "{}", done.text());
        self.record("finish an OAuth connection (callback)");
        assert!(done.text().contains("App connected"), "{}", done.text());
    }

    /// The cost model's figures: each measured operation's trips and vendor calls, then the
    /// size of every item stored in each table by kind (read with a scan, whose own trips are
    /// where the sizes come from).
    async fn print_cost_inputs(&self) {
        for (name, trips, vendor_calls) in &self.measured {
            let trips: Vec<Value> = trips.iter().map(Trip::to_json).collect();
            println!(
                "cost-input {}",
                json!({"operation": name, "vendor_calls": vendor_calls, "trips": trips})
            );
        }
        for (table, label) in self.tables.iter().zip(["main", "audit"]) {
            self.round_trips.take();
            let mut start = None;
            loop {
                let page = self
                    .dynamodb
                    .scan()
                    .table_name(table)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .unwrap();
                start = page.last_evaluated_key;
                if start.is_none() {
                    break;
                }
            }
            let mut kinds: BTreeMap<String, (u64, u64)> = BTreeMap::new();
            for trip in self.round_trips.take() {
                for (kind, bytes) in trip.dynamodb.map(|u| u.read).unwrap_or_default() {
                    let entry = kinds.entry(kind).or_default();
                    entry.0 += 1;
                    entry.1 += bytes;
                }
            }
            let kinds: Vec<Value> = kinds
                .into_iter()
                .map(|(kind, (items, bytes))| json!({"kind": kind, "items": items, "bytes": bytes}))
                .collect();
            println!("cost-input {}", json!({"stored": label, "kinds": kinds}));
        }
    }
}

/// `Service.Operation×n, …`, in first-seen order.
fn summarise(trips: &[Trip]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for Trip {
        service, operation, ..
    } in trips
    {
        let key = format!("{service}.{operation}");
        match counts.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => counts.push((key, 1)),
        }
    }
    counts
        .iter()
        .map(|(k, n)| if *n == 1 { k.clone() } else { format!("{k}×{n}") })
        .collect::<Vec<_>>()
        .join(", ")
}

/// API-key apps of the sandbox a person gets an account in, with their connect fields.
fn five_apps() -> [(&'static str, Value); 5] {
    [
        (
            "sandbox_scim",
            json!({"scim_base_url": "https://scim.sandbox.test/scim/v2", "scim_token": "sandbox-rt-scim"}),
        ),
        (
            "okta",
            json!({"org_url": prov_sandbox::OKTA_ORG, "api_token": "sandbox-okta"}),
        ),
        (
            "fifteen_five",
            json!({"scim_base_url": "https://my.15five.com/scim/v2", "scim_token": "sandbox-15five-0123456789abcde"}),
        ),
        (
            "planview_leankit",
            json!({"account": "acme", "api_token": "sandbox-lk-1"}),
        ),
        (
            "clickup",
            json!({"api_token": "pk_sandbox-acme", "team_id": prov_sandbox::CLICKUP_TEAM_ID.to_string()}),
        ),
    ]
}

/// Four more API-key apps: with the five and an OAuth app, a person with ten accounts.
fn four_more_apps() -> [(&'static str, Value); 4] {
    [
        (
            "dynatrace",
            json!({"account_uuid": "6f1c1b9e-0c52-4d7a-9a43-2b8f4f0e3c11", "client_id": "dt0s02.SANDBOX", "client_secret": "sandbox-dynatrace-client"}),
        ),
        (
            "lastpass",
            json!({"region": "us", "cid": "1234567", "provhash": "sandbox-lastpass"}),
        ),
        (
            "sauce_labs",
            json!({"data_center": "eu-central-1", "username": "acme-admin", "access_key": "sandbox-sauce"}),
        ),
        (
            "trello",
            json!({"workspace": prov_sandbox::TRELLO_WORKSPACE, "api_key": "0123456789abcdef0123456789abcdef", "api_token": "sandbox-trello-0123456789abcdef0123"}),
        ),
    ]
}

/// The people of an app reconciled for the cost model: a typical company's fifty.
const PEOPLE: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trips_per_operation_are_what_the_data_needs() {
    let mut d = Deployed::start().await;
    let provisioned = d
        .measure(
            "provision a company",
            "POST",
            "/v1/provision",
            PARTNER,
            Some(json!({"user": {"first_name": "P", "last_name": "A", "email": "owner@example.com"}, "company": {"name": "Co"}})),
        )
        .await
        .json();
    let claim_url = provisioned["account_claim_url"].as_str().unwrap();
    let claim_id = claim_url.rsplit('/').next().unwrap().to_owned();
    let claimed = d
        .measure(
            "claim the company",
            "POST",
            &format!("/v1/claims/{claim_id}"),
            "",
            Some(json!({"email": "owner@example.com"})),
        )
        .await
        .json();
    let company = claimed["company_id"].as_str().unwrap().to_owned();
    let admin = claimed["token"].as_str().unwrap().to_owned();
    let path = |rest: &str| format!("/v1/companies/{company}{rest}");
    d.measure(
        "set the plan",
        "PATCH",
        &path(""),
        PARTNER,
        Some(json!({"plan": "plus"})),
    )
    .await;
    for (i, (app, fields)) in five_apps().into_iter().enumerate() {
        let name = if i == 0 {
            "connect an app (API key)"
        } else {
            "connect another app"
        };
        d.measure(
            name,
            "POST",
            &path(&format!("/apps/{app}/connection")),
            &admin,
            Some(fields),
        )
        .await;
    }
    let person = |first: &str| json!({"first_name": first, "last_name": "Person", "kind": "employee", "email": format!("{}@example.com", first.to_lowercase())});
    let ada = d
        .measure(
            "add a team member",
            "POST",
            &path("/team_members"),
            &admin,
            Some(person("Ada")),
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let create = |tm: &str| Some(json!({"team_member_id": tm}));
    for (i, (app, _)) in five_apps().into_iter().enumerate() {
        let name = if i == 0 {
            "create an account"
        } else {
            "create another account"
        };
        d.measure(
            name,
            "POST",
            &path(&format!("/apps/{app}/accounts")),
            &admin,
            create(&ada),
        )
        .await;
    }
    d.measure(
        "list a person's apps",
        "GET",
        &path(&format!("/team_members/{ada}/apps")),
        &admin,
        None,
    )
    .await;

    // Dismissal with a future last day: scheduled, then the cleanup removes five accounts.
    let dismissed = d
        .measure(
            "dismiss a person with 5 accounts (schedule)",
            "PUT",
            &path(&format!("/team_members/{ada}/dismissal")),
            &admin,
            Some(json!({"last_day": "2026-03-10"})),
        )
        .await
        .json();
    assert_eq!(dismissed["status"], "scheduled", "{dismissed}");
    d.clock.set(Utc.with_ymd_and_hms(2026, 3, 11, 9, 0, 0).unwrap());
    d.begin();
    let ran = dismissal::handle(
        &d.local.apps,
        CleanupEvent::DismissalDue {
            company_id: company.clone(),
            team_member_id: ada.clone(),
        },
    )
    .await
    .unwrap();
    d.record("the scheduled cleanup removing 5 accounts");
    assert_eq!(
        (ran["state"].as_str(), ran["removed"].as_u64()),
        (Some("done"), Some(5)),
        "{ran}"
    );
    let left = d.local.sandbox.emails("sandbox-rt-scim");
    assert!(!left.contains(&"ada@example.com".to_owned()), "{left:?}");

    // For the cost model: a person with accounts in ten apps (four more API-key apps and an
    // OAuth app connected) dismissed the same way.
    for (app, fields) in four_more_apps() {
        d.measure(
            "connect another app",
            "POST",
            &path(&format!("/apps/{app}/connection")),
            &admin,
            Some(fields),
        )
        .await;
    }
    d.oauth_connect(&company, &admin, "hubspot", "/_sandbox/hubspot/oauth/authorize")
        .await;
    let bea = d
        .measure(
            "add a team member",
            "POST",
            &path("/team_members"),
            &admin,
            Some(person("Bea")),
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ten_apps = five_apps()
        .into_iter()
        .chain(four_more_apps())
        .map(|(app, _)| app)
        .chain(["hubspot"]);
    for app in ten_apps {
        d.measure(
            "create another account",
            "POST",
            &path(&format!("/apps/{app}/accounts")),
            &admin,
            create(&bea),
        )
        .await;
    }
    let dismissed = d
        .measure(
            "dismiss a person with 10 accounts (schedule)",
            "PUT",
            &path(&format!("/team_members/{bea}/dismissal")),
            &admin,
            Some(json!({"last_day": "2026-03-20"})),
        )
        .await
        .json();
    assert_eq!(dismissed["status"], "scheduled", "{dismissed}");
    d.clock.set(Utc.with_ymd_and_hms(2026, 3, 21, 9, 0, 0).unwrap());
    d.begin();
    let ran = dismissal::handle(
        &d.local.apps,
        CleanupEvent::DismissalDue {
            company_id: company.clone(),
            team_member_id: bea.clone(),
        },
    )
    .await
    .unwrap();
    d.record("the scheduled cleanup removing 10 accounts");
    assert_eq!(
        (ran["state"].as_str(), ran["removed"].as_u64()),
        (Some("done"), Some(10)),
        "{ran}"
    );

    // And an app of fifty people, each matched to a team member: reconciled once to match
    // them, then again with nothing changed (what an hourly reconciliation costs).
    for i in 0..PEOPLE {
        let (first, email) = (format!("Person{i}"), format!("person{i}@example.com"));
        d.local
            .sandbox
            .seed_user("sandbox-rt-scim", &email, &first, "Person");
        let added = d
            .send("POST", &path("/team_members"), &admin, Some(person(&first)))
            .await;
        assert_eq!(added.status, 201, "{}", added.text());
    }
    // The request only starts the job (202); the worker's run of it is measured apart.
    let sync = path("/apps/sandbox_scim/sync");
    d.measure("start a sync (202)", "POST", &sync, &admin, None).await;
    d.begin();
    assert_eq!(d.work_jobs().await, 1);
    d.record("reconcile an app of 50 people (first time: all matched)");
    let first = d.send("GET", &sync, &admin, None).await.json();
    assert_eq!(first["changes"]["auto_matched"], PEOPLE, "{first}");
    // The hourly reconciliation as deployed: the tick (every 5 minutes) starts the syncs whose
    // moment in the hour came since the last tick; ticks just before this app's moment, then
    // one just after it, which starts its sync alone.
    let period = chrono::Duration::minutes(60);
    let offset = reconcile::slot_offset(&company, "sandbox_scim", period);
    let hour = Utc.with_ymd_and_hms(2026, 3, 22, 10, 0, 0).unwrap();
    // The deployment's first tick only marks where its schedule begins.
    d.clock.set(hour + offset - chrono::Duration::seconds(2));
    reconcile::tick(&d.local.apps, period).await.unwrap();
    d.clock.set(hour + offset - chrono::Duration::seconds(1));
    d.begin();
    let quiet = reconcile::tick(&d.local.apps, period).await.unwrap();
    assert_eq!(quiet.started, 0, "{quiet:?}");
    d.record("the reconciliation tick (nothing due)");
    d.clock.set(hour + offset + chrono::Duration::seconds(1));
    d.begin();
    let ticked = reconcile::tick(&d.local.apps, period).await.unwrap();
    assert_eq!(ticked.started, 1, "{ticked:?}");
    d.record("the reconciliation tick starting one app's sync");
    d.begin();
    assert_eq!(d.work_jobs().await, 1);
    d.record("reconcile an app of 50 people (nothing changed)");
    let again = d.send("GET", &sync, &admin, None).await.json()["changes"].clone();
    assert_eq!(
        (again["created"].as_u64(), again["updated"].as_u64()),
        (Some(0), Some(0)),
        "{again}"
    );

    // The deployment's sweep for lost schedules, every 15 minutes, with nothing due.
    d.begin();
    dismissal::handle(&d.local.apps, CleanupEvent::Sweep)
        .await
        .unwrap();
    d.record("the sweep for lost schedules (nothing due)");

    println!("| operation | AWS round trips | which |");
    println!("|---|---|---|");
    // Repeats of an operation are printed once when they cost the same.
    let mut printed: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, trips, _) in &d.measured {
        if printed.insert(name, trips.len()) != Some(trips.len()) {
            println!("| {name} | {} | {} |", trips.len(), summarise(trips));
        }
    }

    // Budgets: what each operation takes today (BENCHMARKS.md says what it is spent on and
    // what is above the minimum); a change that adds a round trip must say why here.
    // Issue 25: a token's first use in a minute writes its last use (provisioning is the
    // partner token's first use here); a creation looks for the account again under its
    // claim (one read), so a request that claims after another finished logs nothing twice.
    // Creating an account and each removal read the connection's credentials from the table
    // (one GetItem, issue 27), where a Secrets Manager cache of 5 minutes answered before:
    // the read costs 40 times less than a `GetSecretValue` and is never stale.
    let budgets = [
        ("provision a company", 6),
        ("claim the company", 4),
        // 14 before credentials moved into the table (one GetItem for them) and before
        // tenants (one GetItem: the vendor account may be recorded under the id it had
        // before its connection knew its tenant); issue 24: one PutItem for the vendor's
        // rate budget every instance shares (a write per lease of up to three turns, no
        // read while this instance wrote it last).
        ("create an account", 17),
        ("dismiss a person with 5 accounts (schedule)", 19),
        // Issue 27: a step's claim and result write the step's own item, not the dismissal's
        // record (the same round trips, a fifth of the write units).
        ("the scheduled cleanup removing 5 accounts", 57),
        ("dismiss a person with 10 accounts (schedule)", 24),
        ("the scheduled cleanup removing 10 accounts", 116),
        // The hourly reconciliation: the tick reads its progress, the migrations' marker and
        // the connections' index, and records its progress; starting a sync reads the
        // connection and the last job, writes the job and sends its message. The worker's
        // run of it receives and deletes the message (the event source mapping's calls), reads
        // the job, connection, credentials, team, links, records, dismissals and findings,
        // writes the job's claim, the vendor's rate budget, the end of the sweep and the end;
        // a listing read whole in one invocation keeps its ids in memory (no working record),
        // and a sync that changed nothing logs nothing.
        ("the reconciliation tick (nothing due)", 4),
        ("the reconciliation tick starting one app's sync", 8),
        ("reconcile an app of 50 people (nothing changed)", 14),
    ];
    for (name, budget) in budgets {
        assert!(
            d.count(name) <= budget,
            "{name}: {} round trips, budget {budget}",
            d.count(name)
        );
    }
    d.print_cost_inputs().await;
}
