//! Backups of the embedded database while it serves, and restoring one.
//! PostgreSQL deployments use `pg_dump` / `pg_restore` (README, "Backups").

use std::path::{Path, PathBuf};

use diesel::RunQueryDsl;

use crate::config::{ConfigError, Settings};
use crate::setup::{self, StartError};
use crate::store::{DatabaseUrl, Store};

/// What a backup wrote.
#[derive(Debug)]
pub struct Written {
    pub database: PathBuf,
    /// The master key file copied beside it, when the key lives in one.
    pub key_file: Option<PathBuf>,
}

fn sqlite_path(settings: &Settings, what: &str) -> Result<String, StartError> {
    match settings.database_url()? {
        DatabaseUrl::Sqlite(path) => Ok(path),
        DatabaseUrl::Postgres(_) => Err(ConfigError(format!(
            "`latch {what}` copies the embedded SQLite database; for PostgreSQL use pg_dump and \
             pg_restore (see the README's Backups section)"
        ))
        .into()),
    }
}

/// A consistent copy of the live database (SQLite's `VACUUM INTO` reads one
/// snapshot while the server goes on writing), after checking that the
/// master key pairs with it. A key kept in a file is copied beside the
/// backup (`FILE.key`, mode 0600): without it the signing keys in the
/// backup cannot be opened.
pub fn backup(settings: &Settings, to: &Path) -> Result<Written, StartError> {
    let path = sqlite_path(settings, "backup")?;
    if to.exists() {
        return Err(StartError::Failed(format!(
            "{} exists; a backup never overwrites a file",
            to.display()
        )));
    }
    let opened = setup::open(settings)?;
    let target = to.to_string_lossy().replace('\'', "''");
    let mut conn = opened.store.conn()?;
    diesel::sql_query(format!("VACUUM INTO '{target}'"))
        .execute(&mut *conn)
        .map_err(|e| StartError::Failed(format!("backup failed: {e}")))?;
    let key_file = match settings.master_key {
        Some(_) => None,
        None => {
            let copy = PathBuf::from(format!("{}.key", to.display()));
            copy_private(&setup::key_file_path(&path), &copy)?;
            Some(copy)
        }
    };
    Ok(Written {
        database: to.to_path_buf(),
        key_file,
    })
}

/// Puts a backup in place of the configured database. Refused while a
/// server serves that file, and when the master key does not open the
/// backup's secrets; the key file taken with the backup comes along when
/// the target has none.
pub fn restore(settings: &Settings, from: &Path) -> Result<(), StartError> {
    let path = sqlite_path(settings, "restore")?;
    let lock = setup::claim_sqlite_file_now(&DatabaseUrl::Sqlite(path.clone()))?;
    let key_path = setup::key_file_path(&path);
    let saved_key = PathBuf::from(format!("{}.key", from.display()));
    if settings.master_key.is_none() && !key_path.exists() && saved_key.exists() {
        copy_private(&saved_key, &key_path)?;
    }
    let master = setup::load_master_key(settings, &DatabaseUrl::Sqlite(path.clone()))?;
    let backup = Store::open(&DatabaseUrl::Sqlite(from.to_string_lossy().into()), 1)?;
    setup::check_pairing(&backup, &master)?;
    drop(backup);
    let staging = format!("{path}.restoring");
    std::fs::copy(from, &staging).map_err(|e| io_failed(&staging, e))?;
    for stale in [format!("{path}-wal"), format!("{path}-shm")] {
        let _ = std::fs::remove_file(stale);
    }
    std::fs::rename(&staging, &path).map_err(|e| io_failed(&path, e))?;
    drop(lock);
    Ok(())
}

fn copy_private(from: &Path, to: &Path) -> Result<(), StartError> {
    let text = std::fs::read(from).map_err(|e| io_failed(&from.display().to_string(), e))?;
    setup::write_private(to, &text)
}

fn io_failed(what: &str, e: std::io::Error) -> StartError {
    StartError::Failed(format!("{what}: {e}"))
}
