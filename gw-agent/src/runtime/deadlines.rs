//! The next timer of every group, ordered, so the loop finds the earliest
//! deadline and the groups due without scanning every engine (with 1024
//! groups that scan, twice per wake-up, was most of the agent's CPU).
//!
//! Deadlines are also rounded up to a grid of 1/100 of the group's hello
//! time, at most `MAX_GRID_MS`: timers of many groups that fall due close
//! together then run in one wake-up (and their hellos leave, and reach
//! the peers, as one burst). With the grid alone a thousand groups at
//! default timers wake the agent about 33 times a second, not 340; a
//! timer fires at most 30 ms late, well inside a hold time.
//!
//! And when the agent wakes for timers, every group whose hello window is
//! open (`Engine::hello_window`, a tenth of the hello time before it is
//! due) sends its hello too (`hello_windows`): the groups' hellos gather
//! into a few bursts per hello time, and each router wakes about once a
//! second. That took the idle agent from 1.2 % of a core to 0.6 %.

use std::{cmp::Reverse, collections::BinaryHeap};

use super::Agent;
use crate::engine::Instant;

/// The coarsest grid (reached from a hello time of 3 s, the default).
pub const MAX_GRID_MS: u64 = 30;

/// `at` rounded up to the grid of a group with hello time `hello_ms`.
pub fn coalesce(at: Instant, hello_ms: u32) -> Instant {
    let grid = (u64::from(hello_ms) / 100).clamp(1, MAX_GRID_MS);
    Instant(at.0.div_ceil(grid) * grid)
}

/// A min-heap of (deadline, group) with lazy deletion: moving a group's
/// deadline pushes a new entry and leaves the old one to be skipped when
/// it surfaces (`current` says which entry is live). With a thousand
/// groups each moving its deadline at every hello this is several times
/// cheaper than keeping an ordered set exact.
#[derive(Default)]
pub struct Deadlines {
    /// The live deadline of each group, by group number.
    current: Vec<Option<Instant>>,
    heap: BinaryHeap<Reverse<(Instant, u16)>>,
    live: usize,
}

impl Deadlines {
    pub fn set(&mut self, group: u16, at: Option<Instant>) {
        let i = usize::from(group);
        if self.current.len() <= i {
            self.current.resize(i + 1, None);
        }
        if self.current[i] == at {
            return;
        }
        match (self.current[i].is_some(), at.is_some()) {
            (false, true) => self.live += 1,
            (true, false) => self.live -= 1,
            _ => {}
        }
        self.current[i] = at;
        if let Some(at) = at {
            self.heap.push(Reverse((at, group)));
        }
        // Stale entries are dropped as they surface; rebuild if they pile
        // up (deadlines that keep moving later never surface).
        if self.heap.len() > 4 * self.live.max(16) {
            self.heap = self
                .current
                .iter()
                .enumerate()
                .filter_map(|(g, at)| Some(Reverse(((*at)?, g as u16))))
                .collect();
        }
    }

    fn is_live(&self, at: Instant, group: u16) -> bool {
        self.current.get(usize::from(group)).copied().flatten() == Some(at)
    }

    /// Drops stale entries off the top.
    fn settle(&mut self) {
        while let Some(Reverse((at, g))) = self.heap.peek().copied() {
            if self.is_live(at, g) {
                return;
            }
            self.heap.pop();
        }
    }

    pub fn next(&mut self) -> Option<Instant> {
        self.settle();
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    /// Groups whose deadline is at or before `now`, in deadline order. They
    /// leave the queue: the caller runs their engines and sets the next
    /// deadlines (`Agent::refresh_deadline`).
    pub fn due(&mut self, now: Instant) -> Vec<u16> {
        let mut out = Vec::new();
        while let Some(Reverse((at, g))) = self.heap.peek().copied() {
            if at > now {
                break;
            }
            self.heap.pop();
            if self.is_live(at, g) {
                self.current[usize::from(g)] = None;
                self.live -= 1;
                out.push(g);
            }
        }
        out
    }
}

impl Agent {
    /// Call after every engine call: its next deadline and its hello
    /// window may have moved.
    pub(super) fn refresh_deadline(&mut self, group: u16) {
        let (at, window) = self.groups.get(&group).map_or((None, None), |g| {
            let at = g
                .engine
                .poll_at()
                .map(|at| coalesce(at, g.engine.hello_ms()));
            (at, g.engine.hello_window())
        });
        self.deadlines.set(group, at);
        self.hello_windows.set(group, window);
    }

    /// The group is gone: no more timers for it.
    pub(super) fn forget_deadline(&mut self, group: u16) {
        self.deadlines.set(group, None);
        self.hello_windows.set(group, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_and_moves_deadlines() {
        let mut d = Deadlines::default();
        assert_eq!(d.next(), None);
        d.set(1, Some(Instant(50)));
        d.set(2, Some(Instant(10)));
        d.set(3, Some(Instant(30)));
        assert_eq!(d.next(), Some(Instant(10)));
        assert_eq!(d.due(Instant(30)), vec![2, 3]);
        // Due groups left the queue until set again.
        assert_eq!(d.next(), Some(Instant(50)));
        d.set(2, Some(Instant(60)));
        d.set(3, Some(Instant(30)));
        assert_eq!(d.next(), Some(Instant(30)));
        d.set(3, None);
        assert_eq!(d.due(Instant(55)), vec![1]);
        assert_eq!(d.next(), Some(Instant(60)));
        // Moved deadlines: only the live one fires, once.
        for at in (100..200).rev() {
            d.set(4, Some(Instant(at)));
        }
        d.set(4, Some(Instant(150)));
        assert_eq!(d.due(Instant(149)), vec![2]);
        assert_eq!(d.due(Instant(1000)), vec![4]);
        assert_eq!(d.next(), None);
    }

    #[test]
    fn coalesces_to_a_grid_scaled_by_the_hello_time() {
        // Default hello: a 30 ms grid, never early.
        assert_eq!(coalesce(Instant(1001), 3000), Instant(1020));
        assert_eq!(coalesce(Instant(1020), 3000), Instant(1020));
        // Hello 1 s: 10 ms; hello 50 ms and below: exact.
        assert_eq!(coalesce(Instant(1001), 1000), Instant(1010));
        assert_eq!(coalesce(Instant(1001), 50), Instant(1001));
        // Long hello times stay capped.
        assert_eq!(coalesce(Instant(1), 60_000), Instant(30));
    }
}
