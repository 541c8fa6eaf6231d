//! The simulated LAN: one broadcast domain, optionally cut into partitions,
//! with per-delivery delay, loss and duplication drawn from the sim's seed.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::engine::Instant;
use crate::engine::rand::Rand;
use crate::proto::Packet;

#[derive(Clone, Debug, PartialEq)]
pub struct NetConfig {
    /// Each delivery takes a delay uniform in this range (ms, inclusive).
    pub delay_ms: (u64, u64),
    /// Probability that one frame is lost on one link.
    pub loss: f64,
    /// Probability that a delivered frame arrives twice.
    pub dup: f64,
    /// Never lose more than this many frames in a row on one link.
    pub max_loss_burst: Option<u32>,
    /// Keep each link's frames in order (a switched LAN does); false lets
    /// delays reorder them.
    pub fifo: bool,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            delay_ms: (1, 10),
            loss: 0.0,
            dup: 0.0,
            max_loss_burst: None,
            fifo: true,
        }
    }
}

#[derive(Clone, Debug)]
pub(super) struct Delivery {
    pub from: usize,
    pub to: usize,
    /// Shared by all recipients of one frame.
    pub packet: Rc<Packet>,
}

pub(super) struct Network {
    pub cfg: NetConfig,
    /// Partition id per node.
    pub component: Vec<usize>,
    n: usize,
    /// Pending deliveries by (time, sequence): a deterministic queue.
    queue: BTreeMap<(Instant, u64), Delivery>,
    seq: u64,
    /// Per directed link: latest scheduled delivery (FIFO) and the current
    /// run of losses.
    link_last: Vec<Instant>,
    link_lost: Vec<u32>,
}

impl Network {
    pub fn new(n: usize) -> Network {
        Network {
            cfg: NetConfig::default(),
            component: vec![0; n],
            n,
            queue: BTreeMap::new(),
            seq: 0,
            link_last: vec![Instant::ZERO; n * n],
            link_lost: vec![0; n * n],
        }
    }

    pub fn connected(&self, a: usize, b: usize) -> bool {
        self.component[a] == self.component[b]
    }

    pub fn partition(&mut self, sets: &[&[usize]]) {
        // Nodes in no set each get a partition of their own.
        for (i, c) in self.component.iter_mut().enumerate() {
            *c = sets.len() + i;
        }
        for (k, set) in sets.iter().enumerate() {
            for &i in *set {
                if let Some(c) = self.component.get_mut(i) {
                    *c = k;
                }
            }
        }
    }

    pub fn heal(&mut self) {
        self.component.iter_mut().for_each(|c| *c = 0);
    }

    pub fn next_at(&self) -> Option<Instant> {
        self.queue.keys().next().map(|k| k.0)
    }

    pub fn pop(&mut self) -> Option<Delivery> {
        self.queue.pop_first().map(|(_, d)| d)
    }

    /// Sends one frame from `from` to every other node it can reach now.
    pub fn multicast(
        &mut self,
        rng: &mut Rand,
        now: Instant,
        from: usize,
        up: &[bool],
        packet: &Packet,
    ) {
        let packet = Rc::new(packet.clone());
        for (to, &up) in up.iter().enumerate().take(self.n) {
            if to == from || !up || !self.connected(from, to) {
                continue;
            }
            let link = from * self.n + to;
            let may_lose = self
                .cfg
                .max_loss_burst
                .is_none_or(|max| self.link_lost[link] < max);
            if rng.chance(self.cfg.loss) && may_lose {
                self.link_lost[link] += 1;
                continue;
            }
            self.link_lost[link] = 0;
            let copies = if rng.chance(self.cfg.dup) { 2 } else { 1 };
            for _ in 0..copies {
                let (lo, hi) = self.cfg.delay_ms;
                let mut at = now.add_ms(rng.range(lo, hi));
                if self.cfg.fifo {
                    at = at.max(self.link_last[link]);
                    self.link_last[link] = at;
                }
                self.seq += 1;
                self.queue.insert(
                    (at, self.seq),
                    Delivery {
                        from,
                        to,
                        packet: Rc::clone(&packet),
                    },
                );
            }
        }
    }
}
