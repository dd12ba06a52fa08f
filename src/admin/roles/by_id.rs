//! `/roles-by-id/{id}`: a realm or client role by its id — read, update,
//! delete.

use actix_web::{delete, get, put, web, HttpResponse};

use super::named::update_role;
use super::RoleRepresentation;
use crate::admin::{Admin, ErrorRepresentation};
use crate::app::Latch;
use crate::http::errors::ApiError;
use crate::ids::RealmName;
use crate::operations::roles::{self, RoleTarget};

#[utoipa::path(tag = "roles", operation_id = "getRoleById",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Role id")),
    responses((status = 200, body = RoleRepresentation), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/roles-by-id/{id}")]
pub(super) async fn get_role(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<web::Json<RoleRepresentation>, ApiError> {
    let (realm, id) = path.into_inner();
    let role = roles::role(&state, &RealmName(realm), RoleTarget::Id(id)).await?;
    Ok(web::Json(role.into()))
}

#[utoipa::path(tag = "roles", operation_id = "updateRoleById", request_body = RoleRepresentation,
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Role id")),
    responses((status = 204, description = "Updated; a new name cuts the role's holders off"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation), (status = 409, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation)))]
#[put("/{realm}/roles-by-id/{id}")]
pub(super) async fn update_role_by_id(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<RoleRepresentation>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id) = path.into_inner();
    update_role(&state, &admin, realm, RoleTarget::Id(id), body.into_inner()).await
}

#[utoipa::path(tag = "roles", operation_id = "deleteRoleById",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Role id")),
    responses((status = 204, description = "Deleted; its holders' tokens are rejected"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation), (status = 409, body = ErrorRepresentation)))]
#[delete("/{realm}/roles-by-id/{id}")]
pub(super) async fn delete_role_by_id(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id) = path.into_inner();
    roles::delete_by_id(&state, &admin.actor, &RealmName(realm), id).await?;
    Ok(HttpResponse::NoContent().finish())
}
