//! Frames to a vMAC this router forwards for get the interface MAC as
//! destination and pass up for routing; nothing else in them changes.

use gw_common::{Counter, vmac};

use crate::{
    fixture::standard,
    frames::*,
    harness::{Verdict, Xdp},
};

fn assert_rewritten(x: &mut Xdp, frame: &[u8]) {
    let (r, c) = x.run_counted(frame);
    assert_eq!((r.verdict, c), (Verdict::Pass, Counter::VmacRewrite));
    assert_eq!(r.out.len(), frame.len());
    assert_eq!(r.out[..6], IF_MAC, "eth dst = interface MAC");
    assert_eq!(r.out[6..], frame[6..], "everything after eth dst unchanged");
}

fn assert_untouched(x: &mut Xdp, frame: &[u8], reason: Counter) {
    let (r, c) = x.run_counted(frame);
    assert_eq!((r.verdict, c), (Verdict::Pass, reason));
    assert_eq!(r.out, frame);
}

#[test]
fn ipv4_to_an_owned_vmac_is_rewritten_and_counted() {
    // Input: two UDP datagrams to forwarder 1's vMAC, untagged and
    // VLAN-tagged. Output: PASS with dst = IF_MAC; group vmac_frames 2 and
    // vmac_bytes = both lengths; forwarder 1's frames 2.
    let Some(mut x) = standard() else { return };
    let a = ipv4_udp(fwd_mac(1), &[]);
    let b = ipv4_udp(fwd_mac(1), &[Tag::q(10)]);
    assert_rewritten(&mut x, &a);
    assert_rewritten(&mut x, &b);
    let g = x.maps().group_stats(0);
    assert_eq!(
        (g.vmac_frames, g.vmac_bytes),
        (2, (a.len() + b.len()) as u64)
    );
    assert_eq!((g.arp_requests, g.arp_replies, g.arp_drops), (0, 0, 0));
    assert_eq!(x.maps().fwd_stats(0, 1).frames, 2);
    assert_eq!(x.maps().fwd_stats(0, 1).arp_replies, 0);
    assert_eq!(x.maps().fwd_stats(0, 2).frames, 0);
}

#[test]
fn arp_to_an_owned_vmac_for_a_non_vip_is_rewritten() {
    // Input: a unicast who-has for some other address sent to the vMAC
    // (the host's ARP cache points at the vMAC). Output: passed up to the
    // interface MAC like any frame to the vMAC.
    let Some(mut x) = standard() else { return };
    let q = ArpFrame::request(CLIENT_MAC, CLIENT_IP, OTHER_IP).to(fwd_mac(1));
    assert_rewritten(&mut x, &q.bytes());
}

#[test]
fn unowned_vmac_passes_untouched() {
    // Input: GLBP-prefixed destinations we do not own: forwarder 2 of our
    // group, another group's vMAC, an out-of-scheme one. Output: PASS,
    // unchanged, counted as plain Pass; no vMAC counters.
    let Some(mut x) = standard() else { return };
    for dst in [
        fwd_mac(2),
        vmac(999, 1),
        [0x00, 0x07, 0xb4, 0xff, 0xff, 0xff],
    ] {
        assert_untouched(&mut x, &ipv4_udp(dst, &[]), Counter::Pass);
    }
    assert_eq!(x.maps().group_stats(0).vmac_frames, 0);
}

#[test]
fn owned_vmac_with_expired_lease_passes_untouched() {
    // Input: frame to the owned vMAC after the lease ran out (agent gone).
    // Output: PASS unchanged (VmacLeaseExpired): we no longer claim it.
    let Some(mut x) = standard() else { return };
    x.expire(0);
    assert_untouched(
        &mut x,
        &ipv4_udp(fwd_mac(1), &[]),
        Counter::VmacLeaseExpired,
    );
    assert_eq!(x.maps().group_stats(0).vmac_frames, 0);
    assert_eq!(x.maps().fwd_stats(0, 1).frames, 0);
}

#[test]
fn vmac_bytes_count_whole_frames() {
    // Input: frames of 14, 60 and 1514 bytes to the owned vMAC. Output:
    // vmac_bytes is their sum.
    let Some(mut x) = standard() else { return };
    let mut total = 0;
    for len in [14usize, 60, 1514] {
        let mut f = ipv4_udp(fwd_mac(1), &[]);
        f.resize(len, 0x5a);
        assert_rewritten(&mut x, &f);
        total += len as u64;
    }
    assert_eq!(x.maps().group_stats(0).vmac_bytes, total);
    assert_eq!(x.maps().fwd_stats(0, 1).frames, 3);
}
