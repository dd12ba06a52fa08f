//! Upgrades: a database kept from an earlier release is migrated by this
//! binary, and everything it held goes on working. The fixtures
//! (`tests/fixtures/upgrade/`) are dumps of a database whose schema ends at
//! migration `2026-11-06-000001_status_lists`, recorded from a real server:
//! realm `acme` with its signing keys, the confidential client `ledger`,
//! the user `carol` with a cut-off (she logged out everywhere), a live
//! session with a refresh token, and a revoked token.

use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{claims, location_params, pkce, spawn_node, Backend, TestApp, TestDatabase};

const SQLITE_DUMP: &str = include_str!("../fixtures/upgrade/sqlite.sql");
const POSTGRES_DUMP: &str = include_str!("../fixtures/upgrade/postgres.sql");
/// The test-only key the fixtures' secrets are sealed with.
const MASTER_KEY: &str = include_str!("../fixtures/upgrade/master.key");
/// The credentials and tokens the fixtures were recorded with.
const VALUES: &str = include_str!("../fixtures/upgrade/values.json");
/// diesel's version of the newest migration in the fixtures.
const KEPT_SCHEMA: &str = "20261106000001";

/// What the fixtures' server handed out.
struct Kept(Value);

impl Kept {
    fn text(&self, name: &str) -> &str {
        self.0[name].as_str().expect(name)
    }

    fn token(&self, name: &str) -> &str {
        self.0["tokens"][name].as_str().expect(name)
    }

    /// `ledger`'s credentials.
    fn client(&self) -> (&str, &str) {
        (self.text("client_id"), self.text("client_secret"))
    }
}

/// A fresh database restored from the dump for `backend`.
fn kept_database(backend: Backend) -> TestDatabase {
    let db = TestDatabase::new(backend);
    let restored = match backend {
        Backend::Sqlite => diesel::SqliteConnection::establish(sqlite_path(&db.url))
            .unwrap()
            .batch_execute(SQLITE_DUMP),
        Backend::Postgres => diesel::PgConnection::establish(&db.url)
            .unwrap()
            .batch_execute(POSTGRES_DUMP),
    };
    restored.expect("the dump restores");
    db
}

fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://").expect("a SQLite URL")
}

/// The kept database, served by this binary with the fixtures' master key
/// and public base (the issuer of its tokens).
async fn upgraded(backend: Backend) -> (TestApp, Kept) {
    let kept = Kept(serde_json::from_str(VALUES).unwrap());
    let db = kept_database(backend);
    assert_eq!(
        schema_version(&db.url),
        (Some(KEPT_SCHEMA.into()), None),
        "the dump holds the earlier schema"
    );
    let public_base = kept.text("public_base").to_string();
    let mut app = spawn_node(db, MASTER_KEY.trim(), |s| {
        s.demo = false;
        s.public_base = Some(public_base);
    })
    .await;
    app.admin_password = Some(kept.text("admin_password").into());
    (app, kept)
}

/// The newest migration applied and the recorded schema floor.
fn schema_version(url: &str) -> (Option<String>, Option<String>) {
    let url = latch::store::DatabaseUrl::parse(url).unwrap();
    let store = latch::store::Store::open(&url, 1).unwrap();
    latch::setup::schema_version(&store).unwrap()
}

#[derive(diesel::QueryableByName)]
struct Line {
    #[diesel(sql_type = diesel::sql_types::Text)]
    line: String,
}

