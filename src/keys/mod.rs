//! Per-realm signing keys: generation, the in-memory key ring, JWKS, rotation.
//!
//! A key moves through `active` (signs and verifies) → `retiring` (verifies
//! only, until every token it signed has expired) → `retired` (gone). The
//! algorithm used to check a token always comes from the key ring, never
//! from the token's header.

pub mod maintenance;
mod ring;

pub use ring::{KeyRing, RingKey};

use std::fmt;
use std::str::FromStr;

use josekit::jwk::KeyPair;

use crate::crypto::{self, MasterKey};
use crate::error::Error;
use crate::revocation::{self, EventKind};
use crate::store::keys::{self as key_rows, KeyRow};
use crate::store::DbConnection;
use crate::time::now_ms;

/// Purpose label for the master-key subkey that encrypts private keys.
const SEAL_PURPOSE: &str = "signing key";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    ES256,
    RS256,
    EdDSA,
}

impl Alg {
    pub const ALL: [Alg; 3] = [Alg::ES256, Alg::RS256, Alg::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::ES256 => "ES256",
            Alg::RS256 => "RS256",
            Alg::EdDSA => "EdDSA",
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Alg {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Alg::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| Error::Invalid(format!("unknown algorithm `{s}` (ES256, RS256, EdDSA)")))
    }
}

/// Algorithms every new realm gets: ES256 for access tokens, RS256 because
/// OIDC Core makes it the ID-token default.
pub const REALM_DEFAULT_ALGS: [Alg; 2] = [Alg::ES256, Alg::RS256];

struct Generated {
    public_jwk: josekit::jwk::Jwk,
    private_der: Vec<u8>,
}

fn generate(alg: Alg) -> Result<Generated, Error> {
    let pair: Box<dyn KeyPair> = match alg {
        Alg::ES256 => Box::new(josekit::jws::ES256.generate_key_pair()?),
        Alg::RS256 => Box::new(josekit::jws::RS256.generate_key_pair(2048)?),
        Alg::EdDSA => Box::new(
            josekit::jws::EdDSA.generate_key_pair(josekit::jwk::alg::ed::EdCurve::Ed25519)?,
        ),
    };
    Ok(Generated {
        public_jwk: pair.to_jwk_public_key(),
        private_der: pair.to_der_private_key(),
    })
}

/// Creates a new key of `alg` for the realm (within the caller's
/// transaction): `active` at once, or `next` — published, not yet signing —
/// until `activate_after_ms`.
pub fn insert_key(
    conn: &mut DbConnection,
    master: &MasterKey,
    realm_id: &str,
    alg: Alg,
    activate_after_ms: Option<i64>,
) -> Result<String, Error> {
    let kid = crypto::random_token::<12>();
    let mut generated = generate(alg)?;
    generated.public_jwk.set_key_id(kid.clone());
    generated.public_jwk.set_algorithm(alg.as_str());
    generated.public_jwk.set_key_use("sig");
    let now = now_ms();
    // A rotation always stages its key, even with no stage time: the key is
    // then due at once, and `promote_due` activates it and retires the one
    // it replaces (activating it here would leave the old key active).
    let staged = activate_after_ms.is_some();
    key_rows::insert(
        conn,
        &KeyRow {
            kid: kid.clone(),
            realm_id: realm_id.to_string(),
            alg: alg.as_str().to_string(),
            status: if staged { "next" } else { "active" }.into(),
            public_jwk: generated.public_jwk.to_string(),
            private_key: master.seal(SEAL_PURPOSE, kid.as_bytes(), &generated.private_der),
            created_at_ms: now,
            activated_at_ms: (!staged).then_some(now),
            retire_after_ms: None,
            retired_at_ms: None,
            activate_after_ms: if staged { activate_after_ms } else { None },
        },
    )?;
    Ok(kid)
}

pub fn insert_active(
    conn: &mut DbConnection,
    master: &MasterKey,
    realm_id: &str,
    alg: Alg,
) -> Result<String, Error> {
    insert_key(conn, master, realm_id, alg, None)
}

/// Graceful rotation. The new key is published at once but signs only
/// after `stage_ms` — at least one JWKS cache lifetime, so relying parties
/// holding a cached JWKS already know it when the first token arrives. The
/// old key then keeps verifying for `verify_for_ms` (the longest token
/// lifetime) and retires. Returns the new key ids.
pub fn rotate(
    conn: &mut DbConnection,
    master: &MasterKey,
    realm_id: &str,
    algs: &[Alg],
    stage_ms: i64,
    verify_for_ms: i64,
    actor: &str,
) -> Result<Vec<String>, Error> {
    let now = now_ms();
    let mut kids = Vec::new();
    for alg in algs {
        key_rows::drop_pending(conn, realm_id, alg.as_str())?;
        kids.push(insert_key(
            conn,
            master,
            realm_id,
            *alg,
            Some(now + stage_ms),
        )?);
    }
    promote_due(conn, realm_id, verify_for_ms)?;
    revocation::record(conn, realm_id, EventKind::Keys, "rotate", None)?;
    crate::store::audit::insert_many(
        conn,
        &[crate::store::audit::NewAudit {
            realm_id: realm_id.to_string(),
            at_ms: now,
            actor: actor.to_string(),
            kind: "keys.rotated".into(),
            subject: kids.join(" "),
            ip: None,
            detail: serde_json::to_string(
                &serde_json::json!({ "activates_at_ms": now + stage_ms }),
            )
            .ok(),
        }],
    )?;
    Ok(kids)
}

/// Activates `next` keys whose time has come; the key each replaces moves
/// to `retiring`. Returns how many were promoted.
pub fn promote_due(
    conn: &mut DbConnection,
    realm_id: &str,
    verify_for_ms: i64,
) -> Result<usize, Error> {
    let now = now_ms();
    let due = key_rows::due_for_activation(conn, realm_id, now)?;
    for key in &due {
        key_rows::start_retiring(conn, realm_id, &key.alg, now + verify_for_ms)?;
        key_rows::activate(conn, &key.kid, now)?;
    }
    Ok(due.len())
}

/// Emergency rotation: every live key of the algorithms is retired at once
/// (it vanishes from JWKS and every token it signed is rejected on the next
/// request) and a fresh key signs immediately. Returns the retired ids.
pub fn emergency_rotate(
    conn: &mut DbConnection,
    master: &MasterKey,
    realm_id: &str,
    algs: &[Alg],
) -> Result<Vec<String>, Error> {
    let now = now_ms();
    let mut retired = Vec::new();
    for alg in algs {
        retired.extend(key_rows::retire_all(conn, realm_id, alg.as_str(), now)?);
        insert_active(conn, master, realm_id, *alg)?;
    }
    let concerns = revocation::Concerns {
        reason: Some(revocation::Reason::EmergencyRotation),
        ..Default::default()
    };
    for kid in &retired {
        revocation::record_about(conn, realm_id, EventKind::Keys, kid, None, None, &concerns)?;
    }
    Ok(retired)
}

/// Retires keys whose verification window has passed; tells running nodes.
pub fn retire_expired(conn: &mut DbConnection) -> Result<usize, Error> {
    let realms = key_rows::retire_expired(conn, now_ms())?;
    for realm_id in &realms {
        revocation::record(conn, realm_id, EventKind::Keys, "retire", None)?;
    }
    Ok(realms.len())
}

/// Decrypts a stored private key.
pub(crate) fn open_private(master: &MasterKey, row: &KeyRow) -> Result<Vec<u8>, Error> {
    Ok(master.open(SEAL_PURPOSE, row.kid.as_bytes(), &row.private_key)?)
}
