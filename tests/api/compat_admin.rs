//! Keycloak's admin API as its own clients use it: the official admin
//! client (`@keycloak/keycloak-admin-client`, run by Node from
//! `tests/compat`) through `admin_client_suite.mjs`, and Latch's answers on
//! the paths and fields that suite needs — role-mapping reads, roles by id,
//! a role's users, subgroups, counts and members, client sessions,
//! `emailVerified`, a client's name, the server info, the partial export
//! and the public realm document — including where Latch answers on purpose
//! otherwise than Keycloak (a stored secret is not shown).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{claims, Backend, TestApp};

// ---- the official admin client -------------------------------------------------

fn compat_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat")
}

const NODE: &str = "/usr/bin/node";

/// Whether Node and the admin client are installed. Without them the suite
/// is skipped with a message — unless `LATCH_COMPAT_TESTS=require` (CI),
/// where that is a failure.
fn admin_client_installed() -> bool {
    let package = compat_dir().join("node_modules/@keycloak/keycloak-admin-client/package.json");
    if package.exists() && Path::new(NODE).exists() {
        return true;
    }
    let required = std::env::var("LATCH_COMPAT_TESTS").is_ok_and(|v| v == "require");
    assert!(
        !required,
        "LATCH_COMPAT_TESTS=require, but {} or {NODE} is missing: run `npm ci` in tests/compat",
        package.display()
    );
    eprintln!(
        "skipped: Keycloak's admin client is not installed (npm ci in tests/compat; \
         LATCH_COMPAT_TESTS=require makes this a failure)"
    );
    false
}

/// Runs the suite against `app`; returns (exit success, stdout, stderr),
/// killing it after `limit`.
fn run_suite(app: &TestApp, limit: Duration) -> (bool, String, String) {
    let dir = app.db.dir.path();
    let (out_path, err_path) = (dir.join("suite.out"), dir.join("suite.err"));
    let mut child = std::process::Command::new(NODE)
        .arg("admin_client_suite.mjs")
        .current_dir(compat_dir())
        .env("LATCH_URL", &app.base)
        .env(
            "LATCH_ADMIN_PASSWORD",
            app.admin_password
                .clone()
                .expect("generated admin password"),
        )
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("node starts");
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let (stdout, mut stderr) = (read(&out_path), read(&err_path));
    if status.is_none() {
        stderr.push_str(&format!("\nkilled after {limit:?}"));
    }
    (status.is_some_and(|s| s.success()), stdout, stderr)
}

async fn the_official_admin_client_suite_passes(backend: Backend) {
    if !admin_client_installed() {
        return;
    }
    let app = crate::helpers::spawn_app(backend).await;
    let started = Instant::now();
    let (passed, stdout, stderr) = {
        let app = &app;
        tokio::task::block_in_place(|| run_suite(app, Duration::from_secs(60)))
    };
    println!("{stdout}");
    assert!(passed, "the admin client suite failed:\n{stdout}\n{stderr}");
    let summary = stdout
        .lines()
        .find_map(|l| l.strip_prefix("SUITE OK: "))
        .expect("the suite's summary line");
    let calls: usize = summary
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a call count");
    assert!(calls >= 100, "only {calls} admin client calls: {summary}");
    assert!(started.elapsed() < Duration::from_secs(60));
}

// ---- Latch's answers on the same paths ----------------------------------------------

/// The admin API as one administrator: (status, JSON body or Null).
struct Api<'a> {
    app: &'a TestApp,
    token: String,
}

