//! The few bpf(2) commands the benchmarks need, without a BPF toolchain or
//! a dependency on the agent (xtask must build before `setup` has installed
//! bpf-linker):
//! - a hand-assembled XDP "sink" that counts the ARP replies it sees and
//!   returns a fixed verdict, attached through a BPF link (the link, and so
//!   the attachment, lives as long as the `Sink`);
//! - BPF_PROG_TEST_RUN on the program a running agent pinned (found
//!   through its pinned link), to time it on crafted frames;
//! - the kernel's run-time statistics (BPF_ENABLE_STATS), to time that
//!   program on the frames of a flood.
//!
//! Attribute layouts: include/uapi/linux/bpf.h, `union bpf_attr`. Every
//! command gets a zeroed 128-byte attribute (the kernel rejects non-zero
//! bytes past the fields it knows).

use std::{
    ffi::CString,
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    path::Path,
    time::Duration,
};

const BPF_MAP_CREATE: i32 = 0;
const BPF_MAP_LOOKUP_ELEM: i32 = 1;
const BPF_PROG_LOAD: i32 = 5;
const BPF_OBJ_GET: i32 = 7;
const BPF_PROG_TEST_RUN: i32 = 10;
const BPF_PROG_GET_FD_BY_ID: i32 = 13;
const BPF_OBJ_GET_INFO_BY_FD: i32 = 15;
const BPF_LINK_CREATE: i32 = 28;
const BPF_ENABLE_STATS: i32 = 32;
/// `enum bpf_stats_type`: time every program run.
const BPF_STATS_RUN_TIME: u32 = 0;
/// `struct bpf_prog_info`: run_time_ns and run_cnt.
const PROG_INFO_RUN_TIME_NS: usize = 192;
const PROG_INFO_RUN_CNT: usize = 200;

const BPF_MAP_TYPE_ARRAY: u32 = 2;
const BPF_PROG_TYPE_XDP: u32 = 6;
const BPF_XDP: u32 = 37;
/// XDP_FLAGS_DRV_MODE (include/uapi/linux/if_link.h): native mode.
pub const XDP_FLAGS_DRV_MODE: u32 = 4;

pub const XDP_DROP: i32 = 1;
pub const XDP_PASS: i32 = 2;

#[repr(C, align(8))]
struct Attr([u8; 128]);

impl Attr {
    fn new() -> Attr {
        Attr([0; 128])
    }
    fn u32(&mut self, off: usize, v: u32) -> &mut Self {
        self.0[off..off + 4].copy_from_slice(&v.to_ne_bytes());
        self
    }
    fn u64(&mut self, off: usize, v: u64) -> &mut Self {
        self.0[off..off + 8].copy_from_slice(&v.to_ne_bytes());
        self
    }
    fn get_u32(&self, off: usize) -> u32 {
        u32::from_ne_bytes(self.0[off..off + 4].try_into().unwrap())
    }
}

