//! Map keys and values, grouped by map. The agent writes the desired state,
//! the XDP program reads it per packet and writes only counters and the
//! client cache.

use core::mem::{offset_of, size_of};

/// `GW_CONFIG` (array, 1 entry): per-interface settings.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfConfig {
    /// The interface's own MAC: Ethernet source of AVG ARP replies and the
    /// destination that vMAC frames are rewritten to.
    pub mac: [u8; 6],
    /// How the program is attached (`XDP_MODE_*`), so a restarted agent or
    /// `gw-agent status` can tell without asking the kernel.
    pub xdp_mode: u8,
    /// Reserved, zero.
    pub _pad: u8,
    /// ARP requests for a VIP accepted per second from one source MAC
    /// (0 = no limit). Bounds what one host can make the AVG answer.
    pub arp_rate_pps: u32,
    /// Requests a source may send back to back before the rate applies.
    pub arp_burst: u32,
}

/// `GW_RATE` (LRU hash) value, keyed by `MacKey` of the ARP sender: the
/// GCRA "theoretical arrival time" (CLOCK_MONOTONIC ns). One u64 is the
/// whole token bucket.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateState {
    pub tat_ns: u64,
}

pub const XDP_MODE_NATIVE: u8 = 1;
pub const XDP_MODE_GENERIC: u8 = 2;

/// `GW_GROUPS` (hash) key: which ARP requests belong to a group.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKey {
    /// Virtual IPv4 address, network byte order (as on the wire).
    pub vip: [u8; 4],
    /// VLAN id of the innermost tag (0 = untagged), host byte order.
    pub vlan: u16,
    /// Reserved, zero (keys are compared byte for byte).
    pub _pad: u16,
}

/// The `GW_GROUPS` key of a group without an IPv4 virtual address: every
/// group needs one there (its index, lease, slots and adoption hang off
/// it), and 0.0.0.0/8 is never a gateway's address, so the XDP program
/// never looks such a key up for ARP. Its virtual IPv6 addresses point at
/// the same value in `GW_GROUPS6`.
pub const fn v6_only_key(group: u16, vlan: u16) -> GroupKey {
    let [hi, lo] = group.to_be_bytes();
    GroupKey {
        vip: [0, 0, hi, lo],
        vlan,
        _pad: 0,
    }
}

/// Whether `vip` lies in 0.0.0.0/8, the range of `v6_only_key`: never a
/// real virtual address, never answered for ARP.
pub const fn is_v6_only_vip(vip: &[u8; 4]) -> bool {
    vip[0] == 0
}

impl GroupKey {
    /// Whether this key is an IPv6-only group's (`v6_only_key`).
    pub const fn is_v6_only(&self) -> bool {
        is_v6_only_vip(&self.vip)
    }
}

/// `GW_GROUPS6` (hash) key: which Neighbor Solicitations belong to a
/// group. Its value is the group's `GroupValue`, the same one its IPv4
/// `GroupKey` maps to, so both families share the group's index, slot
/// table, lease, counters and vMACs.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKey6 {
    /// Virtual IPv6 address (link-local or global), network byte order.
    pub vip: [u8; 16],
    /// VLAN id of the innermost tag (0 = untagged), host byte order.
    pub vlan: u16,
    /// Reserved, zero (keys are compared byte for byte).
    pub _pad: u16,
}

/// Group flag: this router is the AVG and answers broadcast ARP.
pub const GROUP_FLAG_AVG: u8 = 1;

/// Slot choice: walk the table with a per-CPU counter.
pub const MODE_ROUND_ROBIN: u8 = 0;
/// Slot choice: index the table by a hash of the client MAC.
pub const MODE_HOST_HASH: u8 = 1;

/// `GW_GROUPS` (hash) value.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupValue {
    /// Dense index 0..MAX_GROUPS into GW_LEASES, GW_GROUP_STATS, GW_SLOTS.
    pub idx: u16,
    /// GLBP group number (0..=1023).
    pub group: u16,
    /// `GROUP_FLAG_*` bits.
    pub flags: u8,
    /// `MODE_*`: how the slot is chosen.
    pub mode: u8,
    /// Which of the group's two slot tables is live (0 or 1). The agent
    /// writes the other one, then flips this, so a table change never shows
    /// a half-written table to the program.
    pub table: u8,
    /// Reserved, zero.
    pub _pad: u8,
}

impl GroupValue {
    /// Row of the live slot table in `GW_SLOTS`.
    #[inline(always)]
    pub const fn slot_row(&self) -> u32 {
        self.idx as u32 * 2 + (self.table & 1) as u32
    }
}

/// One slot: the vMAC handed out and the forwarder it belongs to.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Slot {
    pub mac: [u8; 6],
    /// Forwarder number (1..=255); selects the counter row.
    pub fwd: u8,
    /// Reserved, zero.
    pub _pad: u8,
}

