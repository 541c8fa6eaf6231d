//! Loads gw's XDP program unattached and runs frames through it with
//! BPF_PROG_TEST_RUN, with typed writers for the maps the agent fills and
//! readers for what the program writes back.
//!
//! Each test holds its own loaded object (from the pool in pool.rs, with
//! every map reset to what a fresh load holds), so tests running in
//! parallel threads never see each other's counters or round-robin state.
//!
//! The thread that loads is pinned to the CPU it runs on. The kernel runs
//! XDP test_run on the calling CPU, and the per-CPU state the program keeps
//! (round-robin position, counters) is then deterministic.

use std::time::Duration;

use aya::{
    TestRun, TestRunOptions,
    programs::{ProgramError, Xdp as XdpProg},
};
use gw_agent::dataplane::{DataplaneError, Maps, load_unattached, monotonic_ns, prog_of};
use gw_common::{
    ClientKey, ClientValue, Counter, GroupKey, GroupValue, IfConfig, MacKey, Slot, SlotTable,
    VmacValue,
};

use crate::pool::{self, Loaded};

/// XDP verdicts (`enum xdp_action` in include/uapi/linux/bpf.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Aborted,
    Drop,
    Pass,
    Tx,
    Redirect,
}

impl Verdict {
    fn from_raw(v: u32) -> Self {
        match v {
            0 => Verdict::Aborted,
            1 => Verdict::Drop,
            2 => Verdict::Pass,
            3 => Verdict::Tx,
            4 => Verdict::Redirect,
            other => panic!("XDP program returned {other}, not an xdp_action"),
        }
    }
}

/// The outcome of one run: the verdict and the frame as the program left it.
#[derive(Debug)]
pub struct Run {
    pub verdict: Verdict,
    pub out: Vec<u8>,
    /// Kernel-measured run time (average per repeat).
    pub duration: Duration,
}

/// Lease deadlines far enough ahead that no test outlives them.
pub const LEASE_AHEAD_NS: u64 = 10_000_000_000;

pub struct Xdp {
    /// Always `Some` until dropped (then back to the pool if `pooled`).
    loaded: Option<Loaded>,
    pooled: bool,
}

impl Drop for Xdp {
    fn drop(&mut self) {
        if let (Some(l), true) = (self.loaded.take(), self.pooled) {
            pool::give_back(l);
        }
    }
}

impl Xdp {
    /// The program with maps as a fresh load holds them (GW_FWD_STATS
    /// for `pool::TEST_GROUPS` groups), or `None` (with a printed reason)
    /// where the environment cannot load BPF and CI is not set.
    pub fn load() -> Option<Self> {
        Self::load_from(true, pool::checkout)
    }

    /// A fresh load of the object exactly as the agent loads it, with
    /// `GW_CLIENTS` sized to `client_cache` entries.
    pub fn load_production(client_cache: u32) -> Option<Self> {
        Self::load_from(false, || {
            let (ebpf, maps) = load_unattached(client_cache)?;
            Ok(Loaded { ebpf, maps })
        })
    }

    fn load_from(
        pooled: bool,
        load: impl FnOnce() -> Result<Loaded, DataplaneError>,
    ) -> Option<Self> {
        // test_run runs on the caller's CPU: pinning keeps per-CPU
        // counters of one test on one CPU.
        pin_to_current_cpu();
        match load() {
            Ok(l) => Some(Self {
                loaded: Some(l),
                pooled,
            }),
            Err(e) if is_eperm(&e) && std::env::var("CI").as_deref() != Ok("true") => {
                eprintln!("skipped: loading BPF needs root/CAP_BPF ({e})");
                None
            }
            Err(e) => panic!("loading the XDP program: {e:?}"),
        }
    }

    fn loaded(&mut self) -> &mut Loaded {
        self.loaded.as_mut().expect("loaded until dropped")
    }

    /// The program's maps.
    pub fn maps(&self) -> &Maps {
        &self.loaded.as_ref().expect("loaded until dropped").maps
    }

    pub fn maps_mut(&mut self) -> &mut Maps {
        &mut self.loaded().maps
    }

    fn prog(&mut self) -> &XdpProg {
        prog_of(&mut self.loaded().ebpf).expect("gw_xdp in the object")
    }

    /// Runs `frame` once; the kernel's refusal (e.g. too short) is an `Err`.
    pub fn try_run(&mut self, frame: &[u8]) -> Result<Run, ProgramError> {
        self.try_run_repeat(frame, 1)
    }

    /// Runs `frame` `repeat` times in one syscall. The kernel reuses one
    /// buffer for all repeats, so a frame the program rewrites is seen
    /// rewritten by the next repeat (see `bench::repeat_reuses_the_rewritten_frame`).
    pub fn try_run_repeat(&mut self, frame: &[u8], repeat: u32) -> Result<Run, ProgramError> {
        // Room for any frame the program could grow to; it never grows one.
        let mut out = vec![0u8; frame.len() + 256];
        let r = self.prog().test_run(TestRunOptions {
            data_in: Some(frame),
            data_out: Some(&mut out),
            repeat,
            ..TestRunOptions::default()
        })?;
        out.truncate(r.data_size_out as usize);
        Ok(Run {
            verdict: Verdict::from_raw(r.return_value),
            out,
            duration: r.duration,
        })
    }

    pub fn run(&mut self, frame: &[u8]) -> Run {
        self.try_run(frame)
            .unwrap_or_else(|e| panic!("test_run of a {}-byte frame: {e:?}", frame.len()))
    }

