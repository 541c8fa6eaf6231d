//! Tracked objects into weights, and client-cache pruning: the inputs
//! besides GLBP packets, engine timers and signals.
//!
//! ```text
//!   net::track watchers --Change--> channel --+
//!   prune interval ---------------------------+--> Tracker::next() --> Agent::on_wake
//!                                                   |
//!       weight = max - sum(decrements of down objects), at least 1
//!                                                   v
//!                         Engine::set_weight --> Output --> apply
//! ```
//!
//! The engine carries the new weight in its next hello; below `lower` it
//! stops forwarding at once and tells the group, so a secondary takes its
//! vMACs over; at `upper` it forwards again (forwarder preemption delay).

use std::time::Duration;

use anyhow::{Result, bail};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tracing::{debug, info, warn};

use super::{Agent, now};
use crate::{
    config::{Config, Group, TrackObject},
    dataplane::{clients, monotonic_ns},
    net::track::{Change, Watchers, check_interfaces},
};

/// Prune at least this often (and at the timeout, when it is shorter).
const PRUNE_EVERY: Duration = Duration::from_secs(10);

pub(super) enum Wake {
    Changed(Change),
    Prune,
}

pub(super) struct Tracker {
    /// A fresh channel per set of watchers: a change still queued from the
    /// previous set (before a reload) must not land on a new object id.
    tx: UnboundedSender<Change>,
    rx: UnboundedReceiver<Change>,
    watchers: Option<Watchers>,
    objects: Vec<TrackObject>,
    /// Per object; up until its watcher says otherwise.
    up: Vec<bool>,
    prune: tokio::time::Interval,
    pruning: Option<tokio::task::JoinHandle<()>>,
}

/// Start-up check, before anything is attached: tracked interfaces exist
/// and scripts are executable files. (After start, a vanished interface or
/// script is simply down.)
pub(super) fn check(cfg: &Config) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for (i, g) in cfg.groups.iter().enumerate() {
        for (j, t) in g.track.iter().enumerate() {
            let at = format!("groups[{i}].track[{j}]");
            let o = t.object();
            if let Err(e) = check_interfaces([&o]) {
                bail!("{at}.interface: {e}");
            }
            if let TrackObject::Script { path, .. } = &o {
                match std::fs::metadata(path) {
                    Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => {}
                    Ok(_) => bail!("{at}.script: {} is not an executable file", path.display()),
                    Err(e) => bail!("{at}.script: {}: {e}", path.display()),
                }
            }
        }
    }
    Ok(())
}

/// The weight `g` advertises: its max less the decrements of its down
/// objects, never below 1 (0 is not a weight on the wire).
pub(super) fn weight(g: &Group, is_up: impl Fn(&TrackObject) -> bool) -> u8 {
    let down: u32 = g
        .track
        .iter()
        .filter(|t| !is_up(&t.object()))
        .map(|t| t.decrement)
        .sum();
    u32::from(g.weighting.max).saturating_sub(down).max(1) as u8
}

fn prune_interval(cfg: &Config) -> tokio::time::Interval {
    let every = PRUNE_EVERY.min(Duration::from_secs(
        cfg.client_cache.timeout_s.max(1).into(),
    ));
    let mut i = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    i
}

impl Tracker {
    pub(super) fn new(cfg: &Config) -> Tracker {
        let (tx, rx) = unbounded_channel();
        let mut t = Tracker {
            tx,
            rx,
            watchers: None,
            objects: Vec::new(),
            up: Vec::new(),
            prune: prune_interval(cfg),
            pruning: None,
        };
        t.reconfigure(cfg);
        t
    }

    /// New watchers for the objects `cfg` tracks; objects tracked before
    /// keep their state until their new watcher reports.
    fn reconfigure(&mut self, cfg: &Config) {
        let mut objects: Vec<TrackObject> = cfg
            .groups
            .iter()
            .flat_map(|g| g.track.iter().map(|t| t.object()))
            .collect();
        objects.sort();
        objects.dedup();
        if self.prune.period() != prune_interval(cfg).period() {
            self.prune = prune_interval(cfg);
        }
        if objects == self.objects && (objects.is_empty() || self.watchers.is_some()) {
            return;
        }
        let up = objects.iter().map(|o| self.is_up(o)).collect();
        self.watchers = None;
        let (tx, rx) = unbounded_channel();
        (self.tx, self.rx) = (tx, rx);
        if !objects.is_empty() {
            match Watchers::start(&objects, self.tx.clone()) {
                Ok(w) => self.watchers = Some(w),
                Err(e) => warn!("tracking unavailable, weights stay as they are: {e}"),
            }
        }
        self.objects = objects;
        self.up = up;
    }

