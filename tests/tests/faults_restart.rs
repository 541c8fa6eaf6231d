//! Agent crashes (SIGKILL) and restarts on the real kernel, for each role:
//! the AVG, the standby and a plain forwarder. The group must converge
//! back to its steady state (one AVG, one vMAC per router) and hosts must
//! keep or regain service, measured with UDP probes (every 10 ms) and ARP
//! requests.
//!
//! Bounds are loose for a loaded 2-core machine: the tests check
//! behaviour, `cargo xtask bench` measures.

mod fault;

use std::time::{Duration, Instant};

use fault::{ArpPinger, Lan, timers, worst};
use gw_tests::{
    group::{GroupConfig, Sample, wait_for},
    probe::{Probe, ProbeReport},
    require_tools,
    topo::{VIP, host_ip},
};

const PRIOS: [u8; 3] = [150, 120, 100];

fn fast_group(hosts: usize) -> Lan {
    Lan::start(
        PRIOS.iter().map(|p| GroupConfig::fast(*p)).collect(),
        hosts,
        Duration::from_secs(20),
    )
}

/// The AVG crashes: the standby takes over within the hold time, hosts
/// recover; the restarted router rejoins (no preemption: as a non-AVG) and
/// takes its vMAC back after the forwarder preemption delay.
#[test]
fn avg_killed_then_restarted_rejoins() {
    if !require_tools(&["ping", "nsenter"]) {
        return;
    }
    let mut lan = fast_group(3);
    let v1 = lan.vmac_of(1);
    lan.resolve_all();
    let (_echo, probes) = lan.probes();
    std::thread::sleep(Duration::from_millis(300));
    let hold = lan.cfgs[0].hold();
    let killed = Instant::now();
    lan.kill(1);
    let took = wait_for(&lan.t, hold * 5, "standby becomes AVG", |s| match s.avg() {
        Some(2) => Ok(killed.elapsed()),
        other => Err(format!("AVG is {other:?}")),
    });
    wait_for(&lan.t, hold * 5, "g1's vMAC taken over", |s| {
        match s.owners(&v1)[..] {
            [o] if o != 1 => Ok(()),
            ref other => Err(format!("owners of {v1}: {other:?}")),
        }
    });
    // Restart well after the takeover: a cold start (the lease is over).
    std::thread::sleep((killed + hold * 2).saturating_duration_since(Instant::now()));
    let restarted = Instant::now();
    lan.restart(1);
    let back = Duration::from_millis(lan.cfgs[0].fwd_preempt_ms.into());
    let avg = lan.wait_steady(&[1, 2, 3], back + hold * 10);
    let converged = restarted.elapsed();
    let reports: Vec<ProbeReport> = probes.into_iter().map(Probe::stop).collect();
    eprintln!(
        "AVG crash: standby AVG after {took:?}; worst host outage {:?}; restarted g1 converged in {converged:?}",
        worst(&reports)
    );
    assert!(
        took < hold + Duration::from_millis(900),
        "took {took:?}\n{}",
        lan.logs()
    );
    assert_eq!(
        avg,
        2,
        "no preemption: the standby stays AVG\n{}",
        lan.logs()
    );
    assert_eq!(lan.vmac_of(1), v1, "g1 forwards its own vMAC again");
    for (j, r) in reports.iter().enumerate() {
        assert!(
            r.replied_after(killed + hold * 2),
            "host {} never recovered\n{}",
            j + 1,
            lan.logs()
        );
    }
    // The return costs nothing: forwarder preemption hands the vMAC over
    // while both forward.
    let w = worst(&reports);
    assert!(
        w < hold + Duration::from_millis(900),
        "worst outage {w:?}\n{}",
        lan.logs()
    );
    for r in &reports {
        let g = r.max_gap_within(restarted, r.stopped);
        assert!(
            g < Duration::from_millis(500),
            "outage {g:?} when g1 came back\n{}",
            lan.logs()
        );
    }
    assert!(lan.dead().is_empty(), "an agent died\n{}", lan.logs());
}

