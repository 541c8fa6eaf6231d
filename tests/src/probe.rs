//! Outage measurement without external tools: a UDP echo responder in one
//! namespace, and probes from others that send a numbered, timestamped
//! datagram every few milliseconds and record the replies.
//!
//! Each runs in its own thread that joins the namespace with setns(2)
//! (a network namespace switch affects only the calling thread), so
//! hundreds of probes cost no processes. The longest gap between two
//! consecutive replies is the outage a host saw.
//!
//! ```no_run
//! # use gw_tests::{Topology, TopologySpec, probe::{Echo, Probe}};
//! # use std::{net::SocketAddrV4, time::Duration};
//! # let t = Topology::new(TopologySpec { gateways: 1, hosts: 1 });
//! let target = SocketAddrV4::new(gw_tests::topo::SERVER, 7);
//! let echo = Echo::start(&t.server, target).unwrap();
//! let probe = Probe::start(&t.hosts[0], target, Duration::from_millis(10)).unwrap();
//! std::thread::sleep(Duration::from_secs(2));
//! let r = probe.stop();
//! assert!(r.received > 0 && r.max_gap < Duration::from_millis(500));
//! # drop(echo);
//! ```

use std::{
    io,
    net::{SocketAddrV4, UdpSocket},
    os::fd::AsRawFd,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use crate::netns::Netns;

const MAGIC: u32 = 0x6777_7072; // "gwpr"
const LEN: usize = 24;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Moves the calling thread into the network namespace `/run/netns/NAME`.
pub fn enter_netns(name: &str) -> io::Result<()> {
    let f = std::fs::File::open(format!("/run/netns/{name}"))?;
    // SAFETY: setns(2) on a valid fd; CLONE_NEWNET affects only this thread.
    if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Runs `f` in a new thread inside namespace `ns`; the result of joining
/// the namespace and binding comes back before this returns.
fn spawn_in<T: Send + 'static>(
    ns: &str,
    name: String,
    setup: impl FnOnce() -> io::Result<T> + Send + 'static,
    run: impl FnOnce(T) + Send + 'static,
) -> io::Result<JoinHandle<()>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let ns = ns.to_string();
    let h = std::thread::Builder::new().name(name).spawn(move || {
        let ready = enter_netns(&ns).and_then(|()| setup());
        match ready {
            Ok(v) => {
                let _ = tx.send(Ok(()));
                run(v);
            }
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        }
    })?;
    match rx.recv() {
        Ok(Ok(())) => Ok(h),
        Ok(Err(e)) => {
            let _ = h.join();
            Err(e)
        }
        Err(_) => Err(io::Error::other("probe thread died")),
    }
}

