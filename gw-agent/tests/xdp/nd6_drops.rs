//! Solicitations for a virtual IPv6 address that must not be answered:
//! those failing RFC 4861 7.1.1, those the program cannot check, and the
//! same refusals as ARP (not AVG, lease, empty table, own sender, rate).
//! Everything ND that is not for a virtual address passes untouched.

use gw_common::Counter;

use crate::{
    fixture::GroupSetup,
    frames::*,
    frames6::*,
    harness::{Verdict, Xdp},
    nd6::{set_both, standard6},
};

fn dropped(x: &mut Xdp, f: &NsFrame, want: Counter) {
    let q = f.bytes();
    let (r, c) = x.run_counted(&q);
    assert_eq!((r.verdict, c), (Verdict::Drop, want), "{f:?}");
}

#[test]
fn invalid_solicitations_are_dropped() {
    // Input: one RFC 4861 7.1.1 violation each. Output: DROP, counted as
    // Nd6DropInvalid and as a drop of the group.
    let Some(mut x) = standard6() else { return };
    let ns = NsFrame::for_vip6;
    let good_csum = u16::from_be_bytes(ns().icmp()[2..4].try_into().unwrap());
    let mut cut = ns();
    cut.plen = Some(40); // claims an option the frame does not carry
    let cases = [
        NsFrame { hops: 254, ..ns() },
        NsFrame { hops: 1, ..ns() },
        NsFrame {
            csum: Some(good_csum ^ 0x0100),
            ..ns()
        },
        NsFrame { code: 1, ..ns() },
        ns().options(vec![1, 0, 0, 0, 0, 0, 0, 0]), // option length 0
        ns().options([vec![1, 2], CLIENT_MAC.to_vec()].concat()), // runs past the end
        ns().options([slla(CLIENT_MAC), vec![14, 2, 0, 0, 0, 0, 0, 0]].concat()),
        ns().options(option(OPT_SLLA, &[0x02; 12])), // SLLA of two units
        ns().options(vec![1, 1, 2, 0, 0x5e]),        // not a whole unit
        NsFrame {
            plen: Some(20),
            ..ns()
        },
        NsFrame {
            plen: Some(28),
            ..ns()
        },
        cut,
        ns().dad().options(slla(CLIENT_MAC)), // DAD with a source address
        NsFrame {
            ip_dst: ALL_NODES,
            ..ns().dad()
        },
        NsFrame {
            ip_dst: VIP6,
            ..ns().dad()
        },
    ];
    for f in &cases {
        dropped(&mut x, f, Counter::Nd6DropInvalid);
    }
    let g = x.maps().group_stats(0);
    assert_eq!((g.arp_requests, g.arp_drops, g.arp_replies), (15, 15, 0));
    assert_eq!(x.client_count(), 0);
    assert_eq!(x.rr(0), 0, "no slot was picked");
}

#[test]
fn more_options_than_checked_are_unsupported() {
    // Input: six option units (one more than the program checks), and a
    // payload length beyond them. Output: DROP as Nd6DropUnsupported.
    let Some(mut x) = standard6() else { return };
    let six = [slla(CLIENT_MAC), option(200, &[0; 38])].concat();
    assert_eq!(six.len(), 48);
    dropped(
        &mut x,
        &NsFrame::for_vip6().options(six),
        Counter::Nd6DropUnsupported,
    );
    let mut f = NsFrame::for_vip6();
    f.plen = Some(1000);
    dropped(&mut x, &f, Counter::Nd6DropUnsupported);
}

#[test]
fn refused_like_arp() {
    // Input: the standard solicitation while not AVG, with the lease run
    // out, with an empty table, from our own MAC (as Ethernet source or
    // source link-layer address), and an advertisement for VIP6. Output:
    // the same drop reasons as ARP.
    let Some(mut x) = standard6() else { return };
    let ns = NsFrame::for_vip6();
    dropped(&mut x, &ns.clone().from(IF_MAC), Counter::DropOwnSender);
    let mut spoof = ns.clone();
    spoof.src = IF_MAC;
    dropped(&mut x, &spoof, Counter::DropOwnSender);
    let na = NsFrame {
        icmp_type: NA,
        ..ns.clone()
    };
    dropped(&mut x, &na, Counter::DropNotRequest);
    x.set_table(0, &[]);
    dropped(&mut x, &ns, Counter::DropEmptyTable);
    set_both(
        &mut x,
        &GroupSetup {
            avg: false,
            ..GroupSetup::standard()
        },
    );
    dropped(&mut x, &ns, Counter::DropNotAvg);
    x.expire(0);
    dropped(&mut x, &ns, Counter::DropLeaseExpired);
    dropped(&mut x, &ns.unicast(fwd_mac(1)), Counter::DropLeaseExpired);
}

#[test]
fn the_arp_rate_limit_covers_solicitations() {
    // Input: limit 1/s, burst 3; 20 solicitations from one host. Output:
    // a few answered, the rest DropRateLimited; ARP from that host shares
    // its budget.
    let Some(mut x) = standard6() else { return };
    x.set_rate_limit(1, 3);
    let q = NsFrame::for_vip6().bytes();
    let mut answered = 0;
    for _ in 0..20 {
        let (r, c) = x.run_counted(&q);
        match r.verdict {
            Verdict::Tx => answered += 1,
            _ => assert_eq!(c, Counter::DropRateLimited),
        }
    }
    assert!((3..=5).contains(&answered), "answered {answered}");
    let arp = ArpFrame::for_vip().bytes();
    assert_eq!(x.run_counted(&arp).1, Counter::DropRateLimited);
}

#[test]
fn other_ipv6_passes_untouched() {
    // Input: ND for an address that is no virtual one, ICMPv6 of another
    // type, UDP, a bad IP version, a frame cut before the target, and an
    // NS to an owned vMAC for another target. Output: PASS untouched (the
    // last rewritten to the interface MAC like any frame to a vMAC).
    let Some(mut x) = standard6() else { return };
    let ns = NsFrame::for_vip6;
    let cut = ns().bytes()[..14 + 40 + 20].to_vec();
    let passes = [
        NsFrame::solicit(OTHER_IP6).bytes(),
        NsFrame {
            icmp_type: 128,
            ..ns()
        }
        .bytes(),
        NsFrame { next: 17, ..ns() }.bytes(),
        NsFrame {
            vtf: [0x40, 0, 0, 0],
            ..ns()
        }
        .bytes(),
        NsFrame {
            ethertype: 0x86de,
            ..ns()
        }
        .bytes(),
        cut,
        ipv6_udp(IF_MAC, &[]),
    ];
    for q in &passes {
        let (r, c) = x.run_counted(q);
        assert_eq!((r.verdict, c), (Verdict::Pass, Counter::Pass), "{q:02x?}");
        assert_eq!(&r.out, q);
    }
    let q = NsFrame::solicit(OTHER_IP6).unicast(fwd_mac(1)).bytes();
    let (r, c) = x.run_counted(&q);
    assert_eq!((r.verdict, c), (Verdict::Pass, Counter::VmacRewrite));
    assert_eq!((&r.out[..6], &r.out[6..]), (&IF_MAC[..], &q[6..]));
    assert_eq!(x.maps().group_stats(0).arp_requests, 0);
}
