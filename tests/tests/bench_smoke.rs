//! `cargo xtask bench --smoke`: every benchmark runs with tiny counts and
//! writes its section, with numbers, so none can silently rot. Nothing
//! here judges the numbers (a loaded CI machine would make that flaky);
//! only that they exist and are sane, and that nothing is left behind.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use gw_tests::require_tools;
use serde_json::Value;

/// The xtask binary (and the simulator example it runs): $XTASK_BIN, or
/// built (and so current) by cargo.
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
        .args([
            "build",
            "--quiet",
            "--package",
            "xtask",
            "--bin",
            "xtask",
            "--example",
            "sim_convergence",
        ])
        .current_dir(&root)
        .status()
        .expect("cargo build -p xtask");
    assert!(st.success(), "building xtask failed");
    target.join("debug/xtask")
}

fn num(v: &Value, path: &str) -> f64 {
    let mut x = v;
    for k in path.split('.') {
        x = match k.parse::<usize>() {
            Ok(i) => &x[i],
            Err(_) => &x[k],
        };
    }
    x.as_f64()
        .unwrap_or_else(|| panic!("{path}: not a number in {v:#}"))
}

fn positive(v: &Value, path: &str) {
    let x = num(v, path);
    assert!(x.is_finite() && x > 0.0, "{path} = {x}, want > 0");
}

fn own_namespaces(pid: u32) -> Vec<String> {
    std::fs::read_dir("/run/netns")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&format!("gt{pid}x")))
                .collect()
        })
        .unwrap_or_default()
}

fn check_report(dir: &Path) {
    let md = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    for title in [
        "## 1. ARP answer path",
        "## 2. Failover",
        "## 3. Load sharing",
        "## 4. Scale and cost",
    ] {
        assert!(md.contains(title), "no {title:?} in report.md:\n{md}");
    }
    assert!(!md.contains("FAILED"), "{md}");
    let j: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).expect("json"))
            .expect("report.json parses");
    assert!(j.get("errors").is_none(), "{j:#}");

    let arp = &j["arp_path"];
    let keys: Vec<&str> = arp["responders"]
        .as_array()
        .expect("responders")
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "floor",
            "gw_native",
            "kernel",
            "userspace",
            "floor_generic",
            "gw_generic"
        ]
    );
    for i in 0..keys.len() {
        for k in ["replies_per_s", "offered_per_s", "cpu_ns_per_reply"] {
            positive(arp, &format!("responders.{i}.{k}"));
        }
        assert!(num(arp, &format!("responders.{i}.answer_cpu_ns")).is_finite());
    }
    for k in [
        "pass_repeat",
        "pass_single",
        "reply_single",
        "vmac_rewrite_single",
    ] {
        positive(arp, &format!("test_run_ns.{k}"));
    }
    for k in ["cpu_kernel_over_gw", "cpu_userspace_over_gw"] {
        positive(arp, &format!("ratios.{k}"));
    }
    for k in ["answer_kernel_over_gw", "answer_userspace_over_gw"] {
        assert!(num(arp, &format!("ratios.{k}")).is_finite(), "{k}");
    }

    let fo = j["failover"].as_array().expect("failover");
    assert_eq!(fo.len(), 6, "3 events x gw and keepalived: {fo:?}");
    for o in fo {
        positive(o, "gap_ms");
        positive(o, "budget_ms");
        positive(o, "sent");
        assert!(num(o, "lost") <= num(o, "sent"), "{o}");
        assert_eq!(o["recovered"], true, "{o}");
    }

    let sh = j["sharing"].as_array().expect("sharing");
    assert_eq!(sh.len(), 5, "4 methods and keepalived: {sh:?}");
    for s in sh {
        let total: f64 = (0..3).map(|i| num(s, &format!("share_pct.{i}"))).sum();
        assert!((total - 100.0).abs() < 0.01, "{s}");
    }
    // keepalived: the master carries everything.
    assert!(num(&sh[4], "share_pct.0") > 99.0, "{}", sh[4]);

    let sc = &j["scale"];
    for (i, _) in sc["agent"].as_array().expect("agent").iter().enumerate() {
        positive(sc, &format!("agent.{i}.rss_kib"));
        positive(sc, &format!("agent.{i}.to_avg_ms"));
    }
    for (i, _) in sc["client_cache"]
        .as_array()
        .expect("cache")
        .iter()
        .enumerate()
    {
        for k in [
            "reported_entries",
            "reply_known_ns",
            "reply_new_ns",
            "rtt_samples",
        ] {
            positive(sc, &format!("client_cache.{i}.{k}"));
        }
    }
    let sim = sc["convergence"]["simulated"].as_array().expect("sim");
    assert_eq!(sim.len(), 4, "four timer sets");
    for (i, s) in sim.iter().enumerate() {
        assert_eq!(s["not_converged"], 0, "{s}");
        for k in [
            "cold_serving",
            "cold_settled",
            "crash_serving",
            "crash_settled",
        ] {
            positive(sc, &format!("convergence.simulated.{i}.{k}.median_ms"));
        }
    }
    positive(sc, "convergence.real.converged_ms");
}

#[test]
fn every_benchmark_runs_and_reports_numbers() {
    if !require_tools(&["ip", "nsenter", "ping", "keepalived"]) {
        return;
    }
    let bin = xtask();
    let out = std::env::temp_dir().join(format!("gw-bench-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let log = out.with_extension("log");
    let f = std::fs::File::create(&log).expect("log file");
    let started = Instant::now();
    let mut child = Command::new(&bin)
        .args(["bench", "--smoke", "--no-build", "--out"])
        .arg(&out)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .spawn()
        .expect("spawn xtask bench");
    let pid = child.id();
    // Generous: the run takes about 30 s on an idle 2-core machine; a
    // hung run is killed (SIGTERM: it removes its namespaces) and fails.
    let deadline = started + Duration::from_secs(150);
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break Some(st);
        }
        if Instant::now() > deadline {
            // SAFETY: kill(2) on our own child.
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
            std::thread::sleep(Duration::from_secs(5));
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let took = started.elapsed();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    println!("xtask bench --smoke took {took:.1?}");
    assert!(
        status.is_some_and(|s| s.success()),
        "xtask bench --smoke failed ({status:?}) after {took:?}:\n{text}"
    );
    check_report(&out);
    let _ = std::fs::remove_dir_all(&out);
    assert!(
        own_namespaces(pid).is_empty(),
        "left behind: {:?}",
        own_namespaces(pid)
    );
}
