//! IPv6 Neighbor Discovery for virtual IPv6 addresses (gw-ebpf/src/nd6.rs):
//! solicitations answered in place with advertisements, judged by the
//! independent oracle (nd6_oracle.rs); the IPv6 side shares the group's
//! slot table, round-robin position, counters and client cache with ARP.

use gw_common::{Counter, GroupKey6, MODE_HOST_HASH, vmac};

use crate::{
    arp_oracle,
    fixture::{GroupSetup, standard},
    frames::*,
    frames6::*,
    harness::{Verdict, Xdp},
    nd6_oracle::{self, Answer, assert_na, checksum_ok, handed_out},
};

/// Maps `vip` (on the group's VLAN) to the group's value, table 0 live,
/// as the agent does for each virtual IPv6 address of a group.
pub fn add_vip6(x: &mut Xdp, g: &GroupSetup, vip: [u8; 16]) {
    let key = GroupKey6 {
        vip,
        vlan: g.vlan,
        _pad: 0,
    };
    x.maps_mut()
        .groups6
        .insert(key, g.value(0), 0)
        .expect("GW_GROUPS6");
}

/// Writes `g` for both families: its IPv4 key and VIP6, VIP6_GLOBAL.
pub fn set_both(x: &mut Xdp, g: &GroupSetup) {
    x.set_group(g.key(), g.value(0));
    add_vip6(x, g, VIP6);
    add_vip6(x, g, VIP6_GLOBAL);
}

/// The standard configuration with the standard group's virtual
/// link-local and global IPv6 addresses.
pub fn standard6() -> Option<Xdp> {
    let mut x = standard()?;
    set_both(&mut x, &GroupSetup::standard());
    Some(x)
}

#[test]
fn builder_and_oracle_agree_on_a_solicitation() {
    // Input: the standard solicitation. Output: the oracle reads back the
    // builder's fields, its own checksum verifies the builder's, and any
    // single flipped bit in the message breaks it.
    let f = NsFrame::for_vip6();
    let b = f.bytes();
    let (eth, nd) = nd6_oracle::parse(&b).expect("parses");
    assert_eq!(
        (eth.dst, eth.src),
        (mcast_mac(&solicited_node(&VIP6)), CLIENT_MAC)
    );
    assert_eq!(eth.dst, [0x33, 0x33, 0xff, 0x00, 0x01, 0x00]);
    assert_eq!(
        (nd.src, nd.dst, nd.target),
        (CLIENT_IP6, solicited_node(&VIP6), VIP6)
    );
    assert_eq!((nd.icmp_type, nd.code, nd.hops, nd.plen), (NS, 0, 255, 32));
    assert_eq!(nd.options, vec![(1, slla(CLIENT_MAC))]);
    assert!(checksum_ok(&nd));
    for i in 54..b.len() {
        let mut m = b.clone();
        m[i] ^= 0x10;
        assert!(
            !checksum_ok(&nd6_oracle::parse(&m).unwrap().1),
            "flip at {i}"
        );
    }
    // fe80::7:b4ff:fe00:100, Cisco's form for group 1.
    let want: std::net::Ipv6Addr = "fe80::7:b4ff:fe00:100".parse().unwrap();
    assert_eq!(VIP6, want.octets());
}

#[test]
fn avg_answers_with_an_advertisement() {
    // Input: solicitations for the link-local and the global virtual
    // address. Output: TX, advertisements from the interface MAC handing
    // out slots 1 then 2; counted with the group and its forwarders; the
    // host remembered with no IPv4 address.
    let Some(mut x) = standard6() else { return };
    let q = NsFrame::for_vip6().bytes();
    let (r, c) = x.run_counted(&q);
    assert_eq!((r.verdict, c), (Verdict::Tx, Counter::Nd6ReplyAvg));
    assert_na(&q, &r.out, IF_MAC, fwd_mac(1), Answer::Solicited);

    let q = NsFrame::solicit(VIP6_GLOBAL).bytes();
    let (r, c) = x.run_counted(&q);
    assert_eq!((r.verdict, c), (Verdict::Tx, Counter::Nd6ReplyAvg));
    assert_na(&q, &r.out, IF_MAC, fwd_mac(2), Answer::Solicited);

    let g = x.maps().group_stats(0);
    assert_eq!((g.arp_requests, g.arp_replies, g.arp_drops), (2, 2, 0));
    assert_eq!(x.maps().fwd_stats(0, 1).arp_replies, 1);
    assert_eq!(x.maps().fwd_stats(0, 2).arp_replies, 1);
    let cv = x.client(CLIENT_MAC, 0).expect("remembered");
    assert_eq!((cv.ip, cv.fwd), ([0; 4], 2));
}

