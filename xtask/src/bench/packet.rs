//! Raw Ethernet on AF_PACKET sockets: ARP frames, a bounded flood sender,
//! and CPU pinning for the threads and kernel threads of a measurement.
//!
//! Sockets belong to the network namespace of the thread that opens them,
//! so each user runs in a thread that joined its namespace first
//! (`gw_tests::probe::enter_netns`).

use std::{
    io,
    mem::{size_of, zeroed},
    net::Ipv4Addr,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    time::{Duration, Instant},
};

pub const ETH_P_ARP: u16 = 0x0806;
const PACKET_QDISC_BYPASS: i32 = 20;
/// Ethernet minimum (without FCS): what a NIC would put on the wire.
pub const FRAME_LEN: usize = 60;

pub type Mac = [u8; 6];

/// A broadcast ARP request "who has `target`? tell `ip`" from `mac`.
pub fn arp_request(mac: Mac, ip: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    arp_frame([0xff; 6], mac, 1, mac, ip, [0; 6], target).to_vec()
}

/// An ARP reply to `to_mac`/`to_ip`: `ip` is at `sha`, sent from `src`
/// (a fixed-size array: the userspace responder allocates nothing).
pub fn arp_reply(
    src: Mac,
    sha: Mac,
    ip: Ipv4Addr,
    to_mac: Mac,
    to_ip: Ipv4Addr,
) -> [u8; FRAME_LEN] {
    arp_frame(to_mac, src, 2, sha, ip, to_mac, to_ip)
}

fn arp_frame(
    dst: Mac,
    src: Mac,
    op: u16,
    sha: Mac,
    spa: Ipv4Addr,
    tha: Mac,
    tpa: Ipv4Addr,
) -> [u8; FRAME_LEN] {
    let mut f = [0u8; FRAME_LEN];
    f[0..6].copy_from_slice(&dst);
    f[6..12].copy_from_slice(&src);
    f[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    f[14..20].copy_from_slice(&[0, 1, 8, 0, 6, 4]);
    f[20..22].copy_from_slice(&op.to_be_bytes());
    f[22..28].copy_from_slice(&sha);
    f[28..32].copy_from_slice(&spa.octets());
    f[32..38].copy_from_slice(&tha);
    f[38..42].copy_from_slice(&tpa.octets());
    f
}

/// A parsed ARP request: (sender MAC, sender IP, target IP).
pub fn parse_arp_request(f: &[u8]) -> Option<(Mac, Ipv4Addr, Ipv4Addr)> {
    if f.len() < 42 || f[12..14] != ETH_P_ARP.to_be_bytes() || f[20..22] != [0, 1] {
        return None;
    }
    let ip = |o: usize| Ipv4Addr::new(f[o], f[o + 1], f[o + 2], f[o + 3]);
    Some((f[22..28].try_into().ok()?, ip(28), ip(38)))
}

/// The sender hardware address of an ARP reply.
pub fn arp_reply_sha(f: &[u8]) -> Option<Mac> {
    if f.len() < 42 || f[12..14] != ETH_P_ARP.to_be_bytes() || f[20..22] != [0, 2] {
        return None;
    }
    f[22..28].try_into().ok()
}

/// Client `n`'s MAC: locally administered, unique for n < 2^32.
pub fn client_mac(n: u32) -> Mac {
    let b = n.to_be_bytes();
    [0x02, 0xbe, b[0], b[1], b[2], b[3]]
}

pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: i32,
}

fn check(r: i64) -> io::Result<i64> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

impl PacketSocket {
    /// A raw socket on `ifname` (in the calling thread's namespace),
    /// receiving frames of ethertype `proto` (0: none, for sending only).
    pub fn open(ifname: &str, proto: u16) -> io::Result<PacketSocket> {
        let name = std::ffi::CString::new(ifname).map_err(io::Error::other)?;
        // SAFETY: plain socket(2)/if_nametoindex(3)/bind(2) calls with
        // valid arguments; the fd is owned from here on.
        unsafe {
            let fd = check(
                libc::socket(
                    libc::AF_PACKET,
                    libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                    i32::from(proto.to_be()),
                )
                .into(),
            )? as i32;
            let fd = OwnedFd::from_raw_fd(fd);
            let ifindex = libc::if_nametoindex(name.as_ptr()) as i32;
            if ifindex == 0 {
                return Err(io::Error::last_os_error());
            }
            let mut sll: libc::sockaddr_ll = zeroed();
            sll.sll_family = libc::AF_PACKET as u16;
            sll.sll_protocol = proto.to_be();
            sll.sll_ifindex = ifindex;
            check(
                libc::bind(
                    fd.as_raw_fd(),
                    &sll as *const _ as *const libc::sockaddr,
                    size_of::<libc::sockaddr_ll>() as u32,
                )
                .into(),
            )?;
            Ok(PacketSocket { fd, ifindex })
        }
    }

