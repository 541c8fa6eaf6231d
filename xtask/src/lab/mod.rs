//! `cargo xtask lab`: a newcomer's first command. Builds a LAN with three
//! GLBP routers, eight hosts and an upstream server in network namespaces,
//! runs the real agent on every router, and narrates election, load
//! sharing, AVG failure, forwarder failure with redirect, and the
//! forwarder's return, with measured outages per host.
//!
//! Everything lives in namespaces named `<prefix>-*` (default "gwlab");
//! a run starts by removing what a killed run left, and Ctrl-C or any
//! failure tears everything down (guards with Drop).
//!
//! Files: world.rs (topology, agents, logs, power off/on), measure.rs
//! (status, traffic, probes, outages), watch.rs (polling with deadlines,
//! live line), story.rs (①②⑥), failover.rs (③④⑤), narrate.rs (output),
//! summary.rs (closing table and JSON), signal.rs (Ctrl-C).
//!
//! Environment: GW_AGENT_BIN runs that agent build (and skips building);
//! GWLAB_DEBUG=1 prints every probe gap per host around each failure.

mod failover;
mod measure;
mod narrate;
mod signal;
mod story;
mod summary;
mod watch;
mod world;

use std::{
    collections::BTreeMap,
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::{Result, bail};
use gw_tests::topo::{self, SERVER, VIP, gateway_ip, host_ip};

use self::{
    narrate::{Out, ms, number_word, span},
    summary::Summary,
    watch::{Ctx, plural},
    world::{Lab, TimerSet, Timers},
};

#[derive(clap::Args, Debug)]
pub struct LabArgs {
    /// Routers in the group (1..=16; failures need 2 or more).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub gateways: u16,
    /// Hosts on the LAN (1..=100).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub hosts: u16,
    /// Leave the lab running at the end and print how to look inside.
    #[arg(long)]
    pub keep: bool,
    /// fast: short timers, about a minute in all; default: Cisco's timers
    /// (hold 10 s, redirect 10 min), which takes a while.
    #[arg(long, value_enum, default_value = "fast")]
    pub timers: TimerSet,
    /// Remove a lab left by --keep or by a killed run, then exit.
    #[arg(long, conflicts_with = "keep")]
    pub down: bool,
    /// Show every agent log line, not only state changes.
    #[arg(long, short)]
    pub verbose: bool,
    /// Short non-interactive form for tests: less traffic time, no set-up
    /// or build (uses $GW_AGENT_BIN or target/debug), no colour.
    #[arg(long, hide = true)]
    pub ci: bool,
    /// Name prefix of the lab's namespaces.
    #[arg(long, hide = true, default_value = "gwlab")]
    pub prefix: String,
    /// Also write the summary as JSON to this file.
    #[arg(long, hide = true)]
    pub summary_json: Option<PathBuf>,
}

/// How long the lab lets things run, beyond what protocol timers dictate.
#[derive(Clone, Copy)]
pub(super) struct Pace {
    /// Probing before a failure, to show the steady state.
    baseline: Duration,
    /// Showing traffic spread over the routers.
    traffic: Duration,
    /// Live traffic line interval (a new line each time when not a TTY).
    live_every: Duration,
    /// Status polling.
    poll: Duration,
}

pub fn main(args: LabArgs) -> Result<()> {
    signal::install();
    let quiet_panics = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // A command killed by the user's Ctrl-C makes the harness panic;
        // that is the interruption, not a bug worth a backtrace.
        if !signal::interrupted() {
            quiet_panics(info);
        }
    }));
    if args.prefix.is_empty()
        || !args.prefix.chars().all(|c| c.is_ascii_alphanumeric())
        || args.prefix.len() > 12
    {
        bail!("--prefix must be 1..=12 letters or digits");
    }
    if args.down {
        return down(&args.prefix);
    }
    if unsafe { libc::geteuid() } != 0 {
        bail!("the lab creates network namespaces and attaches XDP: run it as root");
    }
    // $GW_AGENT_BIN (as `cargo xtask test` sets it) picks another agent
    // build and skips building.
    let given = std::env::var_os("GW_AGENT_BIN").map(PathBuf::from);
    if !args.ci {
        crate::setup::run()?;
        if given.is_none() {
            crate::build(false)?;
        }
    }
    let bin = match given {
        Some(p) if p.exists() => p,
        Some(p) => bail!("GW_AGENT_BIN={} does not exist", p.display()),
        None => crate::agent_bin(false)?,
    };
    let out = Out::new(!args.ci && unsafe { libc::isatty(1) } == 1);
    let timers = Timers::of(args.timers);
    let pace = match (args.ci, timers.set) {
        (true, _) => Pace {
            baseline: Duration::from_millis(400),
            traffic: Duration::from_millis(1200),
            live_every: Duration::from_millis(600),
            poll: Duration::from_millis(100),
        },
        (false, TimerSet::Fast) => Pace {
            baseline: Duration::from_secs(1),
            traffic: Duration::from_secs(3),
            live_every: Duration::from_secs(1),
            poll: Duration::from_millis(100),
        },
        (false, TimerSet::Default) => Pace {
            baseline: Duration::from_secs(3),
            traffic: Duration::from_secs(6),
            live_every: Duration::from_secs(if out.tty() { 1 } else { 10 }),
            poll: Duration::from_millis(250),
        },
    };
    let opts = Opts {
        prefix: args.prefix.clone(),
        gateways: args.gateways.into(),
        hosts: args.hosts.into(),
        keep: args.keep,
        verbose: args.verbose,
        timers,
        pace,
        bin,
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&opts, &out)));
    let result = match result {
        Ok(r) => r,
        Err(_) if signal::interrupted() => Err(signal::Interrupted.into()),
        Err(p) => {
            let why = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
            Err(anyhow::anyhow!(
                "the lab panicked: {}",
                why.unwrap_or_default()
            ))
        }
    };
    match result {
        Ok(summary) => {
            if let Some(path) = &args.summary_json {
                std::fs::write(path, serde_json::to_string_pretty(&summary.json())?)?;
            }
            if !summary.ok() {
                bail!(
                    "the lab saw {} problem(s): {}",
                    summary.problems.len(),
                    summary.problems.join("; ")
                );
            }
            Ok(())
        }
        Err(e) if e.is::<signal::Interrupted>() || signal::interrupted() => {
            eprintln!("lab interrupted; everything was torn down");
            std::process::exit(130);
        }
        Err(e) => Err(e),
    }
}

