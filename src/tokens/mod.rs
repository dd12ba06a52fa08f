//! Minting and checking tokens: JWT access tokens (RFC 9068), ID tokens
//! (OIDC Core §2), refresh tokens (JWT-shaped, `refresh_token`) and codes,
//! the secrets whose keyed hashes the database keeps.

pub mod access;
pub mod cache;
pub mod claims;
pub mod codes;
pub mod grants;
pub mod jwt;
pub mod refresh_token;

use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::crypto::{self, b64url};
use crate::directory::{Client, RealmState};
use crate::error::Error;
use crate::keys::Alg;
use crate::store::users::User;
pub use access::{AccessCheck, Refused, TokenError};
pub use jwt::JwtError;
pub use latch_protocol::scope;
pub use latch_protocol::Scopes;

/// RFC 9068 §2.1: the header type of JWT access tokens.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// `aud`: one audience as a string, several as an array (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn of(mut list: Vec<String>) -> Audience {
        if list.len() == 1 {
            Audience::One(list.remove(0))
        } else {
            Audience::Many(list)
        }
    }

    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Audience::One(one) => one == audience,
            Audience::Many(many) => many.iter().any(|a| a == audience),
        }
    }
}

/// The claims of a Latch access token: Latch's own, then what the granted
/// scopes' mappers add (roles, groups, profile, custom claims).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    pub azp: String,
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Issue time in milliseconds, compared against not-before cut-offs.
    pub iat_ms: i64,
    /// Where the token's bit lives in the realm's Token Status List.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
    /// Not before (Latch never sets it; a token carrying one is held to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// The mapped claims: `preferred_username`, `realm_access`,
    /// `resource_access`, `groups`, and whatever else the scopes map.
    #[serde(flatten)]
    pub mapped: serde_json::Map<String, serde_json::Value>,
}

impl AccessClaims {
    /// Whether `realm_access.roles` lists the role.
    pub fn has_realm_role(&self, role: &str) -> bool {
        self.mapped
            .get("realm_access")
            .and_then(|a| a.get("roles"))
            .and_then(|r| r.as_array())
            .is_some_and(|roles| roles.iter().any(|r| r.as_str() == Some(role)))
    }

    pub fn username(&self) -> Option<&str> {
        self.mapped.get("preferred_username")?.as_str()
    }
}

/// The claims of an ID token (OIDC Core §2, §5.1).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub azp: String,
    /// What the granted scopes map into ID tokens.
    #[serde(flatten)]
    pub mapped: serde_json::Map<String, serde_json::Value>,
}

/// A new random `jti`: 128 bits, base64url.
pub fn new_jti() -> String {
    crypto::random_token::<16>()
}

/// What an access token is issued for.
pub struct AccessGrant<'a> {
    pub issuer: &'a str,
    pub subject: &'a str,
    pub audience: Audience,
    pub client: &'a Client,
    pub scopes: &'a Scopes,
    pub sid: Option<&'a str>,
    pub jti: String,
    pub now_ms: i64,
    /// `{"status_list": {"idx", "uri"}}` when the token has a status index.
    pub status: Option<serde_json::Value>,
    /// The claims the granted scopes' mappers produced.
    pub mapped: serde_json::Map<String, serde_json::Value>,
}

pub struct MintedAccess {
    pub token: String,
    pub claims: AccessClaims,
}

pub fn mint_access(realm: &RealmState, grant: AccessGrant<'_>) -> Result<MintedAccess, Error> {
    let key = realm.keys.signing_key(Alg::ES256).ok_or_else(|| {
        Error::Key(format!(
            "realm `{}` has no ES256 signing key",
            realm.realm.name
        ))
    })?;
    let iat = grant.now_ms / 1000;
    let claims = AccessClaims {
        iss: grant.issuer.to_string(),
        sub: grant.subject.to_string(),
        aud: grant.audience,
        exp: iat + realm.realm.access_token_lifetime_s,
        iat,
        jti: grant.jti,
        client_id: grant.client.client_id.clone(),
        azp: grant.client.client_id.clone(),
        scope: grant.scopes.to_string(),
        sid: grant.sid.map(str::to_string),
        iat_ms: grant.now_ms,
        status: grant.status,
        mapped: grant.mapped,
        nbf: None,
    };
    let token = jwt::sign(key, ACCESS_TOKEN_TYP, &claims)?;
    Ok(MintedAccess { token, claims })
}

