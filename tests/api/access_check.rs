//! The access check belongs to each server: its settings are its own, even
//! with several servers in one process (as in these tests, or an embedder's).

use serde_json::json;

use crate::attacks::{es256_header, sign_with_realm_key};
use crate::helpers::{claims, spawn_app_with, Backend, TestApp};

/// A genuine token of the server, re-signed with `iat` 20 seconds ahead, as
/// a node whose clock runs ahead would issue it.
async fn issued_20s_ahead(app: &TestApp) -> String {
    let mut ahead = claims(&app.service_token().await);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    ahead["iat"] = json!(now + 20);
    sign_with_realm_key(app, "demo", es256_header(), ahead).await
}

async fn two_servers_keep_their_leeway(backend: Backend) {
    // Started one after the other: a leeway shared by the process would be
    // the last one set, and one of the two servers would be wrong.
    let lenient = spawn_app_with(backend, |s| s.clock_leeway_s = 30).await;
    let strict = spawn_app_with(backend, |s| s.clock_leeway_s = 0).await;
    let for_lenient = issued_20s_ahead(&lenient).await;
    let for_strict = issued_20s_ahead(&strict).await;
    assert!(
        lenient.active(&for_lenient).await,
        "30 s of leeway forgives an iat 20 s ahead"
    );
    assert!(
        !strict.active(&for_strict).await,
        "no leeway refuses an iat 20 s ahead"
    );
    assert!(
        strict.active(&strict.service_token().await).await,
        "the strict server accepts its own fresh tokens"
    );
    // Asked again after both have served: each still holds its own.
    assert!(lenient.active(&for_lenient).await);
    assert!(!strict.active(&for_strict).await);
}

crate::both_backends!(two_servers_keep_their_leeway);
