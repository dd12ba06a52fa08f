//! The service handle: everything a front door (protocol endpoints, admin
//! API, console, account page, CLI) needs to run a use-case — settings,
//! clock, directory, revocation index, committer, fan-out, verified-token
//! cache, status lists, defences. Built once by `Latch::assemble`; serving
//! it over HTTP is `crate::Application`'s job.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::config::{self, Settings};
use crate::directory::Directory;
use crate::error::Error;
use crate::revocation::{self, EventSink, Follower, FollowerHandle};
use crate::setup::{Opened, StartError};
use crate::telemetry::{InMemorySizes, Metrics};
use crate::{clock, keys, limits, login, outbound, publish, time, tokens};

/// What every front door can reach.
pub struct Latch {
    pub settings: Settings,
    pub public_base: String,
    pub directory: Arc<Directory>,
    pub follower: FollowerHandle,
    pub clock: Arc<clock::Clock>,
    pub password_pool: login::password_pool::PasswordPool,
    pub index: Arc<revocation::Index>,
    pub committer: revocation::committer::Committer,
    /// The access-token check (DESIGN §4) with this server's leeway.
    pub access: Arc<tokens::AccessCheck>,
    pub fanout: Option<Arc<revocation::fanout::Fanout>>,
    /// Every event this node applies, for the revocation event stream.
    pub event_feed: tokio::sync::broadcast::Sender<Arc<crate::store::events::Event>>,
    pub status_lists: Arc<publish::status_list::StatusLists>,
    /// The one client for addresses others chose (back-channel URIs…).
    pub outbound: outbound::Outbound,
    pub defences: Arc<limits::Defences>,
    /// Set when the node starts to stop: readiness turns false and every
    /// response closes its connection.
    draining: AtomicBool,
}

/// The handle, before the background tasks that keep it current start.
pub struct Assembled {
    pub latch: Latch,
    pub metrics: Arc<Metrics>,
    deliverer: publish::backchannel::Deliverer,
}

impl Latch {
    pub fn issuer(&self, realm: &str) -> String {
        format!("{}/realms/{realm}", self.public_base)
    }

    /// Whether Latch is served over TLS: cookies are then `Secure` with the
    /// `__Host-` prefix.
    pub fn secure_cookies(&self) -> bool {
        self.public_base.starts_with("https://")
    }

