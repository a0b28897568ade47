//! SSRF guard for outbound webhook deliveries. (Half of this file is its tests: every address range and URL
//! form the guard must refuse or allow is one case.)
//!
//! Users choose webhook URLs, so without a guard they could make the hub call
//! internal services (databases, admin panels, cloud metadata at
//! `169.254.169.254`). The delivery worker must:
//!
//! 1. [`validate_webhook_url`] when the endpoint is saved (and again before
//!    sending);
//! 2. resolve the host itself and [`TargetPolicy::check`] **every** resolved
//!    address (or [`TargetPolicy::check_all`]), then connect to a checked
//!    address — never re-resolve, or DNS rebinding bypasses the check;
//! 3. not follow redirects (or re-run this check for each hop);
//! 4. not hand a request to a proxy, which resolves the name itself, without checking the target first
//!    (environment proxies are never used; the operator's egress proxy is, after that check).
//!
//! Operators can punch holes (e.g. `127.0.0.1/32` for local development) with
//! an explicit allow list.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use url::{Host, Url};

/// Maximum accepted webhook URL length.
pub const MAX_URL_LEN: usize = 2048;

/// Refusal of a delivery target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsrfError {
    #[error(
        "destination {ip} is not a public internet address (private, loopback, link-local, metadata or reserved range)"
    )]
    ForbiddenAddress { ip: IpAddr },
    #[error("destination host did not resolve to any address")]
    NoAddresses,
}

/// IPv4 ranges that must never be reached (network, prefix length).
const FORBIDDEN_V4: &[(u32, u8)] = &[
    (0x0000_0000, 8),  // 0.0.0.0/8 "this network" (0.0.0.0 reaches localhost on Linux)
    (0x0A00_0000, 8),  // 10.0.0.0/8 private
    (0x6440_0000, 10), // 100.64.0.0/10 CGNAT (also Alibaba metadata 100.100.100.200)
    (0x7F00_0000, 8),  // 127.0.0.0/8 loopback
    (0xA9FE_0000, 16), // 169.254.0.0/16 link-local (AWS/GCP/Azure metadata 169.254.169.254)
    (0xAC10_0000, 12), // 172.16.0.0/12 private
    (0xC000_0000, 24), // 192.0.0.0/24 IETF protocol assignments (Oracle metadata 192.0.0.192)
    (0xC000_0200, 24), // 192.0.2.0/24 TEST-NET-1
    (0xC058_6300, 24), // 192.88.99.0/24 deprecated 6to4 relay anycast
    (0xC0A8_0000, 16), // 192.168.0.0/16 private
    (0xC612_0000, 15), // 198.18.0.0/15 benchmarking
    (0xC633_6400, 24), // 198.51.100.0/24 TEST-NET-2
    (0xCB00_7100, 24), // 203.0.113.0/24 TEST-NET-3
    (0xE000_0000, 4),  // 224.0.0.0/4 multicast
    (0xF000_0000, 4),  // 240.0.0.0/4 reserved, includes 255.255.255.255 broadcast
];

/// IPv6 ranges that must never be reached, checked after the embedded-IPv4
/// forms and only for addresses inside 2000::/3 (everything outside global
/// unicast is refused wholesale).
const FORBIDDEN_V6_GLOBAL: &[(u128, u8)] = &[
    (0x2001_0000_0000_0000_0000_0000_0000_0000, 32), // 2001::/32 Teredo (tunnels to arbitrary v4)
    (0x2001_0002_0000_0000_0000_0000_0000_0000, 48), // 2001:2::/48 benchmarking
    (0x2001_0010_0000_0000_0000_0000_0000_0000, 28), // 2001:10::/28 ORCHID
    (0x2001_0020_0000_0000_0000_0000_0000_0000, 28), // 2001:20::/28 ORCHIDv2
    (0x2001_0db8_0000_0000_0000_0000_0000_0000, 32), // 2001:db8::/32 documentation
    (0x3fff_0000_0000_0000_0000_0000_0000_0000, 20), // 3fff::/20 documentation (RFC 9637)
];

