//! The devserver: every function's routes on the embedded adapters, in one local process,
//! plus development tools (`GET /_dev/outbox`). Nothing here is deployed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, State};
use axum::routing::get;
use axum::{Json, Router};
use prov_connectors::egress::EgressPolicy;
use prov_connectors::http::{HttpConfig, VendorHttp};
use prov_connectors::oauth::{OAuthClientConfig, OAuthClients};
use prov_connectors::registry;
use prov_connectors::webhooks::HttpWebhookSender;
use prov_core::Category;
use prov_core::access::{Need, authorize};
use prov_core::audit::Actor;
use prov_core::auth::Principal;
use prov_core::body::Unparsed;
use prov_core::clock::Clock;
use prov_core::companies::{CompanyChange, get_company};
use prov_core::company::{Company, Plan};
use prov_core::keys;
use prov_core::mail::{Email, MailQueue, Mailer};
use prov_core::provisioning;
use prov_core::queue::{JobQueue, StoreQueue};
use prov_core::schedule::StoreScheduler;
use prov_core::store::ItemStore;
use prov_core::team::{self, Kind, NewTeamMember, OfferStatus};
use prov_core::{Services, Settings};
use prov_platform::{EnvelopeSecretStore, FileSecretStore, KeyFile, LocalOutbox, parse_routes};
use prov_processes::Apps;
use prov_processes::accounts::RunLimits;
use prov_processes::dismissal::{self, CleanupEvent};
use prov_processes::{reconcile, worker};
use prov_sandbox::Sandbox;
use prov_store::EmbeddedStore;
use prov_web::ApiError;
use secrecy::SecretString;
use serde_json::json;

/// The egress of a local run: `--vendor-route` overrides first, then each vendor host to the
/// sandbox's fake of its app, mounted under the app's slug (`{sandbox_base}/{slug}`): the
/// same connector code, other hosts. Built from the registry, so a vendor's spec routes it;
/// a host two apps share goes to the first (the sandbox OAuth app's SCIM API is the sandbox
/// SCIM app's). Offline means offline: a vendor host without a route is refused, not called.
pub fn sandbox_policy(sandbox_base: &str, vendor_routes: &[String]) -> Result<EgressPolicy, String> {
    let mut policy = parse_routes(EgressPolicy::sandbox(), &vendor_routes.join(","))?;
    let mut routed = std::collections::HashSet::new();
    for spec in registry::all() {
        for host in spec.hosts.iter().filter(|h| routed.insert(**h)) {
            policy = policy.route(host, &format!("{sandbox_base}/{}", spec.slug()))?;
        }
    }
    Ok(policy.routed_only())
}

/// The vendor gateway of a local run over `http`: every OAuth app is registered with the
/// sandbox's OAuth server.
pub fn sandbox_gateway(http: Arc<VendorHttp>, clock: Arc<dyn Clock>) -> prov_connectors::Gateway {
    let oauth_clients: HashMap<String, OAuthClientConfig> = registry::all()
        .filter(|spec| spec.oauth.is_some())
        .map(|spec| {
            (
                spec.slug().to_owned(),
                OAuthClientConfig {
                    client_id: prov_sandbox::CLIENT_ID.to_owned(),
                    client_secret: SecretString::from(prov_sandbox::CLIENT_SECRET),
                },
            )
        })
        .collect();
    prov_connectors::Gateway::new(http, Arc::new(OAuthClients::fixed(oauth_clients)), clock)
}

/// What a local run is made of.
#[derive(Clone)]
pub struct Local {
    pub services: Services,
    pub outbox: LocalOutbox,
    pub apps: Apps,
    /// The guarded vendor client behind `apps.vendors` (its routing table, throttles).
    pub http: Arc<VendorHttp>,
    pub sandbox: Sandbox,
    /// The local scheduler: `tick` fires what is due through the cleanup handler.
    pub scheduler: Arc<StoreScheduler>,
    /// The local jobs queue: `work` runs what it holds, as the worker function does in AWS.
    pub queue: Arc<StoreQueue>,
}

