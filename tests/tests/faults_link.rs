//! The AVG's LAN link goes down and comes back (`ip link set lan0 down/up`
//! in its namespace), with the agent running all along: the others take
//! over the AVG role and its vMAC within the hold time; when the link
//! returns the group settles into one AVG with one vMAC per router again,
//! and hosts keep service throughout.
//!
//! The upstream side cannot see a LAN link: the test withdraws the
//! server's route via the gateway while its LAN is down, as a routing
//! protocol would (otherwise replies routed to it are lost, whatever gw does).

mod fault;

use std::time::{Duration, Instant};

use fault::{Lan, worst};
use gw_tests::{
    group::{GroupConfig, Sample, wait_for},
    probe::{Probe, ProbeReport},
    require_tools,
};

#[test]
fn avg_lan_link_down_then_up() {
    if !require_tools(&["ping", "arping", "nsenter"]) {
        return;
    }
    let mut lan = Lan::start(
        [150u8, 120, 100]
            .iter()
            .map(|p| GroupConfig::fast(*p))
            .collect(),
        3,
        Duration::from_secs(20),
    );
    let v1 = lan.vmac_of(1);
    lan.resolve_all();
    let (_echo, probes) = lan.probes();
    std::thread::sleep(Duration::from_millis(300));
    let hold = lan.cfgs[0].hold();
    let down = Instant::now();
    lan.t.server.ok(
        "ip route replace 192.0.2.0/24 nexthop via 198.51.100.5 dev g2 nexthop via 198.51.100.9 dev g3",
    );
    lan.gw(1).ok("ip link set lan0 down");
    let took = wait_for(
        &lan.t,
        hold * 5,
        "takeover of the AVG role and g1's vMAC",
        |s| {
            match (s.avgs()[..].to_vec(), s.owners(&v1)) {
                // g1's data plane still says AVG until its lease runs out, but
                // it can no longer be heard: look at the others.
                (a, o) if a.contains(&2) && o.iter().any(|x| *x != 1) => Ok(down.elapsed()),
                (a, o) => Err(format!("AVGs {a:?}, owners of {v1}: {o:?}")),
            }
        },
    );
    // Hosts are served by g2 and g3 now.
    std::thread::sleep(hold);
    let o = lan.t.hosts[2].ok("ip neigh flush dev lan0; arping -c 1 -w 2 -I lan0 192.0.2.1");
    assert!(o.contains("00:07:B4"), "new AVG answers: {o}");
    assert!(
        lan.dead().is_empty(),
        "an agent died with its link down\n{}",
        lan.logs()
    );

    let up = Instant::now();
    lan.gw(1).ok("ip link set lan0 up");
    lan.t.server.ok(
        "ip route replace 192.0.2.0/24 nexthop via 198.51.100.1 dev g1 nexthop via 198.51.100.5 dev g2 nexthop via 198.51.100.9 dev g3",
    );
    let back = Duration::from_millis(lan.cfgs[0].fwd_preempt_ms.into());
    let avg = lan.wait_steady(&[1, 2, 3], back + hold * 10);
    let settled = up.elapsed();
    // Stays settled: one AVG, g1 on its own vMAC.
    std::thread::sleep(hold);
    let s = Sample::take(&lan.t);
    let reports: Vec<ProbeReport> = probes.into_iter().map(Probe::stop).collect();
    eprintln!(
        "link down: takeover after {took:?}; link up: steady after {settled:?} with AVG g{avg}; worst host outage {:?}",
        worst(&reports)
    );
    assert_eq!(s.steady(&[1, 2, 3]), Ok(avg), "{}", lan.logs());
    assert_eq!(lan.vmac_of(1), v1);
    assert!(
        took < hold * 2 + Duration::from_millis(900),
        "takeover took {took:?}\n{}",
        lan.logs()
    );
    for (j, r) in reports.iter().enumerate() {
        assert!(
            r.replied_after(up + settled),
            "host {} lost service\n{}",
            j + 1,
            lan.logs()
        );
        let w = r.max_gap;
        assert!(
            w < hold + Duration::from_millis(900),
            "host {} outage {w:?}\n{}",
            j + 1,
            lan.logs()
        );
    }
    assert!(lan.dead().is_empty(), "an agent died\n{}", lan.logs());
}
