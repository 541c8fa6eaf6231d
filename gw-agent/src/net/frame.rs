//! Frames the agent sends through its packet socket: GLBP hellos (so each
//! can carry a vMAC as Ethernet source, which keeps switch MAC tables
//! pointing at the router that forwards for it) and the unicast ARP replies
//! that move hosts off a failed forwarder.

use std::net::Ipv4Addr;

use crate::proto::{GLBP_MCAST_V4, GLBP_PORT, GLBP_TTL};

pub const ETH_P_IP: u16 = 0x0800;
pub const ETH_P_ARP: u16 = 0x0806;
const IPV4_HLEN: usize = 20;
const UDP_HLEN: usize = 8;
const ETH_HLEN: usize = 14;

/// 01:00:5e + low 23 bits of 224.0.0.102.
pub fn mcast_mac(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]
}

/// Ethernet / IPv4 / UDP 3222 -> 224.0.0.102, TTL 255, around `payload`.
pub fn glbp_frame(src_mac: [u8; 6], src_ip: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    let dst_ip = GLBP_MCAST_V4;
    let udp_len = UDP_HLEN + payload.len();
    let ip_len = IPV4_HLEN + udp_len;
    let mut f = Vec::with_capacity(ETH_HLEN + ip_len);
    f.extend_from_slice(&mcast_mac(dst_ip));
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&ETH_P_IP.to_be_bytes());
    let ip_start = f.len();
    f.extend_from_slice(&[0x45, 0xc0]); // IPv4, IHL 5; DSCP CS6 (network control)
    f.extend_from_slice(&(ip_len as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0, 0x40, 0]); // id 0, don't fragment
    f.extend_from_slice(&[GLBP_TTL, 17, 0, 0]); // TTL, UDP, checksum below
    f.extend_from_slice(&src_ip.octets());
    f.extend_from_slice(&dst_ip.octets());
    let csum = checksum(&[&f[ip_start..ip_start + IPV4_HLEN]]);
    f[ip_start + 10..ip_start + 12].copy_from_slice(&csum.to_be_bytes());
    let udp_start = f.len();
    f.extend_from_slice(&GLBP_PORT.to_be_bytes());
    f.extend_from_slice(&GLBP_PORT.to_be_bytes());
    f.extend_from_slice(&(udp_len as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    let mut pseudo = [0u8; 12];
    pseudo[..4].copy_from_slice(&src_ip.octets());
    pseudo[4..8].copy_from_slice(&dst_ip.octets());
    pseudo[9] = 17;
    pseudo[10..12].copy_from_slice(&(udp_len as u16).to_be_bytes());
    let mut csum = checksum(&[&pseudo, &f[udp_start..]]);
    if csum == 0 {
        csum = 0xffff; // RFC 768: zero means "no checksum"
    }
    f[udp_start + 6..udp_start + 8].copy_from_slice(&csum.to_be_bytes());
    f
}

/// RFC 1071 Internet checksum over the concatenation of `parts`.
pub fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    let mut odd: Option<u8> = None;
    for p in parts {
        for &b in *p {
            match odd.take() {
                Some(hi) => sum += u32::from(u16::from_be_bytes([hi, b])),
                None => odd = Some(b),
            }
        }
    }
    if let Some(hi) = odd {
        sum += u32::from(u16::from_be_bytes([hi, 0]));
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A unicast ARP reply telling `client` that `vip` is at `vmac`, sent from
/// the interface MAC like the AVG's ordinary answers.
pub fn arp_reply(
    src_mac: [u8; 6],
    vmac: [u8; 6],
    vip: Ipv4Addr,
    client_mac: [u8; 6],
    client_ip: Ipv4Addr,
) -> Vec<u8> {
    let mut f = Vec::with_capacity(ETH_HLEN + 28);
    f.extend_from_slice(&client_mac);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&ETH_P_ARP.to_be_bytes());
    f.extend_from_slice(&[0, 1, 0x08, 0, 6, 4, 0, 2]); // Ethernet, IPv4, reply
    f.extend_from_slice(&vmac);
    f.extend_from_slice(&vip.octets());
    f.extend_from_slice(&client_mac);
    f.extend_from_slice(&client_ip.octets());
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_verify() {
        let f = glbp_frame([2, 0, 0, 0, 0, 1], Ipv4Addr::new(192, 0, 2, 2), &[1, 2, 3]);
        assert_eq!(&f[..6], &[0x01, 0x00, 0x5e, 0, 0, 0x66]);
        assert_eq!(f[14 + 8], 255, "TTL");
        // A header with its checksum in place sums to zero.
        assert_eq!(checksum(&[&f[14..34]]), 0);
        let udp = &f[34..];
        let mut pseudo = [0u8; 12];
        pseudo[..4].copy_from_slice(&f[26..30]);
        pseudo[4..8].copy_from_slice(&f[30..34]);
        pseudo[9] = 17;
        pseudo[10..12].copy_from_slice(&(udp.len() as u16).to_be_bytes());
        assert_eq!(checksum(&[&pseudo, udp]), 0);
    }

    #[test]
    fn arp_reply_layout() {
        let f = arp_reply(
            [2; 6],
            [0, 7, 0xb4, 0, 1, 2],
            Ipv4Addr::new(192, 0, 2, 1),
            [4; 6],
            Ipv4Addr::new(192, 0, 2, 50),
        );
        assert_eq!(f.len(), 42);
        assert_eq!(&f[20..22], &[0, 2]);
        assert_eq!(&f[22..28], &[0, 7, 0xb4, 0, 1, 2]);
        assert_eq!(&f[38..42], &[192, 0, 2, 50]);
    }
}
