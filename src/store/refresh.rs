//! The `refresh_families` and `refresh_tokens` tables.

use diesel::prelude::*;

use super::schema::{refresh_families, refresh_tokens};
use super::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_families)]
pub struct FamilyRow {
    pub id: String,
    pub realm_id: String,
    pub client_id: String,
    pub user_id: String,
    pub session_id: String,
    pub offline: bool,
    pub scope: String,
    pub auth_time_s: i64,
    pub created_at_ms: i64,
    pub last_used_ms: i64,
    pub expires_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
    pub revoke_reason: Option<String>,
    /// The `acr` its tokens carry (the sign-in's).
    pub acr: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct TokenRow {
    pub token_hash: String,
    pub family_id: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub rotated_at_ms: Option<i64>,
    pub replay_response: Option<Vec<u8>>,
    /// The access token issued with this refresh token, so revoking the
    /// family can deny it too.
    pub access_jti: Option<String>,
    pub access_exp_ms: Option<i64>,
}

pub fn insert_family(conn: &mut DbConnection, row: &FamilyRow) -> Result<(), StoreError> {
    diesel::insert_into(refresh_families::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn insert_token(conn: &mut DbConnection, row: &TokenRow) -> Result<(), StoreError> {
    diesel::insert_into(refresh_tokens::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_token(
    conn: &mut DbConnection,
    token_hash: &str,
) -> Result<Option<(TokenRow, FamilyRow)>, StoreError> {
    Ok(refresh_tokens::table
        .inner_join(refresh_families::table)
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select((TokenRow::as_select(), FamilyRow::as_select()))
        .first(conn)
        .optional()?)
}

/// Marks the token used; false when another request rotated it first.
pub fn mark_rotated(
    conn: &mut DbConnection,
    token_hash: &str,
    now_ms: i64,
    replay_response: Option<Vec<u8>>,
) -> Result<bool, StoreError> {
    let changed = diesel::update(
        refresh_tokens::table
            .find(token_hash)
            .filter(refresh_tokens::rotated_at_ms.is_null()),
    )
    .set((
        refresh_tokens::rotated_at_ms.eq(now_ms),
        refresh_tokens::replay_response.eq(replay_response),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

pub fn touch_family(
    conn: &mut DbConnection,
    family_id: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    diesel::update(refresh_families::table.find(family_id))
        .set(refresh_families::last_used_ms.eq(now_ms))
        .execute(conn)?;
    Ok(())
}

/// Revokes a family; true when it was live until now.
pub fn revoke_family(
    conn: &mut DbConnection,
    family_id: &str,
    reason: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let changed = diesel::update(
        refresh_families::table
            .find(family_id)
            .filter(refresh_families::revoked_at_ms.is_null()),
    )
    .set((
        refresh_families::revoked_at_ms.eq(now_ms),
        refresh_families::revoke_reason.eq(reason),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Revokes the session's online families (offline ones outlive it).
pub fn revoke_online_of_session(
    conn: &mut DbConnection,
    session_id: &str,
    reason: &str,
    now_ms: i64,
) -> Result<usize, StoreError> {
    Ok(diesel::update(
        refresh_families::table
            .filter(refresh_families::session_id.eq(session_id))
            .filter(refresh_families::offline.eq(false))
            .filter(refresh_families::revoked_at_ms.is_null()),
    )
    .set((
        refresh_families::revoked_at_ms.eq(now_ms),
        refresh_families::revoke_reason.eq(reason),
    ))
    .execute(conn)?)
}

/// Forgets cached replay responses once the grace window has passed.
pub fn clear_replay_before(conn: &mut DbConnection, before_ms: i64) -> Result<usize, StoreError> {
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::replay_response.is_not_null())
            .filter(refresh_tokens::rotated_at_ms.lt(before_ms)),
    )
    .set(refresh_tokens::replay_response.eq(None::<Vec<u8>>))
    .execute(conn)?)
}

/// Which families a bulk revocation covers.
pub enum FamilyScope<'a> {
    User(&'a str),
    Client(&'a str),
    Realm(&'a str),
}

/// Revokes every live family in scope (online and offline).
pub fn revoke_all(
    conn: &mut DbConnection,
    scope: FamilyScope<'_>,
    reason: &str,
    now_ms: i64,
) -> Result<usize, StoreError> {
    let live = refresh_families::table.filter(refresh_families::revoked_at_ms.is_null());
    let set = (
        refresh_families::revoked_at_ms.eq(now_ms),
        refresh_families::revoke_reason.eq(reason),
    );
    Ok(match scope {
        FamilyScope::User(id) => diesel::update(live.filter(refresh_families::user_id.eq(id)))
            .set(set)
            .execute(conn)?,
        FamilyScope::Client(id) => diesel::update(live.filter(refresh_families::client_id.eq(id)))
            .set(set)
            .execute(conn)?,
        FamilyScope::Realm(id) => diesel::update(live.filter(refresh_families::realm_id.eq(id)))
            .set(set)
            .execute(conn)?,
    })
}

/// Access tokens issued with the family's refresh tokens that may still be
/// unexpired: (jti, exp ms).
pub fn live_access_tokens(
    conn: &mut DbConnection,
    family_id: &str,
    now_ms: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    let rows: Vec<(Option<String>, Option<i64>)> = refresh_tokens::table
        .filter(refresh_tokens::family_id.eq(family_id))
        .filter(refresh_tokens::access_exp_ms.gt(now_ms))
        .select((refresh_tokens::access_jti, refresh_tokens::access_exp_ms))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(jti, exp)| Some((jti?, exp?)))
        .collect())
}

pub fn find_family(conn: &mut DbConnection, id: &str) -> Result<Option<FamilyRow>, StoreError> {
    Ok(refresh_families::table
        .find(id)
        .select(FamilyRow::as_select())
        .first(conn)
        .optional()?)
}

/// The user's refresh families that have not been revoked.
pub fn live_families_of_user(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<Vec<FamilyRow>, StoreError> {
    Ok(refresh_families::table
        .filter(refresh_families::user_id.eq(user_id))
        .filter(refresh_families::revoked_at_ms.is_null())
        .select(FamilyRow::as_select())
        .load(conn)?)
}

/// Live offline families of a realm unused since before `cutoff_ms`.
pub fn idle_offline(
    conn: &mut DbConnection,
    realm_id: &str,
    cutoff_ms: i64,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    Ok(refresh_families::table
        .filter(refresh_families::realm_id.eq(realm_id))
        .filter(refresh_families::offline.eq(true))
        .filter(refresh_families::revoked_at_ms.is_null())
        .filter(refresh_families::last_used_ms.lt(cutoff_ms))
        .limit(limit)
        .select(refresh_families::id)
        .load(conn)?)
}

/// Per client (row id): how many offline families of the realm are live
/// (not revoked, not expired).
pub fn live_offline_by_client(
    conn: &mut DbConnection,
    realm_id: &str,
    now_ms: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(refresh_families::table
        .filter(refresh_families::realm_id.eq(realm_id))
        .filter(refresh_families::offline.eq(true))
        .filter(refresh_families::revoked_at_ms.is_null())
        .filter(refresh_families::expires_at_ms.gt(now_ms))
        .group_by(refresh_families::client_id)
        .select((refresh_families::client_id, diesel::dsl::count_star()))
        .load(conn)?)
}
