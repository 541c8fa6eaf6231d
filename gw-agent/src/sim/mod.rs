//! A deterministic simulated LAN of GLBP routers, each running the real
//! `crate::engine::Engine` (one per group) in virtual time.
//!
//! Everything random (start times, delays, loss, duplication, engine seeds)
//! comes from one seed, so a run is reproduced exactly by its seed. The
//! network: each multicast frame is delivered to every other live node in
//! the same partition after a delay drawn from a range; a frame may be
//! lost (optionally never more than N times in a row on one link) or
//! duplicated. Delivery is FIFO per directed link, as on a switched LAN
//! (`NetConfig::fifo = false` lets delays reorder frames).
//! Faults: partitions and heals, crashes (the node loses all state),
//! restarts (a new engine, same identity), clean shutdowns, clock steps.
//! Nodes are IPv4 routers (`node_identity`) unless built with
//! `Sim::with_identities`: a group run over IPv6 uses link-local
//! identities (`node_identity_v6`) and an IPv6 VIP.
//!
//! Used by the sim tests (`sim/tests/`) and by benchmarks; keep it a
//! library: drive it with `step`/`run_until`, read nodes' dataplane state
//! and `arp_answers`, and inspect the recorded outputs in `records`.

mod check;
mod net;
#[cfg(test)]
mod tests;

use std::net::{Ipv4Addr, Ipv6Addr};

pub use check::{Invariants, Snapshot};
pub use net::NetConfig;

use crate::engine::rand::Rand;
use crate::engine::{
    DataplaneState, Engine, EngineConfig, Event, Identity, Instant, Output, State,
};
use net::Network;

/// Every output an engine produced, with when and where.
#[derive(Clone, Debug)]
pub struct Record {
    /// Global (simulation) time.
    pub at: Instant,
    pub node: usize,
    /// Index into the node's groups.
    pub group: usize,
    pub output: Output,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub id: Identity,
    pub up: bool,
    /// Configuration per group (used at every (re)start).
    pub cfgs: Vec<EngineConfig>,
    engines: Vec<Engine>,
    /// Each engine's `poll_at` (its own clock), refreshed after every call.
    due: Vec<Option<Instant>>,
    /// Added to the global clock to get this node's clock (steps forward).
    pub clock_offset: u64,
    /// Scheduled start (global time) while down.
    pub start_at: Option<Instant>,
}

impl Node {
    fn local(&self, global: Instant) -> Instant {
        global.add_ms(self.clock_offset)
    }
}

/// The IP and MAC of node `i`: 192.0.2.(10+i), 02:00:5e:00:00:(i+1).
pub fn node_identity(i: usize) -> Identity {
    let i = u8::try_from(i).unwrap_or(u8::MAX);
    Identity {
        ip: Ipv4Addr::new(192, 0, 2, 10u8.saturating_add(i)).into(),
        mac: node_mac(i),
    }
}

/// Node `i` of a group run over IPv6: its interface's link-local address
/// fe80::(i+1) and the same MAC as `node_identity`.
pub fn node_identity_v6(i: usize) -> Identity {
    let i = u8::try_from(i).unwrap_or(u8::MAX);
    Identity {
        ip: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(i) + 1).into(),
        mac: node_mac(i),
    }
}

fn node_mac(i: u8) -> [u8; 6] {
    [0x02, 0x00, 0x5e, 0x00, 0x00, i.wrapping_add(1)]
}

pub struct Sim {
    now: Instant,
    rng: Rand,
    nodes: Vec<Node>,
    net: Network,
    /// Bumped whenever any node's dataplane or reachability may have
    /// changed (lets checkers skip unchanged states).
    generation: u64,
    /// Record every output into `records`.
    pub record: bool,
    pub records: Vec<Record>,
    /// Print every event as it happens (stderr); on when `GW_SIM_TRACE`
    /// is set, for replaying a failing seed.
    pub trace: bool,
}

/// What `step` did next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Next {
    Start(usize),
    Deliver,
    Poll(usize, usize),
}

impl Sim {
    /// `n` nodes, each with one engine per entry of `groups` (group and VIP
    /// from there; identities from `node_identity`). Nodes start at time 0
    /// unless `start_at`/`spread_starts` say otherwise.
    pub fn new(seed: u64, n: usize, groups: &[EngineConfig]) -> Sim {
        let ids: Vec<Identity> = (0..n).map(node_identity).collect();
        Sim::with_identities(seed, &ids, groups)
    }

