//! Writing a realm as Keycloak realm JSON: settings, roles with their
//! composites, groups, clients, client scopes and users with their
//! password hashes in Keycloak's credential format.

use std::collections::BTreeMap;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use serde_json::{json, Map, Value};

use super::BUILT_IN;
use crate::directory::clients::{Client, GrantType};
use crate::directory::realms as realm_dir;
use crate::error::Error;
use crate::store::groups::GroupRow;
use crate::store::realms::Realm;
use crate::store::{self, DbConnection};

/// Every role id → (client id or None for a realm role, role name).
type RoleNames = BTreeMap<String, (Option<String>, String)>;

pub fn export(conn: &mut DbConnection, name: &str) -> Result<Value, Error> {
    whole(conn, name, true)
}

/// The realm document; users (with their password hashes) only when
/// `with_users`.
fn whole(conn: &mut DbConnection, name: &str, with_users: bool) -> Result<Value, Error> {
    let realm = realm_dir::find(conn, name)?;
    let clients: Vec<Client> = store::clients::list(conn, &realm.id)?
        .into_iter()
        .map(Client::from_row)
        .collect::<Result<_, _>>()?;
    let (names, roles) = roles(conn, &realm, &clients)?;
    let groups = store::groups::all(conn, &realm.id)?;
    let groups = group_tree(conn, &groups, None, "", &names)?;
    let users = match with_users {
        true => users(conn, &realm, &names)?,
        false => Vec::new(),
    };
    let scopes = scopes(conn, &realm)?;
    let clients: Vec<Value> = clients
        .iter()
        .filter(|c| !BUILT_IN.contains(&c.client_id.as_str()))
        .map(client)
        .collect();
    let (default_scopes, optional_scopes) =
        crate::directory::scopes::realm_defaults(conn, &realm.id)?;
    Ok(json!({
        "realm": realm.name,
        "enabled": realm.enabled,
        "accessTokenLifespan": realm.access_token_lifetime_s,
        "ssoSessionIdleTimeout": realm.sso_idle_s,
        "ssoSessionMaxLifespan": realm.session_lifetime_s,
        "ssoSessionMaxLifespanRememberMe": realm.remember_me_lifetime_s,
        "offlineSessionIdleTimeout": realm.offline_idle_s,
        "offlineSessionMaxLifespan": realm.offline_token_lifetime_s,
        "rememberMe": realm.remember_me,
        "passwordPolicy": realm.password_policy,
        "attributes": {
            "latch.idTokenLifespan": realm.id_token_lifetime_s.to_string(),
            "latch.refreshTokenLifespan": realm.refresh_token_lifetime_s.to_string(),
            "latch.keyRotationInterval": realm.key_rotation_interval_s.to_string(),
        },
        "roles": roles,
        "groups": groups,
        "clientScopes": scopes,
        "defaultDefaultClientScopes": default_scopes,
        "defaultOptionalClientScopes": optional_scopes,
        "clients": clients,
        "users": users,
    }))
}

/// What Keycloak shows for a secret it will not reveal.
pub const MASKED_SECRET: &str = "**********";

/// Keycloak's partial export of a realm export: never users (nor their
/// password hashes); clients only with `clients` (a confidential client's
/// secret masked, as Keycloak masks it); roles and groups only with
/// `groups_and_roles`.
pub fn partial(
    conn: &mut DbConnection,
    name: &str,
    clients: bool,
    groups_and_roles: bool,
) -> Result<Value, Error> {
    let mut doc = whole(conn, name, false)?;
    let Some(object) = doc.as_object_mut() else {
        return Ok(doc);
    };
    object.remove("users");
    if !groups_and_roles {
        object.remove("roles");
        object.remove("groups");
    }
    match object.get_mut("clients").and_then(Value::as_array_mut) {
        Some(list) if clients => {
            for client in list.iter_mut().filter_map(Value::as_object_mut) {
                if client.get("publicClient") == Some(&Value::Bool(false)) {
                    client.insert("secret".into(), MASKED_SECRET.into());
                }
            }
        }
        _ => {
            object.remove("clients");
        }
    }
    Ok(doc)
}

