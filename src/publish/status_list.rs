//! Token Status List (draft-ietf-oauth-status-list): every access token
//! names an index in a per-realm list; the list — one bit per token, set
//! when the token is revoked by any route (its jti, session, user, client
//! or realm) — is served as a signed, zlib-compressed JWT that APIs cache
//! for its `ttl` instead of calling Latch per request.
//!
//! Indices are handed out in memory from blocks reserved with one write
//! each; which token holds which index is written behind in batches (kept
//! and retried while the database is away). A block whose node went silent
//! before recording every index is an orphan: its unrecorded indices read
//! as revoked (fail closed) on every node, until the slot turns up — written
//! late by its node, or learnt from the token itself when it is presented
//! to any node. A node only judges others silent once it has itself reached
//! the database for `SILENT_MS`, so an outage orphans nobody. Indices are
//! never reused (a full list is followed by the next), so a cached list
//! never shows a new token as revoked.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::directory::RealmState;
use crate::error::Error;
use crate::keys::Alg;
use crate::revocation::{FollowerHandle, Index, TokenFacts};
use crate::store::status::{self as rows, Slot};
use crate::store::{self, Store};
use crate::time::now_ms;

/// Indices reserved per database write.
const BLOCK: i64 = 1024;
/// A node that has not touched its open blocks for this long is gone.
const SILENT_MS: i64 = 5_000;
/// How long clients may cache a list.
pub const TTL_S: i64 = 30;
/// Signing is skipped when nothing was revoked and the last list is this fresh.
const RESIGN_MS: i64 = 100;
/// How long an orphan's indices are kept: longer than any token lives.
const ORPHAN_HORIZON_MS: i64 = 24 * 3600 * 1000;

struct Allocation {
    list_no: i64,
    next: i64,
    end: i64,
}

#[derive(Clone)]
struct Facts {
    jti: String,
    sid: Option<String>,
    user_id: String,
    client_id: String,
    iat_ms: i64,
    exp_ms: i64,
}

struct Cached {
    applied_seq: i64,
    slots_version: u64,
    built_ms: i64,
    len_bits: i64,
    jwt: String,
}

/// The unrecorded indices of an orphaned block.
struct Orphan {
    realm_id: String,
    list_no: i64,
    start_idx: i64,
    end_idx: i64,
    unrecorded: HashSet<i64>,
    /// After this no token can hold one of its indices.
    until_ms: i64,
}

#[derive(Default)]
struct Inner {
    current: HashMap<String, Allocation>,
    slots: HashMap<(String, i64), BTreeMap<i64, Facts>>,
    /// By block id.
    orphans: HashMap<i64, Orphan>,
    pending: Vec<Slot>,
    /// Since when the database has answered every sync (None: it did not).
    reachable_since_ms: Option<i64>,
    seen_seq: i64,
    slots_version: u64,
    /// Highest index known to be handed out (+1), per list.
    high_water: HashMap<(String, i64), i64>,
    cache: HashMap<(String, i64), Cached>,
}

pub struct StatusLists {
    store: Store,
    node: String,
    index: Arc<Index>,
    follower: FollowerHandle,
    inner: Mutex<Inner>,
    /// One block reservation at a time, so concurrent requests that find
    /// the block used up share the next one instead of each wasting one.
    reserving: tokio::sync::Mutex<()>,
}

/// What the status lists hold in memory, for metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct Held {
    /// Which token holds which index, for tokens not long expired.
    pub slots: usize,
    /// Slots not written to the database yet.
    pub unwritten: usize,
    /// Orphaned blocks' unrecorded indices (read as revoked).
    pub orphaned: usize,
}

/// Where a token's status lives.
#[derive(Debug, Clone, Copy)]
pub struct Position {
    pub list_no: i64,
    pub idx: i64,
}

