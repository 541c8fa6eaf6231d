//! Types shared by the XDP program (gw-ebpf) and the agent (gw-agent).
//!
//! Every map key and value is `#[repr(C)]`, `Copy`, free of implicit padding
//! (padding is spelled out as `_pad` fields so both sides and BTF agree), and
//! has its size and field offsets asserted at compile time below. The agent
//! gets `aya::Pod` impls behind the `user` feature.
#![no_std]

pub mod maps;
pub mod vmac;

pub use maps::*;
pub use vmac::*;

/// Groups per interface (Cisco's group range is 0..=1023).
pub const MAX_GROUPS: u32 = 1024;
/// Map flag: the map's values can be mmap(2)ed (GW_LEASES).
pub const BPF_F_MMAPABLE: usize = 1 << 10;
/// Highest GLBP group number.
pub const MAX_GROUP_NUMBER: u16 = 1023;
/// Entries of one slot table. Policies fill it; the XDP program indexes it.
pub const SLOT_TABLE_LEN: usize = 256;
/// Highest forwarder number: forwarder numbers are 1..=255 (one vMAC byte).
pub const MAX_FORWARDERS: usize = 255;
/// Counter rows per group in `FWD_STATS`: one per possible forwarder number.
pub const FWD_STATS_PER_GROUP: u32 = 256;
/// vMACs one interface may forward for at once.
pub const MAX_VMACS: u32 = 4096;
/// Source MACs the ARP rate limiter tracks (LRU: a flood of forged MACs
/// evicts old entries, never fills up).
pub const RATE_TRACKED: u32 = 65536;
/// Virtual IPv6 addresses one group may have (its link-local one and up to
/// three global ones); sizes `GW_GROUPS6`.
pub const MAX_VIP6_PER_GROUP: u32 = 4;
/// Default client-cache size (entries per interface).
pub const DEFAULT_CLIENT_CACHE: u32 = 16384;

/// Map names, as the XDP program declares them and bpftool shows them
/// (BPF object names are limited to 15 characters).
pub mod map_names {
    pub const CONFIG: &str = "GW_CONFIG";
    pub const GROUPS: &str = "GW_GROUPS";
    pub const LEASES: &str = "GW_LEASES";
    pub const SLOTS: &str = "GW_SLOTS";
    pub const VMACS: &str = "GW_VMACS";
    pub const STATS: &str = "GW_STATS";
    pub const GROUP_STATS: &str = "GW_GROUP_STATS";
    pub const FWD_STATS: &str = "GW_FWD_STATS";
    pub const CLIENTS: &str = "GW_CLIENTS";
    pub const RATE: &str = "GW_RATE";
    pub const RR: &str = "GW_RR";
    pub const GROUPS6: &str = "GW_GROUPS6";
    /// Every map the program defines, for pinning and status.
    pub const ALL: [&str; 12] = [
        CONFIG,
        GROUPS,
        LEASES,
        SLOTS,
        VMACS,
        STATS,
        GROUP_STATS,
        FWD_STATS,
        CLIENTS,
        RATE,
        RR,
        GROUPS6,
    ];
}

/// Name of the XDP program function in the object file.
pub const PROGRAM_NAME: &str = "gw_xdp";
