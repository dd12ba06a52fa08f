//! What browser apps and stock relying parties need: response modes
//! (form_post as an auto-submitting form, fragment), the RFC 9207 `iss`
//! parameter, and CORS exactly where it belongs.

use serde_json::{json, Value};

use crate::helpers::{location, Backend, Form};

/// Field values of the auto-submitting form.
fn form_fields(html: &str) -> (String, std::collections::HashMap<String, String>) {
    let form = Form::parse(html);
    (form.action.clone(), form.fields.into_iter().collect())
}

async fn form_post_and_fragment_responses_carry_code_state_and_iss(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let discovery: Value = app
        .get("/realms/demo/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["response_modes_supported"],
        json!(["query", "fragment", "form_post"])
    );
    assert_eq!(
        discovery["authorization_response_iss_parameter_supported"],
        true
    );

    // form_post: an HTML form that posts code, state and iss to the client.
    let browser = app.browser();
    let (url, verifier) = app.demo_auth_url("openid", &[("response_mode", "form_post")]);
    let page = app
        .sign_in(&browser, &url, "alice", &app.alice_password())
        .await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'sha256-") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("form-action http://127.0.0.1:8081"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains("<script>document.forms[0].submit()</script>"));
    let (action, fields) = form_fields(&html);
    assert_eq!(action, crate::helpers::DEMO_REDIRECT);
    assert_eq!(fields["state"], "st4te");
    assert_eq!(fields["iss"], app.issuer("demo"));
    let tokens = app.redeem(&fields["code"], &verifier).await;
    app.assert_accepted(tokens["access_token"].as_str().unwrap())
        .await;

    // An error (no session with prompt=none) is posted the same way.
    let (url, _) = app.demo_auth_url(
        "openid",
        &[("response_mode", "form_post"), ("prompt", "none")],
    );
    let again = app.browser().get(&url).send().await.unwrap();
    assert_eq!(again.status(), 200);
    let html = again.text().await.unwrap();
    let (_, fields) = form_fields(&html);
    assert_eq!(fields["error"], "login_required");
    assert_eq!(fields["iss"], app.issuer("demo"));

    // fragment: the parameters after '#'.
    let (url, verifier) = app.demo_auth_url("openid", &[("response_mode", "fragment")]);
    let response = browser.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 302);
    let to = location(&response);
    let (before, fragment) = to.split_once('#').expect("a fragment");
    assert_eq!(before, crate::helpers::DEMO_REDIRECT);
    let fields: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(fragment.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(fields["iss"], app.issuer("demo"));
    app.redeem(&fields["code"], &verifier).await;

    // Query (the default) carries iss too.
    let (url, _) = app.demo_auth_url("openid", &[]);
    let response = browser.get(&url).send().await.unwrap();
    assert_eq!(
        crate::helpers::location_params(&response)["iss"],
        app.issuer("demo")
    );
}

async fn cors_answers_allowed_origins_only(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let token = app.admin_token().await;
    let created = app
        .client
        .post(app.url("/admin/realms/demo/clients"))
        .bearer_auth(&token)
        .json(&json!({
            "clientId": "spa", "publicClient": true,
            "redirectUris": ["https://spa.example/callback"], "webOrigins": ["+"]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let bad = app
        .client
        .post(app.url("/admin/realms/demo/clients"))
        .bearer_auth(&token)
        .json(&json!({"clientId": "x", "publicClient": true, "redirectUris": ["https://x.example/cb"], "webOrigins": ["https://x.example/path"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let token_url = app.url("/realms/demo/protocol/openid-connect/token");
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, &token_url)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    // Preflight: the SPA's origin passes, another gets no CORS headers.
    let ok = preflight("https://spa.example").await.unwrap();
    assert_eq!(ok.status(), 204);
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://spa.example"
    );
    assert!(ok.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    let evil = preflight("https://evil.example").await.unwrap();
    assert_eq!(evil.status(), 403);
    assert!(evil.headers().get("access-control-allow-origin").is_none());

    // A change to the client's origins holds from the next preflight on.
    let spa = location(&created);
    let spa_id = spa.rsplit('/').next().unwrap();
    let set_origins = |origins: Value| {
        app.client
            .put(app.url(&format!("/admin/realms/demo/clients/{spa_id}")))
            .bearer_auth(&token)
            .json(&json!({ "webOrigins": origins }))
            .send()
    };
    assert_eq!(
        set_origins(json!(["https://new.example"]))
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        preflight("https://spa.example").await.unwrap().status(),
        403
    );
    assert_eq!(
        preflight("https://new.example").await.unwrap().status(),
        204
    );
    assert_eq!(set_origins(json!(["+"])).await.unwrap().status(), 204);
    assert_eq!(
        preflight("https://spa.example").await.unwrap().status(),
        204
    );

    // The token endpoint's answer (an error here) is readable by the SPA's
    // origin only, and only for the SPA's own requests.
    let request = |origin: &'static str, client: &'static str| {
        app.client
            .post(&token_url)
            .header("origin", origin)
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "x"),
                ("client_id", client),
            ])
            .send()
    };
    let spa = request("https://spa.example", "spa").await.unwrap();
    assert_eq!(
        spa.headers()["access-control-allow-origin"],
        "https://spa.example"
    );
    let other_origin = request("https://evil.example", "spa").await.unwrap();
    assert!(other_origin
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    let other_client = request("https://spa.example", "account-console")
        .await
        .unwrap();
    assert!(
        other_client
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "account-console lists no web origins"
    );

    // userinfo follows the token's client: demo-app lists none.
    let alice = app.alice_tokens("openid").await;
    let userinfo = app
        .client
        .get(app.url("/realms/demo/protocol/openid-connect/userinfo"))
        .header("origin", "https://spa.example")
        .bearer_auth(alice["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 200);
    assert!(userinfo
        .headers()
        .get("access-control-allow-origin")
        .is_none());

    // Public documents answer any origin; other endpoints none.
    for path in [
        "/realms/demo/.well-known/openid-configuration",
        "/realms/demo/protocol/openid-connect/certs",
    ] {
        let r = app
            .client
            .get(app.url(path))
            .header("origin", "https://anyone.example")
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["access-control-allow-origin"], "*", "{path}");
    }
    let admin = app
        .client
        .get(app.url("/admin/realms"))
        .header("origin", "https://spa.example")
        .send()
        .await
        .unwrap();
    assert!(
        admin.headers().get("access-control-allow-origin").is_none(),
        "the admin API is not opened"
    );
}

crate::both_backends!(
    form_post_and_fragment_responses_carry_code_state_and_iss,
    cors_answers_allowed_origins_only,
);
