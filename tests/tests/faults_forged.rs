//! Hostile GLBP on the LAN, crafted with the agent's own codec and sent
//! from a host over a UDP socket with a chosen TTL:
//! - hellos with TTL 64, 1 or 254 (routed from afar) are dropped before
//!   the engine (and counted), even a priority-255 Active one;
//! - an unauthenticated group warns about a new priority-255 peer (and,
//!   as documented, yields the AVG role to it: that is why to
//!   authenticate);
//! - with HMAC authentication, forged hellos (none, a wrong key, an
//!   unknown key id) are dropped and the AVG stays put.

mod fault;

use std::time::{Duration, Instant};

use fault::{Lan, Repeater, hello, mac_of, send_glbp, timers};
use gw_agent::{
    auth::{Authenticator, Key, Mode},
    proto::{GLBP_MCAST_V4, VgState},
};
use gw_tests::{
    agent,
    group::{GroupConfig, Sample, wait_for},
    require_tools,
    topo::gateway_ip,
};

/// A counter of the running agent's receive path from `status --json`
/// (`agent.rx`), where the status has it.
fn rx_counter(ns: &gw_tests::Netns, path: &[&str]) -> Option<u64> {
    let s = agent::try_status(ns).ok()?;
    let mut v = s.as_array()?.iter().find(|i| i["interface"] == "lan0")?["agent"]["rx"].clone();
    for p in path {
        v = v.get(*p)?.clone();
    }
    v.as_u64()
}

fn since(log: &str, mark: usize) -> &str {
    log.get(mark..).unwrap_or_default()
}

#[test]
fn bad_ttl_is_dropped_and_a_forged_255_is_warned_about() {
    if !require_tools(&["nsenter"]) {
        return;
    }
    let lan = Lan::start_with_log(
        vec![GroupConfig::fast(150)],
        1,
        Duration::from_secs(15),
        "info,gw_agent::runtime::rx=debug",
    );
    let hold = lan.cfgs[0].hold();
    let host = &lan.t.hosts[0];
    let owner = mac_of(host, "lan0");
    let forged = hello(owner, VgState::Active, 255, 200, 800).to_bytes();
    let bad_before = rx_counter(lan.gw(1), &["bad_ttl"]);
    let marks = lan.log_marks();
    // Multicast with TTL 64 and 1, and unicast with TTL 254 as if routed
    // here by one router: 15 hellos, each would win the election.
    send_glbp(
        host,
        "lan0",
        GLBP_MCAST_V4,
        64,
        vec![forged.clone(); 5],
        Duration::from_millis(20),
    );
    send_glbp(
        host,
        "lan0",
        GLBP_MCAST_V4,
        1,
        vec![forged.clone(); 5],
        Duration::from_millis(20),
    );
    send_glbp(
        host,
        "lan0",
        gateway_ip(1),
        254,
        vec![forged.clone(); 5],
        Duration::from_millis(20),
    );
    let counted = gw_tests::wait::until(Duration::from_secs(3), || {
        let n = since(&lan.log(1), marks[0])
            .matches("TTL is not 255")
            .count();
        (n >= 15).then_some(n)
    });
    // Give a wrongly accepted hello time to act.
    std::thread::sleep(hold);
    let log = lan.log(1);
    let new = since(&log, marks[0]);
    let bad_after = rx_counter(lan.gw(1), &["bad_ttl"]);
    eprintln!(
        "TTL: {} drops logged; status bad_ttl {bad_before:?} -> {bad_after:?}",
        new.matches("TTL is not 255").count()
    );
    assert_eq!(
        counted,
        Some(15),
        "every bad-TTL hello dropped and counted\n{new}"
    );
    if let (Some(b), Some(a)) = (bad_before, bad_after) {
        assert_eq!(a - b, 15, "bad_ttl counter");
    }
    assert!(
        !new.contains("priority 255"),
        "a bad-TTL hello reached the engine\n{new}"
    );
    assert!(lan.changes_since(&marks).is_empty(), "state changed\n{new}");
    assert_eq!(Sample::take(&lan.t).avg(), Some(1));

    // The same hello with TTL 255: accepted, warned about once.
    let marks = lan.log_marks();
    let rep = Repeater::glbp(
        host,
        "lan0",
        GLBP_MCAST_V4,
        255,
        Duration::from_millis(100),
        {
            let f = forged.clone();
            move |_| f.clone()
        },
    );
    let stepped_down = gw_tests::wait::until(hold * 4, || {
        let log = lan.log(1);
        let new = since(&log, marks[0]);
        (new.contains("priority 255") && new.contains("Active -> Speak")).then_some(())
    });
    let sent = rep.stop();
    let log = lan.log(1);
    let new = since(&log, marks[0]).to_string();
    let warning = new
        .lines()
        .filter(|l| l.contains("priority 255"))
        .collect::<Vec<_>>();
    eprintln!("forged 255 (no auth): {sent} sent; warnings: {warning:?}");
    assert!(stepped_down.is_some(), "no warning and step-down\n{new}");
    assert_eq!(warning.len(), 1, "warned once per peer: {warning:?}");
    assert!(
        warning[0].contains("192.0.2.101") && warning[0].contains("unauthenticated"),
        "{}",
        warning[0]
    );
    // The forger falls silent: g1 is AVG again after the forged hold time.
    wait_for(&lan.t, hold * 6, "g1 AVG again", |s| s.steady(&[1]));
}

