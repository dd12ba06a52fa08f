//! Sessions and offline sessions that run out end through the cascade,
//! like any other ending: their tokens are refused everywhere and their
//! relying parties get back-channel logout notices. A sweep runs every
//! second on each node (a session already ended is left alone); the
//! liveness checks at sign-in and refresh refuse a timed-out session even
//! before the sweep reaches it.

use std::time::Duration;

use super::cascade::{self, Actor, EndReason, SecurityEvent};
use crate::error::Error;
use crate::store::{self, DbConnection, Store};

const BATCH: i64 = 200;

/// Ends what ran out; returns how many sessions and families.
pub fn sweep(conn: &mut DbConnection, now_ms: i64) -> Result<(usize, usize), Error> {
    let actor = Actor::System { task: "expiry" };
    let mut sessions = 0;
    for session in store::sessions::expired(conn, now_ms, BATCH)? {
        let ended = store::write(conn, |conn| -> Result<bool, Error> {
            // Re-read inside the transaction: another node may have ended it.
            let Some(current) = store::sessions::find(conn, &session.id)? else {
                return Ok(false);
            };
            if current.ended_at_ms.is_some() {
                return Ok(false);
            }
            let Some(realm) = store::realms::find(conn, &current.realm_id)? else {
                return Ok(false);
            };
            let reason = if current.expires_at_ms <= now_ms {
                EndReason::LifetimeReached
            } else {
                EndReason::IdleTimeout
            };
            let event = SecurityEvent::SessionEnded {
                sid: current.id.clone(),
                reason,
            };
            cascade::apply(conn, &realm, &event, &actor, now_ms)?;
            Ok(true)
        })?;
        sessions += usize::from(ended);
    }
    let mut families = 0;
    for realm in store::realms::list(conn)? {
        let cutoff = now_ms - realm.offline_idle_s * 1000;
        for family_id in store::refresh::idle_offline(conn, &realm.id, cutoff, BATCH)? {
            store::write(conn, |conn| {
                cascade::apply(
                    conn,
                    &realm,
                    &SecurityEvent::RefreshFamilyRevoked { family_id },
                    &actor,
                    now_ms,
                )
            })?;
            families += 1;
        }
    }
    Ok((sessions, families))
}

pub fn spawn(
    store: Store,
    follower: super::FollowerHandle,
    fanout: Option<std::sync::Arc<super::fanout::Fanout>>,
    clock: std::sync::Arc<crate::clock::Clock>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        loop {
            ticker.tick().await;
            let now = clock.now_ms();
            match store.run(move |conn| sweep(conn, now)).await {
                Ok((0, 0)) => {}
                Ok((sessions, families)) => {
                    tracing::info!(sessions, families, "ended what timed out");
                    if let Err(e) = super::announce(&follower, fanout.as_ref()).await {
                        tracing::warn!(error = %e, "cannot announce expiries; the poll will");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "session expiry sweep failed"),
            }
        }
    })
}
