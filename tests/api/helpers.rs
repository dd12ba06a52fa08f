//! Test harness: a real Latch server on a random port with a fresh database
//! (a temporary SQLite file, or a new PostgreSQL database per test).
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use diesel::connection::SimpleConnection;
use diesel::Connection;
use latch::config::Settings;
use latch::Application;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one `#[tokio::test]` per backend for each scenario function.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            )*
        }
    };
}

pub fn postgres_admin_url() -> String {
    std::env::var("LATCH_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh, empty database for one test; dropped with it.
pub struct TestDatabase {
    pub url: String,
    pg_name: Option<String>,
    pub dir: tempfile::TempDir,
}

impl TestDatabase {
    pub fn new(backend: Backend) -> TestDatabase {
        let dir = tempfile::tempdir().expect("temporary directory");
        match backend {
            Backend::Sqlite => TestDatabase {
                url: format!("sqlite://{}", dir.path().join("latch.db").display()),
                pg_name: None,
                dir,
            },
            Backend::Postgres => {
                let admin = postgres_admin_url();
                let name = format!("latch_test_{}", latch::crypto::random_id());
                let mut conn = diesel::PgConnection::establish(&admin).unwrap_or_else(|e| {
                    panic!("PostgreSQL tests need LATCH_TEST_DATABASE_URL (tried {admin}): {e}")
                });
                conn.batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                let mut url = url::Url::parse(&admin).expect("LATCH_TEST_DATABASE_URL is a URL");
                url.set_path(&name);
                TestDatabase {
                    url: url.to_string(),
                    pg_name: Some(name),
                    dir,
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            if let Ok(mut conn) = diesel::PgConnection::establish(&postgres_admin_url()) {
                let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub port: u16,
    pub master_key: String,
    pub client: reqwest::Client,
    pub db: TestDatabase,
    pub admin_password: Option<String>,
    pub demo: Option<latch::directory::bootstrap::Demo>,
    handle: actix_web::dev::ServerHandle,
}

pub fn test_settings(db: &TestDatabase, master_key: &str) -> Settings {
    Settings {
        listen: "127.0.0.1:0".into(),
        database: db.url.clone(),
        master_key: Some(master_key.into()),
        workers: 2,
        pool_size: 4,
        ..Settings::default()
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        latch::telemetry::init("text");
    }
    let db = TestDatabase::new(backend);
    let master_key = latch::crypto::MasterKey::generate().encode();
    let mut settings = test_settings(&db, &master_key);
    settings.demo = true;
    adjust(&mut settings);
    let app = Application::build(settings).await.expect("server starts");
    let base = app.public_base().to_string();
    let port = app.port();
    let handle = app.handle();
    let admin_password = app.bootstrap().admin_password.clone();
    let demo = app
        .bootstrap()
        .demo
        .as_ref()
        .map(|d| latch::directory::bootstrap::Demo {
            client_id: d.client_id.clone(),
            client_secret: d.client_secret.clone(),
            username: d.username.clone(),
            password: d.password.clone(),
        });
    tokio::spawn(app.run_until_stopped());
    TestApp {
        base,
        port,
        master_key,
        client: http_client(),
        db,
        admin_password,
        demo,
        handle,
    }
}

/// A client that never follows redirects (the tests look at them) and
/// keeps cookies like a browser.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("http client")
}

impl TestApp {
    pub fn issuer(&self, realm: &str) -> String {
        format!("{}/realms/{realm}", self.base)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub async fn jwks_kids(&self, realm: &str) -> Vec<String> {
        let body: serde_json::Value = self
            .get(&format!("/realms/{realm}/protocol/openid-connect/certs"))
            .await
            .json()
            .await
            .expect("jwks json");
        body["keys"]
            .as_array()
            .expect("keys array")
            .iter()
            .map(|k| k["kid"].as_str().expect("kid").to_string())
            .collect()
    }

    /// Runs the `latch` binary against this server's database.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_with_stdin(args, "")
    }

    pub fn cli_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        run_cli(&self.db, &self.master_key, args, stdin)
    }

    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}

pub fn latch_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_latch"))
}

pub fn run_cli(db: &TestDatabase, master_key: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(latch_bin())
        .current_dir(db.dir.path())
        .env_remove("LATCH_CONFIG")
        .env("LATCH_DATABASE", &db.url)
        .env("LATCH_MASTER_KEY", master_key)
        .env("RUST_LOG", "warn")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run latch");
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.as_bytes());
    }
    child.wait_with_output().expect("latch output")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
