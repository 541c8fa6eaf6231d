//! Load-balancing methods end to end, without a network: a group of
//! routers runs in the simulator (real engines exchanging hellos, so the
//! AVG's forwarder list and weights are what it learned), the AVG's list
//! goes through the real `policy::build`, the table into the maps as the
//! agent writes it, and thousands of ARP requests from distinct hosts
//! through the XDP program. Distributions are printed (`--nocapture`).

use std::collections::BTreeMap;

use gw_agent::{
    config::Group,
    engine::{EngineConfig, LoadBalancing, SlotEntry, Weighting},
    policy,
    sim::Sim,
};

use crate::{
    arp_oracle::handed_out,
    fixture::GroupSetup,
    frames::*,
    harness::{Verdict, Xdp},
};

fn engine_cfg(method: LoadBalancing, weight: u8) -> EngineConfig {
    let mut c = Group::quick(GROUP, VIP.into(), 100).engine_config();
    c.hello_ms = Some(1000);
    c.hold_ms = Some(3000);
    c.redirect_s = 10;
    c.timeout_s = 600;
    c.load_balancing = method;
    c.weighting = Weighting {
        max: weight,
        lower: 1,
        upper: weight,
    };
    c
}

/// One router per weight, settled for 30 s of virtual time.
fn settled(method: LoadBalancing, weights: &[u8]) -> Sim {
    let cfgs: Vec<EngineConfig> = weights.iter().map(|w| engine_cfg(method, *w)).collect();
    let mut sim = Sim::new(7, weights.len(), &cfgs[..1]);
    for (i, c) in cfgs.iter().enumerate() {
        sim.set_config(i, 0, c.clone());
    }
    sim.run_for(30_000);
    assert_eq!(sim.avgs(0).len(), 1, "one AVG");
    sim
}

/// What the AVG hands out.
fn avg_slots(sim: &Sim) -> (usize, Vec<SlotEntry>) {
    let avg = sim.avgs(0)[0];
    (avg, sim.dataplane(avg, 0).expect("AVG up").slots.clone())
}

/// Writes the table `policy::build` makes of `live` into spare buffer
/// `buffer` and makes it live, as `Dataplane::set_group` does.
fn install(x: &mut Xdp, method: LoadBalancing, live: &[SlotEntry], buffer: u8) {
    let (mode, table) = policy::build(method, live);
    let g = GroupSetup {
        mode,
        ..GroupSetup::standard()
    };
    x.set_table(u32::from(buffer), &table);
    x.set_group(g.key(), g.value(buffer));
    x.renew(0);
}

fn program(method: LoadBalancing, live: &[SlotEntry]) -> Option<Xdp> {
    let mut x = Xdp::load()?;
    x.set_if_mac(IF_MAC);
    install(&mut x, method, live, 0);
    Some(x)
}

/// The vMAC (forwarder number) handed to each of hosts `0..n`.
fn ask_all(x: &mut Xdp, n: u32) -> Vec<u8> {
    (0..n)
        .map(|h| {
            let r = x.run(&ArpFrame::request(client_mac(h), CLIENT_IP, VIP).bytes());
            assert_eq!(r.verdict, Verdict::Tx, "host {h}");
            let v = handed_out(&r.out);
            assert_eq!(v[..5], fwd_mac(0)[..5], "a vMAC of the group");
            v[5]
        })
        .collect()
}

fn tally(got: &[u8]) -> BTreeMap<u8, usize> {
    let mut t = BTreeMap::new();
    for f in got {
        *t.entry(*f).or_insert(0) += 1;
    }
    t
}

#[test]
fn round_robin_is_even_within_one_host() {
    // Input: 4 routers, round-robin; 4001 hosts ask once each.
    // Output: every forwarder gets 1000 or 1001 of them.
    let sim = settled(LoadBalancing::RoundRobin, &[100; 4]);
    let (_, live) = avg_slots(&sim);
    assert_eq!(live.len(), 4);
    let Some(mut x) = program(LoadBalancing::RoundRobin, &live) else {
        return;
    };
    let t = tally(&ask_all(&mut x, 4001));
    eprintln!("round-robin, 4001 hosts: {t:?}");
    assert_eq!(t.len(), 4);
    let (lo, hi) = (t.values().min().unwrap(), t.values().max().unwrap());
    assert!(hi - lo <= 1, "{t:?}");
}

