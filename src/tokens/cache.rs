//! A cache of access tokens whose signature was already verified. Resource
//! servers introspect the same token many times; re-verifying ES256 each
//! time would cap a core near 11,000 checks a second. Entries are keyed by
//! the SHA-256 of realm and token and leave at the token's `exp`: swept
//! every housekeeping round (`prune`), and at the latest when their shard
//! fills. Only the signature check is skipped: the key's liveness and the
//! revocation index are consulted on every call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::AccessClaims;
use crate::crypto;

const SHARDS: usize = 16;
/// Entries per shard before expired ones are swept (and, failing that, the
/// shard is emptied): bounds memory whatever the traffic. An entry holds a
/// token's decoded claims, about 2.5 KB for a client_credentials token, so
/// the 32,768 entries cost some 80 MiB at most.
const SHARD_CAPACITY: usize = 2048;

struct Entry {
    claims: Arc<AccessClaims>,
    kid: String,
}

type Shard = HashMap<[u8; 32], Entry>;

pub struct VerifiedCache {
    shards: Vec<Mutex<Shard>>,
}

impl Default for VerifiedCache {
    fn default() -> Self {
        VerifiedCache {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }
}

pub fn key(realm_id: &str, token: &str) -> [u8; 32] {
    let mut input = Vec::with_capacity(realm_id.len() + 1 + token.len());
    input.extend_from_slice(realm_id.as_bytes());
    input.push(0);
    input.extend_from_slice(token.as_bytes());
    crypto::sha256(&input)
}

impl VerifiedCache {
    fn shard(&self, key: &[u8; 32]) -> &Mutex<Shard> {
        &self.shards[key[0] as usize % SHARDS]
    }

    /// The claims and signing kid of a token verified before and not yet expired.
    pub fn get(&self, key: &[u8; 32], now_s: i64) -> Option<(Arc<AccessClaims>, String)> {
        let shard = self.shard(key).lock().ok()?;
        let entry = shard.get(key)?;
        (entry.claims.exp > now_s).then(|| (Arc::clone(&entry.claims), entry.kid.clone()))
    }

    pub fn insert(&self, key: [u8; 32], claims: Arc<AccessClaims>, kid: String, now_s: i64) {
        let Ok(mut shard) = self.shard(&key).lock() else {
            return;
        };
        if shard.len() >= SHARD_CAPACITY {
            sweep(&mut shard, now_s);
            if shard.len() >= SHARD_CAPACITY {
                *shard = HashMap::new();
            }
        }
        shard.insert(key, Entry { claims, kid });
    }

    /// Drops the entries of tokens expired by `now_s`; returns how many.
    pub fn prune(&self, now_s: i64) -> usize {
        self.shards
            .iter()
            .filter_map(|shard| shard.lock().ok())
            .map(|mut shard| sweep(&mut shard, now_s))
            .sum()
    }

    /// Entries held, for metrics.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .filter_map(|shard| shard.lock().ok().map(|s| s.len()))
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Removes a shard's expired entries, and gives back the room a burst
/// left behind once most of it stands empty.
fn sweep(shard: &mut Shard, now_s: i64) -> usize {
    let before = shard.len();
    shard.retain(|_, e| e.claims.exp > now_s);
    if shard.capacity() > 4 * shard.len().max(64) {
        shard.shrink_to_fit();
    }
    before - shard.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Arc<AccessClaims> {
        let json = serde_json::json!({
            "iss": "https://latch.example/realms/demo", "sub": "s", "aud": "a",
            "exp": exp, "iat": 0, "jti": "j", "client_id": "c", "azp": "c",
            "scope": "", "iat_ms": 0,
        });
        Arc::new(serde_json::from_value(json).unwrap_or_else(|e| unreachable!("{e}")))
    }

    #[test]
    fn expired_tokens_are_pruned_and_live_ones_kept() {
        let cache = VerifiedCache::default();
        for n in 0..100_u8 {
            let exp = if n % 2 == 0 { 10 } else { 20 };
            cache.insert(key("r", &n.to_string()), claims(exp), "k".into(), 0);
        }
        assert_eq!(cache.len(), 100);
        assert_eq!(cache.prune(10), 50, "tokens expiring at 10 are gone at 10");
        assert!(cache.get(&key("r", "1"), 10).is_some());
        assert_eq!(cache.prune(20), 50);
        assert!(cache.is_empty());
    }
}
