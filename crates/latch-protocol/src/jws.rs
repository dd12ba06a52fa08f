//! Compact JWS structure and header policy (RFC 7515, RFC 8725): three
//! base64url parts, a JSON header that names a `kid` and the expected
//! `typ`, and none of the headers that would let a token choose its own
//! key (`jku`, `x5u`, `jwk`, `x5c`) or demand unknown processing (`crit`).
//! The signature is checked by the caller with a key of its own choosing —
//! the header's `alg` is only compared with that key's algorithm.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;

/// Longest token Latch will try to parse.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwsError {
    Malformed,
    /// No `kid`.
    NoKey,
    /// A header Latch refuses.
    BadHeader,
    WrongType,
}

#[derive(Deserialize)]
struct RawHeader {
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

/// A token whose structure and header passed; not yet verified.
#[derive(Debug, Clone)]
pub struct Parsed<'t> {
    pub alg: String,
    pub kid: String,
    /// `header.payload`, what the signature covers.
    pub signing_input: &'t str,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

/// `typ` values compare case-insensitively, with or without `application/`
/// (RFC 7515 §4.1.9).
pub fn typ_matches(found: &str, expected: &str) -> bool {
    let found = found.strip_prefix("application/").unwrap_or(found);
    found.eq_ignore_ascii_case(expected)
}

fn decode(part: &str) -> Result<Vec<u8>, JwsError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwsError::Malformed)
}

pub fn parse<'t>(token: &'t str, expected_typ: &str) -> Result<Parsed<'t>, JwsError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwsError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Malformed);
    };
    let header: RawHeader = serde_json::from_slice(&decode(h)?).map_err(|_| JwsError::Malformed)?;
    if header.crit.is_some()
        || header.jku.is_some()
        || header.x5u.is_some()
        || header.jwk.is_some()
        || header.x5c.is_some()
    {
        return Err(JwsError::BadHeader);
    }
    let kid = header.kid.ok_or(JwsError::NoKey)?;
    if !header
        .typ
        .as_deref()
        .is_some_and(|t| typ_matches(t, expected_typ))
    {
        return Err(JwsError::WrongType);
    }
    Ok(Parsed {
        alg: header.alg,
        kid,
        signing_input: &token[..h.len() + 1 + p.len()],
        payload: decode(p)?,
        signature: decode(s)?,
    })
}

/// Why a token's times are not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeError {
    Expired,
    NotYetValid,
}

/// `exp` is exact; `iat` and `nbf` may be up to `leeway_s` in the future.
pub fn check_times(
    exp: i64,
    iat: i64,
    nbf: Option<i64>,
    now_s: i64,
    leeway_s: i64,
) -> Result<(), TimeError> {
    if exp <= now_s {
        return Err(TimeError::Expired);
    }
    if iat > now_s.saturating_add(leeway_s)
        || nbf.is_some_and(|nbf| nbf > now_s.saturating_add(leeway_s))
    {
        return Err(TimeError::NotYetValid);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(header: &str) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode("{}"),
            URL_SAFE_NO_PAD.encode("sig")
        )
    }

    #[test]
    fn header_policy() {
        assert!(parse(
            &token(r#"{"alg":"ES256","kid":"k","typ":"at+jwt"}"#),
            "at+jwt"
        )
        .is_ok());
        assert_eq!(
            parse(&token(r#"{"alg":"ES256","kid":"k","typ":"JWT"}"#), "at+jwt").unwrap_err(),
            JwsError::WrongType
        );
        assert_eq!(
            parse(&token(r#"{"alg":"ES256","typ":"at+jwt"}"#), "at+jwt").unwrap_err(),
            JwsError::NoKey
        );
        for bad in ["jku", "x5u", "jwk", "x5c", "crit"] {
            let h = format!(r#"{{"alg":"ES256","kid":"k","typ":"at+jwt","{bad}":"x"}}"#);
            assert_eq!(
                parse(&token(&h), "at+jwt").unwrap_err(),
                JwsError::BadHeader,
                "{bad}"
            );
        }
        assert_eq!(parse("a.b", "at+jwt").unwrap_err(), JwsError::Malformed);
        assert_eq!(
            parse(&"a".repeat(MAX_TOKEN_LEN + 1), "at+jwt").unwrap_err(),
            JwsError::Malformed
        );
        assert!(typ_matches("application/AT+JWT", "at+jwt"));
    }

    #[test]
    fn times() {
        assert_eq!(check_times(100, 0, None, 100, 30), Err(TimeError::Expired));
        assert_eq!(
            check_times(200, 131, None, 100, 30),
            Err(TimeError::NotYetValid)
        );
        assert_eq!(
            check_times(200, 100, Some(131), 100, 30),
            Err(TimeError::NotYetValid)
        );
        assert!(check_times(200, 129, Some(129), 100, 30).is_ok());
    }
}
