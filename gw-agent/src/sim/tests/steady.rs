//! A group without faults: it settles, stays settled, and shrugs off loss.

use super::*;
use std::collections::BTreeMap;

use crate::engine::vmac;

/// Input: 2..=8 routers with random priorities start within 3 s; no faults.
/// Output: settled by 45 s; then for 3 minutes every invariant holds after
/// every event and nobody changes state.
#[test]
fn settles_and_stays_settled() {
    for_seeds("settles_and_stays_settled", 60, |seed| {
        let mut sim = random_lan(seed, None);
        sim.run_until(SETTLED);
        settled(&sim)?;
        run_safe(&mut sim, SETTLED.add_ms(180_000), 2 * MAX_DELAY)?;
        settled(&sim)?;
        let changes = sim.state_changes_since(SETTLED.add_ms(1));
        if !changes.is_empty() {
            return Err(format!("state changes after settling: {changes:?}"));
        }
        Ok(())
    });
}

/// Input: as above, with 20% of frames lost on every link (never more than
/// two in a row on one link: a hold time spans three hellos, so a longer
/// run is an outage the protocol must react to) and 5% duplicated.
/// Output: no gateway or forwarder state change after settling.
#[test]
fn loss_20_percent_does_not_flap() {
    for_seeds("loss_20_percent_does_not_flap", 40, |seed| {
        loss_does_not_flap(Family::V4, seed, None)
    });
}

/// `loss_20_percent_does_not_flap` on a `random_lan_in(family, seed, n)`.
pub(super) fn loss_does_not_flap(
    family: Family,
    seed: u64,
    n: Option<usize>,
) -> Result<(), String> {
    let mut sim = random_lan_in(family, seed, n);
    sim.set_loss(0.2);
    sim.set_loss_burst(Some(2));
    sim.set_dup(0.05);
    let settle = SETTLED.add_ms(15_000);
    sim.run_until(settle);
    settled(&sim)?;
    run_safe(&mut sim, settle.add_ms(300_000), 2 * MAX_DELAY)?;
    let changes = sim.state_changes_since(settle.add_ms(1));
    if !changes.is_empty() {
        return Err(format!("state changes under loss: {changes:?}"));
    }
    settled(&sim)
}

/// Input: one router alone.
/// Output: Listen for a hello time, Speak for the rest of the hold time,
/// then Active with forwarder 1; it hands out its own vMAC.
#[test]
fn group_of_one() {
    let mut sim = Sim::new(1, 1, &[cfg()]);
    sim.run_until(Instant::from_millis(HOLD - 1));
    assert_eq!(sim.state(0, 0), Some(State::Speak));
    assert!(sim.avgs(0).is_empty());
    sim.run_until(Instant::from_millis(HOLD));
    assert_eq!(sim.state(0, 0), Some(State::Active));
    let dp = sim.dataplane(0, 0).cloned().unwrap_or_default();
    assert_eq!(dp.owned, vec![(1, vmac(GROUP, 1))]);
    assert_eq!(sim.arp_answers(0), vec![(0, vec![vmac(GROUP, 1)])]);
    // It keeps sending hellos from its vMAC.
    sim.run_until(Instant::from_secs(60));
    let from_vmac = sim
        .records
        .iter()
        .flat_map(|r| &r.output.send)
        .filter(|o| o.from == vec![vmac(GROUP, 1)])
        .count();
    assert!(from_vmac >= 16, "{from_vmac}");
}

