//! Revocation, the core: the durable event log every change goes through,
//! the cascade that decides what dies, the index every check reads, the
//! committer, the follower and fan-out that bring every node up to date,
//! and the expiry and housekeeping sweeps. What is built on it — status
//! lists, back-channel logout — is in `crate::publish`.

pub mod cascade;
pub mod committer;
pub mod expiry;
pub mod fanout;
mod follower;
pub mod housekeeping;
pub mod index;
pub mod reason;

/// One entry of the log, as every node applies it and the stream renders it.
pub use crate::store::events::Event;
pub use follower::{EventSink, Feed, Follower, FollowerHandle};
pub use index::{Index, Revoked, TokenFacts};
pub use reason::Reason;

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
    /// A user's not-before cut-off moved; subject is the user id.
    User,
    /// A client's not-before cut-off moved; subject is its client_id.
    ClientCutoff,
    /// The realm's not-before cut-off moved.
    RealmCutoff,
}

impl Event {
    /// Why the event happened, when it says.
    pub fn reason(&self) -> Option<Reason> {
        self.reason.as_deref().and_then(Reason::parse)
    }
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
            EventKind::User => "user",
            EventKind::ClientCutoff => "client_cutoff",
            EventKind::RealmCutoff => "realm_cutoff",
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
            EventKind::User,
            EventKind::ClientCutoff,
            EventKind::RealmCutoff,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Appends an event to the log, inside the caller's transaction, so the
/// change and its announcement commit together. `expires_at_ms` is when
/// no token it could concern is still unexpired (`None`: never prune).
pub fn record(
    conn: &mut DbConnection,
    realm_id: &str,
    kind: EventKind,
    subject: &str,
    expires_at_ms: Option<i64>,
) -> Result<(), Error> {
    record_about(
        conn,
        realm_id,
        kind,
        subject,
        None,
        expires_at_ms,
        &Concerns::default(),
    )
}

/// Whom an event concerns, so the event stream can filter per client.
#[derive(Debug, Default, Clone, Copy)]
pub struct Concerns<'a> {
    /// The client's row id.
    pub client_id: Option<&'a str>,
    pub user_id: Option<&'a str>,
    /// Why; stored as its stable code, so every renderer maps it.
    pub reason: Option<Reason>,
}

pub fn record_about(
    conn: &mut DbConnection,
    realm_id: &str,
    kind: EventKind,
    subject: &str,
    not_before_ms: Option<i64>,
    expires_at_ms: Option<i64>,
    concerns: &Concerns<'_>,
) -> Result<(), Error> {
    events::append(
        conn,
        &NewEvent {
            realm_id,
            kind: kind.as_str(),
            subject,
            not_before_ms,
            expires_at_ms,
            created_at_ms: now_ms(),
            client_id: concerns.client_id,
            user_id: concerns.user_id,
            reason: concerns.reason.map(Reason::code),
        },
    )?;
    Ok(())
}

/// After a commit: apply the new events here, then publish them so every
/// other node applies them at once (when Redis fan-out is configured).
pub async fn announce(
    follower: &FollowerHandle,
    fanout: Option<&std::sync::Arc<fanout::Fanout>>,
) -> Result<(), crate::store::StoreError> {
    let events = follower.catch_up_events().await?;
    if let Some(fanout) = fanout {
        fanout.publish(&events).await;
    }
    Ok(())
}
