//! VLAN tags: up to two (802.1Q 0x8100 or 802.1ad 0x88a8, in any order);
//! the innermost VID selects the group; replies keep the tags byte for
//! byte.

use gw_common::{Counter, vmac};

use crate::{
    arp_oracle::{assert_reply, handed_out},
    fixture::{GroupSetup, standard},
    frames::*,
    harness::{Verdict, Xdp},
};

/// Standard setup plus the VIP on VLAN 10 (group 10, index 1, forwarder
/// 10 only) and VIP2 on VLAN 20 (group 20, index 2, not AVG).
fn with_vlans() -> Option<Xdp> {
    let mut x = standard()?;
    x.add_group(&GroupSetup {
        vlan: 10,
        idx: 1,
        group: 10,
        fwds: vec![10],
        ..GroupSetup::standard()
    });
    x.add_group(&GroupSetup {
        vip: VIP2,
        vlan: 20,
        idx: 2,
        group: 20,
        avg: false,
        fwds: vec![1],
        ..GroupSetup::standard()
    });
    x.own_vmac(vmac(20, 1), 2, 1);
    Some(x)
}

fn answered_by_vlan10(x: &mut Xdp, tags: &[Tag]) {
    let mut f = ArpFrame::for_vip().padded();
    f.tags = tags.to_vec();
    let q = f.bytes();
    let (r, c) = x.run_counted(&q);
    assert_eq!(
        (r.verdict, c),
        (Verdict::Tx, Counter::ArpReplyAvg),
        "{tags:x?}"
    );
    assert_reply(&q, &r.out, IF_MAC, vmac(10, 10));
}

#[test]
fn single_tag_of_either_tpid_selects_the_vlan_group() {
    // Input: who-has VIP with one 802.1Q, then one 802.1ad tag, VID 10.
    // Output: answered by the VLAN 10 group (vMAC of group 10), tags kept.
    let Some(mut x) = with_vlans() else { return };
    answered_by_vlan10(&mut x, &[Tag::q(10)]);
    answered_by_vlan10(&mut x, &[Tag::ad(10)]);
    assert_eq!(x.maps().group_stats(1).arp_replies, 2);
    assert_eq!(x.maps().group_stats(0).arp_requests, 0);
}

#[test]
fn two_tags_in_any_order_match_the_innermost_vid() {
    // Input: QinQ stacks ad/q, q/ad, q/q, ad/ad with inner VID 10 and outer
    // VID 100. Output: all answered by VLAN 10, both tags kept.
    let Some(mut x) = with_vlans() else { return };
    for (o, i) in [
        (Tag::ad(100), Tag::q(10)),
        (Tag::q(100), Tag::ad(10)),
        (Tag::q(100), Tag::q(10)),
        (Tag::ad(100), Tag::ad(10)),
    ] {
        answered_by_vlan10(&mut x, &[o, i]);
    }
}

#[test]
fn outer_vid_does_not_select_the_group() {
    // Input: outer VID 10, inner VID 30 (no group). Output: PASS untouched.
    let Some(mut x) = with_vlans() else { return };
    let q = ArpFrame::for_vip().tag(Tag::ad(10)).tag(Tag::q(30)).bytes();
    let (r, c) = x.run_counted(&q);
    assert_eq!((r.verdict, c), (Verdict::Pass, Counter::Pass));
    assert_eq!(r.out, q);
}

#[test]
fn pcp_and_dei_bits_are_ignored_for_matching_and_kept() {
    // Input: VID 10 with PCP 5, and with PCP 7 + DEI. Output: answered by
    // VLAN 10; the TCI bytes come back exactly as sent.
    let Some(mut x) = with_vlans() else { return };
    for tci in [0xa00a, 0xf00a] {
        answered_by_vlan10(
            &mut x,
            &[Tag {
                tpid: ETH_P_8021Q,
                tci,
            }],
        );
        answered_by_vlan10(
            &mut x,
            &[
                Tag::ad(0x0123),
                Tag {
                    tpid: ETH_P_8021Q,
                    tci,
                },
            ],
        );
    }
}

#[test]
fn priority_tag_vid_0_is_the_untagged_group() {
    // Input: 802.1p priority tag (VID 0, PCP 6). Output: answered by the
    // untagged group, tag kept.
    let Some(mut x) = with_vlans() else { return };
    let q = ArpFrame::for_vip().tag(Tag::q(0xc000)).bytes();
    let (r, c) = x.run_counted(&q);
    assert_eq!((r.verdict, c), (Verdict::Tx, Counter::ArpReplyAvg));
    assert_reply(&q, &r.out, IF_MAC, fwd_mac(1));
}

#[test]
fn three_tags_are_not_parsed() {
    // Input: who-has VIP under three tags. Output: PASS untouched (the
    // program reads at most two; what follows is not ARP to it).
    let Some(mut x) = with_vlans() else { return };
    let q = ArpFrame::for_vip()
        .tag(Tag::ad(1))
        .tag(Tag::q(2))
        .tag(Tag::q(10))
        .bytes();
    let (r, c) = x.run_counted(&q);
    assert_eq!((r.verdict, c), (Verdict::Pass, Counter::Pass));
    assert_eq!(r.out, q);
}

#[test]
fn vlan_vip_untagged_or_on_another_vlan_passes() {
    // Input: who-has VIP2 (configured on VLAN 20 only) untagged and on
    // VLAN 10. Output: PASS untouched.
    let Some(mut x) = with_vlans() else { return };
    for tags in [vec![], vec![Tag::q(10)]] {
        let mut f = ArpFrame::request(CLIENT_MAC, CLIENT_IP, VIP2);
        f.tags = tags;
        let q = f.bytes();
        let (r, c) = x.run_counted(&q);
        assert_eq!((r.verdict, c), (Verdict::Pass, Counter::Pass));
        assert_eq!(r.out, q);
    }
}

#[test]
fn vlan_group_not_avg_drops_broadcast_and_answers_unicast() {
    // Input: VIP2 on VLAN 20 (not AVG), broadcast and to its owned vMAC,
    // under QinQ. Output: DROP, then TX from the vMAC with tags kept.
    let Some(mut x) = with_vlans() else { return };
    let f = ArpFrame::request(CLIENT_MAC, CLIENT_IP, VIP2)
        .tag(Tag::ad(300))
        .tag(Tag::q(20));
    let (r, c) = x.run_counted(&f.bytes());
    assert_eq!((r.verdict, c), (Verdict::Drop, Counter::DropNotAvg));
    let q = f.to(vmac(20, 1)).bytes();
    let (r, c) = x.run_counted(&q);
    assert_eq!((r.verdict, c), (Verdict::Tx, Counter::ArpReplyUnicast));
    assert_reply(&q, &r.out, vmac(20, 1), vmac(20, 1));
    assert_eq!(handed_out(&r.out), vmac(20, 1));
}
