//! IPv6 Neighbor Solicitation builders and the IPv6 addresses the ND tests
//! use (link-local and 2001:db8::/32 documentation addresses only).
//!
//! Like frames.rs, builders append fields one after another; the oracle
//! (nd6_oracle.rs) reads them back at fixed offsets with its own checksum.

use gw_common::virtual_link_local;

use crate::frames::{CLIENT_MAC, GROUP, Tag};

pub const ETH_P_IPV6: u16 = 0x86dd;
pub const ICMPV6: u8 = 58;
pub const NS: u8 = 135;
pub const NA: u8 = 136;
pub const OPT_SLLA: u8 = 1;
pub const OPT_TLLA: u8 = 2;
pub const OPT_NONCE: u8 = 14;

/// The standard group's virtual link-local address, as Cisco derives it:
/// fe80::7:b4ff:fe00:100.
pub const VIP6: [u8; 16] = virtual_link_local(GROUP);
/// A global virtual address of the standard group.
pub const VIP6_GLOBAL: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
/// The client's link-local address.
pub const CLIENT_IP6: [u8; 16] = [
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0x5e, 0xff, 0xfe, 0x20, 0, 0x0a,
];
/// A link-local address that is no virtual address.
pub const OTHER_IP6: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99];
pub const ALL_NODES: [u8; 16] = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

/// ff02::1:ffXX:XXXX for `a` (RFC 4291 2.7.1).
pub fn solicited_node(a: &[u8; 16]) -> [u8; 16] {
    let mut s = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0];
    s[13..].copy_from_slice(&a[13..]);
    s
}

/// 33:33 + the low 32 bits of a multicast IPv6 address (RFC 2464 7).
pub fn mcast_mac(a: &[u8; 16]) -> [u8; 6] {
    [0x33, 0x33, a[12], a[13], a[14], a[15]]
}

/// An option: type, length in units of 8 bytes, then the data.
pub fn option(kind: u8, data: &[u8]) -> Vec<u8> {
    let mut o = vec![kind, 0];
    o.extend_from_slice(data);
    while o.len() % 8 != 0 {
        o.push(0);
    }
    o[1] = (o.len() / 8) as u8;
    o
}

pub fn slla(mac: [u8; 6]) -> Vec<u8> {
    option(OPT_SLLA, &mac)
}

/// A Neighbor Solicitation; every field settable so tests can break it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NsFrame {
    pub dst: [u8; 6],
    pub src: [u8; 6],
    pub tags: Vec<Tag>,
    pub ethertype: u16,
    /// Version, traffic class, flow label.
    pub vtf: [u8; 4],
    pub next: u8,
    pub hops: u8,
    pub ip_src: [u8; 16],
    pub ip_dst: [u8; 16],
    pub icmp_type: u8,
    pub code: u8,
    pub reserved: [u8; 4],
    pub target: [u8; 16],
    /// Raw option bytes.
    pub options: Vec<u8>,
    /// Payload length field; `None`: the true length.
    pub plen: Option<u16>,
    /// Checksum field; `None`: the correct one.
    pub csum: Option<u16>,
    /// Bytes after the IPv6 payload (not counted in the payload length).
    pub pad: Vec<u8>,
}

impl NsFrame {
    /// Multicast "who has `target`?" from the standard client, with its
    /// source link-layer option, as Linux sends it.
    pub fn solicit(target: [u8; 16]) -> Self {
        let group = solicited_node(&target);
        Self {
            dst: mcast_mac(&group),
            src: CLIENT_MAC,
            tags: Vec::new(),
            ethertype: ETH_P_IPV6,
            vtf: [0x60, 0, 0, 0],
            next: ICMPV6,
            hops: 255,
            ip_src: CLIENT_IP6,
            ip_dst: group,
            icmp_type: NS,
            code: 0,
            reserved: [0; 4],
            target,
            options: slla(CLIENT_MAC),
            plen: None,
            csum: None,
            pad: Vec::new(),
        }
    }

    /// The standard client asking for the virtual link-local address.
    pub fn for_vip6() -> Self {
        Self::solicit(VIP6)
    }

    /// Unicast to `mac` and to the target itself (Linux confirming a
    /// stale neighbour entry).
    pub fn unicast(mut self, mac: [u8; 6]) -> Self {
        self.dst = mac;
        self.ip_dst = self.target;
        self
    }