/// The database's tables, columns, indexes and constraints, one per line.
fn schema(url: &str) -> Vec<String> {
    let lines: Vec<Line> = if url.starts_with("sqlite://") {
        let mut conn = diesel::SqliteConnection::establish(sqlite_path(url)).unwrap();
        diesel::sql_query(
            "SELECT type || ' ' || name || ' on ' || tbl_name || ': ' || COALESCE(sql, '') \
             AS line FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .load(&mut conn)
        .unwrap()
    } else {
        let mut conn = diesel::PgConnection::establish(url).unwrap();
        diesel::sql_query(
            "SELECT 'column ' || table_name::text || '.' || column_name::text || ' #' \
                 || ordinal_position::text || ' ' || data_type::text || ' null ' \
                 || is_nullable::text || ' default ' || COALESCE(column_default::text, '') AS line \
               FROM information_schema.columns WHERE table_schema = 'public' \
             UNION ALL SELECT 'index ' || indexname::text || ': ' || indexdef \
               FROM pg_indexes WHERE schemaname = 'public' \
             UNION ALL SELECT 'constraint ' || conrelid::regclass::text || '.' || conname::text \
                 || ': ' || pg_get_constraintdef(oid) \
               FROM pg_constraint WHERE connamespace = 'public'::regnamespace \
             ORDER BY 1",
        )
        .load(&mut conn)
        .unwrap()
    };
    lines.into_iter().map(|l| l.line).collect()
}

/// The schema of a fresh database migrated by this binary, and its newest
/// migration.
fn fresh_schema(backend: Backend) -> (Vec<String>, Option<String>) {
    let db = TestDatabase::new(backend);
    let url = latch::store::DatabaseUrl::parse(&db.url).unwrap();
    latch::store::Store::open(&url, 1)
        .unwrap()
        .migrate()
        .unwrap();
    (schema(&db.url), schema_version(&db.url).0)
}

impl TestApp {
    /// `carol` signs in to `ledger` with her password (code flow with
    /// PKCE); the token response.
    async fn carol_signs_in(&self, kept: &Kept) -> Value {
        let (verifier, challenge) = pkce();
        let redirect = kept.text("redirect_uri");
        let url = self.auth_url(
            "acme",
            &[
                ("client_id", kept.text("client_id")),
                ("redirect_uri", redirect),
                ("response_type", "code"),
                ("scope", "openid profile"),
                ("state", "st4te"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        );
        let response = self
            .sign_in(
                &self.browser(),
                &url,
                kept.text("username"),
                kept.text("password"),
            )
            .await;
        assert_eq!(response.status(), 303, "carol's password is accepted");
        let code = location_params(&response)["code"].clone();
        let response = self
            .token_request(
                "acme",
                Some(kept.client()),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", redirect),
                    ("code_verifier", &verifier),
                ],
            )
            .await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// A refresh grant of `ledger`: (status, body).
    async fn ledger_refreshes(&self, kept: &Kept, refresh_token: &str) -> (u16, Value) {
        let response = self
            .token_request(
                "acme",
                Some(kept.client()),
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token),
                ],
            )
            .await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// Introspection by `ledger`: is the token active?
    async fn active_at_acme(&self, kept: &Kept, token: &str) -> bool {
        let response = self
            .client
            .post(format!(
                "{}/protocol/openid-connect/token/introspect",
                self.issuer("acme")
            ))
            .basic_auth(kept.client().0, Some(kept.client().1))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        body["active"] == true
    }
}

/// The kept database is migrated to exactly the schema a fresh database
/// gets, the floor is recorded, and the admin API works on the tables and
/// columns the later migrations added: the client scopes seeded for a realm
/// that predates them, roles, groups, a user's required actions.
async fn a_kept_database_is_migrated_to_the_current_schema(backend: Backend) {
    let (app, kept) = upgraded(backend).await;
    let (fresh, newest) = fresh_schema(backend);
    assert_ne!(newest.as_deref(), Some(KEPT_SCHEMA));
    assert_eq!(
        schema_version(&app.db.url),
        (newest, Some(latch::setup::SCHEMA_FLOOR.into()))
    );
    let upgraded = schema(&app.db.url);
    let missing: Vec<_> = fresh.iter().filter(|l| !upgraded.contains(l)).collect();
    let extra: Vec<_> = upgraded.iter().filter(|l| !fresh.contains(l)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "the upgraded schema differs from a fresh one: missing {missing:#?}, extra {extra:#?}"
    );

    let (status, scopes) = app
        .admin(Method::GET, "/acme/client-scopes", Value::Null)
        .await;
    assert_eq!(status, 200, "{scopes}");
    let names: Vec<&str> = scopes
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    for scope in ["profile", "email", "roles", "groups", "offline_access"] {
        assert!(names.contains(&scope), "{scope} in {names:?}");
    }
    let (status, body) = app
        .admin(Method::POST, "/acme/roles", json!({ "name": "auditor" }))
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .admin(Method::POST, "/acme/groups", json!({ "name": "staff" }))
        .await;
    assert_eq!(status, 201, "{body}");
    let carol = claims(kept.token("live_access"))["sub"].clone();
    let (status, user) = app
        .admin(
            Method::GET,
            &format!("/acme/users/{}", carol.as_str().unwrap()),
            Value::Null,
        )
        .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["username"], "carol");
    assert_eq!(user["requiredActions"], json!([]));
}

/// The kept user signs in with her password, the kept client gets a token
/// with its secret (and not with another), and the kept administrator
/// reaches the admin API through the clients and role this release adds.
async fn kept_users_and_clients_sign_in(backend: Backend) {
    let (app, kept) = upgraded(backend).await;
    let tokens = app.carol_signs_in(&kept).await;
    let access = tokens["access_token"].as_str().unwrap();
    let userinfo = app.userinfo("acme", access).await;
    assert_eq!(userinfo.status(), 200);
    let userinfo: Value = userinfo.json().await.unwrap();
    assert_eq!(userinfo["preferred_username"], "carol");

    let grant = [("grant_type", "client_credentials")];
    let response = app.token_request("acme", Some(kept.client()), &grant).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(
        app.active_at_acme(&kept, body["access_token"].as_str().unwrap())
            .await
    );
    let wrong = (
        kept.client().0,
        "not-the-secret-of-ledger-at-all-0123456789",
    );
    let response = app.token_request("acme", Some(wrong), &grant).await;
    assert_eq!(response.status(), 401);

    let (status, realm) = app.admin(Method::GET, "/acme", Value::Null).await;
    assert_eq!(status, 200, "{realm}");
    assert_eq!(realm["realm"], "acme");
}

/// The session kept live goes on: its access token is accepted, the admin
/// API lists it, its refresh token refreshes within it, and ending it
/// takes back what the refresh issued.
async fn the_kept_session_refreshes_and_can_be_ended(backend: Backend) {
    let (app, kept) = upgraded(backend).await;
    let live = kept.token("live_access");
    let sid = claims(live)["sid"].as_str().unwrap().to_string();
    let carol = claims(live)["sub"].as_str().unwrap().to_string();
    assert_eq!(app.userinfo("acme", live).await.status(), 200);
    assert!(app.active_at_acme(&kept, live).await);

    let path = format!("/acme/users/{carol}/sessions");
    let (status, sessions) = app.admin(Method::GET, &path, Value::Null).await;
    assert_eq!(status, 200, "{sessions}");
    let sids: Vec<&str> = sessions
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(sids, [sid.as_str()], "only the live session is listed");

    let (status, refreshed) = app
        .ledger_refreshes(&kept, kept.token("live_refresh"))
        .await;
    assert_eq!(status, 200, "{refreshed}");
    let access = refreshed["access_token"].as_str().unwrap();
    assert_eq!(claims(access)["sid"], sid.as_str());
    assert_eq!(app.userinfo("acme", access).await.status(), 200);

    let (status, body) = app
        .admin(
            Method::DELETE,
            &format!("/acme/sessions/{sid}"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 204, "{body}");
    assert!(!app.active_at_acme(&kept, access).await);
    let next = refreshed["refresh_token"].as_str().unwrap();
    let (status, body) = app.ledger_refreshes(&kept, next).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
}

/// What was taken back before the upgrade stays taken back: the revoked
/// token's jti, and the user's cut-off — her token issued before it is
/// refused by that rule (its session ended with the cut-off, which put no
/// session of its own in the log) and so is that session's refresh token,
/// while her token issued after it passes.
async fn what_was_revoked_before_the_upgrade_stays_revoked(backend: Backend) {
    let (app, kept) = upgraded(backend).await;
    assert!(!app.active_at_acme(&kept, kept.token("revoked")).await);

    let before = kept.token("issued_before_cut_off");
    assert!(!app.active_at_acme(&kept, before).await);
    let response = app.userinfo("acme", before).await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error_description"], "the user's tokens have been revoked",
        "{body}"
    );
    let (status, body) = app
        .ledger_refreshes(&kept, kept.token("refresh_before_cut_off"))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");

    assert!(app.active_at_acme(&kept, kept.token("live_access")).await);
}

crate::both_backends!(
    a_kept_database_is_migrated_to_the_current_schema,
    kept_users_and_clients_sign_in,
    the_kept_session_refreshes_and_can_be_ended,
    what_was_revoked_before_the_upgrade_stays_revoked,
);
