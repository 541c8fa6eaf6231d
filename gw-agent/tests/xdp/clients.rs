//! The client cache: after each answer GW_CLIENTS[(client MAC, group
//! index)] holds the client's IP, the forwarder it got and when.

use gw_agent::dataplane::monotonic_ns;
use gw_common::{ClientValue, Counter};

use crate::{
    fixture::{GroupSetup, standard},
    frames::*,
    harness::Verdict,
};

#[test]
fn an_answer_records_the_client() {
    // Input: one broadcast request from the client. Output: an entry with
    // its IP, forwarder 1, and a timestamp taken during the run.
    let Some(mut x) = standard() else { return };
    let t0 = monotonic_ns();
    assert_eq!(x.run(&ArpFrame::for_vip().bytes()).verdict, Verdict::Tx);
    let t1 = monotonic_ns();
    let c = x.client(CLIENT_MAC, 0).expect("client recorded");
    assert_eq!((c.ip, c.fwd, c._pad), (CLIENT_IP, 1, [0; 3]));
    assert!((t0..=t1).contains(&c.last_seen_ns), "{t0} {c:?} {t1}");
    assert_eq!(x.client_count(), 1);
}

#[test]
fn a_later_answer_updates_the_entry() {
    // Input: the client asks again with a new IP (DHCP renumbered it), then
    // by unicast to forwarder 1's vMAC. Output: one entry, IP and forwarder
    // of the latest answer, timestamp moved forward.
    let Some(mut x) = standard() else { return };
    x.run(&ArpFrame::for_vip().bytes());
    let first = x.client(CLIENT_MAC, 0).unwrap();
    let new_ip = [192, 0, 2, 77];
    x.run(&ArpFrame::request(CLIENT_MAC, new_ip, VIP).bytes());
    let second = x.client(CLIENT_MAC, 0).unwrap();
    assert_eq!((second.ip, second.fwd), (new_ip, 2));
    assert!(second.last_seen_ns > first.last_seen_ns);
    x.run(&ArpFrame::for_vip().to(fwd_mac(1)).bytes());
    let third = x.client(CLIENT_MAC, 0).unwrap();
    assert_eq!((third.ip, third.fwd), (CLIENT_IP, 1));
    assert_eq!(x.client_count(), 1);
}

#[test]
fn an_existing_entry_written_by_someone_else_is_updated_in_place() {
    // Input: an entry the agent restored (e.g. after adoption) with stale
    // values. Output: overwritten by the answer.
    let Some(mut x) = standard() else { return };
    let stale = ClientValue {
        ip: [192, 0, 2, 200],
        fwd: 9,
        _pad: [0; 3],
        last_seen_ns: 1,
    };
    x.insert_client(CLIENT_MAC, 0, stale);
    x.run(&ArpFrame::for_vip().bytes());
    let c = x.client(CLIENT_MAC, 0).unwrap();
    assert_eq!((c.ip, c.fwd), (CLIENT_IP, 1));
    assert!(c.last_seen_ns > 1);
}

#[test]
fn an_arp_probe_is_answered_but_not_recorded() {
    // Input: an RFC 5227 probe for the VIP (spa 0.0.0.0). Output: TX (the
    // reply tells the prober the address is taken), counted as a reply,
    // but no client entry: there is no address to remember.
    let Some(mut x) = standard() else { return };
    let q = ArpFrame::request(CLIENT_MAC, [0; 4], VIP).bytes();
    let (r, c) = x.run_counted(&q);
    assert_eq!((r.verdict, c), (Verdict::Tx, Counter::ArpReplyAvg));
    crate::arp_oracle::assert_reply(&q, &r.out, IF_MAC, fwd_mac(1));
    assert_eq!(x.client_count(), 0);
    assert_eq!(x.maps().fwd_stats(0, 1).arp_replies, 1);
    // Same for a unicast probe.
    let (r, _) = x.run_counted(
        &ArpFrame::request(CLIENT_MAC, [0; 4], VIP)
            .to(fwd_mac(1))
            .bytes(),
    );
    assert_eq!(r.verdict, Verdict::Tx);
    assert_eq!(x.client_count(), 0);
}

#[test]
fn drops_and_passes_record_nothing() {
    // Input: a reply, a gratuitous ARP, a request for a non-VIP, a request
    // while not AVG. Output: no client entries.
    let Some(mut x) = standard() else { return };
    x.run(&ArpFrame::for_vip().op(2).bytes());
    x.run(&ArpFrame::request(CLIENT_MAC, VIP, VIP).bytes());
    x.run(&ArpFrame::request(CLIENT_MAC, CLIENT_IP, OTHER_IP).bytes());
    let g = GroupSetup {
        avg: false,
        ..GroupSetup::standard()
    };
    x.set_group(g.key(), g.value(0));
    x.run(&ArpFrame::for_vip().bytes());
    assert_eq!(x.client_count(), 0);
}

#[test]
fn one_host_in_two_groups_has_two_entries() {
    // Input: the client asks for VIP (index 0) and VIP2 (index 4).
    // Output: two entries, keyed by group index, each with its forwarder.
    let Some(mut x) = standard() else { return };
    x.add_group(&GroupSetup {
        vip: VIP2,
        idx: 4,
        group: 8,
        fwds: vec![6],
        ..GroupSetup::standard()
    });
    x.run(&ArpFrame::for_vip().bytes());
    x.run(&ArpFrame::request(CLIENT_MAC, CLIENT_IP, VIP2).bytes());
    assert_eq!(x.client(CLIENT_MAC, 0).unwrap().fwd, 1);
    assert_eq!(x.client(CLIENT_MAC, 4).unwrap().fwd, 6);
    assert_eq!(x.client_count(), 2);
}

#[test]
fn forwarded_traffic_teaches_the_cache() {
    // Input: an IPv4 frame from a host this router never answered, sent to
    // the vMAC of forwarder 1 (which we own), and again right after.
    // Output: the host is in the cache with forwarder 1; the second frame
    // within the refresh second does not rewrite the entry.
    let Some(mut x) = standard() else { return };
    assert_eq!(x.client_count(), 0);
    let f = ipv4_udp(fwd_mac(1), &[]);
    assert_eq!(x.run(&f).verdict, Verdict::Pass);
    let c = x.client(CLIENT_MAC, 0).expect("learned from traffic");
    assert_eq!((c.ip, c.fwd), (CLIENT_IP, 1));
    x.run(&f);
    assert_eq!(
        x.client(CLIENT_MAC, 0).unwrap().last_seen_ns,
        c.last_seen_ns
    );
    // A vMAC we do not own teaches nothing.
    x.remove_client(CLIENT_MAC, 0);
    x.run(&ipv4_udp(fwd_mac(2), &[]));
    assert_eq!(x.client_count(), 0);
}
