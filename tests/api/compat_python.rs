//! Keycloak's Python client (python-keycloak, installed in
//! `tests/compat/.venv`) against a spawned server: `KeycloakOpenID` (the
//! password grant, refresh, userinfo, introspection, logout by refresh
//! token, `decode_token` with the realm's JWKS, client_credentials) and
//! `KeycloakAdmin` (users, realm roles, logging a user out), each call
//! checked by `tests/compat/python_keycloak_suite.py`.
//!
//! Without the virtual environment the test is skipped with a message —
//! unless `LATCH_COMPAT_TESTS=require` (as in CI), when it fails.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app, Backend};

const CLIENT_ID: &str = "python-app";
const LIMIT: Duration = Duration::from_secs(60);

fn compat_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/compat")
}

/// The virtual environment's Python when python-keycloak imports there.
fn python_keycloak() -> Option<PathBuf> {
    let python = compat_dir().join(".venv/bin/python");
    let imports = Command::new(&python)
        .args(["-c", "import keycloak"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    imports.then_some(python)
}

/// Runs the suite to its end or `LIMIT`; (exit status, everything it printed).
fn run_suite(python: PathBuf, env: Vec<(&'static str, String)>) -> (Option<i32>, String) {
    let mut child = Command::new(python)
        .arg(compat_dir().join("python_keycloak_suite.py"))
        .envs(env)
        .env("PYTHONUNBUFFERED", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for python") {
            break status.code();
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = child.wait_with_output().expect("python's output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (status, text)
}

async fn python_keycloak_suite(backend: Backend) {
    let Some(python) = python_keycloak() else {
        let required = std::env::var("LATCH_COMPAT_TESTS").is_ok_and(|v| v == "require");
        assert!(
            !required,
            "python-keycloak is not installed in tests/compat/.venv and LATCH_COMPAT_TESTS=require"
        );
        eprintln!(
            "skipped: python-keycloak is not installed in tests/compat/.venv \
             (python3 -m venv tests/compat/.venv && tests/compat/.venv/bin/pip install -r tests/compat/requirements.txt)"
        );
        return;
    };
    let app = spawn_app(backend).await;
    let secret = latch::crypto::random_token::<32>();
    let (status, body) = app
        .admin(
            Method::POST,
            "/demo/clients",
            json!({
                "clientId": CLIENT_ID,
                "secret": secret,
                "directAccessGrantsEnabled": true,
                "serviceAccountsEnabled": true,
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let env = vec![
        ("LATCH_URL", app.base.clone()),
        ("LATCH_REALM", "demo".to_string()),
        ("LATCH_CLIENT_ID", CLIENT_ID.to_string()),
        ("LATCH_CLIENT_SECRET", secret),
        ("LATCH_USERNAME", "alice".to_string()),
        ("LATCH_PASSWORD", app.alice_password()),
        ("LATCH_ADMIN_PASSWORD", app.admin_password.clone().unwrap()),
    ];
    let (status, output) = tokio::task::spawn_blocking(move || run_suite(python, env))
        .await
        .unwrap();
    assert_eq!(
        status,
        Some(0),
        "python_keycloak_suite.py failed (None: killed after {LIMIT:?}):\n{output}"
    );
    assert!(
        output.contains("all python-keycloak calls passed"),
        "{output}"
    );
}

mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn python_keycloak_suite() {
        super::python_keycloak_suite(crate::helpers::Backend::Sqlite).await
    }
}
