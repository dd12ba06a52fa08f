//! Attacks that must fail, grouped by what they attack, each asserting the
//! exact response. A table row is one case; `CASES` counts them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::{claims, location, pkce, Backend, Form, TestApp, DEMO_REDIRECT};

/// (case, extra parameters, expected error)
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
/// (case, form body, client credentials, status, expected error)
type TokenCase<'a> = (&'a str, String, Option<(&'a str, &'a str)>, u16, &'a str);

// ---- helpers --------------------------------------------------------------

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs `header.payload` with the realm's live ES256 key — the attacker
/// who somehow holds a real signature still has to get past the policy.
pub(crate) async fn sign_with_realm_key(
    app: &TestApp,
    realm: &str,
    header: Value,
    payload: Value,
) -> String {
    let (url, key, realm) = (
        app.db.url.clone(),
        app.master_key.clone(),
        realm.to_string(),
    );
    tokio::task::spawn_blocking(move || {
        let settings = latch::config::Settings {
            database: url,
            master_key: Some(key),
            pool_size: 1,
            ..Default::default()
        };
        let opened = latch::setup::open(&settings).unwrap();
        let mut conn = opened.store.conn().unwrap();
        let realm = latch::directory::realms::find(&mut conn, &realm).unwrap();
        let rows = latch::store::keys::live_for_realm(&mut conn, &realm.id).unwrap();
        let ring = latch::keys::KeyRing::load(&rows, &opened.master).unwrap();
        let key = ring.signing_key(latch::keys::Alg::ES256).unwrap();
        let mut header = header;
        if header.get("kid").is_none() {
            header["kid"] = json!(key.kid);
        }
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(payload.to_string().as_bytes())
        );
        let signature = key.sign(input.as_bytes()).unwrap();
        format!("{input}.{}", b64(&signature))
    })
    .await
    .unwrap()
}

pub(crate) fn es256_header() -> Value {
    json!({"alg": "ES256", "typ": "at+jwt"})
}

/// userinfo must answer 401 with a Bearer invalid_token challenge.
async fn assert_invalid_token(app: &TestApp, realm: &str, token: &str, case: &str) {
    let response = app.userinfo(realm, token).await;
    assert_eq!(response.status(), 401, "{case}");
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(challenge.contains("invalid_token"), "{case}: {challenge}");
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_token",
        "{case}"
    );
}

fn oauth_error(body: &Value) -> &str {
    body["error"].as_str().unwrap_or("")
}

async fn post_form(
    app: &TestApp,
    path: &str,
    body: &str,
    basic: Option<(&str, &str)>,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string());
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    request.send().await.unwrap()
}

const TOKEN: &str = "/realms/demo/protocol/openid-connect/token";
const INTROSPECT: &str = "/realms/demo/protocol/openid-connect/token/introspect";
const REVOKE: &str = "/realms/demo/protocol/openid-connect/revoke";

/// A public client with PKCE, registered through the admin API.
async fn public_client(app: &TestApp) -> &'static str {
    let (status, _) = app.admin(reqwest::Method::POST,
        "/demo/clients",
        json!({"clientId": "spa", "publicClient": true, "redirectUris": ["http://127.0.0.1/spa-callback"]}),
    )
    .await;
    assert_eq!(status, 201);
    "spa"
}

// ---- forged and misused tokens (userinfo) ---------------------------------------