/// `GW_SLOTS` (array, 2 per group) value: the table the policy fills.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotTable {
    /// Valid entries at the front of `slots` (0 = nothing to hand out).
    pub len: u32,
    /// Reserved, zero.
    pub _pad: u32,
    pub slots: [Slot; crate::SLOT_TABLE_LEN],
}

impl Default for SlotTable {
    fn default() -> Self {
        Self {
            len: 0,
            _pad: 0,
            slots: [Slot::default(); crate::SLOT_TABLE_LEN],
        }
    }
}

/// `GW_VMACS` (hash) key: a vMAC this router forwards for.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacKey {
    pub mac: [u8; 6],
    /// Reserved, zero.
    pub _pad: [u8; 2],
}

impl MacKey {
    pub const fn new(mac: [u8; 6]) -> Self {
        Self { mac, _pad: [0; 2] }
    }
}

/// `GW_VMACS` (hash) value.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VmacValue {
    /// Group index (as in `GroupValue::idx`), for the lease and counters.
    pub idx: u16,
    /// Forwarder number.
    pub fwd: u8,
    /// Reserved, zero.
    pub _pad: u8,
}

/// `GW_STATS` (per-CPU array): why each frame got its verdict.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    /// Not ARP for a VIP and not to an owned vMAC: passed untouched.
    Pass = 0,
    /// Frame too short for the headers it announces: passed untouched.
    Truncated = 1,
    /// ARP with a bad hardware/protocol type or length: passed untouched.
    ArpMalformed = 2,
    /// Broadcast ARP request for a VIP answered as AVG (XDP_TX).
    ArpReplyAvg = 3,
    /// Unicast ARP request to an owned vMAC answered with it (XDP_TX).
    ArpReplyUnicast = 4,
    /// ARP request (or Neighbor Solicitation) for a VIP while not AVG:
    /// dropped.
    DropNotAvg = 5,
    /// ARP (or Neighbor Solicitation) for a VIP while the agent's lease
    /// has run out: dropped.
    DropLeaseExpired = 6,
    /// ARP reply or other opcode for a VIP, or a Neighbor Advertisement
    /// for a virtual IPv6 address: dropped.
    DropNotRequest = 7,
    /// Gratuitous ARP (or probe) for a VIP: dropped.
    DropGratuitous = 8,
    /// AVG with an empty slot table (ARP or ND): dropped.
    DropEmptyTable = 9,
    /// Frame to an owned vMAC rewritten to the interface MAC and passed.
    VmacRewrite = 10,
    /// Frame to a known vMAC while the lease has run out: passed untouched.
    VmacLeaseExpired = 11,
    /// ARP request (or Neighbor Solicitation) whose sender is our own
    /// interface MAC: dropped.
    DropOwnSender = 12,
    /// ARP request (or Neighbor Solicitation) over its sender's rate
    /// limit: dropped.
    DropRateLimited = 13,
    /// Neighbor Solicitation for a virtual IPv6 address answered as AVG
    /// with a Neighbor Advertisement (XDP_TX).
    Nd6ReplyAvg = 14,
    /// Neighbor Solicitation to an owned vMAC answered with it (XDP_TX).
    Nd6ReplyUnicast = 15,
    /// Duplicate Address Detection probe (source ::) for a virtual IPv6
    /// address defended by the AVG: advertisement to ff02::1 (XDP_TX).
    Nd6ReplyDad = 16,
    /// Neighbor Solicitation for a virtual IPv6 address failing RFC 4861
    /// 7.1.1 (hop limit, code, checksum, length, options, DAD rules):
    /// dropped.
    Nd6DropInvalid = 17,
    /// Valid Neighbor Solicitation the program cannot answer (more option
    /// bytes than it verifies, or no room to grow the frame): dropped.
    Nd6DropUnsupported = 18,
}

impl Counter {
    pub const COUNT: u32 = 19;
    pub const ALL: [Counter; Self::COUNT as usize] = [
        Counter::Pass,
        Counter::Truncated,
        Counter::ArpMalformed,
        Counter::ArpReplyAvg,
        Counter::ArpReplyUnicast,
        Counter::DropNotAvg,
        Counter::DropLeaseExpired,
        Counter::DropNotRequest,
        Counter::DropGratuitous,
        Counter::DropEmptyTable,
        Counter::VmacRewrite,
        Counter::VmacLeaseExpired,
        Counter::DropOwnSender,
        Counter::DropRateLimited,
        Counter::Nd6ReplyAvg,
        Counter::Nd6ReplyUnicast,
        Counter::Nd6ReplyDad,
        Counter::Nd6DropInvalid,
        Counter::Nd6DropUnsupported,
    ];

