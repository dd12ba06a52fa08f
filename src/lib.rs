//! Latch: an OpenID Connect provider that can take back every token it
//! issues. `Application::build` turns settings into a running server; the
//! binary and the tests both use it.

pub mod account;
pub mod actor;
pub mod admin;
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
    background: Vec<tokio::task::JoinHandle<()>>,
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

    /// Serves until SIGTERM/SIGINT (actix stops gracefully: in-flight
    /// requests finish within the shutdown timeout).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let serving_lock = self.serving_lock;
        let result = self.server.await;
        drop(serving_lock);
        for task in self.background {
            task.abort();
        }
        result
    }
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
