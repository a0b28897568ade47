//! Per-API-key client IP allowlists.
//!
//! Users paste one CIDR or bare IP per line in the UI; we report *every* bad
//! line at once (with its line number) so they can fix them in one pass, and
//! at request time check the client address against the parsed list.

use std::net::IpAddr;

use ipnet::IpNet;

/// Parse allowlist lines. Each non-blank line is a CIDR (`10.0.0.0/8`,
/// `2001:db8::/32`) or a bare IP (becomes `/32` or `/128`). Blank lines and
/// `#` comments (whole-line or trailing) are ignored; host bits are cleared
/// (`10.1.2.3/8` → `10.0.0.0/8`).
///
/// On error returns every bad line as `(index, message)`, where `index` is the
/// 0-based position in `text_lines` (for highlighting) and the message uses
/// the 1-based line number a human sees, e.g.
/// `line 3: "10.0.0.0/33" is not a valid IP or CIDR (prefix length must be ≤ 32)`.
pub fn parse_allowlist(text_lines: &[String]) -> Result<Vec<IpNet>, Vec<(usize, String)>> {
    let mut nets = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text_lines.iter().enumerate() {
        let entry = raw.split('#').next().unwrap_or("").trim();
        if entry.is_empty() {
            continue;
        }
        match parse_entry(entry) {
            Ok(net) => nets.push(net),
            Err(why) => {
                errors.push((i, format!("line {}: \"{}\" is not a valid IP or CIDR ({why})", i + 1, shorten(entry))))
            }
        }
    }
    if errors.is_empty() {
        Ok(nets)
    } else {
        Err(errors)
    }
}

/// Keep error messages bounded if someone pastes a novel into one line.
fn shorten(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

/// Parse one entry, explaining precisely what is wrong.
fn parse_entry(entry: &str) -> Result<IpNet, String> {
    let Some((addr, prefix)) = entry.split_once('/') else {
        return entry.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
            if entry.contains('%') {
                "zone identifiers like %eth0 are not supported".to_string()
            } else {
                "expected an address like 203.0.113.7 or 2001:db8::1".to_string()
            }
        });
    };
    let ip: IpAddr = addr.trim().parse().map_err(|_| format!("\"{}\" is not an IP address", shorten(addr.trim())))?;
    let max: u8 = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = prefix.trim();
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("prefix length must be a number from 0 to {max}"));
    }
    // Digits only, so a parse failure can only be overflow.
    let len = prefix.parse::<u32>().unwrap_or(u32::MAX);
    let len = u8::try_from(len).ok().filter(|l| *l <= max).ok_or_else(|| format!("prefix length must be ≤ {max}"))?;
    IpNet::new(ip, len).map(|n| n.trunc()).map_err(|_| format!("prefix length must be ≤ {max}"))
}

/// Is a request from `ip` allowed by `list`? An empty list allows everyone.
/// IPv4-mapped IPv6 clients (`::ffff:a.b.c.d`, common behind dual-stack
/// listeners) are also checked as their IPv4 address.
pub fn ip_allowed(list: &[IpNet], ip: IpAddr) -> bool {
    if list.is_empty() {
        return true;
    }
    let mapped = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
        IpAddr::V4(_) => None,
    };
    list.iter().any(|net| net.contains(&ip) || mapped.is_some_and(|m| net.contains(&m)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_cidrs_and_bare_ips() {
        let nets = parse_allowlist(&lines(&[
            "10.0.0.0/8",
            "  203.0.113.7  ",
            "",
            "# office",
            "2001:db8::/32",
            "2001:db8::1",
            "192.168.1.77/24 # trailing comment",
            "0.0.0.0/0",
        ]))
        .unwrap();
        let s: Vec<String> = nets.iter().map(|n| n.to_string()).collect();
        assert_eq!(
            s,
            vec!["10.0.0.0/8", "203.0.113.7/32", "2001:db8::/32", "2001:db8::1/128", "192.168.1.0/24", "0.0.0.0/0"]
        );
        assert_eq!(parse_allowlist(&[]).unwrap(), vec![]);
        assert_eq!(parse_allowlist(&lines(&["", "  ", "#x"])).unwrap(), vec![]);
    }

    #[test]
    fn reports_all_bad_lines() {
        let errs = parse_allowlist(&lines(&[
            "10.0.0.0/8",
            "nonsense",
            "10.0.0.0/33",
            "2001:db8::/129",
            "10.0.0.0/",
            "10.0.0.0/abc",
            "300.1.1.1",
            "fe80::1%eth0",
            "10.0.0.0/99999999999999999999",
            "1.2.3.4/8/9",
            "10.0.0.0/-1",
        ]))
        .unwrap_err();
        let idx: Vec<usize> = errs.iter().map(|(i, _)| *i).collect();
        assert_eq!(idx, vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(errs[1].1, "line 3: \"10.0.0.0/33\" is not a valid IP or CIDR (prefix length must be ≤ 32)");
        assert_eq!(errs[2].1, "line 4: \"2001:db8::/129\" is not a valid IP or CIDR (prefix length must be ≤ 128)");
        assert!(errs[0].1.starts_with("line 2: \"nonsense\""), "{}", errs[0].1);
        assert!(errs[3].1.contains("must be a number"), "{}", errs[3].1);
        assert!(errs[6].1.contains("zone"), "{}", errs[6].1);
        assert!(errs[7].1.contains("≤ 32"), "{}", errs[7].1);
    }

    #[test]
    fn long_garbage_is_shortened() {
        let errs = parse_allowlist(&[format!("x{}", "é".repeat(500))]).unwrap_err();
        assert!(errs[0].1.chars().count() < 200);
    }

    #[test]
    fn allowed_checks() {
        let list = parse_allowlist(&lines(&["10.0.0.0/8", "2001:db8::/32", "198.51.100.7"])).unwrap();
        assert!(ip_allowed(&list, ip("10.1.2.3")));
        assert!(!ip_allowed(&list, ip("11.0.0.1")));
        assert!(ip_allowed(&list, ip("198.51.100.7")));
        assert!(!ip_allowed(&list, ip("198.51.100.8")));
        assert!(ip_allowed(&list, ip("2001:db8:1::5")));
        assert!(!ip_allowed(&list, ip("2001:db9::1")));
        // IPv4-mapped client address checked as v4.
        assert!(ip_allowed(&list, ip("::ffff:10.9.8.7")));
        assert!(!ip_allowed(&list, ip("::ffff:11.9.8.7")));
        // IPv4-compatible (not mapped) is not treated as v4.
        assert!(!ip_allowed(&list, ip("::10.9.8.7")));
        // Empty list allows everyone.
        assert!(ip_allowed(&[], ip("1.2.3.4")));
        assert!(ip_allowed(&[], ip("::1")));
        // v6 entries never match plain v4 clients.
        let v6only = parse_allowlist(&lines(&["::/0"])).unwrap();
        assert!(!ip_allowed(&v6only, ip("1.2.3.4")));
        assert!(ip_allowed(&v6only, ip("::1")));
    }
}
