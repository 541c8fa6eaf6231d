//! The GLBP sockets.
//!
//! Receive: a UDP socket on port 3222, bound to the interface, joined to
//! 224.0.0.102 there only, reporting each packet's TTL (GLBP requires 255;
//! anything else may have been routed here and is dropped); its IPv6 twin
//! (ff02::66, hop limit) is in socket6.rs.
//! Send: an AF_PACKET socket bound to the interface, so every frame can
//! carry the Ethernet source the engine asks for (a vMAC or our own MAC).

use std::{
    io,
    mem::{size_of, zeroed},
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
};

use tokio::io::unix::AsyncFd;

use crate::proto::{GLBP_MCAST_V4, GLBP_PORT};

pub(super) fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

pub(super) fn setsockopt<T>(fd: RawFd, level: i32, name: i32, v: &T) -> io::Result<()> {
    // SAFETY: v points to a T of the size we pass.
    check(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (v as *const T).cast(),
            size_of::<T>() as u32,
        )
    })
    .map(drop)
}

/// One received GLBP datagram.
pub struct Received {
    pub src: IpAddr,
    pub ttl: Option<u8>,
    pub len: usize,
}

pub struct GlbpRx {
    fd: AsyncFd<OwnedFd>,
}

/// Options both families' receive sockets share.
pub(super) fn shared_options(raw: RawFd, ifname: &str) -> io::Result<()> {
    let one: libc::c_int = 1;
    // Several agents (one per interface) share port 3222 in one netns.
    setsockopt(raw, libc::SOL_SOCKET, libc::SO_REUSEADDR, &one)?;
    setsockopt(raw, libc::SOL_SOCKET, libc::SO_REUSEPORT, &one)?;
    let name = ifname.as_bytes();
    // SAFETY: name is a byte slice of its stated length.
    check(unsafe {
        libc::setsockopt(
            raw,
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            name.as_ptr().cast(),
            name.len() as u32,
        )
    })?;
    // Every group's hellos arrive in one burst per hello time: with a
    // thousand groups the default buffer (~208 KB) overflows and peers
    // expire. CAP_NET_ADMIN lets us go past rmem_max; else take what
    // rmem_max allows.
    let rcvbuf: libc::c_int = 4 << 20;
    if setsockopt(raw, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &rcvbuf).is_err() {
        let _ = setsockopt(raw, libc::SOL_SOCKET, libc::SO_RCVBUF, &rcvbuf);
    }
    Ok(())
}

impl GlbpRx {
    pub(super) fn register(fd: OwnedFd) -> io::Result<Self> {
        // SAFETY: we own the fd and nothing else uses or closes it while
        // the AsyncFd holds it (register's I/O-safety contract).
        let fd = unsafe { AsyncFd::register(fd) }.map_err(io::Error::from)?;
        Ok(Self { fd })
    }

