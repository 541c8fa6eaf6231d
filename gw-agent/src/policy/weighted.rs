//! Weighted round-robin: a 256-entry table where each forwarder appears in
//! proportion to its weight, interleaved (smooth WRR, as nginx does) so
//! consecutive answers spread out instead of coming in runs.

use gw_common::SLOT_TABLE_LEN;

use crate::engine::SlotEntry;

/// Indices into `live`, `SLOT_TABLE_LEN` long (empty if no weight at all).
pub fn fill(live: &[SlotEntry]) -> Vec<usize> {
    let total: u64 = live.iter().map(|e| e.weight as u64).sum();
    if total == 0 {
        return Vec::new();
    }
    // Largest-remainder apportionment of the table to the weights.
    let mut quota: Vec<u64> = live
        .iter()
        .map(|e| e.weight as u64 * SLOT_TABLE_LEN as u64 / total)
        .collect();
    let mut rest = SLOT_TABLE_LEN as u64 - quota.iter().sum::<u64>();
    let mut order: Vec<usize> = (0..live.len()).collect();
    order
        .sort_by_key(|&i| std::cmp::Reverse(live[i].weight as u64 * SLOT_TABLE_LEN as u64 % total));
    for &i in order.iter().cycle().take(live.len().max(1) * 2) {
        if rest == 0 {
            break;
        }
        if live[i].weight > 0 {
            quota[i] += 1;
            rest -= 1;
        }
    }
    // Smooth WRR over the quotas.
    let sum: i64 = quota.iter().sum::<u64>() as i64;
    let mut current = vec![0i64; live.len()];
    let mut out = Vec::with_capacity(SLOT_TABLE_LEN);
    for _ in 0..sum {
        let mut best = 0;
        for i in 0..live.len() {
            current[i] += quota[i] as i64;
            if current[i] > current[best] {
                best = i;
            }
        }
        current[best] -= sum;
        out.push(best);
    }
    out
}
