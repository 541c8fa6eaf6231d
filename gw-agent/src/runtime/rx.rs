//! Received GLBP packets: checked, counted, then handed to their engine.

use std::{
    collections::BTreeMap,
    io,
    net::IpAddr,
    time::{Duration, Instant},
};

use tracing::{debug, warn};

use super::{Agent, Receivers, now};
use crate::{
    net::socket::{GlbpRx, Received, SLOT},
    proto::{GLBP_TTL, Packet},
};

/// Up to 64 datagrams taken in one wake-up (`GlbpRx::recv_batch`).
pub(super) struct Batch {
    buf: Vec<u8>,
    got: Vec<Received>,
}

impl Batch {
    pub fn new() -> Self {
        Batch {
            buf: vec![0; 64 * SLOT],
            got: Vec::with_capacity(64),
        }
    }

    /// The next datagrams of `rx`; never, without a socket.
    pub async fn recv(&mut self, rx: Option<&GlbpRx>) -> io::Result<()> {
        match rx {
            Some(rx) => rx.recv_batch(&mut self.buf, &mut self.got).await,
            None => std::future::pending().await,
        }
    }
}

/// Why received packets were dropped before reaching an engine.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct RxStats {
    pub accepted: u64,
    /// TTL other than 255 (or missing): possibly routed from afar.
    pub bad_ttl: u64,
    /// Our own packets (looped back by a bridge, for example).
    pub own: u64,
    /// Hellos of a group in the family its election does not run on: the
    /// IPv6 copies of a dual-stack group's hellos, or IPv4 hellos for an
    /// IPv6-only group (a peer configured with a VIP this router lacks).
    #[serde(default)]
    pub other_family: u64,
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
    pub(super) async fn on_batch(&mut self, r: io::Result<()>, b: &mut Batch) {
        if let Err(e) = r {
            warn!("GLBP receive: {e}");
            return;
        }
        let got = std::mem::take(&mut b.got);
        for (m, buf) in got.iter().zip(b.buf.chunks_exact(SLOT)) {
            self.on_packet(m, buf).await;
        }
        b.got = got;
    }

    /// Opens the IPv6 socket when a reload brought the first IPv6-only
    /// group.
    pub(super) fn ensure_rx6(&mut self, rx: &mut Receivers) {
        if rx.v6.is_some() || !self.cfg.has_ipv6_only() {
            return;
        }
        match GlbpRx::open6(&self.iface.name, self.iface.index) {
            Ok(s) => rx.v6 = Some(s),
            Err(e) => warn!("GLBP IPv6 socket: {e}; IPv6-only groups hear no peers"),
        }
    }

    /// This router's address in the family `src` is from.
    fn own_ip(&self, src: IpAddr) -> Option<IpAddr> {
        match src {
            IpAddr::V4(_) => self.iface.ip.map(IpAddr::V4),
            IpAddr::V6(_) => self.ll6.map(IpAddr::V6),
        }
    }

    async fn on_packet(&mut self, m: &Received, buf: &[u8]) {
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
        match (
            Some(m.src) == self.own_ip(m.src),
            pkt.owner == self.iface.mac,
        ) {
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
        // One election per group, on one family (runtime/ipv6.rs).
        if g.cfg.vip.is_some() != m.src.is_ipv4() {
            self.rx_stats.other_family += 1;
            return;
        }
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
        let out = g.engine.receive(now(), m.src, &pkt);
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
