//! Latch: an OpenID Connect provider that can take back every token it
//! issues. `Application::build` turns settings into a running server; the
//! binary and the tests both use it.

pub mod account;
pub mod admin;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod crypto;
pub mod directory;
pub mod error;
pub mod http;
pub mod keys;
pub mod limits;
pub mod login;
pub mod oidc;
pub mod revocation;
pub mod setup;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod tokens;
pub mod verify;
pub mod workers;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::web;

use config::Settings;
use directory::Directory;
use http::metrics::Metrics;
use http::AppState;
use revocation::{EventSink, Follower};
use setup::{Opened, StartError};

/// A server bound to its port, ready to run.
pub struct Application {
    server: Server,
    addr: SocketAddr,
    public_base: String,
    state: web::Data<AppState>,
    background: Vec<tokio::task::JoinHandle<()>>,
    bootstrap: Bootstrap,
}

/// What the first start (and `--demo`) created, for the start-up banner.
#[derive(Default)]
pub struct Bootstrap {
    /// The generated password of `master`'s admin, on the first start only.
    pub admin_password: Option<String>,
    pub demo: Option<directory::bootstrap::Demo>,
}

impl Application {
    /// Opens the database (migrating it), creates the `master` realm on
    /// first start, binds the listener and starts the background tasks.
    pub async fn build(settings: Settings) -> Result<Application, StartError> {
        let addr = settings.listen_addr()?;
        let (opened, bootstrap) = {
            let settings = settings.clone();
            tokio::task::spawn_blocking(move || open_and_bootstrap(&settings))
                .await
                .map_err(|e| StartError::Failed(format!("start-up task failed: {e}")))??
        };
        let listener = TcpListener::bind(addr)
            .map_err(|e| StartError::Failed(format!("cannot listen on {addr}: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| StartError::Failed(format!("cannot read bound address: {e}")))?;
        let mut app = Self::start(settings, opened, listener, addr).await?;
        app.bootstrap = bootstrap;
        Ok(app)
    }

    async fn start(
        settings: Settings,
        opened: Opened,
        listener: TcpListener,
        addr: SocketAddr,
    ) -> Result<Application, StartError> {
        let Opened { store, master } = opened;
        let public_base = settings.public_base_for(addr);
        {
            let (store, master, base) = (store.clone(), master.clone(), public_base.clone());
            tokio::task::spawn_blocking(move || -> Result<(), error::Error> {
                let mut conn = store.conn()?;
                directory::bootstrap::ensure_builtins_everywhere(&mut conn, &master, &base)
            })
            .await
            .map_err(|e| StartError::Failed(format!("start-up task failed: {e}")))??;
        }
        let directory = Arc::new(Directory::new(store.clone(), master));
        let index = Arc::new(revocation::Index::default());
        let (event_feed, _) = tokio::sync::broadcast::channel(4096);
        let metrics = web::Data::new(Metrics::default());
        let follower = {
            let store = store.clone();
            let index = Arc::clone(&index);
            let sinks: Vec<Arc<dyn EventSink>> = vec![
                directory.clone(),
                Arc::new(revocation::Feed(event_feed.clone())),
            ];
            tokio::task::spawn_blocking(move || Follower::new(store, index, sinks))
                .await
                .map_err(|e| StartError::Failed(format!("start-up task failed: {e}")))??
        };
        let poll = Duration::from_millis(settings.revocation_poll_ms);
        follower.metrics.register(&metrics);
        let fanout = match &settings.redis {
            Some(url) => {
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
                Some(fanout)
            }
            None => None,
        };
        let clock = Arc::new(clock::Clock::skewed(settings.simulate_clock_skew_ms));
        {
            let (clock, store) = (Arc::clone(&clock), store.clone());
            let offset = store.run(move |conn| clock.sync(conn)).await?;
            tracing::debug!(offset_ms = offset, "measured the database clock");
        }
        let mut background = vec![
            follower.spawn_polling(poll),
            keys::maintenance::spawn(
                store.clone(),
                Arc::clone(&directory),
                Duration::from_secs(1),
            ),
            revocation::housekeeping::spawn(store.clone(), Arc::clone(&index), Arc::clone(&clock)),
            revocation::expiry::spawn(
                store.clone(),
                Arc::clone(&follower),
                fanout.clone(),
                Arc::clone(&clock),
            ),
        ];
        if let Some(fanout) = &fanout {
            background.push(fanout.spawn_subscriber(Arc::clone(&follower)));
        }
        let deliverer = revocation::notices::Deliverer::new(
            store.clone(),
            Arc::clone(&directory),
            public_base.clone(),
            settings.backchannel_horizon_s,
        )?;
        background.push(deliverer.spawn(Duration::from_millis(250)));
        let status_lists = {
            let (store, index, follower) =
                (store.clone(), Arc::clone(&index), Arc::clone(&follower));
            tokio::task::spawn_blocking(move || {
                revocation::status_list::StatusLists::load(store, index, follower)
            })
            .await
            .map_err(|e| StartError::Failed(format!("start-up task failed: {e}")))??
        };
        background.push(status_lists.spawn_sync(Duration::from_millis(200)));
        let committer = revocation::committer::Committer::start(
            store.clone(),
            after_commit(&follower, fanout.clone()),
        );
        tokens::set_leeway_s(settings.clock_leeway_s);
        let defences = Arc::new(limits::Defences::from_settings(&settings));
        background.push({
            let defences = Arc::clone(&defences);
            tokio::spawn(async move {
                let mut ticker = tokio::time::interval(Duration::from_secs(60));
                loop {
                    ticker.tick().await;
                    defences.prune(time::now_ms());
                }
            })
        });
        let state = web::Data::new(AppState {
            settings: settings.clone(),
            public_base: public_base.clone(),
            directory,
            follower,
            clock,
            password_pool: login::password_pool::PasswordPool::for_this_machine(),
            index,
            committer,
            verified: tokens::cache::VerifiedCache::default(),
            fanout,
            event_feed,
            status_lists,
            defences,
        });
        let app_state = state.clone();
        let mut server =
            actix_web::HttpServer::new(move || http::app(app_state.clone(), metrics.clone()))
                .shutdown_timeout(10);
        if settings.workers > 0 {
            server = server.workers(settings.workers);
        }
        let server = match (&settings.tls_cert, &settings.tls_key) {
            (Some(cert), Some(key)) => {
                let tls = http::tls::server_config(cert, key)?;
                server.listen_rustls_0_23(listener, tls)
            }
            _ => server.listen(listener),
        }
        .map_err(|e| StartError::Failed(format!("cannot serve on {addr}: {e}")))?
        .run();
        Ok(Application {
            server,
            addr,
            public_base,
            state,
            background,
            bootstrap: Bootstrap::default(),
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn public_base(&self) -> &str {
        &self.public_base
    }

    pub fn issuer(&self, realm: &str) -> String {
        self.state.issuer(realm)
    }

    pub fn bootstrap(&self) -> &Bootstrap {
        &self.bootstrap
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM/SIGINT (actix stops gracefully: in-flight
    /// requests finish within the shutdown timeout).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        for task in self.background {
            task.abort();
        }
        result
    }
}

fn open_and_bootstrap(settings: &Settings) -> Result<(Opened, Bootstrap), StartError> {
    let opened = setup::open(settings)?;
    let mut conn = opened.store.conn()?;
    let admin_password = directory::bootstrap::ensure_master(
        &mut conn,
        &opened.master,
        settings.admin_password.as_deref(),
    )?;
    let demo = if settings.demo {
        Some(directory::bootstrap::ensure_demo(
            &mut conn,
            &opened.master,
        )?)
    } else {
        None
    };
    drop(conn);
    Ok((
        opened,
        Bootstrap {
            admin_password,
            demo,
        },
    ))
}

/// What the group committer does after each commit: apply the batch's
/// events to this node's index, then publish them to the other nodes.
fn after_commit(
    follower: &revocation::FollowerHandle,
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
