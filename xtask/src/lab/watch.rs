//! The lab's running context: agent events, the live traffic line, and
//! polling with a deadline until the network reaches a state.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use anyhow::{Result, bail};
use gw_tests::topo::host_ip;

use super::{
    Pace,
    measure::{self, Meter, Probes, Sample, fwd_of, is_group_vmac, sample},
    narrate::{Align, Out, bar, number_word, span},
    signal,
    summary::distribution,
    world::{Lab, LogEvent},
};

pub(super) struct Ctx<'a> {
    pub(super) lab: Lab,
    pub(super) out: &'a Out,
    pub(super) pace: Pace,
    pub(super) verbose: bool,
    pub(super) meter: Option<Meter>,
    pub(super) last_live: Instant,
    pub(super) countdown: Option<(Instant, &'static str)>,
    /// vMAC → the router that owned it after the election.
    pub(super) primary: BTreeMap<String, usize>,
}

/// Log lines worth showing by default: state changes, takeovers,
/// redirects, warnings. Per-peer bookkeeping is left to --verbose.
pub(super) fn interesting(e: &LogEvent) -> bool {
    if e.level == "WARN" || e.level == "ERROR" {
        return true;
    }
    let m = e.msg.as_str();
    if m.starts_with("gateway state ") {
        return m.contains("Active")
            || m.contains("Standby")
            || m.contains("Initial ->")
            || m.contains("Disabled");
    }
    if m.starts_with("forwarder ") && m.contains(" -> ") {
        return m.contains("Active");
    }
    const NOISE: [&str; 8] = [
        "appeared",
        "learned",
        "ignored packet",
        "XDP program attached",
        "claimed as primary",
        "XDP log",
        "reconfigured",
        "moved 0 hosts",
    ];
    !m.is_empty() && !NOISE.iter().any(|n| m.contains(n))
}

impl Ctx<'_> {
    pub(super) fn show_events(&mut self) {
        for e in self.lab.events() {
            if self.verbose || interesting(&e) {
                self.out.event(e.t, e.router, &e.level, &e.msg);
            }
        }
    }

    pub(super) fn live(&mut self, s: &Sample, force: bool) {
        let Some(m) = self.meter.as_mut() else { return };
        if !force && self.last_live.elapsed() < self.pace.live_every {
            return;
        }
        self.last_live = Instant::now();
        let rates = m.update(s);
        let full = self.lab.hosts as f64 / measure::PROBE_INTERVAL.as_secs_f64();
        let mut line = self.out.dim("frames/s");
        for (k, r) in rates.iter().enumerate() {
            let i = k + 1;
            let cell = match r {
                Some(r) => format!(
                    "{} {} {:>4.0}",
                    self.out.router(i),
                    self.out.in_router_color(i, &bar(*r, full, 6)),
                    r
                ),
                None if self.lab.down[k] => {
                    format!("{} {}", self.out.router(i), self.out.red("  off       "))
                }
                None => format!("{} {}", self.out.router(i), self.out.dim("  ?         ")),
            };
            line.push_str("  ");
            line.push_str(&cell);
        }
        if let Some((at, what)) = self.countdown {
            let left = at.saturating_duration_since(Instant::now());
            if !left.is_zero() {
                line.push_str(
                    &self
                        .out
                        .dim(&format!("  · {what} in {:.1} s", left.as_secs_f64())),
                );
            }
        }
        self.out.live(&line);
    }

    /// Polls until `done` says Ok, printing agent events and live traffic;
    /// fails after `deadline` with `done`'s last reason.
    pub(super) fn watch<T>(
        &mut self,
        what: &str,
        deadline: Duration,
        mut done: impl FnMut(&Lab, &Sample) -> Result<T, String>,
    ) -> Result<T> {
        let end = Instant::now() + deadline;
        loop {
            signal::check()?;
            self.lab.check_agents()?;
            self.show_events();
            let s = sample(&self.lab);
            self.live(&s, false);
            match done(&self.lab, &s) {
                Ok(v) => {
                    self.show_events();
                    return Ok(v);
                }
                Err(why) if Instant::now() >= end => {
                    self.out.clear_live();
                    bail!("{what}: not within {}: {why}", span(deadline))
                }
                Err(_) => {}
            }
            signal::sleep(self.pace.poll)?;
        }
    }

    /// Lets traffic run for `d`, showing it.
    pub(super) fn run_for(&mut self, d: Duration) -> Result<()> {
        let end = Instant::now() + d;
        self.watch("traffic", d + Duration::from_secs(5), |_, _| {
            if Instant::now() >= end {
                Ok(())
            } else {
                Err(String::new())
            }
        })?;
        let s = sample(&self.lab);
        self.live(&s, true);
        self.out.commit_live();
        Ok(())
    }

    pub(super) fn start_meter(&mut self) {
        let s = sample(&self.lab);
        self.meter = Some(Meter::new(&s));
        self.last_live = Instant::now();
    }

    /// Which router each host sends through now.
    pub(super) fn host_routers(&self, s: &Sample) -> (Vec<Option<String>>, Vec<Option<usize>>) {
        let macs = self.lab.host_macs();
        let routers = macs
            .iter()
            .map(|m| m.as_ref().and_then(|m| s.owner(m)))
            .collect();
        (macs, routers)
    }

    pub(super) fn vmac_cell(&self, mac: &Option<String>) -> String {
        match mac {
            Some(m) if is_group_vmac(m) => match self.primary.get(m) {
                Some(&p) => self.out.in_router_color(p, m),
                None => m.clone(),
            },
            Some(m) => self.out.red(&format!("{m} (not a vMAC)")),
            None => self.out.red("unresolved"),
        }
    }

    pub(super) fn router_cell(&self, r: Option<usize>, mac: &Option<String>) -> String {
        match r {
            Some(r) => {
                let fwd = mac
                    .as_deref()
                    .and_then(fwd_of)
                    .map(|f| format!(" fwd {f}"))
                    .unwrap_or_default();
                let p = mac.as_ref().and_then(|m| self.primary.get(m)).copied();
                let note = match p {
                    Some(p) if p != r => format!(" for g{p}"),
                    _ => String::new(),
                };
                format!(
                    "{}{}",
                    self.out.router(r),
                    self.out.dim(&format!("{fwd}{note}"))
                )
            }
            None => self.out.red("none"),
        }
    }

    pub(super) fn host_table(&self, s: &Sample) -> Vec<Option<usize>> {
        let (macs, routers) = self.host_routers(s);
        let rows: Vec<Vec<String>> = (1..=self.lab.hosts)
            .map(|j| {
                vec![
                    format!("h{j}"),
                    host_ip(j).to_string(),
                    self.vmac_cell(&macs[j - 1]),
                    self.router_cell(routers[j - 1], &macs[j - 1]),
                ]
            })
            .collect();
        self.out.table(
            &[
                ("host", Align::Left),
                ("address", Align::Left),
                ("gateway vMAC", Align::Left),
                ("router", Align::Left),
            ],
            &rows,
        );
        routers
    }

    pub(super) fn distribution_line(&self, routers: &[Option<usize>]) {
        let d = distribution(routers, self.lab.gateways);
        let max = d.iter().copied().max().unwrap_or(1).max(1) as f64;
        let parts: Vec<String> = d
            .iter()
            .enumerate()
            .map(|(k, &n)| {
                let i = k + 1;
                format!(
                    "{} {} {n}",
                    self.out.router(i),
                    self.out.in_router_color(i, &bar(n as f64, max, 4))
                )
            })
            .collect();
        self.out.say(&format!(
            "{}  {}",
            self.out.dim("hosts per router"),
            parts.join("   ")
        ));
    }

    pub(super) fn frames_line(&self, what: &str, frames: &[u64]) {
        let parts: Vec<String> = frames
            .iter()
            .enumerate()
            .map(|(k, n)| format!("{} {n}", self.out.router(k + 1)))
            .collect();
        self.out
            .say(&format!("{} {}", self.out.dim(what), parts.join(" · ")));
    }

    /// Starts probes and runs a baseline, for a failure about to happen.
    pub(super) fn probes_with_baseline(&mut self) -> Result<Probes> {
        let p = Probes::start(&self.lab)?;
        self.start_meter();
        let end = Instant::now() + self.pace.baseline;
        let hold = self.lab.timers.hold();
        self.watch(
            "hosts reaching the server before the failure",
            self.pace.baseline + hold * 3 + Duration::from_secs(3),
            |_, _| {
                let silent = p.silent(Duration::from_millis(150));
                if !silent.is_empty() {
                    return Err(format!("no replies for {}", hosts_list(&silent)));
                }
                if Instant::now() < end {
                    Err(String::new())
                } else {
                    Ok(())
                }
            },
        )?;
        Ok(p)
    }
}

