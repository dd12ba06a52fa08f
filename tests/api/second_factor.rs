//! Second factors over HTTP: setting up an authenticator app (the secret
//! read from the `otpauth://` URI on the page, codes computed here), the
//! code asked after the password, replays, lockout, malformed codes, and
//! the `acr` / `amr` the tokens carry.

use reqwest::Method;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{
    claims, follow, location_params, spawn_app, spawn_app_with, Backend, Form, TestApp,
};

both_backends!(
    enrols_then_signs_in_with_password_and_code,
    a_code_is_accepted_once_across_sign_ins,
    wrong_codes_count_toward_the_lockout,
    malformed_and_foreign_codes_are_refused_clearly,
    tokens_tell_how_the_user_authenticated,
    a_realm_that_requires_a_second_factor_enrols_at_next_sign_in,
    removing_the_app_ends_the_sessions_that_used_it,
    credentials_are_listed_renamed_and_reset,
    the_password_grant_needs_more_than_a_password,
    the_account_page_asks_a_fresh_second_factor_to_change_it,
    a_request_for_acr_2_steps_a_session_up,
    recovery_codes_sign_in_once_each,
    keycloak_otp_credentials_import_and_sign_in,
);

/// HTML text as the browser reads it (named and numeric entities).
fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        let len = rest[start..].find(';').unwrap();
        let entity = &rest[start + 1..start + len];
        out.push(match entity {
            "amp" => '&',
            "quot" => '"',
            "lt" => '<',
            "gt" => '>',
            _ if entity.starts_with("#x") => {
                char::from_u32(u32::from_str_radix(&entity[2..], 16).unwrap()).unwrap()
            }
            _ => char::from_u32(entity[1..].parse().unwrap()).unwrap(),
        });
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

/// An authenticator app, from the `otpauth://` URI the page showed.
pub struct App {
    secret: Vec<u8>,
    digits: usize,
    period: u64,
}

impl App {
    fn from_page(html: &str) -> App {
        let start = html
            .find("otpauth://")
            .expect("the page shows an otpauth URI");
        let end = start + html[start..].find('"').unwrap();
        let uri = unescape(&html[start..end]);
        let url = url::Url::parse(&uri).unwrap();
        let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(query["algorithm"], "SHA1", "{uri}");
        let secret = totp_rs::Secret::Encoded(query["secret"].clone())
            .to_bytes()
            .unwrap();
        App {
            secret,
            digits: query["digits"].parse().unwrap(),
            period: query["period"].parse().unwrap(),
        }
    }

