//! Session timeouts: the SSO idle timeout ends a session through the
//! cascade (tokens refused, refresh family dead, relying parties told),
//! "remember me" extends it, and offline sessions have their own idle
//! timeout.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{claims, Backend, Form};

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} never happened");
}

async fn an_idle_session_ends_through_the_cascade(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let (status, _) = app
        .admin(
            reqwest::Method::PUT,
            "/demo",
            json!({"ssoSessionIdleTimeout": 2}),
        )
        .await;
    assert_eq!(status, 204);
    let (_, clients) = app
        .admin(
            reqwest::Method::GET,
            "/demo/clients?clientId=demo-app",
            Value::Null,
        )
        .await;
    let demo_app = clients[0]["id"].as_str().unwrap().to_string();
    app.admin(
        reqwest::Method::PUT,
        &format!("/demo/clients/{demo_app}"),
        json!({"backchannelLogoutUrl": "http://127.0.0.1:9/backchannel"}),
    )
    .await;
    let tokens = app.alice_tokens("openid").await;
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let sid = claims(&access)["sid"].as_str().unwrap().to_string();
    app.assert_accepted(&access).await;
    eventually("the idle session's token refused", async || {
        app.userinfo("demo", &access).await.status() == 401
    })
    .await;
    assert_eq!(
        app.refresh(tokens["refresh_token"].as_str().unwrap())
            .await
            .status(),
        400
    );
    let (_, deliveries) = app
        .admin(
            reqwest::Method::GET,
            &format!("/demo/backchannel-deliveries?session={sid}"),
            Value::Null,
        )
        .await;
    assert_eq!(
        deliveries.as_array().unwrap().len(),
        1,
        "the relying party is told: {deliveries}"
    );
    let (_, events) = app
        .admin(
            reqwest::Method::GET,
            "/demo/events?type=session.ended",
            Value::Null,
        )
        .await;
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["subject"] == sid.as_str() && e["actor"] == "system"),
        "{events}"
    );
}

async fn remember_me_outlasts_the_idle_timeout(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let (status, _) = app.admin(reqwest::Method::PUT,
        "/demo",
        json!({"ssoSessionIdleTimeout": 2, "rememberMe": true, "ssoSessionMaxLifespanRememberMe": 3600}),
    )
    .await;
    assert_eq!(status, 204);
    let sign_in = |remember: bool| {
        let app = &app;
        async move {
            let browser = app.browser();
            let page = browser
                .get(app.url("/realms/demo/account"))
                .send()
                .await
                .unwrap();
            let mut response = page;
            while response.status().is_redirection() {
                let next = crate::helpers::location(&response);
                response = browser
                    .get(if next.starts_with("http") {
                        next
                    } else {
                        app.url(&next)
                    })
                    .send()
                    .await
                    .unwrap();
            }
            let html = response.text().await.unwrap();
            assert!(html.contains("Remember me"), "the realm offers it");
            let mut form = Form::parse(&html)
                .with("username", "alice")
                .with("password", &app.alice_password());
            if remember {
                form = form.with("remember_me", "on");
            }
            let response = app.submit(&browser, form).await;
            let cookie = response
                .headers()
                .get_all("set-cookie")
                .iter()
                .map(|v| v.to_str().unwrap().to_string())
                .find(|c| c.starts_with("LATCH_SESSION="))
                .unwrap();
            assert_eq!(cookie.contains("Max-Age"), remember, "{cookie}");
            let mut response = response;
            while response.status().is_redirection() {
                let next = crate::helpers::location(&response);
                response = browser
                    .get(if next.starts_with("http") {
                        next
                    } else {
                        app.url(&next)
                    })
                    .send()
                    .await
                    .unwrap();
            }
            assert_eq!(response.status(), 200);
            browser
        }
    };
    let remembered = sign_in(true).await;
    let forgetful = sign_in(false).await;
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let page = remembered
        .get(app.url("/realms/demo/account"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "the remembered session lives on");
    let page = forgetful
        .get(app.url("/realms/demo/account"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303, "the other one idled out");
}

async fn offline_sessions_have_their_own_idle_timeout(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let (status, _) = app
        .admin(
            reqwest::Method::PUT,
            "/demo",
            json!({"offlineSessionIdleTimeout": 2}),
        )
        .await;
    assert_eq!(status, 204);
    let tokens = app.alice_tokens("openid offline_access").await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let used = app.refresh(&refresh).await;
    assert_eq!(used.status(), 200, "used within its idle time");
    let next: Value = used.json().await.unwrap();
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let late = app.refresh(next["refresh_token"].as_str().unwrap()).await;
    assert_eq!(late.status(), 400);
    assert_eq!(
        late.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    app.assert_rejected(next["access_token"].as_str().unwrap())
        .await;
}

crate::both_backends!(
    an_idle_session_ends_through_the_cascade,
    remember_me_outlasts_the_idle_timeout,
    offline_sessions_have_their_own_idle_timeout,
);
