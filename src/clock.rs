//! The cluster's clock. Not-before cut-offs and token issue times must come
//! from one clock, or a node whose clock runs ahead could mint tokens that
//! survive a cut-off made through another node. That clock is the
//! database's: each node measures its offset from it and applies it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use crate::store::{self, DbConnection, StoreError};
use crate::time;

#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
    /// How far this node's own clock is off (a test hook simulating skew).
    skew_ms: i64,
}

impl Clock {
    /// Database time in milliseconds, read from memory.
    pub fn now_ms(&self) -> i64 {
        self.local_ms() + self.offset_ms.load(Ordering::Relaxed)
    }

    /// A clock whose local reading is off by `skew_ms` (for tests).
    pub fn skewed(skew_ms: i64) -> Clock {
        Clock {
            offset_ms: AtomicI64::new(0),
            skew_ms,
        }
    }

    fn local_ms(&self) -> i64 {
        time::now_ms() + self.skew_ms
    }

    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }

    /// Measures the offset to the database clock (half the round trip is
    /// taken as the one-way delay).
    pub fn sync(&self, conn: &mut DbConnection) -> Result<i64, StoreError> {
        let started = Instant::now();
        let local_before = self.local_ms();
        let db_now = store::meta::database_now_ms(conn)?;
        let half_trip = started.elapsed().as_millis() as i64 / 2;
        let offset = db_now - (local_before + half_trip);
        self.offset_ms.store(offset, Ordering::Relaxed);
        Ok(offset)
    }
}
