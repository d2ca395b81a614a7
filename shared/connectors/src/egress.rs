//! Where outbound calls may go.
//!
//! Every vendor URL a connector builds is checked against the connector's host allow-list,
//! then passed through the routing table (overrides that send a vendor host elsewhere: the
//! sandbox, a vendor test environment, a recording fake). The final URL must be https, or
//! plain http to a loopback address in sandbox mode. Names are resolved by a resolver that
//! refuses private, link-local and metadata addresses, so a vendor host cannot be pointed
//! at the inside of our network.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use url::{Host, Url};

use crate::error::ConnectorError;

/// A host name, or `*.` and a domain for any subdomain of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern(String);

impl HostPattern {
    pub fn new(pattern: &str) -> Result<Self, String> {
        let p = pattern.trim().to_ascii_lowercase();
        let name = p.strip_prefix("*.").unwrap_or(&p);
        let valid = !name.is_empty()
            && name.contains('.')
            && name
                .split('.')
                .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        if valid {
            Ok(Self(p))
        } else {
            Err(format!("`{pattern}` is not a host name or `*.domain` pattern"))
        }
    }

    pub fn matches(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        match self.0.strip_prefix("*.") {
            Some(domain) => host.len() > domain.len() + 1 && host.ends_with(&format!(".{domain}")),
            None => host == self.0,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether outbound calls may reach `ip`. Loopback only in sandbox mode; never private,
/// link-local (cloud metadata lives there), shared, unspecified, broadcast or multicast.
pub fn address_allowed(ip: IpAddr, sandbox: bool) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_allowed(v4, sandbox),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4_allowed(v4, sandbox),
            None => {
                if v6.is_loopback() {
                    return sandbox;
                }
                !(v6.is_unspecified()
                    || v6.is_multicast()
                    || v6.is_unique_local()
                    || v6.is_unicast_link_local())
            }
        },
    }
}

fn v4_allowed(ip: Ipv4Addr, sandbox: bool) -> bool {
    if ip.is_loopback() {
        return sandbox;
    }
    let [a, b, ..] = ip.octets();
    let shared = a == 100 && (64..128).contains(&b); // 100.64.0.0/10, carrier-grade NAT
    !(ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || shared
        || a == 0)
}

/// One override: calls to hosts matching `pattern` go to `base` (its scheme, host, port and
/// path prefix), keeping their own path and query.
#[derive(Debug, Clone)]
pub struct Route {
    pub pattern: HostPattern,
    pub base: Url,
}

/// The egress policy of a process: sandbox mode or not, and the routing table.
#[derive(Debug, Clone, Default)]
pub struct EgressPolicy {
    sandbox: bool,
    routes: Vec<Route>,
}

impl EgressPolicy {
    /// Real vendors only.
    pub fn production() -> Self {
        Self::default()
    }

    /// Test and sandbox mode: loopback targets are allowed.
    pub fn sandbox() -> Self {
        Self {
            sandbox: true,
            routes: Vec::new(),
        }
    }

    pub fn is_sandbox(&self) -> bool {
        self.sandbox
    }

