//! The control socket: the agent serves its `AgentStatus`, clients read it.

use std::{
    io::Read,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    time::Duration,
};

use super::AgentStatus;

/// /run/gw/<netns>/<interface>.sock
pub fn path_for(ifname: &str) -> PathBuf {
    Path::new("/run/gw")
        .join(crate::dataplane::pin::netns_label())
        .join(format!("{ifname}.sock"))
}

/// Binds the socket, replacing a stale one; root-only permissions.
pub fn bind(ifname: &str) -> std::io::Result<tokio::net::UnixListener> {
    let path = path_for(ifname);
    let dir = path.parent().expect("socket path has a parent");
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    // A socket file left by a crashed agent: nobody listens on it any more
    // (two agents on one interface would already have failed to attach).
    let _ = std::fs::remove_file(&path);
    let l = tokio::net::UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(l)
}

pub fn unbind(ifname: &str) {
    let path = path_for(ifname);
    let _ = std::fs::remove_file(&path);
    // Only succeeds once the last interface of this netns is gone.
    if let Some(dir) = path.parent() {
        let _ = std::fs::remove_dir(dir);
    }
}

/// Asks the agent serving `ifname`; `None` if no agent answers.
pub fn query(ifname: &str) -> Option<AgentStatus> {
    let mut s = std::os::unix::net::UnixStream::connect(path_for(ifname)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    serde_json::from_slice(&buf).ok()
}
