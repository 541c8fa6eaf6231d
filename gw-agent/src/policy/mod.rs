//! Load balancing: turns the AVG's live forwarders into the slot table the
//! XDP program indexes. The program only walks (round-robin) or hashes
//! (host-dependent) into it; every policy decision is made here.

mod rendezvous;
mod weighted;

use gw_common::{MODE_HOST_HASH, MODE_ROUND_ROBIN, SLOT_TABLE_LEN, Slot};

use crate::engine::{LoadBalancing, SlotEntry};

/// The table and the XDP mode that reads it.
pub fn build(method: LoadBalancing, live: &[SlotEntry]) -> (u8, Vec<Slot>) {
    let slot = |e: &SlotEntry| Slot {
        mac: e.vmac,
        fwd: e.fwd,
        _pad: 0,
    };
    match method {
        // `None` arrives here already reduced to the AVG's own forwarder.
        LoadBalancing::RoundRobin | LoadBalancing::None => (
            MODE_ROUND_ROBIN,
            live.iter().take(SLOT_TABLE_LEN).map(slot).collect(),
        ),
        LoadBalancing::Weighted => (
            MODE_ROUND_ROBIN,
            weighted::fill(live)
                .iter()
                .map(|i| slot(&live[*i]))
                .collect(),
        ),
        LoadBalancing::HostDependent => (
            MODE_HOST_HASH,
            rendezvous::fill(live, SLOT_TABLE_LEN)
                .iter()
                .map(|i| slot(&live[*i]))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests;