impl<'a> Api<'a> {
    async fn new(app: &'a TestApp) -> Api<'a> {
        Api {
            token: app.admin_token().await,
            app,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Value) -> (u16, Value) {
        self.app.admin_as(&self.token, method, path, body).await
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(Method::GET, path, Value::Null).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// Sends and asserts the status.
    async fn expect(&self, status: u16, method: Method, path: &str, body: Value) -> Value {
        let (got, answer) = self.call(method.clone(), path, body).await;
        assert_eq!(got, status, "{method} {path}: {answer}");
        answer
    }

    /// Creates, returning the last segment of the Location.
    async fn create(&self, path: &str, body: Value) -> String {
        let response = self
            .app
            .client
            .post(self.app.url(&format!("/admin/realms{path}")))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "POST {path}");
        let location = response.headers()["location"].to_str().unwrap();
        location.rsplit('/').next().unwrap().to_string()
    }

    async fn user_id(&self, username: &str) -> String {
        let users = self
            .get(&format!("/demo/users?username={username}&exact=true"))
            .await;
        users[0]["id"].as_str().unwrap().to_string()
    }

    async fn client_row(&self, client_id: &str) -> String {
        let clients = self
            .get(&format!("/demo/clients?clientId={client_id}"))
            .await;
        clients[0]["id"].as_str().unwrap().to_string()
    }

    async fn realm_role(&self, name: &str) -> Value {
        self.create("/demo/roles", json!({ "name": name })).await;
        self.get(&format!("/demo/roles/{name}")).await
    }

    async fn client_role(&self, client: &str, name: &str) -> Value {
        let path = format!("/demo/clients/{client}/roles");
        self.create(&path, json!({ "name": name })).await;
        self.get(&format!("{path}/{name}")).await
    }
}

fn names(roles: &Value) -> Vec<String> {
    let mut names: Vec<String> = roles
        .as_array()
        .unwrap_or_else(|| panic!("a list of roles: {roles}"))
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

fn role_refs(roles: &[&Value]) -> Value {
    Value::Array(
        roles
            .iter()
            .map(|r| json!({ "id": r["id"], "name": r["name"] }))
            .collect(),
    )
}

async fn role_mappings_read_as_keycloak_shows_them(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let api = Api::new(&app).await;
    let alice = api.user_id("alice").await;
    let client = api.client_row("demo-app").await;
    let direct = api.realm_role("r-direct").await;
    let outer = api.realm_role("r-outer").await;
    let inner = api.realm_role("r-inner").await;
    let by_group = api.realm_role("r-group").await;
    api.realm_role("r-spare").await;
    let path = "/demo/roles/r-outer/composites";
    api.expect(204, Method::POST, path, role_refs(&[&inner]))
        .await;
    let team = api.create("/demo/groups", json!({"name": "team"})).await;
    let devs = api
        .create(
            &format!("/demo/groups/{team}/children"),
            json!({"name": "devs"}),
        )
        .await;
    let team_roles = format!("/demo/groups/{team}/role-mappings");
    api.expect(
        204,
        Method::POST,
        &format!("{team_roles}/realm"),
        role_refs(&[&by_group]),
    )
    .await;
    api.expect(
        204,
        Method::PUT,
        &format!("/demo/users/{alice}/groups/{devs}"),
        json!({}),
    )
    .await;
    let alice_roles = format!("/demo/users/{alice}/role-mappings");
    let body = role_refs(&[&direct, &outer]);
    api.expect(204, Method::POST, &format!("{alice_roles}/realm"), body)
        .await;

    let mapped = names(&api.get(&format!("{alice_roles}/realm")).await);
    assert!(mapped.contains(&"r-direct".into()) && mapped.contains(&"r-outer".into()));
    assert!(!mapped.contains(&"r-inner".into()) && !mapped.contains(&"r-group".into()));
    let effective = names(&api.get(&format!("{alice_roles}/realm/composite")).await);
    for held in ["r-direct", "r-outer", "r-inner", "r-group"] {
        assert!(
            effective.contains(&held.to_string()),
            "{held} in {effective:?}"
        );
    }
    assert!(!effective.contains(&"r-spare".into()));
    let available = names(&api.get(&format!("{alice_roles}/realm/available")).await);
    assert!(available.contains(&"r-spare".into()), "{available:?}");
    for held in ["r-direct", "r-outer", "r-inner", "r-group"] {
        assert!(
            !available.contains(&held.to_string()),
            "{held} in {available:?}"
        );
    }

    let c_direct = api.client_role(&client, "c-direct").await;
    let c_group = api.client_role(&client, "c-group").await;
    api.client_role(&client, "c-spare").await;
    let body = role_refs(&[&c_direct]);
    api.expect(
        204,
        Method::POST,
        &format!("{alice_roles}/clients/{client}"),
        body,
    )
    .await;
    let body = role_refs(&[&c_group]);
    let team_client = format!("{team_roles}/clients/{client}");
    api.expect(204, Method::POST, &team_client, body).await;
    let user_client = format!("{alice_roles}/clients/{client}");
    assert_eq!(names(&api.get(&user_client).await), ["c-direct"]);
    let composite = names(&api.get(&format!("{user_client}/composite")).await);
    assert_eq!(composite, ["c-direct", "c-group"]);
    assert_eq!(
        names(&api.get(&format!("{user_client}/available")).await),
        ["c-spare"]
    );
    let all = api.get(&alice_roles).await;
    assert_eq!(
        names(&all["clientMappings"]["demo-app"]["mappings"]),
        ["c-direct"]
    );
    assert_eq!(all["clientMappings"]["demo-app"]["id"], json!(client));

    // A group: its own mappings, and what its subgroup's members hold through it.
    let group_all = api.get(&team_roles).await;
    assert_eq!(names(&group_all["realmMappings"]), ["r-group"]);
    assert_eq!(
        names(&group_all["clientMappings"]["demo-app"]["mappings"]),
        ["c-group"]
    );
    let devs_roles = format!("/demo/groups/{devs}/role-mappings");
    assert_eq!(
        names(&api.get(&format!("{devs_roles}/realm")).await),
        Vec::<String>::new()
    );
    let inherited = names(&api.get(&format!("{devs_roles}/realm/composite")).await);
    assert_eq!(inherited, ["r-group"]);
    let not_given = names(&api.get(&format!("{team_roles}/realm/available")).await);
    assert!(not_given.contains(&"r-direct".into()) && !not_given.contains(&"r-group".into()));
    assert_eq!(names(&api.get(&team_client).await), ["c-group"]);
    let devs_client = format!("{devs_roles}/clients/{client}");
    assert_eq!(
        names(&api.get(&format!("{devs_client}/composite")).await),
        ["c-group"]
    );
    let left = names(&api.get(&format!("{team_client}/available")).await);
    assert_eq!(left, ["c-direct", "c-spare"]);

    // Taking a client role from the group cuts its members off.
    let tokens = app.alice_tokens("openid").await;
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let roles = &claims(&access)["resource_access"]["demo-app"]["roles"];
    assert!(
        roles.as_array().unwrap().contains(&json!("c-group")),
        "{roles}"
    );
    api.expect(204, Method::DELETE, &team_client, role_refs(&[&c_group]))
        .await;
    app.assert_rejected(&access).await;
    assert_eq!(names(&api.get(&team_client).await), Vec::<String>::new());

    // No `default-roles-{realm}`: a new user holds nothing until granted it.
    let fresh = api
        .create("/demo/users", json!({"username": "fresh"}))
        .await;
    let path = format!("/demo/users/{fresh}/role-mappings/realm/composite");
    assert_eq!(api.get(&path).await, json!([]));
    let path = format!("/demo/users/{fresh}/role-mappings");
    assert_eq!(
        api.get(&path).await,
        json!({"realmMappings": [], "clientMappings": {}})
    );

    let unknown = "/demo/users/no-such-user/role-mappings/realm/composite";
    api.expect(404, Method::GET, unknown, Value::Null).await;
    let unknown = format!("/demo/groups/{team}/role-mappings/clients/no-such-client");
    api.expect(404, Method::GET, &unknown, Value::Null).await;
}

/// Lets demo-app use the password grant, so a test can sign any user in.
async fn allow_password_grant(api: &Api<'_>) -> String {
    let client = api.client_row("demo-app").await;
    let body = json!({ "directAccessGrantsEnabled": true });
    api.expect(204, Method::PUT, &format!("/demo/clients/{client}"), body)
        .await;
    client
}

async fn password_tokens(app: &TestApp, username: &str, password: &str) -> Value {
    let secret = app.demo_secret();
    let response = app
        .token_request(
            "demo",
            Some(("demo-app", &secret)),
            &[
                ("grant_type", "password"),
                ("username", username),
                ("password", password),
                ("scope", "openid"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn email_verified(app: &TestApp, password: &str) -> (Value, Value) {
    let tokens = password_tokens(app, "erin", password).await;
    let access = tokens["access_token"].as_str().unwrap();
    let info: Value = app.userinfo("demo", access).await.json().await.unwrap();
    (
        claims(access)["email_verified"].clone(),
        info["email_verified"].clone(),
    )
}

async fn email_verified_is_kept_and_reaches_tokens(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let api = Api::new(&app).await;
    allow_password_grant(&api).await;
    let password = "erin-Password-42";
    let erin = api
        .create(
            "/demo/users",
            json!({"username": "erin", "email": "erin@example.com", "emailVerified": true,
                   "credentials": [{"type": "password", "value": password}]}),
        )
        .await;
    let user = format!("/demo/users/{erin}");
    assert_eq!(api.get(&user).await["emailVerified"], true);
    assert_eq!(
        email_verified(&app, password).await,
        (json!(true), json!(true))
    );
    let listed = api.get("/demo/users?username=erin&exact=true").await;
    assert_eq!(listed[0]["emailVerified"], true);

    // The same address again (with other changes) stays verified.
    let body = json!({"email": "erin@example.com", "firstName": "Erin"});
    api.expect(204, Method::PUT, &user, body).await;
    assert_eq!(api.get(&user).await["emailVerified"], true);
    // A new address without `emailVerified` is not verified.
    let body = json!({"email": "erin@elsewhere.example"});
    api.expect(204, Method::PUT, &user, body).await;
    assert_eq!(api.get(&user).await["emailVerified"], false);
    assert_eq!(
        email_verified(&app, password).await,
        (json!(false), json!(false))
    );
    // A new address with `emailVerified: true` is.
    let body = json!({"email": "erin@third.example", "emailVerified": true});
    api.expect(204, Method::PUT, &user, body).await;
    assert_eq!(api.get(&user).await["emailVerified"], true);
    assert_eq!(
        email_verified(&app, password).await,
        (json!(true), json!(true))
    );
    let body = json!({"emailVerified": false});
    api.expect(204, Method::PUT, &user, body).await;
    assert_eq!(api.get(&user).await["emailVerified"], false);

    // A user created without it: not verified, and the claim says so.
    let frank = api
        .create(
            "/demo/users",
            json!({"username": "frank", "email": "f@example.com"}),
        )
        .await;
    assert_eq!(
        api.get(&format!("/demo/users/{frank}")).await["emailVerified"],
        false
    );
    // The realm file carries it both ways.
    let (status, exported) = api.call(Method::GET, "/demo/export", Value::Null).await;
    assert_eq!(status, 200);
    let users = exported["users"].as_array().unwrap();
    let erin_exported = users.iter().find(|u| u["username"] == "erin").unwrap();
    assert_eq!(erin_exported["emailVerified"], false);
}

async fn a_client_name_shows_on_the_consent_page(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let api = Api::new(&app).await;
    let callback = "https://named.example/cb";
    let id = api
        .create(
            "/demo/clients",
            json!({"clientId": "named-app", "name": "Named App", "description": "Shows its name",
                   "publicClient": true, "consentRequired": true, "redirectUris": [callback]}),
        )
        .await;
    let read = api.get(&format!("/demo/clients/{id}")).await;
    assert_eq!(
        (read["name"].clone(), read["description"].clone()),
        (json!("Named App"), json!("Shows its name"))
    );
    let listed = api.get("/demo/clients?clientId=named-app").await;
    assert_eq!(listed[0]["name"], "Named App");

    let consent = |app: &TestApp| {
        let (_, challenge) = crate::helpers::pkce();
        app.auth_url(
            "demo",
            &[
                ("client_id", "named-app"),
                ("redirect_uri", callback),
                ("response_type", "code"),
                ("scope", "openid profile"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        )
    };
    let browser = app.browser();
    let page = app
        .sign_in(&browser, &consent(&app), "alice", &app.alice_password())
        .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<title>Allow Named App?</title>"), "{html}");
    assert!(
        html.contains("<strong>Named App</strong> asks to"),
        "{html}"
    );

    // Without a name the page shows the client id.
    let body = json!({"name": ""});
    api.expect(204, Method::PUT, &format!("/demo/clients/{id}"), body)
        .await;
    let read = api.get(&format!("/demo/clients/{id}")).await;
    assert_eq!(read["name"], Value::Null);
    assert_eq!(read["description"], "Shows its name");
    let page = app
        .sign_in(
            &app.browser(),
            &consent(&app),
            "alice",
            &app.alice_password(),
        )
        .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<strong>named-app</strong> asks to"),
        "{html}"
    );
}

async fn where_latch_differs_it_answers_as_documented(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let api = Api::new(&app).await;
    let client = api.client_row("demo-app").await;
    // Secrets are stored hashed: that there is one is all Latch can say.
    let secret = api
        .get(&format!("/demo/clients/{client}/client-secret"))
        .await;
    assert_eq!(secret, json!({"type": "secret"}));
    let spa = api
        .create(
            "/demo/clients",
            json!({"clientId": "spa", "publicClient": true}),
        )
        .await;
    let path = format!("/demo/clients/{spa}/client-secret");
    let refused = api.expect(422, Method::GET, &path, Value::Null).await;
    assert_eq!(refused["field"], "publicClient");
    // Regenerating shows the new one, once.
    let path = format!("/demo/clients/{client}/client-secret");
    let fresh = api.expect(200, Method::POST, &path, json!({})).await;
    assert_eq!(fresh["type"], "secret");
    assert!(fresh["value"].as_str().unwrap().len() >= 32);
    assert_eq!(api.get(&path).await, json!({"type": "secret"}));

    // The partial export: never users; clients with their secrets masked.
    let role = api.realm_role("exported-role").await;
    api.create("/demo/groups", json!({"name": "exported-group"}))
        .await;
    let path = "/demo/partial-export?exportClients=true&exportGroupsAndRoles=true";
    let doc = api.expect(200, Method::POST, path, Value::Null).await;
    assert_eq!(doc["realm"], "demo");
    assert!(doc.get("users").is_none(), "no users: {doc}");
    let clients = doc["clients"].as_array().unwrap();
    let demo_app = clients
        .iter()
        .find(|c| c["clientId"] == "demo-app")
        .unwrap();
    assert_eq!(demo_app["secret"], "**********");
    let spa = clients.iter().find(|c| c["clientId"] == "spa").unwrap();
    assert!(
        spa.get("secret").is_none(),
        "a public client has none: {spa}"
    );
    let roles = doc["roles"]["realm"].as_array().unwrap();
    assert!(roles.iter().any(|r| r["name"] == role["name"]));
    assert!(doc["groups"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["name"] == "exported-group"));
    assert!(doc["clientScopes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "email"));
    // Imported elsewhere, a masked secret is no secret: the client gets a new one.
    let mut copy = doc.clone();
    copy["realm"] = json!("copied");
    let report = api.expect(201, Method::POST, "/import", copy).await;
    let generated = report["generated_secrets"]["demo-app"].as_str().unwrap();
    assert!(
        generated.len() >= 32 && generated != "**********",
        "{report}"
    );
    let doc = api
        .expect(200, Method::POST, "/demo/partial-export", Value::Null)
        .await;
    for left_out in ["users", "clients", "roles", "groups"] {
        assert!(doc.get(left_out).is_none(), "{left_out}: {doc}");
    }
    api.expect(404, Method::POST, "/nowhere/partial-export", Value::Null)
        .await;
}

async fn the_server_info_says_what_latch_supports(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let token = app.admin_token().await;
    let anonymous = app.get("/admin/serverinfo").await;
    assert_eq!(anonymous.status(), 401);
    let response = app
        .client
        .get(app.url("/admin/serverinfo"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let info: Value = response.json().await.unwrap();
    assert_eq!(info["systemInfo"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["profileInfo"]["name"], "community");
    let types: Vec<&str> = info["protocolMapperTypes"]["openid-connect"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(types, latch::directory::scopes::MAPPER_TYPES);
    let hardcoded = &info["protocolMapperTypes"]["openid-connect"][8];
    let properties: Vec<&str> = hardcoded["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(properties.contains(&"claim.value"), "{properties:?}");
    let builtin = info["builtinProtocolMappers"]["openid-connect"]
        .as_array()
        .unwrap();
    let verified = builtin
        .iter()
        .find(|m| m["name"] == "email verified")
        .unwrap();
    assert_eq!(verified["config"]["claim.name"], "email_verified");
    let policies: Vec<&str> = info["passwordPolicies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        policies,
        ["length", "notUsername", "notCommon", "passwordHistory"]
    );
    let protocols = &info["providers"]["login-protocol"]["providers"];
    assert!(protocols.get("openid-connect").is_some(), "{protocols}");
    assert_eq!(info["themes"], json!({}));
}

async fn the_public_realm_document_names_the_rs256_key(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let response = app.get("/realms/demo").await;
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["realm"], "demo");
    let issuer = app.issuer("demo");
    assert_eq!(
        doc["token-service"],
        format!("{issuer}/protocol/openid-connect")
    );
    assert_eq!(doc["account-service"], format!("{issuer}/account"));
    assert_eq!(doc["tokens-not-before"], 0);
    let der = STANDARD
        .decode(doc["public_key"].as_str().unwrap())
        .unwrap();
    let key = openssl::pkey::PKey::public_key_from_der(&der).expect("DER SubjectPublicKeyInfo");
    let modulus = key.rsa().unwrap().n().to_vec();
    let jwks: Value = app
        .get("/realms/demo/protocol/openid-connect/certs")
        .await
        .json()
        .await
        .unwrap();
    let rs256 = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["alg"] == "RS256")
        .expect("an RS256 key");
    let n = URL_SAFE_NO_PAD
        .decode(rs256["n"].as_str().unwrap())
        .unwrap();
    assert_eq!(modulus, n, "the document's key is the JWKS's RS256 key");

    let token = app.admin_token().await;
    let (status, _) = app
        .admin_as(&token, Method::POST, "/demo/logout-all", json!({}))
        .await;
    assert!(status == 200 || status == 204, "{status}");
    let doc: Value = app.get("/realms/demo").await.json().await.unwrap();
    assert!(doc["tokens-not-before"].as_i64().unwrap() > 0, "{doc}");
    assert_eq!(app.get("/realms/nowhere").await.status(), 404);
}

async fn roles_are_read_and_changed_by_id_and_name(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let api = Api::new(&app).await;
    let alice = api.user_id("alice").await;
    let editor = api.realm_role("editor").await;
    let id = editor["id"].as_str().unwrap();
    let by_id = api.get(&format!("/demo/roles-by-id/{id}")).await;
    assert_eq!(
        (by_id["name"].clone(), by_id["clientRole"].clone()),
        (json!("editor"), json!(false))
    );
    let body = json!({"name": "editor", "description": "Edits"});
    api.expect(204, Method::PUT, &format!("/demo/roles-by-id/{id}"), body)
        .await;
    assert_eq!(api.get("/demo/roles/editor").await["description"], "Edits");
    let body = role_refs(&[&editor]);
    let path = format!("/demo/users/{alice}/role-mappings/realm");
    api.expect(204, Method::POST, &path, body).await;
    let users = api.get("/demo/roles/editor/users").await;
    assert_eq!(users.as_array().unwrap().len(), 1);
    assert_eq!(users[0]["username"], "alice");
    assert_eq!(api.get("/demo/roles/editor/users?first=1").await, json!([]));

    // A description alone changes no token; a new name cuts holders off.
    let tokens = app.alice_tokens("openid").await;
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let body = json!({"name": "editor", "description": "Edits pages"});
    api.expect(204, Method::PUT, "/demo/roles/editor", body)
        .await;
    app.assert_accepted(&access).await;
    api.realm_role("writer").await;
    let taken = json!({"name": "writer"});
    let clash = api
        .expect(409, Method::PUT, "/demo/roles/editor", taken)
        .await;
    assert_eq!(clash["error"], "conflict");
    let body = json!({"name": "chief-editor"});
    api.expect(204, Method::PUT, "/demo/roles/editor", body)
        .await;
    app.assert_rejected(&access).await;
    api.expect(404, Method::GET, "/demo/roles/editor", Value::Null)
        .await;
    assert_eq!(
        api.get(&format!("/demo/roles-by-id/{id}")).await["name"],
        "chief-editor"
    );
    let tokens = app.alice_tokens("openid").await;
    let roles = &claims(tokens["access_token"].as_str().unwrap())["realm_access"]["roles"];
    assert!(
        roles.as_array().unwrap().contains(&json!("chief-editor")),
        "{roles}"
    );
    let master_admin = json!({"name": "superuser"});
    let kept = api
        .expect(409, Method::PUT, "/master/roles/admin", master_admin)
        .await;
    assert_eq!(kept["error"], "conflict");

    // Client roles by name, by id, and their users.
    let client = api.client_row("demo-app").await;
    let ops = api.client_role(&client, "ops").await;
    assert_eq!(
        (ops["clientRole"].clone(), ops["containerId"].clone()),
        (json!(true), json!(client))
    );
    let path = format!("/demo/clients/{client}/roles/ops");
    api.expect(204, Method::PUT, &path, json!({"description": "Operates"}))
        .await;
    let ops_id = ops["id"].as_str().unwrap();
    let read = api.get(&format!("/demo/roles-by-id/{ops_id}")).await;
    assert_eq!(
        (read["name"].clone(), read["description"].clone()),
        (json!("ops"), json!("Operates"))
    );
    let body = role_refs(&[&ops]);
    let grant = format!("/demo/users/{alice}/role-mappings/clients/{client}");
    api.expect(204, Method::POST, &grant, body).await;
    let users = api.get(&format!("{path}/users")).await;
    assert_eq!(users[0]["username"], "alice");
    api.expect(
        404,
        Method::GET,
        &format!("/master/roles-by-id/{ops_id}"),
        Value::Null,
    )
    .await;
    api.expect(
        204,
        Method::DELETE,
        &format!("/demo/roles-by-id/{ops_id}"),
        Value::Null,
    )
    .await;
    api.expect(404, Method::GET, &path, Value::Null).await;
    api.expect(
        204,
        Method::DELETE,
        &format!("/demo/roles-by-id/{id}"),
        Value::Null,
    )
    .await;
    api.expect(
        404,
        Method::GET,
        &format!("/demo/roles-by-id/{id}"),
        Value::Null,
    )
    .await;
}

async fn groups_are_paged_counted_and_their_members_listed(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let api = Api::new(&app).await;
    let alice = api.user_id("alice").await;
    let top = api.create("/demo/groups", json!({"name": "top"})).await;
    let mut children = Vec::new();
    for name in ["c1", "c2", "C3"] {
        let path = format!("/demo/groups/{top}/children");
        children.push(api.create(&path, json!({ "name": name })).await);
    }
    api.create(
        &format!("/demo/groups/{}/children", children[0]),
        json!({"name": "deep"}),
    )
    .await;
    let role = api.realm_role("grouped").await;
    let path = format!("/demo/groups/{}/role-mappings/realm", children[0]);
    api.expect(204, Method::POST, &path, role_refs(&[&role]))
        .await;

    let listed = api.get(&format!("/demo/groups/{top}/children")).await;
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["C3", "c1", "c2"]);
    let c1 = &listed[1];
    assert_eq!(c1["path"], "/top/c1");
    assert_eq!(c1["subGroupCount"], 1);
    assert_eq!(c1["subGroups"], json!([]));
    assert_eq!(c1["realmRoles"], json!(["grouped"]));
    let brief = api
        .get(&format!(
            "/demo/groups/{top}/children?briefRepresentation=true"
        ))
        .await;
    assert!(brief[1].get("realmRoles").is_none(), "{brief}");
    let page = api
        .get(&format!("/demo/groups/{top}/children?first=1&max=1"))
        .await;
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(page[0]["name"], "c1");
    let found = api
        .get(&format!("/demo/groups/{top}/children?search=c3"))
        .await;
    assert_eq!(found[0]["name"], "C3");
    let path = format!("/demo/groups/{top}/children?max=0");
    api.expect(422, Method::GET, &path, Value::Null).await;

    assert_eq!(api.get("/demo/groups/count").await, json!({"count": 5}));
    assert_eq!(
        api.get("/demo/groups/count?top=true").await,
        json!({"count": 1})
    );
    assert_eq!(
        api.get("/demo/groups/count?search=C").await,
        json!({"count": 3})
    );
    let path = format!("/demo/users/{alice}/groups/count");
    assert_eq!(api.get(&path).await, json!({"count": 0}));
    let join = format!("/demo/users/{alice}/groups/{}", children[0]);
    api.expect(204, Method::PUT, &join, json!({})).await;
    assert_eq!(api.get(&path).await, json!({"count": 1}));
    let members = api
        .get(&format!("/demo/groups/{}/members", children[0]))
        .await;
    assert_eq!(members.as_array().unwrap().len(), 1);
    assert_eq!(members[0]["username"], "alice");
    let members = api.get(&format!("/demo/groups/{top}/members")).await;
    assert_eq!(members, json!([]), "direct members only");
    api.expect(404, Method::GET, "/demo/groups/nope/members", Value::Null)
        .await;
}

async fn client_sessions_are_listed_and_counted(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let api = Api::new(&app).await;
    let client = api.client_row("demo-app").await;
    let alice = api.user_id("alice").await;
    assert_eq!(api.get("/demo/client-session-stats").await, json!([]));
    app.alice_tokens("openid").await;
    app.alice_tokens("openid offline_access").await;
    let sessions = api
        .get(&format!("/demo/clients/{client}/user-sessions"))
        .await;
    assert_eq!(sessions.as_array().unwrap().len(), 2);
    assert_eq!(sessions[0]["userId"], json!(alice));
    assert_eq!(sessions[0]["clients"][&client], "demo-app");
    let page = api
        .get(&format!(
            "/demo/clients/{client}/user-sessions?first=1&max=5"
        ))
        .await;
    assert_eq!(page.as_array().unwrap().len(), 1);
    let count = format!("/demo/clients/{client}/session-count");
    assert_eq!(api.get(&count).await, json!({"count": 2}));
    let stats = api.get("/demo/client-session-stats").await;
    assert_eq!(
        stats,
        json!([{"id": client, "clientId": "demo-app", "active": "2", "offline": "1"}])
    );
    // Ending her sessions leaves her offline session.
    for session in sessions.as_array().unwrap() {
        let path = format!("/demo/sessions/{}", session["id"].as_str().unwrap());
        let (status, _) = api.call(Method::DELETE, &path, Value::Null).await;
        assert!(status == 200 || status == 204, "{status}");
    }
    assert_eq!(api.get(&count).await, json!({"count": 0}));
    let stats = api.get("/demo/client-session-stats").await;
    assert_eq!(stats[0]["active"], "0");
    assert_eq!(stats[0]["offline"], "1");
    api.expect(
        404,
        Method::GET,
        "/demo/clients/nope/session-count",
        Value::Null,
    )
    .await;
}

crate::both_backends!(
    the_official_admin_client_suite_passes,
    role_mappings_read_as_keycloak_shows_them,
    email_verified_is_kept_and_reaches_tokens,
    a_client_name_shows_on_the_consent_page,
    where_latch_differs_it_answers_as_documented,
    the_server_info_says_what_latch_supports,
    the_public_realm_document_names_the_rs256_key,
    roles_are_read_and_changed_by_id_and_name,
    groups_are_paged_counted_and_their_members_listed,
    client_sessions_are_listed_and_counted,
);