fn in_v4(ip: u32, net: u32, len: u8) -> bool {
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    ip & mask == net & mask
}

fn in_v6(ip: u128, net: u128, len: u8) -> bool {
    let mask = if len == 0 { 0 } else { u128::MAX << (128 - len) };
    ip & mask == net & mask
}

/// Is `ip` a destination a webhook must never be delivered to?
///
/// IPv6 forms that embed an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`,
/// IPv4-compatible `::a.b.c.d`, IPv4-translated `::ffff:0:a.b.c.d`, NAT64
/// `64:ff9b::/96`, 6to4 `2002::/16`) are judged by the embedded IPv4 address.
/// Any other IPv6 address outside global unicast `2000::/3` is refused; that
/// covers loopback, unspecified, unique-local `fc00::/7` (incl. the EC2
/// metadata address `fd00:ec2::254`), link-local `fe80::/10`, site-local
/// `fec0::/10`, multicast `ff00::/8` and discard `100::/64`.
pub fn is_forbidden_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => is_forbidden_v6(v6),
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let n = u32::from(ip);
    FORBIDDEN_V4.iter().any(|&(net, len)| in_v4(n, net, len))
}

/// The IPv4 address embedded in an IPv6 address by a translation/tunnelling
/// scheme, if any. `::` and `::1` are *not* IPv4-compatible addresses.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let n = u128::from(ip);
    let low32 = Ipv4Addr::from(n as u32);
    if in_v6(n, 0xffff_0000_0000, 96) // ::ffff:0:0/96 IPv4-mapped
        || in_v6(n, 0xffff_0000_0000_0000, 96) // ::ffff:0:0:0/96 IPv4-translated (SIIT)
        || in_v6(n, 0x0064_ff9b_0000_0000_0000_0000_0000_0000, 96)
    // 64:ff9b::/96 NAT64
    {
        return Some(low32);
    }
    if in_v6(n, 0, 96) && n > 1 {
        // ::/96 IPv4-compatible (deprecated), excluding :: and ::1.
        return Some(low32);
    }
    if in_v6(n, 0x2002_0000_0000_0000_0000_0000_0000_0000, 16) {
        // 2002:AABB:CCDD::/48 → 6to4 with embedded AA.BB.CC.DD.
        return Some(Ipv4Addr::from((n >> 80) as u32));
    }
    None
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return is_forbidden_v4(v4);
    }
    let n = u128::from(ip);
    // Only 2000::/3 is globally routed unicast.
    if !in_v6(n, 0x2000_0000_0000_0000_0000_0000_0000_0000, 3) {
        return true;
    }
    FORBIDDEN_V6_GLOBAL.iter().any(|&(net, len)| in_v6(n, net, len))
}

/// Operator-configured exceptions to the SSRF guard, and the egress proxy deliveries go through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    allow: Vec<IpNet>,
    /// `HUB_EGRESS_PROXY`. The proxy resolves the target's name itself, so with one set the sender resolves and
    /// checks the target's addresses before handing the request over.
    egress_proxy: Option<Url>,
}

