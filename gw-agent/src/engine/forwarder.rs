//! Virtual forwarders (Cisco "GLBP virtual forwarder redundancy").
//!
//! Every member tracks every forwarder of the group: as primary (it owns
//! the number, forwarder priority 167) or as secondary (Listen). Who
//! forwards is read from the hellos: a Forwarder TLV in state Active says
//! "I forward for this vMAC".
//!
//! - Primary: forwards as soon as nobody else does; if a secondary took its
//!   vMAC over meanwhile, takes it back after the forwarder preemption
//!   delay (default 30 s), or never if preemption is off.
//! - Secondary: when nobody forwards for a vMAC and its primary is silent
//!   (hold time), gone (resigned) or gave up (weight), the secondary with
//!   the highest weight, then the highest IP, takes it over (priority 135)
//!   and hellos from that vMAC at once so switches relearn the port.
//!   It gives the vMAC back as soon as the primary forwards again.
//! - While a forwarder's primary is not forwarding, two timers run on every
//!   member: after `redirect_s` the AVG stops handing the vMAC out (and
//!   emits a `Redirect` so its hosts move now); after `timeout_s` the
//!   forwarder is removed, nobody forwards for it and its number is free.

use std::net::IpAddr;

use super::events::{Event, VfReason};
use super::peers::{is_active, is_primary};
use super::timers::secs;
use super::{Engine, Instant, Redirect, vmac};
use crate::proto::VfState;

/// One forwarder of the group as this router sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Vf {
    pub num: u8,
    pub vmac: [u8; 6],
    /// Our state for it: Active (we forward) or Listen.
    pub state: VfState,
    /// We own this number.
    pub primary: bool,
    /// Since when its primary has not been forwarding (None: it is).
    pub orphan_since: Option<Instant>,
    pub redirected: bool,
    /// Primary waiting to take the vMAC back from a secondary.
    pub preempt_at: Option<Instant>,
    /// The latest router seen owning it (for status and logs).
    pub last_primary: Option<Owner>,
}

impl Vf {
    pub fn new(group: u16, num: u8) -> Vf {
        Vf {
            num,
            vmac: vmac(group, num),
            state: VfState::Listen,
            primary: false,
            orphan_since: None,
            redirected: false,
            preempt_at: None,
            last_primary: None,
        }
    }
}

/// A router by interface IP and MAC.
type Owner = (IpAddr, [u8; 6]);

/// A peer forwarding for the vMAC.
#[derive(Clone, Copy, Debug)]
pub(super) struct Holder {
    pub ip: IpAddr,
    pub primary: bool,
    pub weight: u8,
}

/// What the peers say about one forwarder.
#[derive(Clone, Debug, Default)]
pub(super) struct View {
    /// Highest-IP peer owning it and forwarding.
    pub primary_active: Option<IpAddr>,
    /// Highest-IP peer owning it but not forwarding (waiting or weight low).
    pub primary_listen: Option<IpAddr>,
    pub holders: Vec<Holder>,
}

impl Engine {
    pub(super) fn view(&self, n: u8) -> View {
        let mut v = View::default();
        for p in self.peers.values() {
            let Some(f) = p.tlv(n) else { continue };
            let primary = is_primary(f);
            if is_active(f) {
                v.holders.push(Holder {
                    ip: p.ip,
                    primary,
                    weight: f.weight,
                });
            }
            if primary {
                let slot = if is_active(f) {
                    &mut v.primary_active
                } else {
                    &mut v.primary_listen
                };
                *slot = (*slot).max(Some(p.ip));
            }
        }
        v
    }

    /// One round of forwarder decisions; true if anything changed.
    pub(super) fn run_vf(&mut self, now: Instant) -> bool {
        if !self.state.running() {
            return false;
        }
        self.tombstones.retain(|_, until| *until > now);
        let mut changed = self.learn_forwarders();
        let nums: Vec<u8> = self.vfs.keys().copied().collect();
        for n in nums {
            changed |= self.step_vf(now, n);
        }
        changed |= self.maybe_claim(now);
        changed
    }

