//! A userspace ARP responder for the VIP, built the way userspace GLBP
//! and VRRP-style daemons answer ARP: one AF_PACKET socket bound to the
//! LAN interface for ethertype ARP, one recv(2) and one send(2) per
//! request, replying with a vMAC as the ARP sender and the interface MAC as
//! the Ethernet source. It runs in a thread inside the responder's
//! namespace, pinned to the responder's CPU, until stopped.

use std::{
    io,
    net::Ipv4Addr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::Duration,
};

use super::packet::{self, Mac, PacketSocket};

pub struct Userspace {
    /// The responder thread's id, for its CPU time.
    tid: i32,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Userspace {
    pub fn start(
        ns: &str,
        ifname: &str,
        vip: Ipv4Addr,
        vmac: Mac,
        cpu: Option<usize>,
    ) -> io::Result<Userspace> {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let (ns, ifname) = (ns.to_string(), ifname.to_string());
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let setup = (|| {
                gw_tests::probe::enter_netns(&ns)?;
                if let Some(c) = cpu {
                    packet::pin(0, c)?;
                }
                let sock = PacketSocket::open(&ifname, packet::ETH_P_ARP)?;
                sock.set_timeout(Duration::from_millis(20))?;
                let mac = sock.mac()?;
                Ok::<_, io::Error>((sock, mac))
            })();
            let (sock, mac) = match setup {
                Ok(v) => {
                    // SAFETY: gettid(2) has no preconditions.
                    let _ = tx.send(Ok(unsafe { libc::gettid() }));
                    v
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            let mut buf = [0u8; 2048];
            while !s.load(Ordering::Relaxed) {
                let Ok(Some(n)) = sock.recv(&mut buf) else {
                    continue;
                };
                if let Some((sha, spa, tpa)) = packet::parse_arp_request(&buf[..n])
                    && tpa == vip
                    && spa != tpa
                {
                    let reply = packet::arp_reply(mac, vmac, vip, sha, spa);
                    let _ = sock.send(&reply);
                }
            }
        });
        let tid = rx
            .recv()
            .map_err(|_| io::Error::other("responder thread died"))??;
        Ok(Userspace {
            tid,
            stop,
            thread: Some(thread),
        })
    }

    /// CPU time (ns) the responder thread has run so far.
    pub fn cpu_ns(&self) -> u64 {
        super::wire::run_ns(&format!("/proc/self/task/{}/schedstat", self.tid))
    }
}

impl Drop for Userspace {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
