//! IPv6 on the real kernel: three routers, Linux hosts whose IPv6 default
//! route points at the group's virtual link-local address
//! (fe80::7:b4ff:fe00:100). The AVG's XDP program answers their Neighbor
//! Solicitations with different vMACs, so the hosts spread over the
//! routers; when a forwarder dies its vMAC is taken over and its hosts
//! keep reaching the server. A dual-stack group elects over IPv4; an
//! IPv6-only group (no `vip`) elects over IPv6 hellos to ff02::66, with
//! the routers known by their link-local addresses.
//!
//! Timers: hello 200 ms, hold 800 ms (GroupConfig::fast).

use std::{
    net::Ipv6Addr,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use gw_tests::{
    Agent, Topology, TopologySpec,
    capture::active_hellos,
    group::{GroupConfig, Sample, wait_for},
    require_tools,
    topo6::{SERVER6, VIP6, VIP6_GLOBAL, add_ipv6, host_gateway_mac6, ping6},
};

const PRIOS: [u8; 3] = [150, 120, 100];

struct Group6 {
    t: Topology,
    agents: Vec<Agent>,
    cfgs: Vec<GroupConfig>,
}

impl Group6 {
    /// Three routers with IPv6 on (the derived link-local address plus a
    /// global one), `hosts` hosts routing via `gateway`.
    fn start(hosts: usize, gateway: Ipv6Addr) -> Group6 {
        Self::start_with(hosts, gateway, false)
    }

    /// As `start`; `v6_only`: the group has no IPv4 VIP, and g3's LAN
    /// interface has no IPv4 address at all (an IPv6-only router).
    fn start_with(hosts: usize, gateway: Ipv6Addr, v6_only: bool) -> Group6 {
        let t = Topology::new(TopologySpec { gateways: 3, hosts });
        add_ipv6(&t, gateway);
        if v6_only {
            t.gateways[2].ok("ip -4 addr flush dev lan0");
        }
        let mut extra = serde_json::json!({ "ipv6": { "global": [VIP6_GLOBAL.to_string()] } });
        if v6_only {
            extra["vip"] = serde_json::Value::Null;
        }
        let cfgs: Vec<GroupConfig> = PRIOS
            .iter()
            .map(|p| GroupConfig {
                extra_group: extra.clone(),
                ..GroupConfig::fast(*p)
            })
            .collect();
        let agents = t
            .gateways
            .iter()
            .zip(&cfgs)
            .map(|(g, c)| c.start(g))
            .collect();
        let g = Group6 { t, agents, cfgs };
        wait_for(&g.t, Duration::from_secs(20), "steady state", |s| {
            s.steady(&[1, 2, 3])
        });
        g
    }

    fn logs(&self) -> String {
        self.agents
            .iter()
            .map(|a| format!("--- {}\n{}", a.ns, a.log()))
            .collect()
    }

    /// Every host pings the server once over IPv6 (resolving `gateway`)
    /// and returns the vMAC it got.
    fn resolve_all(&self, gateway: Ipv6Addr) -> Vec<String> {
        (1..=self.t.hosts.len())
            .map(|j| {
                assert!(
                    ping6(&self.t, j),
                    "host {j} cannot reach {SERVER6}\n{}",
                    self.logs()
                );
                let (mac, _) = host_gateway_mac6(&self.t, j, gateway)
                    .unwrap_or_else(|| panic!("host {j} has no entry for {gateway}"));
                mac
            })
            .collect()
    }
}

fn distinct(v: &[String]) -> Vec<String> {
    let mut d = v.to_vec();
    d.sort();
    d.dedup();
    d
}

#[test]
fn hosts_spread_over_the_routers_via_the_virtual_link_local() {
    if !require_tools(&["ping", "nsenter"]) {
        return;
    }
    let g = Group6::start(6, VIP6);
    let got = g.resolve_all(VIP6);
    assert!(
        got.iter().all(|m| m.starts_with("00:07:b4:00:01:")),
        "{got:?}"
    );
    assert_eq!(
        distinct(&got).len(),
        3,
        "6 hosts over 3 forwarders: {got:?}\n{}",
        g.logs()
    );
    // Every router forwarded IPv6 for its hosts: frames to its vMAC.
    let s = Sample::take(&g.t);
    for i in 1..=3 {
        let frames = s.get(i).map_or(0, |x| x.vmac_frames);
        assert!(frames > 0, "g{i} forwarded nothing\n{}", g.logs());
    }
}

#[test]
fn hosts_routing_via_a_global_virtual_address_are_answered() {
    if !require_tools(&["ping", "nsenter"]) {
        return;
    }
    let g = Group6::start(3, VIP6_GLOBAL);
    let got = g.resolve_all(VIP6_GLOBAL);
    assert_eq!(distinct(&got).len(), 3, "{got:?}\n{}", g.logs());
}

/// `ping -6 -D` replies in `out`, as wall-clock seconds.
fn reply_times(out: &str) -> Vec<f64> {
    out.lines()
        .filter(|l| l.contains("bytes from"))
        .filter_map(|l| l.strip_prefix('[')?.split(']').next()?.parse().ok())
        .collect()
}

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
}