/// GWLAB_DEBUG=1: every gap per host, relative to the failure.
pub(super) fn debug_gaps(reports: &[gw_tests::probe::ProbeReport], fail: Instant) {
    if std::env::var_os("GWLAB_DEBUG").is_none() {
        return;
    }
    for (j, r) in reports.iter().enumerate() {
        let gaps: Vec<String> = r
            .gaps
            .iter()
            .map(|(at, d)| {
                let rel = at
                    .checked_duration_since(fail)
                    .map(|x| x.as_secs_f64())
                    .unwrap_or_else(|| -fail.duration_since(*at).as_secs_f64());
                format!("{rel:+.3}s:{}ms", d.as_millis())
            })
            .collect();
        eprintln!(
            "    debug h{}: sent {} lost {} gaps {}",
            j + 1,
            r.sent,
            r.lost,
            gaps.join(" ")
        );
    }
}

pub(super) fn plural(n: usize, what: &str) -> String {
    format!("{} {what}{}", number_word(n), if n == 1 { "" } else { "s" })
}

pub(super) fn hosts_list(hosts: &[usize]) -> String {
    hosts
        .iter()
        .map(|j| format!("h{j}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interesting_lines() {
        let e = |m: &str| LogEvent {
            t: Duration::ZERO,
            router: 1,
            level: "INFO".into(),
            msg: m.into(),
        };
        assert!(interesting(&e(
            "gateway state Speak -> Active (hold timer expired)"
        )));
        assert!(!interesting(&e("gateway state Listen -> Speak (x)")));
        assert!(interesting(&e(
            "forwarder 1 (00:07:b4:00:01:01, primary) Listen -> Active (claimed as primary)"
        )));
        assert!(!interesting(&e(
            "forwarder 2 (00:07:b4:00:01:02, secondary) Init -> Listen (x)"
        )));
        assert!(!interesting(&e(
            "peer 192.0.2.12 (00:00:00:00:00:01) appeared"
        )));
        assert!(interesting(&e("peer 192.0.2.11 expired (hold time)")));
        assert!(interesting(&e(
            "took over forwarder 1 (00:07:b4:00:01:01) from 192.0.2.11"
        )));
        assert!(interesting(&e(
            "moved 3 hosts off forwarder 3 (00:07:b4:00:01:03)"
        )));
        assert!(!interesting(&e("XDP program attached in generic mode")));
        assert!(interesting(&e("XDP program adopted in generic mode")));
    }
}
