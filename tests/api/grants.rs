//! The token endpoint: each grant, rotation and reuse detection, code
//! replay, and the exact errors of RFC 6749 §5.2.

use std::time::Duration;

use crate::helpers::{location_params, spawn_app, Backend, DEMO_REDIRECT};

fn json_error(body: &serde_json::Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

async fn client_credentials_issues_an_at_jwt_access_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let secret = app.demo_secret();
    let response = app
        .token_request(
            "demo",
            Some(("demo-app", &secret)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    let token = body["access_token"].as_str().unwrap();
    let header = token.split('.').next().unwrap();
    let header: serde_json::Value = serde_json::from_slice(&base64_decode(header)).unwrap();
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    let claims: serde_json::Value =
        serde_json::from_slice(&base64_decode(token.split('.').nth(1).unwrap())).unwrap();
    assert_eq!(claims["client_id"], "demo-app");
    assert_eq!(claims["iss"], app.issuer("demo"));
    assert_eq!(claims["jti"].as_str().unwrap().len(), 22, "128-bit jti");
    assert!(claims["iat_ms"].as_i64().unwrap() / 1000 == claims["iat"].as_i64().unwrap());

    // client_secret_post works too.
    let response = app
        .token_request(
            "demo",
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "demo-app"),
                ("client_secret", &secret),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
}

fn base64_decode(part: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap()
}

async fn client_authentication_failures_are_401_invalid_client(backend: Backend) {
    let app = spawn_app(backend).await;
    for auth in [
        ("demo-app", "wrong-secret-wrong-secret-wrong-secret"),
        ("nobody", "x"),
    ] {
        let response = app
            .token_request("demo", Some(auth), &[("grant_type", "client_credentials")])
            .await;
        assert_eq!(response.status(), 401, "{auth:?}");
        assert!(response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic"));
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(json_error(&body), "invalid_client");
    }
    let response = app
        .token_request("demo", None, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(response.status(), 401);
}

async fn unsupported_grant_and_repeated_parameters_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let secret = app.demo_secret();
    let response = app
        .token_request(
            "demo",
            Some(("demo-app", &secret)),
            &[("grant_type", "urn:ietf:params:oauth:grant-type:device_code")],
        )
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        json_error(&response.json().await.unwrap()),
        "unsupported_grant_type"
    );

    let response = app
        .token_request(
            "demo",
            Some(("demo-app", &secret)),
            &[
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
            ],
        )
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        json_error(&response.json().await.unwrap()),
        "invalid_request"
    );

    let response = app
        .token_request(
            "demo",
            Some(("demo-app", &secret)),
            &[
                ("grant_type", "client_credentials"),
                ("scope", "offline_access"),
            ],
        )
        .await;
    assert_eq!(json_error(&response.json().await.unwrap()), "invalid_scope");
}

async fn refresh_rotates_and_reuse_kills_the_family(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    let (code, verifier) = app.demo_code(&browser, "openid").await;
    let first = app.redeem(&code, &verifier).await;
    let r1 = first["refresh_token"].as_str().unwrap().to_string();

    let second = app.refresh(&r1).await;
    assert_eq!(second.status(), 200);
    let second: serde_json::Value = second.json().await.unwrap();
    let r2 = second["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(r1, r2);
    assert!(second["id_token"].is_string());

    let reused = app.refresh(&r1).await;
    assert_eq!(reused.status(), 400);
    let body: serde_json::Value = reused.json().await.unwrap();
    assert_eq!(json_error(&body), "invalid_grant");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("already used"));

    let newest = app.refresh(&r2).await;
    assert_eq!(
        newest.status(),
        400,
        "the whole family died, the newest token too"
    );

    // Reuse is a theft signal: the browser session ended as well.
    let (url, _) = app.demo_auth_url("openid", &[("prompt", "none")]);
    let silent = browser.get(&url).send().await.unwrap();
    assert_eq!(location_params(&silent)["error"], "login_required");
}

async fn grace_window_repeats_the_same_response_and_never_forks(backend: Backend) {
    let app = spawn_app(backend).await;
    app.set_realm("demo", "refresh_grace_ms", 2000).await;
    let (code, verifier) = app.demo_code(&app.browser(), "openid").await;
    let r1 = app.redeem(&code, &verifier).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let a: serde_json::Value = app.refresh(&r1).await.json().await.unwrap();
    let b: serde_json::Value = app.refresh(&r1).await.json().await.unwrap();
    assert_eq!(
        a, b,
        "a retry within the window gets the identical response"
    );

    tokio::time::sleep(Duration::from_millis(2200)).await;
    let late = app.refresh(&r1).await;
    assert_eq!(
        late.status(),
        400,
        "outside the window reuse kills the family"
    );
    let successor = a["refresh_token"].as_str().unwrap();
    assert_eq!(app.refresh(successor).await.status(), 400);
}

async fn code_replay_revokes_the_first_exchange(backend: Backend) {
    let app = spawn_app(backend).await;
    let (code, verifier) = app.demo_code(&app.browser(), "openid").await;
    let first = app.redeem(&code, &verifier).await;
    let secret = app.demo_secret();
    let replay = app
        .token_request(
            "demo",
            Some(("demo-app", &secret)),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", DEMO_REDIRECT),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(replay.status(), 400);
    assert_eq!(json_error(&replay.json().await.unwrap()), "invalid_grant");
    let refresh = app.refresh(first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        refresh.status(),
        400,
        "the refresh token of the first exchange is revoked"
    );
}

async fn code_exchange_errors_are_invalid_grant(backend: Backend) {
    let app = spawn_app(backend).await;
    let secret = app.demo_secret();
    let browser = app.browser();
    let exchange = |code: String, redirect: &'static str, verifier: Option<String>| {
        let secret = secret.clone();
        let app = &app;
        async move {
            let mut form = vec![
                ("grant_type", "authorization_code".to_string()),
                ("code", code),
                ("redirect_uri", redirect.to_string()),
            ];
            if let Some(v) = verifier {
                form.push(("code_verifier", v));
            }
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let response = app
                .token_request("demo", Some(("demo-app", &secret)), &form)
                .await;
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap();
            (status, body)
        }
    };
    let (code, verifier) = app.demo_code(&browser, "openid").await;
    let (status, body) = exchange(code.clone(), DEMO_REDIRECT, None).await;
    assert_eq!((status.as_u16(), json_error(&body)), (400, "invalid_grant"));
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("code_verifier is required"));
    let (_, body) = exchange(code.clone(), DEMO_REDIRECT, Some("x".repeat(43))).await;
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("does not match"));
    let (_, body) = exchange(
        code.clone(),
        "http://127.0.0.1:8081/other",
        Some(verifier.clone()),
    )
    .await;
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("redirect_uri"));
    let (_, body) = exchange("made-up".into(), DEMO_REDIRECT, Some(verifier.clone())).await;
    assert_eq!(json_error(&body), "invalid_grant");
    // The failures above did not burn the code.
    let (status, _) = exchange(code, DEMO_REDIRECT, Some(verifier)).await;
    assert_eq!(status, 200);

    let (code, verifier) = app.demo_code(&app.browser(), "openid").await;
    app.sql("UPDATE auth_codes SET expires_at_ms = 0");
    let (_, body) = exchange(code, DEMO_REDIRECT, Some(verifier)).await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );
}

