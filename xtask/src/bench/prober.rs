//! A UDP echo prober for 1 ms intervals. gw_tests::probe::Probe waits
//! with SO_RCVTIMEO, which the kernel rounds up to whole jiffies (4 ms or
//! more here), so it cannot send 1000 probes a second; this one waits with
//! ppoll(2), which uses high-resolution timers. Same wire format idea
//! (a sequence number in each datagram), answered by gw_tests' Echo.

use std::{
    io,
    net::{SocketAddrV4, UdpSocket},
    os::fd::AsRawFd,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

const MAGIC: u32 = 0x6777_6270; // "gwbp"

#[derive(Default)]
struct State {
    sent: u64,
    /// (sequence, when the reply arrived), in arrival order.
    replies: Vec<(u64, Instant)>,
}

pub struct FastProbe {
    started: Instant,
    stop: Arc<AtomicBool>,
    state: Arc<Mutex<State>>,
    thread: Option<JoinHandle<()>>,
}

/// What a probe saw.
pub struct Seen {
    pub started: Instant,
    pub stopped: Instant,
    pub sent: u64,
    pub received: u64,
    /// Reply arrival times, in order, one per sequence number.
    pub arrivals: Vec<Instant>,
}

impl Seen {
    pub fn lost(&self) -> u64 {
        self.sent.saturating_sub(self.received)
    }

    /// The longest time without a reply that overlaps `[from, stopped]`,
    /// counting a stretch still open at the stop.
    pub fn max_gap_since(&self, from: Instant) -> Duration {
        let mut prev = self.started;
        let mut best = Duration::ZERO;
        for &t in self.arrivals.iter().chain(std::iter::once(&self.stopped)) {
            if t >= from {
                best = best.max(t.saturating_duration_since(prev));
            }
            prev = t;
        }
        best
    }
}

impl FastProbe {
    /// Probes `target` from namespace `ns` every `interval` until stopped
    /// or `max` passed (whichever first).
    pub fn start(
        ns: &str,
        target: SocketAddrV4,
        interval: Duration,
        max: Duration,
    ) -> io::Result<FastProbe> {
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(Mutex::new(State::default()));
        let (s, st) = (stop.clone(), state.clone());
        let ns = ns.to_string();
        let (tx, rx) = std::sync::mpsc::channel();
        let started = Instant::now();
        let thread = std::thread::spawn(move || {
            let setup = (|| {
                gw_tests::probe::enter_netns(&ns)?;
                let sock = UdpSocket::bind("0.0.0.0:0")?;
                sock.connect(target)?;
                sock.set_nonblocking(true)?;
                Ok::<_, io::Error>(sock)
            })();
            match setup {
                Ok(sock) => {
                    let _ = tx.send(Ok(()));
                    run(&sock, interval, started + max, &s, &st);
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        });
        rx.recv()
            .map_err(|_| io::Error::other("probe thread died"))??;
        Ok(FastProbe {
            started,
            stop,
            state,
            thread: Some(thread),
        })
    }

    /// When the last reply arrived.
    pub fn last_reply(&self) -> Option<Instant> {
        self.state.lock().unwrap().replies.last().map(|r| r.1)
    }

    pub fn received(&self) -> usize {
        self.state.lock().unwrap().replies.len()
    }

    /// Stops (after 20 ms for replies in flight) and reports; the probe
    /// counts as stopped when asked to (the drain is no gap).
    pub fn stop(mut self) -> Seen {
        let stopped = Instant::now();
        self.halt();
        let st = self.state.lock().unwrap();
        let mut seen = std::collections::HashSet::new();
        let arrivals: Vec<Instant> = st
            .replies
            .iter()
            .filter(|r| seen.insert(r.0))
            .map(|r| r.1)
            .collect();
        Seen {
            started: self.started,
            stopped,
            sent: st.sent,
            received: arrivals.len() as u64,
            arrivals,
        }
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for FastProbe {
    fn drop(&mut self) {
        self.halt();
    }
}

fn run(
    sock: &UdpSocket,
    interval: Duration,
    end: Instant,
    stop: &AtomicBool,
    state: &Mutex<State>,
) {
    let mut next = Instant::now();
    let mut seq = 0u64;
    let mut buf = [0u8; 64];
    let mut drain_until: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if drain_until.is_none() && (stop.load(Ordering::Relaxed) || now >= end) {
            drain_until = Some(now + Duration::from_millis(20));
        }
        match drain_until {
            Some(d) if now >= d => break,
            Some(_) => {}
            None if now >= next => {
                let mut p = [0u8; 12];
                p[0..4].copy_from_slice(&MAGIC.to_be_bytes());
                p[4..12].copy_from_slice(&seq.to_be_bytes());
                // A send error (no route yet) is a lost probe.
                let _ = sock.send(&p);
                seq += 1;
                state.lock().unwrap().sent = seq;
                next += interval;
                if next < now {
                    next = now + interval; // fell behind: no bursts
                }
            }
            None => {}
        }
        while let Ok(n) = sock.recv(&mut buf) {
            if n >= 12 && buf[0..4] == MAGIC.to_be_bytes() {
                let s = u64::from_be_bytes(buf[4..12].try_into().unwrap());
                state.lock().unwrap().replies.push((s, Instant::now()));
            }
        }
        let wake = drain_until.unwrap_or(next);
        let wait = wake.saturating_duration_since(Instant::now());
        let ts = libc::timespec {
            tv_sec: wait.as_secs() as i64,
            tv_nsec: wait.subsec_nanos() as i64,
        };
        let mut pfd = libc::pollfd {
            fd: sock.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: ppoll(2) on one live descriptor with a timespec.
        unsafe { libc::ppoll(&mut pfd, 1, &ts, std::ptr::null()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_count_an_open_stretch_at_the_end() {
        let t = Instant::now();
        let ms = |m| t + Duration::from_millis(m);
        let s = Seen {
            started: t,
            stopped: ms(500),
            sent: 5,
            received: 3,
            arrivals: vec![ms(10), ms(20), ms(300)],
        };
        assert_eq!(s.lost(), 2);
        assert_eq!(s.max_gap_since(ms(0)), Duration::from_millis(280));
        assert_eq!(s.max_gap_since(ms(350)), Duration::from_millis(200));
    }
}
