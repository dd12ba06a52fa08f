//! Roles and who holds them: realm roles, client roles, composites, and the
//! realm- and client-role mappings of users and groups. Whatever takes a
//! role away from users — removing a mapping or a composite, deleting a
//! role — cuts those users off through the cascade, so no token still
//! listing the old role survives. Granting takes nothing back: the next
//! token carries the role.

use super::groups::{self, GroupRef};
use super::{change, read, take_back, Actor, Audit};
use crate::app::Latch;
use crate::crypto;
use crate::directory::bootstrap::{ADMIN_ROLE, MASTER_REALM};
use crate::error::Error;
use crate::ids::{ClientId, ClientRowId, RealmName};
use crate::revocation::cascade::{Outcome, RoleChange, SecurityEvent};
use crate::store::clients::ClientRow;
use crate::store::realms::Realm;
use crate::store::roles::{ClientRoleRow, RoleRow};
use crate::store::users::User;
use crate::store::{self, DbConnection};
use crate::time::now_ms;

/// A realm or client role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// Whether it includes other roles.
    pub composite: bool,
    pub client_role: bool,
    /// The realm's id, or the client's row id.
    pub container_id: String,
}

pub use super::users::UserRef;

pub use crate::directory::clients::ClientRef;

/// A role named in a request: by id when one is given and found, else by
/// name.
#[derive(Debug, Clone, Default)]
pub struct RoleRef {
    pub id: Option<String>,
    pub name: Option<String>,
}

impl RoleRef {
    pub fn named(name: impl Into<String>) -> RoleRef {
        RoleRef {
            id: None,
            name: Some(name.into()),
        }
    }
}

/// A role to create: a realm role, or a role of `client`.
#[derive(Debug, Clone)]
pub struct NewRole {
    pub realm: RealmName,
    pub client: Option<ClientRef>,
    pub name: String,
    pub description: Option<String>,
}

/// A role by name: a realm role, or a role of `client`.
#[derive(Debug, Clone)]
pub struct RoleName {
    pub realm: RealmName,
    pub client: Option<ClientRef>,
    pub name: String,
}

/// Realm roles a composite role includes.
#[derive(Debug, Clone)]
pub struct Composites {
    pub realm: RealmName,
    /// The composite's name.
    pub parent: String,
    pub children: Vec<RoleRef>,
}

/// What holds realm-role mappings.
#[derive(Debug, Clone)]
pub enum Holder {
    User(UserRef),
    /// A group: its members and those of its subgroups hold the roles.
    Group(GroupRef),
}

/// Roles granted to, or taken from, a holder: realm roles, or with
/// `client` the roles of that client.
#[derive(Debug, Clone)]
pub struct RoleMapping {
    pub realm: RealmName,
    pub holder: Holder,
    pub client: Option<ClientRef>,
    pub roles: Vec<RoleRef>,
}

/// A user's direct role mappings.
#[derive(Debug, Clone)]
pub struct Mappings {
    pub realm: Vec<Role>,
    /// By client, in order of the public `client_id`.
    pub clients: Vec<ClientMappings>,
}

/// The roles of one client mapped to a user.
#[derive(Debug, Clone)]
pub struct ClientMappings {
    pub client_row_id: ClientRowId,
    pub client_id: ClientId,
    pub roles: Vec<Role>,
}

// ---- reads ------------------------------------------------------------------

pub async fn realm_roles(latch: &Latch, realm: &RealmName) -> Result<Vec<Role>, Error> {
    read(latch, realm, |conn, realm| {
        let rows = store::roles::list(conn, &realm.id)?;
        rows.iter().map(|r| realm_role_of(conn, r)).collect()
    })
    .await
}

pub async fn realm_role(latch: &Latch, realm: &RealmName, name: &str) -> Result<Role, Error> {
    let name = name.to_string();
    read(latch, realm, move |conn, realm| {
        let role = find_realm_role(conn, realm, &name)?;
        realm_role_of(conn, &role)
    })
    .await
}

