//! ARP answer cost against client-cache occupancy: one gw router (native
//! XDP) on the benchmark wire, its client cache (GW_CLIENTS, an LRU) filled
//! to 1k and then 100k hosts by running their requests through the live
//! program; at each size, BPF_PROG_TEST_RUN ns of a reply to a known host
//! (entry updated in place) and to a new one (entry inserted), and the ARP
//! round trip a host sees over the veth (request out of an AF_PACKET
//! socket, reply in).

use std::{
    io,
    time::{Duration, Instant},
};

use anyhow::{Context, Result as AnyResult};
use gw_tests::topo::VIP;
use serde_json::{Value, json};

use super::{
    Ctx, bpf, gw,
    packet::{self, PacketSocket},
    report::table,
    wire::{Wire, in_netns},
    xdp_cost::{self, LiveProg, XDP_TX, median},
};

pub struct Row {
    entries: u32,
    reported: u64,
    known_ns: f64,
    new_ns: f64,
    rtt_median_us: f64,
    rtt_p99_us: f64,
    rtt_samples: usize,
}

pub type Result = Vec<Row>;

/// The cache size the agent is given: room for the largest fill plus the
/// new hosts each measurement inserts.
fn capacity(ctx: &Ctx) -> u32 {
    let max = ctx.plan.cache_sizes.iter().copied().max().unwrap_or(1000);
    (max + 8 * ctx.plan.test_run_singles as u32).next_power_of_two()
}

/// ARP round trips from the sender for known hosts `0..hosts`, in µs.
fn rtts(w: &Wire, hosts: u32, samples: usize) -> io::Result<Vec<u64>> {
    in_netns(&w.sender.name, move || {
        let s = PacketSocket::open("tx0", packet::ETH_P_ARP)?;
        s.set_timeout(Duration::from_millis(100))?;
        let mut out = Vec::with_capacity(samples);
        let mut buf = [0u8; 256];
        for i in 0..samples {
            let n = (i as u32 * 7919) % hosts.max(1);
            let mac = packet::client_mac(n);
            let req = packet::arp_request(mac, xdp_cost::client_ip(n), VIP);
            let t0 = Instant::now();
            s.send(&req)?;
            while t0.elapsed() < Duration::from_millis(100) {
                let Some(len) = s.recv(&mut buf)? else { break };
                if packet::arp_reply_sha(&buf[..len]).is_some() && buf[32..38] == mac {
                    out.push(t0.elapsed().as_nanos() as u64 / 1000);
                    break;
                }
            }
        }
        Ok(out)
    })
}

pub fn run(ctx: &Ctx) -> AnyResult<Result> {
    let mut w = Wire::new()?;
    let (hello, hold) = ctx.plan.timers;
    let cap = capacity(ctx);
    let cfg = gw::config(
        vec![gw::group(1, VIP, 0, 110, hello, hold)],
        "native",
        cap,
        false,
    );
    let mut agent = gw::start(&w.responder, &cfg)?;
    gw::wait_avg(&mut agent, &w.responder, 1, Duration::from_secs(20))?;
    let prog = LiveProg::open(&w.responder.name, "lan0")?;
    let singles = ctx.plan.test_run_singles;
    let mut rows = Vec::new();
    let mut filled = 0u32;
    for &size in &ctx.plan.cache_sizes {
        prog.feed(xdp_cost::requests(VIP, filled..size).into_iter())?;
        filled = filled.max(size);
        let reported = gw_tests::agent::try_status(&w.responder)
            .ok()
            .and_then(|v| v[0]["groups"][0]["clients"].as_u64())
            .unwrap_or(0);
        let known_from = size.saturating_sub(singles as u32);
        let known = prog.single(&xdp_cost::requests(VIP, known_from..size), singles, XDP_TX)?;
        let base = 100_000_000 + size * 16;
        let new = prog.single(
            &xdp_cost::requests(VIP, base..base + singles as u32),
            singles,
            XDP_TX,
        )?;
        w.set_sink(bpf::XDP_PASS)?;
        let mut r = rtts(&w, size, ctx.plan.rtt_samples).context("ARP round trips")?;
        w.set_sink(bpf::XDP_DROP)?;
        if r.is_empty() {
            anyhow::bail!("no ARP reply reached the sender's socket");
        }
        let p99 = {
            r.sort_unstable();
            r.get(r.len() * 99 / 100).copied().unwrap_or(0)
        };
        let row = Row {
            entries: size,
            reported,
            known_ns: known,
            new_ns: new,
            rtt_median_us: median(&mut r) as f64,
            rtt_p99_us: p99 as f64,
            rtt_samples: r.len(),
        };
        ctx.log(&format!(
            "  cache {size}: reply {known:.0} ns known / {new:.0} ns new, RTT {} µs ({} entries reported)",
            row.rtt_median_us, row.reported
        ));
        rows.push(row);
    }
    agent.stop(libc::SIGTERM);
    Ok(rows)
}

pub fn render(rows: &Result) -> String {
    let mut md = String::from(
        "### ARP answer cost by client-cache size\n\nOne router (native XDP, AVG); its client cache filled \
         by running each host's request through the live program. XDP: BPF_PROG_TEST_RUN median ns of \
         one reply (known host: entry updated in place; new host: entry inserted). Round trip: an ARP \
         request from an AF_PACKET socket in the sender namespace to its reply, over the veth pair. \
         Entries as the agent reports them before the new-host runs, which add their hosts to the \
         next size's count.\n\n",
    );
    let t: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.entries.to_string(),
                r.reported.to_string(),
                format!("{:.0}", r.known_ns),
                format!("{:.0}", r.new_ns),
                format!("{:.0} µs", r.rtt_median_us),
                format!("{:.0} µs", r.rtt_p99_us),
            ]
        })
        .collect();
    md += &table(
        &[
            "hosts in cache",
            "entries (agent status)",
            "XDP ns, known host",
            "XDP ns, new host",
            "round trip, median",
            "round trip, p99",
        ],
        &t,
    );
    if let Some(r) = rows.first() {
        md += &format!("\n({} round trips per size.)\n", r.rtt_samples);
    }
    md
}

pub fn json(rows: &Result) -> Value {
    json!(rows.iter().map(|r| json!({
        "entries": r.entries, "reported_entries": r.reported,
        "reply_known_ns": r.known_ns, "reply_new_ns": r.new_ns,
        "rtt_median_us": r.rtt_median_us, "rtt_p99_us": r.rtt_p99_us, "rtt_samples": r.rtt_samples,
    })).collect::<Vec<_>>())
}
