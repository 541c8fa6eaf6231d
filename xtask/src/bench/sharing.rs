//! Benchmark 3, load sharing: three routers, many hosts (64 in the full
//! run) each sending the same UDP stream (100 probes/s) to the upstream
//! server through the VIP; the share of that traffic each router carries
//! (its upstream interface's transmitted packets) under each gw method,
//! and with keepalived, where the master carries everything.
//!
//! Each method gets fresh agents (stopped cleanly in between) and hosts
//! with an empty neighbour cache, so every host asks the AVG once.

use std::{collections::BTreeMap, net::SocketAddrV4, time::Duration};

use anyhow::{Result, bail};
use gw_tests::{
    Agent, Netns, Topology, TopologySpec,
    agent::try_status,
    group::{GroupConfig, Sample, wait_for},
    probe::{Echo, Probe, ProbeLimits},
    topo::SERVER,
};
use serde_json::json;

use super::{
    Ctx,
    keepalived::{self, Keepalived},
    report::{Section, table},
    wire::guarded,
};

const PRIOS: [u8; 3] = [150, 120, 100];
/// Weighted: the routers' weighting.max, so the expected shares are
/// 50 %, 30 %, 20 %.
const WEIGHTS: [u8; 3] = [100, 60, 40];

struct Share {
    name: String,
    /// Packets each router sent upstream.
    packets: [u64; 3],
    /// Hosts whose gateway MAC belongs to each router.
    hosts: [usize; 3],
    /// Slots of the AVG's table per router (gw only).
    slots: Option<[u64; 3]>,
}

impl Share {
    fn pct(&self) -> [f64; 3] {
        let total = self.packets.iter().sum::<u64>().max(1) as f64;
        self.packets.map(|p| 100.0 * p as f64 / total)
    }
}

fn tx_packets(g: &Netns) -> u64 {
    String::from_utf8_lossy(&g.sh("cat /sys/class/net/up0/statistics/tx_packets").stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

fn lan_mac(g: &Netns) -> String {
    String::from_utf8_lossy(&g.sh("cat /sys/class/net/lan0/address").stdout)
        .trim()
        .to_lowercase()
}

/// Every host sends the same stream for the plan's time; returns the
/// packets each router forwarded upstream meanwhile, and each host's
/// gateway MAC.
fn traffic(ctx: &Ctx, t: &Topology) -> Result<([u64; 3], Vec<Option<String>>)> {
    for h in &t.hosts {
        h.sh("ip neigh flush dev lan0");
    }
    let before: Vec<u64> = t.gateways.iter().map(tx_packets).collect();
    let target = SocketAddrV4::new(SERVER, 7);
    let limits = ProbeLimits {
        interval: Duration::from_millis(10),
        max_duration: ctx.plan.sharing_traffic,
        max_count: 100_000,
    };
    let probes = t
        .hosts
        .iter()
        .map(|h| Probe::start_in(&h.name, target, limits))
        .collect::<std::io::Result<Vec<_>>>()?;
    std::thread::sleep(ctx.plan.sharing_traffic);
    let reports: Vec<_> = probes.into_iter().map(Probe::stop).collect();
    let after: Vec<u64> = t.gateways.iter().map(tx_packets).collect();
    let silent = reports.iter().filter(|r| r.received == 0).count();
    if silent > 0 {
        bail!("{silent} of {} hosts reached nothing", reports.len());
    }
    let macs = (1..=t.hosts.len()).map(|j| t.host_gateway_mac(j)).collect();
    Ok(([0, 1, 2].map(|i| after[i] - before[i]), macs))
}

fn count_hosts(macs: &[Option<String>], owner: impl Fn(&str) -> Option<usize>) -> [usize; 3] {
    let mut n = [0; 3];
    for m in macs.iter().flatten() {
        if let Some(i) = owner(m).filter(|i| (1..=3).contains(i)) {
            n[i - 1] += 1;
        }
    }
    n
}

/// Slots per router in the AVG's table, from its status.
fn slot_counts(t: &Topology, s: &Sample) -> Option<[u64; 3]> {
    let avg = s.avg()?;
    let st = try_status(&t.gateways[avg - 1]).ok()?;
    let g = st.as_array()?.iter().find(|i| i["interface"] == "lan0")?["groups"]
        .as_array()?
        .iter()
        .find(|g| g["group"] == 1)?
        .clone();
    let mut by_vmac = BTreeMap::new();
    for sl in g["slots"].as_array()? {
        by_vmac.insert(sl["vmac"].as_str()?.to_lowercase(), sl["slots"].as_u64()?);
    }
    let mut n = [0; 3];
    for (vmac, c) in by_vmac {
        if let Some(o) = s.owner(&vmac) {
            n[o - 1] += c;
        }
    }
    Some(n)
}

fn gw_method(ctx: &Ctx, t: &Topology, method: &'static str) -> Result<Share> {
    let (hello, hold) = ctx.plan.timers;
    let mut agents: Vec<Agent> = guarded(|| {
        t.gateways
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let mut c = GroupConfig::fast(PRIOS[i]);
                (c.hello_ms, c.hold_ms, c.method) = (hello, hold, method);
                if method == "weighted" {
                    c.extra_group = json!({ "weighting": { "max": WEIGHTS[i] } });
                }
                c.start(g)
            })
            .collect()
    })?;
    let handed = if method == "none" { 1 } else { 3 };
    guarded(|| {
        wait_for(t, Duration::from_secs(30), "three forwarders", |s| {
            let avg = s.avg().ok_or("no single AVG")?;
            for i in 1..=3 {
                let n = s.get(i).map_or(0, |g| g.forwarding.len());
                if n != 1 {
                    return Err(format!("g{i} forwards {n} vMACs"));
                }
            }
            let n = s.handed_out().len();
            if n != handed {
                return Err(format!("g{avg} hands out {n} vMACs, want {handed}"));
            }
            Ok(())
        })
    })?;
    let s = Sample::take(t);
    let slots = slot_counts(t, &s);
    let (packets, macs) = traffic(ctx, t)?;
    let now = Sample::take(t);
    let hosts = count_hosts(&macs, |m| now.owner(m));
    for a in &mut agents {
        a.stop(libc::SIGTERM);
    }
    let name = match method {
        "weighted" => format!(
            "gw weighted (weights {}/{}/{})",
            WEIGHTS[0], WEIGHTS[1], WEIGHTS[2]
        ),
        m => format!("gw {m}"),
    };
    Ok(Share {
        name,
        packets,
        hosts,
        slots,
    })
}

