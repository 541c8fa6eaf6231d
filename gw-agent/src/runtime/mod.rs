//! The tokio loop: thin glue between the world and the pure engines.
//!
//! ```text
//!   UDP 3222 (GlbpRx) --packets--+
//!   timers (poll_at) ------------+--> Engine (one per group) --Output--+
//!   SIGTERM / SIGHUP ------------+                                     |
//!                                                                     v
//!        FrameTx (hellos from vMACs, ARP redirects) <-- apply --> Dataplane (maps),
//!                                                                AddrList (netlink)
//! ```
//!
//! Nothing received can take the data plane down: a packet that fails to
//! decode, has the wrong TTL, or names an unknown group is counted and
//! dropped before it reaches an engine.

mod apply;
mod deadlines;
mod ipv6;
mod notify;
mod rx;
mod serve;
mod track;

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{info, warn};

use crate::{
    auth::Authenticator,
    config::{Config, Group},
    dataplane::{AttachSpec, Dataplane, monotonic_ns},
    engine::{Engine, Identity, Instant, Prior},
    net::{
        addrlist::AddrList,
        iface::Interface,
        socket::{FrameTx, GlbpRx},
    },
};
pub use rx::RxStats;

/// Run-time options that are not part of the config file.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Serve Prometheus metrics here (off when None).
    pub metrics: Option<std::net::SocketAddr>,
}

/// The engine clock: CLOCK_MONOTONIC in ms, the same clock as the leases.
pub fn now() -> Instant {
    Instant(monotonic_ns() / 1_000_000)
}

/// How long the agent waits at start for the interface's link-local
/// address to pass duplicate address detection.
const LINK_LOCAL_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The GLBP receive sockets: IPv4 always, IPv6 when a group elects over it.
pub struct Receivers {
    pub v4: GlbpRx,
    pub v6: Option<GlbpRx>,
}

pub(crate) struct GroupRt {
    pub cfg: Group,
    pub engine: Engine,
    pub key: gw_common::GroupKey,
    pub auth: Authenticator,
}

/// Wall-clock microseconds: authentication sequence numbers.
pub fn unix_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

pub struct Agent {
    pub(crate) cfg: Config,
    pub(crate) iface: Interface,
    pub(crate) dp: Dataplane,
    pub(crate) tx: FrameTx,
    pub(crate) addrs: AddrList,
    /// Boxed: the tree's nodes then stay small enough to remain in cache
    /// with a thousand groups, so finding a group costs one miss, not four.
    pub(crate) groups: BTreeMap<u16, Box<GroupRt>>,
    pub(crate) rx_stats: RxStats,
    /// vMACs currently in the device address list.
    pub(crate) listed: std::collections::BTreeSet<[u8; 6]>,
    /// Every group's next engine deadline, ordered.
    pub(crate) deadlines: deadlines::Deadlines,
    /// When every group's hello may go early (`Engine::hello_window`).
    pub(crate) hello_windows: deadlines::Deadlines,
    /// Rate limit of repeated warnings, by kind.
    pub(crate) warned: BTreeMap<&'static str, std::time::Instant>,
    /// Counters for metrics that live nowhere else.
    pub(crate) counters: crate::metrics::AgentCounters,
    pub(crate) started: std::time::Instant,
    /// (group, peer) pairs seen with priority 255, warned about once.
    pub(crate) peers_seen: std::collections::BTreeSet<(u16, std::net::IpAddr)>,
    /// Solicited-node groups of the virtual IPv6 addresses (ipv6.rs).
    pub(crate) mcast6: crate::net::mcast6::Memberships,
    /// GLBP frames waiting for `flush_tx` (apply.rs).
    pub(crate) txq: Vec<Vec<u8>>,
    /// Tracked objects that are down, by name (status; track.rs).
    pub(crate) tracked_down: std::collections::BTreeSet<String>,
    /// The interface's IPv6 link-local address, once known (ipv6.rs).
    pub(crate) ll6: Option<std::net::Ipv6Addr>,
}

