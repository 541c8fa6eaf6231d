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

use aya_ebpf::{
    bindings::xdp_action,
    helpers::{bpf_ktime_get_ns, bpf_xdp_adjust_tail},
    programs::XdpContext,
};
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
/// Option bytes the program checks; each option is at least 8 bytes, so
/// at most `MAX_OPTS` of them fit.
pub const MAX_OPT_LEN: usize = 40;
const MAX_OPTS: usize = MAX_OPT_LEN / 8;
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
    let group: GroupValue = unsafe { *GW_GROUPS6.get(&key)? };
    let gstats = GW_GROUP_STATS.get_ptr_mut(group.idx as u32);
    if let Some(s) = gstats {
        unsafe { (*s).arp_requests += 1 };
    }
    let r = if kind == ND_NEIGHBOR_ADVERT {
        (xdp_action::XDP_DROP, Counter::DropNotRequest)
    } else {
        solicitation(ctx, f, l2, &group, &target, gstats)
    };
    if r.0 == xdp_action::XDP_DROP {
        if let Some(s) = gstats {
            unsafe { (*s).arp_drops += 1 };
        }
    }
    Some(r)
}

#[inline(always)]
fn solicitation(
    ctx: &XdpContext,
    f: &Frame,
    l2: &L2,
    group: &GroupValue,
    target: &[u8; 16],
    gstats: Option<*mut GroupStats>,
) -> (u32, Counter) {
    let drop = xdp_action::XDP_DROP;
    let invalid = (drop, Counter::Nd6DropInvalid);
    let ip = l2.off;
    let icmp = ip + IP6_HLEN;
    let plen = f.u16_at(ip + ip6::PLEN) as usize;
    // Opaque to LLVM: otherwise it drops the per-read bounds checks below
    // as implied by this one, which the verifier cannot follow.
    let in_frame = f.has(icmp, core::hint::black_box(plen));
    if f.u8_at(ip + ip6::HOPS) != 255
        || f.u8_at(icmp + nd::CODE) != 0
        || plen < ND_FIXED_LEN
        || !in_frame
    {
        return invalid;
    }
    if plen > ND_FIXED_LEN + MAX_OPT_LEN {
        return (drop, Counter::Nd6DropUnsupported);
    }
    let src: [u8; 16] = f.bytes_at(ip + ip6::SRC);
    let dst: [u8; 16] = f.bytes_at(ip + ip6::DST);
    let Some(source_ll) = options(f, icmp + nd::OPTS, plen - ND_FIXED_LEN) else {
        return invalid;
    };
    let dad = src == [0; 16];
    if dad && (source_ll.is_some() || !solicited_node(&dst, target)) {
        return invalid;
    }
    if !checksum_ok(f, icmp, plen, &src, &dst) {
        return invalid;
    }

    let Some(cfg) = GW_CONFIG.get(0) else {
        return (drop, Counter::DropLeaseExpired);
    };
    let eth_src: [u8; 6] = f.bytes_at(6);
    let client = source_ll.unwrap_or(eth_src);
    if client == cfg.mac || eth_src == cfg.mac {
        return (drop, Counter::DropOwnSender);
    }
    let now = unsafe { bpf_ktime_get_ns() };
    if !lease_valid(group.idx, now) {
        return (drop, Counter::DropLeaseExpired);
    }
    if cfg.arp_rate_pps != 0 && !rate_ok(&client, now, cfg.arp_rate_pps, cfg.arp_burst) {
        return (drop, Counter::DropRateLimited);
    }
    let flags = NA_ROUTER | NA_SOLICITED | NA_OVERRIDE;

    // Unicast to a vMAC we forward for (Linux confirming a stale entry):
    // keep the host on that forwarder, answering from the vMAC itself.
    if !dad && has_vmac_prefix(&l2.dst) {
        if let Some(v) = GW_VMACS.get_ptr(MacKey::new(l2.dst)) {
            let v = unsafe { *v };
            if v.idx == group.idx {
                let to = (eth_src, src);
                if !advertise(ctx, ip, to, &l2.dst, target, &l2.dst, flags) {
                    return (drop, Counter::Nd6DropUnsupported);
                }
                account(group.idx, v.fwd, &client, now, gstats);
                return (xdp_action::XDP_TX, Counter::Nd6ReplyUnicast);
            }
        }
    }
    if group.flags & GROUP_FLAG_AVG == 0 {
        return (drop, Counter::DropNotAvg);
    }
    let Some(slot) = pick_slot(group, &client) else {
        return (drop, Counter::DropEmptyTable);
    };
    if dad {
        let to = (ALL_NODES_MAC, ALL_NODES);
        if !advertise(ctx, ip, to, &cfg.mac, target, &slot.mac, NA_ROUTER) {
            return (drop, Counter::Nd6DropUnsupported);
        }
        if let Some(s) = gstats {
            unsafe { (*s).arp_replies += 1 };
        }
        return (xdp_action::XDP_TX, Counter::Nd6ReplyDad);
    }
    if !advertise(ctx, ip, (eth_src, src), &cfg.mac, target, &slot.mac, flags) {
        return (drop, Counter::Nd6DropUnsupported);
    }
    account(group.idx, slot.fwd, &client, now, gstats);
    (xdp_action::XDP_TX, Counter::Nd6ReplyAvg)
}

