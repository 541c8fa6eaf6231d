//! The real gw-agent, running in a gateway namespace.

use std::{
    path::PathBuf,
    process::{Child, Stdio},
};

use crate::netns::Netns;

/// The agent binary: $GW_AGENT_BIN (set by `cargo xtask test`) or the
/// workspace's debug build.
pub fn bin() -> PathBuf {
    if let Some(p) = std::env::var_os("GW_AGENT_BIN") {
        return p.into();
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug/gw-agent");
    assert!(
        p.exists(),
        "{} missing: run `cargo xtask test` (or `cargo build -p gw-agent`)",
        p.display()
    );
    p
}

pub struct Agent {
    pub child: Child,
    pub ns: String,
    pub log: PathBuf,
}

impl Agent {
    /// Starts `gw-agent run ARGS` in `ns`, logging to a file (shown on failure).
    pub fn start(ns: &Netns, args: &[&str]) -> Agent {
        Self::start_wrapped(ns, &[], args)
    }

    /// Like `start`, with the agent run through `wrapper` (e.g. setpriv
    /// with a user and capabilities).
    pub fn start_wrapped(ns: &Netns, wrapper: &[&str], args: &[&str]) -> Agent {
        let log = std::env::temp_dir().join(format!("{}-agent.log", ns.name));
        let file = std::fs::File::create(&log).expect("log file");
        let bin = bin();
        let (program, rest): (&str, Vec<&str>) = match wrapper.split_first() {
            Some((p, r)) => (
                p,
                r.iter()
                    .copied()
                    .chain([bin.to_str().expect("utf-8 path")])
                    .collect(),
            ),
            None => (bin.to_str().expect("utf-8 path"), Vec::new()),
        };
        let child = ns
            .command(program)
            .args(rest)
            .arg("run")
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("spawn gw-agent");
        Agent {
            child,
            ns: ns.name.clone(),
            log,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    /// Sends `sig` and waits for the exit; returns whether it exited 0.
    pub fn stop(&mut self, sig: i32) -> bool {
        self.signal(sig);
        self.child.wait().map(|s| s.success()).unwrap_or(false)
    }

    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if self.running() {
            self.signal(libc::SIGKILL);
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- agent log ({}) ---\n{}", self.ns, self.log());
        }
    }
}

/// One group with fast timers (hello 100 ms, hold 400 ms) on lan0: the
/// quick form most single-router tests use.
pub const QUICK: &[&str] = &[
    "--interface",
    "lan0",
    "--group",
    "1",
    "--vip",
    "192.0.2.1",
    "--hello-ms",
    "100",
    "--hold-ms",
    "400",
];

/// True once the agent in `ns` reports group 1 Active (control plane) and
/// the data plane answers as AVG with a live lease.
pub fn is_active(ns: &Netns) -> bool {
    try_status(ns).is_ok_and(|s| {
        s[0]["agent"]["groups"][0]["state"] == "Active"
            && s[0]["groups"][0]["avg"] == true
            && s[0]["groups"][0]["lease_ms"].as_u64().unwrap_or(0) > 0
    })
}

/// Waits (up to 10 s) until `is_active`; panics with the agent's log.
pub fn wait_active(ns: &Netns, a: &Agent) {
    let ok = crate::wait::until(std::time::Duration::from_secs(10), || {
        is_active(ns).then_some(())
    });
    assert!(
        ok.is_some(),
        "agent in {} never became AVG:\n{}",
        ns.name,
        a.log()
    );
}

/// `gw-agent status ARGS` (text) in `ns`.
pub fn status_text(ns: &Netns, args: &[&str]) -> String {
    let o = ns
        .command(bin().to_str().expect("utf-8 path"))
        .arg("status")
        .args(args)
        .output()
        .expect("status");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `gw-agent status --json` in `ns`, parsed.
pub fn status(ns: &Netns) -> serde_json::Value {
    try_status(ns).unwrap_or_else(|e| panic!("status in {}: {e}", ns.name))
}

/// Like `status`, but an error (e.g. an agent still creating its pins) is
/// returned, for polling.
pub fn try_status(ns: &Netns) -> Result<serde_json::Value, String> {
    let o = ns
        .command(bin().to_str().expect("utf-8 path"))
        .args(["status", "--json"])
        .output()
        .map_err(|e| e.to_string())?;
    if !o.status.success() {
        return Err(String::from_utf8_lossy(&o.stderr).into_owned());
    }
    serde_json::from_slice(&o.stdout).map_err(|e| e.to_string())
}

/// One GET /metrics from the agent's endpoint on 127.0.0.1:`port` inside
/// namespace `ns`; the whole response, or None if it did not answer.
pub fn scrape(ns: &str, port: u16) -> Option<String> {
    use std::io::{Read, Write};
    let ns = ns.to_string();
    std::thread::spawn(move || {
        crate::probe::enter_netns(&ns).ok()?;
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .ok()?;
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    })
    .join()
    .ok()
    .flatten()
}