fn seed(iface: &Interface, group: u16) -> u64 {
    let ip = iface.ip.map_or(0, u32::from);
    let mut s = u64::from(ip) << 16 | u64::from(group);
    for b in iface.mac {
        s = s.rotate_left(8) ^ u64::from(b);
    }
    s ^ monotonic_ns()
}

impl Agent {
    /// Everything that can fail on bad input fails here, before the data
    /// plane is touched.
    pub async fn start(cfg: Config) -> Result<(Agent, Receivers)> {
        let iface = Interface::lookup(&cfg.interface).context("interface")?;
        track::check(&cfg)?;
        let v4_groups = cfg.groups.iter().any(|g| g.vip.is_some());
        if v4_groups && iface.ip.is_none() {
            anyhow::bail!(
                "interface {} has no IPv4 address: groups with a vip send their hellos from it \
                 (IPv6-only groups, without vip, need none)",
                iface.name
            );
        }
        let v4 = GlbpRx::open(&iface.name, iface.index)
            .with_context(|| format!("GLBP socket on {}", iface.name))?;
        // IPv6-only groups elect over IPv6: they need its socket and this
        // router's link-local address (its name among the peers).
        let (v6, ll6) = if cfg.has_ipv6_only() {
            let v6 = GlbpRx::open6(&iface.name, iface.index)
                .with_context(|| format!("GLBP IPv6 socket on {}", iface.name))?;
            let vips: Vec<_> = cfg.groups.iter().flat_map(|g| g.vip6()).collect();
            let ll6 = ipv6::wait_link_local(&iface.name, &vips, LINK_LOCAL_WAIT)
                .await
                .with_context(|| {
                    format!(
                        "interface {} has no usable IPv6 link-local address after {} s \
                         (IPv6-only groups are known to their peers by it)",
                        iface.name,
                        LINK_LOCAL_WAIT.as_secs()
                    )
                })?;
            (Some(v6), Some(ll6))
        } else {
            (None, None)
        };
        let rx = Receivers { v4, v6 };
        let tx = FrameTx::open(iface.index).context("packet socket")?;
        let addrs = AddrList::new(iface.index).context("netlink")?;
        let dp = Dataplane::open(&AttachSpec {
            ifname: &iface.name,
            mac: iface.mac,
            mode: cfg.xdp_mode,
            driver: iface.driver.as_deref(),
            client_cache: cfg.client_cache.max_entries,
            groups: cfg.groups.len(),
            arp_rate: cfg.arp_rate_limit,
        })
        .context("XDP data plane")?;
        info!(
            interface = %iface.name,
            ip = ?iface.ip,
            mode = dp.mode(),
            adopted = dp.adopted(),
            pins = %dp.pin_dir().display(),
            "XDP program {} in {} mode",
            if dp.adopted() { "adopted" } else { "attached" },
            dp.mode()
        );
        let mut dp = dp;
        if let Some(logger) = dp.take_logger() {
            spawn_xdp_logger(logger);
        }
        let mcast6 = crate::net::mcast6::Memberships::new(iface.index);
        let mut agent = Agent {
            cfg: cfg.clone(),
            iface,
            dp,
            tx,
            addrs,
            groups: BTreeMap::new(),
            rx_stats: RxStats::default(),
            listed: Default::default(),
            warned: BTreeMap::new(),
            deadlines: Default::default(),
            hello_windows: Default::default(),
            counters: Default::default(),
            started: std::time::Instant::now(),
            peers_seen: Default::default(),
            mcast6,
            txq: Vec::new(),
            tracked_down: Default::default(),
            ll6,
        };
        agent.drop_unconfigured();
        let t = now();
        for g in &cfg.groups {
            agent.add_group(g.clone(), t).await?;
        }
        agent.sync_ipv6();
        Ok((agent, rx))
    }

    /// Groups a previous agent left in the maps that the config no longer has.
    fn drop_unconfigured(&mut self) {
        let stale: Vec<_> = self
            .dp
            .written()
            .map(|(k, _)| *k)
            .filter(|k| !self.cfg.groups.iter().any(|g| g.key() == *k))
            .collect();
        for k in stale {
            self.dp.remove_group(&k);
        }
    }

