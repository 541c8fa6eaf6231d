//! Benchmark 4, scale and cost:
//! - agent RSS and CPU with 1, 64 and 1024 groups (two routers, so each
//!   agent also hears its peer's hellos), and how long until one router is
//!   AVG of every group;
//! - ARP answer cost with 1k and 100k clients in the cache (cache.rs);
//! - convergence of a group of 8 routers, in the simulator (virtual time,
//!   the sim_convergence example) and with real agents (convergence.rs).

use std::{
    net::Ipv4Addr,
    time::{Duration, Instant},
};

use anyhow::{Result, bail};
use gw_tests::{Agent, Netns, Topology, TopologySpec};
use serde_json::{Value, json};

use super::{
    Ctx, cache, convergence, gw,
    report::{Section, fmt_ms, table},
    wire::guarded,
    xdp_cost,
};

/// Timers of the group-count runs: the defaults (issue 8's goal is idle
/// CPU at default timers).
const SCALE_TIMERS: (u32, u32) = (3000, 10000);

/// Loopback port of the agent's metrics endpoint in the largest run.
const METRICS_PORT: u16 = 9719;

struct Cost {
    groups: usize,
    /// Until g1 was AVG of every group; None: it was not, within the limit.
    to_avg: Option<Duration>,
    /// Groups g1 was AVG of when sampled.
    avg_groups: usize,
    /// GLBP datagrams both routers' kernels dropped for a full receive
    /// buffer (UDP RcvbufErrors) over the run.
    rcvbuf_drops: u64,
    rss_kib: u64,
    hwm_kib: u64,
    cpu_avg_pct: f64,
    cpu_standby_pct: f64,
    /// Of `cpu_avg_pct`, the part spent in the kernel (system time).
    sys_avg_pct: f64,
    /// Largest run only: RSS (and peak) after the client cache was filled
    /// with `clients` hosts and metrics were scraped (which reads it all).
    with_clients: Option<(u32, u64, u64)>,
}

/// Group `g` of `n`: a VIP in 192.0.2.20..=99 and a VLAN, so (VIP, VLAN)
/// pairs stay unique up to 1024 groups.
fn group_json(g: usize, priority: u8, timers: (u32, u32)) -> Value {
    let vip = Ipv4Addr::new(192, 0, 2, 20 + (g % 80) as u8);
    gw::group(g as u16, vip, (g / 80) as u16, priority, timers.0, timers.1)
}

fn proc_field(pid: u32, file: &str, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/{file}"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// CPU time (ns) of every thread of a process so far.
fn cpu_ns(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.flatten()
                .map(|t| super::wire::run_ns(&format!("{}/schedstat", t.path().display())))
                .sum()
        })
        .unwrap_or(0)
}

/// UDP datagrams the namespace's kernel dropped for a full socket
/// receive buffer (RcvbufErrors in /proc/net/snmp).
fn rcvbuf_errors(ns: &Netns) -> u64 {
    let snmp = String::from_utf8_lossy(&ns.sh("cat /proc/net/snmp").stdout).into_owned();
    let udp: Vec<&str> = snmp.lines().filter(|l| l.starts_with("Udp:")).collect();
    let [head, vals, ..] = udp[..] else { return 0 };
    head.split_whitespace()
        .zip(vals.split_whitespace())
        .find(|(k, _)| *k == "RcvbufErrors")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

/// System time (ns) of a process so far, from /proc/PID/stat.
fn sys_ns(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): stime is 15th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: u64 = rest
        .split_whitespace()
        .nth(12)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    ticks * 1_000_000_000 / hz
}

/// Fills the client cache of the agent in `ns` with `hosts` hosts (their
/// ARP requests run through the live program), then scrapes its metrics,
/// which reads the whole cache inside the agent.
fn fill_and_scrape(ns: &Netns, hosts: u32) -> Result<()> {
    let prog = xdp_cost::LiveProg::open(&ns.name, "lan0")?;
    let vip = Ipv4Addr::new(192, 0, 2, 20);
    prog.feed(xdp_cost::requests(vip, 0..hosts).into_iter())?;
    let body = gw_tests::agent::scrape(&ns.name, METRICS_PORT).unwrap_or_default();
    if !body.contains("gw_") {
        bail!("metrics scrape returned no gw metrics");
    }
    Ok(())
}