/// Walks `len` option bytes at `at`. `None` if an option has length 0,
/// runs past the end, or is a source link-layer option of other than 8
/// bytes; else the source link-layer address, if there is one.
#[inline(always)]
fn options(f: &Frame, at: usize, len: usize) -> Option<Option<[u8; 6]>> {
    let mut o = 0;
    let mut source_ll = None;
    for _ in 0..MAX_OPTS {
        if o >= len {
            break;
        }
        // Both bytes in one read: a 1-byte read at a variable offset
        // compiles to a `p < end` test, from which the verifier grants
        // no range.
        let [kind, units] = f.bytes_at::<2>(at + o);
        let n = units as usize * 8;
        if n == 0 || o + n > len {
            return None;
        }
        if kind == OPT_SOURCE_LL {
            if n != 8 {
                return None;
            }
            source_ll = Some(f.bytes_at(at + o + 2));
        }
        o += n;
    }
    // len <= MAX_OPT_LEN, so MAX_OPTS options always reach it.
    if o != len {
        return None;
    }
    Some(source_ll)
}

/// ff02::1:ffXX:XXXX with the target's last 24 bits (RFC 4291 2.7.1).
#[inline(always)]
fn solicited_node(dst: &[u8; 16], target: &[u8; 16]) -> bool {
    dst[..13] == [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff] && dst[13..] == target[13..]
}

/// Sum of the 16-bit words of an address (RFC 1071, not yet folded).
#[inline(always)]
fn sum_addr(a: &[u8; 16]) -> u32 {
    let mut s = 0;
    for i in 0..8 {
        s += u16::from_be_bytes([a[2 * i], a[2 * i + 1]]) as u32;
    }
    s
}

/// Folds to 16 bits. Inputs here stay below 2^24, so three folds suffice.
#[inline(always)]
fn fold(mut s: u32) -> u16 {
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s as u16
}

/// Pseudo-header (RFC 8200 8.1) plus the upper-layer length and type.
#[inline(always)]
fn pseudo(src: &[u8; 16], dst: &[u8; 16], len: usize) -> u32 {
    sum_addr(src) + sum_addr(dst) + len as u32 + IPPROTO_ICMPV6 as u32
}

/// True when the `len` ICMPv6 bytes at `icmp` (even: options are whole
/// multiples of 8) carry a correct checksum.
#[inline(always)]
fn checksum_ok(f: &Frame, icmp: usize, len: usize, src: &[u8; 16], dst: &[u8; 16]) -> bool {
    let mut s = pseudo(src, dst, len);
    for i in 0..(ND_FIXED_LEN + MAX_OPT_LEN) / 2 {
        if 2 * i >= len {
            break;
        }
        s += f.u16_at(icmp + 2 * i) as u32;
    }
    fold(s) == 0xffff
}

/// Rewrites the frame into the advertisement of `target` at `ll` (the
/// target link-layer option), from `eth_src`, to `to` (Ethernet, IPv6).
/// `ip` is the IPv6 header's offset. False if the frame cannot be resized.
#[inline(always)]
fn advertise(
    ctx: &XdpContext,
    ip: usize,
    to: ([u8; 6], [u8; 16]),
    eth_src: &[u8; 6],
    target: &[u8; 16],
    ll: &[u8; 6],
    flags: u8,
) -> bool {
    let (eth_dst, ip_dst) = to;
    let want = ip + IP6_HLEN + NA_LEN;
    let delta = want as i32 - Frame::new(ctx).len() as i32;
    // SAFETY: the helper checks the new length against the buffer; every
    // packet pointer is re-read from the context afterwards.
    if delta != 0 && unsafe { bpf_xdp_adjust_tail(ctx.ctx, delta) } != 0 {
        return false;
    }
    let f = Frame::new(ctx);
    if !f.has(ip, IP6_HLEN + NA_LEN) {
        return false;
    }
    let icmp = ip + IP6_HLEN;
    f.set_bytes(0, &eth_dst);
    f.set_bytes(6, eth_src);
    f.set_bytes(ip + ip6::VTF, &[0x60, 0, 0, 0]);
    f.set_bytes(ip + ip6::PLEN, &(NA_LEN as u16).to_be_bytes());
    f.set_bytes(ip + ip6::NEXT, &[IPPROTO_ICMPV6, 255]);
    f.set_bytes(ip + ip6::SRC, target);
    f.set_bytes(ip + ip6::DST, &ip_dst);
    f.set_bytes(icmp + nd::TYPE, &[ND_NEIGHBOR_ADVERT, 0, 0, 0]);
    f.set_bytes(icmp + nd::FLAGS, &[flags, 0, 0, 0]);
    f.set_bytes(icmp + nd::TARGET, target);
    f.set_bytes(icmp + nd::OPTS, &[OPT_TARGET_LL, 1]);
    f.set_bytes(icmp + nd::OPTS + 2, ll);
    // The checksum from the values just written, not re-read.
    let mut s = pseudo(target, &ip_dst, NA_LEN);
    s += (ND_NEIGHBOR_ADVERT as u32) << 8;
    s += (flags as u32) << 8;
    s += sum_addr(target);
    s += ((OPT_TARGET_LL as u32) << 8) | 1;
    for i in 0..3 {
        s += u16::from_be_bytes([ll[2 * i], ll[2 * i + 1]]) as u32;
    }
    f.set_bytes(icmp + nd::CSUM, &(!fold(s)).to_be_bytes());
    true
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
    if let Some(c) = GW_CLIENTS.get_ptr_mut(&key) {
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
        let _ = GW_CLIENTS.insert(&key, &v, 0);
    }
}
