//! Realms: create, list, read, change and delete them; log a whole realm
//! out; how exposed it is to APIs that check only signatures; the realm
//! `master` a fresh database starts with.

use serde::Serialize;

use super::{record, take_back, Actor, Audit};
use crate::app::Latch;
use crate::directory::bootstrap::{self, MASTER_REALM};
use crate::directory::realms as realm_dir;
use crate::error::Error;
use crate::ids::RealmName;
use crate::revocation::cascade::{self, Outcome, SecurityEvent};
use crate::revocation::{self, EventKind};
use crate::store;

pub use crate::directory::realms::{is_valid_name, Realm};

/// Settings a realm may change; `None` leaves one as it is. Lifetimes are
/// positive seconds; the grace window (ms), the rotation interval and the
/// staging time (s) may be 0.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RealmSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token_lifetime_s: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token_lifetime_s: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token_lifetime_s: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offline_token_lifetime_s: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_lifetime_s: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_grace_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_rotation_interval_s: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_stage_s: Option<i64>,
    /// Keycloak's syntax: `length(8) and notUsername and passwordHistory(3)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sso_idle_s: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remember_me: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remember_me_lifetime_s: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offline_idle_s: Option<i64>,
    /// Keycloak's OTP policy: `HmacSHA1`, `HmacSHA256`, `HmacSHA512`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otp_policy_algorithm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otp_policy_digits: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otp_policy_period: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otp_policy_look_ahead: Option<i64>,
    /// `off`, `optional` or `required`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub second_factor: Option<String>,
}

impl RealmSettings {
    pub fn is_empty(&self) -> bool {
        *self == RealmSettings::default()
    }

    /// The policy in its canonical spelling (refused when it does not parse).
    fn changes(self) -> Result<realm_dir::RealmChanges, Error> {
        let password_policy = match self.password_policy {
            Some(text) => Some(
                crate::login::policy::PasswordPolicy::parse(&text)
                    .map_err(Error::Invalid)?
                    .to_string(),
            ),
            None => None,
        };
        Ok(realm_dir::RealmChanges {
            access_token_lifetime_s: self.access_token_lifetime_s,
            id_token_lifetime_s: self.id_token_lifetime_s,
            refresh_token_lifetime_s: self.refresh_token_lifetime_s,
            offline_token_lifetime_s: self.offline_token_lifetime_s,
            session_lifetime_s: self.session_lifetime_s,
            refresh_grace_ms: self.refresh_grace_ms,
            key_rotation_interval_s: self.key_rotation_interval_s,
            key_stage_s: self.key_stage_s,
            password_policy,
            sso_idle_s: self.sso_idle_s,
            remember_me: self.remember_me,
            remember_me_lifetime_s: self.remember_me_lifetime_s,
            offline_idle_s: self.offline_idle_s,
            scopes_seeded: None,
            otp_policy_algorithm: self.otp_policy_algorithm,
            otp_policy_digits: self.otp_policy_digits,
            otp_policy_period: self.otp_policy_period,
            otp_policy_look_ahead: self.otp_policy_look_ahead,
            second_factor: self.second_factor,
        })
    }
}

/// Every realm.
pub async fn list(latch: &Latch) -> Result<Vec<Realm>, Error> {
    latch
        .directory
        .store()
        .run(|conn| Ok(store::realms::list(conn)?))
        .await
}

/// The realm called `name`.
/// What a realm publishes about itself, for clients written for Keycloak
/// (its realm document at `/realms/{realm}`).
#[derive(Debug, Clone)]
pub struct PublicRealm {
    pub name: String,
    /// The RS256 signing key's public half, DER SubjectPublicKeyInfo.
    pub public_key_der: Option<Vec<u8>>,
    /// The realm's cut-off: tokens issued before it are refused.
    pub not_before_ms: i64,
}

/// The realm's public document: its name, RS256 signing key and cut-off.
pub async fn public_info(latch: &Latch, name: &RealmName) -> Result<PublicRealm, Error> {
    let state = latch.directory.realm(name.as_str()).await?;
    let key = state.keys.signing_key(crate::keys::Alg::RS256);
    Ok(PublicRealm {
        name: state.realm.name.clone(),
        public_key_der: key.map(|k| k.rsa_public_key_der()).transpose()?.flatten(),
        not_before_ms: state.realm.not_before_ms,
    })
}

pub async fn find(latch: &Latch, name: &RealmName) -> Result<Realm, Error> {
    super::read(latch, name, |_, realm| Ok(realm.clone())).await
}

