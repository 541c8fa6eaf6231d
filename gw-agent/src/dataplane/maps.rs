//! Typed handles on the program's maps, from a freshly loaded object or
//! from the pins of a running (or crashed) agent.

use std::path::Path;

use aya::{
    Ebpf,
    maps::{Array, HashMap, Map, MapData, PerCpuArray},
};
use gw_common::{
    ClientKey, ClientValue, FwdStats, GroupKey, GroupKey6, GroupStats, GroupValue, IfConfig,
    MacKey, RateState, SlotTable, VmacValue, map_names as n,
};

use super::DataplaneError;

pub struct Maps {
    pub config: Array<MapData, IfConfig>,
    pub groups: HashMap<MapData, GroupKey, GroupValue>,
    pub leases: Array<MapData, u64>,
    /// GW_LEASES mapped into memory, when the map allows it.
    pub lease_mmap: Option<super::lease::LeaseMmap>,
    pub slots: Array<MapData, SlotTable>,
    pub vmacs: HashMap<MapData, MacKey, VmacValue>,
    pub stats: PerCpuArray<MapData, u64>,
    pub group_stats: PerCpuArray<MapData, GroupStats>,
    pub fwd_stats: PerCpuArray<MapData, FwdStats>,
    pub clients: HashMap<MapData, ClientKey, ClientValue>,
    pub rate: HashMap<MapData, MacKey, RateState>,
    pub rr: Array<MapData, u64>,
    /// Virtual IPv6 addresses -> the same `GroupValue` as the group's VIP.
    pub groups6: HashMap<MapData, GroupKey6, GroupValue>,
}

impl Maps {
    /// Takes the maps out of a loaded object (they stay pinned if they were).
    pub fn from_ebpf(ebpf: &mut Ebpf) -> Result<Self, DataplaneError> {
        let mut take =
            |name: &'static str| ebpf.take_map(name).ok_or(DataplaneError::MissingMap(name));
        Self::from_maps([
            take(n::CONFIG)?,
            take(n::GROUPS)?,
            take(n::LEASES)?,
            take(n::SLOTS)?,
            take(n::VMACS)?,
            take(n::STATS)?,
            take(n::GROUP_STATS)?,
            take(n::FWD_STATS)?,
            take(n::CLIENTS)?,
            take(n::RATE)?,
            take(n::RR)?,
            take(n::GROUPS6)?,
        ])
    }

    /// Opens the maps pinned in `dir` (status, tests, adoption checks).
    pub fn from_pins(dir: &Path) -> Result<Self, DataplaneError> {
        let open = |name: &'static str| -> Result<Map, DataplaneError> {
            let path = dir.join(name);
            let data = MapData::from_pin(&path)
                .map_err(|e| DataplaneError::map(name, format!("open {}: {e}", path.display())))?;
            Map::from_map_data(data).map_err(|e| DataplaneError::map(name, e))
        };
        Self::from_maps([
            open(n::CONFIG)?,
            open(n::GROUPS)?,
            open(n::LEASES)?,
            open(n::SLOTS)?,
            open(n::VMACS)?,
            open(n::STATS)?,
            open(n::GROUP_STATS)?,
            open(n::FWD_STATS)?,
            open(n::CLIENTS)?,
            open(n::RATE)?,
            open(n::RR)?,
            open(n::GROUPS6)?,
        ])
    }

    fn from_maps(m: [Map; 12]) -> Result<Self, DataplaneError> {
        let [
            config,
            groups,
            leases,
            slots,
            vmacs,
            stats,
            group_stats,
            fwd_stats,
            clients,
            rate,
            rr,
            groups6,
        ] = m;
        let e = |name| move |err| DataplaneError::map(name, err);
        let lease_mmap = match &leases {
            Map::Array(d) => super::lease::LeaseMmap::map(d)
                .inspect_err(|err| tracing::debug!("GW_LEASES not mapped, using bpf(2): {err}"))
                .ok(),
            _ => None,
        };
        Ok(Self {
            lease_mmap,
            config: Array::try_from(config).map_err(e(n::CONFIG))?,
            groups: HashMap::try_from(groups).map_err(e(n::GROUPS))?,
            leases: Array::try_from(leases).map_err(e(n::LEASES))?,
            slots: Array::try_from(slots).map_err(e(n::SLOTS))?,
            vmacs: HashMap::try_from(vmacs).map_err(e(n::VMACS))?,
            stats: PerCpuArray::try_from(stats).map_err(e(n::STATS))?,
            group_stats: PerCpuArray::try_from(group_stats).map_err(e(n::GROUP_STATS))?,
            fwd_stats: PerCpuArray::try_from(fwd_stats).map_err(e(n::FWD_STATS))?,
            clients: HashMap::try_from(clients).map_err(e(n::CLIENTS))?,
            rate: HashMap::try_from(rate).map_err(e(n::RATE))?,
            rr: Array::try_from(rr).map_err(e(n::RR))?,
            groups6: HashMap::try_from(groups6).map_err(e(n::GROUPS6))?,
        })
    }

    /// Sum of one `GW_STATS` counter over all CPUs.
    pub fn counter(&self, c: gw_common::Counter) -> u64 {
        self.stats
            .get(&(c as u32), 0)
            .map(|v| v.iter().sum())
            .unwrap_or(0)
    }

    /// `GW_GROUP_STATS` for a group index, summed over CPUs.
    pub fn group_stats(&self, idx: u16) -> GroupStats {
        let mut t = GroupStats::default();
        if let Ok(v) = self.group_stats.get(&(idx as u32), 0) {
            for s in v.iter() {
                t.arp_requests += s.arp_requests;
                t.arp_replies += s.arp_replies;
                t.arp_drops += s.arp_drops;
                t.vmac_frames += s.vmac_frames;
                t.vmac_bytes += s.vmac_bytes;
            }
        }
        t
    }

    /// `GW_FWD_STATS` for (group index, forwarder), summed over CPUs.
    pub fn fwd_stats(&self, idx: u16, fwd: u8) -> FwdStats {
        let row = idx as u32 * gw_common::FWD_STATS_PER_GROUP + fwd as u32;
        let mut t = FwdStats::default();
        if let Ok(v) = self.fwd_stats.get(&row, 0) {
            for s in v.iter() {
                t.arp_replies += s.arp_replies;
                t.frames += s.frames;
            }
        }
        t
    }
}
