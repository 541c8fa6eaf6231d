//! Answers on the control socket (status for `gw-agent status`) and the
//! metrics endpoint. Each answer is rendered in the main loop from one
//! consistent snapshot, then written by a task so a slow client cannot
//! stall the protocol.

use std::io;

use tokio::io::AsyncWriteExt;
use tracing::debug;

use super::Agent;
use crate::control::{AgentStatus, GroupControl, SCHEMA_VERSION, TrackControl};

/// Accepts on `l`, or never completes when there is no listener.
pub async fn accept_unix(
    l: Option<&tokio::net::UnixListener>,
) -> io::Result<tokio::net::UnixStream> {
    match l {
        Some(l) => l.accept().await.map(|(s, _)| s),
        None => std::future::pending().await,
    }
}

pub async fn accept_tcp(l: Option<&tokio::net::TcpListener>) -> io::Result<tokio::net::TcpStream> {
    match l {
        Some(l) => l.accept().await.map(|(s, _)| s),
        None => std::future::pending().await,
    }
}

impl Agent {
    pub(crate) fn agent_status(&self) -> AgentStatus {
        AgentStatus {
            schema_version: SCHEMA_VERSION,
            pid: std::process::id(),
            interface: self.iface.name.clone(),
            ip: self.iface.ip,
            ip6: self.ll6,
            mac: crate::fmt_mac(&self.iface.mac),
            uptime_s: self.started.elapsed().as_secs(),
            xdp_mode: self.dp.mode().into(),
            groups: self
                .groups
                .values()
                .map(|g| {
                    let mut c = GroupControl::from(&g.engine.status());
                    c.tracking = g
                        .cfg
                        .track
                        .iter()
                        .map(|t| {
                            let object = t.object().to_string();
                            TrackControl {
                                up: !self.tracked_down.contains(&object),
                                object,
                                decrement: t.decrement,
                            }
                        })
                        .collect();
                    c
                })
                .collect(),
            rx: self.rx_stats.clone(),
        }
    }

    pub(super) fn on_control(&self, c: io::Result<tokio::net::UnixStream>) {
        let Ok(mut stream) = c.inspect_err(|e| debug!("control accept: {e}")) else {
            return;
        };
        let body = serde_json::to_vec(&self.agent_status()).unwrap_or_default();
        tokio::spawn(async move {
            let _ = stream.write_all(&body).await;
            let _ = stream.shutdown().await;
        });
    }

    pub(super) fn on_metrics(&self, c: io::Result<tokio::net::TcpStream>) {
        let Ok(stream) = c.inspect_err(|e| debug!("metrics accept: {e}")) else {
            return;
        };
        let dp = crate::status::read(
            &self.dp.maps,
            &self.iface.name,
            &crate::dataplane::pin::netns_label(),
        );
        let body = crate::metrics::render(&self.agent_status(), &dp, &self.counters);
        tokio::spawn(crate::metrics::serve_one(stream, body));
    }
}
