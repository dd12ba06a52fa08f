//! Roles and groups by name and path, for the command line: what the admin
//! API does by id. Taking a role or membership away runs the cascade.

use crate::crypto;
use crate::error::Error;
use crate::revocation::cascade::{Actor, Outcome, SecurityEvent};
use crate::store::groups::GroupRow;
use crate::store::realms::Realm;
use crate::store::roles::{ClientRoleRow, RoleRow};
use crate::store::users::User;
use crate::store::{self, DbConnection};
use crate::time::now_ms;

use super::realms as realm_dir;
use super::users::normalize_username;

fn user(conn: &mut DbConnection, realm: &Realm, username: &str) -> Result<User, Error> {
    let name = normalize_username(username)?;
    store::users::find_by_username(conn, &realm.id, &name)?
        .ok_or_else(|| Error::NotFound(format!("user `{name}` in realm `{}`", realm.name)))
}

/// The id of a realm role, or of a client role when `client` is given.
fn role_id(
    conn: &mut DbConnection,
    realm: &Realm,
    name: &str,
    client: Option<&str>,
) -> Result<String, Error> {
    match client {
        None => Ok(store::roles::find_by_name(conn, &realm.id, name)?
            .ok_or_else(|| Error::NotFound(format!("role `{name}` in realm `{}`", realm.name)))?
            .id),
        Some(client_id) => {
            let client = store::clients::find_by_client_id(conn, &realm.id, client_id)?
                .ok_or_else(|| Error::NotFound(format!("client `{client_id}`")))?;
            Ok(store::roles::find_client_role(conn, &client.id, name)?
                .ok_or_else(|| Error::NotFound(format!("role `{name}` of client `{client_id}`")))?
                .id)
        }
    }
}

/// The group at `/a/b/c`.
pub fn group_at(conn: &mut DbConnection, realm: &Realm, path: &str) -> Result<GroupRow, Error> {
    let all = store::groups::all(conn, &realm.id)?;
    let mut parent: Option<String> = None;
    let mut found = None;
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        let group = all
            .iter()
            .find(|g| g.name == segment && g.parent_id == parent)
            .ok_or_else(|| Error::NotFound(format!("group `{path}`")))?;
        parent = Some(group.id.clone());
        found = Some(group.clone());
    }
    found.ok_or_else(|| Error::Invalid("a group path looks like /parent/child".into()))
}

pub fn create_role(
    conn: &mut DbConnection,
    realm: &str,
    name: &str,
    client: Option<&str>,
    description: Option<String>,
) -> Result<(), Error> {
    if name.is_empty() || name.contains('/') {
        return Err(Error::Invalid(
            "a role name is not empty and has no `/`".into(),
        ));
    }
    store::write(conn, |conn| {
        let realm = realm_dir::find(conn, realm)?;
        match client {
            None => {
                if store::roles::find_by_name(conn, &realm.id, name)?.is_some() {
                    return Err(Error::Conflict(format!("role `{name}` exists")));
                }
                let role = RoleRow {
                    id: crypto::random_id(),
                    realm_id: realm.id.clone(),
                    name: name.into(),
                    description,
                    created_at_ms: now_ms(),
                };
                Ok(store::roles::insert(conn, &role)?)
            }
            Some(client_id) => {
                let client = store::clients::find_by_client_id(conn, &realm.id, client_id)?
                    .ok_or_else(|| Error::NotFound(format!("client `{client_id}`")))?;
                if store::roles::find_client_role(conn, &client.id, name)?.is_some() {
                    return Err(Error::Conflict(format!(
                        "role `{name}` of `{client_id}` exists"
                    )));
                }
                let role = ClientRoleRow {
                    id: crypto::random_id(),
                    client_id: client.id,
                    name: name.into(),
                    description,
                    created_at_ms: now_ms(),
                };
                Ok(store::roles::insert_client_role(conn, &role)?)
            }
        }
    })
}

pub fn grant_role(
    conn: &mut DbConnection,
    realm: &str,
    username: &str,
    role: &str,
    client: Option<&str>,
) -> Result<(), Error> {
    store::write(conn, |conn| {
        let realm = realm_dir::find(conn, realm)?;
        let user = user(conn, &realm, username)?;
        let id = role_id(conn, &realm, role, client)?;
        match client {
            None => store::roles::grant(conn, &user.id, &id)?,
            Some(_) => store::roles::grant_client_role(conn, &user.id, &id)?,
        }
        Ok(())
    })
}

