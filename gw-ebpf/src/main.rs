//! gw's XDP program: answers ARP for virtual IPs from agent-written maps.
//!
//! Per frame (DESIGN.md "Data plane"):
//! 1. Ethernet plus up to two VLAN tags (802.1Q / 802.1ad).
//! 2. ARP whose target is a configured VIP: a request to an owned vMAC is
//!    answered with that vMAC; any other request is answered by the AVG with
//!    a vMAC from the group's slot table; everything else for the VIP drops.
//! 3. Neighbor Solicitations for a virtual IPv6 address: the same, with
//!    Neighbor Advertisements (nd6.rs).
//! 4. Frames to an owned vMAC get the interface MAC as destination and pass.
//! 5. Everything else passes untouched.
//!
//! The program holds no protocol state. Every verdict is counted by reason
//! in `GW_STATS`; nothing maps to XDP_ABORTED.
#![no_std]
#![no_main]
// atomic_xadd: the round-robin position is shared by every CPU.
#![allow(internal_features)]
#![feature(core_intrinsics)]

mod frame;
mod maps;
mod nd6;

use aya_ebpf::{
    bindings::xdp_action, helpers::bpf_ktime_get_ns, macros::xdp, programs::XdpContext,
};
use aya_log_ebpf::warn;
use core::intrinsics::{AtomicOrdering, atomic_xadd};
use gw_common::{
    ClientKey, ClientValue, Counter, FWD_STATS_PER_GROUP, GROUP_FLAG_AVG, GroupKey, GroupValue,
    MODE_HOST_HASH, MacKey, RateState, SLOT_TABLE_LEN, Slot, has_vmac_prefix,
};

use frame::{ARP_LEN, Frame, arp_off as a};
use maps::*;

const ETH_P_ARP: u16 = 0x0806;
const ARP_HTYPE_ETHER: u16 = 1;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const ARPOP_REQUEST: u16 = 1;
const ARPOP_REPLY: u16 = 2;
/// How stale a client entry may get before forwarded traffic refreshes it.
const CLIENT_REFRESH_NS: u64 = 1_000_000_000;

#[xdp]
pub fn gw_xdp(ctx: XdpContext) -> u32 {
    let frame = Frame::new(&ctx);
    let (verdict, counter) = classify(&ctx, &frame);
    count(counter);
    if counter == Counter::DropEmptyTable {
        // Rare and a configuration problem: worth a line in the agent's log.
        warn!(&ctx, "AVG with an empty slot table: ARP request dropped");
    }
    verdict
}

#[inline(always)]
fn classify(ctx: &XdpContext, f: &Frame) -> (u32, Counter) {
    let Some(l2) = f.l2() else {
        return (xdp_action::XDP_PASS, Counter::Truncated);
    };
    if l2.ethertype == ETH_P_ARP {
        if let Some(r) = arp(f, l2.off, l2.vlan, &l2.dst) {
            return r;
        }
    }
    // After an answer the frame may have a new length: `f` is stale.
    if l2.ethertype == ETH_P_IPV6
        && let Some(r) = nd6::nd6(ctx, f, &l2)
    {
        return r;
    }
    if has_vmac_prefix(&l2.dst) {
        return vmac_frame(f, &l2);
    }
    (xdp_action::XDP_PASS, Counter::Pass)
}

