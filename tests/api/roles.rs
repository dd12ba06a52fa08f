//! Keycloak's identity model: realm roles, client roles, composites and
//! nested groups reach the access token as Keycloak shapes them, and
//! taking a role or a membership away makes the user's tokens fail.

use serde_json::{json, Value};

use crate::helpers::{claims, Backend, TestApp};

struct Api<'a> {
    app: &'a TestApp,
    token: String,
}

impl<'a> Api<'a> {
    async fn new(app: &'a TestApp) -> Api<'a> {
        let password = app.admin_password.clone().unwrap();
        let body: Value = app
            .token_request(
                "master",
                None,
                &[
                    ("grant_type", "password"),
                    ("client_id", "admin-cli"),
                    ("username", "admin"),
                    ("password", &password),
                ],
            )
            .await
            .json()
            .await
            .unwrap();
        Api {
            app,
            token: body["access_token"].as_str().unwrap().to_string(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> (u16, Value, Option<String>) {
        let response = self
            .app
            .client
            .request(method, self.app.url(&format!("/admin/realms/demo{path}")))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string());
        (
            status,
            response.json().await.unwrap_or(Value::Null),
            location,
        )
    }

    async fn ok(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let (status, value, _) = self.call(method.clone(), path, body).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {value}"
        );
        value
    }

    async fn created(&self, path: &str, body: Value) -> String {
        let (status, value, location) = self.call(reqwest::Method::POST, path, body).await;
        assert_eq!(status, 201, "{path}: {value}");
        location.unwrap().rsplit('/').next().unwrap().to_string()
    }
}

async fn roles_and_groups_shape_the_token_and_their_removal_revokes_it(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let api = Api::new(&app).await;
    use reqwest::Method;
    let users = api
        .ok(Method::GET, "/users?username=alice&exact=true", Value::Null)
        .await;
    let alice = users[0]["id"].as_str().unwrap().to_string();
    let clients = api
        .ok(Method::GET, "/clients?clientId=demo-app", Value::Null)
        .await;
    let demo_app = clients[0]["id"].as_str().unwrap().to_string();

    // Realm roles (one composite), a client role, nested groups.
    api.created("/roles", json!({"name": "editor"})).await;
    api.created("/roles", json!({"name": "auditor"})).await;
    api.created(
        "/roles",
        json!({"name": "manager", "description": "edits and audits"}),
    )
    .await;
    api.ok(
        Method::POST,
        "/roles/manager/composites",
        json!([{"name": "editor"}]),
    )
    .await;
    let (status, _, _) = api
        .call(Method::POST, "/roles", json!({"name": "editor"}))
        .await;
    assert_eq!(status, 409);
    let (status, body, _) = api.call(Method::POST, "/roles", json!({"name": ""})).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("name")));
    api.created(
        &format!("/clients/{demo_app}/roles"),
        json!({"name": "reader"}),
    )
    .await;
    let staff = api.created("/groups", json!({"name": "staff"})).await;
    let admins = api
        .created(
            &format!("/groups/{staff}/children"),
            json!({"name": "admins"}),
        )
        .await;
    api.ok(
        Method::POST,
        &format!("/groups/{staff}/role-mappings/realm"),
        json!([{"name": "auditor"}]),
    )
    .await;
    let tree = api.ok(Method::GET, "/groups", Value::Null).await;
    assert_eq!(tree[0]["path"], "/staff");
    assert_eq!(tree[0]["subGroups"][0]["path"], "/staff/admins");

    // Alice: a realm role directly, a client role, membership of the subgroup.
    api.ok(
        Method::POST,
        &format!("/users/{alice}/role-mappings/realm"),
        json!([{"name": "manager"}]),
    )
    .await;
    api.ok(
        Method::POST,
        &format!("/users/{alice}/role-mappings/clients/{demo_app}"),
        json!([{"name": "reader"}]),
    )
    .await;
    api.ok(
        Method::PUT,
        &format!("/users/{alice}/groups/{admins}"),
        Value::Null,
    )
    .await;
    let mappings = api
        .ok(
            Method::GET,
            &format!("/users/{alice}/role-mappings"),
            Value::Null,
        )
        .await;
    assert_eq!(mappings["realmMappings"][0]["name"], "manager");
    assert_eq!(mappings["realmMappings"][0]["composite"], true);
    assert_eq!(
        mappings["clientMappings"]["demo-app"]["mappings"][0]["name"],
        "reader"
    );
    let groups = api
        .ok(Method::GET, &format!("/users/{alice}/groups"), Value::Null)
        .await;
    assert_eq!(groups[0]["path"], "/staff/admins");

    // The claims, as Keycloak shapes them.
    let tokens = app.alice_tokens("openid profile").await;
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let c = claims(&access);
    assert_eq!(
        c["realm_access"]["roles"],
        json!(["auditor", "editor", "manager"]),
        "direct, composite and group roles"
    );
    assert_eq!(c["resource_access"]["demo-app"]["roles"], json!(["reader"]));
    assert_eq!(c["groups"], json!(["/staff/admins"]));
    assert_eq!(c["azp"], "demo-app");
    assert_eq!(c["preferred_username"], "alice");
    assert_eq!(
        c["scope"], "openid profile email",
        "asked, then the client's default scopes"
    );
    app.assert_accepted(&access).await;

