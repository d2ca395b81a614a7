//! `devserver`: run the whole service locally on embedded adapters, or administer it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Parser, Subcommand};
use devserver::{Local, LocalConfig};
use prov_core::auth::{self, ensure_partner_token};
use prov_core::clock::{Clock, SystemClock};
use prov_core::store::ItemStore;
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
            let store: Arc<dyn ItemStore> = match dynamodb_table {
                Some(table) => {
                    // The full provider chain (profiles, SSO): this runs on a laptop.
                    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
                        .http_client(prov_https::AwsHttpClient::shared())
                        .load()
                        .await;
                    Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table))
                }
                // Links are not made here, so the URLs do not matter.
                None => {
                    let config = LocalConfig {
                        data_dir: &cli.data_dir,
                        public_base_url: "http://localhost",
                        listen_url: "http://localhost",
                        vendor_routes: &[],
                    };
                    Local::open(&config, clock.clone())?.services.store
                }
            };
            let (partner, token) = auth::create_partner(store.as_ref(), clock.as_ref(), &name, None)
                .await
                .map_err(|e| e.to_string())?;
            println!("partner {} ({})", partner.id, partner.name);
            println!("token (shown once, store it now): {}", token.expose_secret());
            Ok(())
        }
        None => {
            let options = ServeOptions {
                public_base_url: cli.public_base_url,
                partner_token: cli.partner_token,
                vendor_routes: cli.vendor_routes,
            };
            serve(cli.addr, &cli.data_dir, options, clock).await
        }
    }
}

struct ServeOptions {
    public_base_url: Option<String>,
    partner_token: Option<String>,
    vendor_routes: Vec<String>,
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
    println!("console sign-in link (one use, 15 minutes): {sign_in}");
    devserver::serve(listener, local.app(), devserver::HEADER_READ_TIMEOUT, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}

/// The dev partner token kept in the data dir (0600), made on first start.
fn dev_token(data_dir: &Path) -> Result<SecretString, String> {
    let path = data_dir.join("dev-partner-token");
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
