//! What a node keeps in memory for a token leaves with the token: the
//! counts `/metrics` shows (`latch_in_memory_entries`) fall back once the
//! tokens they concern have expired.

use std::time::{Duration, Instant};

use crate::helpers::{spawn_app, Backend, TestApp};

impl TestApp {
    /// `latch_in_memory_entries{structure="…"}` as `/metrics` shows it now.
    async fn held(&self, structure: &str) -> i64 {
        let metrics = self.get("/metrics").await.text().await.unwrap();
        let line = format!("latch_in_memory_entries{{structure=\"{structure}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&line))
            .unwrap_or_else(|| panic!("no gauge for {structure} in {metrics}"))
            .parse()
            .unwrap()
    }
}

async fn a_verified_token_leaves_the_cache_once_it_expires(backend: Backend) {
    let app = spawn_app(backend).await;
    app.set_realm("demo", "access_token_lifetime_s", 2).await;
    let token = app.service_token().await;
    assert!(app.active(&token).await);
    assert_eq!(app.held("verified_token_cache").await, 1);
    assert_eq!(app.revoke(&token, None).await.status(), 200);
    assert_eq!(app.held("revocation_index").await, 1);

    // Two seconds of life, then one sweep (every 5 s).
    let deadline = Instant::now() + Duration::from_secs(15);
    while app.held("verified_token_cache").await > 0 {
        assert!(
            Instant::now() < deadline,
            "an expired token is still cached"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Presented again, it is refused as expired and not cached again.
    assert!(!app.active(&token).await);
    assert_eq!(app.held("verified_token_cache").await, 0);
}

crate::both_backends!(a_verified_token_leaves_the_cache_once_it_expires);
