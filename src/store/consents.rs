//! The `consents` table: scopes a user granted a client.

use diesel::prelude::*;

use super::schema::consents;
use super::{DbConnection, StoreError};

pub fn find(
    conn: &mut DbConnection,
    user_id: &str,
    client_id: &str,
) -> Result<Option<String>, StoreError> {
    Ok(consents::table
        .find((user_id, client_id))
        .select(consents::scope)
        .first(conn)
        .optional()?)
}

pub fn grant(
    conn: &mut DbConnection,
    user_id: &str,
    client_id: &str,
    scope: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    diesel::delete(consents::table.find((user_id, client_id))).execute(conn)?;
    diesel::insert_into(consents::table)
        .values((
            consents::user_id.eq(user_id),
            consents::client_id.eq(client_id),
            consents::scope.eq(scope),
            consents::granted_at_ms.eq(now_ms),
        ))
        .execute(conn)?;
    Ok(())
}