#[test]
fn hosts_survive_a_forwarder_failure() {
    forwarder_fails(false, false);
}

#[test]
fn hosts_survive_a_forwarder_power_off() {
    forwarder_fails(true, false);
}

#[test]
fn ipv6_only_group_hosts_survive_a_forwarder_power_off() {
    forwarder_fails(true, true);
}

#[test]
fn ipv6_only_group_elects_over_ipv6_and_survives_the_avg() {
    // No IPv4 VIP: the agents elect over IPv6 hellos (ff02::66), name
    // each other by link-local address, answer Neighbor Discovery for
    // the virtual addresses (ARP for the group's internal key is covered
    // by the XDP tests), and the standby takes over when the AVG dies.
    if !require_tools(&["ping", "nsenter"]) {
        return;
    }
    let mut g = Group6::start_with(6, VIP6, true);
    let got = g.resolve_all(VIP6);
    assert_eq!(distinct(&got).len(), 3, "{got:?}\n{}", g.logs());
    let st = gw_tests::agent::status(&g.t.gateways[1]);
    let grp = &st[0]["agent"]["groups"][0];
    let active = grp["active_router"].as_str().unwrap_or_default();
    assert!(
        active.starts_with("fe80::"),
        "AVG named by link-local: {grp}"
    );
    assert_eq!(grp["vip"], VIP6.to_string(), "{grp}");
    let rx = &st[0]["agent"]["rx"];
    assert!(
        rx["accepted"].as_u64() > Some(0),
        "IPv6 hellos accepted: {rx}"
    );
    assert_eq!(rx["other_family"], 0, "{rx}");
    assert_eq!(st[0]["groups"][0]["vip"], serde_json::Value::Null);
    // g3 runs without any IPv4 address on its LAN interface.
    let st3 = gw_tests::agent::status(&g.t.gateways[2]);
    assert_eq!(st3[0]["agent"]["ip"], serde_json::Value::Null, "{st3}");
    assert!(
        st3[0]["agent"]["ip6"]
            .as_str()
            .is_some_and(|a| a.starts_with("fe80::")),
        "{st3}"
    );
    assert_eq!(st[0]["groups"][0]["vip6"][0], VIP6.to_string());
    let brief = gw_tests::agent::status_text(&g.t.gateways[0], &[]);
    assert!(brief.contains(&VIP6.to_string()), "{brief}");

    g.agents[0].stop(libc::SIGKILL);
    let hold = g.cfgs[0].hold();
    wait_for(&g.t, hold * 4, "g2 AVG after g1 died", |s| match s.avg() {
        Some(2) => Ok(()),
        other => Err(format!("AVG {other:?}")),
    });
    for j in 1..=6 {
        assert!(ping6(&g.t, j), "host {j} after the AVG died\n{}", g.logs());
    }
}

