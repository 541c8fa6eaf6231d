//! Tracked objects on the real kernel: a router whose tracked objects fail
//! drops its weight below `lower`, gives up forwarding, and a secondary
//! takes its vMAC over; once the weight is back at `upper` it takes the
//! vMAC back after the forwarder preemption delay (2 s here), and not
//! while the weight sits between the thresholds.
//!
//! The weight is read from the running agent (`status --json`, field
//! `agent`); who forwards what from the pinned maps (gw_tests::group).

use std::time::{Duration, Instant};

use gw_tests::{
    Agent, Netns, Topology, TopologySpec,
    group::{GroupConfig, Sample, wait_for},
    require_tools,
};

struct Lab {
    t: Topology,
    agents: Vec<Agent>,
    cfgs: Vec<GroupConfig>,
}

impl Lab {
    /// Routers with priorities `prios` (the first is AVG); the last one
    /// gets `weighting` and `track`.
    fn start(prios: &[u8], weighting: serde_json::Value, track: serde_json::Value) -> Lab {
        let t = Topology::new(TopologySpec {
            gateways: prios.len(),
            hosts: 0,
        });
        let mut cfgs: Vec<GroupConfig> = prios.iter().map(|p| GroupConfig::fast(*p)).collect();
        cfgs.last_mut().unwrap().extra_group =
            serde_json::json!({ "weighting": weighting, "track": track });
        let agents = t
            .gateways
            .iter()
            .zip(&cfgs)
            .map(|(g, c)| c.start(g))
            .collect();
        let lab = Lab { t, agents, cfgs };
        let all: Vec<usize> = (1..=prios.len()).collect();
        wait_for(&lab.t, Duration::from_secs(20), "steady state", |s| {
            s.steady(&all)
        });
        lab
    }

    fn tracked(&self) -> usize {
        self.agents.len()
    }

    fn gw(&self) -> &Netns {
        &self.t.gateways[self.tracked() - 1]
    }

    fn logs(&self) -> String {
        self.agents
            .iter()
            .map(|a| format!("--- {}\n{}", a.ns, a.log()))
            .collect()
    }

    /// (weight, forwarding allowed) of the tracked router, from its agent.
    fn weight(&self) -> Option<(u64, bool)> {
        let v = gw_tests::agent::try_status(self.gw()).ok()?;
        let g = &v[0]["agent"]["groups"][0];
        Some((g["weight"].as_u64()?, g["forwarding_allowed"].as_bool()?))
    }

    fn wait_weight(&self, want: (u64, bool), within: Duration) {
        gw_tests::wait::until(within, || (self.weight() == Some(want)).then_some(()))
            .unwrap_or_else(|| {
                panic!("weight {:?}, want {want:?}\n{}", self.weight(), self.logs())
            });
    }

    /// Waits until `vmac` is forwarded by router `by` alone; returns when.
    fn wait_owner(&self, vmac: &str, by: usize, within: Duration) -> Instant {
        wait_for(
            &self.t,
            within,
            &format!("{vmac} forwarded by g{by}"),
            |s: &Sample| match s.owners(vmac)[..] {
                [o] if o == by => Ok(Instant::now()),
                ref other => Err(format!("owners {other:?}")),
            },
        )
    }

    fn vmac_of(&self, i: usize) -> String {
        Sample::take(&self.t).get(i).unwrap().forwarding[0]
            .1
            .clone()
    }
}

