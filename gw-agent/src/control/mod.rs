//! The running agent's own view, served on a Unix socket so that
//! `gw-agent status` can show the control plane (states, timers, peers)
//! next to what the pinned maps show (the data plane).
//!
//! Socket: /run/gw/<netns>/<interface>.sock, directory 0700 and socket
//! 0600 (root only: it tells who the routers are and when they time out).
//! Protocol: connect, read one JSON document (`AgentStatus`), done.

pub mod socket;

use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};

use crate::{
    engine::{self, LoadBalancing},
    fmt_mac,
    proto::VfState,
    runtime::RxStats,
};

/// Bumped on any incompatible change of the JSON (README "status JSON").
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AgentStatus {
    pub schema_version: u32,
    pub pid: u32,
    pub interface: String,
    /// The interface's IPv4 address; `null` on an IPv6-only interface.
    pub ip: Option<Ipv4Addr>,
    /// Its IPv6 link-local address, when an IPv6 group uses it.
    #[serde(default)]
    pub ip6: Option<std::net::Ipv6Addr>,
    pub mac: String,
    pub uptime_s: u64,
    pub xdp_mode: String,
    pub groups: Vec<GroupControl>,
    pub rx: RxStats,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GroupControl {
    pub group: u16,
    pub vip: IpAddr,
    /// Disabled, Initial, Listen, Speak, Standby, Active.
    pub state: String,
    /// Why it entered that state.
    pub last_event: String,
    pub priority: u8,
    pub weight: u8,
    pub weighting: Weights,
    /// False while the weight is below `lower` (until it reaches `upper`).
    pub forwarding_allowed: bool,
    pub active_router: Option<IpAddr>,
    pub standby_router: Option<IpAddr>,
    pub hello_ms: u32,
    pub hold_ms: u32,
    /// The timers came from the AVG's hello (not configured here).
    pub timers_learned: bool,
    pub redirect_s: u16,
    pub timeout_s: u16,
    pub next_hello_in_ms: Option<u64>,
    pub preempt: Preemption,
    pub forwarder_preempt_delay_ms: Option<u32>,
    pub load_balancing: String,
    pub max_forwarders: u8,
    pub forwarders: Vec<ForwarderControl>,
    pub peers: Vec<PeerControl>,
    /// Tracked objects of the group and their state (config "track").
    #[serde(default)]
    pub tracking: Vec<TrackControl>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrackControl {
    /// As in the log: "interface up0", "route 203.0.113.0/24", "script ...".
    pub object: String,
    /// Weight taken off while the object is down.
    pub decrement: u32,
    pub up: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Weights {
    pub max: u8,
    pub lower: u8,
    pub upper: u8,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Preemption {
    pub enabled: bool,
    pub delay_ms: Option<u32>,
    pub remaining_ms: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ForwarderControl {
    pub number: u8,
    pub vmac: String,
    /// Our state for it: Active (we forward) or Listen.
    pub state: String,
    /// We own it; else we are a secondary for it.
    pub primary: bool,
    pub owner_ip: Option<IpAddr>,
    pub owner_mac: Option<String>,
    /// Who forwards for it now.
    pub active_router: Option<IpAddr>,
    pub weight: Option<u8>,
    pub redirected: bool,
    pub redirect_remaining_ms: Option<u64>,
    pub timeout_remaining_ms: Option<u64>,
    pub preempt_remaining_ms: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PeerControl {
    pub ip: IpAddr,
    pub mac: String,
    pub state: String,
    pub priority: u8,
    pub weight: Option<u8>,
    pub expires_in_ms: u64,
}

pub fn vf_state(s: VfState) -> String {
    match s {
        VfState::Disabled => "Disabled".into(),
        VfState::Initial => "Init".into(),
        VfState::Listen => "Listen".into(),
        VfState::Active => "Active".into(),
        VfState::Unknown(c) => format!("Unknown({c:#x})"),
    }
}

pub fn method_name(m: LoadBalancing) -> &'static str {
    match m {
        LoadBalancing::RoundRobin => "round-robin",
        LoadBalancing::Weighted => "weighted",
        LoadBalancing::HostDependent => "host-dependent",
        LoadBalancing::None => "none",
    }
}

impl From<&engine::Status> for GroupControl {
    fn from(s: &engine::Status) -> Self {
        GroupControl {
            group: s.group,
            vip: s.vip,
            state: s.state.to_string(),
            last_event: s.last_event.to_string(),
            priority: s.priority,
            weight: s.weight,
            weighting: Weights {
                max: s.weighting.max,
                lower: s.weighting.lower,
                upper: s.weighting.upper,
            },
            forwarding_allowed: s.forwarding_allowed,
            active_router: s.active_router,
            standby_router: s.standby_router,
            hello_ms: s.hello_ms,
            hold_ms: s.hold_ms,
            timers_learned: s.timers_learned,
            redirect_s: s.redirect_s,
            timeout_s: s.timeout_s,
            next_hello_in_ms: s.next_hello_in_ms,
            preempt: Preemption {
                enabled: s.preempt_delay_ms.is_some(),
                delay_ms: s.preempt_delay_ms,
                remaining_ms: s.preempt_remaining_ms,
            },
            forwarder_preempt_delay_ms: s.forwarder_preempt_delay_ms,
            load_balancing: method_name(s.load_balancing).into(),
            max_forwarders: s.max_forwarders,
            forwarders: s
                .forwarders
                .iter()
                .map(|f| ForwarderControl {
                    number: f.number,
                    vmac: fmt_mac(&f.vmac),
                    state: vf_state(f.state),
                    primary: f.primary,
                    owner_ip: f.owner.map(|o| o.0),
                    owner_mac: f.owner.map(|o| fmt_mac(&o.1)),
                    active_router: f.active_router,
                    weight: f.weight,
                    redirected: f.redirected,
                    redirect_remaining_ms: f.redirect_remaining_ms,
                    timeout_remaining_ms: f.timeout_remaining_ms,
                    preempt_remaining_ms: f.preempt_remaining_ms,
                })
                .collect(),
            peers: s
                .peers
                .iter()
                .map(|p| PeerControl {
                    ip: p.ip,
                    mac: fmt_mac(&p.mac),
                    state: p.state.to_string(),
                    priority: p.priority,
                    weight: p.weight,
                    expires_in_ms: p.expires_in_ms,
                })
                .collect(),
            tracking: Vec::new(),
        }
    }
}
