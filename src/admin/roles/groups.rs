//! Groups at Keycloak's paths: the tree (`/groups`, `/groups/{id}/children`)
//! and a group's realm-role mappings.

use actix_web::{delete, get, post, web, HttpResponse};

use super::representation::{groups as group_reps, references, roles as role_reps};
use super::{GroupRepresentation, RoleRepresentation};
use crate::admin::{created, in_field, Admin, ErrorRepresentation};
use crate::app::Latch;
use crate::http::errors::ApiError;
use crate::ids::RealmName;
use crate::operations::groups::{self, GroupRef, NewGroup};
use crate::operations::roles::{self, Holder, RoleMapping};

#[utoipa::path(tag = "groups", operation_id = "listGroups",
    params(("realm" = String, Path, description = "Realm name")),
    responses((status = 200, body = Vec<GroupRepresentation>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/groups")]
pub(super) async fn list_groups(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<String>,
) -> Result<web::Json<Vec<GroupRepresentation>>, ApiError> {
    let realm = RealmName(path.into_inner());
    Ok(web::Json(group_reps(groups::tree(&state, &realm).await?)))
}

async fn new_group(
    state: &Latch,
    admin: &Admin,
    realm: String,
    parent: Option<String>,
    rep: GroupRepresentation,
) -> Result<HttpResponse, ApiError> {
    let input = NewGroup {
        realm: RealmName(realm.clone()),
        parent: parent.map(GroupRef::Id),
        name: rep.name.unwrap_or_default(),
    };
    let id = groups::create(state, &admin.actor, input)
        .await
        .map_err(in_field("name"))?;
    Ok(created(
        format!("{}/admin/realms/{realm}/groups/{id}", state.public_base),
        None,
    ))
}

#[utoipa::path(tag = "groups", operation_id = "createGroup", request_body = GroupRepresentation,
    params(("realm" = String, Path, description = "Realm name")),
    responses((status = 201, description = "Created"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation), (status = 409, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation)))]
#[post("/{realm}/groups")]
pub(super) async fn create_group(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<String>,
    body: web::Json<GroupRepresentation>,
) -> Result<HttpResponse, ApiError> {
    new_group(&state, &admin, path.into_inner(), None, body.into_inner()).await
}

#[utoipa::path(tag = "groups", operation_id = "createChildGroup", request_body = GroupRepresentation,
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Parent group id")),
    responses((status = 201, description = "Created"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation), (status = 409, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation)))]
#[post("/{realm}/groups/{id}/children")]
pub(super) async fn create_child_group(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<GroupRepresentation>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id) = path.into_inner();
    new_group(&state, &admin, realm, Some(id), body.into_inner()).await
}

#[utoipa::path(tag = "groups", operation_id = "getGroup",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Group id")),
    responses((status = 200, body = GroupRepresentation), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/groups/{id}")]
pub(super) async fn get_group(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<web::Json<GroupRepresentation>, ApiError> {
    let (realm, id) = path.into_inner();
    let group = groups::get(&state, &RealmName(realm), GroupRef::Id(id)).await?;
    Ok(web::Json(group.into()))
}

#[utoipa::path(tag = "groups", operation_id = "deleteGroup",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Group id")),
    responses((status = 204, description = "Deleted with its subgroups; its members are cut off"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[delete("/{realm}/groups/{id}")]
pub(super) async fn delete_group(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id) = path.into_inner();
    groups::delete(&state, &admin.actor, &RealmName(realm), GroupRef::Id(id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "groups", operation_id = "getGroupRealmRoleMappings",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Group id")),
    responses((status = 200, body = Vec<RoleRepresentation>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/groups/{id}/role-mappings/realm")]
pub(super) async fn group_realm_mappings(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<web::Json<Vec<RoleRepresentation>>, ApiError> {
    let (realm, id) = path.into_inner();
    let found = roles::group_realm_roles(&state, &RealmName(realm), GroupRef::Id(id)).await?;
    Ok(web::Json(role_reps(found)))
}

fn group_roles((realm, id): (String, String), body: Vec<RoleRepresentation>) -> RoleMapping {
    RoleMapping {
        realm: RealmName(realm),
        holder: Holder::Group(GroupRef::Id(id)),
        client: None,
        roles: references(body),
    }
}

#[utoipa::path(tag = "groups", operation_id = "addGroupRealmRoleMappings", request_body = Vec<RoleRepresentation>,
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Group id")),
    responses((status = 204, description = "Mapped"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[post("/{realm}/groups/{id}/role-mappings/realm")]
pub(super) async fn add_group_realm_mappings(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<Vec<RoleRepresentation>>,
) -> Result<HttpResponse, ApiError> {
    let input = group_roles(path.into_inner(), body.into_inner());
    roles::grant_roles(&state, &admin.actor, input).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "groups", operation_id = "removeGroupRealmRoleMappings", request_body = Vec<RoleRepresentation>,
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Group id")),
    responses((status = 204, description = "Unmapped; members are cut off"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[delete("/{realm}/groups/{id}/role-mappings/realm")]
pub(super) async fn remove_group_realm_mappings(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<Vec<RoleRepresentation>>,
) -> Result<HttpResponse, ApiError> {
    let input = group_roles(path.into_inner(), body.into_inner());
    roles::take_roles(&state, &admin.actor, input).await?;
    Ok(HttpResponse::NoContent().finish())
}
