//! keepalived (the Debian package `cargo xtask setup` installs) as the
//! VRRP baseline: one instance per gateway namespace, VRRPv3 (fractional
//! advert intervals need it), the VIP on lan0 of the master, which then
//! answers ARP for it with its own MAC and sends gratuitous ARP on
//! takeover.
//!
//! Each instance has its config, pid files and log in a temp directory of
//! its own (keepalived's default /run/keepalived.pid would let only one
//! run), is started with nsenter in the namespace, and is killed on drop.

use std::{
    fs::File,
    path::PathBuf,
    process::{Child, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use gw_tests::{Netns, topo::VIP};

/// Seconds from the last advert to a backup taking over
/// (RFC 5798 Master_Down_Interval = 3 * advert + skew).
pub fn master_down(advert_s: f64, backup_priority: u8) -> f64 {
    3.0 * advert_s + (256.0 - f64::from(backup_priority)) * advert_s / 256.0
}

pub struct Keepalived {
    pub ns: String,
    child: Child,
    dir: PathBuf,
}

impl Keepalived {
    /// Starts keepalived in `ns` for the VIP on lan0 as a backup with
    /// `priority` (the highest priority becomes master).
    pub fn start(ns: &Netns, priority: u8, advert_s: f64) -> Result<Keepalived> {
        let dir = std::env::temp_dir().join(format!("{}-keepalived", ns.name));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let conf = dir.join("keepalived.conf");
        std::fs::write(
            &conf,
            format!(
                "global_defs {{\n  router_id {name}\n  vrrp_garp_master_delay 1\n}}\n\
                 vrrp_instance VI_1 {{\n  state BACKUP\n  interface lan0\n  virtual_router_id 51\n  \
                 version 3\n  priority {priority}\n  advert_int {advert_s}\n  \
                 virtual_ipaddress {{\n    {VIP}/24 dev lan0\n  }}\n}}\n",
                name = ns.name
            ),
        )?;
        let log = File::create(dir.join("log"))?;
        let p = |f: &str| dir.join(f).to_string_lossy().into_owned();
        let child = ns
            .command("keepalived")
            .args([
                "--dont-fork",
                "--log-console",
                "--log-detail",
                "--no-syslog",
                "--vrrp",
            ])
            .args([
                "-f",
                &p("keepalived.conf"),
                "-p",
                &p("k.pid"),
                "-r",
                &p("v.pid"),
                "-c",
                &p("c.pid"),
            ])
            .stdout(log.try_clone()?)
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .context("starting keepalived (installed by `cargo xtask setup`)")?;
        Ok(Keepalived {
            ns: ns.name.clone(),
            child,
            dir,
        })
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Clean stop (SIGTERM): keepalived sends a priority-0 advert and
    /// removes the VIP. Returns once it exited.
    pub fn stop(&mut self) -> Result<()> {
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(self.pid(), libc::SIGTERM) };
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        bail!("keepalived in {} did not stop in 10 s", self.ns)
    }
}

impl Drop for Keepalived {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            // The VRRP child first: killed parents may leave it running.
            if let Some(v) = std::fs::read_to_string(self.dir.join("v.pid"))
                .ok()
                .and_then(|s| s.trim().parse::<i32>().ok())
            {
                // SAFETY: kill(2) on keepalived's VRRP process, ours.
                unsafe { libc::kill(v, libc::SIGKILL) };
            }
            // SAFETY: kill(2) on our own child.
            unsafe { libc::kill(self.pid(), libc::SIGKILL) };
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether the VIP is configured on lan0 in `ns` (keepalived's master).
pub fn has_vip(ns: &Netns) -> bool {
    let o = ns.sh("ip -4 -o addr show dev lan0");
    String::from_utf8_lossy(&o.stdout).contains(&format!(" {VIP}/"))
}

/// Waits until exactly `master` (0-based index into `gws`) holds the VIP.
pub fn wait_master(
    gws: &[Netns],
    master: usize,
    timeout: Duration,
    ka: &[Keepalived],
) -> Result<Duration> {
    let t0 = Instant::now();
    loop {
        let holders: Vec<usize> = (0..gws.len()).filter(|&i| has_vip(&gws[i])).collect();
        if holders == [master] {
            return Ok(t0.elapsed());
        }
        if t0.elapsed() > timeout {
            let logs: String = ka
                .iter()
                .map(|k| format!("--- {}\n{}", k.ns, super::gw::tail(&k.log())))
                .collect();
            bail!("keepalived: VIP on {holders:?} after {timeout:?}, want [{master}]\n{logs}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn master_down_interval() {
        // keepalived.conf(5): advert 1 s, priority 128: about 3.5 s.
        assert!((super::master_down(1.0, 128) - 3.5).abs() < 1e-9);
    }
}
