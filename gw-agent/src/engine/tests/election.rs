//! Virtual gateway election, one engine at a time.

use super::*;

/// Input: start at 0.
/// Output: Disabled -> Initial -> Listen, a Listen hello at once from the
/// interface MAC with no forwarders; the next hello is due within 10% early
/// of the hello time.
#[test]
fn start_sends_listen_hello() {
    let mut h = H::new(cfg());
    let out = h.start(0);
    send!(out, VgState::Listen, [], from vec![ME.mac]);
    let Tlv::Hello(hello) = &out.send[0].packet.tlvs[0] else {
        panic!("no hello TLV first");
    };
    assert_eq!(
        (hello.priority, hello.hello_ms, hello.hold_ms, hello.vip),
        (100, 3_000, 10_000, IpAddr::V4(VIP))
    );
    assert_eq!(out.send[0].packet.owner, ME.mac);
    assert!(has_event(&out, |e| matches!(
        e,
        Event::VgStateChanged {
            to: State::Listen,
            ..
        }
    )));
    let next = h.e.poll_at().map(|t| t.0);
    assert!(
        next.is_some_and(|t| (2_700..=3_000).contains(&t)),
        "{next:?}"
    );
}

/// Input: a router alone; polls until 10 s.
/// Output: Speak at 3 s (end of the initial listen), Active at 10 s (one
/// hold time after start) claiming forwarder 1; the Active hello goes out
/// from the vMAC with TLV (1, Active, 167, 100); the dataplane hands it out.
#[test]
fn lone_router_becomes_avg() {
    let mut h = H::new(cfg());
    h.start(0);
    let out = h.run_to(2_999);
    assert_eq!(h.state(), State::Listen);
    send!(out, VgState::Listen, []);
    let out = h.run_to(3_000);
    assert_eq!(h.state(), State::Speak);
    send!(out, VgState::Speak, []);
    h.run_to(9_999);
    assert_eq!(h.state(), State::Speak);
    let out = h.run_to(10_000);
    assert_eq!(h.state(), State::Active);
    send!(out, VgState::Active, [(1, VfState::Active, 167, 100)], from vec![vm(1)]);
    assert!(out.dataplane_changed);
    let dp = h.e.dataplane();
    assert!(dp.avg);
    assert_eq!(dp.owned, vec![(1, vm(1))]);
    assert_eq!(
        dp.slots,
        vec![SlotEntry {
            fwd: 1,
            vmac: vm(1),
            weight: 100
        }]
    );
}

/// Input: an Active A (priority 100) and a Standby B are heard during the
/// initial listen; both rank above us.
/// Output: we stay in Listen (nothing to win) and never speak.
#[test]
fn listen_when_active_and_better_standby_exist() {
    let mut h = H::new(cfg());
    h.start(0);
    h.rx(100, A, &avg_a(&[1]));
    h.rx(200, B, &hello(B, VgState::Standby, 100));
    h.rx(2_900, A, &avg_a(&[1]));
    h.rx(2_950, B, &hello(B, VgState::Standby, 100));
    h.run_to(5_000);
    assert_eq!(h.state(), State::Listen);
}

/// Input: an Active A, no standby; we start.
/// Output: Speak after the initial listen (no standby gateway), Standby
/// once the speak period (hold - hello) is over.
#[test]
fn becomes_standby_when_none() {
    let mut h = H::new(cfg());
    h.start(0);
    h.rx(100, A, &avg_a(&[1]));
    let out = h.run_to(3_000);
    assert!(has_event(&out, |e| matches!(
        e,
        Event::VgStateChanged {
            to: State::Speak,
            reason: fsm::Event::NoStandby,
            ..
        }
    )));
    h.rx(3_100, A, &avg_a(&[1, 2]));
    h.rx(6_100, A, &avg_a(&[1, 2]));
    h.rx(9_100, A, &avg_a(&[1, 2]));
    h.run_to(9_999);
    assert_eq!(h.state(), State::Speak);
    let out = h.run_to(10_000);
    assert_eq!(h.state(), State::Standby);
    send!(out, VgState::Standby, [(2, VfState::Active, 167, 100)]);
}

/// Input: we are Standby; A's last hello arrives at 12 000.
/// Output: A expires at exactly 22 000 (its hold time): Active at once,
/// still knowing forwarder 1, which we also take over as best secondary.
#[test]
fn standby_takes_over_when_active_expires() {
    let mut h = H::new(cfg());
    h.start(0);
    for t in (100..12_101).step_by(3_000) {
        h.rx(t, A, &avg_a(&[1, 2]));
    }
    h.run_to(12_000);
    assert_eq!(h.state(), State::Standby);
    h.run_to(22_099);
    assert_eq!(h.state(), State::Standby);
    let out = h.run_to(22_100);
    assert_eq!(h.state(), State::Active);
    assert!(has_event(
        &out,
        |e| matches!(e, Event::PeerExpired { ip } if *ip == A.ip)
    ));
    send!(
        out,
        VgState::Active,
        [
            (1, VfState::Active, 135, 100),
            (2, VfState::Active, 167, 100)
        ]
    );
    assert_eq!(
        h.e.dataplane()
            .slots
            .iter()
            .map(|s| s.fwd)
            .collect::<Vec<_>>(),
        vec![1, 2]
    );
}

