//! Crashes, restarts and clean shutdowns.

use super::*;
use crate::engine::{Event, Redirect};

/// Input: a settled LAN of 2..=8 routers; the AVG crashes at a random time.
/// Output: the standby is AVG within the hold time (plus one delay) of the
/// crash; from then on the AVG hands out the vMAC of every router that
/// still forwards; the dead AVG's vMAC is taken over by exactly one
/// survivor within the hold time.
#[test]
fn avg_crash_standby_takes_over() {
    for_seeds("avg_crash_standby_takes_over", 50, |seed| {
        avg_crash(Family::V4, seed, None)
    });
}

/// `avg_crash_standby_takes_over` on a `random_lan_in(family, seed, n)`.
pub(super) fn avg_crash(family: Family, seed: u64, n: Option<usize>) -> Result<(), String> {
    let mut sim = random_lan_in(family, seed, n);
    let mut rng = Rand::new(seed ^ 0x1);
    sim.run_until(SETTLED.add_ms(rng.below(HELLO)));
    settled(&sim)?;
    let avg = sim.avgs(0)[0];
    let sb = standby(&sim).ok_or("no standby")?;
    let (_, dead_vmac) = own_vmac(&sim, avg).ok_or("AVG owns nothing")?;
    let t = sim.now();
    sim.crash(avg);
    let limit = t.add_ms(HOLD + MAX_DELAY);
    let at = run_until_cond(&mut sim, limit, |s| s.avgs(0) == vec![sb])?;
    run_until_cond(&mut sim, limit, |s| owners(s, dead_vmac).len() == 1)?;
    // Every live forwarder's vMAC is handed out (a takeover reaches the
    // new AVG one delay after it happens).
    let mut missing_since: Option<Instant> = None;
    sim.run_checked(at.add_ms(60_000), |s| {
        let handed = s.arp_answers(0);
        let [(_, slots)] = handed.as_slice() else {
            return Err(format!("AVGs {handed:?}"));
        };
        let live = (0..s.len())
            .filter_map(|i| s.dataplane(i, 0))
            .flat_map(|d| &d.owned);
        if live.clone().all(|(_, v)| slots.contains(v)) {
            missing_since = None;
        } else if s.now().ms_since(*missing_since.get_or_insert(s.now())) > 2 * MAX_DELAY {
            return Err(format!("slots {slots:?} lack a live vMAC"));
        }
        Ok(())
    })?;
    if owners(&sim, dead_vmac).len() != 1 {
        return Err("dead AVG's vMAC not forwarded by exactly one".into());
    }
    Ok(())
}

/// Input: 2..=4 routers (every one owns a forwarder), short redirect (60 s)
/// and timeout (180 s), half the seeds with 10% loss (at most two in a
/// row); a non-AVG router crashes.
/// Output: within the hold time exactly one survivor forwards its vMAC and
/// the AVG keeps handing it out; once the redirect time has passed the AVG
/// stops handing it out and emits a Redirect to the live forwarders; after
/// the timeout nobody forwards it and nobody knows it any more.
#[test]
fn forwarder_crash_redirect_then_timeout() {
    for_seeds("forwarder_crash_redirect_then_timeout", 40, |seed| {
        forwarder_crash(Family::V4, seed, None)
    });
}

