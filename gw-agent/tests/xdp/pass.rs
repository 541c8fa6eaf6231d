//! Frames that are none of gw's business pass untouched: output bytes equal
//! input bytes, and the reason is counted.

use gw_common::Counter;

use crate::{
    fixture::standard,
    frames::*,
    harness::{Verdict, Xdp},
};

fn assert_untouched(x: &mut Xdp, frame: &[u8], reason: Counter) {
    let (r, c) = x.run_counted(frame);
    assert_eq!((r.verdict, c), (Verdict::Pass, reason), "{frame:02x?}");
    assert_eq!(r.out, frame, "passed frames are not modified");
}

#[test]
fn arp_for_a_non_vip_passes_untouched() {
    // Input: who-has for an ordinary LAN address, broadcast and unicast to
    // the interface, request and reply. Output: PASS, bytes unchanged.
    let Some(mut x) = standard() else { return };
    for f in [
        ArpFrame::request(CLIENT_MAC, CLIENT_IP, OTHER_IP),
        ArpFrame::request(CLIENT_MAC, CLIENT_IP, OTHER_IP).to(IF_MAC),
        ArpFrame::request(CLIENT_MAC, CLIENT_IP, OTHER_IP).op(2),
        ArpFrame::request(CLIENT_MAC, CLIENT_IP, OTHER_IP).padded(),
        // The VIP as sender, not target: not a question about the VIP.
        ArpFrame::request(CLIENT_MAC, VIP, OTHER_IP),
    ] {
        assert_untouched(&mut x, &f.bytes(), Counter::Pass);
    }
}

#[test]
fn arp_for_the_key_of_an_ipv6_only_group_passes_untouched() {
    // Input: an IPv6-only group, which the agent keys in GW_GROUPS with a
    // 0.0.0.0/8 address (gw_common::v6_only_key), asked for by ARP, plain
    // and in 802.1Q. Output: PASS unchanged and the group never looked up.
    let Some(mut x) = standard() else { return };
    let g = crate::fixture::GroupSetup {
        vip: gw_common::v6_only_key(7, 0).vip,
        idx: 1,
        group: 7,
        ..crate::fixture::GroupSetup::standard()
    };
    x.add_group(&g);
    let mut tagged = g.clone();
    tagged.vlan = 10;
    tagged.idx = 2;
    x.add_group(&tagged);
    for f in [
        ArpFrame::request(CLIENT_MAC, CLIENT_IP, g.vip),
        ArpFrame::request(CLIENT_MAC, CLIENT_IP, g.vip).tag(Tag::q(10)),
    ] {
        assert_untouched(&mut x, &f.bytes(), Counter::Pass);
    }
    for idx in [1, 2] {
        assert_eq!(
            x.maps().group_stats(idx).arp_requests,
            0,
            "group {idx} looked up"
        );
    }
}

#[test]
fn non_arp_frames_pass_untouched() {
    // Input: IPv4 to the interface and broadcast, IPv6 and LLDP ethertypes,
    // a frame of just an Ethernet header. Output: PASS, unchanged.
    let Some(mut x) = standard() else { return };
    assert_untouched(&mut x, &ipv4_udp(IF_MAC, &[]), Counter::Pass);
    assert_untouched(&mut x, &ipv4_udp(BROADCAST, &[Tag::q(10)]), Counter::Pass);
    for ethertype in [0x86dd_u16, 0x88cc, 0x0842, 0x8035] {
        let mut f = ArpFrame::for_vip();
        f.ethertype = ethertype;
        assert_untouched(&mut x, &f.bytes(), Counter::Pass);
    }
    let mut hdr = BROADCAST.to_vec();
    hdr.extend_from_slice(&CLIENT_MAC);
    hdr.extend_from_slice(&ETH_P_IP.to_be_bytes());
    assert_untouched(&mut x, &hdr, Counter::Pass);
}

#[test]
fn malformed_arp_passes_untouched() {
    // Input: who-has VIP with one wrong type or length field each (e.g.
    // ARP over IEEE 802 networks, for IPv6, with 8-byte hardware
    // addresses). Output: PASS unchanged, counted as ArpMalformed, and no
    // group counter moves (the VIP was never looked up).
    let Some(mut x) = standard() else { return };
    let mutations: [fn(&mut ArpFrame); 8] = [
        |f| f.htype = 6,
        |f| f.htype = 0,
        |f| f.ptype = 0x86dd,
        |f| f.ptype = 0x0806,
        |f| f.hlen = 8,
        |f| f.hlen = 0,
        |f| f.plen = 16,
        |f| f.plen = 6,
    ];
    for m in mutations {
        let mut f = ArpFrame::for_vip();
        m(&mut f);
        assert_untouched(&mut x, &f.bytes(), Counter::ArpMalformed);
        // Also when addressed to an owned vMAC: malformed ARP is not
        // rewritten for routing.
        let mut f = f.to(fwd_mac(1));
        f.op = 1;
        assert_untouched(&mut x, &f.bytes(), Counter::ArpMalformed);
    }
    assert_eq!(x.maps().group_stats(0).arp_requests, 0);
}

#[test]
fn vip_on_a_vlan_without_a_group_passes_untouched() {
    // Input: who-has VIP tagged with VLAN 30; the VIP is configured only
    // untagged. Output: PASS unchanged (another router's business).
    let Some(mut x) = standard() else { return };
    let f = ArpFrame::for_vip().tag(Tag::q(30));
    assert_untouched(&mut x, &f.bytes(), Counter::Pass);
}
