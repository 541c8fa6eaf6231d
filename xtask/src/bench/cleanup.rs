//! Teardown on Ctrl-C and SIGTERM. Normal exits and panics are covered by
//! the harness's guards (namespaces, agents, probes drop themselves);
//! a signal instead ends the process at once, after removing every
//! namespace this process made (`gt<pid>x<n>-*`, gw_tests::netns), the
//! processes inside them, and the agents' pins.

use std::collections::BTreeSet;

/// Blocks SIGINT/SIGTERM/SIGHUP in this thread (and so in every thread it
/// starts later) and waits for them in a thread of its own. Call it first,
/// before any other thread exists. Children get a clean mask (std resets
/// it when spawning).
pub fn install() {
    // SAFETY: signal-mask calls on a zeroed set; sigwait in a thread that
    // only sweeps and exits.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        std::thread::spawn(move || {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let mut sig = -1;
            while sig <= 0 {
                sig = libc::sigwaitinfo(&set, &mut info);
            }
            eprintln!(
                "\nxtask bench: signal {sig} from pid {}, removing its namespaces",
                info.si_pid()
            );
            sweep();
            std::process::exit(130);
        });
    }
}

/// Removes every namespace (and what runs in it) of this process.
pub fn sweep() {
    let mine = format!("gt{}x", std::process::id());
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
