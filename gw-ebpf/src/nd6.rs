//! IPv6 Neighbor Discovery for the virtual IPv6 addresses (read RFC 4861
//! sections 4.3, 4.4, 7.1.1 and 7.2.4 first): a Neighbor Solicitation whose
//! target is in `GW_GROUPS6` is handled exactly like an ARP request for the
//! VIP (main.rs), with a Neighbor Advertisement as the answer:
//! - unicast to a vMAC this router forwards for: answered with that vMAC,
//!   from it, AVG or not;
//! - otherwise the AVG answers with the vMAC of the slot its policy picks
//!   (the group's slot table, round-robin position and host hash, shared
//!   with IPv4), from the interface MAC;
//! - everything else for the address drops, so the kernel never answers it
//!   with a real MAC. Neighbor Advertisements for it drop too.
//!
//! Only solicitations with ICMPv6 right after the IPv6 header are
//! recognised (RFC 4861 messages carry no extension headers in practice);
//! anything else passes on as an ordinary frame.
//!
//! Validity (7.1.1); a failure drops, counted `Nd6DropInvalid`: hop limit
//! 255, code 0, ICMPv6 length at least 24 and all of it in the frame,
//! every option of non-zero length and inside the message, a source
//! link-layer option exactly 8 bytes, a correct checksum, and from the
//! unspecified source only to the target's solicited-node group and
//! without a source link-layer option. Up to `MAX_OPT_LEN` option bytes are
//! checked; longer solicitations drop as `Nd6DropUnsupported`.
//!
//! The advertisement (4.4), written over the solicitation: Ethernet
//! destination = the solicitation's Ethernet source, VLAN tags kept; IPv6
//! source = the target, destination = the solicitation's source, hop limit
//! 255, traffic class and flow label 0; flags Router, Solicited and
//! Override; one target link-layer option with the vMAC; 32 bytes of
//! ICMPv6, so the frame is resized (bpf_xdp_adjust_tail) when the
//! solicitation had other than one 8-byte option. Override is set as a
//! router sets it for its own address, so a host whose entry holds another
//! vMAC (a failed forwarder's) takes the one it is given now.
//!
//! Duplicate Address Detection (source ::) for a virtual address is
//! defended by the AVG as 7.2.4 says: to all-nodes (ff02::1), Solicited
//! clear, and Override clear too, so the multicast answer cannot move any
//! host's existing entry to its vMAC (the ND twin of a gratuitous ARP).

mod advert;
mod check;

pub use check::Scratch;

use aya_ebpf::{bindings::xdp_action, helpers::bpf_ktime_get_ns, programs::XdpContext};
use gw_common::{
    ClientKey, ClientValue, Counter, FWD_STATS_PER_GROUP, GROUP_FLAG_AVG, GroupKey6, GroupStats,
    GroupValue, MacKey, has_vmac_prefix,
};

use crate::{
    frame::{Frame, L2},
    lease_valid,
    maps::*,
    pick_slot, rate_ok,
};

const IPPROTO_ICMPV6: u8 = 58;
const ND_NEIGHBOR_SOLICIT: u8 = 135;
const ND_NEIGHBOR_ADVERT: u8 = 136;
const IP6_HLEN: usize = 40;
/// ICMPv6 bytes of a solicitation or advertisement before the options.
const ND_FIXED_LEN: usize = 24;
/// Option bytes the program checks (five units of 8).
pub const MAX_OPT_LEN: usize = 40;
const OPT_SOURCE_LL: u8 = 1;
const OPT_TARGET_LL: u8 = 2;
/// The advertisement: fixed part plus one 8-byte target link-layer option.
const NA_LEN: usize = ND_FIXED_LEN + 8;
const NA_ROUTER: u8 = 0x80;
const NA_SOLICITED: u8 = 0x40;
const NA_OVERRIDE: u8 = 0x20;
const ALL_NODES: [u8; 16] = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];