struct Opts {
    prefix: String,
    gateways: usize,
    hosts: usize,
    keep: bool,
    verbose: bool,
    timers: Timers,
    pace: Pace,
    bin: PathBuf,
}

fn down(prefix: &str) -> Result<()> {
    let removed = topo::cleanup_prefix(prefix);
    let _ = std::fs::remove_dir_all(std::env::temp_dir().join(prefix));
    let left = topo::leftovers(prefix);
    if removed.is_empty() {
        println!("no lab to remove");
    } else {
        println!(
            "removed the lab: {} namespaces, their links, agents and pins",
            removed.len()
        );
    }
    if !left.is_empty() {
        bail!("could not remove: {}", left.join(", "));
    }
    Ok(())
}

/// Held while a lab runs, so a second `cargo xtask lab` does not clean
/// up the first one's namespaces under its feet.
fn lock(prefix: &str) -> Result<std::fs::File> {
    use std::os::fd::AsRawFd;
    let path = std::env::temp_dir().join(format!("{prefix}.lock"));
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)?;
    // SAFETY: flock(2) on an open fd; released when the file (or process) goes.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let pid = std::fs::read_to_string(&path).unwrap_or_default();
        bail!(
            "another lab is running (pid {}); stop it, or remove it with `cargo xtask lab --down`",
            pid.trim()
        );
    }
    f.set_len(0)?;
    std::fs::write(&path, std::process::id().to_string())?;
    Ok(f)
}

