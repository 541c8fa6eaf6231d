//! ns per packet of the XDP program a running agent attached, through
//! BPF_PROG_TEST_RUN on crafted frames (the kernel times the program; see
//! gw-agent/tests/xdp/bench.rs for how it measures).
//!
//! This runs the live program with the live maps (AVG with a real lease,
//! the agent's slot table), found through the link the agent pinned. A
//! pass-through frame can be repeated in one syscall; a reply rewrites
//! the buffer, which the next repeat would see, so replies are timed as
//! single runs (median of many one-frame syscalls, each including the
//! kernel's clock reads); the pass path is timed both ways so the two can
//! be compared like with like.

use std::{net::Ipv4Addr, os::fd::OwnedFd, path::PathBuf};

use anyhow::{Context, Result, bail};

use super::bpf;
use super::packet::{self, Mac};

pub const XDP_PASS: u32 = 2;
pub const XDP_TX: u32 = 3;

pub struct LiveProg {
    fd: OwnedFd,
}

/// An IPv4/UDP frame to `dst` (a router passes or routes it).
pub fn udp_frame(dst: Mac, src: Mac) -> Vec<u8> {
    let mut f = Vec::with_capacity(packet::FRAME_LEN);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0x08, 0x00]);
    // IPv4: 20 bytes, UDP 8 + 18 payload; 192.0.2.100 -> 203.0.113.10.
    f.extend_from_slice(&[0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0]);
    f.extend_from_slice(&[192, 0, 2, 100, 203, 0, 113, 10]);
    f.extend_from_slice(&[0x9c, 0x40, 0, 7, 0, 26, 0, 0]);
    f.resize(packet::FRAME_LEN, 0);
    f
}

/// Broadcast ARP requests for `vip` from clients `range`.
pub fn requests(vip: Ipv4Addr, range: std::ops::Range<u32>) -> Vec<Vec<u8>> {
    range
        .map(|n| packet::arp_request(packet::client_mac(n), client_ip(n), vip))
        .collect()
}

/// Client `n`'s address, in 192.0.2.128/25 (never the VIP or a router).
pub fn client_ip(n: u32) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, 128 + (n % 127) as u8)
}

impl LiveProg {
    /// The program attached to `ifname` by the agent in namespace `ns`.
    pub fn open(ns: &str, ifname: &str) -> Result<LiveProg> {
        let pin = PathBuf::from(format!("/sys/fs/bpf/gw/{ns}/{ifname}/link"));
        let fd = bpf::prog_of_pinned_link(&pin)
            .with_context(|| format!("the XDP program behind {}", pin.display()))?;
        Ok(LiveProg { fd })
    }

    /// An XDP program that does nothing (`bpf::empty_xdp`): the baseline.
    pub fn empty() -> Result<LiveProg> {
        Ok(LiveProg {
            fd: bpf::empty_xdp().context("the empty XDP program")?,
        })
    }

    /// The program's runs and their time so far (`bpf::RunTimeStats`).
    pub fn run_time(&self) -> Result<bpf::RunTime> {
        Ok(bpf::prog_run_time(&self.fd)?)
    }

    /// Mean ns per run over `repeat` runs of `frame` in one syscall.
    pub fn repeated(&self, frame: &[u8], repeat: u32, want: u32) -> Result<f64> {
        let (verdict, d) = bpf::test_run(&self.fd, frame, repeat)?;
        if verdict != want {
            bail!("verdict {verdict}, expected {want}");
        }
        Ok(d.as_nanos() as f64)
    }

    /// Median kernel-measured ns of `runs` single runs cycling through
    /// `frames`; every run must return `want`.
    pub fn single(&self, frames: &[Vec<u8>], runs: usize, want: u32) -> Result<f64> {
        let mut ns = Vec::with_capacity(runs);
        for i in 0..runs {
            let (verdict, d) = bpf::test_run(&self.fd, &frames[i % frames.len()], 1)?;
            if verdict != want {
                bail!("run {i}: verdict {verdict}, expected {want}");
            }
            ns.push(d.as_nanos() as u64);
        }
        Ok(median(&mut ns) as f64)
    }

    /// Runs each frame once (fills the client cache); returns how many
    /// were answered.
    pub fn feed(&self, frames: impl Iterator<Item = Vec<u8>>) -> Result<u64> {
        let mut tx = 0;
        for f in frames {
            if bpf::test_run(&self.fd, &f, 1)?.0 == XDP_TX {
                tx += 1;
            }
        }
        Ok(tx)
    }
}

pub fn median(v: &mut [u64]) -> u64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    v[v.len() / 2]
}

/// The table of section 1: pass-through and reply, ns per packet.
#[derive(Clone, Debug, Default)]
pub struct PathCost {
    /// An empty XDP program on the pass-through frame: test run's own cost.
    pub empty_repeat_ns: f64,
    pub empty_single_ns: f64,
    pub pass_repeat_ns: f64,
    pub pass_single_ns: f64,
    pub reply_single_ns: f64,
    pub vmac_single_ns: f64,
    pub repeat: u32,
    pub singles: usize,
}

/// Times pass-through (frame to the interface MAC), reply (broadcast
/// request for the VIP from known clients) and vMAC rewrite (frame to the
/// router's own vMAC), and an empty program in the same run as the
/// baseline each is reported against.
pub fn path_cost(
    prog: &LiveProg,
    if_mac: Mac,
    vmac: Mac,
    vip: Ipv4Addr,
    repeat: u32,
    singles: usize,
) -> Result<PathCost> {
    let pass = udp_frame(if_mac, packet::client_mac(1));
    let routed = udp_frame(vmac, packet::client_mac(1));
    let reqs = requests(vip, 0..64);
    // Warm up (JIT image, caches, the 64 clients in the cache).
    prog.repeated(&pass, 10_000.min(repeat), XDP_PASS)?;
    prog.feed(reqs.iter().cloned())?;
    let empty = LiveProg::empty()?;
    empty.repeated(&pass, 10_000.min(repeat), XDP_PASS)?;
    Ok(PathCost {
        empty_repeat_ns: empty.repeated(&pass, repeat, XDP_PASS)?,
        empty_single_ns: empty.single(std::slice::from_ref(&pass), singles, XDP_PASS)?,
        pass_repeat_ns: prog.repeated(&pass, repeat, XDP_PASS)?,
        pass_single_ns: prog.single(std::slice::from_ref(&pass), singles, XDP_PASS)?,
        reply_single_ns: prog.single(&reqs, singles, XDP_TX)?,
        vmac_single_ns: prog.single(std::slice::from_ref(&routed), singles, XDP_PASS)?,
        repeat,
        singles,
    })
}
