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
//! CPU: the sender thread is pinned to one CPU, and every bit of kernel
//! work of the path runs there too, in softirq right after each send (no
//! RPS, no threaded NAPI): the veth delivery, the responder's receive and
//! answer, the reply's delivery to the sink. This kernel has
//! CONFIG_IRQ_TIME_ACCOUNTING off, so that softirq time is charged to the
//! sending thread (or to ksoftirqd of that CPU when the kernel defers it);
//! the two together are the CPU the whole path took, whatever else the
//! shared machine was doing. A userspace responder runs in a thread of its
//! own on the other CPU and adds its own CPU time.

use std::{io, net::Ipv4Addr};

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
    ksoftirqd: Option<i32>,
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
        let quiet =
            "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1";
        let (sender, responder) = guarded(|| {
            let s = Netns::new(&format!("{p}-snd"));
            let r = Netns::new(&format!("{p}-rsp"));
            s.ok(quiet);
            r.ok(quiet);
            s.ok(&format!(
                "ip link add tx0 type veth peer name lan0 netns {} && ip link set tx0 up",
                r.name
            ));
            r.ok(&format!(
                "ip addr add {RESPONDER_IP}/24 dev lan0 && ip link set lan0 up"
            ));
            (s, r)
        })?;
        let cpus = packet::allowed_cpus();
        let (sender_cpu, responder_cpu) = match cpus[..] {
            [a, b, ..] => (Some(a), Some(b)),
            _ => (None, None),
        };
        let responder_mac = in_netns(&responder.name, || PacketSocket::open("lan0", 0)?.mac())?;
        let mut w = Wire {
            sink: None,
            sender,
            responder,
            sender_cpu,
            responder_cpu,
            responder_mac,
            ksoftirqd: sender_cpu.and_then(ksoftirqd),
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
            Sink::attach(ifindex, bpf::XDP_FLAGS_DRV_MODE, verdict, bpf::ARP_REPLY)
        })
        .context("attaching the XDP sink on tx0")?;
        self.sink = Some(sink);
        Ok(())
    }

    /// ARP replies the sink has counted.
    pub fn replies(&self) -> u64 {
        self.sink.as_ref().map_or(0, Sink::count)
    }

    /// The sink's runs and their time so far (`bpf::RunTimeStats`).
    pub fn sink_run_time(&self) -> bpf::RunTime {
        self.sink
            .as_ref()
            .and_then(|s| s.run_time().ok())
            .unwrap_or_default()
    }

    /// CPU time (ns) the sender CPU's ksoftirqd has run so far: softirq
    /// work the kernel deferred from the sending thread.
    pub fn ksoftirqd_ns(&self) -> u64 {
        self.ksoftirqd
            .map_or(0, |p| run_ns(&format!("/proc/{p}/schedstat")))
    }
}

/// The first field of a schedstat file: ns on the CPU.
pub fn run_ns(path: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The pid of ksoftirqd/<cpu>.
fn ksoftirqd(cpu: usize) -> Option<i32> {
    let want = format!("ksoftirqd/{cpu}");
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid = e.file_name().to_str()?.parse::<i32>().ok()?;
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        (comm.trim() == want).then_some(pid)
    })
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