impl StatusLists {
    /// Loads the unexpired index map and the orphaned blocks.
    pub fn load(
        store: Store,
        index: Arc<Index>,
        follower: FollowerHandle,
    ) -> Result<Arc<StatusLists>, Error> {
        let lists = StatusLists {
            store,
            node: crate::crypto::random_id(),
            index,
            follower,
            inner: Mutex::new(Inner::default()),
            reserving: tokio::sync::Mutex::new(()),
        };
        let mut conn = lists.store.conn()?;
        let now = now_ms();
        let slots = rows::slots_after(&mut conn, 0, now, &lists.node, i64::MAX)?;
        let max_seq = rows::max_slot_seq(&mut conn)?;
        let found = orphans_with_records(&mut conn, now, &HashSet::new())?;
        drop(conn);
        if let Ok(mut inner) = lists.inner.lock() {
            for slot in slots {
                inner.add(slot);
            }
            inner.seen_seq = max_seq;
            for (block, recorded) in found {
                inner.add_orphan(&block, &recorded, &lists.node);
            }
        }
        Ok(Arc::new(lists))
    }

    /// An index for a new token of the realm: from memory, or from a block
    /// reserved now (one write per `BLOCK` tokens).
    pub async fn allocate(&self, realm_id: &str) -> Result<Position, Error> {
        if let Some(position) = self.take(realm_id) {
            return Ok(position);
        }
        let _reserving = self.reserving.lock().await;
        // Another request may have reserved while we waited.
        if let Some(position) = self.take(realm_id) {
            return Ok(position);
        }
        let (realm, node, store) = (realm_id.to_string(), self.node.clone(), self.store.clone());
        let block = store
            .run(move |conn| {
                store::write(conn, |conn| -> Result<rows::Block, Error> {
                    store::lock_realm(conn, &realm)?;
                    Ok(rows::reserve(conn, &realm, &node, BLOCK, now_ms())?)
                })
            })
            .await?;
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| Error::Unavailable("status list state poisoned".into()))?;
        let allocation = inner
            .current
            .entry(realm_id.to_string())
            .or_insert(Allocation {
                list_no: 0,
                next: 0,
                end: 0,
            });
        if allocation.next >= allocation.end {
            *allocation = Allocation {
                list_no: block.list_no,
                next: block.start_idx,
                end: block.start_idx + block.size,
            };
        }
        let position = Position {
            list_no: allocation.list_no,
            idx: allocation.next,
        };
        allocation.next += 1;
        Ok(position)
    }

    fn take(&self, realm_id: &str) -> Option<Position> {
        let mut inner = self.inner.lock().ok()?;
        let allocation = inner.current.get_mut(realm_id)?;
        if allocation.next >= allocation.end {
            return None;
        }
        let position = Position {
            list_no: allocation.list_no,
            idx: allocation.next,
        };
        allocation.next += 1;
        Some(position)
    }

    /// Remembers which token holds the index; written to the database behind.
    pub fn record(&self, realm_id: &str, position: Position, claims: &crate::tokens::AccessClaims) {
        let slot = self.slot(realm_id, position, claims);
        if let Ok(mut inner) = self.inner.lock() {
            inner.add(slot.clone());
            inner.pending.push(slot);
        }
    }

    fn slot(
        &self,
        realm_id: &str,
        position: Position,
        claims: &crate::tokens::AccessClaims,
    ) -> Slot {
        Slot {
            seq: 0,
            realm_id: realm_id.to_string(),
            list_no: position.list_no,
            idx: position.idx,
            jti: claims.jti.clone(),
            sid: claims.sid.clone(),
            user_id: claims.sub.clone(),
            client_id: claims.client_id.clone(),
            node: self.node.clone(),
            iat_ms: claims.iat_ms,
            exp_ms: claims.exp * 1000,
        }
    }

    /// Writes pending slots, keeps this node's blocks alive, learns other
    /// nodes' slots, turns silent nodes' blocks into orphans and learns
    /// every orphan. Pending slots a failed sync could not write stay
    /// pending.
    pub async fn sync(self: &Arc<Self>) -> Result<(), Error> {
        let Some(round) = self.start_round() else {
            return Ok(());
        };
        let pending = round.pending.clone();
        let (node, seen, known) = (self.node.clone(), round.seen, round.known.clone());
        let may_orphan = round.may_orphan;
        let outcome = self
            .store
            .run(move |conn| -> Result<_, Error> {
                let now = now_ms();
                store::write(conn, |conn| -> Result<(), Error> {
                    rows::insert_slots(conn, &pending)?;
                    rows::heartbeat(conn, &node, now)?;
                    Ok(())
                })?;
                let fresh = rows::slots_after(conn, seen, now, &node, 100_000)?;
                if may_orphan {
                    for block in
                        store::write(conn, |conn| rows::orphan_silent(conn, now - SILENT_MS))?
                    {
                        tracing::warn!(
                            list = block.list_no,
                            start = block.start_idx,
                            node = %block.node,
                            "status-list block of a silent node: its unrecorded indices read as revoked"
                        );
                    }
                }
                let orphans = orphans_with_records(conn, now, &known)?;
                Ok((fresh, orphans))
            })
            .await;
        let Ok(mut inner) = self.inner.lock() else {
            return Ok(());
        };
        match outcome {
            Ok((fresh, orphans)) => {
                inner.reachable_since_ms.get_or_insert(round.now);
                inner.learn(fresh, orphans, &self.node);
                Ok(())
            }
            Err(e) => {
                // Keep what was not written, ahead of what came since.
                let mut kept = round.pending;
                kept.append(&mut inner.pending);
                inner.pending = kept;
                inner.reachable_since_ms = None;
                Err(e)
            }
        }
    }

    /// What one sync works from, taken under the lock.
    fn start_round(&self) -> Option<Round> {
        let mut inner = self.inner.lock().ok()?;
        let now = now_ms();
        Some(Round {
            pending: std::mem::take(&mut inner.pending),
            seen: inner.seen_seq,
            known: inner.orphans.keys().copied().collect(),
            may_orphan: inner
                .reachable_since_ms
                .is_some_and(|since| now - since >= SILENT_MS),
            now,
        })
    }

    /// A token verified by this node: when its index is not known here
    /// (its slot is not written yet, or was lost with the node that issued
    /// it), the token's own claims say what the slot says.
    pub fn learn_from_token(&self, realm_id: &str, claims: &crate::tokens::AccessClaims) {
        let Some(position) = position_of(claims) else {
            return;
        };
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let known = inner
            .slots
            .get(&(realm_id.to_string(), position.list_no))
            .is_some_and(|slots| slots.contains_key(&position.idx));
        if known {
            return;
        }
        let slot = self.slot(realm_id, position, claims);
        inner.add(slot.clone());
        inner.pending.push(slot);
    }

    /// A node that stops: writes what is pending and closes its blocks, so
    /// that no other node takes them for orphans.
    pub async fn close(&self) -> Result<(), Error> {
        let pending = match self.inner.lock() {
            Ok(mut inner) => std::mem::take(&mut inner.pending),
            Err(_) => return Ok(()),
        };
        let node = self.node.clone();
        self.store
            .run(move |conn| {
                store::write(conn, |conn| -> Result<(), Error> {
                    rows::insert_slots(conn, &pending)?;
                    rows::close_blocks(conn, &node)?;
                    Ok(())
                })
            })
            .await
    }

    pub fn spawn_sync(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let lists = Arc::clone(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            loop {
                ticker.tick().await;
                if let Err(e) = lists.sync().await {
                    tracing::warn!(error = %e, "status list sync failed");
                }
            }
        })
    }

    /// What is held in memory now.
    pub fn held(&self) -> Held {
        let Ok(inner) = self.inner.lock() else {
            return Held::default();
        };
        Held {
            slots: inner.slots.values().map(BTreeMap::len).sum(),
            unwritten: inner.pending.len(),
            orphaned: inner.orphans.values().map(|o| o.unrecorded.len()).sum(),
        }
    }

    /// The signed list `list_no` of the realm (cached while nothing changed).
    pub async fn serve(
        &self,
        realm: &RealmState,
        uri: &str,
        list_no: i64,
    ) -> Result<String, Error> {
        let key = (realm.realm.id.clone(), list_no);
        let applied = self.follower.applied_seq();
        let now = now_ms();
        if let Ok(inner) = self.inner.lock() {
            if let Some(cached) = inner.cache.get(&key) {
                // New tokens read 0 (not revoked) in an older list, which is
                // right, as long as the list reaches their indices.
                let covers = inner
                    .high_water
                    .get(&key)
                    .is_none_or(|hw| *hw <= cached.len_bits);
                let unchanged = cached.applied_seq == applied
                    && covers
                    && (cached.slots_version == inner.slots_version
                        || now - cached.built_ms < RESIGN_MS)
                    && now - cached.built_ms < TTL_S * 500;
                if unchanged {
                    return Ok(cached.jwt.clone());
                }
            }
        }
        let (realm_id, store) = (realm.realm.id.clone(), self.store.clone());
        let reserved = store
            .run(move |conn| rows::list_len(conn, &realm_id, list_no))
            .await?;
        let (bytes, version) = {
            let inner = self
                .inner
                .lock()
                .map_err(|_| Error::Unavailable("status list state poisoned".into()))?;
            let reserved = reserved.max(inner.high_water.get(&key).copied().unwrap_or(0));
            (self.bits(&inner, &key, reserved, now), inner.slots_version)
        };
        let len_bits = bytes.len() as i64 * 8;
        let jwt = sign(realm, uri, &bytes, now)?;
        if let Ok(mut inner) = self.inner.lock() {
            inner.cache.insert(
                key,
                Cached {
                    applied_seq: applied,
                    slots_version: version,
                    built_ms: now,
                    len_bits,
                    jwt: jwt.clone(),
                },
            );
        }
        Ok(jwt)
    }

    /// One bit per index, least significant bit first (draft §4.1).
    fn bits(&self, inner: &Inner, key: &(String, i64), reserved: i64, now: i64) -> Vec<u8> {
        let slots = inner.slots.get(key);
        let highest = slots
            .and_then(|s| s.keys().next_back().copied())
            .map(|i| i + 1)
            .unwrap_or(0);
        let len = reserved.max(highest).max(1) as usize;
        let mut bytes = vec![0u8; len.div_ceil(8)];
        let mut set = |idx: i64| {
            if idx >= 0 && (idx as usize) < len {
                bytes[idx as usize / 8] |= 1 << (idx % 8);
            }
        };
        for (idx, facts) in slots.into_iter().flatten() {
            if facts.exp_ms <= now {
                continue;
            }
            let revoked = self
                .index
                .check(&TokenFacts {
                    realm_id: &key.0,
                    jti: &facts.jti,
                    sid: facts.sid.as_deref(),
                    subject: &facts.user_id,
                    client_id: &facts.client_id,
                    issued_at_ms: facts.iat_ms,
                })
                .is_err();
            if revoked {
                set(*idx);
            }
        }
        for orphan in inner.orphans.values() {
            if orphan.realm_id == key.0 && orphan.list_no == key.1 {
                orphan.unrecorded.iter().for_each(|idx| set(*idx));
            }
        }
        bytes
    }
}

