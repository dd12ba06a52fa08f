//! Logout reaches relying parties: OIDC Back-Channel Logout 1.0 from the
//! persisted outbox (for every way a session ends, through a listener that
//! is down for a while, across a server restart) and Front-Channel Logout.
//! Delivery goes through the outbound policy: loopback needs the setting,
//! link-local is never reached.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpServer};
use josekit::jwk::Jwk;

use crate::helpers::{
    claims, free_port, location_params, spawn_app, spawn_app_with, spawn_process, Backend, TestApp,
    TestDatabase,
};

type Received = Arc<Mutex<Vec<String>>>;

/// A relying party's back-channel endpoint at `port`.
pub async fn listener(port: u16) -> (Received, actix_web::dev::ServerHandle) {
    let received: Received = Arc::default();
    let store = received.clone();
    let server = HttpServer::new(move || {
        let store = store.clone();
        App::new().route(
            "/backchannel",
            web::post().to(move |form: web::Form<Vec<(String, String)>>| {
                let store = store.clone();
                async move {
                    if let Some((_, token)) = form.iter().find(|(k, _)| k == "logout_token") {
                        store.lock().unwrap().push(token.clone());
                    }
                    actix_web::HttpResponse::Ok().finish()
                }
            }),
        )
    })
    .workers(1)
    .bind(("127.0.0.1", port))
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    (received, handle)
}

/// Points demo-app's back-channel (and optionally front-channel) logout at the test.
pub async fn register(app: &TestApp, port: u16, frontchannel: Option<&str>) {
    let uri = format!("http://127.0.0.1:{port}/backchannel");
    register_uri(app, &uri, frontchannel).await;
}

async fn register_uri(app: &TestApp, backchannel: &str, frontchannel: Option<&str>) {
    let front = frontchannel
        .map(|f| format!("'{f}'"))
        .unwrap_or_else(|| "NULL".into());
    app.sql(&format!(
        "UPDATE clients SET backchannel_logout_uri = '{backchannel}', frontchannel_logout_uri = {front} \
         WHERE client_id = 'demo-app'; \
         INSERT INTO revocation_events (realm_id, kind, subject, created_at_ms) \
         SELECT realm_id, 'client', 'demo-app', 0 FROM clients WHERE client_id = 'demo-app';"
    ));
    tokio::time::sleep(Duration::from_millis(700)).await;
}

/// Verifies a logout token as a relying party would: signature with the
/// realm's JWKS, `typ`, issuer, audience, the event, and no nonce.
async fn verify(app: &TestApp, token: &str) -> serde_json::Value {
    let header = crate::helpers::header(token);
    assert_eq!(header["typ"], "logout+jwt");
    let jwks: serde_json::Value = app
        .get("/realms/demo/protocol/openid-connect/certs")
        .await
        .json()
        .await
        .unwrap();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("signing key in JWKS");
    let jwk = Jwk::from_map(key.as_object().unwrap().clone()).unwrap();
    let verifier = josekit::jws::RS256.verifier_from_jwk(&jwk).unwrap();
    josekit::jwt::decode_with_verifier(token, &verifier).expect("valid signature");
    let claims = claims(token);
    assert!(claims["iss"].as_str().unwrap().ends_with("/realms/demo"));
    assert_eq!(claims["aud"], "demo-app");
    assert!(claims["events"]
        .get("http://schemas.openid.net/event/backchannel-logout")
        .is_some());
    assert!(claims.get("nonce").is_none());
    assert!(claims["jti"].is_string() && claims["iat"].is_i64() && claims["exp"].is_i64());
    claims
}

