//! Configuration-driven behaviour: AVG preemption, learned timers,
//! weighting thresholds, load balancing None.

use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::engine::{LoadBalancing, Weighting, vmac};

/// Two routers of priority 100 settle; a third with priority 200 joins at
/// 60 s. Returns the sim and the join time.
fn late_high_priority(seed: u64, preempt: Option<u32>) -> (Sim, Instant) {
    let mut sim = Sim::new(seed, 3, &[cfg()]);
    sim.set_delay(1, MAX_DELAY);
    let mut c = cfg();
    c.priority = 200;
    c.preempt_delay_ms = preempt;
    sim.set_config(0, 0, c);
    let join = Instant::from_secs(60);
    sim.start_at(0, join);
    sim.start_at(1, Instant::from_millis(Rand::new(seed).below(START_SPREAD)));
    (sim, join)
}

/// Input: preemption off (default); a priority-200 router joins a settled
/// group whose AVG has priority 100.
/// Output: the AVG stays; the newcomer becomes standby (the standby slot
/// always goes to the best contender).
#[test]
fn avg_preemption_off() {
    for_seeds("avg_preemption_off", 10, |seed| {
        let (mut sim, join) = late_high_priority(seed, None);
        sim.run_until(join);
        let avg = sim.avgs(0);
        sim.run_until(join.add_ms(120_000));
        if sim.avgs(0) != avg || avg.contains(&0) {
            return Err(format!("AVG changed from {avg:?} to {:?}", sim.avgs(0)));
        }
        if sim.state(0, 0) != Some(State::Standby) {
            return Err(format!("newcomer is {:?}", sim.state(0, 0)));
        }
        settled(&sim)
    });
}

/// Input: as above with `preempt delay 5 s` on the newcomer.
/// Output: it takes over as AVG once its initial listen (one hello time)
/// and the delay have passed, not before; the old AVG steps down at once.
#[test]
fn avg_preemption_on() {
    for_seeds("avg_preemption_on", 10, |seed| {
        let (mut sim, join) = late_high_priority(seed, Some(5_000));
        sim.run_until(join);
        let old = sim.avgs(0);
        let earliest = join.add_ms(HELLO + 5_000);
        sim.run_until(Instant(earliest.0 - 1));
        if sim.avgs(0) != old {
            return Err(format!("preempted early: {:?}", sim.avgs(0)));
        }
        run_until_cond(&mut sim, earliest.add_ms(MAX_DELAY + 1), |s| {
            s.avgs(0) == vec![0]
        })?;
        sim.run_until(earliest.add_ms(HOLD));
        run_safe(&mut sim, earliest.add_ms(60_000), 2 * MAX_DELAY)?;
        settled(&sim)
    });
}

/// Input: the priority-255 router is configured with hello 1 s / hold 3.5 s;
/// the others have no timers configured.
/// Output: they learn and advertise 1 s / 3.5 s from the AVG's hellos and
/// send their hellos every second; when the AVG crashes the standby takes
/// over within the learned hold time.
#[test]
fn learned_timers() {
    for_seeds("learned_timers", 10, |seed| {
        let mut sim = Sim::new(seed, 3, &[cfg()]);
        sim.set_delay(1, MAX_DELAY);
        let mut c = cfg();
        c.priority = 255;
        c.hello_ms = Some(1_000);
        c.hold_ms = Some(3_500);
        sim.set_config(2, 0, c);
        sim.spread_starts(START_SPREAD);
        sim.run_until(SETTLED);
        settled(&sim)?;
        if sim.avgs(0) != vec![2] {
            return Err(format!("AVG {:?}", sim.avgs(0)));
        }
        for i in 0..2 {
            let st = sim.engine(i, 0).ok_or("down")?.status();
            if (st.hello_ms, st.hold_ms, st.timers_learned) != (1_000, 3_500, true) {
                return Err(format!("node {i}: {} / {}", st.hello_ms, st.hold_ms));
            }
        }
        let sends: Vec<Instant> = sim
            .records
            .iter()
            .filter(|r| r.node == 0 && r.at > Instant::from_secs(25))
            .filter(|r| !r.output.send.is_empty())
            .map(|r| r.at)
            .collect();
        let late = sends
            .windows(2)
            .filter(|w| w[1].ms_since(w[0]) > 1_000)
            .count();
        if sends.len() < 10 || late > 0 {
            return Err(format!("node 0 hellos {sends:?}"));
        }
        let sb = standby(&sim).ok_or("no standby")?;
        let t = sim.now();
        sim.crash(2);
        run_until_cond(&mut sim, t.add_ms(3_500 + MAX_DELAY), |s| {
            s.avgs(0) == vec![sb]
        })?;
        Ok(())
    });
}

