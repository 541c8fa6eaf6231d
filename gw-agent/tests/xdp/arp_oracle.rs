//! An independent reading of Ethernet, VLAN tags and ARP (RFC 826), used to
//! judge the program's output. It shares no code with gw-ebpf or gw-agent
//! and reads every field at a fixed offset from the frame start.
//!
//! ```text
//!  0      6      12           12+4n  14+4n
//! +------+------+------------+------+---------------------------------+
//! | dst  | src  | n VLAN tags| type | ARP: htype ptype hl pl op sha   |
//! |      |      | TPID TCI   |      |      spa tha tpa (28 bytes)     |
//! +------+------+------------+------+---------------------------------+
//! ```

use crate::frames::{ETH_P_8021AD, ETH_P_8021Q, ETH_P_ARP};

/// Ethernet header with its tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Eth {
    pub dst: [u8; 6],
    pub src: [u8; 6],
    /// (TPID, TCI) outermost first, every 0x8100/0x88a8 tag there is.
    pub tags: Vec<(u16, u16)>,
    pub ethertype: u16,
    /// Offset of the payload.
    pub payload: usize,
}

impl Eth {
    /// VID of the innermost tag, 0 if untagged.
    pub fn vid(&self) -> u16 {
        self.tags.last().map_or(0, |&(_, tci)| tci & 0x0fff)
    }
}

/// The 28-byte ARP body for IPv4 over Ethernet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arp {
    pub htype: u16,
    pub ptype: u16,
    pub hlen: u8,
    pub plen: u8,
    pub op: u16,
    pub sha: [u8; 6],
    pub spa: [u8; 4],
    pub tha: [u8; 6],
    pub tpa: [u8; 4],
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn arr<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at + N)?.try_into().ok()
}

/// Ethernet plus any number of 802.1Q/802.1ad tags; `None` if cut short.
pub fn parse_eth(b: &[u8]) -> Option<Eth> {
    parse_eth_max(b, usize::MAX)
}

/// Ethernet plus at most `max_tags` tags; a further tag is left as the
/// ethertype.
pub fn parse_eth_max(b: &[u8], max_tags: usize) -> Option<Eth> {
    let mut tags = Vec::new();
    let mut at = 12;
    let mut ethertype = be16(b, at)?;
    while (ethertype == ETH_P_8021Q || ethertype == ETH_P_8021AD) && tags.len() < max_tags {
        tags.push((ethertype, be16(b, at + 2)?));
        at += 4;
        ethertype = be16(b, at)?;
    }
    Some(Eth {
        dst: arr(b, 0)?,
        src: arr(b, 6)?,
        tags,
        ethertype,
        payload: at + 2,
    })
}

/// The ARP body at `at`, whatever its type and length fields say.
pub fn parse_arp_at(b: &[u8], at: usize) -> Option<Arp> {
    Some(Arp {
        htype: be16(b, at)?,
        ptype: be16(b, at + 2)?,
        hlen: *b.get(at + 4)?,
        plen: *b.get(at + 5)?,
        op: be16(b, at + 6)?,
        sha: arr(b, at + 8)?,
        spa: arr(b, at + 14)?,
        tha: arr(b, at + 18)?,
        tpa: arr(b, at + 24)?,
    })
}

/// Ethernet and ARP, if the ethertype says ARP and all 28 bytes are there.
pub fn parse(b: &[u8]) -> Option<(Eth, Arp)> {
    let eth = parse_eth(b)?;
    if eth.ethertype != ETH_P_ARP {
        return None;
    }
    let arp = parse_arp_at(b, eth.payload)?;
    Some((eth, arp))
}

/// True for the only ARP the program may answer: IPv4 over Ethernet.
pub fn is_ipv4_over_ethernet(a: &Arp) -> bool {
    a.htype == 1 && a.ptype == 0x0800 && a.hlen == 6 && a.plen == 4
}

/// Checks, byte for byte, that `out` is the reply to the request `input`
/// handing out `vmac`, sent from `eth_src`.
pub fn assert_reply(input: &[u8], out: &[u8], eth_src: [u8; 6], vmac: [u8; 6]) {
    assert_eq!(out.len(), input.len(), "the reply keeps the frame length");
    let (qe, q) = parse(input).expect("the input is an ARP frame");
    let (re, r) = parse(out).expect("the reply parses as ARP");

    assert_eq!(re.dst, qe.src, "eth dst = requester's eth src");
    assert_eq!(re.src, eth_src, "eth src");
    // Tags and ethertype: the same bytes, in the same order.
    assert_eq!(
        out[12..re.payload],
        input[12..qe.payload],
        "VLAN tags and ethertype unchanged"
    );
    assert_eq!(re.tags, qe.tags);

    assert_eq!(
        (r.htype, r.ptype, r.hlen, r.plen),
        (q.htype, q.ptype, q.hlen, q.plen),
        "ARP type fields unchanged"
    );
    assert_eq!(r.op, 2, "op = reply");
    assert_eq!(r.sha, vmac, "sha = the vMAC handed out");
    assert_eq!(r.spa, q.tpa, "spa = the VIP asked for");
    assert_eq!(r.tha, q.sha, "tha = requester's sha");
    assert_eq!(r.tpa, q.spa, "tpa = requester's spa");
    let end = re.payload + 28;
    assert_eq!(out[end..], input[end..], "trailing padding unchanged");
}

/// The vMAC a reply handed out (its sha).
pub fn handed_out(out: &[u8]) -> [u8; 6] {
    parse(out).expect("an ARP reply").1.sha
}
