//! A group of three routers on the real kernel: election, hosts spread
//! over every forwarder, and failover of the AVG and of a forwarder, with
//! outages measured by UDP probes from every host.
//!
//! Timers: hello 200 ms, hold 800 ms (GroupConfig::fast). Bounds are loose
//! enough for a loaded 2-core CI machine; `cargo xtask bench` measures.

use std::{
    net::SocketAddrV4,
    time::{Duration, Instant},
};

use gw_tests::{
    Agent, Topology, TopologySpec,
    group::{GroupConfig, Sample, wait_for},
    probe::{Echo, Probe, ProbeReport},
    require_tools,
    topo::SERVER,
};

const PRIOS: [u8; 3] = [150, 120, 100];

struct Group {
    t: Topology,
    agents: Vec<Option<Agent>>,
    cfgs: Vec<GroupConfig>,
}

impl Group {
    fn start(hosts: usize) -> Group {
        let t = Topology::new(TopologySpec { gateways: 3, hosts });
        let cfgs: Vec<GroupConfig> = PRIOS.iter().map(|p| GroupConfig::fast(*p)).collect();
        let agents = t
            .gateways
            .iter()
            .zip(&cfgs)
            .map(|(g, c)| Some(c.start(g)))
            .collect();
        let g = Group { t, agents, cfgs };
        let avg = wait_for(&g.t, Duration::from_secs(20), "steady state", |s| {
            s.steady(&[1, 2, 3])
        });
        assert_eq!(avg, 1, "the highest priority is AVG");
        g
    }

    fn logs(&self) -> String {
        self.agents
            .iter()
            .flatten()
            .map(|a| format!("--- {}\n{}", a.ns, a.log()))
            .collect()
    }

    fn vmac_of(&self, i: usize) -> String {
        let s = Sample::take(&self.t);
        s.get(i)
            .and_then(|g| g.forwarding.first())
            .map(|f| f.1.clone())
            .expect("forwards a vMAC")
    }

    /// Every host pings the server once (resolving the gateway) and
    /// returns the vMAC it got.
    fn resolve_all(&self) -> Vec<String> {
        (1..=self.t.hosts.len())
            .map(|j| {
                self.t.hosts[j - 1].ok(&format!("ping -c 1 -W 2 {SERVER}"));
                self.t
                    .host_gateway_mac(j)
                    .expect("neighbour entry for the VIP")
            })
            .collect()
    }

    fn probes(&self) -> (Echo, Vec<Probe>) {
        let target = SocketAddrV4::new(SERVER, 7);
        let echo = Echo::start(&self.t.server, target).expect("echo");
        let probes = self
            .t
            .hosts
            .iter()
            .map(|h| Probe::start(h, target, Duration::from_millis(10)).expect("probe"))
            .collect();
        (echo, probes)
    }
}

fn worst(reports: &[ProbeReport]) -> Duration {
    reports.iter().map(|r| r.max_gap).max().unwrap_or_default()
}

#[test]
fn hosts_spread_over_every_forwarder() {
    if !require_tools(&["ping", "nsenter"]) {
        return;
    }
    let g = Group::start(6);
    let got = g.resolve_all();
    let mut distinct = got.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        3,
        "6 hosts over 3 forwarders: {got:?}\n{}",
        g.logs()
    );
    for v in &distinct {
        assert_eq!(
            got.iter().filter(|x| *x == v).count(),
            2,
            "round-robin gives 2 each: {got:?}"
        );
    }
}

#[test]
fn avg_crash_hands_over_within_hold_time() {
    if !require_tools(&["ping", "arping", "nsenter"]) {
        return;
    }
    let mut g = Group::start(4);
    g.resolve_all();
    let (_echo, probes) = g.probes();
    std::thread::sleep(Duration::from_millis(300));
    let killed = Instant::now();
    g.agents[0].as_mut().unwrap().stop(libc::SIGKILL);
    let hold = g.cfgs[0].hold();
    let took = wait_for(&g.t, hold * 4, "standby becomes AVG", |s| match s.avg() {
        Some(2) => Ok(killed.elapsed()),
        other => Err(format!("AVG is {other:?}")),
    });
    assert!(
        took < hold + Duration::from_millis(700),
        "took {took:?} (hold {hold:?})\n{}",
        g.logs()
    );
    // g1's vMAC must be taken over by a survivor; traffic keeps flowing.
    std::thread::sleep(hold + Duration::from_millis(500));
    let reports: Vec<ProbeReport> = probes.into_iter().map(Probe::stop).collect();
    for (j, r) in reports.iter().enumerate() {
        assert!(
            r.replied_after(killed + hold * 2),
            "host {} never recovered: {r:?}\n{}",
            j + 1,
            g.logs()
        );
    }
    let w = worst(&reports);
    assert!(
        w < hold + Duration::from_millis(900),
        "worst outage {w:?}\n{}",
        g.logs()
    );
    // A new question still gets an answer from the new AVG.
    let o = g.t.hosts[3].ok("ip neigh flush dev lan0; arping -c 1 -w 2 -I lan0 192.0.2.1");
    assert!(o.contains("00:07:B4"), "{o}");
}

