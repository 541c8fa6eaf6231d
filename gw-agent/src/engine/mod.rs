//! GLBP protocol engine: virtual gateway election and virtual forwarders,
//! one `Engine` per group. Read DESIGN.md ("Control plane") and
//! GLBP-WIRE.md first.
//!
//! Contract: the engine is pure. It never reads a clock (every entry point
//! takes `now`; `poll_at` says when to call `poll` next), never does I/O
//! (it returns an `Output`: packets to multicast, hosts to redirect, a
//! changed dataplane, log events), draws randomness only from the seed
//! given to `new`, and never panics on any parsed packet: a packet that
//! makes no sense is ignored and reported as `Event::PacketIgnored`. So the
//! same (config, seed, inputs) always give the same outputs, which is what
//! lets `crate::sim` run whole groups in virtual time.
//!
//! Files: `fsm.rs` (gateway states, entry actions), `election.rs` (who is
//! active/standby), `peers.rs` (receiving hellos, hold timers),
//! `forwarder.rs` + `assign.rs` (virtual forwarders, takeover, redirect
//! and timeout), `tx.rs` (hellos, dataplane), `status.rs`, `events.rs`.
//!
//! Forwarder numbers: the wire's Forwarder TLV carries no owner field, so
//! an assignment is made visible by the owner itself. The AVG's hello
//! lists every forwarder number in use (its own view, state Listen for the
//! ones it does not forward); a member without a number takes the next one
//! the AVG does not list, by a rule every member applies alike (unassigned
//! members, the AVG first and then by descending IP, get the orphaned
//! numbers first, then the free ones; see `assign.rs`), and announces it
//! as primary (forwarder priority 167).
//! Competing claims are settled by the same rule everywhere: an active
//! primary beats a waiting one, then the higher IP wins.

mod assign;
mod election;
mod events;
mod forwarder;
pub mod fsm;
mod peers;
pub mod rand;
mod status;
mod timers;
mod tx;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

pub use events::{Event, IgnoreReason, Mac, VfReason};
pub use fsm::State;
pub use status::{ForwarderStatus, PeerStatus, Status};
pub use timers::Instant;

use forwarder::Vf;
use peers::Peer;
use rand::Rand;

/// Cisco defaults (GLBP-WIRE.md, "Cisco defaults worth matching").
pub const DEFAULT_HELLO_MS: u32 = 3_000;
pub const DEFAULT_HOLD_MS: u32 = 10_000;
pub const DEFAULT_PRIORITY: u8 = 100;
pub const DEFAULT_REDIRECT_S: u16 = 600;
pub const DEFAULT_TIMEOUT_S: u16 = 14_400;
pub const DEFAULT_MAX_FORWARDERS: u8 = 4;
pub const DEFAULT_FORWARDER_PREEMPT_MS: u32 = 30_000;
pub const DEFAULT_WEIGHT: u8 = 100;
/// Forwarder priority on the wire: Cisco shows 167 for the owner (primary)
/// and 135 for a router that took the forwarder over.
pub const VF_PRIORITY_PRIMARY: u8 = 167;
pub const VF_PRIORITY_SECONDARY: u8 = 135;

