//! The two-namespace wire the ARP benchmarks flood: a sender with `tx0`
//! and a responder with `lan0` (192.0.2.2/24), one veth pair between them.
//!
//! ```text
//!  <p>-snd: tx0 ──veth── lan0 :<p>-rsp      responder: gw XDP | kernel | userspace
//!           └ sink: XDP program counting ARP replies, then DROP (or PASS)
//! ```
//!
//! The sink on `tx0` counts what comes back without the sender's stack
//! touching it, and its presence is what lets native-mode XDP_TX on `lan0`
//! deliver (a veth peer without XDP drops XDP_TX frames). It is a
//! hand-assembled program loaded with bpf(2) (bench/bpf.rs), attached in
//! native mode through a BPF link held by this process.
//!
//! CPUs: the sender thread runs on one CPU, and all responder work
//! (softirq via RPS, the veth NAPI thread in native mode, a userspace
//! responder) on another, so the responder's capacity is measured, not
//! the sender's, as far as two shared cores allow.

use std::{io, net::Ipv4Addr, time::Duration};

use anyhow::{Context, Result};
use gw_tests::{Netns, netns::unique_prefix};

use super::bpf::{self, Sink};
use super::packet::{self, Mac, PacketSocket};

pub const RESPONDER_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

pub struct Wire {
    // Field order is drop order: the sink goes before the namespaces.
    sink: Option<Sink>,
    pub sender: Netns,
    pub responder: Netns,
    pub sender_cpu: Option<usize>,
    pub responder_cpu: Option<usize>,
    pub responder_mac: Mac,
}

/// Runs `f` in a fresh thread inside namespace `ns` and returns its result.
pub fn in_netns<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let ns = ns.to_string();
    std::thread::spawn(move || {
        gw_tests::probe::enter_netns(&ns)?;
        f()
    })
    .join()
    .map_err(|_| io::Error::other("thread panicked"))?
}

impl Wire {
    pub fn new() -> Result<Wire> {
        let p = unique_prefix();
        let quiet = "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1";
        let (sender, responder) = guarded(|| {
            let s = Netns::new(&format!("{p}-snd"));
            let r = Netns::new(&format!("{p}-rsp"));
            s.ok(quiet);
            r.ok(quiet);
            s.ok(&format!(
                "ip link add tx0 type veth peer name lan0 netns {} && ip link set tx0 up",
                r.name
            ));
            r.ok(&format!("ip addr add {RESPONDER_IP}/24 dev lan0 && ip link set lan0 up"));
            (s, r)
        })?;
        let cpus = packet::allowed_cpus();
        let (sender_cpu, responder_cpu) = match cpus[..] {
            [a, b, ..] => (Some(a), Some(b)),
            _ => (None, None),
        };
        if let Some(c) = responder_cpu {
            // Receive processing (softirq) of lan0 on the responder's CPU.
            responder.ok(&format!(
                "echo {:x} > /sys/class/net/lan0/queues/rx-0/rps_cpus",
                1u128 << c
            ));
        }
        let responder_mac = in_netns(&responder.name, || PacketSocket::open("lan0", 0)?.mac())?;
        let mut w = Wire {
            sink: None,
            sender,
            responder,
            sender_cpu,
            responder_cpu,
            responder_mac,
        };
        w.set_sink(bpf::XDP_DROP)?;
        Ok(w)
    }

    /// (Re)attaches the sink on tx0, returning `verdict` for every frame
    /// (DROP for floods, PASS when a socket on tx0 must see replies).
    pub fn set_sink(&mut self, verdict: i32) -> Result<()> {
        self.sink = None;
        let sink = in_netns(&self.sender.name, move || {
            let ifindex = PacketSocket::open("tx0", 0)?.ifindex();
            Sink::attach(ifindex, bpf::XDP_FLAGS_DRV_MODE, verdict)
        })
        .context("attaching the XDP sink on tx0")?;
        self.sink = Some(sink);
        Ok(())
    }

    /// ARP replies the sink has counted.
    pub fn replies(&self) -> u64 {
        self.sink.as_ref().map_or(0, Sink::count)
    }

    /// Pins a process (e.g. an agent) to the responder's CPU.
    pub fn pin_responder_task(&self, pid: i32) {
        if let Some(c) = self.responder_cpu {
            let _ = packet::pin(pid, c);
        }
    }

    /// Runs lan0's veth NAPI in a kernel thread on the responder's CPU
    /// (only possible while lan0 has a native XDP program: otherwise veth
    /// has no NAPI and receive work follows RPS). Returns whether it did.
    pub fn threaded_napi(&self, on: bool) -> bool {
        let before = napi_threads();
        let o = self.responder.sh(&format!(
            "echo {} > /sys/class/net/lan0/threaded",
            u8::from(on)
        ));
        if !on || !o.status.success() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
        let new: Vec<i32> = napi_threads()
            .into_iter()
            .filter(|p| !before.contains(p))
            .collect();
        for pid in &new {
            self.pin_responder_task(*pid);
        }
        !new.is_empty()
    }
}

/// Kernel threads named napi/*.
fn napi_threads() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                .filter(|pid| {
                    std::fs::read_to_string(format!("/proc/{pid}/comm"))
                        .is_ok_and(|c| c.starts_with("napi/"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Runs harness code that panics on failure, as an error.
pub fn guarded<T>(f: impl FnOnce() -> T) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
        let why = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        anyhow::anyhow!("{why}")
    })
}
