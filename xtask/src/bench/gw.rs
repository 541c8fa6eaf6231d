//! Running gw agents for the benchmarks: configs (README "Config
//! reference") and waiting for a router to answer as AVG.

use std::{
    net::Ipv4Addr,
    time::{Duration, Instant},
};

use anyhow::{Result, bail};
use gw_tests::{Agent, Netns, agent::try_status, group::GwStatus};
use serde_json::{Value, json};

/// One group's JSON.
pub fn group(n: u16, vip: Ipv4Addr, vlan: u16, priority: u8, hello_ms: u32, hold_ms: u32) -> Value {
    json!({
        "group": n,
        "vip": vip.to_string(),
        "vlan": vlan,
        "priority": priority,
        "timers": { "hello_ms": hello_ms, "hold_ms": hold_ms },
    })
}

/// A config for lan0. `rate_limit`: the per-source-MAC ARP limit stays
/// on (default) or is turned off.
pub fn config(groups: Vec<Value>, xdp_mode: &str, client_cache: u32, rate_limit: bool) -> Value {
    let mut c = json!({
        "interface": "lan0",
        "xdp_mode": xdp_mode,
        "client_cache": { "max_entries": client_cache },
        "groups": groups,
    });
    if !rate_limit {
        c["arp_rate_limit"] = json!({ "per_mac_pps": 0 });
    }
    c
}

/// Writes `cfg` beside the namespace's other temp files and starts the
/// agent with it.
pub fn start(ns: &Netns, cfg: &Value) -> Result<Agent> {
    start_with(ns, cfg, &[])
}

/// As `start`, with more command-line arguments (`--metrics ADDR`).
pub fn start_with(ns: &Netns, cfg: &Value, args: &[&str]) -> Result<Agent> {
    let path = std::env::temp_dir().join(format!("{}-bench.json", ns.name));
    std::fs::write(&path, cfg.to_string())?;
    let path = path.to_string_lossy().into_owned();
    let all: Vec<&str> = ["--config", path.as_str()]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    super::wire::guarded(|| Agent::start(ns, &all))
}

/// Group `group` of the agent in `ns`, if it reports one.
pub fn status(ns: &Netns, group: u16) -> Option<GwStatus> {
    try_status(ns).ok().and_then(|v| GwStatus::parse(&v, group))
}

/// Groups of the agent in `ns` that answer as AVG with a live lease.
pub fn avg_groups(ns: &Netns) -> usize {
    let Ok(v) = try_status(ns) else { return 0 };
    v.as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["interface"] == "lan0")
        .flat_map(|i| i["groups"].as_array().cloned().unwrap_or_default())
        .filter(|g| g["avg"] == true && g["lease_ms"].as_u64().unwrap_or(0) > 0)
        .count()
}

/// Waits until `groups` groups answer as AVG; returns how long it took.
pub fn wait_avg(
    agent: &mut Agent,
    ns: &Netns,
    groups: usize,
    timeout: Duration,
) -> Result<Duration> {
    let t0 = Instant::now();
    loop {
        if avg_groups(ns) >= groups {
            return Ok(t0.elapsed());
        }
        if !agent.running() {
            bail!("the agent in {} exited:\n{}", ns.name, tail(&agent.log()));
        }
        if t0.elapsed() > timeout {
            bail!(
                "{} of {groups} groups AVG after {timeout:?} in {}:\n{}",
                avg_groups(ns),
                ns.name,
                tail(&agent.log())
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The last lines of a log, for error messages.
pub fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Parses "aa:bb:cc:dd:ee:ff".
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let v: Vec<u8> = s
        .split(':')
        .filter_map(|b| u8::from_str_radix(b, 16).ok())
        .collect();
    v.try_into().ok()
}
