//! Least privilege: the agent runs as an unprivileged user with only
//! CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN and CAP_NET_RAW (what
//! packaging/gw-agent@.service grants), given pin and socket directories it
//! owns. CAP_PERFMON is needed because without it the verifier treats the
//! loader as unprivileged and refuses packet pointer arithmetic.

use std::{os::unix::fs::chown, time::Duration};

use gw_tests::{Agent, Topology, TopologySpec, agent, require_tools, wait};

const NOBODY: u32 = 65534;

fn setpriv(caps: &str) -> Vec<String> {
    [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        &format!("--inh-caps=-all,{caps}"),
        &format!("--ambient-caps=-all,{caps}"),
        &format!("--bounding-set=-all,{caps}"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// What systemd's ExecStartPre does in the unit: directories the agent's
/// user owns, for its pins and its control socket.
fn own_dirs(ns: &str) {
    for d in [format!("/sys/fs/bpf/gw/{ns}"), format!("/run/gw/{ns}")] {
        std::fs::create_dir_all(&d).unwrap();
        chown(&d, Some(NOBODY), Some(NOBODY)).unwrap();
    }
}

/// CapEff of a process as a bit set.
fn cap_eff(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
        .unwrap_or(u64::MAX)
}

#[test]
fn agent_runs_as_nobody_with_four_capabilities() {
    if !require_tools(&["setpriv", "nsenter", "arping"]) {
        return;
    }
    let t = Topology::new(TopologySpec {
        gateways: 1,
        hosts: 1,
    });
    let g = &t.gateways[0];
    own_dirs(&g.name);
    let w = setpriv("+bpf,+perfmon,+net_admin,+net_raw");
    let w: Vec<&str> = w.iter().map(String::as_str).collect();
    let mut a = Agent::start_wrapped(g, &w, agent::QUICK);
    let ready = wait::until(Duration::from_secs(10), || {
        agent::try_status(g)
            .ok()
            .filter(|s| s[0]["agent"]["groups"][0]["state"] == "Active")
    });
    assert!(
        ready.is_some(),
        "did not become AVG unprivileged:\n{}",
        a.log()
    );
    // Exactly the four capabilities, as uid nobody.
    let (bpf, perfmon, net_admin, net_raw) = (1u64 << 39, 1u64 << 38, 1u64 << 12, 1u64 << 13);
    assert_eq!(cap_eff(a.child.id()), bpf | perfmon | net_admin | net_raw);
    let st = std::fs::read_to_string(format!("/proc/{}/status", a.child.id())).unwrap();
    assert!(
        st.lines()
            .any(|l| l.starts_with("Uid:") && l.contains("65534")),
        "{st}"
    );
    let o = t.hosts[0].ok("arping -c 1 -w 3 -I lan0 192.0.2.1");
    assert!(o.contains("00:07:B4:00:01:01"), "{o}");
    assert!(a.stop(libc::SIGTERM), "clean stop:\n{}", a.log());
    assert!(
        !g.ok("ip link show lan0").contains("xdp"),
        "detached on stop"
    );
}

#[test]
fn without_cap_bpf_it_refuses_clearly_and_attaches_nothing() {
    if !require_tools(&["setpriv", "nsenter"]) {
        return;
    }
    let t = Topology::new(TopologySpec {
        gateways: 1,
        hosts: 0,
    });
    let g = &t.gateways[0];
    own_dirs(&g.name);
    let w = setpriv("+perfmon,+net_admin,+net_raw");
    let w: Vec<&str> = w.iter().map(String::as_str).collect();
    let mut a = Agent::start_wrapped(g, &w, agent::QUICK);
    let st = a.child.wait().unwrap();
    assert!(!st.success());
    let log = a.log();
    assert!(
        log.contains("XDP data plane")
            && (log.contains("Operation not permitted") || log.contains("permission")),
        "{log}"
    );
    assert!(!g.ok("ip link show lan0").contains("xdp"));
}
