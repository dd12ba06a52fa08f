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
}

impl User {
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
