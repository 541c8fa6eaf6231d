//! The lab's world: the topology (from the test harness), one agent per
//! gateway with its config and log, and powering gateways off and on.
//! Dropping it tears everything down, also on error, panic and Ctrl-C.

use std::{
    fs::OpenOptions,
    io::{Read, Seek, SeekFrom},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Stdio},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result, bail};
use gw_tests::{
    Netns, Topology, TopologySpec,
    probe::Echo,
    topo::{self, VIP},
};

use gw_tests::group::GroupConfig;

use super::{measure::GwStatus, signal};

/// The GLBP group every gateway runs.
pub const GROUP: u16 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TimerSet {
    /// Short timers so the whole story takes about a minute.
    Fast,
    /// Cisco's defaults (hello 3 s, hold 10 s, redirect 10 min): takes a while.
    Default,
}

#[derive(Clone, Copy, Debug)]
pub struct Timers {
    pub set: TimerSet,
    pub hello_ms: u32,
    pub hold_ms: u32,
    pub redirect_s: u32,
    pub timeout_s: u32,
    pub fwd_preempt_ms: u32,
}

impl Timers {
    pub fn of(set: TimerSet) -> Timers {
        match set {
            TimerSet::Fast => Timers {
                set,
                hello_ms: 200,
                hold_ms: 700,
                redirect_s: 3,
                timeout_s: 30,
                fwd_preempt_ms: 2000,
            },
            TimerSet::Default => Timers {
                set,
                hello_ms: 3000,
                hold_ms: 10_000,
                redirect_s: 600,
                timeout_s: 14_400,
                fwd_preempt_ms: 30_000,
            },
        }
    }
    pub fn hello(&self) -> Duration {
        Duration::from_millis(self.hello_ms.into())
    }
    pub fn hold(&self) -> Duration {
        Duration::from_millis(self.hold_ms.into())
    }
    pub fn redirect(&self) -> Duration {
        Duration::from_secs(self.redirect_s.into())
    }
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_s.into())
    }
    pub fn fwd_preempt(&self) -> Duration {
        Duration::from_millis(self.fwd_preempt_ms.into())
    }
}

/// One line an agent logged.
pub struct LogEvent {
    /// Since the lab started.
    pub t: Duration,
    pub router: usize,
    pub level: String,
    pub msg: String,
}

struct LogTail {
    path: PathBuf,
    offset: u64,
    partial: String,
}

pub struct Lab {
    pub prefix: String,
    pub gateways: usize,
    pub hosts: usize,
    pub timers: Timers,
    pub bin: PathBuf,
    pub dir: PathBuf,
    pub t0: Instant,
    t0_day_s: f64,
    pub priorities: Vec<u8>,
    /// Gateways the lab powered off.
    pub down: Vec<bool>,
    /// Last virtual gateway state each agent logged ("Active", "Standby", ...).
    pub vg_state: Vec<String>,
    /// When each gateway's agent was (re)started.
    pub started: Vec<Instant>,
    logs: Vec<LogTail>,
    agents: Vec<Option<Child>>,
    pub echo: Option<Echo>,
    topo: Option<Topology>,
    kept: bool,
}

pub fn priority(i: usize, gateways: usize) -> u8 {
    (100 + 10 * (gateways + 1 - i)).min(250) as u8
}

