//! The client cache on the real kernel: hosts the AVG answered are listed
//! by `gw-agent status --clients` (MAC, IP, forwarder, age) and counted
//! per forwarder, and the agent forgets them `client_cache.timeout_s`
//! after they were last seen, not before.

use std::time::{Duration, Instant};

use gw_tests::{
    Agent, Topology, TopologySpec,
    arp::{self, ArpAsker},
    group::{GroupConfig, wait_for},
    require_tools,
    topo::{VIP, host_ip},
};

const HOSTS: u32 = 500;
const TIMEOUT_S: u64 = 3;

fn clients(t: &Topology) -> Vec<serde_json::Value> {
    let o = t.gateways[0]
        .command(gw_tests::agent::bin().to_str().unwrap())
        .args(["status", "--clients", "--json"])
        .output()
        .expect("status --clients");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice::<Vec<serde_json::Value>>(&o.stdout).expect("JSON array")
}

#[test]
fn clients_are_listed_then_expire_after_the_timeout() {
    // Input: a group of one with client_cache.timeout_s 3; 500 hosts ask
    // for the VIP once.
    // Output: `status --clients` lists all 500 with their MAC, the host's
    // IP, forwarder 1 and an age under the timeout; the status counts 500
    // clients on forwarder 1; halfway through the timeout all are still
    // there; within the timeout plus one pruning period (3 s) plus slack
    // they are all gone.
    if !require_tools(&["nsenter"]) {
        return;
    }
    let t = Topology::new(TopologySpec {
        gateways: 1,
        hosts: 1,
    });
    let mut cfg = GroupConfig::fast(100).json();
    cfg["client_cache"] = serde_json::json!({ "max_entries": 4096, "timeout_s": TIMEOUT_S });
    let path = std::env::temp_dir().join(format!("{}-gw.json", t.gateways[0].name));
    std::fs::write(&path, cfg.to_string()).unwrap();
    let agent = Agent::start(&t.gateways[0], &["--config", path.to_str().unwrap()]);
    wait_for(&t, Duration::from_secs(20), "steady state", |s| {
        s.steady(&[1])
    });

    let asker = ArpAsker::open(&t.hosts[0], "lan0", host_ip(1), VIP).unwrap();
    let got = asker.ask(0..HOSTS, 16, Duration::from_secs(1));
    let asked = Instant::now();
    assert!(got.iter().all(|a| a.vmac.is_some()), "all answered");

    let list = clients(&t);
    assert_eq!(list.len(), HOSTS as usize, "{}", agent.log());
    let mut macs: Vec<String> = list
        .iter()
        .map(|c| c["mac"].as_str().unwrap().to_string())
        .collect();
    macs.sort();
    let mut want: Vec<String> = (0..HOSTS).map(|n| arp::fmt(&arp::host_mac(n))).collect();
    want.sort();
    assert_eq!(macs, want);
    for c in &list {
        assert_eq!(c["ip"], host_ip(1).to_string());
        assert_eq!(
            (c["group"].as_u64(), c["forwarder"].as_u64()),
            (Some(1), Some(1))
        );
        assert!(c["age_ms"].as_u64().unwrap() < TIMEOUT_S * 1000, "{c}");
    }
    let st = gw_tests::agent::status(&t.gateways[0]);
    assert_eq!(st[0]["groups"][0]["clients"], HOSTS);
    assert_eq!(st[0]["groups"][0]["slots"][0]["clients"], HOSTS);
    // nsenter, not `ip netns exec`: that remounts /sys and hides the pins.
    let o = t.gateways[0]
        .command(gw_tests::agent::bin().to_str().unwrap())
        .args(["status", "--clients"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.trim_end().ends_with(&format!("{HOSTS} clients")),
        "{text}"
    );

    std::thread::sleep(Duration::from_millis(TIMEOUT_S * 500).saturating_sub(asked.elapsed()));
    assert_eq!(
        clients(&t).len(),
        HOSTS as usize,
        "pruned before the timeout"
    );
    let gone = gw_tests::wait::until(Duration::from_secs(TIMEOUT_S * 2 + 3), || {
        clients(&t).is_empty().then_some(())
    });
    assert!(
        gone.is_some(),
        "{} left after {:?}\n{}",
        clients(&t).len(),
        asked.elapsed(),
        agent.log()
    );
    eprintln!(
        "{HOSTS} clients forgotten {:?} after their last answer",
        asked.elapsed()
    );
    assert!(asked.elapsed() >= Duration::from_secs(TIMEOUT_S));
}
