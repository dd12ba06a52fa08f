//! Several nodes on one PostgreSQL, revocations fanned out through Redis;
//! nothing missed when a node or Redis is away.

use std::time::Duration;

use crate::helpers::{claims, redis_url, spawn_node, Backend, RedisRelay, TestApp, TestDatabase};

/// Fan-out bound: with polls set far apart, only Redis can deliver this fast.
const FANOUT: Duration = Duration::from_millis(100);
const SLOW_POLL_MS: u64 = 10_000;

/// Every node of a cluster shares one public base (the load balancer's).
const PUBLIC_BASE: &str = "https://id.latch.test";

fn channel() -> String {
    format!("latch-test:{}", latch::crypto::random_id())
}

async fn cluster(n: usize, poll_ms: u64, redis: &str, channel: &str) -> (Vec<TestApp>, String) {
    let db = TestDatabase::new(Backend::Postgres);
    let key = latch::crypto::MasterKey::generate().encode();
    let mut nodes = Vec::new();
    let mut owner = Some(db);
    for _ in 0..n {
        let db = match owner.take() {
            Some(db) => db,
            None => nodes.first().map(|a: &TestApp| a.db.shared()).unwrap(),
        };
        let (redis, channel) = (redis.to_string(), channel.to_string());
        nodes.push(
            spawn_node(db, &key, move |s| {
                s.public_base = Some(PUBLIC_BASE.into());
                s.revocation_poll_ms = poll_ms;
                s.redis = Some(redis);
                s.redis_channel = channel;
            })
            .await,
        );
    }
    for node in &nodes {
        node.until_fanout_connected().await;
    }
    (nodes, key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revocation_through_one_node_reaches_the_others_within_100ms() {
    let (nodes, _) = cluster(3, SLOW_POLL_MS, &redis_url(), &channel()).await;
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    let tokens = a.alice_tokens("openid").await;
    let refreshed: serde_json::Value = b
        .refresh(tokens["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    let access = refreshed["access_token"].as_str().unwrap();
    a.assert_accepted(access).await;
    b.assert_accepted(access).await;
    assert_eq!(c.revoke(access, None).await.status(), 200);
    let on_a = a.until_rejected(access, Duration::from_secs(2)).await;
    let on_b = b.until_rejected(access, Duration::from_secs(2)).await;
    assert!(
        on_a < FANOUT && on_b < FANOUT,
        "A after {on_a:?}, B after {on_b:?}"
    );
    // A single access token was revoked; the refresh token is another credential.
    assert_eq!(
        a.refresh(refreshed["refresh_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_whose_clock_runs_ahead_cannot_outlive_a_cut_off() {
    let db = TestDatabase::new(Backend::Postgres);
    let key = latch::crypto::MasterKey::generate().encode();
    let shared = db.shared();
    let a = spawn_node(db, &key, |s| s.public_base = Some(PUBLIC_BASE.into())).await;
    let ahead = spawn_node(shared, &key, |s| {
        s.public_base = Some(PUBLIC_BASE.into());
        s.simulate_clock_skew_ms = 5_000;
    })
    .await;
    let minted = ahead.service_token().await;
    let iat_ms = claims(&minted)["iat_ms"].as_i64().unwrap();
    let now = latch::time::now_ms();
    assert!(
        (iat_ms - now).abs() < 1_000,
        "the node stamps database time, not its own ({iat_ms} vs {now})"
    );
    let output = a.cli(&[
        "client",
        "revoke-tokens",
        "--realm",
        "demo",
        "--client-id",
        "demo-app",
    ]);
    assert!(
        output.status.success(),
        "{}",
        crate::helpers::describe(&output)
    );
    tokio::time::sleep(Duration::from_millis(750)).await;
    assert!(!a.active(&minted).await);
    assert!(!ahead.active(&minted).await);
    let after = ahead.service_token().await;
    assert!(
        a.active(&after).await,
        "tokens minted after the cut-off work"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_that_was_down_rejects_on_its_first_request() {
    let db = TestDatabase::new(Backend::Postgres);
    let key = latch::crypto::MasterKey::generate().encode();
    let shared = db.shared();
    let a = spawn_node(db, &key, |s| {
        s.public_base = Some(PUBLIC_BASE.into());
        s.revocation_poll_ms = SLOW_POLL_MS;
    })
    .await;
    let b = spawn_node(shared, &key, |s| {
        s.public_base = Some(PUBLIC_BASE.into());
        s.revocation_poll_ms = SLOW_POLL_MS;
    })
    .await;
    let token = a.service_token().await;
    assert!(b.active(&token).await);
    b.stop().await;
    let db_again = b.db.shared();
    drop(b);
    assert_eq!(a.revoke(&token, None).await.status(), 200);
    let b = spawn_node(db_again, &key, |s| {
        s.public_base = Some(PUBLIC_BASE.into());
        s.revocation_poll_ms = SLOW_POLL_MS;
    })
    .await;
    assert!(
        !b.active(&token).await,
        "rejected on the very first request after start"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_redis_cut_nodes_converge_by_polling_and_fan_out_resumes() {
    let relay = RedisRelay::start().await;
    let channel = channel();
    let db = TestDatabase::new(Backend::Postgres);
    let key = latch::crypto::MasterKey::generate().encode();
    let shared = db.shared();
    let (c1, c2) = (channel.clone(), channel.clone());
    let a = spawn_node(db, &key, move |s| {
        s.public_base = Some(PUBLIC_BASE.into());
        s.revocation_poll_ms = 300;
        s.redis = Some(redis_url());
        s.redis_channel = c1;
    })
    .await;
    let relay_url = relay.url.clone();
    let b = spawn_node(shared, &key, move |s| {
        s.public_base = Some(PUBLIC_BASE.into());
        s.revocation_poll_ms = 300;
        s.redis = Some(relay_url);
        s.redis_channel = c2;
    })
    .await;
    a.until_fanout_connected().await;
    b.until_fanout_connected().await;

    relay.cut();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let first = a.service_token().await;
    assert_eq!(a.revoke(&first, None).await.status(), 200);
    let took = b
        .until_rejected_at_introspection(&first, Duration::from_secs(3))
        .await;
    assert!(
        took < Duration::from_millis(300 + 150),
        "converged by polling after {took:?}"
    );
    assert_ne!(b.ready().await["checks"]["fanout"], "connected");

    relay.restore();
    b.until_fanout_connected().await;
    let second = a.service_token().await;
    assert!(b.active(&second).await);
    assert_eq!(a.revoke(&second, None).await.status(), 200);
    let took = b
        .until_rejected_at_introspection(&second, Duration::from_secs(3))
        .await;
    assert!(took < FANOUT, "fan-out resumed without a restart: {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_message_is_detected_as_a_gap_and_filled_from_the_log() {
    let channel = channel();
    let db = TestDatabase::new(Backend::Postgres);
    let key = latch::crypto::MasterKey::generate().encode();
    let shared = db.shared();
    let (c1, c2) = (channel.clone(), channel.clone());
    let a = spawn_node(db, &key, move |s| {
        s.public_base = Some(PUBLIC_BASE.into());
        s.revocation_poll_ms = SLOW_POLL_MS;
        s.redis = Some(redis_url());
        s.redis_channel = c1;
        s.simulate_fanout_loss_one_in = 2;
    })
    .await;
    let b = spawn_node(shared, &key, move |s| {
        s.public_base = Some(PUBLIC_BASE.into());
        s.revocation_poll_ms = SLOW_POLL_MS;
        s.redis = Some(redis_url());
        s.redis_channel = c2;
    })
    .await;
    a.until_fanout_connected().await;
    b.until_fanout_connected().await;
    let tokens = [
        a.service_token().await,
        a.service_token().await,
        a.service_token().await,
    ];
    // Events 1 and 3 are published, 2 is dropped on purpose.
    assert_eq!(a.revoke(&tokens[0], None).await.status(), 200);
    assert_eq!(a.revoke(&tokens[1], None).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        b.active(&tokens[1]).await,
        "the dropped message has not arrived"
    );
    assert_eq!(a.revoke(&tokens[2], None).await.status(), 200);
    let took = b
        .until_rejected_at_introspection(&tokens[1], Duration::from_secs(2))
        .await;
    assert!(
        took < FANOUT,
        "the gap was filled from the log after {took:?}"
    );
    assert!(!b.active(&tokens[2]).await);
    let metrics = b.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("latch_revocation_fanout_gaps_total 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scheduled_rotation_from_two_nodes_makes_exactly_one_new_key() {
    let db = TestDatabase::new(Backend::Postgres);
    let key = latch::crypto::MasterKey::generate().encode();
    let shared = db.shared();
    let a = spawn_node(db, &key, |s| s.public_base = Some(PUBLIC_BASE.into())).await;
    let _b = spawn_node(shared, &key, |s| s.public_base = Some(PUBLIC_BASE.into())).await;
    a.sql("UPDATE realms SET key_rotation_interval_s = 1 WHERE name = 'demo'");
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let listing = crate::helpers::stdout(&a.cli(&["keys", "list", "--realm", "demo"]));
    assert_eq!(
        listing.matches(" next ").count(),
        2,
        "one new key per algorithm, once: {listing}"
    );
}

/// Orchestrators start replicas together: nodes started at the same moment
/// on an empty database all come up (one bootstraps, the others find what it
/// created) and serve the same realms and keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_started_together_on_an_empty_database_all_serve() {
    for _ in 0..3 {
        let db = TestDatabase::new(Backend::Postgres);
        let key = latch::crypto::MasterKey::generate().encode();
        let databases = vec![db.shared(), db.shared(), db];
        let nodes = futures_util::future::join_all(
            databases
                .into_iter()
                .map(|db| spawn_node(db, &key, |s| s.public_base = Some(PUBLIC_BASE.into()))),
        )
        .await;
        let first = nodes[0].jwks_kids("master").await;
        assert!(!first.is_empty());
        for node in &nodes {
            assert_eq!(
                node.jwks_kids("master").await,
                first,
                "every node signs with one ring"
            );
            let token = node.service_token().await;
            for other in &nodes {
                assert!(
                    other.active(&token).await,
                    "every node accepts every node's token"
                );
            }
        }
    }
}
