//! Watchers for tracked objects (`config::TrackObject`): each reports
//! `Change { id, up }` on a channel whenever its object's state differs
//! from what it last reported (and once at start). What a state change
//! means for the weight is the runtime's business (`runtime::track`).
//!
//! ```text
//!   rtnetlink multicast (RTMGRP_LINK | RTMGRP_IPV4_ROUTE) --+
//!   interval tick (safety net for lost events) -------------+--> netlink task --+
//!                                                                               +--> Change
//!   per script: interval tick -> run with timeout ----------> script task ------+
//! ```
//!
//! Links are judged from the RTM_NEWLINK/RTM_DELLINK events themselves;
//! routes and next hops by an RTM_GETROUTE lookup (`ip route get`), redone
//! after every burst of link or route events, since a carrier change flags
//! routes link-down without any route event.

use std::{net::Ipv4Addr, time::Duration};

use crate::config::TrackObject;
use futures_util::{StreamExt, TryStreamExt};
use rtnetlink::{
    Handle, RouteMessageBuilder,
    constants::{RTMGRP_IPV4_ROUTE, RTMGRP_LINK},
    packet_core::{NLM_F_REQUEST, NetlinkMessage, NetlinkPayload},
    packet_route::{
        RouteNetlinkMessage,
        link::{LinkAttribute, LinkFlags, LinkMessage},
        route::{RouteAttribute, RouteFlags, RouteMessage, RouteNextHopFlags, RouteType},
    },
    sys::{AsyncSocket, SocketAddr},
};
use tokio::sync::mpsc::UnboundedSender;

/// Object `id` (its index in the list given to `Watchers::start`) is now
/// up or down; `why` says what was seen, for the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub id: usize,
    pub up: bool,
    pub why: String,
}

