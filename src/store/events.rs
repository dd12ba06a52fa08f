//! The `revocation_events` log: every change a running node must learn of,
//! numbered by a monotonic sequence.

use diesel::prelude::*;

use super::schema::revocation_events;
use super::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = revocation_events)]
pub struct Event {
    pub seq: i64,
    pub realm_id: String,
    pub kind: String,
    pub subject: String,
    pub not_before_ms: Option<i64>,
    pub expires_at_ms: Option<i64>,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = revocation_events)]
pub struct NewEvent<'a> {
    pub realm_id: &'a str,
    pub kind: &'a str,
    pub subject: &'a str,
    pub not_before_ms: Option<i64>,
    pub expires_at_ms: Option<i64>,
    pub created_at_ms: i64,
}

pub fn append(conn: &mut DbConnection, event: &NewEvent<'_>) -> Result<(), StoreError> {
    diesel::insert_into(revocation_events::table)
        .values(event)
        .execute(conn)?;
    Ok(())
}

pub fn after(conn: &mut DbConnection, seq: i64, limit: i64) -> Result<Vec<Event>, StoreError> {
    Ok(revocation_events::table
        .filter(revocation_events::seq.gt(seq))
        .order(revocation_events::seq.asc())
        .limit(limit)
        .select(Event::as_select())
        .load(conn)?)
}

pub fn last_seq(conn: &mut DbConnection) -> Result<i64, StoreError> {
    let max: Option<i64> = revocation_events::table
        .select(diesel::dsl::max(revocation_events::seq))
        .first(conn)?;
    Ok(max.unwrap_or(0))
}
