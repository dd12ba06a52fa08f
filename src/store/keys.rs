//! The `signing_keys` table: one row per key, its private half encrypted.

use diesel::prelude::*;

use super::schema::signing_keys;
use super::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct KeyRow {
    pub kid: String,
    pub realm_id: String,
    pub alg: String,
    pub status: String,
    pub public_jwk: String,
    pub private_key: Vec<u8>,
    pub created_at_ms: i64,
    pub activated_at_ms: Option<i64>,
    pub retire_after_ms: Option<i64>,
    pub retired_at_ms: Option<i64>,
    pub activate_after_ms: Option<i64>,
}

pub fn insert(conn: &mut DbConnection, key: &KeyRow) -> Result<(), StoreError> {
    diesel::insert_into(signing_keys::table)
        .values(key)
        .execute(conn)?;
    Ok(())
}

/// Every key of the realm that is not yet retired, oldest first.
pub fn live_for_realm(conn: &mut DbConnection, realm_id: &str) -> Result<Vec<KeyRow>, StoreError> {
    Ok(signing_keys::table
        .filter(signing_keys::realm_id.eq(realm_id))
        .filter(signing_keys::status.ne("retired"))
        .order(signing_keys::created_at_ms.asc())
        .select(KeyRow::as_select())
        .load(conn)?)
}

pub fn all_for_realm(conn: &mut DbConnection, realm_id: &str) -> Result<Vec<KeyRow>, StoreError> {
    Ok(signing_keys::table
        .filter(signing_keys::realm_id.eq(realm_id))
        .order(signing_keys::created_at_ms.asc())
        .select(KeyRow::as_select())
        .load(conn)?)
}

/// Moves the realm's active keys of `alg` to retiring, verifying until `retire_after_ms`.
pub fn start_retiring(
    conn: &mut DbConnection,
    realm_id: &str,
    alg: &str,
    retire_after_ms: i64,
) -> Result<usize, StoreError> {
    Ok(diesel::update(
        signing_keys::table
            .filter(signing_keys::realm_id.eq(realm_id))
            .filter(signing_keys::alg.eq(alg))
            .filter(signing_keys::status.eq("active")),
    )
    .set((
        signing_keys::status.eq("retiring"),
        signing_keys::retire_after_ms.eq(retire_after_ms),
    ))
    .execute(conn)?)
}

/// Retires every retiring key whose last token has expired; returns their realms.
pub fn retire_expired(conn: &mut DbConnection, now_ms: i64) -> Result<Vec<String>, StoreError> {
    let due: Vec<(String, String)> = signing_keys::table
        .filter(signing_keys::status.eq("retiring"))
        .filter(signing_keys::retire_after_ms.le(now_ms))
        .select((signing_keys::kid, signing_keys::realm_id))
        .load(conn)?;
    for (kid, _) in &due {
        diesel::update(signing_keys::table.find(kid))
            .set((
                signing_keys::status.eq("retired"),
                signing_keys::retired_at_ms.eq(now_ms),
            ))
            .execute(conn)?;
    }
    Ok(due.into_iter().map(|(_, realm)| realm).collect())
}

pub fn count_any(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(signing_keys::table.count().get_result(conn)?)
}

pub fn any_private_key(conn: &mut DbConnection) -> Result<Option<KeyRow>, StoreError> {
    Ok(signing_keys::table
        .select(KeyRow::as_select())
        .first(conn)
        .optional()?)
}
