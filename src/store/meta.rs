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
