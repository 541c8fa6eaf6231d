//! Teardown on Ctrl-C, SIGTERM and SIGHUP. Normal exits and panics are
//! covered by the harness's guards (namespaces, agents, probes drop
//! themselves); a signal instead ends the process at once, after removing
//! every namespace this process made (`gt<pid>x<n>-*`, gw_tests::netns),
//! the processes inside them and the agents' pins.
//!
//! The handler only writes the signal number to a pipe; a thread reads it
//! and does the work. (Blocking the signals and sigwait-ing instead would
//! hand the blocked mask to every child: agents could not be stopped.)

use std::{
    collections::BTreeSet,
    sync::atomic::{AtomicI32, Ordering},
};

static PIPE_WR: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(sig: libc::c_int) {
    let b = sig as u8;
    // SAFETY: write(2) is async-signal-safe; a full pipe just drops it.
    unsafe {
        libc::write(
            PIPE_WR.load(Ordering::Relaxed),
            &b as *const u8 as *const _,
            1,
        )
    };
}

pub fn install() {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2(2) into a two-int array; sigaction(2) with a handler
    // that only writes to that pipe.
    unsafe {
        if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return;
        }
        PIPE_WR.store(fds[1], Ordering::Relaxed);
        let rd = fds[0];
        std::thread::spawn(move || {
            let mut b = 0u8;
            while libc::read(rd, &mut b as *mut u8 as *mut _, 1) != 1 {}
            eprintln!("\nxtask bench: signal {b}, removing its namespaces");
            sweep();
            std::process::exit(130);
        });
        for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigaction(s, &sa, std::ptr::null_mut());
        }
    }
}

/// Removes every namespace (and what runs in it) of this process, and
/// the temp files (configs, agent logs) named after them.
pub fn sweep() {
    let mine = format!("gt{}x", std::process::id());
    if let Ok(d) = std::fs::read_dir(std::env::temp_dir()) {
        for e in d.flatten() {
            if e.file_name().to_string_lossy().starts_with(&mine) {
                let _ = std::fs::remove_dir_all(e.path());
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let prefixes: BTreeSet<String> = std::fs::read_dir("/run/netns")
        .map(|d| {
            d.flatten()
                .filter_map(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    let p = n.split('-').next()?.to_string();
                    p.starts_with(&mine).then_some(p)
                })
                .collect()
        })
        .unwrap_or_default();
    for p in prefixes {
        gw_tests::topo::cleanup_prefix(&p);
    }
}
