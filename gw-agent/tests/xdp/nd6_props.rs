//! Property test: mutated Neighbor Solicitations against a reference of
//! RFC 4861 7.1.1 written here from the RFC, over the oracle's parse. In
//! particular XDP_TX happens only for a solicitation that is valid and
//! that the contract says to answer, and every answer verifies. Frames
//! that are not ND for a virtual address go to the IPv4 model (model.rs).

use std::cell::RefCell;

use gw_common::{Counter, vmac};
use proptest::{
    collection::vec,
    prelude::*,
    sample::Index,
    test_runner::{Config, TestRunner},
};

use crate::{
    arp_oracle::parse_eth_max,
    fixture::GroupSetup,
    frames::*,
    frames6::*,
    harness::{Verdict, Xdp},
    model::{ModelGroup, World, check},
    nd6::add_vip6,
    nd6_oracle::{self, Answer, assert_na, handed_out},
};

/// Groups: 0 untagged AVG with VIP6 and VIP6_GLOBAL, round-robin; 1 on
/// VLAN 10, not AVG, VIP6; 2 on VLAN 20, lease expired, VIP6; 3 on VLAN
/// 30, AVG with an empty table, VIP6_GLOBAL. Owned: vmac(1,1) (group 0),
/// vmac(2,2) (group 1).
fn world() -> (World, Vec<([u8; 16], GroupSetup)>) {
    let std = GroupSetup::standard;
    let g1 = GroupSetup {
        vlan: 10,
        idx: 1,
        group: 2,
        avg: false,
        fwds: vec![1, 2],
        ..std()
    };
    let g2 = GroupSetup {
        vlan: 20,
        idx: 2,
        group: 3,
        ..std()
    };
    let g3 = GroupSetup {
        vlan: 30,
        idx: 3,
        group: 4,
        fwds: vec![],
        ..std()
    };
    let v6 = vec![
        (VIP6, std()),
        (VIP6_GLOBAL, std()),
        (VIP6, g1.clone()),
        (VIP6, g2.clone()),
        (VIP6_GLOBAL, g3.clone()),
    ];
    let g = |setup, lease_valid| ModelGroup { setup, lease_valid };
    let w = World::new(
        vec![g(std(), true), g(g1, true), g(g2, false), g(g3, true)],
        vec![(vmac(1, 1), 0, 1), (vmac(2, 2), 1, 2)],
    );
    (w, v6)
}

/// What the program must do with an ND frame for a virtual address.
#[derive(Debug, PartialEq, Eq)]
enum Want {
    Drop(Counter),
    Answer {
        counter: Counter,
        eth_src: [u8; 6],
        vmac: [u8; 6],
        kind: Answer,
    },
}

