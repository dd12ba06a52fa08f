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

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};

use super::schema::{
    client_roles, clients, group_roles, groups, role_composites, user_client_roles, user_groups,
};

pub fn list(conn: &mut DbConnection, realm_id: &str) -> Result<Vec<RoleRow>, StoreError> {
    Ok(roles::table
        .filter(roles::realm_id.eq(realm_id))
        .order(roles::name.asc())
        .select(RoleRow::as_select())
        .load(conn)?)
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<RoleRow>, StoreError> {
    Ok(roles::table
        .find(id)
        .select(RoleRow::as_select())
        .first(conn)
        .optional()?)
}

/// Deletes a realm role with its mappings (users, groups, composites).
pub fn delete(conn: &mut DbConnection, id: &str) -> Result<(), StoreError> {
    forget_role_everywhere(conn, id)?;
    diesel::delete(roles::table.find(id)).execute(conn)?;
    Ok(())
}

fn forget_role_everywhere(conn: &mut DbConnection, id: &str) -> Result<(), StoreError> {
    diesel::delete(group_roles::table.filter(group_roles::role_id.eq(id))).execute(conn)?;
    diesel::delete(
        role_composites::table.filter(
            role_composites::parent_id
                .eq(id)
                .or(role_composites::child_id.eq(id)),
        ),
    )
    .execute(conn)?;
    Ok(())
}

pub fn revoke(conn: &mut DbConnection, user_id: &str, role_id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(user_roles::table.find((user_id, role_id))).execute(conn)? > 0)
}