    async fn add_group(&mut self, g: Group, t: Instant) -> Result<()> {
        let ip = match g.vip {
            Some(_) => self.iface.ip.map(std::net::IpAddr::from),
            None => self.own_link_local().map(std::net::IpAddr::from),
        };
        let Some(ip) = ip else {
            anyhow::bail!(
                "group {}: {} has no {} address to run the election from",
                g.group,
                self.iface.name,
                if g.vip.is_some() {
                    "IPv4"
                } else {
                    "IPv6 link-local"
                }
            );
        };
        let me = Identity {
            ip,
            mac: self.iface.mac,
        };
        let mut engine = Engine::new(g.engine_config(), me, seed(&self.iface, g.group));
        let key = g.key();
        let auth = Authenticator::new(g.auth_mode()?);
        // A restart within the lease resumes what the data plane was doing,
        // so hosts see no gap; otherwise a cold start.
        let out = match self.dp.adopted_state(&key) {
            Some(a) => {
                info!(group = g.group, avg = a.avg, owned = ?a.owned, "resuming from the adopted data plane");
                let prior = Prior {
                    active: a.avg,
                    owned: a.owned,
                    handed_out: a.handed_out,
                };
                engine.resume(t, &prior)
            }
            None => engine.start(t),
        };
        self.groups.insert(
            g.group,
            Box::new(GroupRt {
                cfg: g.clone(),
                engine,
                key,
                auth,
            }),
        );
        self.apply(g.group, out, true).await;
        Ok(())
    }

