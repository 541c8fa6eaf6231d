//! `cargo xtask`: orchestration only (set-up, build, test, run, lab, bench).
//! Everything runs as root directly (no privilege-raising wrapper).

mod bench;
mod fuzz;
mod lab;
mod setup;

use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install what a fresh machine lacks (idempotent; seconds when done).
    Setup,
    /// Build the XDP object and the agent.
    Build {
        #[arg(long)]
        release: bool,
    },
    /// Set up, then run every test in the workspace.
    Test {
        /// Extra arguments for `cargo test` (after `--`).
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Build and run the agent: `cargo xtask run -- run --interface eth0 ...`.
    Run {
        #[arg(long)]
        release: bool,
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// The demo: routers, hosts and a server in network namespaces;
    /// election, load sharing, failures and measured outages, narrated.
    Lab(lab::LabArgs),
    /// Fuzz the GLBP codec, the config parser and the authenticator
    /// (cargo-fuzz, nightly) for a bounded time per target.
    Fuzz(fuzz::FuzzArgs),
    /// Every benchmark in network namespaces: report in target/bench/
    /// (report.md, report.json); `--smoke` for a quick check that all run.
    Bench(bench::BenchArgs),
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Setup => setup::run(),
        Cmd::Build { release } => build(release),
        Cmd::Test { args } => {
            setup::run()?;
            build(false)?;
            let mut c = cargo();
            c.arg("test").args(&args);
            c.env("GW_AGENT_BIN", agent_bin(false)?);
            status(&mut c)
        }
        Cmd::Run { release, args } => {
            build(release)?;
            status(Command::new(agent_bin(release)?).args(args))
        }
        Cmd::Lab(args) => lab::main(args),
        Cmd::Fuzz(args) => fuzz::main(args),
        Cmd::Bench(args) => bench::main(args),
    }
}

pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

pub fn build(release: bool) -> Result<()> {
    let mut c = cargo();
    c.args(["build", "--package", "gw-agent"]);
    if release {
        c.arg("--release");
    }
    status(&mut c)
}

pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

pub fn agent_bin(release: bool) -> Result<std::path::PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let p = target
        .join(if release { "release" } else { "debug" })
        .join("gw-agent");
    if !p.exists() {
        bail!("{} missing after build", p.display());
    }
    Ok(p)
}

pub fn status(c: &mut Command) -> Result<()> {
    let st = c.status().with_context(|| format!("running {c:?}"))?;
    if !st.success() {
        bail!("{c:?} failed: {st}");
    }
    Ok(())
}
