//! The reply the AVG builds in place, checked field by field with the
//! independent oracle; and the oracle itself checked against known bytes.

use gw_common::Counter;

use crate::{
    arp_oracle::{self, Arp, Eth, assert_reply},
    fixture::standard,
    frames::*,
    harness::Verdict,
};

/// A who-has from an ordinary LAN, typed out byte by byte.
const WHO_HAS_LITERAL: [u8; 42] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // eth dst: broadcast
    0x02, 0x00, 0x5e, 0x20, 0x00, 0x0a, // eth src
    0x08, 0x06, // ARP
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, // Ethernet, IPv4, 6, 4
    0x00, 0x01, // request
    0x02, 0x00, 0x5e, 0x20, 0x00, 0x0a, // sha
    192, 0, 2, 10, // spa
    0, 0, 0, 0, 0, 0, // tha
    192, 0, 2, 99, // tpa
];

#[test]
fn oracle_reads_the_builders_glbp_free_request() {
    // Input: a plain ARP request (no VIP, no vMAC) from the builder and the
    // same request typed as bytes. Output: both equal; the oracle returns
    // exactly the fields the test put in.
    let f = ArpFrame::request(CLIENT_MAC, CLIENT_IP, OTHER_IP);
    assert_eq!(f.bytes(), WHO_HAS_LITERAL);
    let (eth, arp) = arp_oracle::parse(&WHO_HAS_LITERAL).expect("parses");
    assert_eq!(
        eth,
        Eth {
            dst: BROADCAST,
            src: CLIENT_MAC,
            tags: vec![],
            ethertype: ETH_P_ARP,
            payload: 14,
        }
    );
    assert_eq!(
        arp,
        Arp {
            htype: 1,
            ptype: 0x0800,
            hlen: 6,
            plen: 4,
            op: 1,
            sha: CLIENT_MAC,
            spa: CLIENT_IP,
            tha: [0; 6],
            tpa: OTHER_IP,
        }
    );
    // Tagged, every field distinct, so swapped offsets would show.
    let mut f = ArpFrame::request([1, 2, 3, 4, 5, 6], [7, 8, 9, 10], [11, 12, 13, 14])
        .to([15, 16, 17, 18, 19, 20])
        .tag(Tag::ad(0x123))
        .tag(Tag {
            tpid: ETH_P_8021Q,
            tci: 0xa456,
        })
        .op(0x1718);
    f.src = [21, 22, 23, 24, 25, 26];
    f.tha = [27, 28, 29, 30, 31, 32];
    f.htype = 0x2122;
    f.ptype = 0x2324;
    f.hlen = 0x25;
    f.plen = 0x26;
    let (eth, arp) = arp_oracle::parse(&f.bytes()).expect("parses");
    assert_eq!((eth.dst, eth.src), (f.dst, f.src));
    assert_eq!(eth.tags, vec![(ETH_P_8021AD, 0x123), (ETH_P_8021Q, 0xa456)]);
    assert_eq!((eth.vid(), eth.payload), (0x456, 22));
    assert_eq!(
        (arp.htype, arp.ptype, arp.hlen, arp.plen, arp.op),
        (0x2122, 0x2324, 0x25, 0x26, 0x1718)
    );
    assert_eq!(
        (arp.sha, arp.spa, arp.tha, arp.tpa),
        (f.sha, f.spa, f.tha, f.tpa)
    );
    // Cut short by one byte: no ARP.
    assert!(arp_oracle::parse(&f.bytes()[..49]).is_none());
}

#[test]
fn broadcast_request_for_vip_is_answered_in_place() {
    // Input: broadcast who-has VIP from the client, standard group.
    // Output: XDP_TX; the reply from IF_MAC hands out forwarder 1's vMAC
    // (first slot of the round-robin walk).
    let Some(mut x) = standard() else { return };
    let q = ArpFrame::for_vip().bytes();
    let (r, c) = x.run_counted(&q);
    assert_eq!((r.verdict, c), (Verdict::Tx, Counter::ArpReplyAvg));
    assert_exact_reply(&q, &r.out, IF_MAC, fwd_mac(1));
}

fn assert_exact_reply(q: &[u8], out: &[u8], src: [u8; 6], vmac: [u8; 6]) {
    assert_reply(q, out, src, vmac);
    // And the exact expected bytes, built independently of the oracle.
    let mut want = ArpFrame::request(vmac, VIP, CLIENT_IP).to(CLIENT_MAC).op(2);
    want.src = src;
    want.tha = CLIENT_MAC;
    let (qe, _) = arp_oracle::parse(q).unwrap();
    want.tags = qe
        .tags
        .iter()
        .map(|&(tpid, tci)| Tag { tpid, tci })
        .collect();
    want.pad = q[want.header_len()..].to_vec();
    assert_eq!(out, want.bytes());
}

#[test]
fn padded_request_keeps_its_padding_and_length() {
    // Input: the request padded to 60 bytes, as a NIC delivers it.
    // Output: a 60-byte reply, padding bytes untouched.
    let Some(mut x) = standard() else { return };
    let q = ArpFrame::for_vip().padded().bytes();
    assert_eq!(q.len(), 60);
    let (r, _) = x.run_counted(&q);
    assert_eq!(r.verdict, Verdict::Tx);
    assert_exact_reply(&q, &r.out, IF_MAC, fwd_mac(1));
}

#[test]
fn reply_goes_to_the_ethernet_source_not_the_sender_field() {
    // Input: a request whose Ethernet source differs from its sha (a bridge
    // or proxy in between). Output: eth dst = eth src of the request,
    // tha = sha of the request.
    let Some(mut x) = standard() else { return };
    let mut f = ArpFrame::for_vip();
    f.src = [0x02, 0x00, 0x5e, 0x30, 0x00, 0x01];
    let q = f.bytes();
    let (r, _) = x.run_counted(&q);
    assert_eq!(r.verdict, Verdict::Tx);
    assert_reply(&q, &r.out, IF_MAC, fwd_mac(1));
    assert_eq!(r.out[..6], f.src);
    assert_eq!(r.out[32..38], CLIENT_MAC);
}

#[test]
fn request_unicast_to_the_interface_mac_is_answered_as_avg() {
    // Input: who-has VIP sent to the router's own MAC (not a vMAC).
    // Output: answered like a broadcast, by the AVG from a slot.
    let Some(mut x) = standard() else { return };
    let q = ArpFrame::for_vip().to(IF_MAC).bytes();
    let (r, c) = x.run_counted(&q);
    assert_eq!((r.verdict, c), (Verdict::Tx, Counter::ArpReplyAvg));
    assert_reply(&q, &r.out, IF_MAC, fwd_mac(1));
}