#[test]
fn round_robin_is_shared_with_arp() {
    // Input: ARP, NS, ARP, NS, NS. Output: one walk over the table: slots
    // 1, 2, 3, 1, 2 whichever family asks.
    let Some(mut x) = standard6() else { return };
    let arp = ArpFrame::for_vip().bytes();
    let ns = NsFrame::for_vip6().bytes();
    let mut got = Vec::new();
    for q in [&arp, &ns, &arp, &ns, &ns] {
        let r = x.run(q);
        assert_eq!(r.verdict, Verdict::Tx);
        got.push(if q == &arp {
            arp_oracle::handed_out(&r.out)
        } else {
            handed_out(&r.out)
        });
    }
    let want: Vec<_> = [1, 2, 3, 1, 2].map(fwd_mac).into();
    assert_eq!(got, want);
    assert_eq!(x.rr(0), 5);
}

#[test]
fn host_hash_uses_the_source_link_layer_address() {
    // Input: host-dependent group; for 32 hosts, an ARP request and a
    // solicitation (whose source link-layer option names the host while
    // the Ethernet source is a bridge's MAC). Output: each host gets the
    // same vMAC over both families, and the hosts spread over the slots.
    let Some(mut x) = standard6() else { return };
    let g = GroupSetup {
        mode: MODE_HOST_HASH,
        ..GroupSetup::standard()
    };
    set_both(&mut x, &g);
    let mut seen = std::collections::BTreeSet::new();
    for n in 0..32 {
        let m = client_mac(n);
        let a = x.run(&ArpFrame::request(m, CLIENT_IP, VIP).bytes());
        let mut ns = NsFrame::for_vip6().from(m);
        ns.src = [0x02, 0xbb, 0, 0, 0, 1];
        let q = ns.bytes();
        let n6 = x.run(&q);
        assert_na(&q, &n6.out, IF_MAC, handed_out(&n6.out), Answer::Solicited);
        assert_eq!(
            arp_oracle::handed_out(&a.out),
            handed_out(&n6.out),
            "host {n}"
        );
        seen.insert(handed_out(&n6.out));
    }
    assert_eq!(seen.len(), 3, "all three forwarders used");
}

#[test]
fn tagged_solicitations_keep_their_tags() {
    // Input: VIP6 also configured on VLAN 10 (group 10, index 1, forwarder
    // 10); solicitations with one tag (either TPID) and with two. Output:
    // answered from that group's table with the tags byte for byte; on
    // VLAN 20 (no group) the frame passes untouched.
    let Some(mut x) = standard6() else { return };
    let g10 = GroupSetup {
        vlan: 10,
        idx: 1,
        group: 10,
        fwds: vec![10],
        ..GroupSetup::standard()
    };
    x.add_group(&g10);
    add_vip6(&mut x, &g10, VIP6);
    for tags in [
        vec![Tag::q(10)],
        vec![Tag::ad(10)],
        vec![Tag::ad(7), Tag::q(10)],
        vec![Tag::q(7), Tag::q(0x3000 | 10)],
    ] {
        let mut f = NsFrame::for_vip6();
        f.tags = tags.clone();
        let q = f.bytes();
        let (r, c) = x.run_counted(&q);
        assert_eq!(
            (r.verdict, c),
            (Verdict::Tx, Counter::Nd6ReplyAvg),
            "{tags:?}"
        );
        assert_na(&q, &r.out, IF_MAC, vmac(10, 10), Answer::Solicited);
    }
    let q = NsFrame::for_vip6().tag(Tag::q(20)).bytes();
    let (r, c) = x.run_counted(&q);
    assert_eq!((r.verdict, c, r.out), (Verdict::Pass, Counter::Pass, q));
}

#[test]
fn unicast_solicitation_to_an_owned_vmac_is_answered_from_it() {
    // Input: a solicitation to forwarder 1's vMAC (owned) and to the VIP6
    // itself, with the group AVG and not. Output: TX from that vMAC
    // handing out that vMAC, the round-robin untouched. To forwarder 2's
    // vMAC (not owned): the AVG answer, or a drop when not AVG.
    let Some(mut x) = standard6() else { return };
    for avg in [true, false] {
        set_both(
            &mut x,
            &GroupSetup {
                avg,
                ..GroupSetup::standard()
            },
        );
        let q = NsFrame::for_vip6().unicast(fwd_mac(1)).bytes();
        let (r, c) = x.run_counted(&q);
        assert_eq!((r.verdict, c), (Verdict::Tx, Counter::Nd6ReplyUnicast));
        assert_na(&q, &r.out, fwd_mac(1), fwd_mac(1), Answer::Solicited);
        assert_eq!(x.rr(0), 0, "unicast answers take no turn");
    }
    let q = NsFrame::for_vip6().unicast(fwd_mac(2)).bytes();
    assert_eq!(x.run_counted(&q).1, Counter::DropNotAvg);
    set_both(&mut x, &GroupSetup::standard());
    let (r, c) = x.run_counted(&q);
    assert_eq!((r.verdict, c), (Verdict::Tx, Counter::Nd6ReplyAvg));
    assert_na(&q, &r.out, IF_MAC, fwd_mac(1), Answer::Solicited);
}

