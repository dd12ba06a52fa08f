//! The `client_scopes`, `protocol_mappers` and `user_attributes` tables.

use diesel::prelude::*;

use super::schema::{client_scopes, protocol_mappers, user_attributes};
use super::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = client_scopes)]
pub struct ScopeRow {
    pub id: String,
    pub realm_id: String,
    pub name: String,
    pub description: String,
    pub include_in_token_scope: bool,
    pub consent_text: Option<String>,
    /// `default` or `optional`: what new clients of the realm get.
    pub realm_default: Option<String>,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = protocol_mappers)]
pub struct MapperRow {
    pub id: String,
    pub scope_id: String,
    pub name: String,
    /// Keycloak's mapper type, e.g. `oidc-hardcoded-claim-mapper`.
    pub mapper: String,
    /// The mapper's configuration: a JSON object of strings.
    pub config: String,
    pub created_at_ms: i64,
}

pub fn insert(conn: &mut DbConnection, row: &ScopeRow) -> Result<(), StoreError> {
    diesel::insert_into(client_scopes::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn update(conn: &mut DbConnection, row: &ScopeRow) -> Result<(), StoreError> {
    diesel::update(client_scopes::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(client_scopes::table.find(id)).execute(conn)? > 0)
}

pub fn list(conn: &mut DbConnection, realm_id: &str) -> Result<Vec<ScopeRow>, StoreError> {
    Ok(client_scopes::table
        .filter(client_scopes::realm_id.eq(realm_id))
        .order(client_scopes::name.asc())
        .select(ScopeRow::as_select())
        .load(conn)?)
}

pub fn find(
    conn: &mut DbConnection,
    realm_id: &str,
    id: &str,
) -> Result<Option<ScopeRow>, StoreError> {
    Ok(client_scopes::table
        .filter(client_scopes::realm_id.eq(realm_id))
        .filter(client_scopes::id.eq(id))
        .select(ScopeRow::as_select())
        .first(conn)
        .optional()?)
}

/// Every mapper of the realm's scopes, oldest first.
pub fn mappers_of_realm(
    conn: &mut DbConnection,
    realm_id: &str,
) -> Result<Vec<MapperRow>, StoreError> {
    Ok(protocol_mappers::table
        .inner_join(client_scopes::table)
        .filter(client_scopes::realm_id.eq(realm_id))
        .order((
            protocol_mappers::created_at_ms.asc(),
            protocol_mappers::id.asc(),
        ))
        .select(MapperRow::as_select())
        .load(conn)?)
}

pub fn insert_mapper(conn: &mut DbConnection, row: &MapperRow) -> Result<(), StoreError> {
    diesel::insert_into(protocol_mappers::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn update_mapper(conn: &mut DbConnection, row: &MapperRow) -> Result<(), StoreError> {
    diesel::update(protocol_mappers::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

pub fn delete_mapper(
    conn: &mut DbConnection,
    scope_id: &str,
    id: &str,
) -> Result<bool, StoreError> {
    Ok(diesel::delete(
        protocol_mappers::table
            .filter(protocol_mappers::scope_id.eq(scope_id))
            .filter(protocol_mappers::id.eq(id)),
    )
    .execute(conn)?
        > 0)
}

/// A user's attributes: name → values, in the order they were given.
pub type Attributes = std::collections::BTreeMap<String, Vec<String>>;

pub fn attributes(conn: &mut DbConnection, user_id: &str) -> Result<Attributes, StoreError> {
    let rows: Vec<(String, String)> = user_attributes::table
        .filter(user_attributes::user_id.eq(user_id))
        .order((user_attributes::name.asc(), user_attributes::position.asc()))
        .select((user_attributes::name, user_attributes::value))
        .load(conn)?;
    let mut out = Attributes::new();
    for (name, value) in rows {
        out.entry(name).or_default().push(value);
    }
    Ok(out)
}

/// Replaces every attribute of the user with `attributes`.
pub fn set_attributes(
    conn: &mut DbConnection,
    user_id: &str,
    attributes: &Attributes,
) -> Result<(), StoreError> {
    diesel::delete(user_attributes::table.filter(user_attributes::user_id.eq(user_id)))
        .execute(conn)?;
    for (name, values) in attributes {
        for (position, value) in values.iter().enumerate() {
            diesel::insert_into(user_attributes::table)
                .values((
                    user_attributes::user_id.eq(user_id),
                    user_attributes::name.eq(name),
                    user_attributes::position.eq(position as i32),
                    user_attributes::value.eq(value),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}