/// The vMAC of forwarder `fwd` in `group`: 00:07:b4:0G:GG:FF, the one
/// scheme the XDP program and the agent share.
pub use gw_common::vmac;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LoadBalancing {
    #[default]
    RoundRobin,
    Weighted,
    HostDependent,
    /// The AVG hands out only its own vMAC (HSRP-like).
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Weighting {
    /// 1..=254, default 100.
    pub max: u8,
    /// Below this, the router stops forwarding (default = max).
    pub lower: u8,
    /// At or above this, it forwards again (default = max).
    pub upper: u8,
}

impl Default for Weighting {
    fn default() -> Self {
        Weighting {
            max: DEFAULT_WEIGHT,
            lower: DEFAULT_WEIGHT,
            upper: DEFAULT_WEIGHT,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    pub group: u16,
    /// The virtual IP the group's hellos carry: an IPv4 address, or for
    /// a group run over IPv6 its virtual link-local address. A group only
    /// ever sees one address family.
    pub vip: IpAddr,
    /// 1..=255, default 100.
    pub priority: u8,
    /// AVG preemption; `None` = off (Cisco default).
    pub preempt_delay_ms: Option<u32>,
    /// `None` = not configured: learned from the AVG's hello, defaults
    /// 3000/10000 until learned.
    pub hello_ms: Option<u32>,
    pub hold_ms: Option<u32>,
    pub redirect_s: u16,
    pub timeout_s: u16,
    /// Default 4, up to 255.
    pub max_forwarders: u8,
    /// Default `Some(30_000)`; `None` = forwarder preemption off.
    pub forwarder_preempt_delay_ms: Option<u32>,
    pub weighting: Weighting,
    pub load_balancing: LoadBalancing,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            group: 0,
            vip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            priority: DEFAULT_PRIORITY,
            preempt_delay_ms: None,
            hello_ms: None,
            hold_ms: None,
            redirect_s: DEFAULT_REDIRECT_S,
            timeout_s: DEFAULT_TIMEOUT_S,
            max_forwarders: DEFAULT_MAX_FORWARDERS,
            forwarder_preempt_delay_ms: Some(DEFAULT_FORWARDER_PREEMPT_MS),
            weighting: Weighting::default(),
            load_balancing: LoadBalancing::default(),
        }
    }
}

/// This router on the group's interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Identity {
    /// The interface address peers see as the source of our hellos: IPv4,
    /// or the IPv6 link-local address for a group run over IPv6.
    pub ip: IpAddr,
    pub mac: [u8; 6],
}

/// What one call produced. Apply in order: dataplane first (if changed),
/// then send, then redirects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// Packets to multicast.
    pub send: Vec<Outgoing>,
    /// AVG: move hosts of a redirected forwarder.
    pub redirects: Vec<Redirect>,
    /// `Engine::dataplane()` differs from before this call.
    pub dataplane_changed: bool,
    /// State changes, one log line each.
    pub events: Vec<Event>,
}

impl Output {
    pub fn is_empty(&self) -> bool {
        self.send.is_empty()
            && self.redirects.is_empty()
            && !self.dataplane_changed
            && self.events.is_empty()
    }
}

/// Send `packet` once from each of `from` (Ethernet source MACs): the
/// interface MAC when we forward for nothing, else each vMAC we are
/// active for, so switches keep (or relearn) where each vMAC lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub packet: crate::proto::Packet,
    pub from: Vec<[u8; 6]>,
}

/// Clients holding `vmac` should be told (unicast ARP) one of `to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirect {
    pub fwd: u8,
    pub vmac: [u8; 6],
    pub to: Vec<(u8, [u8; 6])>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataplaneState {
    /// Answer broadcast ARP for the VIP.
    pub avg: bool,
    /// Forwarders the AVG hands out, in number order (empty when not AVG).
    pub slots: Vec<SlotEntry>,
    /// (forwarder number, vMAC) this router is active forwarder for.
    pub owned: Vec<(u8, [u8; 6])>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotEntry {
    pub fwd: u8,
    pub vmac: [u8; 6],
    pub weight: u8,
}

/// What a still-running data plane says this router was doing, for
/// `Engine::resume`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prior {
    /// It answered ARP as AVG.
    pub active: bool,
    /// Forwarder numbers it forwarded for.
    pub owned: Vec<u8>,
    /// Forwarder numbers it handed out as AVG.
    pub handed_out: Vec<u8>,
}

/// One GLBP group on one interface.
#[derive(Clone, Debug)]
pub struct Engine {
    cfg: EngineConfig,
    me: Identity,
    rng: Rand,
    state: State,
    last_event: fsm::Event,
    /// Latest `now` seen; time never goes back inside the engine.
    now: Instant,
    started_at: Instant,
    hello_at: Option<Instant>,
    /// From here the periodic hello may go ahead of `hello_at`.
    hello_from: Option<Instant>,
    /// Triggered hello: send at the end of this call.
    hello_due: bool,
    speak_until: Option<Instant>,
    /// AVG preemption deadline while a lower-priority AVG is seen.
    preempt_at: Option<Instant>,
    /// (hello, hold) learned from the AVG.
    learned: Option<(u32, u32)>,
    /// Live peers only: expired ones are removed at once.
    peers: BTreeMap<IpAddr, Peer>,
    vfs: BTreeMap<u8, Vf>,
    /// Recently removed forwarder numbers: a stale listing must not bring
    /// them back (until the given time).
    tombstones: BTreeMap<u8, Instant>,
    /// Peers that resigned, until when a hello claiming more than a freshly
    /// started router could have is taken as stale.
    resigned: BTreeMap<IpAddr, Instant>,
    weight: u8,
    /// Weighting hysteresis: false once below `lower`, true again at `upper`.
    weight_ok: bool,
    dataplane: DataplaneState,
    /// `poll_at`, computed at the end of every call.
    next_at: Option<Instant>,
    /// An input changed something the decisions depend on (see `finish`).
    dirty: bool,
    pending: Output,
}

