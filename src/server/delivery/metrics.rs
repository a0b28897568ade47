//! Prometheus metrics of the delivery engine, kept in atomics (no locks on the send path).

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

const BUCKETS: [f64; 13] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];
/// `paused`: the endpoint is switched off; `deferred`: something the delivery needs could not be read, so it
/// waits and is tried again (a database hiccup, not a verdict).
pub const OUTCOMES: [&str; 7] = ["success", "retry", "failed", "cancelled", "throttled", "paused", "deferred"];

#[derive(Default)]
pub struct Metrics {
    outcomes: [AtomicU64; 7],
    buckets: [AtomicU64; 13],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
    pub in_flight: AtomicI64,
}

impl Metrics {
    pub fn outcome(&self, name: &str) {
        if let Some(i) = OUTCOMES.iter().position(|o| *o == name) {
            self.outcomes[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Deliveries given back unsent because a read they needed failed.
    pub fn deferred(&self, n: usize) {
        self.outcomes[6].fetch_add(n as u64, Ordering::Relaxed);
    }

    /// How many attempts ended with this outcome on this instance.
    pub fn count(&self, name: &str) -> u64 {
        OUTCOMES.iter().position(|o| *o == name).map_or(0, |i| self.outcomes[i].load(Ordering::Relaxed))
    }

    pub fn attempt_latency(&self, ms: u64) {
        let secs = ms as f64 / 1000.0;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us.fetch_add(ms * 1000, Ordering::Relaxed);
    }

    /// The text exposition format.
    pub fn render(&self, queue_depth: i64) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# HELP hub_deliveries_total Delivery attempts by outcome.\n# TYPE hub_deliveries_total counter"
        );
        for (i, o) in OUTCOMES.iter().enumerate() {
            let _ = writeln!(s, "hub_deliveries_total{{outcome=\"{o}\"}} {}", self.outcomes[i].load(Ordering::Relaxed));
        }
        let _ = writeln!(
            s,
            "# HELP hub_attempt_duration_seconds HTTP attempt latency.\n# TYPE hub_attempt_duration_seconds histogram"
        );
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                s,
                "hub_attempt_duration_seconds_bucket{{le=\"{b}\"}} {}",
                self.buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(s, "hub_attempt_duration_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            s,
            "hub_attempt_duration_seconds_sum {}",
            self.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(s, "hub_attempt_duration_seconds_count {count}");
        let _ = writeln!(s, "# HELP hub_in_flight Deliveries being sent now.\n# TYPE hub_in_flight gauge");
        let _ = writeln!(s, "hub_in_flight {}", self.in_flight.load(Ordering::Relaxed));
        let _ = writeln!(
            s,
            "# HELP hub_queue_depth Deliveries waiting (pending or retrying).\n# TYPE hub_queue_depth gauge"
        );
        let _ = writeln!(s, "hub_queue_depth {queue_depth}");
        s
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_counters_and_histogram() {
        let m = super::Metrics::default();
        m.outcome("success");
        m.outcome("success");
        m.attempt_latency(30);
        let text = m.render(7);
        assert!(text.contains("hub_deliveries_total{outcome=\"success\"} 2"));
        assert!(text.contains("hub_attempt_duration_seconds_bucket{le=\"0.05\"} 1"));
        assert!(text.contains("hub_attempt_duration_seconds_bucket{le=\"0.025\"} 0"));
        assert!(text.contains("hub_queue_depth 7"));
    }
}
