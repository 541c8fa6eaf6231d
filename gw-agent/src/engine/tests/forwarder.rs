//! Virtual forwarders, one engine at a time.

use super::*;

const D: Identity = Identity {
    ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 40)),
    mac: [0x02, 0, 0, 0, 0, 0x40],
};

/// Input: A is AVG owning 1 and listing 2; B (standby) owns 2.
/// Output: no claim before the initial listen is over; at 3 s we take the
/// next free number, 3, forward for it at once and say so from its vMAC.
#[test]
fn member_claims_next_free_number() {
    let mut h = H::new(cfg());
    h.start(0);
    h.rx(100, A, &avg_a(&[1, 2]));
    h.rx(
        200,
        B,
        &hello(B, VgState::Standby, 100).fwd(2, VfState::Active, 167, 100),
    );
    let out = h.run_to(2_999);
    assert!(!has_event(&out, |e| matches!(
        e,
        Event::ForwarderClaimed { .. }
    )));
    let out = h.run_to(3_000);
    assert!(has_event(&out, |e| matches!(
        e,
        Event::ForwarderClaimed { fwd: 3, .. }
    )));
    send!(out, VgState::Listen, [(3, VfState::Active, 167, 100)], from vec![vm(3)]);
    assert_eq!(h.e.dataplane().owned, vec![(3, vm(3))]);
    assert!(h.e.dataplane().slots.is_empty());
}

/// Input: only a standby is heard, no AVG.
/// Output: no forwarder is claimed (the AVG's table is the reference).
#[test]
fn no_claim_without_avg() {
    let mut h = H::new(cfg());
    h.start(0);
    h.rx(
        100,
        B,
        &hello(B, VgState::Standby, 200).fwd(2, VfState::Active, 167, 100),
    );
    let out = h.run_to(2_999);
    assert!(!has_event(&out, |e| matches!(
        e,
        Event::ForwarderClaimed { .. }
    )));
}

/// Input: two routers without a number (us and D, higher IP) when the AVG
/// lists 1 and 2.
/// Output: D is first in line (higher IP) and gets 3; we take 4.
#[test]
fn unassigned_line_up_by_ip() {
    let mut h = H::new(cfg());
    h.start(0);
    h.rx(100, A, &avg_a(&[1, 2]));
    h.rx(
        150,
        B,
        &hello(B, VgState::Standby, 100).fwd(2, VfState::Active, 167, 100),
    );
    h.rx(200, D, &hello(D, VgState::Listen, 100));
    h.run_to(3_000);
    assert_eq!(h.e.dataplane().owned, vec![(4, vm(4))]);
}

/// Input: member owning 3; B (owner of 2) falls silent after 12.2 s; A, the
/// only other secondary, advertises weight 50.
/// Output: at B's expiry (22.2 s) we take 2 over (weight 100 beats 50): a
/// hello at once from both vMACs with 2 at priority 135.
#[test]
fn best_secondary_takes_over() {
    let mut h = member(cfg());
    for t in (3_100..22_000).step_by(3_000) {
        let a = hello(A, VgState::Active, 100)
            .fwd(1, VfState::Active, 167, 50)
            .fwd(2, VfState::Listen, 135, 50)
            .fwd(3, VfState::Listen, 135, 50);
        h.rx(t, A, &a);
        if t <= 12_200 {
            h.rx(
                t + 100,
                B,
                &hello(B, VgState::Standby, 100).fwd(2, VfState::Active, 167, 100),
            );
        }
    }
    let out = h.run_to(22_199);
    assert!(!has_event(&out, |e| matches!(e, Event::TakeOver { .. })));
    let out = h.run_to(22_200);
    assert!(has_event(&out, |e| matches!(
        e,
        Event::TakeOver { fwd: 2, from: Some(ip), .. } if *ip == B.ip
    )));
    // The standby is gone too: we speak for its place.
    send!(
        out,
        VgState::Speak,
        [(2, VfState::Active, 135, 100), (3, VfState::Active, 167, 100)],
        from vec![vm(2), vm(3)]
    );
}

