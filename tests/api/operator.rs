//! What an operator meets running Latch: one server per SQLite file, logs
//! fit for files and pipes, master keys in the encodings tools print.

use std::io::Read;
use std::process::{Command, Stdio};

use base64::Engine;

use crate::helpers::{
    free_port, latch_bin, run_cli, spawn_app, test_settings, Backend, TestDatabase,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_one_sqlite_file_is_refused() {
    let app = spawn_app(Backend::Sqlite).await;
    let second = latch::Application::build(test_settings(&app.db, &app.master_key)).await;
    let message = match second {
        Ok(_) => panic!("a second server started on the same SQLite file"),
        Err(e) => e.to_string(),
    };
    assert!(message.contains("another `latch serve`"), "{message}");
    // The first one still serves.
    assert_eq!(app.get("/health/ready").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_written_to_a_pipe_carries_no_colour_codes() {
    let db = TestDatabase::new(Backend::Sqlite);
    let key = latch::crypto::MasterKey::generate().encode();
    let port = free_port();
    let mut child = Command::new(latch_bin())
        .current_dir(db.dir.path())
        .env_remove("LATCH_CONFIG")
        .env("LATCH_DATABASE", &db.url)
        .env("LATCH_MASTER_KEY", &key)
        .env("RUST_LOG", "info")
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..200 {
        let url = format!("http://127.0.0.1:{port}/health/ready");
        if client
            .get(url)
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(ready, "the server did not come up: {log}");
    assert!(log.contains("INFO"), "the log says something: {log}");
    assert!(
        !log.contains('\u{1b}'),
        "escape sequences in a piped log: {log:?}"
    );
}

#[test]
fn a_master_key_from_openssl_rand_base64_is_accepted() {
    let db = TestDatabase::new(Backend::Sqlite);
    // What `openssl rand -base64 32` prints: standard alphabet, padded.
    let key = base64::engine::general_purpose::STANDARD.encode([0xfb_u8; 32]);
    assert!(key.contains('+') && key.ends_with('='));
    let out = run_cli(&db, &key, &["migrate"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run_cli(&db, "not-a-key", &["migrate"], "");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("hex") && err.contains("base64"), "{err}");
}

/// A realm file with nothing but a name, and an update carrying only
/// fields Latch does not know, change nothing — and succeed.
async fn requests_with_nothing_to_change_succeed(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let (status, body) = app
        .admin_as(
            &token,
            reqwest::Method::POST,
            "/import",
            serde_json::json!({"realm": "bare"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .admin_as(
            &token,
            reqwest::Method::PUT,
            "/bare",
            serde_json::json!({"someFutureSetting": true}),
        )
        .await;
    assert!(status == 204 || status == 200, "{status} {body}");
    let (status, realm) = app
        .admin_as(
            &token,
            reqwest::Method::GET,
            "/bare",
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(realm["realm"], "bare");
}

/// Writes one request and reads one answer (headers and a short body).
fn exchange(stream: &mut std::net::TcpStream, request: &str) -> String {
    use std::io::Write;
    stream.write_all(request.as_bytes()).unwrap();
    let mut buffer = vec![0u8; 4096];
    let n = stream.read(&mut buffer).unwrap();
    String::from_utf8_lossy(&buffer[..n]).into_owned()
}

crate::both_backends!(
    requests_with_nothing_to_change_succeed,
    sigterm_drains_then_stops_cleanly
);

/// A binary older than the floor a newer release recorded refuses to start
/// and says which release the database needs.
#[test]
fn a_binary_below_the_schema_floor_refuses_to_start() {
    let db = TestDatabase::new(Backend::Sqlite);
    let key = latch::crypto::MasterKey::generate().encode();
    assert!(run_cli(&db, &key, &["migrate"], "").status.success());
    let url = latch::store::DatabaseUrl::parse(&db.url).unwrap();
    let store = latch::store::Store::open(&url, 1).unwrap();
    let mut conn = store.conn().unwrap();
    latch::store::meta::set(&mut conn, "schema_floor", "99.0.0").unwrap();
    drop(conn);
    let out = run_cli(&db, &key, &["migrate"], "");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("needs Latch 99.0.0 or later"), "{err}");
}

/// A backup taken while the server issues tokens, restored into a fresh
/// directory: a node started on it still refuses every token whose
/// revocation was acknowledged before the backup began, and accepts the
/// others. A restore over a served file is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_under_load_keeps_every_acknowledged_revocation() {
    let app = std::sync::Arc::new(spawn_app(Backend::Sqlite).await);
    let mut revoked = Vec::new();
    let mut kept = Vec::new();
    for i in 0..20 {
        let token = app.service_token().await;
        if i % 2 == 0 {
            assert_eq!(app.revoke(&token, None).await.status(), 200);
            revoked.push(token);
        } else {
            kept.push(token);
        }
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (app, stop) = (app.clone(), stop.clone());
        tokio::spawn(async move {
            let mut minted = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let token = app.service_token().await;
                assert_eq!(app.revoke(&token, None).await.status(), 200);
                minted += 1;
            }
            minted
        })
    };
    let target = app.db.dir.path().join("backup.db");
    let backup = {
        let (db, key, to) = (app.db.shared(), app.master_key.clone(), target.clone());
        tokio::task::spawn_blocking(move || {
            run_cli(&db, &key, &["backup", "--to", to.to_str().unwrap()], "")
        })
        .await
        .unwrap()
    };
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let during = load.await.unwrap();
    assert!(
        backup.status.success(),
        "{}",
        crate::helpers::describe(&backup)
    );
    assert!(during > 0, "the load ran while the backup was taken");

    let refused = run_cli(
        &app.db,
        &app.master_key,
        &["restore", "--from", target.to_str().unwrap()],
        "",
    );
    assert!(!refused.status.success());
    assert!(crate::helpers::stderr(&refused).contains("another `latch serve`"));

    let fresh = TestDatabase::new(Backend::Sqlite);
    let restored = run_cli(
        &fresh,
        &app.master_key,
        &["restore", "--from", target.to_str().unwrap()],
        "",
    );
    assert!(
        restored.status.success(),
        "{}",
        crate::helpers::describe(&restored)
    );
    // The restored node answers for the same issuer, as after a real restore.
    let issuer_base = app.base.clone();
    let node = crate::helpers::spawn_node(fresh, &app.master_key, |s| {
        s.public_base = Some(issuer_base)
    })
    .await;
    for token in &revoked {
        assert!(
            !node.active(token).await,
            "a revocation acknowledged before the backup was lost"
        );
    }
    for token in &kept {
        assert!(node.active(token).await, "a live token was lost");
    }
}

/// `latch doctor`: one line per check, and an exit code a script can act on.
mod doctor {
    use std::path::Path;
    use std::process::{Command, Output};

    use crate::helpers::{describe, latch_bin, run_cli, stderr, stdout, Backend, TestDatabase};

    fn redis_url() -> String {
        std::env::var("LATCH_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
    }

    /// Runs `latch doctor` in `dir` on `database`, with Redis when given.
    fn doctor(dir: &Path, database: &str, key: &str, redis: Option<&str>) -> Output {
        let mut command = Command::new(latch_bin());
        command
            .current_dir(dir)
            .env_remove("LATCH_CONFIG")
            .env_remove("LATCH_REDIS")
            .env("LATCH_DATABASE", database)
            .env("LATCH_MASTER_KEY", key)
            .env("RUST_LOG", "warn")
            .arg("doctor");
        if let Some(url) = redis {
            command.env("LATCH_REDIS", url);
        }
        command.output().expect("run latch doctor")
    }

    /// The line reporting `subject`, e.g. `FAIL  redis  ...`.
    fn line<'a>(report: &'a str, subject: &str) -> &'a str {
        report
            .lines()
            .find(|l| l.get(6..).is_some_and(|rest| rest.starts_with(subject)))
            .unwrap_or_else(|| panic!("no `{subject}` line in:\n{report}"))
    }

    /// A migrated database with a second realm, its key.
    fn migrated(backend: Backend) -> (TestDatabase, String) {
        let db = TestDatabase::new(backend);
        let key = latch::crypto::MasterKey::generate().encode();
        for args in [&["migrate"][..], &["realm", "create", "shop"]] {
            let out = run_cli(&db, &key, args, "");
            assert!(out.status.success(), "{args:?}: {}", describe(&out));
        }
        (db, key)
    }

    async fn a_healthy_deployment_passes_every_check(backend: Backend) {
        let (db, key) = migrated(backend);
        let redis = redis_url();
        let out = doctor(db.dir.path(), &db.url, &key, Some(&redis));
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
        let report = stdout(&out);
        let subjects = [
            "config",
            "public URL",
            "TLS",
            "redis",
            "database",
            "schema",
            "master key",
            "clock",
            "keys master",
            "keys shop",
        ];
        for subject in subjects {
            assert!(line(&report, subject).starts_with("OK "), "{report}");
        }
        assert_eq!(report.lines().count(), subjects.len(), "{report}");
        assert!(line(&report, "schema").contains("none pending"), "{report}");
        assert!(line(&report, "redis").contains("answers PING"), "{report}");
        assert!(
            !report.contains(&key),
            "the master key was printed: {report}"
        );
    }

    async fn another_master_key_fails_the_key_check(backend: Backend) {
        let (db, _) = migrated(backend);
        let other = latch::crypto::MasterKey::generate().encode();
        let out = doctor(db.dir.path(), &db.url, &other, None);
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        let report = stdout(&out);
        assert!(line(&report, "master key").starts_with("FAIL "), "{report}");
        assert!(line(&report, "database").starts_with("OK "), "{report}");
        assert!(
            stderr(&out).contains("failed: master key"),
            "{}",
            describe(&out)
        );
    }

    async fn redis_that_does_not_answer_fails_its_check(backend: Backend) {
        let (db, key) = migrated(backend);
        let out = doctor(db.dir.path(), &db.url, &key, Some("redis://127.0.0.1:1"));
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        let report = stdout(&out);
        let redis = line(&report, "redis");
        assert!(
            redis.starts_with("FAIL ") && redis.contains("127.0.0.1:1"),
            "{report}"
        );
        assert!(stderr(&out).contains("failed: redis"), "{}", describe(&out));
    }

    async fn a_database_that_does_not_answer_is_reported_plainly(backend: Backend) {
        let dir = tempfile::tempdir().unwrap();
        let url = match backend {
            Backend::Sqlite => format!("sqlite://{}/gone/latch.db", dir.path().display()),
            Backend::Postgres => "postgres://postgres@127.0.0.1:1/latch".to_string(),
        };
        let key = latch::crypto::MasterKey::generate().encode();
        let out = doctor(dir.path(), &url, &key, None);
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        let report = stdout(&out);
        let database = line(&report, "database");
        assert!(database.starts_with("FAIL "), "{report}");
        let why = match backend {
            Backend::Sqlite => "does not exist",
            Backend::Postgres => "cannot open postgres://postgres@127.0.0.1:1/latch",
        };
        assert!(database.contains(why), "{report}");
        assert!(!stderr(&out).contains("panicked"), "{}", describe(&out));
        assert!(
            stderr(&out).contains("failed: database"),
            "{}",
            describe(&out)
        );
    }

    crate::both_backends!(
        a_healthy_deployment_passes_every_check,
        another_master_key_fails_the_key_check,
        redis_that_does_not_answer_fails_its_check,
        a_database_that_does_not_answer_is_reported_plainly,
    );

    /// Pending migrations and a floor above this binary both fail the
    /// schema check, each saying what to do.
    #[test]
    fn a_schema_this_binary_cannot_run_on_fails() {
        let (db, key) = migrated(Backend::Sqlite);
        let url = latch::store::DatabaseUrl::parse(&db.url).unwrap();
        let store = latch::store::Store::open(&url, 1).unwrap();
        let mut conn = store.conn().unwrap();
        let newest = latch::store::meta::newest_migration(&mut conn)
            .unwrap()
            .unwrap();
        diesel::RunQueryDsl::execute(
            diesel::sql_query(format!(
                "DELETE FROM __diesel_schema_migrations WHERE version = '{newest}'"
            )),
            &mut *conn,
        )
        .unwrap();
        let out = doctor(db.dir.path(), &db.url, &key, None);
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        let schema = stdout(&out);
        let schema = line(&schema, "schema");
        assert!(
            schema.starts_with("FAIL ") && schema.contains("1 pending"),
            "{schema}"
        );
        assert!(schema.contains("run `latch migrate`"), "{schema}");

        latch::store::meta::set(&mut conn, "schema_floor", "99.0.0").unwrap();
        drop(conn);
        let out = doctor(db.dir.path(), &db.url, &key, None);
        let schema = stdout(&out);
        let schema = line(&schema, "schema");
        assert!(
            schema.starts_with("FAIL ") && schema.contains("needs Latch 99.0.0"),
            "{schema}"
        );
    }

    /// A host clock a few seconds off warns (exit 3), and the report names
    /// the configuration file the settings came from.
    #[test]
    fn a_clock_seconds_off_warns() {
        let (db, key) = migrated(Backend::Sqlite);
        std::fs::write(
            db.dir.path().join("latch.toml"),
            "simulate_clock_skew_ms = 5000\n",
        )
        .unwrap();
        let out = doctor(db.dir.path(), &db.url, &key, None);
        assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
        let report = stdout(&out);
        let clock = line(&report, "clock");
        assert!(
            clock.starts_with("WARN ") && clock.contains("ahead of the database"),
            "{report}"
        );
        assert!(line(&report, "config").contains("latch.toml"), "{report}");
        assert!(stderr(&out).contains("warn: clock"), "{}", describe(&out));
    }
}

/// SIGTERM: readiness turns false at once (saying why) while requests are
/// still served, each answer closes its connection, then the node writes
/// what it held, logs each step and exits 0. Its blocks of status indices
/// are closed, not orphaned: the next node does not fail them closed.
async fn sigterm_drains_then_stops_cleanly(backend: Backend) {
    use crate::helpers::{claims, spawn_process_with};
    let db = TestDatabase::new(backend);
    let key = latch::crypto::MasterKey::generate().encode();
    let port = free_port();
    let app = spawn_process_with(db, &key, port, &[("LATCH_DRAIN_DELAY_MS", "1500")]).await;
    let token = app.service_token().await;
    let idx = claims(&token)["status"]["status_list"]["idx"]
        .as_u64()
        .unwrap();
    // A keep-alive connection, used once and idle when the signal comes.
    let mut kept = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    kept.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let ask = "GET /health/live HTTP/1.1\r\nHost: latch\r\n\r\n";
    let answer = exchange(&mut kept, ask);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(!answer.to_ascii_lowercase().contains("connection: close"));
    app.signal_term();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // Reused while draining: answered, told to close, then closed cleanly
    // (end of stream, no reset).
    let answer = exchange(&mut kept, ask);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    let mut rest = Vec::new();
    kept.read_to_end(&mut rest)
        .expect("the connection ends cleanly");

    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 503);
    assert_eq!(ready.headers()["connection"], "close");
    let body: serde_json::Value = ready.json().await.unwrap();
    assert!(
        body["reason"].as_str().unwrap().contains("stopping"),
        "{body}"
    );
    assert!(app.active(&token).await, "still served while draining");

    let (db, status, log) = app.wait_exit().await;
    assert!(status.success(), "exit status {status}");
    assert!(log.contains("draining"), "{log}");
    assert!(log.contains("stopped"), "{log}");

    let next = crate::helpers::spawn_process(db, &key, port).await;
    assert!(next.active(&token).await);
    // Past the silence window a vanished node's block fails closed; a
    // closed one does not.
    tokio::time::sleep(std::time::Duration::from_millis(6_500)).await;
    let uri = format!(
        "{}/protocol/openid-connect/status-list/0",
        next.issuer("demo")
    );
    let list = claims(
        &next
            .client
            .get(&uri)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let compressed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(list["status_list"]["lst"].as_str().unwrap())
        .unwrap();
    let mut bytes = Vec::new();
    flate2::read::ZlibDecoder::new(&compressed[..])
        .read_to_end(&mut bytes)
        .unwrap();
    let bit = |i: u64| {
        bytes
            .get(i as usize / 8)
            .is_some_and(|b| b & (1 << (i % 8)) != 0)
    };
    assert!(!bit(idx), "the token is valid");
    assert!(
        !bit(idx + 1),
        "the rest of a closed block is not failed closed"
    );
}
