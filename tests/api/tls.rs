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
}