/// Input: as above but A has the same weight (100) and a higher IP.
/// Output: we leave forwarder 2 to A.
#[test]
fn weaker_secondary_waits() {
    let mut h = member(cfg());
    for t in (3_100..30_000).step_by(3_000) {
        h.rx(t, A, &avg_a(&[1, 2, 3]));
        if t <= 12_200 {
            h.rx(
                t + 100,
                B,
                &hello(B, VgState::Standby, 100).fwd(2, VfState::Active, 167, 100),
            );
        }
    }
    h.run_to(30_000);
    assert_eq!(h.vf(2), Some(VfState::Listen));
}

/// Input: we took 2 over (B resigned); B comes back, first waiting
/// (Listen, 167), then forwarding (Active, 167).
/// Output: we keep 2 while B waits, release it at once when B forwards.
#[test]
fn secondary_releases_when_primary_returns() {
    let mut h = member(cfg());
    let a = || {
        hello(A, VgState::Active, 100)
            .fwd(1, VfState::Active, 167, 50)
            .fwd(2, VfState::Listen, 135, 50)
            .fwd(3, VfState::Listen, 135, 50)
    };
    h.rx(10_000, A, &a());
    let out = h.rx(
        10_100,
        B,
        &hello(B, VgState::Initial, 100).fwd(2, VfState::Listen, 167, 100),
    );
    assert_eq!(h.vf(2), Some(VfState::Active));
    assert!(has_event(&out, |e| matches!(
        e,
        Event::TakeOver { fwd: 2, .. }
    )));
    h.rx(
        11_000,
        B,
        &hello(B, VgState::Listen, 100).fwd(2, VfState::Listen, 167, 100),
    );
    assert_eq!(h.vf(2), Some(VfState::Active));
    for t in (13_000..41_000).step_by(3_000) {
        h.rx(t, A, &a());
        h.rx(
            t + 10,
            B,
            &hello(B, VgState::Listen, 100).fwd(2, VfState::Listen, 167, 100),
        );
    }
    assert_eq!(h.vf(2), Some(VfState::Active));
    let out = h.rx(
        41_000,
        B,
        &hello(B, VgState::Listen, 100).fwd(2, VfState::Active, 167, 100),
    );
    assert_eq!(h.vf(2), Some(VfState::Listen));
    assert!(has_event(&out, |e| matches!(
        e,
        Event::ForwarderStateChanged {
            fwd: 2,
            reason: VfReason::PrimaryBack,
            ..
        }
    )));
    // (B resigned as standby earlier, so we took that place.)
    send!(out, VgState::Standby, [(3, VfState::Active, 167, 100)], from vec![vm(3)]);
}

/// A freshly started router that finds forwarder 3 held by secondary C.
fn restarted(cfg: EngineConfig) -> H {
    let mut h = H::new(cfg);
    h.start(0);
    h.rx(100, A, &avg_a(&[1, 2, 3]));
    h.rx(
        150,
        B,
        &hello(B, VgState::Standby, 100).fwd(2, VfState::Active, 167, 100),
    );
    h.rx(
        200,
        C,
        &hello(C, VgState::Listen, 100).fwd(3, VfState::Active, 135, 100),
    );
    h
}

/// Input: we start; forwarder 3 has no owner and C forwards it as
/// secondary (we were its owner before a crash). Forwarder preemption is
/// on (30 s).
/// Output: at 3 s we claim 3 but wait (Listen, 167); at 33 s we take it
/// back (Active, 167), not earlier.
#[test]
fn primary_preempts_after_delay() {
    let mut h = restarted(cfg());
    h.run_to(2_999);
    let out = h.run_to(3_000);
    send!(out, VgState::Listen, [(3, VfState::Listen, 167, 100)], from vec![ME.mac]);
    for t in (3_100..33_000).step_by(3_000) {
        h.rx(t, A, &avg_a(&[1, 2, 3]));
        h.rx(
            t + 10,
            B,
            &hello(B, VgState::Standby, 100).fwd(2, VfState::Active, 167, 100),
        );
        h.rx(
            t + 20,
            C,
            &hello(C, VgState::Listen, 100).fwd(3, VfState::Active, 135, 100),
        );
    }
    h.run_to(32_999);
    assert_eq!(h.vf(3), Some(VfState::Listen));
    let out = h.run_to(33_000);
    assert!(has_event(&out, |e| matches!(
        e,
        Event::ForwarderStateChanged {
            fwd: 3,
            reason: VfReason::Preempt,
            ..
        }
    )));
    send!(out, VgState::Listen, [(3, VfState::Active, 167, 100)], from vec![vm(3)]);
}