/// Takes a role from a user, who is cut off.
pub fn revoke_role(
    conn: &mut DbConnection,
    realm: &str,
    username: &str,
    role: &str,
    client: Option<&str>,
    actor: &Actor,
) -> Result<Outcome, Error> {
    let (role, client) = (role.to_string(), client.map(str::to_string));
    crate::revocation::actions::run(conn, realm, actor, |conn, realm| {
        let user = user(conn, realm, username)?;
        let id = role_id(conn, realm, &role, client.as_deref())?;
        let removed = match client {
            None => store::roles::revoke(conn, &user.id, &id)?,
            Some(_) => store::roles::revoke_client_role(conn, &user.id, &id)?,
        };
        if !removed {
            return Err(Error::NotFound(format!(
                "`{}` does not hold `{role}`",
                user.username
            )));
        }
        Ok(SecurityEvent::RolesChanged {
            user_ids: vec![user.id],
            reason: crate::revocation::cascade::RoleChange::RolesTaken,
        })
    })
}

/// Creates the group at `path`; its parent must exist.
pub fn create_group(conn: &mut DbConnection, realm: &str, path: &str) -> Result<(), Error> {
    let trimmed = path.trim_matches('/');
    let (parent_path, name) = match trimmed.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, trimmed),
    };
    if name.is_empty() {
        return Err(Error::Invalid(
            "a group path looks like /parent/child".into(),
        ));
    }
    store::write(conn, |conn| {
        let realm = realm_dir::find(conn, realm)?;
        let parent = match parent_path {
            Some(p) => Some(group_at(conn, &realm, p)?.id),
            None => None,
        };
        if store::groups::sibling_named(conn, &realm.id, parent.as_deref(), name)? {
            return Err(Error::Conflict(format!("group `{path}` exists")));
        }
        let group = GroupRow {
            id: crypto::random_id(),
            realm_id: realm.id.clone(),
            parent_id: parent,
            name: name.into(),
            created_at_ms: now_ms(),
        };
        Ok(store::groups::insert(conn, &group)?)
    })
}

pub fn add_member(
    conn: &mut DbConnection,
    realm: &str,
    username: &str,
    path: &str,
) -> Result<(), Error> {
    store::write(conn, |conn| {
        let realm = realm_dir::find(conn, realm)?;
        let user = user(conn, &realm, username)?;
        let group = group_at(conn, &realm, path)?;
        Ok(store::groups::join(conn, &user.id, &group.id)?)
    })
}

/// Takes a user out of a group; they are cut off.
pub fn remove_member(
    conn: &mut DbConnection,
    realm: &str,
    username: &str,
    path: &str,
    actor: &Actor,
) -> Result<Outcome, Error> {
    crate::revocation::actions::run(conn, realm, actor, |conn, realm| {
        let user = user(conn, realm, username)?;
        let group = group_at(conn, realm, path)?;
        if !store::groups::leave(conn, &user.id, &group.id)? {
            return Err(Error::NotFound(format!(
                "`{}` in group `{path}`",
                user.username
            )));
        }
        Ok(SecurityEvent::RolesChanged {
            user_ids: vec![user.id],
            reason: crate::revocation::cascade::RoleChange::LeftGroup,
        })
    })
}

pub fn group_grant_role(
    conn: &mut DbConnection,
    realm: &str,
    path: &str,
    role: &str,
    client: Option<&str>,
) -> Result<(), Error> {
    store::write(conn, |conn| {
        let realm = realm_dir::find(conn, realm)?;
        let group = group_at(conn, &realm, path)?;
        let id = role_id(conn, &realm, role, client)?;
        Ok(store::groups::add_role(conn, &group.id, &id)?)
    })
}

/// Every group path of the realm, sorted.
pub fn group_paths(conn: &mut DbConnection, realm: &str) -> Result<Vec<String>, Error> {
    let realm = realm_dir::find(conn, realm)?;
    let mut paths = Vec::new();
    for g in store::groups::all(conn, &realm.id)? {
        paths.push(store::roles::group_path(conn, &g.id)?);
    }
    paths.sort();
    Ok(paths)
}
