//! The `users` table.

use diesel::prelude::*;

use super::schema::users;
use super::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub realm_id: String,
    pub username: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub enabled: bool,
    pub password_hash: Option<String>,
    pub not_before_ms: i64,
    pub created_at_ms: i64,
    /// Comma-separated steps due at the next sign-in (`UPDATE_PASSWORD`).
    pub required_actions: String,
    /// Consecutive failed sign-ins since the last success or lockout.
    pub failed_logins: i32,
    /// Lockouts so far (each doubles the next one's length).
    pub lockouts: i32,
    pub locked_until_ms: i64,
    pub last_failure_ms: i64,
    pub last_failure_ip: Option<String>,
    /// Whether the address in `email` is known to be the user's.
    pub email_verified: bool,
}

/// The required action an administrator's temporary password sets.
pub const UPDATE_PASSWORD: &str = "UPDATE_PASSWORD";
/// Keycloak's required action: set up an authenticator app.
pub const CONFIGURE_TOTP: &str = "CONFIGURE_TOTP";
/// Keycloak's required action: make recovery codes.
pub const CONFIGURE_RECOVERY_CODES: &str = "CONFIGURE_RECOVERY_AUTHN_CODES";

impl User {
    pub fn required_actions(&self) -> Vec<&str> {
        self.required_actions
            .split(',')
            .filter(|a| !a.is_empty())
            .collect()
    }

    pub fn must_update_password(&self) -> bool {
        self.required_actions().contains(&UPDATE_PASSWORD)
    }

    pub fn must_configure_totp(&self) -> bool {
        self.required_actions().contains(&CONFIGURE_TOTP)
    }

    /// Whether something issued at `issued_at_ms` (a session, a refresh
    /// family) outlives the user's cut-off: what was issued at or before it
    /// dies, the rule the revocation index applies to tokens.
    pub fn survives_cut_off(&self, issued_at_ms: i64) -> bool {
        issued_at_ms > self.not_before_ms
    }
}

pub fn insert(conn: &mut DbConnection, user: &User) -> Result<(), StoreError> {
    diesel::insert_into(users::table)
        .values(user)
        .execute(conn)?;
    Ok(())
}