    fn is_up(&self, o: &TrackObject) -> bool {
        self.objects
            .iter()
            .position(|x| x == o)
            .is_none_or(|i| self.up[i])
    }

    pub(super) async fn next(&mut self) -> Wake {
        tokio::select! {
            // `self.tx` keeps the channel open, so recv never ends.
            Some(c) = self.rx.recv() => Wake::Changed(c),
            _ = self.prune.tick() => Wake::Prune,
        }
    }
}

impl Agent {
    /// Tracking for the current config; weights are applied as the
    /// watchers report (within milliseconds for links and routes).
    pub(super) fn start_tracking(&self) -> Tracker {
        Tracker::new(&self.cfg)
    }

    pub(super) async fn on_wake(&mut self, t: &mut Tracker, w: Wake) {
        match w {
            Wake::Changed(c) => {
                let Some(o) = t.objects.get(c.id) else { return };
                if t.up[c.id] != c.up {
                    let st = if c.up { "up" } else { "down" };
                    info!(object = %o, "tracked {o} is {st} ({})", c.why);
                }
                t.up[c.id] = c.up;
                self.apply_weights(t).await;
            }
            Wake::Prune => self.prune_clients(t),
        }
    }

    /// After a reload: watchers for the new object list, weights for the
    /// new groups and thresholds.
    pub(super) async fn retrack(&mut self, t: &mut Tracker) {
        t.reconfigure(&self.cfg);
        self.apply_weights(t).await;
    }

    async fn apply_weights(&mut self, t: &Tracker) {
        self.tracked_down = t
            .objects
            .iter()
            .zip(&t.up)
            .filter(|(_, up)| !**up)
            .map(|(o, _)| o.to_string())
            .collect();
        let at = now();
        let numbers: Vec<u16> = self.groups.keys().copied().collect();
        for n in numbers {
            let Some(g) = self.groups.get_mut(&n) else {
                continue;
            };
            let w = weight(&g.cfg, |o| t.is_up(o));
            let out = g.engine.set_weight(at, w);
            if out.is_empty() {
                self.refresh_deadline(n);
            } else {
                self.apply(n, out, false).await;
            }
        }
    }

    /// Drops hosts not seen for `client_cache.timeout_s`, in a blocking
    /// task on a handle of its own: a big cache takes a while to read.
    fn prune_clients(&mut self, t: &mut Tracker) {
        if t.pruning.as_ref().is_some_and(|h| !h.is_finished()) {
            return;
        }
        let dir = self.dp.pin_dir().to_path_buf();
        let timeout_ns = u64::from(self.cfg.client_cache.timeout_s) * 1_000_000_000;
        let cutoff = monotonic_ns().saturating_sub(timeout_ns);
        t.pruning = Some(tokio::task::spawn_blocking(
            move || match clients::open_pinned(&dir) {
                Ok(mut m) => {
                    let n = clients::prune(&mut m, cutoff);
                    if n > 0 {
                        debug!("client cache: {n} hosts expired");
                    }
                }
                Err(e) => warn!("client cache pruning: {e}"),
            },
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_is_max_less_down_decrements_floor_1() {
        let g: Group = serde_json::from_str(
            r#"{"group":1,"vip":"192.0.2.1","weighting":{"max":100,"lower":80,"upper":90},
                "track":[{"interface":"up0","decrement":30},{"route":"203.0.113.0/24","decrement":20},
                         {"script":"/bin/true","decrement":60}]}"#,
        )
        .unwrap();
        let down = |names: &'static [&'static str]| {
            move |o: &TrackObject| !names.iter().any(|n| o.to_string().contains(n))
        };
        assert_eq!(weight(&g, down(&[])), 100);
        assert_eq!(weight(&g, down(&["up0"])), 70);
        assert_eq!(weight(&g, down(&["up0", "203.0.113.0"])), 50);
        assert_eq!(weight(&g, down(&["up0", "203.0.113.0", "/bin/true"])), 1);
    }
}
