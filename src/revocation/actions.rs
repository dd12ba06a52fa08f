//! The invalidation actions operators take — log a user out everywhere,
//! reset a password, disable a user, revoke a client's tokens, log a realm
//! out, end a session, rotate keys in an emergency. The CLI calls these
//! today and the admin API will; each runs the cascade in one transaction
//! stamped with the database clock.

use super::cascade::{self, Actor, Outcome, SecurityEvent};
use crate::crypto::MasterKey;
use crate::directory::{realms, users};
use crate::error::Error;
use crate::keys::{self, Alg};
use crate::login::password;
use crate::store::realms::Realm;
use crate::store::users::User;
use crate::store::{self, DbConnection};

fn user(conn: &mut DbConnection, realm: &Realm, username: &str) -> Result<User, Error> {
    let name = users::normalize_username(username)?;
    store::users::find_by_username(conn, &realm.id, &name)?
        .ok_or_else(|| Error::NotFound(format!("user `{name}` in realm `{}`", realm.name)))
}

/// Runs the event for a realm found by name, in one write transaction.
pub fn run(
    conn: &mut DbConnection,
    realm_name: &str,
    actor: &Actor,
    make: impl FnOnce(&mut DbConnection, &Realm) -> Result<SecurityEvent, Error>,
) -> Result<Outcome, Error> {
    store::write(conn, |conn| {
        let realm = realms::find(conn, realm_name)?;
        let event = make(conn, &realm)?;
        let now = store::meta::database_now_ms(conn)?;
        cascade::apply(conn, &realm, &event, actor, now)
    })
}

pub fn logout_user(
    conn: &mut DbConnection,
    realm: &str,
    username: &str,
    actor: &Actor,
) -> Result<Outcome, Error> {
    run(conn, realm, actor, |conn, realm| {
        Ok(SecurityEvent::UserLogoutAll {
            user_id: user(conn, realm, username)?.id,
        })
    })
}

/// An administrator sets a password: every session and token of the user dies.
pub fn set_password(
    conn: &mut DbConnection,
    realm: &str,
    username: &str,
    new_password: &str,
    actor: &Actor,
) -> Result<Outcome, Error> {
    if new_password.is_empty() {
        return Err(Error::Invalid("password must not be empty".into()));
    }
    // The policy first: a refused password costs no hashing.
    let realm_row = realms::find(conn, realm)?;
    let target = user(conn, &realm_row, username)?;
    let policy =
        crate::login::policy::PasswordPolicy::parse(&realm_row.password_policy).unwrap_or_default();
    policy
        .check(new_password, &target.username)
        .map_err(Error::Invalid)?;
    if policy.history > 0 {
        let recent = store::passwords::recent(conn, &target.id, policy.history)?;
        if recent.iter().any(|h| password::verify(new_password, h)) {
            return Err(Error::Invalid(crate::login::policy::reused_message(
                policy.history,
            )));
        }
    }
    let hash = password::hash(new_password)?;
    run(conn, realm, actor, |conn, realm| {
        let user = user(conn, realm, username)?;
        let now = store::meta::database_now_ms(conn)?;
        store::passwords::replace(conn, &user.id, &hash, now)?;
        Ok(SecurityEvent::PasswordReset { user_id: user.id })
    })
}

pub fn disable_user(
    conn: &mut DbConnection,
    realm: &str,
    username: &str,
    actor: &Actor,
) -> Result<Outcome, Error> {
    run(conn, realm, actor, |conn, realm| {
        Ok(SecurityEvent::UserDisabled {
            user_id: user(conn, realm, username)?.id,
        })
    })
}

/// Enabling takes nothing back; it only lets the user sign in again.
pub fn enable_user(conn: &mut DbConnection, realm: &str, username: &str) -> Result<(), Error> {
    store::write(conn, |conn| {
        let realm = realms::find(conn, realm)?;
        let user = user(conn, &realm, username)?;
        store::users::set_enabled(conn, &user.id, true)?;
        Ok(())
    })
}

pub fn revoke_client_tokens(
    conn: &mut DbConnection,
    realm: &str,
    client_id: &str,
    actor: &Actor,
) -> Result<Outcome, Error> {
    run(conn, realm, actor, |conn, realm| {
        let client =
            store::clients::find_by_client_id(conn, &realm.id, client_id)?.ok_or_else(|| {
                Error::NotFound(format!("client `{client_id}` in realm `{}`", realm.name))
            })?;
        Ok(SecurityEvent::ClientTokensRevoked {
            client_row_id: client.id,
            client_id: client.client_id,
        })
    })
}

pub fn logout_realm(conn: &mut DbConnection, realm: &str, actor: &Actor) -> Result<Outcome, Error> {
    run(conn, realm, actor, |_, _| Ok(SecurityEvent::RealmLogoutAll))
}

pub fn end_session(
    conn: &mut DbConnection,
    realm: &str,
    sid: &str,
    actor: &Actor,
) -> Result<Outcome, Error> {
    run(conn, realm, actor, |conn, realm| {
        let session = store::sessions::find(conn, sid)?
            .filter(|s| s.realm_id == realm.id)
            .ok_or_else(|| Error::NotFound(format!("session `{sid}` in realm `{}`", realm.name)))?;
        Ok(SecurityEvent::SessionEnded {
            sid: session.id,
            reason: "ended by an administrator".into(),
        })
    })
}

/// Emergency rotation: the realm's keys (of `alg`, or all) are retired at
/// once and fresh ones sign. Returns the retired key ids.
pub fn emergency_rotate(
    conn: &mut DbConnection,
    master: &MasterKey,
    realm: &str,
    alg: Option<Alg>,
    actor: &Actor,
) -> Result<Vec<String>, Error> {
    store::write(conn, |conn| {
        let realm = realms::find(conn, realm)?;
        store::lock_realm(conn, &realm.id)?;
        let algs = realms::algorithms(conn, &realm, alg)?;
        let retired = keys::emergency_rotate(conn, master, &realm.id, &algs)?;
        let now = store::meta::database_now_ms(conn)?;
        cascade::apply(
            conn,
            &realm,
            &SecurityEvent::EmergencyKeyRotation {
                retired: retired.clone(),
            },
            actor,
            now,
        )?;
        Ok(retired)
    })
}
