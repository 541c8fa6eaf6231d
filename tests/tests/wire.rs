//! What the real agent puts on the wire, decoded by tshark (the oracle for
//! GLBP): group, state, priority, timers, VIP, forwarders, vMACs, TTL 255,
//! and the Ethernet source = the vMAC the router forwards for.

use std::time::Duration;

use gw_tests::{Agent, Topology, TopologySpec, capture::active_hellos, require_tools};

#[test]
fn tshark_decodes_the_agents_hellos() {
    if !require_tools(&["tcpdump", "tshark", "nsenter"]) {
        return;
    }
    let t = Topology::new(TopologySpec {
        gateways: 1,
        hosts: 1,
    });
    let args = [
        "--interface",
        "lan0",
        "--group",
        "7",
        "--vip",
        "192.0.2.1",
        "--priority",
        "150",
        "--hello-ms",
        "100",
        "--hold-ms",
        "400",
    ];
    let a = Agent::start(&t.gateways[0], &args);
    let h = &t.hosts[0];
    let fields = [
        "eth.src",
        "ip.ttl",
        "ip.dst",
        "udp.srcport",
        "glbp.group",
        "glbp.ownerid",
        "glbp.hello.vgstate",
        "glbp.hello.priority",
        "glbp.hello.helloint",
        "glbp.hello.holdint",
        "glbp.hello.virtualipv4",
        "glbp.reqresp.forwarder",
        "glbp.reqresp.virtualmac",
    ];
    // Long enough for the listen phase (one hold time) and several hellos
    // as Active.
    let lines = active_hellos(
        h,
        "glbp",
        &["udp", "port", "3222"],
        Duration::from_millis(2500),
        &[],
        &fields,
    )
    .unwrap_or_else(|e| panic!("no Active hello captured; tshark said {e:?}\n{}", a.log()));
    let line = &lines[0];
    let v: Vec<&str> = line.split('|').collect();
    let vmac = "00:07:b4:00:07:01";
    assert_eq!(
        v[0], vmac,
        "hello sent from the vMAC it forwards for: {line}"
    );
    assert_eq!(v[1], "255");
    assert_eq!(v[2], "224.0.0.102");
    assert_eq!(v[3], "3222");
    assert_eq!(v[4], "7");
    assert_eq!(v[6], "32", "Active (0x20)");
    assert_eq!(v[7], "150");
    assert_eq!(v[8], "100");
    assert_eq!(v[9], "400");
    assert_eq!(v[10], "192.0.2.1");
    assert!(
        v[11].split(',').any(|f| f == "1"),
        "forwarder 1 advertised: {line}"
    );
    assert!(
        v[12].split(',').any(|m| m == vmac),
        "vMAC advertised: {line}"
    );
    // The owner id is the gateway's interface MAC.
    let mac = t.gateways[0].ok("cat /sys/class/net/lan0/address");
    assert_eq!(v[5], mac.trim());
}
