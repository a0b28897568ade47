//! Rate limits as GCRA: per API key over two windows (per minute and per hour), and per endpoint as a steady
//! rate ([`SteadyRate`]). State is one "theoretical arrival time" per key and window, so checking is O(1) and
//! needs no timers. State is per hub instance; the worker gives each instance its share of an endpoint's limit.

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

/// Endpoints' delivery rates: `per_minute` spread evenly over the minute, with at most one second's worth sent at
/// once (a minute's worth at once would hit a receiver with the very burst its limit is there to prevent).
#[derive(Default)]
pub struct SteadyRate {
    /// endpoint id → theoretical arrival time, ns since the epoch.
    state: Mutex<HashMap<String, u64>>,
    /// endpoint id → the time before which nothing is sent to it, whatever its limit (a platform said so).
    holds: Mutex<HashMap<String, u64>>,
}

impl SteadyRate {
    /// `Ok` to send now (and counted), or how long to wait before trying again. `per_minute` 0 is no limit:
    /// only a hold ([`SteadyRate::hold`]) keeps such an endpoint waiting.
    pub fn admit(&self, key: &str, per_minute: u32) -> Result<(), std::time::Duration> {
        let now = now_ns();
        let held = self.holds.lock().unwrap_or_else(|p| p.into_inner()).get(key).copied().filter(|&until| until > now);
        if let Some(until) = held {
            return Err(std::time::Duration::from_nanos(until - now));
        }
        if per_minute == 0 {
            return Ok(());
        }
        self.admit_at(key, per_minute, now).map_err(std::time::Duration::from_nanos)
    }

    /// Sends nothing to `key` for `wait` (a platform's budget is spent until it resets).
    pub fn hold(&self, key: &str, wait: std::time::Duration) {
        let until = now_ns().saturating_add(u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX));
        let mut holds = self.holds.lock().unwrap_or_else(|p| p.into_inner());
        let at = holds.entry(key.to_string()).or_insert(0);
        *at = (*at).max(until);
    }

    fn admit_at(&self, key: &str, per_minute: u32, now: u64) -> Result<(), u64> {
        let per_minute = per_minute.max(1);
        let burst = (per_minute / 60).max(1);
        let window = Window { limit: burst, period_ns: MINUTE_NS / u64::from(per_minute) * u64::from(burst) };
        let mut map = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let out = window.check(map.get(key).copied().unwrap_or(0), now);
        if !out.allowed {
            return Err(out.retry_ns.max(1));
        }
        map.insert(key.to_string(), out.new_tat);
        Ok(())
    }

    /// Drops the state of endpoints idle long enough to have their whole burst again (bounded memory).
    pub fn prune(&self) {
        let now = now_ns();
        self.state.lock().unwrap_or_else(|p| p.into_inner()).retain(|_, tat| *tat > now);
        self.holds.lock().unwrap_or_else(|p| p.into_inner()).retain(|_, until| *until > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_rate_sends_one_seconds_worth_at_once_then_evenly() {
        let rl = SteadyRate::default();
        let t0 = 1_000 * S;
        // 600 a minute: 10 at once, then one every 100 ms.
        for i in 0..10 {
            assert_eq!(rl.admit_at("e", 600, t0), Ok(()), "send {i}");
        }
        assert_eq!(rl.admit_at("e", 600, t0), Err(100_000_000));
        assert_eq!(rl.admit_at("e", 600, t0 + S / 10), Ok(()));
        assert!(rl.admit_at("e", 600, t0 + S / 10).is_err());
        // Over a minute, no more than the limit plus the first second's burst.
        let sent = (0..60_000u64).filter(|ms| rl.admit_at("f", 600, t0 + ms * 1_000_000).is_ok()).count();
        assert_eq!(sent, 600 + 9);
        // Below one a second: one at a time, 60 / per_minute s apart.
        assert_eq!(rl.admit_at("g", 30, t0), Ok(()));
        assert_eq!(rl.admit_at("g", 30, t0), Err(2 * S));
        // 100,000 a minute: 1,666 at once.
        assert_eq!((0..2_000).filter(|_| rl.admit_at("h", 100_000, t0).is_ok()).count(), 1_666);
    }

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