/// `forwarder_crash_redirect_then_timeout` on a `random_lan_in(family, seed, n)`.
pub(super) fn forwarder_crash(family: Family, seed: u64, n: Option<usize>) -> Result<(), String> {
    let mut rng = Rand::new(seed ^ 0x2);
    // Drawn even when `n` is given, so the later draws stay the same.
    let drawn = rng.range(2, 4) as usize;
    let n = n.unwrap_or(drawn);
    let mut sim = random_lan_in(family, seed, Some(n));
    for i in 0..n {
        let mut c = sim.node(i).cfgs[0].clone();
        c.redirect_s = 60;
        c.timeout_s = 180;
        sim.set_config(i, 0, c);
    }
    if rng.chance(0.5) {
        sim.set_loss(0.1);
        sim.set_loss_burst(Some(2));
    }
    sim.run_until(SETTLED.add_ms(rng.below(HELLO)));
    settled(&sim)?;
    let avg = sim.avgs(0)[0];
    let victim = (0..n).find(|&i| i != avg).ok_or("no victim")?;
    let (fwd, v) = own_vmac(&sim, victim).ok_or("victim owns nothing")?;
    let t = sim.now();
    sim.crash(victim);
    run_until_cond(&mut sim, t.add_ms(HOLD + MAX_DELAY), |s| {
        owners(s, v).len() == 1
    })?;
    let handed = |s: &Sim| s.arp_answers(0).iter().any(|a| a.1.contains(&v));
    // Redirect: 60 s after the takeover (hold time after the crash).
    run_safe(&mut sim, t.add_ms(60_000), 2 * MAX_DELAY)?;
    if !handed(&sim) {
        return Err("vMAC no longer handed out before the redirect time".into());
    }
    let at = run_until_cond(&mut sim, t.add_ms(60_000 + HOLD + MAX_DELAY), |s| {
        !handed(s)
    })?;
    let redirect: Vec<&Redirect> = sim
        .records
        .iter()
        .filter(|r| r.at >= t && sim.avgs(0).contains(&r.node))
        .flat_map(|r| &r.output.redirects)
        .collect();
    let mut live: Vec<(u8, [u8; 6])> = (0..n)
        .filter(|&i| i != victim)
        .filter_map(|i| own_vmac(&sim, i))
        .collect();
    live.sort_unstable();
    match redirect.as_slice() {
        [r] if r.fwd == fwd && r.vmac == v && r.to == live => {}
        other => return Err(format!("redirects {other:?}, expected to {live:?}")),
    }
    if owners(&sim, v).len() != 1 {
        return Err("taken-over vMAC should be forwarded until the timeout".into());
    }
    // Timeout: 180 s after the takeover the forwarder is gone (the
    // taker's release may take a few hellos to get through the loss).
    run_safe(&mut sim, at.add_ms(110_000), 2 * MAX_DELAY)?;
    run_until_cond(
        &mut sim,
        t.add_ms(180_000 + HOLD + 3 * HELLO + 2 * MAX_DELAY),
        |s| {
            owners(s, v).is_empty()
                && (0..n).all(|i| {
                    s.engine(i, 0)
                        .is_none_or(|e| e.status().forwarders.iter().all(|f| f.number != fwd))
                })
        },
    )?;
    // One takeover, and nobody picks the vMAC up again at the timeout.
    let takeovers: Vec<Instant> = sim
        .records
        .iter()
        .filter(|r| r.at >= t)
        .filter(|r| {
            r.output
                .events
                .iter()
                .any(|e| matches!(e, Event::TakeOver { fwd: f, .. } if *f == fwd))
        })
        .map(|r| r.at)
        .collect();
    if takeovers.len() != 1 {
        return Err(format!("takeovers of {fwd} at {takeovers:?}"));
    }
    Ok(())
}

/// Input: 2..=4 routers; a non-AVG router crashes and restarts 1..60 s
/// later (its vMAC is taken over after the hold time, or as soon as its
/// restarted hello shows that it no longer forwards).
/// Output: it gets its vMAC back once the forwarder preemption delay (30 s)
/// has passed (never before), the secondary releases it, and the group is
/// settled again.
#[test]
fn primary_restart_preempts_back() {
    for_seeds("primary_restart_preempts_back", 40, |seed| {
        let mut rng = Rand::new(seed ^ 0x3);
        let n = rng.range(2, 4) as usize;
        let mut sim = random_lan(seed, Some(n));
        sim.run_until(SETTLED.add_ms(rng.below(HELLO)));
        settled(&sim)?;
        let avg = sim.avgs(0)[0];
        let victim = (0..n).find(|&i| i != avg).ok_or("no victim")?;
        let (_, v) = own_vmac(&sim, victim).ok_or("victim owns nothing")?;
        let t = sim.now();
        sim.crash(victim);
        let back = t.add_ms(rng.range(1_000, 60_000));
        if back > t.add_ms(HOLD + MAX_DELAY) {
            run_until_cond(&mut sim, t.add_ms(HOLD + MAX_DELAY), |s| {
                owners(s, v).len() == 1
            })?;
        }
        sim.run_until(back);
        sim.restart(victim);
        run_until_cond(&mut sim, back.add_ms(MAX_DELAY + 1), |s| {
            owners(s, v).len() == 1
        })?;
        let at = run_until_cond(&mut sim, back.add_ms(HELLO + 30_000 + HELLO), |s| {
            owners(s, v) == vec![victim]
        })?;
        if at < back.add_ms(30_000) {
            return Err(format!(
                "took its vMAC back at {at}, before the preemption delay"
            ));
        }
        sim.run_until(at.add_ms(HOLD));
        settled(&sim)
    });
}