impl Lab {
    /// Builds the topology and writes one config per gateway; agents are
    /// started separately (`start_all`).
    pub fn build(
        prefix: &str,
        gateways: usize,
        hosts: usize,
        timers: Timers,
        bin: &Path,
    ) -> Result<Lab> {
        let dir = std::env::temp_dir().join(prefix);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let spec = TopologySpec { gateways, hosts };
        // The harness panics on a failed command; keep that an error here
        // (whatever it built is dropped, and so removed, while unwinding).
        let p = prefix.to_string();
        let topo =
            std::panic::catch_unwind(move || Topology::with_prefix(&p, spec)).map_err(|e| {
                let why = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                anyhow::anyhow!("building the topology failed: {why}")
            })?;
        signal::check()?;
        let priorities: Vec<u8> = (1..=gateways).map(|i| priority(i, gateways)).collect();
        let mut logs = Vec::new();
        for i in 1..=gateways {
            let cfg = config_json(priorities[i - 1], gateways, &timers);
            let path = dir.join(format!("g{i}.json"));
            std::fs::write(&path, serde_json::to_string_pretty(&cfg)?)?;
            let o = topo.gateways[i - 1]
                .command(&bin.to_string_lossy())
                .arg("check")
                .arg("--config")
                .arg(&path)
                .output()?;
            if !o.status.success() {
                bail!(
                    "gw-agent check --config {} failed: {}",
                    path.display(),
                    String::from_utf8_lossy(&o.stderr).trim()
                );
            }
            logs.push(LogTail {
                path: dir.join(format!("g{i}.log")),
                offset: 0,
                partial: String::new(),
            });
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Ok(Lab {
            prefix: prefix.into(),
            gateways,
            hosts,
            timers,
            bin: bin.into(),
            dir,
            t0: Instant::now(),
            t0_day_s: (now.as_secs() % 86_400) as f64 + f64::from(now.subsec_micros()) / 1e6,
            priorities,
            down: vec![false; gateways],
            vg_state: vec![String::new(); gateways],
            started: vec![Instant::now(); gateways],
            logs,
            agents: (0..gateways).map(|_| None).collect(),
            echo: None,
            topo: Some(topo),
            kept: false,
        })
    }

    pub fn topo(&self) -> &Topology {
        self.topo.as_ref().expect("topology is up")
    }

    pub fn gw(&self, i: usize) -> &Netns {
        &self.topo().gateways[i - 1]
    }

    pub fn host(&self, j: usize) -> &Netns {
        &self.topo().hosts[j - 1]
    }

    pub fn config_path(&self, i: usize) -> PathBuf {
        self.dir.join(format!("g{i}.json"))
    }

    pub fn log_path(&self, i: usize) -> PathBuf {
        self.dir.join(format!("g{i}.log"))
    }

    /// Starts every agent at once; the clock starts now.
    pub fn start_all(&mut self) -> Result<()> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        self.t0 = Instant::now();
        self.t0_day_s = (now.as_secs() % 86_400) as f64 + f64::from(now.subsec_micros()) / 1e6;
        for i in 1..=self.gateways {
            self.start_agent(i)?;
        }
        Ok(())
    }

