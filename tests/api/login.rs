//! The browser side: a relying party built on `openidconnect`, SSO, prompt,
//! max_age, consent, and the login form's defences.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

use crate::helpers::{location, location_params, spawn_app, Backend, Form, DEMO_REDIRECT};

async fn relying_party_signs_in_refreshes_and_reads_userinfo(backend: Backend) {
    let app = spawn_app(backend).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.issuer("demo")).unwrap(), &http)
            .await
            .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("demo-app".into()),
        Some(ClientSecret::new(app.demo_secret())),
    )
    .set_redirect_uri(RedirectUrl::new(DEMO_REDIRECT.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();

    let browser = app.browser();
    let response = app
        .sign_in(&browser, auth_url.as_str(), "alice", &app.alice_password())
        .await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).starts_with(DEMO_REDIRECT));
    let params = location_params(&response);
    assert_eq!(&params["state"], state.secret());
    assert_eq!(params["iss"], app.issuer("demo"), "RFC 9207 iss parameter");

    let tokens = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("the RP validates signature, nonce, iss, aud and exp");
    assert_eq!(claims.preferred_username().unwrap().as_str(), "alice");
    assert_eq!(claims.email().unwrap().as_str(), "alice@example.com");
    assert!(claims.auth_time().is_some());

    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject(), claims.subject());
    assert_eq!(info.email().unwrap().as_str(), "alice@example.com");

    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().expect("a refresh token"))
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        tokens.refresh_token().unwrap().secret()
    );
    let again: CoreUserInfoClaims = client
        .user_info(refreshed.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo with the refreshed token");
    assert_eq!(again.subject(), claims.subject());
}

async fn second_authorization_is_silent_single_sign_on(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    app.demo_code(&browser, "openid").await;
    let (url, _) = app.demo_auth_url("openid", &[]);
    let response = browser.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 302, "no login page the second time");
    assert!(location_params(&response).contains_key("code"));
}

async fn prompt_none_without_session_returns_login_required(backend: Backend) {
    let app = spawn_app(backend).await;
    let (url, _) = app.demo_auth_url("openid", &[("prompt", "none")]);
    let response = app.browser().get(&url).send().await.unwrap();
    assert_eq!(response.status(), 302);
    let params = location_params(&response);
    assert_eq!(params["error"], "login_required");
    assert_eq!(params["state"], "st4te");
    assert!(!params.contains_key("code"));
}

async fn max_age_and_prompt_login_force_a_new_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    app.demo_code(&browser, "openid").await;
    let (url, _) = app.demo_auth_url("openid", &[("prompt", "login")]);
    assert_eq!(
        browser.get(&url).send().await.unwrap().status(),
        200,
        "login page again"
    );

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (url, _) = app.demo_auth_url("openid", &[("max_age", "0")]);
    let response = browser.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("name=\"password\""));
    let (url, _) = app.demo_auth_url("openid", &[("max_age", "3600")]);
    assert_eq!(
        browser.get(&url).send().await.unwrap().status(),
        302,
        "recent enough"
    );
}

async fn prompt_consent_shows_the_consent_page_first_button_allows(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    app.demo_code(&browser, "openid").await;
    let (url, _) = app.demo_auth_url("openid profile", &[("prompt", "consent")]);
    let page = browser.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("See your name and username"));
    // The first submit button of the first form approves.
    let form_html = &html[html.find("<form").unwrap()..];
    let first_button = &form_html[form_html.find("<button").unwrap()..];
    assert!(first_button.starts_with("<button type=\"submit\" name=\"decision\" value=\"allow\""));
    let form = Form::parse(&html).with("decision", "allow");
    let response = app.submit(&browser, form).await;
    assert_eq!(response.status(), 303);
    assert!(location_params(&response).contains_key("code"));
}