impl Engine {
    pub fn new(cfg: EngineConfig, me: Identity, seed: u64) -> Engine {
        let weight = cfg.weighting.max.clamp(1, 254);
        Engine {
            cfg,
            me,
            rng: Rand::new(seed),
            state: State::Disabled,
            last_event: fsm::Event::None,
            now: Instant::ZERO,
            started_at: Instant::ZERO,
            hello_at: None,
            hello_from: None,
            hello_due: false,
            speak_until: None,
            preempt_at: None,
            learned: None,
            peers: BTreeMap::new(),
            vfs: BTreeMap::new(),
            tombstones: BTreeMap::new(),
            resigned: BTreeMap::new(),
            weight,
            weight_ok: true,
            dataplane: DataplaneState::default(),
            next_at: None,
            dirty: true,
            pending: Output::default(),
        }
    }

    /// Disabled/Initial -> Initial -> Listen; the first hello goes out at once.
    pub fn start(&mut self, now: Instant) -> Output {
        let now = self.enter(now);
        if !self.state.running() {
            if self.state == State::Disabled {
                self.change_state(now, State::Initial, fsm::Event::Start);
            }
            self.change_state(now, State::Listen, fsm::Event::Start);
        }
        self.finish(now)
    }

    /// Like `start`, for an agent that restarted while its data plane kept
    /// answering (the pinned program's lease had not run out): `prior` is
    /// what that data plane was doing. An AVG resumes as Active at once and
    /// keeps handing out the forwarders it knew; owned forwarders stay
    /// active. Peers that moved on meanwhile are settled by the ordinary
    /// rules (a higher-priority Active wins), so this only closes the gap a
    /// cold start would leave.
    pub fn resume(&mut self, now: Instant, prior: &Prior) -> Output {
        let now = self.enter(now);
        if !self.state.running() {
            if self.state == State::Disabled {
                self.change_state(now, State::Initial, fsm::Event::Start);
            }
            self.change_state(now, State::Listen, fsm::Event::Start);
            for &n in prior.handed_out.iter().chain(&prior.owned) {
                if n >= 1 && n <= self.cfg.max_forwarders {
                    self.vfs
                        .entry(n)
                        .or_insert_with(|| Vf::new(self.cfg.group, n));
                }
            }
            for n in &prior.owned {
                if let Some(vf) = self.vfs.get_mut(n) {
                    vf.primary = true;
                    vf.state = crate::proto::VfState::Active;
                    vf.last_primary = Some((self.me.ip, self.me.mac));
                }
            }
            if prior.active {
                self.change_state(now, State::Active, fsm::Event::Resume);
            }
        }
        self.finish(now)
    }

    /// A packet from `src`, already authenticated and TTL-checked.
    pub fn receive(&mut self, now: Instant, src: IpAddr, pkt: &crate::proto::Packet) -> Output {
        let now = self.enter(now);
        self.dirty = false;
        if self.state.running() {
            self.expire_peers(now);
            self.on_packet(now, src, pkt);
        }
        self.finish(now)
    }

    /// Handles every timer due at or before `now`.
    pub fn poll(&mut self, now: Instant) -> Output {
        let now = self.enter(now);
        self.dirty = false;
        self.finish(now)
    }

    /// The next deadline (always later than the last `now` seen).
    pub fn poll_at(&self) -> Option<Instant> {
        self.next_at
    }

