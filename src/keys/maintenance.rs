//! The background task that moves keys along: staged keys start signing
//! when due, retiring keys retire when their last token has expired, and
//! realms with a rotation interval rotate on schedule. Every step is a
//! transaction that re-checks its condition, so several nodes running this
//! at once do each step once.

use std::sync::Arc;
use std::time::Duration;

use crate::directory::Directory;
use crate::error::Error;
use crate::revocation::{self, EventKind};
use crate::store::{self, DbConnection, Store};
use crate::time::now_ms;

pub fn spawn(
    store: Store,
    directory: Arc<Directory>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        loop {
            ticker.tick().await;
            let master = directory.master().clone();
            let result = store
                .run(move |conn| -> Result<usize, Error> {
                    let mut changed = store::write(conn, super::retire_expired)?;
                    changed += promote_due_keys(conn)?;
                    changed += scheduled_rotations(conn, &master)?;
                    Ok(changed)
                })
                .await;
            match result {
                Ok(0) => {}
                Ok(n) => tracing::info!(changes = n, "signing keys moved along"),
                Err(e) => tracing::warn!(error = %e, "key maintenance failed"),
            }
        }
    })
}

fn promote_due_keys(conn: &mut DbConnection) -> Result<usize, Error> {
    let mut promoted = 0;
    for realm_id in store::keys::realms_with_due_keys(conn, now_ms())? {
        promoted += store::write(conn, |conn| -> Result<usize, Error> {
            store::lock_realm(conn, &realm_id)?;
            let Some(realm) = store::realms::find(conn, &realm_id)? else {
                return Ok(0);
            };
            let n = super::promote_due(
                conn,
                &realm_id,
                crate::directory::realms::verify_window_ms(&realm),
            )?;
            if n > 0 {
                revocation::record(conn, &realm_id, EventKind::Keys, "activate", None)?;
            }
            Ok(n)
        })?;
    }
    Ok(promoted)
}

fn scheduled_rotations(
    conn: &mut DbConnection,
    master: &crate::crypto::MasterKey,
) -> Result<usize, Error> {
    let mut rotated = 0;
    for realm in store::realms::list(conn)?
        .into_iter()
        .filter(|r| r.key_rotation_interval_s > 0)
    {
        rotated += store::write(conn, |conn| -> Result<usize, Error> {
            // Re-checked under the realm's lock: one node rotates, once.
            store::lock_realm(conn, &realm.id)?;
            let newest = store::keys::newest_activation(conn, &realm.id)?.unwrap_or(0);
            if newest + realm.key_rotation_interval_s * 1000 > now_ms()
                || store::keys::has_pending(conn, &realm.id)?
            {
                return Ok(0);
            }
            let algs = crate::directory::realms::algorithms(conn, &realm, None)?;
            super::rotate(
                conn,
                master,
                &realm.id,
                &algs,
                realm.key_stage_s * 1000,
                crate::directory::realms::verify_window_ms(&realm),
                "scheduler",
            )?;
            tracing::info!(realm = %realm.name, "rotated signing keys on schedule");
            Ok(1)
        })?;
    }
    Ok(rotated)
}
