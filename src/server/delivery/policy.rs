//! Delivery policy, pure and in one place: what an attempt means for its delivery (success, retry, dead
//! letter, endpoint switched off), the retry schedule (`delay × factor^(attempt-1)` with full jitter,
//! `Retry-After` honoured, capped) and the circuit breaker's verdict. The worker and test-fire decide with it;
//! the store applies the breaker's verdict inside the transaction that records the attempts.

use super::sender::Rule;
use crate::model::{DeliveryAttempt, DeliveryStatus, ErrorKind, Webhook};
use crate::server::store::Streak;
use rand::Rng;

/// What one attempt means for its delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: DeliveryStatus,
    pub next_attempt_at: Option<i64>,
    /// Set when the endpoint must be switched off.
    pub disable_reason: Option<String>,
}

/// Judges attempt number `attempt_no` of a delivery to `hook`, answered at `now`: a success ends it; 410 Gone
/// and a refused target end it for good (410 also switches the endpoint off), as do a platform's permanent
/// errors and its word that the destination is gone (`rule`, which also switches it off); other failures are retried on
/// the endpoint's schedule (`time_scale` shrinks it, for tests) until its retries are spent.
pub fn judge(
    attempt: &DeliveryAttempt,
    retry_after: Option<&str>,
    rule: Option<&Rule>,
    hook: &Webhook,
    attempt_no: u32,
    time_scale: f64,
    now: i64,
) -> Verdict {
    let end = |status, disable_reason| Verdict { status, next_attempt_at: None, disable_reason };
    let code = attempt.response_status;
    if attempt.succeeded() {
        return end(DeliveryStatus::Success, None);
    }
    if code == Some(410) && rule.is_none() {
        return end(DeliveryStatus::Failed, Some("the endpoint answered 410 Gone".to_string()));
    }
    match rule {
        Some(Rule::Gone(reason)) => return end(DeliveryStatus::Failed, Some(reason.clone())),
        Some(Rule::Permanent(_)) => return end(DeliveryStatus::Failed, None),
        Some(Rule::Hold(_)) | None => {}
    }
    if attempt.error_kind == Some(ErrorKind::SsrfBlocked) || attempt_no > hook.max_retries {
        return end(DeliveryStatus::Failed, None);
    }
    // Only "slow down" answers may push the next attempt out.
    let honour = matches!(code, Some(429 | 503));
    let ra = retry_after.filter(|_| honour).and_then(|v| parse_retry_after(v, now));
    let wait = backoff_ms(hook.retry_delay_seconds, hook.backoff_factor, attempt_no, time_scale, ra);
    Verdict { status: DeliveryStatus::Retrying, next_attempt_at: Some(now + wait), disable_reason: None }
}

/// The circuit breaker's thresholds (0 switches a rule off).
#[derive(Debug, Clone, Copy, Default)]
pub struct Breaker {
    pub failures: u32,
    pub period_ms: i64,
}

impl Breaker {
    /// Why an endpoint with this failing streak is switched off at `now`, if it is.
    pub fn verdict(&self, streak: Streak, now: i64) -> Option<String> {
        let in_a_row = streak.failed_in_a_row;
        if self.failures > 0 && in_a_row >= i64::from(self.failures) {
            return Some(format!("circuit breaker: {in_a_row} deliveries in a row failed"));
        }
        let since = streak.failing_since.filter(|t| self.period_ms > 0 && now - t >= self.period_ms)?;
        Some(format!("circuit breaker: every attempt failed for {}", human_span(now - since)))
    }
}

