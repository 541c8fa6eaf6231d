//! The standard configuration most tests start from, written the way the
//! agent writes it (dataplane::Dataplane::set_group): slot table first,
//! then the group value that makes it live, then the lease.
//!
//! Standard: interface MAC `IF_MAC`; group `GROUP` with VIP `VIP`,
//! untagged, index 0, AVG, round-robin over forwarders 1, 2, 3 (table
//! buffer 0); lease valid; this router forwards for forwarder 1's vMAC.

use gw_common::{GROUP_FLAG_AVG, GroupKey, GroupValue, MODE_ROUND_ROBIN, Slot, vmac};

use crate::{
    frames::{GROUP, IF_MAC, VIP, fwd_mac},
    harness::Xdp,
};

#[derive(Clone, Debug)]
pub struct GroupSetup {
    pub vip: [u8; 4],
    pub vlan: u16,
    pub idx: u16,
    pub group: u16,
    pub avg: bool,
    pub mode: u8,
    /// Forwarder numbers, in slot-table order.
    pub fwds: Vec<u8>,
}

impl GroupSetup {
    pub fn standard() -> Self {
        Self {
            vip: VIP,
            vlan: 0,
            idx: 0,
            group: GROUP,
            avg: true,
            mode: MODE_ROUND_ROBIN,
            fwds: vec![1, 2, 3],
        }
    }

    pub fn key(&self) -> GroupKey {
        GroupKey {
            vip: self.vip,
            vlan: self.vlan,
            _pad: 0,
        }
    }

    pub fn value(&self, table: u8) -> GroupValue {
        GroupValue {
            idx: self.idx,
            group: self.group,
            flags: if self.avg { GROUP_FLAG_AVG } else { 0 },
            mode: self.mode,
            table,
            _pad: 0,
        }
    }

    pub fn slots(&self) -> Vec<Slot> {
        slots(self.group, &self.fwds)
    }
}

/// Slot table entries for `fwds` of `group`.
pub fn slots(group: u16, fwds: &[u8]) -> Vec<Slot> {
    fwds.iter()
        .map(|&fwd| Slot {
            mac: vmac(group, fwd),
            fwd,
            _pad: 0,
        })
        .collect()
}

impl Xdp {
    /// Writes `g` with table buffer 0 live and a valid lease.
    pub fn add_group(&mut self, g: &GroupSetup) {
        self.set_table(g.idx as u32 * 2, &g.slots());
        self.set_group(g.key(), g.value(0));
        self.renew(g.idx);
    }
}

/// A fresh program with the standard configuration.
pub fn standard() -> Option<Xdp> {
    let mut x = Xdp::load()?;
    x.set_if_mac(IF_MAC);
    x.add_group(&GroupSetup::standard());
    x.own_vmac(fwd_mac(1), 0, 1);
    Some(x)
}
