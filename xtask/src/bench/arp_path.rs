//! Benchmark 1, the ARP answer path: the same stream of ARP requests for
//! the VIP, from one sender namespace, answered in turn by gw's XDP
//! program (native and generic mode), the Linux kernel (the VIP as a local
//! address) and a userspace AF_PACKET responder (bench/responder.rs).
//!
//! Per responder (see wire.rs for where the CPU time goes and how it is
//! charged):
//! - replies per second over the flood, and "answered": near 100 % the
//!   responder kept up and the sender was the limit (on two shared cores
//!   it often is: the sender's CPU share is logged);
//! - CPU time per reply of the whole path (send, veth, answer, reply
//!   delivery), from thread CPU clocks, so it does not depend on how much
//!   CPU the shared machine left us; and that less the "no responder"
//!   row (the same sends and receive path, the request dropped by XDP):
//!   the CPU the answer itself takes. The kernel and the userspace
//!   responder sit behind a counting XDP_PASS program so that they
//!   receive through the same veth NAPI path as gw's native program.
//!   The userspace responder is paced at 90 % of what it sustained
//!   unpaced, so that dropped requests do not count against it.
//!
//! Then BPF_PROG_TEST_RUN ns per packet of the live program.

use std::time::Duration;

use anyhow::{Result, bail};
use gw_tests::topo::VIP;
use serde_json::json;

use super::{
    Ctx, bpf, gw,
    packet::{self, FloodLimits, Sent},
    report::{Section, fmt_rate, fmt_ratio, table},
    responder::Userspace,
    wire::Wire,
    xdp_cost::{self, LiveProg, PathCost},
};

/// Distinct senders in the stream (MAC and IP each).
const CLIENTS: u32 = 64;

struct Row {
    key: &'static str,
    name: String,
    sent: Sent,
    replies: u64,
    /// CPU time of the whole path over the flood.
    cpu_ns: u64,
}

impl Row {
    fn secs(&self) -> f64 {
        self.sent.elapsed.as_secs_f64().max(1e-9)
    }
    fn replies_pps(&self) -> f64 {
        self.replies as f64 / self.secs()
    }
    fn offered_pps(&self) -> f64 {
        self.sent.frames as f64 / self.secs()
    }
    fn ns_per_reply(&self) -> f64 {
        self.cpu_ns as f64 / self.replies.max(1) as f64
    }
}

