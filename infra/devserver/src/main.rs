//! `devserver`: run the whole service locally on embedded adapters, or administer it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Parser, Subcommand};
use devserver::{Local, LocalConfig};
use prov_core::auth::{self, ensure_partner_token};
use prov_core::clock::{Clock, SystemClock};
use prov_core::store::ItemStore;
use prov_core::tokens;
use prov_store::DynamoStore;
use secrecy::{ExposeSecret, SecretString};

#[derive(Parser)]
#[command(about = "Runs the provisioning service locally on embedded adapters (no cloud account).")]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000", global = true)]
    addr: SocketAddr,
    /// Where the embedded store keeps its data (survives restarts).
    #[arg(long, default_value = ".data", global = true)]
    data_dir: PathBuf,
    /// A partner token to register (at least 32 letters, digits, `-`, `_`), for scripts
    /// and tests. Without it, a dev partner token is made once and kept in the data dir.
    #[arg(long, env = "DEV_PARTNER_TOKEN", hide_env_values = true)]
    partner_token: Option<String>,
    /// Base URL in links (claim links); defaults to http://<addr>.
    #[arg(long)]
    public_base_url: Option<String>,
    /// Send a vendor host (or `*.domain`) somewhere else: `--vendor-route api.slack.com=http://127.0.0.1:9000`.
    /// Repeatable; consulted before the sandbox's own routes.
    #[arg(long = "vendor-route", value_name = "HOST=BASE_URL")]
    vendor_routes: Vec<String>,
    /// How often every connected app is synced (the scheduled reconciliation), each at its
    /// own moment in the period: `30s`, `5m`, `1h`.
    #[arg(long, value_name = "PERIOD", default_value = "1h", value_parser = devserver::parse_period)]
    sync_every: chrono::Duration,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Create a partner and print its API token once.
    CreatePartner {
        #[arg(long)]
        name: String,
        /// Create it in this DynamoDB table (deployed stack; uses the usual AWS credentials)
        /// instead of the local data dir.
        #[arg(long)]
        dynamodb_table: Option<String>,
    },
    /// Rotate every API token of a partner (a leaked or lost token) and print the new one
    /// once. The old tokens stop working at once, or after `--overlap-hours` (at most 24).
    RotatePartnerToken {
        #[arg(long)]
        partner_id: String,
        #[arg(long, default_value_t = 0)]
        overlap_hours: i64,
        /// Rotate in this DynamoDB table (deployed stack) instead of the local data dir.
        #[arg(long, requires = "audit_table")]
        dynamodb_table: Option<String>,
        /// The deployed stack's audit table, where the rotation is logged.
        #[arg(long, requires = "dynamodb_table")]
        audit_table: Option<String>,
    },
}

#[tokio::main]
async fn main() {
    prov_platform::init_tracing();
    if let Err(e) = run(Cli::parse()).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match cli.command {
        Some(Command::CreatePartner { name, dynamodb_table }) => {
            let (store, _) = admin_stores(&cli.data_dir, dynamodb_table, None, &clock).await?;
            let (partner, token) = auth::create_partner(store.as_ref(), clock.as_ref(), &name, None)
                .await
                .map_err(|e| e.to_string())?;
            println!("partner {} ({})", partner.id, partner.name);
            println!("token (shown once, store it now): {}", token.expose_secret());
            Ok(())
        }
        Some(Command::RotatePartnerToken {
            partner_id,
            overlap_hours,
            dynamodb_table,
            audit_table,
        }) => {
            let local = dynamodb_table.is_none();
            let (store, audit) = admin_stores(&cli.data_dir, dynamodb_table, audit_table, &clock).await?;
            // The dev partner's token file follows a rotation of the dev partner.
            let dev_token_file = cli.data_dir.join(DEV_TOKEN_FILE);
            let dev_token = match std::fs::read_to_string(&dev_token_file) {
                Ok(token) if local => Some(token.trim().to_owned()),
                _ => None,
            };
            let is_dev_partner = match &dev_token {
                Some(token) => matches!(
                    auth::authenticate(store.as_ref(), clock.as_ref(), token).await,
                    Ok(auth::Principal::Partner { partner_id: id }) if id == partner_id
                ),
                None => false,
            };
            let (token, retired) = tokens::rotate_partner(
                store.as_ref(),
                audit.as_ref(),
                clock.as_ref(),
                &partner_id,
                overlap_hours,
            )
            .await
            .map_err(|e| e.to_string())?;
            for old in &retired {
                let until = old.expires_at.map(|at| at.to_rfc3339()).unwrap_or_default();
                println!("old token {} works until {until}", old.id);
            }
            println!("new token (shown once, store it now): {}", token.expose_secret());
            if is_dev_partner {
                replace_private(&dev_token_file, token.expose_secret())
                    .map_err(|e| format!("cannot write {}: {e}", dev_token_file.display()))?;
                println!("{} now holds the new token", dev_token_file.display());
            }
            Ok(())
        }
        None => {
            let options = ServeOptions {
                public_base_url: cli.public_base_url,
                partner_token: cli.partner_token,
                vendor_routes: cli.vendor_routes,
                sync_every: cli.sync_every,
            };
            serve(cli.addr, &cli.data_dir, options, clock).await
        }
    }
}

