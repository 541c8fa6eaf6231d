//! `gw-agent status`: what the data plane is doing, read from the pinned
//! maps (so it works whether or not an agent is running), joined with the
//! running agent's control-plane view from its socket when there is one.
//!
//! JSON schema (stable; `schema_version` in `agent` bumps on incompatible
//! change): an array with one object per interface, fields as in
//! `InterfaceStatus` below; README "status JSON" lists them.

pub mod clients;
mod render;

pub use render::{brief, detail};

use std::{
    net::{Ipv4Addr, Ipv6Addr},
    path::Path,
};

use anyhow::{Context, Result};
use gw_common::{Counter, GROUP_FLAG_AVG, MODE_HOST_HASH};
use serde::Serialize;

use crate::{
    control::AgentStatus,
    dataplane::{Maps, mode_name, monotonic_ns, pin},
    fmt_mac,
};

#[derive(Debug, Serialize)]
pub struct InterfaceStatus {
    pub interface: String,
    pub netns: String,
    pub xdp_mode: &'static str,
    pub mac: String,
    pub groups: Vec<GroupStatus>,
    /// Every `GW_STATS` counter by name, summed over CPUs.
    pub counters: Vec<(&'static str, u64)>,
    /// The running agent's view; `null` when no agent answers (the pinned
    /// data plane may still be answering until its lease runs out).
    pub agent: Option<AgentStatus>,
}

#[derive(Debug, Serialize)]
pub struct GroupStatus {
    pub group: u16,
    /// The virtual IPv4 address; `null` for an IPv6-only group.
    pub vip: Option<Ipv4Addr>,
    /// The virtual IPv6 addresses answered by Neighbor Discovery (the
    /// link-local one first); empty for an IPv4-only group.
    pub vip6: Vec<Ipv6Addr>,
    pub vlan: u16,
    pub index: u16,
    /// The data plane answers broadcast ARP for the VIP.
    pub avg: bool,
    /// "round-robin" or "host-hash": how the XDP program walks the table.
    pub slot_mode: &'static str,
    /// ms the lease has left; 0 = expired (the program answers nothing).
    pub lease_ms: u64,
    /// vMACs in the slot table, with how many slots each holds.
    pub slots: Vec<SlotStatus>,
    /// vMACs this router forwards for.
    pub forwarding: Vec<ForwardingStatus>,
    pub arp_requests: u64,
    pub arp_replies: u64,
    pub arp_drops: u64,
    pub vmac_frames: u64,
    pub vmac_bytes: u64,
    pub clients: u64,
}

#[derive(Debug, Serialize)]
pub struct SlotStatus {
    pub forwarder: u8,
    pub vmac: String,
    pub slots: u32,
    pub arp_replies: u64,
    /// Hosts the client cache says hold this vMAC.
    pub clients: u64,
}

#[derive(Debug, Serialize)]
pub struct ForwardingStatus {
    pub forwarder: u8,
    pub vmac: String,
    pub frames: u64,
    pub clients: u64,
}

/// Reads every interface pinned in this network namespace (or just `only`).
pub fn collect(only: Option<&str>) -> Result<Vec<InterfaceStatus>> {
    let ns = pin::netns_label();
    let base = Path::new(pin::BPFFS).join("gw").join(&ns);
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(&base) else {
        return Ok(out);
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        if only.is_some_and(|o| o != name) {
            continue;
        }
        let maps = Maps::from_pins(&base.join(&name))
            .with_context(|| format!("reading pins of {name}"))?;
        let mut st = read(&maps, &name, &ns);
        st.agent = crate::control::socket::query(&name);
        out.push(st);
    }
    Ok(out)
}

impl GroupStatus {
    /// The address to show for the group: its IPv4 VIP, else its first
    /// IPv6 one.
    pub fn address(&self) -> String {
        match (self.vip, self.vip6.first()) {
            (Some(v), _) => v.to_string(),
            (None, Some(a)) => a.to_string(),
            (None, None) => "-".into(),
        }
    }
}

pub fn read(maps: &Maps, interface: &str, netns: &str) -> InterfaceStatus {
    let cfg = maps.config.get(&0, 0).unwrap_or_default();
    let now = monotonic_ns();
    let vmacs: Vec<_> = maps.vmacs.iter().filter_map(Result::ok).collect();
    // (group index, forwarder) -> hosts holding that vMAC.
    // Batched: a big cache (100k hosts) reads in tens of ms, not seconds,
    // and is counted as it is read (the agent runs this per scrape).
    let per_fwd = crate::dataplane::clients::count_by_forwarder(&maps.clients);
    let clients_of = |idx: u16, fwd: u8| per_fwd.get(&(idx, fwd)).copied().unwrap_or(0);
    // Virtual IPv6 addresses by group index, link-local first.
    let mut vip6: std::collections::BTreeMap<u16, Vec<Ipv6Addr>> = Default::default();
    for (k, v) in maps.groups6.iter().filter_map(Result::ok) {
        vip6.entry(v.idx).or_default().push(Ipv6Addr::from(k.vip));
    }
    for a in vip6.values_mut() {
        a.sort_by_key(|a| (!a.is_unicast_link_local(), *a));
    }
    let mut groups: Vec<GroupStatus> = maps
        .groups
        .iter()
        .filter_map(Result::ok)
        .map(|(k, v)| {
            let table = maps.slots.get(&v.slot_row(), 0).unwrap_or_default();
            let mut slots: Vec<SlotStatus> = Vec::new();
            for s in table.slots.iter().take(table.len as usize) {
                match slots.iter_mut().find(|x| x.forwarder == s.fwd) {
                    Some(x) => x.slots += 1,
                    None => slots.push(SlotStatus {
                        forwarder: s.fwd,
                        vmac: fmt_mac(&s.mac),
                        slots: 1,
                        arp_replies: maps.fwd_stats(v.idx, s.fwd).arp_replies,
                        clients: clients_of(v.idx, s.fwd),
                    }),
                }
            }
            slots.sort_by_key(|s| s.forwarder);
            let mut forwarding: Vec<ForwardingStatus> = vmacs
                .iter()
                .filter(|(_, m)| m.idx == v.idx)
                .map(|(mk, m)| ForwardingStatus {
                    forwarder: m.fwd,
                    vmac: fmt_mac(&mk.mac),
                    frames: maps.fwd_stats(v.idx, m.fwd).frames,
                    clients: clients_of(v.idx, m.fwd),
                })
                .collect();
            forwarding.sort_by_key(|f| f.forwarder);
            let lease = maps.leases.get(&(v.idx as u32), 0).unwrap_or(0);
            let st = maps.group_stats(v.idx);
            GroupStatus {
                group: v.group,
                vip: (!k.is_v6_only()).then(|| Ipv4Addr::from(k.vip)),
                vip6: vip6.remove(&v.idx).unwrap_or_default(),
                vlan: k.vlan,
                index: v.idx,
                avg: v.flags & GROUP_FLAG_AVG != 0,
                slot_mode: if v.mode == MODE_HOST_HASH {
                    "host-hash"
                } else {
                    "round-robin"
                },
                lease_ms: lease.saturating_sub(now) / 1_000_000,
                slots,
                forwarding,
                arp_requests: st.arp_requests,
                arp_replies: st.arp_replies,
                arp_drops: st.arp_drops,
                vmac_frames: st.vmac_frames,
                vmac_bytes: st.vmac_bytes,
                clients: per_fwd
                    .iter()
                    .filter(|((i, _), _)| *i == v.idx)
                    .map(|(_, n)| n)
                    .sum(),
            }
        })
        .collect();
    groups.sort_by_key(|g| g.group);
    InterfaceStatus {
        interface: interface.into(),
        netns: netns.into(),
        xdp_mode: mode_name(cfg.xdp_mode),
        mac: fmt_mac(&cfg.mac),
        groups,
        counters: Counter::ALL
            .iter()
            .map(|c| (c.name(), maps.counter(*c)))
            .collect(),
        agent: None,
    }
}
