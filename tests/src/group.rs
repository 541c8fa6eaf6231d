//! A group as the agents see it: one status sample per gateway, and the
//! checks the tests and the lab share (one AVG, one vMAC per router, who
//! forwards what).

use std::time::{Duration, Instant};

use crate::{
    agent::Agent,
    netns::Netns,
    topo::{Topology, VIP},
};

/// One gateway's config for group 1 on lan0, as the tests and the lab
/// write it (JSON, see README "Config reference").
#[derive(Clone, Debug)]
pub struct GroupConfig {
    pub priority: u8,
    pub hello_ms: u32,
    pub hold_ms: u32,
    pub redirect_s: u32,
    pub timeout_s: u32,
    pub fwd_preempt_ms: u32,
    pub preempt: bool,
    pub max_forwarders: usize,
    pub method: &'static str,
    /// Extra top-level or group fields, merged in (e.g. authentication).
    pub extra_group: serde_json::Value,
}

impl GroupConfig {
    /// Short timers for tests: hello 200 ms, hold 800 ms, redirect 3 s,
    /// timeout 30 s, forwarder preemption after 2 s.
    pub fn fast(priority: u8) -> GroupConfig {
        GroupConfig {
            priority,
            hello_ms: 200,
            hold_ms: 800,
            redirect_s: 3,
            timeout_s: 30,
            fwd_preempt_ms: 2000,
            preempt: false,
            max_forwarders: 4,
            method: "round-robin",
            extra_group: serde_json::json!({}),
        }
    }

    pub fn hold(&self) -> Duration {
        Duration::from_millis(self.hold_ms.into())
    }

    pub fn json(&self) -> serde_json::Value {
        let mut g = serde_json::json!({
            "group": 1,
            "vip": VIP.to_string(),
            "priority": self.priority,
            "preempt": { "enabled": self.preempt, "delay_ms": 0 },
            "timers": {
                "hello_ms": self.hello_ms,
                "hold_ms": self.hold_ms,
                "redirect_s": self.redirect_s,
                "timeout_s": self.timeout_s,
            },
            "forwarder_preempt": { "enabled": true, "delay_ms": self.fwd_preempt_ms },
            "max_forwarders": self.max_forwarders,
            "load_balancing": self.method,
        });
        if let (Some(g), Some(extra)) = (g.as_object_mut(), self.extra_group.as_object()) {
            for (k, v) in extra {
                g.insert(k.clone(), v.clone());
            }
        }
        serde_json::json!({ "interface": "lan0", "groups": [g] })
    }

    /// Writes the config next to the namespace's other temp files and
    /// starts the agent with it.
    pub fn start(&self, ns: &Netns) -> Agent {
        let path = std::env::temp_dir().join(format!("{}-gw.json", ns.name));
        std::fs::write(&path, self.json().to_string()).expect("write config");
        Agent::start(ns, &["--config", path.to_str().expect("utf-8 path")])
    }
}

/// Polls until `check` accepts a sample of every gateway, or panics with
/// the last reason after `timeout`.
pub fn wait_for<T>(
    t: &Topology,
    timeout: Duration,
    what: &str,
    mut check: impl FnMut(&Sample) -> Result<T, String>,
) -> T {
    let mut last = String::new();
    crate::wait::until(timeout, || {
        let s = Sample::take(t);
        check(&s).map_err(|e| last = e).ok()
    })
    .unwrap_or_else(|| panic!("{what} not reached in {timeout:?}: {last}"))
}

/// One gateway's view of one group on lan0.
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
    pub fn parse(all: &serde_json::Value, group: u16) -> Option<GwStatus> {
        let iface = all.as_array()?.iter().find(|i| i["interface"] == "lan0")?;
        let g = iface["groups"]
            .as_array()?
            .iter()
            .find(|g| g["group"] == group)?;
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
    pub fn new(gws: Vec<Option<GwStatus>>) -> Sample {
        Sample {
            at: Instant::now(),
            gws,
        }
    }

    /// Every gateway of a topology, via `gw-agent status --json` (group 1).
    pub fn take(t: &Topology) -> Sample {
        Sample::new(
            t.gateways
                .iter()
                .map(|g| {
                    crate::agent::try_status(g)
                        .ok()
                        .and_then(|v| GwStatus::parse(&v, 1))
                })
                .collect(),
        )
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
                GwStatus::parse(&status(true, &[(1, 10)], &[1, 2, 3]), 1),
                GwStatus::parse(&status(false, &[(2, 5)], &[]), 1),
                GwStatus::parse(&status(false, &[(3, 0)], &[]), 1),
            ],
        };
        assert_eq!(s.steady(&[1, 2, 3]), Ok(1));
        assert_eq!(s.owner("00:07:b4:00:01:02"), Some(2));
        assert!(s.covered(&["00:07:b4:00:01:03".into()]).is_ok());
        // Every shim agent claims AVG and forwarder 1.
        let shim = Sample {
            at: Instant::now(),
            gws: (0..3)
                .map(|_| GwStatus::parse(&status(true, &[(1, 0)], &[1]), 1))
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
                GwStatus::parse(&status(true, &[(1, 0), (2, 0)], &[1, 2, 3]), 1),
                GwStatus::parse(&status(false, &[(3, 0)], &[]), 1),
            ],
        };
        assert!(s.steady(&[2, 3]).is_err());
        assert!(
            s.covered(&["00:07:b4:00:01:01".into(), "00:07:b4:00:01:03".into()])
                .is_ok()
        );
    }
}
