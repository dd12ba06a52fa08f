//! A small, bounded pool of threads for password hashing. argon2id costs
//! tens of milliseconds of CPU per check by design; running it here keeps a
//! login flood from starving token issuance, and when the queue is full a
//! login is refused at once (503) instead of waiting without bound.

use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

pub struct PasswordPool {
    jobs: SyncSender<Job>,
    slots: Arc<tokio::sync::Semaphore>,
}

/// A place in the pool, taken before any other work on a sign-in so a
/// flood is turned away at the cost of an atomic operation.
pub struct Reservation {
    jobs: SyncSender<Job>,
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
        let (jobs, receiver) = mpsc::sync_channel::<Job>(queue + threads);
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..threads {
            let receiver = Arc::clone(&receiver);
            let spawned = std::thread::Builder::new()
                .name(format!("latch-password-{n}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = match receiver.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password-hashing thread");
            }
        }
        PasswordPool {
            jobs,
            slots: Arc::new(tokio::sync::Semaphore::new(queue + threads)),
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
            jobs: self.jobs.clone(),
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
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(work());
        });
        match self.jobs.try_send(job) {
            Ok(()) => rx.await.map_err(|_| Busy),
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => Err(Busy),
        }
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
