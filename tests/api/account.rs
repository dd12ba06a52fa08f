//! Browser pages over plain HTTP: the temporary-password step of the login
//! flow, the account page, and the admin console's sign-in and actions.
//! (The same journeys in a real Chromium are in `browser.rs`.)

use serde_json::{json, Value};

use crate::helpers::{claims, follow, location, Backend, Form, TestApp};

/// Opens `path`; when a login page comes, signs in; returns the final page.
async fn open_signed_in(
    app: &TestApp,
    browser: &reqwest::Client,
    path: &str,
    username: &str,
    password: &str,
) -> String {
    let page = follow(
        app,
        browser,
        browser.get(app.url(path)).send().await.unwrap(),
    )
    .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    if !html.contains("name=\"password\"") || !html.contains("login-actions/authenticate") {
        return html;
    }
    let form = Form::parse(&html)
        .with("username", username)
        .with("password", password);
    let response = app.submit(browser, form).await;
    let page = follow(app, browser, response).await;
    assert_eq!(page.status(), 200);
    page.text().await.unwrap()
}

async fn admin(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> reqwest::Response {
    app.client
        .request(method, app.url(&format!("/admin/realms{path}")))
        .bearer_auth(app.admin_token().await)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn alice_id(app: &TestApp) -> String {
    let users: Value = admin(
        app,
        reqwest::Method::GET,
        "/demo/users?username=alice&exact=true",
        json!(null),
    )
    .await
    .json()
    .await
    .unwrap();
    users[0]["id"].as_str().unwrap().to_string()
}

fn session_ids(html: &str) -> Vec<String> {
    html.split("data-session=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect()
}

// ---- the temporary password step ------------------------------------------

async fn a_temporary_password_is_replaced_at_sign_in(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let id = alice_id(&app).await;
    let reset = admin(
        &app,
        reqwest::Method::PUT,
        &format!("/demo/users/{id}/reset-password"),
        json!({"type": "password", "value": "given by the helpdesk", "temporary": true}),
    )
    .await;
    assert_eq!(reset.status(), 204);

    let browser = app.browser();
    let (url, verifier) = app.demo_auth_url("openid", &[]);
    let step = app
        .sign_in(&browser, &url, "alice", "given by the helpdesk")
        .await;
    assert_eq!(step.status(), 200);
    let html = step.text().await.unwrap();
    assert!(html.contains("Choose a new password"), "{html}");
    let form = Form::parse(&html);
    assert!(form.action.ends_with("/login-actions/required-action"));

    let mismatch = app
        .submit(
            &browser,
            form.clone()
                .with("password-new", "one new password")
                .with("password-confirm", "another"),
        )
        .await;
    assert_eq!(mismatch.status(), 200);
    assert!(mismatch.text().await.unwrap().contains("do not match"));
    let same = app
        .submit(
            &browser,
            form.clone()
                .with("password-new", "given by the helpdesk")
                .with("password-confirm", "given by the helpdesk"),
        )
        .await;
    assert!(same
        .text()
        .await
        .unwrap()
        .contains("different from the temporary one"));
    let forged = app
        .submit(
            &browser,
            form.clone()
                .with("pending", "forged")
                .with("password-new", "x")
                .with("password-confirm", "x"),
        )
        .await;
    assert_eq!(forged.status(), 400);
    let no_csrf = app
        .submit(
            &browser,
            form.clone()
                .without("csrf_token")
                .with("password-new", "x")
                .with("password-confirm", "x"),
        )
        .await;
    assert_eq!(no_csrf.status(), 403);

    let done = app
        .submit(
            &browser,
            form.with("password-new", "alice's own choice")
                .with("password-confirm", "alice's own choice"),
        )
        .await;
    assert_eq!(done.status(), 303);
    let params = crate::helpers::location_params(&done);
    let tokens = app.redeem(&params["code"], &verifier).await;
    app.assert_accepted(tokens["access_token"].as_str().unwrap())
        .await;

    let user: Value = admin(
        &app,
        reqwest::Method::GET,
        &format!("/demo/users/{id}"),
        json!(null),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(user["requiredActions"], json!([]));
    let (url, _) = app.demo_auth_url("openid", &[]);
    let old = app
        .sign_in(&app.browser(), &url, "alice", "given by the helpdesk")
        .await;
    assert!(old
        .text()
        .await
        .unwrap()
        .contains("Wrong username or password"));
    let (url, _) = app.demo_auth_url("openid", &[]);
    assert_eq!(
        app.sign_in(&app.browser(), &url, "alice", "alice's own choice")
            .await
            .status(),
        303
    );
}

// ---- the account page ---------------------------------------------------

async fn the_account_page_signs_out_devices(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let password = app.alice_password();
    let laptop = app.browser();
    let page = open_signed_in(&app, &laptop, "/realms/demo/account", "alice", &password).await;
    assert!(page.contains("Where you're signed in"), "{page}");
    assert_eq!(session_ids(&page).len(), 1);
    assert!(page.contains("This device"));

    // A phone signs in to demo-app (and has tokens); a tablet too.
    let phone = app.browser();
    let (code, verifier) = app.demo_code(&phone, "openid").await;
    let phone_tokens = app.redeem(&code, &verifier).await;
    let phone_access = phone_tokens["access_token"].as_str().unwrap().to_string();
    let phone_sid = claims(&phone_access)["sid"].as_str().unwrap().to_string();
    let tablet = app.browser();
    open_signed_in(&app, &tablet, "/realms/demo/account", "alice", &password).await;

    let page = follow(
        &app,
        &laptop,
        laptop
            .get(app.url("/realms/demo/account"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .text()
    .await
    .unwrap();
    let ids = session_ids(&page);
    assert_eq!(ids.len(), 3, "{page}");
    assert!(page.contains("demo-app"), "the phone's app is listed");

    // Sign the phone out from the laptop.
    let form = Form::having(&page, "session", &phone_sid);
    assert_eq!(
        app.submit(&laptop, form.clone().without("csrf_token"))
            .await
            .status(),
        403
    );
    let done = app.submit(&laptop, form).await;
    assert_eq!(done.status(), 303);
    assert!(location(&done).ends_with("done=signed-out-device"));
    app.assert_rejected(&phone_access).await;
    assert_eq!(
        app.refresh(phone_tokens["refresh_token"].as_str().unwrap())
            .await
            .status(),
        400
    );
    let phone_page = phone
        .get(app.url("/realms/demo/account"))
        .send()
        .await
        .unwrap();
    assert_eq!(phone_page.status(), 303, "the phone must sign in again");
    assert!(location(&phone_page).contains("/protocol/openid-connect/auth"));

    // Another user's session cannot be ended from here.
    let page = laptop
        .get(app.url("/realms/demo/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let forged = Form::having(&page, "action", "end-others")
        .with("action", "end-session")
        .with("session", "someone-else");
    assert_eq!(app.submit(&laptop, forged).await.status(), 400);

    // Sign out everywhere else: the tablet goes, the laptop stays.
    let done = app
        .submit(&laptop, Form::having(&page, "action", "end-others"))
        .await;
    assert_eq!(done.status(), 303);
    let tablet_page = tablet
        .get(app.url("/realms/demo/account"))
        .send()
        .await
        .unwrap();
    assert_eq!(tablet_page.status(), 303);
    let page = laptop
        .get(app.url("/realms/demo/account"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert_eq!(session_ids(&page).len(), 1);

    // Change the password: wrong current one, then right; other devices go.
    let desktop = app.browser();
    open_signed_in(&app, &desktop, "/realms/demo/account", "alice", &password).await;
    let form = Form::having(&page, "action", "change-password");
    let wrong = app
        .submit(
            &laptop,
            form.clone()
                .with("current", "nope")
                .with("password-new", "a brand new one")
                .with("password-confirm", "a brand new one"),
        )
        .await;
    assert_eq!(wrong.status(), 422);
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("current password is wrong"));
    let mismatch = app
        .submit(
            &laptop,
            form.clone()
                .with("current", &password)
                .with("password-new", "a brand new one")
                .with("password-confirm", "other"),
        )
        .await;
    assert_eq!(mismatch.status(), 422);
    let done = app
        .submit(
            &laptop,
            form.with("current", &password)
                .with("password-new", "a brand new one")
                .with("password-confirm", "a brand new one"),
        )
        .await;
    assert_eq!(done.status(), 303);
    assert_eq!(
        desktop
            .get(app.url("/realms/demo/account"))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    assert_eq!(
        laptop
            .get(app.url("/realms/demo/account"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let (url, _) = app.demo_auth_url("openid", &[]);
    assert_eq!(
        app.sign_in(&app.browser(), &url, "alice", "a brand new one")
            .await
            .status(),
        303
    );

    // Signing out here ends this session too.
    let page = laptop
        .get(app.url("/realms/demo/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let done = app
        .submit(&laptop, Form::having(&page, "action", "sign-out"))
        .await;
    assert_eq!(done.status(), 303);
    assert_eq!(
        laptop
            .get(app.url("/realms/demo/account"))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
}

// ---- the admin console --------------------------------------------------

async fn the_console_signs_in_with_oidc_and_ends_sessions(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let operator = app.browser();
    let admin_password = app.admin_password.clone().unwrap();
    let first = operator
        .get(app.url("/admin/console"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 303);
    let to = location(&first);
    assert!(
        to.contains("/realms/master/protocol/openid-connect/auth"),
        "{to}"
    );
    assert!(
        to.contains("client_id=security-admin-console")
            && to.contains("code_challenge_method=S256")
    );
    let html = open_signed_in(&app, &operator, "/admin/console", "admin", &admin_password).await;
    assert!(html.contains("<h1>Realms</h1>"), "{html}");
    assert!(html.contains("/admin/console/realms/demo"));

    // Alice signs in; her session shows up; the operator ends it.
    let alice = app.alice_tokens("openid").await;
    let access = alice["access_token"].as_str().unwrap().to_string();
    let sid = claims(&access)["sid"].as_str().unwrap().to_string();
    let page = operator
        .get(app.url("/admin/console/realms/demo/sessions"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(session_ids(&page).contains(&sid), "{page}");
    let form = Form::having(&page, "target", &sid);
    assert_eq!(
        app.submit(&operator, form.clone().without("csrf_token"))
            .await
            .status(),
        403
    );
    let confirm = app.submit(&operator, form).await;
    assert_eq!(confirm.status(), 200, "a confirmation comes first");
    let confirm = confirm.text().await.unwrap();
    assert!(confirm.contains("End session"));
    app.assert_accepted(&access).await;
    let done = app
        .submit(&operator, Form::having(&confirm, "confirm", "yes"))
        .await;
    assert_eq!(done.status(), 303);
    assert!(location(&done).contains("done=session-ended"));
    app.assert_rejected(&access).await;

    // Creating a user from the console.
    let users = operator
        .get(app.url("/admin/console/realms/demo/users"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let create = Form::having(&users, "action", "create-user")
        .with("username", "dora")
        .with("password", "explorer of maps");
    let created = app.submit(&operator, create).await;
    assert_eq!(created.status(), 303);
    assert!(location(&created).contains("done=user-created"));
    let (url, _) = app.demo_auth_url("openid", &[]);
    assert_eq!(
        app.sign_in(&app.browser(), &url, "dora", "explorer of maps")
            .await
            .status(),
        303
    );

    // A client's page shows its client scopes.
    let clients = operator
        .get(app.url("/admin/console/realms/demo/clients"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let link = clients
        .split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|href| href.starts_with("/admin/console/realms/demo/clients/"))
        .expect("a link to a client's page")
        .to_string();
    let page = operator
        .get(app.url(&link))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("default: profile, email, roles, groups · optional: offline_access"),
        "{page}"
    );

    // A non-admin of master is refused by the console.
    let create = admin(
        &app,
        reqwest::Method::POST,
        "/master/users",
        json!({"username": "viewer", "credentials": [{"type": "password", "value": "just looking around"}]}),
    )
    .await;
    assert_eq!(create.status(), 201);
    let viewer = app.browser();
    let start = follow(
        &app,
        &viewer,
        viewer.get(app.url("/admin/console")).send().await.unwrap(),
    )
    .await;
    let form = Form::parse(&start.text().await.unwrap())
        .with("username", "viewer")
        .with("password", "just looking around");
    let refused = follow(&app, &viewer, app.submit(&viewer, form).await).await;
    assert_eq!(refused.status(), 403);

    // Signing out of the console ends the operator's session.
    let page = operator
        .get(app.url("/admin/console"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let sign_out = Form::all(&page)
        .into_iter()
        .find(|f| f.action == "/admin/console/logout")
        .expect("a sign-out form");
    assert_eq!(app.submit(&operator, sign_out).await.status(), 200);
    let again = follow(
        &app,
        &operator,
        operator
            .get(app.url("/admin/console"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("login-actions/authenticate"),
        "signed out: the login page again"
    );
}

crate::both_backends!(
    a_temporary_password_is_replaced_at_sign_in,
    the_account_page_signs_out_devices,
    the_console_signs_in_with_oidc_and_ends_sessions,
);
