//! Checking a username and password: the one path the login form, the
//! password grant and the account page share, so every defence added here
//! covers all of them.

use crate::directory::{users::normalize_username, Directory, RealmState};
use crate::error::Error;
use crate::login::password;
use crate::login::password_pool::{Busy, PasswordPool};
use crate::store::{self, users::User};

/// Why a check could not be made (a wrong password is not one of these).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Busy(#[from] Busy),
    #[error(transparent)]
    Internal(#[from] Error),
}

/// Verifies the password on the hashing pool. `Ok(None)` means a wrong
/// username, a wrong password or a disabled user, which callers must not
/// tell apart. An unknown user costs the same hashing time as a known one.
pub async fn check(
    pool: &PasswordPool,
    directory: &Directory,
    realm: &RealmState,
    username: &str,
    presented: String,
) -> Result<Option<User>, CheckError> {
    let slot = pool.reserve()?;
    let realm_id = realm.realm.id.clone();
    let name = normalize_username(username).unwrap_or_default();
    let user = directory
        .store()
        .run(move |conn| store::users::find_by_username(conn, &realm_id, &name))
        .await
        .map_err(Error::Store)?;
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let matches = slot
        .run(move || match stored {
            Some(hash) => password::verify(&presented, &hash),
            None => {
                password::verify_dummy(&presented);
                false
            }
        })
        .await?;
    Ok(user.filter(|u| matches && u.enabled))
}

/// Checks the password of a known user (the account page's "current
/// password"), on the same pool.
pub async fn check_user(
    pool: &PasswordPool,
    user: &User,
    presented: String,
) -> Result<bool, CheckError> {
    let slot = pool.reserve()?;
    let stored = user.password_hash.clone();
    Ok(slot
        .run(move || {
            stored
                .as_deref()
                .is_some_and(|hash| password::verify(&presented, hash))
        })
        .await?)
}
