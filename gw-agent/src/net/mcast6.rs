//! Multicast memberships for the virtual IPv6 addresses, and the
//! interface's own link-local address.
//!
//! Hosts resolve a virtual IPv6 address with a Neighbor Solicitation to
//! its solicited-node group (ff02::1:ffXX:XXXX, RFC 4291 2.7.1). A NIC that
//! filters multicast, or a switch that snoops MLD, delivers that only to
//! members, and no router holds the virtual address itself. So the agent
//! joins each address's solicited-node group on the interface: the kernel
//! then opens the NIC filter (33:33:ff:XX:XX:XX) and answers MLD queries,
//! and the solicitations reach the XDP program.

use std::{collections::BTreeSet, io, net::Ipv6Addr};

/// ff02::1:ffXX:XXXX for `a`.
pub fn solicited_node(a: &Ipv6Addr) -> Ipv6Addr {
    let o = a.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    )
}

/// The groups joined on one interface, through one socket held open (a
/// membership lasts as long as its socket).
pub struct Memberships {
    ifindex: u32,
    sock: Option<std::net::UdpSocket>,
    joined: BTreeSet<Ipv6Addr>,
}

impl Memberships {
    pub fn new(ifindex: u32) -> Self {
        Self {
            ifindex,
            sock: None,
            joined: BTreeSet::new(),
        }
    }

    /// Joins the solicited-node groups of `vips` and leaves the others.
    pub fn sync(&mut self, vips: &[Ipv6Addr]) -> io::Result<()> {
        let want: BTreeSet<Ipv6Addr> = vips.iter().map(solicited_node).collect();
        if want.is_empty() && self.joined.is_empty() {
            return Ok(());
        }
        if self.sock.is_none() {
            self.sock = Some(std::net::UdpSocket::bind("[::]:0")?);
        }
        let sock = self.sock.as_ref().expect("just opened");
        for g in self.joined.difference(&want) {
            let _ = sock.leave_multicast_v6(g, self.ifindex);
        }
        self.joined.retain(|g| want.contains(g));
        let mut first_err = None;
        for g in want.difference(&self.joined.clone()) {
            match sock.join_multicast_v6(g, self.ifindex) {
                Ok(()) => {
                    self.joined.insert(*g);
                }
                Err(e) => {
                    first_err.get_or_insert(io::Error::new(e.kind(), format!("joining {g}: {e}")));
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    pub fn joined(&self) -> impl Iterator<Item = &Ipv6Addr> {
        self.joined.iter()
    }
}

/// The interface's own usable link-local address (the source of IPv6
/// hellos), skipping `exclude` (virtual addresses an admin configured
/// locally) and addresses that are tentative, deprecated or failed DAD.
/// From /proc/net/if_inet6: `addr ifindex prefixlen scope flags name`.
pub fn link_local(ifname: &str, exclude: &[Ipv6Addr]) -> Option<Ipv6Addr> {
    let table = std::fs::read_to_string("/proc/net/if_inet6").ok()?;
    parse_if_inet6(&table, ifname, exclude)
}

fn parse_if_inet6(table: &str, ifname: &str, exclude: &[Ipv6Addr]) -> Option<Ipv6Addr> {
    const SCOPE_LINK: u32 = 0x20;
    const UNUSABLE: u32 = 0x40 | 0x20 | 0x08; // tentative, deprecated, dadfailed
    table.lines().find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [hex, _, _, scope, flags, name] = f[..] else {
            return None;
        };
        let scope = u32::from_str_radix(scope, 16).ok()?;
        let flags = u32::from_str_radix(flags, 16).ok()?;
        if name != ifname || scope != SCOPE_LINK || flags & UNUSABLE != 0 || hex.len() != 32 {
            return None;
        }
        let a = Ipv6Addr::from(u128::from_str_radix(hex, 16).ok()?);
        (!exclude.contains(&a)).then_some(a)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solicited_node_of_the_virtual_link_local() {
        let vip: Ipv6Addr = "fe80::7:b4ff:fe00:100".parse().unwrap();
        let want: Ipv6Addr = "ff02::1:ff00:100".parse().unwrap();
        assert_eq!(solicited_node(&vip), want);
        let g: Ipv6Addr = "2001:db8::12:3456".parse().unwrap();
        assert_eq!(
            solicited_node(&g),
            "ff02::1:ff12:3456".parse::<Ipv6Addr>().unwrap()
        );
    }

    #[test]
    fn link_local_skips_virtual_and_unusable_addresses() {
        let table = "\
20010db8000100000000000000000011 03 40 00 80     lan0
fe80000000000000000700b4fffe000100 03 40 20 80     lan0
fe8000000000000000070b4fffe00010 03 40 20 a0     lan0
fe80000000000000a0b1c2fffed3e4f5 03 40 20 c0     lan0
fe800000000000000007b4fffe000100 03 40 20 80     lan0
fe80000000000000a0b1c2fffed3e4f6 03 40 20 80     lan0
fe80000000000000a0b1c2fffed3e4f7 04 40 20 80     up0
";
        let vip: Ipv6Addr = "fe80::7:b4ff:fe00:100".parse().unwrap();
        let want: Ipv6Addr = "fe80::a0b1:c2ff:fed3:e4f6".parse().unwrap();
        assert_eq!(parse_if_inet6(table, "lan0", &[vip]), Some(want));
        assert_eq!(parse_if_inet6(table, "eth9", &[]), None);
    }
}
