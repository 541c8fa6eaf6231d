//! An independent reading of IPv6 Neighbor Advertisements (RFC 4861 4.4)
//! to judge the program's answers: fixed offsets from the start of the
//! IPv6 header, its own checksum (RFC 1071 over bytes, written apart from
//! the builders' and the program's), and no gw code.
//!
//! ```text
//!  IPv6 (40)                                ICMPv6 NA (24 + options)
//! +----+----+----+----+------+------+      +----+----+------+-----------+--------+---------+
//! |vtf |plen|next|hops| src  | dst  |      |type|code|csum  |R S O flags| target | options |
//! |0..4|4..6| 6  | 7  | 8..24|24..40|      | 0  | 1  | 2..4 |   4..8    |  8..24 |   24..  |
//! +----+----+----+----+------+------+      +----+----+------+-----------+--------+---------+
//! ```

use crate::{
    arp_oracle::{Eth, parse_eth},
    frames6::{ALL_NODES, ETH_P_IPV6, ICMPV6, OPT_TLLA},
};

/// The fields of an IPv6 Neighbor Solicitation or Advertisement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nd {
    pub vtf: [u8; 4],
    pub plen: u16,
    pub next: u8,
    pub hops: u8,
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub icmp_type: u8,
    pub code: u8,
    pub csum: u16,
    pub flags: u8,
    pub target: [u8; 16],
    /// (type, whole option bytes), in order.
    pub options: Vec<(u8, Vec<u8>)>,
    /// The ICMPv6 message (per the payload length), for the checksum.
    pub icmp: Vec<u8>,
}

pub const ROUTER: u8 = 0x80;
pub const SOLICITED: u8 = 0x40;
pub const OVERRIDE: u8 = 0x20;

fn arr<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at + N)?.try_into().ok()
}

/// Ethernet, tags, IPv6 and an ND message, if the frame holds all of it.
pub fn parse(b: &[u8]) -> Option<(Eth, Nd)> {
    let eth = parse_eth(b)?;
    if eth.ethertype != ETH_P_IPV6 {
        return None;
    }
    let ip = eth.payload;
    let plen = u16::from_be_bytes(arr(b, ip + 4)?);
    let icmp = b.get(ip + 40..ip + 40 + plen as usize)?.to_vec();
    if icmp.len() < 24 {
        return None;
    }
    let mut options = Vec::new();
    let mut at = 24;
    while at + 2 <= icmp.len() {
        let len = icmp[at + 1] as usize * 8;
        let end = (at + len).min(icmp.len());
        options.push((icmp[at], icmp[at..end].to_vec()));
        if len == 0 {
            break;
        }
        at += len;
    }
    let nd = Nd {
        vtf: arr(b, ip)?,
        plen,
        next: b[ip + 6],
        hops: b[ip + 7],
        src: arr(b, ip + 8)?,
        dst: arr(b, ip + 24)?,
        icmp_type: icmp[0],
        code: icmp[1],
        csum: u16::from_be_bytes([icmp[2], icmp[3]]),
        flags: icmp[4],
        target: arr(&icmp, 8)?,
        options,
        icmp,
    };
    Some((eth, nd))
}

/// True when the ICMPv6 checksum of `nd` verifies: the sum over the
/// pseudo-header and the message, checksum included, is all ones.
pub fn checksum_ok(nd: &Nd) -> bool {
    let mut bytes = Vec::with_capacity(40 + nd.icmp.len() + 1);
    bytes.extend_from_slice(&nd.src);
    bytes.extend_from_slice(&nd.dst);
    bytes.extend_from_slice(&(nd.icmp.len() as u32).to_be_bytes());
    bytes.extend_from_slice(&[0, 0, 0, ICMPV6]);
    bytes.extend_from_slice(&nd.icmp);
    let mut sum = 0u32;
    let mut i = 0;
    while i < bytes.len() {
        let hi = u32::from(bytes[i]) << 8;
        let lo = bytes.get(i + 1).map_or(0, |&x| u32::from(x));
        sum = sum.wrapping_add(hi | lo);
        i += 2;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum == 0xffff
}

/// What kind of advertisement an answer must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// To the solicitation's sender: Router, Solicited, Override.
    Solicited,
    /// Defending against Duplicate Address Detection: to all-nodes,
    /// Router only (RFC 4861 7.2.4).
    Dad,
}

/// Checks that `out` is the advertisement answering the solicitation
/// `input`, sent from `eth_src` and handing out `vmac`.
pub fn assert_na(input: &[u8], out: &[u8], eth_src: [u8; 6], vmac: [u8; 6], kind: Answer) {
    let (qe, q) = parse(input).expect("the input is a solicitation");
    let (re, r) = parse(out).expect("the answer parses as IPv6 ND");
    assert_eq!(r.icmp_type, 136, "type = Neighbor Advertisement");
    assert_eq!(r.code, 0, "code");
    assert!(checksum_ok(&r), "ICMPv6 checksum of {out:02x?}");
    assert_eq!(
        out.len(),
        re.payload + 40 + 32,
        "NA with one option, no trailer"
    );
    assert_eq!(r.plen, 32, "payload length");
    assert_eq!((r.vtf, r.next, r.hops), ([0x60, 0, 0, 0], ICMPV6, 255));
    assert_eq!(re.tags, qe.tags, "VLAN tags kept");
    assert_eq!(
        out[12..re.payload],
        input[12..qe.payload],
        "tags and ethertype"
    );
    assert_eq!(re.src, eth_src, "eth src");
    assert_eq!(r.src, q.target, "IPv6 src = the target");
    assert_eq!(r.target, q.target, "target");
    assert_eq!(r.icmp[5..8], [0, 0, 0], "reserved bits zero");
    assert_eq!(
        r.options,
        vec![(OPT_TLLA, [&[OPT_TLLA, 1][..], &vmac[..]].concat())],
        "exactly one target link-layer option: the vMAC"
    );
    match kind {
        Answer::Solicited => {
            assert_eq!(re.dst, qe.src, "eth dst = requester's eth src");
            assert_eq!(r.dst, q.src, "IPv6 dst = the solicitation's source");
            assert_eq!(r.flags, ROUTER | SOLICITED | OVERRIDE, "flags R S O");
        }
        Answer::Dad => {
            assert_eq!(re.dst, [0x33, 0x33, 0, 0, 0, 1], "eth dst = all-nodes");
            assert_eq!(r.dst, ALL_NODES, "IPv6 dst = ff02::1");
            assert_eq!(r.flags, ROUTER, "R only: neither solicited nor override");
        }
    }
}

/// The vMAC an advertisement handed out (its target link-layer option).
pub fn handed_out(out: &[u8]) -> [u8; 6] {
    let (_, r) = parse(out).expect("an advertisement");
    let (_, o) = r
        .options
        .iter()
        .find(|(t, _)| *t == OPT_TLLA)
        .expect("a target link-layer option");
    o[2..8].try_into().expect("6 bytes")
}
