//! Creating realms and managing their keys.

use crate::crypto::{self, MasterKey};
use crate::error::Error;
use crate::keys::{self, Alg, REALM_DEFAULT_ALGS};
use crate::revocation::{self, EventKind};
use crate::store::realms::{self as realm_rows};
pub use crate::store::realms::{Realm, RealmChanges};
use crate::store::{self, DbConnection, StoreError};
use crate::time::now_ms;

/// Realm names appear in URLs: letters, digits, `-` and `_`, at most 64.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Creates a realm with default lifetimes and a fresh key for each default
/// algorithm, all in one transaction.
pub fn create(conn: &mut DbConnection, master: &MasterKey, name: &str) -> Result<Realm, Error> {
    if !is_valid_name(name) {
        return Err(Error::Invalid(format!(
            "realm name `{name}` must be 1-64 letters, digits, `-` or `_`"
        )));
    }
    let realm = Realm {
        id: crypto::random_id(),
        name: name.to_string(),
        enabled: true,
        access_token_lifetime_s: 300,
        id_token_lifetime_s: 300,
        refresh_token_lifetime_s: 1800,
        offline_token_lifetime_s: 30 * 24 * 3600,
        session_lifetime_s: 10 * 3600,
        refresh_grace_ms: 0,
        key_rotation_interval_s: 0,
        not_before_ms: 0,
        created_at_ms: now_ms(),
        key_stage_s: 60,
        password_policy: crate::login::policy::PasswordPolicy::default().to_string(),
        sso_idle_s: 1800,
        remember_me: false,
        remember_me_lifetime_s: 30 * 24 * 3600,
        offline_idle_s: 30 * 24 * 3600,
        scopes_seeded: false,
        otp_policy_algorithm: "HmacSHA1".into(),
        otp_policy_digits: 6,
        otp_policy_period: 30,
        otp_policy_look_ahead: 1,
        second_factor: "optional".into(),
    };
    store::write(conn, |conn| -> Result<(), Error> {
        if realm_rows::find_by_name(conn, name)?.is_some() {
            return Err(duplicate(name));
        }
        realm_rows::insert(conn, &realm).map_err(|e| unique_as_duplicate(e, name))?;
        for alg in REALM_DEFAULT_ALGS {
            keys::insert_active(conn, master, &realm.id, alg)?;
        }
        revocation::record(conn, &realm.id, EventKind::Realm, "created", None)?;
        super::scopes::seed(conn, &realm)?;
        Ok(())
    })?;
    Ok(Realm {
        scopes_seeded: true,
        ..realm
    })
}

fn duplicate(name: &str) -> Error {
    Error::Conflict(format!("realm `{name}` already exists"))
}

fn unique_as_duplicate(e: StoreError, name: &str) -> Error {
    if e.is_unique_violation() {
        duplicate(name)
    } else {
        Error::Store(e)
    }
}

pub fn find(conn: &mut DbConnection, name: &str) -> Result<Realm, Error> {
    realm_rows::find_by_name(conn, name)?.ok_or_else(|| Error::NotFound(format!("realm `{name}`")))
}

/// How long a retiring key must keep verifying: the longest lifetime of a
/// token it may have signed.
pub fn verify_window_ms(realm: &Realm) -> i64 {
    realm.access_token_lifetime_s.max(realm.id_token_lifetime_s) * 1000
}

/// Graceful rotation of the realm's keys (every algorithm it uses, or
/// one); `actor` is who the audit trail names.
pub fn rotate_keys(
    conn: &mut DbConnection,
    master: &MasterKey,
    name: &str,
    alg: Option<Alg>,
    actor: &str,
) -> Result<Vec<String>, Error> {
    store::write(conn, |conn| {
        let realm = find(conn, name)?;
        let algs = algorithms(conn, &realm, alg)?;
        keys::rotate(
            conn,
            master,
            &realm.id,
            &algs,
            realm.key_stage_s * 1000,
            verify_window_ms(&realm),
            actor,
        )
    })
}

/// The algorithms the realm signs with (or just `alg`).
pub fn algorithms(
    conn: &mut DbConnection,
    realm: &Realm,
    alg: Option<Alg>,
) -> Result<Vec<Alg>, Error> {
    if let Some(alg) = alg {
        return Ok(vec![alg]);
    }
    let mut in_use: Vec<Alg> = store::keys::live_for_realm(conn, &realm.id)?
        .iter()
        .filter_map(|k| k.alg.parse().ok())
        .collect();
    in_use.sort_by_key(|a| a.as_str());
    in_use.dedup();
    Ok(in_use)
}

/// Changes realm settings and tells running nodes. Lifetimes must be
/// positive; the grace window, rotation interval and staging time may be 0.
pub fn update(
    conn: &mut DbConnection,
    name: &str,
    changes: &realm_rows::RealmChanges,
) -> Result<Realm, Error> {
    let positive = [
        ("access token lifetime", changes.access_token_lifetime_s),
        ("ID token lifetime", changes.id_token_lifetime_s),
        ("refresh token lifetime", changes.refresh_token_lifetime_s),
        ("offline token lifetime", changes.offline_token_lifetime_s),
        ("session lifetime", changes.session_lifetime_s),
        ("SSO idle timeout", changes.sso_idle_s),
        ("remember-me lifetime", changes.remember_me_lifetime_s),
        ("offline idle timeout", changes.offline_idle_s),
    ];
    for (what, value) in positive {
        if value.is_some_and(|v| v <= 0) {
            return Err(Error::Invalid(format!("{what} must be positive")));
        }
    }
    let non_negative = [
        ("refresh grace window", changes.refresh_grace_ms),
        ("key rotation interval", changes.key_rotation_interval_s),
        ("key staging time", changes.key_stage_s),
    ];
    for (what, value) in non_negative {
        if value.is_some_and(|v| v < 0) {
            return Err(Error::Invalid(format!("{what} must not be negative")));
        }
    }
    if let Some(policy) = &changes.password_policy {
        crate::login::policy::PasswordPolicy::parse(policy).map_err(Error::Invalid)?;
    }
    if let Some(setting) = &changes.second_factor {
        crate::login::second_factor::Requirement::parse(setting).ok_or_else(|| {
            Error::Invalid("the second factor setting must be off, optional or required".into())
        })?;
    }
    store::write(conn, |conn| {
        let realm = find(conn, name)?;
        let merged = |new: &Option<i64>, old: i64| new.unwrap_or(old);
        crate::login::totp::check_policy(
            changes
                .otp_policy_algorithm
                .as_deref()
                .unwrap_or(&realm.otp_policy_algorithm),
            merged(&changes.otp_policy_digits, realm.otp_policy_digits),
            merged(&changes.otp_policy_period, realm.otp_policy_period),
            merged(&changes.otp_policy_look_ahead, realm.otp_policy_look_ahead),
        )
        .map_err(Error::Invalid)?;
        realm_rows::update(conn, &realm.id, changes)?;
        revocation::record(conn, &realm.id, EventKind::Realm, "updated", None)?;
        find(conn, name)
    })
}
