//! The `groups`, `group_roles` and `user_groups` tables.

use diesel::prelude::*;

use super::schema::{group_roles, groups, user_groups};
use super::{DbConnection, StoreError};

diesel::define_sql_function! {
    /// SQL `lower()`, for case-insensitive search on both backends.
    #[sql_name = "lower"]
    fn lower_name(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = groups)]
pub struct GroupRow {
    pub id: String,
    pub realm_id: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub created_at_ms: i64,
}

pub fn insert(conn: &mut DbConnection, group: &GroupRow) -> Result<(), StoreError> {
    diesel::insert_into(groups::table)
        .values(group)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<GroupRow>, StoreError> {
    Ok(groups::table
        .find(id)
        .select(GroupRow::as_select())
        .first(conn)
        .optional()?)
}

/// Every group of the realm (top level and below), by name.
pub fn all(conn: &mut DbConnection, realm_id: &str) -> Result<Vec<GroupRow>, StoreError> {
    Ok(groups::table
        .filter(groups::realm_id.eq(realm_id))
        .order(groups::name.asc())
        .select(GroupRow::as_select())
        .load(conn)?)
}

/// A sibling of the same name under the same parent, if any.
pub fn sibling_named(
    conn: &mut DbConnection,
    realm_id: &str,
    parent_id: Option<&str>,
    name: &str,
) -> Result<bool, StoreError> {
    let mut q = groups::table
        .filter(groups::realm_id.eq(realm_id))
        .filter(groups::name.eq(name))
        .into_boxed();
    q = match parent_id {
        Some(p) => q.filter(groups::parent_id.eq(p.to_string())),
        None => q.filter(groups::parent_id.is_null()),
    };
    Ok(q.count().get_result::<i64>(conn)? > 0)
}

/// Deletes a group; subgroups, memberships and mappings go with it.
pub fn delete(conn: &mut DbConnection, ids: &[String]) -> Result<(), StoreError> {
    diesel::delete(group_roles::table.filter(group_roles::group_id.eq_any(ids))).execute(conn)?;
    diesel::delete(user_groups::table.filter(user_groups::group_id.eq_any(ids))).execute(conn)?;
    // Children first, so the parent reference never dangles.
    for id in ids.iter().rev() {
        diesel::delete(groups::table.find(id)).execute(conn)?;
    }
    Ok(())
}

pub fn add_role(conn: &mut DbConnection, group_id: &str, role_id: &str) -> Result<(), StoreError> {
    let present: i64 = group_roles::table
        .find((group_id, role_id))
        .count()
        .get_result(conn)?;
    if present == 0 {
        diesel::insert_into(group_roles::table)
            .values((
                group_roles::group_id.eq(group_id),
                group_roles::role_id.eq(role_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn remove_role(
    conn: &mut DbConnection,
    group_id: &str,
    role_id: &str,
) -> Result<bool, StoreError> {
    Ok(diesel::delete(group_roles::table.find((group_id, role_id))).execute(conn)? > 0)
}

pub fn role_ids(conn: &mut DbConnection, group_id: &str) -> Result<Vec<String>, StoreError> {
    Ok(group_roles::table
        .filter(group_roles::group_id.eq(group_id))
        .select(group_roles::role_id)
        .load(conn)?)
}

pub fn join(conn: &mut DbConnection, user_id: &str, group_id: &str) -> Result<(), StoreError> {
    let present: i64 = user_groups::table
        .find((user_id, group_id))
        .count()
        .get_result(conn)?;
    if present == 0 {
        diesel::insert_into(user_groups::table)
            .values((
                user_groups::user_id.eq(user_id),
                user_groups::group_id.eq(group_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn leave(conn: &mut DbConnection, user_id: &str, group_id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(user_groups::table.find((user_id, group_id))).execute(conn)? > 0)
}

pub fn of_user(conn: &mut DbConnection, user_id: &str) -> Result<Vec<GroupRow>, StoreError> {
    Ok(user_groups::table
        .inner_join(groups::table)
        .filter(user_groups::user_id.eq(user_id))
        .order(groups::name.asc())
        .select(GroupRow::as_select())
        .load(conn)?)
}

/// A page of a group's direct subgroups (`None`: the top level), by name;
/// with `search`, only those whose name contains it (any case).
pub fn children(
    conn: &mut DbConnection,
    realm_id: &str,
    parent_id: Option<&str>,
    search: Option<&str>,
    (first, max): (i64, i64),
) -> Result<Vec<GroupRow>, StoreError> {
    let mut q = groups::table
        .filter(groups::realm_id.eq(realm_id))
        .into_boxed();
    q = match parent_id {
        Some(p) => q.filter(groups::parent_id.eq(p.to_string())),
        None => q.filter(groups::parent_id.is_null()),
    };
    if let Some(text) = search {
        q = q.filter(
            lower_name(groups::name)
                .like(super::users::contains(text))
                .escape('\\'),
        );
    }
    Ok(q.order(groups::name.asc())
        .offset(first)
        .limit(max)
        .select(GroupRow::as_select())
        .load(conn)?)
}

/// How many direct subgroups a group has.
pub fn child_count(conn: &mut DbConnection, group_id: &str) -> Result<i64, StoreError> {
    Ok(groups::table
        .filter(groups::parent_id.eq(group_id))
        .count()
        .get_result(conn)?)
}

/// How many groups the realm has: every one, or with `top` only those at
/// the top; with `search`, only those whose name contains it (any case).
pub fn count(
    conn: &mut DbConnection,
    realm_id: &str,
    search: Option<&str>,
    top: bool,
) -> Result<i64, StoreError> {
    let mut q = groups::table
        .filter(groups::realm_id.eq(realm_id))
        .into_boxed();
    if top {
        q = q.filter(groups::parent_id.is_null());
    }
    if let Some(text) = search {
        q = q.filter(
            lower_name(groups::name)
                .like(super::users::contains(text))
                .escape('\\'),
        );
    }
    Ok(q.count().get_result(conn)?)
}

/// A page of a group's direct members, by username.
pub fn members(
    conn: &mut DbConnection,
    group_id: &str,
    first: i64,
    max: i64,
) -> Result<Vec<super::users::User>, StoreError> {
    use super::schema::users;
    let member_ids = user_groups::table
        .filter(user_groups::group_id.eq(group_id))
        .select(user_groups::user_id);
    Ok(users::table
        .filter(users::id.eq_any(member_ids))
        .order(users::username.asc())
        .offset(first)
        .limit(max)
        .select(super::users::User::as_select())
        .load(conn)?)
}

/// How many groups a user is a direct member of.
pub fn count_of_user(conn: &mut DbConnection, user_id: &str) -> Result<i64, StoreError> {
    Ok(user_groups::table
        .filter(user_groups::user_id.eq(user_id))
        .count()
        .get_result(conn)?)
}
