//! The revocation index: every node's in-memory answer to "has this token
//! been taken back?", with no database trip. It holds exactly the state of
//! DESIGN §4 — denied `jti`s, ended `sid`s, and user / client / realm
//! not-before cut-offs — each entry kept only until no token it could
//! concern is still unexpired. It is built from the event log at start and
//! kept current by the `Follower`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::RwLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::EventKind;
use crate::store::events::Event;

/// A 128-bit random identifier (`jti`, `sid`) as two words: 16 bytes a key.
type Id128 = (u64, u64);

/// The ids are random and only looked up after a token's signature is
/// verified (so an attacker cannot choose them): their low word is already
/// a uniform hash, and SipHash would only add cost.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_le_bytes(word);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

type IdMap = HashMap<Id128, i64, BuildHasherDefault<IdHasher>>;

/// Parses a base64url 128-bit id (22 characters).
pub fn parse_id(text: &str) -> Option<Id128> {
    if text.len() != 22 {
        return None;
    }
    let mut bytes = [0u8; 16];
    let n = URL_SAFE_NO_PAD.decode_slice(text, &mut bytes).ok()?;
    if n != 16 {
        return None;
    }
    let (hi, lo) = bytes.split_at(8);
    Some((
        u64::from_le_bytes(hi.try_into().ok()?),
        u64::from_le_bytes(lo.try_into().ok()?),
    ))
}

/// What the index needs to know about a token.
pub struct TokenFacts<'a> {
    pub realm_id: &'a str,
    pub jti: &'a str,
    pub sid: Option<&'a str>,
    pub subject: &'a str,
    pub client_id: &'a str,
    pub issued_at_ms: i64,
}

/// Why the index rejects a token (DESIGN §4 rules 3-7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Revoked {
    #[error("the token has been revoked")]
    Jti,
    #[error("the token's session has ended")]
    Session,
    #[error("the user's tokens have been revoked")]
    User,
    #[error("the client's tokens have been revoked")]
    Client,
    #[error("the realm's tokens have been revoked")]
    Realm,
}

#[derive(Default)]
struct State {
    jtis: IdMap,
    sids: IdMap,
    /// user id → (not-before ms, keep until ms)
    users: HashMap<String, (i64, i64)>,
    /// (realm id, client_id) → (not-before ms, keep until ms)
    clients: HashMap<(String, String), (i64, i64)>,
    /// realm id → (not-before ms, keep until ms)
    realms: HashMap<String, (i64, i64)>,
}

#[derive(Default)]
pub struct Index {
    state: RwLock<State>,
}

impl Index {
    /// Rules 3-7 of DESIGN §4, in order. Cut-offs compare milliseconds; a
    /// token issued at the very instant of a cut-off is rejected.
    pub fn check(&self, token: &TokenFacts<'_>) -> Result<(), Revoked> {
        let Ok(state) = self.state.read() else {
            // A poisoned lock means a panic mid-update: fail closed.
            return Err(Revoked::Realm);
        };
        match parse_id(token.jti) {
            Some(jti) if state.jtis.contains_key(&jti) => return Err(Revoked::Jti),
            Some(_) => {}
            None => return Err(Revoked::Jti),
        }
        if let Some(sid) = token.sid {
            match parse_id(sid) {
                Some(sid) if state.sids.contains_key(&sid) => return Err(Revoked::Session),
                Some(_) => {}
                None => return Err(Revoked::Session),
            }
        }
        let cut =
            |entry: Option<&(i64, i64)>| entry.is_some_and(|(nbf, _)| token.issued_at_ms <= *nbf);
        if !state.users.is_empty() && cut(state.users.get(token.subject)) {
            return Err(Revoked::User);
        }
        if !state.clients.is_empty()
            && cut(state
                .clients
                .get(&(token.realm_id.to_string(), token.client_id.to_string())))
        {
            return Err(Revoked::Client);
        }
        if cut(state.realms.get(token.realm_id)) {
            return Err(Revoked::Realm);
        }
        Ok(())
    }