#[test]
fn forwarder_crash_moves_its_vmac_and_it_comes_back() {
    if !require_tools(&["ping", "nsenter"]) {
        return;
    }
    let mut g = Group::start(6);
    let got = g.resolve_all();
    let v3 = g.vmac_of(3);
    let users: Vec<usize> = (1..=6).filter(|j| got[j - 1] == v3).collect();
    assert!(!users.is_empty(), "someone uses g3");
    let (echo, probes) = g.probes();
    std::thread::sleep(Duration::from_millis(300));
    let killed = Instant::now();
    g.agents[2].as_mut().unwrap().stop(libc::SIGKILL);
    let hold = g.cfgs[2].hold();
    wait_for(&g.t, hold * 4, "g3's vMAC taken over", |s| {
        match s.owners(&v3)[..] {
            [o] if o != 3 => Ok(o),
            ref other => Err(format!("owners of {v3}: {other:?}")),
        }
    });
    // Let the probes run well past the takeover.
    std::thread::sleep((killed + hold * 3).saturating_duration_since(Instant::now()));
    let reports: Vec<ProbeReport> = probes.into_iter().map(Probe::stop).collect();
    for j in &users {
        let r = &reports[j - 1];
        assert!(
            r.replied_after(killed + hold * 2),
            "host {j} (on g3) never recovered\n{}",
            g.logs()
        );
        assert!(
            r.max_gap < hold + Duration::from_millis(900),
            "host {j} outage {:?}",
            r.max_gap
        );
    }
    // After the redirect time the AVG no longer hands out g3's vMAC and its
    // hosts are moved to live forwarders.
    let redirect = Duration::from_secs(g.cfgs[0].redirect_s.into());
    wait_for(&g.t, redirect + hold * 4, "redirect", |s| {
        if s.handed_out().contains(&v3) {
            Err(format!("{v3} still handed out"))
        } else {
            Ok(())
        }
    });
    for j in &users {
        let moved = gw_tests::wait::until(Duration::from_secs(3), || {
            g.t.host_gateway_mac(*j).filter(|m| *m != v3)
        });
        assert!(moved.is_some(), "host {j} still on {v3}\n{}", g.logs());
        g.t.hosts[j - 1].ok(&format!("ping -c 1 -W 2 {SERVER}"));
    }
    // g3 comes back and, after the forwarder preemption delay, forwards its
    // vMAC again; its stand-in lets go.
    g.agents[2] = Some(g.cfgs[2].start(&g.t.gateways[2]));
    let back = Duration::from_millis(g.cfgs[2].fwd_preempt_ms.into());
    wait_for(&g.t, back + hold * 6, "g3 forwarding again", |s| {
        let f = s.get(3).map(|x| x.forwarding.len()).unwrap_or(0);
        if f == 1 {
            s.steady(&[1, 2, 3]).map(|_| ())
        } else {
            Err(format!("g3 forwards {f}"))
        }
    });
    drop(echo);
}

#[test]
fn clean_stop_costs_far_less_than_the_hold_time() {
    if !require_tools(&["ping", "nsenter"]) {
        return;
    }
    let mut g = Group::start(4);
    g.resolve_all();
    let (_echo, probes) = g.probes();
    std::thread::sleep(Duration::from_millis(300));
    let stopped = Instant::now();
    assert!(
        g.agents[1].as_mut().unwrap().stop(libc::SIGTERM),
        "clean exit"
    );
    std::thread::sleep(Duration::from_millis(1500));
    let reports: Vec<ProbeReport> = probes.into_iter().map(Probe::stop).collect();
    let w = reports
        .iter()
        .map(|r| r.max_gap_within(stopped, stopped + Duration::from_millis(1500)))
        .max()
        .unwrap();
    let hold = g.cfgs[1].hold();
    assert!(
        w < hold / 2,
        "SIGTERM outage {w:?} vs hold {hold:?}\n{}",
        g.logs()
    );
    let s = Sample::take(&g.t);
    assert_eq!(s.avg(), Some(1));
}
