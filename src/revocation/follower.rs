//! Follows the event log: every `poll` interval a node reads the events it
//! has not applied yet, in sequence order, and hands them to its state.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};

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
    pub metrics: FollowerMetrics,
}

/// What the follower reports at `/metrics`.
#[derive(Clone)]
pub struct FollowerMetrics {
    pub applied_from_log: Counter,
    pub applied_from_fanout: Counter,
    pub catch_up_reads: Counter,
    pub gaps: Counter,
    /// Milliseconds from an event's commit to its application here.
    pub lag_ms: Histogram,
}

impl FollowerMetrics {
    fn new() -> Self {
        FollowerMetrics {
            applied_from_log: Counter::default(),
            applied_from_fanout: Counter::default(),
            catch_up_reads: Counter::default(),
            gaps: Counter::default(),
            lag_ms: Histogram::new(exponential_buckets(0.25, 2.0, 16)),
        }
    }

    pub fn register(&self, metrics: &crate::telemetry::Metrics) {
        metrics.register(
            "revocation_events_applied_from_log",
            "Events applied from the database log",
            self.applied_from_log.clone(),
        );
        metrics.register(
            "revocation_events_applied_from_fanout",
            "Events applied from Redis fan-out",
            self.applied_from_fanout.clone(),
        );
        metrics.register(
            "revocation_catch_up_reads",
            "Reads of the database event log",
            self.catch_up_reads.clone(),
        );
        metrics.register(
            "revocation_fanout_gaps",
            "Sequence gaps seen on the fan-out channel",
            self.gaps.clone(),
        );
        metrics.register(
            "revocation_apply_lag_milliseconds",
            "Milliseconds from commit to application on this node",
            self.lag_ms.clone(),
        );
    }

    fn observe(&self, event: &Event) {
        let lag = (time::now_ms() - event.created_at_ms).max(0) as f64;
        self.lag_ms.observe(lag);
    }
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
            metrics: FollowerMetrics::new(),
        }))
    }

    pub fn applied_seq(&self) -> i64 {
        self.applied_seq.load(Ordering::Acquire)
    }

    /// Reads and applies every event after the last applied one.
    pub async fn catch_up(self: &Arc<Self>) -> Result<usize, StoreError> {
        Ok(self.catch_up_events().await?.len())
    }

    /// An event received from the fan-out channel: applied at once when it
    /// is the next in sequence, skipped when already applied, and a gap
    /// sends the node to the log.
    pub async fn apply_published(self: &Arc<Self>, event: Event) -> Result<(), StoreError> {
        {
            let _reading = self.reading.lock().await;
            let applied = self.applied_seq();
            if event.seq <= applied {
                return Ok(());
            }
            if event.seq == applied + 1 {
                for sink in &self.sinks {
                    sink.apply(&event);
                }
                self.applied_seq.store(event.seq, Ordering::Release);
                self.metrics.applied_from_fanout.inc();
                self.metrics.observe(&event);
                return Ok(());
            }
        }
        self.metrics.gaps.inc();
        self.catch_up().await.map(|_| ())
    }

    /// Like `catch_up`, returning the events applied (for publishing).
    pub async fn catch_up_events(self: &Arc<Self>) -> Result<Vec<Event>, StoreError> {
        let _reading = self.reading.lock().await;
        self.metrics.catch_up_reads.inc();
        let mut applied = Vec::new();
        loop {
            let after = self.applied_seq();
            let store = self.store.clone();
            let batch: Vec<Event> = store
                .run(move |conn| events::after(conn, after, BATCH))
                .await?;
            let done = (batch.len() as i64) < BATCH;
            self.apply_from_log(&batch);
            applied.extend(batch);
            if done {
                return Ok(applied);
            }
        }
    }

    /// `catch_up_events` for a thread outside the runtime that holds a
    /// connection already (the group committer, right after its commit).
    pub fn catch_up_on(
        &self,
        conn: &mut crate::store::DbConnection,
    ) -> Result<Vec<Event>, StoreError> {
        let _reading = self.reading.blocking_lock();
        self.metrics.catch_up_reads.inc();
        let mut applied = Vec::new();
        loop {
            let batch = events::after(conn, self.applied_seq(), BATCH)?;
            let done = (batch.len() as i64) < BATCH;
            self.apply_from_log(&batch);
            applied.extend(batch);
            if done {
                return Ok(applied);
            }
        }
    }

    fn apply_from_log(&self, batch: &[Event]) {
        for event in batch {
            for sink in &self.sinks {
                sink.apply(event);
            }
            self.applied_seq.store(event.seq, Ordering::Release);
            self.metrics.applied_from_log.inc();
            self.metrics.observe(event);
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

/// Hands every applied event to the node's subscribers (the event stream).
pub struct Feed(pub tokio::sync::broadcast::Sender<Arc<Event>>);

impl EventSink for Feed {
    fn apply(&self, event: &Event) {
        // Nobody listening: nothing to copy. (No subscriber is not an error.)
        if self.0.receiver_count() > 0 {
            let _ = self.0.send(Arc::new(event.clone()));
        }
    }
}
