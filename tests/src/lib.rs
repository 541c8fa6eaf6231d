//! Real-kernel test harness: network namespaces, a LAN bridge, gateways
//! running the real agent, hosts and an upstream server.
//!
//! Rules every test here follows: only 192.0.2.0/24, 198.51.100.0/24 and
//! 203.0.113.0/24 (and, for IPv6, link-local addresses and the
//! documentation prefix 2001:db8::/32), only inside namespaces the test
//! created; unique names so
//! tests run in parallel; everything removed on drop, also on panic.

pub mod agent;
pub mod arp;
pub mod capture;
pub mod group;
pub mod netns;
pub mod probe;
pub mod topo;
pub mod topo6;
pub mod wait;

pub use agent::Agent;
pub use netns::Netns;
pub use topo::{Topology, TopologySpec};

/// Skips (returns false) when a required tool is missing, except under CI
/// (CI=true), where a skip would hide a test that did not run: then panics.
pub fn require_tools(tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| {
            !std::process::Command::new("sh")
                .args(["-c", &format!("command -v {t}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .collect();
    let root = unsafe { libc::geteuid() } == 0;
    if missing.is_empty() && root {
        return true;
    }
    let why = if root {
        format!("missing tools: {}", missing.join(", "))
    } else {
        "not root".to_string()
    };
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("test cannot run under CI: {why}");
    }
    eprintln!("SKIPPED: {why}");
    false
}
