//! The IPv6 side of the groups. A group has one election: over IPv4 when
//! it has an IPv4 VIP (dual-stack), else over IPv6 (IPv6-only: hellos to
//! ff02::66, routers known by their link-local addresses). Its virtual
//! IPv6 addresses go into GW_GROUPS6 with its GW_GROUPS value (apply.rs,
//! `GroupSpec::vip6`), so the AVG answers Neighbor Discovery and both
//! families share the vMACs. Here: the multicast memberships that let the
//! solicitations in, the advertisements that move IPv6 hosts off a failed
//! forwarder, and the IPv6 hellos.

use std::net::{IpAddr, Ipv6Addr};

use tracing::warn;

use super::Agent;
use crate::{
    auth::Authenticator,
    engine::Outgoing,
    net::{
        frame6::{glbp_frame6, neighbor_advert},
        mcast6::link_local,
    },
    proto::Tlv,
};

impl Agent {
    /// Every configured virtual IPv6 address, of every group.
    pub(super) fn all_vip6(&self) -> Vec<Ipv6Addr> {
        self.groups.values().flat_map(|g| g.cfg.vip6()).collect()
    }

    /// Joins the solicited-node groups of the virtual IPv6 addresses (and
    /// leaves those no longer configured).
    pub(super) fn sync_ipv6(&mut self) {
        let vips = self.all_vip6();
        if let Err(e) = self.mcast6.sync(&vips) {
            warn!("IPv6 multicast membership: {e}");
        }
    }

    /// After the IPv4 redirect of host `client`: the same move for IPv6,
    /// one unsolicited advertisement per virtual IPv6 address of `group`.
    pub(super) fn redirect6(&self, group: u16, client: [u8; 6], vmac: [u8; 6]) {
        let Some(g) = self.groups.get(&group) else {
            return;
        };
        for vip in g.cfg.vip6() {
            let frame = neighbor_advert(self.iface.mac, vmac, vip, client);
            if let Err(e) = self.tx.send(&frame) {
                warn!(group, "redirect NA to {}: {e}", crate::fmt_mac(&client));
            }
        }
    }

    /// The IPv6 hello for `o`, to ff02::66 with hop limit 255 from the
    /// interface's link-local address, from each of `o.from`; the Hello
    /// TLV carries the virtual link-local address (40 bytes, address type
    /// 2). For an IPv6-only group this is the hello its election runs on;
    /// for a dual-stack group a copy that shows the group to IPv6 observers
    /// (tshark, Cisco IPv6 GLBP), while its election runs on IPv4.
    pub(super) fn send_hello6(&mut self, auth: &mut Authenticator, o: &Outgoing) {
        let Some(g) = self.groups.get(&o.packet.group) else {
            return;
        };
        let Some(v6) = &g.cfg.ipv6 else {
            return;
        };
        let vip = v6.link_local(g.cfg.group);
        let Some(src) = self.own_link_local() else {
            let name = self.iface.name.clone();
            self.limited_warn("hello6_no_link_local", || {
                format!("no usable IPv6 link-local address on {name}: IPv6 hellos not sent")
            });
            return;
        };
        let mut pkt = o.packet.clone();
        for t in &mut pkt.tlvs {
            if let Tlv::Hello(h) = t {
                h.vip = IpAddr::V6(vip);
            }
        }
        let payload = auth.seal(&pkt, super::unix_us());
        for mac in &o.from {
            self.txq.push(glbp_frame6(*mac, src, &payload));
        }
    }

    /// The interface's IPv6 link-local address: the identity of this
    /// router in IPv6-only groups and the source of IPv6 hellos. Read once
    /// (not per hello: /proc/net/if_inet6 lists every address).
    pub(super) fn own_link_local(&mut self) -> Option<Ipv6Addr> {
        if self.ll6.is_none() {
            self.ll6 = link_local(&self.iface.name, &self.all_vip6());
        }
        self.ll6
    }
}

/// Waits up to `limit` for a link-local address of `ifname` (not one of
/// `vips`) to leave duplicate address detection: an interface just
/// brought up has none usable for a second or two.
pub(super) async fn wait_link_local(
    ifname: &str,
    vips: &[Ipv6Addr],
    limit: std::time::Duration,
) -> Option<Ipv6Addr> {
    let until = std::time::Instant::now() + limit;
    loop {
        if let Some(a) = link_local(ifname, vips) {
            return Some(a);
        }
        if std::time::Instant::now() >= until {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
