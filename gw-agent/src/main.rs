//! gw-agent: share one default-gateway IP among Linux routers (GLBP), with
//! the ARP fast path in XDP.

use std::{net::Ipv4Addr, path::PathBuf, process::ExitCode};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use gw_agent::{
    config::{Config, Group, Timers, XdpMode},
    runtime::Agent,
    status,
};

#[derive(Parser)]
#[command(
    name = "gw-agent",
    version,
    about,
    long_about = "\
GLBP-style gateway load sharing for Linux. Several routers share one virtual \
gateway IP; the elected active virtual gateway (AVG) answers ARP for it in \
XDP, handing each host the virtual MAC of one group member."
)]
struct Cli {
    /// Log as JSON lines instead of text (level via RUST_LOG, default info).
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the agent: attach the XDP program and speak GLBP.
    Run(RunArgs),
    /// Show groups, vMACs and counters from the pinned maps.
    Status {
        /// Only this interface.
        #[arg(long)]
        interface: Option<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Validate a config file; exit non-zero naming the bad field.
    Check {
        #[arg(long)]
        config: PathBuf,
    },
}

#[derive(Args)]
struct RunArgs {
    /// JSON config file (see README "Config reference").
    #[arg(long, conflicts_with_all = ["interface", "group", "vip"])]
    config: Option<PathBuf>,
    /// Quick form: the LAN interface.
    #[arg(long, requires_all = ["group", "vip"])]
    interface: Option<String>,
    /// Quick form: GLBP group number (0..=1023).
    #[arg(long)]
    group: Option<u16>,
    /// Quick form: the virtual IPv4 address.
    #[arg(long)]
    vip: Option<Ipv4Addr>,
    /// Quick form: priority 1..=255.
    #[arg(long, default_value_t = 100)]
    priority: u8,
    /// Quick form: hello time in ms (with --hold-ms).
    #[arg(long, requires = "hold_ms")]
    hello_ms: Option<u32>,
    /// Quick form: hold time in ms (with --hello-ms).
    #[arg(long, requires = "hello_ms")]
    hold_ms: Option<u32>,
    /// Quick form: enable AVG preemption.
    #[arg(long)]
    preempt: bool,
    /// XDP attach mode (overrides the config's xdp_mode).
    #[arg(long, value_enum)]
    xdp_mode: Option<ModeArg>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ModeArg {
    Auto,
    Native,
    Generic,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_json);
    match real_main(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gw-agent: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json { b.json().init() } else { b.init() }
}

fn real_main(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Check { config } => {
            let cfg = load(&config)?;
            println!(
                "{}: ok ({} groups on {})",
                config.display(),
                cfg.groups.len(),
                cfg.interface
            );
            Ok(())
        }
        Cmd::Status { interface, json } => {
            let all = status::collect(interface.as_deref())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                print!("{}", status::render(&all));
            }
            Ok(())
        }
        Cmd::Run(args) => {
            let cfg = run_config(&args)?;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let (agent, rx) = Agent::start(cfg).await?;
                agent.run(rx).await
            })
        }
    }
}

fn load(path: &PathBuf) -> Result<Config> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Config::parse(&text).with_context(|| format!("config {}", path.display()))
}

fn run_config(a: &RunArgs) -> Result<Config> {
    let mut cfg = match (&a.config, &a.interface) {
        (Some(path), _) => {
            let cfg = load(path)?;
            let _ = gw_agent::CONFIG_PATH.set(path.clone());
            cfg
        }
        (None, Some(ifname)) => {
            let (Some(group), Some(vip)) = (a.group, a.vip) else {
                bail!("--interface needs --group and --vip");
            };
            let mut g = Group::quick(group, vip, a.priority);
            g.timers = Timers {
                hello_ms: a.hello_ms,
                hold_ms: a.hold_ms,
                ..Timers::default()
            };
            g.preempt.enabled = a.preempt;
            Config {
                interface: ifname.clone(),
                xdp_mode: XdpMode::Auto,
                client_cache: Default::default(),
                arp_rate_limit: Default::default(),
                groups: vec![g],
            }
        }
        (None, None) => bail!("give --config FILE, or --interface IF --group N --vip A.B.C.D"),
    };
    if let Some(m) = a.xdp_mode {
        cfg.xdp_mode = match m {
            ModeArg::Auto => XdpMode::Auto,
            ModeArg::Native => XdpMode::Native,
            ModeArg::Generic => XdpMode::Generic,
        };
    }
    // The quick form goes through the same validation as a file.
    cfg.validate().context("arguments")?;
    Ok(cfg)
}