/// Input: a settled LAN of 3..=8 routers is cut in two for 60 s, then healed.
/// Output: each side has exactly one AVG after two hold times; after the
/// heal there is one AVG again within two hold times, the group settles
/// and all invariants hold.
#[test]
fn partition_heals_to_one_avg() {
    for_seeds("partition_heals_to_one_avg", 40, |seed| {
        let mut rng = Rand::new(seed ^ 0xabc);
        let n = rng.range(3, 8) as usize;
        let mut sim = random_lan(seed, Some(n));
        sim.run_until(SETTLED);
        settled(&sim)?;
        let cut = rng.range(1, n as u64 - 1) as usize;
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let (a, b) = order.split_at(cut);
        sim.partition(&[a, b]);
        let t_cut = sim.now();
        sim.run_until(t_cut.add_ms(2 * HOLD + MAX_DELAY));
        for side in [a, b] {
            let avgs: Vec<usize> = sim
                .avgs(0)
                .into_iter()
                .filter(|i| side.contains(i))
                .collect();
            if avgs.len() != 1 {
                return Err(format!("side {side:?} has AVGs {avgs:?}"));
            }
        }
        sim.run_until(t_cut.add_ms(60_000));
        sim.heal();
        let t_heal = sim.now();
        run_until_cond(&mut sim, t_heal.add_ms(2 * HOLD), |s| s.avgs(0).len() == 1)?;
        // One AVG from here on, everything else settles within a hold time.
        run_safe(&mut sim, t_heal.add_ms(2 * HOLD), HOLD)?;
        run_safe(&mut sim, t_heal.add_ms(120_000), 2 * MAX_DELAY)?;
        settled(&sim)
    });
}

/// Input: 3 routers, each running the same 40 groups (random priorities
/// per group and router), no faults, for 5 minutes after settling.
/// Output: each router's hellos gather into bursts: in the last 30 s it
/// sends at no more than 12 distinct instants per hello time (each group
/// on its own would give up to 40); yet every group's hellos from one
/// router stay 2.7 s to 3 s apart, never late, so no hold time is eaten
/// into; nobody changes state and every group stays settled.
#[test]
fn many_groups_send_their_hellos_in_bursts() {
    for_seeds("many_groups_send_their_hellos_in_bursts", 5, |seed| {
        const GROUPS: u16 = 40;
        let cfgs: Vec<EngineConfig> = (0..GROUPS)
            .map(|g| EngineConfig {
                group: g + 1,
                vip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100 + g as u8)),
                ..cfg()
            })
            .collect();
        let mut sim = Sim::new(seed, 3, &cfgs);
        let mut rng = Rand::new(seed);
        for i in 0..3 {
            for (g, c) in cfgs.iter().enumerate() {
                let mut c = c.clone();
                c.priority = 100 + rng.below(50) as u8;
                sim.set_config(i, g, c);
            }
        }
        sim.set_delay(1, MAX_DELAY);
        sim.spread_starts(START_SPREAD);
        let end = SETTLED.add_ms(300_000);
        sim.run_until(end);
        for g in 0..usize::from(GROUPS) {
            settled_in(&sim, g)?;
        }
        let changes = sim.state_changes_since(SETTLED.add_ms(1));
        if !changes.is_empty() {
            return Err(format!("state changes after settling: {changes:?}"));
        }
        let tail = end.0 - 30_000;
        for i in 0..3 {
            let sent: Vec<(Instant, usize)> = sim
                .records
                .iter()
                .filter(|r| r.node == i && r.at > SETTLED && !r.output.send.is_empty())
                .map(|r| (r.at, r.group))
                .collect();
            let instants: BTreeSet<Instant> =
                sent.iter().filter(|s| s.0.0 > tail).map(|s| s.0).collect();
            if instants.len() > 12 * 10 {
                return Err(format!(
                    "node {i}: hellos at {} instants in 30 s",
                    instants.len()
                ));
            }
            let mut last: BTreeMap<usize, Instant> = BTreeMap::new();
            for (at, g) in sent {
                if let Some(prev) = last.insert(g, at) {
                    let gap = at.ms_since(prev);
                    if !(2_700..=3_000).contains(&gap) {
                        return Err(format!("node {i} group {g}: hellos {gap} ms apart at {at}"));
                    }
                }
            }
        }
        Ok(())
    });
}
