//! Realm export and import in Keycloak's realm JSON: a realm moves to a
//! fresh server and its users sign in with the same passwords; a file
//! written the way Keycloak writes one imports, its PBKDF2 password works
//! and is upgraded to argon2id on first use, unknown fields are reported.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::{claims, Backend, TestApp};

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

async fn a_realm_moves_to_a_fresh_server_with_its_passwords(backend: Backend) {
    use reqwest::Method;
    let source = crate::helpers::spawn_app(backend).await;
    let token = source.admin_token().await;
    for (path, body) in [
        (
            "/demo/users",
            json!({"username": "bob", "firstName": "Bob", "attributes": {"team": ["blue"]},
                   "credentials": [{"type": "password", "value": "bob's own password"}]}),
        ),
        (
            "/demo/client-scopes",
            json!({"name": "team", "protocolMappers": [{"name": "team",
                   "protocolMapper": "oidc-usermodel-attribute-mapper",
                   "config": {"user.attribute": "team", "claim.name": "team"}}]}),
        ),
        (
            "/demo/clients",
            json!({"clientId": "cli", "publicClient": true, "standardFlowEnabled": false, "directAccessGrantsEnabled": true,
                   "defaultClientScopes": ["team", "roles", "groups"]}),
        ),
        ("/demo/roles", json!({"name": "editor"})),
        ("/demo/groups", json!({"name": "staff"})),
    ] {
        assert_eq!(
            source.admin_as(&token, Method::POST, path, body).await.0,
            201,
            "{path}"
        );
    }
    let (_, users) = source
        .admin_as(
            &token,
            Method::GET,
            "/demo/users?username=bob&exact=true",
            Value::Null,
        )
        .await;
    let bob = users[0]["id"].as_str().unwrap().to_string();
    let (_, groups) = source
        .admin_as(&token, Method::GET, "/demo/groups", Value::Null)
        .await;
    let staff = groups[0]["id"].as_str().unwrap().to_string();
    source
        .admin_as(
            &token,
            Method::POST,
            &format!("/demo/users/{bob}/role-mappings/realm"),
            json!([{"name": "editor"}]),
        )
        .await;
    source
        .admin_as(
            &token,
            Method::PUT,
            &format!("/demo/users/{bob}/groups/{staff}"),
            Value::Null,
        )
        .await;

    let (status, mut doc) = source
        .admin_as(&token, Method::GET, "/demo/export", Value::Null)
        .await;
    assert_eq!(status, 200);
    let exported_bob = doc["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "bob")
        .unwrap()
        .clone();
    assert_eq!(exported_bob["realmRoles"], json!(["editor"]));
    assert_eq!(exported_bob["attributes"], json!({"team": ["blue"]}));
    assert!(doc["clientScopes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "team"));
    assert_eq!(exported_bob["groups"], json!(["/staff"]));
    let credential_data: Value = serde_json::from_str(
        exported_bob["credentials"][0]["credentialData"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        credential_data["algorithm"], "argon2",
        "Keycloak's argon2 credential format"
    );
    // The CLI writes the same document.
    let cli = source.cli(&["realm", "export", "demo"]);
    assert!(cli.status.success(), "{}", crate::helpers::describe(&cli));
    let from_cli: Value = serde_json::from_str(&crate::helpers::stdout(&cli)).unwrap();
    assert_eq!(
        from_cli["users"].as_array().unwrap().len(),
        doc["users"].as_array().unwrap().len()
    );

    let target = crate::helpers::spawn_app(backend).await;
    let target_token = target.admin_token().await;
    doc["realm"] = json!("acme");
    let (status, report) = target
        .admin_as(&target_token, Method::POST, "/import", doc)
        .await;
    assert_eq!(status, 201, "{report}");
    assert_eq!(report["realm"], "acme");
    assert!(report["users"].as_u64().unwrap() >= 2);
    let signed_in = password_grant(&target, "acme", "cli", "bob", "bob's own password").await;
    assert_eq!(
        signed_in.status(),
        200,
        "bob signs in on the new server with his password"
    );
    let body: Value = signed_in.json().await.unwrap();
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(c["realm_access"]["roles"], json!(["editor"]));
    assert_eq!(c["groups"], json!(["/staff"]));
    assert_eq!(
        c["team"], "blue",
        "the scope, its mapper and the attribute moved"
    );
    assert_eq!(c["scope"], "openid team", "the client's own default scopes");
    assert_eq!(
        password_grant(&target, "acme", "cli", "bob", "not his password")
            .await
            .status(),
        400
    );
    let (status, _) = target
        .admin_as(
            &target_token,
            Method::POST,
            "/import",
            json!({"realm": "acme"}),
        )
        .await;
    assert_eq!(status, 409, "the realm exists already");
}

async fn a_keycloak_file_imports_and_its_pbkdf2_password_is_upgraded(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let password = "kc user's password";
    let salt = b"0123456789abcdef";
    let mut derived = [0u8; 64];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), salt, 27_500, &mut derived);
    // Shaped like Keycloak's own export (a trimmed realm file).
    let file = json!({
        "id": "8f2e3b1a-kc",
        "realm": "kc",
        "enabled": true,
        "sslRequired": "external",
        "accessTokenLifespan": 120,
        "ssoSessionIdleTimeout": 1800,
        "roles": {"realm": [{"name": "viewer", "composite": false}, {"name": "default-roles-kc"}]},
        "groups": [{"name": "team", "path": "/team", "realmRoles": ["viewer"], "subGroups": []}],
        "clientScopes": [
            {"name": "department", "protocol": "openid-connect",
             "attributes": {"include.in.token.scope": "true", "display.on.consent.screen": "true"},
             "protocolMappers": [
                {"name": "department", "protocol": "openid-connect",
                 "protocolMapper": "oidc-usermodel-attribute-mapper", "consentRequired": false,
                 "config": {"user.attribute": "department", "claim.name": "department",
                            "jsonType.label": "String", "access.token.claim": "true",
                            "id.token.claim": "true", "userinfo.token.claim": "true"}},
                {"name": "address", "protocol": "openid-connect",
                 "protocolMapper": "oidc-address-mapper", "consentRequired": false, "config": {}}
             ]},
            {"name": "role_list", "protocol": "saml", "protocolMappers": []},
            // Keycloak's user profile maps the names as attributes.
            {"name": "profile", "protocol": "openid-connect",
             "attributes": {"include.in.token.scope": "true"},
             "protocolMappers": [
                {"name": "given name", "protocol": "openid-connect",
                 "protocolMapper": "oidc-usermodel-attribute-mapper", "consentRequired": false,
                 "config": {"user.attribute": "firstName", "claim.name": "given_name",
                            "jsonType.label": "String", "access.token.claim": "true",
                            "id.token.claim": "true", "userinfo.token.claim": "true"}}
             ]}
        ],
        "defaultDefaultClientScopes": ["department", "profile", "roles"],
        "clients": [{
            "clientId": "kc-cli", "publicClient": true, "standardFlowEnabled": false,
            "directAccessGrantsEnabled": true, "protocol": "openid-connect",
            "defaultClientScopes": ["department", "profile", "roles", "web-origins"]
        }],
        "users": [{
            "username": "kcuser", "firstName": "Kim", "enabled": true, "totp": false, "emailVerified": true,
            "groups": ["/team"], "attributes": {"department": ["sales"]},
            "credentials": [{
                "type": "password",
                "secretData": json!({"value": STANDARD.encode(derived), "salt": STANDARD.encode(salt), "additionalParameters": {}}).to_string(),
                "credentialData": json!({"hashIterations": 27500, "algorithm": "pbkdf2-sha256", "additionalParameters": {}}).to_string()
            }]
        }]
    });
    let path = app.db.dir.path().join("kc-realm.json");
    std::fs::write(&path, file.to_string()).unwrap();
    let output = app.cli(&["realm", "import", path.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "{}",
        crate::helpers::describe(&output)
    );
    let printed = crate::helpers::stdout(&output);
    assert!(
        printed.contains("imported realm kc: 1 users, 1 clients"),
        "{printed}"
    );
    for unknown in [
        "sslRequired",
        "clients[0].protocol",
        "users[0].totp",
        "oidc-address-mapper",
        "protocol saml",
        "web-origins",
    ] {
        assert!(
            printed.contains(unknown),
            "{unknown} is reported: {printed}"
        );
    }

    let signed_in = password_grant(&app, "kc", "kc-cli", "kcuser", password).await;
    assert_eq!(signed_in.status(), 200, "the Keycloak hash verifies");
    let body: Value = signed_in.json().await.unwrap();
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(
        c["realm_access"]["roles"],
        json!(["viewer"]),
        "through the group"
    );
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 120);
    assert_eq!(c["department"], "sales", "the file's scope and mapper");
    assert_eq!(c["given_name"], "Kim", "firstName mapped as an attribute");
    // Upgraded: the export now shows an argon2 credential, and it still works.
    let token = app.admin_token().await;
    let (_, doc) = app
        .admin_as(&token, reqwest::Method::GET, "/kc/export", Value::Null)
        .await;
    let data: Value = serde_json::from_str(
        doc["users"][0]["credentials"][0]["credentialData"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(data["algorithm"], "argon2");
    assert_eq!(
        password_grant(&app, "kc", "kc-cli", "kcuser", password)
            .await
            .status(),
        200
    );
    assert_eq!(
        password_grant(&app, "kc", "kc-cli", "kcuser", "wrong")
            .await
            .status(),
        400
    );
}

crate::both_backends!(
    a_realm_moves_to_a_fresh_server_with_its_passwords,
    a_keycloak_file_imports_and_its_pbkdf2_password_is_upgraded,
);