fn human_span(ms: i64) -> String {
    let s = ms / 1000;
    match s {
        s if s >= 86_400 => format!("{} days", s / 86_400),
        s if s >= 3_600 => format!("{} hours", s / 3_600),
        s if s >= 60 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
}

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

    fn hook(max_retries: u32) -> Webhook {
        Webhook { max_retries, retry_delay_seconds: 5, backoff_factor: 2.0, ..Default::default() }
    }

    fn answered(status: Option<u16>, kind: Option<ErrorKind>) -> DeliveryAttempt {
        DeliveryAttempt {
            id: String::new(),
            delivery_id: String::new(),
            attempt: 1,
            request_headers: Vec::new(),
            request_body: String::new(),
            response_status: status,
            response_headers: Vec::new(),
            response_body: None,
            response_truncated: false,
            duration_ms: 1,
            error_kind: kind,
            error: None,
            next_retry_at: None,
            created_at: 0,
        }
    }

    #[test]
    fn an_attempt_ends_retries_or_switches_the_endpoint_off() {
        let now = 1_000_000;
        let ok = judge(&answered(Some(204), None), None, None, &hook(3), 1, 1.0, now);
        assert_eq!((ok.status, ok.next_attempt_at), (DeliveryStatus::Success, None));
        // A 2xx whose body could not be read as promised is not a success.
        let cut = judge(&answered(Some(200), Some(ErrorKind::Reset)), None, None, &hook(0), 1, 1.0, now);
        assert_eq!(cut.status, DeliveryStatus::Failed);
        let gone = judge(&answered(Some(410), Some(ErrorKind::Status)), None, None, &hook(3), 1, 1.0, now);
        assert_eq!(gone.status, DeliveryStatus::Failed);
        assert!(gone.disable_reason.is_some_and(|r| r.contains("410")));
        let refused = judge(&answered(None, Some(ErrorKind::SsrfBlocked)), None, None, &hook(3), 1, 1.0, now);
        assert_eq!((refused.status, refused.disable_reason), (DeliveryStatus::Failed, None));
        let retry = judge(&answered(Some(500), Some(ErrorKind::Status)), None, None, &hook(3), 3, 1.0, now);
        assert_eq!(retry.status, DeliveryStatus::Retrying);
        assert!(retry.next_attempt_at.is_some_and(|t| (now..=now + 20_000).contains(&t)));
        let spent = judge(&answered(Some(500), Some(ErrorKind::Status)), None, None, &hook(3), 4, 1.0, now);
        assert_eq!((spent.status, spent.next_attempt_at), (DeliveryStatus::Failed, None));
        // Retry-After counts for 429 and 503 only.
        let slow = judge(&answered(Some(429), Some(ErrorKind::Status)), Some("120"), None, &hook(3), 1, 1.0, now);
        assert!(slow.next_attempt_at.is_some_and(|t| t >= now + 120_000));
        let other = judge(&answered(Some(500), Some(ErrorKind::Status)), Some("120"), None, &hook(3), 1, 1.0, now);
        assert!(other.next_attempt_at.is_some_and(|t| t <= now + 5_000));
    }

    #[test]
    fn a_platforms_rule_ends_a_delivery_or_switches_its_endpoint_off() {
        let now = 1_000_000;
        let bad = answered(Some(400), Some(ErrorKind::Status));
        let permanent = Rule::Permanent("Slack refused the message: invalid_payload".into());
        let v = judge(&bad, None, Some(&permanent), &hook(3), 1, 1.0, now);
        assert_eq!((v.status, v.next_attempt_at, v.disable_reason), (DeliveryStatus::Failed, None, None));
        let gone = Rule::Gone("Slack: the channel is archived".into());
        let v = judge(&answered(Some(410), Some(ErrorKind::Status)), None, Some(&gone), &hook(3), 1, 1.0, now);
        assert_eq!(v.status, DeliveryStatus::Failed);
        assert_eq!(v.disable_reason.as_deref(), Some("Slack: the channel is archived"));
        // A hold on a success changes nothing about the delivery; without a rule a 400 is retried.
        let hold = Rule::Hold(std::time::Duration::from_secs(2));
        let ok = judge(&answered(Some(204), None), None, Some(&hold), &hook(3), 1, 1.0, now);
        assert_eq!(ok.status, DeliveryStatus::Success);
        assert_eq!(judge(&bad, None, None, &hook(3), 1, 1.0, now).status, DeliveryStatus::Retrying);
    }

    #[test]
    fn the_breaker_trips_on_a_streak_or_a_long_failing_period() {
        let b = Breaker { failures: 3, period_ms: 3_600_000 };
        let streak = |n, since| Streak { failed_in_a_row: n, failing_since: since };
        assert_eq!(b.verdict(streak(2, Some(0)), 1000), None);
        assert_eq!(
            b.verdict(streak(3, Some(0)), 1000).as_deref(),
            Some("circuit breaker: 3 deliveries in a row failed")
        );
        assert_eq!(
            b.verdict(streak(1, Some(0)), 2 * 3_600_000).as_deref(),
            Some("circuit breaker: every attempt failed for 2 hours")
        );
        assert_eq!(Breaker::default().verdict(streak(1000, Some(0)), i64::MAX / 2), None, "0 switches rules off");
    }

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
