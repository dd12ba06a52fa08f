//! A cache of access tokens whose signature was already verified. Resource
//! servers introspect the same token many times; re-verifying ES256 each
//! time would cap a core near 11,000 checks a second. Entries are keyed by
//! the SHA-256 of realm and token and leave at the token's `exp`. Only the
//! signature check is skipped: the key's liveness and the revocation index
//! are consulted on every call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::AccessClaims;
use crate::crypto;

const SHARDS: usize = 16;
/// Entries per shard before expired ones are swept (and, failing that, the
/// shard is emptied): bounds memory whatever the traffic.
const SHARD_CAPACITY: usize = 8192;

struct Entry {
    claims: Arc<AccessClaims>,
    kid: String,
}

pub struct VerifiedCache {
    shards: Vec<Mutex<HashMap<[u8; 32], Entry>>>,
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
    fn shard(&self, key: &[u8; 32]) -> &Mutex<HashMap<[u8; 32], Entry>> {
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
            shard.retain(|_, e| e.claims.exp > now_s);
            if shard.len() >= SHARD_CAPACITY {
                shard.clear();
            }
        }
        shard.insert(key, Entry { claims, kid });
    }
}
