//! The database: does it answer, is its schema this binary's, does the
//! master key open its secrets, does its clock agree with this host's, and
//! is every realm's key ring whole.

use std::path::Path;
use std::time::{Duration, Instant};

use super::{keyring, Check};
use crate::clock::Clock;
use crate::config::Settings;
use crate::setup::{self, SCHEMA_FLOOR};
use crate::store::{self, DatabaseUrl, Store};

/// How long the database may take to accept a connection.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(10);

/// Clock offsets (ms) worth a warning, and a failure (the default clock
/// leeway: tokens' `iat` may lie that far in the future).
const CLOCK_WARN_MS: i64 = 1_000;
const CLOCK_FAIL_MS: i64 = 30_000;

/// Connects, without creating anything: a SQLite file that is not there is
/// reported, not made.
pub(super) fn open(settings: &Settings) -> Result<(Store, Check), Check> {
    let url = settings
        .database_url()
        .map_err(|e| Check::fail("database", e.to_string()))?;
    let shown = url.redacted();
    if let DatabaseUrl::Sqlite(path) = &url {
        if !Path::new(path).is_file() {
            return Err(Check::fail(
                "database",
                format!("{shown}: the file does not exist (run `latch migrate` to create it)"),
            ));
        }
    }
    // A host that drops packets keeps a connection attempt waiting for
    // minutes: wait for it on another thread, and only so long.
    let (sender, answer) = std::sync::mpsc::channel();
    let started = Instant::now();
    std::thread::spawn(move || sender.send(Store::open(&url, 1)));
    match answer.recv_timeout(DATABASE_TIMEOUT) {
        Ok(Ok(store)) => {
            let took = started.elapsed().as_millis();
            let check = Check::ok("database", format!("{shown} answers ({took} ms)"));
            Ok((store, check))
        }
        Ok(Err(e)) => Err(Check::fail("database", e.to_string())),
        Err(_) => Err(Check::fail(
            "database",
            format!("{shown}: no answer within {} s", DATABASE_TIMEOUT.as_secs()),
        )),
    }
}

/// Every check that reads the database, in order. Without a schema the
/// rest would only report missing tables, so they wait for `latch migrate`.
pub(super) fn inspect(settings: &Settings, store: &Store, note: &mut dyn FnMut(Check)) {
    let (check, has_schema) = schema(store);
    note(check);
    if has_schema {
        note(master_key(settings, store));
    }
    note(clock(settings, store));
    if has_schema {
        for check in keyring::checks(store) {
            note(check);
        }
    }
}

/// The newest migration applied, what is pending, and the floor a newer
/// release may have raised above this binary. Returns whether there is a
/// schema at all.
fn schema(store: &Store) -> (Check, bool) {
    let own = env!("CARGO_PKG_VERSION");
    let (applied, pending) = match store.migrations() {
        Ok(found) => found,
        Err(e) => return (Check::fail("schema", e.to_string()), false),
    };
    let Some(newest) = applied.last() else {
        return (
            Check::fail("schema", "no Latch schema yet: run `latch migrate`"),
            false,
        );
    };
    let floor = match setup::schema_version(store) {
        Ok((_, floor)) => floor.unwrap_or_else(|| SCHEMA_FLOOR.to_string()),
        Err(e) => return (Check::fail("schema", e.to_string()), true),
    };
    let check = if !setup::meets_schema_floor(&floor) {
        Check::fail(
            "schema",
            format!(
                "migrated by a newer Latch: needs Latch {floor} or later, this is {own} \
                 (upgrade the binary)"
            ),
        )
    } else if let Some(last) = pending.last() {
        Check::fail(
            "schema",
            format!(
                "migration {newest} applied, {} pending (up to {last}): run `latch migrate`",
                pending.len()
            ),
        )
    } else {
        Check::ok(
            "schema",
            format!("migration {newest} applied, none pending; floor {floor}, this is {own}"),
        )
    };
    (check, true)
}

/// The master key must open what the database holds sealed: the key check
/// recorded at first start, and the private half of every live signing key.
fn master_key(settings: &Settings, store: &Store) -> Check {
    let source = match (&settings.master_key, store.url()) {
        (Some(_), _) => "LATCH_MASTER_KEY".to_string(),
        (None, DatabaseUrl::Sqlite(path)) => setup::key_file_path(path).display().to_string(),
        (None, DatabaseUrl::Postgres(_)) => "LATCH_MASTER_KEY (unset)".to_string(),
    };
    let master = match setup::existing_master_key(settings, store.url()) {
        Ok(master) => master,
        Err(e) => return Check::fail("master key", e.to_string()),
    };
    let found = store
        .conn()
        .map_err(setup::StartError::from)
        .and_then(|mut conn| {
            let recorded = setup::recorded_key_matches(&mut conn, &master)?;
            Ok((recorded, store::keys::live(&mut conn)?))
        });
    let (recorded, keys) = match found {
        Ok(found) => found,
        Err(e) => return Check::fail("master key", e.to_string()),
    };
    let sealed_elsewhere: Vec<&str> = keys
        .iter()
        .filter(|row| crate::keys::open_private(&master, row).is_err())
        .map(|row| row.kid.as_str())
        .collect();
    if recorded == Some(false) || !sealed_elsewhere.is_empty() {
        let which = match sealed_elsewhere.len() {
            0 => String::new(),
            n => format!(
                " ({n} signing key(s) do not open: {})",
                sealed_elsewhere.join(" ")
            ),
        };
        return Check::fail(
            "master key",
            format!(
                "the key from {source} does not match this database: its secrets were sealed \
                 with another key{which}; run with the original key"
            ),
        );
    }
    Check::ok(
        "master key",
        format!(
            "the key from {source} opens all {} live signing key(s)",
            keys.len()
        ),
    )
}

/// This host's clock against the database's, the cluster's clock. Latch
/// stamps tokens with the database's time, but a host far off still
/// confuses what reads its own clock (key schedules, logs, TLS).
fn clock(settings: &Settings, store: &Store) -> Check {
    let measured = store
        .conn()
        .and_then(|mut conn| Clock::skewed(settings.simulate_clock_skew_ms).sync(&mut conn));
    let offset = match measured {
        Ok(offset) => offset,
        Err(e) => return Check::fail("clock", e.to_string()),
    };
    let way = if offset > 0 { "behind" } else { "ahead of" };
    let detail = format!("this host is {} ms {way} the database", offset.abs());
    match offset.abs() {
        off if off > CLOCK_FAIL_MS => {
            Check::fail("clock", format!("{detail}: synchronise it (NTP)"))
        }
        off if off > CLOCK_WARN_MS => {
            Check::warn("clock", format!("{detail}: synchronise it (NTP)"))
        }
        _ => Check::ok("clock", detail),
    }
}
