//! The `backchannel_outbox` table: logout notices for relying parties.

use diesel::prelude::*;

use super::schema::{backchannel_outbox, clients, session_clients};
use super::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = backchannel_outbox)]
pub struct Notice {
    pub id: i64,
    pub realm_id: String,
    pub client_id: String,
    pub session_id: String,
    pub user_id: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_ms: i64,
    pub claimed_by: Option<String>,
    pub claimed_until_ms: i64,
    pub last_error: Option<String>,
    pub created_at_ms: i64,
    pub delivered_at_ms: Option<i64>,
    pub gave_up_at_ms: Option<i64>,
}

/// Queues a notice for every client of the session that registered a
/// back-channel logout URI; returns how many.
pub fn enqueue_for_session(
    conn: &mut DbConnection,
    realm_id: &str,
    session_id: &str,
    user_id: &str,
    now_ms: i64,
) -> Result<usize, StoreError> {
    let targets: Vec<String> = session_clients::table
        .inner_join(clients::table)
        .filter(session_clients::session_id.eq(session_id))
        .filter(clients::backchannel_logout_uri.is_not_null())
        .select(clients::id)
        .load(conn)?;
    for client_id in &targets {
        insert_pending(conn, realm_id, client_id, session_id, user_id, now_ms)?;
    }
    Ok(targets.len())
}

/// Queues a notice to one client (row id) about one session, when the
/// client registered a back-channel logout URI; returns how many (0 or 1).
pub fn enqueue_for_client(
    conn: &mut DbConnection,
    realm_id: &str,
    client_id: &str,
    session_id: &str,
    user_id: &str,
    now_ms: i64,
) -> Result<usize, StoreError> {
    let registered: i64 = clients::table
        .filter(clients::id.eq(client_id))
        .filter(clients::backchannel_logout_uri.is_not_null())
        .count()
        .get_result(conn)?;
    if registered == 0 {
        return Ok(0);
    }
    insert_pending(conn, realm_id, client_id, session_id, user_id, now_ms)?;
    Ok(1)
}

fn insert_pending(
    conn: &mut DbConnection,
    realm_id: &str,
    client_id: &str,
    session_id: &str,
    user_id: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    diesel::insert_into(backchannel_outbox::table)
        .values((
            backchannel_outbox::realm_id.eq(realm_id),
            backchannel_outbox::client_id.eq(client_id),
            backchannel_outbox::session_id.eq(session_id),
            backchannel_outbox::user_id.eq(user_id),
            backchannel_outbox::status.eq("pending"),
            backchannel_outbox::attempts.eq(0),
            backchannel_outbox::next_attempt_ms.eq(now_ms),
            backchannel_outbox::claimed_until_ms.eq(0),
            backchannel_outbox::created_at_ms.eq(now_ms),
        ))
        .execute(conn)?;
    Ok(())
}

/// Claims up to `limit` due notices for this node until `until_ms`; a
/// claim by another node is respected until it lapses.
/// Notices claimed by `node` and not delivered become free to claim now.
pub fn release_claims(conn: &mut DbConnection, node: &str) -> Result<(), StoreError> {
    diesel::update(
        backchannel_outbox::table
            .filter(backchannel_outbox::status.eq("pending"))
            .filter(backchannel_outbox::claimed_by.eq(node)),
    )
    .set(backchannel_outbox::claimed_until_ms.eq(0))
    .execute(conn)?;
    Ok(())
}

pub fn claim_due(
    conn: &mut DbConnection,
    node: &str,
    now_ms: i64,
    until_ms: i64,
    limit: i64,
) -> Result<Vec<Notice>, StoreError> {
    let due = backchannel_outbox::table
        .filter(backchannel_outbox::status.eq("pending"))
        .filter(backchannel_outbox::next_attempt_ms.le(now_ms))
        .filter(backchannel_outbox::claimed_until_ms.lt(now_ms));
    let ids: Vec<i64> = due
        .select(backchannel_outbox::id)
        .order(backchannel_outbox::id.asc())
        .limit(limit)
        .load(conn)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(due.filter(backchannel_outbox::id.eq_any(&ids)))
        .set((
            backchannel_outbox::claimed_by.eq(node),
            backchannel_outbox::claimed_until_ms.eq(until_ms),
        ))
        .execute(conn)?;
    Ok(backchannel_outbox::table
        .filter(backchannel_outbox::id.eq_any(&ids))
        .filter(backchannel_outbox::claimed_by.eq(node))
        .filter(backchannel_outbox::claimed_until_ms.eq(until_ms))
        .select(Notice::as_select())
        .load(conn)?)
}

pub fn mark_delivered(conn: &mut DbConnection, id: i64, now_ms: i64) -> Result<(), StoreError> {
    diesel::update(backchannel_outbox::table.find(id))
        .set((
            backchannel_outbox::status.eq("delivered"),
            backchannel_outbox::delivered_at_ms.eq(now_ms),
            backchannel_outbox::attempts.eq(backchannel_outbox::attempts + 1),
            backchannel_outbox::claimed_until_ms.eq(0),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn schedule_retry(
    conn: &mut DbConnection,
    id: i64,
    error: &str,
    next_attempt_ms: i64,
) -> Result<(), StoreError> {
    diesel::update(backchannel_outbox::table.find(id))
        .set((
            backchannel_outbox::attempts.eq(backchannel_outbox::attempts + 1),
            backchannel_outbox::last_error.eq(error),
            backchannel_outbox::next_attempt_ms.eq(next_attempt_ms),
            backchannel_outbox::claimed_until_ms.eq(0),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn give_up(
    conn: &mut DbConnection,
    id: i64,
    error: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    diesel::update(backchannel_outbox::table.find(id))
        .set((
            backchannel_outbox::status.eq("failed"),
            backchannel_outbox::attempts.eq(backchannel_outbox::attempts + 1),
            backchannel_outbox::last_error.eq(error),
            backchannel_outbox::gave_up_at_ms.eq(now_ms),
            backchannel_outbox::claimed_until_ms.eq(0),
        ))
        .execute(conn)?;
    Ok(())
}

/// Notices of a realm, newest first, optionally of one session and of one
/// client (row id).
pub fn list(
    conn: &mut DbConnection,
    realm_id: &str,
    session_id: Option<&str>,
    client_id: Option<&str>,
    limit: i64,
) -> Result<Vec<Notice>, StoreError> {
    let mut query = backchannel_outbox::table
        .filter(backchannel_outbox::realm_id.eq(realm_id))
        .into_boxed();
    if let Some(sid) = session_id {
        query = query.filter(backchannel_outbox::session_id.eq(sid.to_string()));
    }
    if let Some(client) = client_id {
        query = query.filter(backchannel_outbox::client_id.eq(client.to_string()));
    }
    Ok(query
        .order(backchannel_outbox::id.desc())
        .limit(limit)
        .select(Notice::as_select())
        .load(conn)?)
}
