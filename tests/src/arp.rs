//! Thousands of ARP requests through the real kernel from one host
//! namespace: an AF_PACKET socket asks "who has VIP?" from as many
//! distinct source MACs as wanted (each one a host to the gateways: to
//! the XDP program's policy, its per-MAC rate limit and its client cache)
//! and matches every reply to its request by target hardware address.
//!
//! Requests go out with at most `window` unanswered at a time, so the
//! veth and bridge queues never overflow and an unanswered request means
//! the gateways did not answer, not that the test lost it.

use std::{
    collections::{BTreeMap, HashMap},
    io,
    net::Ipv4Addr,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use crate::{netns::Netns, probe::enter_netns};

const ETH_P_ARP: u16 = 0x0806;

/// The `n`th distinct host MAC (unicast, locally administered).
pub fn host_mac(n: u32) -> [u8; 6] {
    let b = n.to_be_bytes();
    [0x02, 0x77, b[0], b[1], b[2], b[3]]
}

/// `aa:bb:..` lower case, as `gw-agent status` prints vMACs.
pub fn fmt(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// One request and what came of it.
#[derive(Clone, Debug)]
pub struct Answer {
    pub host: u32,
    pub sent: Instant,
    /// The vMAC handed out (the reply's sender hardware address).
    pub vmac: Option<[u8; 6]>,
}

/// An AF_PACKET socket on one interface of one namespace (a socket stays
/// in the namespace it was made in, whichever thread uses it).
pub struct ArpAsker {
    fd: OwnedFd,
    ifindex: i32,
    spa: Ipv4Addr,
    vip: Ipv4Addr,
}

impl ArpAsker {
    pub fn open(ns: &Netns, ifname: &str, spa: Ipv4Addr, vip: Ipv4Addr) -> io::Result<ArpAsker> {
        let (ns, ifname) = (ns.name.clone(), ifname.to_string());
        let (fd, ifindex) = std::thread::spawn(move || -> io::Result<(OwnedFd, i32)> {
            enter_netns(&ns)?;
            packet_socket(&ifname)
        })
        .join()
        .map_err(|_| io::Error::other("socket thread died"))??;
        Ok(ArpAsker {
            fd,
            ifindex,
            spa,
            vip,
        })
    }

    /// One request from each of hosts `hosts`, in order.
    pub fn ask(
        &self,
        hosts: std::ops::Range<u32>,
        window: usize,
        timeout: Duration,
    ) -> Vec<Answer> {
        let mut next = hosts;
        self.run(
            || next.next(),
            window,
            timeout,
            &AtomicBool::new(false),
            &AtomicU64::new(0),
        )
    }

    /// Sends for every host `next` yields (until it yields None or `stop`
    /// is set), keeping at most `window` in flight; a request unanswered
    /// after `timeout` counts as unanswered. Returns every request sent,
    /// in sending order.
    fn run(
        &self,
        mut next: impl FnMut() -> Option<u32>,
        window: usize,
        timeout: Duration,
        stop: &AtomicBool,
        answered: &AtomicU64,
    ) -> Vec<Answer> {
        let mut out: Vec<Answer> = Vec::new();
        // Host MAC -> index into `out`, while unanswered.
        let mut flying: HashMap<[u8; 6], usize> = HashMap::new();
        let mut done = false;
        let mut buf = [0u8; 128];
        loop {
            while !done && flying.len() < window {
                match next().filter(|_| !stop.load(Ordering::Relaxed)) {
                    Some(h) => {
                        let mac = host_mac(h);
                        self.send(&mac);
                        flying.insert(mac, out.len());
                        out.push(Answer {
                            host: h,
                            sent: Instant::now(),
                            vmac: None,
                        });
                    }
                    None => done = true,
                }
            }
            if done && flying.is_empty() {
                return out;
            }
            // SAFETY: poll(2) on our own fd with a one-element array.
            let mut p = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            unsafe { libc::poll(&mut p, 1, 2) };
            loop {
                // SAFETY: recv(2) into a local buffer of the given length.
                let n = unsafe {
                    libc::recv(
                        self.fd.as_raw_fd(),
                        buf.as_mut_ptr().cast(),
                        buf.len(),
                        libc::MSG_DONTWAIT,
                    )
                };
                if n <= 0 {
                    break;
                }
                if let Some((tha, vmac)) = self.parse_reply(&buf[..n as usize])
                    && let Some(i) = flying.remove(&tha)
                {
                    out[i].vmac = Some(vmac);
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            }
            let now = Instant::now();
            flying.retain(|_, i| now.duration_since(out[*i].sent) < timeout);
        }
    }

    fn send(&self, mac: &[u8; 6]) {
        let mut f = Vec::with_capacity(60);
        f.extend_from_slice(&[0xff; 6]);
        f.extend_from_slice(mac);
        f.extend_from_slice(&ETH_P_ARP.to_be_bytes());
        f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
        f.extend_from_slice(mac);
        f.extend_from_slice(&self.spa.octets());
        f.extend_from_slice(&[0; 6]);
        f.extend_from_slice(&self.vip.octets());
        f.resize(60, 0);
        // SAFETY: sockaddr_ll zeroed then filled; send buffer valid.
        unsafe {
            let mut sa: libc::sockaddr_ll = std::mem::zeroed();
            sa.sll_family = libc::AF_PACKET as u16;
            sa.sll_protocol = ETH_P_ARP.to_be();
            sa.sll_ifindex = self.ifindex;
            sa.sll_halen = 6;
            sa.sll_addr[..6].copy_from_slice(&[0xff; 6]);
            libc::sendto(
                self.fd.as_raw_fd(),
                f.as_ptr().cast(),
                f.len(),
                0,
                (&sa as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as u32,
            );
        }
    }

    /// (target hardware address, sender hardware address) of an ARP reply
    /// for the VIP.
    fn parse_reply(&self, b: &[u8]) -> Option<([u8; 6], [u8; 6])> {
        if b.len() < 42 || b[12..14] != ETH_P_ARP.to_be_bytes() || b[20..22] != [0, 2] {
            return None;
        }
        if b[28..32] != self.vip.octets() {
            return None;
        }
        Some((b[32..38].try_into().ok()?, b[22..28].try_into().ok()?))
    }
}

fn packet_socket(ifname: &str) -> io::Result<(OwnedFd, i32)> {
    let name = std::ffi::CString::new(ifname).map_err(io::Error::other)?;
    // SAFETY: plain syscalls; the fd is owned right after creation; the
    // structs passed are zero-initialised locals of the right size.
    unsafe {
        let ifindex = libc::if_nametoindex(name.as_ptr()) as i32;
        if ifindex == 0 {
            return Err(io::Error::last_os_error());
        }
        let raw = libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            i32::from(ETH_P_ARP.to_be()),
        );
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = OwnedFd::from_raw_fd(raw);
        let mut sa: libc::sockaddr_ll = std::mem::zeroed();
        sa.sll_family = libc::AF_PACKET as u16;
        sa.sll_protocol = ETH_P_ARP.to_be();
        sa.sll_ifindex = ifindex;
        if libc::bind(
            raw,
            (&sa as *const libc::sockaddr_ll).cast(),
            size_of::<libc::sockaddr_ll>() as u32,
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
        // Replies are addressed to the made-up host MACs, not to lan0's.
        let mut mr: libc::packet_mreq = std::mem::zeroed();
        mr.mr_ifindex = ifindex;
        mr.mr_type = libc::PACKET_MR_PROMISC as u16;
        let rc = libc::setsockopt(
            raw,
            libc::SOL_PACKET,
            libc::PACKET_ADD_MEMBERSHIP,
            (&mr as *const libc::packet_mreq).cast(),
            size_of::<libc::packet_mreq>() as u32,
        );
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        let size: libc::c_int = 8 << 20;
        libc::setsockopt(
            raw,
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&size as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as u32,
        );
        Ok((fd, ifindex))
    }
}

/// How many answers named each vMAC (unanswered requests left out).
pub fn tally(answers: &[Answer]) -> BTreeMap<String, usize> {
    let mut t = BTreeMap::new();
    for a in answers {
        if let Some(v) = a.vmac {
            *t.entry(fmt(&v)).or_insert(0) += 1;
        }
    }
    t
}

/// Asking without pause from ever new hosts, in a thread of its own,
/// until stopped: for watching answers across a change (a reload).
pub struct Flood {
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicU64>,
    thread: Option<JoinHandle<Vec<Answer>>>,
}

impl Flood {
    /// Hosts `first`, `first + 1`, ...; at most `window` in flight.
    pub fn start(asker: ArpAsker, first: u32, window: usize, timeout: Duration) -> Flood {
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU64::new(0));
        let (s, a) = (stop.clone(), answered.clone());
        let thread = std::thread::spawn(move || {
            let mut n = first;
            asker.run(
                || {
                    n += 1;
                    Some(n - 1)
                },
                window,
                timeout,
                &s,
                &a,
            )
        });
        Flood {
            stop,
            answered,
            thread: Some(thread),
        }
    }

    /// Answers received so far.
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }

    /// Stops sending, waits for the requests in flight, returns them all.
    pub fn stop(mut self) -> Vec<Answer> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .map(|t| t.join().expect("flood thread"))
            .unwrap_or_default()
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
