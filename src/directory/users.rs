//! Creating users.

use crate::crypto;
use crate::error::Error;
use crate::login::password;
use crate::store::realms::Realm;
use crate::store::users::{self as user_rows, User};
use crate::store::{self, DbConnection};
use crate::time::now_ms;

pub struct NewUser {
    pub username: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub password: Option<String>,
    /// The password is temporary: the user must choose a new one at the
    /// next sign-in.
    pub temporary: bool,
    /// Bootstrap only: the operator chose this password in the settings.
    pub skip_policy: bool,
}

/// Usernames are stored lower-case (as Keycloak does) and must be 1-255
/// printable characters without spaces.
pub fn normalize_username(username: &str) -> Result<String, Error> {
    let name = username.trim().to_lowercase();
    if name.is_empty()
        || name.len() > 255
        || name.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(Error::Invalid(
            "username must be 1-255 printable characters without spaces".into(),
        ));
    }
    Ok(name)
}

pub fn create(conn: &mut DbConnection, realm: &Realm, new: NewUser) -> Result<User, Error> {
    let username = normalize_username(&new.username)?;
    if let Some(email) = &new.email {
        if !email.contains('@') || email.len() > 320 {
            return Err(Error::Invalid(format!("email `{email}` is not an address")));
        }
    }
    let password_hash = match &new.password {
        Some(p) if p.is_empty() => return Err(Error::Invalid("password must not be empty".into())),
        Some(p) if !new.skip_policy => {
            crate::login::policy::PasswordPolicy::parse(&realm.password_policy)
                .unwrap_or_default()
                .check(p, &username)
                .map_err(Error::Invalid)?;
            Some(password::hash(p)?)
        }
        Some(p) => Some(password::hash(p)?),
        None => None,
    };
    let user = User {
        id: crypto::random_id(),
        realm_id: realm.id.clone(),
        username: username.clone(),
        email: new.email,
        first_name: new.first_name,
        last_name: new.last_name,
        enabled: true,
        password_hash,
        not_before_ms: 0,
        created_at_ms: now_ms(),
        required_actions: if new.temporary && new.password.is_some() {
            user_rows::UPDATE_PASSWORD.to_string()
        } else {
            String::new()
        },
        failed_logins: 0,
        lockouts: 0,
        locked_until_ms: 0,
        last_failure_ms: 0,
        last_failure_ip: None,
        email_verified: false,
    };
    store::write(conn, |conn| -> Result<(), Error> {
        if user_rows::find_by_username(conn, &realm.id, &username)?.is_some() {
            return Err(Error::Conflict(format!(
                "user `{username}` already exists in realm `{}`",
                realm.name
            )));
        }
        user_rows::insert(conn, &user)?;
        Ok(())
    })?;
    Ok(user)
}

/// The realm role called `name`, created when missing.
pub fn ensure_role(
    conn: &mut DbConnection,
    realm: &Realm,
    name: &str,
    description: &str,
) -> Result<store::roles::RoleRow, Error> {
    if let Some(role) = store::roles::find_by_name(conn, &realm.id, name)? {
        return Ok(role);
    }
    let role = store::roles::RoleRow {
        id: crypto::random_id(),
        realm_id: realm.id.clone(),
        name: name.to_string(),
        description: Some(description.to_string()),
        created_at_ms: now_ms(),
    };
    store::roles::insert(conn, &role)?;
    Ok(role)
}
