//! Virtual gateway state machine: the states, the reasons that move the
//! gateway between them, and one `change_state` holding every entry action
//! (shape of holo-vrrp `instance.rs`). The decisions themselves live in
//! `election.rs`.
//!
//! GLBP reuses HSRP's gateway states (Cisco, "GLBP Operation"):
//! Disabled (no VIP), Initial (configured, not running), Listen (receiving
//! hellos, ready to speak if the active or standby gateway goes away),
//! Speak (contending for active/standby), Standby (next in line), Active
//! (the AVG: answers ARP for the VIP).

use core::fmt;

use super::events::Event as LogEvent;
use super::{Engine, Instant};
use crate::proto::VgState;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    #[default]
    Disabled,
    Initial,
    Listen,
    Speak,
    Standby,
    Active,
}

impl State {
    pub fn to_wire(self) -> VgState {
        match self {
            State::Disabled => VgState::Disabled,
            State::Initial => VgState::Initial,
            State::Listen => VgState::Listen,
            State::Speak => VgState::Speak,
            State::Standby => VgState::Standby,
            State::Active => VgState::Active,
        }
    }

    /// The state a peer reports; `None` for codes we do not know.
    pub fn from_wire(s: VgState) -> Option<State> {
        Some(match s {
            VgState::Disabled => State::Disabled,
            VgState::Initial => State::Initial,
            VgState::Listen => State::Listen,
            VgState::Speak => State::Speak,
            VgState::Standby => State::Standby,
            VgState::Active => State::Active,
            VgState::Unknown(_) => return None,
        })
    }

    /// Taking part in the protocol (sending hellos).
    pub fn running(self) -> bool {
        !matches!(self, State::Disabled | State::Initial)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Disabled => "Disabled",
            State::Initial => "Initial",
            State::Listen => "Listen",
            State::Speak => "Speak",
            State::Standby => "Standby",
            State::Active => "Active",
        })
    }
}

/// Why the virtual gateway changed state; the last one is kept for status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Event {
    #[default]
    None,
    /// `Engine::start`.
    Start,
    /// `Engine::shutdown`, or a reconfiguration that restarts the group.
    Shutdown,
    /// Listen: no active gateway is known.
    NoActive,
    /// Listen: no standby gateway is known.
    NoStandby,
    /// Listen: the standby gateway has a lower priority than ours.
    StandbyWeaker,
    /// Speak lasted its full period without losing.
    SpeakDone,
    /// Another router is better placed for active/standby.
    BetterCandidate,
    /// Standby: the active gateway expired or resigned.
    ActiveDown,
    /// Active: another active gateway has a higher priority (after a
    /// partition heals, or a preemption by a peer).
    HigherActive,
    /// Preemption (configured) of a lower-priority active gateway.
    Preempt,
    /// `Engine::resume`: the data plane was still answering as AVG.
    Resume,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Event::None => "none",
            Event::Start => "start",
            Event::Shutdown => "shutdown",
            Event::NoActive => "no active gateway",
            Event::NoStandby => "no standby gateway",
            Event::StandbyWeaker => "standby has lower priority",
            Event::SpeakDone => "speak period over",
            Event::BetterCandidate => "better candidate present",
            Event::ActiveDown => "active gateway down",
            Event::HigherActive => "higher-priority active gateway",
            Event::Preempt => "preempting lower-priority active",
            Event::Resume => "resumed from the running data plane",
        })
    }
}

impl Engine {
    /// Moves the virtual gateway to `new` and runs the entry actions.
    pub(super) fn change_state(&mut self, now: Instant, new: State, ev: Event) {
        let old = self.state;
        if old == new {
            return;
        }
        match (old, new) {
            (_, State::Disabled | State::Initial) => {
                // Stopped: forget the group; a later start learns it anew.
                self.peers.clear();
                self.vfs.clear();
                self.tombstones.clear();
                self.resigned.clear();
                self.learned = None;
                self.hello_at = None;
                self.hello_from = None;
                self.speak_until = None;
                self.hello_due = false;
            }
            (State::Disabled | State::Initial, State::Listen) => {
                self.started_at = now;
                // Announce ourselves at once so the AVG learns about us.
                self.hello_due = true;
            }
            (_, State::Listen) => {
                self.speak_until = None;
            }
            (_, State::Speak) => {
                // HSRP-style speak period: long enough for every contender's
                // hellos to be heard; together with the initial listen it
                // adds up to one hold time.
                let hold = u64::from(self.hold_ms());
                let hello = u64::from(self.hello_ms());
                self.speak_until = Some(now.add_ms(hold.saturating_sub(hello).max(hello)));
                self.hello_due = true;
            }
            (_, State::Standby | State::Active) => {
                self.speak_until = None;
                self.hello_due = true;
            }
        }
        if old == State::Active {
            // Tell the group at once that we no longer answer ARP.
            self.hello_due = true;
        }
        self.preempt_at = None;
        self.state = new;
        self.last_event = ev;
        self.log(LogEvent::VgStateChanged {
            from: old,
            to: new,
            reason: ev,
        });
    }
}