/// g3's agent is killed (SIGKILL); with `power_off` its links go down too,
/// so nothing of it forwards any more (a killed agent alone leaves the
/// kernel routing what reaches it until the vMAC moves). `v6_only`: the
/// group has no IPv4 VIP.
fn forwarder_fails(power_off: bool, v6_only: bool) {
    if !require_tools(&["ping", "nsenter"]) {
        return;
    }
    let mut g = Group6::start_with(6, VIP6, v6_only);
    let got = g.resolve_all(VIP6);
    let s = Sample::take(&g.t);
    let v3 = s
        .get(3)
        .and_then(|x| x.forwarding.first())
        .map(|f| f.1.clone())
        .expect("g3 forwards");
    let users: Vec<usize> = (1..=6).filter(|j| got[j - 1] == v3).collect();
    assert!(!users.is_empty(), "someone uses g3: {got:?}");

    // Every host pings every 50 ms for the whole test, timestamped. A
    // count, not a deadline: with -w, ping quits at the first ICMP error
    // (the dying router may send one before its LAN link goes).
    let hold = g.cfgs[2].hold();
    let count = 20 * (3 + (hold * 4).as_secs());
    let dir = std::env::temp_dir();
    let logs: Vec<_> = (1..=6)
        .map(|j| dir.join(format!("{}-ping6-h{j}.log", g.t.prefix)))
        .collect();
    let mut pingers: Vec<_> = (1..=6)
        .map(|j| {
            g.t.hosts[j - 1].spawn(&format!(
                "ping -6 -D -n -i 0.05 -W 1 -c {count} {SERVER6} > {} 2>&1",
                logs[j - 1].display()
            ))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1000));

    let killed = Instant::now();
    let killed_s = now_s();
    g.agents[2].stop(libc::SIGKILL);
    if power_off {
        g.t.set_gateway_links(3, false);
    }
    let owner = wait_for(&g.t, hold * 4, "g3's vMAC taken over", |s| {
        match s.owners(&v3)[..] {
            [o] if o != 3 => Ok(o),
            ref other => Err(format!("owners of {v3}: {other:?}")),
        }
    });
    for p in &mut pingers {
        let _ = p.wait();
    }
    let took = killed.elapsed();
    for (j, log) in logs.iter().enumerate() {
        let out = std::fs::read_to_string(log).unwrap_or_default();
        let _ = std::fs::remove_file(log);
        let t = reply_times(&out);
        let after = t
            .iter()
            .filter(|&&x| x > killed_s + (hold * 2).as_secs_f64())
            .count();
        if after <= 10 {
            let h = &g.t.hosts[j];
            let diag = format!(
                "host neigh: {}\nhost route: {}\n{}\nserver route: {}\nserver neigh: {}",
                h.ok("ip -6 neigh"),
                h.ok(&format!("ip -6 route get {SERVER6}")),
                h.ok("ip -6 route show table all; nstat -az | grep -i -E 'redirect|unreach'"),
                g.t.server.ok(&format!(
                    "ip -6 route get {}",
                    gw_tests::topo6::host_ip6(j + 1)
                )),
                g.t.server.ok("ip -6 neigh"),
            );
            panic!(
                "host {} silent after the failure ({after} replies)\n{diag}\n{out}\n{}",
                j + 1,
                g.logs()
            );
        }
        let gap = t
            .windows(2)
            .filter(|w| w[1] > killed_s - 0.5)
            .map(|w| w[1] - w[0])
            .fold(0.0, f64::max);
        eprintln!(
            "host {}: {} replies, {after} after the failure, longest gap {gap:.3} s",
            j + 1,
            t.len()
        );
        assert!(
            gap < (hold + Duration::from_millis(900)).as_secs_f64(),
            "host {} outage {gap:.3} s (hold {hold:?}, run {took:?})\n{}",
            j + 1,
            g.logs()
        );
    }
    // After the redirect time the AVG no longer hands out g3's vMAC, and
    // g3's hosts are moved by unsolicited advertisements (Override set)
    // to live forwarders.
    let redirect = Duration::from_secs(g.cfgs[0].redirect_s.into());
    wait_for(&g.t, redirect + hold * 4, "redirect", |s| {
        if s.handed_out().contains(&v3) {
            Err(format!("{v3} still handed out"))
        } else {
            Ok(())
        }
    });
    for &j in &users {
        let moved = gw_tests::wait::until(Duration::from_secs(3), || {
            host_gateway_mac6(&g.t, j, VIP6).filter(|(m, _)| *m != v3)
        });
        assert!(
            moved.is_some(),
            "host {j} still on {v3} (g{owner} holds it)\n{}",
            g.logs()
        );
        assert!(ping6(&g.t, j), "host {j} after the move");
    }
}

