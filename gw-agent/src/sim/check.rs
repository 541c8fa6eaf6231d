//! Safety invariants of a settled group, evaluated on the simulator's
//! current state, per partition (nodes that can hear each other):
//! - exactly one AVG;
//! - no vMAC forwarded by two routers;
//! - every forwarder the AVG knows, until its redirect time, and every
//!   vMAC the AVG hands out, is forwarded by some live router.
//!
//! Handovers legitimately break these for a moment (a forwarder being
//! taken back is briefly active on both routers until the release
//! arrives), so `Invariants` fails only on a violation that lasts longer
//! than its grace period.

use std::collections::BTreeMap;

use super::Sim;
use crate::engine::{Instant, Mac};

/// The conditions violated right now, each with a stable key and a message.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub violations: Vec<(String, String)>,
}

impl Snapshot {
    pub fn take(sim: &Sim, g: usize) -> Snapshot {
        let mut parts: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for i in 0..sim.len() {
            if sim.engine(i, g).is_some() {
                parts.entry(sim.components()[i]).or_default().push(i);
            }
        }
        let mut violations = Vec::new();
        for (part, nodes) in parts {
            let dps: Vec<(usize, &crate::engine::DataplaneState)> = nodes
                .iter()
                .filter_map(|&i| Some((i, sim.dataplane(i, g)?)))
                .collect();
            let avgs: Vec<usize> = dps.iter().filter(|d| d.1.avg).map(|d| d.0).collect();
            if avgs.len() != 1 {
                violations.push((
                    format!("avg-count/{part}"),
                    format!("partition {nodes:?} has AVGs {avgs:?}"),
                ));
            }
            let mut owners: BTreeMap<[u8; 6], Vec<usize>> = BTreeMap::new();
            for (i, d) in &dps {
                for (_, vmac) in &d.owned {
                    owners.entry(*vmac).or_default().push(*i);
                }
            }
            for (vmac, who) in &owners {
                if who.len() > 1 {
                    violations.push((
                        format!("dup-owner/{part}/{}", Mac(vmac)),
                        format!("vMAC {} forwarded by {who:?}", Mac(vmac)),
                    ));
                }
            }
            for &a in &avgs {
                let Some(e) = sim.engine(a, g) else {
                    continue;
                };
                // Every forwarder of the group not yet past its redirect
                // time is forwarded by someone.
                for f in e.status().forwarders.iter().filter(|f| !f.redirected) {
                    if !owners.contains_key(&f.vmac) {
                        violations.push((
                            format!("unforwarded/{part}/{}", Mac(&f.vmac)),
                            format!("nobody forwards {} (forwarder {})", Mac(&f.vmac), f.number),
                        ));
                    }
                }
                let d = e.dataplane();
                for s in &d.slots {
                    if !owners.contains_key(&s.vmac) {
                        violations.push((
                            format!("dead-slot/{part}/{}", Mac(&s.vmac)),
                            format!("AVG {a} hands out {} that nobody forwards", Mac(&s.vmac)),
                        ));
                    }
                }
            }
        }
        Snapshot { violations }
    }
}

/// Checks `Snapshot`s continuously; a violation may last `grace_ms`.
#[derive(Clone, Debug)]
pub struct Invariants {
    pub group: usize,
    pub grace_ms: u64,
    open: BTreeMap<String, Instant>,
    /// The last snapshot and the sim generation it was taken at.
    last: Option<(u64, Snapshot)>,
}

impl Invariants {
    pub fn new(group: usize, grace_ms: u64) -> Invariants {
        Invariants {
            group,
            grace_ms,
            open: BTreeMap::new(),
            last: None,
        }
    }

    pub fn check(&mut self, sim: &Sim) -> Result<(), String> {
        let now = sim.now();
        let gen_ = sim.generation();
        if self.last.as_ref().is_none_or(|l| l.0 != gen_) {
            let snap = Snapshot::take(sim, self.group);
            self.open
                .retain(|k, _| snap.violations.iter().any(|v| &v.0 == k));
            self.last = Some((gen_, snap));
        }
        let Some((_, snap)) = &self.last else {
            return Ok(());
        };
        for (key, msg) in &snap.violations {
            let since = *self.open.entry(key.clone()).or_insert(now);
            if now.ms_since(since) > self.grace_ms {
                return Err(format!("at {now}: {msg} (since {since})"));
            }
        }
        Ok(())
    }
}
