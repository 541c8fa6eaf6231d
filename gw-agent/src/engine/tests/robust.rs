//! Packets that make no sense are ignored and reported; arbitrary inputs
//! never panic and never break the engine's own invariants.

use std::net::Ipv6Addr;

use proptest::prelude::*;

use super::*;

/// Input: hellos that parse but make no sense, each from A.
/// Output: each is ignored with its reason; the engine's state is as if
/// nothing arrived (no peer appears).
#[test]
fn nonsense_is_ignored_and_reported() {
    let mut h = H::new(cfg());
    h.start(0);
    let mut wrong_vip = avg_a(&[1]);
    if let Some(Tlv::Hello(x)) = wrong_vip.0.tlvs.first_mut() {
        x.vip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 99));
    }
    let mut wrong_group = avg_a(&[1]);
    wrong_group.0.group = 2;
    let mut bad_vmac = avg_a(&[1]);
    if let Some(Tlv::Forwarder(f)) = bad_vmac.0.tlvs.get_mut(1) {
        f.vmac = vmac(2, 1);
    }
    let no_hello = Pkt(Packet {
        group: GROUP,
        owner: A.mac,
        tlvs: vec![],
    });
    let cases: Vec<(Pkt, IgnoreReason)> = vec![
        (wrong_vip, IgnoreReason::WrongVip),
        (wrong_group, IgnoreReason::WrongGroup(2)),
        (hello(A, VgState::Active, 0), IgnoreReason::ZeroPriority),
        (
            avg_a(&[1]).timers(3_000, 3_000),
            IgnoreReason::BadTimers {
                hello_ms: 3_000,
                hold_ms: 3_000,
            },
        ),
        (
            avg_a(&[1]).timers(0, 3_000),
            IgnoreReason::BadTimers {
                hello_ms: 0,
                hold_ms: 3_000,
            },
        ),
        (
            hello(A, VgState::Unknown(0x77), 100),
            IgnoreReason::UnknownState(0x77),
        ),
        (bad_vmac, IgnoreReason::BadForwarder(1)),
        (
            hello(A, VgState::Active, 100).fwd(0, VfState::Active, 167, 100),
            IgnoreReason::BadForwarder(0),
        ),
        (
            hello(A, VgState::Active, 100).fwd(2, VfState::Active, 167, 0),
            IgnoreReason::BadForwarder(2),
        ),
        (no_hello, IgnoreReason::NoHello),
    ];
    for (i, (p, reason)) in cases.into_iter().enumerate() {
        let out = h.rx(100 + i as u64, A, &p);
        assert_eq!(
            out.events,
            vec![Event::PacketIgnored { src: A.ip, reason }],
            "case {i}"
        );
        assert!(h.e.status().peers.is_empty());
    }
    // Our own packets, looped back, are dropped silently.
    let own = hello(ME, VgState::Active, 255);
    assert!(h.rx(200, ME, &own).events.is_empty());
    assert!(h.rx(201, A, &own).events.is_empty());
    assert!(h.e.status().peers.is_empty());
}

/// Input: an engine of group 1 run over IPv6 (VIP fe80::7:b4ff:fe00:100,
/// its interface fe80::10) starts; A, from fe80::20, sends its AVG hello
/// with the group's IPv4 VIP, then with the IPv6 one.
/// Output: our hello carries the IPv6 VIP; the IPv4 hello is ignored
/// (wrong VIP), the IPv6 one makes A a peer and the AVG, known by its
/// link-local address.
#[test]
fn ipv6_group_takes_only_ipv6_hellos() {
    let vip6 = IpAddr::V6(Ipv6Addr::from(gw_common::virtual_link_local(GROUP)));
    let me = Identity {
        ip: "fe80::10".parse().unwrap(),
        mac: ME.mac,
    };
    let a = Identity {
        ip: "fe80::20".parse().unwrap(),
        mac: A.mac,
    };
    let mut h = H {
        e: Engine::new(EngineConfig { vip: vip6, ..cfg() }, me, 1),
        now: 0,
    };
    let out = h.start(0);
    let vips: Vec<IpAddr> = out
        .send
        .iter()
        .flat_map(|o| &o.packet.tlvs)
        .filter_map(|t| match t {
            Tlv::Hello(x) => Some(x.vip),
            _ => None,
        })
        .collect();
    assert_eq!(vips, vec![vip6]);
    let out = h.rx(100, a, &avg_a(&[1]));
    assert_eq!(
        out.events,
        vec![Event::PacketIgnored {
            src: a.ip,
            reason: IgnoreReason::WrongVip
        }]
    );
    let mut p = avg_a(&[1]);
    if let Some(Tlv::Hello(x)) = p.0.tlvs.first_mut() {
        x.vip = vip6;
    }
    let out = h.rx(200, a, &p);
    let appeared = Event::PeerAppeared {
        ip: a.ip,
        mac: a.mac,
    };
    assert!(out.events.contains(&appeared), "{:?}", out.events);
    let st = h.e.status();
    assert_eq!(st.active_router, Some(a.ip));
    assert_eq!(
        st.peers.iter().map(|p| p.ip).collect::<Vec<_>>(),
        vec![a.ip]
    );
}

