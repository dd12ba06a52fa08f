//! Creating a realm from Keycloak realm JSON, all in one transaction:
//! settings, client scopes, clients, roles with composites, groups, users
//! with their password hashes. What Latch does not know or cannot run is
//! reported, never silently dropped.

mod clients;
mod users;

use std::collections::BTreeMap;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use serde_json::{Map, Value};

use crate::crypto::MasterKey;
use crate::directory::realms as realm_dir;
use crate::error::Error;
use crate::store::realms::{Realm, RealmChanges};
use crate::store::{self, DbConnection};

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
    "otpPolicyType",
    "otpPolicyAlgorithm",
    "otpPolicyDigits",
    "otpPolicyPeriod",
    "otpPolicyLookAheadWindow",
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
    "name",
    "description",
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
        let changes = realm_changes(doc)?;
        let realm = realm_dir::update(conn, &realm.name, &changes)?;
        crate::directory::bootstrap::ensure_builtins(conn, master, &realm, public_base)?;
        import_scopes(conn, &realm, doc, &mut report)?;
        clients::import_clients(conn, master, &realm, doc, &mut report)?;
        let roles = users::import_roles(conn, &realm, doc, &mut report)?;
        let groups = users::import_groups(
            conn,
            &realm,
            doc.get("groups"),
            None,
            "",
            &roles,
            &mut report,
        )?;
        let with = users::Context {
            master,
            realm: &realm,
            roles: &roles,
            groups: &groups,
        };
        users::import_users(conn, &with, doc, &mut report)?;
        Ok(report)
    })
}

/// The realm's settings the file carries; lifetimes that are not positive
/// keep Latch's defaults.
fn realm_changes(doc: &Value) -> Result<RealmChanges, Error> {
    let attr = |k: &str| doc.get("attributes").and_then(|a| number(a, k));
    let positive = |k: &str| number(doc, k).filter(|n| *n > 0);
    let password_policy = text(doc, "passwordPolicy")
        .map(|p| crate::login::policy::PasswordPolicy::parse(&p).map(|p| p.to_string()))
        .transpose()
        .map_err(Error::Invalid)?;
    Ok(RealmChanges {
        access_token_lifetime_s: number(doc, "accessTokenLifespan"),
        id_token_lifetime_s: attr("latch.idTokenLifespan"),
        refresh_token_lifetime_s: attr("latch.refreshTokenLifespan"),
        key_rotation_interval_s: attr("latch.keyRotationInterval"),
        session_lifetime_s: positive("ssoSessionMaxLifespan"),
        sso_idle_s: positive("ssoSessionIdleTimeout"),
        remember_me_lifetime_s: positive("ssoSessionMaxLifespanRememberMe"),
        offline_idle_s: positive("offlineSessionIdleTimeout"),
        offline_token_lifetime_s: positive("offlineSessionMaxLifespan"),
        remember_me: doc.get("rememberMe").and_then(Value::as_bool),
        password_policy,
        otp_policy_algorithm: text(doc, "otpPolicyAlgorithm"),
        otp_policy_digits: number(doc, "otpPolicyDigits"),
        otp_policy_period: number(doc, "otpPolicyPeriod"),
        otp_policy_look_ahead: number(doc, "otpPolicyLookAheadWindow"),
        ..Default::default()
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
    use crate::directory::scopes::{self as scope_dir, ClientScopeRepresentation, Kind};
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
