//! Sign-in rate limiting: failures are counted per user name and per client address over a sliding window, in
//! this process's memory (a restart forgets them; several nodes each count their own).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Keys remembered at most; past this, keys whose failures all left the window are dropped first.
const MAX_KEYS: usize = 100_000;
/// An address may fail this many times the per-name limit (an office behind one NAT address).
const PER_ADDRESS_FACTOR: u32 = 10;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Name(String),
    Address(IpAddr),
}

pub(crate) struct Limiter {
    max_failures: u32,
    window: i64,
    failures: Mutex<HashMap<Key, Vec<i64>>>,
}

impl Limiter {
    pub fn new(max_failures: u32, window_seconds: i64) -> Limiter {
        Limiter {
            max_failures,
            window: window_seconds,
            failures: Mutex::default(),
        }
    }

    fn keys(name: &str, addr: IpAddr) -> [(Key, u32); 2] {
        [
            (Key::Name(name.to_owned()), 1),
            (Key::Address(addr), PER_ADDRESS_FACTOR),
        ]
    }

    /// Seconds until `name` from `addr` may try again, or `None` when it may now.
    pub fn blocked(&self, name: &str, addr: IpAddr, now: i64) -> Option<i64> {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        Self::keys(name, addr)
            .iter()
            .filter_map(|(key, factor)| {
                let times = failures.get(key)?;
                let recent: Vec<i64> = times
                    .iter()
                    .copied()
                    .filter(|t| *t > now - self.window)
                    .collect();
                let limit = (self.max_failures.saturating_mul(*factor)) as usize;
                // Blocked until the failure that made the count reach the limit leaves the window.
                (recent.len() >= limit).then(|| recent[recent.len() - limit] + self.window - now)
            })
            .max()
            .map(|wait| wait.max(1))
    }

    pub fn failed(&self, name: &str, addr: IpAddr, now: i64) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() >= MAX_KEYS {
            let window = self.window;
            failures.retain(|_, times| times.iter().any(|t| *t > now - window));
        }
        for (key, factor) in Self::keys(name, addr) {
            let times = failures.entry(key).or_default();
            times.retain(|t| *t > now - self.window);
            times.push(now);
            // Only as many as can block are kept, so one key's memory is bounded.
            let keep = self.max_failures.saturating_mul(factor) as usize;
            if times.len() > keep {
                times.drain(..times.len() - keep);
            }
        }
    }

    /// A successful sign-in forgets the name's failures (not the address's).
    pub fn succeeded(&self, name: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.remove(&Key::Name(name.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn a_name_is_blocked_after_its_failures_until_the_window_moves() {
        let limiter = Limiter::new(3, 60);
        for t in [0, 10, 20] {
            assert_eq!(limiter.blocked("alice", A, t), None);
            limiter.failed("alice", A, t);
        }
        assert_eq!(limiter.blocked("alice", A, 30), Some(30));
        // From another address too: the name is what is guessed.
        assert_eq!(limiter.blocked("alice", B, 30), Some(30));
        assert_eq!(limiter.blocked("bob", A, 30), None);
        assert_eq!(limiter.blocked("alice", A, 60), None);
        limiter.failed("alice", A, 61);
        assert_eq!(limiter.blocked("alice", A, 62), Some(8));
        limiter.succeeded("alice");
        assert_eq!(limiter.blocked("alice", A, 62), None);
    }

    #[test]
    fn an_address_trying_many_names_is_blocked() {
        let limiter = Limiter::new(2, 60);
        for i in 0..20 {
            limiter.failed(&format!("user{i}"), A, 5);
        }
        assert_eq!(limiter.blocked("someone-else", A, 6), Some(59));
        assert_eq!(limiter.blocked("someone-else", B, 6), None);
    }
}
