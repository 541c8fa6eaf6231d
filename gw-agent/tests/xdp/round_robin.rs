//! Slot choice: round-robin walks the live table with a per-CPU position;
//! host-dependent mode indexes it by a hash of the client MAC; a flip of
//! `GroupValue::table` switches to the spare table at once.

use std::collections::BTreeMap;

use gw_common::{MODE_HOST_HASH, SLOT_TABLE_LEN, vmac};

use crate::{
    arp_oracle::handed_out,
    fixture::{GroupSetup, slots, standard},
    frames::*,
    harness::{Verdict, Xdp},
};

/// The vMAC handed to `mac` for a who-has VIP.
fn ask(x: &mut Xdp, mac: [u8; 6]) -> [u8; 6] {
    let r = x.run(&ArpFrame::request(mac, CLIENT_IP, VIP).bytes());
    assert_eq!(r.verdict, Verdict::Tx);
    handed_out(&r.out)
}

#[test]
fn round_robin_walks_the_table_in_order() {
    // Input: 2 * len + 1 requests from one client, forwarders [1, 2, 3].
    // Output: 1 2 3 1 2 3 1 (the test thread stays on one CPU, whose
    // position starts at 0); rr is the number of answers.
    let Some(mut x) = standard() else { return };
    let got: Vec<u8> = (0..7).map(|_| ask(&mut x, CLIENT_MAC)[5]).collect();
    assert_eq!(got, [1, 2, 3, 1, 2, 3, 1]);
    assert_eq!(x.rr(0), 7);
}

#[test]
fn round_robin_over_a_full_table_is_even() {
    // Input: a full 256-slot table of forwarders 1..=4 (as weighted
    // round-robin fills it), 3 * 256 requests. Output: the walk follows the
    // table exactly, so each forwarder gets exactly its share.
    let Some(mut x) = standard() else { return };
    let fwds: Vec<u8> = (0..SLOT_TABLE_LEN).map(|i| (i * 7 % 4 + 1) as u8).collect();
    x.set_table(0, &slots(GROUP, &fwds));
    let mut tally = BTreeMap::new();
    for i in 0..3 * SLOT_TABLE_LEN {
        let got = ask(&mut x, client_mac(i as u32));
        assert_eq!(got, fwd_mac(fwds[i % SLOT_TABLE_LEN]), "answer {i}");
        *tally.entry(got[5]).or_insert(0) += 1;
    }
    assert_eq!(tally.values().copied().collect::<Vec<_>>(), [192; 4]);
}

#[test]
fn round_robin_continues_from_the_stored_position() {
    // Input: the position set to 1000 (len 3). Output: the next
    // answer is slot 1000 % 3 = 1, then 2.
    let Some(mut x) = standard() else { return };
    x.set_rr(0, 1000);
    assert_eq!(ask(&mut x, CLIENT_MAC), fwd_mac(2));
    assert_eq!(ask(&mut x, CLIENT_MAC), fwd_mac(3));
}

#[test]
fn round_robin_walks_on_across_the_32_bit_boundary() {
    // Input: the position at 2^32 - 2, table of 3. Output: slots
    // (2^32 - 2) % 3 = 2, then 0, then 2^32 % 3 = 1: the walk goes on in
    // order. Reducing the 64-bit position to 32 bits before the modulo
    // would restart at slot 0 here and hand slot 0 out twice in a row.
    let Some(mut x) = standard() else { return };
    x.set_rr(0, (1 << 32) - 2);
    let got: Vec<u8> = (0..4).map(|_| ask(&mut x, CLIENT_MAC)[5]).collect();
    assert_eq!(got, [3, 1, 2, 3]);
}

