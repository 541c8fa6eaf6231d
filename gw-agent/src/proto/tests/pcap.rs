//! Test support: wrap a UDP payload in Ethernet / IPv4 or IPv6 / UDP with
//! correct checksums, and write classic pcap files (for tshark).
//!
//! Standalone on purpose (std only, no `super::` paths) so other tests can
//! include it with `#[path = ".../proto/tests/pcap.rs"] mod pcap;`.
//! Being test code, it panics on misuse (mixed address families).

#![allow(
    dead_code,
    reason = "shared support: not every user needs every helper"
)]

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const IPPROTO_UDP: u8 = 17;
const UDP_HEADER_LEN: usize = 8;

/// Addresses, hop limit and ports of one Ethernet/IP/UDP frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpFrame {
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub hop_limit: u8,
    pub src_port: u16,
    pub dst_port: u16,
}

impl UdpFrame {
    /// A GLBP frame from `src_mac`/`src`: to 224.0.0.102 or ff02::66 (per
    /// `src`'s family) and its multicast MAC, TTL 255, UDP 3222 -> 3222.
    pub fn glbp(src_mac: [u8; 6], src: IpAddr) -> Self {
        let dst = match src {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::new(224, 0, 0, 102)),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x66)),
        };
        Self {
            src_mac,
            dst_mac: multicast_mac(dst).unwrap_or([0xff; 6]),
            src,
            dst,
            hop_limit: 255,
            src_port: 3222,
            dst_port: 3222,
        }
    }

    /// The whole Ethernet frame carrying `payload` (no FCS).
    pub fn build(&self, payload: &[u8]) -> Vec<u8> {
        let udp_len = UDP_HEADER_LEN + payload.len();
        let mut udp = Vec::with_capacity(udp_len);
        udp.extend_from_slice(&self.src_port.to_be_bytes());
        udp.extend_from_slice(&self.dst_port.to_be_bytes());
        udp.extend_from_slice(&u16_len(udp_len).to_be_bytes());
        udp.extend_from_slice(&[0, 0]);
        udp.extend_from_slice(payload);

        let (ethertype, mut ip, pseudo) = match (self.src, self.dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => (
                ETHERTYPE_IPV4,
                ipv4_header(src, dst, self.hop_limit, udp_len),
                {
                    let mut p = Vec::with_capacity(12);
                    p.extend_from_slice(&src.octets());
                    p.extend_from_slice(&dst.octets());
                    p.extend_from_slice(&[0, IPPROTO_UDP]);
                    p.extend_from_slice(&u16_len(udp_len).to_be_bytes());
                    p
                },
            ),
            (IpAddr::V6(src), IpAddr::V6(dst)) => (
                ETHERTYPE_IPV6,
                ipv6_header(src, dst, self.hop_limit, udp_len),
                {
                    let mut p = Vec::with_capacity(40);
                    p.extend_from_slice(&src.octets());
                    p.extend_from_slice(&dst.octets());
                    p.extend_from_slice(&u32::try_from(udp_len).unwrap_or(0).to_be_bytes());
                    p.extend_from_slice(&[0, 0, 0, IPPROTO_UDP]);
                    p
                },
            ),
            (src, dst) => panic!("mixed address families: {src} -> {dst}"),
        };
        let mut sum_input = pseudo;
        sum_input.extend_from_slice(&udp);
        let checksum = match internet_checksum(&sum_input) {
            0 => 0xffff, // 0 means "no checksum" in UDP
            sum => sum,
        };
        udp[6..8].copy_from_slice(&checksum.to_be_bytes());

        let mut frame = Vec::with_capacity(14 + ip.len() + udp.len());
        frame.extend_from_slice(&self.dst_mac);
        frame.extend_from_slice(&self.src_mac);
        frame.extend_from_slice(&ethertype.to_be_bytes());
        frame.append(&mut ip);
        frame.append(&mut udp);
        frame
    }
}

fn u16_len(len: usize) -> u16 {
    u16::try_from(len).expect("frame longer than 64 KiB")
}

fn ipv4_header(src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, payload_len: usize) -> Vec<u8> {
    let mut h = vec![0x45, 0x00];
    h.extend_from_slice(&u16_len(20 + payload_len).to_be_bytes());
    h.extend_from_slice(&[0, 0, 0, 0]); // identification, flags, fragment offset
    h.extend_from_slice(&[ttl, IPPROTO_UDP, 0, 0]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    let checksum = internet_checksum(&h);
    h[10..12].copy_from_slice(&checksum.to_be_bytes());
    h
}

fn ipv6_header(src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8, payload_len: usize) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&u16_len(payload_len).to_be_bytes());
    h.extend_from_slice(&[IPPROTO_UDP, hop_limit]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    h
}

/// RFC 1071 one's-complement checksum of `data`.
pub fn internet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The Ethernet MAC an IP multicast group maps to (RFC 1112 / RFC 2464).
pub fn multicast_mac(ip: IpAddr) -> Option<[u8; 6]> {
    match ip {
        IpAddr::V4(v4) if v4.is_multicast() => {
            let o = v4.octets();
            Some([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]])
        }
        IpAddr::V6(v6) if v6.is_multicast() => {
            let o = v6.octets();
            Some([0x33, 0x33, o[12], o[13], o[14], o[15]])
        }
        _ => None,
    }
}

/// Writes `frames` as a classic (microsecond, little-endian) pcap file of
/// link type Ethernet, one second apart from the epoch.
pub fn write_pcap(path: &Path, frames: &[&[u8]]) -> io::Result<()> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4_u32.to_le_bytes()); // magic
    out.extend_from_slice(&2u16.to_le_bytes()); // version 2.4
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes()); // thiszone
    out.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
    out.extend_from_slice(&65535u32.to_le_bytes()); // snaplen
    out.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
    for (i, frame) in frames.iter().enumerate() {
        let len = u32::try_from(frame.len()).expect("frame too long");
        out.extend_from_slice(&u32::try_from(i + 1).unwrap_or(0).to_le_bytes()); // ts_sec
        out.extend_from_slice(&0u32.to_le_bytes()); // ts_usec
        out.extend_from_slice(&len.to_le_bytes()); // incl_len
        out.extend_from_slice(&len.to_le_bytes()); // orig_len
        out.extend_from_slice(frame);
    }
    std::fs::File::create(path)?.write_all(&out)
}
