//! Optional Prometheus endpoint (`--metrics ADDR:PORT`, off by default).
//!
//! Every scrape builds a fresh registry from one snapshot of the agent
//! (control plane) and the maps (data plane): the values are the agent's
//! and the kernel's own counters, so nothing is double-counted or lost
//! between scrapes. Served as OpenMetrics text by prometheus-client.

use prometheus_client::{
    encoding::text::encode,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{control::AgentStatus, status::InterfaceStatus};

type Labels = Vec<(String, String)>;

fn l(pairs: &[(&str, String)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect()
}

/// Agent counters kept by the runtime (not in the maps or the engine).
#[derive(Clone, Debug, Default)]
pub struct AgentCounters {
    /// Gateway state changes per group.
    pub role_changes: std::collections::BTreeMap<u16, u64>,
    /// Forwarder state changes per group.
    pub forwarder_changes: std::collections::BTreeMap<u16, u64>,
    /// GLBP frames sent (one per source MAC).
    pub hello_tx: u64,
}

/// State as a number: Disabled 0, Initial 1, Listen 2, Speak 3, Standby 4,
/// Active 5 (README "Metrics").
pub fn state_code(s: &str) -> i64 {
    match s {
        "Initial" => 1,
        "Listen" => 2,
        "Speak" => 3,
        "Standby" => 4,
        "Active" => 5,
        _ => 0,
    }
}

pub fn render(agent: &AgentStatus, dp: &InterfaceStatus, c: &AgentCounters) -> String {
    let mut r = Registry::with_prefix("gw");
    let gauge = |r: &mut Registry, name: &str, help: &str| {
        let f = Family::<Labels, Gauge>::default();
        r.register(name, help, f.clone());
        f
    };
    let counter = |r: &mut Registry, name: &str, help: &str| {
        let f = Family::<Labels, Counter>::default();
        r.register(name, help, f.clone());
        f
    };
    let iface = agent.interface.clone();
    let state = gauge(
        &mut r,
        "group_state",
        "Gateway state: 0 Disabled .. 5 Active",
    );
    let avg = gauge(
        &mut r,
        "group_avg",
        "1 when this router answers ARP for the VIP",
    );
    let weight = gauge(&mut r, "group_weight", "Current forwarding weight");
    let roles = counter(&mut r, "role_changes", "Gateway state changes");
    let fchanges = counter(
        &mut r,
        "forwarder_changes",
        "Virtual forwarder state changes",
    );
    let replies = counter(
        &mut r,
        "arp_replies",
        "ARP answers per forwarder vMAC handed out",
    );
    let frames = counter(
        &mut r,
        "vmac_frames",
        "Frames received for a vMAC this router forwards for",
    );
    let clients = gauge(&mut r, "client_cache_entries", "Hosts in the client cache");
    let addrs = gauge(
        &mut r,
        "group_address_info",
        "1 per virtual address of the group (IPv4 and IPv6)",
    );
    for g in &agent.groups {
        let gl = l(&[("interface", iface.clone()), ("group", g.group.to_string())]);
        state.get_or_create(&gl).set(state_code(&g.state));
        weight.get_or_create(&gl).set(g.weight.into());
        roles
            .get_or_create(&gl)
            .inc_by(c.role_changes.get(&g.group).copied().unwrap_or(0));
        fchanges
            .get_or_create(&gl)
            .inc_by(c.forwarder_changes.get(&g.group).copied().unwrap_or(0));
        let Some(d) = dp.groups.iter().find(|d| d.group == g.group) else {
            continue;
        };
        avg.get_or_create(&gl)
            .set(i64::from(d.avg && d.lease_ms > 0));
        let v4 = d.vip.map(std::net::IpAddr::from);
        for a in v4.into_iter().chain(d.vip6.iter().map(|a| (*a).into())) {
            let family = if a.is_ipv4() { "ipv4" } else { "ipv6" };
            addrs
                .get_or_create(&l(&[
                    ("interface", iface.clone()),
                    ("group", g.group.to_string()),
                    ("address", a.to_string()),
                    ("family", family.into()),
                ]))
                .set(1);
        }
        clients.get_or_create(&gl).set(d.clients as i64);
        for s in &d.slots {
            let fl = l(&[
                ("interface", iface.clone()),
                ("group", g.group.to_string()),
                ("forwarder", s.forwarder.to_string()),
            ]);
            replies.get_or_create(&fl).inc_by(s.arp_replies);
        }
        for f in &d.forwarding {
            let fl = l(&[
                ("interface", iface.clone()),
                ("group", g.group.to_string()),
                ("forwarder", f.forwarder.to_string()),
            ]);
            frames.get_or_create(&fl).inc_by(f.frames);
        }
    }
    let xdp = counter(&mut r, "xdp_frames", "XDP verdicts by reason");
    for (reason, n) in &dp.counters {
        xdp.get_or_create(&l(&[
            ("interface", iface.clone()),
            ("reason", (*reason).into()),
        ]))
        .inc_by(*n);
    }
    let drops = counter(
        &mut r,
        "glbp_rx_dropped",
        "GLBP packets dropped before the engine, by reason",
    );
    let rx = &agent.rx;
    let mut reasons: Vec<(String, u64)> = vec![
        ("bad_ttl".into(), rx.bad_ttl),
        ("own".into(), rx.own),
        ("unknown_group".into(), rx.unknown_group),
        ("conflict".into(), rx.conflicts),
    ];
    reasons.extend(rx.malformed.iter().map(|(k, v)| (k.clone(), *v)));
    for (reason, n) in reasons {
        drops
            .get_or_create(&l(&[("interface", iface.clone()), ("reason", reason)]))
            .inc_by(n);
    }
    let auth = counter(
        &mut r,
        "auth_failures",
        "GLBP packets failing authentication, by reason",
    );
    for (reason, n) in &rx.auth {
        auth.get_or_create(&l(&[
            ("interface", iface.clone()),
            ("reason", reason.clone()),
        ]))
        .inc_by(*n);
    }
    let hrx = counter(&mut r, "hello_rx", "GLBP packets accepted");
    hrx.get_or_create(&l(&[("interface", iface.clone())]))
        .inc_by(rx.accepted);
    let htx = counter(&mut r, "hello_tx", "GLBP frames sent");
    htx.get_or_create(&l(&[("interface", iface.clone())]))
        .inc_by(c.hello_tx);
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = encode(&mut out, &r);
    out
}

/// Answers one HTTP request on `stream` with `body` for GET /metrics.
pub async fn serve_one(mut stream: tokio::net::TcpStream, body: String) {
    let mut buf = [0u8; 1024];
    let n = match tokio::time::timeout(std::time::Duration::from_secs(2), stream.read(&mut buf))
        .await
    {
        Ok(Ok(n)) => n,
        _ => return,
    };
    let head = String::from_utf8_lossy(&buf[..n]);
    let ok = head.starts_with("GET /metrics ") || head.starts_with("GET / ");
    let resp = if ok {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    } else {
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
    };
    let _ = stream.write_all(resp.as_bytes()).await;
    let _ = stream.shutdown().await;
}
