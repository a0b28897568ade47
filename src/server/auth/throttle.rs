//! Failed sign-in throttling and the bound on password hashing. Kept in memory per instance: a restart forgets,
//! which is acceptable for slowing guessing.
//!
//! * At most [`MAX_FAILURES`] failed sign-ins per email, and [`IP_MAX_FAILURES`] per client network, in a sliding
//!   [`WINDOW`]. A network is an IPv4 address or the /64 of an IPv6 address: whoever has one address of a /64
//!   usually has all of them, so counting single IPv6 addresses would count nothing.
//! * An attempt is counted when it starts ([`LoginThrottle::reserve`]), before the password is verified: checked
//!   first and counted after, parallel guesses all passed the check. A successful sign-in takes its count back
//!   and clears the email's failures.
//! * At most [`MAX_ENTRIES`] emails and networks are remembered. Past that, entries that lock nothing out go first,
//!   oldest first, so spraying fresh emails from fresh addresses cannot wipe an existing lockout.
//! * An argon2 hash costs ~19 MiB and a core for tens of milliseconds: at most `HUB_MAX_CONCURRENT_HASHES` run at
//!   once ([`LoginThrottle::hash_permit`]); the others wait a little and are then told to try again.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub const MAX_FAILURES: usize = 5;
pub const IP_MAX_FAILURES: usize = MAX_FAILURES * 4;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Emails and networks remembered at most (each entry holds at most [`IP_MAX_FAILURES`] instants).
pub const MAX_ENTRIES: usize = 100_000;
/// How long a sign-in waits for a free hashing slot before it is refused.
pub const HASH_WAIT: Duration = Duration::from_secs(5);

pub struct LoginThrottle {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
    capacity: usize,
    /// Sized by its first user (the hub passes `HUB_MAX_CONCURRENT_HASHES`), since the hub builds the throttle
    /// with its defaults.
    hashing: OnceLock<Arc<Semaphore>>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::with_capacity(MAX_ENTRIES)
    }
}

/// A sign-in attempt, counted as a failure from the moment it was reserved. Dropping it keeps it counted (a wrong
/// password, or a request abandoned mid-way); [`Attempt::succeeded`] and [`Attempt::release`] take it back.
pub struct Attempt<'a> {
    throttle: &'a LoginThrottle,
    email_key: String,
    network_key: String,
    at: Instant,
}

impl Attempt<'_> {
    /// The password was right: the email starts afresh, and the network's count loses this attempt (but not
    /// the others, so a valid account does not reset its network's guesses).
    pub fn succeeded(self) {
        let mut map = self.throttle.lock();
        map.remove(&self.email_key);
        uncount(&mut map, &self.network_key, self.at);
    }

    /// The password was never checked (the server was busy or failed): the attempt does not count.
    pub fn release(self) {
        let mut map = self.throttle.lock();
        uncount(&mut map, &self.email_key, self.at);
        uncount(&mut map, &self.network_key, self.at);
    }
}

fn uncount(map: &mut HashMap<String, Vec<Instant>>, key: &str, at: Instant) {
    if let Some(list) = map.get_mut(key) {
        if let Some(pos) = list.iter().rposition(|t| *t == at) {
            list.remove(pos);
        }
        if list.is_empty() {
            map.remove(key);
        }
    }
}

/// The network an address is counted under: IPv4 (also IPv4-mapped IPv6) as itself, IPv6 as its /64.
/// Anything else (no address known) is counted as given.
pub fn network_of(ip: &str) -> String {
    match ip.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => ipnet::Ipv6Net::new(v6, 64).map(|n| n.trunc().to_string()).unwrap_or_else(|_| v6.to_string()),
        },
        Err(_) => ip.trim().to_string(),
    }
}

fn limit_of(key: &str) -> usize {
    if key.starts_with("e:") {
        MAX_FAILURES
    } else {
        IP_MAX_FAILURES
    }
}