    /// Adds forwarders that peers mention and we did not know yet.
    fn learn_forwarders(&mut self) -> bool {
        let mut new: Vec<(u8, Option<Owner>)> = Vec::new();
        for p in self.peers.values() {
            for f in &p.fwds {
                // A fresh owner claim may reuse a removed number; a mere
                // listing of it may be stale.
                if self.vfs.contains_key(&f.number)
                    || (!is_primary(f) && self.tombstones.contains_key(&f.number))
                    || new.iter().any(|x| x.0 == f.number)
                {
                    continue;
                }
                new.push((f.number, is_primary(f).then_some((p.ip, p.mac))));
            }
        }
        let changed = !new.is_empty();
        for (n, owner) in new {
            let mut vf = Vf::new(self.cfg.group, n);
            vf.last_primary = owner;
            self.log(Event::ForwarderLearned {
                fwd: n,
                vmac: vf.vmac,
            });
            self.vfs.insert(n, vf);
        }
        changed
    }

    fn set_vf(&mut self, vf: &mut Vf, to: VfState, reason: VfReason) {
        if vf.state == to {
            return;
        }
        self.log(Event::ForwarderStateChanged {
            fwd: vf.num,
            vmac: vf.vmac,
            from: vf.state,
            to,
            primary: vf.primary,
            reason,
        });
        vf.state = to;
        // Takeover: the hello goes out now, from the vMAC, so switches
        // relearn its port; release: peers learn now that it is free.
        self.hello_due = true;
    }

    fn step_vf(&mut self, now: Instant, n: u8) -> bool {
        let Some(mut vf) = self.vfs.get(&n).cloned() else {
            return false;
        };
        let before = vf.clone();
        let view = self.view(n);
        let me = self.me.ip;
        if !vf.primary
            && let Some(p) = view
                .primary_active
                .or(view.primary_listen)
                .and_then(|ip| self.peers.get(&ip))
        {
            vf.last_primary = Some((p.ip, p.mac));
        }
        let timeout_at = vf.orphan_since.map(|t| t.add_ms(secs(self.cfg.timeout_s)));
        let timed_out = timeout_at.is_some_and(|t| now >= t);
        // Each member starts these timers when it notices the primary is
        // gone, which differs between members (delays, lost hellos, a
        // restart). When the taker drops a timed-out vMAC, a secondary that
        // outranks it (say, one that restarted after the takeover) and
        // whose own timer has a moment left must not pick it up.
        let ending = timeout_at.is_some_and(|t| now.add_ms(u64::from(self.hold_ms())) >= t);

        // Competing owners: an active primary beats a waiting one, then the
        // higher IP wins; every member applies the same rule.
        if vf.primary {
            let mine_active = vf.state == VfState::Active;
            let lose = match (view.primary_active, view.primary_listen) {
                (Some(ip), _) => !mine_active || ip > me,
                (None, Some(ip)) => !mine_active && ip > me,
                (None, None) => false,
            };
            if lose {
                self.set_vf(&mut vf, VfState::Listen, VfReason::Yield);
                vf.primary = false;
                vf.preempt_at = None;
            }
        }

        if vf.primary {
            self.step_primary(now, &mut vf, &view);
        } else if vf.state == VfState::Active {
            let mine = (self.weight, me);
            let reason = if view.primary_active.is_some() {
                Some(VfReason::PrimaryBack)
            } else if view
                .holders
                .iter()
                .any(|h| !h.primary && (h.weight, h.ip) > mine)
            {
                Some(VfReason::BetterSecondary)
            } else if !self.can_forward() {
                Some(VfReason::WeightLow)
            } else if timed_out {
                Some(VfReason::Timeout)
            } else {
                None
            };
            if let Some(r) = reason {
                self.set_vf(&mut vf, VfState::Listen, r);
            }
        } else if view.holders.is_empty()
            && view.primary_active.is_none()
            && !ending
            && now >= self.takeover_start()
            && self.can_forward()
            && self.best_secondary(now, n)
        {
            self.set_vf(&mut vf, VfState::Active, VfReason::TakeOver);
            self.log(Event::TakeOver {
                fwd: n,
                vmac: vf.vmac,
                from: vf.last_primary.map(|p| p.0),
            });
        }

        // Redirect/timeout timers run while the primary does not forward.
        let primary_fwd =
            view.primary_active.is_some() || (vf.primary && vf.state == VfState::Active);
        let mut redirect_now = false;
        if primary_fwd {
            vf.orphan_since = None;
            vf.redirected = false;
        } else if vf.orphan_since.is_none() {
            vf.orphan_since = Some(now);
            if now >= self.takeover_start() {
                self.log(Event::ForwarderOrphaned {
                    fwd: n,
                    vmac: vf.vmac,
                });
            }
        }
        if let Some(t) = vf.orphan_since
            && !vf.redirected
            && now >= t.add_ms(secs(self.cfg.redirect_s))
        {
            vf.redirected = true;
            redirect_now = true;
            self.log(Event::ForwarderRedirected {
                fwd: n,
                vmac: vf.vmac,
            });
        }

        let timed_out = vf
            .orphan_since
            .is_some_and(|t| now >= t.add_ms(secs(self.cfg.timeout_s)));
        let unused = vf.state != VfState::Active
            && !vf.primary
            && view.holders.is_empty()
            && view.primary_active.is_none()
            && view.primary_listen.is_none();
        if timed_out && unused {
            self.vfs.remove(&n);
            let hold = u64::from(self.hold_ms());
            self.tombstones.insert(n, now.add_ms(hold));
            self.log(Event::ForwarderRemoved {
                fwd: n,
                vmac: vf.vmac,
            });
            return true;
        }
        let changed = before != vf;
        self.vfs.insert(n, vf);
        if redirect_now && self.is_avg() {
            let to = self
                .slots()
                .iter()
                .filter(|s| s.fwd != n)
                .map(|s| (s.fwd, s.vmac))
                .collect();
            self.pending.redirects.push(Redirect {
                fwd: n,
                vmac: vmac(self.cfg.group, n),
                to,
            });
        }
        changed
    }

