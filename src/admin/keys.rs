//! `/admin/realms/{realm}/keys`: the signing keys with their stage, and
//! graceful or emergency rotation.

use std::collections::BTreeMap;

use actix_web::{get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{in_field, Admin, ErrorRepresentation};
use crate::app::Latch;
use crate::http::errors::ApiError;
use crate::ids::RealmName;
use crate::operations::keys::{self, Alg, Rotation, SigningKey};

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

impl From<SigningKey> for KeyRepresentation {
    fn from(k: SigningKey) -> Self {
        let kind = match k.alg.as_str() {
            "ES256" => "EC",
            "EdDSA" => "OKP",
            _ => "RSA",
        };
        let status = match k.stage.as_str() {
            "active" => "ACTIVE",
            "retired" => "DISABLED",
            _ => "PASSIVE",
        };
        KeyRepresentation {
            status: status.into(),
            kind: kind.into(),
            usage: "SIG".into(),
            kid: k.kid,
            algorithm: k.alg,
            stage: k.stage,
            created_at: k.created_at_ms,
            activated_at: k.activated_at_ms,
            activates_at: k.activates_at_ms,
            retires_at: k.retires_at_ms,
            retired_at: k.retired_at_ms,
        }
    }
}

impl From<Vec<SigningKey>> for KeysRepresentation {
    fn from(all: Vec<SigningKey>) -> Self {
        let active = all
            .iter()
            .filter(|k| k.stage == "active")
            .map(|k| (k.alg.clone(), k.kid.clone()))
            .collect();
        let mut keys: Vec<KeyRepresentation> =
            all.into_iter().map(KeyRepresentation::from).collect();
        keys.sort_by_key(|k| std::cmp::Reverse(k.created_at));
        KeysRepresentation { active, keys }
    }
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
    path: web::Path<RealmName>,
) -> Result<web::Json<KeysRepresentation>, ApiError> {
    Ok(web::Json(keys::list(&state, &path).await?.into()))
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

impl RotationRequest {
    fn rotation(&self) -> Result<Rotation, ApiError> {
        let alg: Option<Alg> = match &self.algorithm {
            Some(a) => Some(a.parse().map_err(in_field("algorithm"))?),
            None => None,
        };
        Ok(Rotation {
            alg,
            emergency: self.emergency.unwrap_or(false),
        })
    }
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
    path: web::Path<RealmName>,
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
    let rotation = request.rotation()?;
    let kids = keys::rotate(&state, &admin.actor, &path, rotation).await?;
    Ok(web::Json(RotationRepresentation {
        emergency: rotation.emergency,
        kids,
    }))
}