#[test]
fn interface_down_moves_the_vmac_and_link_up_takes_it_back() {
    // Input: 3 routers; g3 tracks its uplink up0 (decrement 30), weighting
    // 100, lower 80, upper 90. up0 goes down, later up again.
    // Output: g3's weight drops to 70 and it stops forwarding at once; a
    // secondary forwards g3's vMAC within a hold time. After up0 is up,
    // the weight is 100 again and g3 forwards its vMAC again, no sooner
    // than the forwarder preemption delay.
    if !require_tools(&["nsenter"]) {
        return;
    }
    let lab = Lab::start(
        &[150, 120, 100],
        serde_json::json!({ "max": 100, "lower": 80, "upper": 90 }),
        serde_json::json!([{ "interface": "up0", "decrement": 30 }]),
    );
    let hold = lab.cfgs[0].hold();
    let v3 = lab.vmac_of(3);
    lab.wait_weight((100, true), Duration::from_secs(2));

    let down = Instant::now();
    lab.gw().ok("ip link set up0 down");
    lab.wait_weight((70, false), Duration::from_secs(2));
    // status shows the object and its state, in JSON and in --detail.
    let st = gw_tests::agent::status(lab.gw());
    let tr = &st[0]["agent"]["groups"][0]["tracking"][0];
    assert_eq!(tr["object"], "interface up0", "{tr}");
    assert_eq!(
        (tr["decrement"].as_u64(), tr["up"].as_bool()),
        (Some(30), Some(false))
    );
    let detail = gw_tests::agent::status_text(lab.gw(), &["--detail"]);
    assert!(
        detail.contains("Tracking interface up0 (decrement 30): DOWN"),
        "{detail}"
    );
    let taken = wait_for(&lab.t, hold * 3, "g3's vMAC taken over", |s| {
        match s.owners(&v3)[..] {
            [o] if o != 3 => Ok(Instant::now()),
            ref other => Err(format!("owners of {v3}: {other:?}")),
        }
    });
    eprintln!("up0 down: {v3} taken over after {:?}", taken - down);
    assert!(
        taken - down < hold + Duration::from_millis(500),
        "{:?}\n{}",
        taken - down,
        lab.logs()
    );
    let log = lab.agents[2].log();
    assert!(
        log.contains("tracked interface up0 is down (administratively down)"),
        "{log}"
    );
    assert!(
        log.contains("weight 100 -> 70 (forwarding suspended)"),
        "{log}"
    );

    let up = Instant::now();
    lab.gw().ok("ip link set up0 up");
    lab.wait_weight((100, true), Duration::from_secs(2));
    let detail = gw_tests::agent::status_text(lab.gw(), &["--detail"]);
    assert!(
        detail.contains("Tracking interface up0 (decrement 30): up"),
        "{detail}"
    );
    let back = lab.wait_owner(&v3, 3, Duration::from_secs(10));
    let delay = Duration::from_millis(lab.cfgs[2].fwd_preempt_ms.into());
    eprintln!("up0 up: g3 forwards {v3} again after {:?}", back - up);
    assert!(
        back - up >= delay - Duration::from_millis(100),
        "preempted early: {:?}",
        back - up
    );
    wait_for(&lab.t, hold * 3, "steady again", |s| s.steady(&[1, 2, 3]));
}

