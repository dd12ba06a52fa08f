//! Group commit for revocations. Each revocation must be durable before it
//! is acknowledged, and a commit per request would cap throughput at the
//! disk's fsync rate. Concurrent requests therefore share one transaction:
//! a dedicated thread takes whatever is waiting, runs the jobs, commits
//! once, applies the new events to this node, and only then answers each
//! request.

use std::sync::mpsc::{self, Receiver, Sender};

use crate::error::Error;
use crate::store::{self, DbConnection, Store};

/// Jobs may run twice (alone, after a failed batch), so they are `Fn`.
type Job = Box<dyn Fn(&mut DbConnection) -> Result<(), Error> + Send>;

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
        F: Fn(&mut DbConnection) -> Result<(), Error> + Send + 'static,
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
    // Optimistic: every job in one transaction. Should any fail, the batch
    // rolls back and each job runs again in a transaction of its own, so
    // one bad job costs the others a retry, never their result.
    let shared = store::write(&mut conn, |conn| -> Result<(), Error> {
        for pending in &batch {
            (pending.job)(conn)?;
        }
        Ok(())
    });
    match shared {
        Ok(()) => {
            after_commit(&mut conn);
            for pending in batch {
                let _ = pending.done.send(Ok(()));
            }
        }
        Err(e) if batch.len() == 1 => {
            for pending in batch {
                let _ = pending.done.send(Err(e.to_string()));
            }
        }
        Err(_) => {
            tracing::warn!(
                jobs = batch.len(),
                "a group commit failed; retrying its jobs one by one"
            );
            let results: Vec<(Reply, Result<(), String>)> = batch
                .into_iter()
                .map(|p| {
                    let result =
                        store::write(&mut conn, |c| (p.job)(c)).map_err(|e: Error| e.to_string());
                    (p.done, result)
                })
                .collect();
            after_commit(&mut conn);
            for (reply, result) in results {
                let _ = reply.send(result);
            }
        }
    }
}