async fn consent_is_required_and_remembered(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut new = crate::helpers::new_client("careful");
    new.consent_required = true;
    new.credentials = latch::directory::clients::Credentials::Public;
    app.add_client("demo", new).await;
    let (_, challenge) = crate::helpers::pkce();
    let url = app.auth_url(
        "demo",
        &[
            ("client_id", "careful"),
            ("redirect_uri", "https://careful.example/cb"),
            ("response_type", "code"),
            ("scope", "openid email"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let browser = app.browser();
    let page = browser.get(&url).send().await.unwrap();
    let form = Form::parse(&page.text().await.unwrap());
    let consent = app
        .submit(
            &browser,
            form.with("username", "alice")
                .with("password", &app.alice_password()),
        )
        .await;
    assert_eq!(consent.status(), 200, "consent page after login");
    let html = consent.text().await.unwrap();
    assert!(html.contains("See your email address"));

    let silent = browser
        .get(format!("{url}&prompt=none"))
        .send()
        .await
        .unwrap();
    assert_eq!(location_params(&silent)["error"], "consent_required");

    let denied = app
        .submit(&browser, Form::parse(&html).with("decision", "deny"))
        .await;
    assert_eq!(location_params(&denied)["error"], "access_denied");

    let allowed = app
        .submit(&browser, Form::parse(&html).with("decision", "allow"))
        .await;
    assert!(location_params(&allowed).contains_key("code"));
    let silent = browser
        .get(format!("{url}&prompt=none"))
        .send()
        .await
        .unwrap();
    assert!(
        location_params(&silent).contains_key("code"),
        "consent remembered"
    );
}

async fn wrong_password_is_a_generic_message(backend: Backend) {
    let app = spawn_app(backend).await;
    let (url, _) = app.demo_auth_url("openid", &[]);
    for (user, password) in [("alice", "not her password"), ("nobody", "whatever")] {
        let response = app.sign_in(&app.browser(), &url, user, password).await;
        assert_eq!(response.status(), 200);
        let html = response.text().await.unwrap();
        assert!(html.contains("Wrong username or password."), "{html}");
    }
}

async fn login_form_without_csrf_token_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    let (url, _) = app.demo_auth_url("openid", &[]);
    let page = browser.get(&url).send().await.unwrap();
    let form = Form::parse(&page.text().await.unwrap())
        .with("username", "alice")
        .with("password", &app.alice_password());
    let missing = app
        .submit(&browser, form.clone().without("csrf_token"))
        .await;
    assert_eq!(missing.status(), 403);
    assert!(missing.text().await.unwrap().contains("invalid_csrf_token"));
    let forged = app.submit(&app.browser(), form).await;
    assert_eq!(forged.status(), 403, "another browser's token is refused");
}

async fn redirect_uri_mismatch_shows_a_page_and_never_redirects(backend: Backend) {
    let app = spawn_app(backend).await;
    for uri in [
        "https://evil.example/callback",
        "http://127.0.0.1:8081/callback/",
        "http://127.0.0.1:8081/callback?x=1",
        "http://127.0.0.1:9999/callback",
    ] {
        let url = app.auth_url(
            "demo",
            &[
                ("client_id", "demo-app"),
                ("redirect_uri", uri),
                ("response_type", "code"),
                ("scope", "openid"),
            ],
        );
        let response = app.browser().get(&url).send().await.unwrap();
        assert_eq!(response.status(), 400, "{uri}");
        assert!(response.headers().get("location").is_none());
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("redirect URI does not match"));
    }
}

async fn loopback_redirect_of_a_native_app_accepts_any_port(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut new = crate::helpers::new_client("cli-tool");
    new.credentials = latch::directory::clients::Credentials::Public;
    new.redirect_uris = vec!["http://127.0.0.1/callback".into()];
    app.add_client("demo", new).await;
    let (_, challenge) = crate::helpers::pkce();
    let url = app.auth_url(
        "demo",
        &[
            ("client_id", "cli-tool"),
            ("redirect_uri", "http://127.0.0.1:53682/callback"),
            ("response_type", "code"),
            ("scope", "openid"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    assert_eq!(app.browser().get(&url).send().await.unwrap().status(), 200);
}

async fn pkce_rules_are_enforced_at_the_authorization_endpoint(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut new = crate::helpers::new_client("spa");
    new.credentials = latch::directory::clients::Credentials::Public;
    app.add_client("demo", new).await;
    let base = [
        ("client_id", "spa"),
        ("redirect_uri", "https://spa.example/cb"),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "s"),
    ];
    let without = app
        .browser()
        .get(app.auth_url("demo", &base))
        .send()
        .await
        .unwrap();
    let params = location_params(&without);
    assert_eq!(params["error"], "invalid_request");
    assert!(params["error_description"].contains("PKCE"));

    let mut plain = base.to_vec();
    let verifier = "a".repeat(43);
    plain.extend([
        ("code_challenge", verifier.as_str()),
        ("code_challenge_method", "plain"),
    ]);
    let response = app
        .browser()
        .get(app.auth_url("demo", &plain))
        .send()
        .await
        .unwrap();
    let params = location_params(&response);
    assert_eq!(params["error"], "invalid_request");
    assert!(params["error_description"].contains("plain"));
}

async fn unknown_scope_and_response_type_go_back_to_the_client(backend: Backend) {
    let app = spawn_app(backend).await;
    let (url, _) = app.demo_auth_url("openid admin", &[]);
    let response = app.browser().get(&url).send().await.unwrap();
    assert_eq!(location_params(&response)["error"], "invalid_scope");

    let url = app.auth_url(
        "demo",
        &[
            ("client_id", "demo-app"),
            ("redirect_uri", DEMO_REDIRECT),
            ("response_type", "token"),
            ("state", "x"),
        ],
    );
    let response = app.browser().get(&url).send().await.unwrap();
    let params = location_params(&response);
    assert_eq!(params["error"], "unsupported_response_type");
    assert_eq!(params["state"], "x");
}

async fn oversized_login_form_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .browser()
        .post(app.url("/realms/demo/login-actions/authenticate"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("username={}", "a".repeat(64 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert!(response.text().await.unwrap().contains("larger than"));
}

crate::both_backends!(
    relying_party_signs_in_refreshes_and_reads_userinfo,
    second_authorization_is_silent_single_sign_on,
    prompt_none_without_session_returns_login_required,
    max_age_and_prompt_login_force_a_new_sign_in,
    prompt_consent_shows_the_consent_page_first_button_allows,
    consent_is_required_and_remembered,
    wrong_password_is_a_generic_message,
    login_form_without_csrf_token_is_refused,
    redirect_uri_mismatch_shows_a_page_and_never_redirects,
    loopback_redirect_of_a_native_app_accepts_any_port,
    pkce_rules_are_enforced_at_the_authorization_endpoint,
    unknown_scope_and_response_type_go_back_to_the_client,
    oversized_login_form_is_refused,
);