pub fn find_by_username(
    conn: &mut DbConnection,
    realm_id: &str,
    username: &str,
) -> Result<Option<User>, StoreError> {
    Ok(users::table
        .filter(users::realm_id.eq(realm_id))
        .filter(users::username.eq(username))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<User>, StoreError> {
    Ok(users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

pub fn set_password_hash(conn: &mut DbConnection, id: &str, hash: &str) -> Result<(), StoreError> {
    diesel::update(users::table.find(id))
        .set(users::password_hash.eq(hash))
        .execute(conn)?;
    Ok(())
}

/// Moves the user's cut-off: tokens issued at or before it die.
pub fn set_not_before(
    conn: &mut DbConnection,
    id: &str,
    not_before_ms: i64,
) -> Result<(), StoreError> {
    diesel::update(users::table.find(id))
        .set(users::not_before_ms.eq(not_before_ms))
        .execute(conn)?;
    Ok(())
}

pub fn set_enabled(conn: &mut DbConnection, id: &str, enabled: bool) -> Result<(), StoreError> {
    diesel::update(users::table.find(id))
        .set(users::enabled.eq(enabled))
        .execute(conn)?;
    Ok(())
}

pub fn set_required_actions(
    conn: &mut DbConnection,
    id: &str,
    actions: &[&str],
) -> Result<(), StoreError> {
    diesel::update(users::table.find(id))
        .set(users::required_actions.eq(actions.join(",")))
        .execute(conn)?;
    Ok(())
}

/// Which users a search matches: one exact username, or a substring of
/// username, email or name.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub username: Option<String>,
    pub email: Option<String>,
    pub search: Option<String>,
    pub exact: bool,
}

diesel::define_sql_function! {
    /// SQL `lower()`, for case-insensitive search on both backends.
    #[sql_name = "lower"]
    fn lower(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

/// A `LIKE` pattern matching text that contains `text`, in lower case
/// (use with `ESCAPE '\\'`).
pub(super) fn contains(text: &str) -> String {
    escape_like(&text.to_lowercase())
}

fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

fn filtered<'a>(
    realm_id: &'a str,
    query: &'a UserQuery,
) -> users::BoxedQuery<'a, <DbConnection as diesel::Connection>::Backend> {
    let mut q = users::table
        .filter(users::realm_id.eq(realm_id))
        .into_boxed();
    if let Some(name) = &query.username {
        let name = name.to_lowercase();
        q = if query.exact {
            q.filter(users::username.eq(name))
        } else {
            q.filter(users::username.like(escape_like(&name)).escape('\\'))
        };
    }
    if let Some(email) = &query.email {
        q = if query.exact {
            q.filter(users::email.eq(email.clone()))
        } else {
            q.filter(
                lower(users::email)
                    .like(escape_like(&email.to_lowercase()))
                    .escape('\\'),
            )
        };
    }
    if let Some(text) = &query.search {
        let pattern = escape_like(&text.to_lowercase());
        q = q.filter(
            users::username
                .like(pattern.clone())
                .escape('\\')
                .or(lower(users::email).like(pattern.clone()).escape('\\'))
                .or(lower(users::first_name).like(pattern.clone()).escape('\\'))
                .or(lower(users::last_name).like(pattern).escape('\\')),
        );
    }
    q
}

pub fn search(
    conn: &mut DbConnection,
    realm_id: &str,
    query: &UserQuery,
    first: i64,
    max: i64,
) -> Result<Vec<User>, StoreError> {
    Ok(filtered(realm_id, query)
        .order(users::username.asc())
        .offset(first)
        .limit(max)
        .select(User::as_select())
        .load(conn)?)
}

pub fn count(
    conn: &mut DbConnection,
    realm_id: &str,
    query: &UserQuery,
) -> Result<i64, StoreError> {
    Ok(filtered(realm_id, query).count().get_result(conn)?)
}

/// The profile fields an administrator edits.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct ProfileChanges {
    pub email: Option<Option<String>>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub required_actions: Option<String>,
    pub email_verified: Option<bool>,
}

pub fn update_profile(
    conn: &mut DbConnection,
    id: &str,
    changes: &ProfileChanges,
) -> Result<(), StoreError> {
    if changes.email.is_none()
        && changes.first_name.is_none()
        && changes.last_name.is_none()
        && changes.required_actions.is_none()
        && changes.email_verified.is_none()
    {
        return Ok(());
    }
    diesel::update(users::table.find(id))
        .set(changes)
        .execute(conn)?;
    Ok(())
}

/// Deletes a user; their sessions, refresh families, consents and role
/// grants go with them (foreign keys cascade).
pub fn delete(conn: &mut DbConnection, id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(users::table.find(id)).execute(conn)? > 0)
}

/// Records a failed sign-in; returns the user as it now stands.
pub fn record_failure(
    conn: &mut DbConnection,
    id: &str,
    failed_logins: i32,
    lockouts: i32,
    locked_until_ms: i64,
    now_ms: i64,
    ip: Option<&str>,
) -> Result<(), StoreError> {
    diesel::update(users::table.find(id))
        .set((
            users::failed_logins.eq(failed_logins),
            users::lockouts.eq(lockouts),
            users::locked_until_ms.eq(locked_until_ms),
            users::last_failure_ms.eq(now_ms),
            users::last_failure_ip.eq(ip),
        ))
        .execute(conn)?;
    Ok(())
}

/// A successful sign-in (or an administrator) clears the failure count;
/// `all` also lifts a lockout and forgets earlier ones.
pub fn clear_failures(conn: &mut DbConnection, id: &str, all: bool) -> Result<(), StoreError> {
    if all {
        diesel::update(users::table.find(id))
            .set((
                users::failed_logins.eq(0),
                users::lockouts.eq(0),
                users::locked_until_ms.eq(0),
            ))
            .execute(conn)?;
    } else {
        diesel::update(users::table.find(id))
            .set(users::failed_logins.eq(0))
            .execute(conn)?;
    }
    Ok(())
}
