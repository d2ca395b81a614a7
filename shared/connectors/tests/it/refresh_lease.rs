//! Issue 24, one refresh at a time per connection: several instances of the service (each
//! its own gateway and HTTP machinery) share a connection's tokens through a keeper whose
//! state they all see, as the secret and item stores are shared in production. Box rotates
//! refresh tokens: each works once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use prov_connectors::egress::EgressPolicy;
use prov_connectors::http::{HttpConfig, Sleeper, VendorHttp};
use prov_connectors::oauth::{OAuthClientConfig, OAuthClients};
use prov_connectors::{ConnectorError, Gateway};
use prov_core::clock::SystemClock;
use prov_core::connector::{Credentials, OAuthTokens, Tenant, TokenKeeper, TokenSet, Vendors};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use tokio::sync::Notify;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The vendor's side: the one refresh token and access token it accepts now.
struct Issued {
    refresh: String,
    access: String,
    refreshes: usize,
}

/// Box's token endpoint: a refresh token works once, and brings a new pair.
struct Rotating(Arc<Mutex<Issued>>);

impl Respond for Rotating {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let presented = url::form_urlencoded::parse(&request.body)
            .find(|(k, _)| k == "refresh_token")
            .map(|(_, v)| v.into_owned());
        let mut issued = self.0.lock().unwrap();
        if presented.as_deref() != Some(issued.refresh.as_str()) {
            return ResponseTemplate::new(400).set_body_json(
                json!({"error": "invalid_grant", "error_description": "Invalid refresh token"}),
            );
        }
        issued.refreshes += 1;
        issued.refresh = format!("rt-{}", issued.refreshes);
        issued.access = format!("at-{}", issued.refreshes);
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": issued.access, "refresh_token": issued.refresh,
            "expires_in": 3600, "token_type": "bearer"
        }))
    }
}

/// Box's users: only the access token issued last opens them.
struct Users(Arc<Mutex<Issued>>);

impl Respond for Users {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let expected = format!("Bearer {}", self.0.lock().unwrap().access);
        let given = request.headers.get("authorization").and_then(|v| v.to_str().ok());
        if given != Some(expected.as_str()) {
            return ResponseTemplate::new(401);
        }
        ResponseTemplate::new(200).set_body_json(json!({"entries": [], "limit": 100}))
    }
}

/// The connection's shared state: the stored tokens (as every instance reads them past its
/// cache), the lease, and what was kept and refused.
struct Shared {
    stored: Mutex<OAuthTokens>,
    /// Stored tokens that replace `stored` after this many reads (another instance's
    /// refresh landing meanwhile).
    later: Mutex<Option<(usize, OAuthTokens)>>,
    reads: AtomicUsize,
    leased: Mutex<bool>,
    saves: AtomicUsize,
    refused: Mutex<Vec<String>>,
    changed: Notify,
}

impl Shared {
    fn new(stored: OAuthTokens) -> Arc<Self> {
        Arc::new(Self {
            stored: Mutex::new(stored),
            later: Mutex::new(None),
            reads: AtomicUsize::new(0),
            leased: Mutex::new(false),
            saves: AtomicUsize::new(0),
            refused: Mutex::new(Vec::new()),
            changed: Notify::new(),
        })
    }
}

/// One instance's keeper of the shared connection.
struct Keeper {
    shared: Arc<Shared>,
    holds: Mutex<bool>,
}

#[async_trait]
impl TokenKeeper for Keeper {
    async fn stored(&self) -> Result<Option<OAuthTokens>, ConnectorError> {
        let reads = self.shared.reads.fetch_add(1, Ordering::SeqCst) + 1;
        let mut later = self.shared.later.lock().unwrap();
        if later.as_ref().is_some_and(|(after, _)| reads > *after) {
            *self.shared.stored.lock().unwrap() = later.take().unwrap().1;
        }
        Ok(Some(self.shared.stored.lock().unwrap().clone()))
    }

    async fn take_refresh_lease(&self, _: Duration) -> Result<bool, ConnectorError> {
        let mut leased = self.shared.leased.lock().unwrap();
        if *leased {
            return Ok(false);
        }
        *leased = true;
        *self.holds.lock().unwrap() = true;
        Ok(true)
    }

    async fn release_refresh_lease(&self) {
        if std::mem::take(&mut *self.holds.lock().unwrap()) {
            *self.shared.leased.lock().unwrap() = false;
            self.shared.changed.notify_waiters();
        }
    }