pub async fn client_roles(
    latch: &Latch,
    realm: &RealmName,
    client: ClientRef,
) -> Result<Vec<Role>, Error> {
    read(latch, realm, move |conn, realm| {
        let client = find_client(conn, realm, &client)?;
        Ok(store::roles::client_roles_of(conn, &client.id)?
            .iter()
            .map(client_role_of)
            .collect())
    })
    .await
}

/// The realm roles mapped to a group itself.
pub async fn group_realm_roles(
    latch: &Latch,
    realm: &RealmName,
    group: GroupRef,
) -> Result<Vec<Role>, Error> {
    read(latch, realm, move |conn, realm| {
        let group = groups::find(conn, realm, &group)?;
        let mut out = Vec::new();
        for role_id in store::groups::role_ids(conn, &group.id)? {
            if let Some(role) = store::roles::find(conn, &role_id)? {
                out.push(realm_role_of(conn, &role)?);
            }
        }
        Ok(out)
    })
    .await
}

/// The roles mapped to a user directly (not through groups or composites).
pub async fn user_mappings(
    latch: &Latch,
    realm: &RealmName,
    user: UserRef,
) -> Result<Mappings, Error> {
    super::mappings::all(latch, realm, Holder::User(user)).await
}

// ---- roles ------------------------------------------------------------------

/// Creates a realm role, or a client role.
pub async fn create(latch: &Latch, actor: &Actor, input: NewRole) -> Result<Role, Error> {
    let name = valid_name(&input.name)?;
    let description = input.description;
    let kind = match input.client {
        None => "admin.role.created",
        Some(_) => "admin.client_role.created",
    };
    let client = input.client;
    change(latch, actor, &input.realm, move |conn, realm| {
        let role = match &client {
            None => insert_realm_role(conn, realm, name, description)?,
            Some(client) => {
                let client = find_client(conn, realm, client)?;
                insert_client_role(conn, &client, name, description)?
            }
        };
        let audit = Audit::new(kind, role.name.clone());
        Ok((role, audit))
    })
    .await
}

fn insert_realm_role(
    conn: &mut DbConnection,
    realm: &Realm,
    name: String,
    description: Option<String>,
) -> Result<Role, Error> {
    if store::roles::find_by_name(conn, &realm.id, &name)?.is_some() {
        return Err(Error::Conflict(format!("role `{name}` exists")));
    }
    let row = RoleRow {
        id: crypto::random_id(),
        realm_id: realm.id.clone(),
        name,
        description,
        created_at_ms: now_ms(),
    };
    store::roles::insert(conn, &row)?;
    realm_role_of(conn, &row)
}

fn insert_client_role(
    conn: &mut DbConnection,
    client: &ClientRow,
    name: String,
    description: Option<String>,
) -> Result<Role, Error> {
    if store::roles::find_client_role(conn, &client.id, &name)?.is_some() {
        return Err(Error::Conflict(format!("client role `{name}` exists")));
    }
    let row = ClientRoleRow {
        id: crypto::random_id(),
        client_id: client.id.clone(),
        name,
        description,
        created_at_ms: now_ms(),
    };
    store::roles::insert_client_role(conn, &row)?;
    Ok(client_role_of(&row))
}

