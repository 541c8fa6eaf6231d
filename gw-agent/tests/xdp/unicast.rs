//! Unicast ARP requests to an owned vMAC (Linux re-confirming a stale
//! neighbour) are answered with that same vMAC, as sha and as Ethernet
//! source, whether or not this router is AVG: the host keeps its forwarder.

use gw_common::{Counter, vmac};

use crate::{
    arp_oracle::{assert_reply, handed_out},
    fixture::{GroupSetup, standard},
    frames::*,
    harness::Verdict,
};

#[test]
fn unicast_request_to_an_owned_vmac_is_answered_with_it() {
    // Input: who-has VIP to forwarder 1's vMAC (owned). Output: TX, reply
    // from that vMAC handing out that vMAC.
    let Some(mut x) = standard() else { return };
    let q = ArpFrame::for_vip().to(fwd_mac(1)).padded().bytes();
    let (r, c) = x.run_counted(&q);
    assert_eq!((r.verdict, c), (Verdict::Tx, Counter::ArpReplyUnicast));
    assert_reply(&q, &r.out, fwd_mac(1), fwd_mac(1));
}

#[test]
fn unicast_answer_does_not_depend_on_avg() {
    // Input: the group not AVG, and separately AVG, with forwarders 1 and 3
    // owned. Output: each unicast request gets its own vMAC back.
    let Some(mut x) = standard() else { return };
    x.own_vmac(fwd_mac(3), 0, 3);
    for avg in [false, true] {
        let g = GroupSetup {
            avg,
            ..GroupSetup::standard()
        };
        x.set_group(g.key(), g.value(0));
        for fwd in [3, 1, 3] {
            let q = ArpFrame::for_vip().to(fwd_mac(fwd)).bytes();
            let (r, c) = x.run_counted(&q);
            assert_eq!((r.verdict, c), (Verdict::Tx, Counter::ArpReplyUnicast));
            assert_reply(&q, &r.out, fwd_mac(fwd), fwd_mac(fwd));
        }
    }
}

#[test]
fn unicast_answers_leave_the_round_robin_alone() {
    // Input: unicast, broadcast, unicast, broadcast. Output: the broadcast
    // answers are slots 0 then 1: unicast answers take no turn.
    let Some(mut x) = standard() else { return };
    let uni = ArpFrame::for_vip().to(fwd_mac(1)).bytes();
    let bc = ArpFrame::for_vip().bytes();
    let mut got = Vec::new();
    for q in [&uni, &bc, &uni, &bc] {
        got.push(handed_out(&x.run(q).out));
    }
    assert_eq!(got, [fwd_mac(1), fwd_mac(1), fwd_mac(1), fwd_mac(2)]);
}

#[test]
fn vmac_owned_for_another_group_gets_the_avg_answer() {
    // Input: who-has VIP (group 1) sent to a vMAC we own for another
    // group (index 1). Output: not a unicast answer; the AVG path answers
    // from the slot table with the interface MAC as source; when not AVG,
    // dropped.
    let Some(mut x) = standard() else { return };
    let other = GroupSetup {
        vip: VIP2,
        idx: 1,
        group: 7,
        ..GroupSetup::standard()
    };
    x.add_group(&other);
    x.own_vmac(vmac(7, 1), 1, 1);
    let q = ArpFrame::for_vip().to(vmac(7, 1)).bytes();
    let (r, c) = x.run_counted(&q);
    assert_eq!((r.verdict, c), (Verdict::Tx, Counter::ArpReplyAvg));
    assert_reply(&q, &r.out, IF_MAC, fwd_mac(1));

    let g = GroupSetup {
        avg: false,
        ..GroupSetup::standard()
    };
    x.set_group(g.key(), g.value(0));
    let (r, c) = x.run_counted(&q);
    assert_eq!((r.verdict, c), (Verdict::Drop, Counter::DropNotAvg));
}

#[test]
fn a_disowned_vmac_is_no_longer_answered() {
    // Input: forwarder 1's vMAC owned, then removed from GW_VMACS (another
    // router took it over), group not AVG. Output: TX, then DROP.
    let Some(mut x) = standard() else { return };
    let g = GroupSetup {
        avg: false,
        ..GroupSetup::standard()
    };
    x.set_group(g.key(), g.value(0));
    let q = ArpFrame::for_vip().to(fwd_mac(1)).bytes();
    assert_eq!(x.run_counted(&q).1, Counter::ArpReplyUnicast);
    x.disown_vmac(fwd_mac(1));
    let (r, c) = x.run_counted(&q);
    assert_eq!((r.verdict, c), (Verdict::Drop, Counter::DropNotAvg));
}