async fn forged_and_misused_tokens_are_refused(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let real = app.alice_tokens("openid").await;
    let access = real["access_token"].as_str().unwrap().to_string();
    let good = claims(&access);
    let header = crate::helpers::header(&access);
    let kid = header["kid"].as_str().unwrap().to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (h, p, s) = {
        let mut parts = access.split('.');
        (
            parts.next().unwrap().to_string(),
            parts.next().unwrap().to_string(),
            parts.next().unwrap().to_string(),
        )
    };
    let with = |changes: Value| {
        let mut c = good.clone();
        for (k, v) in changes.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let jwks: Value = app
        .get("/realms/demo/protocol/openid-connect/certs")
        .await
        .json()
        .await
        .unwrap();
    let hmac_key = jwks["keys"].to_string();
    let hs256 = {
        use hmac::{Hmac, Mac};
        let header = b64(json!({"alg": "HS256", "kid": kid, "typ": "at+jwt"})
            .to_string()
            .as_bytes());
        let input = format!("{header}.{p}");
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(hmac_key.as_bytes()).unwrap();
        mac.update(input.as_bytes());
        format!("{input}.{}", b64(&mac.finalize().into_bytes()))
    };
    let master_token = app.admin_token().await;
    let master_kid = crate::helpers::header(&master_token)["kid"]
        .as_str()
        .unwrap()
        .to_string();

    let cases: Vec<(&str, String)> = vec![
        (
            "alg none, no signature",
            format!(
                "{}.{p}.",
                b64(json!({"alg": "none", "typ": "at+jwt", "kid": kid})
                    .to_string()
                    .as_bytes())
            ),
        ),
        ("HS256 keyed with the public JWKS", hs256),
        (
            "header says RS256 for the ES256 key",
            format!(
                "{}.{p}.{s}",
                b64(json!({"alg": "RS256", "kid": kid, "typ": "at+jwt"})
                    .to_string()
                    .as_bytes())
            ),
        ),
        (
            "forged kid",
            format!(
                "{}.{p}.{s}",
                b64(
                    json!({"alg": "ES256", "kid": "attacker-key", "typ": "at+jwt"})
                        .to_string()
                        .as_bytes()
                )
            ),
        ),
        (
            "kid of another realm's key",
            format!(
                "{}.{p}.{s}",
                b64(json!({"alg": "ES256", "kid": master_kid, "typ": "at+jwt"})
                    .to_string()
                    .as_bytes())
            ),
        ),
        (
            "no kid",
            format!(
                "{}.{p}.{s}",
                b64(json!({"alg": "ES256", "typ": "at+jwt"})
                    .to_string()
                    .as_bytes())
            ),
        ),
        (
            "payload altered after signing",
            format!(
                "{h}.{}.{s}",
                b64(with(json!({"sub": "someone-else"})).to_string().as_bytes())
            ),
        ),
        ("signature stripped", format!("{h}.{p}.")),
        ("two parts only", format!("{h}.{p}")),
        ("four parts", format!("{h}.{p}.{s}.{s}")),
        ("not base64", "%%%.###.$$$".to_string()),
        ("9 KB token", format!("{h}.{}.{s}", "A".repeat(9 * 1024))),
        (
            "an ID token as a bearer token",
            real["id_token"].as_str().unwrap().to_string(),
        ),
        (
            "a token of realm master at realm demo",
            master_token.clone(),
        ),
        (
            "jku header (signed)",
            sign_with_realm_key(
                &app,
                "demo",
                json!({"alg": "ES256", "typ": "at+jwt", "jku": "https://attacker.example/jwks"}),
                good.clone(),
            )
            .await,
        ),
        (
            "embedded jwk header (signed)",
            sign_with_realm_key(
                &app,
                "demo",
                json!({"alg": "ES256", "typ": "at+jwt", "jwk": {"kty": "EC"}}),
                good.clone(),
            )
            .await,
        ),
        (
            "x5u header (signed)",
            sign_with_realm_key(
                &app,
                "demo",
                json!({"alg": "ES256", "typ": "at+jwt", "x5u": "https://attacker.example/cert"}),
                good.clone(),
            )
            .await,
        ),
        (
            "crit header (signed)",
            sign_with_realm_key(
                &app,
                "demo",
                json!({"alg": "ES256", "typ": "at+jwt", "crit": ["exp"]}),
                good.clone(),
            )
            .await,
        ),
        (
            "typ JWT instead of at+jwt (signed)",
            sign_with_realm_key(
                &app,
                "demo",
                json!({"alg": "ES256", "typ": "JWT"}),
                good.clone(),
            )
            .await,
        ),
        (
            "expired (signed)",
            sign_with_realm_key(&app, "demo", es256_header(), with(json!({"exp": now - 1}))).await,
        ),
        (
            "issued an hour in the future (signed)",
            sign_with_realm_key(
                &app,
                "demo",
                es256_header(),
                with(json!({"iat": now + 3600, "exp": now + 7200})),
            )
            .await,
        ),
        (
            "not valid before an hour from now (signed)",
            sign_with_realm_key(
                &app,
                "demo",
                es256_header(),
                with(json!({"nbf": now + 3600})),
            )
            .await,
        ),
        (
            "issuer of another realm (signed)",
            sign_with_realm_key(
                &app,
                "demo",
                es256_header(),
                with(json!({"iss": app.issuer("master")})),
            )
            .await,
        ),
    ];
    for (case, token) in &cases {
        assert_invalid_token(&app, "demo", token, case).await;
    }
    // The same policy applies where Latch reads tokens it was handed.
    let at_master = app.userinfo("master", &access).await;
    assert_eq!(at_master.status(), 401, "a demo token at realm master");
    // A little clock skew is forgiven; the real token still works.
    let skewed =
        sign_with_realm_key(&app, "demo", es256_header(), with(json!({"iat": now + 10}))).await;
    assert_eq!(
        app.userinfo("demo", &skewed).await.status(),
        200,
        "iat within the leeway"
    );
    app.assert_accepted(&access).await;
    crate::attacks::count(cases.len() + 1);
}

// ---- the authorization endpoint: redirects, PKCE, odd parameters --------------

async fn authorization_requests_cannot_be_bent(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let spa = public_client(&app).await;
    let (_, challenge) = pkce();
    let base = [
        ("client_id", "demo-app"),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "s"),
    ];
    // Redirect URIs that are not exactly the registered one: an error page,
    // never a redirect.
    let registered = DEMO_REDIRECT;
    let bad_redirects = [
        format!("{registered}/evil"),
        format!("{registered}.evil.example"),
        format!("{registered}?next=https://evil.example"),
        format!("{registered}#fragment"),
        registered.replace("http://", "http://attacker@"),
        registered.replace("127.0.0.1:8081", "127.0.0.1:8082"),
        registered.replace("http://", "https://"),
        registered.replace("/callback", "/Callback"),
        registered.replace("/callback", "/%63allback"),
        registered.replace("/callback", "/x/../callback"),
        format!("{registered}/"),
        format!(" {registered}"),
        "https://evil.example/callback".to_string(),
    ];
    for redirect in &bad_redirects {
        let mut params = base.to_vec();
        params.push(("redirect_uri", redirect));
        let response = app
            .client
            .get(app.auth_url("demo", &params))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "redirect_uri {redirect}");
        assert!(
            response.headers().get("location").is_none(),
            "no redirect for {redirect}"
        );
    }
    // PKCE downgrades and malformed values go back to the client as errors.
    let spa_redirect = "http://127.0.0.1/spa-callback";
    let pkce_cases: Vec<Case> = vec![
        ("public client without PKCE", vec![], "invalid_request"),
        (
            "PKCE plain",
            vec![
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "plain"),
            ],
            "invalid_request",
        ),
        (
            "challenge without method",
            vec![("code_challenge", challenge.as_str())],
            "invalid_request",
        ),
        (
            "method without challenge",
            vec![("code_challenge_method", "S256")],
            "invalid_request",
        ),
        (
            "short challenge",
            vec![("code_challenge", "abc"), ("code_challenge_method", "S256")],
            "invalid_request",
        ),
        (
            "method in lower case",
            vec![
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "s256"),
            ],
            "invalid_request",
        ),
    ];
    for (case, extra, error) in &pkce_cases {
        let mut params = vec![
            ("client_id", spa),
            ("redirect_uri", spa_redirect),
            ("response_type", "code"),
            ("state", "s"),
        ];
        params.extend_from_slice(extra);
        let response = app
            .client
            .get(app.auth_url("demo", &params))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 302, "{case}");
        let back = crate::helpers::location_params(&response);
        assert_eq!(back["error"], *error, "{case}");
        assert_eq!(back["state"], "s", "{case}");
        assert_eq!(back["iss"], app.issuer("demo"), "{case}");
    }
    // Case and whitespace variants, repeats, unsupported features.
    let variants: Vec<Case> = vec![
        (
            "response_type in upper case",
            vec![("response_type", "CODE")],
            "unsupported_response_type",
        ),
        (
            "response_type token (implicit)",
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (
            "scope in upper case",
            vec![("response_type", "code"), ("scope", "OPENID")],
            "invalid_scope",
        ),
        (
            "a scope with a quote",
            vec![("response_type", "code"), ("scope", "openid e\"mail")],
            "invalid_scope",
        ),
        (
            "a scope no client scope of the realm has",
            vec![("response_type", "code"), ("scope", "openid admin")],
            "invalid_scope",
        ),
        (
            "scope is a list of a hundred scopes",
            vec![("response_type", "code"), ("scope", HUNDRED_SCOPES)],
            "invalid_scope",
        ),
        (
            "response_mode jwt (JARM)",
            vec![("response_type", "code"), ("response_mode", "jwt")],
            "invalid_request",
        ),
        (
            "repeated state",
            vec![("response_type", "code"), ("state", "a"), ("state", "b")],
            "invalid_request",
        ),
        (
            "repeated scope",
            vec![
                ("response_type", "code"),
                ("scope", "openid"),
                ("scope", "email"),
            ],
            "invalid_request",
        ),
        (
            "request object",
            vec![("response_type", "code"), ("request", "eyJ.e30.")],
            "request_not_supported",
        ),
        (
            "prompt none with login",
            vec![("response_type", "code"), ("prompt", "none login")],
            "invalid_request",
        ),
        (
            "negative max_age",
            vec![("response_type", "code"), ("max_age", "-5")],
            "invalid_request",
        ),
    ];
    for (case, extra, error) in &variants {
        let mut params = vec![("client_id", "demo-app"), ("redirect_uri", registered)];
        params.extend_from_slice(extra);
        let response = app
            .client
            .get(app.auth_url("demo", &params))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 302, "{case}");
        assert_eq!(
            crate::helpers::location_params(&response)["error"],
            *error,
            "{case}"
        );
    }
    // NUL and invalid UTF-8 in a parameter: an error page.
    for raw in [
        "state=%00",
        "client_id=%FF%FE",
        "redirect_uri=http%3A%2F%2F127.0.0.1%3A8081%2Fcallback%00",
    ] {
        let url = format!(
            "{}/protocol/openid-connect/auth?client_id=demo-app&response_type=code&{raw}",
            app.issuer("demo")
        );
        let response = app.client.get(url).send().await.unwrap();
        assert_eq!(response.status(), 400, "{raw}");
        assert!(response.headers().get("location").is_none());
    }
    // An unregistered client id with SQL in it is just unknown.
    let sql = app
        .client
        .get(app.auth_url(
            "demo",
            &[
                ("client_id", "x' OR '1'='1"),
                ("redirect_uri", registered),
                ("response_type", "code"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(sql.status(), 400);
    crate::attacks::count(bad_redirects.len() + pkce_cases.len() + variants.len() + 3 + 1);
}

// ---- the token endpoint: codes, refresh tokens, client authentication -----------

async fn token_requests_cannot_be_bent(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let other_secret = app
        .add_client("demo", crate::helpers::new_client("other"))
        .await
        .unwrap();
    let secret = app.demo_secret();
    let demo = Some(("demo-app", secret.as_str()));
    let other = Some(("other", other_secret.as_str()));
    let (code, verifier) = app.demo_code(&app.browser(), "openid").await;
    let code_form = |code: &str, verifier: &str, redirect: &str| {
        format!(
            "grant_type=authorization_code&code={}&code_verifier={}&redirect_uri={}",
            code,
            verifier,
            url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>()
        )
    };
    let mut cases = 0;
    // A code is bound to its client, redirect URI and verifier.
    for (case, body, auth, status, error) in [
        (
            "code injected into another client",
            code_form(&code, &verifier, DEMO_REDIRECT),
            other,
            400,
            "invalid_grant",
        ),
        (
            "code with another redirect_uri",
            code_form(&code, &verifier, "http://127.0.0.1:8081/other"),
            demo,
            400,
            "invalid_grant",
        ),
        (
            "code without its verifier",
            format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}",
                url::form_urlencoded::byte_serialize(DEMO_REDIRECT.as_bytes()).collect::<String>()
            ),
            demo,
            400,
            "invalid_grant",
        ),
        (
            "code with a wrong verifier",
            code_form(&code, &"x".repeat(43), DEMO_REDIRECT),
            demo,
            400,
            "invalid_grant",
        ),
    ] {
        let response = post_form(&app, TOKEN, &body, auth).await;
        assert_eq!(response.status(), status, "{case}");
        assert_eq!(
            oauth_error(&response.json().await.unwrap()),
            error,
            "{case}"
        );
        cases += 1;
    }
    // The code was spent by those attempts? No: failed checks do not spend it.
    let tokens = app.redeem(&code, &verifier).await;
    let replay = post_form(
        &app,
        TOKEN,
        &code_form(&code, &verifier, DEMO_REDIRECT),
        demo,
    )
    .await;
    assert_eq!(replay.status(), 400, "a code replayed");
    app.assert_rejected(tokens["access_token"].as_str().unwrap())
        .await;
    cases += 1;
    // A refresh token of demo-app presented by another client.
    let fresh = app.alice_tokens("openid").await;
    let stolen = format!(
        "grant_type=refresh_token&refresh_token={}",
        fresh["refresh_token"].as_str().unwrap()
    );
    let response = post_form(&app, TOKEN, &stolen, other).await;
    assert_eq!(
        oauth_error(&response.json().await.unwrap()),
        "invalid_grant",
        "a refresh token from another client"
    );
    cases += 1;
    // Malformed requests: repeats, case variants, NUL, invalid UTF-8, SQL.
    let malformed: Vec<TokenCase> = vec![
        (
            "repeated grant_type",
            "grant_type=client_credentials&grant_type=client_credentials".into(),
            demo,
            400,
            "invalid_request",
        ),
        (
            "repeated client_id",
            "grant_type=client_credentials&client_id=demo-app&client_id=demo-app".into(),
            None,
            400,
            "invalid_request",
        ),
        (
            "grant_type in mixed case",
            "grant_type=Client_Credentials".into(),
            demo,
            400,
            "unsupported_grant_type",
        ),
        (
            "grant_type with a leading space",
            "grant_type=%20client_credentials".into(),
            demo,
            400,
            "unsupported_grant_type",
        ),
        (
            "implicit grant",
            "grant_type=implicit".into(),
            demo,
            400,
            "unsupported_grant_type",
        ),
        (
            "NUL in the code",
            "grant_type=authorization_code&code=ab%00cd".into(),
            demo,
            400,
            "invalid_request",
        ),
        (
            "invalid UTF-8 in the refresh token",
            "grant_type=refresh_token&refresh_token=%FF%FE".into(),
            demo,
            400,
            "invalid_request",
        ),
        (
            "SQL in client_id",
            "grant_type=client_credentials&client_id=x%27%20OR%20%271%27%3D%271&client_secret=y"
                .into(),
            None,
            401,
            "invalid_client",
        ),
        (
            "both Basic and client_secret",
            format!("grant_type=client_credentials&client_secret={secret}"),
            demo,
            400,
            "invalid_request",
        ),
        (
            "no client at all",
            "grant_type=client_credentials".into(),
            None,
            401,
            "invalid_client",
        ),
        (
            "password grant for a client that may not",
            format!(
                "grant_type=password&username=alice&password={}",
                app.alice_password()
            ),
            demo,
            400,
            "unauthorized_client",
        ),
        (
            "client_credentials for a public client",
            "grant_type=client_credentials&client_id=account-console".into(),
            None,
            400,
            "unauthorized_client",
        ),
    ];
    for (case, body, auth, status, error) in &malformed {
        let response = post_form(&app, TOKEN, body, *auth).await;
        assert_eq!(response.status(), *status, "{case}");
        assert_eq!(
            oauth_error(&response.json().await.unwrap()),
            *error,
            "{case}"
        );
    }
    cases += malformed.len();
    // Basic credentials in odd shapes.
    for (case, header) in [
        ("Basic scheme with garbage", "Basic !!!notbase64"),
        ("Basic without a colon", "Basic ZGVtby1hcHA="),
        ("Bearer instead of Basic", "Bearer abc"),
    ] {
        let response = app
            .client
            .post(app.url(TOKEN))
            .header("authorization", header)
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{case}");
        assert_eq!(
            oauth_error(&response.json().await.unwrap()),
            "invalid_client",
            "{case}"
        );
        cases += 1;
    }
    // Revocation and introspection are as strict.
    for (case, path, body) in [
        (
            "introspect with a repeated token",
            INTROSPECT,
            "token=a&token=b",
        ),
        ("revoke with a repeated token", REVOKE, "token=a&token=b"),
        ("introspect with NUL", INTROSPECT, "token=%00"),
        ("revoke with invalid UTF-8", REVOKE, "token=%C3%28"),
    ] {
        let response = post_form(&app, path, body, demo).await;
        assert_eq!(response.status(), 400, "{case}");
        assert_eq!(
            oauth_error(&response.json().await.unwrap()),
            "invalid_request",
            "{case}"
        );
        cases += 1;
    }
    let get_revoke = app.client.get(app.url(REVOKE)).send().await.unwrap();
    assert_eq!(get_revoke.status(), 405, "revocation by GET");
    cases += 1;
    crate::attacks::count(cases);
}

// ---- request limits ---------------------------------------------------------

async fn oversized_and_malformed_requests_are_refused(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let secret = app.demo_secret();
    let demo = Some(("demo-app", secret.as_str()));
    let mut cases = 0;
    let big = format!(
        "grant_type=client_credentials&pad={}",
        "x".repeat(17 * 1024)
    );
    let response = post_form(&app, TOKEN, &big, demo).await;
    assert_eq!(response.status(), 413, "an oversize token request");
    cases += 1;
    let many: String = (0..70).map(|i| format!("f{i}=v&")).collect();
    let response = post_form(
        &app,
        TOKEN,
        &format!("{many}grant_type=client_credentials"),
        demo,
    )
    .await;
    assert_eq!(response.status(), 400, "70 form fields");
    cases += 1;
    let long_query = format!(
        "{}?client_id=demo-app&pad={}",
        app.auth_url("demo", &[]),
        "y".repeat(9 * 1024)
    );
    let response = app.client.get(long_query).send().await.unwrap();
    assert_eq!(response.status(), 414, "a 9 KB query string");
    cases += 1;
    let response = app
        .client
        .get(app.url("/realms/demo/.well-known/openid-configuration"))
        .header("x-filler", "z".repeat(64 * 1024))
        .send()
        .await;
    assert_eq!(response.unwrap().status(), 431, "a 64 KB header");
    cases += 1;
    let response = app
        .client
        .post(app.url(TOKEN))
        .basic_auth("demo-app", Some(&secret))
        .header("content-type", "application/json")
        .body(r#"{"grant_type":"client_credentials"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400, "JSON instead of a form");
    cases += 1;
    let admin = app.admin_token().await;
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let response = app
        .client
        .post(app.url("/admin/realms"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(deep)
        .send()
        .await
        .unwrap();
    assert!(
        response.status() == 413 || response.status() == 422,
        "deeply nested JSON: {}",
        response.status()
    );
    cases += 1;
    let nested = format!("{{\"realm\":{}1{}}}", "[".repeat(200), "]".repeat(200));
    let response = app
        .client
        .post(app.url("/admin/realms"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(nested)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422, "nesting beyond serde's depth limit");
    cases += 1;
    let huge = json!({"realm": "x".repeat(300 * 1024)});
    let response = app
        .client
        .post(app.url("/admin/realms"))
        .bearer_auth(&admin)
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413, "a 300 KB admin body");
    cases += 1;
    // The login form: oversize, NUL in the username, SQL in the username.
    let browser = app.browser();
    let (url, _) = app.demo_auth_url("openid", &[]);
    let page = browser
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = Form::parse(&page);
    let response = app
        .submit(
            &browser,
            form.clone()
                .with("username", &"u".repeat(17 * 1024))
                .with("password", "p"),
        )
        .await;
    assert_eq!(response.status(), 413, "an oversize login form");
    let response = app
        .submit(
            &browser,
            form.clone()
                .with("username", "ali\0ce")
                .with("password", "p"),
        )
        .await;
    assert_eq!(response.status(), 400, "NUL in the username");
    let response = app
        .submit(
            &browser,
            form.clone()
                .with("username", "alice' OR '1'='1")
                .with("password", "' OR '1'='1"),
        )
        .await;
    assert_eq!(
        response.status(),
        200,
        "SQL in the login form is a wrong password"
    );
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Wrong username or password"));
    cases += 3;
    // SQL metacharacters through the admin API are data, nothing more.
    let (status, _) = app
        .admin(
            reqwest::Method::POST,
            "/demo/users",
            json!({"username": "o'brien\";--"}),
        )
        .await;
    assert_eq!(status, 201, "a username with quotes is just a name");
    let (_, found) = app
        .admin(
            reqwest::Method::GET,
            "/demo/users?username=o'brien%22;--&exact=true",
            Value::Null,
        )
        .await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    let (_, all) = app
        .admin(
            reqwest::Method::GET,
            "/demo/users?search=%25'%20OR%201%3D1--",
            Value::Null,
        )
        .await;
    assert_eq!(
        all,
        json!([]),
        "LIKE wildcards and SQL in a search match nothing"
    );
    cases += 2;
    crate::attacks::count(cases);
}

// ---- CSRF on every form --------------------------------------------------------

async fn forms_refuse_cross_site_posts(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let mut cases = 0;
    // Login: no token, and a token that is not this browser's.
    let browser = app.browser();
    let (url, _) = app.demo_auth_url("openid", &[]);
    let page = browser
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
    assert_eq!(
        app.submit(&browser, form.clone().without("csrf_token"))
            .await
            .status(),
        403,
        "login without a CSRF token"
    );
    let attacker = app.browser();
    let attacker_page = attacker
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let attacker_token = Form::parse(&attacker_page)
        .field("csrf_token")
        .unwrap()
        .to_string();
    assert_eq!(
        app.submit(&browser, form.clone().with("csrf_token", &attacker_token))
            .await
            .status(),
        403,
        "login with another browser's token"
    );
    cases += 2;
    // Consent (offline_access asks for it).
    let (url, _) = app.demo_auth_url("openid offline_access", &[]);
    let consent_page = app
        .sign_in(&browser, &url, "alice", &app.alice_password())
        .await
        .text()
        .await
        .unwrap();
    assert!(consent_page.contains("Allow access?"));
    let consent = Form::parse(&consent_page).with("decision", "allow");
    assert_eq!(
        app.submit(&browser, consent.without("csrf_token"))
            .await
            .status(),
        403,
        "consent without a CSRF token"
    );
    cases += 1;
    // Logout confirmation.
    let logout_page = browser
        .get(app.url("/realms/demo/protocol/openid-connect/logout"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let logout = Form::parse(&logout_page);
    assert_eq!(
        app.submit(&browser, logout.with("csrf_token", "forged"))
            .await
            .status(),
        403,
        "logout with a forged token"
    );
    cases += 1;
    // Account page.
    let account = browser
        .get(app.url("/realms/demo/account"))
        .send()
        .await
        .unwrap();
    assert_eq!(account.status(), 200, "alice is signed in in this browser");
    let account = account.text().await.unwrap();
    let sign_out = Form::having(&account, "action", "sign-out");
    assert_eq!(
        app.submit(&browser, sign_out.without("csrf_token"))
            .await
            .status(),
        403,
        "account action without a token"
    );
    cases += 1;
    // Console: a forged action from a signed-in operator's browser.
    let operator = app.browser();
    let mut response = operator
        .get(app.url("/admin/console"))
        .send()
        .await
        .unwrap();
    while response.status().is_redirection() {
        let next = location(&response);
        response = operator
            .get(if next.starts_with("http") {
                next
            } else {
                app.url(&next)
            })
            .send()
            .await
            .unwrap();
    }
    let login = Form::parse(&response.text().await.unwrap())
        .with("username", "admin")
        .with("password", &app.admin_password.clone().unwrap());
    let mut response = app.submit(&operator, login).await;
    while response.status().is_redirection() {
        let next = location(&response);
        response = operator
            .get(if next.starts_with("http") {
                next
            } else {
                app.url(&next)
            })
            .send()
            .await
            .unwrap();
    }
    let forged = operator
        .post(app.url("/admin/console/actions"))
        .form(&[
            ("action", "logout-realm"),
            ("realm", "demo"),
            ("confirm", "yes"),
            ("csrf_token", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403, "a console action with a forged token");
    cases += 1;
    // Every page carries the browser defences.
    let page = app.client.get(&url).send().await.unwrap();
    let headers = page.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        !csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let set_cookie: Vec<String> = headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        set_cookie
            .iter()
            .all(|c| c.contains("HttpOnly") && c.contains("SameSite=Lax")),
        "{set_cookie:?}"
    );
    let json = app
        .get("/realms/demo/.well-known/openid-configuration")
        .await;
    assert_eq!(json.headers()["x-content-type-options"], "nosniff");
    cases += 2;
    crate::attacks::count(cases);
}

// ---- post-logout redirects ---------------------------------------------------

async fn logout_cannot_redirect_anywhere(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let tokens = app.alice_tokens("openid").await;
    let hint = tokens["id_token"].as_str().unwrap();
    let registered = "http://127.0.0.1:8081/";
    let cases = [
        format!("{registered}evil"),
        "http://127.0.0.1:8081".to_string(),
        "https://evil.example/".to_string(),
        registered.replace("http://", "http://attacker@"),
        format!("{registered}#x"),
    ];
    for uri in &cases {
        let url = format!(
            "{}/protocol/openid-connect/logout?id_token_hint={hint}&post_logout_redirect_uri={}",
            app.issuer("demo"),
            url::form_urlencoded::byte_serialize(uri.as_bytes()).collect::<String>()
        );
        let response = app.client.get(url).send().await.unwrap();
        assert_eq!(response.status(), 400, "post_logout_redirect_uri {uri}");
        assert!(response.headers().get("location").is_none());
    }
    let no_client = app
        .client
        .get(format!("{}/protocol/openid-connect/logout?post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F", app.issuer("demo")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        no_client.status(),
        400,
        "a redirect with no client to belong to"
    );
    let repeated = app
        .client
        .get(format!(
            "{}/protocol/openid-connect/logout?state=a&state=b",
            app.issuer("demo")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(repeated.status(), 400, "a repeated logout parameter");
    let forged_hint = app
        .client
        .get(format!(
            "{}/protocol/openid-connect/logout?id_token_hint=eyJhbGciOiJub25lIn0.e30.",
            app.issuer("demo")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(forged_hint.status(), 400, "an unsigned id_token_hint");
    crate::attacks::count(cases.len() + 3);
}

crate::both_backends!(
    forged_and_misused_tokens_are_refused,
    authorization_requests_cannot_be_bent,
    token_requests_cannot_be_bent,
    oversized_and_malformed_requests_are_refused,
    forms_refuse_cross_site_posts,
    logout_cannot_redirect_anywhere,
);

static CASES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Counts attack cases run (printed with `--nocapture`).
pub fn count(n: usize) {
    let total = CASES.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
    eprintln!("adversarial cases so far: {total}");
}

/// 100 distinct scopes: more than a request may carry.
const HUNDRED_SCOPES: &str = "s0 s1 s2 s3 s4 s5 s6 s7 s8 s9 s10 s11 s12 s13 s14 s15 s16 s17 s18 s19 s20 s21 s22 s23 s24 s25 s26 s27 s28 s29 s30 s31 s32 s33 s34 s35 s36 s37 s38 s39 s40 s41 s42 s43 s44 s45 s46 s47 s48 s49 s50 s51 s52 s53 s54 s55 s56 s57 s58 s59 s60 s61 s62 s63 s64 s65 s66 s67 s68 s69 s70 s71 s72 s73 s74 s75 s76 s77 s78 s79 s80 s81 s82 s83 s84 s85 s86 s87 s88 s89 s90 s91 s92 s93 s94 s95 s96 s97 s98 s99";
