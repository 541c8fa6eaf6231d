//! Simulation tests: whole groups of real engines on a simulated LAN.
//!
//! Each randomized test runs a number of seeds (default per test, a few
//! hundred in total); set `GW_SIM_SEEDS=N` to run N seeds per test, or
//! `GW_SIM_SEED=X` to replay one (`GW_SIM_TRACE=1` prints every event). A
//! failing seed is printed with the command that replays it.

mod config;
mod faults;
mod ipv6;
mod steady;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Invariants, Sim, node_identity, node_identity_v6};
use crate::engine::rand::Rand;
use crate::engine::{EngineConfig, Identity, Instant, State};

pub(super) const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub(super) const GROUP: u16 = 1;
/// The VIP of a group run over IPv6: the group's virtual link-local
/// address, fe80::7:b4ff:fe00:100.
pub(super) const VIP6: Ipv6Addr = Ipv6Addr::from_octets(gw_common::virtual_link_local(GROUP));
/// Default timers.
pub(super) const HELLO: u64 = 3_000;
pub(super) const HOLD: u64 = 10_000;
/// Delay range used by the randomized tests.
pub(super) const MAX_DELAY: u64 = 20;
/// Nodes start within this window; the group has settled by `SETTLED`.
pub(super) const START_SPREAD: u64 = 3_000;
pub(super) const SETTLED: Instant = Instant::from_secs(45);

pub(super) fn cfg() -> EngineConfig {
    Family::V4.cfg()
}

/// The address family a simulated group runs over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Family {
    /// Routers 192.0.2.10, .11, ...; VIP 192.0.2.1.
    V4,
    /// Routers fe80::1, fe80::2, ... (their link-local addresses); VIP the
    /// group's virtual link-local address `VIP6`.
    V6,
}

impl Family {
    pub fn vip(self) -> IpAddr {
        match self {
            Family::V4 => IpAddr::V4(VIP),
            Family::V6 => IpAddr::V6(VIP6),
        }
    }

    /// Group `GROUP` with this family's VIP, defaults otherwise.
    pub fn cfg(self) -> EngineConfig {
        EngineConfig {
            group: GROUP,
            vip: self.vip(),
            ..EngineConfig::default()
        }
    }

    /// Router `i`'s identity.
    pub fn identity(self, i: usize) -> Identity {
        match self {
            Family::V4 => node_identity(i),
            Family::V6 => node_identity_v6(i),
        }
    }

    /// `n` routers of this family, each running `groups`.
    pub fn sim(self, seed: u64, n: usize, groups: &[EngineConfig]) -> Sim {
        let ids: Vec<Identity> = (0..n).map(|i| self.identity(i)).collect();
        Sim::with_identities(seed, &ids, groups)
    }
}

