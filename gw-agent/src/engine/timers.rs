//! Time as data: the engine never reads a clock. Every entry point takes
//! `now`, deadlines are plain `Instant`s stored in state (smoltcp
//! `socket/tcp.rs` `Timer`, `iface/neighbor.rs` `expires_at`), and
//! `Engine::poll_at` reports the earliest one.

use core::fmt;
use core::ops::{Add, Sub};
use std::time::Duration;

/// Milliseconds since an arbitrary epoch; the runtime passes a monotonic clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(pub u64);

impl Instant {
    pub const ZERO: Instant = Instant(0);

    pub const fn from_millis(ms: u64) -> Self {
        Instant(ms)
    }

    pub const fn from_secs(s: u64) -> Self {
        Instant(s.saturating_mul(1000))
    }

    pub const fn millis(self) -> u64 {
        self.0
    }

    /// `self + ms`, saturating (a deadline far in the future stays there).
    pub const fn add_ms(self, ms: u64) -> Self {
        Instant(self.0.saturating_add(ms))
    }

    /// Milliseconds from `earlier` to `self`, 0 if `earlier` is later.
    pub const fn ms_since(self, earlier: Instant) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        self.add_ms(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturating: a negative span is zero.
    fn sub(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.ms_since(earlier))
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0 / 1000, self.0 % 1000)
    }
}

/// Seconds (as configured for redirect/timeout) to milliseconds.
pub(crate) const fn secs(s: u16) -> u64 {
    s as u64 * 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Instant::from_secs(3);
        assert_eq!(t.millis(), 3000);
        assert_eq!(t.add_ms(500), Instant(3500));
        assert_eq!(Instant(u64::MAX).add_ms(1), Instant(u64::MAX));
        assert_eq!(Instant(10).ms_since(Instant(20)), 0);
        assert_eq!(Instant(20) - Instant(10), Duration::from_millis(10));
        assert_eq!(Instant(1) + Duration::from_millis(9), Instant(10));
        assert_eq!(Instant(1234).to_string(), "1.234s");
    }
}
