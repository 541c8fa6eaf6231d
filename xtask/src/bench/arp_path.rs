//! Benchmark 1, the ARP answer path: the same stream of ARP requests for
//! the VIP, from one sender namespace, answered in turn by gw's XDP
//! program (native and generic mode), the Linux kernel (the VIP as a local
//! address) and a userspace AF_PACKET responder; replies per second and
//! each one's ratio to gw. Then BPF_PROG_TEST_RUN ns per packet of the
//! live program for pass-through and reply.

use std::{net::Ipv4Addr, time::Duration};

use anyhow::{Result, bail};
use gw_tests::topo::VIP;
use serde_json::json;

use super::{
    Ctx, gw,
    packet::{self, Sent},
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
}

impl Row {
    fn replies_pps(&self) -> f64 {
        self.replies as f64 / self.sent.elapsed.as_secs_f64().max(1e-9)
    }
    fn offered_pps(&self) -> f64 {
        self.sent.frames as f64 / self.sent.elapsed.as_secs_f64().max(1e-9)
    }
}

fn stream() -> Vec<Vec<u8>> {
    xdp_cost::requests(VIP, 0..CLIENTS)
}

/// Floods for the plan's time after a short unmeasured warm-up; counts the
/// replies the sink saw.
fn measure(ctx: &Ctx, w: &Wire, key: &'static str, name: String) -> Result<Row> {
    let warm = ctx.plan.flood_time / 10;
    packet::flood(&w.sender.name, "tx0", stream(), warm, ctx.plan.flood_max, w.sender_cpu)?;
    std::thread::sleep(Duration::from_millis(30));
    let before = w.replies();
    let sent = packet::flood(
        &w.sender.name,
        "tx0",
        stream(),
        ctx.plan.flood_time,
        ctx.plan.flood_max,
        w.sender_cpu,
    )?;
    std::thread::sleep(Duration::from_millis(50));
    let replies = w.replies() - before;
    ctx.log(&format!(
        "  {name}: {} replies/s ({} offered)",
        fmt_rate(replies as f64 / sent.elapsed.as_secs_f64()),
        fmt_rate(sent.frames as f64 / sent.elapsed.as_secs_f64())
    ));
    if replies == 0 {
        bail!("{name}: no replies at all");
    }
    Ok(Row {
        key,
        name,
        sent,
        replies,
    })
}

fn vmac_of(st: &gw_tests::group::GwStatus) -> [u8; 6] {
    st.slots
        .first()
        .and_then(|s| gw::parse_mac(&s.1))
        .unwrap_or([0, 7, 0xb4, 0, 1, 1])
}

/// gw's agent on lan0 in `mode`, answering while the flood runs.
fn gw_row(ctx: &Ctx, w: &Wire, mode: &str, cost: &mut Option<PathCost>) -> Result<Row> {
    let t = ctx.plan.timers;
    let cfg = gw::config(
        vec![gw::group(1, VIP, 0, 110, t.0, t.1)],
        mode,
        gw_common_default_cache(),
        false,
    );
    let mut agent = gw::start(&w.responder, &cfg)?;
    gw::wait_avg(&mut agent, &w.responder, 1, Duration::from_secs(20))?;
    let st = gw::status(&w.responder, 1).unwrap_or_default();
    if st.xdp_mode != mode {
        bail!("asked for XDP {mode} mode, the agent reports {}", st.xdp_mode);
    }
    let threaded = mode == "native" && w.threaded_napi(true);
    let how = match (mode, threaded, w.responder_cpu) {
        ("native", true, Some(c)) => format!("native, veth NAPI thread on CPU {c}"),
        ("native", _, _) => "native, veth NAPI on the sender's CPU".to_string(),
        (_, _, Some(c)) => format!("generic, RPS to CPU {c}"),
        _ => mode.to_string(),
    };
    let row = measure(ctx, w, if mode == "native" { "gw_native" } else { "gw_generic" }, format!("gw XDP ({how})"));
    if mode == "native" {
        w.threaded_napi(false);
    }
    let row = row?;
    if mode == "native" {
        let prog = LiveProg::open(&w.responder.name, "lan0")?;
        *cost = Some(xdp_cost::path_cost(
            &prog,
            w.responder_mac,
            st.forwarding.first().and_then(|f| gw::parse_mac(&f.1)).unwrap_or(vmac_of(&st)),
            VIP,
            ctx.plan.test_run_repeat,
            ctx.plan.test_run_singles,
        )?);
    }
    eprintln!("agent pid {} my pid {}", agent.child.id(), std::process::id());
    agent.stop(libc::SIGTERM);
    Ok(row)
}

/// The agent's default client cache (README "Config reference").
fn gw_common_default_cache() -> u32 {
    16384
}

