//! Realm export and import in Keycloak's realm JSON: settings, clients,
//! realm and client roles (with composites), groups, users with their
//! password credentials. Keycloak's PBKDF2 hashes import as they are and
//! are upgraded to argon2id at the user's first sign-in; argon2 hashes
//! travel in Keycloak's argon2 credential format. Fields Latch does not
//! know are reported, never silently dropped. Client secrets are stored as
//! keyed hashes and cannot be exported: an imported confidential client
//! keeps the secret the file carries, or gets a new one (reported).

use std::collections::BTreeMap;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use serde_json::{json, Map, Value};

use super::bootstrap::{ACCOUNT_CLIENT, ADMIN_CLI, CONSOLE_CLIENT};
use super::clients::{self as client_dir, Client, Credentials, GrantType, NewClient};
use super::{realms as realm_dir, users as user_dir};
use crate::crypto::{self, MasterKey};
use crate::error::Error;
use crate::store::groups::GroupRow;
use crate::store::realms::{Realm, RealmChanges};
use crate::store::roles::{ClientRoleRow, RoleRow};
use crate::store::{self, DbConnection};
use crate::time::now_ms;

const BUILT_IN: [&str; 3] = [ADMIN_CLI, CONSOLE_CLIENT, ACCOUNT_CLIENT];

// ---- export -------------------------------------------------------------------

