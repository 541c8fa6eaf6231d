//! Received GLBP packets: checked, counted, then handed to their engine.

use std::collections::BTreeMap;
use std::net::IpAddr;

use std::time::{Duration, Instant};

use tracing::{debug, warn};

use super::{Agent, now};
use crate::{
    net::socket::Received,
    proto::{GLBP_TTL, Packet},
};

/// Why received packets were dropped before reaching an engine.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct RxStats {
    pub accepted: u64,
    /// TTL other than 255 (or missing): possibly routed from afar.
    pub bad_ttl: u64,
    /// Our own packets (looped back by a bridge, for example).
    pub own: u64,
    /// A group this agent does not run.
    pub unknown_group: u64,
    /// Decode failures by kind (`DecodeError::kind`).
    pub malformed: BTreeMap<String, u64>,
    /// Authentication failures by kind (`AuthError::kind`).
    pub auth: BTreeMap<String, u64>,
    /// Another box claims our IP or our MAC.
    pub conflicts: u64,
}

impl Agent {
    pub(super) async fn on_packet(&mut self, m: Received, buf: &[u8]) {
        if m.ttl != Some(GLBP_TTL) {
            self.rx_stats.bad_ttl += 1;
            debug!(src = %m.src, ttl = ?m.ttl, "GLBP packet dropped: TTL is not 255");
            return;
        }
        let bytes = &buf[..m.len];
        let pkt = match Packet::parse(bytes) {
            Ok(p) => p,
            Err(e) => {
                *self
                    .rx_stats
                    .malformed
                    .entry(e.kind().to_string())
                    .or_default() += 1;
                debug!(src = %m.src, "GLBP packet dropped: {e}");
                return;
            }
        };
        match (m.src == self.iface.ip, pkt.owner == self.iface.mac) {
            (true, true) => {
                // Our own hello, looped back by a bridge or a hairpin.
                self.rx_stats.own += 1;
                return;
            }
            (false, false) => {}
            (ip, _) => {
                self.rx_stats.conflicts += 1;
                let what = if ip { "IP address" } else { "MAC address" };
                self.limited_warn("conflict", || {
                    format!(
                        "address conflict: a GLBP peer {} (owner {}) claims our {what}",
                        m.src,
                        crate::fmt_mac(&pkt.owner),
                    )
                });
                return;
            }
        }
        let Some(g) = self.groups.get_mut(&pkt.group) else {
            self.rx_stats.unknown_group += 1;
            return;
        };
        let unauthenticated = matches!(g.auth.mode(), crate::auth::Mode::None);
        if let Err(e) = g.auth.verify(bytes, &pkt, super::unix_us()) {
            *self.rx_stats.auth.entry(e.kind().to_string()).or_default() += 1;
            let group = pkt.group;
            self.limited_warn(e.kind(), || {
                format!("group {group}: GLBP packet from {} dropped: {e}", m.src)
            });
            return;
        }
        if let Some(h) = pkt.hello()
            && h.priority == 255
            && self.peers_seen.insert((pkt.group, m.src))
        {
            warn!(
                group = pkt.group,
                "new peer {} with priority 255: it wins every AVG election{}",
                m.src,
                if unauthenticated {
                    "; this group is unauthenticated, so check that it is a router of yours"
                } else {
                    ""
                }
            );
        }
        self.rx_stats.accepted += 1;
        let Some(g) = self.groups.get_mut(&pkt.group) else {
            return;
        };
        let out = g.engine.receive(now(), IpAddr::V4(m.src), &pkt);
        self.apply(pkt.group, out, false).await;
    }
}

/// At most one warning per kind every 10 s: a flood of bad packets must not
/// flood the log.
const WARN_EVERY: Duration = Duration::from_secs(10);

impl Agent {
    pub(super) fn limited_warn(&mut self, kind: &'static str, msg: impl FnOnce() -> String) {
        let now = Instant::now();
        let last = self.warned.entry(kind).or_insert(now - WARN_EVERY * 2);
        if now.duration_since(*last) >= WARN_EVERY {
            *last = now;
            warn!(
                "{} (further ones counted, logged at most every 10 s)",
                msg()
            );
        }
    }
}
