//! ARP for a VIP that gw must not answer is dropped, so the kernel never
//! answers for the VIP with a real MAC. Drops leave the frame as it was
//! (nothing is half-rewritten) and count arp_requests and arp_drops.

use gw_common::{Counter, SLOT_TABLE_LEN, SlotTable};

use crate::{
    fixture::{GroupSetup, slots, standard},
    frames::*,
    harness::{Verdict, Xdp},
};

fn assert_dropped(x: &mut Xdp, frame: &[u8], reason: Counter) {
    let before = x.maps().group_stats(0);
    let (r, c) = x.run_counted(frame);
    assert_eq!((r.verdict, c), (Verdict::Drop, reason), "{frame:02x?}");
    assert_eq!(r.out, frame, "a dropped frame is not rewritten");
    let after = x.maps().group_stats(0);
    assert_eq!(after.arp_requests, before.arp_requests + 1);
    assert_eq!(after.arp_drops, before.arp_drops + 1);
    assert_eq!(after.arp_replies, before.arp_replies);
}

#[test]
fn broadcast_request_while_not_avg_is_dropped() {
    // Input: the standard group with the AVG flag cleared.
    // Output: broadcast who-has VIP dropped (DropNotAvg).
    let Some(mut x) = standard() else { return };
    let g = GroupSetup {
        avg: false,
        ..GroupSetup::standard()
    };
    x.set_group(g.key(), g.value(0));
    assert_dropped(&mut x, &ArpFrame::for_vip().bytes(), Counter::DropNotAvg);
    // A known-prefix vMAC we do not own is no reason to answer either.
    let q = ArpFrame::for_vip().to(fwd_mac(2)).bytes();
    assert_dropped(&mut x, &q, Counter::DropNotAvg);
}

#[test]
fn arp_replies_and_other_opcodes_for_the_vip_are_dropped() {
    // Input: op 2 (reply), 3/4 (RARP), 0 and 0xffff for the VIP, broadcast
    // and to an owned vMAC. Output: DROP (DropNotRequest).
    let Some(mut x) = standard() else { return };
    for op in [2u16, 3, 4, 0, 0xffff] {
        let f = ArpFrame::for_vip().op(op);
        assert_dropped(&mut x, &f.bytes(), Counter::DropNotRequest);
        assert_dropped(&mut x, &f.to(fwd_mac(1)).bytes(), Counter::DropNotRequest);
    }
}

#[test]
fn gratuitous_arp_for_the_vip_is_dropped() {
    // Input: another box announcing the VIP (spa == tpa == VIP), as request
    // and as reply. Output: DROP; the request counts as DropGratuitous, the
    // reply as DropNotRequest (the opcode is checked first).
    let Some(mut x) = standard() else { return };
    let g = ArpFrame::request([0x02, 0, 0x5e, 0x30, 0, 9], VIP, VIP);
    assert_dropped(&mut x, &g.bytes(), Counter::DropGratuitous);
    assert_dropped(
        &mut x,
        &g.clone().to(fwd_mac(1)).bytes(),
        Counter::DropGratuitous,
    );
    assert_dropped(&mut x, &g.op(2).bytes(), Counter::DropNotRequest);
}

#[test]
fn requests_from_our_own_interface_mac_are_dropped() {
    // Input: who-has VIP with sha = the interface MAC (our own request
    // looped back by a switch). Output: DROP (DropOwnSender).
    let Some(mut x) = standard() else { return };
    let q = ArpFrame::request(IF_MAC, OTHER_IP, VIP);
    assert_dropped(&mut x, &q.bytes(), Counter::DropOwnSender);
    assert_dropped(&mut x, &q.to(fwd_mac(1)).bytes(), Counter::DropOwnSender);
}

#[test]
fn avg_with_an_empty_slot_table_drops() {
    // Input: AVG whose live table has len 0; then a corrupt len beyond the
    // table. Output: DROP (DropEmptyTable) both times; a unicast request
    // to the owned vMAC is still answered (it needs no table).
    let Some(mut x) = standard() else { return };
    x.set_table(0, &[]);
    assert_dropped(
        &mut x,
        &ArpFrame::for_vip().bytes(),
        Counter::DropEmptyTable,
    );

    let mut t = SlotTable::default();
    t.slots
        .copy_from_slice(&[slots(GROUP, &[1])[0]; SLOT_TABLE_LEN]);
    t.len = SLOT_TABLE_LEN as u32 + 1;
    x.set_raw_table(0, t);
    assert_dropped(
        &mut x,
        &ArpFrame::for_vip().bytes(),
        Counter::DropEmptyTable,
    );

    let (r, c) = x.run_counted(&ArpFrame::for_vip().to(fwd_mac(1)).bytes());
    assert_eq!((r.verdict, c), (Verdict::Tx, Counter::ArpReplyUnicast));
}

#[test]
fn a_full_table_is_not_empty() {
    // Input: len = SLOT_TABLE_LEN exactly. Output: answered (the bound is
    // inclusive).
    let Some(mut x) = standard() else { return };
    let fwds: Vec<u8> = (0..SLOT_TABLE_LEN).map(|i| (i % 255 + 1) as u8).collect();
    x.set_table(0, &slots(GROUP, &fwds));
    let (r, c) = x.run_counted(&ArpFrame::for_vip().bytes());
    assert_eq!((r.verdict, c), (Verdict::Tx, Counter::ArpReplyAvg));
}