    async fn save(&self, tokens: &TokenSet) -> Result<(), ConnectorError> {
        *self.shared.stored.lock().unwrap() = OAuthTokens {
            access_token: tokens.access_token.clone(),
            refresh_token: tokens.refresh_token.clone(),
            expires_at: tokens.expires_at,
        };
        self.shared.saves.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn refused(&self, why: &str) {
        self.shared.refused.lock().unwrap().push(why.to_owned());
    }
}

/// Waits until the shared connection changes (a lease released), or two seconds at most:
/// instances waiting for another's refresh wake when it is done, not after a guessed time.
struct UntilChanged(Arc<Shared>);

#[async_trait]
impl Sleeper for UntilChanged {
    async fn sleep(&self, _: Duration) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.0.changed.notified()).await;
    }
}

fn tokens(access: &str, refresh: &str, expired: bool) -> OAuthTokens {
    OAuthTokens {
        access_token: SecretString::from(access),
        refresh_token: Some(SecretString::from(refresh)),
        expires_at: expired.then(|| chrono::Utc::now() - chrono::Duration::minutes(1)),
    }
}

/// An instance: its own gateway and machinery, its own keeper of the shared connection.
fn instance(server: &MockServer, shared: &Arc<Shared>) -> (Gateway, Arc<Keeper>) {
    instance_with(
        server,
        shared,
        HttpConfig::default(),
        Arc::new(UntilChanged(shared.clone())),
    )
}

fn instance_with(
    server: &MockServer,
    shared: &Arc<Shared>,
    config: HttpConfig,
    sleeper: Arc<dyn Sleeper>,
) -> (Gateway, Arc<Keeper>) {
    let policy = EgressPolicy::sandbox()
        .route("api.box.com", &server.uri())
        .unwrap();
    let http = Arc::new(VendorHttp::with_sleeper(policy, config, sleeper));
    let clients = OAuthClients::fixed(
        [(
            "box".to_owned(),
            OAuthClientConfig {
                client_id: "our-client".into(),
                client_secret: SecretString::from("our-secret"),
            },
        )]
        .into(),
    );
    let keeper = Arc::new(Keeper {
        shared: shared.clone(),
        holds: Mutex::new(false),
    });
    (
        Gateway::new(http, Arc::new(clients), Arc::new(SystemClock)),
        keeper,
    )
}