fn agent_cost(ctx: &Ctx, t: &Topology, n: usize) -> Result<Cost> {
    let timers = if ctx.smoke {
        ctx.plan.timers
    } else {
        SCALE_TIMERS
    };
    let largest = ctx.plan.scale_groups.iter().max() == Some(&n);
    let hosts = ctx.plan.cache_sizes.iter().copied().max().unwrap_or(0);
    let start = |g: &Netns, prio: u8, metrics: bool| -> Result<Agent> {
        let groups = (0..n).map(|i| group_json(i, prio, timers)).collect();
        let cfg = gw::config(groups, "auto", (hosts + 1024).max(16384), true);
        let addr = format!("127.0.0.1:{METRICS_PORT}");
        let args: &[&str] = if metrics { &["--metrics", &addr] } else { &[] };
        gw::start_with(g, &cfg, args)
    };
    let t0 = Instant::now();
    let mut a = start(&t.gateways[0], 150, largest)?;
    let mut b = start(&t.gateways[1], 100, false)?;
    let drops0: u64 = t.gateways.iter().map(rcvbuf_errors).sum();
    let limit = Duration::from_millis(u64::from(timers.1) * 4) + Duration::from_secs(10);
    // Not converging is a result here (reported), not a failure.
    let to_avg = gw::wait_avg(&mut a, &t.gateways[0], n, limit)
        .ok()
        .map(|_| t0.elapsed());
    // Let the standby settle (one hold time), then sample.
    std::thread::sleep(Duration::from_millis(timers.1.into()));
    let (pa, pb) = (a.child.id(), b.child.id());
    let (ca, cb, sa) = (cpu_ns(pa), cpu_ns(pb), sys_ns(pa));
    let w0 = Instant::now();
    std::thread::sleep(ctx.plan.scale_window);
    let secs = w0.elapsed().as_secs_f64();
    let pct = |before: u64, now: u64| (now - before) as f64 / 1e9 / secs * 100.0;
    let (cpu_avg_pct, cpu_standby_pct, sys_avg_pct) = (
        pct(ca, cpu_ns(pa)),
        pct(cb, cpu_ns(pb)),
        pct(sa, sys_ns(pa)),
    );
    let with_clients = if largest && hosts > 0 {
        fill_and_scrape(&t.gateways[0], hosts)?;
        Some((
            hosts,
            proc_field(pa, "status", "VmRSS:"),
            proc_field(pa, "status", "VmHWM:"),
        ))
    } else {
        None
    };
    let cost = Cost {
        groups: n,
        to_avg,
        avg_groups: gw::avg_groups(&t.gateways[0]),
        rcvbuf_drops: t.gateways.iter().map(rcvbuf_errors).sum::<u64>() - drops0,
        rss_kib: proc_field(pa, "status", "VmRSS:"),
        hwm_kib: proc_field(pa, "status", "VmHWM:"),
        cpu_avg_pct,
        cpu_standby_pct,
        sys_avg_pct,
        with_clients,
    };
    if !a.running() || !b.running() {
        bail!(
            "an agent exited:\n{}\n{}",
            gw::tail(&a.log()),
            gw::tail(&b.log())
        );
    }
    a.stop(libc::SIGTERM);
    b.stop(libc::SIGTERM);
    ctx.log(&format!(
        "  {n} groups: AVG of {} after {}, RSS {} KiB, CPU {:.2} % ({:.2} % system) / {:.2} %, {} hellos dropped{}",
        cost.avg_groups,
        to_avg.map_or("the limit".into(), fmt_ms),
        cost.rss_kib,
        cost.cpu_avg_pct,
        cost.sys_avg_pct,
        cost.cpu_standby_pct,
        cost.rcvbuf_drops,
        cost.with_clients.map_or(String::new(), |(h, rss, hwm)| format!(
            "; with {h} clients and a metrics scrape: RSS {rss} KiB, peak {hwm} KiB"
        )),
    ));
    Ok(cost)
}

