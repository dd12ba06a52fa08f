//! Changes to a realm's stored client scopes and mappers, in the caller's
//! transaction. Each records a configuration event, so every node reloads
//! the realm's scopes and the next token is shaped by the change.

use super::{validate_name, Config, Kind, Mapper};
use crate::crypto;
use crate::error::Error;
use crate::revocation::{self, EventKind};
use crate::store::realms::Realm;
use crate::store::scopes::{self as rows, MapperRow, ScopeRow};
use crate::store::{self, DbConnection};
use crate::time::now_ms;

/// What a caller sets on a client scope; `None` leaves a field as it is
/// (on creation: as a new scope has it).
#[derive(Debug, Clone, Default)]
pub struct ScopeFields {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Whether the scope's name appears in the token's `scope`.
    pub include_in_token_scope: Option<bool>,
    /// What the consent screen says; empty clears it.
    pub consent_text: Option<String>,
}

/// A protocol mapper as a caller gives it; on an update, `None` keeps what
/// is stored.
#[derive(Debug, Clone, Default)]
pub struct MapperFields {
    pub id: Option<String>,
    pub name: Option<String>,
    /// Keycloak's mapper type, e.g. `oidc-usermodel-attribute-mapper`.
    pub mapper_type: Option<String>,
    pub config: Option<Config>,
}

/// A stored client scope with its mappers, as they are read back.
#[derive(Debug, Clone)]
pub struct ScopeDetails {
    pub id: String,
    pub name: String,
    pub description: String,
    pub include_in_token_scope: bool,
    pub consent_text: Option<String>,
    /// What new clients of the realm get.
    pub realm_default: Option<Kind>,
    pub mappers: Vec<MapperDetails>,
}

/// A stored mapper; its configuration as stored, even one Latch no longer
/// runs.
#[derive(Debug, Clone)]
pub struct MapperDetails {
    pub id: String,
    pub name: String,
    pub mapper_type: String,
    pub config: Option<Config>,
}

impl MapperDetails {
    pub fn from_row(m: &MapperRow) -> MapperDetails {
        MapperDetails {
            id: m.id.clone(),
            name: m.name.clone(),
            mapper_type: m.mapper.clone(),
            config: serde_json::from_str(&m.config).ok(),
        }
    }
}

impl ScopeDetails {
    /// The scope `row` with those of `mappers` that belong to it.
    pub fn from_rows(row: &ScopeRow, mappers: &[MapperRow]) -> ScopeDetails {
        ScopeDetails {
            id: row.id.clone(),
            name: row.name.clone(),
            description: row.description.clone(),
            include_in_token_scope: row.include_in_token_scope,
            consent_text: row.consent_text.clone(),
            realm_default: row.realm_default.as_deref().and_then(Kind::parse),
            mappers: mappers
                .iter()
                .filter(|m| m.scope_id == row.id)
                .map(MapperDetails::from_row)
                .collect(),
        }
    }
}

/// Every client scope of the realm with its mappers.
pub fn details(conn: &mut DbConnection, realm: &Realm) -> Result<Vec<ScopeDetails>, Error> {
    let mappers = rows::mappers_of_realm(conn, &realm.id)?;
    Ok(rows::list(conn, &realm.id)?
        .iter()
        .map(|s| ScopeDetails::from_rows(s, &mappers))
        .collect())
}

pub fn find_scope(conn: &mut DbConnection, realm: &Realm, id: &str) -> Result<ScopeRow, Error> {
    rows::find(conn, &realm.id, id)?
        .ok_or_else(|| Error::NotFound(format!("client scope `{id}` in realm `{}`", realm.name)))
}

/// Checks a mapper and makes its row for `scope_id`.
pub fn new_mapper_row(scope_id: &str, fields: &MapperFields, now: i64) -> Result<MapperRow, Error> {
    let name = fields
        .name
        .clone()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty() && n.len() <= 255)
        .ok_or_else(|| Error::Invalid("a mapper needs a name of 1-255 characters".into()))?;
    let kind = fields
        .mapper_type
        .clone()
        .ok_or_else(|| Error::Invalid(format!("mapper `{name}`: protocolMapper is required")))?;
    let config = fields.config.clone().unwrap_or_default();
    let id = fields.id.clone().unwrap_or_else(crypto::random_id);
    Mapper::parse(id.clone(), name.clone(), &kind, config.clone())?;
    Ok(MapperRow {
        id,
        scope_id: scope_id.to_string(),
        name,
        mapper: kind,
        config: serde_json::to_string(&config).unwrap_or_else(|_| "{}".into()),
        created_at_ms: now,
    })
}

