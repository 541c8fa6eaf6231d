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
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
};

use tokio::io::unix::AsyncFd;

use super::recv::recv_many;
pub use super::recv::{Received, SLOT};

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

pub struct GlbpRx {
    fd: AsyncFd<OwnedFd>,
}

/// A non-blocking UDP socket of `domain` (AF_INET, AF_INET6) bound to
/// `ifname`, with the options both families' receive sockets share.
pub(super) fn udp_socket(domain: libc::c_int, ifname: &str) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the fd is owned right away.
    let fd = check(unsafe {
        libc::socket(
            domain,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    })?;
    // SAFETY: fresh fd we own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let raw = fd.as_raw_fd();
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
    Ok(fd)
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
        let fd = udp_socket(libc::AF_INET, ifname)?;
        let raw = fd.as_raw_fd();
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
            match recv_many(raw, buf, got) {
                // Filled the buffer: more may wait, readiness stays set.
                Ok(()) if got.len() * SLOT >= buf.len() => {}
                Ok(()) => guard.clear_ready(),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => guard.clear_ready(),
                // An error after some datagrams: hand those over first;
                // the error comes back on the next call.
                Err(_) if !got.is_empty() => {}
                Err(e) => return Err(e),
            }
            if !got.is_empty() {
                return Ok(());
            }
        }
    }
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