pub fn run(ctx: &Ctx) -> Result<Section> {
    let t = guarded(|| {
        Topology::new(TopologySpec {
            gateways: 2,
            hosts: 0,
        })
    })?;
    let mut costs = Vec::new();
    for &n in &ctx.plan.scale_groups {
        costs.push(agent_cost(ctx, &t, n)?);
    }
    drop(t);
    let caches = cache::run(ctx)?;
    let conv = convergence::run(ctx)?;
    Ok(render(ctx, &costs, &caches, &conv))
}

fn render(
    ctx: &Ctx,
    costs: &[Cost],
    caches: &cache::Result,
    conv: &convergence::Result,
) -> Section {
    let timers = if ctx.smoke {
        ctx.plan.timers
    } else {
        SCALE_TIMERS
    };
    let mut md = format!(
        "### Agent memory and CPU by group count\n\nTwo routers on one LAN, every group on both (g1 priority \
         150 should become AVG of all), hello {} ms / hold {} ms, started together; waited for g1 to \
         be AVG of every group for at most 4 hold times + 10 s, then one hold time more; then RSS of \
         g1's agent and both agents' CPU over {:.1} s (100 % = one core; system time includes \
         the bridge and the peer's receive path, which a veth runs in the sender's context). At \
         the largest count, g1's client cache is then filled through the live program and its \
         metrics scraped (a scrape reads the whole cache in the agent). Hellos dropped: GLBP \
         datagrams the two routers' kernels dropped because the agent's socket receive buffer was full \
         (UDP RcvbufErrors): the groups' hellos come in a few bursts per hello time.\n\n",
        timers.0,
        timers.1,
        ctx.plan.scale_window.as_secs_f64()
    );
    let rows: Vec<Vec<String>> = costs
        .iter()
        .map(|c| {
            vec![
                c.groups.to_string(),
                match (c.to_avg, c.avg_groups) {
                    (Some(d), a) if a >= c.groups => fmt_ms(d),
                    (Some(d), a) => format!("{} (then {a} AVG when sampled)", fmt_ms(d)),
                    (None, a) => format!("not within the limit ({a} AVG)"),
                },
                c.rcvbuf_drops.to_string(),
                format!("{:.1} MiB", c.rss_kib as f64 / 1024.0),
                format!("{:.1} MiB", c.hwm_kib as f64 / 1024.0),
                format!("{:.2} % ({:.2} % system)", c.cpu_avg_pct, c.sys_avg_pct),
                format!("{:.2} %", c.cpu_standby_pct),
                c.with_clients.map_or("-".into(), |(h, rss, hwm)| {
                    format!(
                        "{:.1} MiB (peak {:.1} MiB) with {h} clients",
                        rss as f64 / 1024.0,
                        hwm as f64 / 1024.0
                    )
                }),
            ]
        })
        .collect();
    md += &table(
        &[
            "groups",
            "start to AVG of all",
            "hellos dropped (rcvbuf)",
            "RSS (AVG)",
            "peak RSS (AVG)",
            "CPU (AVG)",
            "CPU (standby)",
            "RSS (AVG) after filling the client cache and a metrics scrape",
        ],
        &rows,
    );
    md += "\n";
    md += &cache::render(caches);
    md += "\n";
    md += &convergence::render(conv);
    let json = json!({
        "agent": costs.iter().map(|c| json!({
            "groups": c.groups, "to_avg_ms": c.to_avg.map(|d| d.as_secs_f64() * 1e3),
            "avg_groups": c.avg_groups, "rcvbuf_drops": c.rcvbuf_drops,
            "rss_kib": c.rss_kib, "peak_rss_kib": c.hwm_kib,
            "cpu_avg_pct": c.cpu_avg_pct, "cpu_standby_pct": c.cpu_standby_pct,
            "sys_avg_pct": c.sys_avg_pct,
            "with_clients": c.with_clients.map(|(h, rss, hwm)| json!({
                "clients": h, "rss_kib": rss, "peak_rss_kib": hwm,
            })),
        })).collect::<Vec<_>>(),
        "client_cache": cache::json(caches),
        "convergence": convergence::json(conv),
    });
    Section::new("scale", "4. Scale and cost", md, json)
}
