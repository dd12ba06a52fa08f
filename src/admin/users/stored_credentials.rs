//! `/admin/realms/{realm}/users/{id}/credentials`: a user's credentials as
//! Keycloak lists them (the password, authenticator apps, recovery codes
//! — never a secret), removing one (the sessions that used it end) and
//! renaming one.

use actix_web::{delete, get, put, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::by_id;
use crate::admin::{Admin, ErrorRepresentation};
use crate::app::Latch;
use crate::http::errors::ApiError;
use crate::ids::RealmName;
use crate::operations::second_factor::{self, CredentialView};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list).service(remove).service(rename);
}

/// A credential as Keycloak lists it; `secretData` is never sent.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoredCredentialRepresentation {
    pub id: String,
    /// `password`, `otp` or `recovery-authn-codes`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_label: Option<String>,
    /// Milliseconds since the epoch.
    pub created_date: i64,
    /// Public parameters as a JSON string (for `otp`: subType, digits,
    /// period, algorithm).
    pub credential_data: String,
    /// Latch's own: when it last signed the user in (milliseconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_date: Option<i64>,
}

impl From<CredentialView> for StoredCredentialRepresentation {
    fn from(c: CredentialView) -> Self {
        StoredCredentialRepresentation {
            id: c.id,
            kind: c.kind,
            user_label: c.user_label,
            created_date: c.created_ms,
            credential_data: c.credential_data,
            last_used_date: c.last_used_ms,
        }
    }
}

#[utoipa::path(
    tag = "users",
    operation_id = "listCredentials",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The user's credentials, the password first", body = Vec<StoredCredentialRepresentation>),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[get("/{realm}/users/{id}/credentials")]
async fn list(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<web::Json<Vec<StoredCredentialRepresentation>>, ApiError> {
    let (realm, id) = path.into_inner();
    let list = second_factor::list(&state, &RealmName(realm), &by_id(id)).await?;
    Ok(web::Json(list.into_iter().map(Into::into).collect()))
}

#[utoipa::path(
    tag = "invalidation",
    operation_id = "removeCredential",
    params(
        ("realm" = String, Path, description = "Realm name"),
        ("id" = String, Path, description = "User id"),
        ("credential" = String, Path, description = "Credential id"),
    ),
    responses(
        (status = 204, description = "Removed; the sessions that used it ended"),
        (status = 400, description = "The password cannot be removed", body = ErrorRepresentation),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[delete("/{realm}/users/{id}/credentials/{credential}")]
async fn remove(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id, credential) = path.into_inner();
    second_factor::remove(
        &state,
        &admin.actor,
        &RealmName(realm),
        &by_id(id),
        &credential,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "users",
    operation_id = "renameCredential",
    params(
        ("realm" = String, Path, description = "Realm name"),
        ("id" = String, Path, description = "User id"),
        ("credential" = String, Path, description = "Credential id"),
    ),
    request_body(content = String, content_type = "text/plain", description = "The new label"),
    responses(
        (status = 204, description = "Renamed"),
        (status = 400, body = ErrorRepresentation),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[put("/{realm}/users/{id}/credentials/{credential}/userLabel")]
async fn rename(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (realm, id, credential) = path.into_inner();
    let label = std::str::from_utf8(&body)
        .map_err(|_| ApiError::invalid_field("userLabel", "the label must be UTF-8 text"))?;
    // Keycloak's admin client sends the label as a JSON string.
    let label = serde_json::from_str::<String>(label).unwrap_or_else(|_| label.to_string());
    let realm = RealmName(realm);
    second_factor::rename(
        &state,
        &admin.actor,
        &realm,
        &by_id(id),
        &credential,
        &label,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
