//! The `roles` and `user_roles` tables: realm roles and who holds them.

use diesel::prelude::*;

use super::schema::{roles, user_roles};
use super::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = roles)]
pub struct RoleRow {
    pub id: String,
    pub realm_id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at_ms: i64,
}

pub fn find_by_name(
    conn: &mut DbConnection,
    realm_id: &str,
    name: &str,
) -> Result<Option<RoleRow>, StoreError> {
    Ok(roles::table
        .filter(roles::realm_id.eq(realm_id))
        .filter(roles::name.eq(name))
        .select(RoleRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert(conn: &mut DbConnection, role: &RoleRow) -> Result<(), StoreError> {
    diesel::insert_into(roles::table)
        .values(role)
        .execute(conn)?;
    Ok(())
}

/// Grants a role; granting one already held changes nothing.
pub fn grant(conn: &mut DbConnection, user_id: &str, role_id: &str) -> Result<(), StoreError> {
    let held: i64 = user_roles::table
        .find((user_id, role_id))
        .count()
        .get_result(conn)?;
    if held == 0 {
        diesel::insert_into(user_roles::table)
            .values((
                user_roles::user_id.eq(user_id),
                user_roles::role_id.eq(role_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// How many users hold the role.
pub fn holders(conn: &mut DbConnection, role_id: &str) -> Result<i64, StoreError> {
    Ok(user_roles::table
        .filter(user_roles::role_id.eq(role_id))
        .count()
        .get_result(conn)?)
}

/// The names of the realm roles a user holds, sorted.
pub fn names_of_user(conn: &mut DbConnection, user_id: &str) -> Result<Vec<String>, StoreError> {
    Ok(user_roles::table
        .inner_join(roles::table)
        .filter(user_roles::user_id.eq(user_id))
        .order(roles::name.asc())
        .select(roles::name)
        .load(conn)?)
}
