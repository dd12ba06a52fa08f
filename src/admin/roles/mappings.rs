//! A user's roles and groups at Keycloak's paths: role mappings (realm and
//! per client) and group membership.

use actix_web::{delete, get, post, put, web, HttpResponse};

use super::groups::CountRepresentation;
use super::representation::{groups as group_reps, references};
use super::{GroupRepresentation, MappingsRepresentation, RoleRepresentation};
use crate::admin::{Admin, ErrorRepresentation};
use crate::app::Latch;
use crate::http::errors::ApiError;
use crate::ids::{ClientRowId, RealmName, UserId};
use crate::operations::groups::{self, GroupRef, Membership};
use crate::operations::roles::{self, ClientRef, Holder, RoleMapping, UserRef};

fn user(id: String) -> UserRef {
    UserRef::Id(UserId(id))
}

#[utoipa::path(tag = "users", operation_id = "getUserRoleMappings",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id")),
    responses((status = 200, body = MappingsRepresentation), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/users/{id}/role-mappings")]
pub(super) async fn user_role_mappings(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<web::Json<MappingsRepresentation>, ApiError> {
    let (realm, id) = path.into_inner();
    let mappings = roles::user_mappings(&state, &RealmName(realm), user(id)).await?;
    Ok(web::Json(mappings.into()))
}

fn user_realm_roles((realm, id): (String, String), body: Vec<RoleRepresentation>) -> RoleMapping {
    RoleMapping {
        realm: RealmName(realm),
        holder: Holder::User(user(id)),
        client: None,
        roles: references(body),
    }
}

#[utoipa::path(tag = "users", operation_id = "addUserRealmRoleMappings", request_body = Vec<RoleRepresentation>,
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id")),
    responses((status = 204, description = "Granted"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[post("/{realm}/users/{id}/role-mappings/realm")]
pub(super) async fn add_user_realm_mappings(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<Vec<RoleRepresentation>>,
) -> Result<HttpResponse, ApiError> {
    let input = user_realm_roles(path.into_inner(), body.into_inner());
    roles::grant_roles(&state, &admin.actor, input).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "users", operation_id = "removeUserRealmRoleMappings", request_body = Vec<RoleRepresentation>,
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id")),
    responses((status = 204, description = "Revoked; the user's tokens are rejected"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[delete("/{realm}/users/{id}/role-mappings/realm")]
pub(super) async fn remove_user_realm_mappings(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<Vec<RoleRepresentation>>,
) -> Result<HttpResponse, ApiError> {
    let input = user_realm_roles(path.into_inner(), body.into_inner());
    roles::take_roles(&state, &admin.actor, input).await?;
    Ok(HttpResponse::NoContent().finish())
}

fn user_client_roles(
    (realm, id, client): (String, String, String),
    body: Vec<RoleRepresentation>,
) -> RoleMapping {
    RoleMapping {
        realm: RealmName(realm),
        holder: Holder::User(user(id)),
        client: Some(ClientRef::Row(ClientRowId(client))),
        roles: references(body),
    }
}

#[utoipa::path(tag = "users", operation_id = "addUserClientRoleMappings", request_body = Vec<RoleRepresentation>,
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id"), ("client" = String, Path, description = "Client id (internal)")),
    responses((status = 204, description = "Granted"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[post("/{realm}/users/{id}/role-mappings/clients/{client}")]
pub(super) async fn add_user_client_mappings(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
    body: web::Json<Vec<RoleRepresentation>>,
) -> Result<HttpResponse, ApiError> {
    let input = user_client_roles(path.into_inner(), body.into_inner());
    roles::grant_roles(&state, &admin.actor, input).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "users", operation_id = "removeUserClientRoleMappings", request_body = Vec<RoleRepresentation>,
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id"), ("client" = String, Path, description = "Client id (internal)")),
    responses((status = 204, description = "Revoked; the user's tokens are rejected"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[delete("/{realm}/users/{id}/role-mappings/clients/{client}")]
pub(super) async fn remove_user_client_mappings(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
    body: web::Json<Vec<RoleRepresentation>>,
) -> Result<HttpResponse, ApiError> {
    let input = user_client_roles(path.into_inner(), body.into_inner());
    roles::take_roles(&state, &admin.actor, input).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "users", operation_id = "getUserGroups",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id")),
    responses((status = 200, body = Vec<GroupRepresentation>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/users/{id}/groups")]
pub(super) async fn user_groups(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<web::Json<Vec<GroupRepresentation>>, ApiError> {
    let (realm, id) = path.into_inner();
    let found = groups::of_user(&state, &RealmName(realm), user(id)).await?;
    Ok(web::Json(group_reps(found)))
}

fn membership((realm, id, group): (String, String, String)) -> Membership {
    Membership {
        realm: RealmName(realm),
        user: user(id),
        group: GroupRef::Id(group),
    }
}

#[utoipa::path(tag = "users", operation_id = "joinGroup",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id"), ("group" = String, Path, description = "Group id")),
    responses((status = 204, description = "Joined"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[put("/{realm}/users/{id}/groups/{group}")]
pub(super) async fn join_group(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    groups::join(&state, &admin.actor, membership(path.into_inner())).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "users", operation_id = "leaveGroup",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id"), ("group" = String, Path, description = "Group id")),
    responses((status = 204, description = "Left; the user's tokens are rejected"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[delete("/{realm}/users/{id}/groups/{group}")]
pub(super) async fn leave_group(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    groups::leave(&state, &admin.actor, membership(path.into_inner())).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "users", operation_id = "countUserGroups",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id")),
    responses((status = 200, description = "How many groups the user is a direct member of", body = CountRepresentation), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/users/{id}/groups/count")]
pub(super) async fn count_user_groups(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<web::Json<CountRepresentation>, ApiError> {
    let (realm, id) = path.into_inner();
    let count = groups::count_of_user(&state, &RealmName(realm), user(id)).await?;
    Ok(web::Json(CountRepresentation { count }))
}
