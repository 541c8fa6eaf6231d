//! Key files: readable by their owner only, or refused.

use std::{os::unix::fs::MetadataExt, path::Path};

/// Reads a key (trailing newline stripped). Refuses files that group or
/// others can read or write: a key anyone can read authenticates no one.
pub fn read_key(path: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{}: not a regular file", path.display()));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "{}: mode {mode:03o} lets others read it; chmod 600 (owner only)",
            path.display()
        ));
    }
    let mut key = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    while key.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        key.pop();
    }
    if key.len() < 16 {
        return Err(format!(
            "{}: key is {} bytes; use at least 16",
            path.display(),
            key.len()
        ));
    }
    Ok(key)
}
