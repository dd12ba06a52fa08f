//! Latch: an OpenID Connect provider that can take back every token it
//! issues. `Application::build` turns settings into a running server; the
//! binary and the tests both use it.

pub mod account;
pub mod actor;
pub mod admin;
pub mod allocator;
pub mod app;
pub mod backup;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod crypto;
pub mod directory;
pub mod doctor;
pub mod error;
pub mod http;
pub mod ids;
pub mod keys;
pub mod limits;
pub mod login;
pub mod oidc;
pub mod operations;
pub mod outbound;
pub mod pages;
pub mod publish;
pub mod revocation;
pub mod routes;
pub mod setup;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod tokens;
pub mod verify;
pub mod workers;

use std::net::{SocketAddr, TcpListener};

use actix_web::dev::{Server, ServerHandle};
use actix_web::web;

use app::Latch;
use config::Settings;
use setup::{Opened, StartError};

/// A server bound to its port, ready to run.
pub struct Application {
    server: Server,
    addr: SocketAddr,
    public_base: String,
    state: web::Data<Latch>,
    background: app::Background,
    bootstrap: Bootstrap,
    /// Held while serving an SQLite file, so a second server refuses it.
    serving_lock: Option<std::fs::File>,
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
        let (serving_lock, (opened, bootstrap)) = {
            let settings = settings.clone();
            tokio::task::spawn_blocking(move || {
                let lock = setup::claim_sqlite_file(&settings.database_url()?)?;
                Ok::<_, StartError>((lock, open_and_bootstrap(&settings)?))
            })
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
        app.serving_lock = serving_lock;
        Ok(app)
    }

    async fn start(
        settings: Settings,
        opened: Opened,
        listener: TcpListener,
        addr: SocketAddr,
    ) -> Result<Application, StartError> {
        let public_base = settings.public_base_for(addr);
        let (latch, metrics, background) =
            Latch::assemble(settings.clone(), opened, public_base.clone())
                .await?
                .spawn_background();
        let state = web::Data::new(latch);
        let metrics = web::Data::from(metrics);
        let app_state = state.clone();
        let mut server =
            actix_web::HttpServer::new(move || routes::app(app_state.clone(), metrics.clone()))
                .shutdown_timeout(settings.shutdown_timeout_s)
                .disable_signals();
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
            serving_lock: None,
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

    /// Serves until SIGTERM or SIGINT, then drains (see `stop_on_signal`),
    /// writes what the background tasks held, and returns.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Application {
            server,
            state,
            background,
            serving_lock,
            ..
        } = self;
        let watcher = tokio::spawn(stop_on_signal(server.handle(), state.clone()));
        let result = server.await;
        watcher.abort();
        background.wind_down().await;
        tracing::info!("stopped");
        drop(serving_lock);
        result
    }

    /// Stops serving at once, as a crashed node would: nothing is drained
    /// and nothing held in memory is written.
    pub async fn vanish(self) {
        self.server.handle().stop(false).await;
        self.background.abort();
    }
}

/// On SIGTERM (an orchestrator) or SIGINT (Ctrl-C): readiness turns false
/// and every response closes its connection; after SIGTERM the node keeps
/// serving for `drain_delay_ms`, so a load balancer moves traffic away
/// first; then it stops accepting and finishes the requests in flight
/// (for at most `shutdown_timeout_s`).
async fn stop_on_signal(handle: ServerHandle, state: web::Data<Latch>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        tracing::warn!("cannot listen for SIGTERM");
        return;
    };
    let delay_ms = tokio::select! {
        _ = term.recv() => state.settings.drain_delay_ms,
        _ = tokio::signal::ctrl_c() => 0,
    };
    tracing::info!(
        drain_delay_ms = delay_ms,
        shutdown_timeout_s = state.settings.shutdown_timeout_s,
        "draining: readiness is false; requests in flight finish, then the node stops"
    );
    state.start_draining();
    tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
    handle.stop(true).await;
}

fn open_and_bootstrap(settings: &Settings) -> Result<(Opened, Bootstrap), StartError> {
    let opened = setup::open(settings)?;
    let mut conn = opened.store.conn()?;
    let master = &opened.master;
    let bootstrap = store::serialised_bootstrap(&mut conn, |conn| {
        let admin_password =
            directory::bootstrap::ensure_master(conn, master, settings.admin_password.as_deref())?;
        let demo = match settings.demo {
            true => Some(directory::bootstrap::ensure_demo(conn, master)?),
            false => None,
        };
        Ok::<_, StartError>(Bootstrap {
            admin_password,
            demo,
        })
    })?;
    drop(conn);
    Ok((opened, bootstrap))
}
