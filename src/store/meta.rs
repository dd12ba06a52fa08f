//! The `server_meta` table: small named values the server keeps about itself.

use diesel::prelude::*;

use super::schema::server_meta;
use super::{DbConnection, StoreError};

pub fn get(conn: &mut DbConnection, name: &str) -> Result<Option<String>, StoreError> {
    Ok(server_meta::table
        .find(name)
        .select(server_meta::value)
        .first(conn)
        .optional()?)
}

pub fn insert(conn: &mut DbConnection, name: &str, value: &str) -> Result<(), StoreError> {
    diesel::insert_into(server_meta::table)
        .values((server_meta::name.eq(name), server_meta::value.eq(value)))
        .execute(conn)?;
    Ok(())
}

/// Sets a value, replacing the one there.
pub fn set(conn: &mut DbConnection, name: &str, value: &str) -> Result<(), StoreError> {
    let updated = diesel::update(server_meta::table.find(name))
        .set(server_meta::value.eq(value))
        .execute(conn)?;
    if updated == 0 {
        insert(conn, name, value)?;
    }
    Ok(())
}

#[derive(QueryableByName)]
struct Migration {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

/// The newest migration applied (diesel's bookkeeping table).
pub fn newest_migration(conn: &mut DbConnection) -> Result<Option<String>, StoreError> {
    Ok(diesel::sql_query(
        "SELECT version FROM __diesel_schema_migrations ORDER BY version DESC LIMIT 1",
    )
    .get_result::<Migration>(conn)
    .optional()?
    .map(|m| m.version))
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Every migration applied, oldest first; none when the database was never
/// migrated (diesel's bookkeeping table is not there).
pub fn applied_migrations(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    let tables = match conn {
        DbConnection::Sqlite(_) => {
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM sqlite_master \
             WHERE type = 'table' AND name = '__diesel_schema_migrations'"
        }
        DbConnection::Pg(_) => {
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM information_schema.tables \
             WHERE table_name = '__diesel_schema_migrations' AND table_schema = current_schema()"
        }
    };
    if diesel::sql_query(tables).get_result::<Count>(conn)?.n == 0 {
        return Ok(Vec::new());
    }
    Ok(
        diesel::sql_query("SELECT version FROM __diesel_schema_migrations ORDER BY version")
            .load::<Migration>(conn)?
            .into_iter()
            .map(|m| m.version)
            .collect(),
    )
}

#[derive(QueryableByName)]
struct Now {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    now_ms: i64,
}

/// The database server's clock, in milliseconds since the epoch.
pub fn database_now_ms(conn: &mut DbConnection) -> Result<i64, StoreError> {
    let now: Now = match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(
            "SELECT CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) AS now_ms",
        )
        .get_result(c)?,
        DbConnection::Pg(c) => diesel::sql_query(
            "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT) AS now_ms",
        )
        .get_result(c)?,
    };
    Ok(now.now_ms)
}
