//! `cargo xtask fuzz`: every cargo-fuzz target in fuzz/ for a bounded time
//! each, seeded from the codec's golden vectors (fuzz/seeds/), with a table
//! of executions at the end. A crash fails the run and names the input
//! libFuzzer saved under fuzz/artifacts/<target>/.
//!
//! cargo-fuzz needs a nightly (sanitizers); it is installed from crates.io
//! when missing and run as `cargo +nightly fuzz`.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

use anyhow::{Context, Result, bail};

use crate::{setup, status, workspace_root};

/// The targets, with the seed directory each starts from.
pub const TARGETS: &[(&str, &str)] = &[
    ("proto_parse", "proto"),
    ("proto_roundtrip", "proto"),
    ("config_parse", "config"),
    ("auth_verify", "auth"),
];

#[derive(clap::Args)]
pub struct FuzzArgs {
    /// Seconds per target.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Largest input libFuzzer generates, in bytes (a GLBP payload is at
    /// most a few hundred; the agent reads at most 2048).
    #[arg(long, default_value_t = 4096)]
    pub max_len: usize,
    /// Only these targets (default: all).
    pub targets: Vec<String>,
}

/// What one target did.
#[derive(Debug, Default)]
struct Outcome {
    target: String,
    runs: Option<u64>,
    secs: f64,
    corpus: usize,
    crash: Option<String>,
}

pub fn main(args: FuzzArgs) -> Result<()> {
    if args.seconds == 0 {
        bail!("--seconds must be at least 1");
    }
    let targets: Vec<(&str, &str)> = if args.targets.is_empty() {
        TARGETS.to_vec()
    } else {
        args.targets
            .iter()
            .map(|t| {
                TARGETS
                    .iter()
                    .find(|(n, _)| n == t)
                    .copied()
                    .with_context(|| {
                        format!(
                            "unknown fuzz target {t:?}; targets: {}",
                            TARGETS.iter().map(|t| t.0).collect::<Vec<_>>().join(", ")
                        )
                    })
            })
            .collect::<Result<_>>()?
    };
    // The agent's build script builds the XDP object: rust-src and
    // bpf-linker must be there, as for any build.
    setup::run()?;
    ensure_cargo_fuzz()?;
    let dir = workspace_root().join("fuzz");
    eprintln!("xtask fuzz: building the targets (nightly, AddressSanitizer)");
    status(cargo_fuzz(&dir).arg("build"))?;
    let logs = workspace_root().join("target/fuzz-logs");
    std::fs::create_dir_all(&logs)?;
    let mut outcomes = Vec::new();
    for (target, seeds) in targets {
        eprintln!("xtask fuzz: {target} for {} s", args.seconds);
        outcomes.push(run_one(&dir, &logs, target, seeds, &args)?);
    }
    eprintln!();
    eprintln!(
        "{:<18} {:>12} {:>8} {:>8}  result",
        "target", "executions", "seconds", "corpus"
    );
    for o in &outcomes {
        eprintln!(
            "{:<18} {:>12} {:>8.1} {:>8}  {}",
            o.target,
            o.runs.map_or("?".into(), |r| r.to_string()),
            o.secs,
            o.corpus,
            o.crash
                .as_deref()
                .map_or("ok".to_string(), |c| format!("CRASH {c}"))
        );
    }
    let crashed: Vec<&Outcome> = outcomes.iter().filter(|o| o.crash.is_some()).collect();
    if !crashed.is_empty() {
        bail!(
            "{} target(s) crashed; reproduce with `cargo +nightly fuzz run TARGET ARTIFACT` in fuzz/, \
             then turn the input into a unit test",
            crashed.len()
        );
    }
    Ok(())
}

fn cargo_fuzz(dir: &Path) -> Command {
    let mut c = Command::new("cargo");
    c.args(["+nightly", "fuzz"]).current_dir(dir);
    // `cargo xtask` runs under the stable toolchain: do not let its
    // variables pick the compiler for the nightly build.
    for v in [
        "RUSTUP_TOOLCHAIN",
        "CARGO",
        "RUSTC",
        "RUSTC_WRAPPER",
        "RUSTFLAGS",
    ] {
        c.env_remove(v);
    }
    c
}

