//! A snapshot for `gw-agent status`, shaped like Cisco's `show glbp`.
//! Remaining times are relative to `as_of`, the latest time the engine was
//! given (it has no clock of its own).

use std::net::IpAddr;

use super::fsm;
use super::timers::secs;
use super::{Engine, Identity, Instant, LoadBalancing, State, Weighting};
use crate::proto::VfState;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub group: u16,
    pub vip: IpAddr,
    pub me: Identity,
    pub state: State,
    /// Why the gateway entered `state`.
    pub last_event: fsm::Event,
    pub priority: u8,
    pub weight: u8,
    /// False while the weight is below the lower threshold (hysteresis).
    pub forwarding_allowed: bool,
    pub weighting: Weighting,
    /// Our own IP when we are the AVG / standby.
    pub active_router: Option<IpAddr>,
    pub standby_router: Option<IpAddr>,
    pub hello_ms: u32,
    pub hold_ms: u32,
    pub timers_learned: bool,
    pub redirect_s: u16,
    pub timeout_s: u16,
    pub as_of: Instant,
    pub next_hello_in_ms: Option<u64>,
    pub speak_remaining_ms: Option<u64>,
    pub preempt_remaining_ms: Option<u64>,
    pub preempt_delay_ms: Option<u32>,
    pub forwarder_preempt_delay_ms: Option<u32>,
    pub load_balancing: LoadBalancing,
    pub max_forwarders: u8,
    pub forwarders: Vec<ForwarderStatus>,
    pub peers: Vec<PeerStatus>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwarderStatus {
    pub number: u8,
    pub vmac: [u8; 6],
    /// Our state for it.
    pub state: VfState,
    /// We own it (else we are a secondary for it).
    pub primary: bool,
    /// Its owner (IP, interface MAC), if known.
    pub owner: Option<(IpAddr, [u8; 6])>,
    /// Who forwards for it now (our IP if we do).
    pub active_router: Option<IpAddr>,
    /// The forwarding router's weight.
    pub weight: Option<u8>,
    pub redirected: bool,
    pub redirect_remaining_ms: Option<u64>,
    pub timeout_remaining_ms: Option<u64>,
    pub preempt_remaining_ms: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerStatus {
    pub ip: IpAddr,
    pub mac: [u8; 6],
    pub state: State,
    pub priority: u8,
    pub weight: Option<u8>,
    pub expires_in_ms: u64,
}

impl Engine {
    pub fn status(&self) -> Status {
        let now = self.now;
        let left = |t: Option<Instant>| t.map(|t| t.ms_since(now));
        let me = self.me.ip;
        let forwarders = self
            .vfs
            .values()
            .map(|v| {
                let view = self.view(v.num);
                let owner = if v.primary {
                    Some((self.me.ip, self.me.mac))
                } else {
                    view.primary_active
                        .or(view.primary_listen)
                        .and_then(|ip| self.peers.get(&ip))
                        .map(|p| (p.ip, p.mac))
                        .or(v.last_primary)
                };
                let (active_router, weight) = if v.state == VfState::Active {
                    (Some(me), Some(self.weight))
                } else {
                    view.holders
                        .iter()
                        .max_by_key(|h| (h.primary, h.ip))
                        .map_or((None, None), |h| (Some(h.ip), Some(h.weight)))
                };
                let redirect = v
                    .orphan_since
                    .filter(|_| !v.redirected)
                    .map(|t| t.add_ms(secs(self.cfg.redirect_s)));
                let timeout = v.orphan_since.map(|t| t.add_ms(secs(self.cfg.timeout_s)));
                ForwarderStatus {
                    number: v.num,
                    vmac: v.vmac,
                    state: v.state,
                    primary: v.primary,
                    owner,
                    active_router,
                    weight,
                    redirected: v.redirected,
                    redirect_remaining_ms: left(redirect),
                    timeout_remaining_ms: left(timeout),
                    preempt_remaining_ms: left(v.preempt_at),
                }
            })
            .collect();
        let peers = self
            .peers
            .values()
            .map(|p| PeerStatus {
                ip: p.ip,
                mac: p.mac,
                state: p.state,
                priority: p.priority,
                weight: p.weight(),
                expires_in_ms: p.expires.ms_since(now),
            })
            .collect();
        Status {
            group: self.cfg.group,
            vip: self.cfg.vip,
            me: self.me,
            state: self.state,
            last_event: self.last_event,
            priority: self.cfg.priority,
            weight: self.weight,
            forwarding_allowed: self.weight_ok,
            weighting: self.cfg.weighting,
            active_router: if self.state == State::Active {
                Some(me)
            } else {
                self.active_peer().map(|p| p.ip)
            },
            standby_router: if self.state == State::Standby {
                Some(me)
            } else {
                self.standby_peer().map(|p| p.ip)
            },
            hello_ms: self.hello_ms(),
            hold_ms: self.hold_ms(),
            timers_learned: self.learned.is_some(),
            redirect_s: self.cfg.redirect_s,
            timeout_s: self.cfg.timeout_s,
            as_of: now,
            next_hello_in_ms: left(self.hello_at),
            speak_remaining_ms: left(self.speak_until),
            preempt_remaining_ms: left(self.preempt_at),
            preempt_delay_ms: self.cfg.preempt_delay_ms,
            forwarder_preempt_delay_ms: self.cfg.forwarder_preempt_delay_ms,
            load_balancing: self.cfg.load_balancing,
            max_forwarders: self.cfg.max_forwarders,
            forwarders,
            peers,
        }
    }
}
