//! Convergence of a group of 8 routers: in virtual time through the
//! simulator (the sim_convergence example, run as a subprocess: see its
//! doc for why it is not linked into xtask), and with real agents
//! starting together in namespaces, polled through `gw-agent status`.

use std::{
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context, Result as AnyResult, bail};
use gw_tests::{
    Topology, TopologySpec,
    group::{GroupConfig, Sample},
};
use serde_json::{Value, json};

use super::{
    Ctx,
    report::{fmt_ms, table},
    wire::guarded,
};

const MAX_FORWARDERS: usize = 4;

pub struct Real {
    routers: usize,
    hello: u32,
    hold: u32,
    converged: Option<Duration>,
    poll: Duration,
}

pub struct Result {
    sim: Value,
    real: Real,
}

/// The example binary, built by cargo (debug: it runs in virtual time).
fn sim_bin(build: bool) -> AnyResult<PathBuf> {
    if build {
        crate::status(crate::cargo().args([
            "build",
            "--quiet",
            "--package",
            "xtask",
            "--example",
            "sim_convergence",
        ]))?;
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("target"));
    let p = target.join("debug/examples/sim_convergence");
    if !p.exists() {
        bail!(
            "{} missing: cargo build -p xtask --example sim_convergence",
            p.display()
        );
    }
    Ok(p)
}

fn sim(ctx: &Ctx) -> AnyResult<Value> {
    let bin = sim_bin(ctx.build)?;
    let o = Command::new(&bin)
        .args(["--routers", "8", "--seeds", &ctx.plan.sim_seeds.to_string()])
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    if !o.status.success() {
        bail!("{}: {}", bin.display(), String::from_utf8_lossy(&o.stderr));
    }
    Ok(serde_json::from_slice(&o.stdout)?)
}

/// One AVG handing out min(n, 4) vMACs, each forwarded by exactly one
/// router, and no other router forwarding.
fn converged(s: &Sample, n: usize) -> bool {
    let Some(_) = s.avg() else { return false };
    let out = s.handed_out();
    let forwarding: usize = (1..=n)
        .map(|i| s.get(i).map_or(0, |g| g.forwarding.len()))
        .sum();
    out.len() == n.min(MAX_FORWARDERS)
        && forwarding == out.len()
        && out.iter().all(|v| s.owners(v).len() == 1)
}

fn real(ctx: &Ctx) -> AnyResult<Real> {
    let n = ctx.plan.real_routers;
    let (hello, hold) = ctx.plan.timers;
    let t = guarded(|| {
        Topology::new(TopologySpec {
            gateways: n,
            hosts: 0,
        })
    })?;
    let t0 = Instant::now();
    let _agents = guarded(|| {
        t.gateways
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let mut c = GroupConfig::fast(200 - 10 * i as u8);
                (c.hello_ms, c.hold_ms, c.max_forwarders) = (hello, hold, MAX_FORWARDERS);
                c.start(g)
            })
            .collect::<Vec<_>>()
    })?;
    let limit = Duration::from_millis(u64::from(hold) * 10) + Duration::from_secs(20);
    let (mut first, mut streak, mut polls) = (None, 0, 0u32);
    while t0.elapsed() < limit && streak < 3 {
        let s = Sample::take(&t);
        polls += 1;
        if converged(&s, n) {
            first = first.or(Some(s.at.duration_since(t0)));
            streak += 1;
        } else {
            (first, streak) = (None, 0);
        }
    }
    let poll = t0.elapsed() / polls.max(1);
    ctx.log(&format!(
        "  {n} real agents: converged after {}",
        first.map_or("never".into(), fmt_ms)
    ));
    Ok(Real {
        routers: n,
        hello,
        hold,
        converged: first.filter(|_| streak >= 3),
        poll,
    })
}

pub fn run(ctx: &Ctx) -> AnyResult<Result> {
    Ok(Result {
        sim: sim(ctx)?,
        real: real(ctx)?,
    })
}

pub fn render(r: &Result) -> String {
    let mut md = String::from(
        "### Convergence of a group of 8 routers\n\nSimulated (gw_agent::sim: the production engine on a \
         simulated LAN with 1–10 ms delivery delay, virtual time), 8 routers with distinct priorities, \
         Cisco's default of 4 forwarders: all boot at once (cold start), and later the AVG crashes. \
         Serving: one AVG handing out 4 vMACs, each forwarded by exactly one router; settled: also one \
         standby. Times after the event, median (max) over the seeds, counted from when the condition \
         last became true before holding for a hold time.\n\n",
    );
    let ms = |v: &Value, k: &str| {
        let f = |x: &Value| {
            x.as_u64()
                .map_or("–".into(), |x| fmt_ms(Duration::from_millis(x)))
        };
        format!("{} ({})", f(&v[k]["median_ms"]), f(&v[k]["max_ms"]))
    };
    let rows: Vec<Vec<String>> = r
        .sim
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            vec![
                format!("{} / {} ms", s["hello_ms"], s["hold_ms"]),
                ms(s, "cold_serving"),
                ms(s, "cold_settled"),
                ms(s, "crash_serving"),
                ms(s, "crash_settled"),
                format!("{} ({} not converged)", s["seeds"], s["not_converged"]),
            ]
        })
        .collect();
    md += &table(
        &[
            "hello / hold",
            "cold start: serving",
            "cold start: settled",
            "AVG crash: serving",
            "AVG crash: settled",
            "seeds",
        ],
        &rows,
    );
    let x = &r.real;
    md += &format!(
        "\nReal agents: {} routers in namespaces on one bridge, started together, hello {} ms / hold {} ms: \
         converged (one AVG, {} vMACs with one forwarder each, 3 polls in a row) after **{}**, from the \
         first agent's start (agents poll-sampled every {} on average).\n",
        x.routers,
        x.hello,
        x.hold,
        x.routers.min(MAX_FORWARDERS),
        x.converged.map_or("never".into(), fmt_ms),
        fmt_ms(x.poll),
    );
    md
}

pub fn json(r: &Result) -> Value {
    json!({
        "simulated": r.sim,
        "real": {
            "routers": r.real.routers, "hello_ms": r.real.hello, "hold_ms": r.real.hold,
            "converged_ms": r.real.converged.map(|d| d.as_secs_f64() * 1e3),
            "poll_ms": r.real.poll.as_secs_f64() * 1e3,
        },
    })
}
