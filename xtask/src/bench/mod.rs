//! `cargo xtask bench`: every benchmark in one go, in network namespaces
//! on this machine, written to target/bench/report.md and report.json.
//! Absolute numbers drift on shared machines, so each benchmark compares
//! against baselines measured in the same run and reports the ratios.
//!
//! 1. arp_path.rs: ARP replies/s and CPU per reply of gw's XDP program vs
//!    the kernel vs a userspace AF_PACKET responder, plus
//!    BPF_PROG_TEST_RUN ns/packet (its report section: arp_report.rs).
//! 2. failover.rs: longest gap and lost probes when the active router
//!    crashes or stops cleanly, gw vs keepalived (keepalived.rs).
//! 3. sharing.rs: the share of traffic each of 3 routers carries, per
//!    load-balancing method, vs keepalived.
//! 4. scale.rs: agent RSS/CPU by group count, ARP answer cost by client
//!    cache size, convergence of 8 routers (simulated: sim_convergence.rs,
//!    an example target, as it links the agent library; and real).
//!
//! Helpers: wire.rs (sender/responder veth pair with an XDP sink), bpf.rs
//! (raw bpf(2): the sink, test runs), packet.rs (AF_PACKET, ARP frames,
//! CPU pinning), responder.rs (the userspace responder), xdp_cost.rs
//! (test runs of the live program), prober.rs (1 ms UDP probes), gw.rs
//! (agent configs), cache.rs and convergence.rs (parts of 4), report.rs,
//! cleanup.rs (Ctrl-C).
//!
//! `--smoke` runs every benchmark with tiny counts and short timers (the
//! test tests/tests/bench_smoke.rs does, so none can silently rot); it
//! checks that every number exists, never how good it is.

mod arp_path;
mod arp_report;
mod bpf;
mod cache;
mod cleanup;
mod convergence;
mod failover;
mod gw;
mod keepalived;
mod packet;
mod prober;
mod report;
mod responder;
mod scale;
mod sharing;
mod wire;
mod xdp_cost;

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::{Result, bail};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Which {
    /// ARP answer path: gw XDP vs kernel vs userspace, test-run ns/packet.
    Arp,
    /// Failover: gw vs keepalived, crash and clean stop.
    Failover,
    /// Load sharing over 3 routers per method, vs keepalived.
    Sharing,
    /// Agent RSS/CPU, client-cache cost, convergence of 8 routers.
    Scale,
}

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Tiny counts and short timers (for the smoke test): checks that
    /// every benchmark runs, measures nothing worth reading.
    #[arg(long)]
    pub smoke: bool,
    /// Where report.md and report.json go (default: target/bench).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run only these benchmarks (repeatable); default all.
    #[arg(long, value_enum)]
    pub only: Vec<Which>,
    /// Skip set-up and build (the smoke test has built everything).
    #[arg(long)]
    pub no_build: bool,
}

/// Counts and durations of one run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// ARP flood per responder (in `flood_reps` parts), and its frame cap.
    pub flood_time: Duration,
    pub flood_reps: u32,
    pub flood_max: u64,
    pub test_run_repeat: u32,
    pub test_run_singles: usize,
    /// gw hello/hold (ms) wherever timers are not what is measured.
    pub timers: (u32, u32),
    /// Failover: probing before the event, and how long to wait after.
    pub failover_sets: Vec<failover::TimerSet>,
    pub failover_before: Duration,
    pub sharing_hosts: usize,
    pub sharing_traffic: Duration,
    pub scale_groups: Vec<usize>,
    pub scale_window: Duration,
    pub cache_sizes: Vec<u32>,
    pub rtt_samples: usize,
    pub sim_seeds: u64,
    pub real_routers: usize,
}