    /// Applies one event of the log. Events with an expiry in the past
    /// change nothing (no unexpired token could be affected).
    pub fn apply(&self, event: &Event, now_ms: i64) {
        let Some(kind) = EventKind::parse(&event.kind) else {
            return;
        };
        let keep_until = event.expires_at_ms.unwrap_or(i64::MAX);
        if keep_until <= now_ms {
            return;
        }
        let Ok(mut state) = self.state.write() else {
            return;
        };
        let nbf = event.not_before_ms.unwrap_or(event.created_at_ms);
        let later = |old: Option<&(i64, i64)>| match old {
            Some((n, k)) => (nbf.max(*n), keep_until.max(*k)),
            None => (nbf, keep_until),
        };
        match kind {
            EventKind::Jti => {
                if let Some(id) = parse_id(&event.subject) {
                    state.jtis.insert(id, keep_until);
                }
            }
            EventKind::Session => {
                if let Some(id) = parse_id(&event.subject) {
                    state.sids.insert(id, keep_until);
                }
            }
            EventKind::User => {
                let v = later(state.users.get(&event.subject));
                state.users.insert(event.subject.clone(), v);
            }
            EventKind::ClientCutoff => {
                let key = (event.realm_id.clone(), event.subject.clone());
                let v = later(state.clients.get(&key));
                state.clients.insert(key, v);
            }
            EventKind::RealmCutoff => {
                let v = later(state.realms.get(&event.realm_id));
                state.realms.insert(event.realm_id.clone(), v);
            }
            _ => {}
        }
    }

    /// Drops entries no unexpired token can match any more.
    pub fn prune(&self, now_ms: i64) -> usize {
        let Ok(mut state) = self.state.write() else {
            return 0;
        };
        let before = state.len();
        state.jtis.retain(|_, keep| *keep > now_ms);
        state.sids.retain(|_, keep| *keep > now_ms);
        state.users.retain(|_, (_, keep)| *keep > now_ms);
        state.clients.retain(|_, (_, keep)| *keep > now_ms);
        state.realms.retain(|_, (_, keep)| *keep > now_ms);
        shrink(&mut state.jtis);
        shrink(&mut state.sids);
        before - state.len()
    }

    /// Entries held, for metrics and sizing.
    pub fn len(&self) -> usize {
        self.state.read().map(|s| s.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bulk insert for benchmarks and rebuilds.
    pub fn insert_denied(&self, jti: &str, sid: Option<&str>, keep_until_ms: i64) {
        if let Ok(mut state) = self.state.write() {
            if let Some(id) = parse_id(jti) {
                state.jtis.insert(id, keep_until_ms);
            }
            if let Some(id) = sid.and_then(parse_id) {
                state.sids.insert(id, keep_until_ms);
            }
        }
    }
}

/// Gives back the room a burst of revocations left behind once most of it
/// stands empty (a map keeps its capacity when entries leave), keeping
/// twice what is held for what comes next.
fn shrink(map: &mut IdMap) {
    if map.capacity() > 4 * map.len().max(1024) {
        map.shrink_to(2 * map.len());
    }
}

impl State {
    fn len(&self) -> usize {
        self.jtis.len()
            + self.sids.len()
            + self.users.len()
            + self.clients.len()
            + self.realms.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind, subject: &str, nbf: Option<i64>, expires: i64) -> Event {
        Event {
            seq: 1,
            realm_id: "r".into(),
            kind: kind.as_str().into(),
            subject: subject.into(),
            not_before_ms: nbf,
            expires_at_ms: Some(expires),
            created_at_ms: 0,
            client_id: None,
            user_id: None,
            reason: None,
        }
    }

    fn facts<'a>(jti: &'a str, sid: Option<&'a str>, iat: i64) -> TokenFacts<'a> {
        TokenFacts {
            realm_id: "r",
            jti,
            sid,
            subject: "u1",
            client_id: "c1",
            issued_at_ms: iat,
        }
    }

    #[test]
    fn each_rule_rejects_and_cut_offs_compare_milliseconds() {
        let index = Index::default();
        let jti = crate::crypto::random_token::<16>();
        let sid = crate::crypto::random_token::<16>();
        assert!(index.check(&facts(&jti, Some(&sid), 1000)).is_ok());
        index.apply(&event(EventKind::User, "u1", Some(5000), 10_000), 0);
        assert_eq!(index.check(&facts(&jti, None, 5000)), Err(Revoked::User));
        assert!(index.check(&facts(&jti, None, 5001)).is_ok());
        index.apply(&event(EventKind::Session, &sid, None, 10_000), 0);
        assert_eq!(
            index.check(&facts(&jti, Some(&sid), 6000)),
            Err(Revoked::Session)
        );
        index.apply(&event(EventKind::Jti, &jti, None, 10_000), 0);
        assert_eq!(index.check(&facts(&jti, None, 6000)), Err(Revoked::Jti));
        index.apply(&event(EventKind::RealmCutoff, "r", Some(7000), 10_000), 0);
        let other = crate::crypto::random_token::<16>();
        assert_eq!(index.check(&facts(&other, None, 6500)), Err(Revoked::Realm));
        assert_eq!(index.prune(10_000), 4);
        assert!(index.check(&facts(&jti, Some(&sid), 1000)).is_ok());
    }
}
