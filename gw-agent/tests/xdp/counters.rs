//! Counters: every frame moves exactly one GW_STATS counter by one (checked
//! by `Xdp::run_counted` in every test); here the per-group and
//! per-forwarder counters over a mixed batch.

use gw_common::{Counter, GroupStats};

use crate::{
    fixture::{GroupSetup, standard},
    frames::*,
    harness::{Verdict, delta},
};

#[test]
fn a_mixed_batch_lands_in_the_right_counters() {
    // Input: one of each kind of frame, some twice, against the standard
    // group plus a second group (VIP2, index 1, not AVG).
    // Output: GW_STATS, GW_GROUP_STATS and GW_FWD_STATS deltas as tallied.
    let Some(mut x) = standard() else { return };
    x.add_group(&GroupSetup {
        vip: VIP2,
        idx: 1,
        group: 2,
        avg: false,
        ..GroupSetup::standard()
    });
    let before = x.counters();
    let mut malformed = ArpFrame::for_vip();
    malformed.hlen = 8;
    let batch: Vec<(Vec<u8>, Verdict)> = vec![
        (ArpFrame::for_vip().bytes(), Verdict::Tx), // fwd 1
        (ArpFrame::for_vip().bytes(), Verdict::Tx), // fwd 2
        (ArpFrame::for_vip().bytes(), Verdict::Tx), // fwd 3
        (ArpFrame::for_vip().bytes(), Verdict::Tx), // fwd 1
        (ArpFrame::for_vip().to(fwd_mac(1)).bytes(), Verdict::Tx),
        (ArpFrame::for_vip().op(2).bytes(), Verdict::Drop),
        (
            ArpFrame::request(CLIENT_MAC, VIP, VIP).bytes(),
            Verdict::Drop,
        ),
        (
            ArpFrame::request(IF_MAC, CLIENT_IP, VIP).bytes(),
            Verdict::Drop,
        ),
        (
            ArpFrame::request(CLIENT_MAC, CLIENT_IP, VIP2).bytes(),
            Verdict::Drop,
        ),
        (malformed.bytes(), Verdict::Pass),
        (
            ArpFrame::request(CLIENT_MAC, CLIENT_IP, OTHER_IP).bytes(),
            Verdict::Pass,
        ),
        (ipv4_udp(IF_MAC, &[]), Verdict::Pass),
        (ipv4_udp(fwd_mac(1), &[]), Verdict::Pass),
        (ipv4_udp(fwd_mac(1), &[]), Verdict::Pass),
        (ipv4_udp(fwd_mac(2), &[]), Verdict::Pass),
        (ArpFrame::for_vip().bytes()[..20].to_vec(), Verdict::Pass),
    ];
    for (f, v) in &batch {
        assert_eq!(x.run_counted(f).0.verdict, *v, "{f:02x?}");
    }
    let mut want = vec![
        (Counter::Pass, 3),
        (Counter::Truncated, 1),
        (Counter::ArpMalformed, 1),
        (Counter::ArpReplyAvg, 4),
        (Counter::ArpReplyUnicast, 1),
        (Counter::DropNotAvg, 1),
        (Counter::DropNotRequest, 1),
        (Counter::DropGratuitous, 1),
        (Counter::VmacRewrite, 2),
        (Counter::DropOwnSender, 1),
    ];
    want.sort_by_key(|(c, _)| *c as u32);
    assert_eq!(delta(&before, &x.counters()), want);
    assert_eq!(want.iter().map(|(_, n)| n).sum::<u64>(), batch.len() as u64);

    let udp_len = ipv4_udp(fwd_mac(1), &[]).len() as u64;
    let g0 = x.maps().group_stats(0);
    assert_eq!(
        g0,
        GroupStats {
            arp_requests: 8,
            arp_replies: 5,
            arp_drops: 3,
            vmac_frames: 2,
            vmac_bytes: 2 * udp_len,
        }
    );
    let g1 = x.maps().group_stats(1);
    assert_eq!((g1.arp_requests, g1.arp_drops, g1.arp_replies), (1, 1, 0));

    // Forwarder 1: two AVG answers, one unicast answer, two frames.
    let f1 = x.maps().fwd_stats(0, 1);
    assert_eq!((f1.arp_replies, f1.frames), (3, 2));
    assert_eq!(x.maps().fwd_stats(0, 2).arp_replies, 1);
    assert_eq!(x.maps().fwd_stats(0, 3).arp_replies, 1);
    assert_eq!(x.maps().fwd_stats(0, 2).frames, 0, "vMAC 2 is not owned");
    assert_eq!(x.maps().fwd_stats(1, 1).arp_replies, 0);
}

#[test]
fn forwarder_reply_counters_follow_the_slots() {
    // Input: 32 broadcast requests over slots [1, 2, 2, 5].
    // Output: each slot is handed out 8 times, so forwarder 2, holding two
    // slots, counts 16 replies and forwarders 1 and 5 count 8 each.
    let Some(mut x) = standard() else { return };
    x.add_group(&GroupSetup {
        fwds: vec![1, 2, 2, 5],
        ..GroupSetup::standard()
    });
    for _ in 0..32 {
        assert_eq!(x.run(&ArpFrame::for_vip().bytes()).verdict, Verdict::Tx);
    }
    let r = |f| x.maps().fwd_stats(0, f).arp_replies;
    assert_eq!((r(1), r(2), r(3), r(5)), (8, 16, 0, 8));
    assert_eq!(x.maps().group_stats(0).arp_replies, 32);
}