/// Where a local run lives and how it is reached.
pub struct LocalConfig<'a> {
    pub data_dir: &'a Path,
    /// Base of links in emails and the OAuth redirect URI.
    pub public_base_url: &'a str,
    /// Where this process itself listens (`http://127.0.0.1:3000`): the sandbox apps'
    /// vendor hosts are routed there.
    pub listen_url: &'a str,
    /// `host-or-*.domain=base-url` overrides, consulted before the sandbox's own routes.
    pub vendor_routes: &'a [String],
}

impl Local {
    /// Opens the embedded store and the credentials' key file under `data_dir` (created if missing).
    /// Only its owner may read the data dir or its files (the store holds tokens' hashes,
    /// emails with claim links, everyone's data).
    pub fn open(config: &LocalConfig<'_>, clock: Arc<dyn Clock>) -> Result<Self, String> {
        let data_dir = config.data_dir;
        private_dir(data_dir)?;
        let store_file = data_dir.join(STORE_FILE);
        let store: Arc<dyn ItemStore> =
            Arc::new(EmbeddedStore::open(&store_file).map_err(|e| e.to_string())?);
        private(&store_file, 0o600)?;
        // Connection credentials: encrypted in the store under the data dir's key file; a
        // data dir from before keeps one file per connection in `secrets/`, moved over as read.
        let mut secrets = EnvelopeSecretStore::new(
            store.clone(),
            KeyFile::open(&data_dir.join(KEY_FILE)).map_err(|e| e.to_string())?,
        );
        let legacy_dir = data_dir.join(LEGACY_SECRETS_DIR);
        if legacy_dir.exists() {
            let legacy = FileSecretStore::open(&legacy_dir).map_err(|e| e.to_string())?;
            secrets = secrets.with_legacy(Arc::new(legacy));
        }
        let outbox = LocalOutbox::new(store.clone(), clock.clone());
        let mut settings = Settings::new(config.public_base_url);
        settings.sandbox = true;
        settings.oauth_return_origins = vec![origin(config.public_base_url)?];
        let scheduler = Arc::new(StoreScheduler::new(store.clone()));
        let queue = Arc::new(StoreQueue::new(store.clone(), clock.clone(), MAX_RECEIVES));
        let services = Services::new(
            store.clone(),
            store,
            Arc::new(outbox.clone()),
            clock,
            settings,
            prov_connectors::registry::catalog(true),
        )
        .with_queue(queue.clone());
        let sandbox_base = format!("{}/_sandbox", config.listen_url.trim_end_matches('/'));
        let policy = sandbox_policy(&sandbox_base, config.vendor_routes)?;
        let http = Arc::new(VendorHttp::new(policy, HttpConfig::default()));
        let apps = Apps {
            services: services.clone(),
            secrets: Arc::new(secrets),
            vendors: Arc::new(sandbox_gateway(http.clone(), services.clock.clone())),
            scheduler: scheduler.clone(),
            queue: queue.clone(),
            // Sandbox mode: partners may try webhooks on this machine over plain http.
            webhooks: Arc::new(HttpWebhookSender::new(true)),
        };
        // The sandbox apps tell time by the service's clock (Okta's `lastUpdated`).
        let sandbox = {
            let clock = services.clock.clone();
            Sandbox::with_clock(move || clock.now())
        };
        Ok(Self {
            services,
            outbox,
            apps,
            http,
            sandbox,
            scheduler,
            queue,
        })
    }

    /// Runs the jobs queue's messages until none is visible (continuations included), through
    /// the worker's own entry, as the worker function does in AWS. A message that fails is
    /// left to come back after its visibility timeout. Answers how many messages ran.
    pub async fn work(&self) -> Result<usize, prov_core::Error> {
        self.work_with(WORKER_LIMITS).await
    }

    /// As `work`, with other limits per message (tests force continuations with them).
    pub async fn work_with(&self, limits: RunLimits) -> Result<usize, prov_core::Error> {
        let visibility = limits.lease + chrono::Duration::minutes(1);
        let mut ran = 0;
        loop {
            let received = self.queue.receive(10, visibility).await?;
            if received.is_empty() {
                return Ok(ran);
            }
            for message in received {
                ran += 1;
                // Each message on its own task: one that panics cannot take the others down.
                let apps = self.apps.clone();
                let body = message.body.clone();
                match tokio::spawn(async move { worker::run_message(&apps, &body, limits).await }).await {
                    Ok(Ok(_)) => self.queue.delete(&message.receipt).await?,
                    Ok(Err(e)) => tracing::error!(error = %e, "job message failed; it comes back"),
                    Err(e) => tracing::error!(error = %e, "job message panicked; it comes back"),
                }
            }
        }
    }

