//! Compact JWS: signing with a ring key, and verification where the key
//! ring — never the token — decides the key and the algorithm (RFC 8725
//! §3.1). Headers that would let a token pick its own key (`jku`, `x5u`,
//! `jwk`, `x5c`) or demand unknown processing (`crit`) are refused.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::crypto::b64url;
use crate::keys::{KeyRing, RingKey};

/// Longest token Latch will try to parse.
pub use latch_protocol::jws::MAX_TOKEN_LEN;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's key is not a live key of this realm")]
    UnknownKey,
    #[error("the token's header is not acceptable")]
    BadHeader,
    #[error("the token is of the wrong type")]
    WrongType,
    #[error("the token's signature is invalid")]
    BadSignature,
}

#[derive(Serialize)]
struct SignHeader<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

/// Signs `claims` as a compact JWS with header `typ`.
pub fn sign<C: Serialize>(
    key: &RingKey,
    typ: &str,
    claims: &C,
) -> Result<String, crate::error::Error> {
    let header = serde_json::to_vec(&SignHeader {
        alg: key.alg.as_str(),
        typ,
        kid: &key.kid,
    })
    .map_err(|e| crate::error::Error::Key(e.to_string()))?;
    let payload =
        serde_json::to_vec(claims).map_err(|e| crate::error::Error::Key(e.to_string()))?;
    let mut token = String::with_capacity(header.len() * 2 + payload.len() * 2 + 100);
    token.push_str(&b64url(&header));
    token.push('.');
    token.push_str(&b64url(&payload));
    let signature = key.sign(token.as_bytes())?;
    token.push('.');
    token.push_str(&b64url(&signature));
    Ok(token)
}

/// A token whose signature was checked, with the key that signed it.
pub struct Verified<'r, C> {
    pub claims: C,
    pub key: &'r RingKey,
}

/// Checks structure, header, type and signature; claims are the caller's.
pub fn verify<'r, C: DeserializeOwned>(
    ring: &'r KeyRing,
    token: &str,
    expected_typ: &str,
) -> Result<Verified<'r, C>, JwtError> {
    use latch_protocol::jws::{self, JwsError};
    let parsed = jws::parse(token, expected_typ).map_err(|e| match e {
        JwsError::Malformed => JwtError::Malformed,
        JwsError::NoKey => JwtError::UnknownKey,
        JwsError::BadHeader => JwtError::BadHeader,
        JwsError::WrongType => JwtError::WrongType,
    })?;
    let key = ring
        .verifying_key(&parsed.kid)
        .ok_or(JwtError::UnknownKey)?;
    // The ring decides the algorithm; a header naming another one (`none`,
    // HS256 with the public key as secret, ...) is refused outright.
    if parsed.alg != key.alg.as_str() {
        return Err(JwtError::BadHeader);
    }
    if !key.verify(parsed.signing_input.as_bytes(), &parsed.signature) {
        return Err(JwtError::BadSignature);
    }
    let claims = serde_json::from_slice(&parsed.payload).map_err(|_| JwtError::Malformed)?;
    Ok(Verified { claims, key })
}
