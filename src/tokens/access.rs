//! The access check (DESIGN §4): the one place a bearer access token is
//! accepted or refused — by the protocol endpoints, the admin API and the
//! account page alike. It is a value built once per server, so two servers
//! in one process keep their own clock leeway.

use std::sync::Arc;

use super::cache::{self, VerifiedCache};
use super::{jwt, AccessClaims, JwtError, ACCESS_TOKEN_TYP};
use crate::clock::Clock;
use crate::directory::RealmState;
use crate::publish::status_list::StatusLists;
use crate::revocation::{Index, Revoked, TokenFacts};

/// The largest clock leeway a server may be configured with, in seconds.
const MAX_LEEWAY_S: i64 = 300;

/// Why an access token is not accepted as one of this realm's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Jwt(#[from] JwtError),
    #[error("the token was issued by another realm")]
    WrongIssuer,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
}

/// Why an access token is refused: it is not a valid token of the realm
/// (steps 1-2), or the revocation index takes it back (steps 3-7).
#[derive(Debug, Clone, Copy, thiserror::Error)]
pub enum Refused {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Revoked(#[from] Revoked),
}

/// Everything the seven-step check reads, all in memory: the cluster's
/// clock, the tokens whose signature was verified before, the revocation
/// index, and this server's leeway for clocks that disagree a little.
pub struct AccessCheck {
    clock: Arc<Clock>,
    cache: VerifiedCache,
    index: Arc<Index>,
    leeway_s: i64,
    /// Issuers are `{public_base}/realms/{realm}` (DESIGN §2).
    public_base: String,
    /// Told of every token verified here for the first time, so that a
    /// status-list slot lost with the node that issued it is learnt back.
    status_lists: Arc<StatusLists>,
}

impl AccessCheck {
    /// A check with an empty cache; the leeway (setting `clock_leeway_s`)
    /// is held to 0..=300 seconds.
    pub fn new(
        clock: Arc<Clock>,
        index: Arc<Index>,
        status_lists: Arc<StatusLists>,
        public_base: &str,
        leeway_s: i64,
    ) -> Self {
        AccessCheck {
            clock,
            cache: VerifiedCache::default(),
            index,
            leeway_s: leeway_s.clamp(0, MAX_LEEWAY_S),
            public_base: public_base.trim_end_matches('/').to_string(),
            status_lists,
        }
    }

    /// Tokens held in the verified-token cache, for metrics.
    pub fn cached(&self) -> usize {
        self.cache.len()
    }

    /// Drops cached tokens that have expired (they are refused either
    /// way); returns how many.
    pub fn forget_expired(&self) -> usize {
        self.cache.prune(self.clock.now_ms() / 1000)
    }

    /// The leeway, in seconds, this check grants `iat` and `nbf`.
    pub fn leeway_s(&self) -> i64 {
        self.leeway_s
    }

    /// DESIGN §4 in its order: live key, signature and lifetime (skipped
    /// for a token verified before, except the key's liveness — emergency
    /// rotation), then the revocation index.
    pub fn check(&self, realm: &RealmState, token: &str) -> Result<AccessClaims, Refused> {
        let now_ms = self.clock.now_ms();
        let key = cache::key(&realm.realm.id, token);
        let claims = match self.cache.get(&key, now_ms / 1000) {
            Some((claims, kid)) if realm.keys.verifying_key(&kid).is_some() => claims,
            Some(_) => return Err(TokenError::Jwt(JwtError::UnknownKey).into()),
            None => {
                let (claims, kid) = self.verify(realm, token, now_ms)?;
                self.status_lists.learn_from_token(&realm.realm.id, &claims);
                let claims = Arc::new(claims);
                self.cache
                    .insert(key, Arc::clone(&claims), kid, now_ms / 1000);
                claims
            }
        };
        self.index.check(&TokenFacts {
            realm_id: &realm.realm.id,
            jti: &claims.jti,
            sid: claims.sid.as_deref(),
            subject: &claims.sub,
            client_id: &claims.client_id,
            issued_at_ms: claims.iat_ms,
        })?;
        Ok((*claims).clone())
    }

    /// Signature and type by the key ring (RFC 9068 §4), then issuer and
    /// lifetime. Returns the claims and the signing kid.
    fn verify(
        &self,
        realm: &RealmState,
        token: &str,
        now_ms: i64,
    ) -> Result<(AccessClaims, String), TokenError> {
        let verified = jwt::verify::<AccessClaims>(&realm.keys, token, ACCESS_TOKEN_TYP)?;
        let kid = verified.key.kid.clone();
        let claims = verified.claims;
        if claims.iss != format!("{}/realms/{}", self.public_base, realm.realm.name) {
            return Err(TokenError::WrongIssuer);
        }
        // Expiry is exact (Latch's own clock issued it); the leeway only
        // forgives a verifier whose clock runs behind for iat and nbf.
        latch_protocol::jws::check_times(
            claims.exp,
            claims.iat,
            claims.nbf,
            now_ms / 1000,
            self.leeway_s,
        )
        .map_err(|e| match e {
            latch_protocol::jws::TimeError::Expired => TokenError::Expired,
            latch_protocol::jws::TimeError::NotYetValid => TokenError::NotYetValid,
        })?;
        Ok((claims, kid))
    }
}