/// Applies the fields that are set to `row`.
fn apply(row: &mut ScopeRow, fields: &ScopeFields) -> Result<(), Error> {
    if let Some(name) = &fields.name {
        validate_name(name)?;
        row.name = name.clone();
    }
    if let Some(description) = &fields.description {
        row.description = description.chars().take(1024).collect();
    }
    if let Some(include) = fields.include_in_token_scope {
        row.include_in_token_scope = include;
    }
    if let Some(text) = &fields.consent_text {
        row.consent_text =
            Some(text.chars().take(1024).collect()).filter(|t: &String| !t.is_empty());
    }
    Ok(())
}

fn scope_changed(conn: &mut DbConnection, realm_id: &str) -> Result<(), Error> {
    revocation::record(conn, realm_id, EventKind::Realm, "scopes", None)?;
    Ok(())
}

fn refuse_taken_name(conn: &mut DbConnection, realm_id: &str, name: &str) -> Result<(), Error> {
    if rows::list(conn, realm_id)?.iter().any(|s| s.name == name) {
        return Err(Error::Conflict(format!(
            "client scope `{name}` already exists"
        )));
    }
    Ok(())
}

fn duplicate_mapper(e: store::StoreError, name: &str) -> Error {
    if e.is_unique_violation() {
        Error::Conflict(format!(
            "a mapper named `{name}` already exists in this scope"
        ))
    } else {
        Error::Store(e)
    }
}

/// Creates a client scope with its mappers.
pub fn create(
    conn: &mut DbConnection,
    realm: &Realm,
    fields: &ScopeFields,
    mappers: &[MapperFields],
) -> Result<ScopeRow, Error> {
    if fields.name.is_none() {
        return Err(Error::Invalid("a client scope needs a name".into()));
    }
    let now = now_ms();
    let mut row = ScopeRow {
        id: crypto::random_id(),
        realm_id: realm.id.clone(),
        name: String::new(),
        description: String::new(),
        include_in_token_scope: true,
        consent_text: None,
        realm_default: None,
        created_at_ms: now,
    };
    apply(&mut row, fields)?;
    refuse_taken_name(conn, &realm.id, &row.name)?;
    rows::insert(conn, &row)?;
    for (i, m) in mappers.iter().enumerate() {
        let mapper = new_mapper_row(&row.id, m, now + i as i64)?;
        rows::insert_mapper(conn, &mapper).map_err(|e| duplicate_mapper(e, &mapper.name))?;
    }
    scope_changed(conn, &realm.id)?;
    Ok(row)
}

/// A client row with its default and optional scope names.
type Listing = (store::clients::ClientRow, Vec<String>, Vec<String>);

/// Every client of the realm whose lists name `name`, with the lists.
fn clients_naming(
    conn: &mut DbConnection,
    realm_id: &str,
    name: &str,
) -> Result<Vec<Listing>, Error> {
    let mut out = Vec::new();
    for row in store::clients::list(conn, realm_id)? {
        let defaults: Vec<String> = serde_json::from_str(&row.default_scopes).unwrap_or_default();
        let optionals: Vec<String> = serde_json::from_str(&row.optional_scopes).unwrap_or_default();
        if defaults.iter().chain(&optionals).any(|n| n == name) {
            out.push((row, defaults, optionals));
        }
    }
    Ok(out)
}

/// Rewrites the clients' lists that name `old` (renamed to `new`, or
/// removed when `new` is `None`).
fn relink(
    conn: &mut DbConnection,
    realm_id: &str,
    old: &str,
    new: Option<&str>,
) -> Result<(), Error> {
    for (row, defaults, optionals) in clients_naming(conn, realm_id, old)? {
        let swap = |list: Vec<String>| -> Vec<String> {
            list.into_iter()
                .filter_map(|n| {
                    if n == old {
                        new.map(str::to_string)
                    } else {
                        Some(n)
                    }
                })
                .collect()
        };
        let json = |v: &[String]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
        let changes = store::clients::ClientChanges {
            default_scopes: Some(json(&swap(defaults))),
            optional_scopes: Some(json(&swap(optionals))),
            ..Default::default()
        };
        store::clients::update(conn, &row.id, &changes)?;
        revocation::record(conn, realm_id, EventKind::Client, &row.client_id, None)?;
    }
    Ok(())
}

