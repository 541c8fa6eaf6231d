//! What the engine reports: one `Event` per state change or notable input,
//! each rendering as one log line (the runtime logs them with tracing).

use core::fmt;
use std::net::IpAddr;

use super::fsm;
use crate::proto::VfState;

/// Formats a MAC as `00:07:b4:00:01:01`.
pub struct Mac<'a>(pub &'a [u8; 6]);

impl fmt::Display for Mac<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

/// Why a received packet was ignored (one counter each in the runtime).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum IgnoreReason {
    #[error("group {0} is not ours")]
    WrongGroup(u16),
    #[error("no hello TLV")]
    NoHello,
    #[error("virtual IP differs from ours")]
    WrongVip,
    #[error("priority 0")]
    ZeroPriority,
    #[error("bad timers (hello {hello_ms} ms, hold {hold_ms} ms)")]
    BadTimers { hello_ms: u32, hold_ms: u32 },
    #[error("unknown gateway state code {0:#x}")]
    UnknownState(u8),
    #[error("forwarder TLV {0}: number 0, weight 0 or vMAC not of this group")]
    BadForwarder(u8),
    #[error("stale hello from a router that just resigned")]
    Stale,
}

/// Why one of our virtual forwarders changed state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VfReason {
    /// We became its primary and nobody forwards for it.
    Claimed,
    /// Forwarder preemption delay over: the primary takes its vMAC back.
    Preempt,
    /// Another router has a stronger claim on the same forwarder number.
    Yield,
    /// The primary is forwarding again.
    PrimaryBack,
    /// Another secondary with a higher weight (or IP) took it over too.
    BetterSecondary,
    /// Our weight fell below the lower threshold.
    WeightLow,
    /// The primary went silent or gave up: we are the best secondary.
    TakeOver,
    /// The timeout ran out: the forwarder is removed.
    Timeout,
    /// Clean stop.
    Shutdown,
    /// Configuration change (e.g. fewer forwarders allowed).
    Reconfigure,
}

impl fmt::Display for VfReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VfReason::Claimed => "claimed as primary",
            VfReason::Preempt => "forwarder preemption",
            VfReason::Yield => "yielded to a stronger claim",
            VfReason::PrimaryBack => "primary is back",
            VfReason::BetterSecondary => "better secondary active",
            VfReason::WeightLow => "weight below lower threshold",
            VfReason::TakeOver => "took over from silent primary",
            VfReason::Timeout => "timeout expired",
            VfReason::Shutdown => "shutdown",
            VfReason::Reconfigure => "reconfigured",
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    VgStateChanged {
        from: fsm::State,
        to: fsm::State,
        reason: fsm::Event,
    },
    ForwarderStateChanged {
        fwd: u8,
        vmac: [u8; 6],
        from: VfState,
        to: VfState,
        primary: bool,
        reason: VfReason,
    },
    PeerAppeared {
        ip: IpAddr,
        mac: [u8; 6],
    },
    PeerExpired {
        ip: IpAddr,
    },
    /// The peer said goodbye (hello in state Initial/Disabled).
    PeerResigned {
        ip: IpAddr,
    },
    /// We now forward for a vMAC whose primary is `from` (if known).
    TakeOver {
        fwd: u8,
        vmac: [u8; 6],
        from: Option<IpAddr>,
    },
    /// A forwarder number became known (assigned somewhere in the group).
    ForwarderLearned {
        fwd: u8,
        vmac: [u8; 6],
    },
    /// We took this forwarder number as ours (primary).
    ForwarderClaimed {
        fwd: u8,
        vmac: [u8; 6],
    },
    /// The forwarder's primary stopped forwarding: redirect and timeout
    /// timers start.
    ForwarderOrphaned {
        fwd: u8,
        vmac: [u8; 6],
    },
    /// Redirect time over: the AVG no longer hands this vMAC out.
    ForwarderRedirected {
        fwd: u8,
        vmac: [u8; 6],
    },
    /// Timeout over: the forwarder is gone, its number free again.
    ForwarderRemoved {
        fwd: u8,
        vmac: [u8; 6],
    },
    WeightChanged {
        from: u8,
        to: u8,
        forwarding: bool,
    },
    TimersLearned {
        hello_ms: u32,
        hold_ms: u32,
        from: IpAddr,
    },
    PacketIgnored {
        src: IpAddr,
        reason: IgnoreReason,
    },
}

fn vf_state(s: VfState) -> &'static str {
    match s {
        VfState::Disabled => "Disabled",
        VfState::Initial => "Init",
        VfState::Listen => "Listen",
        VfState::Active => "Active",
        VfState::Unknown(_) => "Unknown",
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::VgStateChanged { from, to, reason } => {
                write!(f, "gateway state {from} -> {to} ({reason})")
            }
            Event::ForwarderStateChanged {
                fwd,
                vmac,
                from,
                to,
                primary,
                reason,
            } => write!(
                f,
                "forwarder {fwd} ({}, {}) {} -> {} ({reason})",
                Mac(vmac),
                if *primary { "primary" } else { "secondary" },
                vf_state(*from),
                vf_state(*to)
            ),
            Event::PeerAppeared { ip, mac } => write!(f, "peer {ip} ({}) appeared", Mac(mac)),
            Event::PeerExpired { ip } => write!(f, "peer {ip} expired (hold time)"),
            Event::PeerResigned { ip } => write!(f, "peer {ip} resigned"),
            Event::TakeOver { fwd, vmac, from } => match from {
                Some(ip) => write!(f, "took over forwarder {fwd} ({}) from {ip}", Mac(vmac)),
                None => write!(f, "took over forwarder {fwd} ({})", Mac(vmac)),
            },
            Event::ForwarderLearned { fwd, vmac } => {
                write!(f, "forwarder {fwd} ({}) learned", Mac(vmac))
            }
            Event::ForwarderClaimed { fwd, vmac } => {
                write!(f, "forwarder {fwd} ({}) claimed as primary", Mac(vmac))
            }
            Event::ForwarderOrphaned { fwd, vmac } => write!(
                f,
                "forwarder {fwd} ({}) lost its primary; redirect/timeout timers started",
                Mac(vmac)
            ),
            Event::ForwarderRedirected { fwd, vmac } => write!(
                f,
                "forwarder {fwd} ({}) redirect time over; no longer handed out",
                Mac(vmac)
            ),
            Event::ForwarderRemoved { fwd, vmac } => {
                write!(f, "forwarder {fwd} ({}) timed out and removed", Mac(vmac))
            }
            Event::WeightChanged {
                from,
                to,
                forwarding,
            } => write!(
                f,
                "weight {from} -> {to} (forwarding {})",
                if *forwarding { "allowed" } else { "suspended" }
            ),
            Event::TimersLearned {
                hello_ms,
                hold_ms,
                from,
            } => write!(
                f,
                "learned timers hello {hello_ms} ms, hold {hold_ms} ms from {from}"
            ),
            Event::PacketIgnored { src, reason } => {
                write!(f, "ignored packet from {src}: {reason}")
            }
        }
    }
}