impl Plan {
    fn of(smoke: bool) -> Plan {
        if smoke {
            Plan {
                flood_time: Duration::from_millis(200),
                flood_reps: 1,
                flood_max: 2_000_000,
                test_run_repeat: 10_000,
                test_run_singles: 300,
                timers: (100, 400),
                failover_sets: vec![failover::TimerSet::Smoke],
                failover_before: Duration::from_millis(200),
                sharing_hosts: 6,
                sharing_traffic: Duration::from_millis(300),
                scale_groups: vec![1, 16],
                scale_window: Duration::from_millis(500),
                cache_sizes: vec![100, 1000],
                rtt_samples: 30,
                sim_seeds: 2,
                real_routers: 3,
            }
        } else {
            Plan {
                flood_time: Duration::from_secs(2),
                flood_reps: 4,
                flood_max: 50_000_000,
                test_run_repeat: 1_000_000,
                test_run_singles: 20_000,
                timers: (200, 800),
                failover_sets: vec![failover::TimerSet::Equivalent, failover::TimerSet::Fastest],
                failover_before: Duration::from_secs(1),
                sharing_hosts: 64,
                sharing_traffic: Duration::from_secs(2),
                scale_groups: vec![1, 64, 512, 1024],
                scale_window: Duration::from_secs(20),
                cache_sizes: vec![1_000, 100_000],
                rtt_samples: 1000,
                sim_seeds: 20,
                real_routers: 8,
            }
        }
    }
}

/// What every benchmark gets.
pub struct Ctx {
    pub plan: Plan,
    pub smoke: bool,
    /// Build what is needed (the simulator example); off with --no-build.
    pub build: bool,
    started: Instant,
}

impl Ctx {
    /// A progress line on stderr.
    pub fn log(&self, line: &str) {
        eprintln!("[{:>5.1}s] {line}", self.started.elapsed().as_secs_f64());
    }
}

pub fn main(args: BenchArgs) -> Result<()> {
    if unsafe { libc::geteuid() } != 0 {
        bail!("the benchmarks create network namespaces and attach XDP: run them as root");
    }
    cleanup::install();
    if !args.no_build {
        crate::setup::run()?;
        if std::env::var_os("GW_AGENT_BIN").is_none() {
            crate::build(!args.smoke)?;
        }
    }
    let agent = match std::env::var_os("GW_AGENT_BIN") {
        Some(p) => PathBuf::from(p),
        None => crate::agent_bin(!args.smoke)?,
    };
    if !agent.exists() {
        bail!("{} does not exist", agent.display());
    }
    // gw_tests::Agent starts $GW_AGENT_BIN. SAFETY: no other thread reads
    // the environment yet (the signal thread only waits).
    unsafe { std::env::set_var("GW_AGENT_BIN", &agent) };
    let ctx = Ctx {
        plan: Plan::of(args.smoke),
        smoke: args.smoke,
        build: !args.no_build,
        started: Instant::now(),
    };
    let want = |w: Which| args.only.is_empty() || args.only.contains(&w);
    type Bench = fn(&Ctx) -> Result<report::Section>;
    let all: [(Which, &str, Bench); 4] = [
        (Which::Arp, "ARP answer path", arp_path::run),
        (Which::Failover, "failover", failover::run),
        (Which::Sharing, "load sharing", sharing::run),
        (Which::Scale, "scale and cost", scale::run),
    ];
    let mut sections = Vec::new();
    for (w, name, f) in all.into_iter().filter(|b| want(b.0)) {
        ctx.log(&format!("{name} ..."));
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&ctx)));
        let r = match r {
            Ok(Ok(s)) => Ok(s),
            Ok(Err(e)) => Err(format!("{name}: {e:#}")),
            Err(p) => Err(format!(
                "{name}: panicked: {}",
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            )),
        };
        if let Err(e) = &r {
            ctx.log(&format!("{w:?} FAILED: {e}"));
        }
        sections.push(r);
    }
    cleanup::sweep();
    let dir = args
        .out
        .unwrap_or_else(|| crate::workspace_root().join("target/bench"));
    let meta = report::meta(args.smoke, &agent, ctx.started.elapsed());
    let md = report::write(&dir, meta, &sections)?;
    println!("{md}");
    eprintln!("report: {}", dir.join("report.md").display());
    let failed = sections.iter().filter(|s| s.is_err()).count();
    if failed > 0 {
        bail!("{failed} benchmark(s) failed");
    }
    Ok(())
}