    /// Runs until SIGTERM or SIGINT, then resigns and detaches.
    pub async fn run(mut self, mut rx: Receivers, opts: RunOptions) -> Result<()> {
        let control = crate::control::socket::bind(&self.iface.name)
            .inspect_err(|e| warn!("control socket unavailable (status shows maps only): {e}"))
            .ok();
        let metrics = match opts.metrics {
            Some(addr) => Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("metrics listener on {addr}"))?,
            ),
            None => None,
        };
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let mut hup = signal(SignalKind::hangup())?;
        let (mut b4, mut b6) = (rx::Batch::new(), rx::Batch::new());
        let mut tracker = self.start_tracking();
        loop {
            self.flush_tx();
            let deadline = self.next_deadline();
            tokio::select! {
                r = b4.recv(Some(&rx.v4)) => self.on_batch(r, &mut b4).await,
                r = b6.recv(rx.v6.as_ref()) => self.on_batch(r, &mut b6).await,
                _ = sleep_until(deadline) => self.on_timers().await,
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = hup.recv() => {
                    self.reload().await;
                    self.retrack(&mut tracker).await;
                    self.ensure_rx6(&mut rx);
                }
                w = tracker.next() => self.on_wake(&mut tracker, w).await,
                c = serve::accept_unix(control.as_ref()) => self.on_control(c),
                c = serve::accept_tcp(metrics.as_ref()) => self.on_metrics(c),
            }
        }
        crate::control::socket::unbind(&self.iface.name);
        self.shutdown().await;
        Ok(())
    }

    fn next_deadline(&mut self) -> Option<Instant> {
        self.deadlines.next()
    }

    async fn on_timers(&mut self) {
        let t = now();
        for n in self.deadlines.due(t) {
            if let Some(g) = self.groups.get_mut(&n) {
                let out = g.engine.poll(t);
                self.apply(n, out, false).await;
            }
        }
        // Awake anyway: hellos whose window is open leave in this burst.
        for n in self.hello_windows.due(t) {
            if let Some(g) = self.groups.get_mut(&n) {
                let out = g.engine.poll_hello(t);
                self.apply(n, out, false).await;
            }
        }
    }

    /// SIGHUP: re-read the config file; a bad file changes nothing.
    async fn reload(&mut self) {
        let Some(path) = crate::CONFIG_PATH.get() else {
            warn!("SIGHUP ignored: the agent was started without --config");
            return;
        };
        let new = match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|s| Config::parse(&s).map_err(|e| e.to_string()))
        {
            Ok(c) => c,
            Err(e) => {
                warn!(
                    "reload of {} rejected, nothing changed: {e}",
                    path.display()
                );
                return;
            }
        };
        if new.interface != self.cfg.interface || new.xdp_mode != self.cfg.xdp_mode {
            warn!("reload rejected: interface and xdp_mode need a restart");
            return;
        }
        let t = now();
        let gone: Vec<u16> = self
            .groups
            .keys()
            .copied()
            .filter(|n| !new.groups.iter().any(|g| g.group == *n))
            .collect();
        for n in gone {
            if let Some(mut g) = self.groups.remove(&n) {
                self.forget_deadline(n);
                let out = g.engine.shutdown(t);
                for o in &out.send {
                    self.send_one(&mut g.auth, o);
                }
                self.dp.remove_group(&g.key);
                info!(group = n, "group removed by reload");
            }
        }
        for g in &new.groups {
            match self.groups.get_mut(&g.group) {
                Some(rt) if rt.cfg == *g => {}
                Some(rt) if rt.key == g.key() => {
                    rt.cfg = g.clone();
                    match g.auth_mode() {
                        Ok(m) if m != *rt.auth.mode() => rt.auth = Authenticator::new(m),
                        Ok(_) => {}
                        Err(e) => warn!(group = g.group, "authentication unchanged: {e}"),
                    }
                    let out = rt.engine.reconfigure(t, g.engine_config());
                    self.apply(g.group, out, true).await;
                    info!(group = g.group, "group reconfigured");
                }
                Some(_) => {
                    // The VIP or VLAN changed: a different group on the wire.
                    if let Some(mut old) = self.groups.remove(&g.group) {
                        self.forget_deadline(g.group);
                        let out = old.engine.shutdown(t);
                        for o in &out.send {
                            self.send_one(&mut old.auth, o);
                        }
                        self.dp.remove_group(&old.key);
                    }
                    self.add_by_reload(g, t).await;
                }
                None => self.add_by_reload(g, t).await,
            }
        }
        self.cfg = new;
        self.sync_vmacs().await;
        self.sync_ipv6();
    }

    async fn add_by_reload(&mut self, g: &Group, t: Instant) {
        match self.add_group(g.clone(), t).await {
            Ok(()) => info!(group = g.group, "group added by reload"),
            Err(e) => warn!(group = g.group, "group not added by reload: {e:#}"),
        }
    }

    /// Clean stop: resign every group (peers take over at once), then
    /// detach the program and remove the pins.
    async fn shutdown(mut self) {
        let t = now();
        let numbers: Vec<u16> = self.groups.keys().copied().collect();
        for n in numbers {
            let out = match self.groups.get_mut(&n) {
                Some(g) => g.engine.shutdown(t),
                None => continue,
            };
            self.send_all(n, &out.send);
        }
        self.flush_tx();
        for mac in std::mem::take(&mut self.listed) {
            let _ = self.addrs.remove(mac).await;
        }
        info!("resigned; detaching XDP and removing pins");
        self.dp.detach_and_unpin();
    }
}

/// Forwards the XDP program's log lines into tracing.
fn spawn_xdp_logger(logger: crate::dataplane::XdpLogger) {
    use tokio::io::{Interest, unix::AsyncFd};
    // SAFETY: the logger owns its ring buffer fd and only this task uses it.
    let Ok(mut fd) = (unsafe { AsyncFd::register_with_interest(logger, Interest::READABLE) })
    else {
        warn!("XDP log reader unavailable");
        return;
    };
    tokio::spawn(async move {
        loop {
            let Ok(mut guard) = fd.readable_mut().await else {
                return;
            };
            guard.get_inner_mut().flush();
            guard.clear_ready();
        }
    });
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => {
            let wait = d.0.saturating_sub(now().0);
            tokio::time::sleep(std::time::Duration::from_millis(wait)).await
        }
        None => std::future::pending().await,
    }
}
