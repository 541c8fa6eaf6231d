//! The only code that touches aya: load, attach and pin the XDP program,
//! adopt a pinned one, write the desired state into its maps, read counters.
//!
//! Pins live in /sys/fs/bpf/gw/<netns>/<interface>/ (see `pin`): one map per
//! file named as in `gw_common::map_names`, plus `link` for the XDP link. As
//! long as `link` is pinned the program stays attached, so the data plane
//! outlives the agent; the lease in `GW_LEASES` bounds how long.

pub mod clients;
mod groups6;
mod lease;
mod maps;
pub mod pin;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use aya::{
    Ebpf, EbpfLoader,
    programs::{
        Xdp, XdpMode as AyaMode,
        links::{FdLink, PinnedLink},
        xdp::XdpLink,
    },
};
use gw_common::{
    GROUP_FLAG_AVG, GroupKey, GroupValue, IfConfig, MAX_GROUPS, MacKey, SLOT_TABLE_LEN, Slot,
    SlotTable, VmacValue, XDP_MODE_GENERIC, XDP_MODE_NATIVE, map_names,
};
pub use maps::Maps;
use tracing::{info, warn};

use crate::config::XdpMode;

/// The compiled XDP object, built by build.rs through aya-build.
pub static EBPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/gw"));

#[derive(Debug, thiserror::Error)]
pub enum DataplaneError {
    #[error("bpffs: {0}")]
    Bpffs(String),
    #[error("loading the XDP object: {0}")]
    Load(#[from] aya::EbpfError),
    #[error("XDP program: {0}")]
    Program(#[from] aya::programs::ProgramError),
    #[error("map {name}: {reason}")]
    Map { name: &'static str, reason: String },
    #[error("map {0} missing from the object")]
    MissingMap(&'static str),
    #[error("attaching to {ifname}: {reason}")]
    Attach { ifname: String, reason: String },
    #[error("pins in {dir}: {reason}")]
    Pin { dir: PathBuf, reason: String },
    #[error("no room for another group (at most {MAX_GROUPS})")]
    GroupsFull,
}

impl DataplaneError {
    pub(crate) fn map(name: &'static str, reason: impl std::fmt::Display) -> Self {
        Self::Map {
            name,
            reason: reason.to_string(),
        }
    }
}

/// Reads the program's `aya_log_ebpf` records into the `log` facade.
pub type XdpLogger = aya_log::EbpfLogger<&'static dyn log::Log>;

/// What the agent asks for one group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSpec {
    pub key: GroupKey,
    pub group: u16,
    pub avg: bool,
    pub mode: u8,
    /// The policy's slot table (at most `SLOT_TABLE_LEN` entries).
    pub slots: Vec<Slot>,
    /// The group's virtual IPv6 addresses (at most `MAX_VIP6_PER_GROUP`),
    /// answered in GW_GROUPS6 with the same group value as `key`.
    pub vip6: Vec<[u8; 16]>,
}

pub struct Dataplane {
    /// Keeps the program (and so the link) alive while the agent runs.
    _ebpf: Ebpf,
    pub maps: Maps,
    dir: PathBuf,
    mode: u8,
    adopted: bool,
    /// What is in GW_GROUPS and the live slot tables, as last written.
    written: BTreeMap<GroupKey, (GroupValue, Vec<Slot>)>,
    /// GW_VMACS as last written (None: not known yet, read the map).
    vmacs_written: Option<BTreeMap<MacKey, VmacValue>>,
    /// What is in GW_GROUPS6, by the IPv4 key of its group.
    written6: BTreeMap<GroupKey, Vec<gw_common::GroupKey6>>,
    logger: Option<XdpLogger>,
}

/// One group of an adopted data plane with a live lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdoptedGroup {
    pub avg: bool,
    pub owned: Vec<u8>,
    pub handed_out: Vec<u8>,
}

/// Where the program should run and with what.
pub struct AttachSpec<'a> {
    pub ifname: &'a str,
    pub mac: [u8; 6],
    pub mode: XdpMode,
    /// Driver name (ethtool), to pick generic mode on veth in `auto`.
    pub driver: Option<&'a str>,
    pub client_cache: u32,
    /// Groups configured now; sizes the per-forwarder counters.
    pub groups: usize,
    pub arp_rate: crate::config::ArpRateLimit,
}

/// Rows of GW_FWD_STATS: 256 per group index, for a power of two of group
/// indices (at least 16) so a reload adding a few groups still has rows.
pub fn fwd_stats_rows(groups: usize) -> u32 {
    let idx = groups.clamp(16, MAX_GROUPS as usize).next_power_of_two() as u32;
    idx.min(MAX_GROUPS) * gw_common::FWD_STATS_PER_GROUP
}

impl Dataplane {
    /// Loads and attaches, or adopts the program a previous agent left
    /// pinned (atomically replacing its code, keeping its maps).
    pub fn open(spec: &AttachSpec) -> Result<Self, DataplaneError> {
        pin::ensure_bpffs()?;
        let dir = pin::dir_for(spec.ifname)?;
        let link_pin = dir.join("link");
        let adopt = link_pin.exists();
        if !adopt {
            // Maps without a link are leftovers of an agent that died while
            // starting: begin from empty maps.
            pin::remove_pins(&dir);
        }
        pin::create_dir(&dir).map_err(|e| DataplaneError::Pin {
            dir: dir.clone(),
            reason: e.to_string(),
        })?;

        let mut loader = EbpfLoader::new();
        let paths: Vec<(&'static str, PathBuf)> =
            map_names::ALL.iter().map(|n| (*n, dir.join(n))).collect();
        for (name, path) in &paths {
            loader.map_pin_path(name, path.as_path());
        }
        loader.map_max_entries(map_names::CLIENTS, spec.client_cache);
        // One counter row per possible forwarder of each group slot we may
        // use, not of all 1024: per-CPU memory adds up on big routers.
        loader.map_max_entries(map_names::FWD_STATS, fwd_stats_rows(spec.groups));
        let mut ebpf = loader.load(EBPF_OBJECT)?;
        // Only the program's rare warnings go through it. The logger owns
        // the log ring buffer, so it must live as long as the program.
        let logger = aya_log::EbpfLogger::init(&mut ebpf)
            .inspect_err(|e| warn!("XDP logging unavailable: {e}"))
            .ok();
        let prog: &mut Xdp = prog_of(&mut ebpf)?;
        prog.load()?;

        let mut adopted = false;
        if adopt {
            match Self::adopt_link(prog, &link_pin) {
                Ok(()) => adopted = true,
                Err(e) => {
                    warn!(
                        "pinned XDP link in {} unusable ({e}); attaching afresh",
                        dir.display()
                    );
                    let _ = std::fs::remove_file(&link_pin);
                }
            }
        }
        let mut maps = Maps::from_ebpf(&mut ebpf)?;
        let mode = if adopted {
            maps.config.get(&0, 0).map(|c| c.xdp_mode).unwrap_or(0)
        } else {
            Self::attach(prog_of(&mut ebpf)?, spec, &link_pin)
                .inspect_err(|_| pin::remove_pins(&dir))?
        };
        let cfg = IfConfig {
            mac: spec.mac,
            xdp_mode: mode,
            _pad: 0,
            arp_rate_pps: spec.arp_rate.per_mac_pps,
            arp_burst: spec.arp_rate.burst,
        };
        maps.config
            .set(0, cfg, 0)
            .map_err(|e| DataplaneError::map(map_names::CONFIG, e))?;

        let mut dp = Self {
            _ebpf: ebpf,
            maps,
            dir,
            mode,
            adopted,
            written: BTreeMap::new(),
            vmacs_written: None,
            written6: BTreeMap::new(),
            logger,
        };
        if adopted {
            dp.load_written();
        }
        Ok(dp)
    }

    fn adopt_link(prog: &mut Xdp, link_pin: &Path) -> Result<(), String> {
        let pinned = PinnedLink::from_pin(link_pin).map_err(|e| e.to_string())?;
        let fd: FdLink = pinned.into();
        let link = XdpLink::try_from(fd).map_err(|e| e.to_string())?;
        prog.attach_to_link(link).map_err(|e| e.to_string())?;
        Ok(())
    }

    fn attach(prog: &mut Xdp, spec: &AttachSpec, link_pin: &Path) -> Result<u8, DataplaneError> {
        let err = |reason: String| DataplaneError::Attach {
            ifname: spec.ifname.into(),
            reason,
        };
        let veth = spec.driver == Some("veth");
        let tries: &[(AyaMode, u8)] = match spec.mode {
            XdpMode::Native => &[(AyaMode::Driver, XDP_MODE_NATIVE)],
            XdpMode::Generic => &[(AyaMode::Skb, XDP_MODE_GENERIC)],
            // On veth, native XDP_TX drops frames unless the peer runs XDP
            // too, so auto picks generic there.
            XdpMode::Auto if veth => &[(AyaMode::Skb, XDP_MODE_GENERIC)],
            XdpMode::Auto => &[
                (AyaMode::Driver, XDP_MODE_NATIVE),
                (AyaMode::Skb, XDP_MODE_GENERIC),
            ],
        };
        let mut last = String::new();
        for (flags, mode) in tries {
            match prog.attach(spec.ifname, *flags) {
                Ok(id) => {
                    let link = prog.take_link(id)?;
                    let fd = FdLink::try_from(link).map_err(|e| {
                        err(format!(
                            "kernel gave no bpf_link ({e}); pinning needs Linux >= 5.9"
                        ))
                    })?;
                    fd.pin(link_pin)
                        .map_err(|e| err(format!("pin link: {e}")))?;
                    return Ok(*mode);
                }
                Err(e) => {
                    last = e.to_string();
                    if let Some(src) = std::error::Error::source(&e) {
                        last = format!("{last}: {src}");
                    }
                    info!(
                        ifname = spec.ifname,
                        "XDP {} mode refused: {last}",
                        mode_name(*mode)
                    );
                }
            }
        }
        Err(err(last))
    }

    /// After adoption: learn what the previous agent wrote.
    fn load_written(&mut self) {
        let entries: Vec<_> = self.maps.groups.iter().filter_map(Result::ok).collect();
        for (k, v) in entries {
            let slots = self.read_table(v.slot_row());
            self.written.insert(k, (v, slots));
        }
        self.load_written6();
    }

    fn read_table(&self, row: u32) -> Vec<Slot> {
        match self.maps.slots.get(&row, 0) {
            Ok(t) => t.slots[..(t.len as usize).min(SLOT_TABLE_LEN)].to_vec(),
            Err(_) => Vec::new(),
        }
    }

    /// The program's log reader, for the runtime to poll (see `runtime`).
    pub fn take_logger(&mut self) -> Option<XdpLogger> {
        self.logger.take()
    }

    pub fn mode(&self) -> &'static str {
        mode_name(self.mode)
    }