    /// Duplicate Address Detection: from ::, without a source link-layer
    /// option, with a nonce (RFC 7527) as Linux sends it.
    pub fn dad(mut self) -> Self {
        self.ip_src = [0; 16];
        self.options = option(OPT_NONCE, &[1, 2, 3, 4, 5, 6]);
        self
    }

    pub fn from(mut self, mac: [u8; 6]) -> Self {
        self.src = mac;
        self.options = slla(mac);
        self
    }

    pub fn tag(mut self, t: Tag) -> Self {
        self.tags.push(t);
        self
    }

    pub fn options(mut self, o: Vec<u8>) -> Self {
        self.options = o;
        self
    }

    /// The ICMPv6 message as sent (checksum in place).
    pub fn icmp(&self) -> Vec<u8> {
        let mut m = vec![self.icmp_type, self.code, 0, 0];
        m.extend_from_slice(&self.reserved);
        m.extend_from_slice(&self.target);
        m.extend_from_slice(&self.options);
        let csum = self
            .csum
            .unwrap_or_else(|| icmpv6_checksum(&self.ip_src, &self.ip_dst, &m));
        m[2..4].copy_from_slice(&csum.to_be_bytes());
        m
    }

    pub fn bytes(&self) -> Vec<u8> {
        let icmp = self.icmp();
        let mut b = Vec::new();
        b.extend_from_slice(&self.dst);
        b.extend_from_slice(&self.src);
        for t in &self.tags {
            b.extend_from_slice(&t.tpid.to_be_bytes());
            b.extend_from_slice(&t.tci.to_be_bytes());
        }
        b.extend_from_slice(&self.ethertype.to_be_bytes());
        b.extend_from_slice(&self.vtf);
        let plen = self.plen.unwrap_or(icmp.len() as u16);
        b.extend_from_slice(&plen.to_be_bytes());
        b.push(self.next);
        b.push(self.hops);
        b.extend_from_slice(&self.ip_src);
        b.extend_from_slice(&self.ip_dst);
        b.extend_from_slice(&icmp);
        b.extend_from_slice(&self.pad);
        b
    }
}

/// RFC 4443 2.3: the ones' complement sum over the pseudo-header and the
/// message with its checksum field zero.
pub fn icmpv6_checksum(src: &[u8; 16], dst: &[u8; 16], msg: &[u8]) -> u16 {
    let mut data = Vec::new();
    data.extend_from_slice(src);
    data.extend_from_slice(dst);
    data.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    data.extend_from_slice(&[0, 0, 0, ICMPV6]);
    data.extend_from_slice(msg);
    data[40 + 2..40 + 4].copy_from_slice(&[0, 0]);
    if data.len() % 2 == 1 {
        data.push(0);
    }
    let mut sum: u64 = 0;
    for w in data.chunks(2) {
        sum += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    while sum > 0xffff {
        sum = (sum >> 16) + (sum & 0xffff);
    }
    !(sum as u16)
}

/// An IPv6/UDP datagram from the client to a remote host via `dst` (a
/// vMAC): routed traffic.
pub fn ipv6_udp(dst: [u8; 6], tags: &[Tag]) -> Vec<u8> {
    let payload = b"gw xdp ipv6 payload";
    let mut b = Vec::new();
    b.extend_from_slice(&dst);
    b.extend_from_slice(&CLIENT_MAC);
    for t in tags {
        b.extend_from_slice(&t.tpid.to_be_bytes());
        b.extend_from_slice(&t.tci.to_be_bytes());
    }
    b.extend_from_slice(&ETH_P_IPV6.to_be_bytes());
    b.extend_from_slice(&[0x60, 0, 0, 0]);
    b.extend_from_slice(&(8 + payload.len() as u16).to_be_bytes());
    b.extend_from_slice(&[17, 64]);
    b.extend_from_slice(&[
        0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a,
    ]);
    b.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]);
    b.extend_from_slice(&40000u16.to_be_bytes());
    b.extend_from_slice(&53u16.to_be_bytes());
    b.extend_from_slice(&(8 + payload.len() as u16).to_be_bytes());
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(payload);
    b
}
