use std::time::{Duration, Instant};

use crate::helpers::{spawn_app, stdout, Backend};

async fn cli_rotation_reaches_the_running_server_within_the_poll(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = app.jwks_kids("demo").await;
    assert_eq!(before.len(), 2);

    let output = app.cli(&["keys", "rotate", "--realm", "demo", "--alg", "ES256"]);
    assert!(
        output.status.success(),
        "{}",
        crate::helpers::describe(&output)
    );
    let rotated_at = Instant::now();
    let new_kid = stdout(&output)
        .lines()
        .find_map(|l| l.strip_prefix("new signing key "))
        .expect("new kid printed")
        .to_string();

    let after = loop {
        let kids = app.jwks_kids("demo").await;
        if kids.contains(&new_kid) || rotated_at.elapsed() > Duration::from_secs(3) {
            break kids;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let took = rotated_at.elapsed();
    assert!(
        after.contains(&new_kid),
        "new key never published: {after:?}"
    );
    // The poll interval is 500 ms; allow for the request itself.
    assert!(took < Duration::from_millis(750), "took {took:?}");
    for old in &before {
        assert!(
            after.contains(old),
            "old key {old} must keep verifying until its tokens expire"
        );
    }
    assert_eq!(after.len(), 3);

    // Graceful: the new key is published first and signs only later.
    let listing = stdout(&app.cli(&["keys", "list", "--realm", "demo"]));
    assert_eq!(listing.matches(" next ").count(), 1, "{listing}");
    assert_eq!(listing.matches(" active ").count(), 2, "{listing}");
    let audit = stdout(&app.cli(&["audit", "list", "--realm", "demo"]));
    assert!(
        audit.contains("keys.rotated") && audit.contains(&new_kid),
        "{audit}"
    );
}

async fn realm_created_by_cli_is_served_without_restart(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(
        app.get("/realms/acme/protocol/openid-connect/certs")
            .await
            .status(),
        404
    );
    let output = app.cli(&["realm", "create", "acme"]);
    assert!(
        output.status.success(),
        "{}",
        crate::helpers::describe(&output)
    );
    assert_eq!(app.jwks_kids("acme").await.len(), 2);
}

async fn eddsa_keys_can_be_added(backend: Backend) {
    let app = spawn_app(backend).await;
    let output = app.cli(&["keys", "rotate", "--realm", "demo", "--alg", "EdDSA"]);
    assert!(
        output.status.success(),
        "{}",
        crate::helpers::describe(&output)
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    let body: serde_json::Value = app
        .get("/realms/demo/protocol/openid-connect/certs")
        .await
        .json()
        .await
        .unwrap();
    let okp = body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["alg"] == "EdDSA")
        .expect("EdDSA key published");
    assert_eq!(okp["kty"], "OKP");
    assert_eq!(okp["crv"], "Ed25519");
}

crate::both_backends!(
    cli_rotation_reaches_the_running_server_within_the_poll,
    realm_created_by_cli_is_served_without_restart,
    eddsa_keys_can_be_added,
    realm_settings_change_through_the_cli,
    rotation_without_a_stage_retires_the_old_key,
);

async fn realm_settings_change_through_the_cli(backend: Backend) {
    let app = spawn_app(backend).await;
    let output = app.cli(&[
        "realm",
        "update",
        "demo",
        "--access-token-lifetime",
        "60",
        "--refresh-grace-ms",
        "1500",
    ]);
    assert!(
        output.status.success(),
        "{}",
        crate::helpers::describe(&output)
    );
    assert!(stdout(&output).contains("access 60 s"));
    tokio::time::sleep(Duration::from_millis(700)).await;
    let token = app.service_token().await;
    let claims = crate::helpers::claims(&token);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        60
    );

    let refused = app.cli(&["realm", "update", "demo", "--access-token-lifetime", "0"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(crate::helpers::stderr(&refused).contains("access token lifetime must be positive"));
}

/// With no stage time a rotated key signs at once, and the key it replaces
/// moves to retiring (verifying until its tokens expire) instead of staying
/// active for ever.
async fn rotation_without_a_stage_retires_the_old_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let updated = app.cli(&["realm", "update", "demo", "--key-stage", "0"]);
    assert!(
        updated.status.success(),
        "{}",
        crate::helpers::describe(&updated)
    );
    let rotated = app.cli(&["keys", "rotate", "--realm", "demo", "--alg", "ES256"]);
    assert!(
        rotated.status.success(),
        "{}",
        crate::helpers::describe(&rotated)
    );
    let new_kid = stdout(&rotated)
        .lines()
        .find_map(|l| l.strip_prefix("new signing key "))
        .expect("new kid printed")
        .to_string();
    let listing = stdout(&app.cli(&["keys", "list", "--realm", "demo"]));
    let es256: Vec<&str> = listing.lines().filter(|l| l.contains(" ES256 ")).collect();
    let active: Vec<&&str> = es256.iter().filter(|l| l.contains(" active ")).collect();
    assert_eq!(active.len(), 1, "{listing}");
    assert!(active[0].starts_with(&new_kid), "{listing}");
    assert_eq!(
        es256.iter().filter(|l| l.contains(" retiring ")).count(),
        1,
        "{listing}"
    );
    // New tokens are signed by the new key once the server has read the log.
    let started = Instant::now();
    loop {
        let token = app.service_token().await;
        if crate::helpers::header(&token)["kid"] == new_kid.as_str() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "never signed by {new_kid}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