/// Floods for the plan's time (after a short unmeasured warm-up) at
/// `pace` frames/s at most; `count` reads the replies so far, `extra` the
/// CPU ns of responder threads so far.
fn measure(
    ctx: &Ctx,
    w: &Wire,
    (key, name): (&'static str, String),
    pace: Option<f64>,
    count: &dyn Fn() -> u64,
    extra: &dyn Fn() -> u64,
) -> Result<Row> {
    let flood = |max_time| {
        let lim = FloodLimits {
            max_time,
            max_count: ctx.plan.flood_max,
            pace,
            cpu: w.sender_cpu,
        };
        packet::flood(
            &w.sender.name,
            "tx0",
            xdp_cost::requests(VIP, 0..CLIENTS),
            lim,
        )
    };
    flood(ctx.plan.flood_time / 10)?;
    std::thread::sleep(Duration::from_millis(30));
    let (before, soft0, extra0) = (count(), w.ksoftirqd_ns(), extra());
    let sent = flood(ctx.plan.flood_time)?;
    std::thread::sleep(Duration::from_millis(50));
    let replies = count() - before;
    let cpu_ns = sent.cpu.as_nanos() as u64 + (w.ksoftirqd_ns() - soft0) + (extra() - extra0);
    let row = Row {
        key,
        name,
        sent,
        replies,
        cpu_ns,
    };
    ctx.log(&format!(
        "  {}: {} replies/s ({} offered, sender thread {:.0} % of a CPU), {:.0} CPU ns/reply",
        row.name,
        fmt_rate(row.replies_pps()),
        fmt_rate(row.offered_pps()),
        100.0 * row.sent.cpu.as_secs_f64() / row.secs(),
        row.ns_per_reply(),
    ));
    if replies == 0 {
        bail!("{}: no replies at all", row.name);
    }
    Ok(row)
}

/// gw's agent on lan0 in `mode`, answering while the flood runs; in
/// native mode also the test-run costs of its program.
fn gw_row(ctx: &Ctx, w: &mut Wire, mode: &str, cost: &mut Option<PathCost>) -> Result<Row> {
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
    let native = mode == "native";
    let key = if native { "gw_native" } else { "gw_generic" };
    let row = measure(
        ctx,
        w,
        (key, format!("gw XDP, {mode} mode")),
        None,
        &|| w.replies(),
        &|| 0,
    );
    if native {
        let vmac = st.forwarding.first().and_then(|f| gw::parse_mac(&f.1));
        let prog = LiveProg::open(&w.responder.name, "lan0")?;
        *cost = Some(xdp_cost::path_cost(
            &prog,
            w.responder_mac,
            vmac.unwrap_or([0, 7, 0xb4, 0, 1, 1]),
            VIP,
            ctx.plan.test_run_repeat,
            ctx.plan.test_run_singles,
        )?);
    }
    agent.stop(libc::SIGTERM);
    row
}

/// No responder: the requests dropped by XDP on lan0, counted there.
fn floor(ctx: &Ctx, w: &Wire) -> Result<Row> {
    let sink = w.lan_sink(bpf::XDP_DROP)?;
    let name = "no responder: requests dropped by XDP on lan0".to_string();
    measure(ctx, w, ("floor", name), None, &|| sink.count(), &|| 0)
}

pub fn run(ctx: &Ctx) -> Result<Section> {
    let mut w = Wire::new()?;
    let mut rows = Vec::new();
    let mut cost = None;
    rows.push(floor(ctx, &w)?);
    rows.push(gw_row(ctx, &mut w, "native", &mut cost)?);
    rows.push(gw_row(ctx, &mut w, "generic", &mut cost)?);
    {
        let _pass = w.lan_sink(bpf::XDP_PASS)?;
        w.responder.ok(&format!("ip addr add {VIP}/24 dev lan0"));
        let name = "Linux kernel ARP, VIP as a local address (behind XDP_PASS)".to_string();
        let r = measure(ctx, &w, ("kernel", name), None, &|| w.replies(), &|| 0);
        w.responder.ok(&format!("ip addr del {VIP}/24 dev lan0"));
        rows.push(r?);
        let user = Userspace::start(
            &w.responder.name,
            "lan0",
            VIP,
            [0, 7, 0xb4, 0, 1, 1],
            w.responder_cpu,
        )?;
        let cpu = w
            .responder_cpu
            .map_or("any CPU".into(), |c| format!("CPU {c}"));
        let name = format!("userspace AF_PACKET responder, 1 thread on {cpu} (behind XDP_PASS)");
        // Unpaced first: what it sustains; then paced just below that.
        let probe = measure(
            ctx,
            &w,
            ("userspace", name.clone()),
            None,
            &|| w.replies(),
            &|| user.cpu_ns(),
        )?;
        let pace = Some(probe.replies_pps() * 0.9);
        rows.push(measure(
            ctx,
            &w,
            ("userspace", name),
            pace,
            &|| w.replies(),
            &|| user.cpu_ns(),
        )?);
    }
    // The floor again: of the two, the one less disturbed by the machine's
    // other load (the lower CPU per request) is the baseline.
    let again = floor(ctx, &w)?;
    if again.ns_per_reply() < rows[0].ns_per_reply() {
        rows[0] = again;
    }
    Ok(render(ctx, &w, &rows, &cost.unwrap_or_default()))
}

fn render(ctx: &Ctx, w: &Wire, rows: &[Row], cost: &PathCost) -> Section {
    let get = |k: &str| rows.iter().find(|r| r.key == k);
    let floor = get("floor").map_or(0.0, Row::ns_per_reply);
    // The answer's own CPU: the whole path less the path without an answer.
    let answer = |r: &Row| (r.ns_per_reply() - floor).max(1.0);
    let gw = get("gw_native").map_or(f64::NAN, answer);
    let gw_pps = get("gw_native").map_or(f64::NAN, Row::replies_pps);
    let t: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let base = r.key == "floor";
            let dash = |s: String| if base { "–".to_string() } else { s };
            vec![
                r.name.clone(),
                fmt_rate(r.replies_pps()),
                fmt_rate(r.offered_pps()),
                format!(
                    "{:.0} %",
                    100.0 * r.replies as f64 / r.sent.frames.max(1) as f64
                ),
                format!("{:.0}", r.ns_per_reply()),
                dash(format!("{:.0}", answer(r))),
                dash(fmt_ratio(answer(r) / gw)),
                dash(fmt_ratio(gw_pps / r.replies_pps())),
            ]
        })
        .collect();
    let ratio = |k: &str| get(k).map_or(f64::NAN, |r| answer(r) / gw);
    let pps_ratio = |k: &str| get(k).map_or(f64::NAN, |r| gw_pps / r.replies_pps());
    let (k, u) = (ratio("kernel"), ratio("userspace"));
    let goal = |x: f64, want: f64| if x >= want { "met" } else { "not met" };
    let mut md = format!(
        "Sender: AF_PACKET `sendmmsg` (qdisc bypass) pinned to {sc}, {CLIENTS} clients (distinct MAC and \
         IP) asking for the VIP in turn, 60-byte frames, {secs:.1} s per responder (at most {max} frames) \
         after a short warm-up; replies counted by an XDP sink on the sender's veth. gw's per-source-MAC \
         ARP rate limit is **off** (`\"arp_rate_limit\": {{\"per_mac_pps\": 0}}`; on, each of the \
         {CLIENTS} clients would get 50 answers/s). All kernel work of the path runs on the sender's CPU \
         and is charged to it (this kernel does not account softirq time separately), so \"CPU ns/reply\" \
         is the CPU the whole loop took per reply, independent of how much CPU the shared machine left \
         us; \"answer CPU\" is that less the no-responder row (same sends and receive path, no answer; \
         measured first and last, the lower kept). \
         The userspace responder's own thread time is included; it was paced at 90 % of what it \
         sustained unpaced. \"answered\" near 100 % means the sender, not the responder, was the limit of \
         replies/s.\n\n",
        sc = w
            .sender_cpu
            .map_or("any CPU".into(), |c| format!("CPU {c}")),
        secs = ctx.plan.flood_time.as_secs_f64(),
        max = ctx.plan.flood_max,
    );
    md += &table(
        &[
            "responder",
            "replies/s",
            "offered/s",
            "answered",
            "CPU ns/reply",
            "answer CPU ns",
            "answer CPU ÷ gw native",
            "gw native replies/s ÷ this",
        ],
        &t,
    );
    md += &format!(
        "\nGoals (answer CPU per reply, gw native against): ≥ 3× the kernel path: **{}** ({}); ≥ 10× \
         userspace: **{}** ({}). In replies/s measured here: {} the kernel, {} userspace. gw's generic mode \
         receives through the kernel's generic path, not the veth NAPI path of the floor, so its answer CPU \
         is approximate.\n\n",
        goal(k, 3.0),
        fmt_ratio(k),
        goal(u, 10.0),
        fmt_ratio(u),
        fmt_ratio(pps_ratio("kernel")),
        fmt_ratio(pps_ratio("userspace")),
    );
    md += &format!(
        "BPF_PROG_TEST_RUN on the live program (AVG, real lease and slot table), kernel-measured ns per \
         packet (repeat: mean over {} runs in one call; single: median of {} one-frame calls, which \
         include the kernel's per-call clock reads):\n\n",
        cost.repeat, cost.singles
    );
    let f1 = |x: f64| format!("{x:.1}");
    md += &table(
        &["path", "ns/packet"],
        &[
            vec![
                "pass-through (IPv4 to the interface MAC), repeat".into(),
                f1(cost.pass_repeat_ns),
            ],
            vec!["pass-through, single".into(), f1(cost.pass_single_ns)],
            vec![
                "ARP reply as AVG (known client), single".into(),
                f1(cost.reply_single_ns),
            ],
            vec![
                "vMAC rewrite (IPv4 to the owned vMAC), single".into(),
                f1(cost.vmac_single_ns),
            ],
            vec![
                "ARP reply, less the single-call overhead (reply − pass single + pass repeat)"
                    .into(),
                f1((cost.reply_single_ns - cost.pass_single_ns + cost.pass_repeat_ns).max(0.0)),
            ],
        ],
    );
    let json = json!({
        "clients": CLIENTS,
        "seconds": ctx.plan.flood_time.as_secs_f64(),
        "rate_limit": "off",
        "responders": rows.iter().map(|r| json!({
            "key": r.key, "name": r.name, "replies_per_s": r.replies_pps(),
            "offered_per_s": r.offered_pps(), "sent": r.sent.frames, "replies": r.replies,
            "cpu_ns_per_reply": r.ns_per_reply(), "answer_cpu_ns": answer(r),
        })).collect::<Vec<_>>(),
        "ratios": {
            "answer_cpu_kernel_over_gw": k, "answer_cpu_userspace_over_gw": u,
            "replies_gw_over_kernel": pps_ratio("kernel"), "replies_gw_over_userspace": pps_ratio("userspace"),
        },
        "goals": { "kernel_3x": k >= 3.0, "userspace_10x": u >= 10.0 },
        "test_run_ns": {
            "pass_repeat": cost.pass_repeat_ns, "pass_single": cost.pass_single_ns,
            "reply_single": cost.reply_single_ns, "vmac_rewrite_single": cost.vmac_single_ns,
            "repeat": cost.repeat, "singles": cost.singles,
        },
    });
    Section::new("arp_path", "1. ARP answer path", md, json)
}
