//! Periodic upkeep: re-measure the database clock, prune the index and the
//! log of entries no unexpired token can match, delete spent authorization
//! codes and refresh replay responses past their grace window, and the
//! one-time-code steps no window can reach.

use std::sync::Arc;
use std::time::Duration;

use super::Index;
use crate::clock::Clock;
use crate::store::{self, Store};
use crate::time;

/// Config events (no expiry) are kept a day so a node that was down can
/// still see that something changed.
const KEEP_CONFIG_MS: i64 = 24 * 3600 * 1000;
const EXPIRED_CODES_KEPT_MS: i64 = 10 * 60 * 1000;

pub fn spawn(store: Store, index: Arc<Index>, clock: Arc<Clock>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(30));
        ticker.tick().await;
        loop {
            ticker.tick().await;
            let pruned = index.prune(time::now_ms());
            let clock = Arc::clone(&clock);
            let result = store
                .run(move |conn| -> Result<usize, store::StoreError> {
                    clock.sync(conn)?;
                    let now = time::now_ms();
                    let mut deleted =
                        store::events::prune(conn, now - KEEP_CONFIG_MS, now - KEEP_CONFIG_MS)?;
                    // A code past its expiry is refused as expired, so its
                    // row no longer serves replay detection.
                    deleted +=
                        store::codes::delete_expired_before(conn, now - EXPIRED_CODES_KEPT_MS)?;
                    // Sealed replay responses are kept for the grace window only.
                    let longest_grace = store::realms::list(conn)?
                        .iter()
                        .map(|r| r.refresh_grace_ms)
                        .max()
                        .unwrap_or(0);
                    deleted += store::refresh::clear_replay_before(conn, now - longest_grace)?;
                    // One-time-code steps older than any window (RFC 6238 §5.2).
                    deleted += store::credentials::prune_steps(
                        conn,
                        now - store::credentials::STEP_MEMORY_MS,
                    )?;
                    Ok(deleted)
                })
                .await;
            match result {
                Ok(deleted) => tracing::debug!(pruned, deleted, "revocation housekeeping"),
                Err(e) => tracing::warn!(error = %e, "revocation housekeeping failed"),
            }
        }
    })
}
