//! Signing keys: list them with their stage; rotate them gracefully (a new
//! key is published, then signs; the old one verifies until its tokens
//! have expired) or in an emergency (the old keys die at once, and every
//! token they signed with them).

use std::sync::mpsc;

use super::{change, read, take_back, Actor, Audit};
use crate::app::Latch;
use crate::directory::realms as realm_dir;
use crate::error::Error;
use crate::ids::RealmName;
use crate::revocation::cascade::SecurityEvent;
use crate::store;

pub use crate::keys::Alg;

/// One signing key of a realm (times in ms since the epoch).
#[derive(Debug, Clone)]
pub struct SigningKey {
    pub kid: String,
    pub alg: String,
    /// `next` (published, not signing yet), `active`, `retiring` (verifies
    /// only) or `retired`.
    pub stage: String,
    pub created_at_ms: i64,
    pub activated_at_ms: Option<i64>,
    pub activates_at_ms: Option<i64>,
    pub retires_at_ms: Option<i64>,
    pub retired_at_ms: Option<i64>,
}

impl From<store::keys::KeyRow> for SigningKey {
    fn from(k: store::keys::KeyRow) -> Self {
        SigningKey {
            kid: k.kid,
            alg: k.alg,
            stage: k.status,
            created_at_ms: k.created_at_ms,
            activated_at_ms: k.activated_at_ms,
            activates_at_ms: k.activate_after_ms,
            retires_at_ms: k.retire_after_ms,
            retired_at_ms: k.retired_at_ms,
        }
    }
}

/// The realm's keys, oldest first.
pub async fn list(latch: &Latch, realm: &RealmName) -> Result<Vec<SigningKey>, Error> {
    read(latch, realm, |conn, realm| {
        Ok(store::keys::all_for_realm(conn, &realm.id)?
            .into_iter()
            .map(SigningKey::from)
            .collect())
    })
    .await
}

/// What to rotate: one algorithm or every one in use; gracefully or at once.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rotation {
    pub alg: Option<Alg>,
    pub emergency: bool,
}

/// Rotates the realm's keys. Graceful: returns the new keys' ids.
/// Emergency: returns the retired keys' ids.
pub async fn rotate(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    rotation: Rotation,
) -> Result<Vec<String>, Error> {
    if rotation.emergency {
        return emergency(latch, actor, realm, rotation.alg).await;
    }
    let (master, by) = (latch.directory.master().clone(), actor.audit_name());
    change(latch, actor, realm, move |conn, realm| {
        let kids = realm_dir::rotate_keys(conn, &master, &realm.name, rotation.alg, &by)?;
        let audit = Audit::new("admin.keys.rotated", realm.name.clone())
            .with(serde_json::json!({ "new_keys": kids }));
        Ok((kids, audit))
    })
    .await
}

/// The realm's keys (of `alg`, or all) are retired at once and fresh ones
/// sign; the cascade rejects every token the old ones signed.
async fn emergency(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    alg: Option<Alg>,
) -> Result<Vec<String>, Error> {
    let master = latch.directory.master().clone();
    let (sender, retired) = mpsc::channel();
    take_back(latch, actor, realm, move |conn, realm| {
        // One rotation per realm at a time, whichever node runs it.
        store::lock_realm(conn, &realm.id)?;
        let algs = realm_dir::algorithms(conn, realm, alg)?;
        let kids = crate::keys::emergency_rotate(conn, &master, &realm.id, &algs)?;
        let _ = sender.send(kids.clone());
        Ok(SecurityEvent::EmergencyKeyRotation { retired: kids })
    })
    .await?;
    Ok(retired.try_recv().unwrap_or_default())
}
