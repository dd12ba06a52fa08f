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

/// Every key not yet retired, of every realm.
pub fn live(conn: &mut DbConnection) -> Result<Vec<KeyRow>, StoreError> {
    Ok(signing_keys::table
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

pub fn any_private_key(conn: &mut DbConnection) -> Result<Option<KeyRow>, StoreError> {
    Ok(signing_keys::table
        .select(KeyRow::as_select())
        .first(conn)
        .optional()?)
}

/// Removes staged keys of `alg` not yet signing (a new rotation replaces them).
pub fn drop_pending(
    conn: &mut DbConnection,
    realm_id: &str,
    alg: &str,
) -> Result<usize, StoreError> {
    Ok(diesel::delete(
        signing_keys::table
            .filter(signing_keys::realm_id.eq(realm_id))
            .filter(signing_keys::alg.eq(alg))
            .filter(signing_keys::status.eq("next")),
    )
    .execute(conn)?)
}

pub fn due_for_activation(
    conn: &mut DbConnection,
    realm_id: &str,
    now_ms: i64,
) -> Result<Vec<KeyRow>, StoreError> {
    Ok(signing_keys::table
        .filter(signing_keys::realm_id.eq(realm_id))
        .filter(signing_keys::status.eq("next"))
        .filter(signing_keys::activate_after_ms.le(now_ms))
        .select(KeyRow::as_select())
        .load(conn)?)
}

/// Realms that have a staged key due now.
pub fn realms_with_due_keys(
    conn: &mut DbConnection,
    now_ms: i64,
) -> Result<Vec<String>, StoreError> {
    let mut realms: Vec<String> = signing_keys::table
        .filter(signing_keys::status.eq("next"))
        .filter(signing_keys::activate_after_ms.le(now_ms))
        .select(signing_keys::realm_id)
        .load(conn)?;
    realms.sort();
    realms.dedup();
    Ok(realms)
}

pub fn activate(conn: &mut DbConnection, kid: &str, now_ms: i64) -> Result<(), StoreError> {
    diesel::update(signing_keys::table.find(kid))
        .set((
            signing_keys::status.eq("active"),
            signing_keys::activated_at_ms.eq(now_ms),
            signing_keys::activate_after_ms.eq(None::<i64>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Retires every live key of `alg` at once; returns their ids.
pub fn retire_all(
    conn: &mut DbConnection,
    realm_id: &str,
    alg: &str,
    now_ms: i64,
) -> Result<Vec<String>, StoreError> {
    let live = signing_keys::table
        .filter(signing_keys::realm_id.eq(realm_id))
        .filter(signing_keys::alg.eq(alg))
        .filter(signing_keys::status.ne("retired"));
    let kids: Vec<String> = live.select(signing_keys::kid).load(conn)?;
    diesel::update(live)
        .set((
            signing_keys::status.eq("retired"),
            signing_keys::retired_at_ms.eq(now_ms),
        ))
        .execute(conn)?;
    Ok(kids)
}

/// When the realm's newest active key of any algorithm started signing.
pub fn newest_activation(
    conn: &mut DbConnection,
    realm_id: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(signing_keys::table
        .filter(signing_keys::realm_id.eq(realm_id))
        .filter(signing_keys::status.eq("active"))
        .select(diesel::dsl::max(signing_keys::activated_at_ms))
        .first::<Option<i64>>(conn)?)
}

pub fn has_pending(conn: &mut DbConnection, realm_id: &str) -> Result<bool, StoreError> {
    Ok(signing_keys::table
        .filter(signing_keys::realm_id.eq(realm_id))
        .filter(signing_keys::status.eq("next"))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}
