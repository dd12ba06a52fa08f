//! Rate limits and failure counters, kept in memory on each node: token
//! buckets keyed by a hash of (what, who), in shards so concurrent requests
//! rarely share a lock. A bucket holds `burst` tokens and refills at
//! `per_minute`; a full bucket is forgotten by [`Limiter::prune`], so memory
//! follows the number of recently active keys.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::Mutex;

const SHARDS: usize = 16;

/// How much a key may do: `burst` at once, `per_minute` sustained.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub burst: u32,
    pub per_minute: u32,
}

impl Rate {
    pub const fn per_minute(n: u32) -> Rate {
        Rate {
            burst: n,
            per_minute: n,
        }
    }

    pub const fn per_second(n: u32, burst: u32) -> Rate {
        Rate {
            burst,
            per_minute: n.saturating_mul(60),
        }
    }

    /// A rate of 0 means no limit.
    pub fn is_unlimited(&self) -> bool {
        self.per_minute == 0 || self.burst == 0
    }
}

/// How long to wait before trying again, in whole seconds (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at_ms: i64,
}

pub struct Limiter {
    rate: Rate,
    hasher: std::collections::hash_map::RandomState,
    shards: Vec<Mutex<HashMap<u64, Bucket>>>,
}

impl Limiter {
    pub fn new(rate: Rate) -> Limiter {
        Limiter {
            rate,
            hasher: Default::default(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    pub fn rate(&self) -> Rate {
        self.rate
    }

    fn refilled(bucket: &Bucket, rate: Rate, now_ms: i64) -> f64 {
        let elapsed = (now_ms - bucket.at_ms).max(0) as f64;
        (bucket.tokens + elapsed * f64::from(rate.per_minute) / 60_000.0).min(f64::from(rate.burst))
    }

    fn retry_after(tokens: f64, rate: Rate) -> RetryAfter {
        let missing = (1.0 - tokens).max(0.0);
        let seconds = (missing * 60.0 / f64::from(rate.per_minute.max(1))).ceil() as u64;
        RetryAfter(seconds.max(1))
    }

    fn with_bucket<T>(
        &self,
        key: &impl Hash,
        rate: Rate,
        now_ms: i64,
        f: impl FnOnce(&mut Bucket) -> T,
    ) -> T {
        let hash = self.hasher.hash_one(key);
        let shard = &self.shards[(hash as usize) % SHARDS];
        let mut map = shard.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = map.entry(hash).or_insert(Bucket {
            tokens: f64::from(rate.burst),
            at_ms: now_ms,
        });
        bucket.tokens = Self::refilled(bucket, rate, now_ms);
        bucket.at_ms = now_ms;
        f(bucket)
    }

    /// Takes one token for `key`, or says how long to wait.
    pub fn take(&self, key: &impl Hash, now_ms: i64) -> Result<(), RetryAfter> {
        self.take_at(key, self.rate, now_ms)
    }

    /// [`take`](Self::take) at a rate of the caller's (a per-client quota).
    pub fn take_at(&self, key: &impl Hash, rate: Rate, now_ms: i64) -> Result<(), RetryAfter> {
        if rate.is_unlimited() {
            return Ok(());
        }
        self.with_bucket(key, rate, now_ms, |bucket| {
            if bucket.tokens >= 1.0 {
                bucket.tokens -= 1.0;
                Ok(())
            } else {
                Err(Self::retry_after(bucket.tokens, rate))
            }
        })
    }

    /// Whether `key` has nothing left, without taking anything: for
    /// budgets spent only by failures.
    pub fn exhausted(&self, key: &impl Hash, now_ms: i64) -> Option<RetryAfter> {
        if self.rate.is_unlimited() {
            return None;
        }
        let hash = self.hasher.hash_one(key);
        let shard = &self.shards[(hash as usize) % SHARDS];
        let map = shard.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = map.get(&hash)?;
        let tokens = Self::refilled(bucket, self.rate, now_ms);
        (tokens < 1.0).then(|| Self::retry_after(tokens, self.rate))
    }

    /// Spends one token of a failure budget (never refuses).
    pub fn spend(&self, key: &impl Hash, now_ms: i64) {
        if self.rate.is_unlimited() {
            return;
        }
        self.with_bucket(key, self.rate, now_ms, |bucket| {
            bucket.tokens = (bucket.tokens - 1.0).max(0.0);
        });
    }

    /// Keys with a bucket, for metrics.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.lock().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets keys whose buckets have refilled; returns how many remain.
    pub fn prune(&self, now_ms: i64) -> usize {
        let mut remaining = 0;
        for shard in &self.shards {
            let mut map = shard.lock().unwrap_or_else(|p| p.into_inner());
            map.retain(|_, b| Self::refilled(b, self.rate, now_ms) < f64::from(self.rate.burst));
            remaining += map.len();
        }
        remaining
    }
}

/// How failed sign-ins lock an account.
#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    /// Consecutive failures that lock the account (0: never).
    pub threshold: u32,
    pub first_lockout_ms: i64,
    pub max_lockout_ms: i64,
}

impl LockoutPolicy {
    /// The length of the `n`th lockout (1-based): doubling, capped.
    pub fn lockout_ms(&self, n: i32) -> i64 {
        let doublings = (n.max(1) - 1).min(30) as u32;
        self.first_lockout_ms
            .saturating_mul(1_i64 << doublings)
            .min(self.max_lockout_ms)
    }
}

/// Every defence's counters on this node.
pub struct Defences {
    /// Failed sign-ins per client IP, across users (password spraying).
    pub login_failures: Limiter,
    /// Failed client authentications per (realm, client id, IP) — never by
    /// client id alone, or anyone could lock a client out.
    pub client_auth_failures: Limiter,
    /// Requests that authenticate nobody (sign-in forms, public clients)
    /// per IP.
    pub unauthenticated: Limiter,
    /// Operators' per-client quotas.
    pub client_quotas: Limiter,
    pub lockout: LockoutPolicy,
}

impl Defences {
    pub fn from_settings(s: &crate::config::Settings) -> Defences {
        Defences {
            login_failures: Limiter::new(Rate::per_minute(s.login_failures_per_ip_per_min)),
            client_auth_failures: Limiter::new(Rate::per_minute(s.client_auth_failures_per_min)),
            unauthenticated: Limiter::new(Rate::per_second(
                s.unauthenticated_per_ip_per_s,
                s.unauthenticated_per_ip_per_s.saturating_mul(5),
            )),
            client_quotas: Limiter::new(Rate::per_second(1, 1)),
            lockout: LockoutPolicy {
                threshold: s.lockout_threshold,
                first_lockout_ms: (s.lockout_first_s as i64) * 1000,
                max_lockout_ms: (s.lockout_max_s as i64) * 1000,
            },
        }
    }

    /// Buckets held by every limiter, for metrics.
    pub fn buckets(&self) -> usize {
        self.login_failures.len()
            + self.client_auth_failures.len()
            + self.unauthenticated.len()
            + self.client_quotas.len()
    }

    /// Drops idle counters (run by housekeeping).
    pub fn prune(&self, now_ms: i64) {
        self.login_failures.prune(now_ms);
        self.client_auth_failures.prune(now_ms);
        self.unauthenticated.prune(now_ms);
        self.client_quotas.prune(now_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_its_rate() {
        let limiter = Limiter::new(Rate::per_minute(3));
        for _ in 0..3 {
            assert!(limiter.take(&"ip", 0).is_ok());
        }
        assert_eq!(limiter.take(&"ip", 0), Err(RetryAfter(20)));
        assert!(limiter.take(&"other", 0).is_ok(), "keys are independent");
        assert!(
            limiter.take(&"ip", 20_000).is_ok(),
            "one token back after 20 s"
        );
        assert!(limiter.take(&"ip", 20_000).is_err());
    }

    #[test]
    fn failure_budgets_are_spent_and_peeked() {
        let limiter = Limiter::new(Rate::per_minute(2));
        assert_eq!(limiter.exhausted(&"ip", 0), None);
        limiter.spend(&"ip", 0);
        limiter.spend(&"ip", 0);
        assert_eq!(limiter.exhausted(&"ip", 0), Some(RetryAfter(30)));
        assert_eq!(limiter.exhausted(&"ip", 30_000), None);
        assert_eq!(limiter.prune(120_000), 0, "refilled buckets are forgotten");
    }

    #[test]
    fn zero_means_unlimited_and_lockouts_double_to_a_cap() {
        let limiter = Limiter::new(Rate::per_minute(0));
        for _ in 0..1000 {
            assert!(limiter.take(&"ip", 0).is_ok());
        }
        let policy = LockoutPolicy {
            threshold: 10,
            first_lockout_ms: 60_000,
            max_lockout_ms: 900_000,
        };
        let lengths: Vec<i64> = (1..=6).map(|n| policy.lockout_ms(n) / 60_000).collect();
        assert_eq!(lengths, vec![1, 2, 4, 8, 15, 15]);
    }
}