async fn box_vendor(refresh: &str, access: &str) -> (MockServer, Arc<Mutex<Issued>>) {
    let server = MockServer::start().await;
    let issued = Arc::new(Mutex::new(Issued {
        refresh: refresh.into(),
        access: access.into(),
        refreshes: 0,
    }));
    Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .respond_with(Rotating(issued.clone()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/2.0/users"))
        .respond_with(Users(issued.clone()))
        .mount(&server)
        .await;
    (server, issued)
}

/// Three instances find the access token expired at once: one refreshes (the rotating
/// refresh token is used once), the others take what it stored; nobody is refused and the
/// connection stays connected. Before, two of three refreshes were refused and the
/// connection went to `needs_reauth`.
#[tokio::test]
async fn concurrent_instances_refresh_a_rotating_connection_once() {
    let (server, issued) = box_vendor("rt-0", "at-0").await;
    let shared = Shared::new(tokens("at-0", "rt-0", true));
    let instances: Vec<(Gateway, Arc<Keeper>)> = (0..3).map(|_| instance(&server, &shared)).collect();
    let connectors: Vec<_> = instances
        .iter()
        .map(|(gateway, keeper)| {
            gateway
                .connector(
                    "com_1",
                    "box",
                    &Tenant::new(),
                    Credentials::Oauth(tokens("at-0", "rt-0", true)),
                    keeper.clone(),
                )
                .unwrap()
        })
        .collect();
    let (a, b, c) = tokio::join!(
        connectors[0].list(None),
        connectors[1].list(None),
        connectors[2].list(None)
    );
    for listed in [a, b, c] {
        listed.unwrap();
    }
    assert_eq!(issued.lock().unwrap().refreshes, 1);
    assert_eq!(shared.saves.load(Ordering::SeqCst), 1);
    assert!(shared.refused.lock().unwrap().is_empty());
    let stored = shared.stored.lock().unwrap().clone();
    assert_eq!(stored.access_token.expose_secret(), "at-1");
    assert!(!*shared.leased.lock().unwrap(), "the lease is released");
}

/// An instance whose cached tokens another instance already rotated (a 401 on the old
/// access token) takes the stored ones instead of refreshing with a dead refresh token.
#[tokio::test]
async fn a_refused_access_token_is_replaced_by_what_another_instance_stored() {
    let (server, issued) = box_vendor("rt-5", "at-5").await;
    let shared = Shared::new(OAuthTokens {
        expires_at: None,
        ..tokens("at-5", "rt-5", false)
    });
    let (gateway, keeper) = instance(&server, &shared);
    let stale = OAuthTokens {
        expires_at: None,
        ..tokens("at-4", "rt-4", false)
    };
    let connector = gateway
        .connector("com_1", "box", &Tenant::new(), Credentials::Oauth(stale), keeper)
        .unwrap();
    connector.list(None).await.unwrap();
    assert_eq!(
        issued.lock().unwrap().refreshes,
        0,
        "no refresh with a dead token"
    );
    assert!(shared.refused.lock().unwrap().is_empty());
}

/// A refresh the vendor refuses because another instance rotated the refresh token a
/// moment before (its lease ran out mid-way): the stored tokens are read again and used;
/// the connection is not marked. A refusal of the stored refresh token itself is told once.
#[tokio::test]
async fn a_refused_refresh_reads_the_stored_tokens_before_marking_the_connection() {
    let (server, issued) = box_vendor("rt-1", "at-1").await;
    let shared = Shared::new(tokens("at-0", "rt-0", true));
    // Another instance's refresh lands after this one read the store twice.
    *shared.later.lock().unwrap() = Some((2, tokens("at-1", "rt-1", false)));
    let (gateway, keeper) = instance(&server, &shared);
    let connector = gateway
        .connector(
            "com_1",
            "box",
            &Tenant::new(),
            Credentials::Oauth(tokens("at-0", "rt-0", true)),
            keeper,
        )
        .unwrap();
    connector.list(None).await.unwrap();
    assert!(shared.refused.lock().unwrap().is_empty());
    assert_eq!(issued.lock().unwrap().refreshes, 0);

    // The stored refresh token is the one refused: now the connection needs an admin.
    let (server, _) = box_vendor("rt-9", "at-9").await;
    let shared = Shared::new(tokens("at-0", "rt-0", true));
    let (gateway, keeper) = instance(&server, &shared);
    let connector = gateway
        .connector(
            "com_1",
            "box",
            &Tenant::new(),
            Credentials::Oauth(tokens("at-0", "rt-0", true)),
            keeper,
        )
        .unwrap();
    let error = connector.list(None).await.unwrap_err();
    assert!(matches!(error, ConnectorError::Unauthorized(_)), "{error:?}");
    assert_eq!(
        *shared.refused.lock().unwrap(),
        ["invalid_grant: Invalid refresh token"]
    );
    assert!(!*shared.leased.lock().unwrap(), "the lease is released");
}

/// A refresh is not paced behind the API calls it is needed for (issue 24): with Box's pace
/// spent (its burst used; this instance may not wait for a turn), a call whose access token
/// expired still gets it refreshed and goes. Before, the refresh asked for a turn after the
/// call had taken the last one and was handed back with it, each time the call came back:
/// a layoff's removals stopped once the tokens expired, with a backlog at the vendor.
#[tokio::test]
async fn a_refresh_goes_out_when_the_apps_pace_is_spent() {
    let (server, issued) = box_vendor("rt-0", "at-0").await;
    let shared = Shared::new(tokens("at-0", "rt-0", false));
    let config = HttpConfig {
        max_turn_wait: Duration::ZERO,
        ..HttpConfig::default()
    };
    // Simulated time: the pace does not refill while the test runs.
    let (gateway, keeper) = instance_with(
        &server,
        &shared,
        config,
        Arc::new(crate::support::SimTime::default()),
    );
    let connector = |tokens: OAuthTokens| {
        gateway
            .connector(
                "com_1",
                "box",
                &Tenant::new(),
                Credentials::Oauth(tokens),
                keeper.clone(),
            )
            .unwrap()
    };
    let burst = prov_connectors::box_com::SPEC.limit.unwrap().burst;
    let current = connector(tokens("at-0", "rt-0", false));
    for _ in 1..burst {
        current.list(None).await.unwrap();
    }
    // The burst's last turn, the access token expired meanwhile: refreshed, and listed.
    connector(tokens("at-0", "rt-0", true)).list(None).await.unwrap();
    assert_eq!(issued.lock().unwrap().refreshes, 1);
    // The pace is spent: the next call is handed back with its wait.
    let stored = shared.stored.lock().unwrap().clone();
    let next = connector(stored).list(None).await.unwrap_err();
    assert!(
        matches!(next, ConnectorError::RateLimited { retry_after: Some(_) }),
        "{next:?}"
    );
}
