//! The standard topology: a LAN bridge, N gateways, M hosts using the VIP
//! as their only default gateway, and an upstream server behind the
//! gateways.
//!
//! ```text
//!  host j (192.0.2.100+j) ──┐
//!                           ├── br0 (in <p>-sw) ──┬── gw i lan0 192.0.2.10+i
//!  host ...              ───┘                     │     up0 198.51.100.(4i-3)/30
//!                                                 │        │
//!                                   srv: g<i> 198.51.100.(4i-2)/30, lo 203.0.113.10
//! ```
//! VIP 192.0.2.1. The server routes 192.0.2.0/24 over all gateways
//! (multipath, skipping links that are down).

use std::net::Ipv4Addr;

use crate::netns::{Netns, unique_prefix};

pub const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub const SERVER: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);

pub struct TopologySpec {
    pub gateways: usize,
    pub hosts: usize,
}

pub struct Topology {
    pub prefix: String,
    // Field order is drop order: gateways and hosts go before the switch.
    pub gateways: Vec<Netns>,
    pub hosts: Vec<Netns>,
    pub server: Netns,
    pub switch: Netns,
}

pub fn gateway_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, 10 + i as u8)
}

pub fn host_ip(j: usize) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, 100 + j as u8)
}

impl Topology {
    pub fn new(spec: TopologySpec) -> Topology {
        assert!(spec.gateways <= 60 && spec.hosts <= 100);
        let prefix = unique_prefix();
        let switch = Netns::new(&format!("{prefix}-sw"));
        switch.ok("ip link add br0 type bridge && ip link set br0 up");
        let server = Netns::new(&format!("{prefix}-srv"));
        server.ok(&format!("ip addr add {SERVER}/32 dev lo && sysctl -qw net.ipv4.conf.all.ignore_routes_with_linkdown=1"));
        let mut gateways = Vec::new();
        for i in 1..=spec.gateways {
            let g = Netns::new(&format!("{prefix}-g{i}"));
            switch.ok(&format!(
                "ip link add pg{i} type veth peer name lan0 netns {gw} && ip link set pg{i} master br0 up",
                gw = g.name
            ));
            server.ok(&format!("ip link add g{i} type veth peer name up0 netns {gw}", gw = g.name));
            let (up, srv) = (Ipv4Addr::new(198, 51, 100, (4 * i - 3) as u8), Ipv4Addr::new(198, 51, 100, (4 * i - 2) as u8));
            server.ok(&format!("ip addr add {srv}/30 dev g{i} && ip link set g{i} up"));
            g.ok(&format!(
                "sysctl -qw net.ipv4.ip_forward=1 && ip addr add {}/24 dev lan0 && ip link set lan0 up && \
                 ip addr add {up}/30 dev up0 && ip link set up0 up && ip route add 203.0.113.0/24 via {srv}",
                gateway_ip(i)
            ));
            gateways.push(g);
        }
        let hops: String = (1..=spec.gateways)
            .map(|i| format!(" nexthop via 198.51.100.{} dev g{i}", 4 * i - 3))
            .collect();
        if spec.gateways > 0 {
            server.ok(&format!("ip route add 192.0.2.0/24{hops}"));
        }
        let mut hosts = Vec::new();
        for j in 1..=spec.hosts {
            let h = Netns::new(&format!("{prefix}-h{j}"));
            switch.ok(&format!(
                "ip link add ph{j} type veth peer name lan0 netns {h} && ip link set ph{j} master br0 up",
                h = h.name
            ));
            h.ok(&format!("ip addr add {}/24 dev lan0 && ip link set lan0 up && ip route add default via {VIP}", host_ip(j)));
            hosts.push(h);
        }
        Topology { prefix, gateways, hosts, server, switch }
    }

    /// The MAC a host has cached for the VIP, if any.
    pub fn host_gateway_mac(&self, j: usize) -> Option<String> {
        let out = self.hosts[j - 1].sh(&format!("ip neigh show {VIP} dev lan0")).stdout;
        let out = String::from_utf8_lossy(&out);
        let mut it = out.split_whitespace();
        while let Some(w) = it.next() {
            if w == "lladdr" {
                return it.next().map(str::to_lowercase);
            }
        }
        None
    }
}