    pub fn start_agent(&mut self, i: usize) -> Result<()> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(i))?;
        let child = self
            .gw(i)
            .command(&self.bin.to_string_lossy())
            .args(["--log-json", "run", "--config"])
            .arg(self.config_path(i))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            // Its own process group: a Ctrl-C at the terminal reaches the
            // lab, which stops the agents itself; with --keep they outlive it.
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting gw-agent in {}", self.gw(i).name))?;
        self.agents[i - 1] = Some(child);
        self.started[i - 1] = Instant::now();
        Ok(())
    }

    /// Whether gateway i's agent has exited; returns its log's last lines.
    pub fn agent_died(&mut self, i: usize) -> Option<String> {
        let c = self.agents[i - 1].as_mut()?;
        match c.try_wait() {
            Ok(Some(st)) => {
                let log = std::fs::read_to_string(self.log_path(i)).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(8).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                self.agents[i - 1] = None;
                Some(format!("{st}\n    {}", tail.join("\n    ")))
            }
            _ => None,
        }
    }

    /// An unexpected agent exit is a failure of the lab.
    pub fn check_agents(&mut self) -> Result<()> {
        for i in 1..=self.gateways {
            if !self.down[i - 1]
                && let Some(why) = self.agent_died(i)
            {
                bail!("the agent on g{i} exited: {why}");
            }
        }
        Ok(())
    }

    fn kill_agent(&mut self, i: usize, sig: i32) {
        if let Some(mut c) = self.agents[i - 1].take() {
            // SAFETY: kill(2) on our own child.
            unsafe { libc::kill(c.id() as i32, sig) };
            let end = Instant::now() + Duration::from_secs(2);
            while Instant::now() < end {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            unsafe { libc::kill(c.id() as i32, libc::SIGKILL) };
            let _ = c.wait();
        }
    }

    /// Gateway i loses power: its agent dies (SIGKILL, no goodbye) and its
    /// LAN and upstream links go down.
    pub fn power_off(&mut self, i: usize) {
        self.kill_agent(i, libc::SIGKILL);
        self.topo().set_gateway_links(i, false);
        self.down[i - 1] = true;
        self.vg_state[i - 1] = "down".into();
    }

    /// Gateway i comes back: links up, agent started (it adopts the pinned
    /// XDP program its predecessor left).
    pub fn power_on(&mut self, i: usize) -> Result<()> {
        self.topo().set_gateway_links(i, true);
        self.down[i - 1] = false;
        self.vg_state[i - 1].clear();
        self.start_agent(i)
    }

    pub fn alive(&self) -> Vec<usize> {
        (1..=self.gateways).filter(|i| !self.down[i - 1]).collect()
    }

    /// Every agent's status (None: powered off, or unreadable), read in
    /// parallel through nsenter (which, unlike `ip netns exec`, keeps the
    /// shared bpffs in view).
    pub fn statuses(&self) -> Vec<Option<GwStatus>> {
        std::thread::scope(|s| {
            let hs: Vec<_> = (1..=self.gateways)
                .map(|i| {
                    s.spawn(move || {
                        if self.down[i - 1] {
                            return None;
                        }
                        let o = self
                            .gw(i)
                            .command(&self.bin.to_string_lossy())
                            .args(["status", "--json"])
                            .output()
                            .ok()?;
                        if !o.status.success() {
                            return None;
                        }
                        GwStatus::parse(&serde_json::from_slice(&o.stdout).ok()?, GROUP)
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().ok().flatten()).collect()
        })
    }

    /// The vMAC each host has cached for the VIP.
    pub fn host_macs(&self) -> Vec<Option<String>> {
        std::thread::scope(|s| {
            let hs: Vec<_> = (1..=self.hosts)
                .map(|j| s.spawn(move || self.topo().host_gateway_mac(j)))
                .collect();
            hs.into_iter().map(|h| h.join().ok().flatten()).collect()
        })
    }

    /// Forgets every host's neighbour entry for the VIP (as if it aged out).
    pub fn flush_hosts(&self) {
        std::thread::scope(|s| {
            for j in 1..=self.hosts {
                s.spawn(move || self.host(j).sh(&format!("ip neigh del {VIP} dev lan0")));
            }
        });
    }

    /// New agent log lines since the last call, in time order.
    pub fn events(&mut self) -> Vec<LogEvent> {
        let mut out = Vec::new();
        for i in 1..=self.gateways {
            let text = {
                let tail = &mut self.logs[i - 1];
                let Ok(mut f) = std::fs::File::open(&tail.path) else {
                    continue;
                };
                if f.seek(SeekFrom::Start(tail.offset)).is_err() {
                    continue;
                }
                let mut buf = Vec::new();
                let _ = f.read_to_end(&mut buf);
                tail.offset += buf.len() as u64;
                tail.partial.push_str(&String::from_utf8_lossy(&buf));
                let Some(end) = tail.partial.rfind('\n') else {
                    continue;
                };
                let text = tail.partial[..=end].to_string();
                tail.partial.drain(..=end);
                text
            };
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let e = self.parse_line(i, line);
                if let Some(to) = vg_transition(&e.msg) {
                    self.vg_state[i - 1] = to;
                }
                out.push(e);
            }
        }
        out.sort_by_key(|e| e.t);
        out
    }

    fn parse_line(&self, router: usize, line: &str) -> LogEvent {
        let now = self.t0.elapsed();
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            let level = if line.contains("error") || line.starts_with("gw-agent:") {
                "ERROR"
            } else {
                "INFO"
            };
            return LogEvent {
                t: now,
                router,
                level: level.into(),
                msg: line.trim().to_string(),
            };
        };
        let t = v["timestamp"]
            .as_str()
            .and_then(day_seconds)
            .map(|s| {
                let d = (s - self.t0_day_s).rem_euclid(86_400.0);
                // A line from before the lab (clock skew) or far in the future: use now.
                if d > now.as_secs_f64() + 5.0 {
                    now
                } else {
                    Duration::from_secs_f64(d)
                }
            })
            .unwrap_or(now);
        let msg = v["fields"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let level = v["level"].as_str().unwrap_or("INFO").to_string();
        LogEvent {
            t,
            router,
            level,
            msg,
        }
    }

    /// Leaves everything running (for --keep).
    pub fn keep(mut self) {
        self.kept = true;
        if let Some(e) = self.echo.take() {
            drop(e);
        }
        // Agents are in their own process groups and outlive us; the
        // namespaces stay because the topology is never dropped.
        std::mem::forget(self.topo.take());
        for a in self.agents.iter_mut() {
            std::mem::forget(a.take());
        }
    }

    /// Stops everything and removes namespaces and pins; returns how many
    /// namespaces went and what is left (should be nothing).
    pub fn teardown(&mut self) -> (usize, Vec<String>) {
        if self.kept {
            return (0, Vec::new());
        }
        self.echo.take();
        for i in 1..=self.gateways {
            // SIGTERM first: a clean stop resigns and removes its pins.
            self.kill_agent(i, libc::SIGTERM);
        }
        let n = self
            .topo
            .as_ref()
            .map(|t| t.gateways.len() + t.hosts.len() + 2)
            .unwrap_or(0);
        drop(self.topo.take());
        topo::cleanup_prefix(&self.prefix);
        (n, topo::leftovers(&self.prefix))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if !self.kept && self.topo.is_some() {
            self.teardown();
        }
    }
}

/// "gateway state Speak -> Active (...)" → "Active".
pub fn vg_transition(msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("gateway state ")?;
    let to = rest.split(" -> ").nth(1)?;
    Some(to.split_whitespace().next()?.to_string())
}

/// Seconds since midnight UTC from an RFC 3339 timestamp
/// ("2025-06-01T12:34:56.123456Z").
pub fn day_seconds(ts: &str) -> Option<f64> {
    let time = ts.split('T').nth(1)?;
    let time = time.trim_end_matches('Z');
    let time = time.split(['+', '-']).next()?;
    let mut it = time.split(':');
    let h: f64 = it.next()?.parse().ok()?;
    let m: f64 = it.next()?.parse().ok()?;
    let s: f64 = it.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

pub fn config_json(priority: u8, gateways: usize, t: &Timers) -> serde_json::Value {
    GroupConfig {
        priority,
        hello_ms: t.hello_ms,
        hold_ms: t.hold_ms,
        redirect_s: t.redirect_s,
        timeout_s: t.timeout_s,
        fwd_preempt_ms: t.fwd_preempt_ms,
        preempt: false,
        max_forwarders: gateways.max(4),
        method: "round-robin",
        extra_group: serde_json::json!({}),
    }
    .json()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_log_details() {
        assert_eq!(
            vg_transition("gateway state Speak -> Active (hold timer)").as_deref(),
            Some("Active")
        );
        assert_eq!(
            vg_transition("forwarder 1 (x, primary) Listen -> Active (claimed)"),
            None
        );
        let s = day_seconds("2025-06-01T01:02:03.500000Z").unwrap();
        assert!((s - 3723.5).abs() < 1e-6);
        assert_eq!(priority(1, 3), 130);
        assert_eq!(priority(3, 3), 110);
    }

    #[test]
    fn configs_are_valid_json_with_the_timers() {
        let c = config_json(130, 3, &Timers::of(TimerSet::Fast));
        assert_eq!(c["groups"][0]["timers"]["hold_ms"], 700);
        assert_eq!(c["groups"][0]["forwarder_preempt"]["delay_ms"], 2000);
        let c = config_json(110, 6, &Timers::of(TimerSet::Default));
        assert_eq!(c["groups"][0]["timers"]["redirect_s"], 600);
        assert_eq!(c["groups"][0]["max_forwarders"], 6);
    }
}
