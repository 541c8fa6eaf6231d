//! A group run over IPv6: hellos carry the group's virtual link-local
//! address (`VIP6`, fe80::7:b4ff:fe00:100) and routers are known by their
//! interfaces' link-local addresses (fe80::1, fe80::2, fe80::3). The fault
//! scenarios are the IPv4 ones of `steady.rs` and `faults.rs`, run on
//! IPv6 routers.

use std::net::{IpAddr, Ipv6Addr};

use super::*;
use crate::engine::Event;
use crate::proto::{HELLO_LEN_V6, Tlv};

/// Routers in the group.
const N: usize = 3;

/// Input: three IPv6 routers with random priorities (ties included) start
/// within 3 s.
/// Output: settled by 45 s; the AVG is the router with the highest
/// priority, then the highest address, the standby the next one; every
/// router forwards one vMAC, which the AVG hands out; every router's status
/// names the AVG, the standby, its peers and each forwarder's owner by
/// link-local address; every hello carries the IPv6 VIP (40-byte Hello TLV).
#[test]
fn ipv6_elects_one_avg_and_every_router_forwards() {
    for_seeds(
        "ipv6_elects_one_avg_and_every_router_forwards",
        30,
        |seed| {
            let mut sim = random_lan_in(Family::V6, seed, Some(N));
            sim.run_until(SETTLED);
            settled(&sim)?;
            let id = |i: usize| sim.node(i).id;
            let mut ranked: Vec<(u8, IpAddr, usize)> = (0..N)
                .map(|i| (sim.node(i).cfgs[0].priority, id(i).ip, i))
                .collect();
            ranked.sort_unstable_by(|a, b| b.cmp(a));
            let (avg, sb) = (ranked[0].2, ranked[1].2);
            if sim.avgs(0) != vec![avg] || standby(&sim) != Some(sb) {
                return Err(format!(
                    "AVG {:?}, standby {:?}; ranking {ranked:?}",
                    sim.avgs(0),
                    standby(&sim)
                ));
            }
            for i in 0..N {
                if own_vmac(&sim, i).is_none() {
                    return Err(format!("router {i} forwards nothing of its own"));
                }
                let st = sim.engine(i, 0).ok_or("router down")?.status();
                if st.vip != Family::V6.vip()
                    || st.active_router != Some(id(avg).ip)
                    || st.standby_router != Some(id(sb).ip)
                {
                    return Err(format!(
                        "router {i}: VIP {}, active {:?}, standby {:?}",
                        st.vip, st.active_router, st.standby_router
                    ));
                }
                let peers: Vec<IpAddr> = st.peers.iter().map(|p| p.ip).collect();
                let others: Vec<IpAddr> = (0..N).filter(|&j| j != i).map(|j| id(j).ip).collect();
                if peers != others {
                    return Err(format!("router {i} knows peers {peers:?}"));
                }
                for f in &st.forwarders {
                    let owner = owners(&sim, f.vmac).first().map(|&j| (id(j).ip, id(j).mac));
                    if owner.is_none() || f.owner != owner {
                        return Err(format!(
                            "router {i}: forwarder {} owner {:?}, forwarded by {owner:?}",
                            f.number, f.owner
                        ));
                    }
                }
            }
            let hellos = sim
                .records
                .iter()
                .flat_map(|r| &r.output.send)
                .flat_map(|o| &o.packet.tlvs)
                .filter_map(|t| match t {
                    Tlv::Hello(h) => Some(h),
                    _ => None,
                });
            for h in hellos {
                if h.vip != Family::V6.vip() || h.buffer_len() != HELLO_LEN_V6 {
                    return Err(format!("hello {h:?}"));
                }
            }
            Ok(())
        },
    );
}

/// Input: three IPv6 routers of equal priority start together.
/// Output: the highest address wins the tie: fe80::3 is AVG, fe80::2
/// standby.
#[test]
fn ipv6_tie_goes_to_highest_address() {
    let mut sim = Family::V6.sim(1, N, &[Family::V6.cfg()]);
    sim.run_until(SETTLED);
    assert_eq!(settled(&sim), Ok(()));
    assert_eq!(VIP6, "fe80::7:b4ff:fe00:100".parse::<Ipv6Addr>().unwrap());
    assert_eq!(sim.node(2).id.ip, "fe80::3".parse::<IpAddr>().unwrap());
    assert_eq!(sim.avgs(0), vec![2]);
    assert_eq!(standby(&sim), Some(1));
}

/// Input: a settled IPv6 group; a router that is not AVG crashes.
/// Output: after the hold time the survivors report it expired by its
/// link-local address, and the one that takes its vMAC over names it as
/// the forwarder's previous owner.
#[test]
fn ipv6_takeover_names_the_crashed_router() {
    let mut sim = Family::V6.sim(1, N, &[Family::V6.cfg()]);
    sim.run_until(SETTLED);
    let victim = 0;
    assert!(!sim.avgs(0).contains(&victim));
    let gone = sim.node(victim).id.ip;
    let (fwd, v) = own_vmac(&sim, victim).expect("victim owns a forwarder");
    let t = sim.now();
    sim.crash(victim);
    sim.run_until(t.add_ms(HOLD + MAX_DELAY));
    assert_eq!(owners(&sim, v).len(), 1);
    let events: Vec<&Event> = sim
        .records
        .iter()
        .filter(|r| r.at >= t)
        .flat_map(|r| &r.output.events)
        .collect();
    let expired = events
        .iter()
        .filter(|e| matches!(e, Event::PeerExpired { ip } if *ip == gone))
        .count();
    assert_eq!(expired, N - 1, "{events:?}");
    assert!(
        events.iter().any(|e| matches!(
            e,
            Event::TakeOver { fwd: f, from: Some(ip), .. } if *f == fwd && *ip == gone
        )),
        "{events:?}"
    );
}

/// Input/Output: as `faults::avg_crash_standby_takes_over`, on three IPv6
/// routers: the standby is AVG within the hold time and the dead AVG's
/// vMAC is taken over by exactly one survivor.
#[test]
fn ipv6_avg_crash_standby_takes_over() {
    for_seeds("ipv6_avg_crash_standby_takes_over", 30, |seed| {
        faults::avg_crash(Family::V6, seed, Some(N))
    });
}

/// Input/Output: as `faults::forwarder_crash_redirect_then_timeout`, on
/// three IPv6 routers: the crashed forwarder's vMAC is taken over, then
/// redirected at the redirect time and removed at the timeout.
#[test]
fn ipv6_forwarder_crash_redirect_then_timeout() {
    for_seeds("ipv6_forwarder_crash_redirect_then_timeout", 30, |seed| {
        faults::forwarder_crash(Family::V6, seed, Some(N))
    });
}

/// Input/Output: as `steady::loss_20_percent_does_not_flap`, on three IPv6
/// routers: under 20% loss and 5% duplication the invariants hold after
/// every event and nobody changes state.
#[test]
fn ipv6_loss_20_percent_does_not_flap() {
    for_seeds("ipv6_loss_20_percent_does_not_flap", 30, |seed| {
        steady::loss_does_not_flap(Family::V6, seed, Some(N))
    });
}

/// Input/Output: as `faults::chaos_then_recovery`, on 2..=8 IPv6 routers:
/// after five minutes of random faults (loss included) and a heal, the
/// group settles and the invariants hold.
#[test]
fn ipv6_chaos_then_recovery() {
    for_seeds("ipv6_chaos_then_recovery", 20, |seed| {
        faults::chaos(Family::V6, seed, None)
    });
}