/// Input: we are Standby; A sends a resign hello (state Initial).
/// Output: Active at once, without waiting for the hold time.
#[test]
fn resign_makes_standby_active_at_once() {
    let mut h = H::new(cfg());
    h.start(0);
    for t in (100..12_101).step_by(3_000) {
        h.rx(t, A, &avg_a(&[1, 2]));
    }
    h.run_to(12_000);
    assert_eq!(h.state(), State::Standby);
    let out = h.rx(
        12_500,
        A,
        &hello(A, VgState::Initial, 100).fwd(1, VfState::Listen, 167, 100),
    );
    assert_eq!(h.state(), State::Active);
    assert!(has_event(
        &out,
        |e| matches!(e, Event::PeerResigned { ip } if *ip == A.ip)
    ));
    assert_eq!(h.vf(1), Some(VfState::Active));
}

/// Input: we are AVG; an Active hello from A (higher IP, same priority)
/// arrives (a healed partition).
/// Output: we step down to Speak at once and stop answering ARP.
#[test]
fn lower_active_steps_down() {
    let mut h = lone_avg(cfg());
    let out = h.rx(
        11_000,
        A,
        &hello(A, VgState::Active, 100).fwd(2, VfState::Active, 167, 100),
    );
    assert_eq!(h.state(), State::Speak);
    assert!(out.dataplane_changed);
    assert!(!h.e.dataplane().avg);
    send!(out, VgState::Speak, [(1, VfState::Active, 167, 100)]);
}

/// Input: we are AVG; an Active hello from C (lower IP) arrives.
/// Output: we stay AVG and answer with a hello at once (so C steps down).
#[test]
fn higher_active_answers_at_once() {
    let mut h = lone_avg(cfg());
    let out = h.rx(11_000, C, &hello(C, VgState::Active, 100));
    assert_eq!(h.state(), State::Active);
    send!(out, VgState::Active, [(1, VfState::Active, 167, 100)]);
}

/// Input: priority 200, preemption with 5 s delay; A is Active at 100.
/// Output: Active at 3 s (initial listen) + 5 s = 8 s, not before.
/// Without preemption: Standby, never Active.
#[test]
fn avg_preemption_with_delay() {
    for (preempt, expect) in [(Some(5_000), State::Active), (None, State::Standby)] {
        let mut c = cfg();
        c.priority = 200;
        c.preempt_delay_ms = preempt;
        let mut h = H::new(c);
        h.start(0);
        for t in (100..8_000).step_by(3_000) {
            h.rx(t, A, &avg_a(&[1]));
            h.run_to(t);
            assert_ne!(h.state(), State::Active);
        }
        h.run_to(7_999);
        assert_ne!(h.state(), State::Active);
        h.run_to(8_000);
        if preempt.is_some() {
            assert_eq!(h.state(), State::Active);
            assert!(h.e.status().last_event == fsm::Event::Preempt);
        }
        for t in (9_100..20_000).step_by(3_000) {
            h.rx(t, A, &avg_a(&[1]));
        }
        h.run_to(20_000);
        assert_eq!(h.state(), expect);
    }
}

/// Input: no timers configured; A is AVG advertising hello 1 s, hold 3.5 s.
/// Output: TimersLearned; our hellos advertise and follow 1 s / 3.5 s.
#[test]
fn learns_timers_from_avg() {
    let mut h = H::new(cfg());
    h.start(0);
    let out = h.rx(100, A, &avg_a(&[1]).timers(1_000, 3_500));
    assert!(has_event(&out, |e| matches!(
        e,
        Event::TimersLearned {
            hello_ms: 1_000,
            hold_ms: 3_500,
            ..
        }
    )));
    let st = h.e.status();
    assert_eq!(
        (st.hello_ms, st.hold_ms, st.timers_learned),
        (1_000, 3_500, true)
    );
    // The first hello after learning is due within a second.
    assert!(h.e.poll_at().is_some_and(|t| t.0 <= 1_100));
    let mut sends = Vec::new();
    for t in (200..5_000).step_by(100) {
        if t % 1_000 == 100 {
            h.rx(t, A, &avg_a(&[1]).timers(1_000, 3_500));
        }
        if !h.run_to(t).send.is_empty() {
            sends.push(t);
        }
    }
    assert!(sends.windows(2).all(|w| w[1] - w[0] <= 1_000), "{sends:?}");
    let Tlv::Hello(hello) = &h.run_to(6_000).send[0].packet.tlvs[0] else {
        panic!("no hello");
    };
    assert_eq!((hello.hello_ms, hello.hold_ms), (1_000, 3_500));
}

