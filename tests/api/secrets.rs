//! Secrets at rest and in logs: a full run at debug log level, then every
//! secret the run used is looked for in the server's log (none may be
//! there) and in a dump of its database (none may be there in clear, and
//! no private signing key may be usable).

use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::helpers::{claims, free_port, http_client, latch_bin, Backend, Form, TestDatabase};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_log_or_the_database_in_clear() {
    let db = TestDatabase::new(Backend::Sqlite);
    let master_key = latch::crypto::MasterKey::generate().encode();
    let admin_password = "an admin password of some length";
    let port = free_port();
    let log_path = db.dir.path().join("server.log");
    let out_path = db.dir.path().join("server.out");
    let mut child = Command::new(latch_bin())
        .current_dir(db.dir.path())
        .env_remove("LATCH_CONFIG")
        .env("LATCH_DATABASE", &db.url)
        .env("LATCH_MASTER_KEY", &master_key)
        .env("LATCH_ADMIN_PASSWORD", admin_password)
        .env("LATCH_WORKERS", "2")
        .env("RUST_LOG", "debug")
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = http_client();
    for _ in 0..200 {
        if client
            .get(format!("{base}/health/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let master = latch::crypto::MasterKey::parse(&master_key).unwrap();
    let demo_secret = latch::directory::bootstrap::demo_client_secret(&master);
    let alice_password = latch::directory::bootstrap::demo_password(&master);
    let token_url = format!("{base}/realms/demo/protocol/openid-connect/token");
    let mut secrets: Vec<(String, String)> = vec![
        ("admin password".into(), admin_password.into()),
        ("master key".into(), master_key.clone()),
    ];

    // The administrator: a token, a new user with a password, a new client.
    let admin: Value = client
        .post(format!(
            "{base}/realms/master/protocol/openid-connect/token"
        ))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", "admin"),
            ("password", admin_password),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin_token = admin["access_token"].as_str().unwrap().to_string();
    secrets.push(("admin access token".into(), admin_token.clone()));
    secrets.push((
        "admin refresh token".into(),
        admin["refresh_token"].as_str().unwrap().into(),
    ));
    let carol_password = "carol's very own password";
    secrets.push(("user password".into(), carol_password.into()));
    let created = client
        .post(format!("{base}/admin/realms/demo/users"))
        .bearer_auth(&admin_token)
        .json(&json!({"username": "carol", "credentials": [{"type": "password", "value": carol_password}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let client_rep: Value = client
        .post(format!("{base}/admin/realms/demo/clients"))
        .bearer_auth(&admin_token)
        .json(&json!({"clientId": "svc", "serviceAccountsEnabled": true, "standardFlowEnabled": false}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let svc_secret = client_rep["secret"].as_str().unwrap().to_string();
    secrets.push(("generated client secret".into(), svc_secret.clone()));
    let regenerated: Value = client
        .post(format!(
            "{base}/admin/realms/demo/clients/{}/client-secret",
            client_rep["id"].as_str().unwrap()
        ))
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let svc_secret = regenerated["value"].as_str().unwrap().to_string();
    secrets.push(("regenerated client secret".into(), svc_secret.clone()));

    // A browser sign-in: CSRF token, session cookie, code, tokens.
    let browser = http_client();
    let (verifier, challenge) = crate::helpers::pkce();
    let auth = format!(
        "{base}/realms/demo/protocol/openid-connect/auth?client_id=demo-app&redirect_uri={}&response_type=code&scope=openid%20offline_access&state=s&code_challenge={challenge}&code_challenge_method=S256",
        url::form_urlencoded::byte_serialize(crate::helpers::DEMO_REDIRECT.as_bytes()).collect::<String>()
    );
    let page = browser
        .get(&auth)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = Form::parse(&page)
        .with("username", "alice")
        .with("password", &alice_password);
    secrets.push((
        "CSRF token".into(),
        form.field("csrf_token").unwrap().to_string(),
    ));
    secrets.push(("alice's password".into(), alice_password.clone()));
    let mut response = browser
        .post(format!("{base}{}", form.action))
        .form(&form.fields)
        .send()
        .await
        .unwrap();
    for cookie in response.headers().get_all("set-cookie") {
        let cookie = cookie.to_str().unwrap();
        if let Some(value) = cookie.strip_prefix("LATCH_SESSION=") {
            secrets.push((
                "session cookie".into(),
                value.split(';').next().unwrap().to_string(),
            ));
        }
    }
    if response.status() == 200 {
        let consent = Form::parse(&response.text().await.unwrap()).with("decision", "allow");
        response = browser
            .post(format!("{base}{}", consent.action))
            .form(&consent.fields)
            .send()
            .await
            .unwrap();
    }
    let code = crate::helpers::location_params(&response)["code"].clone();
    secrets.push(("authorization code".into(), code.clone()));
    let tokens: Value = client
        .post(&token_url)
        .basic_auth("demo-app", Some(&demo_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", crate::helpers::DEMO_REDIRECT),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    secrets.push(("PKCE verifier".into(), verifier.clone()));
    for field in ["access_token", "refresh_token", "id_token"] {
        secrets.push((field.into(), tokens[field].as_str().unwrap().to_string()));
    }
    // A refresh, a wrong secret, introspection, revocation.
    let refreshed: Value = client
        .post(&token_url)
        .basic_auth("demo-app", Some(&demo_secret))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    secrets.push((
        "rotated refresh token".into(),
        refreshed["refresh_token"].as_str().unwrap().to_string(),
    ));
    let wrong = "a-wrong-secret-that-must-not-be-logged-0123456789";
    secrets.push(("a wrong client secret".into(), wrong.into()));
    let refused = client
        .post(&token_url)
        .basic_auth("demo-app", Some(wrong))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let service: Value = client
        .post(&token_url)
        .basic_auth("svc", Some(&svc_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    secrets.push((
        "service token".into(),
        service["access_token"].as_str().unwrap().to_string(),
    ));
    let revoke = client
        .post(format!("{base}/realms/demo/protocol/openid-connect/revoke"))
        .basic_auth("demo-app", Some(&demo_secret))
        .form(&[("token", refreshed["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 200);
    assert!(!claims(tokens["access_token"].as_str().unwrap())["jti"].is_null());
    // A wrong password at the login form.
    let page = http_client()
        .get(&auth)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let wrong_password = "Wrong-Password-That-Must-Not-Be-Logged";
    secrets.push(("a wrong user password".into(), wrong_password.into()));
    let form = Form::parse(&page)
        .with("username", "carol")
        .with("password", wrong_password);
    client
        .post(format!("{base}{}", form.action))
        .form(&form.fields)
        .send()
        .await
        .unwrap();

    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let _ = child.kill();
    let _ = child.wait();

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.lines().count() >= 5,
        "the run logged at debug level:\n{log}"
    );
    for (what, secret) in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "the log contains the {what}"
        );
    }
    // Standard output is the start-up banner: the demo's secrets, nothing else.
    let out = std::fs::read_to_string(&out_path).unwrap();
    assert!(
        out.contains(&demo_secret) && out.contains(&alice_password),
        "the banner shows the demo's secrets"
    );
    for (what, secret) in secrets.iter().filter(|(w, _)| w != "alice's password") {
        assert!(
            !out.contains(secret.as_str()),
            "standard output contains the {what}"
        );
    }

    // The database holds none of them in clear, and no usable private key.
    let mut raw = std::fs::read(db.dir.path().join("latch.db")).unwrap();
    if let Ok(wal) = std::fs::read(db.dir.path().join("latch.db-wal")) {
        raw.extend_from_slice(&wal);
    }
    let dump = String::from_utf8_lossy(&raw).to_string();
    for (what, secret) in secrets.iter().filter(|(w, _)| {
        !w.contains("access token")
            && !w.contains("id_token")
            && *w != "access_token"
            && *w != "service token"
    }) {
        assert!(
            !dump.contains(secret.as_str()),
            "the database contains the {what} in clear"
        );
    }
    for (what, secret) in [
        ("demo client secret", demo_secret.as_str()),
        ("alice's password", alice_password.as_str()),
    ] {
        assert!(!dump.contains(secret), "the database contains the {what}");
    }
    assert!(
        !dump.contains("PRIVATE KEY"),
        "a PEM private key is stored in clear"
    );
    // PKCS#8 private keys start with version 0 and the algorithm: RSA
    // (rsaEncryption) or EC (id-ecPublicKey). Sealed keys show neither.
    let rsa_pkcs8: &[u8] = &[
        0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01,
        0x01, 0x05, 0x00, 0x04,
    ];
    let ec_pkcs8: &[u8] = &[
        0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    ];
    for (what, marker) in [("RSA", rsa_pkcs8), ("EC", ec_pkcs8)] {
        assert!(
            !raw.windows(marker.len()).any(|w| w == marker),
            "an unencrypted {what} private key is stored"
        );
    }
}
