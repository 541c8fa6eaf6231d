//! A reference model of the program's contract (DESIGN.md "Data plane"),
//! written from the contract over the oracle's parse, for the property
//! tests: given a configuration and a frame it predicts the verdict, the
//! counter, and what the output bytes must be.
//!
//! Where several drop reasons apply, the first in this order is counted:
//! not a request, gratuitous, own sender, lease expired (the program's
//! order; the verdict is DROP whichever it is).

use gw_common::{Counter, MODE_ROUND_ROBIN, vmac};

use crate::{
    arp_oracle::{self, assert_reply, handed_out, is_ipv4_over_ethernet},
    fixture::GroupSetup,
    frames::{ETH_P_ARP, IF_MAC},
    harness::{Run, Verdict, Xdp},
};

/// What the output frame must look like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Out {
    Unchanged,
    /// Destination MAC replaced by the interface MAC, nothing else.
    DstRewritten,
    /// The ARP reply from `eth_src` handing out `vmac`; `None`: any vMAC of
    /// the group's table (host-hash groups; the hash is the program's).
    Reply {
        eth_src: [u8; 6],
        vmac: Option<[u8; 6]>,
        table: Vec<[u8; 6]>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expect {
    pub verdict: Verdict,
    pub counter: Counter,
    pub out: Out,
}

pub struct ModelGroup {
    pub setup: GroupSetup,
    pub lease_valid: bool,
}

pub struct World {
    pub groups: Vec<ModelGroup>,
    /// Owned vMACs: (mac, group index, forwarder).
    pub vmacs: Vec<([u8; 6], u16, u8)>,
}

impl World {
    pub fn new(groups: Vec<ModelGroup>, vmacs: Vec<([u8; 6], u16, u8)>) -> Self {
        Self { groups, vmacs }
    }

    /// Writes the world into a freshly loaded program.
    pub fn install(&self, x: &mut Xdp) {
        x.set_if_mac(IF_MAC);
        for g in &self.groups {
            x.add_group(&g.setup);
            if !g.lease_valid {
                x.expire(g.setup.idx);
            }
        }
        for &(mac, idx, fwd) in &self.vmacs {
            x.own_vmac(mac, idx, fwd);
        }
    }

    fn lease_valid(&self, idx: u16) -> bool {
        self.groups
            .iter()
            .any(|g| g.setup.idx == idx && g.lease_valid)
    }

    /// The group and forwarder of `mac` if it is a vMAC (GLBP prefix
    /// 00:07:b4) listed as owned.
    fn owned(&self, mac: &[u8; 6]) -> Option<(u16, u8)> {
        if mac[..3] != [0x00, 0x07, 0xb4] {
            return None;
        }
        self.vmacs
            .iter()
            .find(|(m, _, _)| m == mac)
            .map(|&(_, idx, fwd)| (idx, fwd))
    }

    /// Round-robin groups start their walk over, on this CPU, so that the
    /// next answer of each is its slot 0 (`expect` assumes so).
    pub fn restart_round_robin(&self, x: &mut Xdp) {
        for g in &self.groups {
            if g.setup.mode == MODE_ROUND_ROBIN {
                x.set_rr(g.setup.idx, 0);
            }
        }
    }

    /// Predicts the program's handling of `b` (at least 14 bytes), right
    /// after `restart_round_robin`.
    pub fn expect(&self, b: &[u8]) -> Expect {
        let e = |verdict, counter, out| Expect {
            verdict,
            counter,
            out,
        };
        // Up to two tags; cut inside them is truncated.
        let Some(eth) = arp_oracle::parse_eth_max(b, 2) else {
            return e(Verdict::Pass, Counter::Truncated, Out::Unchanged);
        };
        if eth.ethertype == ETH_P_ARP {
            let Some(arp) = arp_oracle::parse_arp_at(b, eth.payload) else {
                return e(Verdict::Pass, Counter::Truncated, Out::Unchanged);
            };
            if !is_ipv4_over_ethernet(&arp) {
                return e(Verdict::Pass, Counter::ArpMalformed, Out::Unchanged);
            }
            let vid = eth.vid();
            let group = self
                .groups
                .iter()
                .find(|g| g.setup.vip == arp.tpa && g.setup.vlan == vid);
            if let Some(g) = group {
                let drop = |c| e(Verdict::Drop, c, Out::Unchanged);
                let s = &g.setup;
                if arp.op != 1 {
                    return drop(Counter::DropNotRequest);
                }
                if arp.spa == arp.tpa {
                    return drop(Counter::DropGratuitous);
                }
                if arp.sha == IF_MAC {
                    return drop(Counter::DropOwnSender);
                }
                if !g.lease_valid {
                    return drop(Counter::DropLeaseExpired);
                }
                if self.owned(&eth.dst).is_some_and(|(idx, _)| idx == s.idx) {
                    let out = Out::Reply {
                        eth_src: eth.dst,
                        vmac: Some(eth.dst),
                        table: vec![eth.dst],
                    };
                    return e(Verdict::Tx, Counter::ArpReplyUnicast, out);
                }
                if !s.avg {
                    return drop(Counter::DropNotAvg);
                }
                if s.fwds.is_empty() {
                    return drop(Counter::DropEmptyTable);
                }
                let table: Vec<[u8; 6]> = s.fwds.iter().map(|&f| vmac(s.group, f)).collect();
                let pick = (s.mode == MODE_ROUND_ROBIN).then_some(table[0]);
                let out = Out::Reply {
                    eth_src: IF_MAC,
                    vmac: pick,
                    table,
                };
                return e(Verdict::Tx, Counter::ArpReplyAvg, out);
            }
        }
        match self.owned(&eth.dst) {
            Some((idx, _)) if self.lease_valid(idx) => {
                e(Verdict::Pass, Counter::VmacRewrite, Out::DstRewritten)
            }
            Some(_) => e(Verdict::Pass, Counter::VmacLeaseExpired, Out::Unchanged),
            None => e(Verdict::Pass, Counter::Pass, Out::Unchanged),
        }
    }
}

/// Asserts that `run` of `input` is what `want` predicts.
pub fn check(input: &[u8], run: &Run, counter: Counter, want: &Expect) {
    assert_eq!(
        (run.verdict, counter),
        (want.verdict, want.counter),
        "verdict for {input:02x?}"
    );
    match &want.out {
        Out::Unchanged => assert_eq!(run.out, input, "frame must be untouched"),
        Out::DstRewritten => {
            assert_eq!(run.out[..6], IF_MAC);
            assert_eq!(run.out[6..], input[6..]);
        }
        Out::Reply {
            eth_src,
            vmac,
            table,
        } => {
            let got = handed_out(&run.out);
            assert!(table.contains(&got), "{got:02x?} not in {table:02x?}");
            assert_reply(input, &run.out, *eth_src, vmac.unwrap_or(got));
        }
    }
}
