//! Scenario tests for one engine with explicit times, in the spirit of
//! smoltcp's `socket/tcp.rs` tests: feed packets and polls at given
//! milliseconds, assert what goes out. Each test starts with an
//! Input/Output comment. The peers are fake routers built from packets.

mod election;
mod forwarder;
mod robust;

use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::proto::{Forwarder, Hello, Packet, Tlv, VfState, VgState};

pub(super) const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub(super) const GROUP: u16 = 1;
/// This router: 192.0.2.10.
pub(super) const ME: Identity = Identity {
    ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
    mac: [0x02, 0, 0, 0, 0, 0x10],
};
/// Peers: A and B rank above us at equal priority (higher IP), C below.
pub(super) const A: Identity = Identity {
    ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 20)),
    mac: [0x02, 0, 0, 0, 0, 0x20],
};
pub(super) const B: Identity = Identity {
    ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 30)),
    mac: [0x02, 0, 0, 0, 0, 0x30],
};
pub(super) const C: Identity = Identity {
    ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 5)),
    mac: [0x02, 0, 0, 0, 0, 0x05],
};

pub(super) fn cfg() -> EngineConfig {
    EngineConfig {
        group: GROUP,
        vip: IpAddr::V4(VIP),
        ..EngineConfig::default()
    }
}

pub(super) fn vm(n: u8) -> [u8; 6] {
    vmac(GROUP, n)
}

/// A hello as a peer would send it.
#[derive(Clone)]
pub(super) struct Pkt(pub Packet);

pub(super) fn hello(from: Identity, state: VgState, priority: u8) -> Pkt {
    Pkt(Packet {
        group: GROUP,
        owner: from.mac,
        tlvs: vec![Tlv::Hello(Hello {
            state,
            priority,
            hello_ms: 3_000,
            hold_ms: 10_000,
            redirect_s: 600,
            timeout_s: 14_400,
            vip: IpAddr::V4(VIP),
        })],
    })
}

impl Pkt {
    /// Adds a Forwarder TLV (number, state, forwarder priority, weight).
    pub fn fwd(mut self, n: u8, state: VfState, priority: u8, weight: u8) -> Pkt {
        self.0.tlvs.push(Tlv::Forwarder(Forwarder {
            number: n,
            state,
            priority,
            weight,
            vmac: vm(n),
        }));
        self
    }

    pub fn timers(mut self, hello_ms: u32, hold_ms: u32) -> Pkt {
        if let Some(Tlv::Hello(h)) = self.0.tlvs.first_mut() {
            h.hello_ms = hello_ms;
            h.hold_ms = hold_ms;
        }
        self
    }
}

/// The engine under test plus the time of the last call.
pub(super) struct H {
    pub e: Engine,
    pub now: u64,
}

impl H {
    pub fn new(cfg: EngineConfig) -> H {
        H {
            e: Engine::new(cfg, ME, 1),
            now: 0,
        }
    }

    pub fn start(&mut self, t: u64) -> Output {
        self.now = t;
        self.e.start(Instant(t))
    }

    /// Fires the deadlines before `t` (as the runtime would), then
    /// delivers the packet; returns only what the packet caused.
    pub fn rx(&mut self, t: u64, from: Identity, p: &Pkt) -> Output {
        while let Some(at) = self.e.poll_at().filter(|at| at.0 < t) {
            self.now = at.0;
            self.e.poll(at);
        }
        self.now = t;
        self.e.receive(Instant(t), from.ip, &p.0)
    }

    /// Polls at every deadline up to and including `t`, as the runtime
    /// would, and merges the outputs.
    pub fn run_to(&mut self, t: u64) -> Output {
        let mut all = Output::default();
        while let Some(at) = self.e.poll_at().filter(|at| at.0 <= t) {
            assert!(
                at.0 > self.now || self.now == 0,
                "poll_at {at} not after {}",
                self.now
            );
            self.now = at.0;
            merge(&mut all, self.e.poll(at));
        }
        self.now = t;
        merge(&mut all, self.e.poll(Instant(t)));
        all
    }