    /// From when the periodic hello may go early (`poll_hello`): a tenth
    /// of the hello time before it is due.
    pub fn hello_window(&self) -> Option<Instant> {
        self.hello_from.filter(|_| self.state.running())
    }

    /// Sends the periodic hello now if its window is open, ahead of its
    /// deadline, and handles nothing else that is not due. The runtime
    /// calls this for every group whose window is open when it wakes for
    /// other groups' timers: their hellos leave in one burst, a thousand
    /// groups wake both routers a few times a second instead of dozens.
    /// Early is harmless: peers run their hold timers from the hello they
    /// hear, and the next hello is timed from this one.
    pub fn poll_hello(&mut self, now: Instant) -> Output {
        let now = self.enter(now);
        self.dirty = false;
        if self.state.running() && self.hello_from.is_some_and(|t| t <= now) {
            self.hello_due = true;
        }
        self.finish(now)
    }

    /// Tracking changed the current weight. Below `lower` the router stops
    /// forwarding; it resumes only once the weight is back at `upper`
    /// (Cisco `glbp weighting .. lower .. upper`). The new weight goes out
    /// with the next hello.
    pub fn set_weight(&mut self, now: Instant, weight: u8) -> Output {
        let now = self.enter(now);
        self.apply_weight(weight);
        self.finish(now)
    }

    /// Applies a new configuration, touching only what changed. A new group
    /// or VIP is a different gateway: resign and start again.
    pub fn reconfigure(&mut self, now: Instant, cfg: EngineConfig) -> Output {
        let now = self.enter(now);
        let old = std::mem::replace(&mut self.cfg, cfg);
        if old == self.cfg {
            return self.finish(now);
        }
        let running = self.state.running();
        if old.group != self.cfg.group || old.vip != self.cfg.vip {
            if running {
                let new = std::mem::replace(&mut self.cfg, old);
                self.resign(now);
                self.cfg = new;
                self.change_state(now, State::Listen, fsm::Event::Start);
            }
            return self.finish(now);
        }
        if old.weighting != self.cfg.weighting {
            // Re-evaluate the thresholds against the current weight.
            self.apply_weight(self.weight.min(self.cfg.weighting.max));
        }
        if old.max_forwarders > self.cfg.max_forwarders {
            self.drop_claims_above(now, self.cfg.max_forwarders);
        }
        if old.hello_ms != self.cfg.hello_ms || old.hold_ms != self.cfg.hold_ms {
            self.learned = None;
        }
        if running
            && (old.priority != self.cfg.priority
                || old.hello_ms != self.cfg.hello_ms
                || old.hold_ms != self.cfg.hold_ms
                || old.redirect_s != self.cfg.redirect_s
                || old.timeout_s != self.cfg.timeout_s)
        {
            // Advertise the new values at once.
            self.hello_due = true;
        }
        self.finish(now)
    }

    /// Clean stop: one last hello saying we are gone (state Initial, our
    /// forwarders Listen), so peers take over at once instead of waiting
    /// for the hold time.
    pub fn shutdown(&mut self, now: Instant) -> Output {
        let now = self.enter(now);
        if self.state.running() {
            self.resign(now);
        }
        self.finish(now)
    }

