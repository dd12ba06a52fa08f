//! The Token Status List, decoded independently (zlib + bit index), flips
//! for every way a token can be taken back.

use std::io::Read;
use std::time::Duration;

use crate::helpers::{claims, header, spawn_app, Backend, TestApp};

/// The token's status bit as a relying party would read it.
async fn status_bit(app: &TestApp, token: &str) -> bool {
    let status = &claims(token)["status"]["status_list"];
    let (idx, uri) = (
        status["idx"].as_u64().unwrap() as usize,
        status["uri"].as_str().unwrap(),
    );
    assert!(uri.starts_with(&app.issuer("demo")));
    bit_at(app, uri, idx).await
}

async fn bit_at(app: &TestApp, uri: &str, idx: usize) -> bool {
    bit_from(app, uri, uri, idx).await
}

/// The bit at `idx` of the list fetched from `url`, whose `sub` is `uri`.
async fn bit_from(app: &TestApp, url: &str, uri: &str, idx: usize) -> bool {
    let response = app
        .client
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/statuslist+jwt"
    );
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert!(response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age="));
    let jwt = response.text().await.unwrap();
    assert_eq!(header(&jwt)["typ"], "statuslist+jwt");
    let list = claims(&jwt);
    assert_eq!(list["sub"], uri);
    assert!(list["ttl"].as_i64().unwrap() > 0 && list["iat"].is_i64() && list["exp"].is_i64());
    assert_eq!(list["status_list"]["bits"], 1);
    use base64::Engine;
    let compressed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(list["status_list"]["lst"].as_str().unwrap())
        .unwrap();
    let mut bytes = Vec::new();
    flate2::read::ZlibDecoder::new(&compressed[..])
        .read_to_end(&mut bytes)
        .unwrap();
    assert!(
        idx / 8 < bytes.len(),
        "index {idx} outside a list of {} bytes",
        bytes.len()
    );
    bytes[idx / 8] & (1 << (idx % 8)) != 0
}

async fn every_kind_of_revocation_flips_the_bit(backend: Backend) {
    let app = spawn_app(backend).await;
    let poll = Duration::from_millis(750);

    let direct = app.service_token().await;
    assert!(!status_bit(&app, &direct).await);
    assert_eq!(app.revoke(&direct, None).await.status(), 200);
    assert!(
        status_bit(&app, &direct).await,
        "revoked jti: on the very next GET"
    );

    let tokens = app.alice_tokens("openid").await;
    let by_session = tokens["access_token"].as_str().unwrap();
    assert!(!status_bit(&app, by_session).await);
    let logout = format!(
        "{}/protocol/openid-connect/logout?id_token_hint={}",
        app.issuer("demo"),
        tokens["id_token"].as_str().unwrap()
    );
    app.browser().get(&logout).send().await.unwrap();
    assert!(status_bit(&app, by_session).await, "ended session");

    let by_user = app.alice_tokens("openid").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!status_bit(&app, &by_user).await);
    assert!(app
        .cli(&[
            "user",
            "logout-all",
            "--realm",
            "demo",
            "--username",
            "alice"
        ])
        .status
        .success());
    tokio::time::sleep(poll).await;
    assert!(
        status_bit(&app, &by_user).await,
        "user logged out everywhere"
    );

    let by_client = app.service_token().await;
    assert!(!status_bit(&app, &by_client).await);
    assert!(app
        .cli(&[
            "client",
            "revoke-tokens",
            "--realm",
            "demo",
            "--client-id",
            "demo-app"
        ])
        .status
        .success());
    tokio::time::sleep(poll).await;
    assert!(status_bit(&app, &by_client).await, "client cut-off");

    let by_realm = app.service_token().await;
    assert!(!status_bit(&app, &by_realm).await);
    assert!(app.cli(&["realm", "logout-all", "demo"]).status.success());
    tokio::time::sleep(poll).await;
    assert!(status_bit(&app, &by_realm).await, "realm cut-off");

    let untouched = app.service_token().await;
    assert!(
        !status_bit(&app, &untouched).await,
        "a new token is not shown revoked"
    );
}

/// A node killed before writing its index map: the indices of its block
/// that no recorded token holds read as revoked once it is known gone.
async fn a_crashed_nodes_unrecorded_indices_fail_closed(backend: Backend) {
    use crate::helpers::{free_port, spawn_process, TestDatabase};
    let db = TestDatabase::new(backend);
    let key = latch::crypto::MasterKey::generate().encode();
    let port = free_port();
    let app = spawn_process(db, &key, port).await;
    let token = app.service_token().await;
    let status = claims(&token)["status"]["status_list"].clone();
    let (idx, uri) = (
        status["idx"].as_u64().unwrap() as usize,
        status["uri"].as_str().unwrap().to_string(),
    );
    let db = app.kill();
    let app = spawn_process(db, &key, port).await;
    assert!(
        !bit_at(&app, &uri, idx + 1).await,
        "not yet known to be gone"
    );
    tokio::time::sleep(Duration::from_millis(7_000)).await;
    assert!(
        bit_at(&app, &uri, idx + 1).await,
        "never handed out, never recorded: revoked"
    );
    let fresh = app.service_token().await;
    assert!(
        !status_bit(&app, &fresh).await,
        "the new node's tokens are unaffected"
    );
}

