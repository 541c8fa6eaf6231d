//! `cargo xtask setup`: make a fresh machine able to build and test gw.
//! Every step checks first and does nothing when already done, so a second
//! run takes seconds and changes nothing.

use std::{path::PathBuf, process::Command};

use anyhow::{Context, Result, bail};

use crate::status;

/// Debian packages the tests and the lab use.
const PACKAGES: &[&str] = &[
    "iproute2",
    "iputils-arping",
    "iputils-ping",
    "bpftool",
    "tshark",
    "tcpdump",
    "keepalived",
    // Fault tests: packet loss (numgen) and partitions on the test bridge.
    "nftables",
];
const BPF_LINKER_VERSION: &str = "0.13.0";
const NIGHTLY: &str = "nightly";

pub fn run() -> Result<()> {
    rust_src()?;
    bpf_linker()?;
    packages()?;
    bpffs()?;
    eprintln!("xtask setup: ready");
    Ok(())
}

fn quiet(c: &mut Command) -> bool {
    c.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    c.status().is_ok_and(|s| s.success())
}

fn output(c: &mut Command) -> Result<String> {
    let o = c.output().with_context(|| format!("running {c:?}"))?;
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

fn rust_src() -> Result<()> {
    let installed = output(Command::new("rustup").args([
        "component",
        "list",
        "--installed",
        "--toolchain",
        NIGHTLY,
    ]))?;
    if installed.lines().any(|l| l.starts_with("rust-src")) {
        return Ok(());
    }
    eprintln!("xtask setup: adding rust-src to the nightly toolchain");
    status(Command::new("rustup").args(["component", "add", "rust-src", "--toolchain", NIGHTLY]))
}

fn nightly_lib() -> Result<PathBuf> {
    let sysroot =
        output(Command::new("rustup").args(["run", NIGHTLY, "rustc", "--print", "sysroot"]))?;
    let sysroot = sysroot.trim();
    if sysroot.is_empty() {
        bail!("no {NIGHTLY} toolchain: it must be preinstalled (see TOOLCHAIN notes in README)");
    }
    Ok(PathBuf::from(sysroot).join("lib"))
}

/// bpf-linker must link against the nightly's own LLVM.
fn bpf_linker() -> Result<()> {
    if quiet(Command::new("rustup").args(["run", NIGHTLY, "bpf-linker", "--version"])) {
        return Ok(());
    }
    let lib = nightly_lib()?;
    // libLLVM.so.<major>.<minor>-rust-<version>-nightly; found by pattern,
    // not hard-coded, so a new nightly keeps working.
    let llvm = std::fs::read_dir(&lib)?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libLLVM.so."))
        })
        .with_context(|| format!("no libLLVM.so.* in {}", lib.display()))?;
    let name = llvm
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    let major = name
        .trim_start_matches("libLLVM.so.")
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok())
        .with_context(|| format!("cannot read the LLVM version from {name}"))?;
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/root".into());
    let prefix = home.join(".cache/gw/llvm");
    std::fs::create_dir_all(prefix.join("lib"))?;
    let link = prefix.join("lib/libLLVM.so");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&llvm, &link)?;
    eprintln!(
        "xtask setup: building bpf-linker {BPF_LINKER_VERSION} against {name} (about a minute)"
    );
    status(
        Command::new("cargo")
            .args([
                "install",
                "bpf-linker",
                "--version",
                BPF_LINKER_VERSION,
                "--no-default-features",
            ])
            .args(["--features", &format!("llvm-{major}")])
            .env("LLVM_PREFIX", &prefix),
    )
}

fn packages() -> Result<()> {
    let missing: Vec<&str> = PACKAGES
        .iter()
        .copied()
        .filter(|p| {
            let out = output(Command::new("dpkg-query").args(["-W", "-f=${Status}", p]))
                .unwrap_or_default();
            !out.contains("install ok installed")
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask setup: installing {}", missing.join(" "));
    status(Command::new("apt-get").args(["update", "-q"]))?;
    status(
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn bpffs() -> Result<()> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    if mounts
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some("/sys/fs/bpf") && l.contains(" bpf "))
    {
        return Ok(());
    }
    std::fs::create_dir_all("/sys/fs/bpf")?;
    status(Command::new("mount").args(["-t", "bpf", "bpf", "/sys/fs/bpf"]))
}
