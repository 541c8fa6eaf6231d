//! Script tracking: an operator's check, run on an interval with a
//! timeout; exit 0 means up.

use std::{path::Path, time::Duration};

use tokio::sync::mpsc::UnboundedSender;

use super::Change;

/// Runs the script every `every` (a run that overruns delays the next,
/// never overlaps it) and reports object `id` when its result changes.
pub(super) async fn watch(
    id: usize,
    path: std::path::PathBuf,
    every: Duration,
    timeout: Duration,
    tx: UnboundedSender<Change>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = None;
    loop {
        tick.tick().await;
        let (up, why) = run_script(&path, timeout).await;
        if last != Some(up) {
            last = Some(up);
            if tx.send(Change { id, up, why }).is_err() {
                return;
            }
        }
    }
}

/// Runs `path` (no shell, no arguments) in its own process group; up when
/// it exits 0 within `timeout`. A script still running then is killed
/// with its whole group, so a hung check never piles up processes.
pub async fn run_script(path: &Path, timeout: Duration) -> (bool, String) {
    let mut cmd = tokio::process::Command::new(path);
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return (false, format!("cannot run: {e}")),
    };
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(s)) if s.success() => (true, "exit 0".into()),
        Ok(Ok(s)) => (false, format!("{s}")),
        Ok(Err(e)) => (false, format!("wait: {e}")),
        Err(_) => {
            if let Some(pid) = child.id() {
                // SAFETY: kill(2) on the process group we created above.
                unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
            }
            let _ = child.wait().await;
            (false, format!("timed out after {} ms", timeout.as_millis()))
        }
    }
}