    /// True when this agent took over a pinned program instead of attaching.
    pub fn adopted(&self) -> bool {
        self.adopted
    }

    pub fn pin_dir(&self) -> &Path {
        &self.dir
    }

    /// Groups as the previous agent left them (after adoption).
    pub fn written(&self) -> impl Iterator<Item = (&GroupKey, &GroupValue)> {
        self.written.iter().map(|(k, (v, _))| (k, v))
    }

    /// What the adopted data plane was doing for `key`, if its lease is
    /// still running (after that it answers nothing and there is nothing
    /// to resume).
    pub fn adopted_state(&self, key: &GroupKey) -> Option<AdoptedGroup> {
        let (v, slots) = self.written.get(key)?;
        let lease = self.maps.leases.get(&(v.idx as u32), 0).ok()?;
        if lease <= monotonic_ns() {
            return None;
        }
        let mut owned: Vec<u8> = self
            .maps
            .vmacs
            .iter()
            .filter_map(Result::ok)
            .filter(|(_, x)| x.idx == v.idx)
            .map(|(_, x)| x.fwd)
            .collect();
        owned.sort_unstable();
        let mut handed_out: Vec<u8> = slots.iter().map(|s| s.fwd).collect();
        handed_out.sort_unstable();
        handed_out.dedup();
        Some(AdoptedGroup {
            avg: v.flags & GROUP_FLAG_AVG != 0,
            owned,
            handed_out,
        })
    }

