//! IPv6 frames the agent sends itself: GLBP hellos to ff02::66 (the twin
//! of `frame::glbp_frame`) and the Neighbor Advertisement that moves a
//! host off a failed forwarder (the twin of `frame::arp_reply`).

use std::net::Ipv6Addr;

use super::frame::checksum;
use crate::proto::{GLBP_MCAST_V6, GLBP_PORT, GLBP_TTL};

pub const ETH_P_IPV6: u16 = 0x86dd;
const IPPROTO_ICMPV6: u8 = 58;
const ND_NEIGHBOR_ADVERT: u8 = 136;
const NA_ROUTER: u8 = 0x80;
const NA_OVERRIDE: u8 = 0x20;
const OPT_TARGET_LL: u8 = 2;

const IPPROTO_UDP: u8 = 17;

/// Ethernet + IPv6 header (hop limit `hops`) around an upper-layer
/// message whose checksum field is at `csum_at`, filled in here.
fn ipv6_frame(
    eth: ([u8; 6], [u8; 6]),
    ip: (Ipv6Addr, Ipv6Addr),
    next: u8,
    hops: u8,
    mut msg: Vec<u8>,
    csum_at: usize,
) -> Vec<u8> {
    let (src, dst) = ip;
    let mut pseudo = Vec::with_capacity(40);
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, next]);
    let mut csum = checksum(&[&pseudo, &msg]);
    if next == IPPROTO_UDP && csum == 0 {
        csum = 0xffff; // RFC 8200 8.1: a UDP checksum is never sent as 0
    }
    msg[csum_at..csum_at + 2].copy_from_slice(&csum.to_be_bytes());
    let mut f = Vec::with_capacity(14 + 40 + msg.len());
    f.extend_from_slice(&eth.0);
    f.extend_from_slice(&eth.1);
    f.extend_from_slice(&ETH_P_IPV6.to_be_bytes());
    f.extend_from_slice(&[0x6c, 0, 0, 0]); // traffic class CS6 (network control)
    f.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    f.extend_from_slice(&[next, hops]);
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(&dst.octets());
    f.extend_from_slice(&msg);
    f
}

/// Ethernet / IPv6 / UDP 3222 -> ff02::66, hop limit 255, around a GLBP
/// `payload`, from `src_ip` (the interface's link-local address).
pub fn glbp_frame6(src_mac: [u8; 6], src_ip: Ipv6Addr, payload: &[u8]) -> Vec<u8> {
    let dst = GLBP_MCAST_V6;
    let o = dst.octets();
    let mac = [0x33, 0x33, o[12], o[13], o[14], o[15]];
    let mut udp = Vec::with_capacity(8 + payload.len());
    udp.extend_from_slice(&GLBP_PORT.to_be_bytes());
    udp.extend_from_slice(&GLBP_PORT.to_be_bytes());
    udp.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    ipv6_frame((mac, src_mac), (src_ip, dst), IPPROTO_UDP, GLBP_TTL, udp, 6)
}

/// An unsolicited advertisement telling `client` that `vip` is at `vmac`:
/// Ethernet unicast to the host, IPv6 to all-nodes (the host's own IPv6
/// address is not known), Router and Override set, Solicited clear (RFC
/// 4861 7.2.6), hop limit 255. A host with no entry for `vip` ignores it.
pub fn neighbor_advert(
    src_mac: [u8; 6],
    vmac: [u8; 6],
    vip: Ipv6Addr,
    client_mac: [u8; 6],
) -> Vec<u8> {
    let dst = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    let mut icmp = vec![
        ND_NEIGHBOR_ADVERT,
        0,
        0,
        0,
        NA_ROUTER | NA_OVERRIDE,
        0,
        0,
        0,
    ];
    icmp.extend_from_slice(&vip.octets());
    icmp.extend_from_slice(&[OPT_TARGET_LL, 1]);
    icmp.extend_from_slice(&vmac);
    let mut f = ipv6_frame(
        (client_mac, src_mac),
        (vip, dst),
        IPPROTO_ICMPV6,
        255,
        icmp,
        2,
    );
    f[14] = 0x60; // traffic class 0, as ND messages carry
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advert_layout_and_checksum() {
        let vip: Ipv6Addr = "fe80::7:b4ff:fe00:100".parse().unwrap();
        let f = neighbor_advert([2; 6], [0, 7, 0xb4, 0, 1, 2], vip, [4; 6]);
        assert_eq!(f.len(), 14 + 40 + 32);
        assert_eq!((&f[..6], &f[12..14]), (&[4u8; 6][..], &[0x86, 0xdd][..]));
        assert_eq!((f[20], f[21]), (58, 255));
        assert_eq!(&f[22..38], &vip.octets());
        assert_eq!((f[54], f[58]), (136, 0xa0), "NA, Router + Override");
        assert_eq!(&f[78..86], &[2, 1, 0, 7, 0xb4, 0, 1, 2]);
        // With its checksum in place the message sums to zero.
        let mut pseudo = f[22..54].to_vec();
        pseudo.extend_from_slice(&[0, 0, 0, 32, 0, 0, 0, 58]);
        assert_eq!(checksum(&[&pseudo, &f[54..]]), 0);
    }

    #[test]
    fn hello_frame_layout_and_checksum() {
        let src: Ipv6Addr = "fe80::1".parse().unwrap();
        let f = glbp_frame6([2; 6], src, &[1, 2, 3]);
        assert_eq!(&f[..6], &[0x33, 0x33, 0, 0, 0, 0x66]);
        assert_eq!((f[20], f[21]), (17, 255), "UDP, hop limit 255");
        assert_eq!(&f[38..54], &GLBP_MCAST_V6.octets());
        assert_eq!(&f[54..58], &[0x0c, 0x96, 0x0c, 0x96], "ports 3222");
        let mut pseudo = f[22..54].to_vec();
        pseudo.extend_from_slice(&[0, 0, 0, 11, 0, 0, 0, 17]);
        assert_eq!(checksum(&[&pseudo, &f[54..]]), 0);
    }
}