/// A UDP echo responder (every datagram goes back to its sender), running
/// until stopped or dropped.
pub struct Echo {
    addr: SocketAddrV4,
    stop: Arc<AtomicBool>,
    echoed: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Echo {
    /// Binds `addr` inside `ns` and starts answering.
    pub fn start(ns: &Netns, addr: SocketAddrV4) -> io::Result<Echo> {
        Echo::start_in(&ns.name, addr)
    }

    /// Like `start`, by namespace name.
    pub fn start_in(ns: &str, addr: SocketAddrV4) -> io::Result<Echo> {
        let stop = Arc::new(AtomicBool::new(false));
        let echoed = Arc::new(AtomicU64::new(0));
        let (s, e) = (stop.clone(), echoed.clone());
        let thread = spawn_in(
            ns,
            format!("echo-{ns}"),
            move || {
                let sock = UdpSocket::bind(addr)?;
                sock.set_read_timeout(Some(Duration::from_millis(50)))?;
                Ok(sock)
            },
            move |sock| {
                let mut buf = [0u8; 1500];
                while !s.load(Ordering::Relaxed) {
                    if let Ok((n, from)) = sock.recv_from(&mut buf)
                        && sock.send_to(&buf[..n], from).is_ok()
                    {
                        e.fetch_add(1, Ordering::Relaxed);
                    }
                }
            },
        )?;
        Ok(Echo {
            addr,
            stop,
            echoed,
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddrV4 {
        self.addr
    }

    /// Datagrams answered so far.
    pub fn echoed(&self) -> u64 {
        self.echoed.load(Ordering::Relaxed)
    }

    /// Stops and returns how many datagrams were answered.
    pub fn stop(mut self) -> u64 {
        self.halt();
        self.echoed()
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Limits of one probe; it stops by itself at whichever comes first.
#[derive(Clone, Copy, Debug)]
pub struct ProbeLimits {
    pub interval: Duration,
    pub max_duration: Duration,
    pub max_count: u64,
}

impl ProbeLimits {
    /// `interval`, at most 10 minutes and 100 000 probes.
    pub fn every(interval: Duration) -> ProbeLimits {
        ProbeLimits {
            interval,
            max_duration: Duration::from_secs(600),
            max_count: 100_000,
        }
    }
}

/// One answered probe.
#[derive(Clone, Copy, Debug)]
pub struct Reply {
    pub seq: u64,
    pub sent: Instant,
    pub received: Instant,
}

/// What one probe saw.
#[derive(Clone, Debug)]
pub struct ProbeReport {
    pub started: Instant,
    pub stopped: Instant,
    pub interval: Duration,
    pub sent: u64,
    pub received: u64,
    pub lost: u64,
    /// Longest time between two consecutive replies (the outage); zero with
    /// fewer than two replies.
    pub max_gap: Duration,
    /// Every gap longer than three intervals: (last reply before it, length).
    pub gaps: Vec<(Instant, Duration)>,
    /// Every reply, in the order received.
    pub replies: Vec<Reply>,
}

impl ProbeReport {
    pub fn last_reply(&self) -> Option<Instant> {
        self.replies.last().map(|r| r.received)
    }

    /// Whether a reply arrived at or after `t`.
    pub fn replied_after(&self, t: Instant) -> bool {
        self.last_reply().is_some_and(|l| l >= t)
    }

    /// Time from the last reply (or the start) to the stop: an outage that
    /// had not ended when the probe stopped.
    pub fn tail_gap(&self) -> Duration {
        self.stopped
            .saturating_duration_since(self.last_reply().unwrap_or(self.started))
    }

    /// The longest gap between consecutive replies that overlaps `[from, to]`,
    /// counting an unanswered stretch at the start or end of the probe too.
    pub fn max_gap_within(&self, from: Instant, to: Instant) -> Duration {
        let mut prev = self.started;
        let mut best = Duration::ZERO;
        for r in self
            .replies
            .iter()
            .map(|r| r.received)
            .chain(std::iter::once(self.stopped))
        {
            if r >= from && prev <= to {
                best = best.max(r.saturating_duration_since(prev));
            }
            prev = r;
        }
        best
    }

    /// Mean round-trip time.
    pub fn rtt_avg(&self) -> Duration {
        if self.replies.is_empty() {
            return Duration::ZERO;
        }
        let total: Duration = self
            .replies
            .iter()
            .map(|r| r.received.saturating_duration_since(r.sent))
            .sum();
        total / self.replies.len() as u32
    }
}

struct State {
    sent: u64,
    replies: Vec<Reply>,
    stopped: Option<Instant>,
}

/// Probes a UDP echo target from inside a namespace (see the module doc).
pub struct Probe {
    started: Instant,
    interval: Duration,
    stop: Arc<AtomicBool>,
    state: Arc<Mutex<State>>,
    thread: Option<JoinHandle<()>>,
}

impl Probe {
    /// Starts probing `target` from `ns` every `interval` (at most 10
    /// minutes and 100 000 probes).
    pub fn start(ns: &Netns, target: SocketAddrV4, interval: Duration) -> io::Result<Probe> {
        Probe::start_in(&ns.name, target, ProbeLimits::every(interval))
    }

    /// Like `start`, by namespace name, with explicit limits.
    pub fn start_in(ns: &str, target: SocketAddrV4, limits: ProbeLimits) -> io::Result<Probe> {
        assert!(
            limits.interval >= Duration::from_millis(1),
            "probe interval below 1 ms"
        );
        let id =
            NEXT_ID.fetch_add(1, Ordering::Relaxed) as u32 ^ std::process::id().rotate_left(16);
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(Mutex::new(State {
            sent: 0,
            replies: Vec::new(),
            stopped: None,
        }));
        let started = Instant::now();
        let (s, st) = (stop.clone(), state.clone());
        let thread = spawn_in(
            ns,
            format!("probe-{ns}"),
            move || {
                let sock = UdpSocket::bind("0.0.0.0:0")?;
                sock.connect(target)?;
                Ok(sock)
            },
            move |sock| run_probe(sock, id, started, limits, &s, &st),
        )?;
        Ok(Probe {
            started,
            interval: limits.interval,
            stop,
            state,
            thread: Some(thread),
        })
    }

    /// Whether it still sends (false once a limit was reached or stopped).
    pub fn running(&self) -> bool {
        self.state.lock().unwrap().stopped.is_none()
    }

    /// The report so far, without stopping.
    pub fn snapshot(&self) -> ProbeReport {
        let st = self.state.lock().unwrap();
        report(
            self.started,
            st.stopped.unwrap_or_else(Instant::now),
            self.interval,
            st.sent,
            &st.replies,
        )
    }

    /// The last reply so far.
    pub fn last_reply(&self) -> Option<Instant> {
        self.state
            .lock()
            .unwrap()
            .replies
            .last()
            .map(|r| r.received)
    }

    /// Stops (waiting up to one interval for replies in flight) and reports.
    pub fn stop(mut self) -> ProbeReport {
        self.halt();
        self.snapshot()
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.halt();
    }
}

fn run_probe(
    sock: UdpSocket,
    id: u32,
    started: Instant,
    limits: ProbeLimits,
    stop: &AtomicBool,
    state: &Mutex<State>,
) {
    let mut next = Instant::now();
    let mut seq = 0u64;
    let mut sent_at: Vec<Instant> = Vec::new();
    let mut buf = [0u8; 64];
    let end = started + limits.max_duration;
    let mut draining_until: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if draining_until.is_none()
            && (stop.load(Ordering::Relaxed) || now >= end || seq >= limits.max_count)
        {
            // Give replies in flight one interval (at most 100 ms) to arrive.
            draining_until = Some(now + limits.interval.min(Duration::from_millis(100)));
        }
        if let Some(d) = draining_until {
            if now >= d {
                break;
            }
        } else if now >= next {
            let mut p = [0u8; LEN];
            p[0..4].copy_from_slice(&MAGIC.to_be_bytes());
            p[4..8].copy_from_slice(&id.to_be_bytes());
            p[8..16].copy_from_slice(&seq.to_be_bytes());
            p[16..24]
                .copy_from_slice(&(now.duration_since(started).as_nanos() as u64).to_be_bytes());
            // Errors (no route, unreachable) are lost probes, nothing more.
            let _ = sock.send(&p);
            sent_at.push(now);
            seq += 1;
            state.lock().unwrap().sent = seq;
            next += limits.interval;
            if next < now {
                // Fell behind (a stalled thread): do not burst to catch up.
                next = now + limits.interval;
            }
        }
        let wake = draining_until.unwrap_or(next);
        let wait = wake
            .saturating_duration_since(Instant::now())
            .max(Duration::from_micros(200));
        let _ = sock.set_read_timeout(Some(wait));
        if let Ok(n) = sock.recv(&mut buf) {
            let received = Instant::now();
            if n >= LEN && buf[0..4] == MAGIC.to_be_bytes() && buf[4..8] == id.to_be_bytes() {
                let rseq = u64::from_be_bytes(buf[8..16].try_into().unwrap());
                if let Some(&sent) = sent_at.get(rseq as usize) {
                    state.lock().unwrap().replies.push(Reply {
                        seq: rseq,
                        sent,
                        received,
                    });
                }
            }
        }
    }
    state.lock().unwrap().stopped = Some(Instant::now());
}

fn report(
    started: Instant,
    stopped: Instant,
    interval: Duration,
    sent: u64,
    replies: &[Reply],
) -> ProbeReport {
    let mut seen = std::collections::HashSet::new();
    let replies: Vec<Reply> = replies
        .iter()
        .copied()
        .filter(|r| seen.insert(r.seq))
        .collect();
    let received = replies.len() as u64;
    let mut max_gap = Duration::ZERO;
    let mut gaps = Vec::new();
    for w in replies.windows(2) {
        let gap = w[1].received.saturating_duration_since(w[0].received);
        max_gap = max_gap.max(gap);
        if gap > interval * 3 {
            gaps.push((w[0].received, gap));
        }
    }
    ProbeReport {
        started,
        stopped,
        interval,
        sent,
        received,
        lost: sent.saturating_sub(received),
        max_gap,
        gaps,
        replies,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    #[test]
    fn report_finds_the_longest_gap() {
        let b = Instant::now();
        let replies: Vec<Reply> = [10u64, 20, 30, 400, 410, 410]
            .iter()
            .enumerate()
            .map(|(i, &ms)| Reply {
                seq: if i == 5 { 4 } else { i as u64 },
                sent: at(b, ms),
                received: at(b, ms),
            })
            .collect();
        let r = report(b, at(b, 500), Duration::from_millis(10), 6, &replies);
        assert_eq!(r.received, 5, "duplicate seq counted once");
        assert_eq!(r.lost, 1);
        assert_eq!(r.max_gap, Duration::from_millis(370));
        assert_eq!(r.gaps, vec![(at(b, 30), Duration::from_millis(370))]);
        assert_eq!(r.tail_gap(), Duration::from_millis(90));
        assert!(r.replied_after(at(b, 405)));
        assert!(!r.replied_after(at(b, 411)));
        assert_eq!(
            r.max_gap_within(at(b, 100), at(b, 200)),
            Duration::from_millis(370)
        );
        assert_eq!(
            r.max_gap_within(at(b, 0), at(b, 25)),
            Duration::from_millis(10)
        );
        assert_eq!(
            r.max_gap_within(at(b, 450), at(b, 500)),
            Duration::from_millis(90)
        );
    }

    #[test]
    fn echo_and_probe_over_loopback() {
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("SKIPPED: not root");
            return;
        }
        let ns = Netns::new(&format!("{}-p", crate::netns::unique_prefix()));
        let target = SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 7007);
        let echo = Echo::start(&ns, target).unwrap();
        let p = Probe::start(&ns, target, Duration::from_millis(5)).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let r = p.stop();
        assert!(r.sent >= 20, "{r:?}");
        assert_eq!(r.lost, 0, "loopback loses nothing");
        assert!(r.max_gap < Duration::from_millis(100), "{:?}", r.max_gap);
        assert!(echo.stop() >= r.received);
        // Bounded by count: stops by itself.
        let echo = Echo::start(&ns, target).unwrap();
        let p = Probe::start_in(
            &ns.name,
            target,
            ProbeLimits {
                interval: Duration::from_millis(1),
                max_duration: Duration::from_secs(5),
                max_count: 10,
            },
        )
        .unwrap();
        assert!(
            crate::wait::until(Duration::from_secs(2), || (!p.running()).then_some(())).is_some()
        );
        assert_eq!(p.stop().sent, 10);
        drop(echo);
        // A namespace that does not exist is an error, not a hang.
        assert!(
            Probe::start_in(
                "gw-no-such-ns",
                target,
                ProbeLimits::every(Duration::from_millis(5))
            )
            .is_err()
        );
    }
}
