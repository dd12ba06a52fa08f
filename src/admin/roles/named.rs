//! Roles by name, beyond creating and deleting them: updating a realm role,
//! reading and updating a client role, and the users a role is mapped to.

use actix_web::{get, put, web, HttpResponse};

use super::RoleRepresentation;
use crate::admin::users::UserRepresentation;
use crate::admin::{in_field, Admin, ErrorRepresentation, Page};
use crate::app::Latch;
use crate::http::errors::ApiError;
use crate::ids::{ClientRowId, RealmName};
use crate::operations::roles::{self, ClientRef, RoleTarget, RoleUpdate};

fn realm_role(name: String) -> RoleTarget {
    RoleTarget::Named { client: None, name }
}

fn client_role(client: String, name: String) -> RoleTarget {
    RoleTarget::Named {
        client: Some(ClientRef::Row(ClientRowId(client))),
        name,
    }
}

/// Applies a role representation's name and description.
pub(super) async fn update_role(
    state: &Latch,
    admin: &Admin,
    realm: String,
    target: RoleTarget,
    body: RoleRepresentation,
) -> Result<HttpResponse, ApiError> {
    let input = RoleUpdate {
        realm: RealmName(realm),
        target,
        name: body.name,
        description: body.description,
    };
    roles::update(state, &admin.actor, input)
        .await
        .map_err(in_field("name"))?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "roles", operation_id = "updateRealmRole", request_body = RoleRepresentation,
    params(("realm" = String, Path, description = "Realm name"), ("name" = String, Path, description = "Role name")),
    responses((status = 204, description = "Updated; a new name cuts the role's holders off"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation), (status = 409, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation)))]
#[put("/{realm}/roles/{name}")]
pub(super) async fn update_realm_role(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<RoleRepresentation>,
) -> Result<HttpResponse, ApiError> {
    let (realm, name) = path.into_inner();
    update_role(&state, &admin, realm, realm_role(name), body.into_inner()).await
}

#[utoipa::path(tag = "roles", operation_id = "getClientRole",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client id (internal)"), ("name" = String, Path, description = "Role name")),
    responses((status = 200, body = RoleRepresentation), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/clients/{id}/roles/{name}")]
pub(super) async fn get_client_role(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<web::Json<RoleRepresentation>, ApiError> {
    let (realm, id, name) = path.into_inner();
    let role = roles::role(&state, &RealmName(realm), client_role(id, name)).await?;
    Ok(web::Json(role.into()))
}

#[utoipa::path(tag = "roles", operation_id = "updateClientRole", request_body = RoleRepresentation,
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client id (internal)"), ("name" = String, Path, description = "Role name")),
    responses((status = 204, description = "Updated; a new name cuts the role's holders off"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation), (status = 409, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation)))]
#[put("/{realm}/clients/{id}/roles/{name}")]
pub(super) async fn update_client_role(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
    body: web::Json<RoleRepresentation>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id, name) = path.into_inner();
    update_role(
        &state,
        &admin,
        realm,
        client_role(id, name),
        body.into_inner(),
    )
    .await
}

async fn holders(
    state: &Latch,
    realm: String,
    target: RoleTarget,
    page: &Page,
) -> Result<web::Json<Vec<UserRepresentation>>, ApiError> {
    let page = page.bounds()?;
    let users = roles::holders(state, &RealmName(realm), target, page).await?;
    Ok(web::Json(
        users.iter().map(UserRepresentation::from).collect(),
    ))
}

#[utoipa::path(tag = "roles", operation_id = "listRealmRoleUsers",
    params(("realm" = String, Path, description = "Realm name"), ("name" = String, Path, description = "Role name"), Page),
    responses((status = 200, description = "A page of the users the role is mapped to directly, by username", body = Vec<UserRepresentation>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation)))]
#[get("/{realm}/roles/{name}/users")]
pub(super) async fn realm_role_users(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
    page: web::Query<Page>,
) -> Result<web::Json<Vec<UserRepresentation>>, ApiError> {
    let (realm, name) = path.into_inner();
    holders(&state, realm, realm_role(name), &page).await
}

#[utoipa::path(tag = "roles", operation_id = "listClientRoleUsers",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client id (internal)"), ("name" = String, Path, description = "Role name"), Page),
    responses((status = 200, description = "A page of the users the role is mapped to directly, by username", body = Vec<UserRepresentation>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation)))]
#[get("/{realm}/clients/{id}/roles/{name}/users")]
pub(super) async fn client_role_users(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String, String)>,
    page: web::Query<Page>,
) -> Result<web::Json<Vec<UserRepresentation>>, ApiError> {
    let (realm, id, name) = path.into_inner();
    holders(&state, realm, client_role(id, name), &page).await
}