/// Input: configured timers; A advertises others.
/// Output: nothing learned; ours stay.
#[test]
fn configured_timers_are_not_learned() {
    let mut c = cfg();
    c.hello_ms = Some(2_000);
    c.hold_ms = Some(7_000);
    let mut h = H::new(c);
    h.start(0);
    let out = h.rx(100, A, &avg_a(&[1]).timers(1_000, 3_500));
    assert!(!has_event(&out, |e| matches!(
        e,
        Event::TimersLearned { .. }
    )));
    assert_eq!(
        (h.e.status().hello_ms, h.e.status().hold_ms),
        (2_000, 7_000)
    );
}

/// Input: clean shutdown of the AVG.
/// Output: one hello in state Initial with our forwarder in Listen, the
/// dataplane cleared, no more deadlines; a later start begins afresh.
#[test]
fn shutdown_resigns() {
    let mut h = lone_avg(cfg());
    let out = h.e.shutdown(Instant(11_000));
    send!(out, VgState::Initial, [(1, VfState::Listen, 167, 100)], from vec![vm(1)]);
    assert!(out.dataplane_changed);
    assert_eq!(*h.e.dataplane(), DataplaneState::default());
    assert_eq!(h.e.poll_at(), None);
    assert_eq!(h.state(), State::Initial);
    let out = h.e.shutdown(Instant(11_001));
    assert!(out.is_empty());
    let out = h.start(12_000);
    send!(out, VgState::Listen, []);
}

/// Input: a lone AVG (its Active hello left at 10 s); `poll_hello` just
/// before its hello window opens, then at the opening; then a shutdown.
/// Output: nothing before the window (no hello, no timer moved); at the
/// opening, 300 ms before the deadline, the periodic hello goes early,
/// and the next deadline (at most 2% early, never late) and window are
/// timed from it; a stopped engine has no window.
#[test]
fn periodic_hello_goes_early_only_inside_its_window() {
    let mut h = lone_avg(cfg());
    let (due, window) = (h.e.poll_at().unwrap(), h.e.hello_window().unwrap());
    assert_eq!(window, Instant(12_700));
    assert!((12_940..=13_000).contains(&due.0), "deadline {due}");
    let out = h.e.poll_hello(Instant(12_699));
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(h.e.poll_at(), Some(due));
    let out = h.e.poll_hello(Instant(12_700));
    send!(out, VgState::Active, [(1, VfState::Active, 167, 100)], from vec![vm(1)]);
    assert!(!out.dataplane_changed);
    assert_eq!(h.e.hello_window(), Some(Instant(15_400)));
    let next = h.e.poll_at().unwrap();
    assert!((15_640..=15_700).contains(&next.0), "deadline {next}");
    assert_eq!(h.state(), State::Active);
    h.e.shutdown(Instant(13_000));
    assert_eq!(h.e.hello_window(), None);
}

/// Input: reconfigure the priority, then the VIP.
/// Output: a hello with the new priority at once; a new VIP resigns the
/// old gateway and starts over in Listen.
#[test]
fn reconfigure_applies_changes() {
    let mut h = lone_avg(cfg());
    let mut c = cfg();
    c.priority = 150;
    let out = h.e.reconfigure(Instant(11_000), c.clone());
    assert_eq!(h.state(), State::Active);
    let Tlv::Hello(hello) = &out.send[0].packet.tlvs[0] else {
        panic!("no hello");
    };
    assert_eq!(hello.priority, 150);
    assert!(h.e.reconfigure(Instant(11_001), c.clone()).send.is_empty());
    c.vip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
    let out = h.e.reconfigure(Instant(12_000), c);
    let states: Vec<VgState> = hellos(&out).into_iter().map(|h| h.0).collect();
    assert_eq!(states, vec![VgState::Initial, VgState::Listen]);
    assert_eq!(h.state(), State::Listen);
    assert!(!h.e.dataplane().avg);
}

/// Input: we are Standby; A resigns, then an older Active hello of A's
/// arrives late (reordered), then A, restarted, sends a Listen hello.
/// Output: the late hello is ignored as stale (we stay AVG); the restarted
/// A's Listen hello is accepted.
#[test]
fn stale_hello_after_resign_is_ignored() {
    let mut h = H::new(cfg());
    h.start(0);
    for t in (100..12_101).step_by(3_000) {
        h.rx(t, A, &avg_a(&[1, 2]));
    }
    h.run_to(12_200);
    h.rx(12_500, A, &hello(A, VgState::Initial, 100));
    assert_eq!(h.state(), State::Active);
    let out = h.rx(12_510, A, &avg_a(&[1, 2]));
    assert_eq!(
        out.events,
        vec![Event::PacketIgnored {
            src: A.ip,
            reason: IgnoreReason::Stale
        }]
    );
    assert_eq!(h.state(), State::Active);
    let out = h.rx(12_600, A, &hello(A, VgState::Listen, 100));
    assert!(has_event(&out, |e| matches!(e, Event::PeerAppeared { .. })));
    assert_eq!(h.state(), State::Active);
}