    /// Stable snake_case name, used in status output and JSON.
    pub const fn name(self) -> &'static str {
        match self {
            Counter::Pass => "pass",
            Counter::Truncated => "truncated",
            Counter::ArpMalformed => "arp_malformed",
            Counter::ArpReplyAvg => "arp_reply_avg",
            Counter::ArpReplyUnicast => "arp_reply_unicast",
            Counter::DropNotAvg => "drop_not_avg",
            Counter::DropLeaseExpired => "drop_lease_expired",
            Counter::DropNotRequest => "drop_not_request",
            Counter::DropGratuitous => "drop_gratuitous",
            Counter::DropEmptyTable => "drop_empty_table",
            Counter::VmacRewrite => "vmac_rewrite",
            Counter::VmacLeaseExpired => "vmac_lease_expired",
            Counter::DropOwnSender => "drop_own_sender",
            Counter::DropRateLimited => "drop_rate_limited",
            Counter::Nd6ReplyAvg => "nd6_reply_avg",
            Counter::Nd6ReplyUnicast => "nd6_reply_unicast",
            Counter::Nd6ReplyDad => "nd6_reply_dad",
            Counter::Nd6DropInvalid => "nd6_drop_invalid",
            Counter::Nd6DropUnsupported => "nd6_drop_unsupported",
        }
    }
}

/// `GW_GROUP_STATS` (per-CPU array, one per group index).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupStats {
    /// ARP requests for the VIP seen (with Neighbor Solicitations and
    /// Advertisements for the group's virtual IPv6 addresses).
    pub arp_requests: u64,
    /// ARP replies sent (AVG and unicast), and Neighbor Advertisements.
    pub arp_replies: u64,
    /// ARP (and ND) for the VIP dropped.
    pub arp_drops: u64,
    /// Frames to owned vMACs passed up for routing.
    pub vmac_frames: u64,
    /// Bytes of those frames.
    pub vmac_bytes: u64,
}

/// `GW_FWD_STATS` (per-CPU array, row = group index * 256 + forwarder).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FwdStats {
    /// ARP replies (and Neighbor Advertisements) that handed out this
    /// forwarder's vMAC.
    pub arp_replies: u64,
    /// Frames received for this forwarder's vMAC (while we own it).
    pub frames: u64,
}

/// `GW_CLIENTS` (LRU hash) key: one host in one group.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientKey {
    pub mac: [u8; 6],
    /// Group index.
    pub idx: u16,
}

/// `GW_CLIENTS` (LRU hash) value: which forwarder the host was given.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientValue {
    /// The host's IPv4 address (ARP sender protocol address), network order;
    /// 0.0.0.0 for a host seen only over IPv6 (Neighbor Discovery and IPv6
    /// frames keep an address learned earlier and never write one).
    pub ip: [u8; 4],
    /// Forwarder whose vMAC the host got last.
    pub fwd: u8,
    /// Reserved, zero.
    pub _pad: [u8; 3],
    /// CLOCK_MONOTONIC ns of the last answer.
    pub last_seen_ns: u64,
}

// Kernel and user space agree by proof: sizes and offsets are fixed here.
const _: () = {
    assert!(size_of::<IfConfig>() == 16);
    assert!(offset_of!(IfConfig, arp_rate_pps) == 8);
    assert!(size_of::<RateState>() == 8);
    assert!(size_of::<GroupKey>() == 8);
    assert!(offset_of!(GroupKey, vlan) == 4);
    assert!(size_of::<GroupKey6>() == 20);
    assert!(offset_of!(GroupKey6, vlan) == 16);
    assert!(size_of::<GroupValue>() == 8);
    assert!(offset_of!(GroupValue, flags) == 4);
    assert!(offset_of!(GroupValue, table) == 6);
    assert!(size_of::<Slot>() == 8);
    assert!(size_of::<SlotTable>() == 8 + 8 * crate::SLOT_TABLE_LEN);
    assert!(offset_of!(SlotTable, slots) == 8);
    assert!(size_of::<MacKey>() == 8);
    assert!(size_of::<VmacValue>() == 4);
    assert!(size_of::<GroupStats>() == 40);
    assert!(size_of::<FwdStats>() == 16);
    assert!(size_of::<ClientKey>() == 8);
    assert!(size_of::<ClientValue>() == 16);
    assert!(offset_of!(ClientValue, last_seen_ns) == 8);
};

#[cfg(feature = "user")]
mod pod {
    use super::*;
    // SAFETY: all types are repr(C), Copy, and have no implicit padding
    // (checked by the size asserts above).
    unsafe impl aya::Pod for IfConfig {}
    unsafe impl aya::Pod for RateState {}
    unsafe impl aya::Pod for GroupKey {}
    unsafe impl aya::Pod for GroupKey6 {}
    unsafe impl aya::Pod for GroupValue {}
    unsafe impl aya::Pod for SlotTable {}
    unsafe impl aya::Pod for MacKey {}
    unsafe impl aya::Pod for VmacValue {}
    unsafe impl aya::Pod for GroupStats {}
    unsafe impl aya::Pod for FwdStats {}
    unsafe impl aya::Pod for ClientKey {}
    unsafe impl aya::Pod for ClientValue {}
}
