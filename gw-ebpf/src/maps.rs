//! Map definitions (BTF, so `bpftool map dump` prints field names). Names
//! match `gw_common::map_names`; the agent pins them under
//! /sys/fs/bpf/gw/<netns>/<interface>/.

use aya_ebpf::{
    btf_maps::{Array, HashMap, LruHashMap, PerCpuArray},
    macros::btf_map,
};
use gw_common::{
    ClientKey, ClientValue, Counter, DEFAULT_CLIENT_CACHE, FWD_STATS_PER_GROUP, FwdStats, GroupKey,
    GroupKey6, GroupStats, GroupValue, IfConfig, MAX_GROUPS, MAX_VIP6_PER_GROUP, MAX_VMACS, MacKey,
    RATE_TRACKED, RateState, SlotTable, VmacValue,
};

const GROUPS: usize = MAX_GROUPS as usize;

#[btf_map]
pub static GW_CONFIG: Array<IfConfig, 1> = Array::new();

#[btf_map]
pub static GW_GROUPS: HashMap<GroupKey, GroupValue, GROUPS> = HashMap::new();

/// Virtual IPv6 addresses: several per group (the link-local one and any
/// global ones), each mapping to the group's `GroupValue`.
#[btf_map]
pub static GW_GROUPS6: HashMap<GroupKey6, GroupValue, { GROUPS * MAX_VIP6_PER_GROUP as usize }> =
    HashMap::new();

/// Per group index: the round-robin position, shared by all CPUs (one
/// atomic add per answer) so answers stay even however requests spread
/// over CPUs.
#[btf_map]
pub static GW_RR: Array<u64, GROUPS> = Array::new();

/// Per group index: CLOCK_MONOTONIC ns until which the agent's word holds.
/// Mappable (BPF_F_MMAPABLE), so the agent renews it with a plain store.
#[btf_map]
pub static GW_LEASES: Array<u64, GROUPS, { gw_common::BPF_F_MMAPABLE }> = Array::new();

/// Two tables per group index (double buffer, see `GroupValue::table`).
#[btf_map]
pub static GW_SLOTS: Array<SlotTable, { GROUPS * 2 }> = Array::new();

#[btf_map]
pub static GW_VMACS: HashMap<MacKey, VmacValue, { MAX_VMACS as usize }> = HashMap::new();

#[btf_map]
pub static GW_STATS: PerCpuArray<u64, { Counter::COUNT as usize }> = PerCpuArray::new();

#[btf_map]
pub static GW_GROUP_STATS: PerCpuArray<GroupStats, GROUPS> = PerCpuArray::new();

#[btf_map]
pub static GW_FWD_STATS: PerCpuArray<FwdStats, { GROUPS * FWD_STATS_PER_GROUP as usize }> =
    PerCpuArray::new();

/// Resized by the agent from the config (`client_cache.max_entries`).
#[btf_map]
pub static GW_CLIENTS: LruHashMap<ClientKey, ClientValue, { DEFAULT_CLIENT_CACHE as usize }> =
    LruHashMap::new();

/// Per source MAC ARP rate state (GCRA), only used when a rate is set.
#[btf_map]
pub static GW_RATE: LruHashMap<MacKey, RateState, { RATE_TRACKED as usize }> = LruHashMap::new();

/// Per-CPU scratch memory of the Neighbor Discovery path (nd6.rs); the
/// agent never reads it, and it is not pinned.
#[btf_map]
pub static GW_ND_SCRATCH: PerCpuArray<crate::nd6::Scratch, 1> = PerCpuArray::new();
