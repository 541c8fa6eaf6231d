//! Operating gw: `status` brief/detail from the running agent and from the
//! maps alone, the Prometheus endpoint, and the notify command.

use std::time::Duration;

use gw_tests::{Agent, Topology, TopologySpec, agent, require_tools, wait};

#[test]
fn status_shows_control_and_data_plane_and_survives_agent_death() {
    if !require_tools(&["nsenter"]) {
        return;
    }
    let t = Topology::new(TopologySpec {
        gateways: 1,
        hosts: 0,
    });
    let mut a = Agent::start(&t.gateways[0], agent::QUICK);
    agent::wait_active(&t.gateways[0], &a);
    let brief = agent::status_text(&t.gateways[0], &[]);
    assert!(
        brief.contains("Interface") && brief.contains("Active"),
        "{brief}"
    );
    assert!(brief.contains("00:07:b4:00:01:01"), "{brief}");
    let detail = agent::status_text(&t.gateways[0], &["--detail"]);
    for want in [
        "State is Active",
        "Hello time 100 msec, hold time 400 msec",
        "Forwarder 1",
        "Data plane: answers ARP as AVG",
    ] {
        assert!(detail.contains(want), "missing {want:?} in\n{detail}");
    }
    let json = agent::status(&t.gateways[0]);
    assert_eq!(json[0]["agent"]["schema_version"], 1);
    assert_eq!(
        json[0]["agent"]["groups"][0]["forwarders"][0]["vmac"],
        "00:07:b4:00:01:01"
    );
    // The agent dies: status still reads the maps and says so.
    a.stop(libc::SIGKILL);
    let brief = agent::status_text(&t.gateways[0], &[]);
    assert!(brief.contains("agent DOWN"), "{brief}");
    assert_eq!(
        agent::status(&t.gateways[0])[0]["agent"],
        serde_json::Value::Null
    );
}

#[test]
fn metrics_endpoint_serves_protocol_and_xdp_counters() {
    if !require_tools(&["nsenter", "arping"]) {
        return;
    }
    let t = Topology::new(TopologySpec {
        gateways: 1,
        hosts: 1,
    });
    let mut args = agent::QUICK.to_vec();
    args.extend(["--metrics", "127.0.0.1:9712"]);
    let a = Agent::start(&t.gateways[0], &args);
    agent::wait_active(&t.gateways[0], &a);
    t.hosts[0].ok("arping -c 2 -w 3 -I lan0 192.0.2.1");
    let body = wait::until(Duration::from_secs(5), || {
        agent::scrape(&t.gateways[0].name, 9712)
    })
    .expect("scrape");
    assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
    for want in [
        r#"gw_group_state{interface="lan0",group="1"} 5"#,
        r#"gw_group_avg{interface="lan0",group="1"} 1"#,
        r#"gw_xdp_frames_total{interface="lan0",reason="arp_reply_avg"}"#,
        r#"gw_arp_replies_total{interface="lan0",group="1",forwarder="1"}"#,
        "gw_hello_tx_total",
        "gw_role_changes_total",
        "# EOF",
    ] {
        assert!(body.contains(want), "missing {want:?} in\n{body}");
    }
}

#[test]
fn notify_command_runs_on_every_state_change() {
    if !require_tools(&["nsenter"]) {
        return;
    }
    let t = Topology::new(TopologySpec {
        gateways: 1,
        hosts: 0,
    });
    let dir = std::env::temp_dir().join(format!("{}-notify", t.prefix));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("events");
    let script = dir.join("notify.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$@\" >> {}\n", out.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = serde_json::json!({
        "interface": "lan0",
        "notify": { "command": script, "timeout_ms": 2000 },
        "groups": [{ "group": 1, "vip": "192.0.2.1", "timers": { "hello_ms": 100, "hold_ms": 400, "redirect_s": 600, "timeout_s": 14400 } }]
    });
    let path = dir.join("gw.json");
    std::fs::write(&path, cfg.to_string()).unwrap();
    let a = Agent::start(&t.gateways[0], &["--config", path.to_str().unwrap()]);
    let got = wait::until(Duration::from_secs(10), || {
        let s = std::fs::read_to_string(&out).unwrap_or_default();
        (s.contains("lan0 1 gateway Speak Active")
            && s.contains("lan0 1 forwarder 1 Listen Active"))
        .then_some(s)
    });
    let _ = std::fs::remove_dir_all(&dir);
    assert!(got.is_some(), "notify lines missing\n{}", a.log());
}
