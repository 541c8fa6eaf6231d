//! The validity checks of RFC 4861 7.1.1 on a solicitation, on a copy of
//! it in per-CPU scratch memory (no packet reads, no big stack).

use aya_ebpf::{helpers::bpf_xdp_load_bytes, programs::XdpContext};
use gw_common::Counter;

use super::{
    IP6_HLEN, MAX_OPT_LEN, ND_FIXED_LEN, Na, OPT_SOURCE_LL, advert::fold, advert::pseudo, ip6, nd,
};
use crate::frame::Frame;

/// Per-CPU scratch (`GW_ND_SCRATCH`): the message under check and the
/// answer being built live here, not on the 512-byte stack.
#[repr(C)]
pub struct Scratch {
    /// The IPv6 header up to the addresses, copied out of the frame.
    pub(super) hdr: [u8; ip6::SRC],
    pub(super) src: [u8; 16],
    pub(super) dst: [u8; 16],
    /// The ICMPv6 message, copied right after them.
    pub(super) msg: [u8; ND_FIXED_LEN + MAX_OPT_LEN],
    /// The answer, addressed to the sender once `check` passes.
    pub(super) na: Na,
    /// Who asked: the source link-layer address, else the Ethernet source.
    pub(super) client: [u8; 6],
    /// 1 when from the unspecified address (Duplicate Address Detection).
    pub(super) dad: u8,
    _pad: u8,
}

/// The validity checks of RFC 4861 7.1.1 on the solicitation whose IPv6
/// header is at `ip`; on success fills in `sc` (addresses the answer to
/// the sender, says who asked) and returns `None`, else the drop reason.
/// The IPv6 header and message are copied to the scratch first
/// (bpf_xdp_load_bytes, which also finds them truncated), so the checks
/// read no packet memory.
#[inline(never)]
pub(super) fn check(ctx: &XdpContext, ip: usize, sc: &mut Scratch) -> Option<Counter> {
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
    if !plen.is_multiple_of(8) || !checksum_ok(&sc.msg, plen, pseudo(&sc.src, &sc.dst, plen)) {
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