    /// The code `steps` time steps from now.
    pub fn code(&self, steps: i64) -> String {
        let totp = totp_rs::TOTP::new_unchecked(
            totp_rs::Algorithm::SHA1,
            self.digits,
            1,
            self.period,
            self.secret.clone(),
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        totp.generate((now + steps * self.period as i64) as u64)
    }
}

pub async fn user_id(app: &TestApp, username: &str) -> String {
    let (status, users) = app
        .admin(
            Method::GET,
            &format!("/demo/users?username={username}&exact=true"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 200, "{users}");
    users[0]["id"].as_str().unwrap().to_string()
}

/// Asks the user to set up an authenticator app at the next sign-in.
pub async fn require_totp(app: &TestApp, username: &str) {
    let id = user_id(app, username).await;
    let (status, body) = app
        .admin(
            Method::PUT,
            &format!("/demo/users/{id}"),
            json!({ "requiredActions": ["CONFIGURE_TOTP"] }),
        )
        .await;
    assert_eq!(status, 204, "{body}");
}

/// Creates `username` in realm demo with `password`.
pub async fn create_user(app: &TestApp, username: &str, password: &str) {
    let (status, body) = app
        .admin(
            Method::POST,
            "/demo/users",
            json!({
                "username": username,
                "enabled": true,
                "credentials": [{"type": "password", "value": password, "temporary": false}],
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

/// Signs in through the enrolment page: returns the app and the response
/// to the enrolment form (a redirect to the client).
pub async fn enrol(
    app: &TestApp,
    browser: &reqwest::Client,
    username: &str,
    password: &str,
) -> (App, reqwest::Response) {
    let (url, _) = app.demo_auth_url("openid", &[]);
    let page = app.sign_in(browser, &url, username, password).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Set up an authenticator app"), "{html}");
    assert!(html.contains("<svg"), "a QR code drawn as SVG");
    assert!(!html.contains("<script"), "no script on the page");
    let totp = App::from_page(&html);
    let form = Form::parse(&html)
        .with("totp", &totp.code(0))
        .with("userLabel", "phone");
    let response = app.submit(browser, form).await;
    (totp, response)
}

/// Opens the authorization URL, gives the password and returns the page
/// that asks for the code.
pub async fn code_form(
    app: &TestApp,
    browser: &reqwest::Client,
    username: &str,
    password: &str,
) -> Form {
    let (url, _) = app.demo_auth_url("openid", &[]);
    code_form_for(app, browser, &url, username, password).await
}

pub async fn code_form_for(
    app: &TestApp,
    browser: &reqwest::Client,
    url: &str,
    username: &str,
    password: &str,
) -> Form {
    let page = app.sign_in(browser, url, username, password).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Enter your code"), "{html}");
    assert!(
        html.contains("name=\"csrf_token\""),
        "the form carries a CSRF token"
    );
    Form::parse(&html)
}

/// Redeems the code a sign-in's redirect carries (asserting a redirect).
async fn tokens_of(app: &TestApp, response: reqwest::Response, verifier: &str) -> Value {
    assert_eq!(
        response.status(),
        303,
        "{}",
        response.text().await.unwrap_or_default()
    );
    let params = location_params(&response);
    app.redeem(&params["code"], verifier).await
}

async fn enrols_then_signs_in_with_password_and_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let password = app.alice_password();
    require_totp(&app, "alice").await;
    let (totp, response) = enrol(&app, &app.browser(), "alice", &password).await;
    assert_eq!(response.status(), 303, "the sign-in goes on to the client");
    assert!(location_params(&response).contains_key("code"));

    // The required action is done: the next sign-in asks for the code.
    let browser = app.browser();
    let (url, verifier) = app.demo_auth_url("openid", &[]);
    let form = code_form_for(&app, &browser, &url, "alice", &password).await;
    let response = app.submit(&browser, form.with("otp", &totp.code(1))).await;
    let tokens = tokens_of(&app, response, &verifier).await;
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["acr"], "2");

    // The credential list shows the password and the app, never a secret.
    let alice = user_id(&app, "alice").await;
    let (status, list) = app
        .admin(
            Method::GET,
            &format!("/demo/users/{alice}/credentials"),
            Value::Null,
        )
        .await;
    if status == 200 {
        let types: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["password", "otp"], "{list}");
        assert_eq!(list[1]["userLabel"], "phone");
        assert!(list[1].get("secretData").is_none(), "{list}");
    }
}

async fn a_code_is_accepted_once_across_sign_ins(backend: Backend) {
    let app = spawn_app(backend).await;
    let password = app.alice_password();
    require_totp(&app, "alice").await;
    let (totp, _) = enrol(&app, &app.browser(), "alice", &password).await;

    // The code used to set the app up cannot sign in.
    let browser = app.browser();
    let form = code_form(&app, &browser, "alice", &password).await;
    let response = app.submit(&browser, form.with("otp", &totp.code(0))).await;
    assert_eq!(response.status(), 200);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Wrong or already used code."));

    let first = app.browser();
    let form = code_form(&app, &first, "alice", &password).await;
    let response = app.submit(&first, form.with("otp", &totp.code(1))).await;
    assert_eq!(response.status(), 303);

    // The same code in a second sign-in, in another browser: refused.
    let second = app.browser();
    let form = code_form(&app, &second, "alice", &password).await;
    let response = app
        .submit(&second, form.clone().with("otp", &totp.code(1)))
        .await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("Wrong or already used code."), "{html}");

    // The code form only works in the browser it was given to.
    let elsewhere = app.browser();
    let response = app
        .submit(&elsewhere, form.with("otp", &totp.code(-1)))
        .await;
    assert_eq!(response.status(), 403, "no CSRF cookie in another browser");
}

async fn wrong_codes_count_toward_the_lockout(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.lockout_threshold = 3).await;
    let password = app.alice_password();
    require_totp(&app, "alice").await;
    let (totp, _) = enrol(&app, &app.browser(), "alice", &password).await;

    // Two wrong codes, with the right password given before each: the
    // password does not clear the count.
    for _ in 0..2 {
        let browser = app.browser();
        let form = code_form(&app, &browser, "alice", &password).await;
        let response = app.submit(&browser, form.with("otp", "000000")).await;
        assert_eq!(response.status(), 200);
    }
    // A wrong password is the third failure: the account locks.
    let browser = app.browser();
    let (url, _) = app.demo_auth_url("openid", &[]);
    let page = app
        .sign_in(&browser, &url, "alice", "not her password")
        .await;
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("Wrong username or password"));
    let alice = user_id(&app, "alice").await;
    let (_, lockout) = app
        .admin(
            Method::GET,
            &format!("/demo/attack-detection/brute-force/users/{alice}"),
            Value::Null,
        )
        .await;
    assert_eq!(lockout["disabled"], true, "{lockout}");

