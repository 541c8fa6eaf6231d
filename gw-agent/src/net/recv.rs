//! Reading queued GLBP datagrams in one recvmmsg(2), each with its source
//! and its TTL (IPv4) or hop limit (IPv6), for both receive sockets.

use std::{
    io,
    mem::{size_of, zeroed},
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    os::fd::RawFd,
};

/// Room for one GLBP datagram in a receive buffer (GLBP packets are far
/// smaller; a longer one is truncated and then fails to decode).
pub const SLOT: usize = 2048;

/// One received GLBP datagram.
pub struct Received {
    pub src: IpAddr,
    pub ttl: Option<u8>,
    pub len: usize,
}

/// Room for the TTL / hop-limit control message.
type Cmsg = [u64; 8];

/// Takes every datagram queued on `fd` that fits: datagram `i` into
/// `buf[i * SLOT..]`, its metadata appended to `got`. WouldBlock when none
/// is queued.
pub fn recv_many(fd: RawFd, buf: &mut [u8], got: &mut Vec<Received>) -> io::Result<()> {
    let slots: Vec<&mut [u8]> = buf.chunks_exact_mut(SLOT).skip(got.len()).collect();
    if slots.is_empty() {
        return Ok(());
    }
    let n = slots.len();
    // SAFETY (zeroed): plain C structs, all zeroes is valid.
    let mut names: Vec<libc::sockaddr_storage> = vec![unsafe { zeroed() }; n];
    let mut cmsgs: Vec<Cmsg> = vec![[0; 8]; n];
    let mut iovs: Vec<libc::iovec> = slots
        .into_iter()
        .map(|s| libc::iovec {
            iov_base: s.as_mut_ptr().cast(),
            iov_len: s.len(),
        })
        .collect();
    let mut msgs: Vec<libc::mmsghdr> = (0..n)
        .map(|i| {
            let mut m: libc::mmsghdr = unsafe { zeroed() };
            m.msg_hdr.msg_name = (&mut names[i] as *mut libc::sockaddr_storage).cast();
            m.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as u32;
            m.msg_hdr.msg_iov = &mut iovs[i];
            m.msg_hdr.msg_iovlen = 1;
            m.msg_hdr.msg_control = cmsgs[i].as_mut_ptr().cast();
            m.msg_hdr.msg_controllen = size_of::<Cmsg>();
            m
        })
        .collect();
    // SAFETY: every header points at live buffers of the stated sizes.
    let r = unsafe {
        libc::recvmmsg(
            fd,
            msgs.as_mut_ptr(),
            n as u32,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    for (m, name) in msgs.iter().zip(&names).take(r as usize) {
        got.push(Received {
            src: source(name),
            ttl: ttl(&m.msg_hdr),
            len: (m.msg_len as usize).min(SLOT),
        });
    }
    Ok(())
}

fn ttl(msg: &libc::msghdr) -> Option<u8> {
    let mut ttl = None;
    // SAFETY: walking the control buffer the kernel filled, with the libc
    // CMSG macros, within msg_controllen.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            let (level, kind) = ((*c).cmsg_level, (*c).cmsg_type);
            if (level, kind) == (libc::IPPROTO_IP, libc::IP_TTL)
                || (level, kind) == (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT)
            {
                ttl = Some(*(libc::CMSG_DATA(c) as *const libc::c_int) as u8);
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    ttl
}

fn source(name: &libc::sockaddr_storage) -> IpAddr {
    let p = name as *const libc::sockaddr_storage;
    match i32::from(name.ss_family) {
        libc::AF_INET6 => {
            // SAFETY: the kernel wrote a sockaddr_in6 (family checked).
            let s6 = unsafe { &*p.cast::<libc::sockaddr_in6>() };
            IpAddr::V6(Ipv6Addr::from(s6.sin6_addr.s6_addr))
        }
        _ => {
            // SAFETY: an AF_INET socket's source is a sockaddr_in.
            let s4 = unsafe { &*p.cast::<libc::sockaddr_in>() };
            IpAddr::V4(Ipv4Addr::from(u32::from_be(s4.sin_addr.s_addr)))
        }
    }
}
