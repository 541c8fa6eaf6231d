//! Frames cut short at every length from 0 to 64 bytes. A frame too short
//! for the headers it announces passes untouched (counted Truncated); one
//! that still holds every header it needs is handled as a whole frame
//! (the cut only removed padding). Nothing is ever ABORTED, and no TX
//! happens before the whole ARP body is there.
//!
//! Minimum size: BPF_PROG_TEST_RUN refuses XDP data shorter than ETH_HLEN
//! (14 bytes) with EINVAL before the program runs (`bpf_test_init` in
//! net/bpf/test_run.c), so lengths 0..=13 test the kernel, not gw; the
//! program still handles them (`Frame::l2` returns None: PASS, Truncated).

use aya::programs::ProgramError;
use gw_common::Counter;

use crate::{
    arp_oracle::assert_reply,
    fixture::{GroupSetup, standard},
    frames::*,
    harness::{Verdict, Xdp},
};

const ETH_HLEN: usize = 14;
const MAX_CUT: usize = 64;

/// The standard group with forwarder 1 only (so every answer is the same)
/// and the VIP on VLAN 10 with forwarder 10 only.
fn setup() -> Option<Xdp> {
    let mut x = standard()?;
    x.add_group(&GroupSetup {
        fwds: vec![1],
        ..GroupSetup::standard()
    });
    x.add_group(&GroupSetup {
        vlan: 10,
        idx: 1,
        group: 10,
        fwds: vec![10],
        ..GroupSetup::standard()
    });
    Some(x)
}

/// `frame` padded with a pattern to more than `MAX_CUT` bytes.
fn long(mut frame: Vec<u8>) -> Vec<u8> {
    let n = frame.len();
    frame.extend((n..MAX_CUT + 4).map(|i| i as u8 ^ 0x5a));
    frame
}

fn assert_kernel_rejects(x: &mut Xdp, cut: &[u8]) {
    let before = x.counters();
    match x.try_run(cut) {
        Err(ProgramError::SyscallError(e)) => {
            assert_eq!(e.io_error.raw_os_error(), Some(libc::EINVAL), "{e}")
        }
        other => panic!("{} bytes: kernel ran it: {other:?}", cut.len()),
    }
    assert_eq!(x.counters(), before, "the program did not run");
}

fn assert_truncated(x: &mut Xdp, cut: &[u8]) {
    let (r, c) = x.run_counted(cut);
    assert_eq!(
        (r.verdict, c),
        (Verdict::Pass, Counter::Truncated),
        "{} bytes",
        cut.len()
    );
    assert_eq!(r.out, cut);
}

/// Every cut of an ARP request that `vmac` answers once complete.
fn cuts_of_arp_request(x: &mut Xdp, f: ArpFrame, vmac: [u8; 6]) {
    let full = long(f.bytes());
    for len in 0..=MAX_CUT {
        let cut = &full[..len];
        if len < ETH_HLEN {
            assert_kernel_rejects(x, cut);
        } else if len < f.header_len() {
            assert_truncated(x, cut);
        } else {
            let (r, c) = x.run_counted(cut);
            assert_eq!((r.verdict, c), (Verdict::Tx, Counter::ArpReplyAvg), "{len}");
            assert_reply(cut, &r.out, IF_MAC, vmac);
        }
    }
}

#[test]
fn kernel_refuses_frames_shorter_than_an_ethernet_header() {
    // Input: 0..=13 bytes. Output: EINVAL from the kernel, no counter moved.
    // Input: exactly 14 bytes. Output: the program runs.
    let Some(mut x) = setup() else { return };
    let full = ArpFrame::for_vip().bytes();
    for len in 0..ETH_HLEN {
        assert_kernel_rejects(&mut x, &full[..len]);
    }
    let (r, c) = x.run_counted(&full[..ETH_HLEN]);
    assert_eq!((r.verdict, c), (Verdict::Pass, Counter::Truncated));
}

#[test]
fn cuts_of_an_untagged_request() {
    // Input: who-has VIP cut at 0..=64. Output: EINVAL below 14, PASS
    // untouched below 42, the full answer from 42 on.
    let Some(mut x) = setup() else { return };
    cuts_of_arp_request(&mut x, ArpFrame::for_vip(), fwd_mac(1));
}

#[test]
fn cuts_of_a_vlan_tagged_request() {
    // Input: who-has VIP on VLAN 10 cut at 0..=64 (cuts inside the tag
    // too). Output: PASS untouched below 46, answered from 46 on.
    let Some(mut x) = setup() else { return };
    let f = ArpFrame::for_vip().tag(Tag::q(10));
    cuts_of_arp_request(&mut x, f, gw_common::vmac(10, 10));
}

#[test]
fn cuts_of_a_qinq_request() {
    // Input: who-has VIP under 802.1ad 100 / 802.1Q 10, cut at 0..=64.
    // Output: PASS untouched below 50, answered from 50 on.
    let Some(mut x) = setup() else { return };
    let f = ArpFrame::for_vip().tag(Tag::ad(100)).tag(Tag::q(10));
    cuts_of_arp_request(&mut x, f, gw_common::vmac(10, 10));
}

#[test]
fn cuts_of_a_unicast_request_to_an_owned_vmac() {
    // Input: who-has VIP to forwarder 1's vMAC, cut at 0..=64. Output:
    // below 42 PASS untouched (a broken ARP is not rewritten for routing
    // either), from 42 on the unicast answer.
    let Some(mut x) = setup() else { return };
    let f = ArpFrame::for_vip().to(fwd_mac(1));
    let full = long(f.bytes());
    for len in ETH_HLEN..=MAX_CUT {
        let cut = &full[..len];
        if len < f.header_len() {
            assert_truncated(&mut x, cut);
        } else {
            let (r, c) = x.run_counted(cut);
            assert_eq!((r.verdict, c), (Verdict::Tx, Counter::ArpReplyUnicast));
            assert_reply(cut, &r.out, fwd_mac(1), fwd_mac(1));
        }
    }
}

#[test]
fn cuts_of_a_frame_to_an_owned_vmac() {
    // Input: UDP to forwarder 1's vMAC, untagged and on VLAN 10, cut at
    // 0..=64. Output: EINVAL below 14; inside the tag PASS untouched;
    // otherwise rewritten (routing needs only the Ethernet header here;
    // the stack judges the rest).
    let Some(mut x) = setup() else { return };
    for (tags, l2_len) in [(vec![], 14), (vec![Tag::q(10)], 18)] {
        let full = long(ipv4_udp(fwd_mac(1), &tags));
        for len in 0..=MAX_CUT {
            let cut = &full[..len];
            if len < ETH_HLEN {
                assert_kernel_rejects(&mut x, cut);
            } else if len < l2_len {
                assert_truncated(&mut x, cut);
            } else {
                let (r, c) = x.run_counted(cut);
                assert_eq!((r.verdict, c), (Verdict::Pass, Counter::VmacRewrite));
                assert_eq!(r.out[..6], IF_MAC);
                assert_eq!(r.out[6..], cut[6..]);
            }
        }
    }
}
