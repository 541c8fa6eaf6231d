//! Frame builders and the addresses every test uses (documentation ranges
//! only, DESIGN.md "Addresses for labs and tests").
//!
//! Builders write fields one after another with `extend_from_slice`; the
//! oracle (arp_oracle.rs) reads them back with fixed offsets, so the two
//! never share a layout by accident.

use gw_common::vmac;

pub const BROADCAST: [u8; 6] = [0xff; 6];
/// The router's interface MAC (locally administered).
pub const IF_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x01];
/// A host on the LAN.
pub const CLIENT_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x20, 0x00, 0x0a];
pub const CLIENT_IP: [u8; 4] = [192, 0, 2, 10];
/// The group's virtual IP.
pub const VIP: [u8; 4] = [192, 0, 2, 1];
/// A second virtual IP (other groups, VLAN tests).
pub const VIP2: [u8; 4] = [198, 51, 100, 1];
/// A LAN address that is no VIP.
pub const OTHER_IP: [u8; 4] = [192, 0, 2, 99];
/// An off-LAN destination for routed traffic.
pub const REMOTE_IP: [u8; 4] = [203, 0, 113, 7];
/// GLBP group number of the standard group.
pub const GROUP: u16 = 1;

pub const ETH_P_ARP: u16 = 0x0806;
pub const ETH_P_IP: u16 = 0x0800;
pub const ETH_P_8021Q: u16 = 0x8100;
pub const ETH_P_8021AD: u16 = 0x88a8;

/// vMAC of forwarder `fwd` in the standard group.
pub const fn fwd_mac(fwd: u8) -> [u8; 6] {
    vmac(GROUP, fwd)
}

/// The `n`th distinct client MAC (unicast, locally administered).
pub fn client_mac(n: u32) -> [u8; 6] {
    let b = n.to_be_bytes();
    [0x02, 0x42, b[0], b[1], b[2], b[3]]
}

/// One VLAN tag: TPID and TCI (PCP 3 bits, DEI 1 bit, VID 12 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tag {
    pub tpid: u16,
    pub tci: u16,
}

impl Tag {
    pub const fn q(vid: u16) -> Self {
        Self {
            tpid: ETH_P_8021Q,
            tci: vid,
        }
    }
    pub const fn ad(vid: u16) -> Self {
        Self {
            tpid: ETH_P_8021AD,
            tci: vid,
        }
    }
}

/// An Ethernet frame carrying ARP; every field settable so tests can build
/// malformed ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArpFrame {
    pub dst: [u8; 6],
    pub src: [u8; 6],
    /// Outermost first.
    pub tags: Vec<Tag>,
    pub ethertype: u16,
    pub htype: u16,
    pub ptype: u16,
    pub hlen: u8,
    pub plen: u8,
    pub op: u16,
    pub sha: [u8; 6],
    pub spa: [u8; 4],
    pub tha: [u8; 6],
    pub tpa: [u8; 4],
    /// Trailing bytes after the ARP body (Ethernet minimum-size padding).
    pub pad: Vec<u8>,
}

impl ArpFrame {
    /// Broadcast "who has `tpa`? tell `spa`" from `sha`, no padding.
    pub fn request(sha: [u8; 6], spa: [u8; 4], tpa: [u8; 4]) -> Self {
        Self {
            dst: BROADCAST,
            src: sha,
            tags: Vec::new(),
            ethertype: ETH_P_ARP,
            htype: 1,
            ptype: ETH_P_IP,
            hlen: 6,
            plen: 4,
            op: 1,
            sha,
            spa,
            tha: [0; 6],
            tpa,
            pad: Vec::new(),
        }
    }

    /// The standard client asking for the VIP.
    pub fn for_vip() -> Self {
        Self::request(CLIENT_MAC, CLIENT_IP, VIP)
    }

    pub fn to(mut self, dst: [u8; 6]) -> Self {
        self.dst = dst;
        self
    }

    pub fn tag(mut self, t: Tag) -> Self {
        self.tags.push(t);
        self
    }

    pub fn op(mut self, op: u16) -> Self {
        self.op = op;
        self
    }

    /// Pads to the 60-byte Ethernet minimum (without FCS), as NICs deliver.
    pub fn padded(mut self) -> Self {
        let len = self.header_len() + self.pad.len();
        // A recognisable pattern, so a test sees if the program touches it.
        self.pad
            .extend((len..60).map(|i| 0xa0 ^ i as u8).collect::<Vec<_>>());
        self
    }

    /// Bytes up to the end of the ARP body.
    pub fn header_len(&self) -> usize {
        14 + 4 * self.tags.len() + 28
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(self.header_len() + self.pad.len());
        b.extend_from_slice(&self.dst);
        b.extend_from_slice(&self.src);
        for t in &self.tags {
            b.extend_from_slice(&t.tpid.to_be_bytes());
            b.extend_from_slice(&t.tci.to_be_bytes());
        }
        b.extend_from_slice(&self.ethertype.to_be_bytes());
        b.extend_from_slice(&self.htype.to_be_bytes());
        b.extend_from_slice(&self.ptype.to_be_bytes());
        b.push(self.hlen);
        b.push(self.plen);
        b.extend_from_slice(&self.op.to_be_bytes());
        b.extend_from_slice(&self.sha);
        b.extend_from_slice(&self.spa);
        b.extend_from_slice(&self.tha);
        b.extend_from_slice(&self.tpa);
        b.extend_from_slice(&self.pad);
        b
    }
}

/// An IPv4/UDP datagram from the client to a remote host, sent to `dst`
/// (a vMAC when the host uses GLBP). Checksums are real, so a frame that
/// reaches a stack would be accepted.
pub fn ipv4_udp(dst: [u8; 6], tags: &[Tag]) -> Vec<u8> {
    let payload = b"gw xdp test payload";
    let udp_len = 8 + payload.len() as u16;
    let total = 20 + udp_len;
    let mut ip = vec![
        0x45, 0, // version/IHL, DSCP
    ];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0x12, 0x34, 0x40, 0x00, 64, 17, 0, 0]); // id, DF, ttl, UDP, csum
    ip.extend_from_slice(&CLIENT_IP);
    ip.extend_from_slice(&REMOTE_IP);
    let csum = inet_checksum(&ip);
    ip[10..12].copy_from_slice(&csum.to_be_bytes());

    let mut b = Vec::new();
    b.extend_from_slice(&dst);
    b.extend_from_slice(&CLIENT_MAC);
    for t in tags {
        b.extend_from_slice(&t.tpid.to_be_bytes());
        b.extend_from_slice(&t.tci.to_be_bytes());
    }
    b.extend_from_slice(&ETH_P_IP.to_be_bytes());
    b.extend_from_slice(&ip);
    b.extend_from_slice(&40000u16.to_be_bytes());
    b.extend_from_slice(&53u16.to_be_bytes());
    b.extend_from_slice(&udp_len.to_be_bytes());
    b.extend_from_slice(&[0, 0]); // UDP checksum optional over IPv4
    b.extend_from_slice(payload);
    b
}

/// RFC 1071 checksum.
fn inet_checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = b
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32)
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
