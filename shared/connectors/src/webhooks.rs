//! The webhook sender: partners' endpoints are called under the rules vendor calls go by
//! (`egress`): https only (plain http to loopback in sandbox mode), never a private,
//! loopback, link-local, metadata or other special-purpose address, whether written in the
//! URL or resolved from its name (names are resolved by the guarded resolver, so one cannot
//! be pointed inside our network later). Each POST is bounded in time, follows no redirect,
//! and reads at most the start of the answer; whatever the receiver does is an `Answered`.

use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use prov_core::webhooks::{Answered, WebhookSender};
use url::{Host, Url};

use crate::egress::{GuardedResolver, address_allowed, configured_proxy_hosts, redact};

/// A POST may take this long, answer included.
const TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The start of an answer kept with the attempt.
const ANSWER_BYTES: usize = 1024;

pub struct HttpWebhookSender {
    sandbox: bool,
    client: OnceLock<reqwest::Client>,
}

impl HttpWebhookSender {
    /// `sandbox`: plain http to a loopback address is allowed (the devserver, tests).
    pub fn new(sandbox: bool) -> Self {
        Self {
            sandbox,
            client: OnceLock::new(),
        }
    }

    fn client(&self) -> &reqwest::Client {
        self.client.get_or_init(|| {
            reqwest::Client::builder()
                .tls_backend_preconfigured(prov_https::tls_config())
                .connect_timeout(CONNECT_TIMEOUT)
                .timeout(TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .dns_resolver(std::sync::Arc::new(GuardedResolver {
                    sandbox: self.sandbox,
                    trusted: configured_proxy_hosts(),
                }))
                .user_agent(concat!("app-provisioning-webhooks/", env!("CARGO_PKG_VERSION")))
                .build()
                .expect("the HTTP client builds")
        })
    }
}

/// Names that only mean something inside a private network (RFC 6761's `localhost`, RFC
/// 6762's `local`, RFC 8375's `home.arpa`, the cloud providers' `internal`).
const PRIVATE_SUFFIXES: &[&str] = &["localhost", "local", "internal", "home.arpa"];

/// The endpoint URL, if the egress rules allow it.
pub fn endpoint_url(raw: &str, sandbox: bool) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("it is not a URL ({e})"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("it carries credentials; put none in the URL (deliveries are signed)".into());
    }
    if url.fragment().is_some() {
        return Err("it has a fragment (`#…`), which is never sent".into());
    }
    let ip = match url.host() {
        Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            let private = PRIVATE_SUFFIXES
                .iter()
                .any(|s| name == *s || name.ends_with(&format!(".{s}")));
            if name == "localhost" && sandbox {
                Some(IpAddr::from([127, 0, 0, 1]))
            } else if private || !name.contains('.') {
                return Err(format!("{name} is a name of a private network"));
            } else {
                None
            }
        }
        None => return Err("it has no host".into()),
    };
    if let Some(ip) = ip
        && !address_allowed(ip, sandbox)
    {
        return Err(format!("{ip} is not a public address"));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if sandbox && ip.is_some_and(|ip| ip.is_loopback()) => Ok(url),
        "http" if sandbox => {
            Err("plain http is allowed only to this machine (loopback) in sandbox mode".into())
        }
        _ => Err("it is not https".into()),
    }
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    fn check(&self, url: &str) -> Result<(), String> {
        endpoint_url(url, self.sandbox).map(|_| ())
    }

    async fn post(&self, url: &str, headers: &[(&str, String)], body: &str) -> Answered {
        let failed = |error: String| Answered {
            status: None,
            error: Some(error),
            response: None,
        };
        // Checked again at every attempt: the rules may have changed since registration.
        let url = match endpoint_url(url, self.sandbox) {
            Ok(url) => url,
            Err(why) => return failed(format!("the URL cannot be used: {why}")),
        };
        let mut request = self.client().post(url.clone()).body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let what = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "could not connect"
                } else {
                    "failed"
                };
                return failed(format!("the POST to {} {what}", redact(&url)));
            }
        };
        let status = response.status().as_u16();
        // Only the start of the answer is read; the rest is dropped with the connection.
        let mut start = Vec::new();
        while start.len() < ANSWER_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => start.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        start.truncate(ANSWER_BYTES);
        let text: String = String::from_utf8_lossy(&start)
            .chars()
            .filter(|c| !c.is_control() || *c == '\n')
            .collect();
        Answered {
            status: Some(status),
            error: None,
            response: Some(text).filter(|t| !t.is_empty()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_urls_follow_the_egress_rules() {
        for ok in [
            "https://hooks.example.com/provisioning",
            "https://93.184.216.34/x",
            "https://hooks.example.com:8443/x?team=1",
        ] {
            assert!(endpoint_url(ok, false).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("http://hooks.example.com/x", "not https"),
            ("https://10.0.0.7/x", "not a public address"),
            ("https://169.254.169.254/latest/meta-data", "not a public address"),
            ("https://[fd00:ec2::254]/", "not a public address"),
            ("https://[::ffff:127.0.0.1]/", "not a public address"),
            ("https://127.0.0.1/x", "not a public address"),
            ("https://localhost/x", "private network"),
            ("https://metadata.google.internal/x", "private network"),
            ("https://printer.local/x", "private network"),
            ("https://intranet/x", "private network"),
            ("https://user:pw@hooks.example.com/x", "credentials"),
            ("https://hooks.example.com/x#frag", "fragment"),
            ("ftp://hooks.example.com/x", "not https"),
            ("not a url", "not a URL"),
        ] {
            let err = endpoint_url(bad, false).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        // Sandbox mode: this machine over plain http, and nothing else private.
        assert!(endpoint_url("http://127.0.0.1:9000/hook", true).is_ok());
        assert!(endpoint_url("http://localhost:9000/hook", true).is_ok());
        assert!(endpoint_url("http://[::1]:9000/hook", true).is_ok());
        assert!(endpoint_url("https://10.0.0.7/x", true).is_err());
        assert!(endpoint_url("http://hooks.example.com/x", true).is_err());
        assert!(endpoint_url("http://169.254.169.254/", true).is_err());
    }
}
