//! A partition of the AVG from the other gateways, and its heal: nftables
//! in the switch namespace drops every frame between g1's port and the
//! other gateways' ports (both directions) while all hosts still reach
//! every gateway. Each side elects its own AVG and takes over the other
//! side's vMACs (split brain); within two hold times of the heal there is
//! again one AVG and each vMAC is on exactly one router.

mod fault;

use std::time::{Duration, Instant};

use fault::{Lan, switch_drops, switch_rules, timers, worst};
use gw_tests::{
    group::{Sample, wait_for},
    probe::{Probe, ProbeReport},
    require_tools,
};

#[test]
fn partition_of_the_avg_heals_into_one_avg() {
    if !require_tools(&["ping", "nft", "nsenter"]) {
        return;
    }
    // Hello 300 ms, hold 1500 ms: two hold times are long enough to
    // sample against on a loaded machine.
    let lan = Lan::start(
        [150u8, 120, 100]
            .iter()
            .map(|p| timers(*p, 300, 1500))
            .collect(),
        3,
        Duration::from_secs(20),
    );
    let hold = lan.cfgs[0].hold();
    let vmacs: Vec<String> = (1..=3).map(|i| lan.vmac_of(i)).collect();
    lan.resolve_all();
    let (_echo, probes) = lan.probes();
    std::thread::sleep(Duration::from_millis(300));

    let cut = Instant::now();
    switch_rules(
        &lan.t,
        &[
            r#"iifname "pg1" oifname { "pg2", "pg3" } counter drop"#.into(),
            r#"iifname { "pg2", "pg3" } oifname "pg1" counter drop"#.into(),
        ],
    );
    // Split brain: both sides have an AVG, and both forward g1's vMAC
    // (and g1 those of g2 and g3).
    let split = wait_for(&lan.t, hold * 5, "split brain", |s| {
        let avgs = s.avgs();
        let dup = vmacs.iter().all(|v| s.owners(v).len() == 2);
        if avgs == [1, 2] && dup {
            Ok(cut.elapsed())
        } else {
            Err(format!(
                "AVGs {avgs:?}, owners {:?}",
                vmacs.iter().map(|v| s.owners(v)).collect::<Vec<_>>()
            ))
        }
    });
    // Stay split for a while: timers, redirects and ARP answers on both sides.
    std::thread::sleep(hold * 2);
    let dropped = switch_drops(&lan.t);
    assert!(dropped > 0, "the partition dropped nothing");

    let marks = lan.log_marks();
    let healed = Instant::now();
    switch_rules(&lan.t, &[]);
    let mut last = String::new();
    let one = gw_tests::wait::until(hold * 4, || {
        let s = Sample::take(&lan.t);
        let ok = s.avg().is_some()
            && vmacs.iter().all(|v| s.owners(v).len() == 1)
            && s.steady(&[1, 2, 3]).is_ok();
        if !ok {
            last = format!(
                "AVGs {:?}, owners {:?}, steady {:?}",
                s.avgs(),
                vmacs.iter().map(|v| s.owners(v)).collect::<Vec<_>>(),
                s.steady(&[1, 2, 3])
            );
        }
        ok.then(|| (s.at.saturating_duration_since(healed), s.avg().unwrap()))
    });
    let Some((took, avg)) = one else {
        panic!(
            "still split {:?} after the heal: {last}\n{}",
            hold * 4,
            lan.logs()
        );
    };
    // And it stays that way.
    let mut relapses = Vec::new();
    let end = Instant::now() + hold * 2;
    while Instant::now() < end {
        let s = Sample::take(&lan.t);
        if let Err(e) = s.steady(&[1, 2, 3]) {
            relapses.push(e);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let reports: Vec<ProbeReport> = probes.into_iter().map(Probe::stop).collect();
    let changes = lan.changes_since(&marks);
    eprintln!(
        "partition: split after {split:?} ({dropped} frames dropped); healed into one AVG (g{avg}) after {took:?}; \
         worst host outage {:?}; {} state changes after the heal",
        worst(&reports),
        changes.len()
    );
    assert!(
        took <= hold * 2,
        "split brain ended {took:?} after the heal (hold {hold:?})\n{}",
        lan.logs()
    );
    assert_eq!(avg, 1, "the higher priority wins the active-active contest");
    assert!(
        relapses.is_empty(),
        "relapsed: {relapses:?}\n{}",
        lan.logs()
    );
    for (j, r) in reports.iter().enumerate() {
        assert!(
            r.replied_after(healed + took),
            "host {} lost service\n{}",
            j + 1,
            lan.logs()
        );
        assert!(
            r.max_gap < hold + Duration::from_millis(900),
            "host {} outage {:?}\n{}",
            j + 1,
            r.max_gap,
            lan.logs()
        );
    }
}
