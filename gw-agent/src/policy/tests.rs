use super::*;
use crate::engine::SlotEntry;

fn fwds(weights: &[u8]) -> Vec<SlotEntry> {
    weights
        .iter()
        .enumerate()
        .map(|(i, w)| SlotEntry {
            fwd: i as u8 + 1,
            vmac: gw_common::vmac(1, i as u8 + 1),
            weight: *w,
        })
        .collect()
}

fn share(table: &[Slot], fwd: u8) -> usize {
    table.iter().filter(|s| s.fwd == fwd).count()
}

#[test]
fn round_robin_is_one_slot_per_forwarder() {
    let (mode, t) = build(LoadBalancing::RoundRobin, &fwds(&[100, 50, 10]));
    assert_eq!(mode, MODE_ROUND_ROBIN);
    assert_eq!(t.iter().map(|s| s.fwd).collect::<Vec<_>>(), vec![1, 2, 3]);
}

#[test]
fn weighted_table_follows_weights() {
    let (_, t) = build(LoadBalancing::Weighted, &fwds(&[100, 50, 50]));
    assert_eq!(t.len(), SLOT_TABLE_LEN);
    assert_eq!((share(&t, 1), share(&t, 2), share(&t, 3)), (128, 64, 64));
    let (_, t) = build(LoadBalancing::Weighted, &fwds(&[3, 1]));
    assert_eq!((share(&t, 1), share(&t, 2)), (192, 64));
    // Interleaved: no run longer than the ratio needs.
    let longest = t
        .windows(4)
        .filter(|w| w.iter().all(|s| s.fwd == 1))
        .count();
    assert_eq!(longest, 0);
}

#[test]
fn weighted_with_odd_weights_fills_the_table() {
    let (_, t) = build(LoadBalancing::Weighted, &fwds(&[7, 11, 13]));
    assert_eq!(t.len(), SLOT_TABLE_LEN);
    let total = 31.0;
    for (i, w) in [7.0, 11.0, 13.0].iter().enumerate() {
        let got = share(&t, i as u8 + 1) as f64 / SLOT_TABLE_LEN as f64;
        assert!((got - w / total).abs() < 0.01, "fwd {} got {got}", i + 1);
    }
}

#[test]
fn host_dependent_is_balanced_and_only_the_leavers_hosts_move() {
    let four = fwds(&[100; 4]);
    let (mode, before) = build(LoadBalancing::HostDependent, &four);
    assert_eq!(mode, gw_common::MODE_HOST_HASH);
    assert_eq!(before.len(), SLOT_TABLE_LEN);
    for f in 1..=4 {
        let n = share(&before, f);
        assert!((44..=84).contains(&n), "fwd {f} has {n} of 256");
    }
    // Forwarder 3 leaves: every entry not held by 3 keeps its forwarder.
    let three: Vec<_> = four.iter().filter(|e| e.fwd != 3).cloned().collect();
    let (_, after) = build(LoadBalancing::HostDependent, &three);
    for (b, a) in before.iter().zip(&after) {
        if b.fwd != 3 {
            assert_eq!(b.fwd, a.fwd);
        }
    }
}

#[test]
fn empty_inputs_give_empty_tables() {
    for m in [
        LoadBalancing::RoundRobin,
        LoadBalancing::Weighted,
        LoadBalancing::HostDependent,
    ] {
        assert!(build(m, &[]).1.is_empty());
    }
}

/// Not a test of speed (nothing is asserted on time): prints how long a
/// slot-table rebuild for 255 forwarders takes per method, for the notes.
/// `cargo test -p gw-agent --release --lib policy::tests::rebuild_cost -- --ignored --nocapture`
#[test]
#[ignore = "measurement, run by hand"]
fn rebuild_cost_for_255_forwarders() {
    let live = fwds(&(0..255).map(|i| (i % 254 + 1) as u8).collect::<Vec<_>>());
    for m in [
        LoadBalancing::RoundRobin,
        LoadBalancing::Weighted,
        LoadBalancing::HostDependent,
    ] {
        let n = 200;
        let t = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(build(m, std::hint::black_box(&live)));
        }
        println!("{m:?}: {:?} per rebuild of 255 forwarders", t.elapsed() / n);
    }
}
