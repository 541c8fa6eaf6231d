//! The client cache (GW_CLIENTS, an LRU hash the XDP program fills): read
//! it whole and drop entries not seen for the configured timeout.
//!
//! A cache can hold up to a million hosts. Walking it with aya's iterator
//! costs two syscalls per entry (next key, then lookup), about a second
//! for a million; BPF_MAP_LOOKUP_BATCH (Linux 5.6+) reads thousands of
//! entries per syscall. The walk is the fallback where batches are refused.

use std::os::fd::{AsFd, AsRawFd};

use aya::maps::{HashMap, IterableMap, MapData};
use gw_common::{ClientKey, ClientValue};

pub type ClientMap = HashMap<MapData, ClientKey, ClientValue>;

/// Entries per batch syscall; a hash bucket never holds more.
const BATCH: usize = 4096;

const BPF_MAP_LOOKUP_BATCH: libc::c_long = 24;
const BPF_MAP_DELETE_BATCH: libc::c_long = 27;

/// `union bpf_attr`'s `batch` member (include/uapi/linux/bpf.h).
#[repr(C)]
#[derive(Default)]
struct BatchAttr {
    in_batch: u64,
    out_batch: u64,
    keys: u64,
    values: u64,
    count: u32,
    map_fd: u32,
    elem_flags: u64,
    flags: u64,
}

fn bpf(cmd: libc::c_long, attr: &mut BatchAttr) -> std::io::Result<()> {
    // SAFETY: attr is a valid bpf_attr prefix for the batch commands; the
    // pointers in it reference buffers that outlive the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut BatchAttr,
            size_of::<BatchAttr>() as libc::c_uint,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Every entry, in batches where the kernel supports it.
pub fn dump(map: &ClientMap) -> Vec<(ClientKey, ClientValue)> {
    let mut out = Vec::new();
    visit(map, &mut |e| match e {
        Some((k, v)) => out.push((*k, *v)),
        None => out.clear(),
    });
    out
}

/// Hosts per (group index, forwarder), read in batches without holding
/// the whole cache (100k hosts) in memory.
pub fn count_by_forwarder(map: &ClientMap) -> std::collections::BTreeMap<(u16, u8), u64> {
    let mut n = std::collections::BTreeMap::new();
    visit(map, &mut |e| match e {
        Some((k, v)) => *n.entry((k.idx, v.fwd)).or_default() += 1,
        None => n.clear(),
    });
    n
}

/// An entry, or `None`: forget what came so far, the walk starts over.
type Visitor<'a> = dyn FnMut(Option<(&ClientKey, &ClientValue)>) + 'a;

/// Calls `each` for every entry. If a batched walk breaks off midway, it
/// calls `each(None)` and walks again entry by entry.
fn visit(map: &ClientMap, each: &mut Visitor) {
    if visit_batched(map, each).is_none() {
        each(None);
        for (k, v) in map.iter().filter_map(Result::ok) {
            each(Some((&k, &v)));
        }
    }
}

fn visit_batched(map: &ClientMap, each: &mut Visitor) -> Option<()> {
    let fd = map.map().fd().as_fd().as_raw_fd() as u32;
    let mut keys = vec![ClientKey::default(); BATCH];
    let mut values = vec![ClientValue::default(); BATCH];
    // The hash map's batch token is a bucket index (u32).
    let (mut token_in, mut token_out) = (0u32, 0u32);
    let mut first = true;
    loop {
        let mut attr = BatchAttr {
            in_batch: if first {
                0
            } else {
                &token_in as *const u32 as u64
            },
            out_batch: &mut token_out as *mut u32 as u64,
            keys: keys.as_mut_ptr() as u64,
            values: values.as_mut_ptr() as u64,
            count: BATCH as u32,
            map_fd: fd,
            ..BatchAttr::default()
        };
        let r = bpf(BPF_MAP_LOOKUP_BATCH, &mut attr);
        let n = (attr.count as usize).min(BATCH);
        match r {
            Ok(()) => {}
            // The end: the last entries came with it.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                keys[..n]
                    .iter()
                    .zip(&values[..n])
                    .for_each(|e| each(Some(e)));
                return Some(());
            }
            // Unsupported, or mid-walk trouble (a bucket too big for
            // BATCH): the caller walks entry by entry instead.
            Err(_) => return None,
        }
        keys[..n]
            .iter()
            .zip(&values[..n])
            .for_each(|e| each(Some(e)));
        token_in = token_out;
        first = false;
    }
}

/// Removes every entry last seen before `cutoff_ns` (CLOCK_MONOTONIC);
/// returns how many went. An entry the program refreshes between the read
/// and the delete is lost; the host is simply learned again at its next
/// ARP request or frame.
pub fn prune(map: &mut ClientMap, cutoff_ns: u64) -> usize {
    let stale: Vec<ClientKey> = dump(map)
        .into_iter()
        .filter(|(_, v)| v.last_seen_ns < cutoff_ns)
        .map(|(k, _)| k)
        .collect();
    let fd = map.map().fd().as_fd().as_raw_fd() as u32;
    let mut gone = 0;
    for chunk in stale.chunks(BATCH) {
        let mut attr = BatchAttr {
            keys: chunk.as_ptr() as u64,
            count: chunk.len() as u32,
            map_fd: fd,
            ..BatchAttr::default()
        };
        match bpf(BPF_MAP_DELETE_BATCH, &mut attr) {
            Ok(()) => gone += chunk.len(),
            Err(_) => {
                // Refused, or stopped at a key the LRU evicted meanwhile
                // (ENOENT): delete one by one from where it stopped.
                gone += attr.count as usize;
                for k in &chunk[(attr.count as usize).min(chunk.len())..] {
                    if map.remove(k).is_ok() {
                        gone += 1;
                    }
                }
            }
        }
    }
    gone
}

/// GW_CLIENTS opened from its pin in `dir`: a handle of its own, for a
/// blocking task that must not borrow the agent's.
pub fn open_pinned(dir: &std::path::Path) -> Result<ClientMap, super::DataplaneError> {
    let name = gw_common::map_names::CLIENTS;
    let e = |err: &dyn std::fmt::Display| super::DataplaneError::map(name, err);
    let data = MapData::from_pin(dir.join(name)).map_err(|x| e(&x))?;
    let map = aya::maps::Map::from_map_data(data).map_err(|x| e(&x))?;
    ClientMap::try_from(map).map_err(|x| e(&x))
}