    /// Starts the syncs whose moment in the period came (the scheduled reconciliation).
    pub async fn reconcile(&self, period: chrono::Duration) -> Result<usize, prov_core::Error> {
        let report = reconcile::tick(&self.apps, period).await?;
        Ok(report.started)
    }

    /// Fires the scheduled jobs that are due (through the cleanup function's own handler),
    /// then sweeps, as the deployed rate schedule does, hands on the webhook work whose
    /// message was lost or whose retry is due, and sends the admins' digests that are due.
    /// Answers how many jobs fired.
    pub async fn tick(&self) -> Result<usize, prov_core::Error> {
        let due = self.scheduler.take_due(self.services.clock.now()).await?;
        let fired = due.len();
        for job in due {
            match serde_json::from_value::<CleanupEvent>(job.payload) {
                Ok(event) => {
                    // Each job on its own task: one that panics cannot take the others down.
                    let apps = self.apps.clone();
                    match tokio::spawn(async move { dismissal::handle(&apps, event).await }).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => {
                            tracing::error!(error = %e, job = job.name, "scheduled job failed; the sweep retries it")
                        }
                        Err(e) => {
                            tracing::error!(error = %e, job = job.name, "scheduled job panicked; the sweep retries it")
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, job = job.name, "scheduled job with an unknown payload")
                }
            }
        }
        dismissal::handle(&self.apps, CleanupEvent::Sweep).await?;
        worker::sweep_webhooks(&self.apps).await?;
        worker::send_digests(&self.apps).await?;
        Ok(fired)
    }

    /// Sends whatever the mail queue still holds (e.g. after a crash mid-request).
    pub async fn drain_mail(&self) -> Result<usize, prov_core::Error> {
        MailQueue::drain(self.services.store.as_ref(), self.services.mailer.as_ref()).await
    }

    /// Every function's routes plus the dev tools, with the shared outer layers.
    pub fn app(&self) -> Router {
        let dev = Router::new()
            .route("/_dev/outbox", get(outbox))
            .with_state(self.outbox.clone());
        prov_web::finish(
            provision::routes(self.services.clone())
                .merge(accounts::routes(self.apps.clone()))
                .merge(connect::routes(self.apps.clone()))
                .merge(console::routes(self.apps.clone()))
                .merge(dev)
                .nest(
                    "/_sandbox",
                    self.sandbox.router().layer(axum::middleware::from_fn_with_state(
                        self.clone(),
                        mail_invitations,
                    )),
                ),
        )
    }

    /// Emails the invitations the sandbox apps sent (as the vendors email people) to the
    /// outbox, each with the link that accepts it. Answers how many were sent.
    pub async fn mail_invitations(&self) -> usize {
        let mut sent = 0;
        for invitation in self.sandbox.take_invitations() {
            let app = self
                .services
                .catalog
                .get(&invitation.app)
                .map_or(invitation.app.as_str(), |a| a.name);
            let email = Email {
                to: invitation.email.clone(),
                subject: format!("You are invited to join {} in {app}", invitation.tenant),
                text: format!(
                    "Hello {name},\n\n{app} (a sandbox app of the devserver) invites you to join {tenant} as {to}.\n\n\
                     Accept the invitation: {link}\n\n\
                     Until you accept, the provisioning service shows the account as \"Invite Sent\"; \
                     after its next sync of {app} (scheduled, or Sync accounts in the console) it shows \"Connected\".\n",
                    name = if invitation.name.is_empty() {
                        &invitation.email
                    } else {
                        &invitation.name
                    },
                    tenant = invitation.tenant,
                    to = invitation.email,
                    link = invitation.link(&self.services.settings.public_base_url),
                ),
            };
            match self.outbox.send(&email).await {
                Ok(()) => sent += 1,
                Err(e) => {
                    tracing::error!(error = %e, app = invitation.app, "a sandbox invitation could not be written to the outbox")
                }
            }
        }
        sent
    }
}