    /// Whether the node is stopping (readiness is then false).
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    /// The password check with this node's defences.
    pub fn checker(&self) -> login::credentials::Checker<'_> {
        login::credentials::Checker {
            pool: &self.password_pool,
            directory: &self.directory,
            defences: &self.defences,
            now_ms: self.clock.now_ms(),
        }
    }

    /// After a committed revocation: apply it here, publish it to the others.
    pub async fn announce(&self) -> Result<(), crate::store::StoreError> {
        revocation::announce(&self.follower, self.fanout.as_ref()).await
    }

    /// Builds the handle on an opened database: the built-in realms'
    /// defaults, the directory, the revocation index rebuilt from the log,
    /// the fan-out, the clock synced with the database, the status lists,
    /// the committer and the access check. Nothing runs in the background
    /// until `Assembled::spawn_background`.
    pub async fn assemble(
        settings: Settings,
        opened: Opened,
        public_base: String,
    ) -> Result<Assembled, StartError> {
        let Opened { store, master } = opened;
        ensure_builtins(&store, &master, &public_base).await?;
        let directory = Arc::new(Directory::new(store.clone(), master));
        let index = Arc::new(revocation::Index::default());
        let (event_feed, _) = tokio::sync::broadcast::channel(4096);
        let metrics = Arc::new(Metrics::default());
        let follower = {
            let (store, index) = (store.clone(), Arc::clone(&index));
            let sinks: Vec<Arc<dyn EventSink>> = vec![
                directory.clone(),
                Arc::new(revocation::Feed(event_feed.clone())),
            ];
            blocking(move || Follower::new(store, index, sinks)).await??
        };
        follower.metrics.register(&metrics);
        let fanout = connect_fanout(&settings, &metrics)?;
        let clock = Arc::new(clock::Clock::skewed(settings.simulate_clock_skew_ms));
        {
            let (clock, store) = (Arc::clone(&clock), store.clone());
            let offset = store.run(move |conn| clock.sync(conn)).await?;
            tracing::debug!(offset_ms = offset, "measured the database clock");
        }
        let outbound = outbound::Outbound::new(settings.outbound_policy())?;
        let deliverer = publish::backchannel::Deliverer::new(
            store.clone(),
            Arc::clone(&directory),
            outbound.clone(),
            public_base.clone(),
            settings.backchannel_horizon_s,
        );
        let status_lists = {
            let (store, index, follower) =
                (store.clone(), Arc::clone(&index), Arc::clone(&follower));
            blocking(move || publish::status_list::StatusLists::load(store, index, follower))
                .await??
        };
        let committer =
            revocation::committer::Committer::start(store, after_commit(&follower, fanout.clone()));
        let access = Arc::new(tokens::AccessCheck::new(
            Arc::clone(&clock),
            Arc::clone(&index),
            Arc::clone(&status_lists),
            &public_base,
            settings.clock_leeway_s,
        ));
        let defences = Arc::new(limits::Defences::from_settings(&settings));
        let latch = Latch {
            settings,
            public_base,
            directory,
            follower,
            clock,
            password_pool: login::password_pool::PasswordPool::for_this_machine(),
            index,
            committer,
            access,
            fanout,
            event_feed,
            status_lists,
            outbound,
            defences,
            draining: AtomicBool::new(false),
        };
        Ok(Assembled {
            latch,
            metrics,
            deliverer,
        })
    }

    /// `/metrics`' count of what each structure that grows with traffic
    /// holds (`latch_in_memory_entries`).
    fn in_memory_sizes(&self) -> InMemorySizes {
        let (index, access) = (Arc::clone(&self.index), Arc::clone(&self.access));
        let (lists, defences) = (Arc::clone(&self.status_lists), Arc::clone(&self.defences));
        let (slots, unwritten, orphaned) = (lists.clone(), lists.clone(), lists);
        InMemorySizes::default()
            .with("revocation_index", move || index.len())
            .with("verified_token_cache", move || access.cached())
            .with("status_list_slots", move || slots.held().slots)
            .with("status_list_unwritten_slots", move || {
                unwritten.held().unwritten
            })
            .with("status_list_orphaned_indices", move || {
                orphaned.held().orphaned
            })
            .with("rate_limit_buckets", move || defences.buckets())
    }

    /// Opens the database and builds the handle for one command-line
    /// operation: no background task runs, and changes reach running nodes
    /// through the announcement (Redis) or their poll of the log.
    pub async fn for_tool(settings: Settings) -> Result<Latch, StartError> {
        let public_base = settings.public_base_for(settings.listen_addr()?);
        let opened = {
            let settings = settings.clone();
            blocking(move || crate::setup::open(&settings)).await??
        };
        Ok(Latch::assemble(settings, opened, public_base).await?.latch)
    }
}

impl Assembled {
    /// Starts the tasks that keep a serving node current: the log poll,
    /// key maintenance, housekeeping, expiry, the Redis subscriber,
    /// back-channel delivery, status-list sync, and forgetting expired
    /// verified tokens and idle limiter buckets.
    pub fn spawn_background(self) -> (Latch, Arc<Metrics>, Background) {
        let Assembled {
            latch,
            metrics,
            deliverer,
        } = self;
        metrics.register_collector(latch.in_memory_sizes());
        let store = latch.directory.store().clone();
        let deliverer = Arc::new(deliverer);
        let mut tasks = vec![
            latch
                .follower
                .spawn_polling(Duration::from_millis(latch.settings.revocation_poll_ms)),
            keys::maintenance::spawn(
                store.clone(),
                Arc::clone(&latch.directory),
                Duration::from_secs(1),
            ),
            revocation::housekeeping::spawn(
                store.clone(),
                Arc::clone(&latch.index),
                Arc::clone(&latch.clock),
            ),
            revocation::expiry::spawn(
                store,
                Arc::clone(&latch.follower),
                latch.fanout.clone(),
                Arc::clone(&latch.clock),
            ),
            Arc::clone(&deliverer).spawn(Duration::from_millis(250)),
            latch.status_lists.spawn_sync(Duration::from_millis(200)),
            prune_defences(Arc::clone(&latch.defences)),
            forget_expired_tokens(Arc::clone(&latch.access)),
        ];
        if let Some(fanout) = &latch.fanout {
            tasks.push(fanout.spawn_subscriber(Arc::clone(&latch.follower)));
        }
        let background = Background {
            tasks,
            status_lists: Arc::clone(&latch.status_lists),
            deliverer,
        };
        (latch, metrics, background)
    }
}