    /// Runs `frame` and checks that exactly one `GW_STATS` counter moved,
    /// by exactly one; returns it with the run. Every verdict is counted
    /// once by reason, so every test goes through here.
    pub fn run_counted(&mut self, frame: &[u8]) -> (Run, Counter) {
        let before = self.counters();
        let run = self.run(frame);
        let moved = delta(&before, &self.counters());
        assert_eq!(
            moved.len(),
            1,
            "exactly one counter per frame, got {moved:?} for {frame:02x?}"
        );
        let (c, n) = moved[0];
        assert_eq!(n, 1, "{c:?} moved by {n} for one frame");
        (run, c)
    }

    /// All `GW_STATS` counters, summed over CPUs, indexed by `Counter`.
    pub fn counters(&self) -> [u64; Counter::COUNT as usize] {
        Counter::ALL.map(|c| self.maps().counter(c))
    }

    // ---- what the agent writes ----

    pub fn set_if_mac(&mut self, mac: [u8; 6]) {
        let cfg = IfConfig {
            mac,
            ..IfConfig::default()
        };
        self.maps_mut().config.set(0, cfg, 0).expect("GW_CONFIG");
    }

    /// Turns the per source MAC ARP limit on (pps > 0) or off.
    pub fn set_rate_limit(&mut self, pps: u32, burst: u32) {
        let mut cfg = self.maps().config.get(&0, 0).expect("GW_CONFIG");
        cfg.arp_rate_pps = pps;
        cfg.arp_burst = burst;
        self.maps_mut().config.set(0, cfg, 0).expect("GW_CONFIG");
    }

    pub fn set_group(&mut self, key: GroupKey, value: GroupValue) {
        self.maps_mut()
            .groups
            .insert(key, value, 0)
            .expect("GW_GROUPS");
    }

    /// Writes slot table `row` (= idx * 2 + buffer) with `slots`.
    pub fn set_table(&mut self, row: u32, slots: &[Slot]) {
        let mut t = SlotTable {
            len: slots.len() as u32,
            ..SlotTable::default()
        };
        t.slots[..slots.len()].copy_from_slice(slots);
        self.set_raw_table(row, t);
    }

    pub fn set_raw_table(&mut self, row: u32, t: SlotTable) {
        self.maps_mut().slots.set(row, t, 0).expect("GW_SLOTS");
    }

    pub fn set_lease(&mut self, idx: u16, deadline_ns: u64) {
        self.maps_mut()
            .leases
            .set(idx as u32, deadline_ns, 0)
            .expect("GW_LEASES");
    }

    /// Lease valid for the rest of the test.
    pub fn renew(&mut self, idx: u16) {
        self.set_lease(idx, monotonic_ns() + LEASE_AHEAD_NS);
    }

    /// Lease that ran out a second ago.
    pub fn expire(&mut self, idx: u16) {
        self.set_lease(idx, monotonic_ns().saturating_sub(1_000_000_000));
    }

    pub fn own_vmac(&mut self, mac: [u8; 6], idx: u16, fwd: u8) {
        let v = VmacValue { idx, fwd, _pad: 0 };
        self.maps_mut()
            .vmacs
            .insert(MacKey::new(mac), v, 0)
            .expect("GW_VMACS");
    }

    pub fn disown_vmac(&mut self, mac: [u8; 6]) {
        self.maps_mut()
            .vmacs
            .remove(&MacKey::new(mac))
            .expect("GW_VMACS");
    }

    // ---- what the program writes ----

    pub fn client(&self, mac: [u8; 6], idx: u16) -> Option<ClientValue> {
        self.maps().clients.get(&ClientKey { mac, idx }, 0).ok()
    }

    pub fn client_count(&self) -> usize {
        self.maps().clients.keys().filter_map(Result::ok).count()
    }

    pub fn insert_client(&mut self, mac: [u8; 6], idx: u16, v: ClientValue) {
        self.maps_mut()
            .clients
            .insert(ClientKey { mac, idx }, v, 0)
            .expect("GW_CLIENTS");
    }

    /// Removes a client entry if it is there (the LRU may have evicted it).
    pub fn remove_client(&mut self, mac: [u8; 6], idx: u16) {
        let _ = self.maps_mut().clients.remove(&ClientKey { mac, idx });
    }

    /// The group's shared round-robin position.
    pub fn rr(&self, idx: u16) -> u64 {
        self.maps().rr.get(&(idx as u32), 0).expect("GW_RR")
    }

    /// Overwrites the group's round-robin position.
    pub fn set_rr(&mut self, idx: u16, rr: u64) {
        self.maps_mut().rr.set(idx as u32, rr, 0).expect("GW_RR");
    }
}

/// Counters that moved between two snapshots, with how much.
pub fn delta(
    before: &[u64; Counter::COUNT as usize],
    after: &[u64; Counter::COUNT as usize],
) -> Vec<(Counter, u64)> {
    Counter::ALL
        .iter()
        .zip(before.iter().zip(after))
        .filter(|(_, (b, a))| a != b)
        .map(|(c, (b, a))| (*c, a - b))
        .collect()
}

fn is_eperm(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.raw_os_error() == Some(libc::EPERM)
        {
            return true;
        }
        cur = err.source();
    }
    // Some aya errors format the io::Error instead of chaining it.
    e.to_string().contains("Operation not permitted")
}

/// Pins the calling thread to the CPU it is on and returns that CPU.
fn pin_to_current_cpu() -> usize {
    // SAFETY: plain syscalls on the calling thread with a local cpu_set_t.
    unsafe {
        let cpu = libc::sched_getcpu();
        assert!(cpu >= 0, "sched_getcpu failed");
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu as usize, &mut set);
        let rc = libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set);
        assert_eq!(
            rc,
            0,
            "sched_setaffinity: {}",
            std::io::Error::last_os_error()
        );
        cpu as usize
    }
}
