//! The `sessions` and `session_clients` tables.

use diesel::prelude::*;

use super::schema::{session_clients, sessions};
use super::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: String,
    pub realm_id: String,
    pub user_id: String,
    pub cookie_hash: String,
    pub auth_time_s: i64,
    pub created_at_ms: i64,
    pub last_seen_ms: i64,
    pub expires_at_ms: i64,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub ended_at_ms: Option<i64>,
    pub end_reason: Option<String>,
    pub remember_me: bool,
    /// The session ends if not used again before this.
    pub idle_until_ms: i64,
    /// 1: a password; 2: a second factor too.
    pub acr_level: i64,
    /// RFC 8176 methods, space-separated: `pwd`, `otp`, `mfa`.
    pub amr: String,
}

pub fn insert(conn: &mut DbConnection, row: &SessionRow) -> Result<(), StoreError> {
    diesel::insert_into(sessions::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<SessionRow>, StoreError> {
    Ok(sessions::table
        .find(id)
        .select(SessionRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_cookie(
    conn: &mut DbConnection,
    cookie_hash: &str,
) -> Result<Option<SessionRow>, StoreError> {
    Ok(sessions::table
        .filter(sessions::cookie_hash.eq(cookie_hash))
        .select(SessionRow::as_select())
        .first(conn)
        .optional()?)
}

/// The session was used now: it lives another `idle_ms` (never beyond its
/// maximum lifetime).
pub fn touch(
    conn: &mut DbConnection,
    id: &str,
    now_ms: i64,
    idle_ms: i64,
) -> Result<(), StoreError> {
    diesel::update(sessions::table.find(id))
        .set((
            sessions::last_seen_ms.eq(now_ms),
            sessions::idle_until_ms.eq(now_ms.saturating_add(idle_ms)),
        ))
        .execute(conn)?;
    Ok(())
}

/// A second factor was verified in the session (at sign-in or a step-up).
pub fn raise_level(
    conn: &mut DbConnection,
    id: &str,
    acr_level: i64,
    amr: &str,
    auth_time_s: i64,
) -> Result<(), StoreError> {
    diesel::update(sessions::table.find(id))
        .set((
            sessions::acr_level.eq(acr_level),
            sessions::amr.eq(amr),
            sessions::auth_time_s.eq(auth_time_s),
        ))
        .execute(conn)?;
    Ok(())
}

/// Sessions not yet ended whose maximum lifetime or idle time ran out.
pub fn expired(
    conn: &mut DbConnection,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<SessionRow>, StoreError> {
    Ok(sessions::table
        .filter(sessions::ended_at_ms.is_null())
        .filter(
            sessions::idle_until_ms
                .le(now_ms)
                .or(sessions::expires_at_ms.le(now_ms)),
        )
        .limit(limit)
        .select(SessionRow::as_select())
        .load(conn)?)
}

/// Marks the session ended; true when it was live until now.
pub fn end(
    conn: &mut DbConnection,
    id: &str,
    reason: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let changed = diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::ended_at_ms.is_null()),
    )
    .set((
        sessions::ended_at_ms.eq(now_ms),
        sessions::end_reason.eq(reason),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Records that `client_id` received tokens in the session (once).
pub fn add_client(
    conn: &mut DbConnection,
    session_id: &str,
    client_id: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    let exists = session_clients::table
        .find((session_id, client_id))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if !exists {
        diesel::insert_into(session_clients::table)
            .values((
                session_clients::session_id.eq(session_id),
                session_clients::client_id.eq(client_id),
                session_clients::first_at_ms.eq(now_ms),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Live sessions matching `realm_id` and optionally `user_id`, newest first.
pub fn list_live(
    conn: &mut DbConnection,
    realm_id: &str,
    user_id: Option<&str>,
    now_ms: i64,
) -> Result<Vec<SessionRow>, StoreError> {
    let mut query = sessions::table
        .filter(sessions::realm_id.eq(realm_id))
        .filter(sessions::ended_at_ms.is_null())
        .filter(sessions::expires_at_ms.gt(now_ms))
        .filter(sessions::idle_until_ms.gt(now_ms))
        .into_boxed();
    if let Some(user_id) = user_id {
        query = query.filter(sessions::user_id.eq(user_id.to_string()));
    }
    Ok(query
        .order(sessions::created_at_ms.desc())
        .select(SessionRow::as_select())
        .load(conn)?)
}

/// Ends every live session of a user (or of the realm when `user_id` is
/// `None`); returns their ids with their users.
pub fn end_all(
    conn: &mut DbConnection,
    realm_id: &str,
    user_id: Option<&str>,
    reason: &str,
    now_ms: i64,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut ended = Vec::new();
    for session in list_live(conn, realm_id, user_id, now_ms)? {
        if end(conn, &session.id, reason, now_ms)? {
            ended.push((session.id, session.user_id));
        }
    }
    Ok(ended)
}

/// Whether the client (row id) received tokens in the session — or, with
/// `by_user`, in any session or refresh family of that user.
pub fn client_took_part(
    conn: &mut DbConnection,
    client_id: &str,
    id: &str,
    by_user: bool,
) -> Result<bool, StoreError> {
    use super::schema::refresh_families;
    if !by_user {
        return Ok(session_clients::table
            .find((id, client_id))
            .count()
            .get_result::<i64>(conn)?
            > 0);
    }
    let in_session: i64 = session_clients::table
        .inner_join(sessions::table.on(sessions::id.eq(session_clients::session_id)))
        .filter(sessions::user_id.eq(id))
        .filter(session_clients::client_id.eq(client_id))
        .count()
        .get_result(conn)?;
    if in_session > 0 {
        return Ok(true);
    }
    let families: i64 = refresh_families::table
        .filter(refresh_families::user_id.eq(id))
        .filter(refresh_families::client_id.eq(client_id))
        .count()
        .get_result(conn)?;
    Ok(families > 0)
}

/// Live sessions the client (row id) took part in: (sid, user id).
pub fn live_with_client(
    conn: &mut DbConnection,
    client_id: &str,
    now_ms: i64,
) -> Result<Vec<(String, String)>, StoreError> {
    Ok(session_clients::table
        .inner_join(sessions::table.on(sessions::id.eq(session_clients::session_id)))
        .filter(session_clients::client_id.eq(client_id))
        .filter(sessions::ended_at_ms.is_null())
        .filter(sessions::expires_at_ms.gt(now_ms))
        .select((sessions::id, sessions::user_id))
        .load(conn)?)
}

/// The clients (row id, client id) that took part in each of `sids`.
pub fn clients_of(
    conn: &mut DbConnection,
    sids: &[String],
) -> Result<Vec<(String, String, String)>, StoreError> {
    use super::schema::clients;
    Ok(session_clients::table
        .inner_join(clients::table)
        .filter(session_clients::session_id.eq_any(sids))
        .select((session_clients::session_id, clients::id, clients::client_id))
        .load(conn)?)
}

fn live_with(
    realm_id: &str,
    now_ms: i64,
) -> sessions::BoxedQuery<'_, <DbConnection as diesel::Connection>::Backend> {
    sessions::table
        .filter(sessions::realm_id.eq(realm_id))
        .filter(sessions::ended_at_ms.is_null())
        .filter(sessions::expires_at_ms.gt(now_ms))
        .filter(sessions::idle_until_ms.gt(now_ms))
        .into_boxed()
}

/// A page of the live sessions the client (row id) took part in, newest
/// first.
pub fn live_of_client(
    conn: &mut DbConnection,
    realm_id: &str,
    client_id: &str,
    now_ms: i64,
    (first, max): (i64, i64),
) -> Result<Vec<SessionRow>, StoreError> {
    let taking_part = session_clients::table
        .filter(session_clients::client_id.eq(client_id.to_string()))
        .select(session_clients::session_id);
    Ok(live_with(realm_id, now_ms)
        .filter(sessions::id.eq_any(taking_part))
        .order(sessions::created_at_ms.desc())
        .offset(first)
        .limit(max)
        .select(SessionRow::as_select())
        .load(conn)?)
}

/// Per client (row id): how many live sessions of the realm it took part in.
pub fn live_by_client(
    conn: &mut DbConnection,
    realm_id: &str,
    now_ms: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(session_clients::table
        .inner_join(sessions::table.on(sessions::id.eq(session_clients::session_id)))
        .filter(sessions::realm_id.eq(realm_id))
        .filter(sessions::ended_at_ms.is_null())
        .filter(sessions::expires_at_ms.gt(now_ms))
        .filter(sessions::idle_until_ms.gt(now_ms))
        .group_by(session_clients::client_id)
        .select((session_clients::client_id, diesel::dsl::count_star()))
        .load(conn)?)
}