#[test]
fn script_and_route_tracking_with_hysteresis() {
    // Input: 2 routers; g2 tracks a script (decrement 15, every 200 ms)
    // and the route 203.0.113.0/24 (decrement 10); weighting 100, lower
    // 80, upper 95. Steps: the script fails; the route goes; the route
    // comes back; the script succeeds again.
    // Output: weight 85, still forwarding (not below lower); 75, g1 takes
    // g2's vMAC over; 85, g2 stays out (below upper) for well past the
    // preemption delay; 100, g2 takes its vMAC back.
    if !require_tools(&["nsenter"]) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("gw-track-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state");
    let script = dir.join("check.sh");
    std::fs::write(&state, "0").unwrap();
    std::fs::write(
        &script,
        format!("#!/bin/sh\nexit $(cat {})\n", state.display()),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .args(["755", script.to_str().unwrap()])
        .status()
        .unwrap();
    let lab = Lab::start(
        &[150, 100],
        serde_json::json!({ "max": 100, "lower": 80, "upper": 95 }),
        serde_json::json!([
            { "script": script, "interval_ms": 200, "timeout_ms": 200, "decrement": 15 },
            { "route": "203.0.113.0/24", "decrement": 10 }
        ]),
    );
    let hold = lab.cfgs[0].hold();
    let delay = Duration::from_millis(lab.cfgs[1].fwd_preempt_ms.into());
    let v2 = lab.vmac_of(2);
    lab.wait_weight((100, true), Duration::from_secs(2));

    std::fs::write(&state, "1").unwrap();
    lab.wait_weight((85, true), Duration::from_secs(2));
    std::thread::sleep(hold * 2);
    assert_eq!(
        Sample::take(&lab.t).owners(&v2),
        [2],
        "85 is not below lower"
    );

    lab.gw().ok("ip route del 203.0.113.0/24");
    lab.wait_weight((75, false), Duration::from_secs(2));
    lab.wait_owner(&v2, 1, hold * 3);

    lab.gw().ok("ip route add 203.0.113.0/24 via 198.51.100.6");
    lab.wait_weight((85, false), Duration::from_secs(2));
    std::thread::sleep(delay + hold * 2);
    assert_eq!(
        Sample::take(&lab.t).owners(&v2),
        [1],
        "85 is below upper: g2 stays out\n{}",
        lab.logs()
    );

    let ok = Instant::now();
    std::fs::write(&state, "0").unwrap();
    lab.wait_weight((100, true), Duration::from_secs(2));
    let back = lab.wait_owner(&v2, 2, delay + hold * 4);
    assert!(
        back - ok >= delay - Duration::from_millis(100),
        "preempted early: {:?}",
        back - ok
    );
    let log = lab.agents[1].log();
    for want in [
        "tracked script",
        "tracked route 203.0.113.0/24 is down",
        "weight 100 -> 85 (forwarding allowed)",
        "weight 85 -> 75 (forwarding suspended)",
        "weight 75 -> 85 (forwarding suspended)",
        "weight 85 -> 100 (forwarding allowed)",
    ] {
        assert!(log.contains(want), "{want:?} not logged:\n{log}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unknown_tracked_interface_is_a_start_error() {
    // Input: a config tracking interface "nosuch0".
    // Output: the agent exits 1 naming the field, attaching nothing.
    if !require_tools(&["nsenter"]) {
        return;
    }
    let t = Topology::new(TopologySpec {
        gateways: 1,
        hosts: 0,
    });
    let mut c = GroupConfig::fast(100);
    c.extra_group = serde_json::json!({ "track": [{ "interface": "nosuch0" }] });
    let mut a = c.start(&t.gateways[0]);
    let status = a.child.wait().expect("agent exits");
    assert_eq!(status.code(), Some(1));
    let log = a.log();
    assert!(
        log.contains("groups[0].track[0].interface: tracked interface nosuch0 does not exist"),
        "{log}"
    );
    assert!(
        gw_tests::agent::status(&t.gateways[0])
            .as_array()
            .is_some_and(|a| a.is_empty())
    );
}

#[test]
fn reload_adds_and_removes_tracked_objects() {
    // Input: a group of one without tracked objects; up0 goes down; then a
    // reload adds `track up0 decrement 30`; then a reload removes it.
    // Output: weight 100; 70 with forwarding suspended; 100 again.
    if !require_tools(&["nsenter"]) {
        return;
    }
    let mut lab = Lab::start(
        &[100],
        serde_json::json!({ "max": 100, "lower": 80, "upper": 90 }),
        serde_json::json!([]),
    );
    lab.gw().ok("ip link set up0 down");
    std::thread::sleep(Duration::from_millis(300));
    lab.wait_weight((100, true), Duration::from_secs(2));
    let path = std::env::temp_dir().join(format!("{}-gw.json", lab.gw().name));
    let reload = |lab: &mut Lab, track: serde_json::Value| {
        lab.cfgs[0].extra_group["track"] = track;
        std::fs::write(&path, lab.cfgs[0].json().to_string()).unwrap();
        lab.agents[0].signal(libc::SIGHUP);
    };
    reload(
        &mut lab,
        serde_json::json!([{ "interface": "up0", "decrement": 30 }]),
    );
    lab.wait_weight((70, false), Duration::from_secs(3));
    reload(&mut lab, serde_json::json!([]));
    lab.wait_weight((100, true), Duration::from_secs(3));
}
