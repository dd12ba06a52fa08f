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

crate::both_backends!(requests_with_nothing_to_change_succeed);

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
