//! What the lab measures: each agent's view (from `gw-agent status --json`),
//! traffic per router (XDP counters), which host uses which router, and
//! per-host outages (UDP probes from the harness).

use std::{
    net::SocketAddrV4,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use gw_tests::{
    probe::{Probe, ProbeLimits, ProbeReport},
    topo::SERVER,
};

use super::world::{GROUP, Lab};

pub const ECHO_PORT: u16 = 7;
pub const PROBE_INTERVAL: Duration = Duration::from_millis(10);

pub fn echo_addr() -> SocketAddrV4 {
    SocketAddrV4::new(SERVER, ECHO_PORT)
}

pub use gw_tests::group::{GwStatus, Sample, names};

/// Every gateway's status now (index 0 is g1).
pub fn sample(lab: &Lab) -> Sample {
    Sample::new(lab.statuses())
}

/// Frames per second per router from the XDP `vmac_frames` counters.
pub struct Meter {
    last: Vec<Option<u64>>,
    at: Instant,
    /// Frames each router forwarded since the meter started.
    pub total: Vec<u64>,
}

impl Meter {
    pub fn new(s: &Sample) -> Meter {
        Meter {
            last: s
                .gws
                .iter()
                .map(|g| g.as_ref().map(|g| g.vmac_frames))
                .collect(),
            at: s.at,
            total: vec![0; s.gws.len()],
        }
    }

    /// Rates since the last update (None: router down or unreadable).
    pub fn update(&mut self, s: &Sample) -> Vec<Option<f64>> {
        let dt =
            s.at.saturating_duration_since(self.at)
                .as_secs_f64()
                .max(1e-3);
        let mut rates = Vec::new();
        for (k, g) in s.gws.iter().enumerate() {
            let now = g.as_ref().map(|g| g.vmac_frames);
            let rate = match (self.last[k], now) {
                (Some(a), Some(b)) => {
                    let d = b.saturating_sub(a);
                    self.total[k] += d;
                    Some(d as f64 / dt)
                }
                _ => None,
            };
            if now.is_some() {
                self.last[k] = now;
            }
            rates.push(rate);
        }
        self.at = s.at;
        rates
    }
}

/// One probe per host, all to the echo server.
pub struct Probes {
    probes: Vec<Probe>,
}

impl Probes {
    pub fn start(lab: &Lab) -> Result<Probes> {
        let limits = ProbeLimits {
            max_duration: Duration::from_secs(30 * 60),
            ..ProbeLimits::every(PROBE_INTERVAL)
        };
        let probes = (1..=lab.hosts)
            .map(|j| {
                Probe::start_in(&lab.host(j).name, echo_addr(), limits)
                    .with_context(|| format!("probe in h{j}"))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Probes { probes })
    }

    /// Hosts whose last reply is older than `fresh` (or that have none).
    pub fn silent(&self, fresh: Duration) -> Vec<usize> {
        let now = Instant::now();
        (1..=self.probes.len())
            .filter(|&j| {
                self.probes[j - 1]
                    .last_reply()
                    .is_none_or(|t| now.saturating_duration_since(t) > fresh)
            })
            .collect()
    }

    pub fn stop(self) -> Vec<ProbeReport> {
        self.probes.into_iter().map(Probe::stop).collect()
    }
}

/// What one host saw across one failure.
#[derive(Clone, Debug)]
pub struct Outage {
    /// Longest stretch without replies, less one probe interval (0 when
    /// nothing was lost).
    pub outage: Duration,
    pub lost: u64,
    pub sent: u64,
    /// A reply came back after the failure, and the host was still getting
    /// replies when the measurement stopped.
    pub recovered: bool,
}

pub fn outage(r: &ProbeReport, fail: Instant) -> Outage {
    let gap = r.max_gap_within(fail, r.stopped);
    let outage = if r.lost == 0 {
        Duration::ZERO
    } else {
        gap.saturating_sub(r.interval)
    };
    Outage {
        outage,
        lost: r.lost,
        sent: r.sent,
        recovered: r.replied_after(fail) && r.tail_gap() < Duration::from_millis(500),
    }
}

/// The vMAC's forwarder number: last byte of 00:07:b4:0G:GG:FF.
pub fn fwd_of(vmac: &str) -> Option<u8> {
    u8::from_str_radix(vmac.rsplit(':').next()?, 16).ok()
}

/// Whether a MAC is one of this group's vMACs (00:07:b4:0G:GG:FF).
pub fn is_group_vmac(mac: &str) -> bool {
    let want = format!("00:07:b4:{:02x}:{:02x}:", (GROUP >> 8) & 0x3, GROUP & 0xff);
    mac.starts_with(&want)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmac_helpers() {
        assert_eq!(fwd_of("00:07:b4:00:01:03"), Some(3));
        assert!(is_group_vmac("00:07:b4:00:01:03"));
        assert!(!is_group_vmac("00:07:b4:00:02:03"));
    }
}