    pub fn state(&self) -> State {
        self.e.state()
    }

    /// Our state for forwarder `n` (None if unknown).
    pub fn vf(&self, n: u8) -> Option<VfState> {
        self.e
            .status()
            .forwarders
            .iter()
            .find(|f| f.number == n)
            .map(|f| f.state)
    }
}

pub(super) fn merge(all: &mut Output, o: Output) {
    all.send.extend(o.send);
    all.redirects.extend(o.redirects);
    all.events.extend(o.events);
    all.dataplane_changed |= o.dataplane_changed;
}

/// A Forwarder TLV as (number, state, priority, weight).
pub(super) type FwdTlv = (u8, VfState, u8, u8);

/// The hellos in an output: (gateway state, forwarder TLVs, Ethernet
/// sources).
pub(super) fn hellos(o: &Output) -> Vec<(VgState, Vec<FwdTlv>, Vec<[u8; 6]>)> {
    o.send
        .iter()
        .map(|s| {
            let mut state = VgState::Unknown(0);
            let mut fwds = Vec::new();
            for t in &s.packet.tlvs {
                match t {
                    Tlv::Hello(h) => state = h.state,
                    Tlv::Forwarder(f) => fwds.push((f.number, f.state, f.priority, f.weight)),
                    _ => {}
                }
            }
            (state, fwds, s.from.clone())
        })
        .collect()
}

/// Asserts the output holds exactly one hello, with this gateway state,
/// these forwarder TLVs and (optionally) these Ethernet sources.
macro_rules! send {
    ($out:expr, $state:expr, [$($f:expr),* $(,)?]) => {{
        let h = hellos(&$out);
        assert_eq!(h.len(), 1, "expected one hello, got {:?}", h);
        assert_eq!(h[0].0, $state, "gateway state in {:?}", h[0]);
        assert_eq!(h[0].1, vec![$($f),*], "forwarder TLVs");
    }};
    ($out:expr, $state:expr, [$($f:expr),* $(,)?], from $from:expr) => {{
        send!($out, $state, [$($f),*]);
        assert_eq!(hellos(&$out)[0].2, $from, "Ethernet sources");
    }};
}

/// Asserts nothing went out.
macro_rules! send_nothing {
    ($out:expr) => {{
        assert!($out.send.is_empty(), "unexpected send {:?}", hellos(&$out));
    }};
}

pub(super) use {send, send_nothing};

pub(super) fn has_event(o: &Output, f: impl Fn(&Event) -> bool) -> bool {
    o.events.iter().any(f)
}

/// An engine that ran alone until it became AVG (at 10 s) owning forwarder 1.
pub(super) fn lone_avg(cfg: EngineConfig) -> H {
    let mut h = H::new(cfg);
    h.start(0);
    h.run_to(10_000);
    assert_eq!(h.state(), State::Active);
    h
}

/// An engine that joined a group whose AVG is A (owning forwarder 1) and
/// whose standby is B (owning 2): it listens, then owns forwarder 3.
pub(super) fn member(cfg: EngineConfig) -> H {
    let mut h = H::new(cfg);
    h.start(0);
    h.rx(100, A, &avg_a(&[1, 2]));
    h.rx(
        200,
        B,
        &hello(B, VgState::Standby, 100).fwd(2, VfState::Active, 167, 100),
    );
    h.run_to(3_000);
    assert_eq!(h.vf(3), Some(VfState::Active));
    h
}

/// A's AVG hello listing forwarders `listed`, owning 1.
pub(super) fn avg_a(listed: &[u8]) -> Pkt {
    let mut p = hello(A, VgState::Active, 100);
    for &n in listed {
        p = if n == 1 {
            p.fwd(1, VfState::Active, 167, 100)
        } else {
            p.fwd(n, VfState::Listen, 135, 100)
        };
    }
    p
}
