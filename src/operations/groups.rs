//! Groups: a realm's tree of groups and their members. Members hold the
//! realm roles mapped to their group and to every group above it, so leaving
//! a group or deleting one cuts its members off through the cascade.

use super::roles::{find_user, valid_name, UserRef};
use super::{change, read, record, take_back, Actor, Audit};
use crate::app::Latch;
use crate::crypto;
use crate::error::Error;
use crate::ids::RealmName;
use crate::revocation::cascade::{Outcome, RoleChange, SecurityEvent};
use crate::store::groups::GroupRow;
use crate::store::realms::Realm;
use crate::store::users::User;
use crate::store::{self, DbConnection};
use crate::time::now_ms;

/// A group, by id (the admin API) or by path (`/staff/admins`, the command
/// line).
#[derive(Debug, Clone)]
pub enum GroupRef {
    Id(String),
    Path(String),
}

/// A group with its subgroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: String,
    pub name: String,
    /// `/parent/child`.
    pub path: String,
    pub sub_groups: Vec<Group>,
    /// How many direct subgroups it has (whether `sub_groups` lists them
    /// or not).
    pub sub_group_count: i64,
    /// The roles mapped to it, when asked for: realm role names, and
    /// client id → role names.
    pub roles: Option<GroupRoles>,
}

/// The roles mapped to a group, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupRoles {
    pub realm: Vec<String>,
    pub clients: std::collections::BTreeMap<String, Vec<String>>,
}

/// A page of a group's subgroups (of the top level without `parent`).
#[derive(Debug, Clone)]
pub struct GroupPage {
    pub realm: RealmName,
    pub parent: Option<GroupRef>,
    /// Only groups whose name contains this (any case).
    pub search: Option<String>,
    /// Leave out the roles mapped to each group.
    pub brief: bool,
    pub first: i64,
    pub max: i64,
}

/// A group to create under `parent`, or at the top.
#[derive(Debug, Clone)]
pub struct NewGroup {
    pub realm: RealmName,
    pub parent: Option<GroupRef>,
    pub name: String,
}

impl NewGroup {
    /// The group at `path`, whose parent must exist.
    pub fn at_path(realm: RealmName, path: &str) -> NewGroup {
        let trimmed = path.trim_matches('/');
        let (parent, name) = match trimmed.rsplit_once('/') {
            Some((p, n)) => (Some(GroupRef::Path(p.to_string())), n),
            None => (None, trimmed),
        };
        NewGroup {
            realm,
            parent,
            name: name.to_string(),
        }
    }
}

/// A user's membership of a group.
#[derive(Debug, Clone)]
pub struct Membership {
    pub realm: RealmName,
    pub user: UserRef,
    pub group: GroupRef,
}

/// Every group of the realm, as a tree.
pub async fn tree(latch: &Latch, realm: &RealmName) -> Result<Vec<Group>, Error> {
    read(latch, realm, |conn, realm| {
        Ok(subgroups(&store::groups::all(conn, &realm.id)?, None, ""))
    })
    .await
}

/// Every group path of the realm, sorted.
pub async fn paths(latch: &Latch, realm: &RealmName) -> Result<Vec<String>, Error> {
    read(latch, realm, |conn, realm| {
        let mut paths = Vec::new();
        for g in store::groups::all(conn, &realm.id)? {
            paths.push(store::roles::group_path(conn, &g.id)?);
        }
        paths.sort();
        Ok(paths)
    })
    .await
}

/// One group with its subgroups.
pub async fn get(latch: &Latch, realm: &RealmName, group: GroupRef) -> Result<Group, Error> {
    read(latch, realm, move |conn, realm| {
        let group = find(conn, realm, &group)?;
        let path = store::roles::group_path(conn, &group.id)?;
        let all = store::groups::all(conn, &realm.id)?;
        let sub_groups = subgroups(&all, Some(&group.id), &path);
        Ok(Group {
            sub_group_count: sub_groups.len() as i64,
            sub_groups,
            id: group.id,
            name: group.name,
            path,
            roles: None,
        })
    })
    .await
}