/// Creates a realm with fresh signing keys, its built-in clients and
/// scopes, and `settings` applied.
pub async fn create(
    latch: &Latch,
    actor: &Actor,
    name: RealmName,
    settings: RealmSettings,
) -> Result<Realm, Error> {
    let changes = (!settings.is_empty())
        .then(|| settings.changes())
        .transpose()?;
    let (master, base, actor) = (
        latch.directory.master().clone(),
        latch.public_base.clone(),
        actor.clone(),
    );
    let realm = latch
        .directory
        .store()
        .run(move |conn| {
            store::write(conn, |conn| {
                let realm = realm_dir::create(conn, &master, name.as_str())?;
                bootstrap::ensure_builtins(conn, &master, &realm, &base)?;
                let realm = match &changes {
                    Some(changes) => realm_dir::update(conn, &realm.name, changes)?,
                    None => realm,
                };
                let audit = Audit::new("admin.realm.created", realm.name.clone());
                record(conn, &realm.id, &actor, audit)?;
                Ok::<Realm, Error>(realm)
            })
        })
        .await?;
    latch.announce().await?;
    Ok(realm)
}

/// Changes the realm's settings; running nodes pick them up at once.
pub async fn update(
    latch: &Latch,
    actor: &Actor,
    name: &RealmName,
    settings: RealmSettings,
) -> Result<Realm, Error> {
    let detail = serde_json::to_value(&settings).ok();
    let changes = settings.changes()?;
    super::change(latch, actor, name, move |conn, realm| {
        let realm = realm_dir::update(conn, &realm.name, &changes)?;
        let mut audit = Audit::new("admin.realm.updated", realm.name.clone());
        audit.detail = detail;
        Ok((realm, audit))
    })
    .await
}

/// Deletes a realm: first every token and session in it is revoked (so
/// nothing issued there keeps working anywhere), then its rows go. The
/// audit row is kept in realm `master`.
pub async fn delete(latch: &Latch, actor: &Actor, name: &RealmName) -> Result<(), Error> {
    if name.as_str() == MASTER_REALM {
        return Err(Error::Conflict("realm `master` cannot be deleted".into()));
    }
    let (name, actor) = (name.clone(), actor.clone());
    latch
        .directory
        .store()
        .run(move |conn| {
            store::write(conn, |conn| {
                let realm = realm_dir::find(conn, name.as_str())?;
                let now = store::meta::database_now_ms(conn)?;
                cascade::apply(conn, &realm, &SecurityEvent::RealmLogoutAll, &actor, now)?;
                store::realms::delete(conn, &realm.id)?;
                revocation::record(conn, &realm.id, EventKind::Realm, "deleted", None)?;
                if let Some(master) = store::realms::find_by_name(conn, MASTER_REALM)? {
                    let audit = Audit::new("admin.realm.deleted", name.as_str());
                    record(conn, &master.id, &actor, audit)?;
                }
                Ok::<(), Error>(())
            })
        })
        .await?;
    latch.announce().await?;
    Ok(())
}

/// Logs everyone in the realm out: every session ends and every token it
/// issued so far is rejected, without rotating keys.
pub async fn logout_all(latch: &Latch, actor: &Actor, name: &RealmName) -> Result<Outcome, Error> {
    take_back(latch, actor, name, |_, _| Ok(SecurityEvent::RealmLogoutAll)).await
}

/// How long a revoked token could still pass an API that checks only
/// signatures, and how many such tokens exist now.
#[derive(Debug, Clone)]
pub struct Exposure {
    pub realm: String,
    /// The access-token lifetime: the longest a revoked, unexpired access
    /// token stays valid by signature alone.
    pub window_s: i64,
    /// Unexpired access tokens with a status-list entry.
    pub unexpired: usize,
    /// Of those, the ones revoked.
    pub revoked_unexpired: usize,
    /// When the last revoked one expires (ms since the epoch), if any.
    pub ends_at_ms: Option<i64>,
}

pub async fn exposure(latch: &Latch, name: &RealmName) -> Result<Exposure, Error> {
    let now = latch.clock.now_ms();
    let (realm, slots) = super::read(latch, name, move |conn, realm| {
        Ok((
            realm.clone(),
            store::status::unexpired_in_realm(conn, &realm.id, now)?,
        ))
    })
    .await?;
    let revoked: Vec<i64> = slots
        .iter()
        .filter(|s| {
            latch
                .index
                .check(&revocation::TokenFacts {
                    realm_id: &s.realm_id,
                    jti: &s.jti,
                    sid: s.sid.as_deref(),
                    subject: &s.user_id,
                    client_id: &s.client_id,
                    issued_at_ms: s.iat_ms,
                })
                .is_err()
        })
        .map(|s| s.exp_ms)
        .collect();
    Ok(Exposure {
        realm: realm.name,
        window_s: realm.access_token_lifetime_s,
        unexpired: slots.len(),
        revoked_unexpired: revoked.len(),
        ends_at_ms: revoked.into_iter().max(),
    })
}

/// Creates realm `master` with its administrator when the database has
/// none; returns the administrator's password when it was generated (to be
/// shown once).
pub async fn ensure_master(
    latch: &Latch,
    admin_password: Option<String>,
) -> Result<Option<String>, Error> {
    let master = latch.directory.master().clone();
    let created = latch
        .directory
        .store()
        .run(move |conn| bootstrap::ensure_master(conn, &master, admin_password.as_deref()))
        .await?;
    latch.announce().await?;
    Ok(created)
}
