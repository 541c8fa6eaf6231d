//! Polling with a deadline: tests check behaviour, never sleep-and-hope.

use std::time::{Duration, Instant};

/// Polls `f` every 20 ms until it returns Some or `timeout` passes.
pub fn until<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
