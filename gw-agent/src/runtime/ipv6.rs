//! The IPv6 side of the groups: one election drives both families. The
//! group's virtual IPv6 addresses go into GW_GROUPS6 with its IPv4 value
//! (apply.rs, `GroupSpec::vip6`), so whoever is AVG for IPv4 answers
//! Neighbor Discovery too and the vMACs are shared. Here: the multicast
//! memberships that let the solicitations in, the advertisements that
//! move IPv6 hosts off a failed forwarder, and the IPv6 copies of hellos.

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

    /// The IPv6 copy of hello `o` for a group with IPv6: the same TLVs, the
    /// Hello TLV carrying the virtual link-local address (40 bytes, address
    /// type 2), to ff02::66 with hop limit 255 from the interface's own
    /// link-local address, from each of `o.from`. The election runs on the
    /// IPv4 hellos; these show the group to IPv6 observers (tshark, Cisco
    /// IPv6 GLBP). Not received: see README "IPv6".
    pub(super) fn send_hello6(&mut self, auth: &mut Authenticator, o: &Outgoing) {
        let Some(g) = self.groups.get(&o.packet.group) else {
            return;
        };
        let Some(v6) = &g.cfg.ipv6 else {
            return;
        };
        let vip = v6.link_local(g.cfg.group);
        let Some(src) = link_local(&self.iface.name, &self.all_vip6()) else {
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
}
