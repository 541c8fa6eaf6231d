//! Received GLBP packets: checked, counted, then handed to their engine.

use std::collections::BTreeMap;

use tracing::debug;

use super::{Agent, now};
use crate::{net::socket::Received, proto::{GLBP_TTL, Packet}};

/// Why received packets were dropped before reaching an engine.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct RxStats {
    pub accepted: u64,
    /// TTL other than 255 (or missing): possibly routed from afar.
    pub bad_ttl: u64,
    /// Our own packets (looped back by a bridge, for example).
    pub own: u64,
    /// A group this agent does not run.
    pub unknown_group: u64,
    /// Decode failures by kind (`DecodeError::kind`).
    pub malformed: BTreeMap<&'static str, u64>,
}

impl Agent {
    pub(super) async fn on_packet(&mut self, m: Received, buf: &[u8]) {
        if m.ttl != Some(GLBP_TTL) {
            self.rx_stats.bad_ttl += 1;
            debug!(src = %m.src, ttl = ?m.ttl, "GLBP packet dropped: TTL is not 255");
            return;
        }
        if m.src == self.iface.ip {
            self.rx_stats.own += 1;
            return;
        }
        let pkt = match Packet::parse(&buf[..m.len]) {
            Ok(p) => p,
            Err(e) => {
                *self.rx_stats.malformed.entry(e.kind()).or_default() += 1;
                debug!(src = %m.src, "GLBP packet dropped: {e}");
                return;
            }
        };
        if pkt.owner == self.iface.mac {
            self.rx_stats.own += 1;
            return;
        }
        let Some(g) = self.groups.get_mut(&pkt.group) else {
            self.rx_stats.unknown_group += 1;
            return;
        };
        self.rx_stats.accepted += 1;
        let out = g.engine.receive(now(), m.src, &pkt);
        self.apply(pkt.group, out, false).await;
    }
}
