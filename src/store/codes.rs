//! The `auth_codes` table. Codes are stored only as hashes.

use diesel::prelude::*;

use super::schema::auth_codes;
use super::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = auth_codes)]
pub struct CodeRow {
    pub code_hash: String,
    pub realm_id: String,
    pub client_id: String,
    pub user_id: String,
    pub session_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time_s: i64,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub used_at_ms: Option<i64>,
    pub family_id: Option<String>,
    pub access_jti: Option<String>,
    /// The `acr` the code's tokens carry.
    pub acr: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &CodeRow) -> Result<(), StoreError> {
    diesel::insert_into(auth_codes::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, code_hash: &str) -> Result<Option<CodeRow>, StoreError> {
    Ok(auth_codes::table
        .find(code_hash)
        .select(CodeRow::as_select())
        .first(conn)
        .optional()?)
}

/// Claims the code for one redemption; false when it was already used.
pub fn mark_used(
    conn: &mut DbConnection,
    code_hash: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let changed = diesel::update(
        auth_codes::table
            .find(code_hash)
            .filter(auth_codes::used_at_ms.is_null()),
    )
    .set(auth_codes::used_at_ms.eq(now_ms))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Remembers what the redemption issued, so a replay can revoke it.
pub fn record_issued(
    conn: &mut DbConnection,
    code_hash: &str,
    family_id: Option<&str>,
    access_jti: &str,
) -> Result<(), StoreError> {
    diesel::update(auth_codes::table.find(code_hash))
        .set((
            auth_codes::family_id.eq(family_id),
            auth_codes::access_jti.eq(access_jti),
        ))
        .execute(conn)?;
    Ok(())
}

/// Deletes codes that expired long enough ago that a replay no longer matters.
pub fn delete_expired_before(conn: &mut DbConnection, before_ms: i64) -> Result<usize, StoreError> {
    Ok(
        diesel::delete(auth_codes::table.filter(auth_codes::expires_at_ms.lt(before_ms)))
            .execute(conn)?,
    )
}
