//! The client cache at scale: 100k hosts in one interface's GW_CLIENTS,
//! as a big LAN (or a scan) leaves it. `status::read` must count them per
//! forwarder, and pruning must drop exactly the expired ones, both in a
//! time that does not hold up the agent. Times are printed (`--nocapture`)
//! for the record; the bounds are loose for a loaded 2-core machine.

use std::time::{Duration, Instant};

use gw_agent::{
    dataplane::{clients, monotonic_ns},
    status,
};
use gw_common::{ClientKey, ClientValue};

use crate::{
    fixture::GroupSetup,
    frames::{IF_MAC, client_mac},
    harness::Xdp,
};

const HOSTS: u32 = 100_000;

/// A production-sized object (131072 cache entries) with the standard
/// group over forwarders 1..=4 and `HOSTS` clients: host n holds forwarder
/// n % 4 + 1; odd hosts were last seen an hour ago, even ones just now.
fn filled() -> Option<(Xdp, u64)> {
    let mut x = Xdp::load_production(131_072)?;
    x.set_if_mac(IF_MAC);
    x.add_group(&GroupSetup {
        fwds: vec![1, 2, 3, 4],
        ..GroupSetup::standard()
    });
    let now = monotonic_ns();
    let hour = 3600 * 1_000_000_000;
    let t = Instant::now();
    for n in 0..HOSTS {
        let v = ClientValue {
            ip: [192, 0, 2, (n % 250) as u8 + 2],
            fwd: (n % 4) as u8 + 1,
            _pad: [0; 3],
            last_seen_ns: if n % 2 == 1 {
                now.saturating_sub(hour)
            } else {
                now
            },
        };
        x.insert_client(client_mac(n), 0, v);
    }
    eprintln!("inserting {HOSTS} clients: {:?}", t.elapsed());
    Some((x, now))
}

#[test]
fn status_counts_100k_clients_per_forwarder() {
    // Input: 100k clients, 25k per forwarder. Output: status::read counts
    // 100k for the group and 25k on each handed-out forwarder; the batched
    // dump returns every entry once and beats the per-entry walk.
    let Some((x, _)) = filled() else { return };
    let t = Instant::now();
    let st = status::read(x.maps(), "eth0", "root");
    let read = t.elapsed();
    let g = &st.groups[0];
    assert_eq!(g.clients, u64::from(HOSTS));
    let per: Vec<(u8, u64)> = g.slots.iter().map(|s| (s.forwarder, s.clients)).collect();
    let quarter = u64::from(HOSTS / 4);
    assert_eq!(
        per,
        [(1, quarter), (2, quarter), (3, quarter), (4, quarter)]
    );

    let t = Instant::now();
    let all = clients::dump(&x.maps().clients);
    let batched = t.elapsed();
    let mut keys: Vec<ClientKey> = all.iter().map(|(k, _)| *k).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), HOSTS as usize, "every entry exactly once");
    let t = Instant::now();
    let walked = x.maps().clients.iter().filter_map(Result::ok).count();
    let walk = t.elapsed();
    assert_eq!(walked, HOSTS as usize);
    eprintln!("status::read {read:?}; batched dump {batched:?}; per-entry walk {walk:?}");
    assert!(read < Duration::from_secs(3), "status::read took {read:?}");
    assert!(batched < walk, "batched {batched:?} vs walk {walk:?}");
}

#[test]
fn pruning_drops_exactly_the_expired_clients() {
    // Input: 100k clients, half last seen an hour ago; cutoff 10 minutes
    // ago. Output: 50k removed, the 50k fresh ones all still there; a
    // second prune removes nothing.
    let Some((mut x, now)) = filled() else { return };
    let cutoff = now - 600 * 1_000_000_000;
    let t = Instant::now();
    let gone = clients::prune(&mut x.maps_mut().clients, cutoff);
    eprintln!("pruning {gone} of {HOSTS}: {:?}", t.elapsed());
    assert_eq!(gone, HOSTS as usize / 2);
    let left = clients::dump(&x.maps().clients);
    assert_eq!(left.len(), HOSTS as usize / 2);
    assert!(left.iter().all(|(_, v)| v.last_seen_ns >= cutoff));
    assert_eq!(clients::prune(&mut x.maps_mut().clients, cutoff), 0);
}
