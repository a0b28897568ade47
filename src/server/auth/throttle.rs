//! Failed sign-in throttling: at most [`MAX_FAILURES`] failures per email (and 4× that per client IP) in a
//! sliding window. Kept in memory per instance: a restart forgets, which is acceptable for slowing guessing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: usize = 5;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginThrottle {
    fn keys(email: &str, ip: &str) -> [(String, usize); 2] {
        [(format!("e:{email}"), MAX_FAILURES), (format!("i:{ip}"), MAX_FAILURES * 4)]
    }

    /// `Err(wait)` when this email or IP must wait before trying again.
    pub fn check(&self, email: &str, ip: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        for (key, max) in Self::keys(email, ip) {
            if let Some(list) = map.get_mut(&key) {
                list.retain(|t| now.duration_since(*t) < WINDOW);
                if list.len() >= max {
                    return Err(WINDOW.saturating_sub(now.duration_since(list[0])));
                }
            }
        }
        Ok(())
    }

    pub fn failed(&self, email: &str, ip: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            map.clear(); // bound memory under a spray of random emails
        }
        for (key, _) in Self::keys(email, ip) {
            map.entry(key).or_default().push(Instant::now());
        }
    }

    pub fn succeeded(&self, email: &str) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(&format!("e:{email}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_max_failures_per_email() {
        let t = LoginThrottle::default();
        for _ in 0..MAX_FAILURES {
            assert!(t.check("a@x", "1.1.1.1").is_ok());
            t.failed("a@x", "1.1.1.1");
        }
        let wait = t.check("a@x", "1.1.1.1").unwrap_err();
        assert!(wait > Duration::from_secs(60));
        assert!(t.check("b@x", "2.2.2.2").is_ok(), "other users are not affected");
        t.succeeded("a@x");
        assert!(t.check("a@x", "3.3.3.3").is_ok());
    }
}
