//! The `audit_events` table.

use diesel::prelude::*;

use super::schema::audit_events;
use super::{DbConnection, StoreError};

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewAudit {
    pub realm_id: String,
    pub at_ms: i64,
    pub actor: String,
    pub kind: String,
    pub subject: String,
    pub ip: Option<String>,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    pub id: i64,
    pub realm_id: String,
    pub at_ms: i64,
    pub actor: String,
    pub kind: String,
    pub subject: String,
    pub ip: Option<String>,
    pub detail: Option<String>,
}

pub fn insert_many(conn: &mut DbConnection, rows: &[NewAudit]) -> Result<(), StoreError> {
    for row in rows {
        diesel::insert_into(audit_events::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

pub fn recent(
    conn: &mut DbConnection,
    realm_id: &str,
    limit: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    Ok(audit_events::table
        .filter(audit_events::realm_id.eq(realm_id))
        .order(audit_events::id.desc())
        .limit(limit)
        .select(AuditRow::as_select())
        .load(conn)?)
}

/// Which audit events to list.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Exact kind (`session.ended`) or a prefix ending in `.` (`admin.`).
    pub kind: Option<String>,
    /// Events about this user id, or caused by them.
    pub user: Option<String>,
    /// Events about this client id, or caused by it.
    pub client: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

pub fn search(
    conn: &mut DbConnection,
    realm_id: &str,
    query: &AuditQuery,
    first: i64,
    max: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    let mut q = audit_events::table
        .filter(audit_events::realm_id.eq(realm_id))
        .into_boxed();
    if let Some(kind) = &query.kind {
        q = if kind.ends_with('.') {
            q.filter(audit_events::kind.like(format!("{}%", kind.replace(['%', '_'], ""))))
        } else {
            q.filter(audit_events::kind.eq(kind.clone()))
        };
    }
    if let Some(user) = &query.user {
        q = q.filter(
            audit_events::subject
                .eq(user.clone())
                .or(audit_events::actor.eq(format!("user:{user}"))),
        );
    }
    if let Some(client) = &query.client {
        q = q.filter(
            audit_events::subject
                .eq(client.clone())
                .or(audit_events::actor.eq(format!("client:{client}"))),
        );
    }
    if let Some(from) = query.from_ms {
        q = q.filter(audit_events::at_ms.ge(from));
    }
    if let Some(to) = query.to_ms {
        q = q.filter(audit_events::at_ms.le(to));
    }
    Ok(q.order(audit_events::id.desc())
        .offset(first)
        .limit(max)
        .select(AuditRow::as_select())
        .load(conn)?)
}