/// The groups a user is a direct member of (without their subgroups).
pub async fn of_user(latch: &Latch, realm: &RealmName, user: UserRef) -> Result<Vec<Group>, Error> {
    read(latch, realm, move |conn, realm| {
        let user = find_user(conn, realm, &user)?;
        let mut out = Vec::new();
        for g in store::groups::of_user(conn, &user.id)? {
            let path = store::roles::group_path(conn, &g.id)?;
            out.push(Group {
                sub_group_count: store::groups::child_count(conn, &g.id)?,
                id: g.id,
                name: g.name,
                path,
                sub_groups: Vec::new(),
                roles: None,
            });
        }
        Ok(out)
    })
    .await
}

/// A page of a group's direct subgroups (or of the top-level groups), by
/// name, each with how many subgroups it has but without them.
pub async fn children(latch: &Latch, page: GroupPage) -> Result<Vec<Group>, Error> {
    read(latch, &page.realm.clone(), move |conn, realm| {
        let parent = match &page.parent {
            Some(p) => Some(find(conn, realm, p)?),
            None => None,
        };
        let rows = store::groups::children(
            conn,
            &realm.id,
            parent.as_ref().map(|p| p.id.as_str()),
            page.search.as_deref(),
            (page.first, page.max),
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for g in rows {
            let roles = match page.brief {
                true => None,
                false => Some(roles_of(conn, &g.id)?),
            };
            out.push(Group {
                path: store::roles::group_path(conn, &g.id)?,
                sub_group_count: store::groups::child_count(conn, &g.id)?,
                id: g.id,
                name: g.name,
                sub_groups: Vec::new(),
                roles,
            });
        }
        Ok(out)
    })
    .await
}

/// The roles mapped to a group itself, by name.
fn roles_of(conn: &mut DbConnection, group_id: &str) -> Result<GroupRoles, Error> {
    let ids = store::groups::role_ids(conn, group_id)?;
    let mut roles = GroupRoles::default();
    for id in &ids {
        if let Some(role) = store::roles::find(conn, id)? {
            roles.realm.push(role.name);
        }
    }
    for (role, client_id) in store::roles::client_roles_among(conn, &ids)? {
        roles.clients.entry(client_id).or_default().push(role.name);
    }
    roles.realm.sort();
    roles.clients.values_mut().for_each(|names| names.sort());
    Ok(roles)
}

/// How many groups the realm has (with `top`, only at the top level);
/// with `search`, only those whose name contains it.
pub async fn count(
    latch: &Latch,
    realm: &RealmName,
    search: Option<String>,
    top: bool,
) -> Result<i64, Error> {
    read(latch, realm, move |conn, realm| {
        Ok(store::groups::count(
            conn,
            &realm.id,
            search.as_deref(),
            top,
        )?)
    })
    .await
}

/// A page of a group's direct members, by username.
pub async fn members(
    latch: &Latch,
    realm: &RealmName,
    group: GroupRef,
    (first, max): (i64, i64),
) -> Result<Vec<User>, Error> {
    read(latch, realm, move |conn, realm| {
        let group = find(conn, realm, &group)?;
        Ok(store::groups::members(conn, &group.id, first, max)?)
    })
    .await
}

/// How many groups a user is a direct member of.
pub async fn count_of_user(latch: &Latch, realm: &RealmName, user: UserRef) -> Result<i64, Error> {
    read(latch, realm, move |conn, realm| {
        let user = find_user(conn, realm, &user)?;
        Ok(store::groups::count_of_user(conn, &user.id)?)
    })
    .await
}

/// Creates a group; its name is unique among its siblings. Returns its id.
pub async fn create(latch: &Latch, actor: &Actor, input: NewGroup) -> Result<String, Error> {
    let NewGroup {
        realm,
        parent,
        name,
    } = input;
    let name = valid_name(&name)?;
    change(latch, actor, &realm, move |conn, realm| {
        let parent = match &parent {
            Some(p) => Some(find(conn, realm, p)?.id),
            None => None,
        };
        if store::groups::sibling_named(conn, &realm.id, parent.as_deref(), &name)? {
            return Err(Error::Conflict(format!("group `{name}` exists here")));
        }
        let id = crypto::random_id();
        store::groups::insert(
            conn,
            &GroupRow {
                id: id.clone(),
                realm_id: realm.id.clone(),
                parent_id: parent,
                name,
                created_at_ms: now_ms(),
            },
        )?;
        Ok((id.clone(), Audit::new("admin.group.created", id)))
    })
    .await
}

/// Deletes a group with its subgroups; their members are cut off.
pub async fn delete(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    group: GroupRef,
) -> Result<Outcome, Error> {
    let actor_in = actor.clone();
    take_back(latch, actor, realm, move |conn, realm| {
        let group = find(conn, realm, &group)?;
        let affected = store::roles::members_of_subtree(conn, &group.id)?;
        let subtree = store::roles::subtree(conn, &group.id)?;
        store::groups::delete(conn, &subtree)?;
        record(
            conn,
            &realm.id,
            &actor_in,
            Audit::new("admin.group.deleted", group.id),
        )?;
        Ok(left_group(affected))
    })
    .await
}

/// Makes a user a member of a group.
pub async fn join(latch: &Latch, actor: &Actor, input: Membership) -> Result<(), Error> {
    change(latch, actor, &input.realm.clone(), move |conn, realm| {
        let user = find_user(conn, realm, &input.user)?;
        let group = find(conn, realm, &input.group)?;
        store::groups::join(conn, &user.id, &group.id)?;
        Ok(((), Audit::new("admin.user.group_joined", user.id)))
    })
    .await
}

/// Takes a user out of a group; they are cut off.
pub async fn leave(latch: &Latch, actor: &Actor, input: Membership) -> Result<Outcome, Error> {
    let actor_in = actor.clone();
    take_back(latch, actor, &input.realm.clone(), move |conn, realm| {
        let user = find_user(conn, realm, &input.user)?;
        let group = find(conn, realm, &input.group)?;
        if !store::groups::leave(conn, &user.id, &group.id)? {
            return Err(Error::NotFound(format!(
                "membership of `{}` in group `{}`",
                user.username, group.name
            )));
        }
        let audit = Audit::new("admin.user.group_left", user.id.clone());
        record(conn, &realm.id, &actor_in, audit)?;
        Ok(left_group(vec![user.id]))
    })
    .await
}

fn left_group(user_ids: Vec<String>) -> SecurityEvent {
    SecurityEvent::RolesChanged {
        user_ids,
        reason: RoleChange::LeftGroup,
    }
}

/// The groups under `parent` (the top when `None`), each with its own.
fn subgroups(all: &[GroupRow], parent: Option<&str>, prefix: &str) -> Vec<Group> {
    all.iter()
        .filter(|g| g.parent_id.as_deref() == parent)
        .map(|g| {
            let path = format!("{prefix}/{}", g.name);
            let sub_groups = subgroups(all, Some(&g.id), &path);
            Group {
                id: g.id.clone(),
                name: g.name.clone(),
                sub_group_count: sub_groups.len() as i64,
                sub_groups,
                path,
                roles: None,
            }
        })
        .collect()
}

pub(super) fn find(
    conn: &mut DbConnection,
    realm: &Realm,
    group: &GroupRef,
) -> Result<GroupRow, Error> {
    match group {
        GroupRef::Id(id) => store::groups::find(conn, id)?
            .filter(|g| g.realm_id == realm.id)
            .ok_or_else(|| Error::NotFound(format!("group `{id}` in realm `{}`", realm.name))),
        GroupRef::Path(path) => at_path(conn, realm, path),
    }
}

/// The group at `/a/b/c`.
fn at_path(conn: &mut DbConnection, realm: &Realm, path: &str) -> Result<GroupRow, Error> {
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