fn keepalived_share(ctx: &Ctx, t: &Topology) -> Result<Share> {
    let ka = PRIOS
        .iter()
        .zip(&t.gateways)
        .map(|(p, g)| Keepalived::start(g, *p, 0.1))
        .collect::<Result<Vec<_>>>()?;
    keepalived::wait_master(&t.gateways, 0, Duration::from_secs(15), &ka)?;
    let (packets, macs) = traffic(ctx, t)?;
    let lan: Vec<String> = t.gateways.iter().map(lan_mac).collect();
    let hosts = count_hosts(&macs, |m| lan.iter().position(|l| l == m).map(|i| i + 1));
    drop(ka);
    Ok(Share {
        name: "keepalived (VRRP master)".into(),
        packets,
        hosts,
        slots: None,
    })
}

pub fn run(ctx: &Ctx) -> Result<Section> {
    let t = guarded(|| {
        Topology::new(TopologySpec {
            gateways: 3,
            hosts: ctx.plan.sharing_hosts,
        })
    })?;
    // Only the probes should leave through up0: no IPv6 chatter (router
    // solicitations, MLD reports) in the counts.
    for g in &t.gateways {
        g.ok("sysctl -qw net.ipv6.conf.all.disable_ipv6=1");
    }
    let target = SocketAddrV4::new(SERVER, 7);
    let _echo = Echo::start(&t.server, target)?;
    let mut shares = Vec::new();
    for m in ["round-robin", "weighted", "host-dependent", "none"] {
        let s = gw_method(ctx, &t, m)?;
        ctx.log(&format!("  {}: {:.1?} %", s.name, s.pct()));
        shares.push(s);
    }
    let s = keepalived_share(ctx, &t)?;
    ctx.log(&format!("  {}: {:.1?} %", s.name, s.pct()));
    shares.push(s);
    Ok(render(ctx, &shares))
}

fn render(ctx: &Ctx, shares: &[Share]) -> Section {
    let rows: Vec<Vec<String>> = shares
        .iter()
        .map(|s| {
            let p = s.pct();
            let max = p.iter().cloned().fold(0.0, f64::max);
            let min = p.iter().cloned().fold(100.0, f64::min);
            vec![
                s.name.clone(),
                format!("{:.1} %", p[0]),
                format!("{:.1} %", p[1]),
                format!("{:.1} %", p[2]),
                format!("{} / {} / {}", s.hosts[0], s.hosts[1], s.hosts[2]),
                s.slots
                    .map_or("–".into(), |n| format!("{} / {} / {}", n[0], n[1], n[2])),
                format!("{:.1} pp", max - min),
            ]
        })
        .collect();
    let mut md = format!(
        "Three routers (g1 AVG or master), {} hosts, each sending 100 UDP probes/s to the upstream server \
         through the VIP for {:.1} s after asking for the gateway once; share = packets each router \
         forwarded upstream.\n\n",
        ctx.plan.sharing_hosts,
        ctx.plan.sharing_traffic.as_secs_f64()
    );
    md += &table(
        &[
            "method",
            "g1",
            "g2",
            "g3",
            "hosts per router",
            "AVG slot table",
            "max − min",
        ],
        &rows,
    );
    md += "\n`none` hands out only the AVG's own vMAC (GLBP without load balancing, like HSRP/VRRP); \
           host-dependent hashes each host's MAC into a 256-slot table, so its spread over a few hosts \
           follows the MACs.\n";
    let json = json!(
        shares
            .iter()
            .map(|s| json!({
                "method": s.name,
                "packets": s.packets,
                "share_pct": s.pct(),
                "hosts": s.hosts,
                "slots": s.slots,
            }))
            .collect::<Vec<_>>()
    );
    Section::new("sharing", "3. Load sharing", md, json)
}
