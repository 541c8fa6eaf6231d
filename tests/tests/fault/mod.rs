//! Shared by the fault tests (faults_*.rs): a group of gateways whose
//! agents can be killed, restarted and reconfigured, logs that survive
//! restarts, counters, and crafted traffic (GLBP over UDP with a chosen
//! TTL, ARP requests over AF_PACKET) sent from inside a namespace.
//!
//! Crafted senders run in threads that join the namespace with setns(2),
//! like `gw_tests::probe`.

#![allow(dead_code)]

use std::{
    collections::{BTreeMap, HashMap},
    io,
    net::{Ipv4Addr, SocketAddrV4},
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    path::PathBuf,
    process::Stdio,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use gw_tests::{
    Agent, Netns, Topology, TopologySpec, agent,
    group::{GroupConfig, Sample},
    probe::{Echo, Probe, ProbeReport, enter_netns},
    topo::{SERVER, VIP},
};

/// Log lines that are state changes (README: "one line per state change").
pub const STATE_CHANGE_MARKS: &[&str] = &[
    "gateway state ",
    ") Init -> ",
    ") Listen -> ",
    ") Active -> ",
    " expired (hold time)",
    "took over forwarder",
    " resigned",
];

/// The state-change lines of a log.
pub fn state_changes(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| STATE_CHANGE_MARKS.iter().any(|m| l.contains(m)))
        .map(str::to_string)
        .collect()
}

/// Starts the agent in `ns` with `cfg` (written to `<tmp>/<ns>-gw.json`),
/// appending to `<tmp>/<ns>-agent.log` so the log of an earlier run of the
/// same gateway survives a restart. `rust_log` is the RUST_LOG filter.
pub fn start_agent(ns: &Netns, cfg: &serde_json::Value, rust_log: &str) -> Agent {
    let path = config_path(ns);
    std::fs::write(&path, cfg.to_string()).expect("write config");
    let log = std::env::temp_dir().join(format!("{}-agent.log", ns.name));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .expect("log file");
    {
        use std::io::Write;
        let _ = writeln!(file, "=== gw-agent started by the test ===");
    }
    let child = ns
        .command(agent::bin().to_str().expect("utf-8 path"))
        .args(["run", "--config", path.to_str().expect("utf-8 path")])
        .env("RUST_LOG", rust_log)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .expect("spawn gw-agent");
    Agent {
        child,
        ns: ns.name.clone(),
        log,
    }
}

pub fn config_path(ns: &Netns) -> PathBuf {
    std::env::temp_dir().join(format!("{}-gw.json", ns.name))
}

/// A group of gateways (g1 = highest priority) and hosts on one LAN.
pub struct Lan {
    pub t: Topology,
    pub agents: Vec<Option<Agent>>,
    pub cfgs: Vec<GroupConfig>,
    pub rust_log: String,
}

impl Lan {
    /// Starts one agent per config and waits for the steady state (one
    /// AVG, every router forwarding one vMAC) within `timeout`.
    pub fn start(cfgs: Vec<GroupConfig>, hosts: usize, timeout: Duration) -> Lan {
        Lan::start_with_log(cfgs, hosts, timeout, "info")
    }

    pub fn start_with_log(
        cfgs: Vec<GroupConfig>,
        hosts: usize,
        timeout: Duration,
        rust_log: &str,
    ) -> Lan {
        let t = Topology::new(TopologySpec {
            gateways: cfgs.len(),
            hosts,
        });
        let agents = t
            .gateways
            .iter()
            .zip(&cfgs)
            .map(|(g, c)| Some(start_agent(g, &c.json(), rust_log)))
            .collect();
        let lan = Lan {
            t,
            agents,
            cfgs,
            rust_log: rust_log.to_string(),
        };
        let all: Vec<usize> = (1..=lan.cfgs.len()).collect();
        let avg = lan.wait_steady(&all, timeout);
        assert_eq!(avg, 1, "the highest priority is AVG\n{}", lan.logs());
        // The standby is elected at the end of its speak period, which
        // can come after the steady state: wait for it too, so tests start
        // from a settled group.
        if lan.cfgs.len() > 1 {
            let standby = gw_tests::wait::until(timeout, || {
                (1..=lan.cfgs.len())
                    .any(|i| lan.log(i).contains("-> Standby"))
                    .then_some(())
            });
            assert!(standby.is_some(), "no standby elected\n{}", lan.logs());
        }
        lan
    }

