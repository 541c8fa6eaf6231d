//! ns per packet through the XDP program, as BPF_PROG_TEST_RUN measures it.
//!
//! Run: `cargo test --release -p gw-agent --test xdp -- --ignored
//! --nocapture bench_ns_per_packet` (the program is always built optimised;
//! the timing is the kernel's, so a debug test binary measures the same).
//!
//! How the kernel measures (net/bpf/test_run.c, `bpf_test_run` and
//! `bpf_test_timer_*`): it reads the clock around the whole repeat loop and
//! reports `time_spent / repeat` as a u32 of ns; aya passes that through
//! unchanged (`TestRunResult::duration = Duration::from_nanos(duration)`),
//! so `duration` is already the per-run average.
//!
//! What repeats can measure: all repeats run on one buffer, and nothing
//! restores it between them (`repeat_reuses_the_rewritten_frame` below), so
//! a rewrite is seen by the next repeat. For PASS untouched that is moot;
//! the vMAC path is kept on its path by making the interface MAC equal to
//! the vMAC (the rewrite then writes the same bytes). The reply path cannot
//! be repeated (after one repeat the frame is a reply), so it is timed as
//! single runs: one syscall per frame, the kernel's duration of each, with
//! its clock reads and loop entry included; the same single-run timing of
//! the pass path shows that fixed overhead, and the table compares like
//! with like. Each measurement checks that every run took the intended path
//! (the verdict counter moved once per run).

use gw_common::{ClientValue, Counter};

use crate::{
    fixture::{GroupSetup, standard},
    frames::*,
    harness::{Verdict, Xdp},
};

const REPEAT: u32 = 1_000_000;
const SINGLE_RUNS: usize = 100_000;
/// GW_CLIENTS size for the benchmark: room for 100k clients plus new ones.
const CLIENT_CACHE: u32 = 131_072;

/// ns per run over `REPEAT` repeats of one frame in one syscall.
fn repeated(x: &mut Xdp, frame: &[u8], path: Counter) -> u64 {
    let before = x.maps().counter(path);
    let r = x.try_run_repeat(frame, REPEAT).expect("test_run");
    assert_eq!(x.maps().counter(path) - before, REPEAT as u64, "{path:?}");
    r.duration.as_nanos() as u64
}

/// Median kernel-measured ns of single runs, cycling through `frames`.
fn single(x: &mut Xdp, frames: &[Vec<u8>], path: Counter) -> u64 {
    let before = x.maps().counter(path);
    let mut ns: Vec<u64> = (0..SINGLE_RUNS)
        .map(|i| x.run(&frames[i % frames.len()]).duration.as_nanos() as u64)
        .collect();
    assert_eq!(
        x.maps().counter(path) - before,
        SINGLE_RUNS as u64,
        "{path:?}"
    );
    ns.sort_unstable();
    ns[ns.len() / 2]
}

fn broadcast_requests(clients: impl Iterator<Item = u32>) -> Vec<Vec<u8>> {
    clients
        .map(|n| ArpFrame::request(client_mac(n), CLIENT_IP, VIP).bytes())
        .collect()
}

