//! The per source MAC ARP rate limit (GCRA in GW_RATE): an ARP flood from
//! one host gets `burst` answers back to back, then at most the rate; other
//! hosts are not affected; 0 pps means no limit.

use gw_common::Counter;

use crate::{fixture::standard, frames::*, harness::Verdict};

#[test]
fn a_flooding_host_gets_its_burst_then_drops() {
    // Input: limit 1 request/s, burst 5; 50 back-to-back requests from one
    // MAC (test_run is far faster than 1/s). Output: the first requests are
    // answered (the burst plus the first one), the rest dropped with
    // DropRateLimited; another host is still answered.
    let Some(mut x) = standard() else { return };
    x.set_rate_limit(1, 5);
    let flood = ArpFrame::request(client_mac(1), CLIENT_IP, VIP).bytes();
    let mut answered = 0;
    for _ in 0..50 {
        let (r, c) = x.run_counted(&flood);
        match r.verdict {
            Verdict::Tx => answered += 1,
            _ => assert_eq!((r.verdict, c), (Verdict::Drop, Counter::DropRateLimited)),
        }
    }
    assert!((5..=7).contains(&answered), "answered {answered} of 50");
    let other = ArpFrame::request(client_mac(2), CLIENT_IP, VIP).bytes();
    assert_eq!(x.run_counted(&other).0.verdict, Verdict::Tx);
    assert_eq!(
        x.maps().counter(Counter::DropRateLimited),
        50 - answered as u64
    );
}

#[test]
fn zero_rate_means_no_limit() {
    // Input: limit off; 500 requests from one MAC. Output: all answered.
    let Some(mut x) = standard() else { return };
    x.set_rate_limit(0, 0);
    let f = ArpFrame::for_vip().bytes();
    for _ in 0..500 {
        assert_eq!(x.run(&f).verdict, Verdict::Tx);
    }
    assert_eq!(x.maps().counter(Counter::DropRateLimited), 0);
}

#[test]
fn pass_through_traffic_is_never_rate_limited() {
    // Input: a strict limit; plain IPv4 and non-VIP ARP from one MAC.
    // Output: all passed; the limiter only guards answers for the VIP.
    let Some(mut x) = standard() else { return };
    x.set_rate_limit(1, 1);
    let ip = ipv4_udp(IF_MAC, &[]);
    let other = ArpFrame::request(CLIENT_MAC, CLIENT_IP, [192, 0, 2, 77]).bytes();
    for _ in 0..20 {
        assert_eq!(x.run(&ip).verdict, Verdict::Pass);
        assert_eq!(x.run(&other).verdict, Verdict::Pass);
    }
}