/// The standby crashes: the AVG stays, the next router becomes standby and
/// the standby's vMAC is taken over; the restarted router gets the standby
/// role back (it outranks the new standby) and its vMAC.
#[test]
fn standby_killed_then_restarted_takes_standby_back() {
    if !require_tools(&["ping", "nsenter"]) {
        return;
    }
    let mut lan = fast_group(3);
    let v2 = lan.vmac_of(2);
    lan.resolve_all();
    let (_echo, probes) = lan.probes();
    std::thread::sleep(Duration::from_millis(300));
    let hold = lan.cfgs[1].hold();
    let marks = lan.log_marks();
    let killed = Instant::now();
    lan.kill(2);
    wait_for(&lan.t, hold * 5, "g2's vMAC taken over", |s| {
        match (s.avg(), &s.owners(&v2)[..]) {
            (Some(1), [o]) if *o != 2 => Ok(()),
            (avg, other) => Err(format!("AVG {avg:?}, owners of {v2}: {other:?}")),
        }
    });
    let g3_standby = gw_tests::wait::until(hold * 4, || {
        lan.changes_since(&marks)
            .iter()
            .any(|l| l.starts_with("g3:") && l.contains("-> Standby"))
            .then_some(())
    });
    assert!(
        g3_standby.is_some(),
        "g3 did not become standby\n{}",
        lan.logs()
    );
    std::thread::sleep((killed + hold * 2).saturating_duration_since(Instant::now()));
    let marks = lan.log_marks();
    let restarted = Instant::now();
    lan.restart(2);
    let back = Duration::from_millis(lan.cfgs[1].fwd_preempt_ms.into());
    let avg = lan.wait_steady(&[1, 2, 3], back + hold * 10);
    let converged = restarted.elapsed();
    let standby_again = gw_tests::wait::until(hold * 4, || {
        let c = lan.changes_since(&marks);
        (c.iter()
            .any(|l| l.starts_with("g2:") && l.contains("-> Standby"))
            && c.iter()
                .any(|l| l.starts_with("g3:") && l.contains("Standby -> ")))
        .then_some(())
    });
    let reports: Vec<ProbeReport> = probes.into_iter().map(Probe::stop).collect();
    eprintln!(
        "standby crash: worst host outage {:?}; restarted g2 converged in {converged:?}",
        worst(&reports)
    );
    assert_eq!(avg, 1, "the AVG never changed\n{}", lan.logs());
    assert!(
        standby_again.is_some(),
        "g2 did not take the standby role back from g3\n{}",
        lan.logs()
    );
    for (j, r) in reports.iter().enumerate() {
        assert!(
            r.replied_after(killed + hold * 2),
            "host {} never recovered",
            j + 1
        );
    }
    let w = worst(&reports);
    assert!(
        w < hold + Duration::from_millis(900),
        "worst outage {w:?}\n{}",
        lan.logs()
    );
    assert!(lan.dead().is_empty(), "an agent died\n{}", lan.logs());
}

