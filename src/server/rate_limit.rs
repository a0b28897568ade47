//! Per-API-key rate limits: GCRA over two windows, per minute and per hour.
//! State is one "theoretical arrival time" per key and window, so checking is O(1) and needs no timers.
//! Limits are per hub instance.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The limit of the window that binds (the one with fewer requests left).
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until that window is full again.
    pub reset_secs: u64,
    /// Seconds to wait before retrying (0 when allowed).
    pub retry_after_secs: u64,
}

/// One GCRA window: `limit` requests per `period_ns`, bursts up to `limit`.
#[derive(Debug, Clone, Copy)]
struct Window {
    limit: u32,
    period_ns: u64,
}

struct Outcome {
    allowed: bool,
    new_tat: u64,
    remaining: u32,
    reset_ns: u64,
    retry_ns: u64,
}

impl Window {
    fn interval(&self) -> u64 {
        self.period_ns / u64::from(self.limit.max(1))
    }

    fn check(&self, tat: u64, now: u64) -> Outcome {
        let t = self.interval();
        let capacity = t * u64::from(self.limit.max(1));
        let new_tat = tat.max(now) + t;
        if new_tat - now > capacity {
            // Denied: state unchanged; retry when one interval has drained.
            let wait = new_tat - now - capacity;
            let level = tat.max(now) - now;
            return Outcome { allowed: false, new_tat: tat, remaining: 0, reset_ns: level, retry_ns: wait };
        }
        let used = new_tat - now;
        Outcome { allowed: true, new_tat, remaining: ((capacity - used) / t) as u32, reset_ns: used, retry_ns: 0 }
    }
}

#[derive(Default)]
pub struct RateLimiter {
    /// key id → (minute TAT, hour TAT), in ns since the epoch.
    state: Mutex<HashMap<String, (u64, u64)>>,
}

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

const MINUTE_NS: u64 = 60_000_000_000;
const HOUR_NS: u64 = 60 * MINUTE_NS;

fn secs_ceil(ns: u64) -> u64 {
    ns.div_ceil(1_000_000_000)
}

impl RateLimiter {
    pub fn check(&self, key: &str, per_minute: u32, per_hour: u32) -> Decision {
        self.check_at(key, per_minute, per_hour, now_ns())
    }

    /// A request is admitted only if both windows admit it; only then do both windows count it.
    pub fn check_at(&self, key: &str, per_minute: u32, per_hour: u32, now: u64) -> Decision {
        let minute = Window { limit: per_minute, period_ns: MINUTE_NS };
        let hour = Window { limit: per_hour, period_ns: HOUR_NS };
        let mut map = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (tat_m, tat_h) = map.get(key).copied().unwrap_or((0, 0));
        let m = minute.check(tat_m, now);
        let h = hour.check(tat_h, now);
        let allowed = m.allowed && h.allowed;
        if allowed {
            map.insert(key.to_string(), (m.new_tat, h.new_tat));
        }
        // Report the binding window: the denying one, else the one with fewer requests left.
        let use_hour =
            if allowed { h.remaining < m.remaining } else { !h.allowed && (m.allowed || h.retry_ns > m.retry_ns) };
        let (w, o) = if use_hour { (hour, &h) } else { (minute, &m) };
        Decision {
            allowed,
            limit: w.limit,
            remaining: if allowed { o.remaining } else { 0 },
            reset_secs: secs_ceil(o.reset_ns),
            retry_after_secs: if allowed { 0 } else { secs_ceil(m.retry_ns.max(h.retry_ns)).max(1) },
        }
    }

    /// Drops state of keys idle long enough to be full again (bounded memory).
    pub fn prune(&self) {
        let now = now_ns();
        self.state.lock().unwrap_or_else(|p| p.into_inner()).retain(|_, (m, h)| *m > now || *h > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn minute_window_allows_burst_then_denies_with_retry_after() {
        let rl = RateLimiter::default();
        let t0 = 1_000 * S;
        for i in 0..5 {
            let d = rl.check_at("k", 5, 1000, t0);
            assert!(d.allowed, "request {i}");
            assert_eq!(d.remaining, 4 - i);
            assert_eq!(d.limit, 5);
        }
        let d = rl.check_at("k", 5, 1000, t0);
        assert!(!d.allowed);
        assert_eq!(d.remaining, 0);
        assert_eq!(d.retry_after_secs, 12, "one interval of 60/5 s");
        assert!(rl.check_at("k", 5, 1000, t0 + 12 * S).allowed, "one slot back after the interval");
        assert!(rl.check_at("other", 5, 1000, t0).allowed, "keys are independent");
    }

    #[test]
    fn hour_window_binds_when_tighter() {
        let rl = RateLimiter::default();
        let t0 = 5_000 * S;
        for _ in 0..3 {
            assert!(rl.check_at("k", 100, 3, t0).allowed);
        }
        let d = rl.check_at("k", 100, 3, t0);
        assert!(!d.allowed);
        assert_eq!(d.limit, 3, "the hour window is reported");
        assert_eq!(d.retry_after_secs, 1200, "3600/3 s");
        // A denied request does not consume the minute window.
        let d = rl.check_at("k", 100, 3, t0 + 1200 * S);
        assert!(d.allowed);
    }
}