    pub fn dataplane(&self) -> &DataplaneState {
        &self.dataplane
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn identity(&self) -> Identity {
        self.me
    }

    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    // ----- internals shared by the submodules -----

    fn enter(&mut self, now: Instant) -> Instant {
        // A clock that steps back would otherwise re-arm expired timers.
        self.now = self.now.max(now);
        // Receive and poll clear this again unless something changed.
        self.dirty = true;
        self.now
    }

    /// Runs every due timer and decision to a fixed point, sends the hello
    /// if due, and returns what accumulated.
    ///
    /// The decisions are a function of the state, the peers and the time,
    /// and they compare the time only against stored deadlines. So when no
    /// input changed anything (`dirty`, typically a peer's periodic hello
    /// repeating the previous one) and no deadline has passed since the
    /// last fixed point, they would all come out as before: skip them.
    fn finish(&mut self, now: Instant) -> Output {
        let due = self.dirty || self.next_at.is_none_or(|t| t <= now);
        if self.state.running() && due {
            self.expire_peers(now);
            // Each pass may enable another decision (becoming AVG lets us
            // claim a forwarder, a claim changes the slots...); a handful
            // of passes always settles, the bound is a safety net.
            for _ in 0..16 {
                let vg = self.run_vg(now);
                let vf = self.run_vf(now);
                if !vg && !vf {
                    break;
                }
            }
        }
        if self.state.running() && (self.hello_due || self.hello_at.is_some_and(|t| t <= now)) {
            self.send_hello(now);
        }
        if due {
            let dp = self.compute_dataplane();
            if dp != self.dataplane {
                self.dataplane = dp;
                self.pending.dataplane_changed = true;
            }
        }
        self.dirty = false;
        self.next_at = self.next_deadline(now);
        std::mem::take(&mut self.pending)
    }

    fn log(&mut self, ev: Event) {
        self.pending.events.push(ev);
    }

    /// The hello time in use: configured, else learned from the AVG, else
    /// the default.
    pub fn hello_ms(&self) -> u32 {
        self.cfg
            .hello_ms
            .or(self.learned.map(|l| l.0))
            .unwrap_or(DEFAULT_HELLO_MS)
            .max(1)
    }

    /// The hold time in use (as `hello_ms`; always above the hello time).
    /// The runtime's data plane lease uses it too.
    pub fn hold_ms(&self) -> u32 {
        self.cfg
            .hold_ms
            .or(self.learned.map(|l| l.1))
            .unwrap_or(DEFAULT_HOLD_MS)
            .max(self.hello_ms().saturating_add(1))
    }

    /// End of the initial listen (we have heard every peer's periodic hello).
    fn learn_end(&self) -> Instant {
        self.started_at.add_ms(u64::from(self.hello_ms()))
    }

    /// Before this we know too little of the group to take anything over.
    fn takeover_start(&self) -> Instant {
        self.started_at.add_ms(u64::from(self.hold_ms()))
    }

    fn is_avg(&self) -> bool {
        self.state == State::Active
    }

    /// Allowed to forward: running and weight not below the threshold.
    fn can_forward(&self) -> bool {
        self.state.running() && self.weight_ok
    }

    fn apply_weight(&mut self, weight: u8) {
        let w = weight.clamp(1, self.cfg.weighting.max.clamp(1, 254));
        let ok = if w < self.cfg.weighting.lower {
            false
        } else if w >= self.cfg.weighting.upper {
            true
        } else {
            self.weight_ok
        };
        if w == self.weight && ok == self.weight_ok {
            return;
        }
        self.log(Event::WeightChanged {
            from: self.weight,
            to: w,
            forwarding: ok,
        });
        if ok != self.weight_ok && self.state.running() {
            // Giving up or resuming forwarding changes who forwards what.
            self.hello_due = true;
        }
        self.weight = w;
        self.weight_ok = ok;
    }

    /// The earliest stored deadline after `now`. Deadlines at or before
    /// `now` were handled by this call (or wait for an input, like a
    /// timed-out forwarder someone still forwards for), so they are left
    /// out: `poll_at` never asks for a poll that would change nothing.
    fn next_deadline(&self, now: Instant) -> Option<Instant> {
        if !self.state.running() {
            return None;
        }
        let mut next: Option<Instant> = None;
        let mut offer = |t: Option<Instant>| {
            if let Some(t) = t
                && t > now
                && next.is_none_or(|n| t < n)
            {
                next = Some(t);
            }
        };
        offer(self.hello_at);
        offer(self.speak_until);
        offer(self.preempt_at);
        offer(Some(self.learn_end()));
        offer(Some(self.takeover_start()));
        for t in self.tombstones.values() {
            offer(Some(*t));
        }
        for p in self.peers.values() {
            offer(Some(p.expires));
            // When the peer counts as a takeover candidate.
            offer(Some(p.first_seen.add_ms(u64::from(p.hold_ms))));
        }
        for v in self.vfs.values() {
            offer(v.preempt_at);
            if let Some(t) = v.orphan_since {
                if !v.redirected {
                    offer(Some(t.add_ms(timers::secs(self.cfg.redirect_s))));
                }
                offer(Some(t.add_ms(timers::secs(self.cfg.timeout_s))));
            }
        }
        next
    }
}
