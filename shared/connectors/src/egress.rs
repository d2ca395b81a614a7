//! Where outbound calls may go.
//!
//! Every vendor URL a connector builds is checked against the connector's host allow-list,
//! then passed through the routing table (overrides that send a vendor host elsewhere: the
//! sandbox, a vendor test environment, a recording fake). The final URL must be https, or
//! plain http to a loopback address in sandbox mode. Names are resolved by a resolver that
//! refuses private, link-local and metadata addresses, so a vendor host cannot be pointed
//! at the inside of our network.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

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

/// Whether outbound calls may reach `ip`. Loopback only in sandbox mode; never a private,
/// link-local (cloud metadata lives there), shared, reserved, documentation, benchmarking,
/// broadcast or multicast address, nor an IPv6 address that carries one of those inside it
/// (IPv4-mapped, NAT64, 6to4) or leaves the Internet's global unicast space (IANA's
/// special-purpose address registries).
pub fn address_allowed(ip: IpAddr, sandbox: bool) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_allowed(v4, sandbox),
        IpAddr::V6(v6) => v6_allowed(v6, sandbox),
    }
}

fn v4_allowed(ip: Ipv4Addr, sandbox: bool) -> bool {
    if ip.is_loopback() {
        return sandbox;
    }
    let [a, b, c, _] = ip.octets();
    let refused = ip.is_private()
        || ip.is_link_local()
        || a == 0 // 0.0.0.0/8, "this network"
        || (a == 100 && (64..128).contains(&b)) // 100.64.0.0/10, carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // 192.0.0.0/24, IETF protocol assignments
        || ip.is_documentation() // 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24
        || (a == 192 && b == 88 && c == 99) // 192.88.99.0/24, the old 6to4 relays
        || (a == 198 && (b == 18 || b == 19)) // 198.18.0.0/15, benchmarking
        || ip.is_multicast() // 224.0.0.0/4
        || a >= 240; // 240.0.0.0/4, reserved, and the broadcast address
    !refused
}