/// Changes a scope's name, description or attributes; a new name follows
/// into every client that lists the scope.
pub fn update(
    conn: &mut DbConnection,
    realm: &Realm,
    id: &str,
    fields: &ScopeFields,
) -> Result<(), Error> {
    let current = find_scope(conn, realm, id)?;
    let mut row = current.clone();
    apply(&mut row, fields)?;
    if row.name != current.name {
        refuse_taken_name(conn, &realm.id, &row.name)?;
        relink(conn, &realm.id, &current.name, Some(&row.name))?;
    }
    rows::update(conn, &row)?;
    scope_changed(conn, &realm.id)
}

/// Deletes a scope and takes it off every client; returns its name.
pub fn delete(conn: &mut DbConnection, realm: &Realm, id: &str) -> Result<String, Error> {
    let row = find_scope(conn, realm, id)?;
    relink(conn, &realm.id, &row.name, None)?;
    rows::delete(conn, &row.id)?;
    scope_changed(conn, &realm.id)?;
    Ok(row.name)
}

/// Adds a mapper to a scope (under a new id).
pub fn add_mapper(
    conn: &mut DbConnection,
    realm: &Realm,
    scope_id: &str,
    fields: &MapperFields,
) -> Result<MapperRow, Error> {
    let scope = find_scope(conn, realm, scope_id)?;
    let fields = MapperFields {
        id: None,
        ..fields.clone()
    };
    let row = new_mapper_row(&scope.id, &fields, now_ms())?;
    rows::insert_mapper(conn, &row).map_err(|e| duplicate_mapper(e, &row.name))?;
    scope_changed(conn, &realm.id)?;
    Ok(row)
}

pub fn mappers_of(
    conn: &mut DbConnection,
    realm: &Realm,
    scope_id: &str,
) -> Result<Vec<MapperDetails>, Error> {
    let scope = find_scope(conn, realm, scope_id)?;
    Ok(rows::mappers_of_realm(conn, &realm.id)?
        .iter()
        .filter(|m| m.scope_id == scope.id)
        .map(MapperDetails::from_row)
        .collect())
}

fn find_mapper(
    conn: &mut DbConnection,
    realm: &Realm,
    scope_id: &str,
    id: &str,
) -> Result<MapperRow, Error> {
    rows::mappers_of_realm(conn, &realm.id)?
        .into_iter()
        .find(|m| m.scope_id == scope_id && m.id == id)
        .ok_or_else(|| Error::NotFound(format!("mapper `{id}` of client scope `{scope_id}`")))
}

/// Changes a mapper; what `fields` leaves out stays as stored.
pub fn update_mapper(
    conn: &mut DbConnection,
    realm: &Realm,
    scope_id: &str,
    id: &str,
    fields: &MapperFields,
) -> Result<(), Error> {
    let current = find_mapper(conn, realm, scope_id, id)?;
    let merged = MapperFields {
        id: Some(current.id.clone()),
        name: fields.name.clone().or(Some(current.name.clone())),
        mapper_type: fields.mapper_type.clone().or(Some(current.mapper.clone())),
        config: fields
            .config
            .clone()
            .or_else(|| serde_json::from_str(&current.config).ok()),
    };
    let row = new_mapper_row(scope_id, &merged, current.created_at_ms)?;
    rows::update_mapper(conn, &row).map_err(|e| duplicate_mapper(e, &row.name))?;
    scope_changed(conn, &realm.id)
}

pub fn delete_mapper(
    conn: &mut DbConnection,
    realm: &Realm,
    scope_id: &str,
    id: &str,
) -> Result<(), Error> {
    let mapper = find_mapper(conn, realm, scope_id, id)?;
    rows::delete_mapper(conn, scope_id, &mapper.id)?;
    scope_changed(conn, &realm.id)
}

/// Marks a scope as one new clients get as `kind` (`on`), or takes that
/// mark away.
pub fn set_realm_default(
    conn: &mut DbConnection,
    realm: &Realm,
    id: &str,
    kind: Kind,
    on: bool,
) -> Result<(), Error> {
    let mut row = find_scope(conn, realm, id)?;
    if on {
        row.realm_default = Some(kind.as_str().to_string());
    } else if row.realm_default.as_deref() == Some(kind.as_str()) {
        row.realm_default = None;
    }
    rows::update(conn, &row)?;
    scope_changed(conn, &realm.id)
}
