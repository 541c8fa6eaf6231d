//! Benchmark 1, the ARP answer path: the same stream of ARP requests for
//! the VIP, from one sender namespace, answered in turn by gw's XDP
//! program (native and generic mode), the Linux kernel (the VIP as a local
//! address) and a userspace AF_PACKET responder (bench/responder.rs).
//!
//! All of it with gw's agent attached to lan0: gw answers the VIP; the
//! kernel (a second address, 192.0.2.3, made local) and the userspace
//! responder (answering 192.0.2.3) get the requests gw's program passes,
//! as they would on a router running gw; the floor is requests gw's
//! program drops at once (ARP replies to the VIP: parsed, looked up,
//! dropped). Measured in rounds (floor, gw, kernel, userspace, again and
//! again), so that the machine's other load falls on all alike.
//!
//! Per responder (see wire.rs for where the CPU time goes and how it is
//! charged):
//! - replies per second, and "answered": near 100 % the responder kept up
//!   and the sender was the limit (on two shared cores it often is);
//! - CPU time per reply of the whole path (send, veth, gw's program, the
//!   answer, the reply's delivery), from thread CPU clocks, so it does not
//!   depend on how much CPU the shared machine left us (the lowest of the
//!   rounds); and that less the floor's CPU per request: the CPU the
//!   answer itself takes. The userspace responder is paced at 90 % of what
//!   it sustained unpaced, so that dropped requests do not count against
//!   it. gw's generic mode is measured the same way with its own floor,
//!   by an agent in generic mode afterwards.
//!
//! Then BPF_PROG_TEST_RUN ns per packet of the live program. The report
//! section is written by arp_report.rs.

use std::{net::Ipv4Addr, time::Duration};

use anyhow::{Result, bail};
use gw_tests::topo::VIP;

use super::{
    Ctx,
    bpf::RunTime,
    gw,
    packet::{self, FloodLimits, Sent},
    report::{Section, fmt_rate},
    responder::Userspace,
    wire::Wire,
    xdp_cost::{self, LiveProg},
};

/// Distinct senders in the stream (MAC and IP each).
pub(super) const CLIENTS: u32 = 64;

pub(super) struct Row {
    pub key: &'static str,
    pub name: String,
    pub sent: Sent,
    pub replies: u64,
    /// CPU time of the whole path per reply: the lowest of the rounds
    /// (the one least disturbed by the machine's other load).
    pub ns_per_reply: f64,
    /// Each round's CPU ns per reply.
    pub rounds: Vec<f64>,
    /// gw's native program during this row's floods, from the kernel's
    /// run-time statistics.
    pub prog: RunTime,
    /// The same for the reply-counting sink on the sender's side.
    pub sink: RunTime,
}

impl Row {
    pub(super) fn secs(&self) -> f64 {
        self.sent.elapsed.as_secs_f64().max(1e-9)
    }
    pub(super) fn replies_pps(&self) -> f64 {
        self.replies as f64 / self.secs()
    }
    pub(super) fn offered_pps(&self) -> f64 {
        self.sent.frames as f64 / self.secs()
    }
    pub(super) fn ns_per_reply(&self) -> f64 {
        self.ns_per_reply
    }
}

impl Row {
    fn new(key: &'static str, name: String) -> Row {
        Row {
            key,
            name,
            sent: Sent::default(),
            replies: 0,
            ns_per_reply: f64::INFINITY,
            rounds: Vec::new(),
            prog: RunTime::default(),
            sink: RunTime::default(),
        }
    }
}

/// The second address: the kernel's and the userspace responder's VIP,
/// which gw's program passes.
pub(super) const OTHER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 3);

fn stream(target: Ipv4Addr, op: u16) -> Vec<Vec<u8>> {
    (0..CLIENTS)
        .map(|n| {
            let mut f = packet::arp_request(packet::client_mac(n), xdp_cost::client_ip(n), target);
            f[20..22].copy_from_slice(&op.to_be_bytes());
            f
        })
        .collect()
}

