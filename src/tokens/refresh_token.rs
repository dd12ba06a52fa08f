//! Refresh tokens as Keycloak shapes them: a JWT (header `typ: JWT`,
//! payload `typ: Refresh` or `Offline`) that Keycloak's adapters decode to
//! read `exp` and `sid`.
//!
//! Latch never trusts what one says. A refresh token is authenticated by
//! the keyed hash of the whole string, found in the database, and its
//! expiry and binding come from its family's row (`store::refresh`). The
//! HS256 MAC — under a subkey of the master key, never a realm signing key,
//! and with no `kid`, so no check of the realm's access or ID tokens can
//! accept one — is defence in depth: a forged token is turned away before
//! the database, and a refresh token is told from an access token by its
//! MAC rather than guessed from its shape. Opaque refresh tokens issued
//! before refresh tokens were JWTs keep working until they expire.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::crypto::{self, b64url, MasterKey};
use crate::directory::Directory;
use crate::store::refresh::FamilyRow;

/// The master key's subkey for refresh-token MACs.
const MAC_PURPOSE: &str = "refresh token MAC";
/// RFC 7515 §4.1: HS256, a JWT (as Keycloak's refresh tokens say).
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
/// Longest refresh token worth a MAC or a hash and a query.
pub const MAX_LEN: usize = 4096;
/// Refresh tokens issued before they were JWTs: 256 random bits, base64url.
const MAX_OPAQUE_LEN: usize = 128;

/// What a refresh token says (Keycloak's claims); informative only.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshClaims {
    pub iss: String,
    /// `Refresh`, or `Offline` for an `offline_access` family.
    pub typ: String,
    pub azp: String,
    pub sid: String,
    pub scope: String,
    pub iat: i64,
    pub exp: i64,
    /// 256 random bits: what makes each token unguessable.
    pub jti: String,
}

/// A new refresh token and the keyed hash it is stored under.
pub struct MintedRefresh {
    pub token: String,
    pub hash: String,
}

/// Mints one client's refresh tokens, once their family is known.
pub struct RefreshMinter {
    directory: Arc<Directory>,
    issuer: String,
    client_id: String,
}

impl RefreshMinter {
    pub fn new(directory: &Arc<Directory>, issuer: &str, client_id: &str) -> RefreshMinter {
        RefreshMinter {
            directory: Arc::clone(directory),
            issuer: issuer.to_string(),
            client_id: client_id.to_string(),
        }
    }

    /// A new token of `family`, saying it expires at `expires_at_ms`.
    pub fn mint(&self, family: &FamilyRow, expires_at_ms: i64, now_ms: i64) -> MintedRefresh {
        let claims = RefreshClaims {
            iss: self.issuer.clone(),
            typ: if family.offline { "Offline" } else { "Refresh" }.into(),
            azp: self.client_id.clone(),
            sid: family.session_id.clone(),
            scope: family.scope.clone(),
            iat: now_ms / 1000,
            exp: expires_at_ms / 1000,
            jti: crypto::random_token::<32>(),
        };
        let token = sign(self.directory.master(), &claims);
        MintedRefresh {
            hash: self.directory.hash_token(&token),
            token,
        }
    }
}

fn mac(master: &MasterKey, signing_input: &str) -> [u8; 32] {
    crypto::hmac_sha256(&master.derive(MAC_PURPOSE), signing_input.as_bytes())
}

fn sign(master: &MasterKey, claims: &RefreshClaims) -> String {
    // Serialising strings and integers cannot fail.
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    let mut token = format!("{}.{}", b64url(HEADER.as_bytes()), b64url(&payload));
    let signature = mac(master, &token);
    token.push('.');
    token.push_str(&b64url(&signature));
    token
}

/// What a presented token can be, before anything is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A refresh token minted here (its MAC checks out), or an opaque one
    /// of the earlier kind: only the database can say whether it lives.
    Refresh,
    /// Some other compact JWS: an access or ID token, or a forgery.
    Jws,
    /// Neither.
    Unknown,
}

/// Tells a refresh token from an access token by its MAC, not its shape
/// alone (both are JWTs).
pub fn shape(master: &MasterKey, token: &str) -> Shape {
    if token.is_empty() || token.len() > MAX_LEN {
        return Shape::Unknown;
    }
    match token.matches('.').count() {
        0 if token.len() <= MAX_OPAQUE_LEN => Shape::Refresh,
        2 if minted_here(master, token) => Shape::Refresh,
        2 => Shape::Jws,
        _ => Shape::Unknown,
    }
}

/// The token's MAC is this server's (constant-time comparison).
fn minted_here(master: &MasterKey, token: &str) -> bool {
    let Some((input, signature)) = token.rsplit_once('.') else {
        return false;
    };
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    crypto::constant_time_eq(&mac(master, input), &signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> RefreshClaims {
        RefreshClaims {
            iss: "https://id.example/realms/demo".into(),
            typ: "Refresh".into(),
            azp: "app".into(),
            sid: "s1".into(),
            scope: "openid".into(),
            iat: 1,
            exp: 2,
            jti: crypto::random_token::<32>(),
        }
    }

    #[test]
    fn a_refresh_token_is_known_by_its_mac() {
        let master = MasterKey::generate();
        let token = sign(&master, &claims());
        assert_eq!(shape(&master, &token), Shape::Refresh);
        // Another server's, or one whose payload was changed, is just a JWS.
        assert_eq!(shape(&MasterKey::generate(), &token), Shape::Jws);
        let (_, rest) = token.split_once('.').unwrap_or_default();
        let forged = format!("{}.{rest}", b64url(br#"{"alg":"none"}"#));
        assert_eq!(shape(&master, &forged), Shape::Jws);
        assert_eq!(
            shape(&master, &crypto::random_token::<32>()),
            Shape::Refresh
        );
        assert_eq!(shape(&master, "a.b"), Shape::Unknown);
        assert_eq!(shape(&master, &"x".repeat(200)), Shape::Unknown);
    }

    #[test]
    fn the_header_says_hs256_jwt_and_names_no_key() {
        let token = sign(&MasterKey::generate(), &claims());
        let header = URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap_or_default())
            .unwrap_or_default();
        let header: serde_json::Value = serde_json::from_slice(&header).unwrap_or_default();
        assert_eq!(header, serde_json::json!({"alg": "HS256", "typ": "JWT"}));
    }
}