/// ARP handling. `None` means "not ARP for a VIP": the caller goes on with
/// the frame as an ordinary one.
#[inline(always)]
fn arp(f: &Frame, off: usize, vlan: u16, dst: &[u8; 6]) -> Option<(u32, Counter)> {
    if !f.has(off, ARP_LEN) {
        return Some((xdp_action::XDP_PASS, Counter::Truncated));
    }
    if f.u16_at(off + a::HTYPE) != ARP_HTYPE_ETHER
        || f.u16_at(off + a::PTYPE) != ETH_P_IP
        || f.u8_at(off + a::HLEN) != 6
        || f.u8_at(off + a::PLEN) != 4
    {
        return Some((xdp_action::XDP_PASS, Counter::ArpMalformed));
    }
    let tpa: [u8; 4] = f.bytes_at(off + a::TPA);
    // 0.0.0.0/8 is never a gateway: those keys hold IPv6-only groups
    // (`gw_common::v6_only_key`), which must not answer ARP.
    if gw_common::is_v6_only_vip(&tpa) {
        return None;
    }
    let key = GroupKey {
        vip: tpa,
        vlan,
        _pad: 0,
    };
    // SAFETY: the value is copied out at once; a concurrent agent update
    // replaces the element as a whole (hash maps update by RCU).
    let group: GroupValue = unsafe { *GW_GROUPS.get(&key)? };
    let gstats = GW_GROUP_STATS.get_ptr_mut(group.idx as u32);
    if let Some(s) = gstats {
        unsafe { (*s).arp_requests += 1 };
    }
    let r = arp_for_vip(f, off, dst, &group, gstats);
    if r.0 == xdp_action::XDP_DROP {
        if let Some(s) = gstats {
            unsafe { (*s).arp_drops += 1 };
        }
    }
    Some(r)
}

#[inline(always)]
fn arp_for_vip(
    f: &Frame,
    off: usize,
    dst: &[u8; 6],
    group: &GroupValue,
    gstats: Option<*mut gw_common::GroupStats>,
) -> (u32, Counter) {
    let drop = xdp_action::XDP_DROP;
    if f.u16_at(off + a::OPER) != ARPOP_REQUEST {
        return (drop, Counter::DropNotRequest);
    }
    let spa: [u8; 4] = f.bytes_at(off + a::SPA);
    let tpa: [u8; 4] = f.bytes_at(off + a::TPA);
    if spa == tpa {
        return (drop, Counter::DropGratuitous);
    }
    let Some(cfg) = GW_CONFIG.get(0) else {
        return (drop, Counter::DropLeaseExpired);
    };
    let sha: [u8; 6] = f.bytes_at(off + a::SHA);
    if sha == cfg.mac {
        return (drop, Counter::DropOwnSender);
    }
    let now = unsafe { bpf_ktime_get_ns() };
    if !lease_valid(group.idx, now) {
        return (drop, Counter::DropLeaseExpired);
    }
    if cfg.arp_rate_pps != 0 && !rate_ok(&sha, now, cfg.arp_rate_pps, cfg.arp_burst) {
        return (drop, Counter::DropRateLimited);
    }

    // Unicast to a vMAC we forward for: keep the host on that forwarder,
    // whether or not we are AVG. The reply comes from the vMAC itself, which
    // also refreshes the switch's entry for it.
    if has_vmac_prefix(dst) {
        if let Some(v) = GW_VMACS.get_ptr(MacKey::new(*dst)) {
            let v = unsafe { *v };
            if v.idx == group.idx {
                reply(f, off, dst, dst, &sha, &spa, &tpa);
                account(group.idx, v.fwd, &sha, &spa, now, gstats);
                return (xdp_action::XDP_TX, Counter::ArpReplyUnicast);
            }
        }
    }
    if group.flags & GROUP_FLAG_AVG == 0 {
        return (drop, Counter::DropNotAvg);
    }
    let Some(slot) = pick_slot(group, &sha) else {
        return (drop, Counter::DropEmptyTable);
    };
    reply(f, off, &cfg.mac, &slot.mac, &sha, &spa, &tpa);
    account(group.idx, slot.fwd, &sha, &spa, now, gstats);
    (xdp_action::XDP_TX, Counter::ArpReplyAvg)
}