    pub fn gw(&self, i: usize) -> &Netns {
        &self.t.gateways[i - 1]
    }

    pub fn agent(&mut self, i: usize) -> &mut Agent {
        self.agents[i - 1].as_mut().expect("agent running")
    }

    /// Waits for the steady state among `alive`; returns the AVG.
    pub fn wait_steady(&self, alive: &[usize], timeout: Duration) -> usize {
        let mut last = String::new();
        gw_tests::wait::until(timeout, || {
            let s = Sample::take(&self.t);
            s.steady(alive).map_err(|e| last = e).ok()
        })
        .unwrap_or_else(|| {
            panic!(
                "steady state not reached in {timeout:?}: {last}\n{}",
                self.logs()
            )
        })
    }

    /// SIGKILL, waiting for the exit; the pinned program stays.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut a) = self.agents[i - 1].take() {
            a.stop(libc::SIGKILL);
        }
    }

    /// Starts gateway `i`'s agent again with its config.
    pub fn restart(&mut self, i: usize) {
        assert!(self.agents[i - 1].is_none(), "g{i} still running");
        let json = self.cfgs[i - 1].json();
        self.agents[i - 1] = Some(start_agent(self.gw(i), &json, &self.rust_log));
    }

    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(std::env::temp_dir().join(format!("{}-agent.log", self.gw(i).name)))
            .unwrap_or_default()
    }

    /// Every gateway's log, for failure messages.
    pub fn logs(&self) -> String {
        (1..=self.cfgs.len())
            .map(|i| format!("--- g{i} ({})\n{}", self.gw(i).name, self.log(i)))
            .collect()
    }

    /// Each log's length now, to look only at what comes after.
    pub fn log_marks(&self) -> Vec<usize> {
        (1..=self.cfgs.len()).map(|i| self.log(i).len()).collect()
    }

    /// State-change lines logged since `marks`, as "gN: line".
    pub fn changes_since(&self, marks: &[usize]) -> Vec<String> {
        (1..=self.cfgs.len())
            .flat_map(|i| {
                let log = self.log(i);
                let new = log.get(marks[i - 1]..).unwrap_or_default().to_string();
                state_changes(&new)
                    .into_iter()
                    .map(move |l| format!("g{i}: {l}"))
            })
            .collect()
    }

    /// The vMAC gateway `i` forwards for (its only one in steady state).
    pub fn vmac_of(&self, i: usize) -> String {
        let s = Sample::take(&self.t);
        s.get(i)
            .and_then(|g| g.forwarding.first())
            .map(|f| f.1.clone())
            .unwrap_or_else(|| panic!("g{i} forwards no vMAC\n{}", self.logs()))
    }

    /// Every host pings the server once (resolving the gateway); returns
    /// the vMAC each got.
    pub fn resolve_all(&self) -> Vec<String> {
        (1..=self.t.hosts.len())
            .map(|j| {
                self.t.hosts[j - 1].ok(&format!("ping -c 1 -W 2 {SERVER}"));
                self.t
                    .host_gateway_mac(j)
                    .expect("neighbour entry for the VIP")
            })
            .collect()
    }

    /// A UDP echo on the server and a probe from every host, every 10 ms.
    pub fn probes(&self) -> (Echo, Vec<Probe>) {
        let target = SocketAddrV4::new(SERVER, 7);
        let echo = Echo::start(&self.t.server, target).expect("echo");
        let probes = self
            .t
            .hosts
            .iter()
            .map(|h| Probe::start(h, target, Duration::from_millis(10)).expect("probe"))
            .collect();
        (echo, probes)
    }

    /// Gateways whose agent should run but has exited.
    pub fn dead(&mut self) -> Vec<usize> {
        (1..=self.agents.len())
            .filter(|&i| self.agents[i - 1].as_mut().is_some_and(|a| !a.running()))
            .collect()
    }
}

pub fn worst(reports: &[ProbeReport]) -> Duration {
    reports.iter().map(|r| r.max_gap).max().unwrap_or_default()
}

