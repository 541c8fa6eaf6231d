//! Host-dependent table: rendezvous (highest-random-weight) hashing per
//! table entry. Entry j goes to the forwarder with the highest hash of
//! (j, vMAC). Removing a forwarder moves exactly the entries it held, and
//! adding one takes entries only from others in equal measure; no other
//! host changes forwarder. (Maglev balances a little better but moves a few
//! unrelated entries on a change, which the host-dependent promise forbids.)

use crate::engine::SlotEntry;

/// splitmix64 finaliser: stable across runs and builds, as the table must be.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn mac_u64(mac: &[u8; 6]) -> u64 {
    let mut b = [0u8; 8];
    b[2..].copy_from_slice(mac);
    u64::from_be_bytes(b)
}

/// Indices into `live`, `len` long; empty if `live` is empty.
pub fn fill(live: &[SlotEntry], len: usize) -> Vec<usize> {
    if live.is_empty() {
        return Vec::new();
    }
    (0..len as u64)
        .map(|j| {
            let score = |i: usize| mix(mac_u64(&live[i].vmac) ^ mix(j));
            (0..live.len()).max_by_key(|&i| score(i)).unwrap_or(0)
        })
        .collect()
}