    // Leaving the group: the token that lists its role fails everywhere.
    api.ok(
        Method::DELETE,
        &format!("/users/{alice}/groups/{admins}"),
        Value::Null,
    )
    .await;
    app.assert_rejected(&access).await;
    let fresh = app.alice_tokens("openid").await;
    let c = claims(fresh["access_token"].as_str().unwrap());
    assert_eq!(c["realm_access"]["roles"], json!(["editor", "manager"]));
    assert!(c.get("groups").is_none());

    // Removing a direct role, then deleting a client role: the same.
    let access = fresh["access_token"].as_str().unwrap().to_string();
    api.ok(
        Method::DELETE,
        &format!("/users/{alice}/role-mappings/realm"),
        json!([{"name": "manager"}]),
    )
    .await;
    app.assert_rejected(&access).await;
    let fresh = app.alice_tokens("openid").await;
    let access = fresh["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        claims(&access)["resource_access"]["demo-app"]["roles"],
        json!(["reader"])
    );
    api.ok(
        Method::DELETE,
        &format!("/clients/{demo_app}/roles/reader"),
        Value::Null,
    )
    .await;
    app.assert_rejected(&access).await;

    // A role held through a group dies with the group's mapping.
    api.ok(
        Method::PUT,
        &format!("/users/{alice}/groups/{staff}"),
        Value::Null,
    )
    .await;
    let access = app.alice_tokens("openid").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(claims(&access)["realm_access"]["roles"], json!(["auditor"]));
    api.ok(
        Method::DELETE,
        &format!("/groups/{staff}/role-mappings/realm"),
        json!([{"name": "auditor"}]),
    )
    .await;
    app.assert_rejected(&access).await;

    // Errors: unknown role, group, user; the master admin role is kept.
    let (status, _, _) = api.call(Method::GET, "/roles/nobody", Value::Null).await;
    assert_eq!(status, 404);
    let (status, _, _) = api
        .call(
            Method::PUT,
            &format!("/users/{alice}/groups/unknown"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _, _) = api
        .call(
            Method::POST,
            "/users/unknown/role-mappings/realm",
            json!([{"name": "editor"}]),
        )
        .await;
    assert_eq!(status, 404);
    let master_admin = app
        .client
        .delete(app.url("/admin/realms/master/roles/admin"))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(master_admin.status(), 409);
    // Deleting a group cuts its members off.
    let access = app.alice_tokens("openid").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    api.ok(Method::DELETE, &format!("/groups/{staff}"), Value::Null)
        .await;
    app.assert_rejected(&access).await;
    assert_eq!(api.ok(Method::GET, "/groups", Value::Null).await, json!([]));
}

async fn the_cli_manages_roles_and_groups(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let run = |args: &[&str]| {
        let output = app.cli(args);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            crate::helpers::describe(&output)
        );
        crate::helpers::stdout(&output)
    };
    run(&["role", "create", "--realm", "demo", "editor"]);
    run(&[
        "role", "create", "--realm", "demo", "--client", "demo-app", "reader",
    ]);
    run(&["group", "create", "--realm", "demo", "/staff"]);
    run(&["group", "create", "--realm", "demo", "/staff/admins"]);
    assert_eq!(
        run(&["group", "list", "--realm", "demo"]),
        "/staff\n/staff/admins\n"
    );
    run(&["group", "grant-role", "--realm", "demo", "/staff", "editor"]);
    run(&[
        "group",
        "add-member",
        "--realm",
        "demo",
        "--username",
        "alice",
        "/staff/admins",
    ]);
    run(&[
        "role",
        "grant",
        "--realm",
        "demo",
        "--username",
        "alice",
        "--client",
        "demo-app",
        "reader",
    ]);
    let access = app.alice_tokens("openid").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let c = claims(&access);
    assert_eq!(c["realm_access"]["roles"], json!(["editor"]));
    assert_eq!(c["resource_access"]["demo-app"]["roles"], json!(["reader"]));
    assert_eq!(c["groups"], json!(["/staff/admins"]));
    let out = run(&[
        "group",
        "remove-member",
        "--realm",
        "demo",
        "--username",
        "alice",
        "/staff/admins",
    ]);
    assert!(out.contains("session(s) ended"), "{out}");
    crate::helpers::until_rejected_or_panic(&app, &access).await;
    let duplicate = app.cli(&["role", "create", "--realm", "demo", "editor"]);
    assert!(!duplicate.status.success());
    let missing = app.cli(&[
        "group",
        "add-member",
        "--realm",
        "demo",
        "--username",
        "alice",
        "/nowhere",
    ]);
    assert!(!missing.status.success());
    assert!(
        crate::helpers::stderr(&missing).contains("not found"),
        "{}",
        crate::helpers::describe(&missing)
    );
}

crate::both_backends!(
    roles_and_groups_shape_the_token_and_their_removal_revokes_it,
    the_cli_manages_roles_and_groups,
);
