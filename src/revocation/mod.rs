//! Revocation: the durable event log every change goes through, and the
//! follower that brings a running node's in-memory state up to date.

mod follower;

pub use follower::{EventSink, Follower, FollowerHandle};

use crate::error::Error;
use crate::store::events::{self, NewEvent};
use crate::store::DbConnection;
use crate::time::now_ms;

/// What an event in the log is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The realm's settings changed (or it was created or deleted).
    Realm,
    /// The realm's key ring changed (rotation, retirement).
    Keys,
    /// A client was created or changed; subject is its client_id.
    Client,
    /// A session ended; subject is its sid.
    Session,
    /// One access token revoked; subject is its jti.
    Jti,
    /// A refresh family revoked; subject is its id.
    Family,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Realm => "realm",
            EventKind::Keys => "keys",
            EventKind::Client => "client",
            EventKind::Session => "session",
            EventKind::Jti => "jti",
            EventKind::Family => "family",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        [
            EventKind::Realm,
            EventKind::Keys,
            EventKind::Client,
            EventKind::Session,
            EventKind::Jti,
            EventKind::Family,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Appends an event to the log, inside the caller's transaction, so the
/// change and its announcement commit together.
pub fn record(
    conn: &mut DbConnection,
    realm_id: &str,
    kind: EventKind,
    subject: &str,
    expires_at_ms: Option<i64>,
) -> Result<(), Error> {
    events::append(
        conn,
        &NewEvent {
            realm_id,
            kind: kind.as_str(),
            subject,
            not_before_ms: None,
            expires_at_ms,
            created_at_ms: now_ms(),
        },
    )?;
    Ok(())
}
