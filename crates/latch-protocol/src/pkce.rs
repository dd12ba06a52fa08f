//! PKCE (RFC 7636) values and the S256 check.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A code challenge or verifier: 43-128 unreserved characters (§4.1).
pub fn valid_value(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// §4.6: BASE64URL(SHA256(verifier)) equals the challenge (constant time).
pub fn s256_matches(challenge: &str, verifier: &str) -> bool {
    if !valid_value(verifier) {
        return false;
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    computed.as_bytes().ct_eq(challenge.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7636_example_matches() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(s256_matches(challenge, verifier));
        assert!(!s256_matches(challenge, &verifier.replace('d', "e")));
        assert!(!s256_matches(challenge, "short"));
        assert!(!valid_value(&"a".repeat(129)));
    }
}