pub async fn until_notice_for(
    app: &TestApp,
    received: &Received,
    sid: &str,
    limit: Duration,
) -> serde_json::Value {
    let started = Instant::now();
    while started.elapsed() < limit {
        let tokens: Vec<String> = received.lock().unwrap().clone();
        for token in tokens {
            if crate::helpers::claims(&token)["sid"] == sid {
                return verify(app, &token).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no logout token for session {sid} within {limit:?}");
}

/// Runs a `latch` command against the app's database; it must succeed.
fn cli_ok(app: &TestApp, args: &[&str]) {
    let output = app.cli(args);
    assert!(
        output.status.success(),
        "{}",
        crate::helpers::describe(&output)
    );
}

fn sid_of(tokens: &serde_json::Value) -> String {
    claims(tokens["access_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn every_way_a_session_ends_sends_a_logout_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let port = free_port();
    let (received, _server) = listener(port).await;
    register(&app, port, None).await;
    let wait = Duration::from_secs(5);

    let tokens = app.alice_tokens("openid").await;
    let logout = format!(
        "{}/protocol/openid-connect/logout?id_token_hint={}",
        app.issuer("demo"),
        tokens["id_token"].as_str().unwrap()
    );
    app.browser().get(&logout).send().await.unwrap();
    let notice = until_notice_for(&app, &received, &sid_of(&tokens), wait).await;
    assert_eq!(
        notice["sub"],
        claims(tokens["access_token"].as_str().unwrap())["sub"]
    );

    let tokens = app.alice_tokens("openid").await;
    cli_ok(
        &app,
        &["session", "end", "--realm", "demo", &sid_of(&tokens)],
    );
    until_notice_for(&app, &received, &sid_of(&tokens), wait).await;

    let tokens = app.alice_tokens("openid").await;
    cli_ok(
        &app,
        &[
            "user",
            "logout-all",
            "--realm",
            "demo",
            "--username",
            "alice",
        ],
    );
    until_notice_for(&app, &received, &sid_of(&tokens), wait).await;

    let tokens = app.alice_tokens("openid").await;
    let first = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(app.refresh(first).await.status(), 200);
    assert_eq!(app.refresh(first).await.status(), 400, "reuse");
    until_notice_for(&app, &received, &sid_of(&tokens), wait).await;

    let tokens = app.alice_tokens("openid").await;
    cli_ok(&app, &["realm", "logout-all", "demo"]);
    until_notice_for(&app, &received, &sid_of(&tokens), wait).await;

    let tokens = app.alice_tokens("openid").await;
    cli_ok(
        &app,
        &["user", "disable", "--realm", "demo", "--username", "alice"],
    );
    until_notice_for(&app, &received, &sid_of(&tokens), wait).await;

    // The relying party has its token; the delivery is recorded just after.
    let started = Instant::now();
    let status = loop {
        let status = crate::helpers::stdout(&app.cli(&["session", "notices", "--realm", "demo"]));
        if !status.contains(" pending ") || started.elapsed() > Duration::from_secs(3) {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.matches(" delivered ").count(), 6, "{status}");
}

async fn front_channel_logout_frames_each_client_then_returns(backend: Backend) {
    let app = spawn_app(backend).await;
    let port = free_port();
    let (_received, _server) = listener(port).await;
    register(&app, port, Some("https://rp.example/frontchannel")).await;
    let browser = app.browser();
    let (code, verifier) = app.demo_code(&browser, "openid").await;
    let tokens = app.redeem(&code, &verifier).await;
    let url = format!(
        "{}/protocol/openid-connect/logout?id_token_hint={}&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A8081%2F&state=s1",
        app.issuer("demo"),
        tokens["id_token"].as_str().unwrap()
    );
    let page = browser.get(&url).send().await.unwrap();
    assert_eq!(
        page.status(),
        200,
        "a page that frames the clients before returning"
    );
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("frame-src https://rp.example"), "{csp}");
    let html = page.text().await.unwrap();
    let sid = sid_of(&tokens);
    assert!(html.contains("<iframe"), "{html}");
    assert!(
        html.contains(&format!("sid&#61;{sid}")) || html.contains(&format!("sid={sid}")),
        "{html}"
    );
    assert!(html.contains("http-equiv=\"refresh\""));
    assert!(html.contains("127.0.0.1:8081"));
    app.assert_rejected(tokens["access_token"].as_str().unwrap())
        .await;
}

/// The relying party is down when the session ends and the server is killed
/// before it comes back: after a restart the notice is still delivered.
async fn delivery_survives_a_listener_outage_and_a_restart(backend: Backend) {
    let db = TestDatabase::new(backend);
    let key = latch::crypto::MasterKey::generate().encode();
    let app = spawn_process(db, &key, free_port()).await;
    let port = free_port();
    register(&app, port, None).await;
    let tokens = app.alice_tokens("openid").await;
    let logout = format!(
        "{}/protocol/openid-connect/logout?id_token_hint={}",
        app.issuer("demo"),
        tokens["id_token"].as_str().unwrap()
    );
    assert_eq!(
        app.browser().get(&logout).send().await.unwrap().status(),
        200
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let pending = crate::helpers::stdout(&app.cli(&["session", "notices", "--realm", "demo"]));
    assert!(
        pending.contains(" pending ") && pending.contains("connection failed"),
        "{pending}"
    );

    let server_port = app.port;
    let db = app.kill();
    let app = spawn_process(db, &key, server_port).await;
    let (received, _server) = listener(port).await;
    until_notice_for(&app, &received, &sid_of(&tokens), Duration::from_secs(15)).await;
    let started = Instant::now();
    let done = loop {
        let done = crate::helpers::stdout(&app.cli(&["session", "notices", "--realm", "demo"]));
        if done.contains(" delivered ") || started.elapsed() > Duration::from_secs(3) {
            break done;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(done.contains(" delivered "), "{done}");
    let _ = location_params;
}

/// Signs alice in and out at the end-session endpoint; returns the sid.
async fn sign_in_and_out(app: &TestApp) -> String {
    let tokens = app.alice_tokens("openid").await;
    let logout = format!(
        "{}/protocol/openid-connect/logout?id_token_hint={}",
        app.issuer("demo"),
        tokens["id_token"].as_str().unwrap()
    );
    assert_eq!(
        app.browser().get(&logout).send().await.unwrap().status(),
        200
    );
    sid_of(&tokens)
}

/// The delivery record of the session once an attempt failed (its line
/// of `latch session notices`).
async fn failed_attempt(app: &TestApp, sid: &str) -> String {
    let started = Instant::now();
    loop {
        let out = crate::helpers::stdout(&app.cli(&["session", "notices", "--realm", "demo"]));
        let line = out.lines().find(|l| l.starts_with(sid)).map(str::to_string);
        match line {
            Some(line) if !line.trim_end().ends_with(" -") => return line,
            _ if started.elapsed() > Duration::from_secs(5) => {
                panic!("no failed attempt for {sid} within 5 s: {out}")
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// A relying party on loopback is reached only with
/// `outbound_allow_private_networks`: without it the notice stays pending
/// and its record says why; with it, it is delivered.
async fn a_loopback_receiver_needs_the_private_network_setting(backend: Backend) {
    let strict = spawn_app_with(backend, |s| s.outbound_allow_private_networks = false).await;
    let port = free_port();
    let (received, _server) = listener(port).await;
    register(&strict, port, None).await;
    let sid = sign_in_and_out(&strict).await;
    let record = failed_attempt(&strict, &sid).await;
    assert!(
        record.contains(" pending ")
            && record.contains("refused: 127.0.0.1 is a loopback address")
            && record.contains("outbound_allow_private_networks is off"),
        "{record}"
    );
    assert!(
        received.lock().unwrap().is_empty(),
        "nothing reached the loopback listener"
    );

    let open = spawn_app_with(backend, |s| s.outbound_allow_private_networks = true).await;
    register(&open, port, None).await;
    let sid = sign_in_and_out(&open).await;
    until_notice_for(&open, &received, &sid, Duration::from_secs(5)).await;
}

/// A link-local receiver (the cloud metadata service's address) is never
/// reached, whatever the setting says.
async fn a_link_local_receiver_is_refused_either_way(backend: Backend) {
    for allow in [false, true] {
        let app = spawn_app_with(backend, |s| s.outbound_allow_private_networks = allow).await;
        register_uri(&app, "http://169.254.169.254/latest/meta-data/", None).await;
        let sid = sign_in_and_out(&app).await;
        let record = failed_attempt(&app, &sid).await;
        assert!(
            record.contains(" pending ")
                && record
                    .contains("refused: 169.254.169.254 is a link-local address (never reached)"),
            "allow_private_networks = {allow}: {record}"
        );
    }
}

crate::both_backends!(
    every_way_a_session_ends_sends_a_logout_token,
    front_channel_logout_frames_each_client_then_returns,
    delivery_survives_a_listener_outage_and_a_restart,
    a_loopback_receiver_needs_the_private_network_setting,
    a_link_local_receiver_is_refused_either_way,
);
