//! `/admin/realms/{realm}/keys`: the signing keys with their stage, and
//! graceful or emergency rotation.

use std::collections::BTreeMap;

use actix_web::{get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::realms::find as find_realm;
use super::{audit, in_field, Admin, ErrorRepresentation};
use crate::app::Latch;
use crate::directory::realms as realm_dir;
use crate::error::Error;
use crate::http::errors::ApiError;
use crate::keys::Alg;
use crate::store;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list).service(rotate);
}

/// One signing key (times in ms since the epoch).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyRepresentation {
    pub kid: String,
    pub algorithm: String,
    /// `EC`, `RSA` or `OKP`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Keycloak's status: `ACTIVE` (signs), `PASSIVE` (verifies only) or
    /// `DISABLED` (retired).
    pub status: String,
    /// Latch's stage: `next`, `active`, `retiring` or `retired`.
    pub stage: String,
    #[serde(rename = "use")]
    pub usage: String,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub activates_at: Option<i64>,
    pub retires_at: Option<i64>,
    pub retired_at: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeysRepresentation {
    /// Algorithm → the kid that signs with it now.
    pub active: BTreeMap<String, String>,
    pub keys: Vec<KeyRepresentation>,
}

pub async fn list_keys(state: &Latch, realm: String) -> Result<KeysRepresentation, ApiError> {
    let rows = state
        .directory
        .store()
        .run(move |conn| -> Result<_, Error> {
            let realm = find_realm(conn, &realm)?;
            Ok(store::keys::all_for_realm(conn, &realm.id)?)
        })
        .await?;
    let mut active = BTreeMap::new();
    let mut keys: Vec<KeyRepresentation> = rows
        .into_iter()
        .map(|k| {
            if k.status == "active" {
                active.insert(k.alg.clone(), k.kid.clone());
            }
            let kind = match k.alg.as_str() {
                "ES256" => "EC",
                "EdDSA" => "OKP",
                _ => "RSA",
            };
            KeyRepresentation {
                status: match k.status.as_str() {
                    "active" => "ACTIVE",
                    "retired" => "DISABLED",
                    _ => "PASSIVE",
                }
                .into(),
                kind: kind.into(),
                usage: "SIG".into(),
                kid: k.kid,
                algorithm: k.alg,
                stage: k.status,
                created_at: k.created_at_ms,
                activated_at: k.activated_at_ms,
                activates_at: k.activate_after_ms,
                retires_at: k.retire_after_ms,
                retired_at: k.retired_at_ms,
            }
        })
        .collect();
    keys.sort_by_key(|k| std::cmp::Reverse(k.created_at));
    Ok(KeysRepresentation { active, keys })
}

#[utoipa::path(
    tag = "keys",
    operation_id = "listKeys",
    params(("realm" = String, Path, description = "Realm name")),
    responses(
        (status = 200, body = KeysRepresentation),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[get("/{realm}/keys")]
async fn list(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<String>,
) -> Result<web::Json<KeysRepresentation>, ApiError> {
    Ok(web::Json(list_keys(&state, path.into_inner()).await?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotationRequest {
    /// Retire the current keys at once: every token they signed is
    /// rejected everywhere (use after a key leak).
    pub emergency: Option<bool>,
    /// One algorithm (`ES256`, `RS256`, `EdDSA`); default every one in use.
    pub algorithm: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RotationRepresentation {
    pub emergency: bool,
    /// Graceful: the new keys' ids. Emergency: the retired keys' ids.
    pub kids: Vec<String>,
}

pub async fn rotate_keys(
    state: &Latch,
    admin: &Admin,
    realm: String,
    request: RotationRequest,
) -> Result<RotationRepresentation, ApiError> {
    let alg: Option<Alg> = match &request.algorithm {
        Some(a) => Some(a.parse().map_err(in_field("algorithm"))?),
        None => None,
    };
    let emergency = request.emergency.unwrap_or(false);
    let (master, admin_c) = (state.directory.master().clone(), admin.clone());
    let kids = state
        .directory
        .store()
        .run(move |conn| -> Result<Vec<String>, Error> {
            let realm = find_realm(conn, &realm)?;
            if emergency {
                crate::revocation::actions::emergency_rotate(
                    conn,
                    &master,
                    &realm.name,
                    alg,
                    &admin_c.actor,
                )
            } else {
                let kids = realm_dir::rotate_keys(conn, &master, &realm.name, alg)?;
                let detail = serde_json::json!({ "new_keys": kids });
                audit(
                    conn,
                    &realm.id,
                    &admin_c,
                    "admin.keys.rotated",
                    &realm.name,
                    Some(detail),
                )?;
                Ok(kids)
            }
        })
        .await?;
    state.announce().await?;
    Ok(RotationRepresentation { emergency, kids })
}

#[utoipa::path(
    tag = "keys",
    operation_id = "rotateKeys",
    params(("realm" = String, Path, description = "Realm name")),
    request_body = RotationRequest,
    responses(
        (status = 200, body = RotationRepresentation),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation),
    )
)]
#[post("/{realm}/keys/rotate")]
async fn rotate(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<web::Json<RotationRepresentation>, ApiError> {
    // The body is optional: none means a graceful rotation of every key.
    let request: RotationRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RotationRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::invalid_field(&super::field_of(&e), format!("invalid body: {e}"))
        })?
    };
    Ok(web::Json(
        rotate_keys(&state, &admin, path.into_inner(), request).await?,
    ))
}
