//! Opening a Latch database: connect, migrate, and unlock it with the
//! master key. Shared by `latch serve` and every CLI command.

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use crate::config::{ConfigError, Settings};
use crate::crypto::MasterKey;
use crate::store::{self, DatabaseUrl, Store};

/// Why Latch could not start. `Config` exits with code 2, the rest with 1.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Failed(String),
    /// Nothing failed, but something deserves a look (`latch doctor`'s
    /// warnings): exit code 3, so a script can tell it from a failure.
    #[error("{0}")]
    Warned(String),
}

impl StartError {
    pub fn exit_code(&self) -> i32 {
        match self {
            StartError::Config(_) => 2,
            StartError::Failed(_) => 1,
            StartError::Warned(_) => 3,
        }
    }
}

impl From<store::StoreError> for StartError {
    fn from(e: store::StoreError) -> Self {
        StartError::Failed(e.to_string())
    }
}

impl From<crate::error::Error> for StartError {
    fn from(e: crate::error::Error) -> Self {
        StartError::Failed(e.to_string())
    }
}

/// One SQLite file has one serving process: two writers on one file are
/// not a supported set-up (each node keeps caches and an index that only
/// the shared log would keep current). A lock on `FILE.serve-lock`, held
/// while serving and released by the kernel when the process ends, even by
/// SIGKILL. Command-line tools do not take it: they write through SQLite's
/// own locking, and running nodes pick their changes up from the log.
pub fn claim_sqlite_file(url: &DatabaseUrl) -> Result<Option<std::fs::File>, StartError> {
    claim(url, 50)
}

/// The same lock without waiting: for a restore, which must not replace the
/// file under a server.
pub fn claim_sqlite_file_now(url: &DatabaseUrl) -> Result<Option<std::fs::File>, StartError> {
    claim(url, 1)
}

fn claim(url: &DatabaseUrl, tries: u32) -> Result<Option<std::fs::File>, StartError> {
    let DatabaseUrl::Sqlite(path) = url else {
        return Ok(None);
    };
    let lock_path = format!("{path}.serve-lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| StartError::Failed(format!("cannot open {lock_path}: {e}")))?;
    // A server that is stopping releases it within moments: wait that long.
    for _ in 0..tries {
        match file.try_lock() {
            Ok(()) => return Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => {
                std::thread::sleep(std::time::Duration::from_millis(100))
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(StartError::Failed(format!("cannot lock {lock_path}: {e}")))
            }
        }
    }
    Err(StartError::Failed(format!(
        "another `latch serve` is serving {path}; one SQLite file has one server \
         (run several nodes on PostgreSQL)"
    )))
}

/// An open, migrated, unlocked database.
pub struct Opened {
    pub store: Store,
    pub master: MasterKey,
}

pub fn open(settings: &Settings) -> Result<Opened, StartError> {
    let url = settings.database_url()?;
    let master = load_master_key(settings, &url)?;
    let store = Store::open(&url, settings.pool_size)?;
    let applied = store.migrate()?;
    if !applied.is_empty() {
        tracing::info!(count = applied.len(), "applied database migrations");
    }
    check_master_key(&store, &master)?;
    check_schema_floor(&store)?;
    Ok(Opened { store, master })
}

/// The oldest Latch release that can run on the schema this binary migrates
/// to. Migrations expand (add tables, columns with defaults) so that two
/// consecutive releases run side by side during a rolling upgrade; one that
/// contracts (drops or renames what an older release reads) raises this.
pub const SCHEMA_FLOOR: &str = "0.1.0";
const FLOOR_NAME: &str = "schema_floor";

/// Refuses to run a binary older than the floor a newer one recorded, and
/// records this binary's floor when it is higher.
fn check_schema_floor(store: &Store) -> Result<(), StartError> {
    let own = env!("CARGO_PKG_VERSION");
    let mut conn = store.conn()?;
    store::serialised_bootstrap(&mut conn, |conn| {
        let stored = store::meta::get(conn, FLOOR_NAME)?;
        if let Some(floor) = &stored {
            if release(own) < release(floor) {
                return Err(StartError::Failed(format!(
                    "this database was migrated by a newer Latch and needs Latch {floor} or \
                     later; this is {own} (upgrade the binary, or restore a backup taken \
                     before the upgrade)"
                )));
            }
        }
        if stored.is_none_or(|floor| release(&floor) < release(SCHEMA_FLOOR)) {
            store::meta::set(conn, FLOOR_NAME, SCHEMA_FLOOR)?;
        }
        Ok(())
    })
}

/// Whether this binary may run on a database whose recorded floor is `floor`.
pub fn meets_schema_floor(floor: &str) -> bool {
    release(env!("CARGO_PKG_VERSION")) >= release(floor)
}

/// `major.minor.patch` as numbers (pre-release suffixes ignored).
fn release(version: &str) -> (u64, u64, u64) {
    let mut parts = version
        .split(['.', '-', '+'])
        .map(|p| p.parse::<u64>().unwrap_or(0));
    let mut next = || parts.next().unwrap_or(0);
    (next(), next(), next())
}

/// The schema version: the newest migration applied, and the floor.
pub fn schema_version(store: &Store) -> Result<(Option<String>, Option<String>), StartError> {
    let mut conn = store.conn()?;
    Ok((
        store::meta::newest_migration(&mut conn)?,
        store::meta::get(&mut conn, FLOOR_NAME)?,
    ))
}

/// `LATCH_MASTER_KEY` when set; on SQLite otherwise a key file beside the
/// database, created once (mode 0600); on PostgreSQL it is required, since
/// every node must share it.
pub(crate) fn load_master_key(
    settings: &Settings,
    url: &DatabaseUrl,
) -> Result<MasterKey, StartError> {
    if let Some(text) = &settings.master_key {
        return MasterKey::parse(text).map_err(|e| ConfigError(format!("master_key: {e}")).into());
    }
    match url {
        DatabaseUrl::Postgres(_) => Err(ConfigError(
            "master_key: LATCH_MASTER_KEY is required with PostgreSQL (every node must share it; \
             generate one with `openssl rand -hex 32`)"
                .into(),
        )
        .into()),
        DatabaseUrl::Sqlite(path) => key_file(&key_file_path(path)),
    }
}

/// The master key as `load_master_key` finds it, but never creating a key
/// file: for checks that must leave the deployment as they found it.
pub fn existing_master_key(
    settings: &Settings,
    url: &DatabaseUrl,
) -> Result<MasterKey, StartError> {
    if let (None, DatabaseUrl::Sqlite(path)) = (&settings.master_key, url) {
        let file = key_file_path(path);
        if !file.exists() {
            return Err(StartError::Failed(format!(
                "LATCH_MASTER_KEY is unset and the key file {} does not exist",
                file.display()
            )));
        }
    }
    load_master_key(settings, url)
}

pub fn key_file_path(database_path: &str) -> PathBuf {
    PathBuf::from(format!("{database_path}.key"))
}

fn key_file(path: &PathBuf) -> Result<MasterKey, StartError> {
    let unreadable = |e: std::io::Error| {
        StartError::Failed(format!(
            "cannot read master key file {}: {e}",
            path.display()
        ))
    };
    if path.exists() {
        let text = fs::read_to_string(path).map_err(unreadable)?;
        return MasterKey::parse(&text)
            .map_err(|e| StartError::Failed(format!("master key file {}: {e}", path.display())));
    }
    let key = MasterKey::generate();
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(format!("{}\n", key.encode()).as_bytes())
                .and_then(|_| file.sync_all())
                .map_err(|e| StartError::Failed(format!("cannot write {}: {e}", path.display())))?;
            tracing::info!(path = %path.display(), "generated a master key file");
            Ok(key)
        }
        // Another process created it between our check and our create.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => key_file(path),
        Err(e) => Err(StartError::Failed(format!(
            "cannot create {}: {e}",
            path.display()
        ))),
    }
}