impl LoginThrottle {
    /// A throttle remembering at most `capacity` emails and networks.
    pub fn with_capacity(capacity: usize) -> Self {
        Self { failures: Mutex::default(), capacity: capacity.max(2), hashing: OnceLock::new() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Instant>>> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts an attempt for this email and client address, or `Err(wait)` when either must wait first.
    pub fn reserve(&self, email: &str, ip: &str) -> Result<Attempt<'_>, Duration> {
        let now = Instant::now();
        let keys = [format!("e:{email}"), format!("i:{}", network_of(ip))];
        let mut map = self.lock();
        let mut wait = None;
        for key in &keys {
            if let Some(list) = map.get_mut(key) {
                list.retain(|t| now.duration_since(*t) < WINDOW);
                if list.len() >= limit_of(key) {
                    let left = WINDOW.saturating_sub(now.duration_since(list[0]));
                    wait = wait.max(Some(left));
                }
            }
        }
        if let Some(wait) = wait {
            return Err(wait);
        }
        let new = keys.iter().filter(|k| !map.contains_key(*k)).count();
        if map.len() + new > self.capacity {
            self.evict(&mut map, now);
        }
        for key in &keys {
            map.entry(key.clone()).or_default().push(now);
        }
        let [email_key, network_key] = keys;
        Ok(Attempt { throttle: self, email_key, network_key, at: now })
    }

    /// Makes room for a tenth of the capacity at once (so the scan below runs once per many new entries): first
    /// the entries whose failures have all expired, then those that lock nothing out, least recently tried first.
    /// A lockout goes only when every remembered entry is one.
    fn evict(&self, map: &mut HashMap<String, Vec<Instant>>, now: Instant) {
        map.retain(|_, list| list.last().is_some_and(|t| now.duration_since(*t) < WINDOW));
        let keep = self.capacity - (self.capacity / 10).max(2);
        if map.len() <= keep {
            return;
        }
        let mut order: Vec<(bool, Instant, &String)> = map
            .iter()
            .map(|(key, list)| {
                let live = list.iter().filter(|t| now.duration_since(**t) < WINDOW).count();
                (live >= limit_of(key), list.last().copied().unwrap_or(now), key)
            })
            .collect();
        let drop = map.len() - keep;
        order.select_nth_unstable_by_key(drop - 1, |(locked, last, _)| (*locked, *last));
        let gone: Vec<String> = order[..drop].iter().map(|(_, _, key)| (*key).clone()).collect();
        for key in gone {
            map.remove(&key);
        }
    }

    /// A slot to compute one password hash, waiting at most `wait` for one; `None` when the server is busy.
    /// The permit is owned so that it can travel into the blocking task: the bound then holds even when the
    /// request is abandoned while its hash is still being computed.
    pub async fn hash_permit(&self, limit: usize, wait: Duration) -> Option<OwnedSemaphorePermit> {
        let slots = self.hashing.get_or_init(|| Arc::new(Semaphore::new(limit.max(1)))).clone();
        tokio::time::timeout(wait, slots.acquire_owned()).await.ok()?.ok()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_max_failures_per_email() {
        let t = LoginThrottle::default();
        for _ in 0..MAX_FAILURES {
            let _counted = t.reserve("a@x", "1.1.1.1").unwrap();
        }
        let wait = t.reserve("a@x", "1.1.1.1").err().unwrap();
        assert!(wait > Duration::from_secs(60));
        assert!(t.reserve("b@x", "2.2.2.2").is_ok(), "other users are not affected");
        assert!(t.reserve("a@x", "3.3.3.3").is_err(), "the email is locked from every address");
    }

    #[test]
    fn a_successful_sign_in_clears_the_email_and_takes_its_attempt_back() {
        let t = LoginThrottle::default();
        for _ in 0..MAX_FAILURES - 1 {
            let _counted = t.reserve("a@x", "1.1.1.1").unwrap();
        }
        t.reserve("a@x", "1.1.1.1").unwrap().succeeded();
        for _ in 0..MAX_FAILURES - 1 {
            let _counted = t.reserve("a@x", "1.1.1.1").unwrap();
        }
        t.reserve("a@x", "1.1.1.1").unwrap().release();
        let _last = t.reserve("a@x", "1.1.1.1").unwrap();
        assert!(t.reserve("a@x", "1.1.1.1").is_err());
        // The network kept the other 8 failures: a valid account does not reset its network's guesses.
        assert_eq!(t.lock()["i:1.1.1.1"].len(), 2 * (MAX_FAILURES - 1) + 1);
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        assert_eq!(network_of("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
        assert_eq!(network_of("::ffff:10.1.2.3"), "10.1.2.3");
        assert_eq!(network_of(" 10.1.2.3 "), "10.1.2.3");
        assert_eq!(network_of("unknown"), "unknown");
        let t = LoginThrottle::default();
        for i in 0..IP_MAX_FAILURES {
            let _counted = t.reserve(&format!("user{i}@x"), &format!("2001:db8:1:2::{:x}", i + 1)).unwrap();
        }
        assert!(t.reserve("fresh@x", "2001:db8:1:2:ffff:ffff:ffff:ffff").is_err(), "same /64, other address");
        assert!(t.reserve("fresh@x", "2001:db8:1:3::1").is_ok(), "the next /64 is another network");
    }

    #[test]
    fn filling_the_map_past_its_bound_keeps_an_existing_lockout() {
        let t = LoginThrottle::default();
        for _ in 0..MAX_FAILURES {
            let _counted = t.reserve("victim@x", "192.0.2.1").unwrap();
        }
        assert!(t.reserve("victim@x", "192.0.2.1").is_err());
        // A spray of fresh emails from fresh /64s: two new entries per guess, well past the bound.
        for i in 0..MAX_ENTRIES {
            let _counted = t.reserve(&format!("spray{i}@x"), &format!("2001:db8:{:x}:{:x}::1", i >> 16, i & 0xffff));
            assert!(t.len() <= MAX_ENTRIES);
        }
        assert!(t.reserve("victim@x", "198.51.100.9").is_err(), "the lockout survived the spray");
        assert!(t.reserve("victim@x", "192.0.2.1").is_err());
    }

    #[test]
    fn only_the_allowed_number_of_hashes_run_at_once() {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
            let t = LoginThrottle::default();
            let first = t.hash_permit(2, HASH_WAIT).await.expect("a free slot");
            let second = t.hash_permit(2, HASH_WAIT).await.expect("a free slot");
            assert!(t.hash_permit(2, Duration::from_millis(50)).await.is_none(), "both slots are taken");
            drop(first);
            assert!(t.hash_permit(2, Duration::from_millis(50)).await.is_some(), "a slot came free");
            drop(second);
        });
    }
}