pub fn run(ctx: &Ctx) -> Result<Section> {
    let mut w = Wire::new()?;
    let cpu = |c: Option<usize>| c.map_or("any CPU".to_string(), |c| format!("CPU {c}"));
    let mut rows = Vec::new();
    let mut cost = None;
    rows.push(gw_row(ctx, &w, "native", &mut cost)?);
    rows.push(gw_row(ctx, &w, "generic", &mut cost)?);

    w.responder.ok(&format!("ip addr add {VIP}/24 dev lan0"));
    let rps = format!("RPS to {}", cpu(w.responder_cpu));
    rows.push(measure(ctx, &w, "kernel", format!("Linux kernel ARP, VIP as local address ({rps})"))?);
    w.responder.ok(&format!("ip addr del {VIP}/24 dev lan0"));

    let user = Userspace::start(&w.responder.name, "lan0", VIP, [0, 7, 0xb4, 0, 1, 1], w.responder_cpu)?;
    rows.push(measure(
        ctx,
        &w,
        "userspace",
        format!("userspace AF_PACKET responder, 1 thread on {} ({rps})", cpu(w.responder_cpu)),
    )?);
    drop(user);
    w.set_sink(super::bpf::XDP_DROP)?;
    let cost = cost.unwrap_or_default();
    Ok(render(ctx, &w, &rows, &cost))
}

fn render(ctx: &Ctx, w: &Wire, rows: &[Row], cost: &PathCost) -> Section {
    let get = |k: &str| rows.iter().find(|r| r.key == k).map_or(0.0, Row::replies_pps);
    let (native, generic) = (get("gw_native"), get("gw_generic"));
    let mut t = Vec::new();
    for r in rows {
        let pps = r.replies_pps();
        t.push(vec![
            r.name.clone(),
            fmt_rate(pps),
            fmt_rate(r.offered_pps()),
            format!("{:.0} %", 100.0 * r.replies as f64 / r.sent.frames.max(1) as f64),
            fmt_ratio(native / pps),
            fmt_ratio(generic / pps),
        ]);
    }
    let (kernel, user) = (get("kernel"), get("userspace"));
    let best = native.max(generic);
    let goal = |x: f64, want: f64| if x >= want { "met" } else { "not met" };
    let mut md = format!(
        "Sender: AF_PACKET `sendmmsg` with qdisc bypass on {sc}, {CLIENTS} clients (distinct MAC and IP) \
         asking for the VIP in turn, 60-byte frames, {secs:.1} s per responder (at most {max} frames) after a \
         short warm-up. Replies counted by an XDP sink on the sender's veth. gw's per-source-MAC ARP rate \
         limit is **off** (`\"arp_rate_limit\": {{\"per_mac_pps\": 0}}`); with it on, each of the {CLIENTS} \
         clients would get 50 answers/s.\n\n",
        sc = w.sender_cpu.map_or("any CPU".into(), |c| format!("CPU {c}")),
        secs = ctx.plan.flood_time.as_secs_f64(),
        max = ctx.plan.flood_max,
    );
    md += &table(
        &["responder", "replies/s", "offered/s", "answered", "gw native ÷", "gw generic ÷"],
        &t,
    );
    md += &format!(
        "\nGoal: gw ≥ 3× the kernel path: **{}** ({} with gw's best mode); gw ≥ 10× userspace: **{}** ({}). \
         When \"answered\" is near 100 % the sender, not the responder, was the limit, and the ratio is a \
         lower bound.\n\n",
        goal(best / kernel, 3.0),
        fmt_ratio(best / kernel),
        goal(best / user, 10.0),
        fmt_ratio(best / user),
    );
    md += &format!(
        "BPF_PROG_TEST_RUN on the live program (AVG, real lease and slot table), kernel-measured ns per packet \
         (repeat: mean over {} runs in one call; single: median of {} one-frame calls, which include the \
         kernel's per-call clock reads):\n\n",
        cost.repeat, cost.singles
    );
    md += &table(
        &["path", "ns/packet"],
        &[
            vec!["pass-through (IPv4 to the interface MAC), repeat".into(), format!("{:.1}", cost.pass_repeat_ns)],
            vec!["pass-through, single".into(), format!("{:.0}", cost.pass_single_ns)],
            vec!["ARP reply as AVG (known client), single".into(), format!("{:.0}", cost.reply_single_ns)],
            vec!["vMAC rewrite (IPv4 to the owned vMAC), single".into(), format!("{:.0}", cost.vmac_single_ns)],
            vec![
                "reply, estimated without the single-call overhead".into(),
                format!("{:.0}", (cost.reply_single_ns - cost.pass_single_ns + cost.pass_repeat_ns).max(0.0)),
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
        })).collect::<Vec<_>>(),
        "ratios": {
            "gw_native_over_kernel": native / kernel, "gw_native_over_userspace": native / user,
            "gw_generic_over_kernel": generic / kernel, "gw_generic_over_userspace": generic / user,
        },
        "goals": { "kernel_3x": best / kernel >= 3.0, "userspace_10x": best / user >= 10.0 },
        "test_run_ns": {
            "pass_repeat": cost.pass_repeat_ns, "pass_single": cost.pass_single_ns,
            "reply_single": cost.reply_single_ns, "vmac_rewrite_single": cost.vmac_single_ns,
            "repeat": cost.repeat, "singles": cost.singles,
        },
    });
    let _ = Ipv4Addr::UNSPECIFIED;
    Section::new("arp_path", "1. ARP answer path", md, json)
}
