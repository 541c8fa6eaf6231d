//! Text forms of `gw-agent status`, shaped like Cisco's `show glbp brief`
//! and `show glbp`.

use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{GroupStatus, InterfaceStatus};
use crate::control::{AgentStatus, GroupControl};

fn ms(v: Option<u64>) -> String {
    match v {
        Some(v) if v >= 10_000 => format!("{:.0} s", v as f64 / 1000.0),
        Some(v) => format!("{:.3} s", v as f64 / 1000.0),
        None => "-".into(),
    }
}

fn router(ip: Option<IpAddr>, me: IpAddr) -> String {
    match ip {
        Some(ip) if ip == me => "local".into(),
        Some(ip) => ip.to_string(),
        None => "unknown".into(),
    }
}

fn control(a: &Option<AgentStatus>, group: u16) -> Option<&GroupControl> {
    a.as_ref()?.groups.iter().find(|g| g.group == group)
}

fn header(s: &mut String, i: &InterfaceStatus) {
    let agent = match &i.agent {
        Some(a) => format!("agent pid {} up {} s", a.pid, a.uptime_s),
        None => "agent DOWN (maps only)".into(),
    };
    let _ = writeln!(
        s,
        "{} ({}) netns {}, XDP {} mode, {agent}",
        i.interface, i.mac, i.netns, i.xdp_mode
    );
}

/// `show glbp brief`: one line per group and per forwarder.
pub fn brief(all: &[InterfaceStatus]) -> String {
    let mut s = String::new();
    if all.is_empty() {
        s.push_str("no gw data plane in this network namespace\n");
    }
    for i in all {
        header(&mut s, i);
        let _ = writeln!(
            s,
            "{:<10} {:>4} {:>3} {:>3} {:<8} {:<17} {:<15} {:<15}",
            "Interface", "Grp", "Fwd", "Pri", "State", "Address", "Active router", "Standby router"
        );
        for g in &i.groups {
            let c = control(&i.agent, g.group);
            let me = own_address(i, g);
            let (pri, state, active, standby) = match c {
                Some(c) => (
                    c.priority.to_string(),
                    c.state.clone(),
                    router(c.active_router, me),
                    router(c.standby_router, me),
                ),
                None => ("-".into(), dp_role(g).into(), "-".into(), "-".into()),
            };
            let _ = writeln!(
                s,
                "{:<10} {:>4} {:>3} {:>3} {:<8} {:<17} {:<15} {:<15}",
                i.interface,
                g.group,
                "-",
                pri,
                state,
                g.address(),
                active,
                standby
            );
            for f in forwarder_rows(g, c, me) {
                let _ = writeln!(
                    s,
                    "{:<10} {:>4} {:>3} {:>3} {:<8} {:<17} {:<15} {:<15}",
                    i.interface, g.group, f.0, "-", f.1, f.2, f.3, "-"
                );
            }
        }
    }
    s
}

fn dp_role(g: &GroupStatus) -> &'static str {
    if g.lease_ms == 0 {
        "expired"
    } else if g.avg {
        "AVG(dp)"
    } else {
        "-(dp)"
    }
}

/// (number, state, vMAC, active router) for every forwarder known.
fn forwarder_rows(
    g: &GroupStatus,
    c: Option<&GroupControl>,
    me: IpAddr,
) -> Vec<(u8, String, String, String)> {
    match c {
        Some(c) => c
            .forwarders
            .iter()
            .map(|f| {
                (
                    f.number,
                    f.state.clone(),
                    f.vmac.clone(),
                    router(f.active_router, me),
                )
            })
            .collect(),
        None => g
            .forwarding
            .iter()
            .map(|f| {
                (
                    f.forwarder,
                    "Active".to_string(),
                    f.vmac.clone(),
                    "local".to_string(),
                )
            })
            .collect(),
    }
}

/// `show glbp`: timers, preemption, members, every forwarder, counters.
pub fn detail(all: &[InterfaceStatus]) -> String {
    let mut s = String::new();
    if all.is_empty() {
        s.push_str("no gw data plane in this network namespace\n");
    }
    for i in all {
        header(&mut s, i);
        for g in &i.groups {
            let _ = writeln!(s, "{} - Group {}", i.interface, g.group);
            for a in &g.vip6 {
                let _ = writeln!(s, "  Virtual IPv6 address is {a}");
            }
            if let Some(c) = control(&i.agent, g.group) {
                group_detail(&mut s, c, own_address(i, g));
            } else {
                let _ = writeln!(s, "  Agent not running: control plane unknown");
            }
            let _ = writeln!(
                s,
                "  Data plane: {}, lease {} ms, slot choice {}{}",
                if g.avg && g.lease_ms > 0 {
                    "answers ARP as AVG"
                } else {
                    "does not answer broadcast ARP"
                },
                g.lease_ms,
                g.slot_mode,
                if g.vlan != 0 {
                    format!(", VLAN {}", g.vlan)
                } else {
                    String::new()
                }
            );
            let _ = writeln!(
                s,
                "    ARP requests {}, replies {}, drops {}; vMAC frames {} ({} bytes); clients {}",
                g.arp_requests, g.arp_replies, g.arp_drops, g.vmac_frames, g.vmac_bytes, g.clients
            );
            for sl in &g.slots {
                let _ = writeln!(
                    s,
                    "    hands out fwd {} {}: {} of {} slots, {} replies, {} clients",
                    sl.forwarder,
                    sl.vmac,
                    sl.slots,
                    g.slots.iter().map(|x| x.slots).sum::<u32>(),
                    sl.arp_replies,
                    sl.clients
                );
            }
            for f in &g.forwarding {
                let _ = writeln!(
                    s,
                    "    forwards  fwd {} {}: {} frames, {} clients",
                    f.forwarder, f.vmac, f.frames, f.clients
                );
            }
        }
        let nonzero: Vec<String> = i
            .counters
            .iter()
            .filter(|(_, v)| *v > 0)
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = writeln!(
            s,
            "  XDP verdicts: {}",
            if nonzero.is_empty() {
                "none".into()
            } else {
                nonzero.join(" ")
            }
        );
        if let Some(a) = &i.agent {
            let r = &a.rx;
            let mut drops = vec![
                format!("bad_ttl={}", r.bad_ttl),
                format!("own={}", r.own),
                format!("unknown_group={}", r.unknown_group),
                format!("conflicts={}", r.conflicts),
            ];
            drops.extend(
                r.malformed
                    .iter()
                    .chain(&r.auth)
                    .map(|(k, v)| format!("{k}={v}")),
            );
            let _ = writeln!(
                s,
                "  GLBP received: {} accepted; dropped {}",
                r.accepted,
                drops.join(" ")
            );
        }
    }
    s
}