async fn code_of_another_client_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut other = crate::helpers::new_client("other");
    other.redirect_uris = vec![DEMO_REDIRECT.into()];
    let other_secret = app.add_client("demo", other).await.unwrap();
    let (code, verifier) = app.demo_code(&app.browser(), "openid").await;
    let response = app
        .token_request(
            "demo",
            Some(("other", &other_secret)),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", DEMO_REDIRECT),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("another client"));
    app.redeem(&code, &verifier).await;
}

async fn id_token_is_not_accepted_as_an_access_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let (code, verifier) = app.demo_code(&app.browser(), "openid profile").await;
    let tokens = app.redeem(&code, &verifier).await;
    let ok = app
        .userinfo("demo", tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(ok.status(), 200);
    let body: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(body["preferred_username"], "alice");

    let refused = app
        .userinfo("demo", tokens["id_token"].as_str().unwrap())
        .await;
    assert_eq!(refused.status(), 401);
    assert!(refused.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));

    let secret = app.demo_secret();
    let service = app
        .token_request(
            "demo",
            Some(("demo-app", &secret)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    let service: serde_json::Value = service.json().await.unwrap();
    assert_eq!(
        app.userinfo("demo", service["access_token"].as_str().unwrap())
            .await
            .status(),
        401
    );
    assert_eq!(app.userinfo("demo", "not-a-token").await.status(), 401);
}

async fn offline_tokens_outlive_the_browser_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    let (online_code, online_verifier) = app.demo_code(&browser, "openid").await;
    let online = app.redeem(&online_code, &online_verifier).await;

    let (url, offline_verifier) = app.demo_auth_url("openid offline_access", &[]);
    let consent = browser.get(&url).send().await.unwrap();
    assert_eq!(
        consent.status(),
        200,
        "offline access asks for consent the first time"
    );
    let html = consent.text().await.unwrap();
    assert!(html.contains("Stay signed in"));
    let allowed = app
        .submit(
            &browser,
            crate::helpers::Form::parse(&html).with("decision", "allow"),
        )
        .await;
    let offline = app
        .redeem(&location_params(&allowed)["code"], &offline_verifier)
        .await;

    // A new sign-in in this browser ends the previous session.
    let (url, _) = app.demo_auth_url("openid", &[("prompt", "login")]);
    let again = app
        .sign_in(&browser, &url, "alice", &app.alice_password())
        .await;
    assert_eq!(again.status(), 303);

    let online_refresh = app.refresh(online["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        online_refresh.status(),
        400,
        "online tokens die with their session"
    );
    let offline_refresh = app
        .refresh(offline["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(offline_refresh.status(), 200, "offline tokens outlive it");
}

crate::both_backends!(
    client_credentials_issues_an_at_jwt_access_token,
    client_authentication_failures_are_401_invalid_client,
    unsupported_grant_and_repeated_parameters_are_refused,
    refresh_rotates_and_reuse_kills_the_family,
    grace_window_repeats_the_same_response_and_never_forks,
    code_replay_revokes_the_first_exchange,
    code_exchange_errors_are_invalid_grant,
    code_of_another_client_is_refused,
    id_token_is_not_accepted_as_an_access_token,
    offline_tokens_outlive_the_browser_session,
);