    // Locked: the right password and a right code do not sign in.
    let page = app.sign_in(&browser, &url, "alice", &password).await;
    let html = page.text().await.unwrap();
    assert!(html.contains("Wrong username or password"), "{html}");
    let _ = totp.code(1);
}

async fn malformed_and_foreign_codes_are_refused_clearly(backend: Backend) {
    let app = spawn_app(backend).await;
    let password = app.alice_password();
    require_totp(&app, "alice").await;
    let (totp, _) = enrol(&app, &app.browser(), "alice", &password).await;
    create_user(&app, "bob", "bobs-own-Pass-42").await;
    require_totp(&app, "bob").await;
    let (bobs, _) = enrol(&app, &app.browser(), "bob", "bobs-own-Pass-42").await;

    let browser = app.browser();
    let form = code_form(&app, &browser, "alice", &password).await;
    for malformed in [
        "",
        "abcdef",
        "12345",
        "1234567890123",
        "１２３４５６",
        "' OR 1=1 --",
    ] {
        let response = app
            .submit(&browser, form.clone().with("otp", malformed))
            .await;
        assert_eq!(response.status(), 200, "{malformed:?}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains("Enter the 6-digit code from your app."),
            "{malformed:?}: {html}"
        );
    }
    // Bob's code is not Alice's.
    let response = app
        .submit(&browser, form.clone().with("otp", &bobs.code(1)))
        .await;
    assert_eq!(response.status(), 200);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Wrong or already used code."));
    // A tampered proof of the password step is refused.
    let tampered = form
        .clone()
        .with("pending", "AAAA")
        .with("otp", &totp.code(1));
    let response = app.submit(&browser, tampered).await;
    assert_eq!(response.status(), 400);
    // Without the proof there is nothing to continue.
    let response = app
        .submit(
            &browser,
            form.clone().without("pending").with("otp", &totp.code(1)),
        )
        .await;
    assert_eq!(response.status(), 400);
    // Alice's own code still works after all that.
    let response = app.submit(&browser, form.with("otp", &totp.code(1))).await;
    assert_eq!(response.status(), 303);
}