/// The reference: `None` when `b` is not ND for a virtual address.
fn expect(b: &[u8], v6: &[([u8; 16], GroupSetup)], w: &World) -> Option<Want> {
    let eth = parse_eth_max(b, 2)?;
    let ip = eth.payload;
    if eth.ethertype != ETH_P_IPV6 || b.len() < ip + 64 || b[ip] >> 4 != 6 || b[ip + 6] != 58 {
        return None;
    }
    let (kind, target): (u8, [u8; 16]) = (b[ip + 40], b[ip + 48..ip + 64].try_into().ok()?);
    if kind != NS && kind != NA {
        return None;
    }
    let (_, g) = v6
        .iter()
        .find(|(a, g)| *a == target && g.vlan == eth.vid())?;
    use Counter::*;
    let drop = |c| Some(Want::Drop(c));
    if kind == NA {
        return drop(DropNotRequest);
    }
    let plen = u16::from_be_bytes([b[ip + 4], b[ip + 5]]) as usize;
    if plen < 24 {
        return drop(Nd6DropInvalid);
    }
    if plen > 64 {
        return drop(Nd6DropUnsupported);
    }
    let Some((_, nd)) = nd6_oracle::parse(b) else {
        return drop(Nd6DropInvalid); // the message is cut short
    };
    let dad = nd.src == [0; 16];
    let mut tiled = 24;
    let mut source_ll = None;
    for (t, o) in &nd.options {
        if o.len() < 8 || o.len() % 8 != 0 || o[1] as usize * 8 != o.len() {
            tiled = usize::MAX;
            break;
        }
        if *t == 1 {
            if o.len() != 8 {
                tiled = usize::MAX;
                break;
            }
            source_ll = Some(<[u8; 6]>::try_from(&o[2..8]).unwrap());
        }
        tiled += o.len();
    }
    if nd.hops != 255
        || nd.code != 0
        || !nd6_oracle::checksum_ok(&nd)
        || tiled != plen
        || dad && (source_ll.is_some() || nd.dst != solicited_node(&target))
    {
        return drop(Nd6DropInvalid);
    }
    let client = source_ll.unwrap_or(eth.src);
    if client == IF_MAC || eth.src == IF_MAC {
        return drop(DropOwnSender);
    }
    let lease = w
        .groups
        .iter()
        .any(|m| m.setup.idx == g.idx && m.lease_valid);
    if !lease {
        return drop(DropLeaseExpired);
    }
    let owned = w
        .vmacs
        .iter()
        .any(|(m, idx, _)| *m == eth.dst && *idx == g.idx);
    if owned && !dad {
        return Some(Want::Answer {
            counter: Nd6ReplyUnicast,
            eth_src: eth.dst,
            vmac: eth.dst,
            kind: Answer::Solicited,
        });
    }
    if !g.avg {
        return drop(DropNotAvg);
    }
    let Some(&first) = g.fwds.first() else {
        return drop(DropEmptyTable);
    };
    let (counter, kind) = match dad {
        true => (Nd6ReplyDad, Answer::Dad),
        false => (Nd6ReplyAvg, Answer::Solicited),
    };
    Some(Want::Answer {
        counter,
        eth_src: IF_MAC,
        vmac: vmac(g.group, first),
        kind,
    })
}

fn mac() -> impl Strategy<Value = [u8; 6]> {
    prop_oneof![
        4 => Just(mcast_mac(&solicited_node(&VIP6))),
        2 => Just(vmac(1, 1)),
        1 => Just(vmac(1, 2)),
        1 => Just(vmac(2, 2)),
        1 => Just(IF_MAC),
        1 => Just(CLIENT_MAC),
        1 => any::<[u8; 6]>(),
    ]
}

fn addr(usual: [u8; 16]) -> impl Strategy<Value = [u8; 16]> {
    prop_oneof![
        8 => Just(usual),
        1 => Just([0; 16]),
        1 => Just(VIP6),
        1 => Just(VIP6_GLOBAL),
        1 => Just(solicited_node(&VIP6)),
        1 => Just(solicited_node(&VIP6_GLOBAL)),
        1 => Just(ALL_NODES),
        1 => any::<[u8; 16]>(),
    ]
}

fn options() -> impl Strategy<Value = Vec<u8>> {
    let one = prop_oneof![
        4 => Just(slla(CLIENT_MAC)),
        1 => Just(slla(IF_MAC)),
        2 => Just(option(OPT_NONCE, &[7; 6])),
        1 => any::<[u8; 6]>().prop_map(slla),
        1 => (any::<u8>(), vec(any::<u8>(), 0..20)).prop_map(|(t, d)| option(t, &d)),
        1 => vec(any::<u8>(), 1..10),
    ];
    vec(one, 0..4).prop_map(|v| v.concat())
}

fn mostly<T: Clone + std::fmt::Debug + 'static>(
    v: T,
    other: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<T> {
    prop_oneof![30 => Just(v), 1 => other].boxed()
}