struct Round {
    pending: Vec<Slot>,
    seen: i64,
    known: HashSet<i64>,
    may_orphan: bool,
    now: i64,
}

impl Inner {
    fn add(&mut self, slot: Slot) {
        let hw = self
            .high_water
            .entry((slot.realm_id.clone(), slot.list_no))
            .or_insert(0);
        *hw = (*hw).max(slot.idx + 1);
        for orphan in self.orphans.values_mut() {
            if orphan.realm_id == slot.realm_id
                && orphan.list_no == slot.list_no
                && (orphan.start_idx..orphan.end_idx).contains(&slot.idx)
                && orphan.unrecorded.remove(&slot.idx)
            {
                self.slots_version += 1;
            }
        }
        let slots = self.slots.entry((slot.realm_id, slot.list_no)).or_default();
        // A slot read back from the database after this node wrote it is
        // not news: only a new one invalidates cached lists.
        if slots.contains_key(&slot.idx) {
            return;
        }
        self.slots_version += 1;
        slots.insert(
            slot.idx,
            Facts {
                jti: slot.jti,
                sid: slot.sid,
                user_id: slot.user_id,
                client_id: slot.client_id,
                iat_ms: slot.iat_ms,
                exp_ms: slot.exp_ms,
            },
        );
    }

    /// What a sync read: other nodes' new slots, and orphans not known yet.
    fn learn(&mut self, fresh: Vec<Slot>, orphans: Vec<(rows::Block, HashSet<i64>)>, node: &str) {
        for slot in fresh {
            self.seen_seq = self.seen_seq.max(slot.seq);
            self.add(slot);
        }
        for (block, recorded) in orphans {
            self.add_orphan(&block, &recorded, node);
        }
        let now = now_ms();
        let horizon = now - TTL_S * 1000;
        for slots in self.slots.values_mut() {
            slots.retain(|_, facts| facts.exp_ms > horizon);
        }
        self.slots.retain(|_, slots| !slots.is_empty());
        self.orphans.retain(|_, orphan| orphan.until_ms > now);
        self.cache
            .retain(|_, cached| now - cached.built_ms < TTL_S * 1000);
    }