/// One part of a flood into `row`: `frames` sent for `time` at `pace`
/// frames/s at most; `count` reads the replies (or drops) so far, `extra`
/// the CPU ns of responder threads so far.
fn part(
    ctx: &Ctx,
    w: &Wire,
    row: &mut Row,
    frames: Vec<Vec<u8>>,
    pace: Option<f64>,
    count: &dyn Fn() -> u64,
    extra: &dyn Fn() -> u64,
) -> Result<()> {
    let lim = |max_time| FloodLimits {
        max_time,
        max_count: ctx.plan.flood_max,
        pace,
        cpu: w.sender_cpu,
    };
    // A short warm-up (caches, neighbour entries), not measured.
    packet::flood(
        &w.sender.name,
        "tx0",
        frames.clone(),
        lim(ctx.plan.flood_time / 20),
    )?;
    std::thread::sleep(Duration::from_millis(20));
    let (before, soft0, extra0) = (count(), w.ksoftirqd_ns(), extra());
    let sent = packet::flood(
        &w.sender.name,
        "tx0",
        frames,
        lim(ctx.plan.flood_time / ctx.plan.flood_reps.max(1)),
    )?;
    std::thread::sleep(Duration::from_millis(30));
    let replies = count() - before;
    let cpu = sent.cpu.as_nanos() as u64 + (w.ksoftirqd_ns() - soft0) + (extra() - extra0);
    if replies == 0 {
        bail!("{}: no replies at all", row.name);
    }
    row.ns_per_reply = row.ns_per_reply.min(cpu as f64 / replies as f64);
    row.rounds.push(cpu as f64 / replies as f64);
    row.replies += replies;
    row.sent.frames += sent.frames;
    row.sent.elapsed += sent.elapsed;
    row.sent.cpu += sent.cpu;
    Ok(())
}

/// Runs `go` (one or more floods into `row`) and adds what gw's program
/// and the sink spent meanwhile to `row.prog` and `row.sink`.
fn timed(
    prog: &LiveProg,
    w: &Wire,
    row: &mut Row,
    go: impl FnOnce(&mut Row) -> Result<()>,
) -> Result<()> {
    let (p0, s0) = (prog.run_time()?, w.sink_run_time());
    go(row)?;
    row.prog.add(prog.run_time()?.since(p0));
    row.sink.add(w.sink_run_time().since(s0));
    Ok(())
}

/// ARP requests for the VIP gw's program dropped so far (group 1).
fn gw_drops(w: &Wire) -> u64 {
    gw_tests::agent::try_status(&w.responder)
        .ok()
        .and_then(|v| v[0]["groups"][0]["arp_drops"].as_u64())
        .unwrap_or(0)
}

fn start_gw(
    ctx: &Ctx,
    w: &Wire,
    mode: &str,
) -> Result<(gw_tests::Agent, gw_tests::group::GwStatus)> {
    let (hello, hold) = ctx.plan.timers;
    let cfg = gw::config(
        vec![gw::group(1, VIP, 0, 110, hello, hold)],
        mode,
        16384,
        false,
    );
    let mut agent = gw::start(&w.responder, &cfg)?;
    gw::wait_avg(&mut agent, &w.responder, 1, Duration::from_secs(20))?;
    let st = gw::status(&w.responder, 1).unwrap_or_default();
    if st.xdp_mode != mode {
        bail!(
            "asked for XDP {mode} mode, the agent reports {}",
            st.xdp_mode
        );
    }
    Ok((agent, st))
}

fn log(ctx: &Ctx, r: &Row) {
    ctx.log(&format!(
        "  {}: {} replies/s ({} offered, sender thread {:.0} % of a CPU), {:.0} CPU ns/reply",
        r.name,
        fmt_rate(r.replies_pps()),
        fmt_rate(r.offered_pps()),
        100.0 * r.sent.cpu.as_secs_f64() / r.secs(),
        r.ns_per_reply(),
    ));
}

