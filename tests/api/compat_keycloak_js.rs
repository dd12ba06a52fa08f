//! Keycloak's JavaScript adapter (keycloak-js, `tests/compat/node_modules`)
//! against Latch: in a real, headless Chromium it signs a single-page app
//! in, reads userinfo and the account API, refreshes, opens the account
//! page and comes back, checks the session silently from a second tab, hears through the login-status iframe that
//! the other tab logged out, and logs out itself. Over plain HTTP: the
//! pages it frames, the session's script-readable companion cookie,
//! JWT-shaped refresh tokens, credentialed CORS, the account API and the
//! account page's way back to the app, the registration link.
//!
//! Without chromedriver or the adapter the browser test says so and passes,
//! unless `LATCH_BROWSER_TESTS=require` / `LATCH_COMPAT_TESTS=require` (as
//! in CI), when it fails.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{claims, header, location, location_params, pkce, Backend, Form, TestApp};

crate::both_backends!(
    the_adapters_frames_are_framable_by_the_realms_web_origins_only,
    the_session_state_cookie_comes_and_goes_with_the_session,
    refresh_tokens_are_jwts_that_only_their_stored_hash_makes_valid,
    a_refresh_token_is_never_an_access_or_id_token,
    opaque_refresh_tokens_issued_earlier_keep_working,
    credentials_are_allowed_at_the_token_endpoint_and_for_bearer_answers_only,
    the_account_api_answers_a_users_own_token,
    the_account_page_links_back_to_the_app_that_sent_the_user,
    the_registration_link_shows_the_sign_in_page,
);

const SPA_ORIGIN: &str = "http://127.0.0.1:9999";

