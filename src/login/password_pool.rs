//! A small, bounded pool of threads for password hashing. argon2id costs
//! tens of milliseconds of CPU per check by design; running it here keeps a
//! login flood from starving token issuance, and when the queue is full a
//! login is refused at once (503) instead of waiting without bound.

use std::sync::{Arc, OnceLock};

use crate::login::password;
use crate::workers::Workers;

pub struct PasswordPool {
    workers: Workers,
    /// Places: threads + queue. The queue is bounded by these, not by the channel.
    slots: Arc<tokio::sync::Semaphore>,
    /// The hash an unknown user's password is checked against (hashed on
    /// first use, on the pool).
    dummy: Arc<OnceLock<String>>,
}

/// A place in the pool, taken before any other work on a sign-in so a
/// flood is turned away at the cost of an atomic operation.
pub struct Reservation {
    workers: Workers,
    dummy: Arc<OnceLock<String>>,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

/// The pool is saturated; the caller should answer 503 with Retry-After.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("too many sign-ins at once; try again in a moment")]
pub struct Busy;

impl PasswordPool {
    /// `threads` workers; at most `queue` checks wait beyond those running.
    pub fn new(threads: usize, queue: usize) -> PasswordPool {
        let threads = threads.max(1);
        PasswordPool {
            workers: Workers::start("latch-password", threads, lower_priority),
            slots: Arc::new(tokio::sync::Semaphore::new(queue + threads)),
            dummy: Arc::new(OnceLock::new()),
        }
    }

    /// Half the cores (at least one), so the other half keeps serving tokens.
    pub fn for_this_machine() -> PasswordPool {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let threads = (cores / 2).max(1);
        PasswordPool::new(threads, threads * 4)
    }

    pub fn reserve(&self) -> Result<Reservation, Busy> {
        let slot = Arc::clone(&self.slots)
            .try_acquire_owned()
            .map_err(|_| Busy)?;
        Ok(Reservation {
            workers: self.workers.clone(),
            dummy: Arc::clone(&self.dummy),
            _slot: slot,
        })
    }
}

impl Reservation {
    /// Runs `work` on the pool; the slot is freed when it finishes.
    pub async fn run<T, F>(self, work: F) -> Result<T, Busy>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        self.workers.run(work).await.map_err(|_| Busy)
    }

    /// Checks `presented` against `stored`; without a stored hash (an
    /// unknown user) the same work is done against a dummy, so an unknown
    /// username takes as long as a wrong password and timing reveals nothing.
    pub async fn verify(self, presented: String, stored: Option<String>) -> Result<bool, Busy> {
        let dummy = Arc::clone(&self.dummy);
        self.run(move || match stored {
            Some(hash) => password::verify(&presented, &hash),
            None => {
                let _ = password::verify(&presented, dummy.get_or_init(password::dummy_hash));
                false
            }
        })
        .await
    }
}

/// Hashing yields to request handling: at nice 10 the scheduler gives the
/// HTTP workers about nine tenths of a shared core, so a login flood
/// cannot halve token issuance (logins still progress when workers idle).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority with who = 0 changes only the calling thread on
    // Linux and has no memory-safety preconditions.
    unsafe {
        let _ = libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}