/// Input: a settled LAN; one random router shuts down cleanly.
/// Output: within one message delay (far below the hold time) its vMAC is
/// forwarded by exactly one survivor and, if it was the AVG, the standby
/// is AVG; the rest settles.
#[test]
fn shutdown_takes_over_within_a_delay() {
    for_seeds("shutdown_takes_over_within_a_delay", 50, |seed| {
        let mut rng = Rand::new(seed ^ 0x4);
        let mut sim = random_lan(seed, Some(rng.range(2, 8) as usize));
        sim.run_until(SETTLED.add_ms(rng.below(HELLO)));
        settled(&sim)?;
        let victim = rng.below(sim.len() as u64) as usize;
        let was_avg = sim.avgs(0) == vec![victim];
        let sb = standby(&sim);
        let mine = own_vmac(&sim, victim);
        let t = sim.now();
        sim.shutdown(victim);
        // Both must have happened within one delay (each on its own: an
        // unassigned new AVG may adopt the vMAC a moment after a secondary
        // took it over; the secondary yields one delay later).
        let (mut avg_ok, mut vmac_ok) = (!was_avg, mine.is_none());
        let sb = if was_avg {
            Some(sb.ok_or("no standby")?)
        } else {
            None
        };
        run_until_cond(&mut sim, t.add_ms(MAX_DELAY + 1), |s| {
            avg_ok |= sb.is_some_and(|sb| s.avgs(0) == vec![sb]);
            vmac_ok |= mine.is_some_and(|(_, v)| owners(s, v).len() == 1);
            avg_ok && vmac_ok
        })?;
        run_safe(&mut sim, t.add_ms(60_000), 2 * MAX_DELAY)
    });
}

/// Input: random faults for five minutes (crashes, restarts, shutdowns,
/// partitions, heals, loss, clock steps, weight changes; half the seeds
/// with reordering), then everything healed and restarted.
/// Output: within a minute the group is settled and all invariants hold.
#[test]
fn chaos_then_recovery() {
    for_seeds("chaos_then_recovery", 30, |seed| {
        chaos(Family::V4, seed, None)
    });
}

/// `chaos_then_recovery` on a `random_lan_in(family, seed, n)`.
pub(super) fn chaos(family: Family, seed: u64, n: Option<usize>) -> Result<(), String> {
    let mut rng = Rand::new(seed ^ 0x5);
    // Drawn even when `n` is given, so the later draws stay the same.
    let drawn = rng.range(2, 8) as usize;
    let n = n.unwrap_or(drawn);
    let mut sim = random_lan_in(family, seed, Some(n));
    sim.net_config().fifo = rng.chance(0.5);
    sim.set_delay(1, if rng.chance(0.5) { MAX_DELAY } else { 200 });
    sim.record = false;
    sim.run_until(SETTLED);
    let end = SETTLED.add_ms(300_000);
    while sim.now() < end {
        let i = rng.below(n as u64) as usize;
        match rng.below(9) {
            0 => sim.crash(i),
            1 => sim.restart(i),
            2 => sim.shutdown(i),
            3 => {
                let cut = rng.range(1, n as u64) as usize;
                let (a, b) = (0..n).partition::<Vec<usize>, _>(|&k| k < cut);
                sim.partition(&[&a, &b]);
            }
            4 => sim.heal(),
            5 => sim.set_loss([0.0, 0.1, 0.3][rng.below(3) as usize]),
            6 => sim.step_clock(i, rng.range(1, 3 * HOLD)),
            7 => sim.set_weight(i, 0, rng.range(1, 100) as u8),
            _ => {
                if sim.engine(i, 0).is_none() {
                    sim.restart(i);
                }
            }
        }
        sim.run_for(rng.range(100, 20_000));
    }
    sim.heal();
    sim.set_loss(0.0);
    for i in 0..n {
        sim.set_weight(i, 0, 100);
        if sim.engine(i, 0).is_none() {
            sim.restart(i);
        }
    }
    let t = sim.now();
    sim.run_until(t.add_ms(60_000));
    settled(&sim)?;
    run_safe(&mut sim, t.add_ms(120_000), 2 * MAX_DELAY)
}

/// Input: a settled LAN; one router's clock jumps forward by up to 3 hold
/// times (e.g. resume from suspend).
/// Output: the group is settled again within a minute.
#[test]
fn clock_step_recovers() {
    for_seeds("clock_step_recovers", 30, |seed| {
        let mut rng = Rand::new(seed ^ 0x6);
        let mut sim = random_lan(seed, None);
        sim.run_until(SETTLED);
        settled(&sim)?;
        let i = rng.below(sim.len() as u64) as usize;
        sim.step_clock(i, rng.range(1, 3 * HOLD));
        let t = sim.now();
        sim.run_until(t.add_ms(60_000));
        settled(&sim)?;
        run_safe(&mut sim, t.add_ms(90_000), 2 * MAX_DELAY)?;
        let takeovers = sim
            .records
            .iter()
            .flat_map(|r| &r.output.events)
            .filter(|e| matches!(e, Event::TakeOver { .. }))
            .count();
        // A step beyond the hold time may cause takeovers, each one undone.
        if takeovers > 2 * sim.len() * sim.len() {
            return Err(format!("{takeovers} takeovers"));
        }
        Ok(())
    });
}
