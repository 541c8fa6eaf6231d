//! A burst of 100 000 ARP requests for the VIP (crafted over AF_PACKET
//! from one host, 100 source MACs, ~25 000/s) while the AVG fails: the
//! agents stay up, the standby takes over and the group converges, a
//! well-behaved host keeps getting answers (the rate limit is per source
//! MAC: 50/s, burst 100 by default), and every gateway's XDP counters
//! account for every frame that reached it.

mod fault;

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use fault::{ArpPinger, Lan, arp_flood, delta, group_arp, rx_packets, timers, xdp_counters};
use gw_tests::{
    group::wait_for,
    require_tools,
    topo::{VIP, host_ip},
};

const TOTAL: u64 = 100_000;
const MACS: u16 = 100;
/// The default per source MAC limit (config `arp_rate_limit`).
const RATE: u64 = 50;
const BURST: u64 = 100;

/// Counters that are ARP requests for the VIP (every verdict of one).
const ARP_VERDICTS: &[&str] = &[
    "arp_reply_avg",
    "arp_reply_unicast",
    "drop_not_avg",
    "drop_lease_expired",
    "drop_gratuitous",
    "drop_empty_table",
    "drop_own_sender",
    "drop_rate_limited",
];

fn sum(c: &BTreeMap<String, u64>, names: &[&str]) -> u64 {
    names.iter().map(|n| c.get(*n).copied().unwrap_or(0)).sum()
}

#[test]
fn arp_burst_during_avg_failover() {
    if !require_tools(&["arping", "nsenter"]) {
        return;
    }
    let mut lan = Lan::start(
        [150u8, 120, 100]
            .iter()
            .map(|p| timers(*p, 300, 1500))
            .collect(),
        2,
        Duration::from_secs(20),
    );
    let hold = lan.cfgs[0].hold();
    let before: Vec<_> = (1..=3).map(|i| xdp_counters(lan.gw(i))).collect();
    let rx_before: Vec<u64> = (1..=3).map(|i| rx_packets(lan.gw(i), "lan0")).collect();
    let arp_before: Vec<_> = (1..=3).map(|i| group_arp(lan.gw(i))).collect();

    // A well-behaved host asks 20 times a second, each time from a new MAC.
    let pinger = ArpPinger::start(
        &lan.t.hosts[1],
        0x42,
        host_ip(2),
        VIP,
        Duration::from_millis(50),
    );
    let started = Instant::now();
    let flood = arp_flood(
        &lan.t.hosts[0],
        host_ip(1),
        VIP,
        MACS,
        TOTAL,
        Duration::from_secs(4),
    );
    std::thread::sleep(Duration::from_millis(500));
    let killed = Instant::now();
    lan.kill(1);
    let sent = flood.join().expect("flood thread").expect("flood");
    let flood_s = started.elapsed().as_secs_f64();
    // g2 is AVG (g1's lease ran out long ago) and every vMAC is covered.
    let vmacs: Vec<String> = (1..=3).map(|i| format!("00:07:b4:00:01:{i:02x}")).collect();
    let took = wait_for(&lan.t, hold * 6, "takeover after the burst", |s| {
        s.covered(&vmacs)?;
        match s.avg() {
            Some(2) => Ok(killed.elapsed()),
            other => Err(format!("AVG {other:?}")),
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    let r = pinger.stop();
    // Let the last frames through the bridge, then read the counters.
    std::thread::sleep(Duration::from_millis(300));
    let after: Vec<_> = (1..=3).map(|i| xdp_counters(lan.gw(i))).collect();
    let rx_after: Vec<u64> = (1..=3).map(|i| rx_packets(lan.gw(i), "lan0")).collect();
    let arp_after: Vec<_> = (1..=3).map(|i| group_arp(lan.gw(i))).collect();
    let dead = lan.dead();

    let mut report = format!(
        "burst: {sent} requests from {MACS} MACs in {flood_s:.1} s; AVG g2 and every vMAC covered {took:?} after the kill; \
         well-behaved host: {} of {} answered, longest gap {:?}\n",
        r.answered, r.sent, r.max_gap
    );
    let mut replies = 0;
    let mut limited = 0;
    for i in 0..3 {
        let d = delta(&after[i], &before[i]);
        let frames: u64 = d.values().sum();
        let rx = rx_after[i] - rx_before[i];
        let arp = sum(&d, ARP_VERDICTS);
        let (req, rep, drops) = (
            arp_after[i].0 - arp_before[i].0,
            arp_after[i].1 - arp_before[i].1,
            arp_after[i].2 - arp_before[i].2,
        );
        replies += d.get("arp_reply_avg").copied().unwrap_or(0);
        limited += d.get("drop_rate_limited").copied().unwrap_or(0);
        report += &format!(
            "  g{}: lan0 received {rx}, XDP verdicts {frames} (ARP for the VIP {arp}: {req} requests = {rep} replies + {drops} drops) {d:?}\n",
            i + 1
        );
        // Every frame that reached the interface got exactly one verdict
        // (a few hellos may fall between the two readings).
        assert!(
            frames.abs_diff(rx) <= 50,
            "g{}: {rx} frames received, {frames} counted\n{report}",
            i + 1
        );
        // Every ARP request for the VIP is one request in the group
        // counters and one reply or drop.
        assert_eq!(arp, req, "g{}: verdicts vs requests\n{report}", i + 1);
        assert_eq!(req, rep + drops, "g{}\n{report}", i + 1);
        // The burst itself reached every gateway (the bridge floods it).
        assert!(
            req >= sent * 9 / 10,
            "g{}: saw {req} of {sent} requests\n{report}",
            i + 1
        );
    }
    eprint!("{report}");
    assert!(dead.is_empty(), "agents died: {dead:?}\n{}", lan.logs());
    // The limit held: each flooding MAC got at most its burst plus the
    // rate for the time it flooded, from the old AVG and again from the
    // new one (each router limits on its own; the pinger's MACs are new).
    let allowed = u64::from(MACS) * (2 * BURST + RATE * (flood_s.ceil() as u64 + 1)) + r.sent;
    assert!(
        replies <= allowed,
        "{replies} replies > {allowed} allowed\n{report}"
    );
    assert!(limited >= sent / 2, "only {limited} rate-limited\n{report}");
    // The well-behaved host was answered before, during and after: at most
    // the hold time without an answer (the lease of the dead AVG).
    assert!(
        r.answered * 10 >= r.sent * 6,
        "well-behaved host mostly unanswered\n{report}\n{}",
        lan.logs()
    );
    assert!(
        r.max_gap < hold + Duration::from_millis(1500),
        "well-behaved host unanswered for {:?}\n{report}",
        r.max_gap
    );
    // The AVG still answers a Linux host's own request.
    let o = lan.t.hosts[1].ok("ip neigh flush dev lan0; arping -c 1 -w 2 -I lan0 192.0.2.1");
    assert!(o.contains("00:07:B4"), "{o}");
    // g1 comes back and the group converges.
    lan.restart(1);
    let back = Duration::from_millis(lan.cfgs[0].fwd_preempt_ms.into());
    assert_eq!(lan.wait_steady(&[1, 2, 3], back + hold * 10), 2);
}