const CHECK_NAME: &str = "master_key_check";

/// Refuses to run on a database whose secrets were sealed with another key.
/// Whether `master` opens the secrets of the database behind `store`.
pub fn check_pairing(store: &Store, master: &MasterKey) -> Result<(), StartError> {
    check_master_key(store, master)
}

/// Whether the key the database recorded is `master`, without recording
/// one (`None`: no key recorded yet).
pub fn recorded_key_matches(
    conn: &mut store::DbConnection,
    master: &MasterKey,
) -> Result<Option<bool>, StartError> {
    Ok(store::meta::get(conn, CHECK_NAME)?.map(|stored| stored == master.check_value()))
}

/// Writes a secret file readable by its owner only; never replaces one.
pub fn write_private(path: &std::path::Path, bytes: &[u8]) -> Result<(), StartError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| StartError::Failed(format!("cannot write {}: {e}", path.display())))?;
    file.write_all(bytes)
        .map_err(|e| StartError::Failed(format!("cannot write {}: {e}", path.display())))
}

fn check_master_key(store: &Store, master: &MasterKey) -> Result<(), StartError> {
    let mut conn = store.conn()?;
    let expected = master.check_value();
    let mismatch = || {
        StartError::Failed(
            "the master key does not match this database (its secrets were sealed with another \
             LATCH_MASTER_KEY); start with the original key"
                .into(),
        )
    };
    match store::meta::get(&mut conn, CHECK_NAME)? {
        Some(stored) if stored == expected => Ok(()),
        Some(_) => Err(mismatch()),
        None => {
            if let Some(row) = store::keys::any_private_key(&mut conn)? {
                crate::keys::open_private(master, &row).map_err(|_| mismatch())?;
            }
            match store::meta::insert(&mut conn, CHECK_NAME, &expected) {
                Ok(()) => Ok(()),
                // A concurrent start stored it first; compare with theirs.
                Err(e) if e.is_unique_violation() => match store::meta::get(&mut conn, CHECK_NAME)?
                {
                    Some(stored) if stored == expected => Ok(()),
                    _ => Err(mismatch()),
                },
                Err(e) => Err(e.into()),
            }
        }
    }
}