/// Input: as above with forwarder preemption off.
/// Output: we never take 3 back while C forwards it; when C stops
/// forwarding it, we forward at once.
#[test]
fn no_forwarder_preemption() {
    let mut c = cfg();
    c.forwarder_preempt_delay_ms = None;
    let mut h = restarted(c);
    for t in (3_100..60_000).step_by(3_000) {
        h.rx(t, A, &avg_a(&[1, 2, 3]));
        h.rx(
            t + 10,
            B,
            &hello(B, VgState::Standby, 100).fwd(2, VfState::Active, 167, 100),
        );
        h.rx(
            t + 20,
            C,
            &hello(C, VgState::Listen, 100).fwd(3, VfState::Active, 135, 100),
        );
    }
    h.run_to(60_000);
    assert_eq!(h.vf(3), Some(VfState::Listen));
    h.rx(60_100, C, &hello(C, VgState::Listen, 100));
    assert_eq!(h.vf(3), Some(VfState::Active));
}

/// Input: weighting lower 70, upper 90; we own 3. Weight 60, 80, 95.
/// Output: at 60 forwarder 3 goes Listen with a hello at once carrying the
/// weight; at 80 (between the thresholds) nothing; at 95 we forward again.
#[test]
fn weight_thresholds_with_hysteresis() {
    let mut c = cfg();
    c.weighting = Weighting {
        max: 100,
        lower: 70,
        upper: 90,
    };
    let mut h = member(c);
    let out = h.e.set_weight(Instant(4_000), 60);
    assert!(has_event(&out, |e| matches!(
        e,
        Event::WeightChanged {
            from: 100,
            to: 60,
            forwarding: false
        }
    )));
    send!(out, VgState::Listen, [(3, VfState::Listen, 167, 60)], from vec![ME.mac]);
    let out = h.e.set_weight(Instant(5_000), 80);
    send_nothing!(out);
    assert_eq!(h.vf(3), Some(VfState::Listen));
    assert!(!h.e.status().forwarding_allowed);
    let out = h.e.set_weight(Instant(6_000), 95);
    send!(out, VgState::Listen, [(3, VfState::Active, 167, 95)], from vec![vm(3)]);
    // Above the lower threshold a change only rides on the next hello.
    let out = h.e.set_weight(Instant(6_100), 75);
    send_nothing!(out);
    assert_eq!(h.vf(3), Some(VfState::Active));
    assert!(
        hellos(&h.run_to(10_000))
            .iter()
            .any(|x| x.1 == vec![(3, VfState::Active, 167, 75)])
    );
}

