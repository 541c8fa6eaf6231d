//! Property tests: random frames and random mutations of valid requests
//! against a configuration with every kind of group, checked against the
//! reference model (model.rs). In particular XDP_TX happens only for a
//! well-formed request the contract says to answer, the verdict is only
//! ever PASS, DROP or TX, and untouched means byte for byte.

use std::cell::RefCell;

use gw_common::{MODE_HOST_HASH, vmac};
use proptest::{
    collection::vec,
    prelude::*,
    sample::Index,
    test_runner::{Config, TestRunner},
};

use crate::{
    fixture::GroupSetup,
    frames::*,
    harness::Xdp,
    model::{ModelGroup, World, check},
};

/// Groups: the VIP untagged (AVG, round-robin), the VIP on VLAN 10 (not
/// AVG), VIP2 on VLAN 20 (AVG, empty table), VIP2 untagged (AVG, host
/// hash, lease expired), the VIP on VLAN 30 (AVG, host hash).
fn world() -> World {
    let std = GroupSetup::standard;
    let g = |setup, lease_valid| ModelGroup { setup, lease_valid };
    World::new(
        vec![
            g(std(), true),
            g(
                GroupSetup {
                    vlan: 10,
                    idx: 1,
                    group: 2,
                    avg: false,
                    fwds: vec![1, 2],
                    ..std()
                },
                true,
            ),
            g(
                GroupSetup {
                    vip: VIP2,
                    vlan: 20,
                    idx: 2,
                    group: 3,
                    fwds: vec![],
                    ..std()
                },
                true,
            ),
            g(
                GroupSetup {
                    vip: VIP2,
                    idx: 3,
                    group: 4,
                    mode: MODE_HOST_HASH,
                    fwds: vec![1, 2, 3, 4],
                    ..std()
                },
                false,
            ),
            g(
                GroupSetup {
                    vlan: 30,
                    idx: 4,
                    group: 5,
                    mode: MODE_HOST_HASH,
                    fwds: vec![5, 6],
                    ..std()
                },
                true,
            ),
        ],
        vec![
            (vmac(1, 1), 0, 1),
            (vmac(2, 2), 1, 2),
            (vmac(3, 1), 2, 1),
            (vmac(4, 1), 3, 1),
            (vmac(5, 5), 4, 5),
            (NOT_A_VMAC, 0, 9),
        ],
    )
}

/// Listed in GW_VMACS but without the GLBP prefix: the program's prefix
/// pre-filter must skip it.
const NOT_A_VMAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x99];

fn mac() -> impl Strategy<Value = [u8; 6]> {
    prop_oneof![
        3 => Just(BROADCAST),
        1 => Just(IF_MAC),
        1 => Just(CLIENT_MAC),
        2 => Just(vmac(1, 1)),
        1 => Just(vmac(1, 2)),
        1 => Just(vmac(2, 2)),
        1 => Just(vmac(3, 1)),
        1 => Just(vmac(4, 1)),
        1 => Just(vmac(5, 5)),
        1 => Just(NOT_A_VMAC),
        2 => any::<[u8; 6]>(),
    ]
}

/// Target address: mostly a VIP.
fn tpa() -> impl Strategy<Value = [u8; 4]> {
    prop_oneof![
        5 => Just(VIP),
        2 => Just(VIP2),
        1 => Just(OTHER_IP),
        1 => any::<[u8; 4]>(),
    ]
}

/// Sender address: mostly a client, sometimes a probe or a VIP.
fn spa() -> impl Strategy<Value = [u8; 4]> {
    prop_oneof![
        5 => Just(CLIENT_IP),
        1 => Just([0; 4]),
        1 => Just(VIP),
        1 => Just(VIP2),
        1 => any::<[u8; 4]>(),
    ]
}

fn tag() -> impl Strategy<Value = Tag> {
    let tpid = prop_oneof![
        3 => Just(ETH_P_8021Q),
        3 => Just(ETH_P_8021AD),
        1 => Just(0x9100u16),
        1 => Just(ETH_P_ARP),
        1 => any::<u16>(),
    ];
    let tci = prop_oneof![
        1 => Just(0u16),
        3 => Just(10),
        2 => Just(20),
        2 => Just(30),
        1 => Just(0xa00a),
        1 => any::<u16>(),
    ];
    (tpid, tci).prop_map(|(tpid, tci)| Tag { tpid, tci })
}

