//! Follows the event log: every `poll` interval a node reads the events it
//! has not applied yet, in sequence order, and hands them to its state.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::Index;
use crate::store::events::{self, Event};
use crate::store::{Store, StoreError};
use crate::time;

/// Anything that keeps in-memory state derived from the log.
pub trait EventSink: Send + Sync + 'static {
    fn apply(&self, event: &Event);
}

pub struct Follower {
    store: Store,
    sinks: Vec<Arc<dyn EventSink>>,
    applied_seq: AtomicI64,
    /// One catch-up at a time, so events are applied once and in order.
    reading: tokio::sync::Mutex<()>,
}

pub type FollowerHandle = Arc<Follower>;

const BATCH: i64 = 1000;

impl Follower {
    /// Builds the revocation index from every event that may still concern
    /// an unexpired token, then follows the log from its current end (the
    /// other sinks load their state from the database on demand).
    pub fn new(
        store: Store,
        index: Arc<Index>,
        mut sinks: Vec<Arc<dyn EventSink>>,
    ) -> Result<FollowerHandle, StoreError> {
        let mut conn = store.conn()?;
        let last = events::last_seq(&mut conn)?;
        let now = time::now_ms();
        let mut loaded = 0;
        for event in events::unexpired(&mut conn, now)? {
            if event.seq <= last {
                index.apply(&event, now);
                loaded += 1;
            }
        }
        drop(conn);
        tracing::info!(
            events = loaded,
            entries = index.len(),
            "revocation index built"
        );
        sinks.push(index);
        Ok(Arc::new(Follower {
            store,
            sinks,
            applied_seq: AtomicI64::new(last),
            reading: tokio::sync::Mutex::new(()),
        }))
    }

    pub fn applied_seq(&self) -> i64 {
        self.applied_seq.load(Ordering::Acquire)
    }

    /// Reads and applies every event after the last applied one.
    pub async fn catch_up(self: &Arc<Self>) -> Result<usize, StoreError> {
        let _reading = self.reading.lock().await;
        let mut total = 0;
        loop {
            let after = self.applied_seq();
            let store = self.store.clone();
            let batch: Vec<Event> = store
                .run(move |conn| events::after(conn, after, BATCH))
                .await?;
            for event in &batch {
                for sink in &self.sinks {
                    sink.apply(event);
                }
                self.applied_seq.store(event.seq, Ordering::Release);
            }
            total += batch.len();
            if (batch.len() as i64) < BATCH {
                return Ok(total);
            }
        }
    }

    /// Polls the log forever; spawned once per node.
    pub fn spawn_polling(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let follower = Arc::clone(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                ticker.tick().await;
                match follower.catch_up().await {
                    Ok(_) if failing => {
                        tracing::info!("event log reachable again");
                        failing = false;
                    }
                    Ok(_) => {}
                    Err(e) if !failing => {
                        tracing::warn!(error = %e, "cannot read the event log; retrying");
                        failing = true;
                    }
                    Err(_) => {}
                }
            }
        })
    }
}

impl EventSink for Index {
    fn apply(&self, event: &Event) {
        Index::apply(self, event, time::now_ms());
    }
}