fn sys(cmd: i32, attr: &mut Attr) -> io::Result<i64> {
    // SAFETY: bpf(2) with a 128-byte attribute buffer that outlives the call;
    // pointers inside it point to live buffers of the stated sizes.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut Attr,
            std::mem::size_of::<Attr>(),
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn sys_fd(cmd: i32, attr: &mut Attr) -> io::Result<OwnedFd> {
    let fd = sys(cmd, attr)?;
    // SAFETY: the command returns a new file descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// One eBPF instruction (`struct bpf_insn`).
#[derive(Clone, Copy)]
#[repr(C)]
struct Insn {
    code: u8,
    regs: u8,
    off: i16,
    imm: i32,
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | dst,
        off,
        imm,
    }
}

/// The sink: counts ARP frames with opcode `op` (ethertype 0x0806) in
/// element 0 of a one-element array map, returns `verdict` for every frame.
fn sink_insns(map_fd: i32, verdict: i32, op: u16) -> Vec<Insn> {
    // r1 = ctx; r2 = data_end; r1 = data.
    let mut v = vec![
        insn(0x61, 2, 1, 4, 0),                     // r2 = *(u32 *)(r1 + 4)   data_end
        insn(0x61, 1, 1, 0, 0),                     // r1 = *(u32 *)(r1 + 0)   data
        insn(0xbf, 3, 1, 0, 0),                     // r3 = r1
        insn(0x07, 3, 0, 0, 22),                    // r3 += 22
        insn(0x2d, 3, 2, 13, 0),                    // if r3 > r2 goto out
        insn(0x69, 3, 1, 12, 0),                    // r3 = *(u16 *)(r1 + 12)  ethertype
        insn(0x55, 3, 0, 11, 0x0608),               // if r3 != htons(0x0806) goto out
        insn(0x69, 3, 1, 20, 0),                    // r3 = *(u16 *)(r1 + 20)  ARP opcode
        insn(0x55, 3, 0, 9, i32::from(op.to_be())), // if r3 != htons(op) goto out
        insn(0x62, 10, 0, -4, 0),                   // *(u32 *)(r10 - 4) = 0    key
        insn(0xbf, 2, 10, 0, 0),                    // r2 = r10
        insn(0x07, 2, 0, 0, -4),                    // r2 += -4
        insn(0x18, 1, 1, 0, map_fd),                // r1 = map (ld_imm64, BPF_PSEUDO_MAP_FD)
        insn(0x00, 0, 0, 0, 0),
        insn(0x85, 0, 0, 0, 1), // call bpf_map_lookup_elem
        insn(0x15, 0, 0, 2, 0), // if r0 == 0 goto out
        insn(0xb7, 1, 0, 0, 1), // r1 = 1
        insn(0xdb, 0, 1, 0, 0), // lock *(u64 *)(r0 + 0) += r1
    ];
    // out:
    v.push(insn(0xb7, 0, 0, 0, verdict)); // r0 = verdict
    v.push(insn(0x95, 0, 0, 0, 0)); // exit
    v
}

pub const ARP_REPLY: u16 = 2;

/// Loads an XDP program (not attached); the verifier's log in the error.
fn load_xdp(insns: &[Insn], name: &str) -> io::Result<OwnedFd> {
    let license = c"GPL";
    let mut log = vec![0u8; 65536];
    let mut a = Attr::new();
    a.u32(0, BPF_PROG_TYPE_XDP)
        .u32(4, insns.len() as u32)
        .u64(8, insns.as_ptr() as u64)
        .u64(16, license.as_ptr() as u64)
        .u32(24, 1)
        .u32(28, log.len() as u32)
        .u64(32, log.as_mut_ptr() as u64)
        .u32(68, BPF_XDP);
    let name = &name.as_bytes()[..name.len().min(15)];
    a.0[48..48 + name.len()].copy_from_slice(name);
    sys_fd(BPF_PROG_LOAD, &mut a).map_err(|e| {
        let end = log.iter().position(|&b| b == 0).unwrap_or(0);
        io::Error::new(
            e.kind(),
            format!(
                "loading {}: {e}: {}",
                String::from_utf8_lossy(name),
                String::from_utf8_lossy(&log[..end])
            ),
        )
    })
}

/// An XDP program that only returns XDP_PASS: what BPF_PROG_TEST_RUN
/// itself costs per run, the floor under every program's number.
pub fn empty_xdp() -> io::Result<OwnedFd> {
    load_xdp(
        &[insn(0xb7, 0, 0, 0, 2), insn(0x95, 0, 0, 0, 0)], // r0 = XDP_PASS; exit
        "gw_bench_empty",
    )
}

/// A counting XDP program attached to one interface (of the calling
/// thread's network namespace) for as long as this lives.
pub struct Sink {
    map: OwnedFd,
    prog: OwnedFd,
    _link: OwnedFd,
}

impl Sink {
    /// Loads the sink and attaches it to `ifindex` with `flags`
    /// (e.g. `XDP_FLAGS_DRV_MODE`), counting ARP frames
    /// with opcode `op`.
    pub fn attach(ifindex: u32, flags: u32, verdict: i32, op: u16) -> io::Result<Sink> {
        let mut a = Attr::new();
        a.u32(0, BPF_MAP_TYPE_ARRAY).u32(4, 4).u32(8, 8).u32(12, 1);
        let map = sys_fd(BPF_MAP_CREATE, &mut a)?;
        let prog = load_xdp(&sink_insns(map.as_raw_fd(), verdict, op), "gw_bench_sink")?;
        let mut a = Attr::new();
        a.u32(0, prog.as_raw_fd() as u32)
            .u32(4, ifindex)
            .u32(8, BPF_XDP)
            .u32(12, flags);
        let link = sys_fd(BPF_LINK_CREATE, &mut a)?;
        Ok(Sink {
            map,
            prog,
            _link: link,
        })
    }

    /// The sink's `RunTime` so far.
    pub fn run_time(&self) -> io::Result<RunTime> {
        prog_run_time(&self.prog)
    }

    /// ARP frames seen so far.
    pub fn count(&self) -> u64 {
        let key = 0u32;
        let mut value = 0u64;
        let mut a = Attr::new();
        a.u32(0, self.map.as_raw_fd() as u32)
            .u64(8, &key as *const u32 as u64)
            .u64(16, &mut value as *mut u64 as u64);
        sys(BPF_MAP_LOOKUP_ELEM, &mut a).map(|_| value).unwrap_or(0)
    }
}

/// The XDP program behind a pinned BPF link (as the agent pins it in
/// /sys/fs/bpf/gw/<netns>/<interface>/link).
pub fn prog_of_pinned_link(pin: &Path) -> io::Result<OwnedFd> {
    let path = CString::new(pin.as_os_str().as_encoded_bytes()).map_err(io::Error::other)?;
    let mut a = Attr::new();
    a.u64(0, path.as_ptr() as u64);
    let link = sys_fd(BPF_OBJ_GET, &mut a)?;
    // struct bpf_link_info { u32 type; u32 id; u32 prog_id; ... }
    let mut info = [0u8; 64];
    obj_info(&link, &mut info)?;
    let prog_id = u32::from_ne_bytes(info[8..12].try_into().unwrap());
    let mut a = Attr::new();
    a.u32(0, prog_id);
    sys_fd(BPF_PROG_GET_FD_BY_ID, &mut a)
}

/// While this lives, the kernel times every run of every BPF program
/// (BPF_ENABLE_STATS; it stops when the fd closes, so a failed benchmark
/// leaves no global setting behind).
pub struct RunTimeStats {
    _fd: OwnedFd,
}

impl RunTimeStats {
    pub fn enable() -> io::Result<RunTimeStats> {
        let mut a = Attr::new();
        a.u32(0, BPF_STATS_RUN_TIME);
        Ok(RunTimeStats {
            _fd: sys_fd(BPF_ENABLE_STATS, &mut a)?,
        })
    }
}

/// BPF_OBJ_GET_INFO_BY_FD: the kernel's `struct bpf_*_info` of `fd` into
/// `info` (fields past its length are left out).
fn obj_info(fd: &OwnedFd, info: &mut [u8]) -> io::Result<()> {
    let mut a = Attr::new();
    a.u32(0, fd.as_raw_fd() as u32)
        .u32(4, info.len() as u32)
        .u64(8, info.as_mut_ptr() as u64);
    sys(BPF_OBJ_GET_INFO_BY_FD, &mut a).map(drop)
}

/// A program's runs and their time, while `RunTimeStats` were enabled.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunTime {
    pub ns: u64,
    pub runs: u64,
}