    /// An orphaned block: the indices no slot records read as revoked. When
    /// it is this node's own (others judged it silent), it hands out no more
    /// of it.
    fn add_orphan(&mut self, block: &rows::Block, recorded: &HashSet<i64>, node: &str) {
        let key = (block.realm_id.clone(), block.list_no);
        let end_idx = block.start_idx + block.size;
        if block.node == node {
            if let Some(current) = self.current.get_mut(&block.realm_id) {
                if current.list_no == block.list_no
                    && (block.start_idx..end_idx).contains(&current.next)
                {
                    current.end = current.next;
                }
            }
        }
        let in_memory = self.slots.get(&key);
        let unrecorded = (block.start_idx..end_idx)
            .filter(|idx| !recorded.contains(idx))
            .filter(|idx| in_memory.is_none_or(|slots| !slots.contains_key(idx)))
            .collect();
        self.orphans.insert(
            block.id,
            Orphan {
                realm_id: block.realm_id.clone(),
                list_no: block.list_no,
                start_idx: block.start_idx,
                end_idx,
                unrecorded,
                until_ms: block.heartbeat_ms + ORPHAN_HORIZON_MS,
            },
        );
        self.slots_version += 1;
    }
}

/// Orphaned blocks not in `known` that may still matter, each with the
/// indices the database records for it.
fn orphans_with_records(
    conn: &mut store::DbConnection,
    now: i64,
    known: &HashSet<i64>,
) -> Result<Vec<(rows::Block, HashSet<i64>)>, Error> {
    let mut found = Vec::new();
    for block in rows::orphaned(conn, now - ORPHAN_HORIZON_MS)? {
        if known.contains(&block.id) {
            continue;
        }
        let recorded = rows::recorded_in(conn, &block)?.into_iter().collect();
        found.push((block, recorded));
    }
    Ok(found)
}