/// The tasks that keep a serving node current, and what they hold that
/// must reach the database before the node goes.
pub struct Background {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    status_lists: Arc<publish::status_list::StatusLists>,
    deliverer: Arc<publish::backchannel::Deliverer>,
}

impl Background {
    /// Stops the tasks, then writes what they held: the status-list slots
    /// not yet written (and closes this node's blocks, so no other node
    /// takes them for a vanished node's), and gives back this node's
    /// claims on back-channel notices, so another node delivers them now.
    pub async fn wind_down(self) {
        for task in &self.tasks {
            task.abort();
        }
        if let Err(e) = self.status_lists.close().await {
            tracing::warn!(error = %e, "cannot write the last status-list slots");
        }
        if let Err(e) = self.deliverer.release_claims().await {
            tracing::warn!(error = %e, "cannot give back back-channel notices");
        }
    }

    /// Stops the tasks without writing anything (a server that vanishes).
    pub fn abort(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}

/// Every realm's built-in clients, scopes and keys (a realm made by an
/// earlier release, or imported, may lack some), once across nodes.
async fn ensure_builtins(
    store: &crate::store::Store,
    master: &crate::crypto::MasterKey,
    public_base: &str,
) -> Result<(), StartError> {
    let (store, master, base) = (store.clone(), master.clone(), public_base.to_string());
    blocking(move || -> Result<(), Error> {
        let mut conn = store.conn()?;
        crate::store::serialised_bootstrap(&mut conn, |conn| {
            crate::directory::bootstrap::ensure_builtins_everywhere(conn, &master, &base)
        })
    })
    .await??;
    Ok(())
}

/// Runs start-up work that blocks (database, files) off the executor.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StartError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StartError::Failed(format!("start-up task failed: {e}")))
}

fn connect_fanout(
    settings: &Settings,
    metrics: &Metrics,
) -> Result<Option<Arc<revocation::fanout::Fanout>>, StartError> {
    let Some(url) = &settings.redis else {
        return Ok(None);
    };
    let fanout = revocation::fanout::Fanout::new(
        url,
        &settings.redis_channel,
        settings.simulate_fanout_loss_one_in,
    )
    .map_err(|e| StartError::Config(config::ConfigError(e)))?;
    metrics.register(
        "redis_fanout_connected",
        "1 while subscribed to Redis fan-out",
        fanout.connected.clone(),
    );
    Ok(Some(fanout))
}

fn prune_defences(defences: Arc<limits::Defences>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(60));
        loop {
            ticker.tick().await;
            defences.prune(time::now_ms());
        }
    })
}

/// How often the verified-token cache drops the tokens that expired: the
/// sweep is a pass over at most 32,768 entries.
const FORGET_EXPIRED_EVERY: Duration = Duration::from_secs(5);
/// How often memory the sweeps freed goes back to the system.
const GIVE_BACK_EVERY: Duration = Duration::from_secs(30);

/// Memory held for a token ends with the token: without this sweep, a
/// token verified once would stay cached until its shard filled up. What
/// the sweeps (this one, the index's, the status lists') freed is then
/// handed back, so a node's RSS follows what it holds.
fn forget_expired_tokens(access: Arc<tokens::AccessCheck>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(FORGET_EXPIRED_EVERY);
        let mut given_back = std::time::Instant::now();
        loop {
            ticker.tick().await;
            let forgotten = access.forget_expired();
            tracing::trace!(forgotten, "expired tokens left the verified-token cache");
            if given_back.elapsed() >= GIVE_BACK_EVERY {
                given_back = std::time::Instant::now();
                let took = tokio::task::spawn_blocking(|| {
                    let started = std::time::Instant::now();
                    crate::allocator::give_back_freed();
                    started.elapsed()
                });
                if let Ok(took) = took.await {
                    tracing::debug!(?took, "freed memory handed back to the system");
                }
            }
        }
    })
}

/// What the group committer does after each commit: apply the batch's
/// events to this node's index, then publish them to the other nodes.
fn after_commit(
    follower: &FollowerHandle,
    fanout: Option<Arc<revocation::fanout::Fanout>>,
) -> revocation::committer::AfterCommit {
    let follower = Arc::clone(follower);
    let runtime = tokio::runtime::Handle::current();
    Box::new(move |conn| match follower.catch_up_on(conn) {
        Ok(events) => {
            if let Some(fanout) = &fanout {
                runtime.block_on(fanout.publish(&events));
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot read back committed events; the poll will"),
    })
}
