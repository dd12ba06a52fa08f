//! The clients of a realm file: registered as Latch would register them,
//! with the secret the file carries or a new one (reported).

use serde_json::Value;

use super::{note_unknown, strings, text, ImportReport, CLIENT_FIELDS};
use crate::crypto::MasterKey;
use crate::directory::clients::{
    self as client_dir, Client, Credentials, Extras, GrantType, NewClient,
};
use crate::directory::portability::BUILT_IN;
use crate::error::Error;
use crate::store::realms::Realm;
use crate::store::{self, DbConnection};

pub(super) fn import_clients(
    conn: &mut DbConnection,
    master: &MasterKey,
    realm: &Realm,
    doc: &Value,
    report: &mut ImportReport,
) -> Result<(), Error> {
    let list = doc.get("clients").and_then(Value::as_array);
    for (i, c) in list.into_iter().flatten().enumerate() {
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
        let (registration, secret_given) = registration(c, client_id.clone());
        let (mut client, generated) = client_dir::create(conn, master, realm, registration)?;
        if !secret_given {
            if let Some(s) = generated {
                report.generated_secrets.insert(client_id, s);
            }
        }
        let extras = client_extras(conn, realm, &client, c, i, report)?;
        client_dir::configure(conn, realm, &mut client, extras)?;
        report.clients += 1;
    }
    Ok(())
}

/// A client of the file as Latch registers it: URIs Latch would refuse are
/// left out, and so are the flows they leave without a redirect URI. Also
/// says whether the file carried a usable secret.
fn registration(c: &Value, client_id: String) -> (NewClient, bool) {
    let flag = |k: &str, default: bool| c.get(k).and_then(Value::as_bool).unwrap_or(default);
    let valid = |u: &String| client_dir::validate_redirect_uri(u).is_ok();
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
        .filter(valid)
        .collect();
    if redirect_uris.is_empty() {
        grants.retain(|g| *g != GrantType::AuthorizationCode);
    }
    if grants.is_empty() {
        grants.push(GrantType::RefreshToken);
    }
    let secret = text(c, "secret").filter(|s| s.len() >= client_dir::MIN_SECRET_LEN && !public);
    let secret_given = secret.is_some();
    let credentials = match (public, secret) {
        (true, _) => Credentials::Public,
        (false, Some(s)) => Credentials::Secret(s),
        (false, None) => Credentials::GenerateSecret,
    };
    let post_logout = text(&attributes, "post.logout.redirect.uris")
        .map(|v| v.split("##").map(str::to_string).filter(valid).collect())
        .unwrap_or_default();
    let registration = NewClient {
        client_id,
        credentials,
        redirect_uris,
        post_logout_redirect_uris: post_logout,
        grant_types: grants,
        backchannel_logout_uri: text(&attributes, "backchannel.logout.url").filter(valid),
        consent_required: flag("consentRequired", false),
        introspect_any: false,
        frontchannel_logout_uri: text(&attributes, "frontchannel.logout.url").filter(valid),
    };
    (registration, secret_given)
}

/// The client's state, origins and scopes; scopes the realm does not have
/// are reported and left out.
fn client_extras(
    conn: &mut DbConnection,
    realm: &Realm,
    client: &Client,
    c: &Value,
    i: usize,
    report: &mut ImportReport,
) -> Result<Extras, Error> {
    let mut extras = Extras {
        enabled: Some(c.get("enabled").and_then(Value::as_bool).unwrap_or(true)),
        name: text(c, "name"),
        description: text(c, "description"),
        web_origins: Some(strings(c, "webOrigins")),
        ..Default::default()
    };
    if c.get("defaultClientScopes").is_none() && c.get("optionalClientScopes").is_none() {
        return Ok(extras);
    }
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
    extras.default_scopes = Some(defaults);
    extras.optional_scopes = Some(optionals);
    Ok(extras)
}