/// Registers a public client with `origin`'s pages as redirect URIs and
/// `+` as web origins (and `extra` fields); returns its id.
async fn register(app: &TestApp, client_id: &str, origin: &str, extra: Value) -> String {
    let mut body = json!({
        "clientId": client_id, "publicClient": true,
        "redirectUris": [format!("{origin}/"), format!("{origin}/sso.html")],
        "postLogoutRedirectUris": [format!("{origin}/"), format!("{origin}/logged-out.html")],
        "webOrigins": ["+"],
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let (status, created) = app
        .admin(reqwest::Method::POST, "/demo/clients", body)
        .await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_string()
}

/// Signs alice in to a public client in `browser` (or finds her signed in)
/// and redeems the code with PKCE; returns the token response.
async fn public_tokens(
    app: &TestApp,
    browser: &reqwest::Client,
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
) -> Value {
    let (verifier, challenge) = pkce();
    let url = app.auth_url(
        "demo",
        &[
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("response_type", "code"),
            ("scope", scope),
            ("state", "st4te"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let mut response = browser.get(&url).send().await.unwrap();
    if response.status() == 200 {
        let form = Form::parse(&response.text().await.unwrap());
        let form = form
            .with("username", "alice")
            .with("password", &app.alice_password());
        response = app.submit(browser, form).await;
    }
    let code = location_params(&response)["code"].clone();
    let redeemed = app
        .token_request(
            "demo",
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", client_id),
                ("redirect_uri", redirect_uri),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(redeemed.status(), 200);
    redeemed.json().await.unwrap()
}

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

fn csp(response: &reqwest::Response) -> String {
    response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string()
}

async fn the_adapters_frames_are_framable_by_the_realms_web_origins_only(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    register(&app, "spa", SPA_ORIGIN, json!({})).await;
    let other = register(
        &app,
        "other",
        "https://other.example",
        json!({"webOrigins": ["https://tools.example"]}),
    )
    .await;
    register(
        &app,
        "off",
        "https://off.example",
        json!({"enabled": false}),
    )
    .await;
    let page = |path: &str| {
        app.client
            .get(app.url(&format!("/realms/demo/protocol/openid-connect/{path}")))
            .send()
    };

    // Step 1 sets the test cookie; the pages allow the enabled clients' web
    // origins (`+` spelled out) as frame ancestors, run only their own
    // script, and carry no X-Frame-Options.
    let step1 = page("3p-cookies/step1.html").await.unwrap();
    assert_eq!(step1.status(), 200);
    let policy = csp(&step1);
    assert!(
        policy.contains("frame-ancestors http://127.0.0.1:9999 https://tools.example;"),
        "{policy}"
    );
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("off.example"), "{policy}");
    assert!(step1.headers().get("x-frame-options").is_none());
    let cookies = set_cookies(&step1);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("LATCH_3P_CHECK=supported")
                && c.contains("Max-Age=60")
                && c.contains("SameSite=Lax")),
        "{cookies:?}"
    );
    let body = step1.text().await.unwrap();
    assert!(
        body.contains(r#"<script src="/resources/js/3p-cookies-step1.js">"#),
        "{body}"
    );

    // Step 2 tells whether the cookie came back, and clears it.
    let step2 = |cookie: Option<&'static str>| {
        let mut request = app
            .client
            .get(app.url("/realms/demo/protocol/openid-connect/3p-cookies/step2.html"));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send()
    };
    let sent = step2(Some("LATCH_3P_CHECK=supported")).await.unwrap();
    assert!(set_cookies(&sent)
        .iter()
        .any(|c| c.starts_with("LATCH_3P_CHECK=;") && c.contains("Max-Age=0")));
    assert!(sent
        .text()
        .await
        .unwrap()
        .contains(r#"data-cookie-sent="true""#));
    let blocked = step2(None).await.unwrap().text().await.unwrap();
    assert!(blocked.contains(r#"data-cookie-sent="false""#), "{blocked}");

    // The login-status iframe names the cookie and its origin check.
    let iframe = page("login-status-iframe.html").await.unwrap();
    assert_eq!(iframe.status(), 200);
    assert!(csp(&iframe).contains("frame-ancestors http://127.0.0.1:9999 https://tools.example;"));
    assert!(csp(&iframe).contains("connect-src 'self'"));
    let body = iframe.text().await.unwrap();
    assert!(
        body.contains(r#"data-cookie="LATCH_SESSION_STATE""#),
        "{body}"
    );
    assert!(
        body.contains(
            r#"data-init="/realms/demo/protocol/openid-connect/login-status-iframe.html/init""#
        ),
        "{body}"
    );
    let script = app.get("/resources/js/login-status-iframe.js").await;
    assert_eq!(script.status(), 200);
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(script.text().await.unwrap().contains("postMessage"));
    assert_eq!(app.get("/resources/js/other.js").await.status(), 404);

    // init: 204 for one of the client's web origins, 403 for anything else.
    let init = |query: &str| page(&format!("login-status-iframe.html/init?{query}"));
    let answers = [
        ("client_id=spa&origin=http%3A%2F%2F127.0.0.1%3A9999", 204),
        ("client_id=other&origin=https%3A%2F%2Ftools.example", 204),
        ("client_id=spa&origin=https%3A%2F%2Ftools.example", 403),
        ("client_id=off&origin=https%3A%2F%2Foff.example", 403),
        ("client_id=nobody&origin=http%3A%2F%2F127.0.0.1%3A9999", 403),
        ("client_id=spa", 403),
        ("", 403),
    ];
    for (query, status) in answers {
        assert_eq!(init(query).await.unwrap().status(), status, "{query}");
    }

    // The same list as CORS: a client's changed web origins count at once.
    let (status, _) = app
        .admin(
            reqwest::Method::PUT,
            &format!("/demo/clients/{other}"),
            json!({"webOrigins": []}),
        )
        .await;
    assert_eq!(status, 204);
    let policy = csp(&page("3p-cookies/step1.html").await.unwrap());
    assert!(
        policy.contains("frame-ancestors http://127.0.0.1:9999;"),
        "{policy}"
    );

    // Every other page still refuses to be framed.
    let (url, _) = app.demo_auth_url("openid", &[]);
    let login = app.client.get(&url).send().await.unwrap();
    assert!(csp(&login).contains("frame-ancestors 'none'"));
    assert_eq!(login.headers()["x-frame-options"], "DENY");
    assert!(!csp(&login).contains("script-src"));

    // Discovery advertises the iframe; an unknown realm has none.
    let discovery: Value = app
        .get("/realms/demo/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["check_session_iframe"],
        format!(
            "{}/protocol/openid-connect/login-status-iframe.html",
            app.issuer("demo")
        )
    );
    assert_eq!(
        app.get("/realms/nope/protocol/openid-connect/login-status-iframe.html")
            .await
            .status(),
        404
    );
}

/// base64url(SHA-256(sid)): what the companion cookie holds.
fn state_of(sid: &str) -> String {
    latch::crypto::b64url(&latch::crypto::sha256(sid.as_bytes()))
}

async fn the_session_state_cookie_comes_and_goes_with_the_session(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let browser = app.browser();
    let (url, verifier) = app.demo_auth_url("openid", &[]);
    let signed_in = app
        .sign_in(&browser, &url, "alice", &app.alice_password())
        .await;
    assert_eq!(signed_in.status(), 303);
    let cookies = set_cookies(&signed_in);
    let code = location_params(&signed_in)["code"].clone();
    let tokens = app.redeem(&code, &verifier).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let sid = claims(id_token)["sid"].as_str().unwrap().to_string();

    // Set with the session cookie: base64url(SHA-256(sid)), readable by
    // script, SameSite=Lax over plain HTTP, scoped like the session.
    let expected = format!("LATCH_SESSION_STATE={}", state_of(&sid));
    let companion = cookies
        .iter()
        .find(|c| c.starts_with("LATCH_SESSION_STATE="))
        .unwrap_or_else(|| panic!("{cookies:?}"));
    assert!(
        companion.starts_with(&format!("{expected};")),
        "{companion}"
    );
    assert!(!companion.contains("HttpOnly"), "{companion}");
    assert!(companion.contains("SameSite=Lax"), "{companion}");
    assert!(companion.contains("Path=/realms/demo/"), "{companion}");
    assert!(cookies
        .iter()
        .any(|c| c.starts_with("LATCH_SESSION=") && c.contains("HttpOnly")));

    // It is not a credential: with it alone, the browser is not signed in.
    let stranger = app.browser();
    let (url, _) = app.demo_auth_url("openid", &[]);
    for cookie in [
        expected.clone(),
        format!("LATCH_SESSION={}", state_of(&sid)),
    ] {
        let page = stranger
            .get(&url)
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200, "the sign-in page, not a code");
        assert!(page.text().await.unwrap().contains("Sign in"));
        let account = stranger
            .get(app.url("/realms/demo/account"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert!(location(&account).contains("/protocol/openid-connect/auth?"));
    }

    // Cleared with the session cookie at logout.
    let logout = browser
        .get(app.url(&format!(
            "/realms/demo/protocol/openid-connect/logout?id_token_hint={id_token}"
        )))
        .send()
        .await
        .unwrap();
    let cookies = set_cookies(&logout);
    for name in ["LATCH_SESSION=;", "LATCH_SESSION_STATE=;"] {
        assert!(
            cookies
                .iter()
                .any(|c| c.starts_with(name) && c.contains("Max-Age=0")),
            "{name} {cookies:?}"
        );
    }

    // … and when the user signs out on the account page.
    app.demo_code(&browser, "openid").await;
    let page = browser
        .get(app.url("/realms/demo/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = Form::having(&page, "action", "sign-out");
    let signed_out = app.submit(&browser, form).await;
    assert_eq!(signed_out.status(), 303);
    assert!(set_cookies(&signed_out)
        .iter()
        .any(|c| c.starts_with("LATCH_SESSION_STATE=;") && c.contains("Max-Age=0")));
}

/// A TLS server's companion cookie is `__Host-` prefixed, Secure and
/// SameSite=None, so a frame on the app's site can read it; so is the
/// third-party check's cookie.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_tls_the_framed_cookies_are_same_site_none_and_host_prefixed() {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let app = crate::helpers::spawn_app_with(Backend::Sqlite, |s| {
        s.tls_cert = Some(cert_path.clone());
        s.tls_key = Some(key_path.clone());
    })
    .await;
    let browser = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let (url, _) = app.demo_auth_url("openid", &[]);
    let page = browser.get(&url).send().await.unwrap();
    let form = Form::parse(&page.text().await.unwrap())
        .with("username", "alice")
        .with("password", &app.alice_password());
    let signed_in = browser
        .post(app.url(&form.action))
        .form(&form.fields)
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let cookies = set_cookies(&signed_in);
    let companion = cookies
        .iter()
        .find(|c| c.starts_with("__Host-LATCH_SESSION_STATE-demo="))
        .unwrap_or_else(|| panic!("{cookies:?}"));
    for part in ["Secure", "SameSite=None", "Path=/"] {
        assert!(companion.contains(part), "{companion}");
    }
    assert!(!companion.contains("HttpOnly"), "{companion}");
    let session = cookies
        .iter()
        .find(|c| c.starts_with("__Host-LATCH_SESSION-demo="))
        .unwrap();
    assert!(session.contains("SameSite=Lax") && session.contains("HttpOnly"));
    let step1 = browser
        .get(app.url("/realms/demo/protocol/openid-connect/3p-cookies/step1.html"))
        .send()
        .await
        .unwrap();
    let check = set_cookies(&step1);
    assert!(
        check
            .iter()
            .any(|c| c.starts_with("__Host-LATCH_3P_CHECK-demo=supported")
                && c.contains("SameSite=None")
                && c.contains("Secure")),
        "{check:?}"
    );
    // The browser sends it back (SameSite=None is honoured over TLS).
    let step2 = browser
        .get(app.url("/realms/demo/protocol/openid-connect/3p-cookies/step2.html"))
        .send()
        .await
        .unwrap();
    assert!(step2
        .text()
        .await
        .unwrap()
        .contains(r#"data-cookie-sent="true""#));
}

/// The JSON of a JWT's part `n` (0: header, 1: payload).
fn part(token: &str, n: usize) -> Value {
    if n == 0 {
        header(token)
    } else {
        claims(token)
    }
}

async fn refresh_tokens_are_jwts_that_only_their_stored_hash_makes_valid(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let browser = app.browser();
    let (code, verifier) = app.demo_code(&browser, "openid").await;
    let tokens = app.redeem(&code, &verifier).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let sid = claims(tokens["id_token"].as_str().unwrap())["sid"].clone();

    // Keycloak's shape: a JWT, HS256 under no realm key, typ Refresh.
    assert_eq!(part(&refresh, 0), json!({"alg": "HS256", "typ": "JWT"}));
    let body = part(&refresh, 1);
    assert_eq!(body["typ"], "Refresh");
    assert_eq!(body["azp"], "demo-app");
    assert_eq!(body["iss"], app.issuer("demo"));
    assert_eq!(body["sid"], sid);
    assert_eq!(body["scope"], tokens["scope"]);
    assert_eq!(body["jti"].as_str().unwrap().len(), 43, "256 random bits");
    let (iat, exp) = (body["iat"].as_i64().unwrap(), body["exp"].as_i64().unwrap());
    assert_eq!(exp - iat, tokens["refresh_expires_in"].as_i64().unwrap());

    // A changed payload under the old MAC, and a well-formed token with a
    // valid MAC that was never issued, are both refused.
    let parts: Vec<&str> = refresh.split('.').collect();
    let mut changed = body.clone();
    changed["exp"] = json!(exp + 86_400);
    let payload = latch::crypto::b64url(changed.to_string().as_bytes());
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    let master = latch::crypto::MasterKey::parse(&app.master_key).unwrap();
    let input = format!("{}.{payload}", parts[0]);
    let mac = latch::crypto::hmac_sha256(&master.derive("refresh token MAC"), input.as_bytes());
    let minted_unissued = format!("{input}.{}", latch::crypto::b64url(&mac));
    for presented in [&tampered, &minted_unissued] {
        let response = app.refresh(presented).await;
        assert_eq!(response.status(), 400);
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"], "invalid_grant");
    }

    // Rotation and reuse detection are unchanged.
    let rotated: Value = app.refresh(&refresh).await.json().await.unwrap();
    let successor = rotated["refresh_token"].as_str().unwrap();
    assert_ne!(successor, refresh);
    assert_eq!(part(successor, 1)["sid"], sid);
    assert_ne!(part(successor, 1)["jti"], body["jti"]);
    assert_eq!(app.refresh(&refresh).await.status(), 400, "reuse");
    assert_eq!(app.refresh(successor).await.status(), 400, "family revoked");

    // An offline family's tokens say Offline.
    let browser = app.browser();
    let (code, verifier) = app.demo_code(&browser, "openid offline_access").await;
    let offline = app.redeem(&code, &verifier).await;
    assert_eq!(
        part(offline["refresh_token"].as_str().unwrap(), 1)["typ"],
        "Offline"
    );
}

async fn a_refresh_token_is_never_an_access_or_id_token(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let tokens = app.alice_tokens("openid").await;
    let refresh = tokens["refresh_token"].as_str().unwrap();

    // Not a bearer token at userinfo, the account API or the admin API.
    assert_eq!(app.userinfo("demo", refresh).await.status(), 401);
    let account = app
        .client
        .get(app.url("/realms/demo/account"))
        .bearer_auth(refresh)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(account.status(), 401);
    let (status, _) = app
        .admin_as(refresh, reqwest::Method::GET, "/demo/users", Value::Null)
        .await;
    assert_eq!(status, 401);
    // Not an ID token for logout.
    let logout = app
        .client
        .get(app.url(&format!(
            "/realms/demo/protocol/openid-connect/logout?id_token_hint={refresh}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 400);

    // Introspection knows it as a refresh token, for its own client only.
    let active = app
        .introspect(refresh, ("demo-app", &app.demo_secret()))
        .await;
    assert_eq!(active["active"], true, "{active}");
    assert_eq!(active["token_type"], "refresh_token");
    let secret = app
        .add_client("demo", crate::helpers::new_client("rs"))
        .await
        .unwrap();
    assert_eq!(
        app.introspect(refresh, ("rs", &secret)).await["active"],
        false
    );

    // RFC 7009: revoking it revokes its family, though it is a JWT.
    assert_eq!(app.revoke(refresh, None).await.status(), 200);
    assert_eq!(app.refresh(refresh).await.status(), 400);
    let gone = app
        .introspect(refresh, ("demo-app", &app.demo_secret()))
        .await;
    assert_eq!(gone["active"], false);
    // The access token issued beside it dies with the family.
    app.assert_rejected(tokens["access_token"].as_str().unwrap())
        .await;
}

/// The keyed hash a refresh token is stored under (the server's
/// `Directory::hash_token`), for planting a token of the earlier kind.
fn stored_hash(app: &TestApp, token: &str) -> String {
    let master = latch::crypto::MasterKey::parse(&app.master_key).unwrap();
    hex::encode(latch::crypto::hmac_sha256(
        &master.derive("token pepper"),
        token.as_bytes(),
    ))
}

async fn opaque_refresh_tokens_issued_earlier_keep_working(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let tokens = app.alice_tokens("openid").await;
    let jwt = tokens["refresh_token"].as_str().unwrap();
    // The row now holds what an earlier release issued: 256 random bits.
    let opaque = latch::crypto::random_token::<32>();
    app.sql(&format!(
        "UPDATE refresh_tokens SET token_hash = '{}' WHERE token_hash = '{}'",
        stored_hash(&app, &opaque),
        stored_hash(&app, jwt)
    ));
    assert_eq!(app.refresh(jwt).await.status(), 400);
    let active = app
        .introspect(&opaque, ("demo-app", &app.demo_secret()))
        .await;
    assert_eq!(active["active"], true, "{active}");
    let rotated = app.refresh(&opaque).await;
    assert_eq!(rotated.status(), 200);
    let rotated: Value = rotated.json().await.unwrap();
    let successor = rotated["refresh_token"].as_str().unwrap();
    assert_eq!(
        part(successor, 1)["typ"],
        "Refresh",
        "its successor is a JWT"
    );
    assert_eq!(app.refresh(&opaque).await.status(), 400, "reuse");
    assert_eq!(app.refresh(successor).await.status(), 400, "family revoked");
}

async fn credentials_are_allowed_at_the_token_endpoint_and_for_bearer_answers_only(
    backend: Backend,
) {
    let app = crate::helpers::spawn_app(backend).await;
    let origin = "https://spa.example";
    register(&app, "spa", origin, json!({})).await;
    let browser = app.browser();
    let tokens = public_tokens(&app, &browser, "spa", &format!("{origin}/"), "openid").await;
    let access = tokens["access_token"].as_str().unwrap();
    let credentials = |r: &reqwest::Response| {
        (
            r.headers()
                .get("access-control-allow-origin")
                .map(|v| v.to_str().unwrap().to_string()),
            r.headers()
                .get("access-control-allow-credentials")
                .map(|v| v.to_str().unwrap().to_string()),
        )
    };
    let allowed = (Some(origin.to_string()), Some("true".to_string()));

    // The token endpoint: the adapter's fetch carries credentials.
    let token = app
        .client
        .post(app.url("/realms/demo/protocol/openid-connect/token"))
        .header("origin", origin)
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "spa"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);
    assert_eq!(credentials(&token), allowed);

    // Answers to a bearer token: userinfo and the account API.
    let refreshed: Value = token.json().await.unwrap();
    let access = refreshed["access_token"].as_str().unwrap_or(access);
    for path in ["protocol/openid-connect/userinfo", "account"] {
        let response = app
            .client
            .get(app.url(&format!("/realms/demo/{path}")))
            .bearer_auth(access)
            .header("origin", origin)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(credentials(&response), allowed, "{path}");
    }
    let preflight = |path: &'static str| {
        app.client
            .request(
                reqwest::Method::OPTIONS,
                app.url(&format!("/realms/demo/{path}")),
            )
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    for path in [
        "account",
        "protocol/openid-connect/userinfo",
        "protocol/openid-connect/token",
    ] {
        let answer = preflight(path).await.unwrap();
        assert_eq!(answer.status(), 204, "{path}");
        assert_eq!(credentials(&answer), allowed, "{path}");
    }

    // Client-authenticated endpoints: the origin, without credentials.
    let revoke = preflight("protocol/openid-connect/revoke").await.unwrap();
    assert_eq!(credentials(&revoke), (Some(origin.to_string()), None));

    // Never on what the session cookie produced: the account page, logout.
    for path in ["account", "protocol/openid-connect/logout?client_id=spa"] {
        let response = browser
            .get(app.url(&format!("/realms/demo/{path}")))
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(credentials(&response), (None, None), "{path}");
    }
}

async fn the_account_api_answers_a_users_own_token(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    register(&app, "spa", SPA_ORIGIN, json!({})).await;
    register(
        &app,
        "names",
        "https://names.example",
        json!({"defaultClientScopes": ["profile"]}),
    )
    .await;
    register(
        &app,
        "bare",
        "https://bare.example",
        json!({"defaultClientScopes": []}),
    )
    .await;
    let account = |token: &str| {
        app.client
            .get(app.url("/realms/demo/account"))
            .bearer_auth(token)
            .header("accept", "application/json")
            .send()
    };
    let browser = app.browser();
    let spa = public_tokens(&app, &browser, "spa", &format!("{SPA_ORIGIN}/"), "openid").await;

    // Keycloak's representation, the address with the email scope.
    let response = account(spa["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["username"], "alice");
    assert_eq!(
        me["id"],
        claims(spa["access_token"].as_str().unwrap())["sub"]
    );
    assert_eq!(me["firstName"], "Alice");
    assert_eq!(me["lastName"], "Liddell");
    assert_eq!(me["email"], "alice@example.com");
    assert!(me["emailVerified"].is_boolean(), "{me}");
    assert!(me["attributes"].is_object(), "{me}");

    // With profile alone: no address.
    let names = public_tokens(&app, &browser, "names", "https://names.example/", "openid").await;
    let me: Value = account(names["access_token"].as_str().unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "alice");
    assert!(
        me.get("email").is_none() && me.get("emailVerified").is_none(),
        "{me}"
    );

    // Neither profile nor the account audience: 403.
    let bare = public_tokens(&app, &browser, "bare", "https://bare.example/", "openid").await;
    let refused = account(bare["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));

    // The account audience is enough (an audience mapper adds it).
    let (status, _) = app
        .admin(
            reqwest::Method::POST,
            "/demo/client-scopes",
            json!({
                "name": "account-audience", "protocol": "openid-connect",
                "protocolMappers": [{
                    "name": "account", "protocol": "openid-connect",
                    "protocolMapper": "oidc-audience-mapper",
                    "config": {"included.custom.audience": "account", "access.token.claim": "true"}
                }]
            }),
        )
        .await;
    assert_eq!(status, 201);
    register(
        &app,
        "audience",
        "https://audience.example",
        json!({"defaultClientScopes": ["account-audience"]}),
    )
    .await;
    let audience = public_tokens(
        &app,
        &browser,
        "audience",
        "https://audience.example/",
        "openid",
    )
    .await;
    let access = audience["access_token"].as_str().unwrap();
    assert!(claims(access)["aud"].to_string().contains("account"));
    assert_eq!(account(access).await.unwrap().status(), 200);

    // No token, asking for JSON: 401 with a challenge; a browser asking
    // for a page is sent to sign in.
    let anonymous = app
        .client
        .get(app.url("/realms/demo/account"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    let page = app
        .client
        .get(app.url("/realms/demo/account"))
        .header(
            "accept",
            "text/html,application/xhtml+xml,application/json;q=0.9",
        )
        .send()
        .await
        .unwrap();
    assert!(page.status().is_redirection(), "{}", page.status());
}

async fn the_account_page_links_back_to_the_app_that_sent_the_user(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    register(&app, "spa", SPA_ORIGIN, json!({})).await;
    let home = format!("{SPA_ORIGIN}/");
    let query = |referrer: &str, uri: &str| {
        let mut url = url::Url::parse(&app.url("/realms/demo/account")).unwrap();
        url.query_pairs_mut()
            .append_pair("referrer", referrer)
            .append_pair("referrer_uri", uri);
        url.to_string()
    };

    // Not signed in yet: the sign-in keeps the referrer, and the page
    // links back once the user is in.
    let browser = app.browser();
    let begin = browser.get(query("spa", &home)).send().await.unwrap();
    let login = browser.get(location(&begin)).send().await.unwrap();
    let form = Form::parse(&login.text().await.unwrap())
        .with("username", "alice")
        .with("password", &app.alice_password());
    let callback = app.submit(&browser, form).await;
    let back_here = browser.get(location(&callback)).send().await.unwrap();
    let page_url = app.url(&location(&back_here));
    let page = browser.get(&page_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"<a id="back-to-app" href="http://127.0.0.1:9999/">Back to spa</a>"#),
        "{html}"
    );

    // No link for a URI the client did not register, another scheme, or
    // a client the realm does not have.
    for (referrer, uri) in [
        ("spa", "https://evil.example/"),
        ("spa", "javascript:alert(1)"),
        ("nobody", home.as_str()),
    ] {
        let html = browser
            .get(query(referrer, uri))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("Your account"), "{html}");
        assert!(!html.contains("back-to-app"), "{referrer} {uri}");
    }
}

async fn the_registration_link_shows_the_sign_in_page(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    register(&app, "spa", SPA_ORIGIN, json!({})).await;
    let (_, challenge) = pkce();
    let mut url = url::Url::parse(&format!(
        "{}/protocol/openid-connect/registrations",
        app.issuer("demo")
    ))
    .unwrap();
    url.query_pairs_mut().extend_pairs([
        ("client_id", "spa"),
        ("redirect_uri", &format!("{SPA_ORIGIN}/")),
        ("state", "s"),
        ("response_mode", "fragment"),
        ("response_type", "code"),
        ("scope", "openid"),
        ("nonce", "n"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    let page = app.client.get(url.as_str()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<h1>Sign in</h1>") && html.contains(r#"id="username""#),
        "{html}"
    );
    let form = Form::parse(&html);
    assert!(
        form.action.ends_with("/login-actions/authenticate"),
        "{form:?}"
    );
}

// ---- keycloak-js in Chromium ----------------------------------------------

fn compat_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat")
}

/// keycloak-js's ES module; `None` (and a message) when it is not
/// installed, unless `LATCH_COMPAT_TESTS=require`.
fn keycloak_js() -> Option<String> {
    let path = compat_dir().join("node_modules/keycloak-js/lib/keycloak.js");
    match std::fs::read_to_string(&path) {
        Ok(source) => Some(source),
        Err(e) => {
            let required = std::env::var("LATCH_COMPAT_TESTS").is_ok_and(|v| v == "require");
            assert!(
                !required,
                "{}: {e} and LATCH_COMPAT_TESTS=require",
                path.display()
            );
            eprintln!(
                "skipping keycloak-js: {} is missing (npm ci in tests/compat)",
                path.display()
            );
            None
        }
    }
}

/// The single-page app: `/` signs in (`login-required`), `/sso.html`
/// checks the session (`check-sso`, the iframe polled every second). It
/// records the adapter's events and any error in `window.events` and
/// `window.failures`.
fn app_page(latch: &str) -> String {
    format!(
        r#"<!doctype html><meta charset="utf-8"><title>keycloak-js app</title>
<pre id="out">loading</pre>
<script type="module">
import Keycloak from "/keycloak.js";
window.events = [];
window.failures = [];
addEventListener("error", (e) => failures.push("error: " + e.message));
addEventListener("unhandledrejection", (e) => failures.push("rejection: " + String(e.reason && (e.reason.message || JSON.stringify(e.reason)))));
const kc = new Keycloak({{ url: "{latch}", realm: "demo", clientId: "spa" }});
window.kc = kc;
for (const name of ["onReady", "onAuthSuccess", "onAuthError", "onAuthRefreshSuccess", "onAuthRefreshError", "onAuthLogout", "onTokenExpired"]) {{
  kc[name] = () => events.push(name);
}}
const options = location.pathname === "/sso.html"
  ? {{ onLoad: "check-sso", checkLoginIframeInterval: 1 }}
  : {{ onLoad: "login-required" }};
kc.init(options).then(
  (authenticated) => {{ document.getElementById("out").textContent = authenticated ? "authenticated" : "anonymous"; }},
  (e) => failures.push("init: " + (e && (e.message || JSON.stringify(e)))),
);
</script>"#
    )
}

/// Serves the app on a free port of 127.0.0.1 — an origin of its own —
/// and keycloak-js at `/keycloak.js`; returns the origin.
async fn serve_app(latch: String, keycloak: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let page = app_page(&latch);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let (page, keycloak) = (page.clone(), keycloak.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).to_string();
                let path = head.split(' ').nth(1).unwrap_or("/");
                let path = path.split(['?', '#']).next().unwrap_or("/");
                let (status, kind, body) = match path {
                    "/" | "/sso.html" => ("200 OK", "text/html", page),
                    "/logged-out.html" => (
                        "200 OK",
                        "text/html",
                        "<!doctype html><title>logged out</title><h1>Logged out</h1>".into(),
                    ),
                    "/keycloak.js" => ("200 OK", "text/javascript", keycloak),
                    _ => ("204 No Content", "text/plain", String::new()),
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: {kind}; charset=utf-8\r\ncontent-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    origin
}

/// Waits until `script` (an expression) is true in the current window.
async fn until(browser: &fantoccini::Client, script: &str, what: &str) {
    for _ in 0..150 {
        let value = browser
            .execute(&format!("return !!({script});"), vec![])
            .await;
        if value.is_ok_and(|v| v == json!(true)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let state = browser
        .execute(
            "return [location.href, window.events || null, window.failures || null];",
            vec![],
        )
        .await;
    panic!("{what}: never true ({state:?})");
}

/// Runs an async script in the page and returns its value.
async fn run(browser: &fantoccini::Client, body: &str) -> Value {
    browser
        .execute(&format!("return (async () => {{ {body} }})();"), vec![])
        .await
        .unwrap_or_else(|e| panic!("{body}: {e}"))
}

/// Chromium's console so far (every frame), at level SEVERE.
async fn console_errors(browser: &fantoccini::Client, driver: &str) -> Vec<Value> {
    let session = browser.session_id().await.unwrap().unwrap();
    let logs: Value = reqwest::Client::new()
        .post(format!("{driver}/session/{session}/se/log"))
        .json(&json!({"type": "browser"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    logs["value"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|entry| entry["level"] == "SEVERE")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keycloak_js_signs_in_refreshes_and_hears_another_tab_log_out_in_chromium() {
    use crate::browser::{browser, chromium_available, expect_heading, sign_in, start_driver};
    let Some(keycloak) = keycloak_js() else {
        return;
    };
    if !chromium_available() {
        return;
    }
    let app = crate::helpers::spawn_app(Backend::Sqlite).await;
    let origin = serve_app(app.base.clone(), keycloak).await;
    register(&app, "spa", &origin, json!({})).await;
    let driver = start_driver().await;
    let profile = tempfile::tempdir().unwrap();
    let chromium = browser(&driver, &profile.path().join("user")).await;

    // Tab A: login-required with default options signs in through Latch's
    // login form, the 3p-cookie check and the login-status iframe included.
    chromium.goto(&format!("{origin}/")).await.unwrap();
    sign_in(&chromium, "alice", &app.alice_password()).await;
    until(
        &chromium,
        "window.kc && window.kc.authenticated",
        "tab A signed in",
    )
    .await;
    let tab_a = chromium.window().await.unwrap();
    let profile_and_info = run(
        &chromium,
        "const info = await kc.loadUserInfo();
         const profile = await kc.loadUserProfile();
         const before = kc.refreshToken;
         const refreshed = await kc.updateToken(-1);
         return { info: info.preferred_username, profile: profile.username,
                  email: profile.email, refreshed, rotated: before !== kc.refreshToken,
                  sid: kc.sessionId, refreshTyp: kc.refreshTokenParsed.typ };",
    )
    .await;
    assert_eq!(profile_and_info["info"], "alice", "{profile_and_info}");
    assert_eq!(profile_and_info["profile"], "alice", "{profile_and_info}");
    assert_eq!(profile_and_info["email"], "alice@example.com");
    assert_eq!(profile_and_info["refreshed"], true);
    assert_eq!(profile_and_info["rotated"], true);
    assert_eq!(profile_and_info["refreshTyp"], "Refresh");
    assert!(profile_and_info["sid"].is_string());

    // accountManagement() opens the account page, which links back to the
    // app; back there, the adapter signs in again without a form.
    chromium
        .execute("kc.accountManagement(); return true;", vec![])
        .await
        .unwrap();
    expect_heading(&chromium, "Your account").await;
    let back = chromium
        .find(fantoccini::Locator::Css("#back-to-app"))
        .await
        .unwrap();
    assert_eq!(
        back.attr("href").await.unwrap().as_deref(),
        Some(format!("{origin}/").as_str())
    );
    back.click().await.unwrap();
    until(
        &chromium,
        "window.kc && window.kc.authenticated",
        "tab A back, signed in",
    )
    .await;

    // Tab B: check-sso is silent — no form, signed in by prompt=none.
    let tab_b = chromium.new_window(true).await.unwrap().handle;
    chromium.switch_to_window(tab_b.clone()).await.unwrap();
    chromium.goto(&format!("{origin}/sso.html")).await.unwrap();
    until(
        &chromium,
        "window.kc && window.kc.authenticated",
        "tab B signed in silently",
    )
    .await;
    let b = run(
        &chromium,
        "return { sid: kc.sessionId, events: window.events };",
    )
    .await;
    assert_eq!(b["sid"], profile_and_info["sid"], "the same session");
    assert!(!b["events"].to_string().contains("onAuthLogout"), "{b}");

    // Tab A logs out and comes back to the app; its refresh token is dead.
    chromium.switch_to_window(tab_a).await.unwrap();
    assert_eq!(run(&chromium, "return window.failures;").await, json!([]));
    let refresh_token = run(&chromium, "return kc.refreshToken;").await;
    let started = std::time::Instant::now();
    chromium
        .execute(
            &format!("kc.logout({{ redirectUri: \"{origin}/logged-out.html\" }}); return true;"),
            vec![],
        )
        .await
        .unwrap();
    until(
        &chromium,
        &format!("location.href === \"{origin}/logged-out.html\""),
        "tab A back at the app",
    )
    .await;
    let refused = app
        .token_request(
            "demo",
            None,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "spa"),
                ("refresh_token", refresh_token.as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(refused.status(), 400);

    // Tab B hears it through the login-status iframe within its interval.
    chromium.switch_to_window(tab_b).await.unwrap();
    until(
        &chromium,
        "window.events.includes('onAuthLogout') && !kc.authenticated",
        "tab B told of the logout",
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let failures = run(&chromium, "return window.failures;").await;
    assert_eq!(failures, json!([]), "{failures}");
    let errors = console_errors(&chromium, &driver.url).await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    let _ = chromium.close().await;
}
