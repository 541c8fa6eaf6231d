//! The lease: the program acts for a group only while the agent's deadline
//! in GW_LEASES (CLOCK_MONOTONIC ns) lies ahead, so a crashed agent never
//! leaves a stale AVG answering.

use std::time::Duration;

use gw_agent::dataplane::monotonic_ns;
use gw_common::Counter;

use crate::{
    fixture::{GroupSetup, standard},
    frames::*,
    harness::{Verdict, Xdp},
};

fn verdicts(x: &mut Xdp) -> [(Verdict, Counter); 3] {
    let broadcast = ArpFrame::for_vip().bytes();
    let unicast = ArpFrame::for_vip().to(fwd_mac(1)).bytes();
    let routed = ipv4_udp(fwd_mac(1), &[]);
    [&broadcast, &unicast, &routed].map(|f| {
        let (r, c) = x.run_counted(f);
        (r.verdict, c)
    })
}

const LIVE: [(Verdict, Counter); 3] = [
    (Verdict::Tx, Counter::ArpReplyAvg),
    (Verdict::Tx, Counter::ArpReplyUnicast),
    (Verdict::Pass, Counter::VmacRewrite),
];
const EXPIRED: [(Verdict, Counter); 3] = [
    (Verdict::Drop, Counter::DropLeaseExpired),
    (Verdict::Drop, Counter::DropLeaseExpired),
    (Verdict::Pass, Counter::VmacLeaseExpired),
];

#[test]
fn expired_lease_stops_every_path() {
    // Input: broadcast request, unicast request to the owned vMAC, routed
    // frame to it; with the lease valid, past, then renewed.
    // Output: answered/rewritten, then dropped/untouched, then answered.
    let Some(mut x) = standard() else { return };
    assert_eq!(verdicts(&mut x), LIVE);
    x.expire(0);
    assert_eq!(verdicts(&mut x), EXPIRED);
    x.renew(0);
    assert_eq!(verdicts(&mut x), LIVE);
}

#[test]
fn a_lease_never_written_is_expired() {
    // Input: lease 0 (what a fresh map holds). Output: as expired.
    let Some(mut x) = standard() else { return };
    x.set_lease(0, 0);
    assert_eq!(verdicts(&mut x), EXPIRED);
}

#[test]
fn lease_runs_out_on_its_own() {
    // Input: a deadline 200 ms ahead (room for a loaded machine); requests
    // before it and after it. Output: answered before, dropped after,
    // without the agent doing a thing (the program compares against
    // bpf_ktime_get_ns, the clock `monotonic_ns` reads).
    let Some(mut x) = standard() else { return };
    let deadline = monotonic_ns() + 200_000_000;
    x.set_lease(0, deadline);
    assert_eq!(verdicts(&mut x), LIVE);
    while monotonic_ns() <= deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(verdicts(&mut x), EXPIRED);
}

#[test]
fn leases_are_per_group() {
    // Input: a second group on VIP2 with its own index; expire only it.
    // Output: the standard group still answers, the second drops.
    let Some(mut x) = standard() else { return };
    let g2 = GroupSetup {
        vip: VIP2,
        idx: 5,
        group: 9,
        ..GroupSetup::standard()
    };
    x.add_group(&g2);
    x.expire(5);
    assert_eq!(verdicts(&mut x), LIVE);
    let q = ArpFrame::request(CLIENT_MAC, CLIENT_IP, VIP2).bytes();
    let (r, c) = x.run_counted(&q);
    assert_eq!((r.verdict, c), (Verdict::Drop, Counter::DropLeaseExpired));
    assert_eq!(x.maps().group_stats(5).arp_drops, 1);
    assert_eq!(x.maps().group_stats(0).arp_drops, 0);
}

#[test]
fn group_index_beyond_the_maps_never_answers() {
    // Input: a GroupValue whose idx is past MAX_GROUPS (a corrupt or
    // foreign write). Output: no lease exists for it: DROP, no crash.
    let Some(mut x) = standard() else { return };
    let g = GroupSetup {
        idx: gw_common::MAX_GROUPS as u16,
        ..GroupSetup::standard()
    };
    x.set_group(g.key(), g.value(0));
    let (r, c) = x.run_counted(&ArpFrame::for_vip().bytes());
    assert_eq!((r.verdict, c), (Verdict::Drop, Counter::DropLeaseExpired));
}