fn ensure_cargo_fuzz() -> Result<()> {
    let ok = Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .env_remove("RUSTUP_TOOLCHAIN")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Ok(());
    }
    eprintln!("xtask fuzz: installing cargo-fuzz from crates.io");
    status(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))
}

fn run_one(dir: &Path, logs: &Path, target: &str, seeds: &str, args: &FuzzArgs) -> Result<Outcome> {
    let corpus = dir.join("corpus").join(target);
    std::fs::create_dir_all(&corpus)?;
    let artifacts = dir.join("artifacts").join(target);
    std::fs::create_dir_all(&artifacts)?;
    let log_path = logs.join(format!("{target}.log"));
    let mut log = std::fs::File::create(&log_path)?;
    let started = Instant::now();
    let mut child = cargo_fuzz(dir)
        .args(["run", target])
        .arg(&corpus)
        .arg(dir.join("seeds").join(seeds))
        .arg("--")
        .arg(format!("-max_total_time={}", args.seconds))
        .arg(format!("-max_len={}", args.max_len))
        // A single input taking 10 s is a hang, as good as a crash.
        .arg("-timeout=10")
        .arg("-rss_limit_mb=2048")
        .arg("-print_final_stats=1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting cargo fuzz run {target}"))?;
    // libFuzzer reports on stderr; keep all of it in the log, show pulses.
    let stdout = child.stdout.take().expect("piped");
    let out_thread = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let mut runs = None;
    let mut crash = None;
    let mut tail: Vec<String> = Vec::new();
    for line in BufReader::new(child.stderr.take().expect("piped"))
        .lines()
        .map_while(Result::ok)
    {
        use std::io::Write;
        let _ = writeln!(log, "{line}");
        if let Some(n) = stat(&line, "stat::number_of_executed_units:") {
            runs = Some(n);
        }
        if let Some(rest) = line.split("Test unit written to ").nth(1) {
            crash = Some(rest.trim().to_string());
        }
        if line.contains("pulse") || line.starts_with("Done ") {
            eprintln!("  {line}");
        }
        tail.push(line);
        if tail.len() > 60 {
            tail.remove(0);
        }
    }
    let st = child.wait()?;
    for line in out_thread.join().unwrap_or_default() {
        use std::io::Write;
        let _ = writeln!(log, "{line}");
    }
    if !st.success() && crash.is_none() {
        eprintln!("{}", tail.join("\n"));
        bail!(
            "cargo fuzz run {target} failed ({st}) without a crash input; log: {}",
            log_path.display()
        );
    }
    if crash.is_some() {
        eprintln!("{}", tail.join("\n"));
    }
    Ok(Outcome {
        target: target.to_string(),
        runs,
        secs: started.elapsed().as_secs_f64(),
        corpus: count_files(&corpus),
        crash,
    })
}

/// `stat::name: 123` -> 123.
fn stat(line: &str, name: &str) -> Option<u64> {
    line.strip_prefix(name)?.trim().parse().ok()
}

fn count_files(dir: &PathBuf) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_stats_are_read() {
        assert_eq!(
            stat(
                "stat::number_of_executed_units: 1234567",
                "stat::number_of_executed_units:"
            ),
            Some(1234567)
        );
        assert_eq!(
            stat("#2 INITED cov: 3", "stat::number_of_executed_units:"),
            None
        );
    }

    #[test]
    fn every_target_has_a_source_and_seeds() {
        let dir = workspace_root().join("fuzz");
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        for (t, seeds) in TARGETS {
            assert!(dir.join(format!("fuzz_targets/{t}.rs")).exists(), "{t}");
            assert!(
                manifest.contains(&format!("name = \"{t}\"")),
                "{t} not in fuzz/Cargo.toml"
            );
            assert!(
                count_files(&dir.join("seeds").join(seeds)) > 0,
                "no seeds for {t}"
            );
        }
    }
}