/// This router's address in the family group `g` elects on (shown as
/// "local" among the routers).
fn own_address(i: &InterfaceStatus, g: &GroupStatus) -> IpAddr {
    let a = i.agent.as_ref();
    match g.vip {
        Some(_) => IpAddr::from(a.and_then(|a| a.ip).unwrap_or(Ipv4Addr::UNSPECIFIED)),
        None => IpAddr::from(a.and_then(|a| a.ip6).unwrap_or(Ipv6Addr::UNSPECIFIED)),
    }
}

fn group_detail(s: &mut String, c: &GroupControl, me: IpAddr) {
    let _ = writeln!(s, "  State is {} ({})", c.state, c.last_event);
    let _ = writeln!(s, "  Virtual IP address is {}", c.vip);
    let _ = writeln!(
        s,
        "  Hello time {} msec, hold time {} msec{}",
        c.hello_ms,
        c.hold_ms,
        if c.timers_learned { " (learned)" } else { "" }
    );
    let _ = writeln!(s, "    Next hello sent in {}", ms(c.next_hello_in_ms));
    let _ = writeln!(
        s,
        "  Redirect time {} sec, forwarder time-out {} sec",
        c.redirect_s, c.timeout_s
    );
    match (c.preempt.enabled, c.preempt.delay_ms) {
        (true, d) => {
            let _ = writeln!(
                s,
                "  Preemption enabled, min delay {} msec{}",
                d.unwrap_or(0),
                match c.preempt.remaining_ms {
                    Some(r) => format!(" ({} left)", ms(Some(r))),
                    None => String::new(),
                }
            );
        }
        _ => {
            let _ = writeln!(s, "  Preemption disabled");
        }
    }
    let _ = writeln!(s, "  Active is {}", router(c.active_router, me));
    let _ = writeln!(s, "  Standby is {}", router(c.standby_router, me));
    let _ = writeln!(s, "  Priority {}", c.priority);
    let _ = writeln!(
        s,
        "  Weighting {} (maximum {}), thresholds: lower {}, upper {}{}",
        c.weight,
        c.weighting.max,
        c.weighting.lower,
        c.weighting.upper,
        if c.forwarding_allowed {
            ""
        } else {
            " - below lower: not forwarding"
        }
    );
    for t in &c.tracking {
        let _ = writeln!(
            s,
            "    Tracking {} (decrement {}): {}",
            t.object,
            t.decrement,
            if t.up { "up" } else { "DOWN" }
        );
    }
    let _ = writeln!(s, "  Load balancing: {}", c.load_balancing);
    let _ = writeln!(s, "  Group members:");
    let _ = writeln!(s, "    {} (local)", me);
    for p in &c.peers {
        let _ = writeln!(
            s,
            "    {} ({}) {}, priority {}, weight {}, expires in {}",
            p.ip,
            p.mac,
            p.state,
            p.priority,
            p.weight.map_or("-".into(), |w| w.to_string()),
            ms(Some(p.expires_in_ms))
        );
    }
    let active = c.forwarders.iter().filter(|f| f.state == "Active").count();
    let _ = writeln!(
        s,
        "  There are {} forwarders ({} active here)",
        c.forwarders.len(),
        active
    );
    for f in &c.forwarders {
        let _ = writeln!(s, "  Forwarder {}", f.number);
        let _ = writeln!(s, "    State is {}", f.state);
        let _ = writeln!(s, "    MAC address is {}", f.vmac);
        let _ = writeln!(
            s,
            "    Owner ID is {}{}",
            f.owner_mac.as_deref().unwrap_or("unknown"),
            if f.primary { " (local, primary)" } else { "" }
        );
        let _ = writeln!(
            s,
            "    Active is {}, weighting {}",
            router(f.active_router, me),
            f.weight.map_or("-".into(), |w| w.to_string())
        );
        if f.redirected || f.redirect_remaining_ms.is_some() || f.timeout_remaining_ms.is_some() {
            let _ = writeln!(
                s,
                "    Redirection {} (redirect in {}), time-out in {}",
                if f.redirected { "done" } else { "pending" },
                ms(f.redirect_remaining_ms),
                ms(f.timeout_remaining_ms)
            );
        }
        if let Some(p) = f.preempt_remaining_ms {
            let _ = writeln!(s, "    Preempting in {}", ms(Some(p)));
        }
    }
}