/// The running watcher tasks; dropping this stops them (scripts running
/// at that moment are killed).
pub struct Watchers {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Watchers {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Start-up check: every tracked interface exists. Later it may vanish
/// (then it is down) and come back.
pub fn check_interfaces<'a>(
    objects: impl IntoIterator<Item = &'a TrackObject>,
) -> Result<(), String> {
    for o in objects {
        if let TrackObject::Interface(name) = o {
            // Not /sys/class/net: sysfs shows the namespace that mounted
            // it, which need not be ours (`nsenter --net`).
            let c = std::ffi::CString::new(name.as_str()).map_err(|e| e.to_string())?;
            // SAFETY: a valid NUL-terminated string.
            if unsafe { libc::if_nametoindex(c.as_ptr()) } == 0 {
                return Err(format!("tracked interface {name} does not exist"));
            }
        }
    }
    Ok(())
}

impl Watchers {
    /// Starts one netlink task for every interface, route and next-hop
    /// object, and one task per script. Needs a tokio runtime.
    pub fn start(objects: &[TrackObject], tx: UnboundedSender<Change>) -> std::io::Result<Self> {
        let mut tasks = Vec::new();
        let nl: Vec<(usize, TrackObject)> = objects
            .iter()
            .cloned()
            .enumerate()
            .filter(|(_, o)| !matches!(o, TrackObject::Script { .. }))
            .collect();
        if !nl.is_empty() {
            let (mut conn, handle, messages) = rtnetlink::new_connection()?;
            conn.socket_mut()
                .socket_mut()
                .bind(&SocketAddr::new(0, RTMGRP_LINK | RTMGRP_IPV4_ROUTE))?;
            tasks.push(tokio::spawn(conn));
            let mut w = NetlinkWatch {
                handle,
                objects: nl,
                last: Default::default(),
                tx: tx.clone(),
            };
            tasks.push(tokio::spawn(async move { w.run(messages).await }));
        }
        for (id, o) in objects.iter().enumerate() {
            if let TrackObject::Script {
                path,
                interval_ms,
                timeout_ms,
            } = o.clone()
            {
                let timeout = Duration::from_millis(timeout_ms.into());
                let every = Duration::from_millis(interval_ms.into());
                tasks.push(tokio::spawn(script::watch(
                    id,
                    path,
                    every,
                    timeout,
                    tx.clone(),
                )));
            }
        }
        Ok(Self { tasks })
    }
}

type Messages = futures_util::stream::BoxStream<'static, NetlinkMessage<RouteNetlinkMessage>>;

struct NetlinkWatch {
    handle: Handle,
    objects: Vec<(usize, TrackObject)>,
    /// Last state reported per object id.
    last: std::collections::BTreeMap<usize, bool>,
    tx: UnboundedSender<Change>,
}

impl NetlinkWatch {
    async fn run<S>(&mut self, messages: S)
    where
        S: futures_util::Stream<Item = (NetlinkMessage<RouteNetlinkMessage>, SocketAddr)>
            + Send
            + 'static,
    {
        let mut messages: Messages = messages.map(|(m, _)| m).boxed();
        let every = self
            .objects
            .iter()
            .filter_map(|(_, o)| match o {
                TrackObject::Route { interval_ms, .. }
                | TrackObject::NextHop { interval_ms, .. } => Some(*interval_ms),
                _ => None,
            })
            .min()
            .unwrap_or(crate::config::DEFAULT_ROUTE_INTERVAL_MS);
        let mut tick = tokio::time::interval(Duration::from_millis(every.into()));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                // The first tick is immediate: the initial full check.
                _ = tick.tick() => self.full_check().await,
                m = messages.next() => {
                    let Some(m) = m else { return };
                    self.on_message(m);
                    // A burst (a link going down removes several routes)
                    // costs one round of lookups.
                    while let Some(Some(m)) = futures_util::FutureExt::now_or_never(messages.next()) {
                        self.on_message(m);
                    }
                    self.check_routes().await;
                }
            }
            if self.tx.is_closed() {
                return;
            }
        }
    }

    fn report(&mut self, id: usize, up: bool, why: String) {
        if self.last.insert(id, up) != Some(up) {
            let _ = self.tx.send(Change { id, up, why });
        }
    }

    fn on_message(&mut self, m: NetlinkMessage<RouteNetlinkMessage>) {
        let (link, deleted) = match m.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) => (l, false),
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(l)) => (l, true),
            _ => return,
        };
        self.on_link(&link, deleted);
    }

    fn on_link(&mut self, link: &LinkMessage, deleted: bool) {
        let Some(name) = link_name(link) else { return };
        let ids: Vec<usize> = self
            .objects
            .iter()
            .filter(|(_, o)| matches!(o, TrackObject::Interface(n) if n == name))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let (up, why) = if deleted {
                (false, "deleted".to_string())
            } else {
                link_state(link.header.flags)
            };
            self.report(id, up, why);
        }
    }

    /// Every object from scratch: a link dump, then the route lookups.
    async fn full_check(&mut self) {
        let mut seen = std::collections::BTreeSet::new();
        let mut links = self.handle.link().get().execute();
        while let Ok(Some(l)) = links.try_next().await {
            if let Some(n) = link_name(&l) {
                seen.insert(n.to_string());
            }
            self.on_link(&l, false);
        }
        let gone: Vec<usize> = self
            .objects
            .iter()
            .filter(|(_, o)| matches!(o, TrackObject::Interface(n) if !seen.contains(n)))
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            self.report(id, false, "does not exist".into());
        }
        self.check_routes().await;
    }

    async fn check_routes(&mut self) {
        let objs: Vec<(usize, TrackObject)> = self
            .objects
            .iter()
            .filter(|(_, o)| !matches!(o, TrackObject::Interface(_)))
            .cloned()
            .collect();
        for (id, o) in objs {
            let (up, why) = match o {
                TrackObject::Route { addr, len, .. } => {
                    route_up(lookup(&mut self.handle, addr).await, len)
                }
                TrackObject::NextHop { addr, .. } => {
                    next_hop_up(lookup(&mut self.handle, addr).await)
                }
                _ => continue,
            };
            self.report(id, up, why);
        }
    }
}