impl TargetPolicy {
    /// Parse a comma- and/or whitespace-separated list of CIDRs or bare IPs,
    /// e.g. `"127.0.0.1/32, ::1/128"`. An empty string allows nothing extra.
    pub fn parse_allow_list(s: &str) -> Result<Self, String> {
        let mut allow = Vec::new();
        for entry in s.split(|c: char| c == ',' || c.is_whitespace()).filter(|e| !e.is_empty()) {
            let net = entry
                .parse::<IpNet>()
                .map(|n| n.trunc())
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("SSRF allow list: \"{entry}\" is not a valid IP address or CIDR"))?;
            allow.push(net);
        }
        Ok(TargetPolicy { allow, egress_proxy: None })
    }

    /// Policy with explicit allow entries.
    pub fn new(allow: Vec<IpNet>) -> Self {
        TargetPolicy { allow, egress_proxy: None }
    }

    /// Sends deliveries through an HTTP proxy (`http://host:port`, credentials allowed); `None` or an empty string
    /// sends them directly.
    pub fn with_egress_proxy(mut self, proxy: Option<&str>) -> Result<Self, String> {
        let Some(proxy) = proxy.map(str::trim).filter(|p| !p.is_empty()) else { return Ok(self) };
        let url = Url::parse(proxy).map_err(|e| format!("not a valid URL: {e}"))?;
        if url.scheme() != "http" {
            return Err(format!("must be an http:// URL (http://host:port), not {}://", url.scheme()));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("must name the proxy's host (http://host:port)".into());
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err("must be only http://host:port (no path or query)".into());
        }
        self.egress_proxy = Some(url);
        Ok(self)
    }

    pub fn egress_proxy(&self) -> Option<&Url> {
        self.egress_proxy.as_ref()
    }

    pub fn allow_list(&self) -> &[IpNet] {
        &self.allow
    }

    fn is_allowed(&self, ip: IpAddr) -> bool {
        // Check both spellings of IPv4-mapped addresses so `127.0.0.1/32`
        // also admits `::ffff:127.0.0.1` and vice versa.
        let alt = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
            IpAddr::V4(v4) => Some(IpAddr::V6(v4.to_ipv6_mapped())),
        };
        self.allow.iter().any(|net| net.contains(&ip) || alt.is_some_and(|a| net.contains(&a)))
    }

    /// May we connect to `ip`? Allowed if explicitly allow-listed, otherwise
    /// refused when [`is_forbidden_ip`].
    pub fn check(&self, ip: IpAddr) -> Result<(), SsrfError> {
        if self.is_allowed(ip) || !is_forbidden_ip(ip) {
            Ok(())
        } else {
            Err(SsrfError::ForbiddenAddress { ip })
        }
    }

    /// Check every address a host resolved to; one bad address rejects the
    /// whole host (an attacker controls which record a client picks).
    pub fn check_all<I: IntoIterator<Item = IpAddr>>(&self, ips: I) -> Result<(), SsrfError> {
        let mut any = false;
        for ip in ips {
            any = true;
            self.check(ip)?;
        }
        if any {
            Ok(())
        } else {
            Err(SsrfError::NoAddresses)
        }
    }
}

/// A syntactically acceptable webhook URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedTarget {
    pub url: Url,
    /// Set when the host is an IP literal (after the `url` crate normalised
    /// forms like `2130706433` or `0x7f.1`); the caller must `check` it. For
    /// domain names the caller must resolve and check every address.
    pub ip_literal: Option<IpAddr>,
}

