//! Keycloak compatibility of the protocol endpoints and the admin API's
//! answers: logout by refresh token, `session_state` and
//! `not-before-policy`, client_credentials with `scope=openid`, a client
//! registered with only its `clientId`, case-insensitive query booleans,
//! 204 where Keycloak answers 204 — and where Latch deliberately differs
//! (a wrong password is 400 `invalid_grant`), Latch's answer.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{claims, location_params, pkce, Backend, Form, TestApp};

const SPA_REDIRECT: &str = "https://spa.example/cb";

fn logout_url(app: &TestApp) -> String {
    format!("{}/protocol/openid-connect/logout", app.issuer("demo"))
}

/// POSTs a form to the logout endpoint, with Basic client credentials.
async fn logout_with(
    app: &TestApp,
    auth: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = app.client.post(logout_url(app)).form(form);
    if let Some((id, secret)) = auth {
        request = request.basic_auth(id, Some(secret));
    }
    request.send().await.unwrap()
}

async fn assert_oauth_error(response: reqwest::Response, status: u16, error: &str) {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
}

async fn admin_token(app: &TestApp) -> String {
    app.admin_token().await
}

async fn alice_id(app: &TestApp, token: &str) -> String {
    let (status, users) = app
        .admin_as(
            token,
            Method::GET,
            "/demo/users?username=alice&exact=true",
            Value::Null,
        )
        .await;
    assert_eq!(status, 200, "{users}");
    users[0]["id"].as_str().unwrap().to_string()
}

