use crate::helpers::{spawn_app_with, Backend};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_is_served_over_https_with_rustls() {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();

    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.tls_cert = Some(cert_path.clone());
        s.tls_key = Some(key_path.clone());
    })
    .await;
    assert!(app.base.starts_with("https://127.0.0.1:"), "{}", app.base);

    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let response = client
        .get(format!(
            "{}/.well-known/openid-configuration",
            app.issuer("demo")
        ))
        .send()
        .await
        .expect("HTTPS request succeeds");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["issuer"],
        format!("https://127.0.0.1:{}/realms/demo", app.port)
    );

    // Under TLS: HSTS on every response, and cookies that are Secure and
    // carry the __Host- prefix (so Path=/ and no Domain).
    assert_eq!(
        client
            .get(format!(
                "{}/.well-known/openid-configuration",
                app.issuer("demo")
            ))
            .send()
            .await
            .unwrap()
            .headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let browser = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let (url, _) = app.demo_auth_url("openid", &[]);
    let page = browser.get(&url).send().await.unwrap();
    let cookies: Vec<String> = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("__Host-LATCH_CSRF=")),
        "{cookies:?}"
    );
    let form = crate::helpers::Form::parse(&page.text().await.unwrap())
        .with("username", "alice")
        .with("password", &app.alice_password());
    let signed_in = browser
        .post(app.url(&form.action))
        .form(&form.fields)
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let session: Vec<String> = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        // The session cookie itself, not its companion (LATCH_SESSION_STATE).
        .filter(|c| c.contains("LATCH_SESSION-"))
        .collect();
    assert_eq!(session.len(), 1, "{session:?}");
    let cookie = &session[0];
    assert!(cookie.starts_with("__Host-LATCH_SESSION-demo="), "{cookie}");
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    // The session works under its new name: a second authorization
    // request goes straight back to the client.
    let (again, _) = app.demo_auth_url("openid", &[]);
    let response = browser.get(&again).send().await.unwrap();
    assert_eq!(response.status(), 302);
    assert!(crate::helpers::location(&response).contains("code="));
}
