//! Storage: one diesel connection type for SQLite and PostgreSQL, an r2d2
//! pool, embedded migrations, and the queries of each table in its own module.
//! Nothing here knows about HTTP or the protocol.

pub mod audit;
pub mod clients;
pub mod codes;
pub mod consents;
pub mod credentials;
pub mod events;
pub mod groups;
pub mod keys;
pub mod meta;
pub mod outbox;
pub mod passwords;
pub mod realms;
pub mod refresh;
pub mod roles;
pub mod schema;
pub mod scopes;
pub mod sessions;
pub mod status;
pub mod users;

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Serialises migrations when several nodes start at once on one PostgreSQL.
const MIGRATION_LOCK_ID: i64 = 0x4c41_5443_4801;
/// Serialises the bootstrap (realm `master`, its roles and admin, the demo
/// realm, built-in clients, scopes and keys) the same way.
const BOOTSTRAP_LOCK_ID: i64 = 0x4c41_5443_4802;

/// A connection to either backend; queries are written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(diesel::SqliteConnection),
    Pg(diesel::PgConnection),
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConnection = r2d2::PooledConnection<Manager>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("database migration failed: {0}")]
    Migration(String),
}

impl From<r2d2::Error> for StoreError {
    fn from(e: r2d2::Error) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

impl StoreError {
    /// True when an insert hit a UNIQUE constraint (a duplicate name).
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            StoreError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
}

/// Where the data lives, parsed from `sqlite://PATH` or `postgres://...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(String),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(format!("`{url}` names no file (use sqlite://PATH)"));
            }
            Ok(DatabaseUrl::Sqlite(path.to_string()))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseUrl::Postgres(url.to_string()))
        } else {
            Err(format!(
                "`{url}` is not a supported database URL (use sqlite://PATH or postgres://USER@HOST/DB)"
            ))
        }
    }

    /// The URL with any password removed, for logs and messages.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{path}"),
            DatabaseUrl::Postgres(url) => match url::Url::parse(url) {
                Ok(mut parsed) if parsed.password().is_some() => {
                    let _ = parsed.set_password(Some("***"));
                    parsed.to_string()
                }
                _ => url.clone(),
            },
        }
    }
}

/// The r2d2 connection manager: opens the right backend and tunes SQLite.
#[derive(Debug)]
pub struct Manager {
    url: DatabaseUrl,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let mut conn = diesel::SqliteConnection::establish(path)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                // WAL lets readers run beside the writer; FULL makes every
                // acknowledged commit survive a power cut, not just a crash.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
                )
                .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => diesel::PgConnection::establish(url)
                .map(DbConnection::Pg)
                .map_err(diesel::r2d2::Error::ConnectionError),
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// The shared handle to the database: a pool, the threads that run
/// blocking queries (one per connection, so waiting work queues instead of
/// piling up threads), and the URL it came from.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    url: DatabaseUrl,
    workers: crate::workers::Workers,
}

/// Initialises OpenSSL (shared by libpq and josekit) before anything else
/// does, without its exit-time clean-up: that clean-up would race threads
/// still holding PostgreSQL connections while the process exits.
pub fn init_crypto_library() {
    openssl::init();
}

impl Store {
    /// Connects (failing fast with the driver's own message) and builds the pool.
    pub fn open(url: &DatabaseUrl, pool_size: u32) -> Result<Store, StoreError> {
        init_crypto_library();
        let manager = Manager { url: url.clone() };
        // One direct attempt first: r2d2 would only report a timeout.
        r2d2::ManageConnection::connect(&manager)
            .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", url.redacted())))?;
        let pool = r2d2::Pool::builder()
            .max_size(pool_size.max(1))
            // Connections open on demand; a short-lived CLI process opens one.
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(5))
            .build(manager)?;
        Ok(Store {
            pool,
            url: url.clone(),
            workers: crate::workers::Workers::start("latch-db", pool_size as usize, || {}),
        })
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    pub fn conn(&self) -> Result<PooledConnection, StoreError> {
        Ok(self.pool.get()?)
    }

