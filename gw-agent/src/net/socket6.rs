//! The IPv6 GLBP receive socket: UDP port 3222 on the interface, joined to
//! ff02::66 there only, reporting each packet's hop limit (255 required,
//! as the IPv4 TTL). Groups without an IPv4 virtual address run their
//! election on it.

use std::{io, mem::zeroed, os::fd::AsRawFd};

use super::socket::{GlbpRx, check, setsockopt, udp_socket};
use crate::proto::{GLBP_MCAST_V6, GLBP_PORT};

/// linux/in6.h (since Linux 4.20); the libc crate has it for uclibc only.
const IPV6_MULTICAST_ALL: libc::c_int = 29;

impl GlbpRx {
    /// The IPv6 socket on `ifname`. Fails where IPv6 is off (then no group
    /// can run over IPv6 there).
    pub fn open6(ifname: &str, ifindex: u32) -> io::Result<Self> {
        let fd = udp_socket(libc::AF_INET6, ifname)?;
        let raw = fd.as_raw_fd();
        let one: libc::c_int = 1;
        // IPv6 only: the IPv4 hellos have their own socket.
        setsockopt(raw, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, &one)?;
        setsockopt(raw, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, &one)?;
        // SAFETY: sockaddr_in6 is plain data; all zeroes is valid (::).
        let mut sin6: libc::sockaddr_in6 = unsafe { zeroed() };
        sin6.sin6_family = libc::AF_INET6 as u16;
        sin6.sin6_port = GLBP_PORT.to_be();
        // SAFETY: valid sockaddr_in6.
        check(unsafe {
            libc::bind(
                raw,
                (&sin6 as *const libc::sockaddr_in6).cast(),
                size_of::<libc::sockaddr_in6>() as u32,
            )
        })?;
        let mreq = libc::ipv6_mreq {
            ipv6mr_multiaddr: libc::in6_addr {
                s6_addr: GLBP_MCAST_V6.octets(),
            },
            ipv6mr_interface: ifindex,
        };
        setsockopt(raw, libc::IPPROTO_IPV6, libc::IPV6_ADD_MEMBERSHIP, &mreq)?;
        // Only this interface's membership, not every socket's.
        let zero: libc::c_int = 0;
        setsockopt(raw, libc::IPPROTO_IPV6, IPV6_MULTICAST_ALL, &zero)?;
        Self::register(fd)
    }
}
