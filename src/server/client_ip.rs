//! The client's IP: the socket peer, or the last untrusted hop of `X-Forwarded-For` when the peer is one of
//! the configured trusted proxies (so a client cannot spoof its address by sending the header itself).

use ipnet::IpNet;
use std::net::IpAddr;

pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let Some(xff) = forwarded_for else { return peer };
    // Walk from the nearest hop back; the first address not belonging to our proxies is the client.
    let mut hops = xff.split(',').rev().map(str::trim).filter_map(|h| h.parse::<IpAddr>().ok());
    let mut last = peer;
    for hop in hops.by_ref() {
        if !is_trusted(&hop) {
            return hop;
        }
        last = hop;
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let proxy: IpNet = "10.0.0.0/8".parse().unwrap();
        let peer_proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let outsider: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(client_ip(outsider, Some("1.2.3.4"), &[proxy]), outsider, "untrusted peer: header ignored");
        assert_eq!(client_ip(peer_proxy, Some("1.2.3.4, 10.0.0.7"), &[proxy]), "1.2.3.4".parse::<IpAddr>().unwrap());
        assert_eq!(client_ip(peer_proxy, None, &[proxy]), peer_proxy);
        assert_eq!(client_ip(peer_proxy, Some("garbage"), &[proxy]), peer_proxy);
    }
}