    /// As `new`, one node per identity (e.g. `node_identity_v6` for a
    /// group run over IPv6, whose VIP is then an IPv6 address too).
    pub fn with_identities(seed: u64, ids: &[Identity], groups: &[EngineConfig]) -> Sim {
        let n = ids.len();
        let nodes = ids
            .iter()
            .map(|&id| Node {
                id,
                up: false,
                cfgs: groups.to_vec(),
                engines: Vec::new(),
                due: Vec::new(),
                clock_offset: 0,
                start_at: Some(Instant::ZERO),
            })
            .collect();
        Sim {
            now: Instant::ZERO,
            rng: Rand::new(seed ^ 0x5157_5eed),
            nodes,
            net: Network::new(n),
            generation: 0,
            record: true,
            records: Vec::new(),
            trace: std::env::var_os("GW_SIM_TRACE").is_some(),
        }
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    /// Changes whenever a dataplane, a node's liveness or the partitions
    /// may have changed.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }

    pub fn net_config(&mut self) -> &mut NetConfig {
        &mut self.net.cfg
    }

    pub fn set_loss(&mut self, p: f64) {
        self.net.cfg.loss = p;
    }

    pub fn set_dup(&mut self, p: f64) {
        self.net.cfg.dup = p;
    }

    pub fn set_delay(&mut self, min_ms: u64, max_ms: u64) {
        self.net.cfg.delay_ms = (min_ms, max_ms.max(min_ms));
    }

    /// Never drop more than `n` frames in a row on one link.
    pub fn set_loss_burst(&mut self, n: Option<u32>) {
        self.net.cfg.max_loss_burst = n;
    }

    /// Configuration of node `i`, group `g`, applied at its next start (and
    /// at once through `reconfigure` if it is running).
    pub fn set_config(&mut self, i: usize, g: usize, cfg: EngineConfig) {
        self.nodes[i].cfgs[g] = cfg.clone();
        if self.nodes[i].up {
            let now = self.nodes[i].local(self.now);
            let out = self.nodes[i].engines[g].reconfigure(now, cfg);
            self.handle(i, g, out);
        }
    }

    pub fn start_at(&mut self, i: usize, at: Instant) {
        if !self.nodes[i].up {
            self.nodes[i].start_at = Some(at);
        }
    }

    /// Spreads the initial starts of all nodes uniformly over `0..=ms`.
    pub fn spread_starts(&mut self, ms: u64) {
        for i in 0..self.nodes.len() {
            let at = Instant::from_millis(self.rng.range(0, ms));
            self.start_at(i, at);
        }
    }

    pub fn engine(&self, i: usize, g: usize) -> Option<&Engine> {
        let n = &self.nodes[i];
        if n.up { n.engines.get(g) } else { None }
    }

    pub fn dataplane(&self, i: usize, g: usize) -> Option<&DataplaneState> {
        self.engine(i, g).map(|e| e.dataplane())
    }

    pub fn state(&self, i: usize, g: usize) -> Option<State> {
        self.engine(i, g).map(|e| e.state())
    }

    /// Nodes currently acting as AVG for group index `g`.
    pub fn avgs(&self, g: usize) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.dataplane(i, g).is_some_and(|d| d.avg))
            .collect()
    }

    /// "ARP answers": what each current AVG would hand out for the VIP.
    pub fn arp_answers(&self, g: usize) -> Vec<(usize, Vec<[u8; 6]>)> {
        self.avgs(g)
            .into_iter()
            .filter_map(|i| {
                let d = self.dataplane(i, g)?;
                Some((i, d.slots.iter().map(|s| s.vmac).collect()))
            })
            .collect()
    }

    /// Partition id of each node (equal ids hear each other).
    pub fn components(&self) -> &[usize] {
        &self.net.component
    }

    pub fn connected(&self, a: usize, b: usize) -> bool {
        self.net.connected(a, b)
    }

    /// Splits the LAN: nodes in one set hear each other only; nodes in no
    /// set are isolated.
    pub fn partition(&mut self, sets: &[&[usize]]) {
        self.net.partition(sets);
        self.generation += 1;
    }

    pub fn heal(&mut self) {
        self.net.heal();
        self.generation += 1;
    }

    /// The node dies: its engines and their state are gone.
    pub fn crash(&mut self, i: usize) {
        if self.trace {
            eprintln!("{} n{i} -- down", self.now);
        }
        let n = &mut self.nodes[i];
        n.up = false;
        n.engines.clear();
        n.due.clear();
        n.start_at = None;
        self.generation += 1;
    }

    /// Starts a crashed or stopped node again (fresh engines, same identity).
    pub fn restart(&mut self, i: usize) {
        self.crash(i);
        self.boot(i);
    }

    /// Clean stop: every engine resigns, then the node is down.
    pub fn shutdown(&mut self, i: usize) {
        if !self.nodes[i].up {
            return;
        }
        for g in 0..self.nodes[i].engines.len() {
            let now = self.nodes[i].local(self.now);
            let out = self.nodes[i].engines[g].shutdown(now);
            self.handle(i, g, out);
        }
        self.crash(i);
    }

    /// The node's clock jumps forward by `ms` (monotonic clocks never go back).
    pub fn step_clock(&mut self, i: usize, ms: u64) {
        self.nodes[i].clock_offset += ms;
    }

    pub fn set_weight(&mut self, i: usize, g: usize, w: u8) {
        if !self.nodes[i].up {
            return;
        }
        let now = self.nodes[i].local(self.now);
        let out = self.nodes[i].engines[g].set_weight(now, w);
        self.handle(i, g, out);
    }

    /// Processes the next event if it is due at or before `limit`; else
    /// moves the clock to `limit` and returns false.
    pub fn step(&mut self, limit: Instant) -> bool {
        let Some((at, next)) = self.next_event() else {
            self.now = self.now.max(limit);
            return false;
        };
        if at > limit {
            self.now = self.now.max(limit);
            return false;
        }
        self.now = self.now.max(at);
        match next {
            Next::Start(i) => self.boot(i),
            Next::Deliver => self.deliver(),
            Next::Poll(i, g) => {
                let now = self.nodes[i].local(self.now);
                let out = self.nodes[i].engines[g].poll(now);
                self.handle(i, g, out);
                // As the runtime: awake for a timer, the node's groups
                // whose hello window is open send theirs in the same burst.
                for h in 0..self.nodes[i].engines.len() {
                    if self.nodes[i].engines[h]
                        .hello_window()
                        .is_some_and(|w| w <= now)
                    {
                        let out = self.nodes[i].engines[h].poll_hello(now);
                        self.handle(i, h, out);
                    }
                }
            }
        }
        true
    }

    pub fn run_until(&mut self, t: Instant) {
        while self.step(t) {}
    }

    /// Runs `ms` of virtual time from now.
    pub fn run_for(&mut self, ms: u64) {
        let t = self.now.add_ms(ms);
        self.run_until(t);
    }

    /// Runs until `t`, calling `check` after every event; stops at the
    /// first error.
    pub fn run_checked(
        &mut self,
        t: Instant,
        mut check: impl FnMut(&Sim) -> Result<(), String>,
    ) -> Result<(), String> {
        while self.step(t) {
            check(self)?;
        }
        check(self)
    }

    /// Gateway and forwarder state changes recorded at or after `since`.
    pub fn state_changes_since(&self, since: Instant) -> Vec<(Instant, usize, Event)> {
        self.records
            .iter()
            .filter(|r| r.at >= since)
            .flat_map(|r| {
                r.output
                    .events
                    .iter()
                    .filter(|e| {
                        matches!(
                            e,
                            Event::VgStateChanged { .. } | Event::ForwarderStateChanged { .. }
                        )
                    })
                    .map(move |e| (r.at, r.node, e.clone()))
            })
            .collect()
    }

    fn next_event(&self) -> Option<(Instant, Next)> {
        let mut best: Option<(Instant, Next)> = None;
        let mut offer = |at: Instant, n: Next| {
            if best.is_none_or(|b| (at, n) < b) {
                best = Some((at, n));
            }
        };
        for (i, node) in self.nodes.iter().enumerate() {
            if let Some(at) = node.start_at.filter(|_| !node.up) {
                offer(at, Next::Start(i));
            }
            if !node.up {
                continue;
            }
            for (g, due) in node.due.iter().enumerate() {
                if let Some(t) = *due {
                    // Back from the node's clock to global time.
                    let global = Instant(t.0.saturating_sub(node.clock_offset));
                    offer(global.max(self.now), Next::Poll(i, g));
                }
            }
        }
        if let Some(at) = self.net.next_at() {
            offer(at, Next::Deliver);
        }
        best
    }

    fn boot(&mut self, i: usize) {
        let seeds: Vec<u64> = (0..self.nodes[i].cfgs.len())
            .map(|_| self.rng.next_u64())
            .collect();
        let node = &mut self.nodes[i];
        node.up = true;
        node.start_at = None;
        node.engines = node
            .cfgs
            .iter()
            .zip(seeds)
            .map(|(cfg, seed)| Engine::new(cfg.clone(), node.id, seed))
            .collect();
        node.due = vec![None; node.engines.len()];
        self.generation += 1;
        for g in 0..self.nodes[i].engines.len() {
            let now = self.nodes[i].local(self.now);
            let out = self.nodes[i].engines[g].start(now);
            self.handle(i, g, out);
        }
    }

    fn deliver(&mut self) {
        let Some(d) = self.net.pop() else { return };
        let to = d.to;
        if !self.nodes[to].up || !self.net.connected(d.from, to) {
            return;
        }
        let src = self.nodes[d.from].id.ip;
        let Some(g) = self.nodes[to]
            .cfgs
            .iter()
            .position(|c| c.group == d.packet.group)
        else {
            return;
        };
        let now = self.nodes[to].local(self.now);
        let out = self.nodes[to].engines[g].receive(now, src, &d.packet);
        self.handle(to, g, out);
    }

    fn handle(&mut self, i: usize, g: usize, out: Output) {
        if let Some(e) = self.nodes[i].engines.get(g) {
            self.nodes[i].due[g] = e.poll_at();
        }
        if out.dataplane_changed {
            self.generation += 1;
        }
        if self.trace {
            for e in &out.events {
                eprintln!("{} n{i} g{g} {e}", self.now);
            }
        }
        let up: Vec<bool> = self.nodes.iter().map(|n| n.up).collect();
        for o in &out.send {
            // One frame per Ethernet source, as the runtime sends them.
            for _copy in &o.from {
                self.net
                    .multicast(&mut self.rng, self.now, i, &up, &o.packet);
            }
        }
        if self.record && !out.is_empty() {
            self.records.push(Record {
                at: self.now,
                node: i,
                group: g,
                output: out,
            });
        }
    }
}