/// `v` most of the time, anything otherwise.
fn mostly16(v: u16) -> impl Strategy<Value = u16> {
    prop_oneof![40 => Just(v), 1 => any::<u16>()]
}

fn mostly8(v: u8) -> impl Strategy<Value = u8> {
    prop_oneof![40 => Just(v), 1 => any::<u8>()]
}

/// A valid-looking ARP request with any field possibly changed, then maybe
/// cut short and maybe a few bytes flipped.
fn mutated_request() -> impl Strategy<Value = Vec<u8>> {
    // Mostly untagged or tagged as configured, so that many frames reach
    // the group logic; each mutation alone is rare.
    let tags = prop_oneof![
        4 => Just(vec![]),
        3 => vec(tag(), 1),
        2 => vec(tag(), 2),
        1 => vec(tag(), 3),
    ];
    let eth = (mac(), mac(), tags, mostly16(ETH_P_ARP));
    let types = (mostly16(1), mostly16(ETH_P_IP), mostly8(6), mostly8(4));
    let op = prop_oneof![8 => Just(1u16), 2 => Just(2), 1 => any::<u16>()];
    let sha = prop_oneof![6 => Just(CLIENT_MAC), 1 => Just(IF_MAC), 2 => any::<[u8; 6]>()];
    let body = (op, sha, spa(), any::<[u8; 6]>(), tpa());
    let tail = (
        vec(any::<u8>(), 0..24),
        prop::option::weighted(0.15, any::<Index>()),
        prop_oneof![
            4 => Just(vec![]),
            1 => vec((any::<Index>(), any::<u8>()), 1..=2),
        ],
    );
    (eth, types, body, tail).prop_map(
        |(
            (dst, src, tags, ethertype),
            (htype, ptype, hlen, plen),
            (op, sha, spa, tha, tpa),
            (pad, cut, flips),
        )| {
            let f = ArpFrame {
                dst,
                src,
                tags,
                ethertype,
                htype,
                ptype,
                hlen,
                plen,
                op,
                sha,
                spa,
                tha,
                tpa,
                pad,
            };
            let mut b = f.bytes();
            for (at, x) in flips {
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

/// Random bytes; half the time with an Ethernet header that leads
/// somewhere (a known destination, ARP or a VLAN ethertype).
fn random_frame() -> impl Strategy<Value = Vec<u8>> {
    let head = prop::option::of((
        mac(),
        prop_oneof![Just(ETH_P_ARP), Just(ETH_P_8021Q), Just(ETH_P_8021AD)],
    ));
    (vec(any::<u8>(), 0..=96), head).prop_map(|(mut b, head)| {
        if let (Some((dst, ethertype)), true) = (head, b.len() >= 14) {
            b[..6].copy_from_slice(&dst);
            b[12..14].copy_from_slice(&ethertype.to_be_bytes());
        }
        b
    })
}

/// Runs `cases` frames from `strategy` through one loaded program.
fn check_against_model(strategy: impl Strategy<Value = Vec<u8>>, cases: u32) {
    let Some(mut x) = Xdp::load() else { return };
    let world = world();
    world.install(&mut x);
    let x = RefCell::new(x);
    let config = Config {
        cases,
        // Regressions go in the report, not in files next to the tests.
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new(config)
        .run(&strategy, |frame| {
            let mut x = x.borrow_mut();
            if frame.len() < 14 {
                // The kernel refuses these before the program runs
                // (truncated.rs); nothing to judge.
                prop_assert!(x.try_run(&frame).is_err());
                return Ok(());
            }
            world.restart_round_robin(&mut x);
            let want = world.expect(&frame);
            let (run, counter) = x.run_counted(&frame);
            check(&frame, &run, counter, &want);
            Ok(())
        })
        .unwrap();
}

#[test]
fn mutated_requests_match_the_model() {
    check_against_model(mutated_request(), 3000);
}

#[test]
fn random_frames_match_the_model() {
    check_against_model(random_frame(), 1500);
}
