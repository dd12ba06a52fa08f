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
        latch::store::init_crypto_library();
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

impl TestDatabase {
    /// An empty stand-in (owns nothing to drop).
    fn placeholder() -> TestDatabase {
        TestDatabase {
            url: String::new(),
            pg_name: None,
            dir: tempfile::tempdir().expect("temporary directory"),
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
    handle: Option<actix_web::dev::ServerHandle>,
    process: Option<std::process::Child>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(child) = &mut self.process {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn test_settings(db: &TestDatabase, master_key: &str) -> Settings {
    Settings {
        listen: "127.0.0.1:0".into(),
        database: db.url.clone(),
        master_key: Some(master_key.into()),
        workers: 2,
        pool_size: 4,
        // Relying parties in the tests listen on loopback.
        outbound_allow_private_networks: true,
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
        handle: Some(handle),
        process: None,
    }
}

/// The demo's secrets are derived from the master key (see `ensure_demo`).
fn derived_demo(master_key: &str) -> latch::directory::bootstrap::Demo {
    let master = latch::crypto::MasterKey::parse(master_key).unwrap();
    latch::directory::bootstrap::Demo {
        client_id: "demo-app".into(),
        client_secret: Some(latch::directory::bootstrap::demo_client_secret(&master)),
        username: "alice".into(),
        password: Some(latch::directory::bootstrap::demo_password(&master)),
    }
}

/// Runs `latch serve --demo` as a separate process on `db`, so a test can
/// kill it with SIGKILL and start it again.
pub async fn spawn_process(db: TestDatabase, master_key: &str, port: u16) -> TestApp {
    spawn_process_with(db, master_key, port, &[]).await
}

/// `spawn_process` with more environment (`LATCH_*` settings); the log goes
/// to `latch-{port}.log` in the database's directory.
pub async fn spawn_process_with(
    db: TestDatabase,
    master_key: &str,
    port: u16,
    env: &[(&str, &str)],
) -> TestApp {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(db.dir.path().join(format!("latch-{port}.log")))
        .expect("log file");
    let child = Command::new(latch_bin())
        .current_dir(db.dir.path())
        .env_remove("LATCH_CONFIG")
        .env("LATCH_DATABASE", &db.url)
        .env("LATCH_MASTER_KEY", master_key)
        .env("LATCH_WORKERS", "2")
        .env("LATCH_OUTBOUND_ALLOW_PRIVATE_NETWORKS", "true")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start latch serve");
    let base = format!("http://127.0.0.1:{port}");
    let client = http_client();
    for _ in 0..200 {
        if client
            .get(format!("{base}/health/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    TestApp {
        base,
        port,
        master_key: master_key.to_string(),
        client,
        db,
        admin_password: None,
        demo: Some(derived_demo(master_key)),
        handle: None,
        process: Some(child),
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl TestApp {
    /// Sends SIGTERM to a process server, without waiting.
    pub fn signal_term(&self) {
        let child = self.process.as_ref().expect("a process server");
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill -TERM");
    }

    /// Waits for a process server to exit; returns its exit status, its
    /// log and the database.
    pub async fn wait_exit(mut self) -> (TestDatabase, std::process::ExitStatus, String) {
        let mut child = self.process.take().expect("a process server");
        let status = tokio::task::spawn_blocking(move || child.wait().expect("wait"))
            .await
            .unwrap();
        let log = self.process_log();
        (
            std::mem::replace(&mut self.db, TestDatabase::placeholder()),
            status,
            log,
        )
    }

    /// SIGTERM for a process server; waits for it to exit and returns its
    /// exit status with the database.
    pub async fn terminate(self) -> (TestDatabase, std::process::ExitStatus) {
        self.signal_term();
        let (db, status, _) = self.wait_exit().await;
        (db, status)
    }

    /// The log of a process server (see `spawn_process_with`).
    pub fn process_log(&self) -> String {
        std::fs::read_to_string(self.db.dir.path().join(format!("latch-{}.log", self.port)))
            .unwrap_or_default()
    }

    /// SIGKILL for a process server: no shutdown, no flush.
    pub fn kill(mut self) -> TestDatabase {
        if let Some(child) = &mut self.process {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.process = None;
        std::mem::replace(&mut self.db, TestDatabase::placeholder())
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
        if let Some(handle) = &self.handle {
            handle.stop(true).await;
        }
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

/// Describes a finished command for assertion messages.
pub fn describe(output: &Output) -> String {
    format!(
        "status {:?}, stdout: {}, stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

// ---- browser and relying-party helpers ----------------------------------

pub const DEMO_REDIRECT: &str = "http://127.0.0.1:8081/callback";

/// The fields of a login or consent form, read from its HTML.
#[derive(Debug, Clone)]
pub struct Form {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let end = start + tag[start..].find('"')?;
    Some(html_unescape(&tag[start..end]))
}

fn html_unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find(';') else {
            break;
        };
        let entity = &rest[start + 1..start + len];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ if entity.starts_with("#x") => u32::from_str_radix(&entity[2..], 16)
                .ok()
                .and_then(char::from_u32),
            _ if entity.starts_with('#') => entity[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) => out.push(c),
            None => out.push_str(&rest[start..=start + len]),
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

impl Form {
    /// The first form of the page with its hidden fields.
    pub fn parse(html: &str) -> Form {
        Form::all(html).into_iter().next().expect("page has a form")
    }

    /// Every form of the page.
    pub fn all(html: &str) -> Vec<Form> {
        html.split("<form")
            .skip(1)
            .map(|rest| Form::one(&rest[..rest.find("</form>").expect("form closes")]))
            .collect()
    }

    /// The first form whose hidden field `name` is `value`.
    pub fn having(html: &str, name: &str, value: &str) -> Form {
        Form::all(html)
            .into_iter()
            .find(|f| f.field(name) == Some(value))
            .unwrap_or_else(|| panic!("no form with {name}={value} in {html}"))
    }

    fn one(form: &str) -> Form {
        let tag_end = form.find('>').unwrap();
        let action = attribute(&form[..tag_end], "action").expect("form action");
        let mut fields = Vec::new();
        for input in form.split("<input").skip(1) {
            let tag = &input[..input.find('>').unwrap()];
            if attribute(tag, "type").as_deref() == Some("hidden") {
                fields.push((
                    attribute(tag, "name").unwrap(),
                    attribute(tag, "value").unwrap_or_default(),
                ));
            }
        }
        Form { action, fields }
    }

    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn with(mut self, name: &str, value: &str) -> Form {
        self.fields.retain(|(n, _)| n != name);
        self.fields.push((name.into(), value.into()));
        self
    }

    pub fn without(mut self, name: &str) -> Form {
        self.fields.retain(|(n, _)| n != name);
        self
    }
}

/// Query parameters of a redirect's Location.
pub fn location_params(response: &reqwest::Response) -> std::collections::HashMap<String, String> {
    let location = response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location on {}", response.status()))
        .to_str()
        .unwrap();
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

pub fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

/// PKCE pair (verifier, S256 challenge).
pub fn pkce() -> (String, String) {
    let verifier = latch::crypto::random_token::<32>();
    let challenge = latch::crypto::b64url(&latch::crypto::sha256(verifier.as_bytes()));
    (verifier, challenge)
}

impl TestApp {
    /// A fresh browser: its own cookie jar, no redirects followed.
    pub fn browser(&self) -> reqwest::Client {
        http_client()
    }

    pub fn demo_secret(&self) -> String {
        self.demo
            .as_ref()
            .and_then(|d| d.client_secret.clone())
            .expect("demo secret")
    }

    pub fn alice_password(&self) -> String {
        self.demo
            .as_ref()
            .and_then(|d| d.password.clone())
            .expect("demo password")
    }

    pub fn auth_url(&self, realm: &str, params: &[(&str, &str)]) -> String {
        let mut url = url::Url::parse(&format!(
            "{}/protocol/openid-connect/auth",
            self.issuer(realm)
        ))
        .unwrap();
        url.query_pairs_mut().extend_pairs(params);
        url.to_string()
    }

    /// A standard code request of `demo-app` with PKCE; returns (url, verifier).
    pub fn demo_auth_url(&self, scope: &str, extra: &[(&str, &str)]) -> (String, String) {
        let (verifier, challenge) = pkce();
        let mut params = vec![
            ("client_id", "demo-app"),
            ("redirect_uri", DEMO_REDIRECT),
            ("response_type", "code"),
            ("scope", scope),
            ("state", "st4te"),
            ("nonce", "n0nce"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        params.extend_from_slice(extra);
        (self.auth_url("demo", &params), verifier)
    }

    /// Opens the authorization URL in `browser` and signs in on the login
    /// page; returns the final response (a redirect to the client).
    pub async fn sign_in(
        &self,
        browser: &reqwest::Client,
        auth_url: &str,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        let page = browser.get(auth_url).send().await.unwrap();
        assert_eq!(page.status(), 200, "login page expected");
        let form = Form::parse(&page.text().await.unwrap());
        self.submit(
            browser,
            form.with("username", username).with("password", password),
        )
        .await
    }

    pub async fn submit(&self, browser: &reqwest::Client, form: Form) -> reqwest::Response {
        browser
            .post(self.url(&form.action))
            .form(&form.fields)
            .send()
            .await
            .unwrap()
    }

    /// Signs alice in to demo-app and returns (code, verifier).
    pub async fn demo_code(&self, browser: &reqwest::Client, scope: &str) -> (String, String) {
        let (url, verifier) = self.demo_auth_url(scope, &[]);
        let mut response = self
            .sign_in(browser, &url, "alice", &self.alice_password())
            .await;
        if response.status() == 200 {
            // A consent page (offline_access is asked for once): allow.
            let html = response.text().await.unwrap();
            assert!(html.contains("Allow access?"), "{html}");
            response = self
                .submit(browser, Form::parse(&html).with("decision", "allow"))
                .await;
        }
        assert_eq!(
            response.status(),
            303,
            "{}",
            response.text().await.unwrap_or_default()
        );
        let params = location_params(&response);
        (params["code"].clone(), verifier)
    }

    pub async fn token_request(
        &self,
        realm: &str,
        auth: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!(
                "{}/protocol/openid-connect/token",
                self.issuer(realm)
            ))
            .form(form);
        if let Some((id, secret)) = auth {
            request = request.basic_auth(id, Some(secret));
        }
        request.send().await.unwrap()
    }

    /// Exchanges a demo-app code; returns the JSON body (asserting 200).
    pub async fn redeem(&self, code: &str, verifier: &str) -> serde_json::Value {
        let secret = self.demo_secret();
        let response = self
            .token_request(
                "demo",
                Some(("demo-app", &secret)),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", DEMO_REDIRECT),
                    ("code_verifier", verifier),
                ],
            )
            .await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        let secret = self.demo_secret();
        self.token_request(
            "demo",
            Some(("demo-app", &secret)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    pub async fn userinfo(&self, realm: &str, token: &str) -> reqwest::Response {
        self.client
            .get(format!(
                "{}/protocol/openid-connect/userinfo",
                self.issuer(realm)
            ))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Runs SQL against this server's database (for test set-up only).
    pub fn sql(&self, statement: &str) {
        let url = &self.db.url;
        if let Some(path) = url.strip_prefix("sqlite://") {
            let mut conn = diesel::SqliteConnection::establish(path).unwrap();
            conn.batch_execute(&format!("PRAGMA busy_timeout = 5000; {statement}"))
                .unwrap();
        } else {
            let mut conn = diesel::PgConnection::establish(url).unwrap();
            conn.batch_execute(statement).unwrap();
        }
    }

    /// Changes a realm column and tells the server, as the admin API would.
    pub async fn set_realm(&self, realm: &str, column: &str, value: i64) {
        self.sql(&format!(
            "UPDATE realms SET {column} = {value} WHERE name = '{realm}'; \
             INSERT INTO revocation_events (realm_id, kind, subject, created_at_ms) \
             SELECT id, 'realm', 'updated', 0 FROM realms WHERE name = '{realm}';"
        ));
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    }

    /// Registers a client in-process through the library.
    pub async fn add_client(
        &self,
        realm: &str,
        new: latch::directory::clients::NewClient,
    ) -> Option<String> {
        let url = self.db.url.clone();
        let key = self.master_key.clone();
        let realm = realm.to_string();
        tokio::task::spawn_blocking(move || {
            let settings = Settings {
                database: url,
                master_key: Some(key),
                pool_size: 1,
                ..Settings::default()
            };
            let opened = latch::setup::open(&settings).expect("open database");
            let mut conn = opened.store.conn().unwrap();
            let realm = latch::directory::realms::find(&mut conn, &realm).unwrap();
            latch::directory::clients::create(&mut conn, &opened.master, &realm, new)
                .expect("client created")
                .1
        })
        .await
        .unwrap()
    }
}

pub fn new_client(client_id: &str) -> latch::directory::clients::NewClient {
    use latch::directory::clients::{Credentials, GrantType, NewClient};
    NewClient {
        client_id: client_id.into(),
        credentials: Credentials::GenerateSecret,
        redirect_uris: vec![format!("https://{client_id}.example/cb")],
        post_logout_redirect_uris: vec![],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        backchannel_logout_uri: None,
        consent_required: false,
        introspect_any: false,
        frontchannel_logout_uri: None,
    }
}

pub trait NewClientExt {
    /// A resource server that may introspect every token of the realm.
    fn introspecting(self) -> Self;
}

impl NewClientExt for latch::directory::clients::NewClient {
    fn introspecting(mut self) -> Self {
        self.introspect_any = true;
        self.grant_types = vec![latch::directory::clients::GrantType::ClientCredentials];
        self
    }
}

// ---- revocation helpers -------------------------------------------------

impl TestApp {
    /// Signs alice in from a fresh browser and returns the token response.
    pub async fn alice_tokens(&self, scope: &str) -> serde_json::Value {
        let (code, verifier) = self.demo_code(&self.browser(), scope).await;
        self.redeem(&code, &verifier).await
    }

    pub async fn service_token(&self) -> String {
        let secret = self.demo_secret();
        let body: serde_json::Value = self
            .token_request(
                "demo",
                Some(("demo-app", &secret)),
                &[("grant_type", "client_credentials")],
            )
            .await
            .json()
            .await
            .unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }

    pub async fn introspect(&self, token: &str, client: (&str, &str)) -> serde_json::Value {
        let response = self
            .client
            .post(format!(
                "{}/protocol/openid-connect/token/introspect",
                self.issuer("demo")
            ))
            .basic_auth(client.0, Some(client.1))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Introspection by demo-app: is the token active?
    pub async fn active(&self, token: &str) -> bool {
        let secret = self.demo_secret();
        self.introspect(token, ("demo-app", &secret)).await["active"] == true
    }

    pub async fn revoke(&self, token: &str, hint: Option<&str>) -> reqwest::Response {
        let secret = self.demo_secret();
        let mut form = vec![("token", token)];
        if let Some(h) = hint {
            form.push(("token_type_hint", h));
        }
        self.client
            .post(format!(
                "{}/protocol/openid-connect/revoke",
                self.issuer("demo")
            ))
            .basic_auth("demo-app", Some(&secret))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// Asserts the access token works at userinfo and introspection.
    pub async fn assert_accepted(&self, token: &str) {
        assert_eq!(
            self.userinfo("demo", token).await.status(),
            200,
            "userinfo should accept the token"
        );
        assert!(self.active(token).await, "introspection should say active");
    }

    /// Asserts the access token is refused at userinfo (401) and inactive.
    pub async fn assert_rejected(&self, token: &str) {
        assert_eq!(
            self.userinfo("demo", token).await.status(),
            401,
            "userinfo should refuse the token"
        );
        assert!(
            !self.active(token).await,
            "introspection should say inactive"
        );
    }

    /// Waits until userinfo refuses the token; returns how long it took.
    pub async fn until_rejected(
        &self,
        token: &str,
        limit: std::time::Duration,
    ) -> std::time::Duration {
        let started = std::time::Instant::now();
        while started.elapsed() < limit {
            if self.userinfo("demo", token).await.status() == 401 {
                return started.elapsed();
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("token still accepted after {limit:?}");
    }
}

impl TestApp {
    /// An access token of realm `master`'s `admin`, the way a script gets
    /// one: the password grant through `admin-cli`.
    pub async fn admin_token(&self) -> String {
        let password = self
            .admin_password
            .clone()
            .expect("generated admin password");
        let response = self
            .token_request(
                "master",
                None,
                &[
                    ("grant_type", "password"),
                    ("client_id", "admin-cli"),
                    ("username", "admin"),
                    ("password", &password),
                ],
            )
            .await;
        assert_eq!(response.status(), 200, "an admin token");
        let body: serde_json::Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }

    /// Calls the admin API (`path` after `/admin/realms`) as `token`:
    /// (status, JSON body or Null).
    pub async fn admin_as(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let response = self
            .client
            .request(method, self.url(&format!("/admin/realms{path}")))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// [`admin_as`](Self::admin_as) with a fresh admin token.
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let token = self.admin_token().await;
        self.admin_as(&token, method, path, body).await
    }
}

/// Waits (the CLI writes the log; the server picks it up within its poll)
/// until userinfo refuses the token.
pub async fn until_rejected_or_panic(app: &TestApp, token: &str) {
    app.until_rejected(token, std::time::Duration::from_secs(5))
        .await;
}

/// The JSON claims of a JWT, unverified (for assertions).
pub fn claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

pub fn header(token: &str) -> serde_json::Value {
    use base64::Engine;
    let part = token.split('.').next().unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

// ---- cluster helpers ----------------------------------------------------

pub fn redis_url() -> String {
    std::env::var("LATCH_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

impl TestDatabase {
    /// Another handle on the same database that does not drop it.
    pub fn shared(&self) -> TestDatabase {
        TestDatabase {
            url: self.url.clone(),
            pg_name: None,
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }
}

/// Starts a node on an existing database with the given master key.
pub async fn spawn_node(
    db: TestDatabase,
    master_key: &str,
    adjust: impl FnOnce(&mut Settings),
) -> TestApp {
    let mut settings = test_settings(&db, master_key);
    settings.demo = true;
    adjust(&mut settings);
    let app = Application::build(settings).await.expect("node starts");
    // Requests go to this node; its issuer is the cluster's public base.
    let (base, port, handle) = (format!("http://{}", app.addr()), app.port(), app.handle());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        base,
        port,
        master_key: master_key.to_string(),
        client: http_client(),
        db,
        admin_password: None,
        demo: Some(derived_demo(master_key)),
        handle: Some(handle),
        process: None,
    }
}

/// A TCP relay to Redis that a test can cut and restore, to play "Redis
/// is down" for one node without touching the shared server.
pub type RedisRelay = Relay;

/// A TCP relay that a test can cut (every connection through it ends, and
/// new ones are closed at once, as when the server behind it dies) and
/// restore: a fault for the nodes behind it, while the real server keeps
/// serving every other test.
pub struct Relay {
    pub url: String,
    pub port: u16,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Relay {
    /// A relay to the shared Redis.
    pub async fn start() -> Relay {
        let target = url::Url::parse(&redis_url()).unwrap();
        let target = format!(
            "{}:{}",
            target.host_str().unwrap(),
            target.port().unwrap_or(6379)
        );
        let mut relay = Relay::to(&target).await;
        relay.url = format!("redis://127.0.0.1:{}", relay.port);
        relay
    }

    /// A relay to `target` (`host:port`).
    pub async fn to(target: &str) -> Relay {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = target.to_string();
        let open = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let generation = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (open2, generation2) = (open.clone(), generation.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !open2.load(Ordering::SeqCst) {
                    continue;
                }
                let (target, open, generation) =
                    (target.clone(), open2.clone(), generation2.clone());
                let born = generation.load(Ordering::SeqCst);
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    let relay = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
                    tokio::pin!(relay);
                    loop {
                        tokio::select! {
                            _ = &mut relay => return,
                            _ = tokio::time::sleep(std::time::Duration::from_millis(20)) => {
                                if !open.load(Ordering::SeqCst) || generation.load(Ordering::SeqCst) != born {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
        Relay {
            url: format!("tcp://127.0.0.1:{port}"),
            port,
            open,
            generation,
        }
    }

    pub fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn restore(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl TestApp {
    pub async fn ready(&self) -> serde_json::Value {
        self.get("/health/ready").await.json().await.unwrap()
    }

    /// Waits until this node's fan-out subscription is up.
    pub async fn until_fanout_connected(&self) {
        for _ in 0..200 {
            if self.ready().await["checks"]["fanout"] == "connected" {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("fan-out never connected");
    }
}

impl TestApp {
    /// Waits until introspection on this node says inactive.
    pub async fn until_rejected_at_introspection(
        &self,
        token: &str,
        limit: std::time::Duration,
    ) -> std::time::Duration {
        let started = std::time::Instant::now();
        while started.elapsed() < limit {
            if !self.active(token).await {
                return started.elapsed();
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("token still active after {limit:?}");
    }
}

/// Follows redirects in `browser` (which keeps cookies) up to a page.
pub async fn follow(
    app: &TestApp,
    browser: &reqwest::Client,
    mut response: reqwest::Response,
) -> reqwest::Response {
    for _ in 0..10 {
        if !response.status().is_redirection() {
            return response;
        }
        let next = location(&response);
        let url = if next.starts_with("http") {
            next
        } else {
            app.url(&next)
        };
        response = browser.get(url).send().await.unwrap();
    }
    panic!("too many redirects");
}