impl RunTime {
    /// What was added between `earlier` and `self`.
    pub fn since(self, earlier: RunTime) -> RunTime {
        RunTime {
            ns: self.ns - earlier.ns,
            runs: self.runs - earlier.runs,
        }
    }

    pub fn add(&mut self, other: RunTime) {
        self.ns += other.ns;
        self.runs += other.runs;
    }

    /// Mean ns per run (NaN without runs).
    pub fn mean_ns(self) -> f64 {
        self.ns as f64 / self.runs as f64
    }
}

/// `prog`'s `RunTime` so far.
pub fn prog_run_time(prog: &OwnedFd) -> io::Result<RunTime> {
    let mut info = [0u8; 256];
    obj_info(prog, &mut info)?;
    let at = |off: usize| u64::from_ne_bytes(info[off..off + 8].try_into().unwrap());
    Ok(RunTime {
        ns: at(PROG_INFO_RUN_TIME_NS),
        runs: at(PROG_INFO_RUN_CNT),
    })
}

/// One BPF_PROG_TEST_RUN: the verdict and the kernel-measured time per
/// repeat (the kernel averages over `repeat`).
pub fn test_run(prog: &OwnedFd, frame: &[u8], repeat: u32) -> io::Result<(u32, Duration)> {
    let mut out = vec![0u8; frame.len() + 256];
    let mut a = Attr::new();
    a.u32(0, prog.as_raw_fd() as u32)
        .u32(8, frame.len() as u32)
        .u32(12, out.len() as u32)
        .u64(16, frame.as_ptr() as u64)
        .u64(24, out.as_mut_ptr() as u64)
        .u32(32, repeat.max(1));
    sys(BPF_PROG_TEST_RUN, &mut a)?;
    Ok((a.get_u32(4), Duration::from_nanos(a.get_u32(36).into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sink_program_jumps_land_on_out() {
        let v = sink_insns(3, XDP_PASS, ARP_REPLY);
        assert_eq!(
            v[8].imm, 0x0200,
            "opcode 2 as a little-endian load of its bytes"
        );
        let out = v.len() as i16 - 2;
        for (pc, i) in v.iter().enumerate() {
            if matches!(i.code, 0x2d | 0x55 | 0x15) {
                assert_eq!(pc as i16 + 1 + i.off, out, "jump at {pc}");
            }
        }
        assert_eq!(v[out as usize].imm, XDP_PASS);
    }
}
