//! Fan-out between nodes through Redis pub/sub. Every committed event is
//! published with its sequence number; every node subscribes and applies
//! it at once. Redis is an accelerator, not a source of truth: a node that
//! sees a gap in the sequence, reconnects, or starts reads the database log
//! instead, and the periodic poll catches whatever a lost message missed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use redis::AsyncCommands;

use super::FollowerHandle;
use crate::store::events::Event;

pub struct Fanout {
    client: redis::Client,
    channel: String,
    publisher: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
    subscribed: AtomicBool,
    /// Fault injection for tests: drop one published message in N (0: none).
    drop_one_in: u64,
    published: AtomicU64,
    /// 1 while subscribed, for `/metrics`.
    pub connected: prometheus_client::metrics::gauge::Gauge,
}

/// Asks the Redis at `url` for PING and returns how long the answer took
/// (for `latch doctor`: the fan-out itself never waits on Redis).
pub fn ping(url: &str, timeout: Duration) -> Result<Duration, String> {
    let started = std::time::Instant::now();
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut conn = client
        .get_connection_with_timeout(timeout)
        .map_err(|e| e.to_string())?;
    conn.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let answer: String = redis::cmd("PING")
        .query(&mut conn)
        .map_err(|e| e.to_string())?;
    if answer != "PONG" {
        return Err(format!("it answered `{answer}` to PING"));
    }
    Ok(started.elapsed())
}

impl Fanout {
    pub fn new(url: &str, channel: &str, drop_one_in: u64) -> Result<Arc<Fanout>, String> {
        let client = redis::Client::open(url).map_err(|e| format!("redis: {e}"))?;
        Ok(Arc::new(Fanout {
            client,
            channel: channel.to_string(),
            publisher: tokio::sync::Mutex::new(None),
            subscribed: AtomicBool::new(false),
            drop_one_in,
            published: AtomicU64::new(0),
            connected: Default::default(),
        }))
    }

    /// Whether this node currently receives fan-out messages.
    pub fn is_connected(&self) -> bool {
        self.subscribed.load(Ordering::Relaxed)
    }

    /// Publishes committed events. Best effort: on failure the other nodes
    /// still learn within their poll interval.
    pub async fn publish(&self, events: &[Event]) {
        if events.is_empty() {
            return;
        }
        let mut publisher = self.publisher.lock().await;
        if publisher.is_none() {
            match tokio::time::timeout(
                Duration::from_secs(1),
                self.client.get_multiplexed_async_connection(),
            )
            .await
            {
                Ok(Ok(conn)) => *publisher = Some(conn),
                _ => return,
            }
        }
        let Some(conn) = publisher.as_mut() else {
            return;
        };
        for event in events {
            let n = self.published.fetch_add(1, Ordering::Relaxed) + 1;
            if self.drop_one_in > 0 && n.is_multiple_of(self.drop_one_in) {
                continue;
            }
            let Ok(payload) = serde_json::to_string(event) else {
                continue;
            };
            let sent: redis::RedisResult<i64> = conn.publish(&self.channel, payload).await;
            if sent.is_err() {
                *publisher = None;
                return;
            }
        }
    }

    /// Subscribes forever, reconnecting with backoff; on every (re)connect
    /// the node first catches up from the database log.
    pub fn spawn_subscriber(
        self: &Arc<Self>,
        follower: FollowerHandle,
    ) -> tokio::task::JoinHandle<()> {
        let fanout = Arc::clone(self);
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            let mut reported_down = false;
            loop {
                match fanout.subscribe_once(&follower).await {
                    Ok(()) => backoff = Duration::from_millis(100),
                    Err(e) if !reported_down => {
                        tracing::warn!(error = %e, "Redis fan-out unavailable; revocations reach this node by polling until it returns");
                        reported_down = true;
                    }
                    Err(_) => {}
                }
                fanout.connected.set(0);
                if fanout.subscribed.swap(false, Ordering::Relaxed) {
                    reported_down = false;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        })
    }

    async fn subscribe_once(&self, follower: &FollowerHandle) -> Result<(), String> {
        let mut pubsub =
            tokio::time::timeout(Duration::from_secs(2), self.client.get_async_pubsub())
                .await
                .map_err(|_| "connect timed out".to_string())?
                .map_err(|e| e.to_string())?;
        pubsub
            .subscribe(&self.channel)
            .await
            .map_err(|e| e.to_string())?;
        self.subscribed.store(true, Ordering::Relaxed);
        self.connected.set(1);
        tracing::info!(channel = %self.channel, "Redis fan-out connected");
        // Anything published while we were away is in the log.
        let _ = follower.catch_up().await;
        let mut messages = pubsub.on_message();
        while let Some(message) = messages.next().await {
            match serde_json::from_slice::<Event>(message.get_payload_bytes()) {
                Ok(event) => {
                    let _ = follower.apply_published(event).await;
                }
                Err(e) => tracing::warn!(error = %e, "ignoring a malformed fan-out message"),
            }
        }
        Err("Redis connection lost".into())
    }
}