/// Validate a user-supplied webhook URL (syntax and policy-independent rules).
pub fn validate_webhook_url(input: &str) -> Result<ParsedTarget, String> {
    let input = input.trim();
    if input.is_empty() {
        return Err("URL must not be empty".to_string());
    }
    if input.len() > MAX_URL_LEN {
        return Err(format!("URL must be at most {MAX_URL_LEN} characters"));
    }
    let url = Url::parse(input).map_err(|e| format!("not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("URL scheme must be http or https, not \"{}\"", url.scheme()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("URL must not contain credentials (user:password@); use custom headers instead".to_string());
    }
    if url.port() == Some(0) {
        return Err("URL port must not be 0".to_string());
    }
    let ip_literal = match url.host() {
        None => return Err("URL must have a host".to_string()),
        Some(Host::Domain("")) => return Err("URL must have a host".to_string()),
        Some(Host::Domain(_)) => None,
        Some(Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
    };
    Ok(ParsedTarget { url, ip_literal })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forbidden_v4() {
        for s in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.255",
            "100.100.100.200",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.1",
            "192.0.0.192",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(is_forbidden_ip(ip(s)), "{s} should be forbidden");
        }
    }

    #[test]
    fn public_v4() {
        for s in [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.1",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.1",
            "192.169.0.1",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "93.184.216.34",
        ] {
            assert!(!is_forbidden_ip(ip(s)), "{s} should be allowed");
        }
    }

    #[test]
    fn forbidden_v6() {
        for s in [
            "::",
            "::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "fc00::1",
            "fd12:3456::1",
            "fd00:ec2::254",
            "ff02::1",
            "ff0e::1",
            "100::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "::10.0.0.1",
            "::ffff:0:192.168.0.1",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "2002:7f00:1::",
            "2002:c0a8:101::1",
            "2002:a9fe:a9fe::",
            "2001:db8::1",
            "2001::1",
            "2001:2::1",
            "2001:20::1",
            "3fff::1",
            "::2:0:0:1",
            "5f00::1",
        ] {
            assert!(is_forbidden_ip(ip(s)), "{s} should be forbidden");
        }
    }

    #[test]
    fn public_v6() {
        for s in [
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450:4001::1",
            "::ffff:8.8.8.8",
            "::8.8.8.8",
            "64:ff9b::8.8.8.8",
            "2002:0808:0808::1",
            "2001:db9::1",
        ] {
            assert!(!is_forbidden_ip(ip(s)), "{s} should be allowed");
        }
    }

    #[test]
    fn embedded_extraction() {
        assert_eq!(embedded_v4("2002:c0a8:0101::".parse().unwrap()), Some(Ipv4Addr::new(192, 168, 1, 1)));
        assert_eq!(embedded_v4("64:ff9b::1.2.3.4".parse().unwrap()), Some(Ipv4Addr::new(1, 2, 3, 4)));
        assert_eq!(embedded_v4(Ipv6Addr::UNSPECIFIED), None);
        assert_eq!(embedded_v4(Ipv6Addr::LOCALHOST), None);
        assert_eq!(embedded_v4("2606:4700::1".parse().unwrap()), None);
    }

    #[test]
    fn policy_allow_list() {
        let p = TargetPolicy::parse_allow_list("127.0.0.1/32, ::1/128").unwrap();
        assert_eq!(p.allow_list().len(), 2);
        assert_eq!(p.check(ip("127.0.0.1")), Ok(()));
        assert_eq!(p.check(ip("::1")), Ok(()));
        // Mapped v6 is checked against v4 allow entries.
        assert_eq!(p.check(ip("::ffff:127.0.0.1")), Ok(()));
        assert_eq!(p.check(ip("127.0.0.2")), Err(SsrfError::ForbiddenAddress { ip: ip("127.0.0.2") }));
        assert!(p.check(ip("10.0.0.1")).is_err());
        assert_eq!(p.check(ip("8.8.8.8")), Ok(()));

        let mapped = TargetPolicy::parse_allow_list("::ffff:10.0.0.0/104").unwrap();
        assert_eq!(mapped.check(ip("10.9.9.9")), Ok(()));

        let empty = TargetPolicy::parse_allow_list("").unwrap();
        assert_eq!(empty, TargetPolicy::default());
        assert!(empty.check(ip("127.0.0.1")).is_err());
        assert!(TargetPolicy::parse_allow_list(" ,\n ").unwrap().allow_list().is_empty());

        // Bare IPs, newline separation, host bits normalised.
        let p = TargetPolicy::parse_allow_list("10.0.0.5\n192.168.1.77/24").unwrap();
        assert_eq!(p.check(ip("10.0.0.5")), Ok(()));
        assert!(p.check(ip("10.0.0.6")).is_err());
        assert_eq!(p.check(ip("192.168.1.1")), Ok(()));

        let e = TargetPolicy::parse_allow_list("127.0.0.1/32, nope").unwrap_err();
        assert!(e.contains("\"nope\""), "{e}");
        assert!(TargetPolicy::parse_allow_list("10.0.0.0/33").is_err());
        assert!(SsrfError::ForbiddenAddress { ip: ip("10.0.0.1") }.to_string().contains("10.0.0.1"));
    }

    #[test]
    fn egress_proxy_must_be_a_plain_http_url() {
        let p = TargetPolicy::default().with_egress_proxy(Some("http://user:pw@proxy.internal:3128")).unwrap();
        assert_eq!(p.egress_proxy().and_then(|u| u.host_str()), Some("proxy.internal"));
        assert_eq!(TargetPolicy::default().with_egress_proxy(Some(" ")).unwrap().egress_proxy(), None);
        assert_eq!(TargetPolicy::default().with_egress_proxy(None).unwrap(), TargetPolicy::default());
        for (bad, why) in [
            ("proxy:3128", "http://"),
            ("socks5://127.0.0.1:1080", "http://"),
            ("https://proxy:3128", "http://"),
            ("http://proxy:3128/path", "no path"),
            ("not a url", "valid URL"),
        ] {
            let e = TargetPolicy::default().with_egress_proxy(Some(bad)).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn check_all_requires_every_address() {
        let p = TargetPolicy::default();
        assert_eq!(p.check_all([ip("8.8.8.8"), ip("1.1.1.1")]), Ok(()));
        assert!(p.check_all([ip("8.8.8.8"), ip("10.0.0.1")]).is_err());
        assert_eq!(p.check_all([]), Err(SsrfError::NoAddresses));
    }

    #[test]
    fn url_validation_ok() {
        let t = validate_webhook_url("https://example.com/hooks?x=1").unwrap();
        assert_eq!(t.url.host_str(), Some("example.com"));
        assert_eq!(t.ip_literal, None);
        let t = validate_webhook_url("  http://8.8.8.8:8080/x  ").unwrap();
        assert_eq!(t.ip_literal, Some(ip("8.8.8.8")));
    }

    #[test]
    fn url_ip_literal_forms_normalised() {
        for (u, want) in [
            ("http://127.0.0.1/", "127.0.0.1"),
            ("http://2130706433/", "127.0.0.1"),
            ("http://0x7f.1/", "127.0.0.1"),
            ("http://0177.0.0.1/", "127.0.0.1"),
            ("http://127.1/", "127.0.0.1"),
            ("http://0/", "0.0.0.0"),
            ("http://[::1]/", "::1"),
            ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1"),
            ("http://[::ffff:7f00:1]:80/", "::ffff:127.0.0.1"),
            ("https://169.254.169.254/latest/meta-data", "169.254.169.254"),
        ] {
            let t = validate_webhook_url(u).unwrap();
            assert_eq!(t.ip_literal, Some(ip(want)), "{u}");
            assert!(TargetPolicy::default().check(ip(want)).is_err(), "{u}");
        }
    }

    #[test]
    fn url_validation_errors() {
        let cases = [
            ("", "empty"),
            ("not a url", "not a valid URL"),
            ("/relative/path", "not a valid URL"),
            ("ftp://example.com/", "scheme"),
            ("file:///etc/passwd", "scheme"),
            ("gopher://example.com/", "scheme"),
            ("javascript:alert(1)", "scheme"),
            ("https://user:pass@example.com/", "credentials"),
            ("https://user@example.com/", "credentials"),
            ("https://:pass@example.com/", "credentials"),
            ("http://example.com:0/", "port"),
            ("http://", "not a valid URL"),
        ];
        for (u, needle) in cases {
            let e = validate_webhook_url(u).unwrap_err();
            assert!(e.contains(needle), "{u:?}: {e}");
        }
        let long = format!("https://example.com/{}", "a".repeat(2048));
        assert!(validate_webhook_url(&long).unwrap_err().contains("2048"));
        let ok = format!("https://example.com/{}", "a".repeat(2048 - 20));
        assert_eq!(ok.len(), 2048);
        assert!(validate_webhook_url(&ok).is_ok());
    }
}