#[test]
fn duplicate_address_detection_is_defended_to_all_nodes() {
    // Input: a DAD probe for VIP6 (from ::, to the solicited-node group,
    // with a nonce). Output: TX to ff02::1 with Solicited and Override
    // clear (RFC 4861 7.2.4; no host's entry is moved by it); nobody is
    // remembered and no forwarder counts a hand-out. Not AVG: dropped.
    let Some(mut x) = standard6() else { return };
    let q = NsFrame::for_vip6().dad().bytes();
    let (r, c) = x.run_counted(&q);
    assert_eq!((r.verdict, c), (Verdict::Tx, Counter::Nd6ReplyDad));
    assert_na(&q, &r.out, IF_MAC, fwd_mac(1), Answer::Dad);
    assert_eq!(x.client_count(), 0);
    assert_eq!(x.maps().fwd_stats(0, 1).arp_replies, 0);
    assert_eq!(x.maps().group_stats(0).arp_replies, 1);
    set_both(
        &mut x,
        &GroupSetup {
            avg: false,
            ..GroupSetup::standard()
        },
    );
    assert_eq!(x.run_counted(&q).1, Counter::DropNotAvg);
}

#[test]
fn the_answer_always_has_exactly_one_option() {
    // Input: no options (grows by 8 bytes), source link-layer plus nonce
    // (shrinks), five option units (the most the program checks), and
    // Ethernet padding after the payload (trimmed). Output: every answer
    // is a 32-byte NA with one target link-layer option.
    let Some(mut x) = standard6() else { return };
    let nonce = option(OPT_NONCE, &[9; 6]);
    let five = [
        slla(CLIENT_MAC),
        nonce.clone(),
        option(200, &[0; 14]),
        nonce.clone(),
    ]
    .concat();
    assert_eq!(five.len(), 40);
    let cases = [
        NsFrame::for_vip6().options(vec![]),
        NsFrame::for_vip6().options([slla(CLIENT_MAC), nonce].concat()),
        NsFrame::for_vip6().options(five),
        NsFrame {
            pad: vec![0xa5; 6],
            ..NsFrame::for_vip6()
        },
        NsFrame::for_vip6().unicast(fwd_mac(1)).options(vec![]),
    ];
    for f in cases {
        let q = f.bytes();
        let (r, c) = x.run_counted(&q);
        assert_eq!(r.verdict, Verdict::Tx, "{f:?}: {c:?}");
        let from = if f.dst == fwd_mac(1) {
            fwd_mac(1)
        } else {
            IF_MAC
        };
        assert_na(&q, &r.out, from, handed_out(&r.out), Answer::Solicited);
    }
}

#[test]
fn routed_ipv6_to_an_owned_vmac_is_rewritten_and_learned() {
    // Input: an IPv4 ARP answer to the host first (the cache learns its
    // IPv4 address), then IPv6 traffic from it to forwarder 1's vMAC, and
    // a solicitation answered with forwarder 2. Output: the IPv6 frame is
    // rewritten and passed; the entry follows the forwarder and keeps the
    // IPv4 address; an IPv6-only host is learned with 0.0.0.0.
    let Some(mut x) = standard6() else { return };
    x.set_rr(0, 1);
    x.run(&ArpFrame::for_vip().bytes());
    let f = ipv6_udp(fwd_mac(1), &[]);
    let (r, c) = x.run_counted(&f);
    assert_eq!((r.verdict, c), (Verdict::Pass, Counter::VmacRewrite));
    assert_eq!((&r.out[..6], &r.out[6..]), (&IF_MAC[..], &f[6..]));
    x.set_rr(0, 1);
    x.run(&NsFrame::for_vip6().bytes());
    let cv = x.client(CLIENT_MAC, 0).expect("remembered");
    assert_eq!((cv.ip, cv.fwd), (CLIENT_IP, 2));

    x.remove_client(CLIENT_MAC, 0);
    x.run_counted(&f);
    let cv = x.client(CLIENT_MAC, 0).expect("learned from traffic");
    assert_eq!((cv.ip, cv.fwd), ([0; 4], 1));
}
