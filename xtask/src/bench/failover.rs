//! Benchmark 2, failover: gw against keepalived in the same topology (two
//! routers, two hosts, an upstream server; gw_tests::Topology), each host
//! probing the server through the VIP 1000 times a second (UDP echo,
//! bench/prober.rs, at most 60 s). The active router (gw's AVG, keepalived's
//! master; g1, priority 150) then
//! - crashes: every process in it is SIGKILLed and its links go down, as
//!   in a power failure;
//! - loses only its daemon (SIGKILL), the router itself still up;
//! - stops its daemon cleanly (SIGTERM), the router still up.
//!
//! Reported per case: the longest gap a host saw and that host's lost
//! probes. With two routers and round-robin, one host uses each of gw's
//! vMACs, so one always used the router that failed.

use std::{
    net::SocketAddrV4,
    time::{Duration, Instant},
};

use anyhow::{Result, bail};
use gw_tests::{
    Topology, TopologySpec,
    group::{GroupConfig, wait_for},
    probe::Echo,
    topo::SERVER,
};
use serde_json::json;

use super::{
    Ctx,
    keepalived::{self, Keepalived},
    prober::{FastProbe, Seen},
    report::{Section, fmt_ms, fmt_ratio, table},
    wire::guarded,
};

const PRIOS: [u8; 2] = [150, 100];
const PROBE_EVERY: Duration = Duration::from_millis(1);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerSet {
    /// keepalived advert 1 s; gw hello 1 s, hold 3 s.
    Equivalent,
    /// Each at its fastest: keepalived advert 0.01 s (VRRPv3's minimum);
    /// gw hello 50 ms (its minimum), hold 150 ms (3 hellos, as VRRP).
    Fastest,
    /// Short but robust on a loaded machine, for the smoke run.
    Smoke,
}

