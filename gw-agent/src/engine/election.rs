//! Virtual gateway election. GLBP reuses HSRP's scheme (RFC 2281 section 5
//! describes HSRP; Cisco documents GLBP's AVG election the same way):
//! highest priority wins, ties go to the higher interface IP. The active
//! gateway is sticky unless preemption is configured; the standby slot
//! always goes to the best remaining contender.
//!
//! Decisions here are re-evaluated after every input (`run_vg`), so a
//! timer, a hello or an expiry all lead through the same few rules:
//! - Listen (after one hello time of learning): speak if we could become
//!   active or standby.
//! - Speak: drop back to Listen as soon as we cannot win anything; at the
//!   end of the speak period become Active or Standby.
//! - Standby: Active as soon as no active gateway is left (expired or
//!   resigned), unless a better contender is in line; Listen when a
//!   better router is standby.
//! - Active: step down (Speak) when a higher-ranked gateway is active too.

use std::net::IpAddr;

use super::fsm::{Event, State};
use super::peers::Peer;
use super::{Engine, Instant};

/// Election order: priority, then interface IP (`IpAddr`'s order: a group
/// only ever sees one address family, so this is the numeric order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Rank {
    pub priority: u8,
    pub ip: IpAddr,
}

/// What we would be if the election were held now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prospect {
    Active,
    Standby,
    Nothing,
}

impl Engine {
    pub(super) fn rank(&self) -> Rank {
        Rank {
            priority: self.cfg.priority,
            ip: self.me.ip,
        }
    }

    /// The best peer that says it is the active gateway.
    pub(super) fn active_peer(&self) -> Option<&Peer> {
        self.peers
            .values()
            .filter(|p| p.state == State::Active)
            .max_by_key(|p| p.rank())
    }

    pub(super) fn standby_peer(&self) -> Option<&Peer> {
        self.peers
            .values()
            .filter(|p| p.state == State::Standby)
            .max_by_key(|p| p.rank())
    }

    /// Peers contending for active/standby that rank above us.
    fn better_contenders(&self) -> usize {
        let me = self.rank();
        self.peers
            .values()
            .filter(|p| matches!(p.state, State::Speak | State::Standby) && p.rank() > me)
            .count()
    }

    fn prospect(&self) -> Prospect {
        let better = self.better_contenders();
        match (self.active_peer().is_some(), better) {
            (false, 0) => Prospect::Active,
            (false, 1) | (true, 0) => Prospect::Standby,
            _ => Prospect::Nothing,
        }
    }

    /// One round of gateway decisions; true if the state changed.
    pub(super) fn run_vg(&mut self, now: Instant) -> bool {
        let before = self.state;
        match self.state {
            State::Disabled | State::Initial => {}
            State::Listen => self.vg_listen(now),
            State::Speak => self.vg_speak(now),
            State::Standby => self.vg_standby(now),
            State::Active => self.vg_active(now),
        }
        self.vg_preempt(now);
        self.state != before
    }

    fn vg_listen(&mut self, now: Instant) {
        if now < self.learn_end() {
            return;
        }
        if self.prospect() == Prospect::Nothing {
            return;
        }
        let reason = match (self.active_peer(), self.standby_peer()) {
            (None, _) => Event::NoActive,
            (Some(_), None) => Event::NoStandby,
            (Some(_), Some(_)) => Event::StandbyWeaker,
        };
        self.change_state(now, State::Speak, reason);
    }

    fn vg_speak(&mut self, now: Instant) {
        let prospect = self.prospect();
        let done = self.speak_until.is_none_or(|t| t <= now);
        match prospect {
            Prospect::Nothing => self.change_state(now, State::Listen, Event::BetterCandidate),
            Prospect::Active if done => self.change_state(now, State::Active, Event::SpeakDone),
            Prospect::Standby if done => self.change_state(now, State::Standby, Event::SpeakDone),
            _ => {}
        }
    }

    fn vg_standby(&mut self, now: Instant) {
        let me = self.rank();
        if self.standby_peer().is_some_and(|p| p.rank() > me) {
            self.change_state(now, State::Listen, Event::BetterCandidate);
        } else if self.active_peer().is_none() && self.better_contenders() == 0 {
            // The standby already knows every forwarder, so ARP answers go
            // on with the same vMACs.
            self.change_state(now, State::Active, Event::ActiveDown);
        }
    }

    fn vg_active(&mut self, now: Instant) {
        let me = self.rank();
        if self.active_peer().is_some_and(|p| p.rank() > me) {
            self.change_state(now, State::Speak, Event::HigherActive);
        }
    }

    /// AVG preemption (`glbp preempt [delay minimum]`): take over from an
    /// active gateway of lower priority once the delay has passed. Cisco
    /// preempts on priority alone, so an equal priority never preempts.
    fn vg_preempt(&mut self, now: Instant) {
        let Some(delay) = self.cfg.preempt_delay_ms else {
            self.preempt_at = None;
            return;
        };
        let eligible = matches!(self.state, State::Listen | State::Speak | State::Standby)
            && now >= self.learn_end();
        let weaker = self
            .active_peer()
            .is_some_and(|p| p.priority < self.cfg.priority);
        if !(eligible && weaker) {
            self.preempt_at = None;
            return;
        }
        let at = *self.preempt_at.get_or_insert(now.add_ms(u64::from(delay)));
        if now >= at {
            self.change_state(now, State::Active, Event::Preempt);
        }
    }
}
