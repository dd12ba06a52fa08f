//! Client scopes and their protocol mappers, a client's default and
//! optional scopes, and the scopes new clients of a realm get. Each change
//! records a configuration event, so every node shapes the tokens it issues
//! next by it; tokens already issued keep their claims until they expire.

use super::roles::ClientRef;
use super::{change, read, Actor, Audit};
use crate::app::Latch;
use crate::directory::scopes::{self as scope_dir, Kind};
use crate::directory::Client;
use crate::error::Error;
use crate::ids::{ClientRowId, RealmName};
use crate::store::realms::Realm;
use crate::store::{self, DbConnection};

pub use crate::directory::scopes::{MapperDetails, MapperFields, ScopeDetails, ScopeFields};

/// A scope in a client's or a realm's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeLink {
    pub id: String,
    pub name: String,
}

/// A client scope to create, with its mappers.
#[derive(Debug, Clone)]
pub struct NewScope {
    pub realm: RealmName,
    pub fields: ScopeFields,
    pub mappers: Vec<MapperFields>,
}

/// A change to a client scope.
#[derive(Debug, Clone)]
pub struct ScopeChange {
    pub realm: RealmName,
    pub scope_id: String,
    pub fields: ScopeFields,
}

/// A mapper to add to a scope.
#[derive(Debug, Clone)]
pub struct NewMapper {
    pub realm: RealmName,
    pub scope_id: String,
    pub fields: MapperFields,
}

/// A change to one of a scope's mappers.
#[derive(Debug, Clone)]
pub struct MapperChange {
    pub realm: RealmName,
    pub scope_id: String,
    pub mapper_id: String,
    pub fields: MapperFields,
}

/// A scope put on (`on`) or taken off a client's default or optional list.
/// A scope is on at most one of the two lists.
#[derive(Debug, Clone)]
pub struct ClientLink {
    pub realm: RealmName,
    pub client: ClientRowId,
    pub scope_id: String,
    pub kind: Kind,
    pub on: bool,
}

/// A scope marked (`on`) or unmarked as one new clients get as `kind`.
#[derive(Debug, Clone)]
pub struct RealmLink {
    pub realm: RealmName,
    pub scope_id: String,
    pub kind: Kind,
    pub on: bool,
}

// ---- scopes -----------------------------------------------------------------

pub async fn list(latch: &Latch, realm: &RealmName) -> Result<Vec<ScopeDetails>, Error> {
    read(latch, realm, scope_dir::details).await
}

pub async fn get(latch: &Latch, realm: &RealmName, id: &str) -> Result<ScopeDetails, Error> {
    let id = id.to_string();
    read(latch, realm, move |conn, realm| {
        let row = scope_dir::find_scope(conn, realm, &id)?;
        let mappers = store::scopes::mappers_of_realm(conn, &realm.id)?;
        Ok(ScopeDetails::from_rows(&row, &mappers))
    })
    .await
}

/// Creates a client scope with its mappers; returns its id.
pub async fn create(latch: &Latch, actor: &Actor, input: NewScope) -> Result<String, Error> {
    let NewScope {
        realm,
        fields,
        mappers,
    } = input;
    change(latch, actor, &realm, move |conn, realm| {
        let row = scope_dir::create(conn, realm, &fields, &mappers)?;
        Ok((row.id, Audit::new("admin.client_scope.created", row.name)))
    })
    .await
}

/// Changes a scope; a new name follows into every client that lists it.
pub async fn update(latch: &Latch, actor: &Actor, input: ScopeChange) -> Result<(), Error> {
    let ScopeChange {
        realm,
        scope_id,
        fields,
    } = input;
    change(latch, actor, &realm, move |conn, realm| {
        scope_dir::update(conn, realm, &scope_id, &fields)?;
        Ok(((), Audit::new("admin.client_scope.updated", scope_id)))
    })
    .await
}

/// Deletes a scope and takes it off every client.
pub async fn delete(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    scope_id: &str,
) -> Result<(), Error> {
    let scope_id = scope_id.to_string();
    change(latch, actor, realm, move |conn, realm| {
        let name = scope_dir::delete(conn, realm, &scope_id)?;
        Ok(((), Audit::new("admin.client_scope.deleted", name)))
    })
    .await
}

// ---- mappers ----------------------------------------------------------------

pub async fn mappers(
    latch: &Latch,
    realm: &RealmName,
    scope_id: &str,
) -> Result<Vec<MapperDetails>, Error> {
    let scope_id = scope_id.to_string();
    read(latch, realm, move |conn, realm| {
        scope_dir::mappers_of(conn, realm, &scope_id)
    })
    .await
}