#[test]
fn host_hash_gives_each_client_a_stable_slot_and_spreads_clients() {
    // Input: host-dependent mode over forwarders 1..=4; 512 clients, each
    // asking three times with other requests in between. Output: every
    // client always gets the same vMAC; every forwarder gets between 1/8
    // and 3/8 of the clients (a fair hash gives 1/4 each); rr stays 0.
    let Some(mut x) = standard() else { return };
    let g = GroupSetup {
        mode: MODE_HOST_HASH,
        fwds: vec![1, 2, 3, 4],
        ..GroupSetup::standard()
    };
    x.add_group(&g);
    let clients: Vec<[u8; 6]> = (0..512).map(|n| client_mac(n * 7919)).collect();
    let first: Vec<[u8; 6]> = clients.iter().map(|&m| ask(&mut x, m)).collect();
    for _ in 0..2 {
        for (m, want) in clients.iter().zip(&first).rev() {
            assert_eq!(ask(&mut x, *m), *want, "client {m:02x?} moved");
        }
    }
    let mut tally = BTreeMap::new();
    for m in &first {
        *tally.entry(m[5]).or_insert(0) += 1;
    }
    assert_eq!(tally.len(), 4, "{tally:?}");
    assert!(
        tally.values().all(|&n| (64..=192).contains(&n)),
        "{tally:?}"
    );
    assert_eq!(x.rr(0), 0);
}

#[test]
fn host_hash_ignores_everything_but_the_client_mac() {
    // Input: one client MAC asking with different sender IPs, Ethernet
    // sources and destinations. Output: always the same vMAC.
    let Some(mut x) = standard() else { return };
    x.add_group(&GroupSetup {
        mode: MODE_HOST_HASH,
        fwds: (1..=16).collect(),
        ..GroupSetup::standard()
    });
    let mac = client_mac(42);
    let want = ask(&mut x, mac);
    for spa in [[192, 0, 2, 11], [192, 0, 2, 200], [0, 0, 0, 0]] {
        let mut f = ArpFrame::request(mac, spa, VIP).to(IF_MAC);
        f.src = CLIENT_MAC;
        assert_eq!(handed_out(&x.run(&f.bytes()).out), want);
    }
}

#[test]
fn flipping_the_table_switches_answers_atomically() {
    // Input: spare table (buffer 1) written with forwarders [7, 8] while
    // buffer 0 is live; then GroupValue.table flipped to 1; then back.
    // Output: answers come from buffer 0 until the flip, from [7, 8] after
    // it, from buffer 0 again after flipping back.
    let Some(mut x) = standard() else { return };
    let g = GroupSetup::standard();
    x.set_table(1, &slots(GROUP, &[7, 8]));
    let before: Vec<u8> = (0..3).map(|_| ask(&mut x, CLIENT_MAC)[5]).collect();
    assert_eq!(before, [1, 2, 3]);

    x.set_group(g.key(), g.value(1));
    // rr is 3 now: 3 % 2 = 1, so the walk continues at 8.
    let after: Vec<u8> = (0..4).map(|_| ask(&mut x, CLIENT_MAC)[5]).collect();
    assert_eq!(after, [8, 7, 8, 7]);

    x.set_group(g.key(), g.value(0));
    let back: Vec<u8> = (0..3).map(|_| ask(&mut x, CLIENT_MAC)[5]).collect();
    // rr is 7: 7 % 3 = 1, so buffer 0's walk resumes at its slot 1.
    assert_eq!(back, [2, 3, 1]);
}

#[test]
fn each_group_has_its_own_table() {
    // Input: a second group (VIP2, index 3, group 40) with forwarders [4].
    // Output: its answers are group 40's vMAC; the standard group's walk is
    // not advanced by them.
    let Some(mut x) = standard() else { return };
    x.add_group(&GroupSetup {
        vip: VIP2,
        idx: 3,
        group: 40,
        fwds: vec![4],
        ..GroupSetup::standard()
    });
    let q2 = ArpFrame::request(CLIENT_MAC, CLIENT_IP, VIP2).bytes();
    assert_eq!(ask(&mut x, CLIENT_MAC), fwd_mac(1));
    for _ in 0..5 {
        assert_eq!(handed_out(&x.run(&q2).out), vmac(40, 4));
    }
    assert_eq!(ask(&mut x, CLIENT_MAC), fwd_mac(2));
}
