//! What the engine puts out: hellos (periodic, triggered, final) and the
//! dataplane state the runtime writes into the XDP maps.

use super::events::{Event, VfReason};
use super::peers::{is_active, is_primary};
use super::{
    DataplaneState, Engine, Instant, LoadBalancing, Outgoing, SlotEntry, State,
    VF_PRIORITY_PRIMARY, VF_PRIORITY_SECONDARY, fsm,
};
use crate::proto::{Forwarder, Hello, Packet, Tlv, VfState, VgState};

/// The periodic hello may go up to hello time / this early (`poll_hello`).
const HELLO_WINDOW_DIV: u64 = 10;

impl Engine {
    /// Our hello: the Hello TLV, then a Forwarder TLV for each forwarder
    /// we own or forward for; the AVG lists every forwarder of the group
    /// (state Listen where it does not forward), which is how members
    /// learn which numbers are in use. `resign`: every forwarder Listen.
    fn hello_packet(&self, state: VgState, resign: bool) -> Packet {
        let hello = Hello {
            state,
            priority: self.cfg.priority,
            hello_ms: self.hello_ms(),
            hold_ms: self.hold_ms(),
            redirect_s: self.cfg.redirect_s,
            timeout_s: self.cfg.timeout_s,
            vip: self.cfg.vip,
        };
        let mut tlvs = vec![Tlv::Hello(hello)];
        let avg = self.is_avg();
        for vf in self.vfs.values() {
            if !(avg || vf.primary || vf.state == VfState::Active) {
                continue;
            }
            tlvs.push(Tlv::Forwarder(Forwarder {
                number: vf.num,
                state: if resign { VfState::Listen } else { vf.state },
                priority: if vf.primary {
                    VF_PRIORITY_PRIMARY
                } else {
                    VF_PRIORITY_SECONDARY
                },
                weight: self.weight,
                vmac: vf.vmac,
            }));
        }
        Packet {
            group: self.cfg.group,
            owner: self.me.mac,
            tlvs,
        }
    }

    /// Ethernet sources: each vMAC we forward for (this refreshes switch
    /// MAC tables every hello time), else the interface MAC.
    fn hello_sources(&self) -> Vec<[u8; 6]> {
        let owned: Vec<[u8; 6]> = self
            .vfs
            .values()
            .filter(|v| v.state == VfState::Active)
            .map(|v| v.vmac)
            .collect();
        if owned.is_empty() {
            vec![self.me.mac]
        } else {
            owned
        }
    }

    pub(super) fn send_hello(&mut self, now: Instant) {
        let packet = self.hello_packet(self.state.to_wire(), false);
        let from = self.hello_sources();
        self.pending.send.push(Outgoing { packet, from });
        self.hello_due = false;
        // Never late: a late hello would eat into the peers' hold time. Up
        // to 2% early, so members do not fall into step; and from a tenth
        // of the hello time before, it may go early with others
        // (`poll_hello`).
        let hello = u64::from(self.hello_ms());
        let jitter = self.rng.below(hello / 50 + 1);
        self.hello_at = Some(now.add_ms(hello - jitter));
        self.hello_from = Some(now.add_ms(hello - hello / HELLO_WINDOW_DIV));
    }

    /// Clean stop: a last hello in state Initial with our forwarders in
    /// Listen, so peers fail over now; then stop.
    pub(super) fn resign(&mut self, now: Instant) {
        let packet = self.hello_packet(VgState::Initial, true);
        let from = self.hello_sources();
        self.pending.send.push(Outgoing { packet, from });
        let active: Vec<(u8, [u8; 6], bool)> = self
            .vfs
            .values()
            .filter(|v| v.state == VfState::Active)
            .map(|v| (v.num, v.vmac, v.primary))
            .collect();
        for (fwd, vmac, primary) in active {
            self.log(Event::ForwarderStateChanged {
                fwd,
                vmac,
                from: VfState::Active,
                to: VfState::Listen,
                primary,
                reason: VfReason::Shutdown,
            });
        }
        self.change_state(now, State::Initial, fsm::Event::Shutdown);
    }

    /// Weight of whoever forwards for `n`: us, else the peer (an owner
    /// before a secondary).
    fn holder_weight(&self, n: u8) -> Option<u8> {
        if self.vfs.get(&n)?.state == VfState::Active {
            return Some(self.weight);
        }
        self.peers
            .values()
            .filter_map(|p| {
                let f = p.tlv(n).filter(|f| is_active(f))?;
                Some((is_primary(f), p.ip, f.weight))
            })
            .max()
            .map(|h| h.2)
    }

    /// What the AVG hands out: every forwarder someone forwards for that
    /// is not past its redirect time, in number order. With load balancing
    /// None only our own (owned first); should we forward for nothing, all
    /// of them rather than no answer at all.
    pub(super) fn slots(&self) -> Vec<SlotEntry> {
        let live: Vec<SlotEntry> = self
            .vfs
            .values()
            .filter(|v| !v.redirected)
            .filter_map(|v| {
                Some(SlotEntry {
                    fwd: v.num,
                    vmac: v.vmac,
                    weight: self.holder_weight(v.num)?,
                })
            })
            .collect();
        if self.cfg.load_balancing == LoadBalancing::None {
            let mine = |s: &&SlotEntry, primary: bool| {
                self.vfs
                    .get(&s.fwd)
                    .is_some_and(|v| v.state == VfState::Active && (v.primary || !primary))
            };
            if let Some(s) = live
                .iter()
                .find(|s| mine(s, true))
                .or_else(|| live.iter().find(|s| mine(s, false)))
            {
                return vec![*s];
            }
        }
        live
    }

    pub(super) fn compute_dataplane(&self) -> DataplaneState {
        let avg = self.is_avg();
        DataplaneState {
            avg,
            slots: if avg { self.slots() } else { Vec::new() },
            owned: self
                .vfs
                .values()
                .filter(|v| v.state == VfState::Active)
                .map(|v| (v.num, v.vmac))
                .collect(),
        }
    }
}