/// A forwarder's agent crashes and is restarted at once, within the hold
/// time: the pinned program keeps forwarding, the new agent adopts it, and
/// the peers never notice (nobody takes its vMAC over; no host outage).
#[test]
fn forwarder_restarted_within_hold_time_is_hitless() {
    if !require_tools(&["ping", "nsenter"]) {
        return;
    }
    // A hold time that comfortably covers an agent restart on a loaded
    // machine.
    let mut lan = Lan::start(
        PRIOS.iter().map(|p| timers(*p, 300, 3000)).collect(),
        3,
        Duration::from_secs(25),
    );
    let v3 = lan.vmac_of(3);
    lan.resolve_all();
    let (_echo, probes) = lan.probes();
    std::thread::sleep(Duration::from_millis(300));
    let hold = lan.cfgs[2].hold();
    let marks = lan.log_marks();
    let killed = Instant::now();
    lan.kill(3);
    lan.restart(3);
    let adopted = gw_tests::wait::until(hold, || {
        lan.log(3)[marks[2]..].contains("adopted").then_some(())
    });
    let adopted_after = killed.elapsed();
    // Watch for two hold times: g3 alone forwards its vMAC all along.
    let mut owners_seen = Vec::new();
    let end = Instant::now() + hold * 2;
    while Instant::now() < end {
        let s = Sample::take(&lan.t);
        let o = s.owners(&v3);
        if o != [3] {
            owners_seen.push(o);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let reports: Vec<ProbeReport> = probes.into_iter().map(Probe::stop).collect();
    let changes = lan.changes_since(&marks);
    eprintln!(
        "forwarder restart: adopted after {adopted_after:?}; worst host outage {:?}; state changes {changes:?}",
        worst(&reports)
    );
    assert!(
        adopted.is_some(),
        "the restart did not adopt the pinned program\n{}",
        lan.log(3)
    );
    // A sample can miss g3's vMAC for a moment while the new agent
    // re-writes its maps, but nobody else ever claims it.
    assert!(
        owners_seen.iter().all(|o| o.is_empty()),
        "g3's vMAC owned by {owners_seen:?}\n{}",
        lan.logs()
    );
    let taken: Vec<&String> = changes
        .iter()
        .filter(|l| l.contains("took over") || l.contains("expired"))
        .collect();
    assert!(
        taken.is_empty(),
        "peers noticed the restart: {taken:?}\n{}",
        lan.logs()
    );
    let w = worst(&reports);
    assert!(
        w < Duration::from_millis(500),
        "host outage {w:?}\n{}",
        lan.logs()
    );
    assert_eq!(lan.wait_steady(&[1, 2, 3], hold), 1);
    assert!(lan.dead().is_empty(), "an agent died\n{}", lan.logs());
}

/// The AVG's agent is killed and restarted at once while a host keeps
/// asking for the gateway (50 ARP requests a second, each from its own
/// MAC): the pinned program answers all through the restart and the
/// restarted agent adopts it, so no request goes unanswered and the
/// standby never takes over.
#[test]
fn avg_restart_keeps_answering_arp() {
    if !require_tools(&["nsenter"]) {
        return;
    }
    let mut lan = Lan::start(
        [150u8, 120].iter().map(|p| timers(*p, 300, 3000)).collect(),
        1,
        Duration::from_secs(25),
    );
    let hold = lan.cfgs[0].hold();
    let pinger = ArpPinger::start(
        &lan.t.hosts[0],
        0x41,
        host_ip(1),
        VIP,
        Duration::from_millis(20),
    );
    std::thread::sleep(Duration::from_millis(500));
    let marks = lan.log_marks();
    let killed = Instant::now();
    lan.kill(1);
    // Killed: the lease keeps the program answering.
    std::thread::sleep(Duration::from_millis(300));
    lan.restart(1);
    let adopted = gw_tests::wait::until(hold, || {
        lan.log(1)[marks[0]..].contains("adopted").then_some(())
    });
    let adopted_after = killed.elapsed();
    // Keep asking for well over a hold time after the restart: the new
    // agent must renew the lease, or answers stop when it runs out.
    std::thread::sleep(hold + Duration::from_millis(500));
    let r = pinger.stop();
    let s = Sample::take(&lan.t);
    let changes = lan.changes_since(&marks);
    eprintln!(
        "AVG restart: adopted after {adopted_after:?}; ARP sent {} answered {} unanswered {} (max gap {:?}); by vMAC {:?}",
        r.sent,
        r.answered,
        r.unanswered.len(),
        r.max_gap,
        r.by_vmac
    );
    assert!(adopted.is_some(), "no adoption\n{}", lan.log(1));
    assert!(r.sent > 100, "{r:?}");
    assert!(
        r.unanswered.is_empty(),
        "{} of {} ARP requests unanswered around the restart (first at {:?} after the kill)\n{}",
        r.unanswered.len(),
        r.sent,
        r.unanswered
            .first()
            .map(|t| t.saturating_duration_since(killed)),
        lan.logs()
    );
    assert_eq!(
        r.by_vmac.len(),
        2,
        "answers spread over both vMACs: {:?}",
        r.by_vmac
    );
    assert_eq!(s.avg(), Some(1), "g1 is still AVG\n{}", lan.logs());
    assert!(
        !changes.iter().any(|l| l.starts_with("g2:")),
        "the standby noticed the restart: {changes:?}"
    );
}
