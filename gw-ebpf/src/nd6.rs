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
    helpers::{bpf_ktime_get_ns, bpf_xdp_adjust_tail, bpf_xdp_load_bytes},
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
    let group: GroupValue = unsafe { *GW_GROUPS6.get(&key)? };
    let gstats = GW_GROUP_STATS.get_ptr_mut(group.idx as u32);
    if let Some(s) = gstats {
        unsafe { (*s).arp_requests += 1 };
    }
    let r = if kind == ND_NEIGHBOR_ADVERT {
        (xdp_action::XDP_DROP, Counter::DropNotRequest)
    } else {
        solicitation(ctx, l2, &group, &target)
    };
    if r.0 == xdp_action::XDP_DROP {
        if let Some(s) = gstats {
            unsafe { (*s).arp_drops += 1 };
        }
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
    if let Some(c) = check(ctx, l2.off, sc) {
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
    if !dad && has_vmac_prefix(&l2.dst) {
        if let Some(v) = GW_VMACS.get_ptr(MacKey::new(l2.dst)) {
            let v = unsafe { *v };
            if v.idx == group.idx {
                owned = Some(v.fwd);
            }
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
    if !advertise(ctx, ip, na) {
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

/// Per-CPU scratch (`GW_ND_SCRATCH`): the message under check and the
/// answer being built live here, not on the 512-byte stack.
#[repr(C)]
pub struct Scratch {
    /// The IPv6 header up to the addresses, copied out of the frame.
    hdr: [u8; ip6::SRC],
    src: [u8; 16],
    dst: [u8; 16],
    /// The ICMPv6 message, copied right after them.
    msg: [u8; ND_FIXED_LEN + MAX_OPT_LEN],
    /// The answer, addressed to the sender once `check` passes.
    na: Na,
    /// Who asked: the source link-layer address, else the Ethernet source.
    client: [u8; 6],
    /// 1 when from the unspecified address (Duplicate Address Detection).
    dad: u8,
    _pad: u8,
}

/// The validity checks of RFC 4861 7.1.1 on the solicitation whose IPv6
/// header is at `ip`; on success fills in `sc` (addresses the answer to
/// the sender, says who asked) and returns `None`, else the drop reason. The ICMPv6
/// header and message are copied to the scratch first
/// (bpf_xdp_load_bytes, which also finds them truncated), so the checks
/// read no packet memory.
#[inline(never)]
fn check(ctx: &XdpContext, ip: usize, sc: &mut Scratch) -> Option<Counter> {
    let invalid = Some(Counter::Nd6DropInvalid);
    let plen = Frame::new(ctx).u16_at(ip + ip6::PLEN) as usize;
    if plen < ND_FIXED_LEN {
        return invalid;
    }
    if plen > ND_FIXED_LEN + MAX_OPT_LEN {
        return Some(Counter::Nd6DropUnsupported);
    }
    let to = (sc as *mut Scratch).cast();
    // SAFETY: `hdr`, `src`, `dst` and `msg` are contiguous at the start of
    // `Scratch` (repr(C), byte arrays) with room for IP6_HLEN + plen bytes
    // (checked just above); the helpers fail rather than read past the
    // frame.
    let rc = unsafe { bpf_xdp_load_bytes(ctx.ctx, ip as u32, to, (IP6_HLEN + plen) as u32) }
        | unsafe { bpf_xdp_load_bytes(ctx.ctx, 6, sc.na.eth_dst.as_mut_ptr().cast(), 6) };
    if rc != 0 || sc.hdr[ip6::HOPS] != 255 || sc.msg[nd::CODE] != 0 {
        return invalid;
    }
    // Options come in whole units of 8 bytes.
    if plen % 8 != 0 || !checksum_ok(&sc.msg, plen, pseudo(&sc.src, &sc.dst, plen)) {
        return invalid;
    }
    let Some(source_ll) = options(&sc.msg, (plen - ND_FIXED_LEN) / 8) else {
        return invalid;
    };
    let dad = sc.src == [0; 16];
    if dad && (source_ll.is_some() || !solicited_node(&sc.dst, &sc.na.target)) {
        return invalid;
    }
    sc.na.ip_dst = sc.src;
    sc.dad = dad as u8;
    sc.client = source_ll.unwrap_or(sc.na.eth_dst);
    None
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

/// True when the first `len` bytes of `msg` (a multiple of 8) carry a
/// correct checksum; `sum` holds the pseudo-header. The loop stays small
/// and in a subprogram, so its data-dependent exits cost the verifier
/// little.
#[inline(always)]
fn checksum_ok(msg: &[u8; ND_FIXED_LEN + MAX_OPT_LEN], len: usize, sum: u32) -> bool {
    let mut s = sum;
    for (k, c) in msg.chunks_exact(8).enumerate() {
        if 8 * k >= len {
            break;
        }
        let x = u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        s += ((x >> 48) + ((x >> 32) & 0xffff) + ((x >> 16) & 0xffff) + (x & 0xffff)) as u32;
    }
    fold(s) == 0xffff
}

/// Walks `units` 8-byte option units after the fixed part of `msg`. `None`
/// if an option has length 0 or runs past the end, or is a source
/// link-layer option of other than one unit; else the source link-layer
/// address, if there is one.
#[inline(always)]
fn options(msg: &[u8; ND_FIXED_LEN + MAX_OPT_LEN], units: usize) -> Option<Option<[u8; 6]>> {
    let mut next = 0;
    let mut source_ll = None;
    for (k, o) in msg[nd::OPTS..].chunks_exact(8).enumerate() {
        if k >= units {
            break;
        }
        if k != next {
            continue; // inside the option that started earlier
        }
        let n = o[1] as usize;
        if n == 0 || k + n > units {
            return None;
        }
        if o[0] == OPT_SOURCE_LL {
            if n != 1 {
                return None;
            }
            source_ll = Some([o[2], o[3], o[4], o[5], o[6], o[7]]);
        }
        next = k + n;
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

/// Rewrites the frame into the advertisement `na`; `ip` is the IPv6
/// header's offset. False if the frame cannot be resized.
#[inline(never)]
fn advertise(ctx: &XdpContext, ip: usize, na: &Na) -> bool {
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
    f.set_bytes(0, &na.eth_dst);
    f.set_bytes(6, &na.eth_src);
    f.set_bytes(ip + ip6::VTF, &[0x60, 0, 0, 0]);
    f.set_bytes(ip + ip6::PLEN, &(NA_LEN as u16).to_be_bytes());
    f.set_bytes(ip + ip6::NEXT, &[IPPROTO_ICMPV6, 255]);
    f.set_bytes(ip + ip6::SRC, &na.target);
    f.set_bytes(ip + ip6::DST, &na.ip_dst);
    f.set_bytes(icmp + nd::TYPE, &[ND_NEIGHBOR_ADVERT, 0, 0, 0]);
    f.set_bytes(icmp + nd::FLAGS, &[na.flags, 0, 0, 0]);
    f.set_bytes(icmp + nd::TARGET, &na.target);
    f.set_bytes(icmp + nd::OPTS, &[OPT_TARGET_LL, 1]);
    f.set_bytes(icmp + nd::OPTS + 2, &na.ll);
    // The checksum from the values just written, not re-read.
    let mut s = pseudo(&na.target, &na.ip_dst, NA_LEN);
    s += (ND_NEIGHBOR_ADVERT as u32) << 8;
    s += (na.flags as u32) << 8;
    s += sum_addr(&na.target);
    s += ((OPT_TARGET_LL as u32) << 8) | 1;
    for i in 0..3 {
        s += u16::from_be_bytes([na.ll[2 * i], na.ll[2 * i + 1]]) as u32;
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