/// The `roles` section (realm roles with their composites, client roles
/// by client), and every role's name for the mappings that follow.
fn roles(
    conn: &mut DbConnection,
    realm: &Realm,
    clients: &[Client],
) -> Result<(RoleNames, Value), Error> {
    let mut names = RoleNames::new();
    let realm_roles = store::roles::list(conn, &realm.id)?;
    for r in &realm_roles {
        names.insert(r.id.clone(), (None, r.name.clone()));
    }
    let mut client_roles = Map::new();
    for c in clients {
        let roles = store::roles::client_roles_of(conn, &c.id)?;
        for r in &roles {
            names.insert(r.id.clone(), (Some(c.client_id.clone()), r.name.clone()));
        }
        if !roles.is_empty() {
            let list = roles
                .iter()
                .map(|r| json!({"name": r.name, "description": r.description}))
                .collect();
            client_roles.insert(c.client_id.clone(), Value::Array(list));
        }
    }
    let mut realm_json = Vec::new();
    for r in &realm_roles {
        let (realm_c, client_c) = split_roles(&store::roles::composites_of(conn, &r.id)?, &names);
        let composite = !realm_c.is_empty() || !client_c.is_empty();
        realm_json.push(json!({
            "name": r.name,
            "description": r.description,
            "composite": composite,
            "composites": {"realm": realm_c, "client": client_c},
        }));
    }
    Ok((names, json!({"realm": realm_json, "client": client_roles})))
}

fn client(c: &Client) -> Value {
    let mut attributes = Map::new();
    if !c.post_logout_redirect_uris.is_empty() {
        attributes.insert(
            "post.logout.redirect.uris".into(),
            c.post_logout_redirect_uris.join("##").into(),
        );
    }
    if let Some(u) = &c.backchannel_logout_uri {
        attributes.insert("backchannel.logout.url".into(), u.clone().into());
    }
    if let Some(u) = &c.frontchannel_logout_uri {
        attributes.insert("frontchannel.logout.url".into(), u.clone().into());
    }
    json!({
        "clientId": c.client_id,
        "name": c.name,
        "description": c.description,
        "enabled": c.enabled,
        "publicClient": c.is_public(),
        "redirectUris": c.redirect_uris,
        "webOrigins": c.web_origins,
        "standardFlowEnabled": c.allows(GrantType::AuthorizationCode),
        "serviceAccountsEnabled": c.allows(GrantType::ClientCredentials),
        "directAccessGrantsEnabled": c.allows(GrantType::Password),
        "consentRequired": c.consent_required,
        "defaultClientScopes": c.default_scopes,
        "optionalClientScopes": c.optional_scopes,
        "attributes": attributes,
    })
}

fn users(conn: &mut DbConnection, realm: &Realm, names: &RoleNames) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for u in store::users::search(conn, &realm.id, &Default::default(), 0, i64::MAX)? {
        let (realm_roles, client_roles) = split_roles(&role_ids_of(conn, &u.id)?, names);
        let mut group_paths = Vec::new();
        for g in store::groups::of_user(conn, &u.id)? {
            group_paths.push(store::roles::group_path(conn, &g.id)?);
        }
        let credentials: Vec<Value> = u
            .password_hash
            .as_deref()
            .and_then(credential)
            .into_iter()
            .collect();
        out.push(json!({
            "username": u.username,
            "email": u.email,
            "emailVerified": u.email_verified,
            "firstName": u.first_name,
            "lastName": u.last_name,
            "enabled": u.enabled,
            "createdTimestamp": u.created_at_ms,
            "requiredActions": u.required_actions(),
            "realmRoles": realm_roles,
            "clientRoles": client_roles,
            "groups": group_paths,
            "credentials": credentials,
            "attributes": store::scopes::attributes(conn, &u.id)?,
        }));
    }
    Ok(out)
}

/// The ids of the realm and client roles granted to the user directly.
fn role_ids_of(conn: &mut DbConnection, user_id: &str) -> Result<Vec<String>, Error> {
    use diesel::prelude::*;
    use store::schema::{user_client_roles, user_roles};
    let mut ids: Vec<String> = user_roles::table
        .filter(user_roles::user_id.eq(user_id))
        .select(user_roles::role_id)
        .load(conn)?;
    ids.extend(
        user_client_roles::table
            .filter(user_client_roles::user_id.eq(user_id))
            .select(user_client_roles::role_id)
            .load::<String>(conn)?,
    );
    Ok(ids)
}

