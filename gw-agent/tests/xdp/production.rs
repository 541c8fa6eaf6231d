//! The object with the sizes the agent uses (every other test shrinks
//! GW_FWD_STATS to load fast, see harness.rs): the last group index and
//! the last forwarder number have their counter rows.

use gw_common::{Counter, DEFAULT_CLIENT_CACHE, MAX_GROUPS, vmac};

use crate::{
    arp_oracle::assert_reply,
    fixture::GroupSetup,
    frames::*,
    harness::{Verdict, Xdp},
};

#[test]
fn production_sized_object_answers_for_the_last_group_and_forwarder() {
    // Input: group 1023 at index MAX_GROUPS - 1 with forwarder 255 (owned);
    // a broadcast request and a frame to the vMAC.
    // Output: answered and rewritten; group and forwarder counters of the
    // very last rows count them.
    let Some(mut x) = Xdp::load_production(DEFAULT_CLIENT_CACHE) else {
        return;
    };
    let idx = (MAX_GROUPS - 1) as u16;
    let g = GroupSetup {
        idx,
        group: 1023,
        fwds: vec![255],
        ..GroupSetup::standard()
    };
    x.set_if_mac(IF_MAC);
    x.add_group(&g);
    x.own_vmac(vmac(1023, 255), idx, 255);

    let q = ArpFrame::for_vip().bytes();
    let (r, c) = x.run_counted(&q);
    assert_eq!((r.verdict, c), (Verdict::Tx, Counter::ArpReplyAvg));
    assert_reply(&q, &r.out, IF_MAC, vmac(1023, 255));
    let (r, c) = x.run_counted(&ipv4_udp(vmac(1023, 255), &[]));
    assert_eq!((r.verdict, c), (Verdict::Pass, Counter::VmacRewrite));

    let f = x.maps().fwd_stats(idx, 255);
    assert_eq!((f.arp_replies, f.frames), (1, 1));
    let s = x.maps().group_stats(idx);
    assert_eq!((s.arp_requests, s.arp_replies, s.vmac_frames), (1, 1, 1));
    assert!(x.client(CLIENT_MAC, idx).is_some());
}
