//! The next timer of every group, ordered, so the loop finds the earliest
//! deadline and the groups due without scanning every engine (with 1024
//! groups that scan, twice per wake-up, was most of the agent's CPU).

use std::collections::{BTreeMap, BTreeSet};

use super::Agent;
use crate::engine::Instant;

#[derive(Default)]
pub struct Deadlines {
    by_group: BTreeMap<u16, Instant>,
    queue: BTreeSet<(Instant, u16)>,
}

impl Deadlines {
    pub fn set(&mut self, group: u16, at: Option<Instant>) {
        if let Some(old) = self.by_group.remove(&group) {
            self.queue.remove(&(old, group));
        }
        if let Some(at) = at {
            self.by_group.insert(group, at);
            self.queue.insert((at, group));
        }
    }

    pub fn next(&self) -> Option<Instant> {
        self.queue.first().map(|(at, _)| *at)
    }

    /// Groups whose deadline is at or before `now`.
    pub fn due(&self, now: Instant) -> Vec<u16> {
        self.queue
            .range(..=(now, u16::MAX))
            .map(|(_, g)| *g)
            .collect()
    }
}

impl Agent {
    /// Call after every engine call: its next deadline may have moved.
    pub(super) fn refresh_deadline(&mut self, group: u16) {
        let at = self.groups.get(&group).and_then(|g| g.engine.poll_at());
        self.deadlines.set(group, at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_and_moves_deadlines() {
        let mut d = Deadlines::default();
        d.set(1, Some(Instant(50)));
        d.set(2, Some(Instant(10)));
        d.set(3, Some(Instant(30)));
        assert_eq!(d.next(), Some(Instant(10)));
        assert_eq!(d.due(Instant(30)), vec![2, 3]);
        d.set(2, Some(Instant(60)));
        assert_eq!(d.next(), Some(Instant(30)));
        d.set(3, None);
        assert_eq!(d.due(Instant(55)), vec![1]);
    }
}