/// Each forwarder's share of `n` answers is within 2% (relative) of its
/// weight's share.
fn check_weighted(weights: &[u8], n: u32) {
    let sim = settled(LoadBalancing::Weighted, weights);
    let (_, live) = avg_slots(&sim);
    // The AVG learned every router's weight from its hellos.
    let mut learned: Vec<u8> = live.iter().map(|s| s.weight).collect();
    let mut want = weights.to_vec();
    learned.sort();
    want.sort();
    assert_eq!(learned, want, "{live:?}");
    let Some(mut x) = program(LoadBalancing::Weighted, &live) else {
        return;
    };
    let t = tally(&ask_all(&mut x, n));
    let total: f64 = weights.iter().map(|w| f64::from(*w)).sum();
    let mut shares = Vec::new();
    for s in &live {
        let got = t.get(&s.fwd).copied().unwrap_or(0) as f64 / f64::from(n);
        let expect = f64::from(s.weight) / total;
        shares.push(format!(
            "fwd {} weight {}: {:.4} (want {:.4})",
            s.fwd, s.weight, got, expect
        ));
        assert!(
            (got / expect - 1.0).abs() <= 0.02,
            "fwd {} weight {}: {got:.4} vs {expect:.4}",
            s.fwd,
            s.weight
        );
    }
    eprintln!("weighted, {n} hosts: {}", shares.join("; "));
}

#[test]
fn weighted_follows_the_weights_within_2_percent() {
    // Input: routers weighted 100/50/30/20, then 100/60/40; 10000 hosts.
    // Output: each forwarder's share of answers within 2% of
    // weight / total weight.
    check_weighted(&[100, 50, 30, 20], 10_000);
    check_weighted(&[100, 60, 40], 10_000);
}

#[test]
fn host_dependent_is_stable_and_only_the_leavers_hosts_move() {
    // Input: 4 routers, host-dependent; 4096 hosts ask, then ask again in
    // reverse order. Then a non-AVG router stops; once the AVG no longer
    // hands out its vMAC (redirect time), the table is rebuilt and every
    // host asks again.
    // Output: the second round repeats the first exactly; every forwarder
    // has 15..35% of the hosts. After the change, hosts of the remaining
    // forwarders keep theirs; the leaver's hosts all move, spread over all
    // three others.
    const N: u32 = 4096;
    let mut sim = settled(LoadBalancing::HostDependent, &[100; 4]);
    let (avg, live) = avg_slots(&sim);
    let Some(mut x) = program(LoadBalancing::HostDependent, &live) else {
        return;
    };
    let first = ask_all(&mut x, N);
    let again: Vec<u8> = {
        let mut v: Vec<(u32, u8)> = (0..N)
            .rev()
            .map(|h| {
                let r = x.run(&ArpFrame::request(client_mac(h), CLIENT_IP, VIP).bytes());
                (h, handed_out(&r.out)[5])
            })
            .collect();
        v.sort();
        v.into_iter().map(|(_, f)| f).collect()
    };
    assert_eq!(first, again, "a host keeps its forwarder");
    let before = tally(&first);
    eprintln!("host-dependent, {N} hosts over 4: {before:?}");
    assert_eq!(before.len(), 4);
    for n in before.values() {
        assert!(
            (N as usize * 15 / 100..=N as usize * 35 / 100).contains(n),
            "{before:?}"
        );
    }

    let leaver = (0..4).find(|&i| i != avg).unwrap();
    let gone = sim.dataplane(leaver, 0).unwrap().owned[0].0;
    sim.shutdown(leaver);
    sim.run_for(15_000);
    let (_, live3) = avg_slots(&sim);
    assert_eq!(live3.len(), 3, "{live3:?}");
    assert!(live3.iter().all(|s| s.fwd != gone));
    install(&mut x, LoadBalancing::HostDependent, &live3, 1);
    let after = ask_all(&mut x, N);
    let mut moved = BTreeMap::new();
    for (b, a) in first.iter().zip(&after) {
        if *b == gone {
            assert_ne!(*a, gone);
            *moved.entry(*a).or_insert(0) += 1;
        } else {
            assert_eq!(a, b, "a host of a remaining forwarder moved");
        }
    }
    eprintln!(
        "forwarder {gone} left: its {} hosts went to {moved:?}",
        before[&gone]
    );
    assert_eq!(moved.len(), 3, "{moved:?}");
}

#[test]
fn none_always_hands_out_the_avgs_own_vmac() {
    // Input: 3 routers, load balancing none; 3000 hosts ask.
    // Output: every answer is the vMAC the AVG itself forwards for.
    let sim = settled(LoadBalancing::None, &[100; 3]);
    let (avg, live) = avg_slots(&sim);
    let own = sim.dataplane(avg, 0).unwrap().owned.clone();
    assert_eq!(own.len(), 1);
    assert_eq!(live.len(), 1, "{live:?}");
    let Some(mut x) = program(LoadBalancing::None, &live) else {
        return;
    };
    let t = tally(&ask_all(&mut x, 3000));
    eprintln!("none, 3000 hosts: {t:?}");
    assert_eq!(t, BTreeMap::from([(own[0].0, 3000)]));
}
