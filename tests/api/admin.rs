//! The admin REST API: authorization, every endpoint's happy path and its
//! errors, and each invalidation action proven by the token being rejected
//! afterwards.

use serde_json::{json, Value};

use crate::helpers::{claims, Backend, TestApp};

/// A small client for the admin API: (status, JSON body or Null).
struct AdminApi<'a> {
    app: &'a TestApp,
    token: String,
}

impl<'a> AdminApi<'a> {
    async fn new(app: &'a TestApp) -> AdminApi<'a> {
        AdminApi {
            token: app.admin_token().await,
            app,
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .app
            .client
            .request(method, self.app.url(&format!("/admin/realms{path}")))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// Creates and returns the Location's last segment.
    async fn create(&self, path: &str, body: Value) -> (String, Value) {
        let response = self
            .app
            .client
            .post(self.app.url(&format!("/admin/realms{path}")))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "creating at {path}");
        let location = response.headers()["location"].to_str().unwrap().to_string();
        assert!(
            location.starts_with(&self.app.url("/admin/realms/")),
            "{location}"
        );
        let id = location.rsplit('/').next().unwrap().to_string();
        let body = response.json().await.unwrap_or(Value::Null);
        (id, body)
    }
}

async fn user_id(api: &AdminApi<'_>, realm: &str, username: &str) -> String {
    let (status, users) = api
        .get(&format!("/{realm}/users?username={username}&exact=true"))
        .await;
    assert_eq!(status, 200);
    users[0]["id"].as_str().unwrap().to_string()
}

async fn client_row_id(api: &AdminApi<'_>, realm: &str, client_id: &str) -> String {
    let (status, clients) = api
        .get(&format!("/{realm}/clients?clientId={client_id}"))
        .await;
    assert_eq!(status, 200);
    clients[0]["id"].as_str().unwrap().to_string()
}

fn assert_error(result: &(u16, Value), status: u16, error: &str) {
    assert_eq!(result.0, status, "{}", result.1);
    assert_eq!(result.1["error"], error, "{}", result.1);
}

async fn password_grant(
    app: &TestApp,
    realm: &str,
    client: &str,
    user: &str,
    password: &str,
) -> reqwest::Response {
    app.token_request(
        realm,
        None,
        &[
            ("grant_type", "password"),
            ("client_id", client),
            ("username", user),
            ("password", password),
        ],
    )
    .await
}

// ---- authorization -----------------------------------------------------

async fn only_master_admins_reach_the_api(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let token = app.admin_token().await;
    let c = claims(&token);
    assert_eq!(c["iss"], app.issuer("master"));
    assert_eq!(c["azp"], "admin-cli");
    assert_eq!(c["realm_access"]["roles"], json!(["admin"]));

    // No token, a malformed one, a token of another realm: 401 with a challenge.
    let url = app.url("/admin/realms");
    let none = app.client.get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert!(none.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    assert_eq!(none.json::<Value>().await.unwrap()["error"], "unauthorized");
    let garbage = app
        .client
        .get(&url)
        .bearer_auth("not.a.jwt")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 401);
    let alice = app.alice_tokens("openid").await;
    let other_realm = app
        .client
        .get(&url)
        .bearer_auth(alice["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(other_realm.status(), 401);

    // A user of master without the admin role: 403.
    let api = AdminApi::new(&app).await;
    api.create(
        "/master/users",
        json!({"username": "auditor", "credentials": [{"type": "password", "value": "an auditor's long password"}]}),
    )
    .await;
    let plain = password_grant(
        &app,
        "master",
        "admin-cli",
        "auditor",
        "an auditor's long password",
    )
    .await;
    assert_eq!(plain.status(), 200);
    let plain: Value = plain.json().await.unwrap();
    let forbidden = app
        .client
        .get(&url)
        .bearer_auth(plain["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 403);
    assert_eq!(
        forbidden.json::<Value>().await.unwrap()["error"],
        "forbidden"
    );

    // The password grant: wrong password, a client not allowed to use it.
    let wrong = password_grant(&app, "master", "admin-cli", "admin", "wrong").await;
    assert_eq!(wrong.status(), 400);
    assert_eq!(
        wrong.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let secret = app.demo_secret();
    let not_allowed = app
        .token_request(
            "demo",
            Some(("demo-app", &secret)),
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", &app.alice_password()),
            ],
        )
        .await;
    assert_eq!(not_allowed.status(), 400);
    assert_eq!(
        not_allowed.json::<Value>().await.unwrap()["error"],
        "unauthorized_client"
    );

    // Ending the admin's session takes the API away at once.
    let sid = claims(&api.token)["sid"].as_str().unwrap().to_string();
    let (status, _) = api.get("/master/sessions").await;
    assert_eq!(status, 200);
    let second = AdminApi::new(&app).await;
    let (status, _) = second.delete(&format!("/master/sessions/{sid}")).await;
    assert_eq!(status, 204);
    assert_error(&api.get("").await, 401, "unauthorized");
}

async fn the_password_grant_can_be_turned_off(backend: Backend) {
    let app = crate::helpers::spawn_app_with(backend, |s| s.password_grant = false).await;
    let password = app.admin_password.clone().unwrap();
    let response = password_grant(&app, "master", "admin-cli", "admin", &password).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
}

// ---- realms ------------------------------------------------------------

async fn realms_are_created_updated_and_deleted(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let api = AdminApi::new(&app).await;

    let (name, _) = api
        .create("", json!({"realm": "acme", "accessTokenLifespan": 120}))
        .await;
    assert_eq!(name, "acme");
    let discovery = app
        .get("/realms/acme/.well-known/openid-configuration")
        .await;
    assert_eq!(discovery.status(), 200);
    assert_error(
        &api.post("", json!({"realm": "acme"})).await,
        409,
        "conflict",
    );
    let bad = api.post("", json!({"realm": "no spaces"})).await;
    assert_error(&bad, 422, "invalid_field");
    assert_eq!(bad.1["field"], "realm");
    let missing = api.post("", json!({"enabled": true})).await;
    assert_error(&missing, 422, "invalid_field");
    assert_eq!(missing.1["field"], "realm");
    let wrong_type = api
        .post("", json!({"realm": "x", "accessTokenLifespan": "long"}))
        .await;
    assert_error(&wrong_type, 422, "invalid_field");

    let (status, list) = api.get("").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["realm"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["acme", "demo", "master"]);
    let (status, acme) = api.get("/acme").await;
    assert_eq!(status, 200);
    assert_eq!(acme["accessTokenLifespan"], 120);

    let (status, _) = api
        .put(
            "/acme",
            json!({"accessTokenLifespan": 60, "keyRotationInterval": 86400}),
        )
        .await;
    assert_eq!(status, 204);
    let (_, acme) = api.get("/acme").await;
    assert_eq!(acme["accessTokenLifespan"], 60);
    assert_eq!(acme["keyRotationInterval"], 86400);
    let negative = api.put("/acme", json!({"ssoSessionMaxLifespan": 0})).await;
    assert_error(&negative, 422, "invalid_field");
    assert_eq!(negative.1["field"], "ssoSessionMaxLifespan");
    assert_error(
        &api.put("/acme", json!({"realm": "renamed"})).await,
        422,
        "invalid_field",
    );
    assert_error(&api.get("/nowhere").await, 404, "not_found");
    assert_error(&api.put("/nowhere", json!({})).await, 404, "not_found");

    // A token issued in the realm dies with it.
    api.create(
        "/acme/clients",
        json!({"clientId": "cli", "publicClient": true, "standardFlowEnabled": false, "directAccessGrantsEnabled": true}),
    )
    .await;
    api.create(
        "/acme/users",
        json!({"username": "wile", "credentials": [{"type": "password", "value": "acme rocket skates"}]}),
    )
    .await;
    let tokens: Value = password_grant(&app, "acme", "cli", "wile", "acme rocket skates")
        .await
        .json()
        .await
        .unwrap();
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(app.userinfo("acme", token).await.status(), 200);
    assert_error(&api.delete("/master").await, 409, "conflict");
    assert_eq!(api.delete("/acme").await.0, 204);
    assert_ne!(app.userinfo("acme", token).await.status(), 200);
    assert_eq!(
        app.get("/realms/acme/.well-known/openid-configuration")
            .await
            .status(),
        404
    );
    assert_error(&api.delete("/acme").await, 404, "not_found");
}

// ---- users -------------------------------------------------------------

async fn users_are_managed_and_cut_off(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let api = AdminApi::new(&app).await;
    // demo-app may use the password grant here, to get tokens quickly.
    let demo_app = client_row_id(&api, "demo", "demo-app").await;
    let (status, _) = api
        .put(
            &format!("/demo/clients/{demo_app}"),
            json!({"directAccessGrantsEnabled": true}),
        )
        .await;
    assert_eq!(status, 204);
    let secret = app.demo_secret();
    let sign_in = |user: &'static str, password: String| {
        let (app, secret) = (&app, secret.clone());
        async move {
            app.token_request(
                "demo",
                Some(("demo-app", &secret)),
                &[
                    ("grant_type", "password"),
                    ("username", user),
                    ("password", &password),
                ],
            )
            .await
        }
    };

    let (id, _) = api
        .create(
            "/demo/users",
            json!({
                "username": "Bob", "email": "bob@example.com", "enabled": true,
                "firstName": "Bob", "lastName": "Builder",
                "credentials": [{"type": "password", "value": "can we fix it", "temporary": false}]
            }),
        )
        .await;
    let (status, bob) = api.get(&format!("/demo/users/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(bob["username"], "bob");
    assert_eq!(bob["firstName"], "Bob");
    assert_eq!(bob["enabled"], true);
    assert!(
        bob.get("credentials").is_none(),
        "no credentials are ever shown"
    );
    assert_error(
        &api.post("/demo/users", json!({"username": "bob"})).await,
        409,
        "conflict",
    );
    let bad_email = api
        .post("/demo/users", json!({"username": "eve", "email": "nope"}))
        .await;
    assert_error(&bad_email, 422, "invalid_field");
    assert_eq!(bad_email.1["field"], "email");
    let empty_password = api
        .post(
            "/demo/users",
            json!({"username": "eve", "credentials": [{"type": "password", "value": ""}]}),
        )
        .await;
    assert_eq!(empty_password.1["field"], "credentials");
    assert_error(&api.get("/demo/users/no-such-id").await, 404, "not_found");

    // Search, exact match, count, paging.
    let (_, found) = api.get("/demo/users?username=bo").await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    let (_, found) = api.get("/demo/users?username=bo&exact=true").await;
    assert_eq!(found.as_array().unwrap().len(), 0);
    let (_, found) = api.get("/demo/users?search=builder").await;
    assert_eq!(found[0]["id"], id.as_str());
    let (_, n) = api.get("/demo/users/count").await;
    assert_eq!(n, 2);
    let (_, page) = api.get("/demo/users?first=1&max=1").await;
    assert_eq!(page[0]["username"], "bob");
    assert_error(&api.get("/demo/users?max=0").await, 422, "invalid_field");

    // Log out everywhere.
    let tokens: Value = sign_in("bob", "can we fix it".into())
        .await
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_string();
    assert_eq!(app.userinfo("demo", &access).await.status(), 200);
    let (status, outcome) = api
        .post(&format!("/demo/users/{id}/logout?summary=true"), json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(outcome["sessionsEnded"], 1);
    app.assert_rejected(&access).await;
    assert_eq!(
        app.refresh(tokens["refresh_token"].as_str().unwrap())
            .await
            .status(),
        400
    );

    // Reset the password: the old one stops working, tokens die.
    let access = sign_in("bob", "can we fix it".into())
        .await
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = api
        .put(
            &format!("/demo/users/{id}/reset-password"),
            json!({"type": "password", "value": "yes we can", "temporary": false}),
        )
        .await;
    assert_eq!(status, 204);
    app.assert_rejected(&access).await;
    assert_eq!(sign_in("bob", "can we fix it".into()).await.status(), 400);
    assert_eq!(sign_in("bob", "yes we can".into()).await.status(), 200);
    let empty = api
        .put(
            &format!("/demo/users/{id}/reset-password"),
            json!({"type": "password", "value": ""}),
        )
        .await;
    assert_error(&empty, 422, "invalid_field");

    // A temporary password must be changed before any token is issued.
    api.put(
        &format!("/demo/users/{id}/reset-password"),
        json!({"type": "password", "value": "temporary one", "temporary": true}),
    )
    .await;
    let (_, bob) = api.get(&format!("/demo/users/{id}")).await;
    assert_eq!(bob["requiredActions"], json!(["UPDATE_PASSWORD"]));
    let refused = sign_in("bob", "temporary one".into()).await;
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("not fully set up"));
    api.put(&format!("/demo/users/{id}"), json!({"requiredActions": []}))
        .await;

    // Disable: tokens die and sign-in fails; enable: sign-in works again.
    let access = sign_in("bob", "temporary one".into())
        .await
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = api
        .put(&format!("/demo/users/{id}"), json!({"enabled": false}))
        .await;
    assert_eq!(status, 204);
    app.assert_rejected(&access).await;
    assert_eq!(sign_in("bob", "temporary one".into()).await.status(), 400);
    let (_, bob) = api.get(&format!("/demo/users/{id}")).await;
    assert_eq!(bob["enabled"], false);
    api.put(
        &format!("/demo/users/{id}"),
        json!({"enabled": true, "lastName": "B."}),
    )
    .await;
    let (_, bob) = api.get(&format!("/demo/users/{id}")).await;
    assert_eq!(bob["lastName"], "B.");
    assert_error(
        &api.put(&format!("/demo/users/{id}"), json!({"username": "robert"}))
            .await,
        422,
        "invalid_field",
    );

    // Delete: tokens die, the user is gone.
    let access = sign_in("bob", "temporary one".into())
        .await
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(api.delete(&format!("/demo/users/{id}")).await.0, 204);
    app.assert_rejected(&access).await;
    assert_error(
        &api.get(&format!("/demo/users/{id}")).await,
        404,
        "not_found",
    );
    assert_error(
        &api.delete(&format!("/demo/users/{id}")).await,
        404,
        "not_found",
    );
}

// ---- clients -----------------------------------------------------------

async fn client_credentials(app: &TestApp, client: &str, secret: &str) -> reqwest::Response {
    app.token_request(
        "demo",
        Some((client, secret)),
        &[("grant_type", "client_credentials")],
    )
    .await
}

async fn clients_are_managed_and_their_secrets_replaced(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let api = AdminApi::new(&app).await;

    let (id, created) = api
        .create(
            "/demo/clients",
            json!({"clientId": "billing", "serviceAccountsEnabled": true, "standardFlowEnabled": false}),
        )
        .await;
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.len() >= 32);
    let (status, read) = api.get(&format!("/demo/clients/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(read["clientId"], "billing");
    assert_eq!(read["publicClient"], false);
    assert_eq!(read["serviceAccountsEnabled"], true);
    assert!(
        read.get("secret").is_none(),
        "a stored secret is never shown again"
    );
    assert_eq!(
        client_credentials(&app, "billing", &secret).await.status(),
        200
    );

    assert_error(
        &api.post("/demo/clients", json!({"clientId": "billing", "serviceAccountsEnabled": true, "standardFlowEnabled": false})).await,
        409,
        "conflict",
    );
    let public_with_secret = api
        .post(
            "/demo/clients",
            json!({"clientId": "spa", "publicClient": true, "secret": "x".repeat(40)}),
        )
        .await;
    assert_eq!(public_with_secret.1["field"], "secret");
    let public_service = api
        .post(
            "/demo/clients",
            json!({"clientId": "spa", "publicClient": true, "serviceAccountsEnabled": true, "redirectUris": ["https://spa.example/cb"]}),
        )
        .await;
    assert_eq!(public_service.1["field"], "serviceAccountsEnabled");
    let bad_uri = api
        .post(
            "/demo/clients",
            json!({"clientId": "spa", "redirectUris": ["not a url"]}),
        )
        .await;
    assert_error(&bad_uri, 422, "invalid_field");
    assert_eq!(bad_uri.1["field"], "redirectUris");
    let short_secret = api.post("/demo/clients", json!({"clientId": "spa", "secret": "short", "redirectUris": ["https://spa.example/cb"]})).await;
    assert_eq!(short_secret.1["field"], "secret");
    let no_id = api
        .post("/demo/clients", json!({"publicClient": true}))
        .await;
    assert_eq!(no_id.1["field"], "clientId");
    assert_error(&api.get("/demo/clients/unknown").await, 404, "not_found");

    // Keycloak's attribute spelling of the logout URLs is understood.
    let (spa, _) = api
        .create(
            "/demo/clients",
            json!({
                "clientId": "spa", "publicClient": true, "redirectUris": ["https://spa.example/cb"],
                "attributes": {"post.logout.redirect.uris": "https://spa.example/bye##https://spa.example/"}
            }),
        )
        .await;
    let (_, read) = api.get(&format!("/demo/clients/{spa}")).await;
    assert_eq!(
        read["postLogoutRedirectUris"],
        json!(["https://spa.example/bye", "https://spa.example/"])
    );
    let (status, _) = api
        .put(
            &format!("/demo/clients/{spa}"),
            json!({"redirectUris": ["https://spa.example/callback"]}),
        )
        .await;
    assert_eq!(status, 204);
    let (_, read) = api.get(&format!("/demo/clients/{spa}")).await;
    assert_eq!(
        read["redirectUris"],
        json!(["https://spa.example/callback"])
    );
    let (status, list) = api.get("/demo/clients").await;
    assert_eq!(status, 200);
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["clientId"] == "account-console"));
    assert_error(
        &api.post(&format!("/demo/clients/{spa}/client-secret"), json!({}))
            .await,
        422,
        "invalid_field",
    );

    // Regenerating: the old secret stops at once; with an overlap both work.
    let (status, fresh) = api
        .post(&format!("/demo/clients/{id}/client-secret"), json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(fresh["type"], "secret");
    let second = fresh["value"].as_str().unwrap().to_string();
    assert_eq!(
        client_credentials(&app, "billing", &secret).await.status(),
        401
    );
    assert_eq!(
        client_credentials(&app, "billing", &second).await.status(),
        200
    );
    let (_, fresh) = api
        .post(
            &format!("/demo/clients/{id}/client-secret?overlapSeconds=60"),
            json!({}),
        )
        .await;
    let third = fresh["value"].as_str().unwrap().to_string();
    assert_eq!(
        client_credentials(&app, "billing", &second).await.status(),
        200
    );
    assert_eq!(
        client_credentials(&app, "billing", &third).await.status(),
        200
    );
    let too_long = api
        .post(
            &format!("/demo/clients/{id}/client-secret?overlapSeconds=999999"),
            json!({}),
        )
        .await;
    assert_eq!(too_long.1["field"], "overlapSeconds");

    // Revoke every token of the client (a resource server introspects).
    let rs = crate::helpers::NewClientExt::introspecting(crate::helpers::new_client("rs"));
    let rs_secret = app.add_client("demo", rs).await.unwrap();
    let active = |token: String| {
        let (app, rs_secret) = (&app, rs_secret.clone());
        async move { app.introspect(&token, ("rs", &rs_secret)).await["active"] == true }
    };
    let token: Value = client_credentials(&app, "billing", &third)
        .await
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_string();
    assert!(active(token.clone()).await);
    let (status, _) = api
        .post(&format!("/demo/clients/{id}/revoke-tokens"), json!({}))
        .await;
    assert_eq!(status, 200);
    assert!(!active(token.clone()).await);

    // Disabling a client revokes its tokens too; deleting it ends it.
    let token: Value = client_credentials(&app, "billing", &third)
        .await
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_string();
    assert!(active(token.clone()).await);
    assert_eq!(
        api.put(&format!("/demo/clients/{id}"), json!({"enabled": false}))
            .await
            .0,
        204
    );
    assert!(!active(token).await);
    assert_eq!(
        client_credentials(&app, "billing", &third).await.status(),
        401
    );
    assert_eq!(api.delete(&format!("/demo/clients/{id}")).await.0, 204);
    assert_error(
        &api.get(&format!("/demo/clients/{id}")).await,
        404,
        "not_found",
    );
}

async fn a_compromised_client_is_contained_in_one_step(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let api = AdminApi::new(&app).await;
    let demo_app = client_row_id(&api, "demo", "demo-app").await;
    // The relying party's back-channel endpoint (unreachable is fine: the
    // notice is queued and its delivery status is what the API shows).
    let (status, _) = api
        .put(
            &format!("/demo/clients/{demo_app}"),
            json!({"backchannelLogoutUrl": "http://127.0.0.1:9/backchannel"}),
        )
        .await;
    assert_eq!(status, 204);
    let old_secret = app.demo_secret();
    let user_tokens = app.alice_tokens("openid").await;
    let service = app.service_token().await;
    let sid = claims(user_tokens["access_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_string();

    let (status, outcome) = api
        .post(&format!("/demo/clients/{demo_app}/compromised"), json!({}))
        .await;
    assert_eq!(status, 200, "{outcome}");
    let new_secret = outcome["secret"].as_str().unwrap().to_string();
    assert_eq!(outcome["backchannelNoticesQueued"], 1);
    let user_access = user_tokens["access_token"].as_str().unwrap();
    assert_eq!(app.userinfo("demo", user_access).await.status(), 401);
    assert_eq!(
        app.introspect(user_access, ("demo-app", &new_secret)).await["active"],
        false
    );
    assert_eq!(
        app.introspect(&service, ("demo-app", &new_secret)).await["active"],
        false
    );
    assert_eq!(
        client_credentials(&app, "demo-app", &old_secret)
            .await
            .status(),
        401
    );
    assert_eq!(
        client_credentials(&app, "demo-app", &new_secret)
            .await
            .status(),
        200
    );
    let refresh = app
        .token_request(
            "demo",
            Some(("demo-app", &new_secret)),
            &[
                ("grant_type", "refresh_token"),
                (
                    "refresh_token",
                    user_tokens["refresh_token"].as_str().unwrap(),
                ),
            ],
        )
        .await;
    assert_eq!(refresh.status(), 400);

    let (status, deliveries) = api
        .get("/demo/backchannel-deliveries?client=demo-app")
        .await;
    assert_eq!(status, 200);
    assert_eq!(deliveries[0]["sessionId"], sid.as_str());
    assert_eq!(deliveries[0]["clientId"], "demo-app");
    let (_, by_session) = api
        .get(&format!("/demo/backchannel-deliveries?session={sid}"))
        .await;
    assert_eq!(by_session.as_array().unwrap().len(), 1);
    assert_error(
        &api.get("/demo/backchannel-deliveries?client=nobody").await,
        404,
        "not_found",
    );
    let (_, events) = api.get("/demo/events?type=client.compromised").await;
    assert_eq!(events[0]["actor"], "admin:admin");
    assert_eq!(events[0]["subject"], "demo-app");
}

// ---- sessions, keys, realm-wide actions ---------------------------------

async fn sessions_keys_and_the_realm_are_revoked(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let api = AdminApi::new(&app).await;
    let tokens = app.alice_tokens("openid").await;
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let sid = claims(&access)["sid"].as_str().unwrap().to_string();

    let (status, sessions) = api.get("/demo/sessions").await;
    assert_eq!(status, 200);
    let session = &sessions[0];
    assert_eq!(session["id"], sid.as_str());
    assert_eq!(session["username"], "alice");
    assert_eq!(session["ipAddress"], "127.0.0.1");
    assert!(session["start"].as_i64().unwrap() > 0);
    assert!(session["lastAccess"].as_i64().unwrap() >= session["start"].as_i64().unwrap());
    assert!(session["clients"]
        .as_object()
        .unwrap()
        .values()
        .any(|c| c == "demo-app"));
    let alice = user_id(&api, "demo", "alice").await;
    let (_, mine) = api.get(&format!("/demo/users/{alice}/sessions")).await;
    assert_eq!(mine[0]["id"], sid.as_str());
    assert_error(
        &api.get("/demo/users/nobody/sessions").await,
        404,
        "not_found",
    );

    let (status, outcome) = api
        .delete(&format!("/demo/sessions/{sid}?summary=true"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(outcome["sessionsEnded"], 1);
    app.assert_rejected(&access).await;
    assert_error(
        &api.delete(&format!("/demo/sessions/{sid}")).await,
        404,
        "not_found",
    );
    let (_, sessions) = api.get("/demo/sessions").await;
    assert_eq!(sessions, json!([]));

    // Keys: listed with their stage; graceful rotation keeps tokens valid,
    // emergency rotation kills them.
    let (status, keys) = api.get("/demo/keys").await;
    assert_eq!(status, 200);
    let es256 = keys["active"]["ES256"].as_str().unwrap().to_string();
    assert!(keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["kid"] == es256.as_str() && k["status"] == "ACTIVE" && k["stage"] == "active"));
    let access = app.alice_tokens("openid").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, rotated) = api
        .post("/demo/keys/rotate", json!({"algorithm": "ES256"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(rotated["kids"].as_array().unwrap().len(), 1);
    let (_, keys) = api.get("/demo/keys").await;
    assert_eq!(keys["keys"].as_array().unwrap().len(), 3);
    app.assert_accepted(&access).await;
    assert_error(
        &api.post("/demo/keys/rotate", json!({"algorithm": "HS256"}))
            .await,
        422,
        "invalid_field",
    );
    assert_error(
        &api.post("/demo/keys/rotate", json!({"emergancy": true}))
            .await,
        422,
        "invalid_field",
    );
    let (status, rotated) = api
        .post("/demo/keys/rotate", json!({"emergency": true}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(rotated["emergency"], true);
    app.assert_rejected(&access).await;

    // The exposure window: the access-token lifetime and the revoked tokens
    // a signature-only API would still accept.
    let first = app.alice_tokens("openid").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let second = app.alice_tokens("openid").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(app.revoke(&first, Some("access_token")).await.status(), 200);
    let mut exposure = Value::Null;
    for _ in 0..50 {
        exposure = api.get("/demo/exposure").await.1;
        if exposure["unexpiredAccessTokens"].as_u64().unwrap_or(0) >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(exposure["windowSeconds"], 300);
    assert!(
        exposure["revokedUnexpiredAccessTokens"].as_u64().unwrap() >= 1,
        "{exposure}"
    );
    assert!(exposure["exposureEndsAt"].as_i64().unwrap() > 0);

    // The whole realm.
    let (status, _) = api.post("/demo/logout-all", json!({})).await;
    assert_eq!(status, 200);
    app.assert_rejected(&second).await;
    assert_error(
        &api.post("/nowhere/logout-all", json!({})).await,
        404,
        "not_found",
    );
}

// ---- audit -------------------------------------------------------------

async fn every_change_is_audited(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let api = AdminApi::new(&app).await;
    let (id, _) = api
        .create("/demo/users", json!({"username": "carol"}))
        .await;
    api.put(&format!("/demo/users/{id}"), json!({"firstName": "Carol"}))
        .await;
    api.post(&format!("/demo/users/{id}/logout"), json!({}))
        .await;
    api.put("/demo", json!({"accessTokenLifespan": 200})).await;

    let (status, events) = api.get("/demo/events?type=admin.").await;
    assert_eq!(status, 200);
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "admin.realm.updated",
            "admin.user.updated",
            "admin.user.created"
        ]
    );
    assert!(events
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["actor"] == "admin:admin" && e["ipAddress"] == "127.0.0.1"));
    let (_, about_carol) = api.get(&format!("/demo/events?user={id}")).await;
    let kinds: Vec<&str> = about_carol
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "user.logout_all",
            "admin.user.updated",
            "admin.user.created"
        ]
    );
    let (_, page) = api
        .get(&format!("/demo/events?user={id}&first=1&max=1"))
        .await;
    assert_eq!(page[0]["type"], "admin.user.updated");
    let (_, none) = api.get("/demo/events?dateFrom=2999-01-01").await;
    assert_eq!(none, json!([]));
    let (_, today) = api
        .get("/demo/events?dateFrom=2000-01-01&dateTo=2999-12-31")
        .await;
    assert!(today.as_array().unwrap().len() >= 4);
    let bad = api.get("/demo/events?dateFrom=yesterday").await;
    assert_error(&bad, 422, "invalid_field");
    assert_eq!(bad.1["field"], "dateFrom");
    assert_error(&api.get("/nowhere/events").await, 404, "not_found");
}

/// A trailing slash names the same resource, as in Keycloak: listing and
/// creating with `/admin/realms/` and `/users/` work (a POST is not
/// redirected), unauthenticated requests are still refused, protocol paths
/// and their headers and CORS answers are the same, unknown paths still 404.
async fn a_trailing_slash_is_the_same_path(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let api = AdminApi::new(&app).await;
    let (status, realms) = api.get("/").await;
    assert_eq!(status, 200);
    assert!(realms
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["realm"] == "demo"));
    let (status, _) = api
        .post("/", json!({ "realm": "slashed", "enabled": true }))
        .await;
    assert_eq!(status, 201);
    let (status, _) = api
        .post(
            "/slashed/users/",
            json!({ "username": "sam", "enabled": true }),
        )
        .await;
    assert_eq!(status, 201);
    let (status, users) = api.get("/slashed/users/?username=sam&exact=true").await;
    assert_eq!((status, users[0]["username"].clone()), (200, json!("sam")));
    let anonymous = app
        .client
        .get(app.url("/admin/realms/"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let discovery = app
        .get("/realms/demo/.well-known/openid-configuration/")
        .await;
    assert_eq!(discovery.status(), 200);
    assert_eq!(discovery.headers()["x-content-type-options"], "nosniff");
    let secret = app.demo_secret();
    let token = app
        .client
        .post(app.url("/realms/demo/protocol/openid-connect/token/"))
        .basic_auth("demo-app", Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);
    let jwks = app
        .client
        .get(app.url("/realms/demo/protocol/openid-connect/certs/"))
        .header("origin", "https://anywhere.example")
        .send()
        .await
        .unwrap();
    assert_eq!(jwks.status(), 200);
    assert_eq!(jwks.headers()["access-control-allow-origin"], "*");
    assert_eq!(
        app.get("/admin/realms/demo/nothing-here/").await.status(),
        404
    );
    assert_eq!(app.get("/realms/demo/nothing-here/").await.status(), 404);
}

crate::both_backends!(
    a_trailing_slash_is_the_same_path,
    only_master_admins_reach_the_api,
    the_password_grant_can_be_turned_off,
    realms_are_created_updated_and_deleted,
    users_are_managed_and_cut_off,
    clients_are_managed_and_their_secrets_replaced,
    a_compromised_client_is_contained_in_one_step,
    sessions_keys_and_the_realm_are_revoked,
    every_change_is_audited,
);

// ---- the OpenAPI document -----------------------------------------------

/// The document parses as OpenAPI 3.1, and every operation it lists is a
/// real route that refuses a caller without a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_every_route() {
    let app = crate::helpers::spawn_app(Backend::Sqlite).await;
    let response = app.get("/admin/openapi.json").await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let spec = oas3::from_json(&text).expect("a valid OpenAPI 3.1 document");
    assert!(spec.openapi.starts_with("3.1"), "{}", spec.openapi);
    let paths = spec.paths.clone().unwrap_or_default();
    let mut operations = Vec::new();
    let mut operation_ids = std::collections::HashSet::new();
    for (path, item) in &paths {
        for (method, op) in item.methods() {
            let id = op.operation_id.clone().expect("every operation has an id");
            assert!(
                operation_ids.insert(id.clone()),
                "operationId {id} is unique"
            );
            assert!(
                op.responses.as_ref().is_some_and(|r| r.contains_key("401")),
                "{method} {path} documents 401"
            );
            operations.push((method.clone(), path.clone()));
        }
    }
    let expected = [
        ("GET", "/admin/realms"),
        ("POST", "/admin/realms"),
        ("GET", "/admin/realms/{realm}"),
        ("PUT", "/admin/realms/{realm}"),
        ("DELETE", "/admin/realms/{realm}"),
        ("POST", "/admin/realms/{realm}/logout-all"),
        ("GET", "/admin/realms/{realm}/exposure"),
        ("GET", "/admin/realms/{realm}/users"),
        ("GET", "/admin/realms/{realm}/users/count"),
        ("POST", "/admin/realms/{realm}/users"),
        ("GET", "/admin/realms/{realm}/users/{id}"),
        ("PUT", "/admin/realms/{realm}/users/{id}"),
        ("DELETE", "/admin/realms/{realm}/users/{id}"),
        ("PUT", "/admin/realms/{realm}/users/{id}/reset-password"),
        ("GET", "/admin/realms/{realm}/users/{id}/credentials"),
        (
            "DELETE",
            "/admin/realms/{realm}/users/{id}/credentials/{credential}",
        ),
        (
            "PUT",
            "/admin/realms/{realm}/users/{id}/credentials/{credential}/userLabel",
        ),
        ("POST", "/admin/realms/{realm}/users/{id}/logout"),
        ("GET", "/admin/realms/{realm}/users/{id}/sessions"),
        ("GET", "/admin/realms/{realm}/clients"),
        ("POST", "/admin/realms/{realm}/clients"),
        ("GET", "/admin/realms/{realm}/clients/{id}"),
        ("PUT", "/admin/realms/{realm}/clients/{id}"),
        ("DELETE", "/admin/realms/{realm}/clients/{id}"),
        ("POST", "/admin/realms/{realm}/clients/{id}/client-secret"),
        ("POST", "/admin/realms/{realm}/clients/{id}/revoke-tokens"),
        ("POST", "/admin/realms/{realm}/clients/{id}/compromised"),
        ("GET", "/admin/realms/{realm}/sessions"),
        ("DELETE", "/admin/realms/{realm}/sessions/{session}"),
        ("GET", "/admin/realms/{realm}/backchannel-deliveries"),
        ("GET", "/admin/realms/{realm}/keys"),
        ("POST", "/admin/realms/{realm}/keys/rotate"),
        ("GET", "/admin/realms/{realm}/events"),
        (
            "GET",
            "/admin/realms/{realm}/attack-detection/brute-force/users/{id}",
        ),
        (
            "DELETE",
            "/admin/realms/{realm}/attack-detection/brute-force/users/{id}",
        ),
        (
            "DELETE",
            "/admin/realms/{realm}/attack-detection/brute-force/users",
        ),
        ("GET", "/admin/realms/{realm}/export"),
        ("POST", "/admin/realms/import"),
        ("GET", "/admin/realms/{realm}/client-scopes"),
        ("POST", "/admin/realms/{realm}/client-scopes"),
        ("GET", "/admin/realms/{realm}/client-scopes/{id}"),
        ("PUT", "/admin/realms/{realm}/client-scopes/{id}"),
        ("DELETE", "/admin/realms/{realm}/client-scopes/{id}"),
        (
            "GET",
            "/admin/realms/{realm}/client-scopes/{id}/protocol-mappers/models",
        ),
        (
            "POST",
            "/admin/realms/{realm}/client-scopes/{id}/protocol-mappers/models",
        ),
        (
            "PUT",
            "/admin/realms/{realm}/client-scopes/{id}/protocol-mappers/models/{mapper}",
        ),
        (
            "DELETE",
            "/admin/realms/{realm}/client-scopes/{id}/protocol-mappers/models/{mapper}",
        ),
        (
            "GET",
            "/admin/realms/{realm}/clients/{id}/default-client-scopes",
        ),
        (
            "PUT",
            "/admin/realms/{realm}/clients/{id}/default-client-scopes/{scope}",
        ),
        (
            "DELETE",
            "/admin/realms/{realm}/clients/{id}/default-client-scopes/{scope}",
        ),
        (
            "GET",
            "/admin/realms/{realm}/clients/{id}/optional-client-scopes",
        ),
        (
            "PUT",
            "/admin/realms/{realm}/clients/{id}/optional-client-scopes/{scope}",
        ),
        (
            "DELETE",
            "/admin/realms/{realm}/clients/{id}/optional-client-scopes/{scope}",
        ),
        ("GET", "/admin/realms/{realm}/default-default-client-scopes"),
        (
            "PUT",
            "/admin/realms/{realm}/default-default-client-scopes/{scope}",
        ),
        (
            "DELETE",
            "/admin/realms/{realm}/default-default-client-scopes/{scope}",
        ),
        (
            "GET",
            "/admin/realms/{realm}/default-optional-client-scopes",
        ),
        (
            "PUT",
            "/admin/realms/{realm}/default-optional-client-scopes/{scope}",
        ),
        (
            "DELETE",
            "/admin/realms/{realm}/default-optional-client-scopes/{scope}",
        ),
        ("GET", "/admin/realms/{realm}/roles"),
        ("POST", "/admin/realms/{realm}/roles"),
        ("GET", "/admin/realms/{realm}/roles/{name}"),
        ("DELETE", "/admin/realms/{realm}/roles/{name}"),
        ("POST", "/admin/realms/{realm}/roles/{name}/composites"),
        ("DELETE", "/admin/realms/{realm}/roles/{name}/composites"),
        ("GET", "/admin/realms/{realm}/clients/{id}/roles"),
        ("POST", "/admin/realms/{realm}/clients/{id}/roles"),
        ("DELETE", "/admin/realms/{realm}/clients/{id}/roles/{name}"),
        ("GET", "/admin/realms/{realm}/groups"),
        ("POST", "/admin/realms/{realm}/groups"),
        ("POST", "/admin/realms/{realm}/groups/{id}/children"),
        ("GET", "/admin/realms/{realm}/groups/{id}"),
        ("DELETE", "/admin/realms/{realm}/groups/{id}"),
        (
            "GET",
            "/admin/realms/{realm}/groups/{id}/role-mappings/realm",
        ),
        (
            "POST",
            "/admin/realms/{realm}/groups/{id}/role-mappings/realm",
        ),
        (
            "DELETE",
            "/admin/realms/{realm}/groups/{id}/role-mappings/realm",
        ),
        ("GET", "/admin/realms/{realm}/users/{id}/role-mappings"),
        (
            "POST",
            "/admin/realms/{realm}/users/{id}/role-mappings/realm",
        ),
        (
            "DELETE",
            "/admin/realms/{realm}/users/{id}/role-mappings/realm",
        ),
        (
            "POST",
            "/admin/realms/{realm}/users/{id}/role-mappings/clients/{client}",
        ),
        (
            "DELETE",
            "/admin/realms/{realm}/users/{id}/role-mappings/clients/{client}",
        ),
        ("GET", "/admin/realms/{realm}/users/{id}/groups"),
        ("PUT", "/admin/realms/{realm}/users/{id}/groups/{group}"),
        ("DELETE", "/admin/realms/{realm}/users/{id}/groups/{group}"),
        // Keycloak's reads and the paths its admin clients use.
        ("GET", "/admin/serverinfo"),
        ("POST", "/admin/realms/{realm}/partial-export"),
        ("GET", "/admin/realms/{realm}/client-session-stats"),
        ("GET", "/admin/realms/{realm}/clients/{id}/client-secret"),
        ("GET", "/admin/realms/{realm}/clients/{id}/user-sessions"),
        ("GET", "/admin/realms/{realm}/clients/{id}/session-count"),
        ("PUT", "/admin/realms/{realm}/roles/{name}"),
        ("GET", "/admin/realms/{realm}/roles/{name}/users"),
        ("GET", "/admin/realms/{realm}/roles-by-id/{id}"),
        ("PUT", "/admin/realms/{realm}/roles-by-id/{id}"),
        ("DELETE", "/admin/realms/{realm}/roles-by-id/{id}"),
        ("GET", "/admin/realms/{realm}/clients/{id}/roles/{name}"),
        ("PUT", "/admin/realms/{realm}/clients/{id}/roles/{name}"),
        (
            "GET",
            "/admin/realms/{realm}/clients/{id}/roles/{name}/users",
        ),
        ("GET", "/admin/realms/{realm}/groups/count"),
        ("GET", "/admin/realms/{realm}/groups/{id}/children"),
        ("GET", "/admin/realms/{realm}/groups/{id}/members"),
        ("GET", "/admin/realms/{realm}/groups/{id}/role-mappings"),
        (
            "GET",
            "/admin/realms/{realm}/groups/{id}/role-mappings/realm/composite",
        ),
        (
            "GET",
            "/admin/realms/{realm}/groups/{id}/role-mappings/realm/available",
        ),
        (
            "GET",
            "/admin/realms/{realm}/groups/{id}/role-mappings/clients/{client}",
        ),
        (
            "POST",
            "/admin/realms/{realm}/groups/{id}/role-mappings/clients/{client}",
        ),
        (
            "DELETE",
            "/admin/realms/{realm}/groups/{id}/role-mappings/clients/{client}",
        ),
        (
            "GET",
            "/admin/realms/{realm}/groups/{id}/role-mappings/clients/{client}/composite",
        ),
        (
            "GET",
            "/admin/realms/{realm}/groups/{id}/role-mappings/clients/{client}/available",
        ),
        (
            "GET",
            "/admin/realms/{realm}/users/{id}/role-mappings/realm",
        ),
        (
            "GET",
            "/admin/realms/{realm}/users/{id}/role-mappings/realm/composite",
        ),
        (
            "GET",
            "/admin/realms/{realm}/users/{id}/role-mappings/realm/available",
        ),
        (
            "GET",
            "/admin/realms/{realm}/users/{id}/role-mappings/clients/{client}",
        ),
        (
            "GET",
            "/admin/realms/{realm}/users/{id}/role-mappings/clients/{client}/composite",
        ),
        (
            "GET",
            "/admin/realms/{realm}/users/{id}/role-mappings/clients/{client}/available",
        ),
        ("GET", "/admin/realms/{realm}/users/{id}/groups/count"),
    ];
    let listed: Vec<(String, String)> = operations
        .iter()
        .map(|(m, p)| (m.to_string().to_uppercase(), p.clone()))
        .collect();
    for (method, path) in expected {
        assert!(
            listed.contains(&(method.to_string(), path.to_string())),
            "{method} {path} missing from {listed:?}"
        );
    }
    assert_eq!(listed.len(), expected.len(), "{listed:?}");
    for (method, path) in &listed {
        let concrete = path
            .replace("{realm}", "demo")
            .replace("{id}", "x")
            .replace("{session}", "x")
            .replace("{name}", "x")
            .replace("{client}", "x")
            .replace("{group}", "x");
        let response = app
            .client
            .request(method.parse().unwrap(), app.url(&concrete))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            401,
            "{method} {concrete} without a token"
        );
    }
}
