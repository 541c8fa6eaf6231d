//! Receiving hellos: validation, the peer table and its hold timers.
//!
//! Every GLBP member multicasts a hello each hello time carrying its
//! gateway state and priority, and a Forwarder TLV per forwarder it
//! forwards for or owns (the AVG: for every forwarder in the group). A
//! peer silent for its advertised hold time is gone; a peer whose hello
//! says Initial/Disabled resigned and is gone at once.

use std::net::IpAddr;

use super::election::Rank;
use super::events::{Event, IgnoreReason};
use super::{Engine, Instant, State, VF_PRIORITY_SECONDARY, vmac};
use crate::proto::{Forwarder, Hello, Packet, Tlv, VfState};

#[derive(Clone, Debug)]
pub(super) struct Peer {
    pub ip: IpAddr,
    pub mac: [u8; 6],
    pub state: State,
    pub priority: u8,
    pub hello_ms: u32,
    pub hold_ms: u32,
    /// Forwarder TLVs of its latest hello (valid, one per number).
    pub fwds: Vec<Forwarder>,
    pub first_seen: Instant,
    pub last_seen: Instant,
    pub expires: Instant,
}

impl Peer {
    pub fn rank(&self) -> Rank {
        Rank {
            priority: self.priority,
            ip: self.ip,
        }
    }

    pub fn tlv(&self, n: u8) -> Option<&Forwarder> {
        self.fwds.iter().find(|f| f.number == n)
    }

    /// Its current weight, as carried in any of its Forwarder TLVs.
    pub fn weight(&self) -> Option<u8> {
        self.fwds.first().map(|f| f.weight)
    }

    /// It announces itself as primary (owner) of `n`, forwarding or not.
    pub fn claims(&self, n: u8) -> bool {
        self.tlv(n).is_some_and(is_primary)
    }

    /// It is primary of some forwarder.
    pub fn has_claim(&self) -> bool {
        self.fwds.iter().any(is_primary)
    }
}

/// A Forwarder TLV from the owner: Cisco uses 167 for the owner and 135 for
/// a secondary, so anything above the secondary value counts as owner.
pub(super) fn is_primary(f: &Forwarder) -> bool {
    f.priority > VF_PRIORITY_SECONDARY
}

pub(super) fn is_active(f: &Forwarder) -> bool {
    f.state == VfState::Active
}

/// Checks a packet for this group; returns its hello and forwarders.
fn validate(
    pkt: &Packet,
    group: u16,
    vip: IpAddr,
) -> Result<(&Hello, Vec<Forwarder>), IgnoreReason> {
    if pkt.group != group {
        return Err(IgnoreReason::WrongGroup(pkt.group));
    }
    let mut hello = None;
    let mut fwds: Vec<Forwarder> = Vec::new();
    for tlv in &pkt.tlvs {
        match tlv {
            // Only the first hello counts.
            Tlv::Hello(h) if hello.is_none() => hello = Some(h),
            Tlv::Forwarder(f) => {
                if f.number == 0 || f.weight == 0 || f.vmac != vmac(group, f.number) {
                    return Err(IgnoreReason::BadForwarder(f.number));
                }
                // A repeated number: the first one stands.
                if !fwds.iter().any(|g| g.number == f.number) {
                    fwds.push(f.clone());
                }
            }
            _ => {}
        }
    }
    let hello = hello.ok_or(IgnoreReason::NoHello)?;
    if hello.vip != vip {
        return Err(IgnoreReason::WrongVip);
    }
    if hello.priority == 0 {
        return Err(IgnoreReason::ZeroPriority);
    }
    if hello.hello_ms == 0 || hello.hold_ms <= hello.hello_ms {
        return Err(IgnoreReason::BadTimers {
            hello_ms: hello.hello_ms,
            hold_ms: hello.hold_ms,
        });
    }
    Ok((hello, fwds))
}