fn credential(hash: &str) -> Option<Value> {
    if crate::login::password::needs_upgrade(hash) {
        // $pbkdf2-sha256$i=N$salt$hash → Keycloak's pbkdf2 credential.
        let parts: Vec<&str> = hash.split('$').collect();
        let [_, algorithm, iterations, salt, value] = parts.as_slice() else {
            return None;
        };
        let iterations: u32 = iterations.strip_prefix("i=")?.parse().ok()?;
        return Some(json!({
            "type": "password",
            "secretData": json!({"value": value, "salt": salt, "additionalParameters": {}}).to_string(),
            "credentialData": json!({"hashIterations": iterations, "algorithm": algorithm, "additionalParameters": {}}).to_string(),
        }));
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

fn group_tree(
    conn: &mut DbConnection,
    all: &[GroupRow],
    parent: Option<&str>,
    prefix: &str,
    role_names: &BTreeMap<String, (Option<String>, String)>,
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
fn split_roles(
    ids: &[String],
    names: &BTreeMap<String, (Option<String>, String)>,
) -> (Vec<String>, BTreeMap<String, Vec<String>>) {
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

pub fn export(conn: &mut DbConnection, name: &str) -> Result<Value, Error> {
    use diesel::prelude::*;
    let realm = realm_dir::find(conn, name)?;
    let clients: Vec<Client> = store::clients::list(conn, &realm.id)?
        .into_iter()
        .map(Client::from_row)
        .collect::<Result<_, _>>()?;
    // Every role id → (client id or None, name), for mappings.
    let mut names: BTreeMap<String, (Option<String>, String)> = BTreeMap::new();
    let realm_roles = store::roles::list(conn, &realm.id)?;
    for r in &realm_roles {
        names.insert(r.id.clone(), (None, r.name.clone()));
    }
    let mut client_roles_json = Map::new();
    for c in &clients {
        let roles = store::roles::client_roles_of(conn, &c.id)?;
        for r in &roles {
            names.insert(r.id.clone(), (Some(c.client_id.clone()), r.name.clone()));
        }
        if !roles.is_empty() {
            client_roles_json.insert(
                c.client_id.clone(),
                Value::Array(
                    roles
                        .iter()
                        .map(|r| json!({"name": r.name, "description": r.description}))
                        .collect(),
                ),
            );
        }
    }
    let mut realm_roles_json = Vec::new();
    for r in &realm_roles {
        let (realm_c, client_c) = split_roles(&store::roles::composites_of(conn, &r.id)?, &names);
        let composite = !realm_c.is_empty() || !client_c.is_empty();
        realm_roles_json.push(json!({
            "name": r.name,
            "description": r.description,
            "composite": composite,
            "composites": {"realm": realm_c, "client": client_c},
        }));
    }
    let groups = store::groups::all(conn, &realm.id)?;
    let groups_json = group_tree(conn, &groups, None, "", &names)?;
    let clients_json: Vec<Value> = clients
        .iter()
        .filter(|c| !BUILT_IN.contains(&c.client_id.as_str()))
        .map(|c| {
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
        })
        .collect();
    let mut users_json = Vec::new();
    let users = store::users::search(conn, &realm.id, &Default::default(), 0, i64::MAX)?;
    for u in &users {
        let mut ids: Vec<String> = store::schema::user_roles::table
            .filter(store::schema::user_roles::user_id.eq(&u.id))
            .select(store::schema::user_roles::role_id)
            .load(conn)?;
        ids.extend(
            store::schema::user_client_roles::table
                .filter(store::schema::user_client_roles::user_id.eq(&u.id))
                .select(store::schema::user_client_roles::role_id)
                .load::<String>(conn)?,
        );
        let (realm_r, client_r) = split_roles(&ids, &names);
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
        users_json.push(json!({
            "username": u.username,
            "email": u.email,
            "firstName": u.first_name,
            "lastName": u.last_name,
            "enabled": u.enabled,
            "createdTimestamp": u.created_at_ms,
            "requiredActions": u.required_actions(),
            "realmRoles": realm_r,
            "clientRoles": client_r,
            "groups": group_paths,
            "credentials": credentials,
            "attributes": store::scopes::attributes(conn, &u.id)?,
        }));
    }
    let scope_rows = store::scopes::list(conn, &realm.id)?;
    let mappers = store::scopes::mappers_of_realm(conn, &realm.id)?;
    let scopes_json: Vec<Value> = scope_rows
        .iter()
        .map(|row| {
            let mut rep = super::scopes::representation(row, &mappers);
            rep.id = None;
            for m in rep.protocol_mappers.iter_mut().flatten() {
                m.id = None;
            }
            serde_json::to_value(rep).unwrap_or(Value::Null)
        })
        .collect();
    let (default_scopes, optional_scopes) = super::scopes::realm_defaults(conn, &realm.id)?;
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
        "roles": {"realm": realm_roles_json, "client": client_roles_json},
        "groups": groups_json,
        "clientScopes": scopes_json,
        "defaultDefaultClientScopes": default_scopes,
        "defaultOptionalClientScopes": optional_scopes,
        "clients": clients_json,
        "users": users_json,
    }))
}

// ---- import ---------------------------------------------------------------------

/// What an import did, and what it could not carry over.
#[derive(Debug, Default, serde::Serialize)]
pub struct ImportReport {
    pub realm: String,
    pub users: usize,
    pub clients: usize,
    pub roles: usize,
    pub groups: usize,
    pub client_scopes: usize,
    /// Confidential clients imported without a secret, and their new one.
    pub generated_secrets: BTreeMap<String, String>,
    /// Fields Latch does not know, with their place in the file, and what
    /// it cannot run (a SAML scope, an unsupported mapper type).
    pub unknown_fields: Vec<String>,
}

fn note_unknown(object: &Map<String, Value>, known: &[&str], at: &str, report: &mut ImportReport) {
    for key in object.keys() {
        if !known.contains(&key.as_str()) {
            report.unknown_fields.push(format!("{at}{key}"));
        }
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn number(v: &Value, key: &str) -> Option<i64> {
    v.get(key)
        .and_then(|n| n.as_i64().or_else(|| n.as_str()?.parse().ok()))
}

/// Keycloak's password credential → Latch's stored hash.
fn stored_hash(credential: &Value) -> Result<Option<String>, Error> {
    let parse = |field: &str| -> Option<Value> {
        match credential.get(field)? {
            Value::String(s) => serde_json::from_str(s).ok(),
            other => Some(other.clone()),
        }
    };
    let (Some(secret), Some(data)) = (parse("secretData"), parse("credentialData")) else {
        return Ok(None);
    };
    let bad = || Error::Invalid("a password credential is malformed".into());
    let decode = |s: Option<String>| s.and_then(|s| STANDARD.decode(s).ok()).ok_or_else(bad);
    let value = decode(text(&secret, "value"))?;
    let salt = decode(text(&secret, "salt"))?;
    let iterations = number(&data, "hashIterations").ok_or_else(bad)? as u32;
    let algorithm = text(&data, "algorithm").unwrap_or_default();
    Ok(Some(match algorithm.as_str() {
        "pbkdf2-sha256" => crate::login::password::pbkdf2_stored("sha256", iterations, &salt, &value),
        "pbkdf2-sha512" => crate::login::password::pbkdf2_stored("sha512", iterations, &salt, &value),
        "argon2" => {
            let extra = data.get("additionalParameters").cloned().unwrap_or(Value::Null);
            let first = |k: &str| extra.get(k).and_then(|a| a.get(0)).and_then(Value::as_str).map(str::to_string);
            format!(
                "$argon2{}$v=19$m={},t={iterations},p={}${}${}",
                first("type").unwrap_or_else(|| "id".into()),
                first("memory").unwrap_or_else(|| "7168".into()),
                first("parallelism").unwrap_or_else(|| "1".into()),
                STANDARD_NO_PAD.encode(&salt),
                STANDARD_NO_PAD.encode(&value)
            )
        }
        other => {
            return Err(Error::Invalid(format!(
                "password algorithm `{other}` cannot be imported (pbkdf2-sha256, pbkdf2-sha512, argon2)"
            )))
        }
    }))
}

const REALM_FIELDS: &[&str] = &[
    "id",
    "realm",
    "enabled",
    "accessTokenLifespan",
    "ssoSessionIdleTimeout",
    "ssoSessionMaxLifespan",
    "ssoSessionMaxLifespanRememberMe",
    "offlineSessionIdleTimeout",
    "offlineSessionMaxLifespan",
    "rememberMe",
    "passwordPolicy",
    "attributes",
    "roles",
    "groups",
    "clients",
    "users",
    "clientScopes",
    "defaultDefaultClientScopes",
    "defaultOptionalClientScopes",
];
const SCOPE_FIELDS: &[&str] = &[
    "id",
    "name",
    "description",
    "protocol",
    "attributes",
    "protocolMappers",
];
const CLIENT_FIELDS: &[&str] = &[
    "id",
    "clientId",
    "enabled",
    "publicClient",
    "secret",
    "redirectUris",
    "webOrigins",
    "standardFlowEnabled",
    "serviceAccountsEnabled",
    "directAccessGrantsEnabled",
    "consentRequired",
    "attributes",
    "frontchannelLogout",
    "defaultClientScopes",
    "optionalClientScopes",
];
const USER_FIELDS: &[&str] = &[
    "id",
    "username",
    "email",
    "firstName",
    "lastName",
    "enabled",
    "createdTimestamp",
    "requiredActions",
    "realmRoles",
    "clientRoles",
    "groups",
    "credentials",
    "emailVerified",
    "attributes",
];

/// Imports a realm that does not exist yet, all in one transaction.
pub fn import(
    conn: &mut DbConnection,
    master: &MasterKey,
    doc: &Value,
    public_base: &str,
) -> Result<ImportReport, Error> {
    let object = doc
        .as_object()
        .ok_or_else(|| Error::Invalid("a realm file is a JSON object".into()))?;
    let name = text(doc, "realm")
        .ok_or_else(|| Error::Invalid("the file names no realm (`realm`)".into()))?;
    let mut report = ImportReport {
        realm: name.clone(),
        ..Default::default()
    };
    note_unknown(object, REALM_FIELDS, "", &mut report);
    store::write(conn, |conn| {
        let realm = realm_dir::create(conn, master, &name)?;
        let attr = |k: &str| doc.get("attributes").and_then(|a| number(a, k));
        let changes = RealmChanges {
            access_token_lifetime_s: number(doc, "accessTokenLifespan"),
            id_token_lifetime_s: attr("latch.idTokenLifespan"),
            refresh_token_lifetime_s: attr("latch.refreshTokenLifespan"),
            key_rotation_interval_s: attr("latch.keyRotationInterval"),
            session_lifetime_s: number(doc, "ssoSessionMaxLifespan").filter(|n| *n > 0),
            sso_idle_s: number(doc, "ssoSessionIdleTimeout").filter(|n| *n > 0),
            remember_me_lifetime_s: number(doc, "ssoSessionMaxLifespanRememberMe")
                .filter(|n| *n > 0),
            offline_idle_s: number(doc, "offlineSessionIdleTimeout").filter(|n| *n > 0),
            offline_token_lifetime_s: number(doc, "offlineSessionMaxLifespan").filter(|n| *n > 0),
            remember_me: doc.get("rememberMe").and_then(Value::as_bool),
            password_policy: text(doc, "passwordPolicy")
                .map(|p| crate::login::policy::PasswordPolicy::parse(&p).map(|p| p.to_string()))
                .transpose()
                .map_err(Error::Invalid)?,
            ..Default::default()
        };
        let realm = realm_dir::update(conn, &realm.name, &changes)?;
        super::bootstrap::ensure_builtins(conn, master, &realm, public_base)?;
        import_scopes(conn, &realm, doc, &mut report)?;
        import_clients(conn, master, &realm, doc, &mut report)?;
        let roles = import_roles(conn, &realm, doc, &mut report)?;
        let groups = import_groups(
            conn,
            &realm,
            doc.get("groups"),
            None,
            "",
            &roles,
            &mut report,
        )?;
        import_users(conn, &realm, doc, &roles, &groups, &mut report)?;
        Ok(report)
    })
}

/// Client scopes: a scope named like a built-in one replaces it; mappers
/// Latch cannot run and non-OpenID scopes are reported, not imported.
fn import_scopes(
    conn: &mut DbConnection,
    realm: &Realm,
    doc: &Value,
    report: &mut ImportReport,
) -> Result<(), Error> {
    use super::scopes::{self as scope_dir, ClientScopeRepresentation, Kind};
    for (i, c) in doc
        .get("clientScopes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let at = format!("clientScopes[{i}]");
        if let Some(o) = c.as_object() {
            note_unknown(o, SCOPE_FIELDS, &format!("{at}."), report);
        }
        let protocol = text(c, "protocol").unwrap_or_else(|| "openid-connect".into());
        if protocol != "openid-connect" {
            report
                .unknown_fields
                .push(format!("{at} (protocol {protocol})"));
            continue;
        }
        let mut rep: ClientScopeRepresentation =
            serde_json::from_value(c.clone()).map_err(|e| Error::Invalid(format!("{at}: {e}")))?;
        rep.id = None;
        let mut mappers = Vec::new();
        for (j, m) in rep
            .protocol_mappers
            .take()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let mut m = m;
            m.id = None;
            match scope_dir::mapper_row("check", &m, 0) {
                Ok(_) => mappers.push(m),
                Err(e) => report.unknown_fields.push(format!(
                    "{at}.protocolMappers[{j}] ({}): {e}",
                    m.protocol_mapper.as_deref().unwrap_or("no type")
                )),
            }
        }
        rep.protocol_mappers = Some(mappers);
        let name = rep.name.clone().unwrap_or_default();
        if let Some(existing) = store::scopes::list(conn, &realm.id)?
            .into_iter()
            .find(|s| s.name == name)
        {
            store::scopes::delete(conn, &existing.id)?;
        }
        scope_dir::create_scope(conn, realm, &rep)?;
        report.client_scopes += 1;
    }
    let lists = [
        ("defaultDefaultClientScopes", Kind::Default),
        ("defaultOptionalClientScopes", Kind::Optional),
    ];
    if lists.iter().any(|(key, _)| doc.get(*key).is_some()) {
        for row in store::scopes::list(conn, &realm.id)? {
            let kind = lists
                .iter()
                .find(|(key, _)| strings(doc, key).contains(&row.name))
                .map(|(_, kind)| *kind);
            let mut row = row;
            row.realm_default = kind.map(|k| k.as_str().to_string());
            store::scopes::update(conn, &row)?;
        }
    }
    Ok(())
}

fn import_clients(
    conn: &mut DbConnection,
    master: &MasterKey,
    realm: &Realm,
    doc: &Value,
    report: &mut ImportReport,
) -> Result<(), Error> {
    for (i, c) in doc
        .get("clients")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let Some(client_id) = text(c, "clientId") else {
            continue;
        };
        if BUILT_IN.contains(&client_id.as_str())
            || client_id.starts_with("realm-management")
            || client_id == "broker"
            || client_id == "account"
        {
            continue;
        }
        if let Some(o) = c.as_object() {
            note_unknown(o, CLIENT_FIELDS, &format!("clients[{i}]."), report);
        }
        let flag = |k: &str, default: bool| c.get(k).and_then(Value::as_bool).unwrap_or(default);
        let public = flag("publicClient", false);
        let attributes = c.get("attributes").cloned().unwrap_or(Value::Null);
        let mut grants = Vec::new();
        if flag("standardFlowEnabled", true) {
            grants.push(GrantType::AuthorizationCode);
            grants.push(GrantType::RefreshToken);
        }
        if flag("serviceAccountsEnabled", false) && !public {
            grants.push(GrantType::ClientCredentials);
        }
        if flag("directAccessGrantsEnabled", false) {
            grants.push(GrantType::Password);
        }
        let redirect_uris: Vec<String> = strings(c, "redirectUris")
            .into_iter()
            .filter(|u| client_dir::validate_redirect_uri(u).is_ok())
            .collect();
        if redirect_uris.is_empty() {
            grants.retain(|g| *g != GrantType::AuthorizationCode);
        }
        if grants.is_empty() {
            grants.push(GrantType::RefreshToken);
        }
        let secret = text(c, "secret").filter(|s| s.len() >= client_dir::MIN_SECRET_LEN && !public);
        let credentials = match (public, &secret) {
            (true, _) => Credentials::Public,
            (false, Some(s)) => Credentials::Secret(s.clone()),
            (false, None) => Credentials::GenerateSecret,
        };
        let (client, generated) = client_dir::create(
            conn,
            master,
            realm,
            NewClient {
                client_id: client_id.clone(),
                credentials,
                redirect_uris,
                post_logout_redirect_uris: text(&attributes, "post.logout.redirect.uris")
                    .map(|v| {
                        v.split("##")
                            .filter(|s| client_dir::validate_redirect_uri(s).is_ok())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
                grant_types: grants,
                backchannel_logout_uri: text(&attributes, "backchannel.logout.url")
                    .filter(|u| client_dir::validate_redirect_uri(u).is_ok()),
                consent_required: flag("consentRequired", false),
                introspect_any: false,
                frontchannel_logout_uri: text(&attributes, "frontchannel.logout.url")
                    .filter(|u| client_dir::validate_redirect_uri(u).is_ok()),
            },
        )?;
        if secret.is_none() {
            if let Some(s) = generated {
                report.generated_secrets.insert(client_id.clone(), s);
            }
        }
        let origins = strings(c, "webOrigins");
        let changes = store::clients::ClientChanges {
            enabled: Some(flag("enabled", true)),
            web_origins: Some(serde_json::to_string(&origins).unwrap_or_else(|_| "[]".into())),
            ..Default::default()
        };
        store::clients::update(conn, &client.id, &changes)?;
        if c.get("defaultClientScopes").is_some() || c.get("optionalClientScopes").is_some() {
            let existing = store::scopes::list(conn, &realm.id)?;
            let mut keep = |key: &str, current: &[String]| -> Vec<String> {
                if c.get(key).is_none() {
                    return current.to_vec();
                }
                let (known, missing): (Vec<String>, Vec<String>) = strings(c, key)
                    .into_iter()
                    .partition(|n| existing.iter().any(|s| &s.name == n));
                for name in missing {
                    report.unknown_fields.push(format!(
                        "clients[{i}].{key}: `{name}` (no such client scope)"
                    ));
                }
                known
            };
            let defaults = keep("defaultClientScopes", &client.default_scopes);
            let optionals: Vec<String> = keep("optionalClientScopes", &client.optional_scopes)
                .into_iter()
                .filter(|n| !defaults.contains(n))
                .collect();
            super::scopes::set_client_links(
                conn,
                &realm.id,
                &client.id,
                &client.client_id,
                &defaults,
                &optionals,
            )?;
        }
        report.clients += 1;
    }
    Ok(())
}

/// Role names → ids: realm roles by name, client roles by (client id, name).
struct Roles {
    realm: BTreeMap<String, String>,
    client: BTreeMap<(String, String), String>,
}

impl Roles {
    fn ids(&self, realm_roles: &[String], client_roles: Option<&Value>) -> Vec<String> {
        let mut ids: Vec<String> = realm_roles
            .iter()
            .filter_map(|r| self.realm.get(r).cloned())
            .collect();
        if let Some(map) = client_roles.and_then(Value::as_object) {
            for (client, names) in map {
                for name in names
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    if let Some(id) = self.client.get(&(client.clone(), name.to_string())) {
                        ids.push(id.clone());
                    }
                }
            }
        }
        ids
    }
}

fn import_roles(
    conn: &mut DbConnection,
    realm: &Realm,
    doc: &Value,
    report: &mut ImportReport,
) -> Result<Roles, Error> {
    let mut roles = Roles {
        realm: BTreeMap::new(),
        client: BTreeMap::new(),
    };
    for r in store::roles::list(conn, &realm.id)? {
        roles.realm.insert(r.name.clone(), r.id.clone());
    }
    let section = doc.get("roles").cloned().unwrap_or(Value::Null);
    let realm_list = section
        .get("realm")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for r in &realm_list {
        let Some(name) = text(r, "name") else {
            continue;
        };
        if roles.realm.contains_key(&name)
            || name.starts_with("default-roles-")
            || name == "offline_access"
            || name == "uma_authorization"
        {
            continue;
        }
        let id = crypto::random_id();
        store::roles::insert(
            conn,
            &RoleRow {
                id: id.clone(),
                realm_id: realm.id.clone(),
                name: name.clone(),
                description: text(r, "description"),
                created_at_ms: now_ms(),
            },
        )?;
        roles.realm.insert(name, id);
        report.roles += 1;
    }
    if let Some(map) = section.get("client").and_then(Value::as_object) {
        for (client_id, list) in map {
            let Some(client) = store::clients::find_by_client_id(conn, &realm.id, client_id)?
            else {
                continue;
            };
            for r in list.as_array().into_iter().flatten() {
                let Some(name) = text(r, "name") else {
                    continue;
                };
                let id = crypto::random_id();
                store::roles::insert_client_role(
                    conn,
                    &ClientRoleRow {
                        id: id.clone(),
                        client_id: client.id.clone(),
                        name: name.clone(),
                        description: text(r, "description"),
                        created_at_ms: now_ms(),
                    },
                )?;
                roles.client.insert((client_id.clone(), name), id);
                report.roles += 1;
            }
        }
    }
    // Composites, once every role exists.
    for r in &realm_list {
        let (Some(name), Some(composites)) = (text(r, "name"), r.get("composites")) else {
            continue;
        };
        let Some(parent) = roles.realm.get(&name).cloned() else {
            continue;
        };
        for child in roles.ids(&strings(composites, "realm"), composites.get("client")) {
            store::roles::add_composite(conn, &parent, &child)?;
        }
    }
    Ok(roles)
}

fn import_groups(
    conn: &mut DbConnection,
    realm: &Realm,
    list: Option<&Value>,
    parent: Option<&str>,
    prefix: &str,
    roles: &Roles,
    report: &mut ImportReport,
) -> Result<BTreeMap<String, String>, Error> {
    let mut paths = BTreeMap::new();
    for g in list.and_then(Value::as_array).into_iter().flatten() {
        let Some(name) = text(g, "name") else {
            continue;
        };
        let id = crypto::random_id();
        store::groups::insert(
            conn,
            &GroupRow {
                id: id.clone(),
                realm_id: realm.id.clone(),
                parent_id: parent.map(str::to_string),
                name: name.clone(),
                created_at_ms: now_ms(),
            },
        )?;
        report.groups += 1;
        for role in roles.ids(&strings(g, "realmRoles"), g.get("clientRoles")) {
            store::groups::add_role(conn, &id, &role)?;
        }
        let path = format!("{prefix}/{name}");
        paths.extend(import_groups(
            conn,
            realm,
            g.get("subGroups"),
            Some(&id),
            &path,
            roles,
            report,
        )?);
        paths.insert(path, id);
    }
    Ok(paths)
}

fn import_users(
    conn: &mut DbConnection,
    realm: &Realm,
    doc: &Value,
    roles: &Roles,
    groups: &BTreeMap<String, String>,
    report: &mut ImportReport,
) -> Result<(), Error> {
    for (i, u) in doc
        .get("users")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let Some(username) = text(u, "username") else {
            continue;
        };
        if username.starts_with("service-account-") {
            continue;
        }
        if let Some(o) = u.as_object() {
            note_unknown(o, USER_FIELDS, &format!("users[{i}]."), report);
        }
        let user = user_dir::create(
            conn,
            realm,
            user_dir::NewUser {
                username,
                email: text(u, "email"),
                first_name: text(u, "firstName"),
                last_name: text(u, "lastName"),
                password: None,
                temporary: false,
                skip_policy: true,
            },
        )?;
        let hash = u
            .get("credentials")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|c| text(c, "type").as_deref() == Some("password"))
            .map(stored_hash)
            .transpose()?
            .flatten();
        if let Some(hash) = hash {
            store::users::set_password_hash(conn, &user.id, &hash)?;
        }
        let actions = strings(u, "requiredActions");
        let known: Vec<&str> = actions
            .iter()
            .map(String::as_str)
            .filter(|a| *a == store::users::UPDATE_PASSWORD)
            .collect();
        store::users::set_required_actions(conn, &user.id, &known)?;
        if u.get("enabled").and_then(Value::as_bool) == Some(false) {
            store::users::set_enabled(conn, &user.id, false)?;
        }
        for role in roles.ids(&strings(u, "realmRoles"), u.get("clientRoles")) {
            if roles.realm.values().any(|r| *r == role) {
                store::roles::grant(conn, &user.id, &role)?;
            } else {
                store::roles::grant_client_role(conn, &user.id, &role)?;
            }
        }
        for path in strings(u, "groups") {
            if let Some(group) = groups.get(&path) {
                store::groups::join(conn, &user.id, group)?;
            }
        }
        if let Some(map) = u.get("attributes").and_then(Value::as_object) {
            let attributes: store::scopes::Attributes = map
                .iter()
                .map(|(name, values)| {
                    let values = match values {
                        Value::Array(list) => list
                            .iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect(),
                        Value::String(one) => vec![one.clone()],
                        _ => Vec::new(),
                    };
                    (name.clone(), values)
                })
                .collect();
            store::scopes::set_attributes(conn, &user.id, &attributes)?;
        }
        report.users += 1;
    }
    Ok(())
}