/// Concurrent issuance shares blocks: every index is distinct and none is wasted.
async fn concurrent_tokens_get_distinct_dense_indices(backend: Backend) {
    let app = std::sync::Arc::new(spawn_app(backend).await);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let mut idx = Vec::new();
            for _ in 0..300 {
                let token = app.service_token().await;
                idx.push(
                    claims(&token)["status"]["status_list"]["idx"]
                        .as_u64()
                        .unwrap(),
                );
            }
            idx
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let distinct: std::collections::HashSet<u64> = all.iter().copied().collect();
    assert_eq!(distinct.len(), 2400, "every token has its own index");
    assert!(
        *all.iter().max().unwrap() < 3 * 1024,
        "no reserved block was wasted"
    );
}

crate::both_backends!(
    concurrent_tokens_get_distinct_dense_indices,
    every_kind_of_revocation_flips_the_bit,
    a_crashed_nodes_unrecorded_indices_fail_closed
);

/// Three nodes on one PostgreSQL database; the first reaches it through a
/// relay the test can cut. Returns (relayed node, two others, relay).
async fn three_nodes_one_relayed() -> (TestApp, TestApp, TestApp, crate::helpers::Relay) {
    use crate::helpers::{free_port, postgres_admin_url, spawn_process_with, Relay, TestDatabase};
    let db = TestDatabase::new(Backend::Postgres);
    let key = latch::crypto::MasterKey::generate().encode();
    let admin = url::Url::parse(&postgres_admin_url()).unwrap();
    let relay = Relay::to(&format!(
        "{}:{}",
        admin.host_str().unwrap(),
        admin.port().unwrap_or(5432)
    ))
    .await;
    let mut relayed = url::Url::parse(&db.url).unwrap();
    relayed.set_port(Some(relay.port)).unwrap();
    let ports = [free_port(), free_port(), free_port()];
    let base = format!("http://127.0.0.1:{}", ports[0]);
    let a = spawn_process_with(
        db.shared(),
        &key,
        ports[0],
        &[
            ("LATCH_DATABASE", relayed.as_str()),
            ("LATCH_PUBLIC_BASE", &base),
        ],
    )
    .await;
    let b = spawn_process_with(db.shared(), &key, ports[1], &[("LATCH_PUBLIC_BASE", &base)]).await;
    let c = spawn_process_with(db, &key, ports[2], &[("LATCH_PUBLIC_BASE", &base)]).await;
    (a, b, c, relay)
}

/// The bit of `token` in the list as `app` serves it (the token's own
/// list URI names the cluster's public base; the list is read from `app`).
async fn bit_on(app: &TestApp, token: &str) -> bool {
    let status = &claims(token)["status"]["status_list"];
    let idx = status["idx"].as_u64().unwrap() as usize;
    let uri = status["uri"].as_str().unwrap();
    let list = uri.rsplit('/').next().unwrap();
    let url = format!(
        "{}/protocol/openid-connect/status-list/{list}",
        app.issuer("demo")
    );
    bit_from(app, &url, uri, idx).await
}

async fn until_bit(app: &TestApp, token: &str, want: bool, within: Duration) -> bool {
    let deadline = std::time::Instant::now() + within;
    loop {
        if bit_on(app, token).await == want {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A token minted by a node cut off from the database (its slot cannot be
/// written) and revoked on another node reads revoked on every node's list
/// — at once where it was revoked and on a third node, and on the minting
/// node once the database is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_minted_during_an_outage_and_revoked_elsewhere_is_revoked_in_every_list() {
    let (a, b, c, relay) = three_nodes_one_relayed().await;
    a.service_token().await; // a holds a block of indices
    relay.cut();
    let token = a.service_token().await;
    assert_eq!(b.revoke(&token, None).await.status(), 200);
    assert!(
        until_bit(&b, &token, true, Duration::from_secs(2)).await,
        "on the revoking node"
    );
    assert!(
        until_bit(&c, &token, true, Duration::from_secs(3)).await,
        "on a third node"
    );
    relay.restore();
    assert!(
        until_bit(&a, &token, true, Duration::from_secs(10)).await,
        "on the minting node, once it reaches the database"
    );
    assert!(!a.active(&token).await);
}

/// A node killed before it could write a slot: the index reads revoked
/// (fail closed) once the node is known gone — until the token is shown to
/// any node, which proves it valid and clears the bit everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_token_of_a_vanished_node_reads_valid_once_presented() {
    let (a, b, c, relay) = three_nodes_one_relayed().await;
    a.service_token().await;
    relay.cut();
    let token = a.service_token().await;
    drop(a.kill());
    relay.restore();
    assert!(
        until_bit(&b, &token, true, Duration::from_secs(12)).await,
        "fails closed once the node is known gone"
    );
    assert!(c.active(&token).await, "the token itself is valid");
    assert!(
        until_bit(&c, &token, false, Duration::from_secs(2)).await,
        "cleared where shown"
    );
    assert!(
        until_bit(&b, &token, false, Duration::from_secs(3)).await,
        "and on the others"
    );
}
