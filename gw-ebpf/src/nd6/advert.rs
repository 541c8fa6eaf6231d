//! Writing the Neighbor Advertisement over the solicitation, and the
//! ICMPv6 checksum arithmetic (RFC 1071, RFC 8200 8.1).

use aya_ebpf::{helpers::bpf_xdp_adjust_tail, programs::XdpContext};

use super::{IP6_HLEN, IPPROTO_ICMPV6, NA_LEN, ND_NEIGHBOR_ADVERT, Na, OPT_TARGET_LL, ip6, nd};
use crate::frame::Frame;

/// Sum of the 16-bit words of an address (RFC 1071, not yet folded).
#[inline(always)]
pub(super) fn sum_addr(a: &[u8; 16]) -> u32 {
    let mut s = 0;
    for i in 0..8 {
        s += u16::from_be_bytes([a[2 * i], a[2 * i + 1]]) as u32;
    }
    s
}

/// Folds to 16 bits. Inputs here stay below 2^24, so three folds suffice.
#[inline(always)]
pub(super) fn fold(mut s: u32) -> u16 {
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s as u16
}

/// Pseudo-header (RFC 8200 8.1) plus the upper-layer length and type.
#[inline(always)]
pub(super) fn pseudo(src: &[u8; 16], dst: &[u8; 16], len: usize) -> u32 {
    sum_addr(src) + sum_addr(dst) + len as u32 + IPPROTO_ICMPV6 as u32
}

/// Rewrites the frame into the advertisement `na`; `ip` is the IPv6
/// header's offset. False if the frame cannot be resized.
#[inline(never)]
pub(super) fn advertise(ctx: &XdpContext, ip: usize, na: &Na) -> bool {
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
