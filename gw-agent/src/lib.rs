//! gw-agent: the GLBP control plane and the loader of gw's XDP data plane.
//!
//! Module map (DESIGN.md "Layout"):
//! - `proto`: GLBP wire codec, bytes <-> typed messages, no I/O;
//! - `engine`: election and forwarder state machines, pure, time is an input;
//! - `sim`: a deterministic simulated LAN of engines for tests and benches;
//! - `policy`: load balancing, builds the slot table the XDP program indexes;
//! - `dataplane`: the only code that touches aya;
//! - `net`: sockets, interface facts, netlink;
//! - `runtime`: the tokio loop gluing them;
//! - `config`, `status`: what users write and read.

pub mod auth;
pub mod config;
pub mod control;
pub mod dataplane;
pub mod engine;
pub mod metrics;
pub mod net;
pub mod policy;
pub mod proto;
pub mod runtime;
pub mod sim;
pub mod status;

/// The config file the agent was started with, for SIGHUP reloads.
pub static CONFIG_PATH: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// `00:07:b4:00:01:01` form.
pub fn fmt_mac(m: &[u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}