/// Input: 3 routers, weighting max 100, lower 70, upper 90. A non-AVG
/// router's weight drops to 60, then rises to 80, later to 95.
/// Output: at 60 a secondary takes its vMAC at once (within a delay) and the
/// AVG hands it out with the taker's weight; at 80 (between the
/// thresholds) nothing changes for a minute; at 95 it takes its vMAC back
/// after the forwarder preemption delay. A weight change above the lower
/// threshold reaches the AVG's slots with the next hello.
#[test]
fn weighting_thresholds_and_hysteresis() {
    for_seeds("weighting_thresholds_and_hysteresis", 20, |seed| {
        let mut sim = random_lan(seed, Some(3));
        for i in 0..3 {
            let mut c = sim.node(i).cfgs[0].clone();
            c.weighting = Weighting {
                max: 100,
                lower: 70,
                upper: 90,
            };
            sim.set_config(i, 0, c);
        }
        sim.run_until(SETTLED);
        settled(&sim)?;
        let avg = sim.avgs(0)[0];
        let f = (0..3).find(|&i| i != avg).ok_or("no forwarder")?;
        let (_, v) = own_vmac(&sim, f).ok_or("owns nothing")?;
        let slot_weight = |s: &Sim| {
            let a = s.avgs(0)[0];
            s.dataplane(a, 0)
                .and_then(|d| d.slots.iter().find(|x| x.vmac == v).map(|x| x.weight))
        };

        // Above the lower threshold: only the advertised weight changes.
        let t0 = sim.now();
        sim.set_weight(f, 0, 75);
        run_until_cond(&mut sim, t0.add_ms(HELLO + MAX_DELAY), |s| {
            slot_weight(s) == Some(75)
        })?;
        if owners(&sim, v) != vec![f] {
            return Err("weight 75 moved the vMAC".into());
        }

        let t1 = sim.now();
        sim.set_weight(f, 0, 60);
        run_until_cond(&mut sim, t1.add_ms(MAX_DELAY + 1), |s| {
            let o = owners(s, v);
            o.len() == 1 && o[0] != f
        })?;
        run_until_cond(&mut sim, t1.add_ms(2 * MAX_DELAY + 2), |s| {
            slot_weight(s) == Some(100)
        })?;

        let t2 = sim.now();
        sim.set_weight(f, 0, 80);
        run_safe(&mut sim, t2.add_ms(60_000), 2 * MAX_DELAY)?;
        if owners(&sim, v).contains(&f) {
            return Err("resumed between the thresholds".into());
        }

        let t3 = sim.now();
        sim.set_weight(f, 0, 95);
        let at = run_until_cond(&mut sim, t3.add_ms(30_000 + MAX_DELAY + 1), |s| {
            owners(s, v) == vec![f]
        })?;
        if at < t3.add_ms(30_000) {
            return Err(format!(
                "took the vMAC back at {at}, before the preemption delay"
            ));
        }
        sim.run_until(at.add_ms(HELLO + MAX_DELAY));
        settled(&sim)?;
        if slot_weight(&sim) != Some(95) {
            return Err(format!("slot weight {:?}", slot_weight(&sim)));
        }
        Ok(())
    });
}

/// Input: 4 routers in two groups (1 and 2, different VIPs), priorities
/// reversed in group 2; later group 1's AVG crashes.
/// Output: each group settles on its own, with its own AVG and vMACs of its
/// own group number; the crash moves group 1's AVG only, and the
/// invariants hold in both groups afterwards.
#[test]
fn two_groups_are_independent() {
    for_seeds("two_groups_are_independent", 10, |seed| {
        let mut g2 = cfg();
        g2.group = 2;
        g2.vip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
        let mut sim = Sim::new(seed, 4, &[cfg(), g2.clone()]);
        sim.set_delay(1, MAX_DELAY);
        for i in 0..4u8 {
            let mut c = g2.clone();
            c.priority = 100 + 10 * (3 - i);
            sim.set_config(usize::from(i), 1, c);
        }
        sim.spread_starts(START_SPREAD);
        sim.run_until(SETTLED);
        settled_in(&sim, 0)?;
        settled_in(&sim, 1)?;
        if sim.avgs(0) != vec![3] || sim.avgs(1) != vec![0] {
            return Err(format!("AVGs {:?} / {:?}", sim.avgs(0), sim.avgs(1)));
        }
        for (g, group) in [(0, 1u16), (1, 2u16)] {
            for (_, vmacs) in sim.arp_answers(g) {
                if vmacs.iter().any(|v| v[..5] != vmac(group, 0)[..5]) {
                    return Err(format!("group {group} hands out {vmacs:?}"));
                }
            }
        }
        sim.crash(3);
        sim.run_for(HOLD + MAX_DELAY);
        if sim.avgs(1) != vec![0] || sim.avgs(0).len() != 1 {
            return Err(format!(
                "after crash: {:?} / {:?}",
                sim.avgs(0),
                sim.avgs(1)
            ));
        }
        let (mut g0, mut g1) = (
            Invariants::new(0, 2 * MAX_DELAY),
            Invariants::new(1, 2 * MAX_DELAY),
        );
        let t = sim.now().add_ms(60_000);
        sim.run_checked(t, |s| {
            g0.check(s)?;
            g1.check(s)
        })
    });
}

/// Input: load balancing None on every router.
/// Output: the AVG hands out only its own vMAC; after the AVG crashes the
/// new AVG hands out only its own.
#[test]
fn load_balancing_none() {
    for_seeds("load_balancing_none", 10, |seed| {
        let mut sim = random_lan(seed, Some(3));
        for i in 0..3 {
            let mut c = sim.node(i).cfgs[0].clone();
            c.load_balancing = LoadBalancing::None;
            sim.set_config(i, 0, c);
        }
        sim.run_until(SETTLED);
        let check = |s: &Sim| -> Result<(), String> {
            let avg = s.avgs(0)[0];
            let own = own_vmac(s, avg).ok_or("AVG owns nothing")?.1;
            let answers = s.arp_answers(0);
            if answers != vec![(avg, vec![own])] {
                return Err(format!("answers {answers:?}"));
            }
            Ok(())
        };
        check(&sim)?;
        let avg = sim.avgs(0)[0];
        sim.crash(avg);
        sim.run_for(HOLD + HELLO);
        check(&sim)
    });
}