async fn tokens_tell_how_the_user_authenticated(backend: Backend) {
    let app = spawn_app(backend).await;
    let password = app.alice_password();

    // A password alone: acr 1, amr pwd.
    let browser = app.browser();
    let (url, verifier) = app.demo_auth_url("openid", &[]);
    let response = app.sign_in(&browser, &url, "alice", &password).await;
    let tokens = tokens_of(&app, response, &verifier).await;
    for token in [&tokens["id_token"], &tokens["access_token"]] {
        let c = claims(token.as_str().unwrap());
        assert_eq!(c["acr"], "1", "{c}");
        assert_eq!(c["amr"], json!(["pwd"]), "{c}");
    }
    // The same session reused without authenticating: acr 0.
    let (url, verifier) = app.demo_auth_url("openid", &[]);
    let response = browser.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 302);
    let tokens = app
        .redeem(&location_params(&response)["code"], &verifier)
        .await;
    assert_eq!(claims(tokens["id_token"].as_str().unwrap())["acr"], "0");

    // A second factor: acr 2, amr pwd otp mfa, in both tokens and after a refresh.
    require_totp(&app, "alice").await;
    let (totp, _) = enrol(&app, &app.browser(), "alice", &password).await;
    let browser = app.browser();
    let (url, verifier) = app.demo_auth_url("openid", &[]);
    let form = code_form_for(&app, &browser, &url, "alice", &password).await;
    let response = app.submit(&browser, form.with("otp", &totp.code(1))).await;
    let tokens = tokens_of(&app, response, &verifier).await;
    let refreshed: Value = app
        .refresh(tokens["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    for token in [
        &tokens["id_token"],
        &tokens["access_token"],
        &refreshed["access_token"],
    ] {
        let c = claims(token.as_str().unwrap());
        assert_eq!(c["acr"], "2", "{c}");
        assert_eq!(c["amr"], json!(["pwd", "otp", "mfa"]), "{c}");
    }
    // Reused, the session still stands at level 2.
    let (url, verifier) = app.demo_auth_url("openid", &[]);
    let response = browser.get(&url).send().await.unwrap();
    let tokens = app
        .redeem(&location_params(&response)["code"], &verifier)
        .await;
    assert_eq!(claims(tokens["id_token"].as_str().unwrap())["acr"], "2");

    // Discovery lists the levels.
    let discovery: Value = app
        .get("/realms/demo/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["acr_values_supported"], json!(["0", "1", "2"]));
}

async fn a_realm_that_requires_a_second_factor_enrols_at_next_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, realm) = app.admin(Method::GET, "/demo", Value::Null).await;
    assert_eq!(status, 200);
    assert_eq!(realm["otpPolicyAlgorithm"], "HmacSHA1");
    assert_eq!(realm["otpPolicyDigits"], 6);
    assert_eq!(realm["otpPolicyPeriod"], 30);
    assert_eq!(realm["otpPolicyLookAheadWindow"], 1);
    assert_eq!(realm["secondFactor"], "optional");
    let (status, body) = app
        .admin(Method::PUT, "/demo", json!({"secondFactor": "sometimes"}))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "secondFactor");
    for (field, value) in [
        ("otpPolicyDigits", json!(4)),
        ("otpPolicyAlgorithm", json!("HmacMD5")),
        ("otpPolicyPeriod", json!(0)),
        ("otpPolicyLookAheadWindow", json!(-1)),
        ("otpPolicyType", json!("hotp")),
    ] {
        let (status, body) = app
            .admin(Method::PUT, "/demo", json!({ field: value }))
            .await;
        assert_eq!(status, 422, "{field}: {body}");
        assert_eq!(body["field"], field, "{body}");
    }
    let (status, body) = app
        .admin(
            Method::PUT,
            "/demo",
            json!({"secondFactor": "required", "otpPolicyDigits": 8}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;

    let password = app.alice_password();
    let (totp, response) = enrol(&app, &app.browser(), "alice", &password).await;
    assert_eq!(totp.digits, 8);
    assert_eq!(response.status(), 303);
    let browser = app.browser();
    let form = code_form(&app, &browser, "alice", &password).await;
    let response = app.submit(&browser, form.with("otp", &totp.code(1))).await;
    assert_eq!(response.status(), 303);
}

/// The id of the user's credential of `kind`, from the admin API.
async fn credential_id(app: &TestApp, user: &str, kind: &str) -> String {
    let (status, list) = app
        .admin(
            Method::GET,
            &format!("/demo/users/{user}/credentials"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {list}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn removing_the_app_ends_the_sessions_that_used_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let port = crate::helpers::free_port();
    let (received, _server) = crate::notices::listener(port).await;
    crate::notices::register(&app, port, None).await;
    let password = app.alice_password();

    // A session that used the password alone, before the app was set up.
    let (url, verifier) = app.demo_auth_url("openid", &[]);
    let response = app.sign_in(&app.browser(), &url, "alice", &password).await;
    let password_only = tokens_of(&app, response, &verifier).await;

    // A session that used the app.
    require_totp(&app, "alice").await;
    let (totp, _) = enrol(&app, &app.browser(), "alice", &password).await;
    let browser = app.browser();
    let (url, verifier) = app.demo_auth_url("openid", &[]);
    let form = code_form_for(&app, &browser, &url, "alice", &password).await;
    let response = app.submit(&browser, form.with("otp", &totp.code(1))).await;
    let with_app = tokens_of(&app, response, &verifier).await;
    let sid = claims(with_app["access_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_string();

    let alice = user_id(&app, "alice").await;
    let otp = credential_id(&app, &alice, "otp").await;
    let (status, body) = app
        .admin(
            Method::DELETE,
            &format!("/demo/users/{alice}/credentials/{otp}"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 204, "{body}");

    // The session that used the app is over: refresh refused, access
    // token inactive, the relying party told.
    let refresh = app
        .refresh(with_app["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(refresh.status(), 400);
    assert!(!app.active(with_app["access_token"].as_str().unwrap()).await);
    let notice =
        crate::notices::until_notice_for(&app, &received, &sid, std::time::Duration::from_secs(5))
            .await;
    assert_eq!(notice["sid"], sid.as_str());

    // The password-only session of the same user lives on.
    assert!(
        app.active(password_only["access_token"].as_str().unwrap())
            .await
    );
    let refresh = app
        .refresh(password_only["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(refresh.status(), 200);

    // The credential is gone; the next sign-in asks for no code.
    let (status, _) = app
        .admin(
            Method::DELETE,
            &format!("/demo/users/{alice}/credentials/{otp}"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 404);
    let (url, _) = app.demo_auth_url("openid", &[]);
    let response = app.sign_in(&app.browser(), &url, "alice", &password).await;
    assert_eq!(response.status(), 303);
}

async fn credentials_are_listed_renamed_and_reset(backend: Backend) {
    let app = spawn_app(backend).await;
    let password = app.alice_password();
    require_totp(&app, "alice").await;
    let (totp, _) = enrol(&app, &app.browser(), "alice", &password).await;
    let alice = user_id(&app, "alice").await;
    let otp = credential_id(&app, &alice, "otp").await;
    let (_, list) = app
        .admin(
            Method::GET,
            &format!("/demo/users/{alice}/credentials"),
            Value::Null,
        )
        .await;
    let data: Value = serde_json::from_str(list[1]["credentialData"].as_str().unwrap()).unwrap();
    assert_eq!(data["subType"], "totp");
    assert_eq!(data["digits"], 6);
    assert_eq!(data["algorithm"], "HmacSHA1");
    assert!(list[1]["createdDate"].as_i64().unwrap() > 0);
    assert!(!list.to_string().contains("secret"), "{list}");

    // Rename, as Keycloak's admin client sends it (text/plain).
    let token = app.admin_token().await;
    let renamed = app
        .client
        .put(app.url(&format!(
            "/admin/realms/demo/users/{alice}/credentials/{otp}/userLabel"
        )))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("work phone")
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), 204);
    let (_, list) = app
        .admin(
            Method::GET,
            &format!("/demo/users/{alice}/credentials"),
            Value::Null,
        )
        .await;
    assert_eq!(list[1]["userLabel"], "work phone");

    // The password is listed but is not removed here.
    let password_id = list[0]["id"].as_str().unwrap();
    assert_eq!(list[0]["type"], "password");
    let (status, body) = app
        .admin(
            Method::DELETE,
            &format!("/demo/users/{alice}/credentials/{password_id}"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = app
        .admin(Method::GET, "/demo/users/nobody/credentials", Value::Null)
        .await;
    assert_eq!(status, 404);

    // An export leaves the app out; recovery codes are not a required action here.
    let (status, export) = app.admin(Method::GET, "/demo/export", Value::Null).await;
    assert_eq!(status, 200);
    let alice_export = export["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "alice")
        .unwrap()
        .clone();
    assert!(
        !alice_export.to_string().contains("\"otp\""),
        "{alice_export}"
    );
    let (status, body) = app
        .admin(
            Method::PUT,
            &format!("/demo/users/{alice}"),
            json!({"requiredActions": ["CONFIGURE_RECOVERY_AUTHN_CODES"]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");

    // Admins may ask for the app at the next sign-in.
    let (status, body) = app
        .admin(
            Method::PUT,
            &format!("/demo/users/{alice}"),
            json!({"requiredActions": ["CONFIGURE_TOTP"]}),
        )
        .await;
    assert_eq!(status, 204, "{body}");

    // The operator resets the second factor: the session that used it ends.
    let browser = app.browser();
    let (url, verifier) = app.demo_auth_url("openid", &[]);
    let form = code_form_for(&app, &browser, &url, "alice", &password).await;
    let response = app.submit(&browser, form.with("otp", &totp.code(1))).await;
    let tokens = tokens_of(&app, response, &verifier).await;
    let output = app.cli(&[
        "user",
        "reset-second-factor",
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
    assert!(
        crate::helpers::stdout(&output).contains("removed 1"),
        "{}",
        crate::helpers::describe(&output)
    );
    crate::helpers::until_rejected_or_panic(&app, tokens["access_token"].as_str().unwrap()).await;
    let (_, list) = app
        .admin(
            Method::GET,
            &format!("/demo/users/{alice}/credentials"),
            Value::Null,
        )
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
}

async fn the_password_grant_needs_more_than_a_password(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    let admin_password = app.admin_password.clone().unwrap();
    let form = [
        ("grant_type", "password"),
        ("client_id", "admin-cli"),
        ("username", "admin"),
        ("password", admin_password.as_str()),
    ];
    let grant = || app.token_request("master", None, &form);
    let (status, users) = app
        .admin_as(
            &token,
            Method::GET,
            "/master/users?username=admin&exact=true",
            Value::Null,
        )
        .await;
    assert_eq!(status, 200);
    let admin = users[0]["id"].as_str().unwrap().to_string();
    let (status, _) = app
        .admin_as(
            &token,
            Method::PUT,
            &format!("/master/users/{admin}"),
            json!({"requiredActions": ["CONFIGURE_TOTP"]}),
        )
        .await;
    assert_eq!(status, 204);
    let refused = grant().await;
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("not fully set up"),
        "{body}"
    );

    // With an app set up (in the browser), the password grant is refused
    // as for a wrong password: it takes no code.
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
    let html = page.text().await.unwrap();
    let totp = App::from_page(&html);
    let response = app
        .submit(&browser, Form::parse(&html).with("totp", &totp.code(0)))
        .await;
    assert_eq!(response.status(), 303);
    let refused = grant().await;
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], "Invalid user credentials");
}

/// Submits a form of the page and follows redirects to the next page.
async fn press(
    app: &TestApp,
    browser: &reqwest::Client,
    form: Form,
) -> (reqwest::StatusCode, String) {
    let response = follow(app, browser, app.submit(browser, form).await).await;
    (response.status(), response.text().await.unwrap())
}

async fn the_account_page_asks_a_fresh_second_factor_to_change_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let password = app.alice_password();
    let browser = app.browser();
    let page = follow(
        &app,
        &browser,
        browser
            .get(app.url("/realms/demo/account"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let html = page.text().await.unwrap();
    let form = Form::parse(&html)
        .with("username", "alice")
        .with("password", &password);
    let (_, html) = press(&app, &browser, form).await;
    assert!(html.contains("Signing in"), "{html}");
    assert!(html.contains("Password"));

    // No app yet: a fresh password sign-in is enough to set one up.
    let (status, html) = press(&app, &browser, Form::having(&html, "action", "add-totp")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Set up an authenticator app"), "{html}");
    let totp = App::from_page(&html);
    let form = Form::parse(&html).with("totp", "000000");
    let (_, again) = press(&app, &browser, form).await;
    assert!(again.contains("That code is not right"), "{again}");
    let form = Form::parse(&again)
        .with("totp", &totp.code(0))
        .with("userLabel", "phone");
    let (status, html) = press(&app, &browser, form).await;
    assert_eq!(status, 200);
    assert!(html.contains("Your authenticator app is set up."), "{html}");
    assert!(html.contains("Authenticator app"));

    // She has one now: this password-only session cannot add another...
    let response = app
        .submit(&browser, Form::having(&html, "action", "add-totp"))
        .await;
    assert_eq!(response.status(), 303);
    let location = crate::helpers::location(&response);
    assert!(location.contains("prompt=login"), "{location}");
    // ...nor remove one.
    let otp = Form::having(&html, "action", "remove-credential");
    let response = app.submit(&browser, otp.clone()).await;
    assert!(crate::helpers::location(&response).contains("prompt=login"));

    // Signing in again asks the password and then the code.
    let page = follow(&app, &browser, response).await;
    let html = page.text().await.unwrap();
    let form = Form::parse(&html)
        .with("username", "alice")
        .with("password", &password);
    let response = app.submit(&browser, form).await;
    let html = response.text().await.unwrap();
    assert!(html.contains("Enter your code"), "{html}");
    let (_, html) = press(
        &app,
        &browser,
        Form::parse(&html).with("otp", &totp.code(1)),
    )
    .await;
    assert!(html.contains("You signed in again"), "{html}");

    // Fresh, with the second factor: adding is allowed.
    let (status, enrol) = press(&app, &browser, Form::having(&html, "action", "add-totp")).await;
    assert_eq!(status, 200);
    assert!(enrol.contains("Set up an authenticator app"), "{enrol}");

    // Where the realm requires a second factor, the last one stays.
    let (status, body) = app
        .admin(Method::PUT, "/demo", json!({"secondFactor": "required"}))
        .await;
    assert_eq!(status, 204, "{body}");
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let otp = Form::having(&html, "action", "remove-credential");
    let (status, refused) = press(&app, &browser, otp.clone()).await;
    assert_eq!(status, 422);
    assert!(
        refused.contains("requires an authenticator app"),
        "{refused}"
    );
    // Optional again: removed, and this session stays signed in.
    let (status, _) = app
        .admin(Method::PUT, "/demo", json!({"secondFactor": "optional"}))
        .await;
    assert_eq!(status, 204);
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let (status, html) = press(&app, &browser, otp).await;
    assert_eq!(status, 200);
    assert!(html.contains("Removed."), "{html}");
    assert!(!html.contains("Authenticator app"), "{html}");
}

async fn a_request_for_acr_2_steps_a_session_up(backend: Backend) {
    let app = spawn_app(backend).await;
    let password = app.alice_password();
    // Two sessions that used the password alone, before the app.
    let (first, second) = (app.browser(), app.browser());
    for browser in [&first, &second] {
        let (url, _) = app.demo_auth_url("openid", &[]);
        assert_eq!(
            app.sign_in(browser, &url, "alice", &password)
                .await
                .status(),
            303
        );
    }
    require_totp(&app, "alice").await;
    let (totp, _) = enrol(&app, &app.browser(), "alice", &password).await;

    // prompt=none cannot ask for the code.
    let (url, _) = app.demo_auth_url("openid", &[("acr_values", "2"), ("prompt", "none")]);
    let response = second.get(&url).send().await.unwrap();
    assert_eq!(location_params(&response)["error"], "interaction_required");

    // acr_values=2: the code only, no password, then a code for acr 2.
    let (url, verifier) = app.demo_auth_url("openid", &[("acr_values", "2")]);
    let page = first.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Enter your code"), "{html}");
    assert!(!html.contains("name=\"password\""), "{html}");
    let response = app
        .submit(&first, Form::parse(&html).with("otp", &totp.code(1)))
        .await;
    let tokens = tokens_of(&app, response, &verifier).await;
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["acr"], "2");
    assert_eq!(id["amr"], json!(["pwd", "otp", "mfa"]));
    // Stepped up, the session answers the same request without asking.
    let (url, _) = app.demo_auth_url("openid", &[("acr_values", "2"), ("prompt", "none")]);
    let response = first.get(&url).send().await.unwrap();
    assert!(location_params(&response).contains_key("code"));

    // The essential claim, as the claims parameter asks it.
    let essential = r#"{"id_token":{"acr":{"essential":true,"values":["2"]}}}"#;
    let (url, _) = app.demo_auth_url("openid", &[("claims", essential)]);
    let page = second.get(&url).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("Enter your code"));

    // A user without an app: essential is refused, voluntary goes on at 1.
    create_user(&app, "bob", "bobs-own-Pass-42").await;
    let bob = app.browser();
    let (url, _) = app.demo_auth_url("openid", &[("claims", essential)]);
    let response = app.sign_in(&bob, &url, "bob", "bobs-own-Pass-42").await;
    assert_eq!(
        location_params(&response)["error"],
        "unmet_authentication_requirements"
    );
    // Bob's session (started before the refusal) is reused: acr 0.
    let (url, verifier) = app.demo_auth_url("openid", &[("acr_values", "2 1")]);
    let response = bob.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 302);
    let tokens = app
        .redeem(&location_params(&response)["code"], &verifier)
        .await;
    assert_eq!(claims(tokens["id_token"].as_str().unwrap())["acr"], "0");
}

async fn recovery_codes_sign_in_once_each(backend: Backend) {
    let app = spawn_app(backend).await;
    let password = app.alice_password();
    require_totp(&app, "alice").await;
    let (totp, _) = enrol(&app, &app.browser(), "alice", &password).await;

    // The account page, signed in with the password and the code: fresh.
    let account = app.browser();
    let page = follow(
        &app,
        &account,
        account
            .get(app.url("/realms/demo/account"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let form = Form::parse(&page.text().await.unwrap())
        .with("username", "alice")
        .with("password", &password);
    let html = app.submit(&account, form).await.text().await.unwrap();
    let (_, html) = press(
        &app,
        &account,
        Form::parse(&html).with("otp", &totp.code(1)),
    )
    .await;
    let (status, shown) = press(
        &app,
        &account,
        Form::having(&html, "action", "new-recovery-codes"),
    )
    .await;
    assert_eq!(status, 200);
    let list = &shown[shown.find("id=\"recovery-codes\"").expect("the codes")..];
    let codes: Vec<String> = list
        .split("<code>")
        .skip(1)
        .map(|c| c[..c.find("</code>").unwrap()].to_string())
        .collect();
    assert_eq!(codes.len(), 12, "{shown}");
    assert!(codes.iter().all(|c| c.len() == 14), "{codes:?}");

    // A recovery code in place of the app's code.
    let first = app.browser();
    let (url, verifier) = app.demo_auth_url("openid", &[]);
    let form = code_form_for(&app, &first, &url, "alice", &password).await;
    let response = app
        .submit(&first, form.with("otp", &codes[0].to_lowercase()))
        .await;
    let tokens = tokens_of(&app, response, &verifier).await;
    assert_eq!(claims(tokens["id_token"].as_str().unwrap())["acr"], "2");

    // Each code once.
    let second = app.browser();
    let (url, verifier) = app.demo_auth_url("openid", &[]);
    let form = code_form_for(&app, &second, &url, "alice", &password).await;
    let response = app
        .submit(&second, form.clone().with("otp", &codes[0]))
        .await;
    assert_eq!(response.status(), 200);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Wrong or already used code."));
    let response = app.submit(&second, form.with("otp", &codes[1])).await;
    tokens_of(&app, response, &verifier).await;

    // Spending a code ends the sessions that signed in with the codes before.
    let refresh = app.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refresh.status(), 400);
    let alice = user_id(&app, "alice").await;
    let (_, list) = app
        .admin(
            Method::GET,
            &format!("/demo/users/{alice}/credentials"),
            Value::Null,
        )
        .await;
    assert!(list.to_string().contains("recovery-authn-codes"), "{list}");
    assert!(
        !list.to_string().contains(&codes[2]),
        "no code is ever shown again"
    );
}

async fn keycloak_otp_credentials_import_and_sign_in(backend: Backend) {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    let app = spawn_app(backend).await;
    let password = "kc user's password";
    let salt = b"0123456789abcdef";
    let mut derived = [0u8; 64];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), salt, 27_500, &mut derived);
    let password_credential = json!({
        "type": "password",
        "secretData": json!({"value": STANDARD.encode(derived), "salt": STANDARD.encode(salt), "additionalParameters": {}}).to_string(),
        "credentialData": json!({"hashIterations": 27500, "algorithm": "pbkdf2-sha256", "additionalParameters": {}}).to_string()
    });
    let otp = |value: &str, data: Value| {
        json!({
            "type": "otp", "userLabel": "Keycloak phone", "createdDate": 1_700_000_000_000_i64,
            "secretData": json!({"value": value}).to_string(),
            "credentialData": data.to_string(),
        })
    };
    let totp_data = json!({"subType": "totp", "digits": 6, "counter": 0, "period": 30, "algorithm": "HmacSHA1"});
    let mut base32 = totp_data.clone();
    base32["secretEncoding"] = json!("BASE32");
    let hotp = json!({"subType": "hotp", "digits": 6, "counter": 3, "period": 30, "algorithm": "HmacSHA1"});
    let b32_key = b"another-secret-key!!".to_vec();
    let file = json!({
        "realm": "kc",
        "enabled": true,
        "otpPolicyType": "totp", "otpPolicyAlgorithm": "HmacSHA1", "otpPolicyDigits": 6,
        "otpPolicyPeriod": 30, "otpPolicyLookAheadWindow": 1,
        "clients": [{
            "clientId": "kc-app", "publicClient": true, "standardFlowEnabled": true,
            "redirectUris": [crate::helpers::DEMO_REDIRECT]
        }],
        "users": [
            {"username": "utf", "enabled": true,
             "credentials": [password_credential.clone(), otp("12345678901234567890", totp_data.clone())]},
            {"username": "b32", "enabled": true,
             "credentials": [password_credential.clone(), otp(&totp_rs::Secret::Raw(b32_key.clone()).to_encoded().to_string(), base32)]},
            {"username": "counter", "enabled": true,
             "credentials": [password_credential, otp("12345678901234567890", hotp)]}
        ]
    });
    let path = app.db.dir.path().join("kc-otp.json");
    std::fs::write(&path, file.to_string()).unwrap();
    let output = app.cli(&["realm", "import", path.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "{}",
        crate::helpers::describe(&output)
    );
    let printed = crate::helpers::stdout(&output);
    assert!(
        printed.contains("users[2].credentials[1]"),
        "the counter-based one is reported: {printed}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;

    for (username, key) in [("utf", b"12345678901234567890".to_vec()), ("b32", b32_key)] {
        let app_key = App {
            secret: key,
            digits: 6,
            period: 30,
        };
        let browser = app.browser();
        let url = app.auth_url(
            "kc",
            &[
                ("client_id", "kc-app"),
                ("redirect_uri", crate::helpers::DEMO_REDIRECT),
                ("response_type", "code"),
                ("scope", "openid"),
                ("code_challenge", &crate::helpers::pkce().1),
                ("code_challenge_method", "S256"),
            ],
        );
        let form = code_form_for(&app, &browser, &url, username, password).await;
        let response = app
            .submit(&browser, form.with("otp", &app_key.code(0)))
            .await;
        assert_eq!(
            response.status(),
            303,
            "{username}: {}",
            response.text().await.unwrap_or_default()
        );
        assert!(
            location_params(&response).contains_key("code"),
            "{username}"
        );
    }
    // Without an importable second factor, the password alone signs in.
    let browser = app.browser();
    let (url, _) = (
        app.auth_url(
            "kc",
            &[
                ("client_id", "kc-app"),
                ("redirect_uri", crate::helpers::DEMO_REDIRECT),
                ("response_type", "code"),
                ("code_challenge", &crate::helpers::pkce().1),
                ("code_challenge_method", "S256"),
            ],
        ),
        (),
    );
    let response = app.sign_in(&browser, &url, "counter", password).await;
    assert_eq!(response.status(), 303);
}
