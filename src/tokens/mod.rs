//! Minting and checking tokens: JWT access tokens (RFC 9068), ID tokens
//! (OIDC Core §2), and the opaque secrets (codes, refresh tokens) whose
//! hashes the database keeps.

pub mod cache;
pub mod grants;
pub mod jwt;

use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::crypto::{self, b64url};
use crate::directory::{Client, RealmState};
use crate::error::Error;
use crate::keys::Alg;
use crate::store::users::User;
pub use jwt::JwtError;
pub use latch_protocol::scope;
pub use latch_protocol::Scopes;

/// RFC 9068 §2.1: the header type of JWT access tokens.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// Tolerance for clocks that disagree a little, in seconds (the default).
pub const LEEWAY_S: i64 = 30;

static LEEWAY: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(LEEWAY_S);

/// Sets the clock leeway of every token check in this process (setting
/// `clock_leeway_s`).
pub fn set_leeway_s(seconds: i64) {
    LEEWAY.store(seconds.clamp(0, 300), std::sync::atomic::Ordering::Relaxed);
}

pub fn leeway_s() -> i64 {
    LEEWAY.load(std::sync::atomic::Ordering::Relaxed)
}

/// The claims of a Latch access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    pub azp: String,
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// Issue time in milliseconds, compared against not-before cut-offs.
    pub iat_ms: i64,
    /// Where the token's bit lives in the realm's Token Status List.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
    /// The user's realm roles, shaped as Keycloak shapes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm_access: Option<RealmAccess>,
    /// The user's client roles: client id → `{"roles": [...]}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_access: Option<std::collections::BTreeMap<String, RealmAccess>>,
    /// The user's groups, as paths (`/staff/admins`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// Not before (Latch never sets it; a token carrying one is held to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// `realm_access` in an access token: `{"roles": [...]}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RealmAccess {
    pub roles: Vec<String>,
}

impl AccessClaims {
    pub fn has_realm_role(&self, role: &str) -> bool {
        self.realm_access
            .as_ref()
            .is_some_and(|a| a.roles.iter().any(|r| r == role))
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
    #[serde(flatten)]
    pub profile: ProfileClaims,
}

/// Standard claims (OIDC Core §5.1) the granted scopes allow.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProfileClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

impl ProfileClaims {
    pub fn for_scopes(user: &User, scopes: &Scopes) -> ProfileClaims {
        let mut claims = ProfileClaims::default();
        if scopes.contains("profile") {
            claims.preferred_username = Some(user.username.clone());
            claims.given_name = user.first_name.clone();
            claims.family_name = user.last_name.clone();
            let full: Vec<&str> = [&user.first_name, &user.last_name]
                .into_iter()
                .filter_map(|p| p.as_deref())
                .collect();
            if !full.is_empty() {
                claims.name = Some(full.join(" "));
            }
        }
        if scopes.contains("email") && user.email.is_some() {
            claims.email = user.email.clone();
            claims.email_verified = Some(false);
        }
        claims
    }
}

/// A new random `jti`: 128 bits, base64url.
pub fn new_jti() -> String {
    crypto::random_token::<16>()
}

/// What an access token is issued for.
pub struct AccessGrant<'a> {
    pub issuer: &'a str,
    pub subject: &'a str,
    pub audience: &'a str,
    pub client: &'a Client,
    pub scopes: &'a Scopes,
    pub sid: Option<&'a str>,
    pub username: Option<&'a str>,
    pub jti: String,
    pub now_ms: i64,
    /// `{"status_list": {"idx", "uri"}}` when the token has a status index.
    pub status: Option<serde_json::Value>,
    /// The user's roles and groups (none for a client acting for itself).
    pub access: Option<&'a crate::store::roles::Effective>,
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
        aud: grant.audience.to_string(),
        exp: iat + realm.realm.access_token_lifetime_s,
        iat,
        jti: grant.jti,
        client_id: grant.client.client_id.clone(),
        azp: grant.client.client_id.clone(),
        scope: grant.scopes.to_string(),
        sid: grant.sid.map(str::to_string),
        preferred_username: grant.username.map(str::to_string),
        iat_ms: grant.now_ms,
        status: grant.status,
        realm_access: grant
            .access
            .filter(|a| !a.realm_roles.is_empty())
            .map(|a| RealmAccess {
                roles: a.realm_roles.clone(),
            }),
        resource_access: grant
            .access
            .filter(|a| !a.client_roles.is_empty())
            .map(|a| {
                a.client_roles
                    .iter()
                    .map(|(client, roles)| {
                        (
                            client.clone(),
                            RealmAccess {
                                roles: roles.clone(),
                            },
                        )
                    })
                    .collect()
            }),
        groups: grant
            .access
            .filter(|a| !a.groups.is_empty())
            .map(|a| a.groups.clone()),
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
    pub scopes: &'a Scopes,
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
        profile: ProfileClaims::for_scopes(grant.user, grant.scopes),
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

/// Why an access token is not accepted.
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

/// Checks an access token of this realm: signature and type by the key
/// ring, then issuer and lifetime. Returns its claims and the signing kid.
pub fn check_access_with_kid(
    realm: &RealmState,
    issuer: &str,
    token: &str,
    now_ms: i64,
) -> Result<(AccessClaims, String), TokenError> {
    let verified = jwt::verify::<AccessClaims>(&realm.keys, token, ACCESS_TOKEN_TYP)?;
    let kid = verified.key.kid.clone();
    let claims = verified.claims;
    if claims.iss != issuer {
        return Err(TokenError::WrongIssuer);
    }
    // Expiry is exact (Latch's own clock issued it); the leeway only
    // forgives a verifier whose clock runs behind for iat and nbf.
    latch_protocol::jws::check_times(
        claims.exp,
        claims.iat,
        claims.nbf,
        now_ms / 1000,
        leeway_s(),
    )
    .map_err(|e| match e {
        latch_protocol::jws::TimeError::Expired => TokenError::Expired,
        latch_protocol::jws::TimeError::NotYetValid => TokenError::NotYetValid,
    })?;
    Ok((claims, kid))
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
