//! The `password_history` table: a user's earlier password hashes.

use diesel::prelude::*;

use super::schema::{password_history, users};
use super::{DbConnection, StoreError};

/// How many earlier hashes are kept per user (the longest history a
/// policy may ask for).
pub const KEPT: i64 = 24;

/// The user's current hash and their `n - 1` earlier ones, newest first.
pub fn recent(conn: &mut DbConnection, user_id: &str, n: usize) -> Result<Vec<String>, StoreError> {
    let mut hashes: Vec<String> = users::table
        .find(user_id)
        .select(users::password_hash)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten()
        .into_iter()
        .collect();
    if n > 1 {
        hashes.extend(
            password_history::table
                .filter(password_history::user_id.eq(user_id))
                .order(password_history::replaced_at_ms.desc())
                .limit(n as i64 - 1)
                .select(password_history::password_hash)
                .load::<String>(conn)?,
        );
    }
    Ok(hashes)
}

/// Sets a new hash, keeping the one it replaces in the history (inside
/// the caller's transaction).
pub fn replace(
    conn: &mut DbConnection,
    user_id: &str,
    new_hash: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    let old: Option<String> = users::table
        .find(user_id)
        .select(users::password_hash)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten();
    if let Some(old) = old {
        diesel::insert_into(password_history::table)
            .values((
                password_history::user_id.eq(user_id),
                password_history::password_hash.eq(old),
                password_history::replaced_at_ms.eq(now_ms),
            ))
            .execute(conn)?;
        let keep: Vec<i64> = password_history::table
            .filter(password_history::user_id.eq(user_id))
            .order(password_history::replaced_at_ms.desc())
            .limit(KEPT)
            .select(password_history::replaced_at_ms)
            .load(conn)?;
        if let Some(oldest_kept) = keep.last() {
            diesel::delete(
                password_history::table
                    .filter(password_history::user_id.eq(user_id))
                    .filter(password_history::replaced_at_ms.lt(oldest_kept)),
            )
            .execute(conn)?;
        }
    }
    diesel::update(users::table.find(user_id))
        .set(users::password_hash.eq(new_hash))
        .execute(conn)?;
    Ok(())
}

/// When the current password was set, as far as the history tells (the
/// moment the one before it was replaced).
pub fn last_set_ms(conn: &mut DbConnection, user_id: &str) -> Result<Option<i64>, StoreError> {
    Ok(password_history::table
        .filter(password_history::user_id.eq(user_id))
        .select(diesel::dsl::max(password_history::replaced_at_ms))
        .first::<Option<i64>>(conn)?)
}
