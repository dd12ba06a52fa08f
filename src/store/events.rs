//! The `revocation_events` log: every change a running node must learn of,
//! numbered by a monotonic sequence.

use diesel::prelude::*;

use super::schema::revocation_events;
use super::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, serde::Deserialize)]
#[diesel(table_name = revocation_events)]
pub struct Event {
    pub seq: i64,
    pub realm_id: String,
    pub kind: String,
    pub subject: String,
    pub not_before_ms: Option<i64>,
    pub expires_at_ms: Option<i64>,
    pub created_at_ms: i64,
    /// The client (row id) a token was issued to, for jti and client events.
    #[serde(default)]
    pub client_id: Option<String>,
    /// The user concerned, for session and user events.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Why, e.g. `password reset` (picks the event stream's event type).
    #[serde(default)]
    pub reason: Option<String>,
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
    pub client_id: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub reason: Option<&'a str>,
}

/// Serialises appends on PostgreSQL until commit, so sequence numbers
/// become visible in order: a reader that has seen seq N never later finds
/// a smaller one committed behind it. (SQLite has one writer anyway.)
const APPEND_LOCK_ID: i64 = 0x4c41_5443_4802;

pub fn append(conn: &mut DbConnection, event: &NewEvent<'_>) -> Result<(), StoreError> {
    if let DbConnection::Pg(c) = conn {
        use diesel::connection::SimpleConnection;
        c.batch_execute(&format!("SELECT pg_advisory_xact_lock({APPEND_LOCK_ID})"))?;
    }
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

/// Events that may still concern an unexpired token, in log order: what a
/// starting node builds its revocation index from.
pub fn unexpired(conn: &mut DbConnection, now_ms: i64) -> Result<Vec<Event>, StoreError> {
    Ok(revocation_events::table
        .filter(revocation_events::expires_at_ms.gt(now_ms))
        .order(revocation_events::seq.asc())
        .select(Event::as_select())
        .load(conn)?)
}

/// Deletes events that no longer matter; config events (no expiry) older
/// than `keep_config_before_ms` go too.
pub fn prune(
    conn: &mut DbConnection,
    now_ms: i64,
    keep_config_before_ms: i64,
) -> Result<usize, StoreError> {
    let expired = diesel::delete(
        revocation_events::table.filter(revocation_events::expires_at_ms.le(now_ms)),
    )
    .execute(conn)?;
    let config = diesel::delete(
        revocation_events::table
            .filter(revocation_events::expires_at_ms.is_null())
            .filter(revocation_events::created_at_ms.lt(keep_config_before_ms)),
    )
    .execute(conn)?;
    Ok(expired + config)
}

/// A realm's events with `after < seq <= upto`, in order (stream replay).
pub fn of_realm_between(
    conn: &mut DbConnection,
    realm_id: &str,
    after: i64,
    upto: i64,
) -> Result<Vec<Event>, StoreError> {
    Ok(revocation_events::table
        .filter(revocation_events::realm_id.eq(realm_id))
        .filter(revocation_events::seq.gt(after))
        .filter(revocation_events::seq.le(upto))
        .order(revocation_events::seq.asc())
        .limit(100_000)
        .select(Event::as_select())
        .load(conn)?)
}
