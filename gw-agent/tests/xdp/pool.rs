//! Loaded objects, reused between tests with every map reset.
//!
//! Why not a fresh load per test: a load costs ~150 ms of CPU in a debug
//! build, nearly all of it aya parsing the kernel's BTF
//! (/sys/kernel/btf/vmlinux, `EbpfLoader::new`), and with the object's own
//! sizes another ~250 ms creating GW_FWD_STATS (a per-CPU array of
//! MAX_GROUPS * 256 = 262144 rows, allocated on every CPU). Resetting every
//! map takes a few ms. So:
//! - the pool loads the production object with GW_FWD_STATS cut to
//!   `TEST_GROUPS` groups' rows (the program skips rows it cannot find);
//!   tests use group indexes below `TEST_GROUPS`; `production.rs` covers
//!   the real sizes through `dataplane::load_unattached`;
//! - an object serves one test at a time (its maps are global to it); the
//!   pool grows to as many objects as tests run at once;
//! - `checkout` resets every map to what a fresh load holds and checks it.

use std::sync::Mutex;

use aya::{
    Ebpf, EbpfLoader,
    maps::{MapData, PerCpuArray, PerCpuValues},
};
use gw_agent::dataplane::{DataplaneError, EBPF_OBJECT, Maps, prog_of};
use gw_common::{
    Counter, FWD_STATS_PER_GROUP, FwdStats, GroupStats, IfConfig, MAX_GROUPS, SlotTable, map_names,
};

/// Group indexes whose forwarder counters exist in pooled objects.
pub const TEST_GROUPS: u32 = 8;

pub struct Loaded {
    pub ebpf: Ebpf,
    pub maps: Maps,
}

static POOL: Mutex<Vec<Loaded>> = Mutex::new(Vec::new());

/// An object for one test, its maps as after a fresh load.
pub fn checkout() -> Result<Loaded, DataplaneError> {
    let pooled = POOL.lock().unwrap_or_else(|e| e.into_inner()).pop();
    let mut l = match pooled {
        Some(l) => l,
        None => return load(),
    };
    reset(&mut l.maps);
    assert_fresh(&l.maps);
    Ok(l)
}

pub fn give_back(l: Loaded) {
    POOL.lock().unwrap_or_else(|e| e.into_inner()).push(l);
}

fn load() -> Result<Loaded, DataplaneError> {
    let mut ebpf = EbpfLoader::new()
        .map_max_entries(map_names::FWD_STATS, TEST_GROUPS * FWD_STATS_PER_GROUP)
        .load(EBPF_OBJECT)?;
    prog_of(&mut ebpf)?.load()?;
    let maps = Maps::from_ebpf(&mut ebpf)?;
    Ok(Loaded { ebpf, maps })
}

/// Zeroes arrays and empties hashes, whatever the last test wrote.
fn reset(m: &mut Maps) {
    m.config.set(0, IfConfig::default(), 0).expect("GW_CONFIG");
    for i in 0..MAX_GROUPS {
        m.leases.set(i, 0, 0).expect("GW_LEASES");
        m.rr.set(i, 0, 0).expect("GW_RR");
    }
    let empty = SlotTable::default();
    for row in 0..2 * MAX_GROUPS {
        m.slots.set(row, empty, 0).expect("GW_SLOTS");
    }
    let keys: Vec<_> = m.groups.keys().filter_map(Result::ok).collect();
    for k in keys {
        m.groups.remove(&k).expect("GW_GROUPS");
    }
    let keys: Vec<_> = m.groups6.keys().filter_map(Result::ok).collect();
    for k in keys {
        m.groups6.remove(&k).expect("GW_GROUPS6");
    }
    let keys: Vec<_> = m.vmacs.keys().filter_map(Result::ok).collect();
    for k in keys {
        m.vmacs.remove(&k).expect("GW_VMACS");
    }
    let keys: Vec<_> = m.clients.keys().filter_map(Result::ok).collect();
    for k in keys {
        m.clients.remove(&k).expect("GW_CLIENTS");
    }
    let keys: Vec<_> = m.rate.keys().filter_map(Result::ok).collect();
    for k in keys {
        m.rate.remove(&k).expect("GW_RATE");
    }
    zero(&mut m.stats, Counter::COUNT, 0u64);
    zero(&mut m.group_stats, MAX_GROUPS, GroupStats::default());
    zero(
        &mut m.fwd_stats,
        TEST_GROUPS * FWD_STATS_PER_GROUP,
        FwdStats::default(),
    );
}

fn zero<T: aya::Pod>(map: &mut PerCpuArray<MapData, T>, rows: u32, v: T) {
    let cpus = aya::util::nr_cpus().expect("nr_cpus");
    for i in 0..rows {
        let all = PerCpuValues::try_from(vec![v; cpus]).expect("per-CPU values");
        map.set(i, all, 0).expect("per-CPU array");
    }
}

/// What a fresh load holds: no hash entries, no counts.
fn assert_fresh(m: &Maps) {
    assert_eq!(m.groups.keys().count(), 0);
    assert_eq!(m.groups6.keys().count(), 0);
    assert_eq!(m.vmacs.keys().count(), 0);
    assert_eq!(m.clients.keys().count(), 0);
    for c in Counter::ALL {
        assert_eq!(m.counter(c), 0, "{c:?}");
    }
}
