mod fault;
use fault::{Lan, switch_rules, timers};
use std::time::Duration;

#[test]
#[ignore]
fn experiment() {
    let lan = Lan::start(
        [150u8, 120, 100]
            .iter()
            .map(|p| timers(*p, 3000, 10_000))
            .collect(),
        0,
        Duration::from_secs(40),
    );
    let mut dumps = Vec::new();
    for i in 1..=3 {
        let f = format!("/work/scratch/faults/g{i}.txt");
        dumps.push(
            lan.gw(i)
                .command("sh")
                .args([
                    "-c",
                    &format!("tcpdump -i lan0 -n -tt -l udp port 3222 > {f} 2>/dev/null"),
                ])
                .spawn()
                .unwrap(),
        );
    }
    let marks = lan.log_marks();
    switch_rules(
        &lan.t,
        &[r#"oifname { "pg*", "ph*" } numgen random mod 100 < 20 counter drop"#.into()],
    );
    std::thread::sleep(Duration::from_secs(150));
    for d in &mut dumps {
        unsafe { libc::kill(d.id() as i32, libc::SIGTERM) };
        let _ = d.wait();
    }
    std::fs::write("/work/scratch/faults/logs.txt", lan.logs()).unwrap();
    for c in lan.changes_since(&marks) {
        eprintln!("{c}");
    }
}
