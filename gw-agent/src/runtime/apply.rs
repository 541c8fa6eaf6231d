//! Applying engine outputs: packets out, desired state into the maps,
//! hosts of a failed forwarder moved.

use std::collections::{BTreeMap, BTreeSet};

use gw_common::{ClientValue, MacKey, VmacValue};
use tracing::{info, warn};

use super::Agent;
use crate::{
    auth::{Authenticator, Mode},
    dataplane::{GroupSpec, monotonic_ns},
    engine::{Event, Outgoing, Output, Redirect},
    net::frame::{arp_reply, glbp_frame},
    policy,
};

impl Agent {
    /// Applies one engine output for `group`. `force` rewrites the group's
    /// maps even if the engine reports no change (start, reconfigure).
    pub(super) async fn apply(&mut self, group: u16, out: Output, force: bool) {
        self.refresh_deadline(group);
        for e in &out.events {
            info!(group, "{e}");
            self.on_event(group, e);
        }
        self.send_all(group, &out.send);
        let Some(g) = self.groups.get(&group) else {
            return;
        };
        if out.dataplane_changed || force {
            let d = g.engine.dataplane();
            let (mode, slots) = policy::build(g.cfg.engine_config().load_balancing, &d.slots);
            let spec = GroupSpec {
                key: g.key,
                group,
                avg: d.avg,
                mode,
                slots,
                vip6: g.cfg.vip6().iter().map(|a| a.octets()).collect(),
            };
            if let Err(e) = self.dp.set_group(&spec) {
                warn!(group, "writing the data plane: {e}");
            }
            self.sync_vmacs().await;
        }
        if !out.send.is_empty() || force {
            self.renew_lease(group);
        }
        for r in &out.redirects {
            self.redirect(group, r);
        }
    }

    /// The lease lets the data plane answer for one hold time past this
    /// hello: if the agent dies, answering stops when peers take over.
    fn renew_lease(&mut self, group: u16) {
        let Some(g) = self.groups.get(&group) else {
            return;
        };
        let hold_ms = g.engine.hold_ms();
        if let Some(idx) = self.dp.group_idx(&g.key) {
            let until = monotonic_ns() + u64::from(hold_ms) * 1_000_000;
            if let Err(e) = self.dp.renew_lease(idx, until) {
                warn!(group, "renewing the lease: {e}");
            }
        }
    }

    pub(super) fn send_all(&mut self, group: u16, send: &[Outgoing]) {
        let Some(mut auth) = self
            .groups
            .get_mut(&group)
            .map(|g| std::mem::replace(&mut g.auth, Authenticator::new(Mode::None)))
        else {
            return;
        };
        for o in send {
            self.send_one(&mut auth, o);
        }
        if let Some(g) = self.groups.get_mut(&group) {
            g.auth = auth;
        }
    }

    /// One packet, sealed by the group's authenticator, from each source MAC.
    pub(super) fn send_one(&mut self, auth: &mut Authenticator, o: &Outgoing) {
        // An IPv6-only group (no IPv4 VIP) speaks IPv6 only.
        let v4 = self
            .groups
            .get(&o.packet.group)
            .is_none_or(|g| g.cfg.vip.is_some());
        if let (true, Some(ip)) = (v4, self.iface.ip) {
            let payload = auth.seal(&o.packet, super::unix_us());
            for mac in &o.from {
                self.txq.push(glbp_frame(*mac, ip, &payload));
            }
        }
        self.send_hello6(auth, o);
    }

    /// Sends the GLBP frames queued since the last call, together: the
    /// hellos of every group due in one wake-up leave in one sendmmsg.
    pub(super) fn flush_tx(&mut self) {
        if self.txq.is_empty() {
            return;
        }
        let (failed, err) = self.tx.send_many(&self.txq);
        self.counters.hello_tx += (self.txq.len() - failed) as u64;
        self.txq.clear();
        if let Some(e) = err {
            self.limited_warn("glbp_tx", || {
                format!("sending GLBP: {failed} frame(s) not sent: {e}")
            });
        }
    }

    /// Counts state changes for metrics and runs the notify command.
    fn on_event(&mut self, group: u16, e: &Event) {
        match e {
            Event::VgStateChanged { .. } => {
                *self.counters.role_changes.entry(group).or_default() += 1
            }
            Event::ForwarderStateChanged { .. } => {
                *self.counters.forwarder_changes.entry(group).or_default() += 1
            }
            _ => return,
        }
        if let (Some(n), Some(args)) = (
            &self.cfg.notify,
            super::notify::args(&self.iface.name, group, e),
        ) {
            super::notify::run(n, args);
        }
    }

    /// GW_VMACS and the device address list = union of what every group's
    /// engine forwards for.
    pub(super) async fn sync_vmacs(&mut self) {
        let mut desired = BTreeMap::new();
        for g in self.groups.values() {
            let Some(idx) = self.dp.group_idx(&g.key) else {
                continue;
            };
            for (fwd, vmac) in &g.engine.dataplane().owned {
                desired.insert(
                    MacKey::new(*vmac),
                    VmacValue {
                        idx,
                        fwd: *fwd,
                        _pad: 0,
                    },
                );
            }
        }
        if let Err(e) = self.dp.set_vmacs(&desired) {
            warn!("writing vMACs: {e}");
        }
        let want: BTreeSet<[u8; 6]> = desired.keys().map(|k| k.mac).collect();
        if want == self.listed {
            return;
        }
        for mac in want.difference(&self.listed.clone()) {
            match self.addrs.add(*mac).await {
                Ok(()) => {
                    self.listed.insert(*mac);
                }
                Err(e) => warn!("adding {} to the address list: {e}", crate::fmt_mac(mac)),
            }
        }
        for mac in self.listed.clone().difference(&want) {
            let _ = self.addrs.remove(*mac).await;
            self.listed.remove(mac);
        }
    }

    /// Tells every client the cache says holds `r.vmac` to use a live
    /// forwarder instead (unicast ARP reply), spreading them over `r.to`.
    fn redirect(&mut self, group: u16, r: &Redirect) {
        let Some(g) = self.groups.get(&group) else {
            return;
        };
        let Some(idx) = self.dp.group_idx(&g.key) else {
            return;
        };
        if r.to.is_empty() {
            return;
        }
        let vip = g.cfg.vip;
        // One batched read of the cache: it may hold 100k hosts.
        let clients: Vec<_> = crate::dataplane::clients::dump(&self.dp.maps.clients)
            .into_iter()
            .filter(|(k, v)| k.idx == idx && v.fwd == r.fwd)
            .collect();
        for (i, (k, v)) in clients.iter().enumerate() {
            let (fwd, vmac) = r.to[i % r.to.len()];
            // An IPv6-only group's hosts hear only the advertisement.
            if let Some(vip) = vip {
                let frame = arp_reply(self.iface.mac, vmac, vip, k.mac, v.ip.into());
                if let Err(e) = self.tx.send(&frame) {
                    warn!(group, "redirect ARP to {}: {e}", crate::fmt_mac(&k.mac));
                    continue;
                }
            }
            self.redirect6(group, k.mac, vmac);
            let moved = ClientValue {
                fwd,
                last_seen_ns: monotonic_ns(),
                ..*v
            };
            let _ = self.dp.maps.clients.insert(k, moved, 0);
        }
        info!(
            group,
            "moved {} hosts off forwarder {} ({})",
            clients.len(),
            r.fwd,
            crate::fmt_mac(&r.vmac)
        );
    }
}
