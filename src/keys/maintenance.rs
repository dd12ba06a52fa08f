//! The background task that retires keys whose last token has expired.

use std::time::Duration;

use crate::store::Store;

pub fn spawn(store: Store, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        loop {
            ticker.tick().await;
            let result = store
                .run(|conn| crate::store::write(conn, super::retire_expired))
                .await;
            match result {
                Ok(0) => {}
                Ok(n) => tracing::info!(realms = n, "retired signing keys past their window"),
                Err(e) => tracing::warn!(error = %e, "key maintenance failed"),
            }
        }
    })
}