/// What an ID token says about the sign-in.
pub struct IdGrant<'a> {
    pub issuer: &'a str,
    pub client: &'a Client,
    pub user: &'a User,
    /// The claims the granted scopes map into ID tokens.
    pub mapped: serde_json::Map<String, serde_json::Value>,
    pub nonce: Option<&'a str>,
    pub auth_time_s: i64,
    pub sid: &'a str,
    pub access_token: &'a str,
    pub now_ms: i64,
}

pub fn mint_id(realm: &RealmState, grant: IdGrant<'_>) -> Result<String, Error> {
    let alg = grant.client.id_token_alg;
    let key = realm
        .keys
        .signing_key(alg)
        .or_else(|| realm.keys.signing_key(Alg::RS256))
        .ok_or_else(|| {
            Error::Key(format!(
                "realm `{}` has no {alg} signing key",
                realm.realm.name
            ))
        })?;
    let iat = grant.now_ms / 1000;
    let claims = IdClaims {
        iss: grant.issuer.to_string(),
        sub: grant.user.id.clone(),
        aud: grant.client.client_id.clone(),
        exp: iat + realm.realm.id_token_lifetime_s,
        iat,
        auth_time: grant.auth_time_s,
        nonce: grant.nonce.map(str::to_string),
        at_hash: Some(token_hash_claim(key.alg, grant.access_token)),
        sid: Some(grant.sid.to_string()),
        azp: grant.client.client_id.clone(),
        mapped: grant.mapped,
    };
    jwt::sign(key, "JWT", &claims)
}

/// `at_hash` (OIDC Core §3.1.3.6): the left half of the hash of the token,
/// with the hash of the ID token's algorithm (SHA-512 for Ed25519).
pub fn token_hash_claim(alg: Alg, token: &str) -> String {
    match alg {
        Alg::EdDSA => {
            let digest = sha2::Sha512::digest(token.as_bytes());
            b64url(&digest[..32])
        }
        _ => b64url(&crypto::sha256(token.as_bytes())[..16]),
    }
}

/// The claims of a logout token (OIDC Back-Channel Logout 1.0 §2.4).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogoutClaims {
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub events: serde_json::Value,
}

pub const LOGOUT_TOKEN_TYP: &str = "logout+jwt";
const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Mints a logout token for `client`, signed like its ID tokens; it never
/// carries a nonce (§2.4), so it cannot pass for an ID token.
pub fn mint_logout(
    realm: &RealmState,
    issuer: &str,
    client: &Client,
    sub: &str,
    sid: &str,
    now_ms: i64,
) -> Result<String, Error> {
    let key = realm
        .keys
        .signing_key(client.id_token_alg)
        .or_else(|| realm.keys.signing_key(Alg::RS256))
        .ok_or_else(|| {
            Error::Key(format!(
                "realm `{}` has no signing key for logout tokens",
                realm.realm.name
            ))
        })?;
    let iat = now_ms / 1000;
    let claims = LogoutClaims {
        iss: issuer.to_string(),
        aud: client.client_id.clone(),
        iat,
        exp: iat + 120,
        jti: new_jti(),
        sub: sub.to_string(),
        sid: Some(sid.to_string()),
        events: serde_json::json!({ LOGOUT_EVENT: {} }),
    };
    jwt::sign(key, LOGOUT_TOKEN_TYP, &claims)
}