struct KeyFile(std::path::PathBuf);

impl Drop for KeyFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn key_file(secret: &[u8]) -> KeyFile {
    use std::os::unix::fs::OpenOptionsExt;
    let path = std::env::temp_dir().join(format!("{}-glbp.key", gw_tests::netns::unique_prefix()));
    let mut f = std::fs::OpenOptions::new()
        .create_new(true)
        .write(true)
        .mode(0o600)
        .open(&path)
        .expect("key file");
    std::io::Write::write_all(&mut f, secret).unwrap();
    KeyFile(path)
}

#[test]
fn hmac_group_ignores_forged_priority_255() {
    if !require_tools(&["nsenter"]) {
        return;
    }
    let secret = b"gw fault test key, 32 bytes long";
    let key = key_file(secret);
    let auth = serde_json::json!({
        "authentication": { "hmac_sha256": { "key_file": key.0, "key_id": 1 } }
    });
    let cfgs = [150u8, 120]
        .iter()
        .map(|p| GroupConfig {
            extra_group: auth.clone(),
            ..timers(*p, 200, 800)
        })
        .collect();
    let lan = Lan::start(cfgs, 1, Duration::from_secs(15));
    let hold = lan.cfgs[0].hold();
    let host = &lan.t.hosts[0];
    let owner = mac_of(host, "lan0");
    let pkt = hello(owner, VgState::Active, 255, 200, 800);
    let wrong_key = Mode::Hmac {
        current: Key {
            id: 1,
            secret: b"not the group's key, 32 bytes!!!".to_vec(),
        },
        previous: None,
    };
    let unknown_id = Mode::Hmac {
        current: Key {
            id: 7,
            secret: secret.to_vec(),
        },
        previous: None,
    };
    let marks = lan.log_marks();
    let rep = Repeater::glbp(
        host,
        "lan0",
        GLBP_MCAST_V4,
        255,
        Duration::from_millis(50),
        {
            let mut a = Authenticator::new(wrong_key);
            let mut b = Authenticator::new(unknown_id);
            move |i| {
                let now = gw_agent::runtime::unix_us();
                match i % 3 {
                    0 => pkt.to_bytes(),
                    1 => a.seal(&pkt, now),
                    _ => b.seal(&pkt, now),
                }
            }
        },
    );
    // Three hold times of forged hellos: g1 must stay AVG in every sample.
    let mut bad = Vec::new();
    let end = Instant::now() + hold * 3;
    while Instant::now() < end {
        if let Err(e) = Sample::take(&lan.t).steady(&[1, 2]).and_then(|a| {
            if a == 1 {
                Ok(())
            } else {
                Err(format!("AVG g{a}"))
            }
        }) {
            bad.push(e);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let sent = rep.stop();
    let counters = rx_counter(lan.gw(1), &["auth", "auth_missing"]);
    let changes = lan.changes_since(&marks);
    let log = lan.log(1);
    let new = since(&log, marks[0]);
    eprintln!(
        "forged 255 (HMAC group): {sent} sent; bad samples {bad:?}; state changes {changes:?}; auth_missing {counters:?}\n{}",
        new.lines()
            .filter(|l| l.contains("dropped"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(sent >= 20, "{sent} sent");
    assert!(
        bad.is_empty(),
        "forged hellos moved the AVG: {bad:?}\n{}",
        lan.logs()
    );
    assert!(changes.is_empty(), "state changed: {changes:?}");
    assert!(
        !new.contains("priority 255"),
        "a forged hello reached the engine\n{new}"
    );
    for why in [
        "no authentication, but the group requires it",
        "HMAC does not verify",
        "unknown key id 7",
    ] {
        assert!(new.contains(why), "no {why:?} logged\n{new}");
    }
    if let Some(n) = counters {
        assert!(n * 3 + 3 >= sent, "auth_missing {n} of {sent} sent");
    }
}