    /// Writes one group; a changed slot table goes into the spare buffer and
    /// becomes live with the group value, so no reader sees it half-written.
    pub fn set_group(&mut self, spec: &GroupSpec) -> Result<u16, DataplaneError> {
        let prev = self.written.get(&spec.key).cloned();
        let idx = match &prev {
            Some((v, _)) => v.idx,
            None => self.free_idx()?,
        };
        let mut value = prev.as_ref().map(|(v, _)| *v).unwrap_or(GroupValue {
            idx,
            group: spec.group,
            flags: 0,
            mode: spec.mode,
            table: 1,
            _pad: 0,
        });
        let slots: Vec<Slot> = spec.slots.iter().take(SLOT_TABLE_LEN).copied().collect();
        let table_changed = prev.as_ref().is_none_or(|(_, s)| *s != slots);
        if table_changed {
            let mut t = SlotTable {
                len: slots.len() as u32,
                ..SlotTable::default()
            };
            t.slots[..slots.len()].copy_from_slice(&slots);
            value.table ^= 1;
            self.maps
                .slots
                .set(value.slot_row(), t, 0)
                .map_err(|e| DataplaneError::map(map_names::SLOTS, e))?;
        }
        value.group = spec.group;
        value.mode = spec.mode;
        value.flags = if spec.avg { GROUP_FLAG_AVG } else { 0 };
        let changed = prev.as_ref().is_none_or(|(v, _)| *v != value);
        if changed {
            self.maps
                .groups
                .insert(spec.key, value, 0)
                .map_err(|e| DataplaneError::map(map_names::GROUPS, e))?;
        }
        self.written.insert(spec.key, (value, slots));
        self.set_vip6(&spec.key, value, &spec.vip6, changed)?;
        Ok(idx)
    }