/// The AVG's answer for the host `client`: a slot of the group's live
/// table, by the group's policy. `None` when the table is empty.
#[inline(always)]
fn pick_slot(group: &GroupValue, client: &[u8; 6]) -> Option<Slot> {
    let table = GW_SLOTS.get_ptr(group.slot_row())?;
    let len = unsafe { (*table).len };
    if len == 0 || len > SLOT_TABLE_LEN as u32 {
        return None;
    }
    let pick = if group.mode == MODE_HOST_HASH {
        mac_hash(client)
    } else {
        match GW_RR.get_ptr_mut(group.idx as u32) {
            Some(p) => {
                // SAFETY: an aligned u64 in a map value that lives as long
                // as the program. Read, then an atomic add whose result is
                // unused: that is BPF_XADD, which every BPF CPU version has
                // (fetch-add needs cpu v3, which aya-build cannot select).
                // The count never loses an increment; two CPUs answering in
                // the same nanoseconds may pick the same slot once.
                let rr = unsafe { p.read_volatile() };
                unsafe { atomic_xadd::<u64, u64, { AtomicOrdering::Relaxed }>(p, 1) };
                // Reduce in 64 bits (truncating first skips slots at 2^32);
                // `%` would leave a panic path the verifier rejects.
                rr.checked_rem(len as u64).unwrap_or(0) as u32
            }
            None => 0,
        }
    };
    // LLVM knows pick % len < 256 and would drop a plain mask, but the
    // verifier does not track modulo bounds: hide the value, then mask.
    let i = core::hint::black_box(pick % len) as usize & (SLOT_TABLE_LEN - 1);
    Some(unsafe { (*table).slots[i] })
}

/// Turns the request into its reply in place; VLAN tags stay as they are.
#[inline(always)]
fn reply(
    f: &Frame,
    off: usize,
    eth_src: &[u8; 6],
    vmac: &[u8; 6],
    sha: &[u8; 6],
    spa: &[u8; 4],
    vip: &[u8; 4],
) {
    let requester: [u8; 6] = f.bytes_at(6);
    f.set_bytes(0, &requester);
    f.set_bytes(6, eth_src);
    f.set_u16(off + a::OPER, ARPOP_REPLY);
    f.set_bytes(off + a::SHA, vmac);
    f.set_bytes(off + a::SPA, vip);
    f.set_bytes(off + a::THA, sha);
    f.set_bytes(off + a::TPA, spa);
}

/// Counters and the client cache for one answer.
#[inline(always)]
fn account(
    idx: u16,
    fwd: u8,
    sha: &[u8; 6],
    spa: &[u8; 4],
    now: u64,
    gstats: Option<*mut gw_common::GroupStats>,
) {
    if let Some(s) = gstats {
        unsafe { (*s).arp_replies += 1 };
    }
    if let Some(s) = GW_FWD_STATS.get_ptr_mut(idx as u32 * FWD_STATS_PER_GROUP + fwd as u32) {
        unsafe { (*s).arp_replies += 1 };
    }
    if *spa == [0; 4] {
        return; // an ARP probe: no address to remember
    }
    remember(idx, sha, spa, fwd, now, 0);
}

/// Records which forwarder a host uses, in place when the host is known
/// (cheaper than a map update). Entries fresher than `refresh_ns` with the
/// same facts are left alone, so busy hosts do not bounce the cache line
/// between CPUs on every frame.
#[inline(always)]
fn remember(idx: u16, mac: &[u8; 6], ip: &[u8; 4], fwd: u8, now: u64, refresh_ns: u64) {
    let key = ClientKey { mac: *mac, idx };
    if let Some(c) = GW_CLIENTS.get_ptr_mut(&key) {
        unsafe {
            if (*c).fwd == fwd && (*c).ip == *ip && now.wrapping_sub((*c).last_seen_ns) < refresh_ns
            {
                return;
            }
            (*c).ip = *ip;
            (*c).fwd = fwd;
            (*c).last_seen_ns = now;
        }
    } else {
        let v = ClientValue {
            ip: *ip,
            fwd,
            _pad: [0; 3],
            last_seen_ns: now,
        };
        let _ = GW_CLIENTS.insert(&key, &v, 0);
    }
}

