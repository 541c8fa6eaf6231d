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

use std::process::Command;

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
        Topology::with_prefix(&unique_prefix(), spec)
    }

    /// Like `new`, with a fixed name prefix (the lab uses "gwlab": its
    /// namespaces are `gwlab-sw`, `gwlab-srv`, `gwlab-g1`, `gwlab-h1`, ...).
    /// The caller makes sure no other topology uses the prefix (see
    /// `cleanup_prefix`).
    pub fn with_prefix(prefix: &str, spec: TopologySpec) -> Topology {
        assert!(spec.gateways <= 60 && spec.hosts <= 100);
        let prefix = prefix.to_string();
        let switch = Netns::new(&format!("{prefix}-sw"));
        // A switch, not a firewall: bridged frames skip iptables (the fault
        // tests filter with nftables' bridge family, which needs no
        // br_netfilter), as on the LAN switch of real routers.
        switch.ok(
            "ip link add br0 type bridge && ip link set br0 up && \
             (sysctl -qw net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0 \
              net.bridge.bridge-nf-call-arptables=0 2>/dev/null || true)",
        );
        let server = Netns::new(&format!("{prefix}-srv"));
        server.ok(&format!("ip addr add {SERVER}/32 dev lo && sysctl -qw net.ipv4.conf.all.ignore_routes_with_linkdown=1"));
        let mut gateways = Vec::new();
        for i in 1..=spec.gateways {
            let g = Netns::new(&format!("{prefix}-g{i}"));
            switch.ok(&format!(
                "ip link add pg{i} type veth peer name lan0 netns {gw} && ip link set pg{i} master br0 up",
                gw = g.name
            ));
            server.ok(&format!(
                "ip link add g{i} type veth peer name up0 netns {gw}",
                gw = g.name
            ));
            let (up, srv) = (
                Ipv4Addr::new(198, 51, 100, (4 * i - 3) as u8),
                Ipv4Addr::new(198, 51, 100, (4 * i - 2) as u8),
            );
            server.ok(&format!(
                "ip addr add {srv}/30 dev g{i} && ip link set g{i} up"
            ));
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
        Topology {
            prefix,
            gateways,
            hosts,
            server,
            switch,
        }
    }

    /// Takes gateway `i` (1-based) off the network, as if powered off: its
    /// upstream and LAN links go down (the server then skips its route), or
    /// brings them back up with the upstream route. The agent is the
    /// caller's business.
    pub fn set_gateway_links(&self, i: usize, up: bool) {
        let g = &self.gateways[i - 1];
        if up {
            let srv = Ipv4Addr::new(198, 51, 100, (4 * i - 2) as u8);
            g.ok(&format!("ip link set lan0 up && ip link set up0 up && ip route replace 203.0.113.0/24 via {srv}"));
        } else {
            // Upstream first: the server's carrier loss is then handled at
            // once (the kernel's linkwatch may hold back a second carrier
            // event of a burst for up to a second), so the server never
            // keeps sending replies to a gateway that cannot deliver them.
            g.ok("ip link set up0 down && ip link set lan0 down");
        }
    }

    /// The MAC a host has cached for the VIP, if any.
    pub fn host_gateway_mac(&self, j: usize) -> Option<String> {
        let out = self.hosts[j - 1]
            .sh(&format!("ip neigh show {VIP} dev lan0"))
            .stdout;
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

fn has_prefix(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .is_some_and(|rest| rest.starts_with('-'))
}

/// Removes what a topology with this prefix left behind (a killed run):
/// every process inside, then every namespace named `<prefix>-*`, and the
/// pins under /sys/fs/bpf/gw/<prefix>-*. Returns the namespaces removed.
/// Links live only inside those namespaces, so they go with them.
pub fn cleanup_prefix(prefix: &str) -> Vec<String> {
    assert!(
        !prefix.is_empty() && !prefix.contains('/'),
        "bad prefix {prefix:?}"
    );
    let mut removed = Vec::new();
    let names: Vec<String> = std::fs::read_dir("/run/netns")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    for name in names.into_iter().filter(|n| has_prefix(n, prefix)) {
        if let Ok(o) = Command::new("ip").args(["netns", "pids", &name]).output() {
            for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                if let Ok(pid) = pid.parse::<i32>() {
                    // SAFETY: kill(2) on a process inside our own namespace.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
        }
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        removed.push(name);
    }
    if let Ok(d) = std::fs::read_dir("/sys/fs/bpf/gw") {
        for e in d.flatten() {
            if has_prefix(&e.file_name().to_string_lossy(), prefix) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    removed
}

/// What is left of a topology with this prefix: namespaces and pin
/// directories (empty when it is fully gone).
pub fn leftovers(prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for dir in ["/run/netns", "/sys/fs/bpf/gw"] {
        if let Ok(d) = std::fs::read_dir(dir) {
            for e in d.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if has_prefix(&n, prefix) {
                    out.push(format!("{dir}/{n}"));
                }
            }
        }
    }
    out
}
