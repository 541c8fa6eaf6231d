//! gw-agent: share one default-gateway IP among Linux routers (GLBP), with
//! the ARP fast path in XDP.

use std::{net::Ipv4Addr, path::PathBuf, process::ExitCode};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use gw_agent::{
    config::{Config, Group, Timers, XdpMode},
    runtime::{Agent, RunOptions},
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
    #[command(long_about = "\
Attaches the XDP program to the interface (native mode with a fallback to \
generic; generic on veth), pins its maps and link under \
/sys/fs/bpf/gw/<netns>/<interface>/, and speaks GLBP on UDP 3222 \
(224.0.0.102, TTL 255) for every configured group: elects the AVG, assigns \
forwarders, takes over failed ones, and rewrites the maps the XDP program \
answers ARP from. A pinned program left by a previous agent is adopted \
without a gap.

Signals: SIGTERM/SIGINT resign at once (peers take over without waiting for \
the hold time), detach and unpin; SIGHUP re-reads --config and applies only \
what changed (a bad file changes nothing).

Examples:
  gw-agent run --interface eth0 --group 1 --vip 192.0.2.1 --priority 110
  gw-agent run --config /etc/gw/eth0.json --metrics 127.0.0.1:9712")]
    Run(RunArgs),
    /// Show groups (like `show glbp brief`), or everything with --detail.
    #[command(long_about = "\
Shows every gw interface in this network namespace: the control plane from the \
running agent (state, priority, active and standby router, forwarders, timers, \
peers) and the data plane from the pinned BPF maps (whether XDP answers ARP, \
the lease, slot table, counters, client cache). Works while the agent is down: \
it then says so and shows the maps only.

JSON (--json): an array, one object per interface; see README \"status JSON\".")]
    Status {
        /// Only this interface.
        #[arg(long)]
        interface: Option<String>,
        /// Everything: timers with remaining time, preemption, members,
        /// each forwarder, counters (like `show glbp`).
        #[arg(long)]
        detail: bool,
        /// Machine-readable output (brief and detail print the same JSON).
        #[arg(long)]
        json: bool,
        /// List the hosts in the client cache instead: MAC, IP, forwarder,
        /// age (with --json: an array of them).
        #[arg(long, conflicts_with = "detail")]
        clients: bool,
    },
    /// Validate a config file; exit non-zero naming the bad field.
    #[command(long_about = "\
Parses and validates the config exactly as `run` and SIGHUP do (including \
key file permissions and the notify command), touching nothing. Exits 0 and \
prints a summary, or exits 1 with `FIELD: REASON`, e.g. \
`groups[0].timers.hold_ms: 400 must exceed hello_ms (500)`. Used by the \
systemd unit's ExecStartPre.")]
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
    /// Serve Prometheus metrics on ADDR:PORT (e.g. 127.0.0.1:9712); off
    /// by default.
    #[arg(long, value_name = "ADDR:PORT")]
    metrics: Option<std::net::SocketAddr>,
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
        .with_writer(|| LossyStderr);
    if json { b.json().init() } else { b.init() }
}

/// stderr that drops what it cannot write: if the log reader goes away
/// (a closed pipe, a restarted journald), the gateway keeps running
/// instead of dying on EPIPE.
struct LossyStderr;

impl std::io::Write for LossyStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
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
        Cmd::Status {
            interface,
            json,
            clients: true,
            ..
        } => {
            let list = status::clients::collect(interface.as_deref())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                print!("{}", status::clients::render(&list));
            }
            Ok(())
        }
        Cmd::Status {
            interface,
            detail,
            json,
            ..
        } => {
            let all = status::collect(interface.as_deref())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else if detail {
                print!("{}", status::detail(&all));
            } else {
                print!("{}", status::brief(&all));
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
                agent
                    .run(
                        rx,
                        RunOptions {
                            metrics: args.metrics,
                        },
                    )
                    .await
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
                notify: None,
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