/// Renames a realm or client role (`name`) and sets its description.
pub fn update(
    conn: &mut DbConnection,
    id: &str,
    name: &str,
    description: Option<&str>,
) -> Result<(), StoreError> {
    let realm_rows = diesel::update(roles::table.find(id))
        .set((roles::name.eq(name), roles::description.eq(description)))
        .execute(conn)?;
    if realm_rows == 0 {
        diesel::update(client_roles::table.find(id))
            .set((
                client_roles::name.eq(name),
                client_roles::description.eq(description),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The users a role is mapped to directly (not through a group or a
/// composite), a page at a time by username.
pub fn direct_holders(
    conn: &mut DbConnection,
    role_id: &str,
    first: i64,
    max: i64,
) -> Result<Vec<super::users::User>, StoreError> {
    use super::schema::users;
    let realm_holders = user_roles::table
        .filter(user_roles::role_id.eq(role_id))
        .select(user_roles::user_id);
    let client_holders = user_client_roles::table
        .filter(user_client_roles::role_id.eq(role_id))
        .select(user_client_roles::user_id);
    Ok(users::table
        .filter(
            users::id
                .eq_any(realm_holders)
                .or(users::id.eq_any(client_holders)),
        )
        .order(users::username.asc())
        .offset(first)
        .limit(max)
        .select(super::users::User::as_select())
        .load(conn)?)
}

/// A client role.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = client_roles)]
pub struct ClientRoleRow {
    pub id: String,
    /// The client's row id.
    pub client_id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at_ms: i64,
}

pub fn insert_client_role(conn: &mut DbConnection, role: &ClientRoleRow) -> Result<(), StoreError> {
    diesel::insert_into(client_roles::table)
        .values(role)
        .execute(conn)?;
    Ok(())
}

pub fn client_roles_of(
    conn: &mut DbConnection,
    client_row_id: &str,
) -> Result<Vec<ClientRoleRow>, StoreError> {
    Ok(client_roles::table
        .filter(client_roles::client_id.eq(client_row_id))
        .order(client_roles::name.asc())
        .select(ClientRoleRow::as_select())
        .load(conn)?)
}

pub fn find_client_role_by_id(
    conn: &mut DbConnection,
    id: &str,
) -> Result<Option<ClientRoleRow>, StoreError> {
    Ok(client_roles::table
        .find(id)
        .select(ClientRoleRow::as_select())
        .first(conn)
        .optional()?)
}

/// The client roles among `ids`, each with its client's public
/// `client_id`.
pub fn client_roles_among(
    conn: &mut DbConnection,
    ids: &[String],
) -> Result<Vec<(ClientRoleRow, String)>, StoreError> {
    Ok(client_roles::table
        .inner_join(clients::table)
        .filter(client_roles::id.eq_any(ids))
        .select((ClientRoleRow::as_select(), clients::client_id))
        .load(conn)?)
}

pub fn find_client_role(
    conn: &mut DbConnection,
    client_row_id: &str,
    name: &str,
) -> Result<Option<ClientRoleRow>, StoreError> {
    Ok(client_roles::table
        .filter(client_roles::client_id.eq(client_row_id))
        .filter(client_roles::name.eq(name))
        .select(ClientRoleRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn delete_client_role(conn: &mut DbConnection, id: &str) -> Result<(), StoreError> {
    forget_role_everywhere(conn, id)?;
    diesel::delete(client_roles::table.find(id)).execute(conn)?;
    Ok(())
}

pub fn grant_client_role(
    conn: &mut DbConnection,
    user_id: &str,
    role_id: &str,
) -> Result<(), StoreError> {
    let held: i64 = user_client_roles::table
        .find((user_id, role_id))
        .count()
        .get_result(conn)?;
    if held == 0 {
        diesel::insert_into(user_client_roles::table)
            .values((
                user_client_roles::user_id.eq(user_id),
                user_client_roles::role_id.eq(role_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn revoke_client_role(
    conn: &mut DbConnection,
    user_id: &str,
    role_id: &str,
) -> Result<bool, StoreError> {
    Ok(diesel::delete(user_client_roles::table.find((user_id, role_id))).execute(conn)? > 0)
}

/// The realm roles mapped to the user directly (not through groups or
/// composites).
pub fn direct_of_user(conn: &mut DbConnection, user_id: &str) -> Result<Vec<RoleRow>, StoreError> {
    Ok(user_roles::table
        .inner_join(roles::table)
        .filter(user_roles::user_id.eq(user_id))
        .select(RoleRow::as_select())
        .load(conn)?)
}

/// The client roles mapped to the user directly, each with its client's
/// public `client_id`.
pub fn direct_client_roles_of_user(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<Vec<(ClientRoleRow, String)>, StoreError> {
    use super::schema::clients;
    Ok(user_client_roles::table
        .inner_join(client_roles::table.inner_join(clients::table))
        .filter(user_client_roles::user_id.eq(user_id))
        .select((ClientRoleRow::as_select(), clients::client_id))
        .load(conn)?)
}

pub fn add_composite(
    conn: &mut DbConnection,
    parent_id: &str,
    child_id: &str,
) -> Result<(), StoreError> {
    let present: i64 = role_composites::table
        .find((parent_id, child_id))
        .count()
        .get_result(conn)?;
    if present == 0 {
        diesel::insert_into(role_composites::table)
            .values((
                role_composites::parent_id.eq(parent_id),
                role_composites::child_id.eq(child_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn remove_composite(
    conn: &mut DbConnection,
    parent_id: &str,
    child_id: &str,
) -> Result<bool, StoreError> {
    Ok(diesel::delete(role_composites::table.find((parent_id, child_id))).execute(conn)? > 0)
}

pub fn composites_of(conn: &mut DbConnection, parent_id: &str) -> Result<Vec<String>, StoreError> {
    Ok(role_composites::table
        .filter(role_composites::parent_id.eq(parent_id))
        .select(role_composites::child_id)
        .load(conn)?)
}

/// What a user holds, directly, through groups (and their ancestors) and
/// through composite roles, shaped for the token claims.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effective {
    pub realm_roles: Vec<String>,
    /// client id (`clientId`) → role names.
    pub client_roles: BTreeMap<String, Vec<String>>,
    /// Group paths (`/parent/child`).
    pub groups: Vec<String>,
}

fn ancestors(
    conn: &mut DbConnection,
    group_ids: Vec<String>,
) -> Result<Vec<(String, Option<String>, String)>, StoreError> {
    // (id, parent, name) of the groups and all their ancestors.
    let mut seen: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    let mut queue: VecDeque<String> = group_ids.into();
    while let Some(id) = queue.pop_front() {
        if !seen.insert(id.clone()) {
            continue;
        }
        if let Some((gid, parent, name)) = groups::table
            .find(&id)
            .select((groups::id, groups::parent_id, groups::name))
            .first::<(String, Option<String>, String)>(conn)
            .optional()?
        {
            if let Some(p) = &parent {
                queue.push_back(p.clone());
            }
            out.push((gid, parent, name));
        }
    }
    Ok(out)
}

/// A group's path, `/parent/child`.
pub fn group_path(conn: &mut DbConnection, group_id: &str) -> Result<String, StoreError> {
    let mut names = Vec::new();
    let mut current = Some(group_id.to_string());
    let mut guard = 0;
    while let Some(id) = current {
        guard += 1;
        if guard > 64 {
            break;
        }
        let row: Option<(Option<String>, String)> = groups::table
            .find(&id)
            .select((groups::parent_id, groups::name))
            .first(conn)
            .optional()?;
        let Some((parent, name)) = row else { break };
        names.push(name);
        current = parent;
    }
    names.reverse();
    Ok(format!("/{}", names.join("/")))
}

pub fn effective(conn: &mut DbConnection, user_id: &str) -> Result<Effective, StoreError> {
    let direct_groups: Vec<String> = user_groups::table
        .filter(user_groups::user_id.eq(user_id))
        .select(user_groups::group_id)
        .load(conn)?;
    let mut paths = Vec::new();
    for g in &direct_groups {
        paths.push(group_path(conn, g)?);
    }
    paths.sort();
    let ids: Vec<String> = held_by_user(conn, user_id, direct_groups)?
        .into_iter()
        .collect();
    let realm_roles: BTreeSet<String> = roles::table
        .filter(roles::id.eq_any(&ids))
        .select(roles::name)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let mut client_map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let pairs: Vec<(String, String)> = client_roles::table
        .inner_join(clients::table)
        .filter(client_roles::id.eq_any(&ids))
        .select((clients::client_id, client_roles::name))
        .load(conn)?;
    for (client, role) in pairs {
        client_map.entry(client).or_default().push(role);
    }
    for roles in client_map.values_mut() {
        roles.sort();
    }
    Ok(Effective {
        realm_roles: realm_roles.into_iter().collect(),
        client_roles: client_map,
        groups: paths,
    })
}

/// The ids of every role a user holds: directly, through their groups
/// (`direct_groups`, and the groups above them) and through composites.
pub fn held_by_user(
    conn: &mut DbConnection,
    user_id: &str,
    direct_groups: Vec<String>,
) -> Result<HashSet<String>, StoreError> {
    let mut pending: VecDeque<String> = user_roles::table
        .filter(user_roles::user_id.eq(user_id))
        .select(user_roles::role_id)
        .load::<String>(conn)?
        .into();
    pending.extend(
        user_client_roles::table
            .filter(user_client_roles::user_id.eq(user_id))
            .select(user_client_roles::role_id)
            .load::<String>(conn)?,
    );
    pending.extend(mapped_to_groups(conn, direct_groups)?);
    with_composites(conn, pending)
}

/// The ids of every role a group's members hold through it: the roles
/// mapped to it and to the groups above it, with what composites include.
pub fn held_by_group(
    conn: &mut DbConnection,
    group_id: &str,
) -> Result<HashSet<String>, StoreError> {
    let pending = mapped_to_groups(conn, vec![group_id.to_string()])?;
    with_composites(conn, pending.into())
}

/// The roles mapped to the groups and to every group above them.
fn mapped_to_groups(
    conn: &mut DbConnection,
    group_ids: Vec<String>,
) -> Result<Vec<String>, StoreError> {
    let all_groups: Vec<String> = ancestors(conn, group_ids)?
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    if all_groups.is_empty() {
        return Ok(Vec::new());
    }
    Ok(group_roles::table
        .filter(group_roles::group_id.eq_any(&all_groups))
        .select(group_roles::role_id)
        .load::<String>(conn)?)
}

/// `pending` and every role their composites include, transitively.
fn with_composites(
    conn: &mut DbConnection,
    mut pending: VecDeque<String>,
) -> Result<HashSet<String>, StoreError> {
    let mut held: HashSet<String> = HashSet::new();
    while let Some(role) = pending.pop_front() {
        if held.insert(role.clone()) {
            pending.extend(composites_of(conn, &role)?);
        }
    }
    Ok(held)
}

/// Every group below `group_id`, itself included.
pub fn subtree(conn: &mut DbConnection, group_id: &str) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    let mut queue = VecDeque::from([group_id.to_string()]);
    while let Some(id) = queue.pop_front() {
        if out.contains(&id) {
            continue;
        }
        queue.extend(
            groups::table
                .filter(groups::parent_id.eq(&id))
                .select(groups::id)
                .load::<String>(conn)?,
        );
        out.push(id);
    }
    Ok(out)
}

/// Users whose effective roles include `role_id`: holders, members of
/// groups (and their subgroups) that map it, and the same for every
/// composite role that contains it.
pub fn users_affected_by_role(
    conn: &mut DbConnection,
    role_id: &str,
) -> Result<Vec<String>, StoreError> {
    let mut roles_involved = vec![role_id.to_string()];
    let mut queue = VecDeque::from([role_id.to_string()]);
    while let Some(child) = queue.pop_front() {
        let parents: Vec<String> = role_composites::table
            .filter(role_composites::child_id.eq(&child))
            .select(role_composites::parent_id)
            .load(conn)?;
        for p in parents {
            if !roles_involved.contains(&p) {
                roles_involved.push(p.clone());
                queue.push_back(p);
            }
        }
    }
    let mut users: BTreeSet<String> = user_roles::table
        .filter(user_roles::role_id.eq_any(&roles_involved))
        .select(user_roles::user_id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    users.extend(
        user_client_roles::table
            .filter(user_client_roles::role_id.eq_any(&roles_involved))
            .select(user_client_roles::user_id)
            .load::<String>(conn)?,
    );
    let mapped_groups: Vec<String> = group_roles::table
        .filter(group_roles::role_id.eq_any(&roles_involved))
        .select(group_roles::group_id)
        .load(conn)?;
    for g in mapped_groups {
        users.extend(members_of_subtree(conn, &g)?);
    }
    Ok(users.into_iter().collect())
}

/// Members of a group and of every group below it.
pub fn members_of_subtree(
    conn: &mut DbConnection,
    group_id: &str,
) -> Result<Vec<String>, StoreError> {
    let tree = subtree(conn, group_id)?;
    Ok(user_groups::table
        .filter(user_groups::group_id.eq_any(&tree))
        .select(user_groups::user_id)
        .distinct()
        .load(conn)?)
}
