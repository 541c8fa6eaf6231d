//! Forwarder number assignment.
//!
//! Cisco's AVG assigns each member a forwarder number (and so a vMAC), up to
//! 4 by default. The Forwarder TLV as publicly decoded has no field naming
//! the member a number is meant for, so the assignment is a rule that the
//! AVG and every member evaluate alike on the same hellos:
//!
//! 1. The AVG's hello lists every number in use; nothing is taken before
//!    an AVG exists (it alone answers ARP, so a vMAC is useless before).
//! 2. Members that own no number line up: the AVG first (Cisco's AVG always
//!    forwards too), then the others in descending IP order.
//! 3. The n-th in line takes the n-th candidate number: first the orphaned
//!    ones (known, but with no owner: a restarted primary gets its vMAC
//!    back this way, and an unassigned member revives a dead router's
//!    vMAC for the hosts that still use it), then the free ones, lowest
//!    first, up to `max_forwarders`.
//! 4. It announces the number as owner (Forwarder TLV, priority 167) in
//!    its hellos; the AVG then lists it. Should two members still pick the
//!    same number (one had not heard the other yet), the owner that
//!    forwards wins over one that waits, then the higher IP; the loser
//!    lines up again.

use std::net::IpAddr;

use super::events::Event;
use super::forwarder::Vf;
use super::{Engine, Instant, State};

impl Engine {
    /// Takes a forwarder number if we own none and one is ours by the rule
    /// above. True if we claimed one.
    pub(super) fn maybe_claim(&mut self, now: Instant) -> bool {
        if self.vfs.values().any(|v| v.primary) {
            return false;
        }
        // After one hello time we have heard every live member once; a
        // router giving up forwarding does not take a number either.
        if !self.can_forward() || now < self.learn_end() {
            return false;
        }
        if !self.is_avg() && self.active_peer().is_none() {
            return false;
        }
        let max = self.cfg.max_forwarders;
        let orphans = self
            .vfs
            .values()
            .filter(|v| v.num <= max && !self.peers.values().any(|p| p.claims(v.num)))
            .map(|v| v.num);
        let free =
            (1..=max).filter(|n| !self.vfs.contains_key(n) && !self.tombstones.contains_key(n));
        let candidates: Vec<u8> = orphans.chain(free).collect();
        if candidates.is_empty() {
            // The usual case for the routers beyond `max_forwarders`.
            return false;
        }
        let mut line: Vec<(bool, IpAddr)> = self
            .peers
            .values()
            .filter(|p| !p.has_claim())
            .map(|p| (p.state == State::Active, p.ip))
            .collect();
        line.push((self.is_avg(), self.me.ip));
        line.sort_unstable_by(|a, b| b.cmp(a));
        let Some(place) = line.iter().position(|m| m.1 == self.me.ip) else {
            return false;
        };
        let Some(&n) = candidates.get(place) else {
            return false;
        };
        let mut vf = self
            .vfs
            .remove(&n)
            .unwrap_or_else(|| Vf::new(self.cfg.group, n));
        vf.primary = true;
        vf.last_primary = Some((self.me.ip, self.me.mac));
        self.log(Event::ForwarderClaimed {
            fwd: n,
            vmac: vf.vmac,
        });
        self.vfs.insert(n, vf);
        self.hello_due = true;
        true
    }
}
