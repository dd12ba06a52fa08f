//! Groups at Keycloak's paths: the tree (`/groups`, `/groups/{id}/children`,
//! `/groups/count`), a group's members, and its realm- and client-role
//! mappings.

use actix_web::{delete, get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::representation::{groups as group_reps, references, roles as role_reps};
use super::{GroupRepresentation, RoleRepresentation};
use crate::admin::users::UserRepresentation;
use crate::admin::{created, in_field, Admin, ErrorRepresentation, Page};
use crate::app::Latch;
use crate::http::errors::ApiError;
use crate::ids::{ClientRowId, RealmName};
use crate::operations::groups::{self, GroupPage, GroupRef, NewGroup};
use crate::operations::roles::{self, ClientRef, Holder, RoleMapping};

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

fn group_client_roles(
    (realm, id, client): (String, String, String),
    body: Vec<RoleRepresentation>,
) -> RoleMapping {
    RoleMapping {
        realm: RealmName(realm),
        holder: Holder::Group(GroupRef::Id(id)),
        client: Some(ClientRef::Row(ClientRowId(client))),
        roles: references(body),
    }
}

#[utoipa::path(tag = "groups", operation_id = "addGroupClientRoleMappings", request_body = Vec<RoleRepresentation>,
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Group id"), ("client" = String, Path, description = "Client id (internal)")),
    responses((status = 204, description = "Mapped"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[post("/{realm}/groups/{id}/role-mappings/clients/{client}")]
pub(super) async fn add_group_client_mappings(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
    body: web::Json<Vec<RoleRepresentation>>,
) -> Result<HttpResponse, ApiError> {
    let input = group_client_roles(path.into_inner(), body.into_inner());
    roles::grant_roles(&state, &admin.actor, input).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "groups", operation_id = "removeGroupClientRoleMappings", request_body = Vec<RoleRepresentation>,
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Group id"), ("client" = String, Path, description = "Client id (internal)")),
    responses((status = 204, description = "Unmapped; members are cut off"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[delete("/{realm}/groups/{id}/role-mappings/clients/{client}")]
pub(super) async fn remove_group_client_mappings(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
    body: web::Json<Vec<RoleRepresentation>>,
) -> Result<HttpResponse, ApiError> {
    let input = group_client_roles(path.into_inner(), body.into_inner());
    roles::take_roles(&state, &admin.actor, input).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Which subgroups to list: Keycloak's `search`, `first`, `max` and
/// `briefRepresentation` (default false: with each group's role mappings).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct ChildrenQuery {
    /// Only groups whose name contains this (any case).
    pub search: Option<String>,
    pub first: Option<i64>,
    pub max: Option<i64>,
    #[serde(default, deserialize_with = "crate::http::query::optional_boolean")]
    pub brief_representation: Option<bool>,
}

#[utoipa::path(tag = "groups", operation_id = "listChildGroups",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Parent group id"), ChildrenQuery),
    responses((status = 200, description = "A page of the direct subgroups, by name, each with `subGroupCount` and without its own subgroups", body = Vec<GroupRepresentation>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation)))]
#[get("/{realm}/groups/{id}/children")]
pub(super) async fn list_children(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
    query: web::Query<ChildrenQuery>,
) -> Result<web::Json<Vec<GroupRepresentation>>, ApiError> {
    let (realm, id) = path.into_inner();
    let query = query.into_inner();
    let (first, max) = Page {
        first: query.first,
        max: query.max,
    }
    .bounds()?;
    let page = GroupPage {
        realm: RealmName(realm),
        parent: Some(GroupRef::Id(id)),
        search: query.search.filter(|s| !s.is_empty()),
        brief: query.brief_representation.unwrap_or(false),
        first,
        max,
    };
    Ok(web::Json(group_reps(groups::children(&state, page).await?)))
}

/// Keycloak's group count query: `search`, and `top` for the top level only.
#[derive(Debug, Deserialize, IntoParams)]
pub struct CountQuery {
    pub search: Option<String>,
    #[serde(default, deserialize_with = "crate::http::query::optional_boolean")]
    pub top: Option<bool>,
}

/// A count, as Keycloak answers one: `{"count": n}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountRepresentation {
    pub count: i64,
}

#[utoipa::path(tag = "groups", operation_id = "countGroups",
    params(("realm" = String, Path, description = "Realm name"), CountQuery),
    responses((status = 200, body = CountRepresentation), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/groups/count")]
pub(super) async fn count_groups(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<String>,
    query: web::Query<CountQuery>,
) -> Result<web::Json<CountRepresentation>, ApiError> {
    let query = query.into_inner();
    let search = query.search.filter(|s| !s.is_empty());
    let realm = RealmName(path.into_inner());
    let count = groups::count(&state, &realm, search, query.top.unwrap_or(false)).await?;
    Ok(web::Json(CountRepresentation { count }))
}

#[utoipa::path(tag = "groups", operation_id = "listGroupMembers",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Group id"), Page),
    responses((status = 200, description = "A page of the direct members, by username", body = Vec<UserRepresentation>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation)))]
#[get("/{realm}/groups/{id}/members")]
pub(super) async fn list_members(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
    page: web::Query<Page>,
) -> Result<web::Json<Vec<UserRepresentation>>, ApiError> {
    let (realm, id) = path.into_inner();
    let page = page.bounds()?;
    let found = groups::members(&state, &RealmName(realm), GroupRef::Id(id), page).await?;
    Ok(web::Json(
        found.iter().map(UserRepresentation::from).collect(),
    ))
}