fn v6_allowed(ip: Ipv6Addr, sandbox: bool) -> bool {
    let s = ip.segments();
    // Addresses that carry an IPv4 address the network delivers to: judged by that one.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_allowed(v4, sandbox); // ::ffff:0:0/96
    }
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return v4_allowed(embedded(s[6], s[7]), false); // 64:ff9b::/96, NAT64
    }
    if s[0] == 0x2002 {
        return v4_allowed(embedded(s[1], s[2]), false); // 2002::/16, 6to4
    }
    if ip.is_loopback() {
        return sandbox;
    }
    // Outside 2000::/3 nothing is global unicast: the unspecified address, IPv4-compatible
    // (::/96) and IPv4-translated addresses, local NAT64 (64:ff9b:1::/48), discard-only
    // (100::/64), unique local, link-local, site-local and multicast.
    let global = s[0] & 0xe000 == 0x2000;
    let refused = !global
        || (s[0] == 0x2001 && s[1] < 0x200) // 2001::/23: Teredo (2001::/32), benchmarking, ORCHID, …
        || (s[0] == 0x2001 && s[1] == 0xdb8) // 2001:db8::/32, documentation
        || (s[0] == 0x3fff && s[1] < 0x1000); // 3fff::/20, documentation
    !refused
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
    /// Offline: only routed hosts may be called (see `routed_only`).
    routed_only: bool,
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
            ..Self::default()
        }
    }

    /// Offline: a vendor host no route matches is refused before anything is resolved or
    /// sent, so nothing leaves the machine by accident (the devserver).
    pub fn routed_only(mut self) -> Self {
        self.routed_only = true;
        self
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
            None if self.routed_only => {
                return Err(ConnectorError::Refused(format!(
                    "{host} has no local route and this server is offline; nothing was sent"
                )));
            }
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
        let aws_metadata_v6 = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);
        assert!(!address_allowed(IpAddr::V6(aws_metadata_v6), true));
        assert!(
            !address_allowed("169.254.169.254".parse().unwrap(), true),
            "metadata never"
        );
        assert!(address_allowed("127.0.0.1".parse().unwrap(), true));
        assert!(address_allowed("::1".parse().unwrap(), true));
        assert!(address_allowed("93.184.216.34".parse().unwrap(), false));
        assert!(address_allowed("2606:4700::1111".parse().unwrap(), false));
    }

    /// Issue 25: every special-purpose range (IANA's IPv4 and IPv6 registries), and every
    /// IPv6 form that carries an internal IPv4 address, is refused, in production and in
    /// sandbox mode; the public addresses beside them are not.
    #[test]
    fn every_special_purpose_range_is_refused() {
        let refused = [
            ("0.0.0.0/8", ["0.0.0.0", "0.255.255.255"]),
            ("10.0.0.0/8", ["10.0.0.1", "10.255.255.255"]),
            ("100.64.0.0/10, shared", ["100.64.0.1", "100.127.255.254"]),
            ("127.0.0.0/8, loopback", ["127.0.0.1", "127.255.255.254"]),
            ("169.254.0.0/16, link-local", ["169.254.169.254", "169.254.0.1"]),
            ("172.16.0.0/12", ["172.16.5.4", "172.31.255.255"]),
            ("192.0.0.0/24, IETF", ["192.0.0.1", "192.0.0.170"]),
            ("192.0.2.0/24, TEST-NET-1", ["192.0.2.1", "192.0.2.255"]),
            ("192.88.99.0/24, 6to4 relays", ["192.88.99.1", "192.88.99.255"]),
            ("192.168.0.0/16", ["192.168.1.1", "192.168.255.255"]),
            ("198.18.0.0/15, benchmarking", ["198.18.0.1", "198.19.255.255"]),
            ("198.51.100.0/24, TEST-NET-2", ["198.51.100.1", "198.51.100.255"]),
            ("203.0.113.0/24, TEST-NET-3", ["203.0.113.1", "203.0.113.255"]),
            ("224.0.0.0/4, multicast", ["224.0.0.1", "239.255.255.255"]),
            ("240.0.0.0/4, reserved", ["240.0.0.1", "254.255.255.255"]),
            (
                "255.255.255.255, broadcast",
                ["255.255.255.255", "255.255.255.254"],
            ),
            ("::, unspecified", ["::", "::0"]),
            ("::1 outside sandbox", ["::1", "0:0:0:0:0:0:0:1"]),
            (
                "::ffff:0:0/96, IPv4-mapped internal",
                ["::ffff:10.0.0.1", "::ffff:169.254.169.254"],
            ),
            (
                "::ffff:0:0/96, IPv4-mapped loopback",
                ["::ffff:127.0.0.1", "::ffff:0.0.0.0"],
            ),
            ("::/96, IPv4-compatible", ["::10.0.0.1", "::93.184.216.34"]),
            (
                "::ffff:0:0:0/96, IPv4-translated",
                ["::ffff:0:a00:1", "::ffff:0:5db8:d822"],
            ),
            (
                "64:ff9b::/96, NAT64 of internal",
                ["64:ff9b::a9fe:a9fe", "64:ff9b::10.0.0.1"],
            ),
            (
                "64:ff9b::/96, NAT64 of loopback",
                ["64:ff9b::127.0.0.1", "64:ff9b::c0a8:101"],
            ),
            (
                "64:ff9b:1::/48, local NAT64",
                ["64:ff9b:1::5db8:d822", "64:ff9b:1:ffff::1"],
            ),
            ("100::/64, discard-only", ["100::1", "100::ffff"]),
            (
                "2001::/32, Teredo",
                ["2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001::1"],
            ),
            (
                "2001::/23, IETF (benchmarking, ORCHID)",
                ["2001:2::1", "2001:10::1"],
            ),
            (
                "2001:db8::/32, documentation",
                ["2001:db8::1", "2001:db8:ffff::1"],
            ),
            ("3fff::/20, documentation", ["3fff::1", "3fff:fff:ffff::1"]),
            (
                "2002::/16, 6to4 of internal",
                ["2002:a00:1::1", "2002:a9fe:a9fe::"],
            ),
            (
                "2002::/16, 6to4 of loopback or reserved",
                ["2002:7f00:1::", "2002:c000:201::1"],
            ),
            ("fc00::/7, unique local", ["fd00:ec2::254", "fc00::1"]),
            ("fe80::/10, link-local", ["fe80::1", "febf::1"]),
            ("fec0::/10, site-local", ["fec0::1", "feff::1"]),
            ("ff00::/8, multicast", ["ff02::1", "ff0e::1"]),
        ];
        for (range, samples) in refused {
            for sample in samples {
                let ip: IpAddr = sample.parse().unwrap();
                assert!(!address_allowed(ip, false), "{range}: {sample}");
                // Sandbox mode reaches the loopback address (its fakes listen there), however written.
                if !ip.to_canonical().is_loopback() {
                    assert!(!address_allowed(ip, true), "sandbox, {range}: {sample}");
                }
            }
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.1",
            "192.0.1.1",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.255",
            "2606:4700::1111",
            "2001:4860:4860::8888",
            "2001:200::1",
            "::ffff:93.184.216.34",
            "64:ff9b::5db8:d822",
            "2002:5db8:d822::1",
            "2a00:1450:4001:81c::200e",
        ] {
            assert!(address_allowed(public.parse().unwrap(), false), "{public}");
        }
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
    fn routed_only_refuses_a_host_without_a_route() {
        let allowed = allow(&["*.okta.com"]);
        let offline = EgressPolicy::sandbox()
            .route("sandbox.okta.com", "http://127.0.0.1:3000/_sandbox/okta")
            .unwrap()
            .routed_only();
        let routed = Url::parse("https://sandbox.okta.com/api/v1/users").unwrap();
        assert_eq!(
            offline.prepare(&routed, &allowed).unwrap().as_str(),
            "http://127.0.0.1:3000/_sandbox/okta/api/v1/users"
        );
        let real = Url::parse("https://acme.okta.com/api/v1/users").unwrap();
        match offline.prepare(&real, &allowed) {
            Err(ConnectorError::Refused(why)) => assert!(why.contains("acme.okta.com"), "{why}"),
            other => panic!("{other:?}"),
        }
        // Without it, an unrouted host goes to the vendor itself.
        let online = EgressPolicy::sandbox();
        assert_eq!(online.prepare(&real, &allowed).unwrap(), real);
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
