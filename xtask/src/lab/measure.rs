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

/// One gateway's view of group 1 on lan0.
#[derive(Clone, Debug, Default)]
pub struct GwStatus {
    /// AVG with a live lease: it answers ARP for the VIP.
    pub avg: bool,
    /// The AVG flag in the maps, whether or not the lease is live.
    pub avg_flag: bool,
    pub xdp_mode: String,
    /// vMACs the AVG hands out: (forwarder, vMAC, ARP replies).
    pub slots: Vec<(u8, String, u64)>,
    /// vMACs this router forwards for: (forwarder, vMAC, frames).
    pub forwarding: Vec<(u8, String, u64)>,
    pub vmac_frames: u64,
}

impl GwStatus {
    pub fn parse(all: &serde_json::Value) -> Option<GwStatus> {
        let iface = all.as_array()?.iter().find(|i| i["interface"] == "lan0")?;
        let g = iface["groups"]
            .as_array()?
            .iter()
            .find(|g| g["group"] == GROUP)?;
        let lease_ms = g["lease_ms"].as_u64().unwrap_or(0);
        let list = |key: &str, count: &str| -> Vec<(u8, String, u64)> {
            g[key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|s| {
                            (
                                s["forwarder"].as_u64().unwrap_or(0) as u8,
                                s["vmac"].as_str().unwrap_or_default().to_lowercase(),
                                s[count].as_u64().unwrap_or(0),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        Some(GwStatus {
            avg: g["avg"] == true && lease_ms > 0,
            avg_flag: g["avg"] == true,
            xdp_mode: iface["xdp_mode"].as_str().unwrap_or("?").to_string(),
            slots: list("slots", "arp_replies"),
            forwarding: if lease_ms > 0 {
                list("forwarding", "frames")
            } else {
                Vec::new()
            },
            vmac_frames: g["vmac_frames"].as_u64().unwrap_or(0),
        })
    }
}

/// Every gateway's status at one moment (index 0 is g1).
pub struct Sample {
    pub at: Instant,
    pub gws: Vec<Option<GwStatus>>,
}

impl Sample {
    pub fn take(lab: &Lab) -> Sample {
        Sample {
            at: Instant::now(),
            gws: lab.statuses(),
        }
    }

    pub fn get(&self, i: usize) -> Option<&GwStatus> {
        self.gws.get(i - 1).and_then(Option::as_ref)
    }

    pub fn avgs(&self) -> Vec<usize> {
        (1..=self.gws.len())
            .filter(|&i| self.get(i).is_some_and(|s| s.avg))
            .collect()
    }

    /// The single AVG, if exactly one router claims it.
    pub fn avg(&self) -> Option<usize> {
        match self.avgs()[..] {
            [a] => Some(a),
            _ => None,
        }
    }

    /// Routers forwarding for `vmac` now.
    pub fn owners(&self, vmac: &str) -> Vec<usize> {
        (1..=self.gws.len())
            .filter(|&i| {
                self.get(i)
                    .is_some_and(|s| s.forwarding.iter().any(|f| f.1 == vmac))
            })
            .collect()
    }

    pub fn owner(&self, vmac: &str) -> Option<usize> {
        self.owners(vmac).first().copied()
    }

    /// vMACs the AVG hands out.
    pub fn handed_out(&self) -> Vec<String> {
        self.avg()
            .and_then(|a| self.get(a))
            .map(|s| s.slots.iter().map(|x| x.1.clone()).collect())
            .unwrap_or_default()
    }

    /// Steady state: one AVG; every router in `alive` forwards exactly one
    /// vMAC, all different; the AVG hands out exactly those. Err says what
    /// is still missing.
    pub fn steady(&self, alive: &[usize]) -> Result<usize, String> {
        let avgs = self.avgs();
        let Some(avg) = self.avg() else {
            let stale: Vec<usize> = (1..=self.gws.len())
                .filter(|&i| self.get(i).is_some_and(|s| s.avg_flag))
                .collect();
            return Err(if avgs.is_empty() && !stale.is_empty() {
                format!(
                    "no AVG with a live lease ({} set the AVG flag, but the lease ran out: no hellos sent?)",
                    names(&stale)
                )
            } else if avgs.is_empty() {
                "no AVG yet".into()
            } else {
                format!("{} routers claim AVG ({})", avgs.len(), names(&avgs))
            });
        };
        let mut mine = Vec::new();
        for &i in alive {
            let n = self.get(i).map_or(0, |s| s.forwarding.len());
            if n != 1 {
                return Err(format!("g{i} forwards {n} vMACs"));
            }
            mine.push(self.get(i).unwrap().forwarding[0].1.clone());
        }
        let mut distinct = mine.clone();
        distinct.sort();
        distinct.dedup();
        if distinct.len() != mine.len() {
            return Err(format!("routers share a vMAC ({})", mine.join(" ")));
        }
        let mut out = self.handed_out();
        out.sort();
        if out != distinct {
            return Err(format!(
                "the AVG hands out {} of {} vMACs",
                out.len(),
                distinct.len()
            ));
        }
        Ok(avg)
    }

    /// Every vMAC in `vmacs` has a live forwarder, and there is one AVG.
    pub fn covered(&self, vmacs: &[String]) -> Result<(), String> {
        if self.avg().is_none() {
            return Err("no single AVG".into());
        }
        match vmacs.iter().find(|v| self.owner(v).is_none()) {
            Some(v) => Err(format!("nobody forwards {v}")),
            None => Ok(()),
        }
    }
}

pub fn names(routers: &[usize]) -> String {
    routers
        .iter()
        .map(|i| format!("g{i}"))
        .collect::<Vec<_>>()
        .join(", ")
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

    fn status(avg: bool, fwd: &[(u8, u64)], slots: &[u8]) -> serde_json::Value {
        let v = |f: u8| format!("00:07:b4:00:01:{f:02x}");
        serde_json::json!([{
            "interface": "lan0", "xdp_mode": "generic",
            "groups": [{
                "group": 1, "avg": avg, "lease_ms": 650, "vmac_frames": 42,
                "slots": slots.iter().map(|&f| serde_json::json!({"forwarder": f, "vmac": v(f), "slots": 85, "arp_replies": 3})).collect::<Vec<_>>(),
                "forwarding": fwd.iter().map(|&(f, n)| serde_json::json!({"forwarder": f, "vmac": v(f), "frames": n})).collect::<Vec<_>>(),
            }]
        }])
    }

    #[test]
    fn steady_state_and_coverage() {
        let s = Sample {
            at: Instant::now(),
            gws: vec![
                GwStatus::parse(&status(true, &[(1, 10)], &[1, 2, 3])),
                GwStatus::parse(&status(false, &[(2, 5)], &[])),
                GwStatus::parse(&status(false, &[(3, 0)], &[])),
            ],
        };
        assert_eq!(s.steady(&[1, 2, 3]), Ok(1));
        assert_eq!(s.owner("00:07:b4:00:01:02"), Some(2));
        assert!(s.covered(&["00:07:b4:00:01:03".into()]).is_ok());
        // Every shim agent claims AVG and forwarder 1.
        let shim = Sample {
            at: Instant::now(),
            gws: (0..3)
                .map(|_| GwStatus::parse(&status(true, &[(1, 0)], &[1])))
                .collect(),
        };
        assert_eq!(
            shim.steady(&[1, 2, 3]),
            Err("3 routers claim AVG (g1, g2, g3)".into())
        );
        // g1 down, g2 AVG holding two forwarders.
        let s = Sample {
            at: Instant::now(),
            gws: vec![
                None,
                GwStatus::parse(&status(true, &[(1, 0), (2, 0)], &[1, 2, 3])),
                GwStatus::parse(&status(false, &[(3, 0)], &[])),
            ],
        };
        assert!(s.steady(&[2, 3]).is_err());
        assert!(
            s.covered(&["00:07:b4:00:01:01".into(), "00:07:b4:00:01:03".into()])
                .is_ok()
        );
    }

    #[test]
    fn vmac_helpers() {
        assert_eq!(fwd_of("00:07:b4:00:01:03"), Some(3));
        assert!(is_group_vmac("00:07:b4:00:01:03"));
        assert!(!is_group_vmac("00:07:b4:00:02:03"));
    }
}