/// Sets up, runs the story, tears down (or keeps) the lab.
fn run(o: &Opts, out: &Out) -> Result<Summary> {
    let _lock = lock(&o.prefix)?;
    let removed = topo::cleanup_prefix(&o.prefix);
    banner(o, out);
    if !removed.is_empty() {
        out.note(&format!(
            "removed a leftover lab first ({} namespaces)",
            removed.len()
        ));
    }
    let built = Instant::now();
    let lab = match Lab::build(&o.prefix, o.gateways, o.hosts, o.timers, &o.bin) {
        Ok(lab) => lab,
        Err(e) => {
            topo::cleanup_prefix(&o.prefix);
            return Err(e);
        }
    };
    out.note(&format!(
        "{} namespaces up in {} (bridge, {}, {}, server); agent logs in {}",
        o.gateways + o.hosts + 2,
        ms(built.elapsed()),
        plural(o.gateways, "router"),
        plural(o.hosts, "host"),
        lab.dir.display()
    ));
    let mut cx = Ctx {
        lab,
        out,
        pace: o.pace,
        verbose: o.verbose,
        meter: None,
        last_live: Instant::now(),
        countdown: None,
        primary: BTreeMap::new(),
    };
    let result = story::story(&mut cx);
    cx.out.clear_live();
    match result {
        Ok(summary) if o.keep => {
            keep_instructions(&cx.lab, out);
            cx.lab.keep();
            Ok(summary)
        }
        Ok(summary) => {
            let (n, left) = cx.lab.teardown();
            if left.is_empty() {
                out.blank();
                out.note(&format!(
                    "lab removed: {n} namespaces with their links, agents and pins"
                ));
                Ok(summary)
            } else {
                bail!("teardown left {}", left.join(", "))
            }
        }
        Err(e) => {
            if signal::interrupted() {
                out.blank();
                out.say(&out.yellow("interrupted: tearing the lab down…"));
            } else {
                out.blank();
                out.bad(&format!("{e:#}"));
                out.say(&format!(
                    "tearing the lab down (agent logs stay in {})",
                    cx.lab.dir.display()
                ));
            }
            cx.lab.teardown();
            Err(e)
        }
    }
}

fn banner(o: &Opts, out: &Out) {
    let t = &o.timers;
    out.line(&out.bold(&format!(
        "gw lab · {} the gateway {VIP} for {} (GLBP group {})",
        if o.gateways == 1 {
            "one router is".to_string()
        } else {
            format!("{} routers share", number_word(o.gateways))
        },
        plural(o.hosts, "host"),
        world::GROUP
    )));
    let timers = format!(
        "hello {}, hold {}, redirect {}, timeout {}, forwarder preemption delay {}",
        span(t.hello()),
        span(t.hold()),
        span(t.redirect()),
        span(t.timeout()),
        span(t.fwd_preempt())
    );
    match t.set {
        TimerSet::Fast => {
            out.say(&format!("timers (short, for the demo): {timers}"));
            out.note("Cisco's defaults are hello 3 s, hold 10 s, redirect 10 min, timeout 4 h, preemption 30 s: --timers default");
        }
        TimerSet::Default => {
            out.say(&format!("timers (Cisco's defaults): {timers}"));
            out.note("the redirect step alone waits 10 minutes; --timers fast shortens everything");
        }
    }
    out.blank();
    for l in drawing(o.gateways, o.hosts) {
        out.say(&out.dim(&l));
    }
}