impl TimerSet {
    fn name(self) -> &'static str {
        match self {
            TimerSet::Equivalent => "equivalent (1 s)",
            TimerSet::Fastest => "fastest supported",
            TimerSet::Smoke => "smoke (100 ms)",
        }
    }
    /// gw (hello, hold) in ms.
    fn gw(self) -> (u32, u32) {
        match self {
            TimerSet::Equivalent => (1000, 3000),
            TimerSet::Fastest => (50, 150),
            TimerSet::Smoke => (100, 400),
        }
    }
    /// keepalived advert_int in s.
    fn advert(self) -> f64 {
        match self {
            TimerSet::Equivalent => 1.0,
            TimerSet::Fastest => 0.01,
            TimerSet::Smoke => 0.1,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Impl {
    Gw,
    Keepalived,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    Crash,
    DaemonKill,
    Stop,
}

impl Event {
    fn name(self) -> &'static str {
        match self {
            Event::Crash => "router crash (SIGKILL + links down)",
            Event::DaemonKill => "daemon SIGKILL, router up",
            Event::Stop => "clean stop (SIGTERM), router up",
        }
    }
}

struct Outcome {
    set: TimerSet,
    imp: Impl,
    event: Event,
    /// Detection budget: gw's hold time, keepalived's Master_Down_Interval.
    budget: Duration,
    gap: Duration,
    lost: u64,
    sent: u64,
    recovered: bool,
}

enum Routers {
    Gw(Vec<gw_tests::Agent>),
    Ka(Vec<Keepalived>),
}

fn start(t: &Topology, imp: Impl, set: TimerSet) -> Result<Routers> {
    match imp {
        Impl::Gw => {
            let (hello, hold) = set.gw();
            let agents = guarded(|| {
                PRIOS
                    .iter()
                    .zip(&t.gateways)
                    .map(|(p, g)| {
                        let mut c = GroupConfig::fast(*p);
                        c.hello_ms = hello;
                        c.hold_ms = hold;
                        c.redirect_s = 600;
                        c.timeout_s = 14_400;
                        c.fwd_preempt_ms = 30_000;
                        c.start(g)
                    })
                    .collect::<Vec<_>>()
            })?;
            let limit = Duration::from_millis(u64::from(hold) * 8) + Duration::from_secs(10);
            guarded(|| wait_for(t, limit, "gw steady state", |s| s.steady(&[1, 2])))?;
            Ok(Routers::Gw(agents))
        }
        Impl::Keepalived => {
            let ka = PRIOS
                .iter()
                .zip(&t.gateways)
                .map(|(p, g)| Keepalived::start(g, *p, set.advert()))
                .collect::<Result<Vec<_>>>()?;
            let limit = Duration::from_secs_f64(set.advert() * 8.0) + Duration::from_secs(10);
            keepalived::wait_master(&t.gateways, 0, limit, &ka)?;
            Ok(Routers::Ka(ka))
        }
    }
}

/// Everything in namespace `ns`, SIGKILLed.
fn kill_all(ns: &str) {
    let o = std::process::Command::new("ip")
        .args(["netns", "pids", ns])
        .output();
    if let Ok(o) = o {
        for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
            if let Ok(pid) = pid.parse::<i32>() {
                // SAFETY: kill(2) on a process in a namespace we made.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

fn fail(t: &Topology, routers: &mut Routers, event: Event) -> Result<()> {
    match (event, routers) {
        (Event::Crash, _) => {
            kill_all(&t.gateways[0].name);
            guarded(|| t.set_gateway_links(1, false))?;
        }
        (Event::DaemonKill, _) => kill_all(&t.gateways[0].name),
        (Event::Stop, Routers::Gw(a)) => {
            if !a[0].stop(libc::SIGTERM) {
                bail!(
                    "gw agent did not exit cleanly:\n{}",
                    super::gw::tail(&a[0].log())
                );
            }
        }
        (Event::Stop, Routers::Ka(k)) => k[0].stop()?,
    }
    Ok(())
}

fn scenario(ctx: &Ctx, set: TimerSet, imp: Impl, event: Event) -> Result<Outcome> {
    let t = guarded(|| {
        Topology::new(TopologySpec {
            gateways: 2,
            hosts: 2,
        })
    })?;
    let mut routers = start(&t, imp, set)?;
    for h in &t.hosts {
        h.sh(&format!("ping -c 1 -W 1 {SERVER}"));
    }
    if imp == Impl::Gw {
        let macs: Vec<Option<String>> = (1..=2).map(|j| t.host_gateway_mac(j)).collect();
        if macs[0] == macs[1] {
            bail!("both hosts got the same vMAC {macs:?}: round-robin should spread them");
        }
    }
    let target = SocketAddrV4::new(SERVER, 7);
    let _echo = Echo::start(&t.server, target)?;
    // Bounded: at most 60 s (60 000 probes) per host.
    let probes = t
        .hosts
        .iter()
        .map(|h| FastProbe::start(&h.name, target, PROBE_EVERY, Duration::from_secs(60)))
        .collect::<std::io::Result<Vec<_>>>()?;
    std::thread::sleep(ctx.plan.failover_before);
    if probes.iter().any(|p| p.received() == 0) {
        bail!("a host reaches nothing before the failure");
    }
    let budget = match imp {
        Impl::Gw => Duration::from_millis(set.gw().1.into()),
        Impl::Keepalived => {
            Duration::from_secs_f64(keepalived::master_down(set.advert(), PRIOS[1]))
        }
    };
    let t0 = Instant::now();
    fail(&t, &mut routers, event)?;
    // Done once every host's replies flow again, and the detection budget
    // (plus 300 ms) has passed: a takeover may come late and cost a gap.
    let min_window = budget + Duration::from_millis(300);
    let limit = budget * 3 + Duration::from_secs(3);
    let mut recovered = false;
    while t0.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(20));
        let now = Instant::now();
        let flowing = probes.iter().all(|p| {
            p.last_reply()
                .is_some_and(|l| now.duration_since(l) < Duration::from_millis(30))
        });
        if flowing && t0.elapsed() > min_window {
            recovered = true;
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(200));
    let reports: Vec<Seen> = probes.into_iter().map(FastProbe::stop).collect();
    let worst = reports
        .iter()
        .max_by_key(|r| r.max_gap_since(t0))
        .expect("two hosts");
    let out = Outcome {
        set,
        imp,
        event,
        budget,
        gap: worst.max_gap_since(t0),
        lost: worst.lost(),
        sent: worst.sent,
        recovered,
    };
    ctx.log(&format!(
        "  {:?} {:?} {}: gap {} ({} lost){}",
        set,
        imp,
        event.name(),
        fmt_ms(out.gap),
        out.lost,
        if recovered { "" } else { ", NOT recovered" }
    ));
    drop(routers);
    Ok(out)
}

pub fn run(ctx: &Ctx) -> Result<Section> {
    let mut outs = Vec::new();
    for &set in &ctx.plan.failover_sets {
        for event in [Event::Crash, Event::DaemonKill, Event::Stop] {
            for imp in [Impl::Gw, Impl::Keepalived] {
                outs.push(scenario(ctx, set, imp, event)?);
            }
        }
    }
    Ok(render(&outs))
}

fn render(outs: &[Outcome]) -> Section {
    let find = |o: &Outcome, imp: Impl| {
        outs.iter()
            .find(|x| x.set == o.set && x.event == o.event && x.imp == imp)
    };
    let mut rows = Vec::new();
    let mut goals = Vec::new();
    for o in outs.iter().filter(|o| o.imp == Impl::Gw) {
        let Some(k) = find(o, Impl::Keepalived) else {
            continue;
        };
        let ratio = o.gap.as_secs_f64() / k.gap.as_secs_f64();
        rows.push(vec![
            o.set.name().into(),
            o.event.name().into(),
            format!("{} / {}", fmt_ms(o.budget), fmt_ms(k.budget)),
            format!(
                "{}{}",
                fmt_ms(o.gap),
                if o.recovered { "" } else { " (not recovered)" }
            ),
            format!("{} of {}", o.lost, o.sent),
            format!(
                "{}{}",
                fmt_ms(k.gap),
                if k.recovered { "" } else { " (not recovered)" }
            ),
            format!("{} of {}", k.lost, k.sent),
            fmt_ratio(ratio),
        ]);
        if o.event == Event::Crash && o.set == TimerSet::Equivalent {
            goals.push(format!(
                "gw's crash gap ≤ ½ keepalived's at equivalent timers: **{}** ({})",
                if ratio <= 0.5 { "met" } else { "not met" },
                fmt_ratio(ratio)
            ));
        }
        if o.event == Event::Stop && o.set != TimerSet::Smoke {
            goals.push(format!(
                "gw's clean-stop gap < 50 ms ({}): **{}** ({})",
                o.set.name(),
                if o.gap < Duration::from_millis(50) {
                    "met"
                } else {
                    "not met"
                },
                fmt_ms(o.gap)
            ));
        }
    }
    let mut md = String::from(
        "Two routers (g1 active, priority 150; g2 priority 100), two hosts each sending a UDP echo probe to \
         the upstream server every 1 ms through the VIP; then g1 fails. Gap: the longest time between two \
         replies a host saw from the failure on (the worse host); lost: that host's unanswered probes. \
         Budget: the detection time the timers allow (gw: hold; keepalived: Master_Down_Interval = \
         3 × advert + skew, RFC 5798).\n\n",
    );
    md += &table(
        &[
            "timers",
            "event",
            "budget gw / keepalived",
            "gw gap",
            "gw lost",
            "keepalived gap",
            "keepalived lost",
            "gw ÷ keepalived",
        ],
        &rows,
    );
    md += "\nTimers: equivalent = keepalived `advert_int 1`, gw hello 1 s / hold 3 s; fastest = keepalived \
           `advert_int 0.01` (VRRPv3's minimum), gw hello 50 ms (its minimum) / hold 150 ms (3 hellos, as \
           VRRP). With the daemon killed or stopped but the router up, keepalived's old master keeps the VIP \
           (SIGKILL) or keeps routing frames sent to its MAC until the hosts follow the gratuitous ARP \
           (SIGTERM), so hosts may see no gap; gw's data plane stops claiming the vMAC when the lease (one \
           hold time) runs out or at once on a clean stop, exactly when a peer takes it over.\n";
    if !goals.is_empty() {
        md += &format!("\nGoals: {}.\n", goals.join("; "));
    }
    let json = json!(
        outs.iter()
            .map(|o| json!({
                "timers": format!("{:?}", o.set).to_lowercase(),
                "implementation": format!("{:?}", o.imp).to_lowercase(),
                "event": format!("{:?}", o.event).to_lowercase(),
                "budget_ms": o.budget.as_secs_f64() * 1e3,
                "gap_ms": o.gap.as_secs_f64() * 1e3,
                "lost": o.lost,
                "sent": o.sent,
                "recovered": o.recovered,
            }))
            .collect::<Vec<_>>()
    );
    Section::new("failover", "2. Failover", md, json)
}
