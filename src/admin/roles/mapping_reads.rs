//! Keycloak's role-mapping reads, for users and for groups: the realm roles
//! or one client's roles mapped directly (`…/realm`, `…/clients/{client}`),
//! held in effect through groups and composites (`…/composite`), and still
//! available to grant (`…/available`); and all of a group's mappings.

use actix_web::{get, web};

use super::representation::roles as role_reps;
use super::{MappingsRepresentation, RoleRepresentation};
use crate::admin::{Admin, ErrorRepresentation};
use crate::app::Latch;
use crate::http::errors::ApiError;
use crate::ids::{ClientRowId, RealmName, UserId};
use crate::operations::groups::GroupRef;
use crate::operations::mappings::{self, MappingQuery, RoleView};
use crate::operations::roles::{ClientRef, Holder, UserRef};

type Roles = Result<web::Json<Vec<RoleRepresentation>>, ApiError>;

async fn read(
    state: &Latch,
    realm: String,
    holder: Holder,
    client: Option<String>,
    view: RoleView,
) -> Roles {
    let query = MappingQuery {
        realm: RealmName(realm),
        holder,
        client: client.map(|c| ClientRef::Row(ClientRowId(c))),
        view,
    };
    Ok(web::Json(role_reps(mappings::roles(state, query).await?)))
}

fn user(id: String) -> Holder {
    Holder::User(UserRef::Id(UserId(id)))
}

fn group(id: String) -> Holder {
    Holder::Group(GroupRef::Id(id))
}

// ---- users ------------------------------------------------------------------

#[utoipa::path(tag = "users", operation_id = "getUserRealmRoleMappings",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id")),
    responses((status = 200, description = "Realm roles mapped to the user directly", body = Vec<RoleRepresentation>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/users/{id}/role-mappings/realm")]
pub(super) async fn user_realm(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Roles {
    let (realm, id) = path.into_inner();
    read(&state, realm, user(id), None, RoleView::Direct).await
}

#[utoipa::path(tag = "users", operation_id = "getUserEffectiveRealmRoles",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id")),
    responses((status = 200, description = "Realm roles the user holds, directly, through groups or composites", body = Vec<RoleRepresentation>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/users/{id}/role-mappings/realm/composite")]
pub(super) async fn user_realm_composite(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Roles {
    let (realm, id) = path.into_inner();
    read(&state, realm, user(id), None, RoleView::Effective).await
}

#[utoipa::path(tag = "users", operation_id = "getUserAvailableRealmRoles",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id")),
    responses((status = 200, description = "Realm roles the user does not hold", body = Vec<RoleRepresentation>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/users/{id}/role-mappings/realm/available")]
pub(super) async fn user_realm_available(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Roles {
    let (realm, id) = path.into_inner();
    read(&state, realm, user(id), None, RoleView::Available).await
}

#[utoipa::path(tag = "users", operation_id = "getUserClientRoleMappings",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id"), ("client" = String, Path, description = "Client id (internal)")),
    responses((status = 200, description = "The client's roles mapped to the user directly", body = Vec<RoleRepresentation>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/users/{id}/role-mappings/clients/{client}")]
pub(super) async fn user_client(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Roles {
    let (realm, id, client) = path.into_inner();
    read(&state, realm, user(id), Some(client), RoleView::Direct).await
}

#[utoipa::path(tag = "users", operation_id = "getUserEffectiveClientRoles",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id"), ("client" = String, Path, description = "Client id (internal)")),
    responses((status = 200, description = "The client's roles the user holds, directly, through groups or composites", body = Vec<RoleRepresentation>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/users/{id}/role-mappings/clients/{client}/composite")]
pub(super) async fn user_client_composite(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Roles {
    let (realm, id, client) = path.into_inner();
    read(&state, realm, user(id), Some(client), RoleView::Effective).await
}

#[utoipa::path(tag = "users", operation_id = "getUserAvailableClientRoles",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id"), ("client" = String, Path, description = "Client id (internal)")),
    responses((status = 200, description = "The client's roles the user does not hold", body = Vec<RoleRepresentation>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/users/{id}/role-mappings/clients/{client}/available")]
pub(super) async fn user_client_available(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Roles {
    let (realm, id, client) = path.into_inner();
    read(&state, realm, user(id), Some(client), RoleView::Available).await
}

// ---- groups -----------------------------------------------------------------

#[utoipa::path(tag = "groups", operation_id = "getGroupRoleMappings",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Group id")),
    responses((status = 200, body = MappingsRepresentation), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/groups/{id}/role-mappings")]
pub(super) async fn group_all(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<web::Json<MappingsRepresentation>, ApiError> {
    let (realm, id) = path.into_inner();
    let found = mappings::all(&state, &RealmName(realm), group(id)).await?;
    Ok(web::Json(found.into()))
}

#[utoipa::path(tag = "groups", operation_id = "getGroupEffectiveRealmRoles",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Group id")),
    responses((status = 200, description = "Realm roles the group's members hold through it (and the groups above it, and composites)", body = Vec<RoleRepresentation>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/groups/{id}/role-mappings/realm/composite")]
pub(super) async fn group_realm_composite(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Roles {
    let (realm, id) = path.into_inner();
    read(&state, realm, group(id), None, RoleView::Effective).await
}

#[utoipa::path(tag = "groups", operation_id = "getGroupAvailableRealmRoles",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Group id")),
    responses((status = 200, description = "Realm roles the group does not give", body = Vec<RoleRepresentation>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/groups/{id}/role-mappings/realm/available")]
pub(super) async fn group_realm_available(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Roles {
    let (realm, id) = path.into_inner();
    read(&state, realm, group(id), None, RoleView::Available).await
}

#[utoipa::path(tag = "groups", operation_id = "getGroupClientRoleMappings",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Group id"), ("client" = String, Path, description = "Client id (internal)")),
    responses((status = 200, description = "The client's roles mapped to the group", body = Vec<RoleRepresentation>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/groups/{id}/role-mappings/clients/{client}")]
pub(super) async fn group_client(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Roles {
    let (realm, id, client) = path.into_inner();
    read(&state, realm, group(id), Some(client), RoleView::Direct).await
}

#[utoipa::path(tag = "groups", operation_id = "getGroupEffectiveClientRoles",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Group id"), ("client" = String, Path, description = "Client id (internal)")),
    responses((status = 200, description = "The client's roles the group's members hold through it", body = Vec<RoleRepresentation>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/groups/{id}/role-mappings/clients/{client}/composite")]
pub(super) async fn group_client_composite(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Roles {
    let (realm, id, client) = path.into_inner();
    read(&state, realm, group(id), Some(client), RoleView::Effective).await
}

#[utoipa::path(tag = "groups", operation_id = "getGroupAvailableClientRoles",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Group id"), ("client" = String, Path, description = "Client id (internal)")),
    responses((status = 200, description = "The client's roles the group does not give", body = Vec<RoleRepresentation>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/groups/{id}/role-mappings/clients/{client}/available")]
pub(super) async fn group_client_available(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Roles {
    let (realm, id, client) = path.into_inner();
    read(&state, realm, group(id), Some(client), RoleView::Available).await
}