/// Deletes a role; whoever held it, directly, through a group or through a
/// composite, is cut off. The `admin` role of realm `master` stays: without
/// it nobody could administer Latch.
pub async fn delete(latch: &Latch, actor: &Actor, input: RoleName) -> Result<Outcome, Error> {
    let RoleName {
        realm,
        client,
        name,
    } = input;
    if client.is_none() && realm.as_str() == MASTER_REALM && name == ADMIN_ROLE {
        return Err(Error::Conflict(
            "the `admin` role of realm `master` cannot be deleted".into(),
        ));
    }
    let actor_in = actor.clone();
    take_back(latch, actor, &realm, move |conn, realm| {
        let (role_id, kind) = match &client {
            None => (
                find_realm_role(conn, realm, &name)?.id,
                "admin.role.deleted",
            ),
            Some(client) => {
                let client = find_client(conn, realm, client)?;
                let role = store::roles::find_client_role(conn, &client.id, &name)?
                    .ok_or_else(|| Error::NotFound(format!("client role `{name}`")))?;
                (role.id, "admin.client_role.deleted")
            }
        };
        let affected = store::roles::users_affected_by_role(conn, &role_id)?;
        match client {
            None => store::roles::delete(conn, &role_id)?,
            Some(_) => store::roles::delete_client_role(conn, &role_id)?,
        }
        super::record(conn, &realm.id, &actor_in, Audit::new(kind, name))?;
        Ok(roles_taken(affected))
    })
    .await
}

/// Makes a realm role include others (a role never includes itself).
pub async fn add_composites(latch: &Latch, actor: &Actor, input: Composites) -> Result<(), Error> {
    let Composites {
        realm,
        parent,
        children,
    } = input;
    change(latch, actor, &realm, move |conn, realm| {
        let composite = find_realm_role(conn, realm, &parent)?;
        for child in &children {
            let child = resolve_realm_role(conn, realm, child)?;
            if child.id != composite.id {
                store::roles::add_composite(conn, &composite.id, &child.id)?;
            }
        }
        Ok(((), Audit::new("admin.role.composites_added", parent)))
    })
    .await
}

/// Takes roles out of a composite; whoever held the composite is cut off.
pub async fn remove_composites(
    latch: &Latch,
    actor: &Actor,
    input: Composites,
) -> Result<Outcome, Error> {
    let Composites {
        realm,
        parent,
        children,
    } = input;
    let actor_in = actor.clone();
    take_back(latch, actor, &realm, move |conn, realm| {
        let composite = find_realm_role(conn, realm, &parent)?;
        let affected = store::roles::users_affected_by_role(conn, &composite.id)?;
        for child in &children {
            let child = resolve_realm_role(conn, realm, child)?;
            store::roles::remove_composite(conn, &composite.id, &child.id)?;
        }
        let audit = Audit::new("admin.role.composites_removed", parent);
        super::record(conn, &realm.id, &actor_in, audit)?;
        Ok(roles_taken(affected))
    })
    .await
}

// ---- by id, renaming, holders ------------------------------------------------

/// A role named by its id (Keycloak's `roles-by-id`), or by name: a realm
/// role, or a role of `client`.
#[derive(Debug, Clone)]
pub enum RoleTarget {
    Id(String),
    Named {
        client: Option<ClientRef>,
        name: String,
    },
}

/// A role's new name and description; `None` keeps the name.
#[derive(Debug, Clone)]
pub struct RoleUpdate {
    pub realm: RealmName,
    pub target: RoleTarget,
    pub name: Option<String>,
    pub description: Option<String>,
}

/// One role, realm's or client's.
pub async fn role(latch: &Latch, realm: &RealmName, target: RoleTarget) -> Result<Role, Error> {
    read(latch, realm, move |conn, realm| {
        Ok(resolve_target(conn, realm, &target)?.role)
    })
    .await
}

