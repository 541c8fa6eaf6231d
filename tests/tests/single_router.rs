//! A group of one router, end to end on the real kernel: the agent attaches
//! XDP, becomes AVG, and a Linux host resolves the VIP to the vMAC and
//! reaches the server through it; clean stop, crash and adoption.

use std::time::Duration;

use gw_tests::{Agent, Topology, TopologySpec, agent, require_tools, topo::SERVER, wait};

const VMAC: &str = "00:07:b4:00:01:01";

fn arping_vmac(t: &Topology, host: usize, count: u32) -> Vec<String> {
    let o = t.hosts[host - 1].sh(&format!("arping -c {count} -w 3 -I lan0 192.0.2.1"));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            l.split('[')
                .nth(1)
                .and_then(|r| r.split(']').next())
                .map(str::to_lowercase)
        })
        .collect()
}

#[test]
fn host_resolves_vip_to_vmac_and_reaches_server() {
    if !require_tools(&["arping", "ping", "nsenter"]) {
        return;
    }
    let t = Topology::new(TopologySpec {
        gateways: 1,
        hosts: 1,
    });
    let a = Agent::start(&t.gateways[0], agent::QUICK);
    agent::wait_active(&t.gateways[0], &a);
    assert!(
        a.log().contains("generic mode"),
        "auto mode picks generic on veth:\n{}",
        a.log()
    );

    // The kernel's own ARP client resolves the gateway, then traffic flows.
    t.hosts[0].ok(&format!("ping -c 3 -i 0.2 -W 2 {SERVER}"));
    assert_eq!(t.host_gateway_mac(1).as_deref(), Some(VMAC));
    assert_eq!(arping_vmac(&t, 1, 2), vec![VMAC, VMAC]);

    let s = agent::status(&t.gateways[0]);
    let g = &s[0]["groups"][0];
    assert_eq!(g["forwarding"][0]["vmac"], VMAC);
    assert!(g["arp_replies"].as_u64().unwrap() >= 2, "{s}");
    assert!(
        g["vmac_frames"].as_u64().unwrap() >= 3,
        "pings went through the vMAC: {s}"
    );
    assert_eq!(g["clients"], 1);
}

#[test]
fn clean_stop_detaches_and_unpins() {
    if !require_tools(&["arping", "nsenter"]) {
        return;
    }
    let t = Topology::new(TopologySpec {
        gateways: 1,
        hosts: 1,
    });
    let mut a = Agent::start(&t.gateways[0], agent::QUICK);
    agent::wait_active(&t.gateways[0], &a);
    let pins = format!("/sys/fs/bpf/gw/{}/lan0", t.gateways[0].name);
    assert!(std::path::Path::new(&pins).join("link").exists());
    assert!(
        a.stop(libc::SIGTERM),
        "exit status on SIGTERM:\n{}",
        a.log()
    );
    assert!(!std::path::Path::new(&pins).exists(), "pins left behind");
    let link = t.gateways[0].ok("ip link show lan0");
    assert!(!link.contains("xdp"), "XDP still attached: {link}");
    assert!(
        arping_vmac(&t, 1, 1).is_empty(),
        "nobody answers after a clean stop"
    );
}

#[test]
fn crash_keeps_answering_until_lease_and_restart_adopts() {
    if !require_tools(&["arping", "nsenter"]) {
        return;
    }
    let t = Topology::new(TopologySpec {
        gateways: 1,
        hosts: 1,
    });
    // A long hold time, so the lease outlives the restart.
    let slow = [
        "--interface",
        "lan0",
        "--group",
        "1",
        "--vip",
        "192.0.2.1",
        "--hello-ms",
        "1000",
        "--hold-ms",
        "5000",
    ];
    let mut a = Agent::start(&t.gateways[0], &slow);
    agent::wait_active(&t.gateways[0], &a);
    a.stop(libc::SIGKILL);
    // The pinned program keeps answering from the maps.
    assert_eq!(arping_vmac(&t, 1, 1), vec![VMAC]);
    let b = Agent::start(&t.gateways[0], &slow);
    assert!(
        wait::until(Duration::from_secs(5), || b
            .log()
            .contains("adopted")
            .then_some(()))
        .is_some(),
        "restart did not adopt the pinned program:\n{}",
        b.log()
    );
    // Answers continue across the restart.
    assert_eq!(arping_vmac(&t, 1, 3), vec![VMAC, VMAC, VMAC], "{}", b.log());
    drop(b);
}

#[test]
fn bad_arguments_attach_nothing() {
    if !require_tools(&["nsenter"]) {
        return;
    }
    let t = Topology::new(TopologySpec {
        gateways: 1,
        hosts: 0,
    });
    let g = &t.gateways[0];
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "--interface",
                "lan0",
                "--group",
                "1024",
                "--vip",
                "192.0.2.1",
            ],
            "group",
        ),
        (
            &["--interface", "lan0", "--group", "1", "--vip", "224.0.0.1"],
            "vip",
        ),
        (
            &[
                "--interface",
                "lan0",
                "--group",
                "1",
                "--vip",
                "192.0.2.1",
                "--hello-ms",
                "500",
                "--hold-ms",
                "400",
            ],
            "hold_ms",
        ),
        (
            &[
                "--interface",
                "nosuch0",
                "--group",
                "1",
                "--vip",
                "192.0.2.1",
            ],
            "nosuch0",
        ),
        (
            &[
                "--interface",
                "lan0",
                "--group",
                "1",
                "--vip",
                "192.0.2.1",
                "--priority",
                "0",
            ],
            "priority",
        ),
    ];
    for (args, field) in cases {
        let o = g
            .command(agent::bin().to_str().unwrap())
            .arg("run")
            .args(*args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} accepted");
        assert!(
            err.contains(field),
            "{args:?}: error does not name {field}: {err}"
        );
        assert!(
            !g.ok("ip link show lan0").contains("xdp"),
            "{args:?} attached XDP"
        );
        assert!(
            !std::path::Path::new(&format!("/sys/fs/bpf/gw/{}", g.name)).exists(),
            "{args:?} pinned"
        );
    }
}