    /// Runs blocking database work off the async executor.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let store = self.clone();
        match self
            .workers
            .run(move || {
                store
                    .conn()
                    .map_err(E::from)
                    .and_then(|mut conn| f(&mut conn))
            })
            .await
        {
            Ok(result) => result,
            Err(_) => Err(E::from(StoreError::Unavailable(
                "database threads have stopped".into(),
            ))),
        }
    }

    /// Applies pending migrations; returns the versions applied.
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn()?;
        migrate(&mut conn)
    }

    /// The migrations the database has applied and those this binary
    /// carries that it has not, each oldest first. Reads only: diesel's own
    /// check would create its bookkeeping table in a database never migrated.
    pub fn migrations(&self) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let mut conn = self.conn()?;
        let applied = meta::applied_migrations(&mut conn)?;
        let carried = match &*conn {
            DbConnection::Sqlite(_) => versions::<diesel::sqlite::Sqlite>(&SQLITE_MIGRATIONS)?,
            DbConnection::Pg(_) => versions::<diesel::pg::Pg>(&POSTGRES_MIGRATIONS)?,
        };
        let pending = carried
            .into_iter()
            .filter(|version| !applied.contains(version))
            .collect();
        Ok((applied, pending))
    }
}

fn versions<DB: diesel::backend::Backend>(
    source: &impl MigrationSource<DB>,
) -> Result<Vec<String>, StoreError> {
    let mut versions: Vec<String> = source
        .migrations()
        .map_err(|e| StoreError::Migration(e.to_string()))?
        .iter()
        .map(|m| m.name().version().to_string())
        .collect();
    versions.sort();
    Ok(versions)
}

fn migrate(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    let applied = match conn {
        DbConnection::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|v| v.iter().map(|m| m.to_string()).collect()),
        DbConnection::Pg(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_ID})"))?;
            let result = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.iter().map(|m| m.to_string()).collect());
            c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_ID})"))?;
            result
        }
    };
    applied.map_err(|e| StoreError::Migration(e.to_string()))
}

/// An update whose changes are all "leave as it is" changes nothing: diesel
/// refuses an empty `SET`, which is not a failure of the caller's request.
pub fn updated(result: QueryResult<usize>) -> Result<(), StoreError> {
    match result {
        Err(diesel::result::Error::QueryBuilderError(e))
            if e.is::<diesel::result::EmptyChangeset>() =>
        {
            Ok(())
        }
        other => other.map(|_| ()).map_err(StoreError::from),
    }
}

/// Runs `f` in a write transaction. On SQLite it is `BEGIN IMMEDIATE`, which
/// takes the write lock up front so a read-then-write transaction never
/// fails half-way with "database is locked".
pub fn write<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let DbConnection::Sqlite(inner) = conn else {
        return conn.transaction(f);
    };
    // Nested: the outer transaction already holds the lock; use a savepoint.
    if AnsiTransactionManager::transaction_manager_status_mut(inner)
        .transaction_depth()?
        .is_some()
    {
        return conn.transaction(f);
    }
    AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
    let result = f(conn);
    if let DbConnection::Sqlite(inner) = conn {
        match result {
            Ok(_) => AnsiTransactionManager::commit_transaction(inner)?,
            Err(_) => AnsiTransactionManager::rollback_transaction(inner)?,
        }
    }
    result
}

/// Runs start-up work that checks, then creates, while every other node
/// starting on the same PostgreSQL database waits: orchestrators start
/// replicas together, and each must find what the first one created rather
/// than create it again. One SQLite file has one serving process.
pub fn serialised_bootstrap<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<StoreError>,
{
    if let DbConnection::Pg(c) = conn {
        c.batch_execute(&format!("SELECT pg_advisory_lock({BOOTSTRAP_LOCK_ID})"))
            .map_err(StoreError::from)?;
    }
    let result = f(conn);
    if let DbConnection::Pg(c) = conn {
        c.batch_execute(&format!("SELECT pg_advisory_unlock({BOOTSTRAP_LOCK_ID})"))
            .map_err(StoreError::from)?;
    }
    result
}

/// Serialises writers of one realm's keys across nodes. SQLite's
/// `BEGIN IMMEDIATE` already serialises every writer; on PostgreSQL this
/// takes a transaction-scoped advisory lock.
pub fn lock_realm(conn: &mut DbConnection, realm_id: &str) -> Result<(), StoreError> {
    if let DbConnection::Pg(c) = conn {
        let digest = crate::crypto::sha256(realm_id.as_bytes());
        let mut word = [0u8; 8];
        word.copy_from_slice(&digest[..8]);
        let key = i64::from_le_bytes(word);
        c.batch_execute(&format!("SELECT pg_advisory_xact_lock({key})"))?;
    }
    Ok(())
}