/// Renames a role or changes its description. A new name changes what
/// tokens say, so whoever held the role is cut off, as when it is taken
/// away; the `admin` role of realm `master` keeps its name.
pub async fn update(latch: &Latch, actor: &Actor, input: RoleUpdate) -> Result<Outcome, Error> {
    let RoleUpdate {
        realm,
        target,
        name,
        description,
    } = input;
    let name = name.map(|n| valid_name(&n)).transpose()?;
    let current = role(latch, &realm, target.clone()).await?;
    let renamed = name.filter(|n| *n != current.name);
    if renamed.is_some() && is_master_admin(&realm, &current) {
        return Err(Error::Conflict(
            "the `admin` role of realm `master` cannot be renamed".into(),
        ));
    }
    let new_name = renamed.clone().unwrap_or(current.name.clone());
    let write = move |conn: &mut DbConnection, realm: &Realm| -> Result<Audit, Error> {
        let found = resolve_target(conn, realm, &target)?;
        if found.role.name != new_name && found.sibling(conn, &new_name)? {
            return Err(Error::Conflict(format!("role `{new_name}` exists")));
        }
        store::roles::update(conn, &found.role.id, &new_name, description.as_deref())?;
        Ok(Audit::new("admin.role.updated", found.role.id))
    };
    if renamed.is_none() {
        change(latch, actor, &realm, move |conn, realm| {
            Ok(((), write(conn, realm)?))
        })
        .await?;
        return Ok(Outcome::default());
    }
    let actor_in = actor.clone();
    take_back(latch, actor, &realm, move |conn, realm| {
        let audit = write(conn, realm)?;
        let affected = store::roles::users_affected_by_role(conn, &audit.subject)?;
        super::record(conn, &realm.id, &actor_in, audit)?;
        Ok(roles_taken(affected))
    })
    .await
}

/// Deletes the role with id `id` (see [`delete`]).
pub async fn delete_by_id(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    id: String,
) -> Result<Outcome, Error> {
    let role = role(latch, realm, RoleTarget::Id(id)).await?;
    let client = role
        .client_role
        .then(|| ClientRef::Row(ClientRowId(role.container_id.clone())));
    let input = RoleName {
        realm: realm.clone(),
        client,
        name: role.name,
    };
    delete(latch, actor, input).await
}

/// A page of the users the role is mapped to directly (not through a group
/// or a composite), as Keycloak lists a role's users.
pub async fn holders(
    latch: &Latch,
    realm: &RealmName,
    target: RoleTarget,
    (first, max): (i64, i64),
) -> Result<Vec<User>, Error> {
    read(latch, realm, move |conn, realm| {
        let found = resolve_target(conn, realm, &target)?;
        Ok(store::roles::direct_holders(
            conn,
            &found.role.id,
            first,
            max,
        )?)
    })
    .await
}

fn is_master_admin(realm: &RealmName, role: &Role) -> bool {
    !role.client_role && realm.as_str() == MASTER_REALM && role.name == ADMIN_ROLE
}

/// A role found in the realm, with the client it belongs to.
struct Found {
    role: Role,
    client_row_id: Option<String>,
}

impl Found {
    /// Whether another role of the same realm or client is called `name`.
    fn sibling(&self, conn: &mut DbConnection, name: &str) -> Result<bool, Error> {
        Ok(match &self.client_row_id {
            Some(client) => store::roles::find_client_role(conn, client, name)?.is_some(),
            None => store::roles::find_by_name(conn, &self.role.container_id, name)?.is_some(),
        })
    }
}

fn resolve_target(
    conn: &mut DbConnection,
    realm: &Realm,
    target: &RoleTarget,
) -> Result<Found, Error> {
    let missing = |what: &str| Error::NotFound(format!("role `{what}` in realm `{}`", realm.name));
    match target {
        RoleTarget::Named { client: None, name } => {
            let row = find_realm_role(conn, realm, name)?;
            Ok(Found {
                role: realm_role_of(conn, &row)?,
                client_row_id: None,
            })
        }
        RoleTarget::Named {
            client: Some(client),
            name,
        } => {
            let client = find_client(conn, realm, client)?;
            let row = store::roles::find_client_role(conn, &client.id, name)?
                .ok_or_else(|| Error::NotFound(format!("client role `{name}`")))?;
            Ok(Found {
                role: client_role_of(&row),
                client_row_id: Some(client.id),
            })
        }
        RoleTarget::Id(id) => {
            if let Some(row) = store::roles::find(conn, id)?.filter(|r| r.realm_id == realm.id) {
                return Ok(Found {
                    role: realm_role_of(conn, &row)?,
                    client_row_id: None,
                });
            }
            let row = store::roles::find_client_role_by_id(conn, id)?.ok_or_else(|| missing(id))?;
            // The client must be one of this realm's.
            let client = ClientRef::Row(ClientRowId(row.client_id.clone()));
            find_client(conn, realm, &client).map_err(|_| missing(id))?;
            Ok(Found {
                role: client_role_of(&row),
                client_row_id: Some(row.client_id),
            })
        }
    }
}