/// After each request to a sandbox app, the invitations it sent go to the outbox.
async fn mail_invitations(
    State(local): State<Local>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let response = next.run(request).await;
    local.mail_invitations().await;
    response
}

/// The demo company's primary admin: their email identifies the company across restarts.
pub const DEMO_ADMIN_EMAIL: &str = "dana@demo.example";

/// A console sign-in link, and the company it opens.
#[derive(Debug, Clone)]
pub struct ConsoleLink {
    pub url: String,
    pub company: String,
}

/// A one-time sign-in link to the admin console of the partner's demo company (Plus plan,
/// a few team members), made on first start, so the whole product can be tried offline
/// right after start; whatever companies the partner adds later, the link opens the demo.
pub async fn console_sign_in_link(
    local: &Local,
    partner: &Principal,
) -> Result<ConsoleLink, prov_core::Error> {
    let svc = &local.services;
    let company = match demo_company(svc, partner).await? {
        Some(company) => company,
        None => {
            make_demo_company(svc, partner).await?;
            demo_company(svc, partner)
                .await?
                .ok_or_else(|| prov_core::Error::Internal("demo company missing".into()))?
        }
    };
    let url = console::mint_link(&local.apps, &company.id, &company.primary_admin_id).await?;
    Ok(ConsoleLink {
        url,
        company: company.name,
    })
}

