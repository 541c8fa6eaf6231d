//! The GLBP sockets.
//!
//! Receive: a UDP socket on port 3222, bound to the interface, joined to
//! 224.0.0.102 there only, reporting each packet's TTL (GLBP requires 255;
//! anything else may have been routed here and is dropped).
//! Send: an AF_PACKET socket bound to the interface, so every frame can
//! carry the Ethernet source the engine asks for (a vMAC or our own MAC).

use std::{
    io,
    mem::{size_of, zeroed},
    net::Ipv4Addr,
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
};

use tokio::io::unix::AsyncFd;

use crate::proto::{GLBP_MCAST_V4, GLBP_PORT};

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn setsockopt<T>(fd: RawFd, level: i32, name: i32, v: &T) -> io::Result<()> {
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
    pub src: Ipv4Addr,
    pub ttl: Option<u8>,
    pub len: usize,
}

pub struct GlbpRx {
    fd: AsyncFd<OwnedFd>,
}

impl GlbpRx {
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
        setsockopt(raw, libc::IPPROTO_IP, libc::IP_RECVTTL, &one)?;
        // Every group's hellos arrive in one burst per hello time: with a
        // thousand groups the default buffer (~208 KB) overflows and peers
        // expire. CAP_NET_ADMIN lets us go past rmem_max; else take what
        // rmem_max allows.
        let rcvbuf: libc::c_int = 4 << 20;
        if setsockopt(raw, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &rcvbuf).is_err() {
            let _ = setsockopt(raw, libc::SOL_SOCKET, libc::SO_RCVBUF, &rcvbuf);
        }
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
        // SAFETY: we own the fd and nothing else uses or closes it while
        // the AsyncFd holds it (register's I/O-safety contract).
        let fd = unsafe { AsyncFd::register(fd) }.map_err(io::Error::from)?;
        Ok(Self { fd })
    }

    /// Waits for one datagram; `buf` gets the GLBP payload.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<Received> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| recv_with_ttl(fd.as_raw_fd(), buf)) {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }
}

fn recv_with_ttl(fd: RawFd, buf: &mut [u8]) -> io::Result<Received> {
    let mut src: libc::sockaddr_in = unsafe { zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut cbuf = [0u64; 16];
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_name = (&mut src as *mut libc::sockaddr_in).cast();
    msg.msg_namelen = size_of::<libc::sockaddr_in>() as u32;
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
            if (*c).cmsg_level == libc::IPPROTO_IP && (*c).cmsg_type == libc::IP_TTL {
                ttl = Some(*(libc::CMSG_DATA(c) as *const libc::c_int) as u8);
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    let src_ip = Ipv4Addr::from(u32::from_be(src.sin_addr.s_addr));
    Ok(Received {
        src: src_ip,
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
        let mut sll: libc::sockaddr_ll = unsafe { zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = self.ifindex as i32;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&frame[..6.min(frame.len())]);
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
}