    /// Adds an override. Outside sandbox mode, a target on a loopback or private address,
    /// or over plain http, is refused.
    pub fn route(mut self, pattern: &str, base: &str) -> Result<Self, String> {
        let pattern = HostPattern::new(pattern)?;
        let base = Url::parse(base).map_err(|e| format!("`{base}` is not a URL: {e}"))?;
        check_target(&base, self.sandbox).map_err(|e| format!("route for `{}`: {e}", pattern.as_str()))?;
        self.routes.push(Route { pattern, base });
        Ok(self)
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Checks a vendor URL against `allowed` hosts and routes it; the answer is the URL to
    /// call.
    pub fn prepare(&self, url: &Url, allowed: &[HostPattern]) -> Result<Url, ConnectorError> {
        if url.scheme() != "https" {
            return Err(ConnectorError::Refused(format!("{} is not https", redact(url))));
        }
        let host = match url.host() {
            Some(Host::Domain(d)) => d.to_owned(),
            _ => {
                return Err(ConnectorError::Refused(format!(
                    "{} does not name the vendor's host",
                    redact(url)
                )));
            }
        };
        if !allowed.iter().any(|p| p.matches(&host)) {
            return Err(ConnectorError::Refused(format!(
                "{host} is not one of this app's hosts"
            )));
        }
        let target = match self.routes.iter().find(|r| r.pattern.matches(&host)) {
            Some(route) => rebase(url, &route.base),
            None => url.clone(),
        };
        check_target(&target, self.sandbox).map_err(ConnectorError::Refused)?;
        Ok(target)
    }
}

/// `url`'s path and query under `base`.
fn rebase(url: &Url, base: &Url) -> Url {
    let mut out = base.clone();
    let prefix = base.path().trim_end_matches('/');
    out.set_path(&format!("{prefix}{}", url.path()));
    out.set_query(url.query());
    out
}

/// The final target of a call: https, or http to loopback in sandbox mode; an IP literal
/// must be an allowed address.
fn check_target(url: &Url, sandbox: bool) -> Result<(), String> {
    let ip = match url.host() {
        Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        Some(Host::Domain(_)) => None,
        None => return Err(format!("{} has no host", redact(url))),
    };
    if let Some(ip) = ip
        && !address_allowed(ip, sandbox)
    {
        return Err(format!("{ip} is not a public address"));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if sandbox && ip.is_some_and(|ip| ip.is_loopback()) => Ok(()),
        _ => Err(format!("{} is not https", redact(url))),
    }
}

/// A URL without its query (which may carry tokens), for messages.
pub fn redact(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    let _ = u.set_password(None);
    u.to_string()
}

/// Resolves names for the HTTP client, keeping only allowed addresses.
#[derive(Debug, Clone, Default)]
pub struct GuardedResolver {
    pub sandbox: bool,
    /// Names resolved as they are: the egress proxies the operator configured (a proxy inside
    /// the VPC has a private address; vendor hosts never get this pass).
    pub trusted: Vec<String>,
}

/// The host names of the proxies named by `HTTPS_PROXY`, `HTTP_PROXY` and `ALL_PROXY`
/// (either case), which the operator, not a tenant, chose.
pub fn configured_proxy_hosts() -> Vec<String> {
    [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ]
    .iter()
    .filter_map(|name| std::env::var(name).ok())
    .filter_map(|value| Url::parse(&value).ok())
    .filter_map(|url| url.host_str().map(|h| h.to_ascii_lowercase()))
    .collect()
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let sandbox = self.sandbox;
        let trusted = self.trusted.iter().any(|t| t.eq_ignore_ascii_case(name.as_str()));
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if trusted {
                return Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs);
            }
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| address_allowed(a.ip(), sandbox))
                .collect();
            // A name with any refused address is refused whole: mixed answers are how DNS
            // rebinding slips an internal address in.
            if allowed.is_empty() || allowed.len() != found.len() {
                return Err(format!("{host} resolves to an address outbound calls may not reach").into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn allow(patterns: &[&str]) -> Vec<HostPattern> {
        patterns.iter().map(|p| HostPattern::new(p).unwrap()).collect()
    }

    #[test]
    fn patterns() {
        let p = HostPattern::new("*.okta.com").unwrap();
        assert!(p.matches("acme.okta.com"));
        assert!(p.matches("ACME.okta.com"));
        assert!(!p.matches("okta.com"));
        assert!(!p.matches("acme.okta.com.evil.net"));
        assert!(!p.matches("evilokta.com"));
        assert!(
            HostPattern::new("api.slack.com")
                .unwrap()
                .matches("api.slack.com")
        );
        assert!(HostPattern::new("*").is_err());
        assert!(HostPattern::new("http://x.com").is_err());
    }

    #[test]
    fn addresses() {
        for bad in [
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "127.0.0.1",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!address_allowed(bad.parse().unwrap(), false), "{bad}");
        }
        let aws_metadata_v6 = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);
        assert!(!address_allowed(IpAddr::V6(aws_metadata_v6), true));
        assert!(
            !address_allowed("169.254.169.254".parse().unwrap(), true),
            "metadata never"
        );
        assert!(address_allowed("127.0.0.1".parse().unwrap(), true));
        assert!(address_allowed("93.184.216.34".parse().unwrap(), false));
        assert!(address_allowed("2606:4700::1111".parse().unwrap(), false));
    }

    #[test]
    fn prepare_checks_hosts_then_routes() {
        let allowed = allow(&["api.slack.com"]);
        let prod = EgressPolicy::production();
        let url = Url::parse("https://api.slack.com/scim/v2/Users?count=1").unwrap();
        assert_eq!(prod.prepare(&url, &allowed).unwrap(), url);
        let other = Url::parse("https://evil.example.com/scim").unwrap();
        assert!(matches!(
            prod.prepare(&other, &allowed),
            Err(ConnectorError::Refused(_))
        ));
        let http = Url::parse("http://api.slack.com/scim").unwrap();
        assert!(matches!(
            prod.prepare(&http, &allowed),
            Err(ConnectorError::Refused(_))
        ));
        let ip = Url::parse("https://169.254.169.254/latest").unwrap();
        assert!(matches!(
            prod.prepare(&ip, &allow(&["api.slack.com"])),
            Err(ConnectorError::Refused(_))
        ));

        let sandbox = EgressPolicy::sandbox()
            .route("api.slack.com", "http://127.0.0.1:3000/_sandbox/slack")
            .unwrap();
        assert_eq!(
            sandbox.prepare(&url, &allowed).unwrap().as_str(),
            "http://127.0.0.1:3000/_sandbox/slack/scim/v2/Users?count=1"
        );
    }

    #[test]
    fn production_refuses_internal_routes() {
        assert!(
            EgressPolicy::production()
                .route("api.slack.com", "http://127.0.0.1:9/")
                .is_err()
        );
        assert!(
            EgressPolicy::production()
                .route("api.slack.com", "https://10.1.2.3/")
                .is_err()
        );
        assert!(
            EgressPolicy::production()
                .route("api.slack.com", "https://slack-proxy.example.com/")
                .is_ok()
        );
        assert!(
            EgressPolicy::sandbox()
                .route("api.slack.com", "http://10.1.2.3/")
                .is_err()
        );
    }
}