/// Client scopes with their mappers, without the ids of this database.
fn scopes(conn: &mut DbConnection, realm: &Realm) -> Result<Vec<Value>, Error> {
    let rows = store::scopes::list(conn, &realm.id)?;
    let mappers = store::scopes::mappers_of_realm(conn, &realm.id)?;
    Ok(rows
        .iter()
        .map(|row| {
            let mut rep = crate::directory::scopes::representation(row, &mappers);
            rep.id = None;
            for m in rep.protocol_mappers.iter_mut().flatten() {
                m.id = None;
            }
            serde_json::to_value(rep).unwrap_or(Value::Null)
        })
        .collect())
}

fn credential(hash: &str) -> Option<Value> {
    if crate::login::password::needs_upgrade(hash) {
        return pbkdf2_credential(hash);
    }
    // $argon2id$v=19$m=19456,t=2,p=1$salt$hash → Keycloak's argon2 credential.
    let parts: Vec<&str> = hash.split('$').collect();
    let [_, kind, _version, params, salt, value] = parts.as_slice() else {
        return None;
    };
    let mut m = BTreeMap::new();
    for pair in params.split(',') {
        let (k, v) = pair.split_once('=')?;
        m.insert(k, v);
    }
    let salt = STANDARD.encode(STANDARD_NO_PAD.decode(salt).ok()?);
    let raw = STANDARD_NO_PAD.decode(value).ok()?;
    Some(json!({
        "type": "password",
        "secretData": json!({"value": STANDARD.encode(&raw), "salt": salt, "additionalParameters": {}}).to_string(),
        "credentialData": json!({
            "hashIterations": m.get("t")?.parse::<u32>().ok()?,
            "algorithm": "argon2",
            "additionalParameters": {
                "hashLength": [raw.len().to_string()],
                "memory": [m.get("m")?.to_string()],
                "type": [kind.trim_start_matches("argon2").to_string()],
                "version": ["1.3"],
                "parallelism": [m.get("p")?.to_string()],
            }
        }).to_string(),
    }))
}

/// $pbkdf2-sha256$i=N$salt$hash → Keycloak's pbkdf2 credential.
fn pbkdf2_credential(hash: &str) -> Option<Value> {
    let parts: Vec<&str> = hash.split('$').collect();
    let [_, algorithm, iterations, salt, value] = parts.as_slice() else {
        return None;
    };
    let iterations: u32 = iterations.strip_prefix("i=")?.parse().ok()?;
    Some(json!({
        "type": "password",
        "secretData": json!({"value": value, "salt": salt, "additionalParameters": {}}).to_string(),
        "credentialData": json!({"hashIterations": iterations, "algorithm": algorithm, "additionalParameters": {}}).to_string(),
    }))
}

fn group_tree(
    conn: &mut DbConnection,
    all: &[GroupRow],
    parent: Option<&str>,
    prefix: &str,
    role_names: &RoleNames,
) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for g in all.iter().filter(|g| g.parent_id.as_deref() == parent) {
        let path = format!("{prefix}/{}", g.name);
        let (realm_roles, client_roles) =
            split_roles(&store::groups::role_ids(conn, &g.id)?, role_names);
        out.push(json!({
            "name": g.name,
            "path": path,
            "realmRoles": realm_roles,
            "clientRoles": client_roles,
            "subGroups": group_tree(conn, all, Some(&g.id), &path, role_names)?,
        }));
    }
    Ok(out)
}

/// Role ids → (realm role names, client id → client role names).
fn split_roles(ids: &[String], names: &RoleNames) -> (Vec<String>, BTreeMap<String, Vec<String>>) {
    let (mut realm, mut clients) = (Vec::new(), BTreeMap::<String, Vec<String>>::new());
    for id in ids {
        match names.get(id) {
            Some((None, name)) => realm.push(name.clone()),
            Some((Some(client), name)) => clients
                .entry(client.clone())
                .or_default()
                .push(name.clone()),
            None => {}
        }
    }
    realm.sort();
    (realm, clients)
}
