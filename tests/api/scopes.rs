//! Client scopes and protocol mappers: what a client's default and
//! optional scopes map lands in access tokens, ID tokens, userinfo and
//! introspection, audience mappers set `aud`, and the admin API shapes it.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{claims, location_params, Backend, TestApp};

/// The admin API against realm `demo`, as one admin token.
struct Demo<'a> {
    app: &'a TestApp,
    token: String,
}

impl Demo<'_> {
    async fn call(&self, method: Method, path: &str, body: Value) -> (u16, Value) {
        self.app
            .admin_as(&self.token, method, &format!("/demo{path}"), body)
            .await
    }

    async fn ok(&self, method: Method, path: &str, body: Value) -> Value {
        let (status, value) = self.call(method.clone(), path, body).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {value}"
        );
        value
    }

    async fn scope_id(&self, name: &str) -> String {
        let scopes = self.ok(Method::GET, "/client-scopes", Value::Null).await;
        scopes
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("scope {name} in {scopes}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

async fn client_credentials(app: &TestApp, scope: Option<&str>) -> reqwest::Response {
    let secret = app.demo_secret();
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    app.token_request("demo", Some(("demo-app", &secret)), &form)
        .await
}

async fn client_scopes_and_mappers_shape_every_token(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let api = Demo {
        app: &app,
        token: app.admin_token().await,
    };

    // Built-in scopes exist, and new clients get the realm's defaults.
    let defaults = api
        .ok(Method::GET, "/default-default-client-scopes", Value::Null)
        .await;
    let names: Vec<&str> = defaults
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["email", "groups", "profile", "roles"]);
    let demo_app = api
        .ok(Method::GET, "/clients?clientId=demo-app", Value::Null)
        .await[0]
        .clone();
    let client = demo_app["id"].as_str().unwrap().to_string();
    assert_eq!(
        demo_app["optionalClientScopes"],
        json!(["offline_access"]),
        "{demo_app}"
    );

    // Alice gets attributes; a custom scope maps them, a constant and an
    // audience.
    let alice = api
        .ok(Method::GET, "/users?username=alice&exact=true", Value::Null)
        .await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    api.ok(
        Method::PUT,
        &format!("/users/{alice}"),
        json!({"attributes": {"department": ["research"], "clearance": ["3"]}}),
    )
    .await;
    api.ok(Method::POST, "/roles", json!({"name": "user"}))
        .await;
    api.ok(
        Method::POST,
        &format!("/users/{alice}/role-mappings/realm"),
        json!([{"name": "user"}]),
    )
    .await;
    let user = api
        .ok(Method::GET, &format!("/users/{alice}"), Value::Null)
        .await;
    assert_eq!(user["attributes"]["department"], json!(["research"]));
    let (status, _) = api
        .call(
            Method::POST,
            "/client-scopes",
            json!({
                "name": "billing",
                "description": "Billing data",
                "protocol": "openid-connect",
                "attributes": {"include.in.token.scope": "true", "consent.screen.text": "See your billing tier"},
                "protocolMappers": [
                    {"name": "department", "protocol": "openid-connect",
                     "protocolMapper": "oidc-usermodel-attribute-mapper",
                     "config": {"user.attribute": "department", "claim.name": "org.department",
                                "jsonType.label": "String", "access.token.claim": "true",
                                "id.token.claim": "true", "userinfo.token.claim": "true"}},
                    {"name": "clearance", "protocolMapper": "oidc-usermodel-attribute-mapper",
                     "config": {"user.attribute": "clearance", "claim.name": "clearance",
                                "jsonType.label": "long", "id.token.claim": "false"}},
                    {"name": "tier", "protocolMapper": "oidc-hardcoded-claim-mapper",
                     "config": {"claim.name": "tier", "claim.value": "gold"}},
                    {"name": "billing audience", "protocolMapper": "oidc-audience-mapper",
                     "config": {"included.custom.audience": "https://billing.example"}}
                ]
            }),
        )
        .await;
    assert_eq!(status, 201);
    let billing = api.scope_id("billing").await;
    api.ok(
        Method::PUT,
        &format!("/clients/{client}/optional-client-scopes/{billing}"),
        Value::Null,
    )
    .await;
    let optional = api
        .ok(
            Method::GET,
            &format!("/clients/{client}/optional-client-scopes"),
            Value::Null,
        )
        .await;
    assert!(optional.to_string().contains("billing"), "{optional}");
    let discovery: Value = app
        .get("/realms/demo/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert!(discovery["scopes_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("billing")));

    // Asked for: the mapped claims in each place their flags allow.
    let tokens = app.alice_tokens("openid billing").await;
    let access = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["org"]["department"], "research");
    assert_eq!(access["clearance"], 3);
    assert_eq!(access["tier"], "gold");
    assert_eq!(access["aud"], "https://billing.example", "audience mapper");
    assert_eq!(access["scope"], "openid billing profile email");
    assert_eq!(access["realm_access"]["roles"], json!(["user"]), "{access}");
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["org"]["department"], "research");
    assert_eq!(id["tier"], "gold");
    assert!(id.get("clearance").is_none(), "not for ID tokens: {id}");
    assert!(
        id.get("realm_access").is_none(),
        "roles go to the access token only"
    );
    assert_eq!(id["aud"], "demo-app");
    assert_eq!(id["email"], "alice@example.com");
    let info: Value = app
        .userinfo("demo", tokens["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["tier"], "gold");
    assert_eq!(info["org"]["department"], "research");
    assert_eq!(info["preferred_username"], "alice");
    let secret = app.demo_secret();
    let intro = app
        .introspect(
            tokens["access_token"].as_str().unwrap(),
            ("demo-app", &secret),
        )
        .await;
    assert_eq!(intro["active"], true);
    assert_eq!(intro["tier"], "gold");
    assert_eq!(intro["aud"], "https://billing.example");

    // A refresh keeps the granted scope and maps again.
    let refreshed: Value = app
        .refresh(tokens["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    let again = claims(refreshed["access_token"].as_str().unwrap());
    assert_eq!(again["tier"], "gold");
    assert_eq!(again["org"]["department"], "research");
    assert_eq!(again["scope"], "openid billing profile email");

    // A requested resource wins over the audience mapper (RFC 9068 §3).
    let (code, verifier) = app.demo_code(&app.browser(), "openid billing").await;
    let response = app
        .token_request(
            "demo",
            Some(("demo-app", &secret)),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", crate::helpers::DEMO_REDIRECT),
                ("code_verifier", &verifier),
                ("resource", "https://api.example/orders"),
            ],
        )
        .await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["aud"],
        "https://api.example/orders"
    );

    // Not asked for: none of it; the client's default audience.
    let plain = app.alice_tokens("openid").await;
    let access = claims(plain["access_token"].as_str().unwrap());
    assert!(access.get("tier").is_none(), "{access}");
    assert_eq!(access["aud"], "demo-app");
    assert_eq!(access["scope"], "openid profile email");

    // Keycloak's audience resolve (in the roles scope): a client whose role
    // the user holds becomes the audience.
    api.ok(
        Method::POST,
        "/clients",
        json!({"clientId": "orders-api", "publicClient": true, "redirectUris": ["https://orders.example/cb"]}),
    )
    .await;
    let orders = api
        .ok(Method::GET, "/clients?clientId=orders-api", Value::Null)
        .await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    api.ok(
        Method::POST,
        &format!("/clients/{orders}/roles"),
        json!({"name": "reader"}),
    )
    .await;
    api.ok(
        Method::POST,
        &format!("/users/{alice}/role-mappings/clients/{orders}"),
        json!([{"name": "reader"}]),
    )
    .await;
    let resolved = app.alice_tokens("openid").await;
    let access = claims(resolved["access_token"].as_str().unwrap());
    assert_eq!(access["aud"], "orders-api", "{access}");
    assert_eq!(access["azp"], "demo-app");
    assert_eq!(
        access["resource_access"]["orders-api"]["roles"],
        json!(["reader"])
    );

    // A client acting for itself gets the scope's constant and audience.
    let cc: Value = client_credentials(&app, Some("billing"))
        .await
        .json()
        .await
        .unwrap();
    let service = claims(cc["access_token"].as_str().unwrap());
    assert_eq!(service["tier"], "gold");
    assert_eq!(service["aud"], "https://billing.example");
    assert!(service.get("org").is_none(), "no user, no attributes");

    // Scopes the client does not have are refused, at both endpoints.
    let (url, _) = app.demo_auth_url("openid payroll", &[]);
    let response = app.browser().get(&url).send().await.unwrap();
    let params = location_params(&response);
    assert_eq!(params["error"], "invalid_scope", "{params:?}");
    assert!(params["error_description"].contains("payroll"));
    let response = client_credentials(&app, Some("payroll")).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_scope");

    // Taking the roles scope off the client takes the roles out of its tokens.
    let roles = api.scope_id("roles").await;
    api.ok(
        Method::DELETE,
        &format!("/clients/{client}/default-client-scopes/{roles}"),
        Value::Null,
    )
    .await;
    let access = claims(
        app.alice_tokens("openid").await["access_token"]
            .as_str()
            .unwrap(),
    );
    assert!(access.get("realm_access").is_none(), "{access}");
    assert_eq!(access["preferred_username"], "alice", "always named");

    // Mappers are checked: no writing Latch's own claims, no unknown types.
    let (status, body) = api
        .call(
            Method::POST,
            &format!("/client-scopes/{billing}/protocol-mappers/models"),
            json!({"name": "evil", "protocolMapper": "oidc-hardcoded-claim-mapper",
                   "config": {"claim.name": "sub", "claim.value": "admin"}}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("sub"));
    let (status, body) = api
        .call(
            Method::POST,
            &format!("/client-scopes/{billing}/protocol-mappers/models"),
            json!({"name": "js", "protocolMapper": "oidc-script-based-protocol-mapper", "config": {}}),
        )
        .await;
    assert_eq!(status, 422, "{body}");

    // A mapper changed takes effect on the next token.
    let mappers = api
        .ok(
            Method::GET,
            &format!("/client-scopes/{billing}/protocol-mappers/models"),
            Value::Null,
        )
        .await;
    let tier = mappers
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "tier")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    api.ok(
        Method::PUT,
        &format!("/client-scopes/{billing}/protocol-mappers/models/{tier}"),
        json!({"config": {"claim.name": "tier", "claim.value": "platinum"}}),
    )
    .await;
    let cc: Value = client_credentials(&app, Some("billing"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        claims(cc["access_token"].as_str().unwrap())["tier"],
        "platinum"
    );

    // Deleting the scope takes it off the client.
    api.ok(
        Method::DELETE,
        &format!("/client-scopes/{billing}"),
        Value::Null,
    )
    .await;
    let demo_app = api
        .ok(Method::GET, &format!("/clients/{client}"), Value::Null)
        .await;
    assert_eq!(demo_app["optionalClientScopes"], json!(["offline_access"]));
    let response = client_credentials(&app, Some("billing")).await;
    assert_eq!(response.status(), 400);
}

crate::both_backends!(client_scopes_and_mappers_shape_every_token);
