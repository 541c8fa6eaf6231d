//! `cargo xtask lab`, end to end, in its short non-interactive form
//! (`--ci`): a leftover from a killed run is cleaned up, the story runs
//! through every failure with every host reaching the server again, the
//! hosts spread over all routers, Ctrl-C tears down, and nothing is left
//! behind (namespaces, links, pins).

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use gw_tests::{require_tools, topo, wait};

/// Not "gwlab": a developer's own lab may be up.
const PREFIX: &str = "gwlabt";

/// The xtask binary: $XTASK_BIN, or built (and so current) by cargo.
fn xtask() -> PathBuf {
    if let Some(p) = std::env::var_os("XTASK_BIN") {
        return p.into();
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let st = Command::new(cargo)
        .args(["build", "--quiet", "--package", "xtask"])
        .current_dir(&root)
        .status()
        .expect("cargo build -p xtask");
    assert!(st.success(), "building xtask failed");
    target.join("debug/xtask")
}

fn lab(args: &[&str]) -> Command {
    let mut c = Command::new(xtask());
    c.args(["lab", "--ci", "--prefix", PREFIX])
        .args(args)
        .env("RUST_BACKTRACE", "0");
    c
}

/// Links in the root namespace (the lab must create none there).
fn root_links() -> Vec<String> {
    let o = Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .expect("ip link");
    let mut v: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            l.split(": ")
                .nth(1)
                .map(|n| n.split('@').next().unwrap_or(n).to_string())
        })
        .collect();
    v.sort();
    v
}

fn kill(c: &mut Child, sig: i32) {
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(c.id() as i32, sig) };
}

/// Waits for the child with a deadline (killing it after), returning
/// (exit code, its output).
fn finish((mut c, log): (Child, PathBuf), timeout: Duration) -> (Option<i32>, String) {
    let end = Instant::now() + timeout;
    let code = loop {
        if let Some(st) = c.try_wait().expect("wait") {
            break st.code();
        }
        if Instant::now() >= end {
            kill(&mut c, libc::SIGKILL);
            let _ = c.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let s = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    (code, s)
}

/// Output goes to a file: a pipe nobody reads could block the lab.
fn spawn_lab(args: &[&str]) -> (Child, PathBuf) {
    let log = std::env::temp_dir().join(format!(
        "{PREFIX}-out-{}-{}.txt",
        std::process::id(),
        args.len()
    ));
    let f = std::fs::File::create(&log).expect("output file");
    let c = lab(args)
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn xtask lab");
    (c, log)
}

/// The lab's agents are up (its pins exist).
fn agents_up(n: usize) -> bool {
    (1..=n).all(|i| std::path::Path::new(&format!("/sys/fs/bpf/gw/{PREFIX}-g{i}/lan0")).exists())
}

#[test]
fn lab_tells_the_whole_story_and_leaves_nothing_behind() {
    if !require_tools(&["ip", "nsenter"]) {
        return;
    }
    let started = Instant::now();
    topo::cleanup_prefix(PREFIX);
    let links_before = root_links();
    let summary_path =
        std::env::temp_dir().join(format!("{PREFIX}-summary-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&summary_path);

    // A run killed without a chance to clean up leaves a lab behind...
    let mut killed = spawn_lab(&[]);
    let up = wait::until(Duration::from_secs(20), || agents_up(3).then_some(()));
    kill(&mut killed.0, libc::SIGKILL);
    let (_, text) = finish(killed, Duration::from_secs(5));
    assert!(up.is_some(), "the lab never started its agents:\n{text}");
    assert!(
        !topo::leftovers(PREFIX).is_empty(),
        "SIGKILL leaves the lab behind"
    );

    // ...which the next run removes first; then the whole story.
    let run = spawn_lab(&["--summary-json", summary_path.to_str().unwrap()]);
    let (code, text) = finish(run, Duration::from_secs(100));
    println!("{text}");
    assert!(
        text.contains("removed a leftover lab"),
        "leftover not reported:\n{text}"
    );
    let summary = std::fs::read_to_string(&summary_path).unwrap_or_default();
    let _ = std::fs::remove_file(&summary_path);
    assert_eq!(code, Some(0), "the lab failed:\n{text}\n{summary}");
    let s: serde_json::Value = serde_json::from_str(&summary).expect("summary JSON");
    assert_eq!(s["ok"], true, "{s:#}");
    for key in [
        "initial_distribution",
        "final_distribution",
        "initial_frames",
    ] {
        for g in ["g1", "g2", "g3"] {
            assert!(
                s[key][g].as_u64().unwrap_or(0) > 0,
                "{key}: nothing through {g}: {s:#}"
            );
        }
    }
    let total: u64 = ["g1", "g2", "g3"]
        .iter()
        .map(|g| s["final_distribution"][g].as_u64().unwrap())
        .sum();
    assert_eq!(total, 8, "every host has a router at the end: {s:#}");
    let phases = s["phases"].as_array().expect("phases");
    let names: Vec<&str> = phases.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["AVG down", "AVG back", "fwd down", "fwd back"],
        "{s:#}"
    );
    for p in phases {
        assert_eq!(
            p["all_recovered"], true,
            "a host did not reach the server after {}: {p:#}",
            p["name"]
        );
        assert_eq!(p["hosts"].as_array().unwrap().len(), 8);
    }
    // Failover within a few hold times (700 ms in the short form).
    for p in &phases[..1] {
        assert!(p["worst_outage_ms"].as_u64().unwrap() < 5000, "{p:#}");
    }
    assert!(
        topo::leftovers(PREFIX).is_empty(),
        "left behind: {:?}",
        topo::leftovers(PREFIX)
    );
    assert_eq!(
        root_links(),
        links_before,
        "links appeared in the root namespace"
    );

    // Ctrl-C (SIGINT) mid-run: exit 130, everything removed.
    let mut run = spawn_lab(&[]);
    let up = wait::until(Duration::from_secs(20), || agents_up(3).then_some(()));
    kill(&mut run.0, libc::SIGINT);
    let (code, text) = finish(run, Duration::from_secs(20));
    assert!(up.is_some(), "the lab never started its agents:\n{text}");
    assert_eq!(code, Some(130), "SIGINT exit code:\n{text}");
    assert!(
        topo::leftovers(PREFIX).is_empty(),
        "left behind after SIGINT: {:?}",
        topo::leftovers(PREFIX)
    );
    assert!(
        started.elapsed() < Duration::from_secs(110),
        "took {:?}",
        started.elapsed()
    );
}
