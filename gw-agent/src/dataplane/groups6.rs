//! GW_GROUPS6: a group's virtual IPv6 addresses. Each maps to the very
//! `GroupValue` the group's IPv4 key maps to in GW_GROUPS, so Neighbor
//! Discovery and ARP share the group's index, slot table, lease, counters
//! and vMACs: one election drives both families.
//!
//! The value is written after GW_GROUPS whenever it changes (AVG flag,
//! table flip), so an IPv6 entry never points at a slot table that the
//! next change may overwrite: that table is the one both entries left.

use gw_common::{GroupKey, GroupKey6, GroupValue, map_names};

use super::{Dataplane, DataplaneError};

impl Dataplane {
    /// Makes GW_GROUPS6 hold exactly `vips` for the group `key`, each with
    /// `value`; `value_changed` rewrites entries that are already there.
    pub(super) fn set_vip6(
        &mut self,
        key: &GroupKey,
        value: GroupValue,
        vips: &[[u8; 16]],
        value_changed: bool,
    ) -> Result<(), DataplaneError> {
        let want: Vec<GroupKey6> = vips
            .iter()
            .map(|vip| GroupKey6 {
                vip: *vip,
                vlan: key.vlan,
                _pad: 0,
            })
            .collect();
        let had = self.written6.remove(key).unwrap_or_default();
        for k in &had {
            if !want.contains(k) {
                let _ = self.maps.groups6.remove(k);
            }
        }
        for k in &want {
            if value_changed || !had.contains(k) {
                self.maps
                    .groups6
                    .insert(k, value, 0)
                    .map_err(|e| DataplaneError::map(map_names::GROUPS6, e))?;
            }
        }
        if !want.is_empty() {
            self.written6.insert(*key, want);
        }
        Ok(())
    }

    /// Removes the group's IPv6 addresses (the group goes away).
    pub(super) fn remove_vip6(&mut self, key: &GroupKey) {
        for k in self.written6.remove(key).unwrap_or_default() {
            let _ = self.maps.groups6.remove(&k);
        }
    }

    /// After adoption: file the IPv6 entries under their groups (the one
    /// with the same value); entries of no group are leftovers and go.
    pub(super) fn load_written6(&mut self) {
        let entries: Vec<_> = self.maps.groups6.iter().filter_map(Result::ok).collect();
        for (k6, v) in entries {
            // Only entries that agree with their group's value count as
            // written; the rest (a crash between the two writes) go, and
            // the next `set_group` writes them afresh.
            let owner = self
                .written
                .iter()
                .find(|(_, (g, _))| *g == v)
                .map(|(k, _)| *k);
            match owner {
                Some(k) => self.written6.entry(k).or_default().push(k6),
                None => {
                    let _ = self.maps.groups6.remove(&k6);
                }
            }
        }
    }

    /// The virtual IPv6 addresses written for the group `key`.
    pub fn vip6(&self, key: &GroupKey) -> &[GroupKey6] {
        self.written6.get(key).map_or(&[], Vec::as_slice)
    }
}
