use openidconnect::core::CoreProviderMetadata;
use openidconnect::IssuerUrl;

use crate::helpers::{spawn_app, Backend};

async fn relying_party_discovers_the_demo_realm(backend: Backend) {
    let app = spawn_app(backend).await;
    let issuer = app.issuer("demo");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.clone()).unwrap(), &http)
            .await
            .expect("openidconnect discovers the realm and its JWKS");

    assert_eq!(metadata.issuer().as_str(), issuer);
    assert_eq!(
        metadata.jwks_uri().as_str(),
        format!("{issuer}/protocol/openid-connect/certs")
    );
    assert_eq!(metadata.jwks().keys().len(), 2, "an ES256 and an RS256 key");
    assert!(metadata.token_endpoint().is_some());
}

async fn jwks_keys_carry_kid_kty_alg_use_and_caching(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.get("/realms/demo/protocol/openid-connect/certs").await;
    assert_eq!(response.status(), 200);
    let cache = response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cache.contains("max-age="), "{cache}");
    let body: serde_json::Value = response.json().await.unwrap();
    let keys = body["keys"].as_array().unwrap();
    let mut algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    algs.sort();
    assert_eq!(algs, ["ES256", "RS256"]);
    for key in keys {
        assert!(key["kid"].is_string() && key["kty"].is_string());
        assert_eq!(key["use"], "sig");
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(
                key.get(private).is_none(),
                "private part {private} published"
            );
        }
    }
}

async fn unknown_realm_is_a_json_404(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in [
        "/realms/nowhere/.well-known/openid-configuration",
        "/realms/nowhere/protocol/openid-connect/certs",
        "/realms/bad%20name/protocol/openid-connect/certs",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "not_found");
        assert!(body["error_description"]
            .as_str()
            .unwrap()
            .contains("not found"));
    }
}

async fn health_and_metrics_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.get("/health/live").await.status(), 200);
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["database"], "UP");

    app.get("/realms/demo/protocol/openid-connect/certs").await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains(
        r#"latch_http_requests_total{method="GET",route="/realms/{realm}/protocol/openid-connect/certs",status="200"} 1"#
    ), "{metrics}");
    assert!(metrics.contains("latch_http_request_duration_seconds_bucket"));
}

crate::both_backends!(
    relying_party_discovers_the_demo_realm,
    jwks_keys_carry_kid_kty_alg_use_and_caching,
    unknown_realm_is_a_json_404,
    health_and_metrics_answer,
);