/// A valid-looking solicitation with any field possibly changed, then
/// maybe cut short and maybe a byte flipped.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let tags = prop_oneof![
        6 => Just(vec![]),
        2 => Just(vec![Tag::q(10)]),
        1 => Just(vec![Tag::ad(1), Tag::q(20)]),
        1 => Just(vec![Tag::q(30)]),
    ];
    let target = prop_oneof![
        6 => Just(VIP6),
        2 => Just(VIP6_GLOBAL),
        1 => Just(OTHER_IP6),
        1 => any::<[u8; 16]>(),
    ];
    let head = (mac(), mostly(CLIENT_MAC, any::<[u8; 6]>()), tags);
    let ip = (
        mostly(0x60u8, any::<u8>()),
        mostly(ICMPV6, any::<u8>()),
        mostly(255u8, any::<u8>()),
        prop::option::weighted(0.05, any::<u16>()),
    );
    let msg = (
        prop_oneof![12 => Just(NS), 2 => Just(NA), 1 => any::<u8>()],
        mostly(0u8, any::<u8>()),
        prop::option::weighted(0.05, any::<u16>()),
        options(),
    );
    let tail = (
        prop::option::weighted(0.1, any::<Index>()),
        prop::option::weighted(0.1, (any::<Index>(), any::<u8>())),
        prop_oneof![8 => Just(vec![]), 1 => vec(any::<u8>(), 1..8)],
    );
    let addrs = (addr(CLIENT_IP6), any::<bool>(), target);
    (head, ip, msg, tail, addrs).prop_map(
        |(
            (dst, src, tags),
            (v, next, hops, plen),
            (t, code, csum, opts),
            (cut, flip, pad),
            (s, sn, tg),
        )| {
            let mut f = NsFrame::solicit(tg);
            (f.dst, f.src, f.tags, f.next, f.hops, f.plen) = (dst, src, tags, next, hops, plen);
            (f.icmp_type, f.code, f.csum, f.options, f.pad) = (t, code, csum, opts, pad);
            f.vtf[0] = v;
            f.ip_src = s;
            if !sn {
                f.ip_dst = tg; // unicast to the target, else solicited-node
            }
            let mut b = f.bytes();
            if let Some((at, x)) = flip {
                let i = at.index(b.len());
                b[i] ^= x;
            }
            if let Some(cut) = cut {
                b.truncate(14 + cut.index(b.len() - 14 + 1));
            }
            b
        },
    )
}

#[test]
fn mutated_solicitations_match_the_reference() {
    let Some(mut x) = Xdp::load() else { return };
    let (w, v6) = world();
    w.install(&mut x);
    for (vip, g) in &v6 {
        add_vip6(&mut x, g, *vip);
    }
    let x = RefCell::new(x);
    let config = Config {
        cases: 4000,
        failure_persistence: None,
        ..Config::default()
    };
    // (ND frames for a virtual address, of which answered)
    let seen = RefCell::new((0u32, 0u32));
    TestRunner::new(config)
        .run(&mutated(), |b| {
            let mut x = x.borrow_mut();
            w.restart_round_robin(&mut x);
            let (run, counter) = x.run_counted(&b);
            match expect(&b, &v6, &w) {
                None => check(&b, &run, counter, &w.expect(&b)),
                Some(Want::Drop(c)) => {
                    seen.borrow_mut().0 += 1;
                    prop_assert_eq!((run.verdict, counter), (Verdict::Drop, c));
                }
                Some(Want::Answer {
                    counter: c,
                    eth_src,
                    vmac,
                    kind,
                }) => {
                    let mut n = seen.borrow_mut();
                    (n.0, n.1) = (n.0 + 1, n.1 + 1);
                    prop_assert_eq!((run.verdict, counter), (Verdict::Tx, c));
                    assert_na(&b, &run.out, eth_src, vmac, kind);
                    prop_assert_eq!(handed_out(&run.out), vmac);
                }
            }
            Ok(())
        })
        .unwrap();
    // The mutations must exercise both sides, or the test proves little.
    let (nd, tx) = *seen.borrow();
    assert!(nd > 1000 && tx > 300, "ND frames {nd}, answered {tx}");
}