fn link_name(l: &LinkMessage) -> Option<&str> {
    l.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(n) => Some(n.as_str()),
        _ => None,
    })
}

/// Up = administratively up and carrier (what `ip link` shows as
/// UP,LOWER_UP).
pub fn link_state(flags: LinkFlags) -> (bool, String) {
    match (
        flags.contains(LinkFlags::Up),
        flags.contains(LinkFlags::LowerUp),
    ) {
        (true, true) => (true, "link up".into()),
        (false, _) => (false, "administratively down".into()),
        (true, false) => (false, "no carrier".into()),
    }
}

/// RTM_GETROUTE for `dst` with RTM_F_FIB_MATCH: the routing table entry the
/// kernel would use (its prefix length and next hops), or the error.
async fn lookup(handle: &mut Handle, dst: Ipv4Addr) -> Result<RouteMessage, String> {
    let mut msg = RouteMessageBuilder::<Ipv4Addr>::new()
        .destination_prefix(dst, 32)
        .build();
    msg.header.flags = RouteFlags::FibMatch;
    let mut req = NetlinkMessage::from(RouteNetlinkMessage::GetRoute(msg));
    req.header.flags = NLM_F_REQUEST;
    let mut resp = handle.request(req).map_err(|e| e.to_string())?;
    while let Some(m) = resp.next().await {
        match m.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(r)) => return Ok(r),
            NetlinkPayload::Error(e) => {
                return Err(e.to_io().to_string());
            }
            _ => {}
        }
    }
    Err("no answer".into())
}

/// Whether the route a lookup matched can carry traffic: a unicast (or
/// local) route with at least one next hop neither dead nor link-down.
fn usable(r: &RouteMessage) -> Result<(), String> {
    if !matches!(r.header.kind, RouteType::Unicast | RouteType::Local) {
        return Err(format!("route type {:?}", r.header.kind));
    }
    let bad = RouteNextHopFlags::Dead | RouteNextHopFlags::Linkdown;
    let hops = r.attributes.iter().find_map(|a| match a {
        RouteAttribute::MultiPath(h) => Some(h),
        _ => None,
    });
    let alive = match hops {
        Some(h) => h.iter().any(|n| !n.flags.intersects(bad)),
        None => !r
            .header
            .flags
            .intersects(RouteFlags::Dead | RouteFlags::Linkdown),
    };
    if alive {
        Ok(())
    } else {
        Err("next hop link down".into())
    }
}

/// A tracked route is up when the matching entry is at least as specific
/// as the prefix (a default or covering route does not count) and usable.
pub fn route_up(r: Result<RouteMessage, String>, len: u8) -> (bool, String) {
    let r = match r {
        Ok(r) => r,
        Err(e) => return (false, e),
    };
    let got = r.header.destination_prefix_length;
    if got < len {
        return (false, format!("only a /{got} route covers it"));
    }
    match usable(&r) {
        Ok(()) => (true, format!("via a /{got} route")),
        Err(e) => (false, e),
    }
}

/// A next hop is up when it is on a directly connected subnet (the
/// matching route has no gateway) whose link is up.
pub fn next_hop_up(r: Result<RouteMessage, String>) -> (bool, String) {
    let r = match r {
        Ok(r) => r,
        Err(e) => return (false, e),
    };
    let gw = |attrs: &[RouteAttribute]| {
        attrs
            .iter()
            .any(|a| matches!(a, RouteAttribute::Gateway(_)))
    };
    let via_gw = gw(&r.attributes)
        || r.attributes.iter().any(
            |a| matches!(a, RouteAttribute::MultiPath(h) if h.iter().any(|n| gw(&n.attributes))),
        );
    if via_gw {
        return (false, "not directly connected".into());
    }
    match usable(&r) {
        Ok(()) => (true, "directly connected".into()),
        Err(e) => (false, e),
    }
}

#[path = "track_script.rs"]
mod script;
pub use script::run_script;

#[cfg(test)]
#[path = "track_tests.rs"]
mod tests;
