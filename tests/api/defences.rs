//! Brute-force protection and rate limits, attacked over HTTP: lockout
//! (even the right password is refused, with the same message), password
//! spraying from one address, guessing a client secret, floods of
//! unauthenticated requests, and an operator's per-client quota.

use serde_json::{json, Value};

use crate::helpers::{Backend, Form, TestApp};

async fn login_page_after(
    app: &TestApp,
    browser: &reqwest::Client,
    username: &str,
    password: &str,
) -> reqwest::Response {
    let (url, _) = app.demo_auth_url("openid", &[]);
    app.sign_in(browser, &url, username, password).await
}

async fn password_grant(app: &TestApp, username: &str, password: &str) -> reqwest::Response {
    app.token_request(
        "master",
        None,
        &[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", username),
            ("password", password),
        ],
    )
    .await
}

/// A client that connects from another loopback address (another "IP").
fn from_address(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(Some(ip.parse().unwrap()))
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

async fn an_account_locks_after_ten_failures_and_an_admin_can_clear_it(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let password = app.alice_password();
    let users: Value = app
        .admin(
            reqwest::Method::GET,
            "/demo/users?username=alice&exact=true",
            Value::Null,
        )
        .await
        .1;
    let alice = users[0]["id"].as_str().unwrap().to_string();
    for attempt in 1..=10 {
        let page =
            login_page_after(&app, &app.browser(), "alice", &format!("guess {attempt}")).await;
        assert_eq!(page.status(), 200);
        assert!(page
            .text()
            .await
            .unwrap()
            .contains("Wrong username or password"));
    }
    // Locked: the right password gets exactly the same answer.
    let page = login_page_after(&app, &app.browser(), "alice", &password).await;
    assert_eq!(page.status(), 200, "no redirect to the client while locked");
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("Wrong username or password"));
    let (status, lockout) = app
        .admin(
            reqwest::Method::GET,
            &format!("/demo/attack-detection/brute-force/users/{alice}"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(lockout["disabled"], true);
    assert_eq!(lockout["lockouts"], 1);
    assert_eq!(lockout["lastIPFailure"], "127.0.0.1");
    let until = lockout["lockedUntil"].as_i64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(
        (50_000..=61_000).contains(&(until - now)),
        "the first lockout lasts a minute: {}",
        until - now
    );
    let (_, events) = app
        .admin(
            reqwest::Method::GET,
            &format!("/demo/events?type=user.locked_out&user={alice}"),
            Value::Null,
        )
        .await;
    assert_eq!(
        events.as_array().unwrap().len(),
        1,
        "the lockout is audited"
    );

    let (status, _) = app
        .admin(
            reqwest::Method::DELETE,
            &format!("/demo/attack-detection/brute-force/users/{alice}"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 204);
    let page = login_page_after(&app, &app.browser(), "alice", &password).await;
    assert_eq!(
        page.status(),
        303,
        "cleared: the right password works again"
    );
    let (_, lockout) = app
        .admin(
            reqwest::Method::GET,
            &format!("/demo/attack-detection/brute-force/users/{alice}"),
            Value::Null,
        )
        .await;
    assert_eq!(lockout["disabled"], false);
    assert_eq!(lockout["numFailures"], 0);
}

async fn the_password_grant_shares_the_lockout(backend: Backend) {
    let app = crate::helpers::spawn_app_with(backend, |s| s.lockout_threshold = 3).await;
    let admin_password = app.admin_password.clone().unwrap();
    for _ in 0..3 {
        let response = password_grant(&app, "admin", "wrong").await;
        assert_eq!(
            response.json::<Value>().await.unwrap()["error"],
            "invalid_grant"
        );
    }
    let locked = password_grant(&app, "admin", &admin_password).await;
    assert_eq!(locked.status(), 400);
    let body: Value = locked.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(
        body["error_description"], "Invalid user credentials",
        "the same words as a wrong password"
    );
    // The login form sees the same lockout.
    let browser = app.browser();
    let url = app.auth_url(
        "master",
        &[
            ("client_id", "security-admin-console"),
            (
                "redirect_uri",
                &format!("{}/admin/console/callback", app.base),
            ),
            ("response_type", "code"),
            ("code_challenge", &crate::helpers::pkce().1),
            ("code_challenge_method", "S256"),
        ],
    );
    let page = app.sign_in(&browser, &url, "admin", &admin_password).await;
    assert_eq!(page.status(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("Wrong username or password"));
}

async fn password_spraying_from_one_address_is_throttled(backend: Backend) {
    let app =
        crate::helpers::spawn_app_with(backend, |s| s.login_failures_per_ip_per_min = 5).await;
    // One wrong password each for many accounts (no account reaches its lockout).
    for user in ["alice", "bob", "carol", "dave", "erin"] {
        let page = login_page_after(&app, &app.browser(), user, "Summer2026!").await;
        assert_eq!(page.status(), 200, "{user}");
    }
    let page = login_page_after(&app, &app.browser(), "frank", "Summer2026!").await;
    assert_eq!(page.status(), 429);
    let wait: u64 = page.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=12).contains(&wait), "{wait}");
    assert!(page.text().await.unwrap().contains("Too many attempts"));
    // Even a right password from that address waits; the password grant too.
    let right = login_page_after(&app, &app.browser(), "alice", &app.alice_password()).await;
    assert_eq!(right.status(), 429);
    let grant = password_grant(&app, "admin", "Summer2026!").await;
    assert_eq!(grant.status(), 429);
    assert!(grant.headers().contains_key("retry-after"));
    // Another address is not affected.
    let elsewhere = from_address("127.0.0.2");
    let (url, _) = app.demo_auth_url("openid", &[]);
    let page = elsewhere
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = Form::parse(&page)
        .with("username", "alice")
        .with("password", &app.alice_password());
    let response = elsewhere
        .post(app.url(&form.action))
        .form(&form.fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "a sign-in from another address");
}

async fn guessing_a_client_secret_is_throttled_per_address(backend: Backend) {
    let app = crate::helpers::spawn_app_with(backend, |s| s.client_auth_failures_per_min = 4).await;
    let secret = app.demo_secret();
    let attacker = from_address("127.0.0.3");
    let token_url = format!("{}/protocol/openid-connect/token", app.issuer("demo"));
    let attempt = |client: &reqwest::Client, secret: &str| {
        client
            .post(&token_url)
            .basic_auth("demo-app", Some(secret.to_string()))
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    for i in 0..4 {
        assert_eq!(
            attempt(&attacker, &format!("guess-{i}"))
                .await
                .unwrap()
                .status(),
            401
        );
    }
    let throttled = attempt(&attacker, &secret).await.unwrap();
    assert_eq!(
        throttled.status(),
        429,
        "even the right secret waits at that address"
    );
    assert!(throttled.headers().contains_key("retry-after"));
    // The real client, from its own address, is not locked out.
    assert_eq!(attempt(&app.client, &secret).await.unwrap().status(), 200);
}

async fn unauthenticated_floods_are_limited_but_clients_are_not(backend: Backend) {
    let app = crate::helpers::spawn_app_with(backend, |s| s.unauthenticated_per_ip_per_s = 2).await;
    let operator = app.admin_token().await;
    // The admin token came through a public client: let its token refill.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    // A public client's requests count against its address: burst 10.
    let url = format!("{}/protocol/openid-connect/token", app.issuer("demo"));
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let response = app
            .client
            .post(&url)
            .form(&[
                ("grant_type", "refresh_token"),
                ("client_id", "account-console"),
                ("refresh_token", "x"),
            ])
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert!(
        statuses[..10].iter().all(|s| *s == 400),
        "the burst passes: {statuses:?}"
    );
    assert!(
        statuses.iter().filter(|s| **s == 429).count() >= 5,
        "then 429: {statuses:?}"
    );
    // An authenticated client is not limited by default…
    let secret = app.demo_secret();
    for _ in 0..40 {
        let r = app
            .token_request(
                "demo",
                Some(("demo-app", &secret)),
                &[("grant_type", "client_credentials")],
            )
            .await;
        assert_eq!(r.status(), 200);
    }
    // …unless an operator gives it a quota.
    let (_, clients) = app
        .admin_as(
            &operator,
            reqwest::Method::GET,
            "/demo/clients?clientId=demo-app",
            Value::Null,
        )
        .await;
    let id = clients[0]["id"].as_str().unwrap().to_string();
    let (status, _) = app
        .admin_as(
            &operator,
            reqwest::Method::PUT,
            &format!("/demo/clients/{id}"),
            json!({"rateLimitPerSecond": 3}),
        )
        .await;
    assert_eq!(status, 204);
    let (_, client) = app
        .admin_as(
            &operator,
            reqwest::Method::GET,
            &format!("/demo/clients/{id}"),
            Value::Null,
        )
        .await;
    assert_eq!(client["rateLimitPerSecond"], 3);
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let r = app
            .token_request(
                "demo",
                Some(("demo-app", &secret)),
                &[("grant_type", "client_credentials")],
            )
            .await;
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses[..3], [200, 200, 200], "{statuses:?}");
    assert!(
        statuses.iter().filter(|s| **s == 429).count() >= 3,
        "{statuses:?}"
    );
    let (status, body) = app
        .admin_as(
            &operator,
            reqwest::Method::PUT,
            &format!("/demo/clients/{id}"),
            json!({"rateLimitPerSecond": -1}),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("rateLimitPerSecond"))
    );
}

crate::both_backends!(
    an_account_locks_after_ten_failures_and_an_admin_can_clear_it,
    the_password_grant_shares_the_lockout,
    password_spraying_from_one_address_is_throttled,
    guessing_a_client_secret_is_throttled_per_address,
    unauthenticated_floods_are_limited_but_clients_are_not,
);