/// The partner's demo company, found by its primary admin's email.
async fn demo_company(svc: &Services, partner: &Principal) -> Result<Option<Company>, prov_core::Error> {
    let Some(owner) = svc.store.get(&keys::email_owner_key(DEMO_ADMIN_EMAIL)).await? else {
        return Ok(None);
    };
    let owner: serde_json::Value = owner.record()?;
    let Some(company_id) = owner.get("company_id").and_then(|c| c.as_str()) else {
        return Ok(None);
    };
    match get_company(svc, partner, company_id).await {
        Ok(company) => Ok(Some(company)),
        // Another partner's demo (a shared data dir): not this partner's to open.
        Err(prov_core::Error::Refused(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn make_demo_company(svc: &Services, partner: &Principal) -> Result<(), prov_core::Error> {
    let actor = Actor {
        principal: partner.clone(),
        request_id: "devserver-start".to_owned(),
    };
    let body = json!({
        "user": {"first_name": "Dana", "last_name": "Demo", "email": DEMO_ADMIN_EMAIL},
        "company": {"name": "Demo Company, Inc."}
    });
    let serde_json::Value::Object(body) = body else {
        unreachable!()
    };
    provisioning::provision(svc, &actor, &Unparsed::new(body), None).await?;
    let company = demo_company(svc, partner)
        .await?
        .ok_or_else(|| prov_core::Error::Internal("demo company missing".into()))?;
    let plus = CompanyChange { plan: Plan::Plus };
    prov_core::companies::update_company(svc, &actor, &company.id, &plus).await?;
    let access = authorize(svc, partner, &company.id, Need::ManageTeam).await?;
    for (first, last, email) in [
        ("Ada", "Lovelace", "ada@demo.example"),
        ("Grace", "Hopper", "grace@demo.example"),
        ("Alan", "Turing", "alan@demo.example"),
    ] {
        let member = NewTeamMember {
            first_name: first.into(),
            last_name: last.into(),
            email: Some(email.into()),
            kind: Kind::Employee,
            work_country: "US".into(),
            start_date: None,
            offer_status: OfferStatus::None,
        };
        team::create(svc, &actor, &access, &member).await?;
    }
    Ok(())
}

/// The emails "sent" so far, newest first: claim and sign-in links, so only for this
/// machine. A client on another address (the server bound to `0.0.0.0`) is told there is no
/// such route; a request without a connection (in-process tests) is from here.
async fn outbox(
    State(outbox): State<LocalOutbox>,
    request: axum::extract::Request,
) -> Result<Json<serde_json::Value>, ApiError> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if peer.is_some_and(|ip| !ip.to_canonical().is_loopback()) {
        return Err(ApiError::refused("path", Category::NotFound, "No such route."));
    }
    let items = outbox.recent(100).await?;
    Ok(Json(json!({ "items": items })))
}

/// Receives of one message before it goes to the dead letters (the template's redrive count).
const MAX_RECEIVES: u32 = 5;

/// How much one message may do in the devserver (as in AWS: continuations past that).
const WORKER_LIMITS: RunLimits = RunLimits {
    budget: Duration::from_secs(20),
    max_pages: u64::MAX,
    lease: chrono::Duration::minutes(2),
};

/// The embedded store's file in the data dir.
const STORE_FILE: &str = "store.redb";
/// The keyring that encrypts connection credentials (0600, made with a random key when absent).
const KEY_FILE: &str = "credentials.key";
/// Where earlier versions kept one file per connection's credentials.
const LEGACY_SECRETS_DIR: &str = "secrets";

/// What the devserver keeps in its data dir; a dir holding anything else is not made private
/// (it may be a shared place such as `/tmp`), only the devserver's own files are.
const OWN_FILES: &[&str] = &[STORE_FILE, KEY_FILE, LEGACY_SECRETS_DIR, "dev-partner-token"];

/// Creates `dir` (0700) if missing, or makes an existing devserver data dir 0700.
fn private_dir(dir: &Path) -> Result<(), String> {
    let cannot = |e: std::io::Error| format!("cannot create {}: {e}", dir.display());
    if !dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        return builder.create(dir).map_err(cannot);
    }
    let foreign = std::fs::read_dir(dir)
        .map_err(cannot)?
        .filter_map(Result::ok)
        .any(|entry| !OWN_FILES.iter().any(|own| entry.file_name() == *own));
    if foreign {
        tracing::warn!(dir = %dir.display(), "the data dir holds other files; its permissions are left as they are");
        return Ok(());
    }
    private(dir, 0o700)
}

/// Sets `path`'s mode (owner only).
fn private(path: &Path, mode: u32) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| format!("cannot make {} private: {e}", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// How long a client may take to send a request's headers before its connection is closed:
/// a slow client ("slow loris") cannot hold connections open for ever.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` (HTTP/1.1) until `shutdown` resolves. Each request carries its
/// peer's address (`ConnectInfo`); a request's headers must arrive within
/// `header_read_timeout`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // A connection that failed before it was accepted (reset, out of files): the
                // next one may work, after a pause so that a lasting failure does not spin.
                Err(e) => {
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => return Ok(()),
        };
        let app = app.clone();
        let service =
            hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                tower::ServiceExt::oneshot(app.clone(), request.map(axum::body::Body::new))
            });
        tokio::spawn(async move {
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = served {
                tracing::debug!(error = %e, "connection closed");
            }
        });
    }
}

/// Runs `job` every `period`, for ever: the devserver's scheduler. Each run is its own task,
/// so one that fails or panics is logged and the next still runs.
pub async fn run_every<F, Fut>(period: Duration, mut job: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<usize, prov_core::Error>> + Send + 'static,
{
    let mut every = tokio::time::interval(period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match tokio::spawn(job()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "scheduler tick failed; the next one runs"),
            Err(e) => tracing::error!(error = %e, "scheduler tick panicked; the next one runs"),
        }
    }
}

/// A period such as `30s`, `5m` or `1h` (at least a second).
pub fn parse_period(text: &str) -> Result<chrono::Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: i64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a period such as 30s, 5m or 1h"))?;
    let period = match unit {
        "s" => chrono::Duration::seconds(n),
        "m" => chrono::Duration::minutes(n),
        "h" => chrono::Duration::hours(n),
        _ => return Err(format!("`{text}` is not a period such as 30s, 5m or 1h")),
    };
    if period < chrono::Duration::seconds(1) || period > chrono::Duration::days(7) {
        return Err(format!("`{text}`: a period is 1s to 7 days"));
    }
    Ok(period)
}

/// The origin (`scheme://host:port`) of a base URL.
fn origin(base: &str) -> Result<String, String> {
    url::Url::parse(base)
        .map(|u| u.origin().ascii_serialization())
        .map_err(|e| format!("`{base}` is not a URL: {e}"))
}
