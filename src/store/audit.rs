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