/// `GroupConfig::fast` with other timers.
pub fn timers(priority: u8, hello_ms: u32, hold_ms: u32) -> GroupConfig {
    GroupConfig {
        hello_ms,
        hold_ms,
        ..GroupConfig::fast(priority)
    }
}

/// The XDP verdict counters (`GW_STATS`, summed over CPUs) of lan0.
pub fn xdp_counters(ns: &Netns) -> BTreeMap<String, u64> {
    let s = agent::status(ns);
    let iface = s
        .as_array()
        .and_then(|a| a.iter().find(|i| i["interface"] == "lan0"))
        .cloned()
        .unwrap_or_default();
    let mut out = BTreeMap::new();
    match &iface["counters"] {
        // [["pass", 12], ...]
        serde_json::Value::Array(a) => {
            for c in a {
                if let (Some(n), Some(v)) = (c[0].as_str(), c[1].as_u64()) {
                    out.insert(n.to_string(), v);
                }
            }
        }
        // {"pass": 12, ...}
        serde_json::Value::Object(o) => {
            for (n, v) in o {
                out.insert(n.clone(), v.as_u64().unwrap_or(0));
            }
        }
        _ => {}
    }
    out
}

/// Group 1's data-plane numbers from status: (arp_requests, arp_replies, arp_drops).
pub fn group_arp(ns: &Netns) -> (u64, u64, u64) {
    let s = agent::status(ns);
    let g = s
        .as_array()
        .and_then(|a| a.iter().find(|i| i["interface"] == "lan0"))
        .and_then(|i| i["groups"].as_array().and_then(|g| g.first().cloned()))
        .unwrap_or_default();
    let n = |k: &str| g[k].as_u64().unwrap_or(0);
    (n("arp_requests"), n("arp_replies"), n("arp_drops"))
}

pub fn delta(
    after: &BTreeMap<String, u64>,
    before: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v.saturating_sub(*before.get(k).unwrap_or(&0))))
        .filter(|(_, v)| *v > 0)
        .collect()
}

/// Packets the interface received (veth: what its peer delivered).
pub fn rx_packets(ns: &Netns, dev: &str) -> u64 {
    let out = ns.ok(&format!("ip -j -s link show dev {dev}"));
    let v: serde_json::Value = serde_json::from_str(&out).expect("ip -j output");
    v[0]["stats64"]["rx"]["packets"]
        .as_u64()
        .expect("rx packets")
}

/// The interface's MAC in `ns`.
pub fn mac_of(ns: &Netns, dev: &str) -> [u8; 6] {
    parse_mac(ns.ok(&format!("cat /sys/class/net/{dev}/address")).trim())
}

pub fn parse_mac(s: &str) -> [u8; 6] {
    let mut m = [0u8; 6];
    for (i, p) in s.split(':').enumerate().take(6) {
        m[i] = u8::from_str_radix(p, 16).expect("hex MAC");
    }
    m
}

pub fn fmt_mac(m: &[u8; 6]) -> String {
    gw_agent::fmt_mac(m)
}

fn ifindex(dev: &str) -> io::Result<u32> {
    let c = std::ffi::CString::new(dev).expect("no NUL");
    // SAFETY: a valid C string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if i == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(i)
    }
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn setsockopt<T>(fd: i32, level: i32, name: i32, v: &T) -> io::Result<()> {
    // SAFETY: v points to a T of the size passed.
    check(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (v as *const T).cast(),
            std::mem::size_of::<T>() as u32,
        )
    })
    .map(drop)
}

/// Runs `f` in a thread inside namespace `ns` and returns its result.
pub fn in_netns<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let ns = ns.to_string();
    std::thread::spawn(move || {
        enter_netns(&ns)?;
        f()
    })
    .join()
    .map_err(|_| io::Error::other("netns thread panicked"))?
}