/// The store (and audit store) an admin command works on: the deployed stack's tables
/// (`dynamodb_table`, `audit_table`), or the local data dir's.
async fn admin_stores(
    data_dir: &Path,
    dynamodb_table: Option<String>,
    audit_table: Option<String>,
    clock: &Arc<dyn Clock>,
) -> Result<(Arc<dyn ItemStore>, Arc<dyn ItemStore>), String> {
    match dynamodb_table {
        Some(table) => {
            // The full provider chain (profiles, SSO): this runs on a laptop.
            let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .http_client(prov_https::AwsHttpClient::shared())
                .load()
                .await;
            let client = aws_sdk_dynamodb::Client::new(&sdk);
            let store: Arc<dyn ItemStore> = Arc::new(DynamoStore::new(client.clone(), table));
            let audit: Arc<dyn ItemStore> = match audit_table {
                Some(audit) => Arc::new(DynamoStore::new(client, audit)),
                None => store.clone(),
            };
            Ok((store, audit))
        }
        // Links are not made here, so the URLs do not matter.
        None => {
            let config = LocalConfig {
                data_dir,
                public_base_url: "http://localhost",
                listen_url: "http://localhost",
                vendor_routes: &[],
            };
            let services = Local::open(&config, clock.clone())?.services;
            Ok((services.store, services.audit))
        }
    }
}

struct ServeOptions {
    public_base_url: Option<String>,
    partner_token: Option<String>,
    vendor_routes: Vec<String>,
    sync_every: chrono::Duration,
}

async fn serve(
    addr: SocketAddr,
    data_dir: &Path,
    options: ServeOptions,
    clock: Arc<dyn Clock>,
) -> Result<(), String> {
    let ServeOptions {
        public_base_url,
        partner_token,
        vendor_routes,
        sync_every,
    } = options;
    // Bind first, so `--addr 127.0.0.1:0` works and the printed URL has the real port.
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let listen_url = format!("http://{bound}");
    let base_url = public_base_url.unwrap_or_else(|| listen_url.clone());
    let config = LocalConfig {
        data_dir,
        public_base_url: &base_url,
        listen_url: &listen_url,
        vendor_routes: &vendor_routes,
    };
    let local = Local::open(&config, clock.clone())?;
    let token = match partner_token {
        Some(t) => SecretString::from(t),
        None => dev_token(data_dir)?,
    };
    let partner = ensure_partner_token(
        local.services.store.as_ref(),
        clock.as_ref(),
        "Dev partner",
        &token,
    )
    .await
    .map_err(|e| format!("cannot register the partner token: {e}"))?;
    let sign_in = devserver::console_sign_in_link(&local, &partner)
        .await
        .map_err(|e| format!("cannot make a console sign-in link: {e}"))?;
    let drained = local.drain_mail().await.map_err(|e| e.to_string())?;
    if drained > 0 {
        tracing::info!(drained, "sent queued emails");
    }

    // The local scheduler really fires: dismissals come due, the sweep runs.
    let ticker = local.clone();
    tokio::spawn(devserver::run_every(
        std::time::Duration::from_secs(10),
        move || {
            let ticker = ticker.clone();
            async move { ticker.tick().await }
        },
    ));

    // The worker runs the jobs queue in process, as the worker function does in AWS.
    let worker = local.clone();
    tokio::spawn(devserver::run_every(
        std::time::Duration::from_secs(1),
        move || {
            let worker = worker.clone();
            async move { worker.work().await }
        },
    ));
    // The scheduled reconciliation: ticks often enough to spread the syncs over the period.
    let reconciler = local.clone();
    let every = (sync_every / 6).to_std().unwrap_or_default();
    tokio::spawn(devserver::run_every(
        every.clamp(
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(60),
        ),
        move || {
            let reconciler = reconciler.clone();
            async move { reconciler.reconcile(sync_every).await }
        },
    ));

    println!("devserver listening on {base_url}");
    println!("dev partner token: {}", token.expose_secret());
    // The outbox holds claim and sign-in links: it answers this machine only.
    if bound.ip().is_loopback() {
        println!("sent emails: {base_url}/_dev/outbox");
    } else if bound.ip().is_unspecified() {
        println!(
            "sent emails: http://127.0.0.1:{}/_dev/outbox (this machine only)",
            bound.port()
        );
    } else {
        println!("sent emails: not served on {bound} (only to this machine over loopback)");
    }
    println!("admin console: {base_url}/console");
    println!(
        "console sign-in link for {} (one use, 15 minutes): {}",
        sign_in.company, sign_in.url
    );
    if let auth::Principal::Partner { partner_id } = &partner {
        println!("dev partner id (for rotate-partner-token): {partner_id}");
    }
    println!("sandbox apps' users (change them by hand): {base_url}/_sandbox");
    devserver::serve(listener, local.app(), devserver::HEADER_READ_TIMEOUT, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}

/// Where the data dir keeps the dev partner's token.
const DEV_TOKEN_FILE: &str = "dev-partner-token";

/// The dev partner token kept in the data dir (0600), made on first start.
fn dev_token(data_dir: &Path) -> Result<SecretString, String> {
    let path = data_dir.join(DEV_TOKEN_FILE);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(SecretString::from(existing.trim().to_owned()));
    }
    let token = auth::generate_token();
    write_private(&path, token.expose_secret())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(token)
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

/// Writes a private file in place of `path` (a new file, renamed over the old one).
fn replace_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let fresh = path.with_extension("new");
    let _ = std::fs::remove_file(&fresh);
    write_private(&fresh, contents)?;
    std::fs::rename(&fresh, path)
}