// ---- mappings ---------------------------------------------------------------

/// Grants roles to a user or a group.
pub async fn grant_roles(latch: &Latch, actor: &Actor, input: RoleMapping) -> Result<(), Error> {
    let RoleMapping {
        realm,
        holder,
        client,
        roles,
    } = input;
    grant(latch, actor, &realm, holder, client, roles).await
}

/// Takes roles from a user or a group; whoever held them through it — the
/// user, or every member of the group and of its subgroups — is cut off.
pub async fn take_roles(
    latch: &Latch,
    actor: &Actor,
    input: RoleMapping,
) -> Result<Outcome, Error> {
    let RoleMapping {
        realm,
        holder,
        client,
        roles,
    } = input;
    take(latch, actor, &realm, holder, client, roles).await
}

async fn grant(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    holder: Holder,
    client: Option<ClientRef>,
    roles: Vec<RoleRef>,
) -> Result<(), Error> {
    change(latch, actor, realm, move |conn, realm| {
        let (holder_id, kind) = holder_of(conn, realm, &holder, true)?;
        for role_id in role_ids(conn, realm, client.as_ref(), &roles)? {
            match (&holder, &client) {
                (Holder::User(_), None) => store::roles::grant(conn, &holder_id, &role_id)?,
                (Holder::User(_), Some(_)) => {
                    store::roles::grant_client_role(conn, &holder_id, &role_id)?
                }
                (Holder::Group(_), _) => store::groups::add_role(conn, &holder_id, &role_id)?,
            }
        }
        Ok(((), Audit::new(kind, holder_id)))
    })
    .await
}

async fn take(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    holder: Holder,
    client: Option<ClientRef>,
    roles: Vec<RoleRef>,
) -> Result<Outcome, Error> {
    let actor_in = actor.clone();
    take_back(latch, actor, realm, move |conn, realm| {
        let (holder_id, kind) = holder_of(conn, realm, &holder, false)?;
        for role_id in role_ids(conn, realm, client.as_ref(), &roles)? {
            match (&holder, &client) {
                (Holder::User(_), None) => store::roles::revoke(conn, &holder_id, &role_id)?,
                (Holder::User(_), Some(_)) => {
                    store::roles::revoke_client_role(conn, &holder_id, &role_id)?
                }
                (Holder::Group(_), _) => store::groups::remove_role(conn, &holder_id, &role_id)?,
            };
        }
        let affected = match holder {
            Holder::User(_) => vec![holder_id.clone()],
            Holder::Group(_) => store::roles::members_of_subtree(conn, &holder_id)?,
        };
        super::record(conn, &realm.id, &actor_in, Audit::new(kind, holder_id))?;
        Ok(roles_taken(affected))
    })
    .await
}

/// The holder's id, and the audit kind of granting (`grant`) or taking.
fn holder_of(
    conn: &mut DbConnection,
    realm: &Realm,
    holder: &Holder,
    grant: bool,
) -> Result<(String, &'static str), Error> {
    Ok(match (holder, grant) {
        (Holder::User(user), true) => (find_user(conn, realm, user)?.id, "admin.user.roles_added"),
        (Holder::User(user), false) => {
            (find_user(conn, realm, user)?.id, "admin.user.roles_removed")
        }
        (Holder::Group(group), true) => (
            groups::find(conn, realm, group)?.id,
            "admin.group.roles_added",
        ),
        (Holder::Group(group), false) => (
            groups::find(conn, realm, group)?.id,
            "admin.group.roles_removed",
        ),
    })
}

