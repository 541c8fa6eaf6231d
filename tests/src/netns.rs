//! A network namespace that deletes itself, and commands run inside it.

use std::{
    process::{Child, Command, Output, Stdio},
    sync::atomic::{AtomicU32, Ordering},
};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A short prefix unique to this process and call: `gt<pid>x<n>`.
pub fn unique_prefix() -> String {
    format!(
        "gt{}x{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(name: &str) -> Netns {
        run_ok(Command::new("ip").args(["netns", "add", name]));
        let ns = Netns { name: name.into() };
        ns.ok("ip link set lo up");
        ns
    }

    /// `ip netns exec NAME sh -c CMD`, output captured.
    pub fn sh(&self, cmd: &str) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name, "sh", "-c", cmd])
            .output()
            .expect("ip netns exec")
    }

    /// Like `sh`, panicking with the output on failure.
    pub fn ok(&self, cmd: &str) -> String {
        let o = self.sh(cmd);
        assert!(
            o.status.success(),
            "[{}] {cmd}: {}{}",
            self.name,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// A command in this namespace that keeps the caller's mount namespace
    /// (nsenter, not `ip netns exec`, which remounts /sys and so hides the
    /// shared bpffs the agent pins into).
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/run/netns/{}", self.name))
            .arg(program);
        c
    }

    pub fn spawn(&self, cmd: &str) -> Child {
        self.command("sh")
            .args(["-c", cmd])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Kill whatever still runs inside, then delete (veths go with it).
        let _ = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
            .map(|o| {
                for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-9", pid]).status();
                }
            });
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
        // Pins the agent left (SIGKILL tests) live in the shared bpffs.
        let _ = std::fs::remove_dir_all(format!("/sys/fs/bpf/gw/{}", self.name));
        // And the control socket of an agent that did not stop cleanly.
        let _ = std::fs::remove_dir_all(format!("/run/gw/{}", self.name));
    }
}

pub fn run_ok(c: &mut Command) -> String {
    let o = c.output().expect("spawn");
    assert!(
        o.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}
