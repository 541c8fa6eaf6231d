//! Convergence of a GLBP group in virtual time, with the production engine
//! on the deterministic simulated LAN (gw_agent::sim). An example target
//! of xtask, not part of the xtask binary: it links the agent library,
//! whose build script needs the eBPF toolchain that `cargo xtask setup`
//! installs, so the xtask binary itself must not depend on it.
//! `cargo xtask bench` builds and runs it.
//!
//! Usage: sim_convergence --routers N --seeds S. Prints a JSON array, one
//! object per timer set: cold start (all routers boot at t = 0) and AVG
//! crash (the converged AVG dies), in virtual ms after the event, median
//! and max over the seeds, until
//! - serving: the simulator's invariants hold (one AVG, no vMAC forwarded
//!   twice, every handed-out vMAC forwarded) and the AVG hands out
//!   min(routers alive, max_forwarders) vMACs;
//! - settled: serving, and one router is Standby.
//!
//! Each time is when the condition last became true before holding for
//! at least one hold time (a forwarder handing its vMAC back after the
//! preemption delay breaks "no vMAC twice" for a few ms: that is a
//! handover, not a loss of convergence).

use std::net::Ipv4Addr;

use gw_agent::{
    engine::{EngineConfig, Instant, State},
    sim::{Sim, Snapshot},
};
use serde_json::json;

const MAX_FORWARDERS: usize = 4;

fn cfg(priority: u8, hello: u32, hold: u32) -> EngineConfig {
    EngineConfig {
        group: 1,
        vip: Ipv4Addr::new(192, 0, 2, 1).into(),
        priority,
        hello_ms: Some(hello),
        hold_ms: Some(hold),
        ..EngineConfig::default()
    }
}

fn serving(sim: &Sim) -> bool {
    if !Snapshot::take(sim, 0).violations.is_empty() {
        return false;
    }
    let live = (0..sim.len())
        .filter(|&i| sim.engine(i, 0).is_some())
        .count();
    let avg = sim.avgs(0);
    avg.len() == 1
        && sim
            .dataplane(avg[0], 0)
            .is_some_and(|d| d.slots.len() == live.min(MAX_FORWARDERS))
}

fn settled(sim: &Sim) -> bool {
    let live: Vec<usize> = (0..sim.len())
        .filter(|&i| sim.engine(i, 0).is_some())
        .collect();
    let standby = live
        .iter()
        .filter(|&&i| sim.state(i, 0) == Some(State::Standby))
        .count();
    serving(sim) && (live.len() < 2 || standby == 1)
}

/// Runs to `until`; for each condition, ms after `from` at which it
/// became true and then held for `hold` ms (or to the end).
fn stable_since(sim: &mut Sim, from: Instant, until: Instant, hold: u64) -> [Option<u64>; 2] {
    let preds: [fn(&Sim) -> bool; 2] = [serving, settled];
    let mut since: [Option<Instant>; 2] = preds.map(|p| p(sim).then_some(sim.now()));
    let mut done: [Option<u64>; 2] = [None; 2];
    loop {
        let more = sim.step(until);
        let now = sim.now();
        for k in 0..2 {
            if done[k].is_some() {
                continue;
            }
            if let Some(c) = since[k].filter(|c| now.ms_since(*c) >= hold || !more) {
                done[k] = Some(c.ms_since(from));
                continue;
            }
            match (preds[k](sim), since[k]) {
                (true, None) => since[k] = Some(now),
                (false, Some(_)) => since[k] = None,
                _ => {}
            }
        }
        if !more || done.iter().all(Option::is_some) {
            return done;
        }
    }
}

fn stats(mut v: Vec<u64>) -> serde_json::Value {
    v.sort_unstable();
    json!({
        "median_ms": v.get(v.len() / 2),
        "max_ms": v.last(),
        "runs": v.len(),
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: u64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1)?.parse().ok())
            .unwrap_or(default)
    };
    let (routers, seeds) = (arg("--routers", 8) as usize, arg("--seeds", 20));
    let sets = [(3000u32, 10_000u32), (1000, 3000), (200, 800), (50, 150)];
    let mut out = Vec::new();
    for (hello, hold) in sets {
        let horizon = u64::from(hold) * 20 + 10_000;
        let mut t: [Vec<u64>; 4] = Default::default();
        let mut failed = 0;
        for seed in 0..seeds {
            let mut sim = Sim::new(seed, routers, &[cfg(100, hello, hold)]);
            sim.record = false;
            for i in 0..routers {
                // Distinct priorities: node 0 highest.
                sim.set_config(i, 0, cfg(200 - 10 * i as u8, hello, hold));
            }
            let cold = stable_since(
                &mut sim,
                Instant::ZERO,
                Instant::from_millis(horizon),
                hold.into(),
            );
            // Let everything settle (forwarder preemption included), then crash the AVG.
            sim.run_for(horizon);
            let avgs = sim.avgs(0);
            let crash = match (cold, &avgs[..]) {
                ([Some(_), Some(_)], &[avg]) => {
                    let at = sim.now();
                    sim.crash(avg);
                    stable_since(&mut sim, at, at.add_ms(horizon), hold.into())
                }
                _ => [None, None],
            };
            for (k, v) in cold.into_iter().chain(crash).enumerate() {
                match v {
                    Some(ms) => t[k].push(ms),
                    None => failed += 1,
                }
            }
        }
        let [a, b, c, d] = t;
        out.push(json!({
            "hello_ms": hello,
            "hold_ms": hold,
            "routers": routers,
            "seeds": seeds,
            "cold_serving": stats(a),
            "cold_settled": stats(b),
            "crash_serving": stats(c),
            "crash_settled": stats(d),
            "not_converged": failed,
        }));
    }
    println!("{}", serde_json::to_string(&out).expect("JSON"));
}