/// Seeds to run: `GW_SIM_SEED=X` (one), else `GW_SIM_SEEDS=N` or `default`.
pub(super) fn seeds(default: u64) -> Vec<u64> {
    if let Some(s) = std::env::var("GW_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return vec![s];
    }
    let n = std::env::var("GW_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    (0..n).collect()
}

/// Runs `f` for every seed; reports every failing seed, then fails.
pub(super) fn for_seeds(name: &str, default: u64, f: impl Fn(u64) -> Result<(), String>) {
    let mut failed = Vec::new();
    for seed in seeds(default) {
        if let Err(e) = f(seed) {
            eprintln!(
                "{name}: seed {seed} failed: {e}\n  replay: \
                 GW_SIM_SEED={seed} GW_SIM_TRACE=1 cargo test {name} -- --nocapture"
            );
            failed.push(seed);
            if failed.len() >= 10 {
                break;
            }
        }
    }
    assert!(failed.is_empty(), "{name}: failing seeds {failed:?}");
}

/// A random LAN: 2..=8 nodes (or `n`), random priorities, delays up to
/// `MAX_DELAY`, starts spread over `START_SPREAD`.
pub(super) fn random_lan(seed: u64, n: Option<usize>) -> Sim {
    random_lan_in(Family::V4, seed, n)
}

/// `random_lan` of routers of `family`.
pub(super) fn random_lan_in(family: Family, seed: u64, n: Option<usize>) -> Sim {
    let mut rng = Rand::new(seed);
    let n = n.unwrap_or(rng.range(2, 8) as usize);
    let mut sim = family.sim(seed, n, &[family.cfg()]);
    for i in 0..n {
        let mut c = family.cfg();
        c.priority = [100, 100, 100, 110, 120, 255][rng.below(6) as usize];
        sim.set_config(i, 0, c);
    }
    sim.set_delay(1, rng.range(1, MAX_DELAY));
    sim.spread_starts(START_SPREAD);
    sim
}

/// Fails unless the group is settled: one AVG, one standby (with two or
/// more routers), min(n, max_forwarders) forwarders each forwarded by its
/// owner, and the AVG handing out exactly those.
pub(super) fn settled(sim: &Sim) -> Result<(), String> {
    settled_in(sim, 0)
}

/// `settled` for group index `g`.
pub(super) fn settled_in(sim: &Sim, g: usize) -> Result<(), String> {
    let up: Vec<usize> = (0..sim.len())
        .filter(|&i| sim.engine(i, g).is_some())
        .collect();
    let avgs = sim.avgs(g);
    if avgs.len() != 1 {
        return Err(format!("AVGs {avgs:?}"));
    }
    let standbys = up
        .iter()
        .filter(|&&i| sim.state(i, g) == Some(State::Standby))
        .count();
    if up.len() >= 2 && standbys != 1 {
        return Err(format!("{standbys} standby routers"));
    }
    let max = usize::from(sim.node(up[0]).cfgs[g].max_forwarders);
    let mut owned = BTreeSet::new();
    for &i in &up {
        let Some(e) = sim.engine(i, g) else { continue };
        let st = e.status();
        let mine: Vec<u8> = st
            .forwarders
            .iter()
            .filter(|f| f.primary)
            .map(|f| f.number)
            .collect();
        for (n, vmac) in &e.dataplane().owned {
            if !mine.contains(n) {
                return Err(format!("node {i} forwards {n} it does not own"));
            }
            if !owned.insert(*vmac) {
                return Err(format!("vMAC of {n} forwarded twice"));
            }
        }
        if mine.len() > 1 || mine.len() != e.dataplane().owned.len() {
            return Err(format!(
                "node {i} owns {mine:?}, forwards {:?}",
                e.dataplane().owned
            ));
        }
    }
    if owned.len() != up.len().min(max) {
        return Err(format!(
            "{} forwarders for {} routers",
            owned.len(),
            up.len()
        ));
    }
    let handed: BTreeSet<[u8; 6]> = sim.arp_answers(g)[0].1.iter().copied().collect();
    if handed != owned {
        return Err(format!("AVG hands out {handed:?}, forwarded {owned:?}"));
    }
    Ok(())
}

/// Runs to `t` checking the safety invariants after every event.
pub(super) fn run_safe(sim: &mut Sim, t: Instant, grace_ms: u64) -> Result<(), String> {
    let mut inv = Invariants::new(0, grace_ms);
    sim.run_checked(t, |s| inv.check(s))
}

/// Runs until `cond` holds (checked after every event) or `deadline`;
/// returns the time it first held.
pub(super) fn run_until_cond(
    sim: &mut Sim,
    deadline: Instant,
    mut cond: impl FnMut(&Sim) -> bool,
) -> Result<Instant, String> {
    if cond(sim) {
        return Ok(sim.now());
    }
    while sim.step(deadline) {
        if cond(sim) {
            return Ok(sim.now());
        }
    }
    Err(format!("condition not met by {deadline}"))
}

/// The node forwarding `vmac`, if exactly one does.
pub(super) fn owners(sim: &Sim, vmac: [u8; 6]) -> Vec<usize> {
    (0..sim.len())
        .filter(|&i| {
            sim.dataplane(i, 0)
                .is_some_and(|d| d.owned.iter().any(|o| o.1 == vmac))
        })
        .collect()
}

/// A node's own (primary) forwarder.
pub(super) fn own_vmac(sim: &Sim, i: usize) -> Option<(u8, [u8; 6])> {
    let st = sim.engine(i, 0)?.status();
    st.forwarders
        .iter()
        .find(|f| f.primary)
        .map(|f| (f.number, f.vmac))
}

/// The node in state Standby, if any.
pub(super) fn standby(sim: &Sim) -> Option<usize> {
    (0..sim.len()).find(|&i| sim.state(i, 0) == Some(State::Standby))
}

#[test]
fn deterministic_replay() {
    let run = |seed| {
        let mut sim = random_lan(seed, Some(5));
        sim.set_loss(0.1);
        sim.set_dup(0.1);
        sim.run_until(Instant::from_secs(60));
        sim.crash(2);
        sim.run_until(Instant::from_secs(90));
        format!("{:?}", sim.records)
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42), run(43));
}