/// The topology as a small picture.
fn drawing(gateways: usize, hosts: usize) -> Vec<String> {
    let last_host = host_ip(hosts);
    let left = [
        format!("h1…h{hosts}"),
        format!("192.0.2.101…{}", last_host.octets()[3]),
        format!("gateway {VIP}"),
    ];
    let w = left.iter().map(|s| s.chars().count()).max().unwrap_or(0);
    let mut lines = Vec::new();
    for k in 0..gateways.max(3) {
        let l = left.get(k).cloned().unwrap_or_default();
        let (a, b) = if gateways == 1 {
            ("───", "───")
        } else if k == 0 {
            ("─┬─", "─┬─")
        } else if k + 1 < gateways {
            (" ├─", "─┤ ")
        } else if k + 1 == gateways {
            (" └─", "─┘ ")
        } else {
            ("   ", "   ")
        };
        let mid = if k < gateways {
            format!("{a} g{} {:<12}{b}", k + 1, gateway_ip(k + 1).to_string())
        } else {
            String::new()
        };
        let bridge = if k == 0 {
            " ── LAN ──"
        } else {
            "          "
        };
        let srv = if k == 0 {
            format!(" server {SERVER}")
        } else {
            String::new()
        };
        lines.push(format!("{l:<w$}{bridge}{mid}{srv}").trim_end().to_string());
    }
    lines
}

fn keep_instructions(lab: &Lab, out: &Out) {
    let p = &lab.prefix;
    out.blank();
    out.line(&out.bold("the lab is still running (--keep); look around:"));
    for l in [
        format!("ip netns exec {p}-h1 ping -c 3 {SERVER}"),
        format!("ip netns exec {p}-h1 ip neigh show {VIP}"),
        format!(
            "nsenter --net=/run/netns/{p}-g1 {} status",
            lab.bin.display()
        ),
        format!("bpftool map dump pinned /sys/fs/bpf/gw/{p}-g1/lan0/GW_GROUPS"),
        format!("tail -f {}", lab.log_path(1).display()),
    ] {
        out.say(&format!("  {l}"));
    }
    out.note("(nsenter, not ip netns exec, for gw-agent: ip netns exec remounts /sys and hides the pins)");
    out.say(&format!(
        "tear it down: cargo xtask lab --down{}",
        if p == "gwlab" {
            String::new()
        } else {
            format!(" --prefix {p}")
        }
    ));
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawing_fits_any_number_of_routers() {
        let d = drawing(3, 8);
        assert_eq!(d.len(), 3);
        assert!(
            d[0].contains("g1 192.0.2.11") && d[0].contains("server 203.0.113.10"),
            "{d:?}"
        );
        assert!(d[2].contains("└─ g3"), "{d:?}");
        assert_eq!(drawing(1, 2).len(), 3);
        assert_eq!(drawing(5, 2).len(), 5);
        for l in drawing(3, 8) {
            println!("{l}");
        }
    }

    #[test]
    fn cli_options() {
        use clap::Parser;
        #[derive(Parser)]
        struct C {
            #[command(flatten)]
            lab: LabArgs,
        }
        let c = C::try_parse_from(["lab"]).unwrap();
        assert_eq!(
            (c.lab.gateways, c.lab.hosts, c.lab.keep, c.lab.timers),
            (3, 8, false, TimerSet::Fast)
        );
        assert_eq!(c.lab.prefix, "gwlab");
        let c = C::try_parse_from([
            "lab",
            "--gateways",
            "4",
            "--hosts",
            "20",
            "--keep",
            "--timers",
            "default",
        ])
        .unwrap();
        assert_eq!(
            (c.lab.gateways, c.lab.hosts, c.lab.keep, c.lab.timers),
            (4, 20, true, TimerSet::Default)
        );
        assert!(C::try_parse_from(["lab", "--gateways", "0"]).is_err());
        assert!(C::try_parse_from(["lab", "--hosts", "101"]).is_err());
        assert!(C::try_parse_from(["lab", "--keep", "--down"]).is_err());
        assert!(
            C::try_parse_from(["lab", "--ci", "--summary-json", "/tmp/x"])
                .unwrap()
                .lab
                .ci
        );
    }
}