/// Adds a mapper to a scope; returns its id.
pub async fn add_mapper(latch: &Latch, actor: &Actor, input: NewMapper) -> Result<String, Error> {
    let NewMapper {
        realm,
        scope_id,
        fields,
    } = input;
    change(latch, actor, &realm, move |conn, realm| {
        let row = scope_dir::add_mapper(conn, realm, &scope_id, &fields)?;
        let subject = format!("{scope_id}/{}", row.name);
        Ok((
            row.id,
            Audit::new("admin.client_scope.mapper_added", subject),
        ))
    })
    .await
}

/// Changes a mapper; what the fields leave out stays as it is.
pub async fn update_mapper(latch: &Latch, actor: &Actor, input: MapperChange) -> Result<(), Error> {
    let MapperChange {
        realm,
        scope_id,
        mapper_id,
        fields,
    } = input;
    change(latch, actor, &realm, move |conn, realm| {
        scope_dir::update_mapper(conn, realm, &scope_id, &mapper_id, &fields)?;
        let subject = format!("{scope_id}/{mapper_id}");
        Ok(((), Audit::new("admin.client_scope.mapper_updated", subject)))
    })
    .await
}

pub async fn delete_mapper(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    scope_id: &str,
    mapper_id: &str,
) -> Result<(), Error> {
    let (scope_id, mapper_id) = (scope_id.to_string(), mapper_id.to_string());
    change(latch, actor, realm, move |conn, realm| {
        scope_dir::delete_mapper(conn, realm, &scope_id, &mapper_id)?;
        let subject = format!("{scope_id}/{mapper_id}");
        Ok(((), Audit::new("admin.client_scope.mapper_deleted", subject)))
    })
    .await
}

// ---- a client's scopes, and what new clients get -------------------------------

/// A client's default or optional scopes.
pub async fn of_client(
    latch: &Latch,
    realm: &RealmName,
    client: ClientRowId,
    kind: Kind,
) -> Result<Vec<ScopeLink>, Error> {
    read(latch, realm, move |conn, realm| {
        let row = super::roles::find_client(conn, realm, &ClientRef::Row(client))?;
        let client = Client::from_row(row)?;
        let names = match kind {
            Kind::Default => client.default_scopes,
            Kind::Optional => client.optional_scopes,
        };
        links(conn, realm, &names)
    })
    .await
}

/// Puts a scope on a client's list (and off the other), or takes it off.
pub async fn link_to_client(latch: &Latch, actor: &Actor, input: ClientLink) -> Result<(), Error> {
    let ClientLink {
        realm,
        client,
        scope_id,
        kind,
        on,
    } = input;
    change(latch, actor, &realm, move |conn, realm| {
        let row = super::roles::find_client(conn, realm, &ClientRef::Row(client))?;
        let current = Client::from_row(row.clone())?;
        let name = scope_dir::find_scope(conn, realm, &scope_id)?.name;
        let (mut defaults, mut optionals) = (current.default_scopes, current.optional_scopes);
        defaults.retain(|n| *n != name);
        optionals.retain(|n| *n != name);
        if on {
            match kind {
                Kind::Default => defaults.push(name.clone()),
                Kind::Optional => optionals.push(name.clone()),
            }
        }
        scope_dir::set_client_links(
            conn,
            &realm.id,
            &row.id,
            &row.client_id,
            &defaults,
            &optionals,
        )?;
        let subject = format!("{}/{name}", row.client_id);
        Ok(((), Audit::new("admin.client.scopes_changed", subject)))
    })
    .await
}

/// The scopes new clients of the realm get as `kind`.
pub async fn of_new_clients(
    latch: &Latch,
    realm: &RealmName,
    kind: Kind,
) -> Result<Vec<ScopeLink>, Error> {
    read(latch, realm, move |conn, realm| {
        Ok(store::scopes::list(conn, &realm.id)?
            .into_iter()
            .filter(|s| s.realm_default.as_deref() == Some(kind.as_str()))
            .map(|s| ScopeLink {
                id: s.id,
                name: s.name,
            })
            .collect())
    })
    .await
}

/// Marks a scope as one new clients get, or takes the mark away.
pub async fn link_to_new_clients(
    latch: &Latch,
    actor: &Actor,
    input: RealmLink,
) -> Result<(), Error> {
    let RealmLink {
        realm,
        scope_id,
        kind,
        on,
    } = input;
    change(latch, actor, &realm, move |conn, realm| {
        scope_dir::set_realm_default(conn, realm, &scope_id, kind, on)?;
        Ok((
            (),
            Audit::new("admin.realm.default_scopes_changed", scope_id),
        ))
    })
    .await
}

/// The scopes `names` names, in that order (names no scope has are left out).
fn links(
    conn: &mut DbConnection,
    realm: &Realm,
    names: &[String],
) -> Result<Vec<ScopeLink>, Error> {
    let all = store::scopes::list(conn, &realm.id)?;
    Ok(names
        .iter()
        .filter_map(|n| all.iter().find(|s| &s.name == n))
        .map(|s| ScopeLink {
            id: s.id.clone(),
            name: s.name.clone(),
        })
        .collect())
}