/// Input: the same hello twice (a duplicate frame, or one per vMAC).
/// Output: the second changes nothing.
#[test]
fn duplicates_are_idempotent() {
    let mut h = member(cfg());
    let p = avg_a(&[1, 2, 3]);
    h.rx(4_000, A, &p);
    let before = (h.e.status().forwarders, h.e.dataplane().clone(), h.state());
    let out = h.rx(4_000, A, &p);
    assert!(out.events.is_empty() && !out.dataplane_changed);
    assert_eq!(
        before,
        (h.e.status().forwarders, h.e.dataplane().clone(), h.state())
    );
}

/// Input: the clock handed in goes backwards.
/// Output: treated as "no time passed"; nothing fires twice.
#[test]
fn time_going_back_is_harmless() {
    let mut h = lone_avg(cfg());
    let a = h.e.poll(Instant(20_000));
    let b = h.e.poll(Instant(15_000));
    assert!(!a.send.is_empty() || !b.send.is_empty() || a.is_empty());
    assert!(b.send.is_empty());
    assert!(h.e.poll_at().is_some_and(|t| t.0 > 20_000));
}

fn arb_vg() -> impl Strategy<Value = VgState> {
    prop_oneof![
        Just(VgState::Disabled),
        Just(VgState::Initial),
        Just(VgState::Listen),
        Just(VgState::Speak),
        Just(VgState::Standby),
        Just(VgState::Active),
        any::<u8>().prop_map(VgState::Unknown),
    ]
}

fn arb_vf() -> impl Strategy<Value = VfState> {
    prop_oneof![
        Just(VfState::Disabled),
        Just(VfState::Initial),
        Just(VfState::Listen),
        Just(VfState::Active),
        any::<u8>().prop_map(VfState::Unknown),
    ]
}

/// One input to the engine.
#[derive(Clone, Debug)]
enum Input {
    Packet {
        from: u8,
        state: VgState,
        priority: u8,
        timers: (u32, u32),
        fwds: Vec<(u8, VfState, u8, u8, bool)>,
    },
    Poll,
    Weight(u8),
    Shutdown,
    Start,
}

fn arb_input() -> impl Strategy<Value = Input> {
    prop_oneof![
        8 => (
            0u8..4,
            arb_vg(),
            prop_oneof![Just(100u8), any::<u8>()],
            prop_oneof![Just((3_000u32, 10_000u32)), (any::<u32>(), any::<u32>())],
            prop::collection::vec((0u8..6, arb_vf(), prop_oneof![Just(167u8), Just(135u8), any::<u8>()], any::<u8>(), prop::bool::weighted(0.9)), 0..5),
        )
            .prop_map(|(from, state, priority, timers, fwds)| Input::Packet { from, state, priority, timers, fwds }),
        3 => Just(Input::Poll),
        1 => any::<u8>().prop_map(Input::Weight),
        1 => Just(Input::Shutdown),
        1 => Just(Input::Start),
    ]
}

proptest! {
    // 64 cases in the normal run; PROPTEST_CASES=N for more.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(64)
    ))]

    /// Input: any sequence of parsed packets (any field values), polls,
    /// weight changes, stops and starts, at increasing times.
    /// Output: no panic; `poll_at` is always in the future; we only
    /// forward forwarders we know, only the AVG hands out slots, and only
    /// vMACs of our group.
    #[test]
    fn arbitrary_inputs_keep_invariants(
        steps in prop::collection::vec((1u64..4_000, arb_input()), 1..120),
        seed in any::<u64>(),
    ) {
        let peers = [A, B, C, ME];
        let mut e = Engine::new(cfg(), ME, seed);
        let mut now = 0u64;
        e.start(Instant(now));
        for (dt, input) in steps {
            now += dt;
            let t = Instant(now);
            match input {
                Input::Packet { from, state, priority, timers, fwds } => {
                    let p = peers[usize::from(from)];
                    let mut pkt = hello(p, state, priority).timers(timers.0, timers.1).0;
                    for (n, st, prio, w, good_mac) in fwds {
                        let vmac = if good_mac { vm(n) } else { vmac(9, n) };
                        pkt.tlvs.push(Tlv::Forwarder(Forwarder { number: n, state: st, priority: prio, weight: w, vmac }));
                    }
                    e.receive(t, p.ip, &pkt);
                }
                Input::Poll => { e.poll(t); }
                Input::Weight(w) => { e.set_weight(t, w); }
                Input::Shutdown => { e.shutdown(t); }
                Input::Start => { e.start(t); }
            }
            // Catch up on every deadline, as the runtime does.
            while let Some(at) = e.poll_at().filter(|at| at.0 <= now) {
                prop_assert!(at.0 > now, "poll_at {} not after {}", at, now);
                e.poll(at);
            }
            if let Some(at) = e.poll_at() {
                prop_assert!(at.0 > now);
            }
            let st = e.status();
            let dp = e.dataplane();
            prop_assert!(dp.owned.iter().all(|(n, v)| *v == vm(*n)
                && st.forwarders.iter().any(|f| f.number == *n && f.state == VfState::Active)));
            prop_assert!(dp.avg || dp.slots.is_empty());
            prop_assert_eq!(dp.avg, e.state() == State::Active);
            prop_assert!(dp.slots.iter().all(|s| s.vmac == vm(s.fwd) && s.weight > 0));
            prop_assert!(st.forwarders.iter().filter(|f| f.primary).count() <= 1);
        }
    }
}