/// A UDP socket in the current namespace bound to `dev` that sends with
/// TTL `ttl` (unicast and multicast).
fn glbp_socket(dev: &str, ttl: u8) -> io::Result<std::net::UdpSocket> {
    let sock = std::net::UdpSocket::bind("0.0.0.0:0")?;
    let fd = sock.as_raw_fd();
    let name = dev.as_bytes();
    // SAFETY: name is a byte slice of its stated length.
    check(unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            name.as_ptr().cast(),
            name.len() as u32,
        )
    })?;
    let t = libc::c_int::from(ttl);
    setsockopt(fd, libc::IPPROTO_IP, libc::IP_TTL, &t)?;
    setsockopt(fd, libc::IPPROTO_IP, libc::IP_MULTICAST_TTL, &t)?;
    let zero: libc::c_int = 0;
    setsockopt(fd, libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP, &zero)?;
    let mreq = libc::ip_mreqn {
        imr_multiaddr: libc::in_addr { s_addr: 0 },
        imr_address: libc::in_addr { s_addr: 0 },
        imr_ifindex: ifindex(dev)? as i32,
    };
    setsockopt(fd, libc::IPPROTO_IP, libc::IP_MULTICAST_IF, &mreq)?;
    Ok(sock)
}

/// Sends each payload once to `dst` (UDP 3222) from `ns`/`dev` with TTL
/// `ttl`, `gap` apart.
pub fn send_glbp(
    ns: &Netns,
    dev: &str,
    dst: Ipv4Addr,
    ttl: u8,
    payloads: Vec<Vec<u8>>,
    gap: Duration,
) {
    let dev = dev.to_string();
    in_netns(&ns.name, move || {
        let sock = glbp_socket(&dev, ttl)?;
        for p in payloads {
            sock.send_to(&p, SocketAddrV4::new(dst, gw_agent::proto::GLBP_PORT))?;
            std::thread::sleep(gap);
        }
        Ok(())
    })
    .expect("send GLBP");
}

/// Sends `make(n)` (n = 0, 1, ...) every `every` until stopped or dropped.
pub struct Repeater {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Repeater {
    pub fn glbp(
        ns: &Netns,
        dev: &str,
        dst: Ipv4Addr,
        ttl: u8,
        every: Duration,
        mut make: impl FnMut(u64) -> Vec<u8> + Send + 'static,
    ) -> Repeater {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let (s, n) = (stop.clone(), sent.clone());
        let (ns, dev) = (ns.name.clone(), dev.to_string());
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let sock = match enter_netns(&ns).and_then(|()| glbp_socket(&dev, ttl)) {
                Ok(s) => {
                    let _ = tx.send(Ok(()));
                    s
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            let mut i = 0;
            while !s.load(Ordering::Relaxed) {
                let p = make(i);
                if sock
                    .send_to(&p, SocketAddrV4::new(dst, gw_agent::proto::GLBP_PORT))
                    .is_ok()
                {
                    n.fetch_add(1, Ordering::Relaxed);
                }
                i += 1;
                std::thread::sleep(every);
            }
        });
        rx.recv().expect("sender thread").expect("GLBP socket");
        Repeater {
            stop,
            sent,
            thread: Some(thread),
        }
    }

    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    pub fn stop(mut self) -> u64 {
        self.halt();
        self.sent()
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Repeater {
    fn drop(&mut self) {
        self.halt();
    }
}

/// A hello for group 1, VIP 192.0.2.1: `state`, `priority`, hello/hold.
pub fn hello(
    owner: [u8; 6],
    state: gw_agent::proto::VgState,
    priority: u8,
    hello_ms: u32,
    hold_ms: u32,
) -> gw_agent::proto::Packet {
    use gw_agent::proto::{Hello, Packet, Tlv};
    Packet {
        group: 1,
        owner,
        tlvs: vec![Tlv::Hello(Hello {
            state,
            priority,
            hello_ms,
            hold_ms,
            redirect_s: 3,
            timeout_s: 30,
            vip: std::net::IpAddr::V4(VIP),
        })],
    }
}

// ---- ARP over AF_PACKET -------------------------------------------------

const ETH_P_ARP: u16 = 0x0806;

/// An Ethernet + ARP request frame for `target` from `sha`/`spa`.
pub fn arp_request(sha: [u8; 6], spa: Ipv4Addr, target: Ipv4Addr) -> [u8; 42] {
    let mut f = [0u8; 42];
    f[0..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&sha);
    f[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    f[14..16].copy_from_slice(&1u16.to_be_bytes()); // Ethernet
    f[16..18].copy_from_slice(&0x0800u16.to_be_bytes()); // IPv4
    f[18] = 6;
    f[19] = 4;
    f[20..22].copy_from_slice(&1u16.to_be_bytes()); // request
    f[22..28].copy_from_slice(&sha);
    f[28..32].copy_from_slice(&spa.octets());
    // tha zero
    f[38..42].copy_from_slice(&target.octets());
    f
}

/// An ARP reply in `frame` for `vip`: (sender MAC = the answer, target MAC).
fn arp_reply_of(frame: &[u8], vip: Ipv4Addr) -> Option<([u8; 6], [u8; 6])> {
    if frame.len() < 42 || frame[12..14] != ETH_P_ARP.to_be_bytes() {
        return None;
    }
    if frame[20..22] != 2u16.to_be_bytes() || frame[28..32] != vip.octets() {
        return None;
    }
    Some((
        frame[22..28].try_into().unwrap(),
        frame[32..38].try_into().unwrap(),
    ))
}

/// An AF_PACKET socket on `dev` (current namespace) for ARP frames.
fn arp_socket(dev: &str) -> io::Result<(OwnedFd, libc::sockaddr_ll)> {
    // SAFETY: plain socket(2), owned at once.
    let fd = check(unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            i32::from(ETH_P_ARP.to_be()),
        )
    })?;
    // SAFETY: a fresh fd we own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: all-zero is a valid sockaddr_ll.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = ETH_P_ARP.to_be();
    sll.sll_ifindex = ifindex(dev)? as i32;
    // SAFETY: a valid sockaddr_ll of the stated size.
    check(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    })?;
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 2000,
    };
    setsockopt(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv)?;
    Ok((fd, sll))
}

