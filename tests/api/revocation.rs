//! Every way a token can be taken back (DESIGN §4), each proven by the
//! token working before and being refused after — at userinfo (401) and at
//! introspection (active: false) — plus RFC 7009's edge cases and
//! durability across SIGKILL.

use std::time::{Duration, Instant};

use crate::helpers::{
    claims, free_port, header, location_params, spawn_app, spawn_process, Backend, Form,
    TestDatabase, DEMO_REDIRECT,
};

const POLL: Duration = Duration::from_millis(750);

async fn revoking_an_access_token_denies_its_jti(backend: Backend) {
    let app = spawn_app(backend).await;
    let tokens = app.alice_tokens("openid").await;
    let access = tokens["access_token"].as_str().unwrap();
    app.assert_accepted(access).await;
    assert_eq!(app.revoke(access, Some("access_token")).await.status(), 200);
    app.assert_rejected(access).await;
    // The refresh token is a different credential and keeps working.
    assert_eq!(
        app.refresh(tokens["refresh_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
}

async fn revoking_a_refresh_token_kills_its_family_and_its_access_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let tokens = app.alice_tokens("openid").await;
    let refreshed: serde_json::Value = app
        .refresh(tokens["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    let access = refreshed["access_token"].as_str().unwrap();
    app.assert_accepted(access).await;
    // Wrong hint: honoured as a search order only.
    assert_eq!(
        app.revoke(
            refreshed["refresh_token"].as_str().unwrap(),
            Some("access_token")
        )
        .await
        .status(),
        200
    );
    app.assert_rejected(access).await;
    app.assert_rejected(tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(
        app.refresh(refreshed["refresh_token"].as_str().unwrap())
            .await
            .status(),
        400
    );
}

async fn end_session_with_id_token_hint_ends_everything_of_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    let (code, verifier) = app.demo_code(&browser, "openid").await;
    let tokens = app.redeem(&code, &verifier).await;
    let access = tokens["access_token"].as_str().unwrap();
    app.assert_accepted(access).await;
    let url = format!(
        "{}/protocol/openid-connect/logout?id_token_hint={}&post_logout_redirect_uri={}&state=bye",
        app.issuer("demo"),
        tokens["id_token"].as_str().unwrap(),
        "http%3A%2F%2F127.0.0.1%3A8081%2F"
    );
    let response = browser.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(location_params(&response)["state"], "bye");
    app.assert_rejected(access).await;
    assert_eq!(
        app.refresh(tokens["refresh_token"].as_str().unwrap())
            .await
            .status(),
        400
    );
    let (url, _) = app.demo_auth_url("openid", &[]);
    assert_eq!(
        browser.get(&url).send().await.unwrap().status(),
        200,
        "login form again, no silent SSO"
    );
}

async fn logout_without_hint_asks_for_confirmation(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    let (code, verifier) = app.demo_code(&browser, "openid").await;
    let tokens = app.redeem(&code, &verifier).await;
    let page = browser
        .get(format!(
            "{}/protocol/openid-connect/logout",
            app.issuer("demo")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    app.assert_accepted(tokens["access_token"].as_str().unwrap())
        .await;
    let form = Form::parse(&html);
    let forged = app.submit(&app.browser(), form.clone()).await;
    assert_eq!(forged.status(), 403, "another browser cannot confirm");
    let done = app.submit(&browser, form).await;
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("signed out"));
    app.assert_rejected(tokens["access_token"].as_str().unwrap())
        .await;
}

async fn unregistered_post_logout_redirect_is_never_followed(backend: Backend) {
    let app = spawn_app(backend).await;
    let tokens = app.alice_tokens("openid").await;
    let url = format!(
        "{}/protocol/openid-connect/logout?id_token_hint={}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F",
        app.issuer("demo"),
        tokens["id_token"].as_str().unwrap()
    );
    let response = app.browser().get(&url).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
    app.assert_accepted(tokens["access_token"].as_str().unwrap())
        .await;
}

async fn refresh_reuse_ends_the_session_and_its_access_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let tokens = app.alice_tokens("openid").await;
    let r1 = tokens["refresh_token"].as_str().unwrap();
    let second: serde_json::Value = app.refresh(r1).await.json().await.unwrap();
    let access = second["access_token"].as_str().unwrap();
    app.assert_accepted(access).await;
    assert_eq!(app.refresh(r1).await.status(), 400);
    app.assert_rejected(access).await;
    app.assert_rejected(tokens["access_token"].as_str().unwrap())
        .await;
}

async fn cli_logout_all_reaches_the_server_within_the_poll(backend: Backend) {
    let app = spawn_app(backend).await;
    let phone = app.alice_tokens("openid").await;
    let laptop = app.alice_tokens("openid offline_access").await;
    let access = phone["access_token"].as_str().unwrap();
    app.assert_accepted(access).await;
    let output = app.cli(&[
        "user",
        "logout-all",
        "--realm",
        "demo",
        "--username",
        "alice",
    ]);
    assert!(
        output.status.success(),
        "{}",
        crate::helpers::describe(&output)
    );
    let took = app.until_rejected(access, Duration::from_secs(3)).await;
    assert!(took < POLL, "took {took:?}");
    app.assert_rejected(laptop["access_token"].as_str().unwrap())
        .await;
    assert_eq!(
        app.refresh(phone["refresh_token"].as_str().unwrap())
            .await
            .status(),
        400
    );
    assert_eq!(
        app.refresh(laptop["refresh_token"].as_str().unwrap())
            .await
            .status(),
        400,
        "offline too"
    );
    let audit = crate::helpers::stdout(&app.cli(&["audit", "list", "--realm", "demo"]));
    assert!(
        audit.contains("user.logout_all") && audit.contains(" cli "),
        "{audit}"
    );
    // A new sign-in works again.
    let fresh = app.alice_tokens("openid").await;
    app.assert_accepted(fresh["access_token"].as_str().unwrap())
        .await;
}

async fn admin_password_reset_and_disable_cut_the_user_off(backend: Backend) {
    let app = spawn_app(backend).await;
    let tokens = app.alice_tokens("openid").await;
    let access = tokens["access_token"].as_str().unwrap();
    let output = app.cli_with_stdin(
        &[
            "user",
            "set-password",
            "--realm",
            "demo",
            "--username",
            "alice",
        ],
        "a brand new passphrase\n",
    );
    assert!(
        output.status.success(),
        "{}",
        crate::helpers::describe(&output)
    );
    app.until_rejected(access, Duration::from_secs(3)).await;
    assert!(!app.active(access).await);
    assert_eq!(
        app.refresh(tokens["refresh_token"].as_str().unwrap())
            .await
            .status(),
        400
    );

    let (url, verifier) = app.demo_auth_url("openid", &[]);
    let signed_in = app
        .sign_in(&app.browser(), &url, "alice", "a brand new passphrase")
        .await;
    let tokens = app
        .redeem(&location_params(&signed_in)["code"], &verifier)
        .await;
    let access = tokens["access_token"].as_str().unwrap();
    app.assert_accepted(access).await;
    let output = app.cli(&["user", "disable", "--realm", "demo", "--username", "alice"]);
    assert!(
        output.status.success(),
        "{}",
        crate::helpers::describe(&output)
    );
    app.until_rejected(access, Duration::from_secs(3)).await;
    let (url, _) = app.demo_auth_url("openid", &[]);
    let refused = app
        .sign_in(&app.browser(), &url, "alice", "a brand new passphrase")
        .await;
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("Wrong username or password."));
}

async fn client_and_realm_cut_offs_reject_older_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let service = app.service_token().await;
    let user = app.alice_tokens("openid").await;
    app.assert_accepted(user["access_token"].as_str().unwrap())
        .await;
    let output = app.cli(&[
        "client",
        "revoke-tokens",
        "--realm",
        "demo",
        "--client-id",
        "demo-app",
    ]);
    assert!(
        output.status.success(),
        "{}",
        crate::helpers::describe(&output)
    );
    app.until_rejected(
        user["access_token"].as_str().unwrap(),
        Duration::from_secs(3),
    )
    .await;
    assert!(!app.active(&service).await);
    assert_eq!(
        app.refresh(user["refresh_token"].as_str().unwrap())
            .await
            .status(),
        400
    );

    let after = app.alice_tokens("openid").await;
    app.assert_accepted(after["access_token"].as_str().unwrap())
        .await;
    let output = app.cli(&["realm", "logout-all", "demo"]);
    assert!(
        output.status.success(),
        "{}",
        crate::helpers::describe(&output)
    );
    app.until_rejected(
        after["access_token"].as_str().unwrap(),
        Duration::from_secs(3),
    )
    .await;
    assert_eq!(
        app.refresh(after["refresh_token"].as_str().unwrap())
            .await
            .status(),
        400
    );
    let service = app.service_token().await;
    assert!(
        app.active(&service).await,
        "tokens minted after the cut-off work"
    );
}

async fn token_minted_just_before_a_cut_off_dies_one_after_lives(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = app.service_token().await;
    let output = app.cli(&[
        "client",
        "revoke-tokens",
        "--realm",
        "demo",
        "--client-id",
        "demo-app",
    ]);
    assert!(output.status.success());
    let after = app.service_token().await;
    tokio::time::sleep(POLL).await;
    let (b, a) = (
        claims(&before)["iat_ms"].as_i64().unwrap(),
        claims(&after)["iat_ms"].as_i64().unwrap(),
    );
    assert!(a > b);
    assert!(
        !app.active(&before).await,
        "minted {} ms before the cut-off",
        a - b
    );
    assert!(app.active(&after).await);
}

async fn emergency_rotation_kills_every_token_of_the_key_graceful_does_not(backend: Backend) {
    let app = spawn_app(backend).await;
    app.set_realm("demo", "key_stage_s", 1).await;
    let old = app.service_token().await;
    let old_kid = header(&old)["kid"].as_str().unwrap().to_string();
    let output = app.cli(&["keys", "rotate", "--realm", "demo", "--alg", "ES256"]);
    assert!(
        output.status.success(),
        "{}",
        crate::helpers::describe(&output)
    );
    // Staged for a second, then signing; the old key keeps verifying.
    let started = Instant::now();
    let new = loop {
        let token = app.service_token().await;
        if header(&token)["kid"] != old_kid.as_str() || started.elapsed() > Duration::from_secs(5) {
            break token;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_ne!(
        header(&new)["kid"],
        old_kid.as_str(),
        "new tokens carry the new kid"
    );
    assert!(app.active(&old).await, "graceful: old tokens keep working");
    assert!(app.active(&new).await);

    let output = app.cli(&[
        "keys",
        "rotate",
        "--realm",
        "demo",
        "--alg",
        "ES256",
        "--emergency",
    ]);
    assert!(
        output.status.success(),
        "{}",
        crate::helpers::describe(&output)
    );
    tokio::time::sleep(POLL).await;
    assert!(!app.active(&old).await);
    assert!(!app.active(&new).await);
    let kids = app.jwks_kids("demo").await;
    assert!(!kids.contains(&old_kid), "retired key vanished from JWKS");
    let fresh = app.service_token().await;
    assert!(app.active(&fresh).await);
}

async fn rfc7009_edge_cases(backend: Backend) {
    let app = spawn_app(backend).await;
    for junk in ["not-a-token", "a.b.c", &"x".repeat(5000)] {
        assert_eq!(
            app.revoke(junk, None).await.status(),
            200,
            "unknown tokens are not an error (§2.2)"
        );
    }
    let mut other = crate::helpers::new_client("other");
    other
        .grant_types
        .push(latch::directory::clients::GrantType::ClientCredentials);
    let other_secret = app.add_client("demo", other).await.unwrap();
    let token = app.service_token().await;
    let response = app
        .client
        .post(format!(
            "{}/protocol/openid-connect/revoke",
            app.issuer("demo")
        ))
        .basic_auth("other", Some(&other_secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized_client");
    assert!(app.active(&token).await, "nothing was revoked");
    assert_eq!(
        app.introspect(&token, ("other", &other_secret)).await,
        serde_json::json!({"active": false}),
        "unrelated clients learn nothing"
    );

    let anonymous = app
        .client
        .post(format!(
            "{}/protocol/openid-connect/revoke",
            app.issuer("demo")
        ))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let get = app
        .client
        .get(format!(
            "{}/protocol/openid-connect/revoke?token=x",
            app.issuer("demo")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 405);
    assert_eq!(app.revoke(&token, None).await.status(), 200);
    assert_eq!(
        app.revoke(&token, None).await.status(),
        200,
        "already revoked: still 200"
    );
    assert!(!app.active(&token).await);
}

async fn introspection_describes_active_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let tokens = app.alice_tokens("openid profile").await;
    let secret = app.demo_secret();
    let access = app
        .introspect(
            tokens["access_token"].as_str().unwrap(),
            ("demo-app", &secret),
        )
        .await;
    assert_eq!(access["active"], true);
    assert_eq!(access["username"], "alice");
    assert_eq!(access["client_id"], "demo-app");
    assert_eq!(access["token_type"], "Bearer");
    assert_eq!(access["iss"], app.issuer("demo"));
    assert!(access["sid"].is_string() && access["jti"].is_string() && access["exp"].is_i64());
    let refresh = app
        .introspect(
            tokens["refresh_token"].as_str().unwrap(),
            ("demo-app", &secret),
        )
        .await;
    assert_eq!(refresh["active"], true);
    assert_eq!(refresh["token_type"], "refresh_token");
    let id = app
        .introspect(tokens["id_token"].as_str().unwrap(), ("demo-app", &secret))
        .await;
    assert_eq!(id["active"], false, "an ID token is not an access token");
}

crate::both_backends!(
    revoking_an_access_token_denies_its_jti,
    revoking_a_refresh_token_kills_its_family_and_its_access_tokens,
    end_session_with_id_token_hint_ends_everything_of_the_session,
    logout_without_hint_asks_for_confirmation,
    unregistered_post_logout_redirect_is_never_followed,
    refresh_reuse_ends_the_session_and_its_access_tokens,
    cli_logout_all_reaches_the_server_within_the_poll,
    admin_password_reset_and_disable_cut_the_user_off,
    client_and_realm_cut_offs_reject_older_tokens,
    token_minted_just_before_a_cut_off_dies_one_after_lives,
    emergency_rotation_kills_every_token_of_the_key_graceful_does_not,
    rfc7009_edge_cases,
    introspection_describes_active_tokens,
    revocations_survive_sigkill,
);

/// Revoke, end a session, log a user out; SIGKILL the server; start it
/// again on the same database: all three are still in force.
async fn revocations_survive_sigkill(backend: Backend) {
    let db = TestDatabase::new(backend);
    let key = latch::crypto::MasterKey::generate().encode();
    let app = spawn_process(db, &key, free_port()).await;
    let revoked = app.service_token().await;
    let browser = app.browser();
    let (code, verifier) = app.demo_code(&browser, "openid").await;
    let session_tokens = app.redeem(&code, &verifier).await;
    let bob_password = "bob's long passphrase";
    let output = app.cli_with_stdin(
        &[
            "user",
            "create",
            "--realm",
            "demo",
            "--username",
            "bob",
            "--password-stdin",
        ],
        &format!("{bob_password}\n"),
    );
    assert!(output.status.success());
    let (url, bob_verifier) = app.demo_auth_url("openid", &[]);
    let bob_code = location_params(&app.sign_in(&app.browser(), &url, "bob", bob_password).await)
        ["code"]
        .clone();
    let bob = app.redeem(&bob_code, &bob_verifier).await;

    assert_eq!(app.revoke(&revoked, None).await.status(), 200);
    let logout = format!(
        "{}/protocol/openid-connect/logout?id_token_hint={}",
        app.issuer("demo"),
        session_tokens["id_token"].as_str().unwrap()
    );
    assert_eq!(browser.get(&logout).send().await.unwrap().status(), 200);
    let output = app.cli(&["user", "logout-all", "--realm", "demo", "--username", "bob"]);
    assert!(output.status.success());

    let port = app.port;
    let db = app.kill();
    let app = spawn_process(db, &key, port).await;
    assert!(!app.active(&revoked).await, "revoked jti after restart");
    assert!(
        !app.active(session_tokens["access_token"].as_str().unwrap())
            .await,
        "ended session after restart"
    );
    assert!(
        !app.active(bob["access_token"].as_str().unwrap()).await,
        "logout-all after restart"
    );
    let fresh = app.service_token().await;
    assert!(app.active(&fresh).await);
    let _ = DEMO_REDIRECT;
}