impl Engine {
    pub(super) fn on_packet(&mut self, now: Instant, src: IpAddr, pkt: &Packet) {
        // Our own multicast looped back.
        if src == self.me.ip || pkt.owner == self.me.mac {
            return;
        }
        let (hello, fwds) = match validate(pkt, self.cfg.group, self.cfg.vip) {
            Ok(v) => v,
            Err(reason) => {
                self.log(Event::PacketIgnored { src, reason });
                return;
            }
        };
        let state = match State::from_wire(hello.state) {
            Some(s) => s,
            None => {
                let code = match hello.state {
                    crate::proto::VgState::Unknown(c) => c,
                    _ => 0,
                };
                self.log(Event::PacketIgnored {
                    src,
                    reason: IgnoreReason::UnknownState(code),
                });
                return;
            }
        };
        if !state.running() {
            // Resignation: gone now, not after the hold time.
            if let Some(p) = self.peers.remove(&src) {
                self.log(Event::PeerResigned { ip: src });
                self.resigned.insert(src, now.add_ms(u64::from(p.hello_ms)));
                self.dirty = true;
            }
            return;
        }
        self.resigned.retain(|_, until| *until > now);
        if self.resigned.contains_key(&src)
            && (state != State::Listen || fwds.iter().any(is_active))
        {
            // Within a hello time of its resignation a restarted router is
            // still in its initial listen, forwarding nothing: this is an
            // older hello that arrived late. Taking it would bring the
            // router back as AVG or forwarder for a hold time.
            self.log(Event::PacketIgnored {
                src,
                reason: IgnoreReason::Stale,
            });
            return;
        }
        let fresh = !self.peers.contains_key(&src);
        // Anything the decisions read; the expiry alone is a deadline.
        let same = self.peers.get(&src).is_some_and(|p| {
            p.mac == pkt.owner
                && p.state == state
                && p.priority == hello.priority
                && p.hello_ms == hello.hello_ms
                && p.hold_ms == hello.hold_ms
                && p.fwds == fwds
        });
        if !same {
            self.dirty = true;
        }
        if fresh {
            self.log(Event::PeerAppeared {
                ip: src,
                mac: pkt.owner,
            });
        }
        let peer = self.peers.entry(src).or_insert_with(|| Peer {
            ip: src,
            mac: pkt.owner,
            state,
            priority: hello.priority,
            hello_ms: hello.hello_ms,
            hold_ms: hello.hold_ms,
            fwds: Vec::new(),
            first_seen: now,
            last_seen: now,
            expires: now,
        });
        peer.mac = pkt.owner;
        peer.state = state;
        peer.priority = hello.priority;
        peer.hello_ms = hello.hello_ms;
        peer.hold_ms = hello.hold_ms;
        peer.fwds = fwds;
        peer.last_seen = now;
        // The sender's own hold time: it knows how often it speaks.
        peer.expires = now.add_ms(u64::from(hello.hold_ms));
        let rank = peer.rank();

        if state == State::Active {
            self.learn_timers(src, hello.hello_ms, hello.hold_ms);
            if self.state == State::Active && rank < self.rank() {
                // Two AVGs (a healed partition): answer at once so the
                // lower one steps down now (HSRP's coup).
                self.hello_due = true;
            }
        }
        if fresh && self.state == State::Active {
            // A newcomer learns the forwarder table from our hello.
            self.hello_due = true;
        }
    }

    /// Adopts the AVG's timers where ours are not configured (Cisco: timers
    /// are learned from the active gateway).
    fn learn_timers(&mut self, from: IpAddr, hello_ms: u32, hold_ms: u32) {
        if self.cfg.hello_ms.is_some() && self.cfg.hold_ms.is_some() {
            return;
        }
        if self.learned == Some((hello_ms, hold_ms)) {
            return;
        }
        let old_hello = self.hello_ms();
        self.learned = Some((hello_ms, hold_ms));
        self.dirty = true;
        self.log(Event::TimersLearned {
            hello_ms,
            hold_ms,
            from,
        });
        if self.hello_ms() < old_hello {
            // Faster hellos apply from now, not after the old interval.
            let next = self.now.add_ms(u64::from(self.hello_ms()));
            self.hello_at = self.hello_at.map(|t| t.min(next));
            self.hello_from = self.hello_from.map(|t| t.min(next));
        }
    }

    /// Drops every peer whose hold timer ran out.
    pub(super) fn expire_peers(&mut self, now: Instant) {
        let gone: Vec<IpAddr> = self
            .peers
            .values()
            .filter(|p| p.expires <= now)
            .map(|p| p.ip)
            .collect();
        for ip in gone {
            self.peers.remove(&ip);
            self.log(Event::PeerExpired { ip });
            self.dirty = true;
        }
    }
}