/// Input: lone AVG (redirect 60 s, timeout 180 s); C joins owning 2 with
/// weight 80, then falls silent; its last hello at 20 s.
/// Output: slots [1 (100), 2 (80)]; at 30 s we take 2 over; at 90 s 2 is
/// no longer handed out and a Redirect to forwarder 1 goes out; at 210 s
/// forwarder 2 is removed.
#[test]
fn avg_redirect_then_timeout() {
    let mut c = cfg();
    c.redirect_s = 60;
    c.timeout_s = 180;
    let mut h = lone_avg(c);
    let out = h.rx(
        11_000,
        C,
        &hello(C, VgState::Listen, 100).fwd(2, VfState::Active, 167, 80),
    );
    assert!(out.dataplane_changed);
    assert_eq!(
        h.e.dataplane().slots,
        vec![
            SlotEntry {
                fwd: 1,
                vmac: vm(1),
                weight: 100
            },
            SlotEntry {
                fwd: 2,
                vmac: vm(2),
                weight: 80
            }
        ]
    );
    h.rx(
        20_000,
        C,
        &hello(C, VgState::Listen, 100).fwd(2, VfState::Active, 167, 80),
    );
    h.run_to(29_999);
    assert_eq!(h.vf(2), Some(VfState::Listen));
    let out = h.run_to(30_000);
    assert_eq!(h.vf(2), Some(VfState::Active));
    send!(
        out,
        VgState::Active,
        [
            (1, VfState::Active, 167, 100),
            (2, VfState::Active, 135, 100)
        ]
    );
    assert_eq!(h.e.dataplane().slots.len(), 2);
    let out = h.run_to(89_999);
    assert!(out.redirects.is_empty());
    let out = h.run_to(90_000);
    assert_eq!(
        out.redirects,
        vec![Redirect {
            fwd: 2,
            vmac: vm(2),
            to: vec![(1, vm(1))]
        }]
    );
    assert_eq!(
        h.e.dataplane().slots,
        vec![SlotEntry {
            fwd: 1,
            vmac: vm(1),
            weight: 100
        }]
    );
    assert_eq!(h.e.dataplane().owned, vec![(1, vm(1)), (2, vm(2))]);
    h.run_to(209_999);
    assert_eq!(h.vf(2), Some(VfState::Active));
    let out = h.run_to(210_000);
    assert!(has_event(&out, |e| matches!(
        e,
        Event::ForwarderRemoved { fwd: 2, .. }
    )));
    assert_eq!(h.vf(2), None);
    assert_eq!(h.e.dataplane().owned, vec![(1, vm(1))]);
    send!(out, VgState::Active, [(1, VfState::Active, 167, 100)]);
}

/// Input: we forward 3; D (higher IP) also forwards 3 as owner; then C
/// (lower IP) claims 4 as owner while we wait... see steps.
/// Output: we yield 3 to D and take 4 instead; an owner that only waits
/// (Listen, 167) does not take a number from one that forwards.
#[test]
fn competing_claims() {
    let mut h = member(cfg());
    // A waiting claim from a higher IP does not beat a forwarding owner.
    h.rx(
        3_500,
        D,
        &hello(D, VgState::Listen, 100).fwd(3, VfState::Listen, 167, 100),
    );
    assert_eq!(h.vf(3), Some(VfState::Active));
    // A forwarding owner with a lower IP does not either.
    h.rx(
        3_600,
        C,
        &hello(C, VgState::Listen, 100).fwd(3, VfState::Active, 167, 100),
    );
    assert_eq!(h.vf(3), Some(VfState::Active));
    // A forwarding owner with a higher IP does: we line up again, get 4.
    h.rx(3_650, C, &hello(C, VgState::Listen, 100));
    let out = h.rx(
        3_700,
        D,
        &hello(D, VgState::Listen, 100).fwd(3, VfState::Active, 167, 100),
    );
    assert!(has_event(&out, |e| matches!(
        e,
        Event::ForwarderStateChanged {
            fwd: 3,
            reason: VfReason::Yield,
            ..
        }
    )));
    assert_eq!(h.e.dataplane().owned, vec![(4, vm(4))]);
}

/// Input: lone AVG with load balancing None; C owns 2.
/// Output: only our own vMAC is handed out.
#[test]
fn load_balancing_none_hands_out_own() {
    let mut c = cfg();
    c.load_balancing = LoadBalancing::None;
    let mut h = lone_avg(c);
    h.rx(
        11_000,
        C,
        &hello(C, VgState::Listen, 100).fwd(2, VfState::Active, 167, 100),
    );
    assert_eq!(
        h.e.dataplane().slots,
        vec![SlotEntry {
            fwd: 1,
            vmac: vm(1),
            weight: 100
        }]
    );
}

/// Input: as the AVG we learn that C's weight changed (next hello).
/// Output: the slot weight follows at once.
#[test]
fn avg_updates_slot_weight() {
    let mut h = lone_avg(cfg());
    h.rx(
        11_000,
        C,
        &hello(C, VgState::Listen, 100).fwd(2, VfState::Active, 167, 100),
    );
    let out = h.rx(
        14_000,
        C,
        &hello(C, VgState::Listen, 100).fwd(2, VfState::Active, 167, 40),
    );
    assert!(out.dataplane_changed);
    assert_eq!(h.e.dataplane().slots[1].weight, 40);
}
