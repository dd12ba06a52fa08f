//! The roles, groups and users of a realm file, with the mappings between
//! them.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{note_unknown, stored_hash, strings, text, ImportReport, USER_FIELDS};
use crate::crypto::{self, MasterKey};
use crate::directory::users as user_dir;
use crate::error::Error;
use crate::login::second_factor::SECRET_PURPOSE;
use crate::login::totp::{self, OtpParams};
use crate::store::credentials::{CredentialRow, OTP};
use crate::store::groups::GroupRow;
use crate::store::realms::Realm;
use crate::store::roles::{ClientRoleRow, RoleRow};
use crate::store::{self, DbConnection};
use crate::time::now_ms;

/// Role names → ids: realm roles by name, client roles by (client id, name).
pub(super) struct Roles {
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

pub(super) fn import_roles(
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
        import_client_roles(conn, realm, map, &mut roles, report)?;
    }
    import_composites(conn, &realm_list, &roles)?;
    Ok(roles)
}

fn import_client_roles(
    conn: &mut DbConnection,
    realm: &Realm,
    map: &Map<String, Value>,
    roles: &mut Roles,
    report: &mut ImportReport,
) -> Result<(), Error> {
    for (client_id, list) in map {
        let Some(client) = store::clients::find_by_client_id(conn, &realm.id, client_id)? else {
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
    Ok(())
}

/// Composites, once every role exists.
fn import_composites(
    conn: &mut DbConnection,
    realm_list: &[Value],
    roles: &Roles,
) -> Result<(), Error> {
    for r in realm_list {
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
    Ok(())
}

pub(super) fn import_groups(
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

/// What importing users needs beside the file.
pub(super) struct Context<'a> {
    pub master: &'a MasterKey,
    pub realm: &'a Realm,
    pub roles: &'a Roles,
    pub groups: &'a BTreeMap<String, String>,
}

pub(super) fn import_users(
    conn: &mut DbConnection,
    with: &Context<'_>,
    doc: &Value,
    report: &mut ImportReport,
) -> Result<(), Error> {
    let (realm, roles, groups) = (with.realm, with.roles, with.groups);
    let list = doc.get("users").and_then(Value::as_array);
    for (i, u) in list.into_iter().flatten().enumerate() {
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
        import_user_state(conn, &user.id, u)?;
        import_otp(conn, with, &user.id, u, &format!("users[{i}]"), report)?;
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
            store::scopes::set_attributes(conn, &user.id, &attributes(map))?;
        }
        report.users += 1;
    }
    Ok(())
}

/// The user's password hash, required actions Latch knows, and whether
/// they may sign in.
fn import_user_state(conn: &mut DbConnection, user_id: &str, u: &Value) -> Result<(), Error> {
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
        store::users::set_password_hash(conn, user_id, &hash)?;
    }
    let actions = strings(u, "requiredActions");
    let known: Vec<&str> = actions
        .iter()
        .map(String::as_str)
        .filter(|a| [store::users::UPDATE_PASSWORD, store::users::CONFIGURE_TOTP].contains(a))
        .collect();
    store::users::set_required_actions(conn, user_id, &known)?;
    if u.get("enabled").and_then(Value::as_bool) == Some(false) {
        store::users::set_enabled(conn, user_id, false)?;
    }
    if u.get("emailVerified").and_then(Value::as_bool) == Some(true) {
        let verified = store::users::ProfileChanges {
            email_verified: Some(true),
            ..Default::default()
        };
        store::users::update_profile(conn, user_id, &verified)?;
    }
    Ok(())
}

/// Keycloak's `otp` credentials: `secretData` `{"value"}`, `credentialData`
/// with subType, digits, period, algorithm and `secretEncoding` (`BASE32`,
/// else the value's UTF-8 bytes are the key). The secret is sealed like an
/// app set up here; what Latch cannot check (counter-based codes, other
/// digits or algorithms) is reported, not imported.
fn import_otp(
    conn: &mut DbConnection,
    with: &Context<'_>,
    user_id: &str,
    u: &Value,
    at: &str,
    report: &mut ImportReport,
) -> Result<(), Error> {
    let credentials = u.get("credentials").and_then(Value::as_array);
    for (n, c) in credentials.into_iter().flatten().enumerate() {
        if text(c, "type").as_deref() != Some(OTP) {
            continue;
        }
        let place = format!("{at}.credentials[{n}]");
        let json = |key: &str| -> Option<Value> { serde_json::from_str(&text(c, key)?).ok() };
        let (Some(secret), Some(data)) = (json("secretData"), json("credentialData")) else {
            report
                .unknown_fields
                .push(format!("{place} (unreadable otp credential)"));
            continue;
        };
        let params = serde_json::from_value::<OtpParams>(data.clone())
            .map_err(|e| e.to_string())
            .and_then(|p| p.check().map(|()| p));
        let value = secret.get("value").and_then(Value::as_str).unwrap_or("");
        let key = match data.get("secretEncoding").and_then(Value::as_str) {
            Some("BASE32") => totp::from_base32(value),
            _ => Some(value.as_bytes().to_vec()),
        };
        let (params, key) = match (params, key) {
            (Ok(p), Some(k)) if !k.is_empty() => (p, k),
            (Err(why), _) => {
                report.unknown_fields.push(format!("{place} ({why})"));
                continue;
            }
            _ => {
                report
                    .unknown_fields
                    .push(format!("{place} (no usable secret)"));
                continue;
            }
        };
        let id = crypto::random_id();
        store::credentials::insert(
            conn,
            &CredentialRow {
                id: id.clone(),
                realm_id: with.realm.id.clone(),
                user_id: user_id.to_string(),
                kind: OTP.into(),
                user_label: text(c, "userLabel"),
                created_ms: c
                    .get("createdDate")
                    .and_then(Value::as_i64)
                    .unwrap_or_else(now_ms),
                last_used_ms: None,
                secret_data: with.master.seal(SECRET_PURPOSE, id.as_bytes(), &key),
                credential_data: serde_json::to_string(&params).unwrap_or_default(),
            },
        )?;
    }
    Ok(())
}

/// Keycloak's attributes: a list of values per name, or one value.
fn attributes(map: &Map<String, Value>) -> store::scopes::Attributes {
    map.iter()
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
        .collect()
}