/// The ids of the roles a mapping names: realm roles, or roles of `client`.
fn role_ids(
    conn: &mut DbConnection,
    realm: &Realm,
    client: Option<&ClientRef>,
    roles: &[RoleRef],
) -> Result<Vec<String>, Error> {
    let Some(client) = client else {
        return roles
            .iter()
            .map(|role| Ok(resolve_realm_role(conn, realm, role)?.id))
            .collect();
    };
    let client = find_client(conn, realm, client)?;
    roles
        .iter()
        .map(|role| Ok(resolve_client_role(conn, &client.id, role)?.id))
        .collect()
}

// ---- lookups ----------------------------------------------------------------

fn roles_taken(user_ids: Vec<String>) -> SecurityEvent {
    SecurityEvent::RolesChanged {
        user_ids,
        reason: RoleChange::RolesTaken,
    }
}

/// A role or group name: 1-255 characters, without `/` (group paths use
/// it) or NUL.
pub(super) fn valid_name(name: &str) -> Result<String, Error> {
    let name = name.trim();
    if name.is_empty() || name.len() > 255 || name.contains(['/', '\0']) {
        return Err(Error::Invalid(
            "a name is 1-255 characters without `/`".into(),
        ));
    }
    Ok(name.to_string())
}

pub(super) fn realm_role_of(conn: &mut DbConnection, r: &RoleRow) -> Result<Role, Error> {
    Ok(Role {
        id: r.id.clone(),
        name: r.name.clone(),
        description: r.description.clone(),
        composite: !store::roles::composites_of(conn, &r.id)?.is_empty(),
        client_role: false,
        container_id: r.realm_id.clone(),
    })
}

pub(super) fn client_role_of(r: &ClientRoleRow) -> Role {
    Role {
        id: r.id.clone(),
        name: r.name.clone(),
        description: r.description.clone(),
        composite: false,
        client_role: true,
        container_id: r.client_id.clone(),
    }
}

pub(super) fn find_user(
    conn: &mut DbConnection,
    realm: &Realm,
    user: &UserRef,
) -> Result<User, Error> {
    super::users::find(conn, realm, user)
}

pub(super) fn find_client(
    conn: &mut DbConnection,
    realm: &Realm,
    client: &ClientRef,
) -> Result<ClientRow, Error> {
    crate::directory::clients::find_row(conn, realm, client)
}

fn find_realm_role(conn: &mut DbConnection, realm: &Realm, name: &str) -> Result<RoleRow, Error> {
    store::roles::find_by_name(conn, &realm.id, name)?
        .ok_or_else(|| Error::NotFound(format!("role `{name}` in realm `{}`", realm.name)))
}

/// The realm role a reference names (by id, else by name).
fn resolve_realm_role(
    conn: &mut DbConnection,
    realm: &Realm,
    role: &RoleRef,
) -> Result<RoleRow, Error> {
    if let Some(id) = &role.id {
        if let Some(found) = store::roles::find(conn, id)?.filter(|r| r.realm_id == realm.id) {
            return Ok(found);
        }
    }
    find_realm_role(conn, realm, role.name.as_deref().unwrap_or(""))
}

/// The client role a reference names (by id, else by name).
fn resolve_client_role(
    conn: &mut DbConnection,
    client_row_id: &str,
    role: &RoleRef,
) -> Result<ClientRoleRow, Error> {
    let name = role.name.as_deref().unwrap_or("");
    let by_name = store::roles::find_client_role(conn, client_row_id, name)?;
    let by_id = match &role.id {
        Some(id) => store::roles::client_roles_of(conn, client_row_id)?
            .into_iter()
            .find(|r| &r.id == id),
        None => None,
    };
    by_id
        .or(by_name)
        .ok_or_else(|| Error::NotFound(format!("client role `{name}`")))
}