    pub fn ifindex(&self) -> u32 {
        self.ifindex as u32
    }

    /// Sends straight to the driver, past the qdisc (as pktgen does).
    pub fn bypass_qdisc(&self) -> io::Result<()> {
        self.setsockopt(libc::SOL_PACKET, PACKET_QDISC_BYPASS, 1)
    }

    fn setsockopt(&self, level: i32, opt: i32, v: i32) -> io::Result<()> {
        // SAFETY: setsockopt(2) with an int option.
        check(
            unsafe {
                libc::setsockopt(
                    self.fd.as_raw_fd(),
                    level,
                    opt,
                    &v as *const i32 as *const libc::c_void,
                    4,
                )
            }
            .into(),
        )
        .map(|_| ())
    }

    pub fn set_timeout(&self, d: Duration) -> io::Result<()> {
        let tv = libc::timeval {
            tv_sec: d.as_secs() as i64,
            tv_usec: d.subsec_micros().max(1) as i64,
        };
        // SAFETY: setsockopt(2) with a timeval.
        check(
            unsafe {
                libc::setsockopt(
                    self.fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_RCVTIMEO,
                    &tv as *const _ as *const libc::c_void,
                    size_of::<libc::timeval>() as u32,
                )
            }
            .into(),
        )
        .map(|_| ())
    }

    /// The interface's MAC.
    pub fn mac(&self) -> io::Result<Mac> {
        // SAFETY: SIOCGIFHWADDR fills an ifreq for our interface index.
        unsafe {
            let mut req: libc::ifreq = zeroed();
            if libc::if_indextoname(self.ifindex as u32, req.ifr_name.as_mut_ptr()).is_null() {
                return Err(io::Error::last_os_error());
            }
            check(libc::ioctl(self.fd.as_raw_fd(), libc::SIOCGIFHWADDR, &mut req).into())?;
            let d = req.ifr_ifru.ifru_hwaddr.sa_data;
            Ok([d[0], d[1], d[2], d[3], d[4], d[5]].map(|b| b as u8))
        }
    }

    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        // SAFETY: send(2) of a live buffer on a bound socket.
        check(unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                frame.as_ptr() as *const libc::c_void,
                frame.len(),
                0,
            )
        } as i64)
        .map(|_| ())
    }

    /// Sends a prepared batch in one sendmmsg(2); returns how many
    /// frames the kernel took.
    pub fn send_batch(&self, b: &mut Batch) -> io::Result<usize> {
        // SAFETY: sendmmsg(2) over headers pointing at the batch's frames,
        // which live (unmoved) as long as the batch.
        let n = unsafe {
            libc::sendmmsg(
                self.fd.as_raw_fd(),
                b.msgs.as_mut_ptr(),
                b.msgs.len() as u32,
                0,
            )
        };
        check(n.into()).map(|n| n as usize)
    }

    /// One frame, or `None` on timeout (see `set_timeout`).
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        // SAFETY: recv(2) into a live buffer.
        let n = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                0,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock
                | io::ErrorKind::TimedOut
                | io::ErrorKind::Interrupted => Ok(None),
                _ => Err(e),
            };
        }
        Ok(Some(n as usize))
    }
}

/// Frames ready for sendmmsg(2): the headers point into `frames`.
pub struct Batch {
    _frames: Vec<Vec<u8>>,
    _iov: Vec<libc::iovec>,
    msgs: Vec<libc::mmsghdr>,
}

impl Batch {
    pub fn new(frames: Vec<Vec<u8>>) -> Batch {
        let mut iov: Vec<libc::iovec> = frames
            .iter()
            .map(|f| libc::iovec {
                iov_base: f.as_ptr() as *mut libc::c_void,
                iov_len: f.len(),
            })
            .collect();
        let msgs = iov
            .iter_mut()
            .map(|v| {
                // SAFETY: an all-zero msghdr is valid; we set the iovec.
                let mut m: libc::mmsghdr = unsafe { zeroed() };
                m.msg_hdr.msg_iov = v;
                m.msg_hdr.msg_iovlen = 1;
                m
            })
            .collect();
        Batch {
            _frames: frames,
            _iov: iov,
            msgs,
        }
    }
}