/// Registers the public client `spa` and signs alice in to it (code flow
/// with PKCE); returns its token response.
async fn spa_tokens(app: &TestApp, token: &str) -> Value {
    let (status, body) = app
        .admin_as(
            token,
            Method::POST,
            "/demo/clients",
            json!({"clientId": "spa", "publicClient": true, "redirectUris": [SPA_REDIRECT]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (verifier, challenge) = pkce();
    let url = app.auth_url(
        "demo",
        &[
            ("client_id", "spa"),
            ("redirect_uri", SPA_REDIRECT),
            ("response_type", "code"),
            ("scope", "openid"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let response = app
        .sign_in(&app.browser(), &url, "alice", &app.alice_password())
        .await;
    assert_eq!(response.status(), 303);
    let code = location_params(&response)["code"].clone();
    let response = app
        .token_request(
            "demo",
            None,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "spa"),
                ("code", &code),
                ("redirect_uri", SPA_REDIRECT),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn logout_by_refresh_token_ends_the_session(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let secret = app.demo_secret();
    let tokens = app.alice_tokens("openid").await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    app.assert_accepted(access).await;

    // Another client (authenticated) cannot end demo-app's sign-in.
    let other = app
        .add_client("demo", crate::helpers::new_client("other"))
        .await
        .unwrap();
    let response = logout_with(&app, Some(("other", &other)), &[("refresh_token", refresh)]).await;
    assert_oauth_error(response, 400, "invalid_grant").await;
    // A wrong secret is refused before the token is looked at.
    let response = logout_with(
        &app,
        Some(("demo-app", "not-the-secret")),
        &[("refresh_token", refresh)],
    )
    .await;
    assert_oauth_error(response, 401, "invalid_client").await;
    // Client credentials without a refresh token: a client's request all the same.
    let response = logout_with(&app, Some(("demo-app", &secret)), &[]).await;
    assert_oauth_error(response, 400, "invalid_request").await;
    app.assert_accepted(access).await;

    // A rotated token no longer names the sign-in.
    let rotated = refresh;
    let refreshed: Value = app.refresh(rotated).await.json().await.unwrap();
    let access = refreshed["access_token"].as_str().unwrap();
    let refresh = refreshed["refresh_token"].as_str().unwrap();
    let response = logout_with(
        &app,
        Some(("demo-app", &secret)),
        &[("refresh_token", rotated)],
    )
    .await;
    assert_oauth_error(response, 400, "invalid_grant").await;
    app.assert_accepted(access).await;

    // client_secret_post, as Keycloak's client libraries send it.
    let response = logout_with(
        &app,
        None,
        &[
            ("client_id", "demo-app"),
            ("client_secret", &secret),
            ("refresh_token", refresh),
        ],
    )
    .await;
    assert_eq!(response.status(), 204);
    assert!(response.bytes().await.unwrap().is_empty());
    app.assert_rejected(access).await;
    assert_oauth_error(app.refresh(refresh).await, 400, "invalid_grant").await;
    // The token is spent: a second logout with it is refused.
    let response = logout_with(
        &app,
        Some(("demo-app", &secret)),
        &[("refresh_token", refresh)],
    )
    .await;
    assert_oauth_error(response, 400, "invalid_grant").await;
}

async fn logout_by_offline_token_ends_that_family_only(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let secret = app.demo_secret();
    let tokens = app.alice_tokens("openid offline_access").await;
    let access = tokens["access_token"].as_str().unwrap();
    let offline = tokens["refresh_token"].as_str().unwrap();
    let sid = claims(access)["sid"].as_str().unwrap().to_string();

    let response = logout_with(
        &app,
        Some(("demo-app", &secret)),
        &[("refresh_token", offline)],
    )
    .await;
    assert_eq!(response.status(), 204);
    assert_oauth_error(app.refresh(offline).await, 400, "invalid_grant").await;
    app.assert_rejected(access).await;
    // The browser session it came from lives on.
    let token = admin_token(&app).await;
    let (status, sessions) = app
        .admin_as(&token, Method::GET, "/demo/sessions", Value::Null)
        .await;
    assert_eq!(status, 200);
    assert!(
        sessions
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == sid.as_str()),
        "{sessions}"
    );
}

async fn a_public_client_logs_out_by_its_id(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let token = admin_token(&app).await;
    let tokens = spa_tokens(&app, &token).await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(app.userinfo("demo", access).await.status(), 200);

    // demo-app may not end spa's sign-in.
    let secret = app.demo_secret();
    let response = logout_with(
        &app,
        Some(("demo-app", &secret)),
        &[("refresh_token", refresh)],
    )
    .await;
    assert_oauth_error(response, 400, "invalid_grant").await;
    // An unknown client is not authenticated.
    let response = logout_with(
        &app,
        None,
        &[("client_id", "nobody"), ("refresh_token", refresh)],
    )
    .await;
    assert_oauth_error(response, 401, "invalid_client").await;

    let response = logout_with(
        &app,
        None,
        &[("client_id", "spa"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(response.status(), 204);
    assert_eq!(app.userinfo("demo", access).await.status(), 401);
    let refreshed = app
        .token_request(
            "demo",
            None,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "spa"),
                ("refresh_token", refresh),
            ],
        )
        .await;
    assert_oauth_error(refreshed, 400, "invalid_grant").await;
}

async fn browsers_keep_rp_initiated_logout(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    // GET, and a POST carrying neither a refresh token nor credentials:
    // the confirmation page of RP-Initiated Logout.
    let page = app.client.get(logout_url(&app)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("csrf_token"));
    let page = logout_with(&app, None, &[("client_id", "demo-app")]).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("csrf_token"));
}

async fn token_responses_carry_session_state_and_not_before_policy(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let browser = app.browser();
    let (url, verifier) = app.demo_auth_url("openid", &[]);
    let response = app
        .sign_in(&browser, &url, "alice", &app.alice_password())
        .await;
    assert_eq!(response.status(), 303);
    let params = location_params(&response);
    let tokens = app.redeem(&params["code"], &verifier).await;
    let sid = claims(tokens["access_token"].as_str().unwrap())["sid"].clone();
    assert!(sid.is_string());
    // Keycloak's authorization response names the session too.
    assert_eq!(params["session_state"], sid.as_str().unwrap());
    assert_eq!(params["state"], "st4te");
    assert_eq!(tokens["session_state"], sid);
    assert_eq!(tokens["not-before-policy"], 0);

    let refreshed: Value = app
        .refresh(tokens["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(refreshed["session_state"], sid);
    assert_eq!(refreshed["not-before-policy"], 0);

    // The realm's not-before moves when everyone is logged out.
    let token = admin_token(&app).await;
    let before_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (status, _) = app
        .admin_as(&token, Method::POST, "/demo/logout-all", Value::Null)
        .await;
    assert_eq!(status, 200);
    let secret = app.demo_secret();
    let service: Value = app
        .token_request(
            "demo",
            Some(("demo-app", &secret)),
            &[("grant_type", "client_credentials")],
        )
        .await
        .json()
        .await
        .unwrap();
    let policy = service["not-before-policy"].as_i64().unwrap();
    assert!((before_s - 5..=before_s + 5).contains(&policy), "{service}");
    // No user, no session.
    assert!(service.get("session_state").is_none(), "{service}");
}

async fn client_credentials_accepts_openid_without_an_id_token(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let secret = app.demo_secret();
    let response = app
        .token_request(
            "demo",
            Some(("demo-app", &secret)),
            &[("grant_type", "client_credentials"), ("scope", "openid")],
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let access = body["access_token"].as_str().unwrap();
    assert!(body.get("id_token").is_none(), "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert!(body["scope"]
        .as_str()
        .unwrap()
        .split(' ')
        .any(|s| s == "openid"));
    assert_eq!(claims(access)["sub"], "demo-app");
    assert!(app.active(access).await);
    // No user behind it: userinfo has nobody to describe.
    assert_eq!(app.userinfo("demo", access).await.status(), 401);

    for refused in ["offline_access", "openid not-a-scope"] {
        let response = app
            .token_request(
                "demo",
                Some(("demo-app", &secret)),
                &[("grant_type", "client_credentials"), ("scope", refused)],
            )
            .await;
        assert_oauth_error(response, 400, "invalid_scope").await;
    }
}

async fn a_client_needs_only_its_client_id(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let token = admin_token(&app).await;
    let response = app
        .client
        .post(app.url("/admin/realms/demo/clients"))
        .bearer_auth(&token)
        .json(&json!({"clientId": "bare"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let id = location.rsplit('/').next().unwrap();
    let (status, client) = app
        .admin_as(
            &token,
            Method::GET,
            &format!("/demo/clients/{id}"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(client["clientId"], "bare");
    assert_eq!(client["redirectUris"], json!([]));
    assert_eq!(client["publicClient"], false);

    // With no redirect URI registered, no authorization request succeeds;
    // an unregistered URI is an error page, never a redirect to it.
    for (client_id, redirect) in [
        ("bare", "https://bare.example/cb"),
        ("demo-app", "https://attacker.example/cb"),
        ("demo-app", "http://127.0.0.1:8081/callback/extra"),
    ] {
        let url = app.auth_url(
            "demo",
            &[
                ("client_id", client_id),
                ("redirect_uri", redirect),
                ("response_type", "code"),
                ("scope", "openid"),
                ("code_challenge", &pkce().1),
                ("code_challenge_method", "S256"),
            ],
        );
        let response = app.browser().get(&url).send().await.unwrap();
        assert_eq!(response.status(), 400, "{client_id} {redirect}");
        assert!(response.headers().get("location").is_none());
    }
    // The registered one (DEMO_REDIRECT) still leads to the login page.
    let url = app.demo_auth_url("openid", &[]).0;
    let page = app.browser().get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(Form::parse(&page.text().await.unwrap())
        .action
        .ends_with("/login-actions/authenticate"));
}

async fn query_booleans_ignore_case(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let token = admin_token(&app).await;
    let get = |path: String| {
        let token = token.clone();
        let app = &app;
        async move { app.admin_as(&token, Method::GET, &path, Value::Null).await }
    };
    for exact in ["true", "True", "TRUE"] {
        let (status, users) = get(format!("/demo/users?username=ali&exact={exact}")).await;
        assert_eq!(status, 200, "{exact}");
        assert_eq!(users, json!([]), "exact={exact} matches the whole username");
        let (_, users) = get(format!("/demo/users?username=alice&exact={exact}")).await;
        assert_eq!(users.as_array().unwrap().len(), 1);
    }
    for exact in ["false", "False", "FALSE"] {
        let (status, users) = get(format!("/demo/users?username=ali&exact={exact}")).await;
        assert_eq!(status, 200);
        assert_eq!(users[0]["username"], "alice", "exact={exact}");
    }
    let (status, body) = get("/demo/users?username=ali&exact=yes".into()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_request");

    // The same deserializer reads the admin actions' `summary`.
    let alice = alice_id(&app, &token).await;
    let (status, outcome) = app
        .admin_as(
            &token,
            Method::POST,
            &format!("/demo/users/{alice}/logout?summary=True"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(outcome["sessionsEnded"], 0);
}

async fn admin_actions_answer_204_as_keycloak_does(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let token = admin_token(&app).await;
    let alice = alice_id(&app, &token).await;

    let tokens = app.alice_tokens("openid").await;
    let access = tokens["access_token"].as_str().unwrap();
    let response = app
        .client
        .post(app.url(&format!("/admin/realms/demo/users/{alice}/logout")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert!(response.bytes().await.unwrap().is_empty());
    app.assert_rejected(access).await;
    // What it took back is in the audit trail.
    let (status, events) = app
        .admin_as(
            &token,
            Method::GET,
            "/demo/events?type=user.logout_all",
            Value::Null,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(events[0]["subject"], alice.as_str(), "{events}");
    assert_eq!(events[0]["details"]["sessions_ended"], 1, "{events}");

    let tokens = app.alice_tokens("openid").await;
    let access = tokens["access_token"].as_str().unwrap();
    let sid = claims(access)["sid"].as_str().unwrap().to_string();
    let response = app
        .client
        .delete(app.url(&format!("/admin/realms/demo/sessions/{sid}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    app.assert_rejected(access).await;
    let (status, _) = app
        .admin_as(
            &token,
            Method::DELETE,
            &format!("/demo/sessions/{sid}"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 404);
}

/// A documented deviation: RFC 6749 §5.2 makes a wrong password in the
/// password grant 400 `invalid_grant`; Keycloak answers 401.
async fn a_wrong_password_is_invalid_grant(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let response = app
        .token_request(
            "master",
            None,
            &[
                ("grant_type", "password"),
                ("client_id", "admin-cli"),
                ("username", "admin"),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], "Invalid user credentials");
}

crate::both_backends!(
    logout_by_refresh_token_ends_the_session,
    logout_by_offline_token_ends_that_family_only,
    a_public_client_logs_out_by_its_id,
    browsers_keep_rp_initiated_logout,
    token_responses_carry_session_state_and_not_before_policy,
    client_credentials_accepts_openid_without_an_id_token,
    a_client_needs_only_its_client_id,
    query_booleans_ignore_case,
    admin_actions_answer_204_as_keycloak_does,
    a_wrong_password_is_invalid_grant,
);