/// The list and index a token's `status` claim names.
fn position_of(claims: &crate::tokens::AccessClaims) -> Option<Position> {
    let list = claims.status.as_ref()?.get("status_list")?;
    let idx = list.get("idx")?.as_i64()?;
    let list_no = list
        .get("uri")?
        .as_str()?
        .rsplit('/')
        .next()?
        .parse()
        .ok()?;
    Some(Position { list_no, idx })
}

/// The Status List Token (draft §5.1): `typ: statuslist+jwt`, `sub` = the
/// list's URI, `ttl`, and the list, DEFLATE-compressed in the ZLIB format.
fn sign(realm: &RealmState, uri: &str, bytes: &[u8], now_ms: i64) -> Result<String, Error> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    encoder
        .write_all(bytes)
        .and_then(|_| encoder.flush())
        .map_err(|e| Error::Unavailable(format!("compressing the status list: {e}")))?;
    let compressed = encoder
        .finish()
        .map_err(|e| Error::Unavailable(format!("compressing the status list: {e}")))?;
    let iat = now_ms / 1000;
    let claims = serde_json::json!({
        "sub": uri,
        "iat": iat,
        "exp": iat + TTL_S * 2,
        "ttl": TTL_S,
        "status_list": { "bits": 1, "lst": crate::crypto::b64url(&compressed) },
    });
    let key = realm
        .keys
        .signing_key(Alg::ES256)
        .ok_or_else(|| Error::Key(format!("realm `{}` has no ES256 key", realm.realm.name)))?;
    crate::tokens::jwt::sign(key, "statuslist+jwt", &claims)
}
