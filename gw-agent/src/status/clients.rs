//! `gw-agent status --clients`: the hosts in the client cache (GW_CLIENTS),
//! which forwarder each was given and how long ago it was last seen. A
//! separate report from the status: a cache can hold a million hosts.

use std::{collections::BTreeMap, fmt::Write, net::Ipv4Addr, path::Path};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::{
    dataplane::{Maps, clients, monotonic_ns, pin},
    fmt_mac,
};

#[derive(Debug, Serialize)]
pub struct ClientStatus {
    pub interface: String,
    pub group: u16,
    pub mac: String,
    pub ip: Ipv4Addr,
    pub forwarder: u8,
    /// ms since the host's last ARP answer or frame through an owned vMAC.
    pub age_ms: u64,
}

/// Every pinned interface of this network namespace (or just `only`).
pub fn collect(only: Option<&str>) -> Result<Vec<ClientStatus>> {
    let base = Path::new(pin::BPFFS).join("gw").join(pin::netns_label());
    let mut names: Vec<String> = match std::fs::read_dir(&base) {
        Ok(d) => d
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => return Ok(Vec::new()),
    };
    names.sort();
    let mut out = Vec::new();
    for name in names.into_iter().filter(|n| only.is_none_or(|o| o == n)) {
        let maps = Maps::from_pins(&base.join(&name))
            .with_context(|| format!("reading pins of {name}"))?;
        out.extend(list(&maps, &name));
    }
    Ok(out)
}

/// The clients of one interface, by group, forwarder, then IP.
pub fn list(maps: &Maps, interface: &str) -> Vec<ClientStatus> {
    // Cache entries name the group by its map index.
    let numbers: BTreeMap<u16, u16> = maps
        .groups
        .iter()
        .filter_map(Result::ok)
        .map(|(_, v)| (v.idx, v.group))
        .collect();
    let now = monotonic_ns();
    let mut out: Vec<ClientStatus> = clients::dump(&maps.clients)
        .into_iter()
        .filter_map(|(k, v)| {
            Some(ClientStatus {
                interface: interface.into(),
                group: *numbers.get(&k.idx)?,
                mac: fmt_mac(&k.mac),
                ip: Ipv4Addr::from(v.ip),
                forwarder: v.fwd,
                age_ms: now.saturating_sub(v.last_seen_ns) / 1_000_000,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (&a.interface, a.group, a.forwarder, a.ip, &a.mac).cmp(&(
            &b.interface,
            b.group,
            b.forwarder,
            b.ip,
            &b.mac,
        ))
    });
    out
}

/// One line per host.
pub fn render(list: &[ClientStatus]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<10} {:>5} {:<17} {:<15} {:>3} {:>10}",
        "interface", "group", "mac", "ip", "fwd", "age"
    );
    for c in list {
        let _ = writeln!(
            s,
            "{:<10} {:>5} {:<17} {:<15} {:>3} {:>9.1}s",
            c.interface,
            c.group,
            c.mac,
            c.ip,
            c.forwarder,
            c.age_ms as f64 / 1000.0
        );
    }
    let _ = writeln!(s, "{} clients", list.len());
    s
}
