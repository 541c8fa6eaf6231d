//! GLBP hellos captured on a LAN port (tcpdump) and decoded by an
//! independent dissector (tshark): the wire tests' oracle.

use std::time::Duration;

use crate::netns::Netns;

/// Captures `ns`'s lan0 for `for_` with tcpdump filter `filter` (which
/// also names the pcap file, with `name`), then returns tshark's `fields`
/// of every Active hello (vgstate 0x20), one `|`-separated line each.
/// `tshark_opts` go before the fields (preferences such as `-o ...`).
/// Err: tshark's stderr, when it decoded no Active hello.
pub fn active_hellos(
    ns: &Netns,
    name: &str,
    filter: &[&str],
    for_: Duration,
    tshark_opts: &[&str],
    fields: &[&str],
) -> Result<Vec<String>, String> {
    let pcap = std::env::temp_dir().join(format!("{}-{name}.pcap", ns.name));
    let path = pcap.to_str().expect("utf-8 path");
    let mut dump = ns
        .command("tcpdump")
        .args(["-i", "lan0", "-U", "-w", path])
        .args(filter)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("tcpdump");
    std::thread::sleep(for_);
    // SAFETY: signalling our own child.
    unsafe { libc::kill(dump.id() as i32, libc::SIGINT) };
    let _ = dump.wait();
    let mut cmd = std::process::Command::new("tshark");
    cmd.args(["-r", path]).args(tshark_opts);
    cmd.args([
        "-T",
        "fields",
        "-E",
        "separator=|",
        "-Y",
        "glbp.hello.vgstate == 0x20",
    ]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("tshark");
    let _ = std::fs::remove_file(&pcap);
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    if lines.is_empty() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(lines)
}
