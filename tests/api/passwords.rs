//! Setting a password is one operation behind every front door: a reused
//! password (`passwordHistory`) is refused in the same words by the admin
//! API, the CLI, the temporary-password step and the account page, and the
//! check runs on the hashing pool whoever asks.

use latch::error::Error;
use latch::ids::RealmName;
use latch::login::password_pool::PasswordPool;
use latch::operations::credentials::{set_password, PasswordChange};
use latch::operations::users::UserRef;
use latch::operations::Actor;
use serde_json::{json, Value};

use crate::helpers::{describe, stderr, test_settings, Backend, Form, TestApp};

/// What every front door says about a password used in the last two changes.
const REUSED: &str =
    "You used this password recently. Choose one you have not used for your last 2 changes.";

/// A realm whose policy keeps two passwords, and bob, whose id is returned.
async fn bob_with_history(app: &TestApp, password: &str) -> String {
    let policy = json!({"passwordPolicy": "length(8) and notUsername and passwordHistory(2)"});
    let (status, body) = app.admin(reqwest::Method::PUT, "/demo", policy).await;
    assert_eq!(status, 204, "{body}");
    let bob = json!({"username": "bob", "credentials": [{"type": "password", "value": password}]});
    let (status, body) = app.admin(reqwest::Method::POST, "/demo/users", bob).await;
    assert_eq!(status, 201, "{body}");
    let (_, users) = app
        .admin(
            reqwest::Method::GET,
            "/demo/users?username=bob&exact=true",
            Value::Null,
        )
        .await;
    users[0]["id"].as_str().unwrap().to_string()
}

async fn reset(app: &TestApp, bob: &str, value: &str, temporary: bool) -> (u16, Value) {
    let body = json!({"type": "password", "value": value, "temporary": temporary});
    let path = format!("/demo/users/{bob}/reset-password");
    app.admin(reqwest::Method::PUT, &path, body).await
}

async fn a_reused_password_is_refused_in_the_same_words_everywhere(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let bob = bob_with_history(&app, "bob's first password").await;

    // The admin API.
    let (status, body) = reset(&app, &bob, "bob's first password", false).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "value");
    assert_eq!(body["error_description"], REUSED);

    // The CLI.
    let output = app.cli_with_stdin(
        &[
            "user",
            "set-password",
            "--realm",
            "demo",
            "--username",
            "bob",
        ],
        "bob's first password\n",
    );
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(stderr(&output).contains(REUSED), "{}", describe(&output));

    // The step after a temporary password: the history now holds the
    // temporary one and the first.
    assert_eq!(reset(&app, &bob, "helpdesk gave this", true).await.0, 204);
    let browser = app.browser();
    let (url, _) = app.demo_auth_url("openid", &[]);
    let step = app
        .sign_in(&browser, &url, "bob", "helpdesk gave this")
        .await
        .text()
        .await
        .unwrap();
    let form = Form::parse(&step);
    let again = |password: &str| {
        form.clone()
            .with("password-new", password)
            .with("password-confirm", password)
    };
    let refused = app.submit(&browser, again("bob's first password")).await;
    assert!(refused.text().await.unwrap().contains(REUSED));
    let chosen = app.submit(&browser, again("bob chose this one")).await;
    assert_eq!(chosen.status(), 303);

    // The account page: the temporary password is one of the last two.
    let page = browser
        .get(app.url("/realms/demo/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let change = Form::having(&page, "action", "change-password")
        .with("current", "bob chose this one")
        .with("password-new", "helpdesk gave this")
        .with("password-confirm", "helpdesk gave this");
    let response = app.submit(&browser, change).await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains(REUSED));
}

/// The command line runs `set_password` on a handle of its own
/// (`operations::blocking`); the check and the hashing go through that
/// handle's pool, so a saturated pool turns the operation away at once
/// instead of hashing on the caller's thread.
async fn setting_a_password_waits_for_a_place_on_the_hashing_pool(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    bob_with_history(&app, "bob's first password").await;
    let settings = test_settings(&app.db, &app.master_key);
    let mut latch = latch::app::Latch::for_tool(settings).await.unwrap();
    latch.password_pool = PasswordPool::new(1, 0);
    let (realm, bob) = (
        RealmName::from("demo"),
        UserRef::Username("bob".to_string()),
    );
    let set = |password: &str| {
        let change = PasswordChange::Reset { temporary: false };
        set_password(
            &latch,
            &Actor::Cli,
            &realm,
            &bob,
            password.to_string(),
            change,
        )
    };

    let place = latch.password_pool.reserve().unwrap();
    match set("bob's second password").await {
        Err(Error::Unavailable(words)) => assert!(words.contains("try again"), "{words}"),
        other => panic!("the pool is full, yet: {other:?}"),
    }
    drop(place);
    match set("bob's first password").await {
        Err(Error::Invalid(words)) => assert_eq!(words, REUSED),
        other => panic!("expected the history's refusal: {other:?}"),
    }
    let done = set("bob's second password").await.unwrap();
    assert_eq!(done.user.username, "bob");
}

crate::both_backends!(
    a_reused_password_is_refused_in_the_same_words_everywhere,
    setting_a_password_waits_for_a_place_on_the_hashing_pool,
);