fn send_frame(fd: &OwnedFd, sll: &libc::sockaddr_ll, frame: &[u8]) -> io::Result<()> {
    // SAFETY: frame and sll valid for the stated lengths.
    let n = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            frame.as_ptr().cast(),
            frame.len(),
            0,
            (sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn recv_frame(fd: &OwnedFd, buf: &mut [u8]) -> Option<usize> {
    // SAFETY: buf is valid for its length.
    let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    (n > 0).then_some(n as usize)
}

/// The locally administered MAC of ARP request number `seq` of pinger `id`.
fn pinger_mac(id: u8, seq: u32) -> [u8; 6] {
    let s = seq.to_be_bytes();
    [0x02, id, s[0], s[1], s[2], s[3]]
}

/// What an ARP pinger saw.
#[derive(Debug, Default, Clone)]
pub struct ArpReport {
    pub sent: u64,
    /// Requests answered (each counted once), and by which vMAC.
    pub answered: u64,
    pub by_vmac: BTreeMap<String, u64>,
    /// Send times of the requests never answered.
    pub unanswered: Vec<Instant>,
    /// Longest time between two answers (an ARP outage).
    pub max_gap: Duration,
}

impl ArpReport {
    pub fn unanswered_within(&self, from: Instant, to: Instant) -> usize {
        self.unanswered
            .iter()
            .filter(|t| **t >= from && **t <= to)
            .count()
    }
}

struct ArpState {
    sent_at: Vec<Instant>,
    answers: HashMap<u32, (Instant, [u8; 6])>,
}

/// Sends a broadcast ARP request for `target` every `interval` from a
/// host, each from its own source MAC (so no per-MAC rate limit applies
/// and each answer names its request), and records the answers.
pub struct ArpPinger {
    stop: Arc<AtomicBool>,
    state: Arc<Mutex<ArpState>>,
    thread: Option<JoinHandle<()>>,
}

impl ArpPinger {
    pub fn start(
        ns: &Netns,
        id: u8,
        spa: Ipv4Addr,
        target: Ipv4Addr,
        interval: Duration,
    ) -> ArpPinger {
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(Mutex::new(ArpState {
            sent_at: Vec::new(),
            answers: HashMap::new(),
        }));
        let (s, st) = (stop.clone(), state.clone());
        let ns = ns.name.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let (fd, sll) = match enter_netns(&ns).and_then(|()| arp_socket("lan0")) {
                Ok(v) => {
                    let _ = tx.send(Ok(()));
                    v
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            let mut buf = [0u8; 256];
            let mut next = Instant::now();
            let mut seq: u32 = 0;
            let mut drain_until = None;
            loop {
                let now = Instant::now();
                if drain_until.is_none() && s.load(Ordering::Relaxed) {
                    drain_until = Some(now + Duration::from_millis(300));
                }
                if let Some(d) = drain_until {
                    if now >= d {
                        break;
                    }
                } else if now >= next {
                    let f = arp_request(pinger_mac(id, seq), spa, target);
                    let _ = send_frame(&fd, &sll, &f);
                    st.lock().unwrap().sent_at.push(now);
                    seq += 1;
                    next += interval;
                    if next < now {
                        next = now + interval;
                    }
                }
                if let Some(n) = recv_frame(&fd, &mut buf)
                    && let Some((vmac, tha)) = arp_reply_of(&buf[..n], target)
                    && tha[0] == 0x02
                    && tha[1] == id
                {
                    let q = u32::from_be_bytes(tha[2..6].try_into().unwrap());
                    st.lock()
                        .unwrap()
                        .answers
                        .entry(q)
                        .or_insert((Instant::now(), vmac));
                }
            }
        });
        rx.recv().expect("pinger thread").expect("ARP socket");
        ArpPinger {
            stop,
            state,
            thread: Some(thread),
        }
    }

    /// Answers so far.
    pub fn answered(&self) -> u64 {
        self.state.lock().unwrap().answers.len() as u64
    }

    pub fn stop(mut self) -> ArpReport {
        self.halt();
        let st = self.state.lock().unwrap();
        let mut r = ArpReport {
            sent: st.sent_at.len() as u64,
            answered: st.answers.len() as u64,
            ..Default::default()
        };
        for (i, t) in st.sent_at.iter().enumerate() {
            match st.answers.get(&(i as u32)) {
                Some((_, vmac)) => *r.by_vmac.entry(fmt_mac(vmac)).or_default() += 1,
                None => r.unanswered.push(*t),
            }
        }
        let mut times: Vec<Instant> = st.answers.values().map(|a| a.0).collect();
        times.sort();
        r.max_gap = times
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or_default();
        r
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ArpPinger {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Floods `total` broadcast ARP requests for `target` from `ns`'s lan0,
/// cycling over `macs` source MACs (02:fe:00:00:hi:lo), spread evenly over
/// about `over`. Runs in the background; join for the count sent.
pub fn arp_flood(
    ns: &Netns,
    spa: Ipv4Addr,
    target: Ipv4Addr,
    macs: u16,
    total: u64,
    over: Duration,
) -> JoinHandle<io::Result<u64>> {
    let ns = ns.name.clone();
    std::thread::spawn(move || {
        enter_netns(&ns)?;
        let (fd, sll) = arp_socket("lan0")?;
        let started = Instant::now();
        let mut sent = 0u64;
        const BATCH: u64 = 100;
        while sent < total {
            for _ in 0..BATCH.min(total - sent) {
                let m = (sent % u64::from(macs)) as u16;
                let [hi, lo] = m.to_be_bytes();
                let f = arp_request([0x02, 0xfe, 0, 0, hi, lo], spa, target);
                send_frame(&fd, &sll, &f)?;
                sent += 1;
            }
            // Pace to `over`: sleep if ahead of schedule.
            let due = over.mul_f64(sent as f64 / total as f64);
            if let Some(ahead) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(ahead);
            }
        }
        Ok(sent)
    })
}

/// nftables in the switch namespace: a bridge table `gwfault` with one
/// forward chain holding `rules` (replaced as a whole).
pub fn switch_rules(t: &Topology, rules: &[String]) {
    let _ = t.switch.sh("nft delete table bridge gwfault");
    if rules.is_empty() {
        return;
    }
    let body: String = rules.iter().map(|r| format!("    {r}\n")).collect();
    let script = format!(
        "table bridge gwfault {{\n  chain gwfwd {{\n    type filter hook forward priority 0; policy accept;\n{body}  }}\n}}\n"
    );
    let file = std::env::temp_dir().join(format!("{}-nft.conf", t.prefix));
    std::fs::write(&file, script).expect("nft file");
    t.switch.ok(&format!("nft -f {}", file.display()));
    let _ = std::fs::remove_file(file);
}

/// Drops counted by the `gwfault` table's rules (sum of their counters).
pub fn switch_drops(t: &Topology) -> u64 {
    let out = t.switch.sh("nft list table bridge gwfault").stdout;
    let text = String::from_utf8_lossy(&out);
    text.split("packets ")
        .skip(1)
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}