/// Pins the calling thread (`pid` 0) or a task to one CPU.
pub fn pin(pid: i32, cpu: usize) -> io::Result<()> {
    // SAFETY: sched_setaffinity(2) with a set holding one CPU.
    unsafe {
        let mut set: libc::cpu_set_t = zeroed();
        libc::CPU_SET(cpu, &mut set);
        check(libc::sched_setaffinity(pid, size_of::<libc::cpu_set_t>(), &set).into()).map(|_| ())
    }
}

/// The CPUs this process may run on.
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: sched_getaffinity(2) into a zeroed set.
    unsafe {
        let mut set: libc::cpu_set_t = zeroed();
        if libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return vec![0];
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}

/// CPU time of the calling thread.
pub fn thread_cpu() -> Duration {
    // SAFETY: clock_gettime(2) into a zeroed timespec.
    unsafe {
        let mut ts: libc::timespec = zeroed();
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }
}

/// What a flood sent.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sent {
    pub frames: u64,
    pub elapsed: Duration,
    /// CPU time of the sending thread (including softirq work it did).
    pub cpu: Duration,
}

/// How a flood runs.
#[derive(Clone, Copy, Debug)]
pub struct FloodLimits {
    pub max_time: Duration,
    pub max_count: u64,
    /// Frames per second at most (None: as fast as the sender can).
    pub pace: Option<f64>,
    pub cpu: Option<usize>,
}

/// Sends `frames` round and round from `ifname` in namespace `ns`, in
/// batches of 64, until `max_time` passed or `max_count` frames went out.
/// Runs in its own thread pinned to `cpu`; returns when done.
pub fn flood(ns: &str, ifname: &str, frames: Vec<Vec<u8>>, lim: FloodLimits) -> io::Result<Sent> {
    let FloodLimits {
        max_time,
        max_count,
        pace,
        cpu,
    } = lim;
    let (ns, ifname) = (ns.to_string(), ifname.to_string());
    std::thread::spawn(move || -> io::Result<Sent> {
        gw_tests::probe::enter_netns(&ns)?;
        if let Some(c) = cpu {
            pin(0, c)?;
        }
        let s = PacketSocket::open(&ifname, 0)?;
        s.bypass_qdisc()?;
        let mut batches: Vec<Batch> = frames.chunks(64).map(|c| Batch::new(c.to_vec())).collect();
        let cpu0 = thread_cpu();
        let start = Instant::now();
        let mut sent = 0u64;
        let mut i = 0;
        while sent < max_count {
            // The clock is read once per batch: 64 frames take microseconds.
            if start.elapsed() >= max_time {
                break;
            }
            if let Some(p) = pace {
                let due = Duration::from_secs_f64(sent as f64 / p);
                let now = start.elapsed();
                if due > now {
                    std::thread::sleep(due - now);
                }
            }
            let n = batches.len();
            let b = &mut batches[i % n];
            i += 1;
            match s.send_batch(b) {
                Ok(n) => sent += n as u64,
                // A full device queue: the frames are dropped, go on.
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Sent {
            frames: sent,
            elapsed: start.elapsed(),
            cpu: thread_cpu().saturating_sub(cpu0),
        })
    })
    .join()
    .map_err(|_| io::Error::other("flood thread panicked"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arp_frames_round_trip() {
        let req = arp_request(
            client_mac(7),
            Ipv4Addr::new(192, 0, 2, 100),
            Ipv4Addr::new(192, 0, 2, 1),
        );
        assert_eq!(req.len(), FRAME_LEN);
        assert_eq!(
            parse_arp_request(&req),
            Some((
                client_mac(7),
                Ipv4Addr::new(192, 0, 2, 100),
                Ipv4Addr::new(192, 0, 2, 1)
            ))
        );
        assert_eq!(arp_reply_sha(&req), None);
        let rep = arp_reply(
            [2; 6],
            [0, 7, 0xb4, 0, 1, 1],
            Ipv4Addr::new(192, 0, 2, 1),
            client_mac(7),
            Ipv4Addr::new(192, 0, 2, 100),
        );
        assert_eq!(arp_reply_sha(&rep), Some([0, 7, 0xb4, 0, 1, 1]));
        assert_eq!(&rep[0..6], &client_mac(7));
        assert_eq!(parse_arp_request(&rep), None);
    }
}