pub fn run(ctx: &Ctx) -> Result<Section> {
    let w = Wire::new()?;
    let cpu = w
        .responder_cpu
        .map_or("any CPU".into(), |c| format!("CPU {c}"));
    let (mut agent, st) = start_gw(ctx, &w, "native")?;
    let prog = LiveProg::open(&w.responder.name, "lan0")?;
    // Only during the floods: timing every run costs each run two clock
    // reads, which the test runs below must not pay.
    let stats = super::bpf::RunTimeStats::enable()?;
    let mut floor = Row::new(
        "floor",
        "no answer: ARP replies to the VIP, dropped by gw's program".into(),
    );
    let mut native = Row::new("gw_native", "gw XDP, native mode".into());
    let mut kernel = Row::new(
        "kernel",
        format!("Linux kernel ARP for {OTHER}, a local address (passed by gw's program)"),
    );
    let mut user = Row::new(
        "userspace",
        format!(
            "userspace AF_PACKET responder for {OTHER}, 1 thread on {cpu} (passed by gw's program)"
        ),
    );
    let replies = || w.replies();
    let none = || 0;
    let mut pace = None;
    for round in 0..ctx.plan.flood_reps.max(1) {
        timed(&prog, &w, &mut floor, |r| {
            part(ctx, &w, r, stream(VIP, 2), None, &|| gw_drops(&w), &none)
        })?;
        timed(&prog, &w, &mut native, |r| {
            part(ctx, &w, r, stream(VIP, 1), None, &replies, &none)
        })?;
        w.responder.ok(&format!("ip addr add {OTHER}/24 dev lan0"));
        let k = timed(&prog, &w, &mut kernel, |r| {
            part(ctx, &w, r, stream(OTHER, 1), None, &replies, &none)
        });
        w.responder.ok(&format!("ip addr del {OTHER}/24 dev lan0"));
        k?;
        let u = Userspace::start(
            &w.responder.name,
            "lan0",
            OTHER,
            [2, 0, 0, 0, 0, 3],
            w.responder_cpu,
        )?;
        if round == 0 {
            // Unpaced once: what it sustains; then always paced below that.
            let mut probe = Row::new("userspace", user.name.clone());
            part(
                ctx,
                &w,
                &mut probe,
                stream(OTHER, 1),
                None,
                &replies,
                &|| u.cpu_ns(),
            )?;
            pace = Some(probe.replies_pps() * 0.9);
        }
        part(
            ctx,
            &w,
            &mut user,
            stream(OTHER, 1),
            pace,
            &replies,
            &|| u.cpu_ns(),
        )?;
    }
    let vmac = st.forwarding.first().and_then(|f| gw::parse_mac(&f.1));
    drop(stats);
    let cost = xdp_cost::path_cost(
        &prog,
        w.responder_mac,
        vmac.unwrap_or([0, 7, 0xb4, 0, 1, 1]),
        VIP,
        ctx.plan.test_run_repeat,
        ctx.plan.test_run_singles,
    )?;
    agent.stop(libc::SIGTERM);

    let (mut agent, _) = start_gw(ctx, &w, "generic")?;
    let mut gfloor = Row::new(
        "floor_generic",
        "no answer, generic mode (as the floor)".into(),
    );
    let mut generic = Row::new("gw_generic", "gw XDP, generic mode".into());
    for _ in 0..ctx.plan.flood_reps.max(1) {
        part(
            ctx,
            &w,
            &mut gfloor,
            stream(VIP, 2),
            None,
            &|| gw_drops(&w),
            &none,
        )?;
        part(ctx, &w, &mut generic, stream(VIP, 1), None, &replies, &none)?;
    }
    agent.stop(libc::SIGTERM);
    let rows = [floor, native, kernel, user, gfloor, generic];
    for r in &rows {
        log(ctx, r);
    }
    Ok(super::arp_report::render(ctx, &w, &rows, &cost))
}
