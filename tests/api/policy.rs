//! The realm's password policy, on every path that sets a password:
//! creation and reset through the admin API, the CLI, the temporary-password
//! step at sign-in and the account page — with messages a user understands.

use serde_json::{json, Value};

use crate::helpers::{Backend, Form};

fn refused(result: &(u16, Value), field: &str, words: &str) {
    assert_eq!(result.0, 422, "{}", result.1);
    assert_eq!(result.1["field"], field, "{}", result.1);
    let message = result.1["error_description"].as_str().unwrap();
    assert!(message.contains(words), "{message}");
}

async fn every_way_of_setting_a_password_follows_the_policy(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let post = reqwest::Method::POST;
    // The default: at least 8 characters, not the username, not a common one.
    let (_, realm) = app.admin(reqwest::Method::GET, "/demo", Value::Null).await;
    assert_eq!(
        realm["passwordPolicy"],
        "length(8) and notUsername and notCommon"
    );
    let create = |username: &str, password: &str| json!({"username": username, "credentials": [{"type": "password", "value": password}]});
    refused(
        &app.admin(post.clone(), "/demo/users", create("bob", "short"))
            .await,
        "credentials",
        "at least 8",
    );
    refused(
        &app.admin(
            post.clone(),
            "/demo/users",
            create("bobbybobby", "BobbyBobby"),
        )
        .await,
        "credentials",
        "username",
    );
    refused(
        &app.admin(post.clone(), "/demo/users", create("bob", "Password123"))
            .await,
        "credentials",
        "most used",
    );
    assert_eq!(
        app.admin(
            post.clone(),
            "/demo/users",
            create("bob", "a sound first one")
        )
        .await
        .0,
        201
    );

    // A stricter policy, in Keycloak's syntax.
    let put = reqwest::Method::PUT;
    refused(
        &app.admin(
            put.clone(),
            "/demo",
            json!({"passwordPolicy": "upperCase(2)"}),
        )
        .await,
        "passwordPolicy",
        "unknown policy",
    );
    let (status, _) = app.admin(put.clone(),
        "/demo",
        json!({"passwordPolicy": "length(12) and notUsername(undefined) and passwordHistory(2)"}),
    )
    .await;
    assert_eq!(status, 204);
    let (_, realm) = app.admin(reqwest::Method::GET, "/demo", Value::Null).await;
    assert_eq!(
        realm["passwordPolicy"],
        "length(12) and notUsername and passwordHistory(2)"
    );

    // An administrator's reset: length, then history.
    let (_, users) = app
        .admin(
            reqwest::Method::GET,
            "/demo/users?username=bob&exact=true",
            Value::Null,
        )
        .await;
    let bob = users[0]["id"].as_str().unwrap().to_string();
    let reset = |value: &str| json!({"type": "password", "value": value, "temporary": false});
    refused(
        &app.admin(
            put.clone(),
            &format!("/demo/users/{bob}/reset-password"),
            reset("eleven char"),
        )
        .await,
        "value",
        "at least 12",
    );
    refused(
        &app.admin(
            put.clone(),
            &format!("/demo/users/{bob}/reset-password"),
            reset("a sound first one"),
        )
        .await,
        "value",
        "used this password recently",
    );
    assert_eq!(
        app.admin(
            put.clone(),
            &format!("/demo/users/{bob}/reset-password"),
            reset("the second sound one")
        )
        .await
        .0,
        204
    );
    assert_eq!(
        app.admin(
            put.clone(),
            &format!("/demo/users/{bob}/reset-password"),
            reset("a third sound password")
        )
        .await
        .0,
        204
    );
    // Two changes later the first one may come back (history of 2).
    assert_eq!(
        app.admin(
            put.clone(),
            &format!("/demo/users/{bob}/reset-password"),
            reset("a sound first one")
        )
        .await
        .0,
        204
    );

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
        "too short\n",
    );
    assert!(!output.status.success());
    assert!(
        crate::helpers::stderr(&output).contains("at least 12"),
        "{}",
        crate::helpers::describe(&output)
    );
    let output = app.cli_with_stdin(
        &[
            "user",
            "set-password",
            "--realm",
            "demo",
            "--username",
            "bob",
        ],
        "a third sound password\n",
    );
    assert!(
        !output.status.success(),
        "the history holds for the CLI too"
    );
    assert!(
        crate::helpers::stderr(&output).contains("used this password recently"),
        "{}",
        crate::helpers::describe(&output)
    );

    // The temporary-password step at sign-in.
    assert_eq!(
        app.admin(
            put.clone(),
            &format!("/demo/users/{bob}/reset-password"),
            json!({"type": "password", "value": "helpdesk gave this", "temporary": true})
        )
        .await
        .0,
        204
    );
    let browser = app.browser();
    let (url, _) = app.demo_auth_url("openid", &[]);
    let step = app
        .sign_in(&browser, &url, "bob", "helpdesk gave this")
        .await
        .text()
        .await
        .unwrap();
    let form = Form::parse(&step);
    let short = app
        .submit(
            &browser,
            form.clone()
                .with("password-new", "bob")
                .with("password-confirm", "bob"),
        )
        .await;
    assert!(short.text().await.unwrap().contains("at least 12"));
    let fine = app
        .submit(
            &browser,
            form.with("password-new", "bob chose this one")
                .with("password-confirm", "bob chose this one"),
        )
        .await;
    assert_eq!(fine.status(), 303);

    // The account page.
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
        .with("password-new", "Bob")
        .with("password-confirm", "Bob");
    let response = app.submit(&browser, change).await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("at least 12"));
}

crate::both_backends!(every_way_of_setting_a_password_follows_the_policy);