/// A frame to a vMAC: rewrite to the interface MAC if we forward for it.
#[inline(always)]
fn vmac_frame(f: &Frame, l2: &frame::L2) -> (u32, Counter) {
    let pass = xdp_action::XDP_PASS;
    let Some(v) = GW_VMACS.get_ptr(MacKey::new(l2.dst)) else {
        return (pass, Counter::Pass);
    };
    let v = unsafe { *v };
    let now = unsafe { bpf_ktime_get_ns() };
    if !lease_valid(v.idx, now) {
        return (pass, Counter::VmacLeaseExpired);
    }
    let Some(cfg) = GW_CONFIG.get(0) else {
        return (pass, Counter::Pass);
    };
    f.set_bytes(0, &cfg.mac);
    let len = f.len() as u64;
    if let Some(s) = GW_GROUP_STATS.get_ptr_mut(v.idx as u32) {
        unsafe {
            (*s).vmac_frames += 1;
            (*s).vmac_bytes += len;
        }
    }
    if let Some(s) = GW_FWD_STATS.get_ptr_mut(v.idx as u32 * FWD_STATS_PER_GROUP + v.fwd as u32) {
        unsafe { (*s).frames += 1 };
    }
    // Learn the hosts that use this vMAC from their traffic, not only from
    // the ARP answers this router gave: after a takeover, or when another
    // router was AVG, this is how the router holding a vMAC knows whom to
    // move when the redirect time runs out.
    if l2.ethertype == ETH_P_IP && f.has(l2.off, 20) {
        let src_ip: [u8; 4] = f.bytes_at(l2.off + 12);
        let src_mac: [u8; 6] = f.bytes_at(6);
        remember(v.idx, &src_mac, &src_ip, v.fwd, now, CLIENT_REFRESH_NS);
    } else if l2.ethertype == ETH_P_IPV6 && f.has(l2.off, 40) {
        let src_mac: [u8; 6] = f.bytes_at(6);
        nd6::remember6(v.idx, &src_mac, v.fwd, now, CLIENT_REFRESH_NS);
    }
    (pass, Counter::VmacRewrite)
}

/// GCRA (a token bucket in one u64): each request moves the sender's
/// theoretical arrival time one interval on; a sender more than `burst`
/// intervals ahead of the clock is over its rate. Racy across CPUs, which
/// at worst lets a few extra requests through.
#[inline(always)]
fn rate_ok(sha: &[u8; 6], now: u64, pps: u32, burst: u32) -> bool {
    let interval = 1_000_000_000 / pps as u64;
    let tolerance = interval * burst as u64;
    let key = MacKey::new(*sha);
    match GW_RATE.get_ptr_mut(&key) {
        Some(p) => unsafe {
            let tat = if (*p).tat_ns > now { (*p).tat_ns } else { now };
            if tat - now > tolerance {
                return false;
            }
            (*p).tat_ns = tat + interval;
            true
        },
        None => {
            let _ = GW_RATE.insert(
                &key,
                &RateState {
                    tat_ns: now + interval,
                },
                0,
            );
            true
        }
    }
}

#[inline(always)]
fn lease_valid(idx: u16, now: u64) -> bool {
    match GW_LEASES.get(idx as u32) {
        Some(deadline) => now < *deadline,
        None => false,
    }
}

#[inline(always)]
fn count(c: Counter) {
    if let Some(p) = GW_STATS.get_ptr_mut(c as u32) {
        unsafe { *p += 1 };
    }
}

/// Host-dependent slot choice: a fixed mix of the client MAC, so one host
/// always lands on the same slot while the table is unchanged.
#[inline(always)]
fn mac_hash(mac: &[u8; 6]) -> u32 {
    let hi = u16::from_be_bytes([mac[0], mac[1]]) as u32;
    let lo = u32::from_be_bytes([mac[2], mac[3], mac[4], mac[5]]);
    let mut h = lo ^ hi.wrapping_mul(0x9e37_79b1);
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 4] = *b"GPL\0";
