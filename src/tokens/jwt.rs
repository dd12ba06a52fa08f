//! Compact JWS: signing with a ring key, and verification where the key
//! ring — never the token — decides the key and the algorithm (RFC 8725
//! §3.1). Headers that would let a token pick its own key (`jku`, `x5u`,
//! `jwk`, `x5c`) or demand unknown processing (`crit`) are refused.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::crypto::b64url;
use crate::keys::{KeyRing, RingKey};

/// Longest token Latch will try to parse.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

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

#[derive(Deserialize)]
struct VerifyHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
    #[serde(default)]
    jku: Option<serde_json::Value>,
    #[serde(default)]
    x5u: Option<serde_json::Value>,
    #[serde(default)]
    jwk: Option<serde_json::Value>,
    #[serde(default)]
    x5c: Option<serde_json::Value>,
}

/// `typ` values compare case-insensitively, with or without `application/`
/// (RFC 7515 §4.1.9).
fn typ_matches(found: &str, expected: &str) -> bool {
    let found = found.strip_prefix("application/").unwrap_or(found);
    found.eq_ignore_ascii_case(expected)
}

fn decode_part(part: &str) -> Result<Vec<u8>, JwtError> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwtError::Malformed)
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
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header: VerifyHeader =
        serde_json::from_slice(&decode_part(h)?).map_err(|_| JwtError::Malformed)?;
    if header.crit.is_some()
        || header.jku.is_some()
        || header.x5u.is_some()
        || header.jwk.is_some()
        || header.x5c.is_some()
    {
        return Err(JwtError::BadHeader);
    }
    let kid = header.kid.ok_or(JwtError::UnknownKey)?;
    let key = ring.verifying_key(&kid).ok_or(JwtError::UnknownKey)?;
    // The ring decides the algorithm; a header naming another one (`none`,
    // HS256 with the public key as secret, ...) is refused outright.
    if header.alg != key.alg.as_str() {
        return Err(JwtError::BadHeader);
    }
    if !header
        .typ
        .as_deref()
        .is_some_and(|t| typ_matches(t, expected_typ))
    {
        return Err(JwtError::WrongType);
    }
    let signature = decode_part(s)?;
    let signing_input = &token[..h.len() + 1 + p.len()];
    if !key.verify(signing_input.as_bytes(), &signature) {
        return Err(JwtError::BadSignature);
    }
    let claims = serde_json::from_slice(&decode_part(p)?).map_err(|_| JwtError::Malformed)?;
    Ok(Verified { claims, key })
}

#[cfg(test)]
mod tests {
    use super::typ_matches;

    #[test]
    fn typ_comparison_follows_rfc_7515() {
        assert!(typ_matches("at+jwt", "at+jwt"));
        assert!(typ_matches("application/AT+JWT", "at+jwt"));
        assert!(!typ_matches("JWT", "at+jwt"));
    }
}