/// Offsets in the IPv6 header (RFC 8200).
mod ip6 {
    pub const VTF: usize = 0;
    pub const PLEN: usize = 4;
    pub const NEXT: usize = 6;
    pub const HOPS: usize = 7;
    pub const SRC: usize = 8;
    pub const DST: usize = 24;
}

/// Offsets in the ICMPv6 Neighbor Solicitation / Advertisement.
mod nd {
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CSUM: usize = 2;
    pub const FLAGS: usize = 4;
    pub const TARGET: usize = 8;
    pub const OPTS: usize = 24;
}

/// Neighbor Discovery for a virtual IPv6 address. `None` means "not ND for
/// one": the caller goes on with the frame as an ordinary one.
#[inline(always)]
pub fn nd6(ctx: &XdpContext, f: &Frame, l2: &L2) -> Option<(u32, Counter)> {
    let ip = l2.off;
    let icmp = ip + IP6_HLEN;
    if !f.has(ip, IP6_HLEN + ND_FIXED_LEN)
        || f.u8_at(ip + ip6::VTF) >> 4 != 6
        || f.u8_at(ip + ip6::NEXT) != IPPROTO_ICMPV6
    {
        return None;
    }
    let kind = f.u8_at(icmp + nd::TYPE);
    if kind != ND_NEIGHBOR_SOLICIT && kind != ND_NEIGHBOR_ADVERT {
        return None;
    }
    let target: [u8; 16] = f.bytes_at(icmp + nd::TARGET);
    let key = GroupKey6 {
        vip: target,
        vlan: l2.vlan,
        _pad: 0,
    };
    // SAFETY: copied out at once; agent updates replace whole elements.
    let group: GroupValue = unsafe { *GW_GROUPS6.get(key)? };
    let gstats = GW_GROUP_STATS.get_ptr_mut(group.idx as u32);
    if let Some(s) = gstats {
        unsafe { (*s).arp_requests += 1 };
    }
    let r = if kind == ND_NEIGHBOR_ADVERT {
        (xdp_action::XDP_DROP, Counter::DropNotRequest)
    } else {
        solicitation(ctx, l2, &group, &target)
    };
    if r.0 == xdp_action::XDP_DROP
        && let Some(s) = gstats
    {
        unsafe { (*s).arp_drops += 1 };
    }
    Some(r)
}