#[test]
fn tshark_decodes_the_agents_ipv6_hellos() {
    if !require_tools(&["tcpdump", "tshark", "nsenter"]) {
        return;
    }
    let t = Topology::new(TopologySpec {
        gateways: 1,
        hosts: 1,
    });
    add_ipv6(&t, VIP6);
    let cfg = GroupConfig {
        extra_group: serde_json::json!({ "ipv6": true }),
        ..GroupConfig::fast(150)
    };
    let a = cfg.start(&t.gateways[0]);
    let fields = [
        "frame.protocols",
        "ipv6.dst",
        "ipv6.hlim",
        "udp.checksum.status",
        "glbp.group",
        "glbp.length",
        "glbp.hello.vgstate",
        "glbp.hello.priority",
        "glbp.hello.addrtype",
        "glbp.hello.addrlen",
        "glbp.hello.virtualipv6",
        "glbp.reqresp.virtualmac",
        "ipv6.src",
    ];
    // The listen phase (one hold time), then several hellos as Active.
    let lines = active_hellos(
        &t.hosts[0],
        "glbp6",
        &["ip6", "and", "udp", "port", "3222"],
        Duration::from_millis(2500),
        &["-o", "udp.check_checksum:TRUE"],
        &fields,
    )
    .unwrap_or_else(|e| panic!("no Active IPv6 hello captured: {e}\n{}", a.log()));
    let line = &lines[0];
    let v: Vec<&str> = line.split('|').collect();
    assert_eq!(
        v[..12],
        [
            "eth:ethertype:ipv6:udp:glbp",
            "ff02::66",
            "255",
            "1",
            "1",
            "40,20",
            "32",
            "150",
            "2",
            "16",
            "fe80::7:b4ff:fe00:100",
            "00:07:b4:00:01:01",
        ],
        "{line}"
    );
    assert!(
        v[12].starts_with("fe80::"),
        "sent from a link-local address: {line}"
    );
    assert_ne!(v[12], VIP6.to_string(), "not from the virtual address");
}

/// Entries in the gateway's pinned GW_GROUPS6 (bpftool, JSON; run here:
/// `ip netns exec` would remount /sys and hide the pins).
fn groups6_entries(t: &Topology) -> usize {
    let pin = format!("/sys/fs/bpf/gw/{}/lan0/GW_GROUPS6", t.gateways[0].name);
    let out = std::process::Command::new("bpftool")
        .args(["-j", "map", "dump", "pinned", &pin])
        .output()
        .expect("bpftool");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("bpftool JSON");
    v.as_array().map_or(0, Vec::len)
}

#[test]
fn restart_adopts_and_reload_rewrites_the_ipv6_addresses() {
    if !require_tools(&["ping", "nsenter", "bpftool"]) {
        return;
    }
    let t = Topology::new(TopologySpec {
        gateways: 1,
        hosts: 1,
    });
    add_ipv6(&t, VIP6);
    // A long hold time, so the lease outlives the restart.
    let mut cfg = GroupConfig {
        hello_ms: 1000,
        hold_ms: 5000,
        extra_group: serde_json::json!({ "ipv6": true }),
        ..GroupConfig::fast(100)
    };
    let g = &t.gateways[0];
    let mut a = cfg.start(g);
    gw_tests::agent::wait_active(g, &a);
    assert!(ping6(&t, 1), "{}", a.log());
    assert_eq!(groups6_entries(&t), 1);

    // Crash: the pinned program keeps answering solicitations.
    a.stop(libc::SIGKILL);
    t.hosts[0].ok("ip -6 neigh flush dev lan0");
    assert!(ping6(&t, 1), "no answer from the pinned program");
    let b = cfg.start(g);
    let adopted = gw_tests::wait::until(Duration::from_secs(5), || {
        b.log().contains("adopted").then_some(())
    });
    assert!(adopted.is_some(), "restart did not adopt:\n{}", b.log());
    gw_tests::agent::wait_active(g, &b);
    assert_eq!(groups6_entries(&t), 1, "{}", b.log());
    t.hosts[0].ok("ip -6 neigh flush dev lan0");
    assert!(ping6(&t, 1), "{}", b.log());

    // Reload: a global address added, then IPv6 turned off.
    let path = std::env::temp_dir().join(format!("{}-gw.json", g.name));
    for (ipv6, want) in [
        (
            serde_json::json!({ "global": [VIP6_GLOBAL.to_string()] }),
            2,
        ),
        (serde_json::json!(false), 0),
    ] {
        cfg.extra_group = serde_json::json!({ "ipv6": ipv6 });
        std::fs::write(&path, cfg.json().to_string()).expect("config");
        b.signal(libc::SIGHUP);
        let got = gw_tests::wait::until(Duration::from_secs(5), || {
            (groups6_entries(&t) == want).then_some(())
        });
        assert!(got.is_some(), "GW_GROUPS6 never held {want}:\n{}", b.log());
    }
}