    /// The IPv4 socket: 224.0.0.102 port 3222 on `ifname`.
    pub fn open(ifname: &str, ifindex: u32) -> io::Result<Self> {
        // SAFETY: plain socket(2); the fd is owned right away.
        let fd = check(unsafe {
            libc::socket(
                libc::AF_INET,
                libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        })?;
        // SAFETY: fresh fd we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let raw = fd.as_raw_fd();
        shared_options(raw, ifname)?;
        let one: libc::c_int = 1;
        setsockopt(raw, libc::IPPROTO_IP, libc::IP_RECVTTL, &one)?;
        let mut sin: libc::sockaddr_in = unsafe { zeroed() };
        sin.sin_family = libc::AF_INET as u16;
        sin.sin_port = GLBP_PORT.to_be();
        // SAFETY: valid sockaddr_in.
        check(unsafe {
            libc::bind(
                raw,
                (&sin as *const libc::sockaddr_in).cast(),
                size_of::<libc::sockaddr_in>() as u32,
            )
        })?;
        let mreq = libc::ip_mreqn {
            imr_multiaddr: libc::in_addr {
                s_addr: u32::from(GLBP_MCAST_V4).to_be(),
            },
            imr_address: libc::in_addr { s_addr: 0 },
            imr_ifindex: ifindex as i32,
        };
        setsockopt(raw, libc::IPPROTO_IP, libc::IP_ADD_MEMBERSHIP, &mreq)?;
        // Only this interface's group membership, not every socket's.
        let zero: libc::c_int = 0;
        setsockopt(raw, libc::IPPROTO_IP, libc::IP_MULTICAST_ALL, &zero)?;
        Self::register(fd)
    }

    /// Waits for at least one datagram, then takes every other one already
    /// queued, as long as `buf` has room: datagram `i` lands in
    /// `buf[i * SLOT..]`, its metadata in `got[i]`. Hellos of many groups
    /// come in bursts; one wake-up per burst, not per datagram, is what
    /// keeps a thousand idle groups cheap.
    pub async fn recv_batch(&self, buf: &mut [u8], got: &mut Vec<Received>) -> io::Result<()> {
        got.clear();
        loop {
            let mut guard = self.fd.readable().await?;
            let raw = guard.get_inner().as_raw_fd();
            while let Some(slot) = buf.chunks_exact_mut(SLOT).nth(got.len()) {
                match recv_with_ttl(raw, slot) {
                    Ok(r) => got.push(r),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        guard.clear_ready();
                        break;
                    }
                    // An error after some datagrams: hand those over first;
                    // the error comes back on the next call.
                    Err(_) if !got.is_empty() => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
            if !got.is_empty() {
                return Ok(());
            }
        }
    }
}

/// Room for one GLBP datagram in a `recv_batch` buffer (GLBP packets are
/// far smaller; a longer one is truncated and then fails to decode).
pub const SLOT: usize = 2048;

/// One datagram with its source and TTL (IPv4) or hop limit (IPv6).
fn recv_with_ttl(fd: RawFd, buf: &mut [u8]) -> io::Result<Received> {
    // SAFETY: sockaddr_storage is plain data; all zeroes is valid.
    let mut src: libc::sockaddr_storage = unsafe { zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut cbuf = [0u64; 16];
    // SAFETY: msghdr is plain data; all zeroes is valid.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_name = (&mut src as *mut libc::sockaddr_storage).cast();
    msg.msg_namelen = size_of::<libc::sockaddr_storage>() as u32;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = size_of::<[u64; 16]>();
    // SAFETY: msg points at live buffers of the stated sizes.
    let n = check(unsafe { libc::recvmsg(fd, &mut msg, 0) as libc::c_int })? as usize;
    let mut ttl = None;
    // SAFETY: walking the control buffer the kernel filled, with the libc
    // CMSG macros, within msg_controllen.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            let (level, kind) = ((*c).cmsg_level, (*c).cmsg_type);
            if (level, kind) == (libc::IPPROTO_IP, libc::IP_TTL)
                || (level, kind) == (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT)
            {
                ttl = Some(*(libc::CMSG_DATA(c) as *const libc::c_int) as u8);
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    let src = match i32::from(src.ss_family) {
        libc::AF_INET6 => {
            // SAFETY: the kernel wrote a sockaddr_in6 (family checked).
            let s6 =
                unsafe { &*(&src as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            IpAddr::V6(Ipv6Addr::from(s6.sin6_addr.s6_addr))
        }
        _ => {
            // SAFETY: an AF_INET socket's source is a sockaddr_in.
            let s4 =
                unsafe { &*(&src as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            IpAddr::V4(Ipv4Addr::from(u32::from_be(s4.sin_addr.s_addr)))
        }
    };
    Ok(Received {
        src,
        ttl,
        len: n.min(buf.len()),
    })
}

/// Raw Ethernet sender on one interface.
pub struct FrameTx {
    fd: OwnedFd,
    ifindex: u32,
}

impl FrameTx {
    pub fn open(ifindex: u32) -> io::Result<Self> {
        // Protocol 0: this socket only sends, it receives nothing.
        // SAFETY: plain socket(2); the fd is owned right away.
        let fd = check(unsafe {
            libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0)
        })?;
        // SAFETY: fresh fd we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Self { fd, ifindex })
    }

    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        let sll = self.dest(frame);
        // SAFETY: frame and sll are valid for the stated lengths.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&sll as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    fn dest(&self, frame: &[u8]) -> libc::sockaddr_ll {
        // SAFETY: sockaddr_ll is plain data; all zeroes is valid.
        let mut sll: libc::sockaddr_ll = unsafe { zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = self.ifindex as i32;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&frame[..6.min(frame.len())]);
        sll
    }

    /// Sends `frames` with as few sendmmsg(2) calls as the kernel allows.
    /// Returns how many were not sent and the first error, if any.
    pub fn send_many(&self, frames: &[Vec<u8>]) -> (usize, Option<io::Error>) {
        let mut sent = 0;
        while sent < frames.len() {
            let chunk = &frames[sent..frames.len().min(sent + 64)];
            let mut dests: Vec<libc::sockaddr_ll> = chunk.iter().map(|f| self.dest(f)).collect();
            let mut iovs: Vec<libc::iovec> = chunk
                .iter()
                .map(|f| libc::iovec {
                    iov_base: f.as_ptr() as *mut libc::c_void,
                    iov_len: f.len(),
                })
                .collect();
            let mut msgs: Vec<libc::mmsghdr> = iovs
                .iter_mut()
                .zip(dests.iter_mut())
                .map(|(iov, d)| {
                    // SAFETY: mmsghdr is plain data; all zeroes is valid.
                    let mut m: libc::mmsghdr = unsafe { zeroed() };
                    m.msg_hdr.msg_name = (d as *mut libc::sockaddr_ll).cast();
                    m.msg_hdr.msg_namelen = size_of::<libc::sockaddr_ll>() as u32;
                    m.msg_hdr.msg_iov = iov;
                    m.msg_hdr.msg_iovlen = 1;
                    m
                })
                .collect();
            // SAFETY: every header points at live buffers of stated sizes.
            let n = unsafe {
                libc::sendmmsg(self.fd.as_raw_fd(), msgs.as_mut_ptr(), msgs.len() as u32, 0)
            };
            match n {
                n if n > 0 => sent += n as usize,
                // The frame at `sent` fails on its own: report it, go on.
                _ => {
                    let e = io::Error::last_os_error();
                    let rest = self.send_many(&frames[sent + 1..]);
                    return (rest.0 + 1, Some(e));
                }
            }
        }
        (0, None)
    }
}
