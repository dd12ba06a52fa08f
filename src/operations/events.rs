//! The audit trail: what happened in a realm, who did it, newest first.

use super::read;
use crate::app::Latch;
use crate::error::Error;
use crate::ids::RealmName;
use crate::store::{self, audit::AuditQuery};

/// One audit event.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub id: i64,
    /// Milliseconds since the epoch.
    pub at_ms: i64,
    /// e.g. `session.ended`, `client.compromised`, `admin.user.created`.
    pub kind: String,
    /// Who caused it: `admin:NAME`, `user:ID`, `client:ID`, `cli`, `system`.
    pub actor: String,
    /// What it is about (a user id, client id, session id…).
    pub subject: String,
    pub ip: Option<String>,
    /// JSON, as recorded.
    pub detail: Option<String>,
}

impl From<store::audit::AuditRow> for AuditEvent {
    fn from(r: store::audit::AuditRow) -> Self {
        AuditEvent {
            id: r.id,
            at_ms: r.at_ms,
            kind: r.kind,
            actor: r.actor,
            subject: r.subject,
            ip: r.ip,
            detail: r.detail,
        }
    }
}

/// Which events to list; every condition given must hold.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// An event type, or a prefix ending in `.` (`admin.`, `session.`).
    pub kind: Option<String>,
    /// Events about or by this user id.
    pub user: Option<String>,
    /// Events about or by this client id.
    pub client: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// How many of the newest to skip.
    pub first: i64,
    /// At most this many.
    pub max: i64,
}

/// The realm's events that match, newest first.
pub async fn list(
    latch: &Latch,
    realm: &RealmName,
    query: EventQuery,
) -> Result<Vec<AuditEvent>, Error> {
    read(latch, realm, move |conn, realm| {
        let filter = AuditQuery {
            kind: query.kind,
            user: query.user,
            client: query.client,
            from_ms: query.from_ms,
            to_ms: query.to_ms,
        };
        Ok(
            store::audit::search(conn, &realm.id, &filter, query.first, query.max)?
                .into_iter()
                .map(AuditEvent::from)
                .collect(),
        )
    })
    .await
}

/// The realm's most recent `limit` events, newest first.
pub async fn recent(
    latch: &Latch,
    realm: &RealmName,
    limit: i64,
) -> Result<Vec<AuditEvent>, Error> {
    list(
        latch,
        realm,
        EventQuery {
            max: limit,
            ..Default::default()
        },
    )
    .await
}
