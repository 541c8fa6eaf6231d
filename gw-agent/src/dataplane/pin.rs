//! Where pins live, and the bpffs they need.
//!
//! Several gateways in namespaces of one host may all name their interface
//! eth0, so the directory is per network namespace and interface:
//! /sys/fs/bpf/gw/<netns>/<interface>, where <netns> is the name under
//! /run/netns (as `ip netns` knows it), "root" for the initial namespace, or
//! "ns-<inode>" for an unnamed one.

use std::{
    fs,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
};

use super::DataplaneError;

pub const BPFFS: &str = "/sys/fs/bpf";
const BPF_FS_MAGIC: i64 = 0xcafe4a11;

/// Mounts bpffs on /sys/fs/bpf when it is missing (as bpftool does).
pub fn ensure_bpffs() -> Result<(), DataplaneError> {
    if is_bpffs(Path::new(BPFFS)) {
        return Ok(());
    }
    fs::create_dir_all(BPFFS).map_err(|e| DataplaneError::Bpffs(format!("mkdir {BPFFS}: {e}")))?;
    let c = |s: &str| std::ffi::CString::new(s).expect("no NUL in constant");
    let (src, target, fstype) = (c("bpf"), c(BPFFS), c("bpf"));
    // SAFETY: valid NUL-terminated strings; no data argument.
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(DataplaneError::Bpffs(format!(
            "mount bpf on {BPFFS}: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}

fn is_bpffs(path: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: zeroed statfs is a valid out-parameter.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid path and out-pointer.
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut st) };
    rc == 0 && st.f_type as i64 == BPF_FS_MAGIC
}

/// The label of the network namespace this process runs in.
pub fn netns_label() -> String {
    let Ok(me) = fs::metadata("/proc/self/ns/net") else {
        return "root".into();
    };
    if fs::metadata("/proc/1/ns/net").is_ok_and(|m| m.ino() == me.ino() && m.dev() == me.dev()) {
        return "root".into();
    }
    if let Ok(entries) = fs::read_dir("/run/netns") {
        for e in entries.flatten() {
            if e.metadata().is_ok_and(|m| m.ino() == me.ino()) {
                return e.file_name().to_string_lossy().into_owned();
            }
        }
    }
    format!("ns-{}", me.ino())
}

/// /sys/fs/bpf/gw/<netns>/<interface>
pub fn dir_for(ifname: &str) -> Result<PathBuf, DataplaneError> {
    crate::config::validate_ifname(ifname).map_err(|e| DataplaneError::Pin {
        dir: PathBuf::from(BPFFS),
        reason: e.to_string(),
    })?;
    Ok(Path::new(BPFFS).join("gw").join(netns_label()).join(ifname))
}

/// Removes every pin in `dir` and the directory itself, and the netns
/// directory if empty. /sys/fs/bpf/gw itself stays: removing a shared
/// parent races with another agent creating its own directory under it.
/// Unpinning the link detaches the program once no process holds it open.
pub fn remove_pins(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            let _ = fs::remove_file(e.path());
        }
    }
    let _ = fs::remove_dir(dir);
    if let Some(ns) = dir.parent() {
        let _ = fs::remove_dir(ns); // fails while other interfaces remain
    }
}

/// `create_dir_all`, retried when another agent of this netns removes the
/// (empty) netns directory between our mkdirs.
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    let mut tries = 0;
    loop {
        match fs::create_dir_all(dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && tries < 5 => tries += 1,
            r => return r,
        }
    }
}
