//! The lab's result: outages per host and failure, distributions, problems;
//! printed as the closing table and written as JSON for tests.

use std::time::Duration;

use super::{
    measure::Outage,
    narrate::{Align, Out, ms},
    world::TimerSet,
};

pub struct Phase {
    /// Short column title: "AVG down", "fwd back", ...
    pub name: &'static str,
    pub router: usize,
    pub hosts: Vec<Outage>,
}

impl Phase {
    pub fn worst(&self) -> Duration {
        self.hosts
            .iter()
            .map(|o| o.outage)
            .max()
            .unwrap_or_default()
    }
    pub fn all_recovered(&self) -> bool {
        self.hosts.iter().all(|o| o.recovered)
    }
}

pub struct Summary {
    pub gateways: usize,
    pub hosts: usize,
    pub timers: TimerSet,
    /// Router per host after the hosts first resolved the gateway.
    pub initial: Vec<Option<usize>>,
    /// Frames per router while the hosts first sent traffic.
    pub initial_frames: Vec<u64>,
    /// Router per host at the end.
    pub final_routers: Vec<Option<usize>>,
    pub final_frames: Vec<u64>,
    pub phases: Vec<Phase>,
    pub problems: Vec<String>,
}

/// Hosts per router (index 0 is g1).
pub fn distribution(routers: &[Option<usize>], gateways: usize) -> Vec<usize> {
    let mut d = vec![0; gateways];
    for r in routers.iter().flatten() {
        if (1..=gateways).contains(r) {
            d[r - 1] += 1;
        }
    }
    d
}

impl Summary {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    pub fn json(&self) -> serde_json::Value {
        let dist = |r: &[Option<usize>]| {
            let m: serde_json::Map<String, serde_json::Value> = distribution(r, self.gateways)
                .iter()
                .enumerate()
                .map(|(k, n)| (format!("g{}", k + 1), (*n).into()))
                .collect();
            serde_json::Value::Object(m)
        };
        let frames = |f: &[u64]| -> serde_json::Value {
            f.iter()
                .enumerate()
                .map(|(k, n)| (format!("g{}", k + 1), serde_json::Value::from(*n)))
                .collect::<serde_json::Map<_, _>>()
                .into()
        };
        serde_json::json!({
            "gateways": self.gateways,
            "hosts": self.hosts,
            "timers": format!("{:?}", self.timers).to_lowercase(),
            "initial_distribution": dist(&self.initial),
            "initial_frames": frames(&self.initial_frames),
            "final_distribution": dist(&self.final_routers),
            "final_frames": frames(&self.final_frames),
            "host_routers_initial": self.initial.iter().map(|r| r.map(|r| format!("g{r}"))).collect::<Vec<_>>(),
            "host_routers_final": self.final_routers.iter().map(|r| r.map(|r| format!("g{r}"))).collect::<Vec<_>>(),
            "phases": self.phases.iter().map(|p| serde_json::json!({
                "name": p.name,
                "router": format!("g{}", p.router),
                "all_recovered": p.all_recovered(),
                "worst_outage_ms": p.worst().as_millis() as u64,
                "hosts": p.hosts.iter().enumerate().map(|(j, o)| serde_json::json!({
                    "host": format!("h{}", j + 1),
                    "outage_ms": o.outage.as_millis() as u64,
                    "lost": o.lost,
                    "sent": o.sent,
                    "recovered": o.recovered,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "problems": self.problems,
            "ok": self.ok(),
        })
    }

    /// The closing table: one row per host, one column per failure.
    pub fn print(&self, out: &Out) {
        let mut head: Vec<(&str, Align)> = vec![("host", Align::Left), ("address", Align::Left)];
        let titles: Vec<String> = self
            .phases
            .iter()
            .map(|p| format!("{} (g{})", p.name, p.router))
            .collect();
        for t in &titles {
            head.push((t.as_str(), Align::Right));
        }
        head.push(("router", Align::Left));
        let rows: Vec<Vec<String>> = (1..=self.hosts)
            .map(|j| {
                let mut r = vec![format!("h{j}"), gw_tests::topo::host_ip(j).to_string()];
                for p in &self.phases {
                    let o = &p.hosts[j - 1];
                    r.push(if !o.recovered {
                        out.red("no reply ✗")
                    } else if o.outage.is_zero() {
                        out.dim("0 ms")
                    } else {
                        ms(o.outage)
                    });
                }
                r.push(
                    self.final_routers[j - 1]
                        .map(|g| out.router(g))
                        .unwrap_or_else(|| out.red("?")),
                );
                r
            })
            .collect();
        out.table(&head, &rows);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_what_the_test_checks() {
        let o = |ms: u64, rec: bool| Outage {
            outage: Duration::from_millis(ms),
            lost: ms / 10,
            sent: 300,
            recovered: rec,
        };
        let s = Summary {
            gateways: 2,
            hosts: 3,
            timers: TimerSet::Fast,
            initial: vec![Some(1), Some(2), Some(1)],
            initial_frames: vec![10, 5],
            final_routers: vec![Some(2), Some(2), None],
            final_frames: vec![0, 9],
            phases: vec![Phase {
                name: "AVG down",
                router: 1,
                hosts: vec![o(700, true), o(0, true), o(650, false)],
            }],
            problems: vec![],
        };
        let j = s.json();
        assert_eq!(j["initial_distribution"]["g1"], 2);
        assert_eq!(j["final_distribution"]["g2"], 2);
        assert_eq!(j["phases"][0]["all_recovered"], false);
        assert_eq!(j["phases"][0]["worst_outage_ms"], 700);
        assert_eq!(j["phases"][0]["hosts"][2]["host"], "h3");
        assert_eq!(j["host_routers_final"][2], serde_json::Value::Null);
        assert_eq!(j["ok"], true);
    }
}
