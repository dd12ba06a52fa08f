//! Group commit for revocations. Each revocation must be durable before it
//! is acknowledged, and a commit per request would cap throughput at the
//! disk's fsync rate. Concurrent requests therefore share one transaction:
//! a dedicated thread takes whatever is waiting, runs each job in its own
//! savepoint (so one failure does not sink the others), commits once, and
//! only then answers each request.

use std::sync::mpsc::{self, Receiver, Sender};

use diesel::Connection;

use crate::error::Error;
use crate::store::{self, DbConnection, Store};

type Job = Box<dyn FnOnce(&mut DbConnection) -> Result<(), Error> + Send>;

type Reply = tokio::sync::oneshot::Sender<Result<(), String>>;

struct Pending {
    job: Job,
    done: Reply,
}

#[derive(Clone)]
pub struct Committer {
    jobs: Sender<Pending>,
}

/// Runs after each committed batch, before any of its requests is answered
/// (applies the new events to this node and fans them out).
pub type AfterCommit = Box<dyn Fn(&mut DbConnection) + Send>;

/// Most jobs in one transaction.
const MAX_BATCH: usize = 1024;

impl Committer {
        pub fn start(store: Store, after_commit: AfterCommit) -> Committer {
        let (jobs, receiver) = mpsc::channel::<Pending>();
        let spawned = std::thread::Builder::new()
            .name("latch-committer".into())
            .spawn(move || run(store, receiver, after_commit));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the revocation committer");
        }
        Committer { jobs }
    }

    /// Runs `job` in the next group transaction; returns once it is committed.
    pub async fn submit<F>(&self, job: F) -> Result<(), Error>
    where
        F: FnOnce(&mut DbConnection) -> Result<(), Error> + Send + 'static,
    {
        let (done, wait) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Pending {
                job: Box::new(job),
                done,
            })
            .map_err(|_| Error::Unavailable("the revocation writer has stopped".into()))?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(Error::Unavailable(message)),
            Err(_) => Err(Error::Unavailable(
                "the revocation writer has stopped".into(),
            )),
        }
    }
}

fn run(store: Store, receiver: Receiver<Pending>, after_commit: AfterCommit) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
                commit(&store, batch, &after_commit);
    }
}

fn commit(store: &Store, batch: Vec<Pending>, after_commit: &AfterCommit) {
    let mut conn = match store.conn() {
        Ok(conn) => conn,
        Err(e) => {
            let message = e.to_string();
            for pending in batch {
                let _ = pending.done.send(Err(message.clone()));
            }
            return;
        }
    };
    let mut results: Vec<(Reply, Result<(), String>)> = Vec::with_capacity(batch.len());
    let committed = store::write(&mut conn, |conn| -> Result<(), Error> {
        for pending in batch {
            // A savepoint per job: a failing job rolls back only itself.
            let result = conn
                .transaction(|c| (pending.job)(c))
                .map_err(|e: Error| e.to_string());
            results.push((pending.done, result));
        }
        Ok(())
    });
    match committed {
                Ok(()) => {
            after_commit(&mut conn);
            for (done, result) in results {
                let _ = done.send(result);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "group commit failed");
            let message = format!("could not commit: {e}");
            for (done, _) in results {
                let _ = done.send(Err(message.clone()));
            }
        }
    }
}
