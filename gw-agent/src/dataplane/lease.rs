//! GW_LEASES mapped into the agent's memory (the map is BPF_F_MMAPABLE):
//! renewing a group's lease on every hello is then a plain store, not a
//! bpf(2) call. With a thousand groups that call was a third of the idle
//! agent's system calls.

use std::{
    os::fd::{AsFd, AsRawFd},
    ptr::NonNull,
    sync::atomic::{AtomicU64, Ordering},
};

use aya::maps::MapData;
use gw_common::MAX_GROUPS;

/// The lease array's values, shared with the kernel.
pub struct LeaseMmap {
    base: NonNull<AtomicU64>,
    len: usize,
}

// SAFETY: the mapping is plain shared memory owned by this value; every
// access goes through atomics.
unsafe impl Send for LeaseMmap {}

impl LeaseMmap {
    /// Maps `data` (GW_LEASES: u64 values, MAX_GROUPS entries). Fails when
    /// the map was created without BPF_F_MMAPABLE (pins of an older agent).
    pub fn map(data: &MapData) -> std::io::Result<Self> {
        let len = (MAX_GROUPS as usize * size_of::<u64>()).next_multiple_of(page_size());
        // SAFETY: a fresh shared mapping of the map's fd; the kernel checks
        // the size against the map and refuses non-mmapable maps.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                data.fd().as_fd().as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let base = NonNull::new(p.cast()).ok_or_else(std::io::Error::last_os_error)?;
        Ok(LeaseMmap { base, len })
    }

    /// Sets group index `idx`'s lease; `false` if out of range.
    pub fn set(&self, idx: u16, until_ns: u64) -> bool {
        if usize::from(idx) >= MAX_GROUPS as usize {
            return false;
        }
        // SAFETY: in bounds (checked above), 8-byte aligned (page-aligned
        // base, u64 values), and the mapping lives as long as `self`.
        unsafe { self.base.add(usize::from(idx)).as_ref() }.store(until_ns, Ordering::Relaxed);
        true
    }
}

impl Drop for LeaseMmap {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `map` mapped.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as usize,
        _ => 4096,
    }
}