    pub fn remove_group(&mut self, key: &GroupKey) {
        self.remove_vip6(key);
        if let Some((v, _)) = self.written.remove(key) {
            let _ = self.maps.groups.remove(key);
            let _ = self.maps.leases.set(v.idx as u32, 0, 0);
        }
    }

    pub fn group_idx(&self, key: &GroupKey) -> Option<u16> {
        self.written.get(key).map(|(v, _)| v.idx)
    }

    fn free_idx(&self) -> Result<u16, DataplaneError> {
        let used: std::collections::BTreeSet<u16> =
            self.written.values().map(|(v, _)| v.idx).collect();
        (0..MAX_GROUPS as u16)
            .find(|i| !used.contains(i))
            .ok_or(DataplaneError::GroupsFull)
    }

    /// Extends the group's lease to `until_ns` (CLOCK_MONOTONIC).
    pub fn renew_lease(&mut self, idx: u16, until_ns: u64) -> Result<(), DataplaneError> {
        if let Some(m) = &self.maps.lease_mmap
            && m.set(idx, until_ns)
        {
            return Ok(());
        }
        self.maps
            .leases
            .set(idx as u32, until_ns, 0)
            .map_err(|e| DataplaneError::map(map_names::LEASES, e))
    }

    /// Makes GW_VMACS hold exactly `desired`.
    pub fn set_vmacs(
        &mut self,
        desired: &BTreeMap<MacKey, VmacValue>,
    ) -> Result<(), DataplaneError> {
        // Called after every change of any group: compare with what we
        // wrote last (read from the map once, at start or adoption), so an
        // unchanged set costs no syscall even with a thousand groups.
        let current = match &self.vmacs_written {
            Some(c) if c == desired => return Ok(()),
            Some(c) => c.clone(),
            None => self.maps.vmacs.iter().filter_map(Result::ok).collect(),
        };
        for (k, v) in desired {
            if current.get(k) != Some(v) {
                self.maps
                    .vmacs
                    .insert(k, v, 0)
                    .map_err(|e| DataplaneError::map(map_names::VMACS, e))?;
            }
        }
        for k in current.keys() {
            if !desired.contains_key(k) {
                let _ = self.maps.vmacs.remove(k);
            }
        }
        self.vmacs_written = Some(desired.clone());
        Ok(())
    }

    /// Clean shutdown: detach (by unpinning the link) and remove every pin.
    pub fn detach_and_unpin(self) {
        let dir = self.dir.clone();
        drop(self);
        pin::remove_pins(&dir);
    }
}

/// Loads the program and creates fresh, unpinned maps without attaching
/// it anywhere: for BPF_PROG_TEST_RUN tests and benchmarks.
pub fn load_unattached(client_cache: u32) -> Result<(Ebpf, Maps), DataplaneError> {
    let mut ebpf = EbpfLoader::new()
        .map_max_entries(map_names::CLIENTS, client_cache)
        .load(EBPF_OBJECT)?;
    prog_of(&mut ebpf)?.load()?;
    let maps = Maps::from_ebpf(&mut ebpf)?;
    Ok((ebpf, maps))
}

/// The XDP program inside a loaded object.
pub fn prog_of(ebpf: &mut Ebpf) -> Result<&mut Xdp, DataplaneError> {
    let p = ebpf.program_mut(gw_common::PROGRAM_NAME).ok_or_else(|| {
        DataplaneError::map("program", format!("{} missing", gw_common::PROGRAM_NAME))
    })?;
    Ok(p.try_into()?)
}

pub fn mode_name(mode: u8) -> &'static str {
    match mode {
        XDP_MODE_NATIVE => "native",
        XDP_MODE_GENERIC => "generic",
        _ => "unknown",
    }
}

/// CLOCK_MONOTONIC in ns: the clock `bpf_ktime_get_ns` reads.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer to a timespec; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
