//! The `clients` table. List-valued columns hold JSON arrays of strings.

use diesel::prelude::*;

use super::schema::clients;
use super::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = clients)]
pub struct ClientRow {
    pub id: String,
    pub realm_id: String,
    pub client_id: String,
    pub secret_hash: Option<String>,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub grant_types: String,
    pub backchannel_logout_uri: Option<String>,
    pub consent_required: bool,
    pub default_audience: Option<String>,
    pub id_token_alg: String,
    pub enabled: bool,
    pub not_before_ms: i64,
    pub created_at_ms: i64,
    pub introspect_any: bool,
    pub backchannel_logout_session_required: bool,
    pub frontchannel_logout_uri: Option<String>,
    pub previous_secret_hash: Option<String>,
    pub previous_secret_until_ms: i64,
    pub rate_limit_per_s: Option<i32>,
    pub web_origins: String,
    /// Client scope names applied to every token (JSON array).
    pub default_scopes: String,
    /// Client scope names applied when requested (JSON array).
    pub optional_scopes: String,
    /// What people see, e.g. on the consent page (else the client id).
    pub name: Option<String>,
    pub description: Option<String>,
}

pub fn insert(conn: &mut DbConnection, client: &ClientRow) -> Result<(), StoreError> {
    diesel::insert_into(clients::table)
        .values(client)
        .execute(conn)?;
    Ok(())
}

pub fn find_by_client_id(
    conn: &mut DbConnection,
    realm_id: &str,
    client_id: &str,
) -> Result<Option<ClientRow>, StoreError> {
    Ok(clients::table
        .filter(clients::realm_id.eq(realm_id))
        .filter(clients::client_id.eq(client_id))
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?)
}

/// Each enabled client of the realm with the algorithm it asks for its ID
/// tokens, by client id.
pub fn id_token_algs(
    conn: &mut DbConnection,
    realm_id: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    Ok(clients::table
        .filter(clients::realm_id.eq(realm_id))
        .filter(clients::enabled.eq(true))
        .order(clients::client_id.asc())
        .select((clients::client_id, clients::id_token_alg))
        .load(conn)?)
}

pub fn list(conn: &mut DbConnection, realm_id: &str) -> Result<Vec<ClientRow>, StoreError> {
    Ok(clients::table
        .filter(clients::realm_id.eq(realm_id))
        .order(clients::client_id.asc())
        .select(ClientRow::as_select())
        .load(conn)?)
}

pub fn set_not_before(
    conn: &mut DbConnection,
    id: &str,
    not_before_ms: i64,
) -> Result<(), StoreError> {
    diesel::update(clients::table.find(id))
        .set(clients::not_before_ms.eq(not_before_ms))
        .execute(conn)?;
    Ok(())
}

/// The clients of a session that registered a front-channel logout URI.
pub fn frontchannel_of_session(
    conn: &mut DbConnection,
    session_id: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    use super::schema::session_clients;
    let rows: Vec<(String, Option<String>)> = session_clients::table
        .inner_join(clients::table)
        .filter(session_clients::session_id.eq(session_id))
        .filter(clients::frontchannel_logout_uri.is_not_null())
        .select((clients::client_id, clients::frontchannel_logout_uri))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, uri)| Some((id, uri?)))
        .collect())
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<ClientRow>, StoreError> {
    Ok(clients::table
        .find(id)
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?)
}

/// The settings an administrator edits.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = clients)]
pub struct ClientChanges {
    pub redirect_uris: Option<String>,
    pub post_logout_redirect_uris: Option<String>,
    pub grant_types: Option<String>,
    pub backchannel_logout_uri: Option<Option<String>>,
    pub frontchannel_logout_uri: Option<Option<String>>,
    pub consent_required: Option<bool>,
    pub enabled: Option<bool>,
    pub default_audience: Option<Option<String>>,
    pub rate_limit_per_s: Option<Option<i32>>,
    pub web_origins: Option<String>,
    pub default_scopes: Option<String>,
    pub optional_scopes: Option<String>,
    pub name: Option<Option<String>>,
    pub description: Option<Option<String>>,
}

pub fn update(
    conn: &mut DbConnection,
    id: &str,
    changes: &ClientChanges,
) -> Result<(), StoreError> {
    super::updated(
        diesel::update(clients::table.find(id))
            .set(changes)
            .execute(conn),
    )
}

/// Replaces the secret; the previous one keeps working until
/// `previous_until_ms` (0: not at all).
pub fn set_secret(
    conn: &mut DbConnection,
    id: &str,
    secret_hash: &str,
    previous_hash: Option<&str>,
    previous_until_ms: i64,
) -> Result<(), StoreError> {
    diesel::update(clients::table.find(id))
        .set((
            clients::secret_hash.eq(secret_hash),
            clients::previous_secret_hash.eq(previous_hash),
            clients::previous_secret_until_ms.eq(previous_until_ms),
        ))
        .execute(conn)?;
    Ok(())
}

/// Deletes a client; its refresh families, consents and pending notices go
/// with it (foreign keys cascade).
pub fn delete(conn: &mut DbConnection, id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(clients::table.find(id)).execute(conn)? > 0)
}