#[test]
#[ignore = "benchmark: prints ns per packet"]
fn bench_ns_per_packet() {
    let Some(mut x) = Xdp::load_production(CLIENT_CACHE) else {
        return;
    };
    x.set_if_mac(IF_MAC);
    x.add_group(&GroupSetup::standard());
    x.own_vmac(fwd_mac(1), 0, 1);

    let pass = ipv4_udp(IF_MAC, &[]);
    let routed = ipv4_udp(fwd_mac(1), &[]);
    let one_client = broadcast_requests(0..1);

    // Warm up caches and the JIT image before timing anything.
    x.try_run_repeat(&pass, 10_000).expect("warm-up");

    let pass_rep = repeated(&mut x, &pass, Counter::Pass);
    let pass_one = single(&mut x, std::slice::from_ref(&pass), Counter::Pass);
    let reply_one = single(&mut x, &one_client, Counter::ArpReplyAvg);
    let vmac_one = single(&mut x, std::slice::from_ref(&routed), Counter::VmacRewrite);
    x.set_if_mac(fwd_mac(1)); // keeps repeats on the vMAC path, see above
    let vmac_rep = repeated(&mut x, &routed, Counter::VmacRewrite);
    x.set_if_mac(IF_MAC);

    // Client cache: known clients update their entry in place, new ones
    // insert (and, once the LRU is full, evict).
    let mut cache = Vec::new();
    let mut in_cache = 0u32;
    for target in [0u32, 1_000, 100_000] {
        let v = ClientValue {
            ip: CLIENT_IP,
            fwd: 1,
            _pad: [0; 3],
            last_seen_ns: 1,
        };
        for n in in_cache..target {
            x.insert_client(client_mac(n), 0, v);
        }
        in_cache = target;
        let known = broadcast_requests((0..target.max(1)).take(SINGLE_RUNS));
        let hit = single(&mut x, &known, Counter::ArpReplyAvg);
        let base = 10_000_000 + target * 10;
        let fresh = broadcast_requests(base..base + SINGLE_RUNS as u32);
        let miss = single(&mut x, &fresh, Counter::ArpReplyAvg);
        // Undo the inserts so the next size starts from `target` + known.
        for n in base..base + SINGLE_RUNS as u32 {
            x.remove_client(client_mac(n), 0);
        }
        cache.push((target, hit, miss));
    }

    let jit = std::fs::read_to_string("/proc/sys/net/core/bpf_jit_enable").unwrap_or_default();
    let cpus = aya::util::nr_cpus().unwrap_or(0);
    println!();
    println!(
        "gw XDP, BPF_PROG_TEST_RUN, kernel-measured ns/packet (bpf_jit_enable={}, {cpus} CPUs)",
        jit.trim()
    );
    println!("{:<34} {:>14} {:>14}", "path", "repeat=1M", "single runs*");
    println!(
        "{:<34} {:>14} {:>14}",
        "pass, IPv4 UDP (baseline)", pass_rep, pass_one
    );
    println!(
        "{:<34} {:>14} {:>14}",
        "vMAC rewrite, IPv4 UDP", vmac_rep, vmac_one
    );
    println!(
        "{:<34} {:>14} {:>14}",
        "ARP reply as AVG (1 client)", "n/a**", reply_one
    );
    println!(
        "reply / pass (single runs): {:.2}; reply est. without single-run overhead: ~{} ns",
        reply_one as f64 / pass_one as f64,
        (reply_one + pass_rep).saturating_sub(pass_one)
    );
    println!(
        "vMAC / pass (repeat=1M): {:.2}",
        vmac_rep as f64 / pass_rep as f64
    );
    println!();
    println!("ARP reply path vs GW_CLIENTS occupancy (single runs*, LRU of {CLIENT_CACHE})");
    println!(
        "{:<18} {:>22} {:>22}",
        "clients in cache", "known client (update)", "new client (insert)"
    );
    for (n, hit, miss) in cache {
        println!("{n:<18} {hit:>22} {miss:>22}");
    }
    println!();
    println!("*  median of {SINGLE_RUNS} one-frame syscalls; includes the kernel's per-call");
    println!("   clock reads, which repeat=1M spreads over a million runs");
    println!("** a reply cannot be repeated: the kernel reruns the rewritten buffer");
}

#[test]
fn repeat_reuses_the_rewritten_frame() {
    // Input: a broadcast request run with repeat = 3 in one syscall.
    // Output: one answer and two passes: repeats 2 and 3 saw the reply
    // (target = the client's IP, no VIP), not the request. The benchmark
    // relies on this (see the module doc).
    let Some(mut x) = standard() else { return };
    let before = x.counters();
    let r = x
        .try_run_repeat(&ArpFrame::for_vip().bytes(), 3)
        .expect("test_run");
    assert_eq!(r.verdict, Verdict::Pass, "the last repeat's verdict");
    assert_eq!(
        crate::harness::delta(&before, &x.counters()),
        [(Counter::Pass, 2), (Counter::ArpReplyAvg, 1)]
    );
    assert_eq!(crate::arp_oracle::parse(&r.out).unwrap().1.op, 2);
}