/// A solicitation for `target`, a virtual address of `group`. A BPF
/// subprogram of its own (at most 5 arguments), as are `check` and
/// `advertise`: inlined, their locals would push the program's stack past
/// 512 bytes (bigger things live in `Scratch`).
#[inline(never)]
fn solicitation(
    ctx: &XdpContext,
    l2: &L2,
    group: &GroupValue,
    target: &[u8; 16],
) -> (u32, Counter) {
    let gstats = GW_GROUP_STATS.get_ptr_mut(group.idx as u32);
    let drop = xdp_action::XDP_DROP;
    let Some(sc) = GW_ND_SCRATCH.get_ptr_mut(0) else {
        return (drop, Counter::Nd6DropUnsupported);
    };
    // SAFETY: this CPU's scratch entry; nothing else runs on this CPU
    // until the program returns.
    let sc = unsafe { &mut *sc };
    sc.na = Na {
        eth_dst: [0; 6],
        eth_src: [0; 6],
        ip_dst: [0; 16],
        target: *target,
        ll: [0; 6],
        flags: NA_ROUTER | NA_SOLICITED | NA_OVERRIDE,
        _pad: 0,
    };
    if let Some(c) = check::check(ctx, l2.off, sc) {
        return (drop, c);
    }
    // By reference: copies of map memory would take stack.
    let (na, client, dad) = (&mut sc.na, &sc.client, sc.dad != 0);
    let ip = l2.off;
    let Some(cfg) = GW_CONFIG.get(0) else {
        return (drop, Counter::DropLeaseExpired);
    };
    if *client == cfg.mac || na.eth_dst == cfg.mac {
        return (drop, Counter::DropOwnSender);
    }
    let now = unsafe { bpf_ktime_get_ns() };
    if !lease_valid(group.idx, now) {
        return (drop, Counter::DropLeaseExpired);
    }
    if cfg.arp_rate_pps != 0 && !rate_ok(client, now, cfg.arp_rate_pps, cfg.arp_burst) {
        return (drop, Counter::DropRateLimited);
    }
    na.eth_src = cfg.mac;
    let mut owned = None;
    // Unicast to a vMAC we forward for (Linux confirming a stale entry):
    // keep the host on that forwarder, answering from the vMAC itself.
    if !dad
        && has_vmac_prefix(&l2.dst)
        && let Some(v) = GW_VMACS.get_ptr(MacKey::new(l2.dst))
    {
        let v = unsafe { *v };
        if v.idx == group.idx {
            owned = Some(v.fwd);
        }
    }
    let (fwd, counter) = match owned {
        Some(fwd) => {
            na.eth_src = l2.dst;
            na.ll = l2.dst;
            (fwd, Counter::Nd6ReplyUnicast)
        }
        None => {
            if group.flags & GROUP_FLAG_AVG == 0 {
                return (drop, Counter::DropNotAvg);
            }
            let Some(slot) = pick_slot(group, client) else {
                return (drop, Counter::DropEmptyTable);
            };
            na.ll = slot.mac;
            if dad {
                na.eth_dst = ALL_NODES_MAC;
                na.ip_dst = ALL_NODES;
                na.flags = NA_ROUTER;
                (0, Counter::Nd6ReplyDad)
            } else {
                (slot.fwd, Counter::Nd6ReplyAvg)
            }
        }
    };
    if !advert::advertise(ctx, ip, na) {
        return (drop, Counter::Nd6DropUnsupported);
    }
    if dad {
        // Defends the address; hands nothing out, remembers nobody.
        if let Some(s) = gstats {
            unsafe { (*s).arp_replies += 1 };
        }
    } else {
        account(group.idx, fwd, client, now, gstats);
    }
    (xdp_action::XDP_TX, counter)
}

/// What an advertisement says and where it goes.
#[repr(C)]
struct Na {
    eth_dst: [u8; 6],
    eth_src: [u8; 6],
    ip_dst: [u8; 16],
    target: [u8; 16],
    /// The target link-layer address option: the vMAC handed out.
    ll: [u8; 6],
    flags: u8,
    _pad: u8,
}

/// Counters and the client cache for one answer handing out `fwd`.
#[inline(always)]
fn account(idx: u16, fwd: u8, client: &[u8; 6], now: u64, gstats: Option<*mut GroupStats>) {
    if let Some(s) = gstats {
        unsafe { (*s).arp_replies += 1 };
    }
    if let Some(s) = GW_FWD_STATS.get_ptr_mut(idx as u32 * FWD_STATS_PER_GROUP + fwd as u32) {
        unsafe { (*s).arp_replies += 1 };
    }
    remember6(idx, client, fwd, now, 0);
}

/// Like `remember` for a host seen over IPv6: records its forwarder, keeps
/// the IPv4 address an entry already has (0.0.0.0 in a new one), so a
/// dual-stack host's entry still serves the IPv4 redirect.
#[inline(always)]
pub fn remember6(idx: u16, mac: &[u8; 6], fwd: u8, now: u64, refresh_ns: u64) {
    let key = ClientKey { mac: *mac, idx };
    if let Some(c) = GW_CLIENTS.get_ptr_mut(key) {
        unsafe {
            if (*c).fwd == fwd && now.wrapping_sub((*c).last_seen_ns) < refresh_ns {
                return;
            }
            (*c).fwd = fwd;
            (*c).last_seen_ns = now;
        }
    } else {
        let v = ClientValue {
            ip: [0; 4],
            fwd,
            _pad: [0; 3],
            last_seen_ns: now,
        };
        let _ = GW_CLIENTS.insert(key, v, 0);
    }
}
