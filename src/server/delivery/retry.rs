//! The retry policy: `delay × factor^(attempt-1)` with full jitter, `Retry-After` honoured (capped).

use rand::Rng;

/// Longest wait a `Retry-After` header can ask for.
pub const MAX_RETRY_AFTER_SECS: u64 = 3600;
/// Longest computed backoff.
const MAX_BACKOFF_SECS: f64 = 7.0 * 24.0 * 3600.0;

/// Milliseconds to wait before the next attempt, after `attempts_done` attempts (1 = the first failed).
pub fn backoff_ms(base_secs: u32, factor: f64, attempts_done: u32, scale: f64, retry_after_secs: Option<u64>) -> i64 {
    let ceiling = (f64::from(base_secs) * factor.powi(attempts_done.saturating_sub(1) as i32)).min(MAX_BACKOFF_SECS);
    // Full jitter spreads retries of many deliveries that failed together.
    let jittered = rand::thread_rng().gen_range(0.0..=ceiling.max(0.0));
    let wait = match retry_after_secs {
        Some(ra) => jittered.max(ra.min(MAX_RETRY_AFTER_SECS) as f64),
        None => jittered,
    };
    (wait * 1000.0 * scale).round() as i64
}

/// `Retry-After`: seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now_ms: i64) -> Option<u64> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(secs);
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?.timestamp_millis();
    Some(((at - now_ms).max(0) / 1000) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_within_jitter_and_honours_retry_after() {
        for _ in 0..200 {
            let first = backoff_ms(5, 2.0, 1, 1.0, None);
            assert!((0..=5_000).contains(&first));
            let third = backoff_ms(5, 2.0, 3, 1.0, None);
            assert!((0..=20_000).contains(&third));
            assert!(backoff_ms(5, 2.0, 1, 1.0, Some(30)) >= 30_000);
            assert_eq!(
                backoff_ms(5, 2.0, 1, 1.0, Some(99_999)).min(3_600_000),
                3_600_000.min(backoff_ms(5, 2.0, 1, 1.0, Some(99_999)))
            );
            assert!(backoff_ms(5, 2.0, 1, 0.001, None) <= 5);
        }
        assert!(backoff_ms(3600, 10.0, 10, 1.0, None) <= (MAX_BACKOFF_SECS * 1000.0) as i64);
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("120", 0), Some(120));
        let now = chrono::DateTime::parse_from_rfc2822("Wed, 21 Oct 2026 07:28:00 GMT").unwrap().timestamp_millis();
        assert_eq!(parse_retry_after("Wed, 21 Oct 2026 07:29:00 GMT", now), Some(60));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
