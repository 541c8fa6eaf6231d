//! IPv6 on top of the standard topology (topo.rs), documentation prefix
//! 2001:db8::/32 only:
//!
//! ```text
//!  host j  2001:db8:1::1:j/64, default via VIP6 (fe80::7:b4ff:fe00:100)
//!  gw i    lan0 2001:db8:1::1i/64  up0 2001:db8:f:i::1/64, forwarding on
//!  srv     g<i> 2001:db8:f:i::2/64, lo SERVER6 2001:db8:ff::10,
//!          route to 2001:db8:1::/64 over every gateway (multipath)
//! ```
//!
//! Addresses are added without DAD; the kernels' own link-local addresses
//! still go through it, so `add_ipv6` waits until none is tentative.

use std::{net::Ipv6Addr, time::Duration};

use crate::{netns::Netns, topo::Topology};

/// The virtual link-local address of group 1 (Cisco's derivation).
pub const VIP6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0x7, 0xb4ff, 0xfe00, 0x100);
/// A global virtual address the tests configure for group 1.
pub const VIP6_GLOBAL: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
pub const SERVER6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xff, 0, 0, 0, 0, 0x10);

pub fn host_ip6(j: usize) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 1, j as u16)
}

pub fn gateway_ip6(i: usize) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x10 + i as u16)
}

/// Adds the IPv6 plan above to `t`; hosts route by default via `gateway`
/// (VIP6 or VIP6_GLOBAL). Returns once no address is tentative.
pub fn add_ipv6(t: &Topology, gateway: Ipv6Addr) {
    let srv = &t.server;
    srv.ok(&format!(
        "sysctl -qw net.ipv6.conf.all.ignore_routes_with_linkdown=1 && ip -6 addr add {SERVER6}/128 dev lo"
    ));
    let mut hops = String::new();
    for (n, g) in t.gateways.iter().enumerate() {
        let i = n + 1;
        let (up, down) = (
            Ipv6Addr::new(0x2001, 0xdb8, 0xf, i as u16, 0, 0, 0, 1),
            Ipv6Addr::new(0x2001, 0xdb8, 0xf, i as u16, 0, 0, 0, 2),
        );
        srv.ok(&format!("ip -6 addr add {down}/64 dev g{i} nodad"));
        g.ok(&format!(
            "sysctl -qw net.ipv6.conf.all.forwarding=1 && \
             ip -6 addr add {}/64 dev lan0 nodad && ip -6 addr add {up}/64 dev up0 nodad && \
             ip -6 route add 2001:db8:ff::/64 via {down} dev up0",
            gateway_ip6(i)
        ));
        hops.push_str(&format!(" nexthop via {up} dev g{i}"));
    }
    if !hops.is_empty() {
        srv.ok(&format!("ip -6 route add 2001:db8:1::/64{hops}"));
    }
    for (n, h) in t.hosts.iter().enumerate() {
        h.ok(&format!(
            "ip -6 addr add {}/64 dev lan0 nodad && ip -6 route add default via {gateway} dev lan0",
            host_ip6(n + 1)
        ));
    }
    let all: Vec<&Netns> = t
        .gateways
        .iter()
        .chain(&t.hosts)
        .chain([&t.server])
        .collect();
    let settled = crate::wait::until(Duration::from_secs(10), || {
        all.iter()
            .all(|ns| ns.ok("ip -6 addr show tentative").trim().is_empty())
            .then_some(())
    });
    assert!(
        settled.is_some(),
        "IPv6 addresses still tentative after 10 s"
    );
}

/// The MAC host `j` (1-based) has cached for `gateway`, if any, with the
/// entry's state (REACHABLE, STALE, ...).
pub fn host_gateway_mac6(t: &Topology, j: usize, gateway: Ipv6Addr) -> Option<(String, String)> {
    let out = t.hosts[j - 1].ok(&format!("ip -6 neigh show {gateway} dev lan0"));
    let words: Vec<&str> = out.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "lladdr")?;
    let mac = words.get(at + 1)?.to_lowercase();
    let state = words.last().map(|s| s.to_string()).unwrap_or_default();
    Some((mac, state))
}

/// One ping from host `j` to the server over IPv6; true if answered.
pub fn ping6(t: &Topology, j: usize) -> bool {
    t.hosts[j - 1]
        .sh(&format!("ping -6 -c 1 -W 2 {SERVER6}"))
        .status
        .success()
}