    fn step_primary(&mut self, now: Instant, vf: &mut Vf, view: &View) {
        if !self.can_forward() {
            vf.preempt_at = None;
            self.set_vf(vf, VfState::Listen, VfReason::WeightLow);
            return;
        }
        if vf.state == VfState::Active {
            return;
        }
        if view.holders.is_empty() {
            vf.preempt_at = None;
            self.set_vf(vf, VfState::Active, VfReason::Claimed);
            return;
        }
        // A secondary forwards our vMAC: forwarder preemption (Cisco
        // `glbp forwarder preempt delay minimum`, on by default, 30 s).
        if let Some(delay) = self.cfg.forwarder_preempt_delay_ms {
            let at = *vf.preempt_at.get_or_insert(now.add_ms(u64::from(delay)));
            if now >= at {
                vf.preempt_at = None;
                self.set_vf(vf, VfState::Active, VfReason::Preempt);
            }
        } else {
            vf.preempt_at = None;
        }
    }

    /// We are the secondary that should take `n` over: no peer that could
    /// (not its owner, past its own initial learning) has a higher
    /// (weight, IP). Peers advertising no forwarder have no known weight
    /// and rank last.
    fn best_secondary(&self, now: Instant, n: u8) -> bool {
        let me = (self.weight, self.me.ip);
        !self.peers.values().any(|p| {
            !p.claims(n)
                && p.first_seen.add_ms(u64::from(p.hold_ms)) <= now
                && (p.weight().unwrap_or(0), p.ip) > me
        })
    }

    /// Gives up owning numbers above `max` (configuration shrank).
    pub(super) fn drop_claims_above(&mut self, now: Instant, max: u8) {
        let nums: Vec<u8> = self
            .vfs
            .values()
            .filter(|v| v.primary && v.num > max)
            .map(|v| v.num)
            .collect();
        for n in nums {
            if let Some(mut vf) = self.vfs.get(&n).cloned() {
                self.set_vf(&mut vf, VfState::Listen, VfReason::Reconfigure);
                vf.primary = false;
                vf.preempt_at = None;
                vf.orphan_since.get_or_insert(now);
                self.vfs.insert(n, vf);
            }
        }
    }
}
